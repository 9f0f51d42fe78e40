"""What the review pages and the JSON API show, computed from gradebook grades (no HTML here)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.gradebook.questions import ManualQuestion
from graders.gradebook.store import Grade, ManualMark, Override, QuestionGrade
from graders.report.outputs import OwnOutputs, read_own_outputs
from graders.report.render import overview_context
from graders.results import SubmissionStatus


@dataclass(frozen=True)
class Bar:
    """One histogram bar: scores in [low, high) (the last bar includes the maximum)."""

    low: float
    high: float
    count: int
    share: float  # of the tallest bar, 0..1, for its drawn height


def histogram(grades: Sequence[Grade]) -> tuple[Bar, ...]:
    """Graded scores (with staff adjustments) in one-point bins from 0 to the maximum."""
    graded = [g for g in grades if g.result.status is SubmissionStatus.GRADED]
    if not graded:
        return ()
    edges = max(1, math.ceil(max(g.max_score for g in graded)))
    counts = [0] * edges
    for grade in graded:
        counts[min(edges - 1, max(0, math.floor(grade.score)))] += 1
    tallest = max(counts)
    return tuple(Bar(float(i), float(i + 1), count, count / tallest) for i, count in enumerate(counts))


@dataclass(frozen=True)
class ExtraColumn:
    key: str
    title: str


EXTRA_COLUMNS = (ExtraColumn("overrides", "Overrides"), ExtraColumn("flags", "Flags"))


def class_context(grades: Sequence[Grade], href: Callable[[str], str]) -> dict[str, Any]:
    """The static overview's context (render.overview_context, linking to the app's pages) with
    two more columns for staff: the overridden checks and the flags."""
    context = overview_context(grades, href=href)
    by_id = {g.submission: g for g in grades}
    for row in context["rows"]:
        row["extra"] = _extra_cells(by_id[row["id"]])
    return {**context, "extra_columns": EXTRA_COLUMNS}


def flags(grade: Grade) -> tuple[str, ...]:
    """What staff should look at: a timeout, an unreadable notebook, isolation warnings, a mark or
    override whose ground changed underneath it, a file or score that changed since the run before."""
    result = grade.result
    found = []
    if any(e.ename == "Timeout" for e in result.cell_errors):
        found.append("timeout")
    if result.status is SubmissionStatus.ERROR:
        found.append("error")
    if result.provenance is not None and result.provenance.sandbox_warnings:
        found.append("sandbox warning")
    if any(q.stale for q in grade.questions):
        found.append("answer changed since marked")
    if any(c.drifted for c in grade.checks):
        found.append("automatic verdict changed under override")
    if grade.changed:
        found.append("changed since last run")
    return tuple(found)


def _extra_cells(grade: Grade) -> dict[str, dict[str, str]]:
    overridden = ", ".join(o.check_id for o in grade.overrides)
    found = ", ".join(flags(grade))
    return {
        "overrides": {"text": overridden or "–", "value": str(len(grade.overrides)), "css": "overridden" if overridden else ""},
        "flags": {"text": found or "–", "value": found, "css": "flagged" if found else ""},
    }


# ----------------------------------------------------------------------------- grade by question


@dataclass(frozen=True)
class AnswerGroup:
    """Answers that read the same once whitespace and case are normalised: one mark can serve them all."""

    key: str
    answer: str  # as the first of them wrote it
    members: tuple[QuestionGrade, ...]
    submissions: tuple[str, ...]

    @property
    def marked(self) -> bool:
        return all(not m.pending for m in self.members)

    @property
    def shared_mark(self) -> ManualMark | None:
        """The members' common mark (same points and comment), if they have one."""
        marks = {(m.mark.points, m.mark.comment) for m in self.members if m.mark is not None}
        first = self.members[0].mark
        return first if self.marked and len(marks) == 1 else None


def normalised(answer: str) -> str:
    return " ".join(answer.casefold().split())


def answer_groups(grades: Sequence[Grade], tag: str) -> tuple[AnswerGroup, ...]:
    """Every graded submission's answer to one question, grouped; unanswered ones last, unmarked before marked."""
    found: dict[str, list[tuple[str, QuestionGrade]]] = {}
    for grade in grades:
        if grade.result.status is not SubmissionStatus.GRADED:
            continue
        question = next(q for q in grade.questions if q.question.tag == tag)
        found.setdefault(normalised(question.answer), []).append((grade.submission, question))
    groups = [
        AnswerGroup(key, members[0][1].answer, tuple(q for _, q in members), tuple(s for s, _ in members)) for key, members in found.items()
    ]
    return tuple(sorted(groups, key=lambda g: (not g.key, -len(g.members), g.key)))


def own_outputs(reports: Path, grade: Grade) -> OwnOutputs:
    """The student's own outputs kept from the notebook this grade's result was graded from (none from another)."""
    return read_own_outputs(reports / grade.submission, grade.result.sha256)


def question_of(questions: Sequence[ManualQuestion], tag: str) -> ManualQuestion | None:
    return next((q for q in questions if q.tag == tag), None)


# ----------------------------------------------------------------------------- JSON


def mark_json(mark: ManualMark | None) -> dict[str, Any] | None:
    if mark is None:
        return None
    return {"points": mark.points, "comment": mark.comment, "by": mark.by, "at": mark.at}


def override_json(override: Override) -> dict[str, Any]:
    return {
        "score": override.score,
        "reason": override.reason,
        "by": override.by,
        "at": override.at,
        "automatic_status": override.automatic_status,
        "automatic_score": override.automatic_score,
        "cleared_at": override.cleared_at,
        "cleared_by": override.cleared_by,
    }


def submission_summary(grade: Grade) -> dict[str, Any]:
    """One element of GET /api/submissions."""
    return {
        "id": grade.submission,
        "status": grade.result.status.value,
        "score": grade.score,
        "max_score": grade.max_score,
        "automatic_score": grade.automatic_score,
        "manual_pending": grade.pending,
        "checks": {
            c.result.id: {
                "status": c.result.status.value,
                "score": c.score,
                "max_score": c.result.max_score,
                "overridden": c.override is not None,
            }
            for c in grade.checks
        },
        "manual": {
            q.question.tag: {"points": q.points, "max_points": q.question.points, "pending": q.pending, "stale": q.stale}
            for q in grade.questions
        },
        "flags": list(flags(grade)),
    }


def submission_detail(grade: Grade, overrides: Sequence[Override], marks: Sequence[ManualMark]) -> dict[str, Any]:
    """GET /api/submissions/{id}: the summary, the full automatic result, every override and mark ever given."""
    return {
        **submission_summary(grade),
        "result": grade.result.to_json(),
        "answers": {q.question.tag: {"question": q.question.text, "answer": q.answer, "mark": mark_json(q.mark)} for q in grade.questions},
        "overrides": [dict(override_json(o), check_id=o.check_id) for o in overrides],
        "manual_history": [dict(mark_json(m) or {}, question=m.question) for m in marks],
    }
