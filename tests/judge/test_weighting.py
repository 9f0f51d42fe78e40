"""How kl_loss_weight enters the loss (issue 22, item 2): each way public beta-VAE code applies a weight
is one mistake, named from the loss's values at every weight and charged once.

The idioms are hand-written (tests/students.py, and the stateful ones below), not the reference's
variants; the verdicts follow the deduction table by hand (README, "Deductions"): a way of applying
the weight costs `vae_loss.weighting`, an averaged KL costs `vae_loss.kl`, and no other check and
not the experiment deducts it again.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from assignments.a10 import ASSIGNMENT
from assignments.a10.checks import CHECKS
from assignments.a10.contract import CHECKS as CHECK_SPECS
from assignments.a10.expected import compute_expected
from graders.assignment.spec import Scoring
from graders.judge.expected import TrainingFailed
from graders.judge.reading import as_predicted
from graders.kit import check as kit_check
from graders.kit.build import kit_data, public_plan
from graders.results import CheckStatus
from tests import students as s

LOSS_CHECKS = ("vae_loss.reconstruction", "vae_loss.kl", "vae_loss.weighting")
POINTS = {spec.id: spec.points for spec in CHECK_SPECS}

# idiom -> the mistakes it makes, by hand; each costs the check the README's table gives it.
IDIOMS = [
    (s.vae_loss_convex_mixture, {"weight_convex_mixture": "vae_loss.weighting"}),
    (s.vae_loss_convex_mixture_alpha, {"weight_convex_mixture": "vae_loss.weighting"}),
    (s.vae_loss_weight_on_both, {"weight_on_both_terms": "vae_loss.weighting"}),
    (s.vae_loss_weight_as_divisor, {"weight_as_divisor": "vae_loss.weighting"}),
    (s.vae_loss_weight_as_divisor_manual_bce, {"weight_as_divisor": "vae_loss.weighting"}),
    (s.vae_loss_normalised, {"weight_normalised": "vae_loss.weighting"}),
    (s.vae_loss_weight_twice, {"weight_squared": "vae_loss.weighting"}),
    (s.vae_loss_kl_mean, {"kl_mean_reduction": "vae_loss.kl"}),
    (s.vae_loss_kl_batch_mean, {"kl_batch_mean": "vae_loss.kl"}),
    (s.vae_loss_convex_mixture_kl_batch_mean, {"kl_batch_mean": "vae_loss.kl", "weight_convex_mixture": "vae_loss.weighting"}),
]
WEIGHTINGS = [(idiom, mistakes) for idiom, mistakes in IDIOMS if set(mistakes.values()) == {"vae_loss.weighting"}]


def run(evidence, check_id):
    return next(check for check in CHECKS if check.id == check_id).run(evidence)


@pytest.mark.parametrize(("idiom", "mistakes"), IDIOMS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_way_of_applying_the_weight_is_one_named_mistake_charged_once(plan, expected, idiom, mistakes):
    evidence = s.evidence(plan, expected, vae_loss=idiom)
    results = {check_id: run(evidence, check_id) for check_id in LOSS_CHECKS}
    for check_id, result in results.items():
        charged = tuple(name for name, cost in mistakes.items() if cost == check_id)
        assert (result.status, result.misconceptions) == (CheckStatus.FAIL if charged else CheckStatus.PASS, charged), result.message
    lost = sum(result.max_score - result.score for result in results.values())
    assert lost == sum(POINTS[cost] for cost in set(mistakes.values()))


def test_the_convex_mixture_costs_the_weighting_point_and_keeps_the_kl_points(plan, expected):
    """The issue's case: before, the mixture failed the KL check (2) and the experiment, and passed the weighting check."""
    evidence = s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_convex_mixture)
    kl, weighting, experiment = (run(evidence, c) for c in ("vae_loss.kl", "vae_loss.weighting", "experiment.kl_tradeoff"))
    assert kl.status is CheckStatus.PASS and "vae_loss.weighting" in kl.message  # says where it was deducted
    assert (weighting.status, weighting.score) == (CheckStatus.FAIL, 0.0)
    assert experiment.status is CheckStatus.PASS and "not again here" in experiment.message, experiment.message


def test_the_weighting_message_shows_the_student_s_own_values(plan, expected):
    """A message never claims what the values contradict: the numbers it shows are what the loss returns."""
    (case,) = [c for c in plan.cases_for("vae_loss") if c.public]
    x, x_hat, mu, logvar = (torch.from_numpy(np.asarray(a)) for a in case.args)
    loss = {w: float(s.vae_loss_convex_mixture(x, x_hat, mu, logvar, kl_loss_weight=w)) for w in (0.0, 30.0)}
    message = run(s.evidence(plan, expected, vae_loss=s.vae_loss_convex_mixture), "vae_loss.weighting").message
    shown = float(re.search(r"(\S+) where \S+ was expected", message).group(1))
    assert shown == pytest.approx(loss[30.0] - loss[0.0], rel=1e-5)


@pytest.mark.parametrize(("idiom", "mistakes"), WEIGHTINGS, ids=lambda v: getattr(v, "__name__", ""))
def test_the_experiment_does_not_deduct_a_weighting_mistake_again(plan, expected, idiom, mistakes):
    result = run(s.evidence(plan, expected, experiment=True, vae_loss=idiom), "experiment.kl_tradeoff")
    assert result.status is CheckStatus.PASS, result.message


def test_a_weight_used_as_a_divisor_breaks_training_as_its_mistake_predicts(plan, expected):
    """Infinite at weight 0: training turns the model into NaN, and the next step's BCE refuses it, for the student and the grader alike."""
    assert isinstance(expected.trained(frozenset({"weight_as_divisor"})), TrainingFailed)
    per_mistake = run(s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_weight_as_divisor), "experiment.kl_tradeoff")
    assert per_mistake.status is CheckStatus.PASS and "fails too" in per_mistake.message
    strict = s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_weight_as_divisor, scoring=Scoring.STRICT)
    assert run(strict, "experiment.kl_tradeoff").status is CheckStatus.ERROR


def test_a_divisor_whose_training_ends_in_nan_is_what_its_mistake_predicts_too(plan, expected):
    """A hand-written BCE does not refuse NaN: that student's training finishes, in NaN, where the grader's raised."""
    evidence = s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_weight_as_divisor_manual_bce)
    assert evidence.student.experiment.error is None
    assert run(evidence, "experiment.kl_tradeoff").status is CheckStatus.PASS
    strict = s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_weight_as_divisor_manual_bce, scoring=Scoring.STRICT)
    result = run(strict, "experiment.kl_tradeoff")
    assert result.status is CheckStatus.FAIL and "diverged" in result.message, result.message


def test_a_normalised_loss_trains_like_the_reference(plan, expected):
    """(BCE + w·KL)/(1 + w) is the right loss scaled at each weight, and Adam is blind to a constant scale:
    the experiment passes it on its own, under strict scoring too; its values still cost the weighting point."""
    strict = s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_normalised, scoring=Scoring.STRICT)
    assert run(strict, "experiment.kl_tradeoff").status is CheckStatus.PASS


@pytest.mark.parametrize("idiom", [s.vae_loss_convex_mixture, s.vae_loss_weight_on_both, s.vae_loss_weight_twice])
def test_under_strict_scoring_the_experiment_still_sees_the_mistake(plan, expected, idiom):
    strict = s.evidence(plan, expected, experiment=True, vae_loss=idiom, scoring=Scoring.STRICT)
    assert run(strict, "experiment.kl_tradeoff").status is CheckStatus.FAIL


# ----------------------------------------------------------------------------- a weight from elsewhere: a global, a schedule


def _annealed(warmup: int):
    """KL annealing as public code keeps it: a step counter on the loss, the argument ignored."""

    def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
        vae_loss.step += 1
        beta = min(1.0, vae_loss.step / warmup)
        return s._bce_sum(x, x_hat) + beta * s._kl(mu, logvar)

    vae_loss.step = 0
    return vae_loss


beta = 1.0  # a global KL weight, as a training loop that annealed it to 1 leaves it


def vae_loss_global_beta(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return s._bce_sum(x, x_hat) + beta * s._kl(mu, logvar)


def test_a_global_weight_instead_of_the_argument_is_the_weight_ignored(plan, expected):
    evidence = s.evidence(plan, expected, vae_loss=vae_loss_global_beta)
    assert [run(evidence, c).misconceptions for c in LOSS_CHECKS] == [(), (), ("weight_ignored",)]


def test_a_schedule_finished_before_grading_is_the_weight_ignored(plan, expected):
    """The notebook trained first: the counter is past its warm-up, the weight is 1 on every call."""
    annealed = _annealed(warmup=100)
    annealed.step = 1000
    evidence = s.evidence(plan, expected, experiment=True, vae_loss=annealed)
    assert [run(evidence, c).misconceptions for c in LOSS_CHECKS] == [(), (), ("weight_ignored",)]
    assert run(evidence, "experiment.kl_tradeoff").status is CheckStatus.PASS


def test_a_schedule_still_moving_names_no_mistake(plan, expected):
    """Mid warm-up the loss changes with every call, not with its arguments: no story predicts such values, so
    none is named, and each check says what its own values show."""
    evidence = s.evidence(plan, expected, vae_loss=_annealed(warmup=10_000))
    assert evidence.diagnoses["vae_loss"].flags is None
    for check_id in ("vae_loss.kl", "vae_loss.weighting"):
        result = run(evidence, check_id)
        assert (result.status, result.misconceptions) == (CheckStatus.FAIL, ()), result.message


# ----------------------------------------------------------------------------- predicted infinities; the kit


def test_a_story_predicts_an_infinity_exactly_and_a_nan_never():
    tolerance = (1e-4, 1e-3)
    predicted = np.array([np.inf, 10.0, 20.0])
    assert as_predicted(np.array([np.inf, 10.0, 20.0005]), predicted, tolerance)
    assert not as_predicted(np.array([-np.inf, 10.0, 20.0]), predicted, tolerance)
    assert not as_predicted(np.array([np.nan, 10.0, 20.0]), predicted, tolerance)
    assert not as_predicted(np.array([np.inf, 10.0, 21.0]), predicted, tolerance)
    assert not as_predicted(np.array([np.nan, 10.0]), np.array([np.nan, 10.0]), tolerance)


@pytest.fixture(scope="module")
def kit_public():
    plan = public_plan(ASSIGNMENT)
    public_expected = compute_expected(plan)
    return plan, public_expected, kit_data(ASSIGNMENT, plan, public_expected)


@pytest.mark.parametrize(("idiom", "mistakes"), IDIOMS, ids=lambda v: getattr(v, "__name__", ""))
def test_the_kit_diagnoses_and_judges_like_the_grader(kit_public, idiom, mistakes):
    plan, public_expected, data = kit_public
    namespace = {**s.CORRECT, "vae_loss": idiom}
    kit = {v.id: v for v in kit_check.judge_all(data, namespace, None, "vae_loss")}
    evidence = s.evidence(plan, public_expected, vae_loss=idiom)
    named = set()
    for check_id in LOSS_CHECKS:
        grader = run(evidence, check_id)
        assert (kit[check_id].status, kit[check_id].misconceptions) == (grader.status.value, grader.misconceptions), check_id
        named |= set(grader.misconceptions)
    assert named == set(mistakes)


def test_two_mistakes_are_not_called_one(plan, expected, kit_public):
    """The reconstruction check passes a loss with two mistakes charged elsewhere, and says two, in the grader and the kit."""
    result = run(s.evidence(plan, expected, vae_loss=s.vae_loss_convex_mixture_kl_batch_mean), "vae_loss.reconstruction")
    assert result.status is CheckStatus.PASS and "explained by 2 mistakes" in result.message, result.message
    _, _, data = kit_public
    verdicts = kit_check.judge_all(data, {**s.CORRECT, "vae_loss": s.vae_loss_convex_mixture_kl_batch_mean}, None, "vae_loss")
    kit = next(v for v in verdicts if v.id == "vae_loss.reconstruction")
    assert kit.message == result.message
