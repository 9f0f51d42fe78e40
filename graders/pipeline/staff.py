"""What course staff do after grading, as keyword-only functions under `grader history|override|manual|report|export|release`.

Each writes the gradebook first (one transaction, validated before anything is written), then
re-renders the reports so students see the change. While another batch holds REPORTS (a
`grader grade` still running), the re-render is left to that batch, which renders from the
gradebook when it finishes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graders.errors import BadCommandLine, FolderBusy, UsageError
from graders.gradebook import exports
from graders.gradebook.exports import course
from graders.gradebook.exports.roster import Roster, read_roster
from graders.gradebook.lock import exclusive
from graders.gradebook.release import RELEASE_NAME, Release, ReleaseState, read_release, write_release
from graders.gradebook.store import ExistingMarks, Gradebook, History, ManualEntry, Override, PointsChange, now
from graders.report import render as reporting
from graders.report.released import send
from graders.results import CheckResult

MANUAL_COLUMNS = ("submission", "question", "points", "comment")


def rerender(reports: Path) -> bool:
    """Re-render every report from the gradebook; False when a running batch holds the folder (it will).

    Only FolderBusy means "later": a corrupt gradebook or a failed render is raised, never reported as a busy folder."""
    try:
        with exclusive(reports):
            reporting.publish(reports)
    except FolderBusy:
        return False
    return True


def set_override(*, reports: Path, submission: str, check_id: str, score: float, reason: str, by: str) -> None:
    with Gradebook.open(reports) as book:
        book.set_override(submission, check_id, score=score, reason=reason, by=by)


def clear_override(*, reports: Path, submission: str, check_id: str, by: str) -> None:
    with Gradebook.open(reports) as book:
        book.clear_override(submission, check_id, by=by)


def set_manual(*, reports: Path, entries: Sequence[ManualEntry], by: str) -> int:
    with Gradebook.open(reports) as book:
        return len(book.set_manual(entries, by=by))


def question_listing(reports: Path) -> list[str]:
    """One line per written question of the graded assignment: its tag (what `grader manual` takes), points, text."""
    with Gradebook.open(reports) as book:
        return [f"{q.tag}  {q.points:g} point(s)  {q.text}" for q in book.questions()]


def set_question_points(*, reports: Path, points: dict[str, float], existing: ExistingMarks | None, by: str) -> list[str]:
    """Set the points; returns one line per question changed, saying what became of its marks."""
    with Gradebook.open(reports) as book:
        changes = book.set_question_points(points, existing=existing, by=by)
    return [f"{c.tag}: {c.old:g} → {c.new:g} points; {_marks_after(c, existing)}" for c in changes]


def _marks_after(change: PointsChange, existing: ExistingMarks | None) -> str:
    if not change.marked:
        return "no marks given yet"
    if existing is ExistingMarks.SCALE:
        return f"its {change.marked} mark(s) scaled with the points (each a new mark in the history)"
    return f"its {change.marked} mark(s) kept their points"


def read_manual_csv(path: Path) -> list[ManualEntry]:
    """Rows `submission,question,points,comment` (comment optional); a malformed file is a UsageError naming the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if header[:3] != list(MANUAL_COLUMNS[:3]) or not set(header) <= set(MANUAL_COLUMNS):
        raise UsageError(f"{path} must have the header {','.join(MANUAL_COLUMNS)} (comment optional), not {','.join(header) or 'nothing'}")
    entries = []
    try:
        for row in reader:
            if None in row or any(row.get(column) is None for column in MANUAL_COLUMNS[:3]):
                raise UsageError(f"{path}, line {reader.line_num}: expected {len(header)} cells")
            try:
                points = float(row["points"])
            except ValueError:
                raise UsageError(f"{path}, line {reader.line_num}: points {row['points']!r} is not a number") from None
            entries.append(ManualEntry(row["submission"].strip(), row["question"].strip(), points, (row.get("comment") or "").strip()))
    except csv.Error as exc:
        raise UsageError(f"{path} is not valid CSV: {exc}") from exc
    if not entries:
        raise UsageError(f"{path} has no rows to import")
    return entries


def history(*, reports: Path, submission: str) -> History:
    with Gradebook.open(reports) as book:
        return book.history(submission)


def format_history(history: History) -> str:
    lines = [f"history of {history.submission}"]
    for entry in history.entries:
        run = entry.run
        lines.append(
            f"run {run.id} ({run.kind}, {run.started_at[:19].replace('T', ' ')} UTC, grader {run.info.grader_version} "
            f"{run.info.grader_fingerprint}): {entry.status}, {entry.score:g} / {entry.max_score:g} "
            f"(automatic {entry.automatic_score:g}), file {entry.sha256[:12] or '-'}"
        )
        for reason in entry.reasons:
            lines.append(f"    why: {reason}")
        for change in entry.changes:
            old = "-" if change.old_score is None else f"{change.old_score:g} ({change.old_status})"
            lines.append(f"    {change.check_id}: {old} → {change.new_score:g} ({change.new_status})")
    for adjustment in history.since_last_run:
        lines.append(f"since the last run: {adjustment}")
    return "\n".join(lines)


def drift_warnings(*, reports: Path) -> list[str]:
    """After a regrade: overrides whose automatic verdict changed underneath them."""
    with Gradebook.open(reports) as book:
        return [_drift(check.result, check.override) for check in book.drifted_overrides() if check.override is not None]


def _drift(result: CheckResult, override: Override) -> str:
    return (
        f"warning: {override.submission} {result.id}: the automatic result is now {result.status.value} "
        f"{result.score:g} (was {override.automatic_status} {override.automatic_score:g} when {override.by} overrode it "
        f"to {override.score:g}: {override.reason}); the override still applies — review it or clear it"
    )


def export(*, reports: Path, format_name: str, out: Path, roster_path: Path | None, options: exports.Options) -> list[str]:
    """Write one export (exports.write decides its rows); returns warnings for the person running it."""
    exports.check_options(format_name, options)
    roster = read_roster(roster_path) if roster_path is not None else Roster()
    graded = _graded(reports, roster)
    exports.check_assignments_named(options, [graded.assignment.id])
    return exports.write(format_name, graded.assignment, graded.grades, roster, out, options, release=graded.release)


def export_course(
    *, reports: Sequence[Path], format_name: str, out: Path, roster_paths: Sequence[Path], options: exports.Options
) -> list[str]:
    """One LMS file with a column per reports folder (exports.course); `roster_paths`: none, one for all, or one per folder."""
    course.check_request(format_name, options)
    if len(roster_paths) not in (0, 1, len(reports)):
        raise BadCommandLine(f"--roster: give one for every folder, or one per folder ({len(reports)}), not {len(roster_paths)}")
    rosters = [read_roster(path) for path in roster_paths] or [Roster()]
    classes = [_graded(folder, rosters[index if len(rosters) > 1 else 0]) for index, folder in enumerate(reports)]
    return course.write_course(format_name, classes, out, options)


def _graded(reports: Path, roster: Roster) -> course.Graded:
    """A reports folder's assignment, grades and last release, with the roster its ids are matched with."""
    with Gradebook.open(reports) as book:
        return course.Graded(reports, book.assignment, book.grades(), read_release(reports), roster)


@dataclass(frozen=True)
class Released:
    """What `grader release` did: the manifest, and who was sent a grade with written answers still unmarked."""

    release: Release
    pending: tuple[str, ...]

    def said(self) -> list[str]:
        """What the person releasing hears."""
        pending = f"warning: released with written answers not marked yet for: {', '.join(self.pending)}"
        return [pending] * bool(self.pending) + [f"released {len(self.release.students)} grades; what each was sent: {RELEASE_NAME}"]


def release(*, reports: Path, by: str) -> Released:
    """Send every student their current grade: each report.html rendered final and kept as its
    released copy, then the manifest (REPORTS/release.json), then the overview and grades.csv.
    Holds REPORTS like a batch does, so no regrade renders in between."""
    with exclusive(reports):
        with Gradebook.open(reports) as book:
            grades = book.grades()
        if not grades:
            raise UsageError(f"{reports} has no graded submissions to release")
        sent = {g.submission: send(g, reporting.report_page(g, out_dir=reports, provisional=False), reports) for g in grades}
        manifest = Release(now(), by, sent)
        write_release(reports, manifest)
        reporting.publish(reports)
    return Released(manifest, tuple(g.submission for g in grades if g.pending))


def after_grading(*, reports: Path, submissions: Sequence[str]) -> list[str]:
    """What staff must hear after `grader grade`: drifted overrides, grades changed since release, duplicates."""
    duplicates = [
        f"warning: duplicate: {len(group)} submissions for the student id {student!r}: {', '.join(group)} "
        "(index.html's note names the files); exports refuse them until you choose one: grader export ... --keep SUBMISSION"
        for student, group in exports.claimed_twice(submissions).items()
    ]
    return drift_warnings(reports=reports) + changed_since_release(reports=reports) + duplicates


def changed_since_release(*, reports: Path) -> list[str]:
    """After a regrade: one line per student whose grade moved since it was released (their report keeps the released one)."""
    manifest = read_release(reports)
    if manifest is None:
        return []
    with Gradebook.open(reports) as book:
        grades = book.grades()
    return [
        f"warning: {g.submission} changed since release: sent {manifest.students[g.submission].score:g}, now {g.score:g} / "
        f"{g.max_score:g}; the student still sees the released report until you review it and run `grader release {reports}` again"
        for g in grades
        if manifest.state(g) is ReleaseState.CHANGED
    ]
