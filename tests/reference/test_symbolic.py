"""The symbolic truth for t = 3 and its misconception variants: written out by hand, and checked
against the numeric variants in `reference.a10.misconceptions` so the two can never disagree.
"""

from __future__ import annotations

import pytest
import sympy
import torch

from reference.a10 import symbolic
from reference.a10.misconceptions import closed_form_variant, flag_subsets, names_for
from reference.a10.symbolic import a1, a2, a3, a4, x0


def same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.simplify(a - b) == 0


def test_the_truth_is_the_closed_form_at_t_3():
    assert same(symbolic.mu_expr(), sympy.sqrt(a1 * a2 * a3) * x0)
    assert same(symbolic.sigma_expr(), 1 - a1 * a2 * a3)


@pytest.mark.parametrize(
    ("flags", "mu", "sigma"),
    [
        ({"missing_sqrt"}, a1 * a2 * a3 * x0, 1 - a1 * a2 * a3),
        ({"missing_x0"}, sympy.sqrt(a1 * a2 * a3), 1 - a1 * a2 * a3),
        ({"std_for_variance"}, sympy.sqrt(a1 * a2 * a3) * x0, sympy.sqrt(1 - a1 * a2 * a3)),
        ({"off_by_one_index"}, sympy.sqrt(a1 * a2 * a3 * a4) * x0, 1 - a1 * a2 * a3 * a4),
        ({"last_alpha_only"}, sympy.sqrt(a3) * x0, 1 - a3),
        ({"missing_sqrt", "missing_x0"}, a1 * a2 * a3, 1 - a1 * a2 * a3),  # the seed write-up's μ
        ({"off_by_one_index", "last_alpha_only"}, sympy.sqrt(a4) * x0, 1 - a4),
    ],
)
def test_variants_written_out(flags, mu, sigma):
    assert same(symbolic.mu_expr(frozenset(flags)), mu)
    assert same(symbolic.sigma_expr(frozenset(flags)), sigma)


@pytest.mark.parametrize(
    "flags", [frozenset(), *flag_subsets("closed_form", max_size=5)], ids=lambda flags: "+".join(sorted(flags)) or "truth"
)
def test_every_variant_agrees_with_the_numeric_reference_variant(flags):
    alphas = [0.9, 0.8, 0.7, 0.6]
    x = -1.5
    mu, sigma = closed_form_variant(torch.tensor(x, dtype=torch.float64), 3, torch.tensor(alphas), flags)
    values = {a1: alphas[0], a2: alphas[1], a3: alphas[2], a4: alphas[3], x0: x}
    assert float(symbolic.mu_expr(flags).evalf(subs=values)) == pytest.approx(float(mu), rel=1e-6)
    assert float(symbolic.sigma_expr(flags).evalf(subs=values)) == pytest.approx(float(sigma), rel=1e-6)


@pytest.mark.parametrize("quantity", ["mu", "Sigma"])
def test_relevant_flags_are_exactly_those_that_change_the_quantity(quantity):
    truth = symbolic.expr_for(quantity)
    changing = {name for name in names_for("closed_form") if not same(symbolic.expr_for(quantity, frozenset({name})), truth)}
    assert changing == symbolic.RELEVANT_FLAGS[quantity]


def test_alpha_bar_and_symbols():
    assert symbolic.alpha_bar(0) == 1
    assert symbolic.alpha_bar(2) == a1 * a2
    assert symbolic.alpha(3) is a3
    assert a1.is_positive and x0.is_real and not x0.is_positive
    assert symbolic.x_symbol(0) == x0
    with pytest.raises(ValueError):
        symbolic.alpha(-1)
    with pytest.raises(ValueError, match="unknown quantity"):
        symbolic.expr_for("logvar")
