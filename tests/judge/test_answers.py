"""Written answers: finding the μ and Σ lines in markdown, reading their LaTeX, judging them, and
collecting the free-text KL answers. Every expected verdict is worked out by hand from the truth
μ = √(α₁α₂α₃)·x₀, Σ = 1 − α₁α₂α₃ and the misconception catalog.
"""

from __future__ import annotations

import nbformat
import pytest

from assignments.a10.answers import AnswerVerdict, extract_derivation, extract_free_text, judge_mu, judge_sigma
from assignments.a10.latex import parse_latex
from graders.results import CheckStatus, DerivationAnswer, FreeTextAnswer

PASS, FAIL, ERROR = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.ERROR

# The anonymised seed submission's answer cell, verbatim.
SEED_ANSWER_CELL = r"""Setting t to 3, we now get the following values:

$$\mu = \alpha_3 \alpha_2 \alpha_1$$

$$\Sigma = 1 - \alpha_3 \alpha_2 \alpha_1$$"""


def notebook(*cells: tuple[str, str] | tuple[str, str, list[str]]) -> nbformat.NotebookNode:
    """A v4 notebook from (cell type, source[, tags]) triples."""
    nb = nbformat.v4.new_notebook()
    for kind, source, *tags in cells:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(source, metadata={"tags": tags[0]} if tags else {}))
    return nb


def md(source: str, *tags: str) -> tuple[str, str, list[str]]:
    return ("markdown", source, list(tags))


def code(source: str) -> tuple[str, str, list[str]]:
    return ("code", source, [])


def latex_of(nb: nbformat.NotebookNode) -> tuple[str | None, str | None]:
    mu, sigma = extract_derivation(nb)
    return mu.latex, sigma.latex


# ============================================================================= the seed


def test_seed_answers_mu_fails_with_missing_sqrt_and_missing_x0_and_sigma_passes():
    mu, sigma = extract_derivation(notebook(md(SEED_ANSWER_CELL)))
    assert mu == DerivationAnswer("mu", r"\alpha_3 \alpha_2 \alpha_1")
    assert sigma == DerivationAnswer("Sigma", r"1 - \alpha_3 \alpha_2 \alpha_1")
    verdict = judge_mu(mu.latex)
    assert verdict.status is FAIL
    assert verdict.misconceptions == ("missing_sqrt", "missing_x0")
    assert "√(α₁α₂α₃)·x₀" in verdict.message  # says what μ should have been
    assert judge_sigma(sigma.latex).status is PASS


# ============================================================================= notations

CORRECT_MU = [
    r"\sqrt{\alpha_1\alpha_2\alpha_3}\,x_0",
    r"\sqrt{\alpha_3 \alpha_2 \alpha_1} x_0",
    r"x_0 \sqrt{\alpha_1 \alpha_2 \alpha_3}",
    r"\sqrt{\alpha_1} \cdot \sqrt{\alpha_2} \cdot \sqrt{\alpha_3} \cdot x_0",
    r"\sqrt{\alpha_1}\times\sqrt{\alpha_2}\times\sqrt{\alpha_3}\times x_0",
    r"\sqrt{\alpha_1 * \alpha_2 * \alpha_3} * x_0",
    r"\sqrt{\alpha_{1}\alpha_{2}\alpha_{3}}\;x_{0}",
    r"\sqrt{\alpha_t\alpha_{t-1}\alpha_{t-2}}\!x_0",
    r"\sqrt{\alpha_{t}\alpha_{t-1}\alpha_{t-2}}\ x_0",
    r"\sqrt{\alpha_1\alpha_2\alpha_3}~x_0",
    r"\sqrt{\alpha_1\alpha_2\alpha_3}\quad x_0",
    r"\left(\alpha_1\alpha_2\alpha_3\right)^{1/2} x_0",
    r"(\alpha_1\alpha_2\alpha_3)^{\frac12} x_0",
    r"[\alpha_1\alpha_2\alpha_3]^{0.5} x_0",
    r"{\alpha_1\alpha_2\alpha_3}^{\frac{1}{2}} x_0",
    r"\alpha_1^{1/2}\alpha_2^{1/2}\alpha_3^{1/2}x_0",
    r"\frac{\alpha_1\alpha_2\alpha_3 x_0}{\sqrt{\alpha_1\alpha_2\alpha_3}}",
    r"\sqrt[2]{\alpha_1\alpha_2\alpha_3}x_0",
    r"\sqrt{\bar\alpha_3} x_0",
    r"\sqrt{\bar{\alpha}_3} x_0",
    r"\sqrt{\bar{\alpha}_{3}} x_0",
    r"\sqrt{\bar{\alpha_3}} x_0",
    r"\sqrt{\overline{\alpha}_3} x_0",
    r"\sqrt{\bar\alpha_t} x_0",
    r"\bar\alpha_3^{1/2} x_0",
    r"\sqrt{\bar\alpha_2 \alpha_3} x_0",
    r"\sqrt{\prod_{s=1}^{3} \alpha_s}\, x_0",
    r"\sqrt{\prod_{i=1}^{t}\alpha_i}\, x_0",
    r"\prod_{s=1}^3 \sqrt{\alpha_s}\, x_0",
    r"\sqrt{\bar\alpha_3}\,\mathbf{x}_0",
    r"\sqrt{\bar\alpha_3}\,\boldsymbol{x}_0",
    r"\sqrt{\bar\alpha_3}\,\mathbf{x_0}",
    r"\sqrt{\bar\alpha_3}\,x_{t-3}",
    r"\sqrt{\bar\alpha_3}\,x_0.",
    r"\sqrt{\bar\alpha_3}\,x_0,",
    r"\sqrt{\bar\alpha_3}\,\mathrm{x}_0",
    r"\sqrt{\bar\alpha_3}\, x_0 \, \text{.}",
]


@pytest.mark.parametrize("latex", CORRECT_MU)
def test_correct_mu_passes_in_every_notation(latex):
    verdict = judge_mu(latex)
    assert verdict.status is PASS, verdict.message
    assert verdict.misconceptions == ()


CORRECT_SIGMA = [
    r"1 - \alpha_3 \alpha_2 \alpha_1",
    r"1-\alpha_1\cdot\alpha_2\cdot\alpha_3",
    r"-\alpha_1\alpha_2\alpha_3 + 1",
    r"1 - \bar\alpha_3",
    r"1 - \bar{\alpha}_{3}",
    r"1 - \overline{\alpha}_t",
    r"1 - \prod_{s=1}^{3}\alpha_s",
    r"(1 - \bar\alpha_3) I",
    r"(1 - \bar\alpha_3)\mathbf{I}",
    r"\left(1 - \bar\alpha_3\right)\boldsymbol{I}",
    r"(1 - \bar\alpha_3)\mathbb{I}",
    r"\mathbf{I} - \bar\alpha_3\mathbf{I}",
    r"1 - \alpha_t\alpha_{t-1}\alpha_{t-2}.",
    r"\alpha_3(1-\alpha_2\alpha_1) + (1-\alpha_3)",  # merged noise variances, not yet multiplied out
]


@pytest.mark.parametrize("latex", CORRECT_SIGMA)
def test_correct_sigma_passes_in_every_notation(latex):
    verdict = judge_sigma(latex)
    assert verdict.status is PASS, verdict.message


MU_MISTAKES = [
    (r"\bar\alpha_3 x_0", ("missing_sqrt",)),
    (r"\alpha_1\alpha_2\alpha_3 x_0", ("missing_sqrt",)),
    (r"\sqrt{\bar\alpha_3}", ("missing_x0",)),
    (r"\sqrt{\alpha_3}x_0", ("last_alpha_only",)),
    (r"\sqrt{\alpha_t}x_0", ("last_alpha_only",)),
    (r"\sqrt{\alpha_1\alpha_2\alpha_3\alpha_4}x_0", ("off_by_one_index",)),
    (r"\sqrt{\bar\alpha_4}x_0", ("off_by_one_index",)),
    (r"\sqrt{\bar\alpha_{t+1}}x_0", ("off_by_one_index",)),
    (r"\alpha_3 \alpha_2 \alpha_1", ("missing_sqrt", "missing_x0")),
    (r"\alpha_3 x_0", ("missing_sqrt", "last_alpha_only")),
    (r"\sqrt{\alpha_4}x_0", ("off_by_one_index", "last_alpha_only")),
]


@pytest.mark.parametrize(("latex", "names"), MU_MISTAKES)
def test_mu_misconceptions_are_named(latex, names):
    verdict = judge_mu(latex)
    assert (verdict.status, verdict.misconceptions) == (FAIL, names)


SIGMA_MISTAKES = [
    (r"\sqrt{1-\bar\alpha_3}", ("std_for_variance",)),
    (r"1-\alpha_3", ("last_alpha_only",)),
    (r"1-\alpha_1\alpha_2\alpha_3\alpha_4", ("off_by_one_index",)),
    (r"\sqrt{1-\alpha_3}", ("std_for_variance", "last_alpha_only")),
]


@pytest.mark.parametrize(("latex", "names"), SIGMA_MISTAKES)
def test_sigma_misconceptions_are_named(latex, names):
    verdict = judge_sigma(latex)
    assert (verdict.status, verdict.misconceptions) == (FAIL, names)


@pytest.mark.parametrize(
    "latex",
    [
        r"-\sqrt{\bar\alpha_3}x_0",
        r"\sqrt{\alpha_1\alpha_2}x_0",
        r"\sqrt{\bar\alpha_3 x_0^2}",  # √ᾱ·|x₀|: wrong for negative pixels
        r"\sqrt{\bar\alpha_3}x_3",
    ],
)
def test_wrong_mu_outside_the_catalog_fails_without_names_but_shows_the_right_form(latex):
    verdict = judge_mu(latex)
    assert (verdict.status, verdict.misconceptions) == (FAIL, ())
    assert "√(α₁α₂α₃)·x₀" in verdict.message


def test_sigma_mistakes_do_not_explain_mu_and_vice_versa():
    # x₀·(1 − α₁α₂α₃) matches no variant of Σ: a μ-only flag (missing_x0 …) must not be named.
    assert judge_sigma(r"(1-\bar\alpha_3)x_0").misconceptions == ()
    assert judge_mu(r"1-\bar\alpha_3").misconceptions == ()


def test_verdict_is_frozen_with_parsed_text_for_staff():
    verdict = judge_mu(r"\alpha_3 \alpha_2 \alpha_1")
    assert isinstance(verdict, AnswerVerdict)
    assert verdict.parsed == "α₁α₂α₃"
    with pytest.raises(AttributeError):
        verdict.status = PASS  # type: ignore[misc]


# ============================================================================= unreadable answers


def test_no_answer_is_an_error_that_shows_the_expected_format():
    verdict = judge_mu(None)
    assert verdict.status is ERROR and verdict.parsed is None
    assert r"$$\mu = " in verdict.message
    assert r"$$\Sigma = " in judge_sigma(None).message


@pytest.mark.parametrize(
    ("latex", "fragment"),
    [
        (r"\sqrt{\bar\alpha_3}\epsilon", r"'\epsilon'"),
        (r"\sqrt{\bar\alpha_3", "a '}' is missing"),
        (r"\bar\alpha_3 -", "ends too early"),
        (r"\sqrt{\bar\alpha_3}} x_0", "unexpected '}'"),
        (r"\alpha x_0", r"\alpha needs a step index"),
        (r"\bar\alpha x_0", r"\bar\alpha needs a step index"),
        (r"\bar{x}_0", r"\bar is only understood over \alpha"),
        (r"\sqrt{\bar\alpha_3} x", "x_0"),
        (r"\sqrt{\bar\alpha_3} y_0", "'y'"),
        (r"\alpha_{999}", "out of range"),
        (r"\alpha_{n}", "not a step number"),
        (r"\prod \alpha_s", r"\prod needs limits"),
        (r"\sqrt[x_0]{\alpha_1}", "whole number"),
        (r"\frac{x_0}{1-1}", "divides by zero"),
        (r"10^{10^{10}}", "too large"),
        (r"\text{the mean of } x_0", "words"),
        (r"\cdot x_0", r"unexpected '\cdot'"),
        (r"()", "empty group"),
        ("", "empty"),
        ("(" * 300 + "x_0" + ")" * 300, "nested too deeply"),
        (r"\sqrt" * 300 + "x_0", "nested too deeply"),
        ("-" * 900 + "x_0 +", "ends too early"),  # many signs are read in a loop, not recursively
        (r"\mathbf{" * 400 + "x_0" + "}" * 400, "too long"),
        (r"\prod_{a=1}^{20}\prod_{b=1}^{20}\prod_{c=1}^{20}\alpha_1", "too long"),
    ],
)
def test_unreadable_latex_is_an_error_naming_the_problem(latex, fragment):
    verdict = judge_mu(latex)
    assert verdict.status is ERROR and verdict.misconceptions == ()
    assert fragment in verdict.message


def test_parse_latex_reads_implicit_multiplication_and_precedence():
    assert str(parse_latex(r"2\alpha_1 + 3")) == "2*α₁ + 3"
    assert str(parse_latex(r"\frac12 x_0")) == "x₀/2"
    assert str(parse_latex(r"1 - 2^2")) == "-3"


# ============================================================================= finding the lines


def test_the_last_line_for_each_quantity_counts():
    nb = notebook(
        md(r"For one step: $$\mu = \sqrt{\alpha_1}x_0$$ and $$\Sigma = 1-\alpha_1$$"),
        code("x = 1"),
        md("Hence\n\n$$\\mu = \\sqrt{\\bar\\alpha_3}x_0$$\n\n$$\\Sigma = 1-\\bar\\alpha_3$$"),
    )
    assert latex_of(nb) == (r"\sqrt{\bar\alpha_3}x_0", r"1-\bar\alpha_3")


def test_several_blocks_on_one_line_and_a_block_over_several_lines():
    nb = notebook(md("$$\\mu = \\sqrt{\\bar\\alpha_3}\n x_0$$ $$\\Sigma =\n1 - \\bar\\alpha_3$$"))
    mu, sigma = latex_of(nb)
    assert judge_mu(mu).status is PASS and judge_sigma(sigma).status is PASS


def test_chained_equalities_take_the_last_right_hand_side():
    nb = notebook(md(r"$$\mu = \sqrt{\bar\alpha_3}\,x_0 = \sqrt{\alpha_1\alpha_2\alpha_3}\,x_0$$"))
    assert latex_of(nb)[0] == r"\sqrt{\alpha_1\alpha_2\alpha_3}\,x_0"
    assert judge_mu(r"\mu = \bar\alpha_3 = \alpha_1\alpha_2\alpha_3").misconceptions == ("missing_sqrt", "missing_x0")


@pytest.mark.parametrize(
    ("block", "mu", "sigma"),
    [
        (r"\mu_{x_0} = A", "A", None),
        (r"\boldsymbol{\mu} = A", "A", None),
        (r"\mathbf{\mu}_3 = A", "A", None),
        (r"\mu := A", "A", None),
        (r"\Sigma_{3} = B", None, "B"),
        (r"\sigma^2 = B", None, "B"),
        (r"\sigma_t^2 = B", None, "B"),
        (r"\Sigma \mathbf{I} = B\mathbf{I}", None, r"B\mathbf{I}"),
        (r"\mu = A,\quad \Sigma = B", "A", "B"),
        (r"\mu = A \text{ and } \Sigma = B.", "A", "B."),
        (r"\begin{aligned} \mu &= A \\ \Sigma &= B \end{aligned}", "A", "B"),
        (r"\mu = A, \quad\text{where } \bar\alpha_3 = \alpha_1\alpha_2\alpha_3", "A", None),
        (r"x_3 = A x_0 + B\epsilon \Rightarrow \mu = A x_0", "A x_0", None),
        (r"q(x_3 \mid x_0) = \mathcal{N}(x_3; \mu, \Sigma I)", None, None),
        (r"\sigma = B", None, None),  # σ alone is a standard deviation, not an answer for Σ
        (r"\tilde\mu = A", None, None),
    ],
)
def test_which_display_math_counts_as_an_answer(block, mu, sigma):
    assert latex_of(notebook(md(f"$${block}$$"))) == (mu, sigma)


def test_only_rendered_display_math_counts():
    nb = notebook(
        md("Write `$$\\mu = ...$$` like this:\n```\n$$\\Sigma = 0$$\n```\n<!-- $$\\mu = 0$$ -->"),
        code("# $$\\mu = x_0$$"),
    )
    assert latex_of(nb) == (None, None)


def test_bracket_display_math_counts_too():
    assert latex_of(notebook(md(r"\[\mu = \sqrt{\bar\alpha_3}x_0\]"))) == (r"\sqrt{\bar\alpha_3}x_0", None)


def test_sources_as_lists_of_lines_are_read_like_strings():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_markdown_cell()
    cell["source"] = [line + "\n" for line in SEED_ANSWER_CELL.split("\n")]
    nb.cells.append(cell)
    assert isinstance(cell["source"], list)
    assert latex_of(nb) == (r"\alpha_3 \alpha_2 \alpha_1", r"1 - \alpha_3 \alpha_2 \alpha_1")


def test_plain_dict_notebooks_are_read_too():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["$$\\mu = x_0$$"]}]}
    assert latex_of(nb) == ("x_0", None)


def test_vae_formulas_in_the_kl_answers_do_not_replace_exercise_answers():
    nb = notebook(
        md(SEED_ANSWER_CELL),
        md("### 3) What is the role of the KL divergence term?"),
        md("It pulls the posterior towards the prior with\n\n$$\\mu = 0$$\n\n$$\\sigma^2 = 1$$", "answer:kl_role"),
    )
    assert latex_of(nb) == (r"\alpha_3 \alpha_2 \alpha_1", r"1 - \alpha_3 \alpha_2 \alpha_1")


def test_answers_placed_after_the_kl_questions_are_still_found():
    nb = notebook(
        md("### 1) What do you observe?"),
        md("Blurry."),
        md("Exercise 2.1, late:\n\n$$\\mu = \\sqrt{\\bar\\alpha_3}x_0$$"),
    )
    assert latex_of(nb) == (r"\sqrt{\bar\alpha_3}x_0", None)


def test_a_notebook_without_answers_gives_none_for_both():
    mu, sigma = extract_derivation(notebook(code("print(1)"), md("No derivation.")))
    assert (mu, sigma) == (DerivationAnswer("mu", None), DerivationAnswer("Sigma", None))


# ============================================================================= free text

QUESTION_1 = "## Exploring KL-divergence on the loss\n\nCompare the reconstructions.\n\n### 1) What do you observe?"
QUESTION_2 = "### 2) How can these results be explained?"
QUESTION_3 = "### 3) What is the role of the KL divergence term?"


def questions_of(answers: tuple[FreeTextAnswer, ...]) -> list[str]:
    return [a.question for a in answers]


def test_free_text_from_tagged_cells():
    nb = notebook(
        md(QUESTION_1),
        md("Weight 30 is blurry.", "answer:kl_observe"),
        md(QUESTION_2),
        md("The KL term dominates.", "answer:kl_explain"),
        md(QUESTION_3),
        md("A regulariser.", "answer:kl_role"),
    )
    answers = extract_free_text(nb)
    assert questions_of(answers) == [
        "What do you observe?",
        "How can these results be explained?",
        "What is the role of the KL divergence term?",
    ]
    assert [a.answer for a in answers] == ["Weight 30 is blurry.", "The KL term dominates.", "A regulariser."]


def test_tags_win_wherever_the_tagged_cell_is():
    nb = notebook(md("A regulariser.", "answer:kl_role"), md(QUESTION_3), md("Something else."))
    assert extract_free_text(nb)[2].answer == "A regulariser."


def test_free_text_from_the_seed_layout_without_tags():
    nb = notebook(
        code("model_kl0 = train_vae(kl_loss_weight=0)"),
        md(QUESTION_1),
        md("Results for `kl_loss_weight` set to 30:\n\nVery blurry."),
        md("Results for `kl_loss_weight` set to 0:\n\nQuite good."),
        md(QUESTION_2),
        md("The weight balances the two terms."),
        md(QUESTION_3),
        md("It measures the difference to the prior."),
    )
    answers = extract_free_text(nb)
    assert answers[0].answer == (
        "Results for `kl_loss_weight` set to 30:\n\nVery blurry.\n\nResults for `kl_loss_weight` set to 0:\n\nQuite good."
    )
    assert answers[1].answer == "The weight balances the two terms."
    assert answers[2].answer == "It measures the difference to the prior."


def test_answers_in_the_question_cell_and_on_the_question_line():
    nb = notebook(
        md("**1) What do you observe?** Blurry at 30.\n\n**2) How can these results be explained?**\nThe KL term wins."),
        md("## 3) What is the role of the KL divergence term?\nRegularisation."),
        md("## Appendix\nNot an answer."),
    )
    assert [a.answer for a in extract_free_text(nb)] == ["Blurry at 30.", "The KL term wins.", "Regularisation."]


def test_an_answer_stops_at_code_headings_and_other_answers():
    nb = notebook(
        md(QUESTION_1),
        md("Blurry."),
        code("plt.show()"),
        md("Not part of it."),
        md(QUESTION_2),
        md("Balance."),
        md("# A new section\nNot part of it either."),
        md(QUESTION_3),
        md("Prior.", "answer:kl_explain"),  # tagged for another question, so not question 3's
    )
    answers = extract_free_text(nb)
    assert [a.answer for a in answers] == ["Blurry.", "Prior.", ""]


def test_missing_and_placeholder_answers_are_empty():
    nb = notebook(
        md(QUESTION_1),
        md("*Your answer here.*", "answer:kl_observe"),
        md(QUESTION_2),
        code("pass"),
    )
    assert [a.answer for a in extract_free_text(nb)] == ["", "", ""]
    assert len(extract_free_text(notebook())) == 3


def test_a_placeholder_left_above_a_new_answer_cell_is_skipped():
    nb = notebook(md(QUESTION_1), md("Your answer here.", "answer:kl_observe"), md("Blurry at 30."), md(QUESTION_2))
    assert extract_free_text(nb)[0].answer == "Blurry at 30."


def test_an_answer_that_mentions_the_next_question_is_not_cut_there():
    nb = notebook(md(QUESTION_2), md("Because of the role of the KL term in the loss."), md(QUESTION_3), md("A regulariser."))
    answers = extract_free_text(nb)
    assert [answers[1].answer, answers[2].answer] == ["Because of the role of the KL term in the loss.", "A regulariser."]


def test_images_and_html_are_stripped_from_free_text():
    nb = notebook(
        md(
            "Blurry ![recon](attachment:image.png) digits.\n\n<img src='data:image/png;base64,AAAA'>\n\n<b>Sharp</b> at 0.",
            "answer:kl_observe",
        )
    )
    assert extract_free_text(nb)[0].answer == "Blurry  digits.\n\nSharp at 0."
