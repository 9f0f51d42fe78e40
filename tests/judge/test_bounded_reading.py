"""The written answers on hostile input: free text and LaTeX are read in time proportional to their
length (or within caps), what is not read is marked where the student and staff see it, and nothing
a student writes makes the reader raise or hang (fuzzed with hypothesis, for time as well).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assignments.a10 import answers
from assignments.a10.answers import AnswerVerdict, extract_derivation, extract_free_text, judge_mu
from assignments.a10.checks import CHECKS, Evidence
from assignments.a10.contract import QUESTIONS
from graders.judge import cells as cell_reading
from graders.judge.cells import MAX_CELL_CHARS
from graders.judge.probes import ProbeResults
from graders.results import MAX_ANSWER_CHARS, CheckStatus, truncation_note
from tests.timing import assert_linear, cpu_seconds, repeat_to

ANSWERS = r"$$\mu = \sqrt{\bar\alpha_3}\, x_0$$" + "\n\n" + r"$$\Sigma = 1 - \bar\alpha_3$$"
OBSERVE = QUESTIONS[0]


def cell(source: str, *tags: str, kind: str = "markdown") -> dict[str, Any]:
    return {"cell_type": kind, "source": source, "metadata": {"tags": list(tags)}}


def notebook(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"cells": list(cells)}


def observed(text: str) -> str:
    return extract_free_text(notebook(cell(text, OBSERVE.tag)))[0].answer


@pytest.fixture
def no_caps(monkeypatch):
    """The readers themselves, without the cap that otherwise bounds their work."""
    monkeypatch.setattr(cell_reading, "MAX_CELL_CHARS", 10**8)


# ============================================================================= free text

PILED_UP = {
    "unclosed-image-alts": lambda n: repeat_to("![", n),
    "image-alts-closed-at-the-end": lambda n: repeat_to("![", n) + "]",
    "unclosed-image-links": lambda n: repeat_to("![a](", n),
    "unclosed-image-labels": lambda n: repeat_to("![a][", n),
    "unclosed-img-tags": lambda n: repeat_to("<img ", n),
    "unclosed-media": lambda n: repeat_to("<video ", n) + "</audio>",
    "unclosed-html-tags": lambda n: repeat_to("<div ", n),
    "html-tags-closed-at-the-end": lambda n: repeat_to("<b", n) + ">",
    "blank-lines": lambda n: repeat_to("\n \n", n),
    "placeholders": lambda n: repeat_to("Your answer here.\n\n", n),
    "prose-with-images": lambda n: repeat_to("Blurry ![recon](attachment:a.png) at <b>30</b>.\n", n),
}


@pytest.mark.parametrize("build", PILED_UP.values(), ids=PILED_UP.keys())
def test_each_construct_in_free_text_is_read_in_time_proportional_to_its_length(build, no_caps):
    assert_linear(observed, build)


@pytest.mark.parametrize("build", PILED_UP.values(), ids=PILED_UP.keys())
def test_an_answer_after_its_question_is_read_in_time_proportional_to_its_length(build, no_caps):
    assert_linear(lambda text: extract_free_text(notebook(cell("### 1) What do you observe?"), cell(text))), build)


def test_images_and_tags_are_stripped_as_before_however_they_nest():
    text = "A ![x](a.png) b ![y][ref] c <IMG src=x> d <Video a>e</VIDEO> f <div class='x'>g</div> ![unclosed <b>h"
    assert observed(text) == "A  b  c  d  f g ![unclosed h"


def test_an_answer_from_a_cell_past_the_cap_says_how_much_was_not_read():
    answer = observed("Blurry at 30. " + "<br>" * 5_000 + "Sharp at 0.")  # 25 characters past 20,000
    assert answer.startswith("Blurry at 30.") and "Sharp" not in answer
    assert answer.endswith(truncation_note(25))


def test_an_answer_collected_after_its_question_from_a_cell_past_the_cap_says_so_too():
    nb = notebook(cell("### 1) What do you observe?"), cell("Blurry. " + "<br>" * 5_000 + "Sharp at 0."))
    answer = extract_free_text(nb)[0].answer
    assert answer.startswith("Blurry.") and "Sharp" not in answer and "[truncated: " in answer


def test_many_tagged_cells_are_one_answer_within_the_results_cap():
    cells = [cell("A sentence of the answer. " * 100, OBSERVE.tag)] * 50
    answer = extract_free_text(notebook(*cells))[0].answer
    assert answer.startswith("A sentence of the answer.") and "[truncated: " in answer and len(answer) <= MAX_ANSWER_CHARS


def test_answers_within_the_caps_are_not_marked():
    assert observed("Blurry at 30.\n\n" + "x" * 5_000) == "Blurry at 30.\n\n" + "x" * 5_000


# ============================================================================= the derivation note reaches the checks


def derivation_results(nb: dict[str, Any], plan, expected, *, self_check: bool = False):
    evidence = Evidence(plan, ProbeResults({}, missing_reason="not run"), expected, extract_derivation(nb), self_check)
    return [check.run(evidence) for check in CHECKS if check.id.startswith("derivation.")]


def test_the_derivation_checks_tell_the_student_what_was_not_read(plan, expected):
    nb = notebook(cell(ANSWERS), cell("<!--" * 40_000))
    for result in derivation_results(nb, plan, expected) + derivation_results(nb, plan, expected, self_check=True):
        assert result.status is CheckStatus.PASS
        assert result.message.endswith(
            "characters of cell 2 (counting every cell from the top) were read for your answers; the rest was ignored."
        )


def test_an_answer_past_the_cap_is_missing_and_the_message_says_why(plan, expected):
    nb = notebook(cell("x" * MAX_CELL_CHARS + ANSWERS))
    for result in derivation_results(nb, plan, expected):
        assert result.status is CheckStatus.ERROR
        assert "No answer for" in result.message and "20,000 characters of cell 1" in result.message


def test_a_notebook_read_in_full_has_no_note(plan, expected):
    for result in derivation_results(notebook(cell(ANSWERS)), plan, expected):
        assert result.status is CheckStatus.PASS and "ignored" not in result.message


# ============================================================================= LaTeX

BASELINE = r"\sqrt{\bar\alpha_3}\, x_0"


def judged_in_time(latex: str) -> AnswerVerdict:
    """`judge_mu(latex)`, stopped (TooSlow) if it takes far longer than judging a plain answer."""
    answers.judge.cache_clear()
    baseline = cpu_seconds(lambda: (answers.judge.cache_clear(), judge_mu(BASELINE)))
    verdicts: list[AnswerVerdict] = []
    cpu_seconds(lambda: (answers.judge.cache_clear(), verdicts.append(judge_mu(latex))), repeats=1, watchdog=100 * baseline + 2)
    return verdicts[0]


@pytest.mark.parametrize(
    ("latex", "status", "fragment"),
    [
        (r"\exp{\exp{\exp{100}}}", CheckStatus.FAIL, "exp(exp(exp(100)))"),  # 30-digit evalf of this never ended
        (r"e^{e^{e^{e^{9}}}}", CheckStatus.FAIL, "is not"),
        (r"\frac{1}{\exp{\exp{\exp{100}}}}\, x_0", CheckStatus.FAIL, "is not"),
        (r"\exp{\exp{\exp{\exp{\exp{\alpha_1}}}}}", CheckStatus.FAIL, "is not"),
        (r"(\alpha_1 + x_0)^{999} (\alpha_2 + x_0)^{999}", CheckStatus.FAIL, "is not"),
        ("x_0" + "^2" * 400, CheckStatus.FAIL, "is not"),
        ("x_0" + "^{x_0}" * 300, CheckStatus.ERROR, "could not be read"),
        (r"\alpha_1" * 200, CheckStatus.FAIL, "α₁^200"),
        (r"\mathbf{" * 60 + "x_0" + "}" * 60, CheckStatus.ERROR, "nested too deeply"),
        (r"\alpha_{" + "1+" * 400 + "1}", CheckStatus.ERROR, "not a step number"),
        (r"\prod_{s=1}^{3}\prod_{r=1}^{3}\alpha_{" + "s+" * 300 + "r}", CheckStatus.ERROR, "not a step number"),
        (r"\sqrt{\bar\alpha_3}\, x_0 + \alpha" + "a" * 5_000, CheckStatus.ERROR, "too long"),
        ("1" * 3_000, CheckStatus.ERROR, "too long"),
    ],
)
def test_pathological_latex_is_judged_about_as_fast_as_a_plain_answer(latex, status, fragment):
    verdict = judged_in_time(latex)
    assert verdict.status is status and fragment in verdict.message
    assert len(verdict.message) < 1_000  # the answer is quoted shortened


def test_a_long_answer_is_quoted_shortened():
    latex = r"\alpha_1 + " * 500
    verdict = judge_mu(latex)
    assert verdict.status is CheckStatus.ERROR and "too long" in verdict.message
    assert latex[:200] in verdict.message and "…" in verdict.message and len(verdict.message) < len(latex) // 5


LATEX_PIECES = [
    "\\alpha_", "\\bar\\alpha_", "x_0", "t", "s", "1", "3", "9", "{", "}", "(", ")", "[", "]", "^", "_", "+", "-", "\\cdot",
    "/", "\\frac", "\\sqrt", "\\exp", "\\log", "e", "\\prod_{s=1}^{3}", "\\sum_{s=1}^{t}", "\\mathbf{", "\\text{", "\\left(",
    "\\right)", "\\,", " ", "I", "=", ".", "0", "\\overline{\\alpha}", "\\unknown",
]  # fmt: skip
LATEX = st.lists(st.sampled_from(LATEX_PIECES), min_size=1, max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(LATEX)
def test_any_latex_is_judged_without_raising(latex):
    verdict = judge_mu(latex)
    assert verdict.status in (CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.ERROR) and verdict.message
    assert (verdict.parsed is None) == (verdict.status is CheckStatus.ERROR)


@settings(max_examples=20, deadline=None)
@given(LATEX)
def test_any_latex_piled_up_is_judged_about_as_fast_as_a_plain_answer(latex):
    verdict = judged_in_time(repeat_to(latex, 1_500))
    assert verdict.message


# ============================================================================= whole notebooks, fuzzed

MARKDOWN_PIECES = [
    "![",
    "](",
    ")",
    "][",
    "]",
    "<img",
    "<video",
    "</video>",
    "<div",
    ">",
    "\n\n",
    " ",
    "a",
    "?",
    "### 2) ",
    "$$",
    "\\mu =",
    "<!--",
]
MARKDOWN = st.lists(st.sampled_from(MARKDOWN_PIECES) | st.text(max_size=3), min_size=1, max_size=30).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(MARKDOWN, st.sampled_from([(), (OBSERVE.tag,), (QUESTIONS[2].tag,)])), max_size=4))
def test_any_notebook_gives_three_text_answers_without_raising(cells):
    found = extract_free_text(notebook(*(cell(text, *tags) for text, tags in cells)))
    assert [a.question for a in found] == [q.text for q in QUESTIONS]
    assert all(isinstance(a.answer, str) and "[truncated: " not in a.answer for a in found)
