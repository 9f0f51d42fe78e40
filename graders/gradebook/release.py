"""What students were sent: REPORTS/release.json, the manifest `grader release` writes (docs/staff.md, "Release").

Until staff release, every student-facing total (report.html, the overview's rows, the LMS exports)
is provisional. A release records, per student, the grade they were sent (total, each check, each
written question) and the sha256 of the report.html sent (kept as REPORTS/<id>/released/report.html).
A student's grade is then in one of three states (`ReleaseState`): never released (provisional),
released (the grade now is the grade sent), or changed since release (a regrade, rescore, override
or mark moved a number; staff review it and release again). A file beside the gradebook, not a
table: it is written whole, once per release, and read whole; strict JSON, refused when damaged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from graders.errors import CorruptGradebook
from graders.execute.untrusted import NotAFile, TooLarge, read_regular
from graders.gradebook.records import Grade
from graders.results import write_text_atomic

RELEASE_NAME = "release.json"
RELEASE_FORMAT = "a10-grader release 1"
MAX_MANIFEST_BYTES = 64 * 2**20  # a class of thousands is a few MiB


class ReleaseState(Enum):
    PROVISIONAL = "provisional"  # never released
    RELEASED = "released"  # the grade now is the grade the student was sent
    CHANGED = "changed since release"  # sent one grade, the gradebook now says another: review, release again


@dataclass(frozen=True)
class Sent:
    """What one student was sent: the total, each check's and each written question's points, the report's hash."""

    score: float
    max_score: float
    checks: Mapping[str, float]
    questions: Mapping[str, float | None]  # None: pending when released
    report_sha256: str

    @classmethod
    def of(cls, grade: Grade, report_sha256: str) -> Sent:
        return cls(
            grade.score,
            grade.max_score,
            {c.result.id: c.score for c in grade.checks},
            {q.question.tag: q.points for q in grade.questions},
            report_sha256,
        )

    def same_grade(self, grade: Grade) -> bool:
        """The numbers are the ones sent (the report's bytes may differ only by how it is rendered)."""
        now = Sent.of(grade, self.report_sha256)
        return (now.score, now.max_score, dict(now.checks), dict(now.questions)) == (
            self.score,
            self.max_score,
            dict(self.checks),
            dict(self.questions),
        )


@dataclass(frozen=True)
class Release:
    released_at: str
    by: str
    students: Mapping[str, Sent]

    def state(self, grade: Grade) -> ReleaseState:
        sent = self.students.get(grade.submission)
        if sent is None:
            return ReleaseState.PROVISIONAL
        return ReleaseState.RELEASED if sent.same_grade(grade) else ReleaseState.CHANGED

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RELEASE_FORMAT,
            "released_at": self.released_at,
            "by": self.by,
            "students": {
                sid: {
                    "score": s.score,
                    "max_score": s.max_score,
                    "checks": dict(s.checks),
                    "questions": dict(s.questions),
                    "report_sha256": s.report_sha256,
                }
                for sid, s in sorted(self.students.items())
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> Release:
        """The manifest, every field checked; anything else is a ValueError saying where."""
        top = _mapping(data, "the manifest", {"format", "released_at", "by", "students"})
        if top["format"] != RELEASE_FORMAT:
            raise ValueError(f"unknown format {top['format']!r}")
        students = _mapping(top["students"], "students", None)
        return cls(
            _text(top["released_at"], "released_at"), _text(top["by"], "by"), {_text(k, "an id"): _sent(v, k) for k, v in students.items()}
        )


def manifest_path(reports: Path) -> Path:
    return reports / RELEASE_NAME


def read_release(reports: Path) -> Release | None:
    """The last release, or None when staff never released; a damaged manifest is a CorruptGradebook (nothing guessed)."""
    path = manifest_path(reports)
    try:
        raw = read_regular(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, NotAFile, TooLarge) as exc:
        raise CorruptGradebook(f"{path} cannot be read ({exc}); restore it or run `grader release` again") from exc
    try:
        return Release.from_json(json.loads(raw.decode("utf-8"), parse_constant=_refuse))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptGradebook(f"{path} is not a release manifest ({exc}); restore it or run `grader release` again") from exc


def write_release(reports: Path, release: Release) -> Path:
    path = manifest_path(reports)
    write_text_atomic(path, json.dumps(release.to_json(), indent=1, sort_keys=True, allow_nan=False) + "\n")
    return path


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not a number in strict JSON")


def _mapping(value: Any, where: str, keys: set[str] | None) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object")
    if keys is not None and set(value) != keys:
        raise ValueError(f"{where} must have exactly the keys {', '.join(sorted(keys))}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} must be a number")
    return float(value)


def _sent(value: Any, submission: str) -> Sent:
    where = f"students[{submission!r}]"
    data = _mapping(value, where, {"score", "max_score", "checks", "questions", "report_sha256"})
    checks = _mapping(data["checks"], f"{where}.checks", None)
    questions = _mapping(data["questions"], f"{where}.questions", None)
    return Sent(
        _number(data["score"], f"{where}.score"),
        _number(data["max_score"], f"{where}.max_score"),
        {k: _number(v, f"{where}.checks") for k, v in checks.items()},
        {k: None if v is None else _number(v, f"{where}.questions") for k, v in questions.items()},
        _text(data["report_sha256"], f"{where}.report_sha256"),
    )
