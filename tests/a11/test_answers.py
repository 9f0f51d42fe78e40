"""Assignment 11's written answers: the Var(q · k) line read from markdown and judged, within bounds."""

from __future__ import annotations

import time

import nbformat
import pytest

from assignments.a11 import ASSIGNMENT
from assignments.a11.answer_form import MAX_ANSWER_CHARS
from assignments.a11.answers import judge_variance
from graders.results import CheckStatus


def notebook(*markdown: str, tagged: dict[str, str] | None = None) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell(text) for text in markdown]
    for tag, answer in (tagged or {}).items():
        cells.append(nbformat.v4.new_markdown_cell(answer, metadata={"tags": [tag]}))
    return nbformat.v4.new_notebook(cells=cells)


@pytest.mark.parametrize("answer", ["d_k", "d_{k}", r"\frac{d_k^2}{d_k}", "1 \\cdot d_k", "(d_k)", "d_k."])
def test_d_k_in_any_equivalent_form_is_right(answer):
    assert judge_variance(answer).status is CheckStatus.PASS


@pytest.mark.parametrize(
    ("answer", "named"),
    [("1", ("variance_of_one_term",)), (r"\sqrt{d_k}", ("std_for_variance",)), ("d_k^{1/2}", ("std_for_variance",)), ("d_k^2", ())],
)
def test_a_wrong_answer_fails_naming_the_mistake_it_shows(answer, named):
    verdict = judge_variance(answer)
    assert verdict.status is CheckStatus.FAIL and verdict.misconceptions == named
    assert all(name in ASSIGNMENT.catalog for name in named)


@pytest.mark.parametrize("answer", [None, "x + 1", "\\sqrt{", "(" * 60 + "d_k" + ")" * 60, "d_k^{d_k^{99}}" * 3, "é"])
def test_a_missing_or_unreadable_answer_is_an_error_with_a_message(answer):
    verdict = judge_variance(answer)
    assert verdict.status in (CheckStatus.ERROR, CheckStatus.FAIL) and verdict.message
    if answer is None or answer.startswith(("x", "\\sqrt", "(", "é")):
        assert verdict.status is CheckStatus.ERROR


def test_the_last_var_line_counts_and_a_chain_is_read_to_its_end():
    nb = notebook(
        r"$$\mathrm{Var}(q \cdot k) = 1$$ was my first guess.",
        r"$$\operatorname{Var}[q^\top k] = \sum_{i=1}^{d_k} \mathrm{Var}(q_i k_i) = d_k$$",
        r"$$y = 2x$$ is about something else.",
    )
    (answer,) = ASSIGNMENT.extract_derivation(nb)
    assert answer.latex == "d_k" and judge_variance(answer.latex).status is CheckStatus.PASS


def test_unicode_as_it_renders_is_read_like_latex():
    (answer,) = ASSIGNMENT.extract_derivation(notebook("$$Var(q·k) = √dₖ$$"))
    assert judge_variance(answer.latex).misconceptions == ("std_for_variance",)


def test_free_text_answers_come_from_their_tagged_cells_in_question_order():
    tags = [q.tag for q in ASSIGNMENT.questions]
    answers = ASSIGNMENT.extract_free_text(notebook("intro", tagged={tags[2]: "third", tags[0]: "first"}))
    assert [a.answer for a in answers] == ["first", "", "third"]


def test_hostile_markdown_is_read_in_linear_time():
    """Many unclosed `$$` and huge left sides: the reading stays proportional to what is read."""
    hostile = notebook("$$" * 10_000, "$$" + "\\mathrm{Var}" * 5_000 + "= d_k $$", "$$Var(q·k) = " + "(" * 10_000 + "$$")
    started = time.process_time()
    (answer,) = ASSIGNMENT.extract_derivation(hostile)
    verdict = judge_variance(answer.latex)
    assert time.process_time() - started < 5.0  # tens of milliseconds in fact; a quadratic scan takes minutes
    assert verdict.status is CheckStatus.ERROR and len(verdict.message) < MAX_ANSWER_CHARS + 200
