"""Where a student's report.html is kept once it was released (docs/staff.md, "Release").

REPORTS/<id>/report.html is what the student is sent. Before any release it is rendered from the
gradebook at once, marked provisional. `grader release` renders it final, keeps that copy as
REPORTS/<id>/released/report.html and records its sha256 in the manifest (graders/gradebook/release.py).
From then on report.html is that copy, whatever a regrade or a mark changes: the new version goes to
REPORTS/<id>/unreleased/report.html for staff, and reaches the student at the next release.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from graders.errors import CorruptGradebook
from graders.execute.untrusted import NotAFile, TooLarge, read_regular
from graders.gradebook.release import Sent
from graders.gradebook.store import Grade
from graders.results import write_text_atomic

REPORT = "report.html"
MAX_REPORT_BYTES = 64 * 2**20


def released_copy(out_dir: Path, submission: str) -> Path:
    return out_dir / submission / "released" / REPORT


def unreleased_copy(out_dir: Path, submission: str) -> Path:
    return out_dir / submission / "unreleased" / REPORT


def sha256_of(page: str) -> str:
    return hashlib.sha256(page.encode("utf-8")).hexdigest()


def send(grade: Grade, page: str, out_dir: Path) -> Sent:
    """Release one student's final page: kept as released/report.html, sent as report.html."""
    write_text_atomic(released_copy(out_dir, grade.submission), page)
    write_text_atomic(out_dir / grade.submission / REPORT, page)
    return Sent.of(grade, sha256_of(page))


def keep_released(grade: Grade, page: str, sent: Sent, out_dir: Path) -> Path:
    """After a release: `page` (the final page as it would be sent now) is kept for staff; the
    student's report.html stays the released copy, checked against the manifest's hash."""
    write_text_atomic(unreleased_copy(out_dir, grade.submission), page)
    copy = released_copy(out_dir, grade.submission)
    try:
        released = read_regular(copy, MAX_REPORT_BYTES)
    except (OSError, NotAFile, TooLarge) as exc:
        raise CorruptGradebook(
            f"{copy}, the report {grade.submission} was sent, cannot be read ({exc}); run `grader release` again"
        ) from exc
    if hashlib.sha256(released).hexdigest() != sent.report_sha256:
        raise CorruptGradebook(f"{copy} is not the report release.json says {grade.submission} was sent; run `grader release` again")
    path = out_dir / grade.submission / REPORT
    write_text_atomic(path, released.decode("utf-8"))
    return path
