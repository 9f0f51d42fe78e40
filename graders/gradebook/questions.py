"""The written answers staff mark by hand: the assignment contract's KL questions, named by tag.

The questions, their texts and default points are the contract's (graders.assignment.contract);
a gradebook may set other points per question (`grader manual --question-points`).
"""

from __future__ import annotations

from dataclasses import dataclass

from graders.assignment.contract import QUESTIONS


@dataclass(frozen=True)
class ManualQuestion:
    tag: str  # the handout's tag name without "answer:", e.g. "kl_observe"
    text: str  # the question as the handout asks it (FreeTextAnswer.question)
    points: float


MANUAL_QUESTIONS: tuple[ManualQuestion, ...] = tuple(
    ManualQuestion(question.tag.removeprefix("answer:"), question.text, question.points) for question in QUESTIONS
)
