"""Exercise 2.1's notation as sympy symbols: α_s, ᾱ_t = α₁·…·α_t, x_s, at the step t = 3 it asks about.

Not the truth (that is reference/a10/symbolic.py, written in this notation): the LaTeX reader reads
answers into these symbols, and the student kit ships both to say whether an answer is readable.
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


def alpha_bar(step: int) -> sympy.Expr:
    """ᾱ_step = α₁·α₂·…·α_step (1 for step 0, the empty product)."""
    return sympy.Mul(*(alpha(s) for s in range(1, step + 1)))
