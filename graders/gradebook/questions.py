"""The written answers staff mark by hand: the three KL questions and their points.

Until the assignment contract (graders/assignment/contract.py) carries them, this is the one
place that says which questions are marked by hand and what each is worth by default. The
question texts and tags come from the answer reader (graders.judge.answers.QUESTIONS), so a
question is named the same everywhere; here we add only its points.
"""

from __future__ import annotations

from dataclasses import dataclass

from graders.judge.answers import QUESTIONS

DEFAULT_POINTS = 1.0  # per written question: 12 automatic + 3 manual = 15 in all


@dataclass(frozen=True)
class ManualQuestion:
    tag: str  # the handout's tag name without "answer:", e.g. "kl_observe"
    text: str  # the question as the handout asks it (FreeTextAnswer.question)
    points: float


MANUAL_QUESTIONS: tuple[ManualQuestion, ...] = tuple(
    ManualQuestion(question.tag.removeprefix("answer:"), question.text, DEFAULT_POINTS) for question in QUESTIONS
)
