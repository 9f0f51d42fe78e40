"""What a request names, looked up: a question, a rubric item, where a notebook page starts; a 404 or 400 when
there is no such thing (graders.errors.BadRequest, which the app's one status table maps)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from starlette.requests import Request

from graders.errors import BadRequest
from graders.gradebook.store import Gradebook, Item, ManualQuestion
from graders.review.notebook import Position
from graders.review.views import AnswerGroup, question_of


def notebook_start(request: Request) -> Position:
    """Where the student page's notebook starts: `?cell=N&output=M`, both counted from 1."""
    try:
        return Position(int(request.query_params.get("cell", "1")), int(request.query_params.get("output", "1")))
    except ValueError as exc:
        raise BadRequest("cell and output must be whole numbers (counted from 1)") from exc


def rubric(book: Gradebook, tag: str) -> str:
    """What a full-marks answer says, as the assignment's question has it."""
    question = book.assignment.question(tag)
    return question.rubric if question is not None else ""


def known_question(book: Gradebook, tag: str) -> ManualQuestion:
    question = question_of(book.questions(), tag)
    if question is None:
        raise BadRequest(f"no written question {tag!r}; the questions are: {', '.join(q.tag for q in book.questions())}", status=404)
    return question


def known_rubric(book: Gradebook, tag: str) -> tuple[Item, ...]:
    known_question(book, tag)
    return book.rubric(tag)


def known_item(book: Gradebook, tag: str, key: str) -> Item:
    found = next((i for i in known_rubric(book, tag) if i.key == key), None)
    if found is None:
        raise BadRequest(f"no rubric item {key[:40]!r} on {tag}", status=404)
    return found


def submission_href(submission: str) -> str:
    return "/submissions/" + quote(submission, safe="")


def text_group(groups: Sequence[AnswerGroup], submission: str) -> str:
    """The key of the text group holding `submission`'s answer; a 404 when it has none (no answer, or not graded)."""
    found = next((g.key for g in groups if g.key and any(m.submission == submission for m in g.members)), None)
    if found is None:
        raise BadRequest(f"no answer of {submission[:100]!r} to this question", status=404)
    return found
