"""POST /api/questions/{q}/meaning, the regrouping by meaning the page keeps, from the real Starlette app in-process:
a text group named by one of its students is kept taken out or put with another's; unknown questions and students,
students without an answer and malformed bodies are refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.gradebook.store import Gradebook
from graders.review.views import answer_groups
from tests.review.conftest import make_graded
from tests.review.test_errors import app_on, call

MEANING = "/api/questions/kl_role/meaning"


@pytest.fixture
def graded(tmp_path: Path) -> Path:
    return make_graded(tmp_path / "reports").root


def key_of(reports: Path, submission: str) -> str:
    with Gradebook.open(reports) as book:
        return next(g.key for g in answer_groups(book.grades(), "kl_role") if any(m.submission == submission for m in g.members))


def test_a_group_taken_out_or_put_with_another_is_kept_by_its_text(graded):
    app = app_on(graded)
    assert call(app, "POST", MEANING, {"submission": "carol", "with": None})[0] == 200
    assert call(app, "POST", MEANING, {"submission": "mallory <b>", "with": "carol"})[0] == 200
    with Gradebook.open(graded) as book:
        edits = [(e.key, e.joined, e.by) for e in book.meaning_edits("kl_role")]
    assert edits == [(key_of(graded, "carol"), None, "ta"), (key_of(graded, "mallory <b>"), key_of(graded, "carol"), "ta")]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/questions/kl_nothing/meaning", {"submission": "carol", "with": None}, 404),
        (MEANING, {"submission": "nobody", "with": None}, 404),
        (MEANING, {"submission": "solution", "with": None}, 404),  # no answer: in no text group
        (MEANING, {"submission": "carol", "with": "nobody"}, 404),
        (MEANING, {"submission": "carol", "with": 3}, 400),
        (MEANING, {"submission": "dave", "with": "carol"}, 400),  # one text group: the same answer once normalised
        (MEANING, {"with": None}, 400),
        (MEANING, ["carol"], 400),
    ],
)
def test_what_names_nothing_or_is_malformed_is_refused_and_nothing_is_written(graded, path, body, status):
    assert call(app_on(graded), "POST", path, body)[0] == status
    with Gradebook.open(graded) as book:
        assert book.meaning_edits("kl_role") == ()
