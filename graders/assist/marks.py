"""A question's answers in the gradebook as suggestion input: the marked ones (with their label) and the rest.

A mark made of rubric items (the review's rubric) is labelled with its items, and suggestions are then
per item (`suggest`'s measured path) from the question's rubric as it is now; a mark of plain points is
no label for items. While no mark of the question names items, a mark's label is its points value
(`suggest.points_rubric`). A mark given to an answer that has changed since is no label (the answer it
judged is gone) and the answer counts as unmarked, as in the review queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graders.assist.suggest import Answer, Item, Marked, Rubric, points_item, points_rubric
from graders.errors import UsageError
from graders.gradebook.records import ManualMark
from graders.gradebook.rubric import Item as RubricItem
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
        items = book.rubric(tag)
    marked: list[tuple[Answer, ManualMark]] = []
    unmarked: list[Answer] = []
    for grade in grades:
        for answer in grade.questions:
            if answer.question.tag != tag:
                continue
            if answer.mark is None or answer.stale:
                unmarked.append(Answer(grade.result.submission, answer.answer))
            else:
                marked.append((Answer(grade.result.submission, answer.answer), answer.mark))
    if any(mark.items is not None for _, mark in marked):
        return QuestionAnswers(
            tag, _by_items(items), tuple(Marked(a, frozenset(m.items or ())) for a, m in marked if m.items is not None), tuple(unmarked)
        )
    labelled = tuple(Marked(a, frozenset({points_item(mark.points)})) for a, mark in marked)
    return QuestionAnswers(tag, points_rubric([mark.points for _, mark in marked]), labelled, tuple(unmarked))


def _by_items(items: Sequence[RubricItem]) -> Rubric:
    """The question's rubric now, each item with its wording (evidence for it)."""
    return Rubric(tuple(Item(item.key, item.points, item.text) for item in items))
