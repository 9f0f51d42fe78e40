"""The written answers staff mark by hand: the assignment's written questions, named by tag.

The questions, their texts and default points are the assignment's (graders.assignment.spec.Question);
a gradebook may set other points per question (`grader manual --question-points`).
"""

from __future__ import annotations

from dataclasses import dataclass

from graders.assignment.spec import Assignment


@dataclass(frozen=True)
class ManualQuestion:
    tag: str  # the handout's tag name without "answer:"
    text: str  # the question as the handout asks it (FreeTextAnswer.question)
    points: float


def manual_questions(assignment: Assignment) -> tuple[ManualQuestion, ...]:
    return tuple(ManualQuestion(q.tag.removeprefix("answer:"), q.text, q.points) for q in assignment.questions)
