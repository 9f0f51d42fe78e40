"""A submission's history: its grade at each run, what changed from the run before, and why.

Pure: the store reads the runs, overrides and marks; this puts them in order and explains them
(a new file, grader, reference or settings; a rescore; staff adjustments made in between).
"""

from __future__ import annotations

from collections.abc import Sequence

from graders.gradebook.questions import ManualQuestion
from graders.gradebook.records import CheckChange, Grade, History, HistoryEntry, ManualMark, Override, Run
from graders.results import SubmissionResult, SubmissionStatus


def history_of(
    submission: str,
    runs: Sequence[tuple[Run, SubmissionResult]],
    questions: Sequence[ManualQuestion],
    overrides: Sequence[Override],
    marks: Sequence[ManualMark],
    *,
    until: str,
) -> History:
    """`runs`: the submission's runs with its result in each, oldest first (at least one); `overrides` and
    `marks`: every one ever given on it; `until`: now, the end of what `since_last_run` lists."""
    entries: list[HistoryEntry] = []
    previous: tuple[Run, Grade] | None = None
    for run, result in runs:
        grade = Grade.of(run.id, result, questions, overrides, _marks_at(marks, run.started_at), moment=run.started_at)
        entries.append(_entry(run, grade, previous, overrides, marks))
        previous = (run, grade)
    last = entries[-1].run.started_at
    return History(submission, tuple(entries), _adjustments_between(last, until, overrides, marks))


def _marks_at(marks: Sequence[ManualMark], moment: str) -> tuple[ManualMark, ...]:
    """The marks current at a moment: per question, the newest given before it."""
    current: dict[str, ManualMark] = {}
    for mark in marks:
        if mark.at <= moment:
            current[mark.question] = mark
    return tuple(current.values())


def _entry(
    run: Run, grade: Grade, previous: tuple[Run, Grade] | None, overrides: Sequence[Override], marks: Sequence[ManualMark]
) -> HistoryEntry:
    changes: tuple[CheckChange, ...] = ()
    reasons: list[str] = []
    if previous is None:
        reasons.append("first run")
    else:
        before_run, before = previous
        changes = _changes(before, grade)
        reasons.extend(_why(before_run, before.result, run, grade.result))
        reasons.extend(_adjustments_between(before_run.started_at, run.started_at, overrides, marks))
    return HistoryEntry(
        run=run,
        sha256=grade.result.sha256,
        status=grade.result.status.value,
        automatic_score=grade.result.score,
        score=grade.score,
        max_score=grade.max_score,
        changes=changes,
        reasons=tuple(reasons),
    )


def _changes(before: Grade, grade: Grade) -> tuple[CheckChange, ...]:
    """The checks whose automatic status or score (with its override) differs from the run before, or that are new."""
    old = {c.result.id: c for c in before.checks}
    return tuple(
        CheckChange(
            c.result.id,
            old[c.result.id].result.status.value if c.result.id in old else None,
            c.result.status.value,
            old[c.result.id].score if c.result.id in old else None,
            c.score,
        )
        for c in grade.checks
        if c.result.id not in old or (old[c.result.id].result.status, old[c.result.id].score) != (c.result.status, c.score)
    )


def _why(before_run: Run, before: SubmissionResult, run: Run, result: SubmissionResult) -> list[str]:
    reasons = []
    if run.kind == "rescore":
        reasons.append("rescored from stored values (no notebook executed)")
    if before.sha256 != result.sha256:
        reasons.append("new file")
    if before_run.info.grader_fingerprint != run.info.grader_fingerprint:
        reasons.append(
            f"new grader ({before_run.info.grader_version} {before_run.info.grader_fingerprint} → "
            f"{run.info.grader_version} {run.info.grader_fingerprint})"
        )
    if before_run.info.reference_hash != run.info.reference_hash:
        reasons.append("new reference")
    changed = run.info.settings.changed_from(before_run.info.settings)
    if changed:
        reasons.append("new settings (" + ", ".join(changed) + ")")
    if before.status is not result.status and result.status is SubmissionStatus.ERROR:
        reasons.append("the notebook could not be graded this time")
    return reasons


def _adjustments_between(start: str, end: str, overrides: Sequence[Override], marks: Sequence[ManualMark]) -> tuple[str, ...]:
    """The staff adjustments made after `start`, up to `end`, in the order they were made."""
    events: list[tuple[str, str]] = []
    for o in overrides:
        if start < o.at <= end:
            events.append((o.at, f"override on {o.check_id}: {o.score:g} by {o.by} ({o.reason})"))
        if o.cleared_at is not None and start < o.cleared_at <= end:
            events.append((o.cleared_at, f"override on {o.check_id} cleared by {o.cleared_by}"))
    for m in marks:
        if start < m.at <= end:
            how = " (a suggestion accepted)" if m.suggested else ""
            events.append((m.at, f"manual points for {m.question}: {m.points:g} by {m.by}{how}" + (f" ({m.comment})" if m.comment else "")))
    return tuple(text for _, text in sorted(events))
