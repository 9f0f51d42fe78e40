"""The written answers staff mark by hand: the assignment's written questions, named by tag.

The questions, their texts and default points are the assignment's (graders.assignment.spec.Question);
a gradebook may set other points per question (`grader manual --question-points`). A change
that raises a question's points over marks already given needs staff to say what happens to
them (`ExistingMarks`): kept as they are, a full mark is no longer full; scaled, each is a new mark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from graders.assignment.spec import Assignment


@dataclass(frozen=True)
class ManualQuestion:
    tag: str  # the handout's tag name without "answer:"
    text: str  # the question as the handout asks it (FreeTextAnswer.question)
    points: float


def manual_questions(assignment: Assignment) -> tuple[ManualQuestion, ...]:
    return tuple(ManualQuestion(q.tag.removeprefix("answer:"), q.text, q.points) for q in assignment.questions)


class ExistingMarks(Enum):
    """What a change of a question's points does to the marks already given on it; staff choose."""

    KEEP = "keep"  # every mark keeps its points: raised from 1 to 2, a full mark of 1 becomes half marks
    SCALE = "scale"  # every mark is multiplied by new/old: 1 of 1 becomes 2 of 2 (a new mark, in the history)


@dataclass(frozen=True)
class PointsChange:
    """One question's points changed, and the marks on it that the change concerns."""

    tag: str
    old: float
    new: float
    marked: int  # current marks on the question
    full: int  # of them, full marks

    def effect(self) -> str:
        """What the change does to the existing marks under each choice, in staff's words."""
        kept = f"{self.full} full mark(s) of {self.old:g} would become {self.old:g} of {self.new:g}"
        ratio = f"{self.new / self.old:g}" if self.old else "∞"
        return (
            f"{self.tag}: {self.old:g} → {self.new:g} points with {self.marked} mark(s) given: "
            f"with --existing-marks keep {kept}; with --existing-marks scale each mark is multiplied by {ratio}"
        )

    @property
    def needs_choice(self) -> bool:
        """Raising the points over marks silently lowers what they mean (lowering is guarded by the marks' own range)."""
        return self.new > self.old and self.marked > 0


def points_changes(
    questions: Sequence[ManualQuestion], points: Mapping[str, float], marks: Sequence[tuple[str, float]]
) -> tuple[PointsChange, ...]:
    """The questions whose points `points` changes, each with the current marks `(tag, points)` on it."""
    changes = []
    for question in questions:
        new = points.get(question.tag, question.points)
        if new != question.points:
            given = [mark for tag, mark in marks if tag == question.tag]
            changes.append(PointsChange(question.tag, question.points, new, len(given), sum(1 for p in given if p >= question.points)))
    return tuple(changes)


def scaled(points: float, change: PointsChange) -> float:
    """A mark carried over to the question's new points: the same fraction of them (a question worth 0 before: 0)."""
    return min(change.new, round(points * change.new / change.old, 4)) if change.old else 0.0
