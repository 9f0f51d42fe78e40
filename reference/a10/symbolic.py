"""Instructor-only symbolic truth for Exercise 2.1 at t = 3, and its misconception variants.

q(x₃ | x₀) = N(μ, Σ·I) with μ = √(α₁α₂α₃)·x₀ and Σ = 1 − α₁α₂α₃. The variants mirror
`reference.a10.misconceptions.closed_form_variant` flag for flag, so a LaTeX answer and a code
answer with the same mistake get the same misconception names. The symbols are the exercise's
notation (assignments/a10/notation.py), which the student kit ships; this truth it never does.
"""

from __future__ import annotations

import sympy

from assignments.a10.notation import T, alpha, alpha_bar, x_symbol

__all__ = ["T", "alpha", "alpha_bar", "x_symbol"]  # the notation, re-exported: the truth below is written in it

a1, a2, a3, a4 = (alpha(step) for step in range(1, 5))  # a4 appears only in the off-by-one variant
x0 = x_symbol(0)

# Which flags can change each quantity; the others leave it as it is and never explain a mistake in it.
RELEVANT_FLAGS: dict[str, frozenset[str]] = {
    "mu": frozenset({"missing_sqrt", "missing_x0", "off_by_one_index", "last_alpha_only"}),
    "Sigma": frozenset({"std_for_variance", "off_by_one_index", "last_alpha_only"}),
}


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
