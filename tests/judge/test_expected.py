"""Stored reference values: fresh for the current reference, and equal to a live evaluation. Variants: evaluated
only as judging reads them, with the verdicts of every variant evaluated at once."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assignments.a10.checks import run_checks
from assignments.a10.expected import FUNCTIONS, STORED_PUBLIC, compute_expected, reference_hash, reference_namespace, variant_namespaces
from assignments.a10.plan import build_plan
from graders.judge import expected as expected_module
from graders.judge.expected import store_reference, stored_reference
from graders.results import CheckStatus
from tests import students as s


def test_stored_public_values_belong_to_the_current_reference():
    stored = json.loads(STORED_PUBLIC.read_text(encoding="utf-8"))
    assert stored["reference_hash"] == reference_hash(), "reference/ changed: run `make reference`"


def test_stored_public_values_equal_a_fresh_evaluation(tmp_path):
    plan = build_plan(seed=0, hidden=False, data_dir=None)
    store_reference(tmp_path / "fresh.json", reference_hash(), plan, reference_namespace(), FUNCTIONS)
    assert json.loads(STORED_PUBLIC.read_text(encoding="utf-8")) == json.loads((tmp_path / "fresh.json").read_text(encoding="utf-8"))


def test_public_mu_matches_the_hand_derived_value():
    stored = stored_reference(STORED_PUBLIC, reference_hash(), build_plan(seed=0, hidden=False, data_dir=None))
    assert stored is not None
    mu, sigma = stored.get("closed_form/public").value
    # x0 = [[1, -2], [0.5, 3]], t = 3, alphas = (0.9, 0.8, 0.7, 0.6, 0.5): sqrt(0.9 · 0.8 · 0.7) = 0.7099295739...
    assert np.allclose(mu, np.array([[1.0, -2.0], [0.5, 3.0]]) * 0.7099295739719539, rtol=1e-6)
    assert float(sigma) == pytest.approx(0.496, rel=1e-6)


def test_variants_are_evaluated_for_every_misconception_combination():
    expected = compute_expected(build_plan(seed=3, hidden=True, data_dir=None))
    assert len(expected.variants["closed_form"]) == 15  # 5 misconceptions, singles and pairs
    failing = [set(flags) for flags, results in expected.variants["closed_form"] if not results.get("closed_form/public").ok]
    # The public schedule has more alphas than t (issue 22), so even α_{t+1} alone is in range there: every
    # variant gives values, which tests/judge/test_separation.py finds all different from the reference's.
    assert failing == []
    hidden_failing = [set(flags) for flags, results in expected.variants["closed_form"] if not results.get("closed_form/hidden-1").ok]
    assert hidden_failing == []  # t = 3 of 8 alphas


# ----------------------------------------------------------------------------- variants evaluated as they are read


def _count_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The functions of each evaluation graders.judge.expected runs from now on (the real evaluation, counted)."""
    calls: list[tuple[str, ...]] = []
    real = expected_module.evaluate_in_process

    def counted(plan, namespace, functions):
        calls.append(functions)
        return real(plan, namespace, functions)

    monkeypatch.setattr(expected_module, "evaluate_in_process", counted)
    return calls


def test_right_answers_evaluate_no_variant(plan, monkeypatch):
    evaluations = _count_evaluations(monkeypatch)
    expected = compute_expected(plan)
    results = run_checks(s.evidence(plan, expected))
    assert {r.id: r.status for r in results if r.status is not CheckStatus.PASS} == {
        "experiment.kl_tradeoff": CheckStatus.ERROR
    }  # not run here
    assert evaluations == []


def test_a_wrong_answer_evaluates_its_function_s_variants_only_up_to_its_story(plan, monkeypatch):
    evaluations = _count_evaluations(monkeypatch)
    expected = compute_expected(plan)
    mu = next(r for r in run_checks(s.evidence(plan, expected, closed_form=s.closed_form_missing_sqrt)) if r.id == "closed_form.mu")
    assert mu.misconceptions == ("missing_sqrt",)
    story = [flags for flags, _ in variant_namespaces()["closed_form"]].index(frozenset({"missing_sqrt"}))
    assert evaluations == [("closed_form",)] * (story + 1)  # none of vae_loss's 69, none past the story


@pytest.mark.parametrize(
    "wrong",
    [
        {"closed_form": s.closed_form_scalar_mu},
        {"closed_form": s.closed_form_last_alpha},
        {"closed_form": s.closed_form_nan},
        {"vae_loss": s.vae_loss_weight_twice},
        {"vae_loss": s.vae_loss_convex_mixture_kl_batch_mean},
        {"vae_loss": s.vae_loss_mse},  # no catalogued story: every variant is read
        {"closed_form": s.closed_form_std, "vae_loss": s.vae_loss_sign_flipped},
    ],
    ids=lambda functions: "+".join(f.__name__ for f in functions.values()),
)
def test_verdicts_are_those_of_every_variant_evaluated_first(plan, wrong):
    eager = compute_expected(plan)
    for stories in eager.variants.values():
        tuple(reversed(stories))  # all of them, and in the opposite order to the one judging reads them in
    lazy = compute_expected(plan)
    assert run_checks(s.evidence(plan, lazy, **wrong)) == run_checks(s.evidence(plan, eager, **wrong))


def test_variants_read_as_a_sequence(plan):
    stories = compute_expected(plan).variants["closed_form"]
    flags = [flags for flags, _ in variant_namespaces()["closed_form"]]
    assert [f for f, _ in stories] == flags
    assert stories[-1][0] == flags[-1] and [f for f, _ in stories[1:3]] == flags[1:3]
    with pytest.raises(IndexError):
        stories[len(flags)]
