"""More of the LaTeX students write: sums and products with limits, exp and log, \\cdot and \\times,
\\mathbf{I}, inline math when there is no display line, and math typed in Unicode (μ, Σ, ᾱ₃, √, ·, −,
x₀), which MathJax renders like the LaTeX commands. Verdicts worked out by hand from
μ = √(α₁α₂α₃)·x₀ and Σ = 1 − α₁α₂α₃."""

from __future__ import annotations

import re

import pytest

from assignments.a10.answers import extract_derivation, judge_mu, judge_sigma
from assignments.a10.latex import parse_latex
from graders.kit import check as kit_check
from graders.results import CheckStatus
from tests.judge.test_answers import CORRECT_MU, CORRECT_SIGMA, MU_MISTAKES, SIGMA_MISTAKES, md, notebook

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


# ============================================================================= math as students type it

_SUBSCRIPT = str.maketrans("0123456789+-ts", "₀₁₂₃₄₅₆₇₈₉₊₋ₜₛ")
_TYPED = {r"\alpha": "α", r"\sqrt": "√", r"\cdot": "·", r"\times": "×", r"\prod": "∏", "-": "−"}


def typed(latex: str) -> str:
    """The answer as a student types it in Unicode: `\\sqrt{\\bar\\alpha_{t+1}}x_0` → `√{ᾱₜ₊₁}x₀`."""
    text = re.sub(r"\\(?:bar|overline)\s*(?:\\alpha|\{\\alpha\})", "ᾱ", latex)
    text = re.sub(r"_\{([0-9t+-]+)\}|_([0-9ts])", lambda m: (m[1] or m[2]).translate(_SUBSCRIPT), text)
    text = re.sub(r"\^\{?2\}?", "²", text)
    for command, symbol in _TYPED.items():
        text = text.replace(command, symbol)
    return text


def found_and_judged(markdown: str) -> tuple[tuple[CheckStatus, tuple[str, ...]], tuple[CheckStatus, tuple[str, ...]]]:
    """(status, misconceptions) of μ and of Σ, as the grader finds and judges them in one markdown cell."""
    mu, sigma = extract_derivation(notebook(md(markdown)))
    return tuple((v.status, v.misconceptions) for v in (judge_mu(mu.latex), judge_sigma(sigma.latex)))  # type: ignore[return-value]


def test_the_issue_s_answer_typed_with_greek_letters_passes():
    assert found_and_judged("$$μ = \\sqrt{α_1 α_2 α_3}\\, x_0$$\n\n$$Σ = 1 - α_1 α_2 α_3$$") == ((PASS, ()), (PASS, ()))


@pytest.mark.parametrize("latex", CORRECT_MU)
def test_every_correct_mu_typed_in_unicode_passes(latex):
    answer = typed(latex)
    assert answer.isascii() is False, answer  # the spelling differs from the LaTeX one
    assert found_and_judged(f"$$μ = {answer}$$")[0] == (PASS, ())


@pytest.mark.parametrize("latex", CORRECT_SIGMA)
def test_every_correct_sigma_typed_in_unicode_passes(latex):
    answer = typed(latex)
    assert answer.isascii() is False, answer
    assert found_and_judged(f"$$Σ = {answer}$$")[1] == (PASS, ())


@pytest.mark.parametrize(("latex", "names"), MU_MISTAKES)
def test_a_wrong_mu_typed_in_unicode_gets_the_names_it_gets_in_latex(latex, names):
    assert found_and_judged(f"$$μ = {typed(latex)}$$")[0] == (FAIL, names)


@pytest.mark.parametrize(("latex", "names"), SIGMA_MISTAKES)
def test_a_wrong_sigma_typed_in_unicode_gets_the_names_it_gets_in_latex(latex, names):
    assert found_and_judged(f"$$Σ = {typed(latex)}$$")[1] == (FAIL, names)


def test_the_seed_s_mu_typed_in_unicode_is_still_missing_the_root_and_x0():
    mu, sigma = found_and_judged("Setting t to 3:\n\n$$μ = α₃α₂α₁$$\n\n$$Σ = 1 − α₃α₂α₁$$")
    assert mu == (FAIL, ("missing_sqrt", "missing_x0")) and sigma == (PASS, ())


ALPHA_BAR_3 = ["ᾱ₃", "α\u0304₃", "α\u0305₃", "ᾱ_3", "\\bar{α}_3", "\\barα₃", "\\overline{α}_{3}", "ᾱₜ", "\\bar α_t"]


@pytest.mark.parametrize("alpha_bar", ALPHA_BAR_3)
def test_alpha_bar_in_every_spelling_reads_as_the_product_of_the_alphas(alpha_bar):
    assert found_and_judged(f"$$μ = √{{{alpha_bar}}}\\,x₀$$\n\n$$Σ = 1 − {alpha_bar}$$") == ((PASS, ()), (PASS, ()))


# Real notations: whole answer cells, typed in Unicode or in a mix of Unicode and LaTeX.
NOTEBOOK_NOTATIONS = {
    "roots-without-braces": "$$μ = √ᾱ₃ · x₀$$ $$Σ = 1 − ᾱ₃$$",
    "roots-with-parentheses": "$$μ = √(α₁α₂α₃) x₀$$ $$Σ = 1 − α₁·α₂·α₃$$",
    "bar-defined-earlier": "Let $$ᾱₜ = ∏_{s=1}^{t} α_s.$$ Then $$μ = \\sqrt{ᾱ_t}\\,x_0$$ and $$Σ = (1 − ᾱ_t)\\mathbf{I}$$",
    "products-in-unicode-scripts": "$$μ = \\sqrt{∏ₛ₌₁³ αₛ}\\, x₀$$ $$Σ = 1 − ∏ₛ₌₁ᵗ αₛ$$",
    "boldsymbol-and-mathbf": "$$\\boldsymbol{μ} = \\sqrt{ᾱ_3}\\,\\mathbf{x}_0$$ $$\\mathbf{Σ} = (1-ᾱ_3)\\mathbf{I}$$",
    "bold-unicode-letters": "$$𝛍 = √ᾱ₃ 𝐱₀$$ $$𝚺 = (1 − ᾱ₃)\N{MATHEMATICAL BOLD CAPITAL I}$$",
    "aligned": "$$\\begin{aligned} μ_3 &= \\sqrt{α_3}\\sqrt{ᾱ_2}\\,x_0 \\\\ Σ_3 &= α_3(1 − ᾱ_2) + (1 − α_3) \\\\ &= 1 − ᾱ_3 \\end{aligned}$$",
    "split-over-lines": "$$μ = \\sqrt{α₁ α₂\n α₃}\n\\cdot x₀$$\n\n$$Σ =\n1 − α₁α₂α₃$$",
    "identity-on-both-sides": "$$Σ·\N{MATHEMATICAL BOLD CAPITAL I} = (1 − ᾱ₃)·\N{MATHEMATICAL BOLD CAPITAL I}$$ $$μ = ᾱ₃^{1/2} × x₀$$",
    "variance-as-sigma-squared": "$$σ² = 1 − ᾱ₃$$ $$μ = (α₁α₂α₃)^½\\, x₀$$",
    "sigma-squared-with-step": "$$σ_t² = 1 − ᾱ_t$$ $$μ_t = \\sqrt{ᾱ_t} x_0$$",
    "inline-only": "So $μ = √ᾱ₃ x₀$ and $Σ = 1 − ᾱ₃$.",
    "definition-sign": "$$μ ≔ √{ᾱ₃}·x₀$$ $$Σ ≔ 1 − ᾱ₃$$",
    "chain-in-unicode": "$$μ = √ᾱ₃ x₀ = √(α₁α₂α₃)·x₀, \\quad \\text{where } ᾱ₃ = α₁α₂α₃$$ $$Σ = 1−ᾱ₃$$",
}


@pytest.mark.parametrize("markdown", NOTEBOOK_NOTATIONS.values(), ids=NOTEBOOK_NOTATIONS.keys())
def test_right_answers_in_real_notations_pass(markdown):
    assert found_and_judged(markdown) == ((PASS, ()), (PASS, ()))


@pytest.mark.parametrize(
    ("markdown", "mu", "sigma"),
    [
        ("$$μ = ᾱ₃ x₀$$ $$Σ = √(1 − ᾱ₃)$$", ("missing_sqrt",), ("std_for_variance",)),
        ("$$μ = √α₃ · x₀$$ $$Σ = 1 − α₃$$", ("last_alpha_only",), ("last_alpha_only",)),
        ("$$μ = √{∏ₛ₌₁⁴ αₛ} x₀$$ $$σ² = 1 − ᾱ₄$$", ("off_by_one_index",), ("off_by_one_index",)),
        (
            "$$μ = √ᾱₜ$$ $$Σ·\N{MATHEMATICAL BOLD CAPITAL I} = (1 − α₁α₂α₃α₄)·\N{MATHEMATICAL BOLD CAPITAL I}$$",
            ("missing_x0",),
            ("off_by_one_index",),
        ),
    ],
)
def test_wrong_answers_in_real_notations_name_the_mistake(markdown, mu, sigma):
    assert found_and_judged(markdown) == ((FAIL, mu), (FAIL, sigma))


@pytest.mark.parametrize(
    ("latex", "fragment"),
    [
        ("√ᾱ₃ ε", r"'\varepsilon'"),  # ε is MathJax's \varepsilon: the message names what was read
        ("√ᾱ₃ y₀", "'y'"),
        ("√ᾱ₃ x₀ Ж", "'Ж'"),  # a letter no command renders like
        ("√ᾱ₃ x₀ ≤ 1", "'≤'"),
        ("√ᾱ₃ x₀\u0304", "'\u0304'"),  # an accent over a subscript, or over another accent, is not read
        ("√α\u0304\u0304₃ x₀", "could not be read"),
        (r"\sqrt{\alpha_①} x_0", "'①'"),  # `str.isdigit` is true of ① and ², `int` reads neither
    ],
)
def test_unicode_the_reader_does_not_know_is_an_error_naming_it(latex, fragment):
    verdict = judge_mu(latex)
    assert verdict.status is ERROR and fragment in verdict.message, verdict.message


UNREADABLE_TYPED = [
    "$$μ = √ᾱ₃ ε$$ $$Σ = 1 − ᾱ₃ Ж$$",
    "$$μ = √α₃ ≤ 1$$ $$Σ = 1 − \N{GREEK SMALL LETTER GAMMA}$$",
    "$$μ = √ᾱ₃ x₀\u0304$$ $$Σ = 1 − ᾱ₃ ∞$$",
]


@pytest.mark.parametrize("markdown", [*NOTEBOOK_NOTATIONS.values(), *UNREADABLE_TYPED])
def test_the_kit_calls_readable_exactly_what_the_grader_reads(markdown):
    """The kit checks form only (assignments/a10/answer_form.py, which it ships): readable for it is not an error for the grader."""
    found = extract_derivation(notebook(md(markdown)))
    for answer, judged in zip(found, found_and_judged(markdown), strict=True):
        assert answer.latex is not None
        assert (kit_check._readable("assignments.a10.answer_form:readable", answer.quantity, answer.latex).status is not ERROR) == (
            judged[0] is not ERROR
        ), answer.latex
