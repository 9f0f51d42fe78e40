"""A built assignment's contract: what `assignment.json` holds, typed, and read back strictly.

Written by `grader assignment build` (graders.authoring.build) from the source notebook's config, read by
`BuiltAssignment` (graders.authoring.built) every time the assignment is loaded. The file sits in a folder an
instructor may edit or copy around, so reading it is strict: every field typed, nothing unknown, any fault a
`UsageError` naming the file and the field. Standard library only: loading an assignment imports no numpy.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from graders.assignment.spec import RubricItem
from graders.errors import UsageError

FORMAT = 1  # bumped when the file's layout changes
CONTRACT_FILE = "assignment.json"
MAX_CONTRACT_BYTES = 1 << 20
ANSWER_PREFIX = "answer:"
# Names become file names (`mistake_NAME.py`, `student/<id>.ipynb`), tags and check ids: a plain word each.
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # functions, mistakes, question tags
ASSIGNMENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")

T = TypeVar("T")


@dataclass(frozen=True)
class FunctionSpec:
    """A function students write, and its one value check (the check's id is the function's name)."""

    name: str
    signature: str  # the `def` line as the solution writes it
    label: str  # the heading its check gets in a report
    title: str  # the check's title
    points: float
    rtol: float
    atol: float
    expectation: str  # what the value should be, in words (the report's)
    hint: str  # added when only hidden inputs are wrong


@dataclass(frozen=True)
class MistakeSpec:
    name: str
    function: str
    title: str
    explanation: str  # for the report, after grading
    hint: str  # for the kit, before: what to look at, never the right formula


@dataclass(frozen=True)
class ItemSpec:
    key: str
    text: str
    points: float


@dataclass(frozen=True)
class QuestionSpec:
    tag: str  # without the `answer:` prefix
    text: str
    points: float
    rubric: str
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class Contract:
    id: str
    title: str
    subtitle: str
    version: str
    public_seed: int
    functions: tuple[FunctionSpec, ...]
    questions: tuple[QuestionSpec, ...]
    catalog: tuple[MistakeSpec, ...]

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=1, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def read(cls, path: Path) -> Contract:
        """The contract in `path`; a damaged or edited-wrong file is a UsageError naming it."""
        try:
            raw = path.read_bytes()[: MAX_CONTRACT_BYTES + 1]
        except OSError as exc:
            raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
        if len(raw) > MAX_CONTRACT_BYTES:
            raise UsageError(f"{path}: larger than {MAX_CONTRACT_BYTES} bytes; not an assignment contract")
        try:
            document = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not strict JSON ({exc})") from None
        return Fields(document, str(path)).contract()


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number strict JSON allows")


class Fields:
    """Typed access to one JSON object; every fault names where it is."""

    def __init__(self, document: Any, where: str) -> None:
        if not isinstance(document, Mapping):
            raise UsageError(f"{where}: an object was expected")
        self.document = document
        self.where = where

    def get(self, key: str, kind: type[T], default: T | None = None) -> T:
        if default is not None and key not in self.document:
            return default
        value = self.document.get(key)
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok or (isinstance(value, float) and not math.isfinite(value)):
            raise UsageError(f"{self.where}: {key!r} must be a {kind.__name__}, not {json.dumps(value)[:40]}")
        return value  # type: ignore[return-value]

    def objects(self, key: str) -> list[Fields]:
        return [Fields(item, f"{self.where}: {key}[{i}]") for i, item in enumerate(self.get(key, list))]

    def only(self, *keys: str) -> Fields:
        """Refuses a key not among `keys` (a misspelt one would otherwise be silently ignored)."""
        unknown = sorted(set(self.document) - set(keys))
        if unknown:
            raise UsageError(f"{self.where}: unknown keys {unknown} (known: {', '.join(keys)})")
        return self

    def exactly(self, *keys: str) -> Fields:
        unknown = sorted(set(self.document) - set(keys))
        missing = sorted(set(keys) - set(self.document))
        if unknown or missing:
            raise UsageError(f"{self.where}: unknown fields {unknown}, missing fields {missing}")
        return self

    def named(self, key: str, pattern: re.Pattern[str] = NAME) -> str:
        value = self.get(key, str)
        if not pattern.fullmatch(value):
            what = (
                "lower-case letters, digits, '.', '_' or '-' (at most 63)"
                if pattern is ASSIGNMENT_ID
                else "lower-case letters, digits and '_' (at most 40)"
            )
            raise UsageError(f"{self.where}: {key} {value[:70]!r} must be {what}")
        return value

    def contract(self) -> Contract:
        fields = ("format", "id", "title", "subtitle", "version", "public_seed", "functions", "questions", "catalog")
        self.exactly(*fields)
        if self.get("format", int) != FORMAT:
            raise UsageError(f"{self.where}: format {self.document['format']} is not {FORMAT}; build the assignment again")
        return Contract(
            self.named("id", ASSIGNMENT_ID),
            self.get("title", str),
            self.get("subtitle", str),
            self.get("version", str),
            self.get("public_seed", int),
            tuple(f.function() for f in self.objects("functions")),
            tuple(f.question() for f in self.objects("questions")),
            tuple(f.mistake() for f in self.objects("catalog")),
        )

    def function(self) -> FunctionSpec:
        self.exactly("name", "signature", "label", "title", "points", "rtol", "atol", "expectation", "hint")
        name = self.named("name")
        signature, label, title = (self.get(key, str) for key in ("signature", "label", "title"))
        points, rtol, atol = (self.get(key, float) for key in ("points", "rtol", "atol"))
        return FunctionSpec(name, signature, label, title, points, rtol, atol, self.get("expectation", str), self.get("hint", str))

    def mistake(self) -> MistakeSpec:
        self.exactly("name", "function", "title", "explanation", "hint")
        return MistakeSpec(self.named("name"), self.named("function"), *(self.get(key, str) for key in ("title", "explanation", "hint")))

    def item(self) -> ItemSpec:
        item = ItemSpec(self.get("key", str), self.get("text", str), self.get("points", float))
        try:
            RubricItem(item.key, item.text, item.points)  # the seam's own rule for a key
        except ValueError as exc:
            raise UsageError(f"{self.where}: {exc}") from None
        return item

    def question(self) -> QuestionSpec:
        self.exactly("tag", "text", "points", "rubric", "items")
        items = tuple(f.exactly("key", "text", "points").item() for f in self.objects("items"))
        return QuestionSpec(self.named("tag"), self.get("text", str), self.get("points", float), self.get("rubric", str), items)
