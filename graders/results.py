"""Plain, serialisable result types: what a check and a submission come out as.

Everything downstream (results.json, report.html, grades.csv, the gradebook, the review app)
is rendered from these dataclasses and nothing else. What a student wrote is capped where a
result is built (or read back), so no answer can make every file and every gradebook row huge.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from graders.settings import Provenance

# Caps on student-written text a result carries. A real KL answer is a paragraph or two, a
# derivation answer line a few dozen characters; a cut text ends with `truncation_note`.
MAX_ANSWER_CHARS = 10_000  # one written (free-text) answer
MAX_LATEX_CHARS = 2_000  # one derivation answer, as written (the judge reads the capped text too)
MAX_CELL_ERROR_CHARS = 2_000  # the source excerpt of a cell that raised
MAX_ERROR_TEXT_CHARS = 1_000  # an exception's name or message (the grader's own note on it included)
MAX_MESSAGE_CHARS = 4_000  # the submission's message (it quotes what the notebook's process reported)


def truncation_note(dropped: int) -> str:
    return f"… [truncated: {dropped:,} characters not shown]"


def capped(text: str, limit: int) -> str:
    """`text`, or its start and a note of how much was cut: at most `limit` characters either way,
    so capping a capped text (a result read back and written again) changes nothing."""
    if len(text) <= limit:
        return text
    kept = limit - len(truncation_note(len(text)))  # the note for the largest count fits whatever is dropped
    return text[:kept] + truncation_note(len(text) - kept)


def _cap_field(instance: object, name: str, limit: int) -> None:
    value = getattr(instance, name)
    if isinstance(value, str):
        object.__setattr__(instance, name, capped(value, limit))  # frozen: set once, while being built


class CheckStatus(str, Enum):
    """How one check ended. `error` means the answer could not be evaluated at all."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


class SubmissionStatus(str, Enum):
    """`graded`: the notebook ran (possibly with failing cells); `error`: it could not be read or run."""

    GRADED = "graded"
    ERROR = "error"


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: CheckStatus
    score: float
    max_score: float
    message: str
    misconceptions: tuple[str, ...] = ()
    # Instructor-only numbers (e.g. compared values); never shown in the student view.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CellError:
    """A cell of the student's notebook that raised, timed out or killed the kernel."""

    cell_index: int
    ename: str
    evalue: str
    source_excerpt: str

    def __post_init__(self) -> None:
        _cap_field(self, "ename", MAX_ERROR_TEXT_CHARS)
        _cap_field(self, "evalue", MAX_ERROR_TEXT_CHARS)
        _cap_field(self, "source_excerpt", MAX_CELL_ERROR_CHARS)


@dataclass(frozen=True)
class FreeTextAnswer:
    """A free-text answer shown to staff for manual review (not auto-scored)."""

    question: str
    answer: str

    def __post_init__(self) -> None:
        _cap_field(self, "answer", MAX_ANSWER_CHARS)


@dataclass(frozen=True)
class DerivationAnswer:
    """The LaTeX answer a student wrote for one quantity, as written."""

    quantity: str  # the assignment's answer line (graders.assignment.spec.AnswerLine.quantity)
    latex: str | None
    note: str = ""  # for the student: what of the notebook was not read for answers (past a cap); kept for `grader rescore`

    def __post_init__(self) -> None:
        _cap_field(self, "latex", MAX_LATEX_CHARS)


@dataclass(frozen=True)
class SubmissionResult:
    submission: str
    status: SubmissionStatus
    score: float
    max_score: float
    sha256: str
    checks: tuple[CheckResult, ...]
    message: str = ""
    cell_errors: tuple[CellError, ...] = ()
    derivation: tuple[DerivationAnswer, ...] = ()
    free_text: tuple[FreeTextAnswer, ...] = ()
    # What graded it: grader version, reference hash, settings (the seed), executor, timings. None: not recorded.
    provenance: Provenance | None = None

    def __post_init__(self) -> None:
        _cap_field(self, "message", MAX_MESSAGE_CHARS)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = _jsonable(asdict(self))
        document["provenance"] = None if self.provenance is None else self.provenance.to_json()
        return document

    def student_view(self) -> dict[str, Any]:
        """What a student may see: no compared values, no hidden inputs, no timings."""
        data = self.to_json()
        for check in data["checks"]:
            check.pop("details", None)
        data["provenance"] = {} if self.provenance is None else self.provenance.student_view()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        return cls(
            submission=data["submission"],
            status=SubmissionStatus(data["status"]),
            score=data["score"],
            max_score=data["max_score"],
            sha256=data["sha256"],
            checks=tuple(
                CheckResult(**{**c, "status": CheckStatus(c["status"]), "misconceptions": tuple(c["misconceptions"])})
                for c in data["checks"]
            ),
            message=data.get("message", ""),
            cell_errors=tuple(CellError(**e) for e in data.get("cell_errors", ())),
            derivation=tuple(DerivationAnswer(**d) for d in data.get("derivation", ())),
            free_text=tuple(FreeTextAnswer(**f) for f in data.get("free_text", ())),
            # Typed or legacy (graders.settings); ValueError if malformed. Absent or empty: not recorded.
            provenance=Provenance.parse(data["provenance"]) if data.get("provenance") else None,
        )

    def write(self, path: Path) -> None:
        write_text_atomic(path, json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> SubmissionResult:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value
