"""Plain, serialisable result types: what a check and a submission come out as.

Everything downstream (results.json, report.html, grades.csv, a future gradebook)
is rendered from these dataclasses and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True)
class FreeTextAnswer:
    """A free-text answer shown to staff for manual review (not auto-scored)."""

    question: str
    answer: str


@dataclass(frozen=True)
class DerivationAnswer:
    """The LaTeX answer a student wrote for one quantity, as written."""

    quantity: str  # "mu" | "Sigma"
    latex: str | None
    note: str = ""  # for the student: what of the notebook was not read for answers (past a cap); kept for `grader rescore`


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
    # Provenance: grader version, reference hash, grading seed, executor, timings.
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    def student_view(self) -> dict[str, Any]:
        """What a student may see: no compared values, no hidden inputs, no timings."""
        data = self.to_json()
        for check in data["checks"]:
            check.pop("details", None)
        data["provenance"] = {
            key: data["provenance"][key] for key in ("grader_version", "reference_hash", "kit") if key in data["provenance"]
        }
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
            provenance=data.get("provenance", {}),
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
