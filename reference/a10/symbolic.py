"""Instructor-only symbolic truth for Exercise 2.1 at t = 3, and its misconception variants.

q(x₃ | x₀) = N(μ, Σ·I) with μ = √(α₁α₂α₃)·x₀ and Σ = 1 − α₁α₂α₃. The variants mirror
`reference.a10.misconceptions.closed_form_variant` flag for flag, so a LaTeX answer and a code
answer with the same mistake get the same misconception names.

Symbols carry display names (α₁, x₀) because they end up in messages to students.
The step symbols are positive (they are in (0, 1)); x₀ is only real, so that √(x₀²) is |x₀|, not x₀.
"""

from __future__ import annotations

from functools import cache

import sympy

T = 3  # the step Exercise 2.1 asks about

_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@cache
def alpha(step: int) -> sympy.Symbol:
    """α_step; cached so that every caller gets the very same symbol."""
    if step < 0:
        raise ValueError(f"a step index is never negative, got {step}")
    return sympy.Symbol("α" + str(step).translate(_SUBSCRIPT_DIGITS), positive=True)


def x_symbol(step: int) -> sympy.Symbol:
    """x_step: x₀ is the clean image; any other x in an answer for μ is a mistake to report, not a crash."""
    return sympy.Symbol("x" + str(step).translate(_SUBSCRIPT_DIGITS), real=True)


a1, a2, a3, a4 = (alpha(step) for step in range(1, 5))  # a4 appears only in the off-by-one variant
x0 = x_symbol(0)

# Which flags can change each quantity; the others leave it as it is and never explain a mistake in it.
RELEVANT_FLAGS: dict[str, frozenset[str]] = {
    "mu": frozenset({"missing_sqrt", "missing_x0", "off_by_one_index", "last_alpha_only"}),
    "Sigma": frozenset({"std_for_variance", "off_by_one_index", "last_alpha_only"}),
}


def alpha_bar(step: int) -> sympy.Expr:
    """ᾱ_step = α₁·α₂·…·α_step (1 for step 0, the empty product)."""
    return sympy.Mul(*(alpha(s) for s in range(1, step + 1)))


def alpha_bar_variant(flags: frozenset[str]) -> sympy.Expr:
    """ᾱ₃ as a variant computes it: one step too far and/or only the last α."""
    steps = T + 1 if "off_by_one_index" in flags else T
    return alpha(steps) if "last_alpha_only" in flags else alpha_bar(steps)


def mu_expr(flags: frozenset[str] = frozenset()) -> sympy.Expr:
    """μ of q(x₃ | x₀) with the given misconceptions switched on (none: the truth)."""
    abar = alpha_bar_variant(flags)
    scale = abar if "missing_sqrt" in flags else sympy.sqrt(abar)
    return scale if "missing_x0" in flags else scale * x0


def sigma_expr(flags: frozenset[str] = frozenset()) -> sympy.Expr:
    """Σ of q(x₃ | x₀) (the covariance is Σ·I) with the given misconceptions switched on."""
    variance = 1 - alpha_bar_variant(flags)
    return sympy.sqrt(variance) if "std_for_variance" in flags else variance


def expr_for(quantity: str, flags: frozenset[str] = frozenset()) -> sympy.Expr:
    """`mu_expr` or `sigma_expr` by the quantity's name ("mu" | "Sigma")."""
    builders = {"mu": mu_expr, "Sigma": sigma_expr}
    if quantity not in builders:
        raise ValueError(f"unknown quantity {quantity!r}; expected 'mu' or 'Sigma'")
    return builders[quantity](flags)
