"""The answer-line reader on hostile markdown: every construct it handles, piled up or left open, is
read in time proportional to its length; what lies past the caps is not read, and the note says so;
no markdown makes it raise (fuzzed with hypothesis, for time as well).

Issue 20 reported two cells: 7,000 `\\mu ` in `$$…$$` turned a 17 s batch into 104 s, and
40,000 unclosed `<!--` took about 300 s.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assignments.a10 import answer_lines
from assignments.a10.answer_lines import read_derivation
from assignments.a10.contract import QUESTIONS
from graders.judge import cells as cell_reading
from graders.judge.cells import MAX_CELL_CHARS, MAX_CELLS
from graders.judge.unicode_math import _MAX_GROWTH, math_as_latex
from tests.timing import SLACK, assert_linear, cpu_seconds, repeat_to

ANSWERS = r"$$\mu = \sqrt{\bar\alpha_3}\, x_0$$" + "\n\n" + r"$$\Sigma = 1 - \bar\alpha_3$$"


def markdown(source: str | list[str], *tags: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "source": source, "metadata": {"tags": list(tags)}}


def notebook(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"cells": list(cells)}


def read(text: str) -> answer_lines.DerivationLines:
    return read_derivation(notebook(markdown(text)), QUESTIONS)


# Every construct the reader handles, piled up to `n` characters; most are left open, which is what
# made a regex search the rest of the cell again from each one.
PILED_UP = {
    "mu-statements (reported)": lambda n: "$$" + repeat_to(r"\mu ", n) + "$$",
    "unclosed-comments (reported)": lambda n: repeat_to("<!--", n),
    "closed-comments": lambda n: repeat_to("<!-- $$\\mu = 1$$ -->", n),
    "backtick-fences": lambda n: repeat_to("```", n),
    "tilde-fences": lambda n: repeat_to("~~~~", n),
    "code-spans-cut-by-newlines": lambda n: repeat_to("`a\n", n),
    "unclosed-display-dollars": lambda n: repeat_to("$$ ", n),
    "inline-dollars-escaped": lambda n: repeat_to("$a\\$", n),
    "unclosed-display-brackets": lambda n: repeat_to("\\[ ", n),
    "unclosed-inline-parens": lambda n: repeat_to("\\( ", n),
    "nested-braces": lambda n: "$$\\mu = " + "{" * (n // 2) + "}" * (n // 2) + "$$",
    "left-right": lambda n: "$$\\mu = " + repeat_to("\\left( x ", n // 2) + repeat_to("\\right) ", n // 2) + "$$",
    "one-long-command": lambda n: "$$\\mu = \\" + "a" * n + "$$",
    "unclosed-text-with-words": lambda n: "$$\\mu = 1 \\text{" + repeat_to("ab", n) + "$$",
    "many-texts": lambda n: "$$\\mu = 1 " + repeat_to("\\text{ab", n) + "$$",
    "statements-after-commas": lambda n: "$$" + repeat_to("\\mu, ", n) + "= 1$$",
    "chained-equals": lambda n: "$$" + repeat_to("\\mu = ", n) + "$$",
    "quads": lambda n: "$$\\mu = 1 " + repeat_to("\\quad ", n) + "$$",
    "spacing-before-a-statement": lambda n: "$$x, " + repeat_to("\\, ", n) + "\\mu = 1$$",
    "deep-nesting": lambda n: "$$" + repeat_to("{\\mu = ", n // 2) + "}" * (n // 14) + "$$",
    "line-breaks": lambda n: "$$" + repeat_to("\\mu = 1 \\\\ ", n) + "$$",
    "aligned-environment": lambda n: "$$\\begin{aligned}" + repeat_to("\\Sigma &= 1 \\\\ ", n) + "\\end{aligned}$$",
    "inline-statements": lambda n: repeat_to("$\\sigma^2 = 1$ ", n),
    "question-lines": lambda n: repeat_to("### 1) What do you observe?\n", n),
    "prose": lambda n: repeat_to("Setting t to 3 we get the following values. ", n),
    "unicode-statements": lambda n: "$$" + repeat_to("μ = √ᾱ₃·x₀, Σ = 1 − ᾱ₃ ", n) + "$$",
    "unicode-script-run": lambda n: "$$μ = α" + "₁" * n + "$$",
    "unicode-accents-piled-up": lambda n: "$$Σ = " + "α\u0304" * (n // 2) + "$$",
    "unicode-bold-letters": lambda n: "$$𝛍 = " + repeat_to("𝐱₀𝟎𝚺", n) + "$$",
    "unicode-next-to-commands": lambda n: "$$\\mu = " + repeat_to("\\cdot\N{MATHEMATICAL BOLD CAPITAL I}μx", n) + "$$",
}


@pytest.mark.parametrize("build", PILED_UP.values(), ids=PILED_UP.keys())
def test_each_construct_is_read_in_time_proportional_to_its_length(build, monkeypatch):
    monkeypatch.setattr(cell_reading, "MAX_CELL_CHARS", 10**8)  # the reader itself, not its cap
    assert_linear(read, build)


@pytest.mark.parametrize("build", PILED_UP.values(), ids=PILED_UP.keys())
def test_a_megabyte_cell_costs_no_more_than_one_at_the_cap(build):
    at_cap = cpu_seconds(lambda: read(build(MAX_CELL_CHARS)))
    huge = build(1_000_000)
    assert cpu_seconds(lambda: read(huge), watchdog=40 * at_cap + 1) <= 2 * at_cap + SLACK


def test_the_reported_cells_are_cut_at_the_cap_and_the_answers_above_them_still_count():
    for pathological in ("$$" + r"\mu " * 7_000 + "$$", "<!--" * 40_000):
        found = read_derivation(notebook(markdown(ANSWERS), markdown(pathological)), QUESTIONS)
        assert (found.mu, found.sigma) == (r"\sqrt{\bar\alpha_3}\, x_0", r"1 - \bar\alpha_3")
        assert found.note.startswith(f"Only the first {MAX_CELL_CHARS:,} characters of cell 2 ")


def test_text_past_the_cap_is_not_read_and_the_note_says_which_cell():
    late = "x" * MAX_CELL_CHARS + ANSWERS
    for source in (late, late.splitlines(keepends=True), [late[i : i + 7] for i in range(0, len(late), 7)]):
        found = read_derivation(notebook(markdown("Intro."), markdown(source)), QUESTIONS)
        assert (found.mu, found.sigma) == (None, None)
        assert "cell 2 (counting every cell from the top)" in found.note and "20,000" in found.note


def test_an_answer_just_inside_the_cap_counts_without_a_note():
    text = "x" * (MAX_CELL_CHARS - len(ANSWERS)) + ANSWERS
    assert len(text) == MAX_CELL_CHARS
    found = read(text)
    assert found.mu == r"\sqrt{\bar\alpha_3}\, x_0" and found.note == ""


def test_cells_past_the_cell_cap_are_not_read_and_the_note_says_so():
    filler = [markdown("Working.")] * (MAX_CELLS - 1)
    inside = read_derivation(notebook(*filler, markdown(ANSWERS)), QUESTIONS)
    assert inside.mu is not None and inside.note == ""
    past = read_derivation(notebook(*filler, markdown("More working."), markdown(ANSWERS)), QUESTIONS)
    assert (past.mu, past.sigma) == (None, None)
    assert f"first {MAX_CELLS} cells only" in past.note


def test_the_note_names_every_cut_cell_that_holds_answers_and_no_other():
    long = "x" * (MAX_CELL_CHARS + 1)
    code = {"cell_type": "code", "source": long, "metadata": {}}
    tagged_code = {**code, "metadata": {"tags": [QUESTIONS[0].tag]}}
    cells = [markdown(long), code, tagged_code] + [markdown(long)] * 12
    note = read_derivation(notebook(*cells), QUESTIONS).note
    assert note.startswith("Only the first 20,000 characters of cells 1, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 4 more ")


# ============================================================================= fuzzed

PIECES = [
    "$$", "$", "\\mu", "\\Sigma", "\\sigma^2", "=", ":=", "{", "}", "(", ")", "\\left(", "\\right)", "\\text{", "\\text{ and }",
    "<!--", "-->", "```", "`", "~~~", "\\[", "\\]", "\\(", "\\)", "\\\\", "\\", ",", "\\,", " ", "\n", "a", "\\quad", "&",
    "\\begin{aligned}", "\\end{aligned}", "_t", "_{3}", "\\bar\\alpha_3", "x_0", "\\sqrt", "\\Rightarrow", "\\boldsymbol{", "I",
    "# ", "?", "What do you observe?", "\\$", "\\{",
    "μ", "Σ", "σ²", "ᾱ₃", "α", "\u0304", "√", "·", "×", "−", "∏ₛ₌₁³", "x₀", "\N{MATHEMATICAL BOLD CAPITAL I}", "₁₂", "≔",
]  # fmt: skip
MARKDOWN = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), min_size=1, max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKDOWN | st.lists(MARKDOWN, max_size=3), max_size=4))
def test_any_markdown_is_read_without_raising(sources):
    found = read_derivation(notebook(*(markdown(source) for source in sources)), QUESTIONS)
    for answer in (found.mu, found.sigma):
        assert answer is None or isinstance(answer, str)
    assert found.note == ""


@settings(max_examples=25, deadline=None)
@given(MARKDOWN.filter(bool))
def test_any_markdown_piled_up_is_read_in_time_proportional_to_its_length(piece):
    answer_lines_cap = cell_reading.MAX_CELL_CHARS
    cell_reading.MAX_CELL_CHARS = 10**8  # not monkeypatch: a function-scoped fixture would span every example
    try:
        assert_linear(read, lambda n: repeat_to(piece, n), size=25_000)
    finally:
        cell_reading.MAX_CELL_CHARS = answer_lines_cap


# ============================================================================= math typed in Unicode


@pytest.mark.parametrize(
    ("typed", "latex"),
    [
        ("μ = √{α₁α₂α₃}·x₀", r"\mu = \sqrt{\alpha_{1}\alpha_{2}\alpha_{3}}\cdot x_{0}"),
        ("Σ = 1 − ᾱₜ", r"\Sigma = 1 - \bar{\alpha}_{t}"),
        ("σ² = (1 − α\u0304₃)×\N{MATHEMATICAL BOLD CAPITAL I}", r"\sigma^{2} = (1 - \bar{\alpha}_{3})\times I"),
        ("∏ₛ₌₁³ αₛ ≔ α\u0305₃", r"\prod_{s=1}^{3} \alpha_{s} := \bar{\alpha}_{3}"),
        ("ε ϵ φ ϕ µ", r"\varepsilon \epsilon \varphi \phi \mu"),  # as MathJax draws \varepsilon and \epsilon
        ("μx \\cdot\N{MATHEMATICAL BOLD CAPITAL I} \\mux", r"\mu x \cdot I \mux"),  # what was typed stays, even \mux
        ("αₜ₋₁ x₁₂", r"\alpha_{t-1} x_{12}"),
    ],
)
def test_unicode_math_is_written_as_the_latex_it_renders_like(typed, latex):
    assert math_as_latex(typed) == latex


def test_a_unicode_answer_is_found_as_its_latex():
    found = read("$$μ = √ᾱ₃·x₀$$\n\n$$Σ·\N{MATHEMATICAL BOLD CAPITAL I} = (1 − ᾱ₃)·\N{MATHEMATICAL BOLD CAPITAL I}$$")
    assert (found.mu, found.sigma) == (r"\sqrt\bar{\alpha}_{3}\cdot x_{0}", r"(1 - \bar{\alpha}_{3})\cdot I")


@pytest.mark.parametrize(
    ("block", "mu", "sigma"),
    [
        ("μ₃ = A", "A", None),
        ("𝛍 = A", "A", None),
        ("\\boldsymbol{μ} = A", "A", None),
        ("Σₜ = B", None, "B"),
        ("σ² = B", None, "B"),
        ("σₜ² = B", None, "B"),
        ("Σ·\N{MATHEMATICAL BOLD CAPITAL I} = B", None, "B"),
        ("Σ × \N{MATHEMATICAL BOLD CAPITAL I} = B", None, None),  # not how Σ·I is written
        ("Σ· = B", None, None),
        ("μ = A, Σ = B", "A", "B"),
        ("σ = B", None, None),  # σ alone is a standard deviation
        ("μ\u0303 = A", None, None),  # μ with a tilde is another quantity
        ("μ\u0304 = A", None, None),
    ],
)
def test_which_unicode_statements_count_as_answers(block, mu, sigma):
    found = read(f"$${block}$$")
    assert (found.mu, found.sigma) == (mu, sigma)


UNICODE_MATH = st.text(st.sampled_from("μΣσαᾱ√·×−∏₀₁₂₃ₛₜ²\u0304\u0305\N{MATHEMATICAL BOLD CAPITAL I}𝛍xIa\\{}_^ =,"), max_size=40) | st.text(
    max_size=40
)


@settings(max_examples=300, deadline=None)
@given(UNICODE_MATH)
def test_rewriting_is_bounded_and_a_second_pass_changes_nothing(math):
    latex = math_as_latex(math)
    assert len(latex) <= _MAX_GROWTH * len(math)
    assert math_as_latex(latex) == latex


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(max_codepoint=0x7F), max_size=60))
def test_ascii_latex_is_left_as_it_is(latex):
    assert math_as_latex(latex) == latex


@pytest.mark.parametrize(
    "unit",
    ["μ", "α₁", "₁", "α\u0304", "\u0304", "\N{MATHEMATICAL BOLD CAPITAL I}", "\\cdot\N{MATHEMATICAL BOLD CAPITAL I}", "\\\\μ", "√ᾱ₃·x₀ − "],
)
def test_rewriting_takes_time_proportional_to_the_length(unit):
    assert_linear(math_as_latex, lambda n: repeat_to(unit, n))
