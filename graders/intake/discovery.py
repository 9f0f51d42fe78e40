"""Finding submissions in the drop folder: `*.ipynb` at the top, or one per student folder."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from graders.errors import UsageError


@dataclass(frozen=True)
class Submission:
    id: str
    path: Path
    note: str = ""  # e.g. that another file claimed the same id


def find_submissions(folder: Path) -> tuple[Submission, ...]:
    """Top-level notebooks are named by their stem, notebooks in a student folder by the folder.

    A student folder with several notebooks contributes the one sorted first (and the others are
    ignored), so that checkpoints or copies cannot produce two grades for one student.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder of submissions")
    found: dict[str, Submission] = {}
    for path in sorted(folder.glob("*.ipynb")):
        _add(found, Submission(_normalise(path.stem), path))
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        notebooks = sorted(p for p in student_dir.glob("*.ipynb") if not p.name.startswith("."))
        if notebooks:
            _add(found, Submission(_normalise(student_dir.name), notebooks[0]))
    return tuple(sorted(found.values(), key=lambda s: s.id))


def points_outside(submission: Submission, folder: Path) -> bool:
    """A symlink (or a folder link) leading out of the submissions folder is not a submission."""
    return not submission.path.resolve().is_relative_to(folder.resolve())


def _add(found: dict[str, Submission], submission: Submission) -> None:
    """Two files claiming one id are both graded, under distinct ids, and flagged for staff."""
    if submission.id not in found:
        found[submission.id] = submission
        return
    first = found[submission.id]
    suffix = 2
    while f"{submission.id}~{suffix}" in found:
        suffix += 1
    note = f"{first.path.name} and {submission.path.name} both map to the student id {submission.id!r}; check which one counts"
    found[first.id] = Submission(first.id, first.path, note)
    found[f"{submission.id}~{suffix}"] = Submission(f"{submission.id}~{suffix}", submission.path, note)


def _normalise(name: str) -> str:
    # NFC so that the same name typed on macOS (NFD) and Linux gives one id.
    return unicodedata.normalize("NFC", name).strip()
