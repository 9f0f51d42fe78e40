"""More of the LaTeX students write: sums and products with limits, exp and log, \\cdot and \\times,
\\mathbf{I}, and inline math when there is no display line. Verdicts worked out by hand from
μ = √(α₁α₂α₃)·x₀ and Σ = 1 − α₁α₂α₃."""

from __future__ import annotations

import pytest

from assignments.a10.answers import extract_derivation, judge_mu, judge_sigma
from assignments.a10.latex import parse_latex
from graders.results import CheckStatus
from tests.judge.test_answers import md, notebook

PASS, FAIL, ERROR = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.ERROR


@pytest.mark.parametrize(
    "latex",
    [
        r"\sqrt{\prod_{s=1}^{3}\alpha_s}\, x_0",
        r"\prod_{s=1}^{3}\sqrt{\alpha_s} \cdot x_0",
        r"\exp\left(\frac{1}{2}\sum_{s=1}^{3}\log\alpha_s\right) x_0",  # √ᾱ as exp(½ Σ log α)
        r"e^{\frac12 \sum_{s=1}^{t} \log \alpha_s} \times x_0",
        r"\exp(\tfrac{1}{2}\log\bar\alpha_3)\,x_0",
        r"\sqrt{\exp\left(\sum_{i=1}^{3} \ln \alpha_i\right)} x_0",
    ],
)
def test_sums_products_exp_and_log_read_right(latex):
    verdict = judge_mu(latex)
    assert verdict.status is PASS, verdict.message


@pytest.mark.parametrize(
    ("latex", "names"),
    [
        (r"\exp\left(\sum_{s=1}^{3}\log\alpha_s\right) x_0", ("missing_sqrt",)),  # exp(Σ log α) = ᾱ, no root
        (r"\prod_{s=1}^{4}\sqrt{\alpha_s}\,x_0", ("off_by_one_index",)),
    ],
)
def test_sums_and_products_with_a_mistake_name_it(latex, names):
    verdict = judge_mu(latex)
    assert (verdict.status, verdict.misconceptions) == (FAIL, names)


@pytest.mark.parametrize(
    "latex",
    [
        r"\left(1 - \prod_{s=1}^{3} \alpha_s\right)\mathbf{I}",
        r"(1 - \exp(\sum_{s=1}^{3}\log\alpha_s)) \cdot \mathbf{I}",
        r"1-\alpha_1 \times \alpha_2 \times \alpha_3",
    ],
)
def test_sigma_in_the_same_notations(latex):
    assert judge_sigma(latex).status is PASS


def test_a_sum_needs_limits_and_says_so():
    verdict = judge_mu(r"\sum \log\alpha_s")
    assert verdict.status is ERROR and r"\sum needs limits" in verdict.message


def test_log_and_exp_are_inverse_in_the_reader():
    assert parse_latex(r"\exp(\log \alpha_2)") == parse_latex(r"\alpha_2")
    assert str(parse_latex(r"\sum_{s=1}^{3} \alpha_s")) == "α₁ + α₂ + α₃"


def test_inline_math_counts_when_there_is_no_display_line():
    nb = notebook(md(r"So the mean is $\mu = \sqrt{\bar\alpha_3}\,x_0$ and the variance $\Sigma = 1 - \bar\alpha_3$."))
    mu, sigma = extract_derivation(nb)
    assert (mu.latex, sigma.latex) == (r"\sqrt{\bar\alpha_3}\,x_0", r"1 - \bar\alpha_3")


def test_a_display_line_wins_over_inline_math():
    nb = notebook(
        md(r"First guess: $\mu = \bar\alpha_3 x_0$."),
        md(r"$$\mu = \sqrt{\bar\alpha_3} x_0$$" + "\n\n" + r"where $\Sigma = 1 - \bar\alpha_3$ follows the same way."),
    )
    mu, sigma = extract_derivation(nb)
    assert mu.latex == r"\sqrt{\bar\alpha_3} x_0"
    assert sigma.latex == r"1 - \bar\alpha_3"  # no display line for Σ: the inline one counts


def test_dollar_signs_in_prose_are_not_math():
    nb = notebook(md(r"It cost \$5 and \$10; no answer here."))
    assert extract_derivation(nb)[0].latex is None
