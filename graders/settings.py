"""What decides a grade (`RunSettings`) and what made one (`Provenance`): typed, with strict JSON.

Bottom layer (beside graders.results): imports nothing of the harness but `Scoring` from the
assignment interface.

`RunSettings` is the settings part of the cache key: `graders.pipeline.cache.cache_key` hashes its
canonical JSON, so a field declared here joins the key without anyone listing it. The grading seed
is a `GivenSeed` (`--seed`, tests: recorded as it is) or a `CourseSecretSeed` (drawn from the course
secret: recorded only by the secret's hash, never the seed). `Provenance` rides on every result
(results.json) and every gradebook run.

`to_json`/`from_json` are exact inverses; `from_json` refuses unknown and missing keys and wrong
types with a `ValueError` that names the field. What the grader wrote before these types existed
(plain dicts; the seed an int or "course secret <hash>"; `epochs`, `train_size`, `batch_size` in the
settings; the assignment under "assignment" or not at all) is read by the `legacy` readers, and
`Provenance.parse` is the one place stored provenance is read.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import reprlib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, TypeVar

from graders.assignment.spec import Scoring

_T = TypeVar("_T")
PROVENANCE_FORMAT = 1  # written as "format": what tells a typed provenance from a legacy dict
# A malformed value named in an error, bounded (a damaged file can hold anything): reprlib stops
# early in long strings and deep nests.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlevel = 2

DEFAULT_CELL_TIMEOUT = 120.0  # seconds a notebook cell may run, unless a run sets its own


def notebook_seed(seed: int) -> int:
    """The seed the notebook's own cells get: drawn from the grading seed one way, so that a
    notebook which prints it learns nothing from which the hidden inputs could be rebuilt."""
    digest = hashlib.sha256(b"a10-grader notebook seed\0" + str(seed).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


# ----------------------------------------------------------------------------- the seed


@dataclass(frozen=True)
class GivenSeed:
    """A seed given on the command line (tests, demos): recorded as it is."""

    value: int


@dataclass(frozen=True)
class CourseSecretSeed:
    """A seed drawn from the course secret: only the secret's hash is recorded, never the seed."""

    secret_hash: str


Seed = GivenSeed | CourseSecretSeed
_SEED_KINDS: dict[str, type[GivenSeed] | type[CourseSecretSeed]] = {"given": GivenSeed, "course-secret": CourseSecretSeed}


def seed_to_json(seed: Seed) -> dict[str, Any]:
    kind = next(name for name, cls in _SEED_KINDS.items() if isinstance(seed, cls))
    return {"kind": kind, **_encode_fields(seed)}


def seed_from_json(data: Any, where: str = "seed") -> Seed:
    if not isinstance(data, Mapping) or data.get("kind") not in _SEED_KINDS:
        raise ValueError(f"{where}: expected an object with kind one of {sorted(_SEED_KINDS)}, got {_shown(data)}")
    rest = {key: value for key, value in data.items() if key != "kind"}
    if _SEED_KINDS[data["kind"]] is GivenSeed:
        return _decode_dataclass(GivenSeed, rest, where)
    return _decode_dataclass(CourseSecretSeed, rest, where)


# ----------------------------------------------------------------------------- the settings


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides a grade besides the submission, the code, the reference and the data.

    Every field is in the cache key (by `canonical`). No defaults: whoever builds one names every
    field, so a new one cannot be left out silently (graders.pipeline.config.GradingConfig.run_settings)."""

    seed: Seed  # hidden inputs and the experiment's training
    cell_timeout: float
    notebook_timeout: float
    memory_bytes: int
    disk_bytes: int  # each notebook's work dir: a tmpfs of this size
    hidden: bool  # False for the student self-check: public inputs only
    scoring: Scoring  # how a named mistake turns into deductions (docs/instructors.md: Deductions)
    # What was graded (graders.assignment.registry); None: recorded before assignments were named.
    assignment_id: str | None
    assignment_version: str | None

    def to_json(self) -> dict[str, Any]:
        return _encode_fields(self)

    def canonical(self) -> str:
        """The settings as one string: equal exactly when every field is."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    def changed_from(self, other: RunSettings) -> tuple[str, ...]:
        """The names of the fields that differ, in declaration order."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name))

    @classmethod
    def from_json(cls, data: Any) -> RunSettings:
        return _decode_dataclass(cls, data, "settings")

    @classmethod
    def from_legacy(cls, data: Any) -> RunSettings:
        """The settings dict written before they were typed."""
        if not isinstance(data, Mapping) or "seed" not in data:
            raise ValueError(f"legacy settings: expected an object with a seed, got {_shown(data)}")
        kept = {key: value for key, value in data.items() if key not in _RETIRED_SETTINGS}
        renamed = {_RENAMED_SETTINGS.get(key, key): value for key, value in kept.items()}
        return cls.from_json({**_UNRECORDED_SETTINGS, **renamed, "seed": seed_to_json(_legacy_seed(data["seed"]))})


# Legacy settings: what the grader recorded before RunSettings. The training size moved into the
# assignment's notebook parameters (its code is in the key); keys older runs did not record yet had
# the value below in force; the assignment id was "assignment", and absent before the assignment seam.
_RETIRED_SETTINGS = frozenset({"epochs", "train_size", "batch_size"})
_RENAMED_SETTINGS = {"assignment": "assignment_id"}
_UNRECORDED_SETTINGS: dict[str, Any] = {
    "disk_bytes": 512 * 1024**2,
    "scoring": Scoring.PER_MISTAKE.value,
    "assignment_id": None,
    "assignment_version": None,
}
_LEGACY_SECRET_PREFIX = "course secret "


def _legacy_seed(recorded: Any) -> Seed:
    if type(recorded) is int:
        return GivenSeed(recorded)
    if isinstance(recorded, str) and recorded.startswith(_LEGACY_SECRET_PREFIX):
        return CourseSecretSeed(recorded.removeprefix(_LEGACY_SECRET_PREFIX))
    raise ValueError(f"legacy settings.seed: {_shown(recorded)} is neither a number nor 'course secret <hash>'")


# ----------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Execution:
    """Whether the notebook ran to the end, and why not: what `grader rescore` re-reads."""

    finished: bool
    message: str


@dataclass(frozen=True)
class Provenance:
    """What graded a result (or a gradebook run): code, reference, settings, how it ran, when."""

    grader_version: str
    grader_fingerprint: str  # the harness's and the assignment's code (graders.pipeline.cache.grader_fingerprint)
    reference_hash: str
    cache_key: str  # "": not to be reused (an error tried again next run, a run's own record)
    settings: RunSettings
    executor: str  # "warm", "cold", "warm, Dask worker …"
    python: str
    torch: str
    # Set on a result whose notebook ran (None on an unreadable one and on a run's record):
    seconds: float | None = None
    execution: Execution | None = None
    exception: str | None = None  # the harness-side exception that ended the run, for staff
    sandbox: dict[str, Any] | None = None  # the sandbox's own report (graders.sandbox.SandboxReport.to_json)
    kit: str | None = None  # the student kit the notebook was last self-checked with ("": none)
    rescored_at: str | None = None  # ISO-8601 UTC, set by `grader rescore`

    def __post_init__(self) -> None:
        if self.sandbox is not None:
            _sandbox_warnings(self.sandbox)  # what the reports read of it is there, of its type

    @property
    def sandbox_warnings(self) -> tuple[str, ...]:
        """What was NOT in force around the notebook, as its sandbox reported it."""
        return () if self.sandbox is None else _sandbox_warnings(self.sandbox)

    def student_view(self) -> dict[str, Any]:
        """What a student may see: which grader, reference and kit; no seed, settings, timings or sandbox."""
        shown = {"grader_version": self.grader_version, "reference_hash": self.reference_hash, "kit": self.kit}
        return {key: value for key, value in shown.items() if value is not None}

    def to_json(self) -> dict[str, Any]:
        return {"format": PROVENANCE_FORMAT, **_encode_fields(self)}

    @classmethod
    def from_json(cls, data: Any) -> Provenance:
        if not isinstance(data, Mapping) or data.get("format") != PROVENANCE_FORMAT:
            raise ValueError(f"provenance: expected an object with format {PROVENANCE_FORMAT}, got {_shown(data)}")
        return _decode_dataclass(cls, {key: value for key, value in data.items() if key != "format"}, "provenance")

    @classmethod
    def from_legacy(cls, data: Any) -> Provenance:
        """The provenance dict written before it was typed (no `format`): keys it did not record are
        None where the field may be, and empty (or "unknown" for the version) where it may not."""
        if not isinstance(data, Mapping) or "settings" not in data:
            raise ValueError(f"legacy provenance: expected an object with settings, got {_shown(data)}")
        unrecorded = {f.name: None for f in fields(cls) if f.default is None} | _UNRECORDED_PROVENANCE
        settings = RunSettings.from_legacy(data["settings"]).to_json()
        return cls.from_json({"format": PROVENANCE_FORMAT, **unrecorded, **data, "settings": settings})

    @classmethod
    def parse(cls, data: Any) -> Provenance:
        """Stored provenance, typed or legacy: the one reader of results.json's and the gradebook's."""
        if isinstance(data, Mapping) and "format" in data:
            return cls.from_json(data)
        return cls.from_legacy(data)


_UNRECORDED_PROVENANCE: dict[str, Any] = {
    "grader_version": "unknown",
    "grader_fingerprint": "",
    "reference_hash": "",
    "cache_key": "",
    "executor": "",
    "python": "",
    "torch": "",
}


def _sandbox_warnings(report: Mapping[str, Any]) -> tuple[str, ...]:
    warnings = report.get("warnings")
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise ValueError(f"provenance.sandbox: expected a sandbox report with a list of warnings, got {_shown(report)}")
    return tuple(warnings)


# ----------------------------------------------------------------------------- strict JSON


def _encode_fields(value: Any) -> dict[str, Any]:
    return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, GivenSeed | CourseSecretSeed):
        return seed_to_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_fields(value)
    return value


def _decode_dataclass(cls: type[_T], data: Any, where: str) -> _T:
    """`cls` from a JSON object with exactly its fields, each of its declared type."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {_shown(data)}")
    declared = [f.name for f in fields(cls)]  # type: ignore[arg-type]  # every caller passes a dataclass
    unknown, missing = sorted(set(data) - set(declared)), sorted(set(declared) - set(data))
    if unknown or missing:
        problems = [f"{what} keys {names}" for what, names in (("unknown", unknown), ("missing", missing)) if names]
        raise ValueError(f"{where}: " + "; ".join(problems))
    declaring: type = cls  # a class is hashable, whatever _T is
    hints = _type_hints(declaring)
    return cls(**{name: _decode(hints[name], data[name], f"{where}.{name}") for name in declared})


@functools.cache  # resolving a class's annotations takes ~0.4 ms, and a regrade reads every results.json
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(kind: Any, value: Any, where: str) -> Any:
    if kind == Seed:
        return seed_from_json(value, where)
    if isinstance(kind, types.UnionType):  # `X | None`, the only other union declared
        (option,) = (each for each in typing.get_args(kind) if each is not type(None))
        return None if value is None else _decode(option, value, where)
    if dataclasses.is_dataclass(kind):
        return _decode_dataclass(kind, value, where)  # type: ignore[arg-type]  # a class, as is_dataclass found
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"{where}: {_shown(value)} is not one of {[member.value for member in kind]}") from None
    if typing.get_origin(kind) is dict:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise ValueError(f"{where}: expected an object, got {_shown(value)}")
        return dict(value)
    if kind is float and type(value) is int:  # JSON has one number type: 120 means 120.0
        return float(value)
    if type(value) is not kind:  # exact: True is no int, 1 is no bool
        raise ValueError(f"{where}: expected {kind.__name__}, got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    """A value named in an error: its type and a bounded repr."""
    return f"{type(value).__name__} {_SHOWN.repr(value)}"
