"""A question's answers in the gradebook as suggestion input: the marked ones (with their label) and the rest.

The gradebook's marks carry points only (rubric items come with the review's rubric work), so a mark's
label is its points value (`suggest.points_rubric`). A mark given to an answer that has changed since
is no label (the answer it judged is gone) and the answer counts as unmarked, as in the review queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from graders.assist.suggest import Answer, Marked, Rubric, points_item, points_rubric
from graders.errors import UsageError
from graders.gradebook.store import Gradebook


@dataclass(frozen=True)
class QuestionAnswers:
    question: str  # its tag
    rubric: Rubric
    marked: tuple[Marked, ...]
    unmarked: tuple[Answer, ...]


def question_answers(reports: Path, question: str) -> QuestionAnswers:
    """The answers to one written question (by tag, "answer:" optional) in the latest run; `UsageError` for an unknown tag."""
    tag = question.removeprefix("answer:")
    with Gradebook.open(reports) as book:
        grades = book.grades()
        known = [q.tag for q in book.questions()]
    if tag not in known:
        raise UsageError(f"no written question {question!r}; the questions are: {', '.join(known)}")
    marked: list[tuple[Answer, float]] = []
    unmarked: list[Answer] = []
    for grade in grades:
        for answer in grade.questions:
            if answer.question.tag != tag:
                continue
            if answer.mark is None or answer.stale:
                unmarked.append(Answer(grade.result.submission, answer.answer))
            else:
                marked.append((Answer(grade.result.submission, answer.answer), answer.mark.points))
    labelled = tuple(Marked(a, frozenset({points_item(points)})) for a, points in marked)
    return QuestionAnswers(tag, points_rubric([points for _, points in marked]), labelled, tuple(unmarked))
