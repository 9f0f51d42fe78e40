"""Public inputs must tell every catalogued mistake from the answer (issue 22, item 6).

A mistake whose values equal the reference's on the public inputs makes the kit say "correct" where
the grader deducts. `graders.judge.separation` finds such variants for any assignment, and
`grader kit` refuses to build on inputs that have one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assignments.a10 import ASSIGNMENT
from assignments.a10.checks import WHOLE_FUNCTION
from assignments.a10.expected import compute_expected
from graders.errors import HarnessError
from graders.judge.probes import ProbePlan
from graders.judge.separation import require_separated, unseparated
from graders.kit import build
from graders.kit.build import build_kit, public_plan


def _with_case(plan: ProbePlan, function: str, **changes: object) -> ProbePlan:
    """The plan with its one case of `function` changed."""
    (case,) = plan.cases_for(function)
    changed = replace(case, **changes)  # type: ignore[arg-type]
    return replace(plan, cases=tuple(changed if c is case else c for c in plan.cases))


def _closed_form_at_the_last_alpha(plan: ProbePlan) -> ProbePlan:
    """t equal to the number of alphas: alphas[:t+1] stops at the end of the tensor, as alphas[:t] does."""
    (case,) = plan.cases_for("closed_form")
    x0, _, _ = case.args
    return _with_case(plan, "closed_form", args=(x0, 3, np.array([0.9, 0.8, 0.7], dtype=np.float32)))


def test_assignment_10_s_public_inputs_separate_every_catalogued_mistake_and_every_pair():
    plan = public_plan(ASSIGNMENT)
    expected = compute_expected(plan)
    # Singles and pairs of both diagnosed functions: 5 + 10 of closed_form, 6 + 15 of vae_loss (more as the catalog grows).
    assert sum(len(v) for v in expected.variants.values()) >= 36
    assert unseparated(plan, expected, WHOLE_FUNCTION) == ()
    require_separated(plan, expected, WHOLE_FUNCTION)  # does not raise


def test_t_equal_to_the_number_of_alphas_hides_the_off_by_one_product():
    plan = _closed_form_at_the_last_alpha(public_plan(ASSIGNMENT))
    hidden = unseparated(plan, compute_expected(plan), WHOLE_FUNCTION)
    assert [(u.function, u.flags) for u in hidden] == [("closed_form", frozenset({"off_by_one_index"}))]
    with pytest.raises(HarnessError, match="off_by_one_index"):
        require_separated(plan, compute_expected(plan), WHOLE_FUNCTION)


def test_a_loss_called_at_weight_one_only_hides_every_mistake_in_how_the_weight_enters():
    """The same rule for another function and another kind of input: at w = 1, BCE + KL is also w·BCE + KL and BCE + 1·KL."""
    plan = _with_case(public_plan(ASSIGNMENT), "vae_loss", weights=(1.0,))
    hidden = {u.flags for u in unseparated(plan, compute_expected(plan), WHOLE_FUNCTION) if u.function == "vae_loss"}
    assert {frozenset({"weight_ignored"}), frozenset({"weight_on_reconstruction"})} <= hidden
    # Two ways of applying the weight are never combined (catalog.ALTERNATIVES): no such pair is listed.
    assert frozenset({"weight_ignored", "weight_on_reconstruction"}) not in hidden
    assert not {flags for flags in hidden if flags & {"kl_sign_flipped", "mean_reduction", "mse_instead_of_bce"}}


def test_a_pair_the_catalog_combines_is_found_where_its_two_mistakes_cancel():
    """Two rows: a KL averaged over the batch (÷2) with its ½ missing (×2) is the answer; three rows tell them apart."""
    (case,) = public_plan(ASSIGNMENT).cases_for("vae_loss")
    x, x_hat, mu, logvar = case.args
    plan = _with_case(public_plan(ASSIGNMENT), "vae_loss", args=(x[:2], x_hat[:2], mu[:2], logvar[:2]))
    hidden = {u.flags for u in unseparated(plan, compute_expected(plan), WHOLE_FUNCTION)}
    assert frozenset({"kl_batch_mean", "kl_missing_half"}) in hidden
    assert len(x) == 3  # the shipped public input: separated (the first test)


def test_a_variant_that_raises_on_an_input_is_told_apart_there():
    """last_alpha_only with off_by_one_index indexes alphas[t] (IndexError at t = T): the student's check is an error, not a pass."""
    plan = _closed_form_at_the_last_alpha(public_plan(ASSIGNMENT))
    hidden = {u.flags for u in unseparated(plan, compute_expected(plan), WHOLE_FUNCTION)}
    assert frozenset({"last_alpha_only", "off_by_one_index"}) not in hidden


def test_grader_kit_refuses_inputs_that_hide_a_mistake_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(build, "public_plan", lambda _: _closed_form_at_the_last_alpha(public_plan(ASSIGNMENT)))
    out = tmp_path / "kit"
    with pytest.raises(HarnessError, match="off_by_one_index"):
        build_kit(ASSIGNMENT, out)
    assert not out.exists()


def test_a_plan_without_cases_for_a_function_hides_nothing_of_it():
    plan = ProbePlan(cases=tuple(c for c in public_plan(ASSIGNMENT).cases if c.function != "closed_form"), experiment=None)
    assert all(u.function != "closed_form" for u in unseparated(plan, compute_expected(plan), WHOLE_FUNCTION))
