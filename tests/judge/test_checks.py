"""Every check against hand-written student code, in-process (no kernel): the verdict and the
misconception it names. Correct variants in every accepted form must pass without names.

Expected verdicts follow the deduction policy by hand (assignments/a10/README.md, "Deductions"): a mistake costs the
one check it concerns; `strict` scoring judges every check against the reference on its own.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from assignments.a10.checks import CHECKS, DEDUCTIONS, SAMPLING_FINDINGS, TRAINED_XHAT_ATOL, runs_agree
from assignments.a10.contract import CHECK_IDS, MAX_SCORE
from assignments.a10.expected import compute_expected
from graders.assignment.spec import Scoring
from graders.judge.expected import TrainingFailed
from graders.judge.probes import CallError, CallResult, Experiment, ProbeResults, decode_results
from graders.results import CheckStatus
from graders.runtime import probe_runtime
from reference.a10.misconceptions import CATALOG, flag_subsets
from tests import students as s


def run(evidence, check_id):
    check = next(c for c in CHECKS if c.id == check_id)
    return check.run(evidence)


def test_check_ids_and_points_are_the_contract():
    assert CHECK_IDS == (
        "closed_form.mu",
        "closed_form.sigma",
        "derivation.mu",
        "derivation.sigma",
        "vae_loss.reconstruction",
        "vae_loss.kl",
        "vae_loss.weighting",
        "reparameterize",
        "experiment.kl_tradeoff",
    )
    assert tuple(check.id for check in CHECKS) == CHECK_IDS
    assert MAX_SCORE == 12


@pytest.mark.parametrize(
    "implementation",
    [s.closed_form_prod, s.closed_form_loop, s.closed_form_cumprod_float64, s.closed_form_numpy, s.closed_form_sigma_matrix],
    ids=lambda f: f.__name__,
)
def test_correct_closed_forms_pass_in_every_accepted_form(plan, expected, implementation):
    evidence = s.evidence(plan, expected, closed_form=implementation)
    for check_id in ("closed_form.mu", "closed_form.sigma"):
        result = run(evidence, check_id)
        assert (result.status, result.misconceptions, result.score) == (CheckStatus.PASS, (), result.max_score), result.message


@pytest.mark.parametrize(
    ("implementation", "check_id", "names"),
    [
        (s.closed_form_missing_sqrt, "closed_form.mu", ("missing_sqrt",)),
        (s.closed_form_scalar_mu, "closed_form.mu", ("missing_sqrt", "missing_x0")),
        (s.closed_form_std, "closed_form.sigma", ("std_for_variance",)),
        (s.closed_form_off_by_one, "closed_form.mu", ("off_by_one_index",)),
        (s.closed_form_last_alpha, "closed_form.mu", ("last_alpha_only",)),
    ],
)
def test_closed_form_misconceptions_are_named(plan, expected, implementation, check_id, names):
    result = run(s.evidence(plan, expected, closed_form=implementation), check_id)
    assert result.status is CheckStatus.FAIL
    assert result.misconceptions == names
    assert result.score == 0


@pytest.mark.parametrize("implementation", [s.closed_form_off_by_one, s.closed_form_last_alpha], ids=lambda f: f.__name__)
def test_a_wrong_alpha_bar_costs_mu_once_and_sigma_is_judged_on_it(plan, expected, implementation):
    """ᾱ_t is wrong once; Σ = 1 − (that ᾱ_t) is consistent with it: per mistake, Σ keeps its point."""
    per_mistake = run(s.evidence(plan, expected, closed_form=implementation), "closed_form.sigma")
    assert (per_mistake.status, per_mistake.score) == (CheckStatus.PASS, 1.0)
    assert "closed_form.mu" in per_mistake.message
    strict = run(s.evidence(plan, expected, closed_form=implementation, scoring=Scoring.STRICT), "closed_form.sigma")
    assert (strict.status, strict.score) == (CheckStatus.FAIL, 0.0)


def test_a_mistake_in_mu_does_not_cost_the_sigma_points(plan, expected):
    evidence = s.evidence(plan, expected, closed_form=s.closed_form_missing_sqrt)
    assert run(evidence, "closed_form.sigma").status is CheckStatus.PASS


def test_public_values_appear_in_the_message_so_students_can_reproduce_them(plan, expected):
    result = run(s.evidence(plan, expected, closed_form=s.closed_form_missing_sqrt), "closed_form.mu")
    # Public input: x0[1][1] = 3, alpha_bar = 0.9*0.8*0.7 = 0.504 -> expected 3*sqrt(0.504) = 2.12979, got 3*0.504 = 1.512
    assert "1.512" in result.message and "2.12979" in result.message


@pytest.mark.parametrize(
    ("implementation", "status", "fragment"),
    [
        (s.closed_form_returns_string, CheckStatus.ERROR, "should be a number or a tensor"),
        (s.closed_form_raises, CheckStatus.ERROR, "raised ValueError: not done yet"),
        (s.closed_form_nan, CheckStatus.FAIL, "NaN"),
    ],
)
def test_broken_closed_forms_get_a_clear_status(plan, expected, implementation, status, fragment):
    result = run(s.evidence(plan, expected, closed_form=implementation), "closed_form.mu")
    assert result.status is status
    assert fragment in result.message


def test_missing_function_is_an_error_naming_the_function(plan, expected):
    evidence = s.evidence(plan, expected, closed_form=None)
    result = run(evidence, "closed_form.mu")
    assert result.status is CheckStatus.ERROR
    assert "`closed_form` is not defined" in result.message


CORRECT_LOSSES = [s.vae_loss_correct, s.vae_loss_manual_bce, s.vae_loss_float64, s.vae_loss_distributions]


@pytest.mark.parametrize("implementation", CORRECT_LOSSES, ids=lambda f: f.__name__)
def test_correct_losses_pass(plan, expected, implementation):
    evidence = s.evidence(plan, expected, vae_loss=implementation)
    for check_id in ("vae_loss.reconstruction", "vae_loss.kl", "vae_loss.weighting"):
        result = run(evidence, check_id)
        assert (result.status, result.misconceptions) == (CheckStatus.PASS, ()), result.message


# loss -> {check: names} per mistake, then under strict scoring; () means the check passes.
LOSS_VERDICTS = [
    (
        s.vae_loss_sign_flipped,
        {"vae_loss.reconstruction": (), "vae_loss.kl": ("kl_sign_flipped",), "vae_loss.weighting": ()},
        {"vae_loss.reconstruction": (), "vae_loss.kl": ("kl_sign_flipped",), "vae_loss.weighting": ("kl_sign_flipped",)},
    ),
    (
        s.vae_loss_missing_half,
        {"vae_loss.reconstruction": (), "vae_loss.kl": ("kl_missing_half",), "vae_loss.weighting": ()},
        {"vae_loss.reconstruction": (), "vae_loss.kl": ("kl_missing_half",), "vae_loss.weighting": ("kl_missing_half",)},
    ),
    (
        s.vae_loss_weight_on_reconstruction,
        {"vae_loss.reconstruction": (), "vae_loss.kl": (), "vae_loss.weighting": ("weight_on_reconstruction",)},
        {
            "vae_loss.reconstruction": ("weight_on_reconstruction",),
            "vae_loss.kl": ("weight_on_reconstruction",),
            "vae_loss.weighting": ("weight_on_reconstruction",),
        },
    ),
    (
        s.vae_loss_weight_ignored,
        {"vae_loss.reconstruction": (), "vae_loss.kl": (), "vae_loss.weighting": ("weight_ignored",)},
        {"vae_loss.reconstruction": ("weight_ignored",), "vae_loss.kl": ("weight_ignored",), "vae_loss.weighting": ("weight_ignored",)},
    ),
    (
        s.vae_loss_mean_bce,
        {"vae_loss.reconstruction": ("mean_reduction",), "vae_loss.kl": (), "vae_loss.weighting": ()},
        {"vae_loss.reconstruction": ("mean_reduction",), "vae_loss.kl": (), "vae_loss.weighting": ()},
    ),
    (
        s.vae_loss_mse,
        {"vae_loss.reconstruction": ("mse_instead_of_bce",), "vae_loss.kl": (), "vae_loss.weighting": ()},
        {"vae_loss.reconstruction": ("mse_instead_of_bce",), "vae_loss.kl": (), "vae_loss.weighting": ()},
    ),
    (
        s.vae_loss_flat_only,
        {"vae_loss.reconstruction": ("loss_expects_flat_x",), "vae_loss.kl": (), "vae_loss.weighting": ()},
        None,  # strict: see test_a_flat_only_loss_under_strict_scoring
    ),
    (
        s.vae_loss_flat_only_sign_flipped,
        {"vae_loss.reconstruction": ("loss_expects_flat_x",), "vae_loss.kl": ("kl_sign_flipped",), "vae_loss.weighting": ()},
        None,
    ),
]


@pytest.mark.parametrize(("implementation", "per_mistake", "strict"), LOSS_VERDICTS, ids=lambda v: getattr(v, "__name__", ""))
def test_one_loss_mistake_costs_one_check(plan, expected, implementation, per_mistake, strict):
    """() means: this check passes. A name means: this check fails and names it."""
    for scoring, verdicts in ((Scoring.PER_MISTAKE, per_mistake), (Scoring.STRICT, strict)):
        if verdicts is None:
            continue
        evidence = s.evidence(plan, expected, vae_loss=implementation, scoring=scoring)
        for check_id, names in verdicts.items():
            result = run(evidence, check_id)
            assert result.status is (CheckStatus.FAIL if names else CheckStatus.PASS), (scoring, check_id, result.message)
            assert result.misconceptions == names, (scoring, check_id)


def test_each_named_mistake_is_explained_once(plan, expected):
    evidence = s.evidence(plan, expected, vae_loss=s.vae_loss_weight_on_reconstruction)
    results = [run(evidence, c) for c in ("vae_loss.reconstruction", "vae_loss.kl", "vae_loss.weighting")]
    assert [r.status for r in results] == [CheckStatus.PASS, CheckStatus.PASS, CheckStatus.FAIL]
    assert [r.misconceptions for r in results] == [(), (), ("weight_on_reconstruction",)]  # the report explains it once
    assert all("vae_loss.weighting" in r.message for r in results[:2])  # the others say where it was deducted


def test_a_flat_only_loss_is_told_what_the_dataloader_gives(plan, expected):
    result = run(s.evidence(plan, expected, vae_loss=s.vae_loss_flat_only), "vae_loss.reconstruction")
    assert (result.status, result.misconceptions) == (CheckStatus.FAIL, ("loss_expects_flat_x",))
    assert "once x is flattened" in result.message and "ValueError" in result.message  # what happened with the handout's shapes
    explanation = CATALOG["loss_expects_flat_x"].explanation  # shown with the name in the report
    assert "(B, 1, 28, 28)" in explanation and "(B, 784)" in explanation


def test_a_flat_only_loss_under_strict_scoring(plan, expected):
    """Strict: each check on its own, on the values the retry gave: right values, so only the reconstruction deducts."""
    evidence = s.evidence(plan, expected, vae_loss=s.vae_loss_flat_only, scoring=Scoring.STRICT)
    assert run(evidence, "vae_loss.kl").status is CheckStatus.PASS
    assert run(evidence, "vae_loss.weighting").status is CheckStatus.PASS


def test_the_weighting_is_judged_on_the_students_own_kl(plan, expected):
    """A KL outside the catalog (no ½, squared μ missing) costs the KL check; applied with the weight, it keeps the weighting point."""

    def odd_kl(x, x_hat, mu, logvar, kl_loss_weight=1.0):
        kl = -torch.sum(1 + logvar - mu - logvar.exp())
        return s._bce_sum(x, x_hat) + kl_loss_weight * kl

    evidence = s.evidence(plan, expected, vae_loss=odd_kl)
    assert (run(evidence, "vae_loss.kl").status, run(evidence, "vae_loss.kl").misconceptions) == (CheckStatus.FAIL, ())
    assert run(evidence, "vae_loss.weighting").status is CheckStatus.PASS
    strict = s.evidence(plan, expected, vae_loss=odd_kl, scoring=Scoring.STRICT)
    assert run(strict, "vae_loss.weighting").status is CheckStatus.FAIL


def test_every_misconception_has_a_deduction_on_a_check_of_its_function():
    assert set(DEDUCTIONS) == set(CATALOG)
    for name, check_id in DEDUCTIONS.items():
        assert check_id.split(".")[0] == CATALOG[name].function


def test_a_per_sample_loss_fails_with_a_message_about_reduction(plan, expected):
    result = run(s.evidence(plan, expected, vae_loss=s.vae_loss_per_sample), "vae_loss.reconstruction")
    assert result.status is CheckStatus.FAIL
    assert "single number" in result.message


@pytest.mark.parametrize(
    ("implementation", "status", "names"),
    [
        (s.reparameterize_correct, CheckStatus.PASS, ()),
        (s.reparameterize_rsample, CheckStatus.PASS, ()),
        (s.reparameterize_independent_rsample, CheckStatus.PASS, ()),
        (s.reparameterize_inplace_std, CheckStatus.PASS, ()),
        (s.reparameterize_inplace_on_mu, CheckStatus.PASS, ()),
        (s.reparameterize_variance, CheckStatus.FAIL, ("variance_as_std",)),
        (s.reparameterize_no_noise, CheckStatus.FAIL, ("no_noise",)),
        (s.reparameterize_plus_minus_std, CheckStatus.FAIL, ("no_noise",)),
        (s.reparameterize_shared_noise, CheckStatus.FAIL, ("shared_noise",)),
        (s.reparameterize_noise_reused, CheckStatus.FAIL, ("noise_reused",)),
        (s.reparameterize_wrong_shape, CheckStatus.FAIL, ()),
        # Right draws, no gradient to mu or logvar (issue 22): torch.normal's gradient is all zeros, the others have none.
        (s.reparameterize_normal, CheckStatus.FAIL, ("sample_without_gradient",)),
        (s.reparameterize_sample, CheckStatus.FAIL, ("sample_without_gradient",)),
        (s.reparameterize_independent_sample, CheckStatus.FAIL, ("sample_without_gradient",)),
        (s.reparameterize_detached, CheckStatus.FAIL, ("sample_without_gradient",)),
        (s.reparameterize_data, CheckStatus.FAIL, ("sample_without_gradient",)),
        (s.reparameterize_numpy_round_trip, CheckStatus.FAIL, ("sample_without_gradient",)),
        (s.reparameterize_tolist, CheckStatus.FAIL, ("sample_without_gradient",)),
        (s.reparameterize_std_detached, CheckStatus.FAIL, ("logvar_without_gradient",)),
        (s.reparameterize_mu_plus_sampled_noise, CheckStatus.FAIL, ("logvar_without_gradient",)),
        (s.reparameterize_mu_detached, CheckStatus.FAIL, ()),
        # Noise shared by every row of the batch: z varies across dimensions and calls, so not no_noise.
        (s.reparameterize_noise_per_dimension, CheckStatus.FAIL, ("shared_noise",)),
        (s.reparameterize_noise_like_first_row, CheckStatus.FAIL, ("shared_noise",)),
        (s.reparameterize_one_noise_value, CheckStatus.FAIL, ("shared_noise",)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_reparameterize_is_checked_statistically(plan, expected, implementation, status, names):
    result = run(s.evidence(plan, expected, reparameterize=implementation), "reparameterize")
    assert (result.status, result.misconceptions) == (status, names), result.message


def test_the_gradient_is_judged_on_every_case_the_hidden_ones_included(plan):
    cases = plan.cases_for("reparameterize")
    assert {case.public for case in cases if case.gradient is not None} == {True, False}
    assert all(case.gradient is not None and case.gradient.arguments == (0, 1) and np.all(case.gradient.projection != 0) for case in cases)


def test_a_sampler_s_message_claims_nothing_its_values_contradict(plan, expected):
    """Noise shared by every row still varies across dimensions and calls: not "does not vary at all"; a sampler without
    a gradient has the right distribution; a sampler that draws wrong is told about its draws, whatever its gradient."""
    constant = SAMPLING_FINDINGS["constant"][0]
    for sampler in (s.reparameterize_noise_per_dimension, s.reparameterize_noise_like_first_row, s.reparameterize_one_noise_value):
        evidence = s.evidence(plan, expected, reparameterize=sampler)
        first, again = (evidence.student.get(cid).value for cid in plan.cases_for("reparameterize")[0].call_ids()[:2])
        assert np.all(first == first[:1]) and not np.array_equal(first, again)  # the evidence the message must fit
        message = run(evidence, "reparameterize").message
        assert message == SAMPLING_FINDINGS["same_for_every_row"][0] != constant, message
    assert run(s.evidence(plan, expected, reparameterize=s.reparameterize_no_noise), "reparameterize").message == constant
    wrong_and_detached = lambda mu, logvar: (mu + torch.exp(logvar) * torch.randn_like(mu)).detach()  # noqa: E731
    result = run(s.evidence(plan, expected, reparameterize=wrong_and_detached), "reparameterize")
    assert (result.misconceptions, result.message) == (("variance_as_std",), SAMPLING_FINDINGS["variance_as_std"][0])


def test_a_sampler_that_fails_only_when_its_inputs_require_grad_is_an_error_that_says_why(plan, expected):
    def numpy_round_trip(mu, logvar):  # mu.numpy() refuses a tensor that requires grad, as an encoder's output does
        return torch.from_numpy(np.random.normal(mu.numpy(), np.exp(0.5 * logvar.numpy())).astype(np.float32))

    result = run(s.evidence(plan, expected, reparameterize=numpy_round_trip), "reparameterize")
    assert (result.status, result.score) == (CheckStatus.ERROR, 0.0)
    assert "RuntimeError" in result.message


def test_a_forged_gradient_decides_only_its_own_check_and_is_read_within_the_call_s_budget(plan, expected):
    evidence = s.evidence(plan, expected, reparameterize=s.reparameterize_sample)
    for case in plan.cases_for("reparameterize"):
        cid = case.call_ids()[-1]
        outcome = evidence.student.get(cid)
        z = np.asarray(outcome.value, dtype=np.float64)
        right = (case.gradient.projection, 0.5 * (z - case.args[0]) * case.gradient.projection)
        forged = replace(evidence.student, calls={**evidence.student.calls, cid: replace(outcome, gradients=right)})
        evidence = replace(evidence, student=forged)
    assert run(evidence, "reparameterize").status is CheckStatus.PASS
    case = plan.cases_for("reparameterize")[0]
    huge = probe_runtime.encode(np.zeros((len(case.args[0]) * 100, 4), dtype=np.float32))
    raw = {
        "calls": {
            case.call_ids()[-1]: {
                "ok": True,
                "value": probe_runtime.encode(case.args[0]),
                "gradients": {"kind": "sequence", "items": [huge, huge]},
            }
        }
    }
    refused = decode_results(raw, plan).get(case.call_ids()[-1])
    assert refused.error is not None and refused.error.kind == "unreadable"


# ----------------------------------------------------------------------------- partial evidence, redaction


def test_values_from_the_inputs_that_ran_name_no_mistake_when_one_raised(plan):
    """alphas_cumprod[t] with 1-based t: off by one on every hidden input, IndexError at t = T (here the public input).
    The hidden values alone single out off_by_one_index, but a mistake is named only from values that all exist."""
    (public,) = [case for case in plan.cases_for("closed_form") if case.public]
    x0, _, alphas = public.args
    at_the_end = replace(public, args=(x0, len(alphas), alphas))
    plan = replace(plan, cases=tuple(at_the_end if case is public else case for case in plan.cases))
    evidence = s.evidence(plan, compute_expected(plan), closed_form=s.closed_form_ddpm_indexing)
    for check_id in ("closed_form.mu", "closed_form.sigma"):
        result = run(evidence, check_id)
        assert (result.status, result.misconceptions, result.score) == (CheckStatus.FAIL, (), 0.0), result.message
        assert "raised on 1 input(s)" in result.message and "IndexError" in result.message and "the public input" in result.message
        assert "Right on the public input" not in result.message and "named only when every input gives a value" in result.message
        assert result.details["cases_raised"] == ["public"]


def test_right_where_it_ran_but_raising_elsewhere_is_an_error_not_a_pass(plan, expected):
    result = run(s.evidence(plan, expected, closed_form=s.closed_form_prints_its_input), "closed_form.mu")
    assert (result.status, result.score) == (CheckStatus.ERROR, 0.0)
    assert "raised on 3 input(s)" in result.message


def test_hidden_inputs_never_reach_the_students_messages(plan, expected):
    evidence = s.evidence(plan, expected, closed_form=s.closed_form_prints_its_input)
    hidden = [case for case in plan.cases_for("closed_form") if not case.public]
    leaked = [f"{float(case.args[0].flatten()[0]):.4f}"[:5] for case in hidden] + ["Leak", "got x0"]
    for check_id in ("closed_form.mu", "closed_form.sigma"):
        message = run(evidence, check_id).message
        assert "raised an exception on a hidden input" in message  # the class's own name could carry data
        assert not [text for text in leaked if text in message], message


# ----------------------------------------------------------------------------- the experiment


@pytest.mark.parametrize("implementation", [*CORRECT_LOSSES, s.vae_loss_flat_only], ids=lambda f: f.__name__)
def test_the_experiment_passes_correct_losses_trained_like_the_reference(plan, expected, implementation):
    for scoring in Scoring:
        result = run(s.evidence(plan, expected, experiment=True, vae_loss=implementation, scoring=scoring), "experiment.kl_tradeoff")
        assert result.status is CheckStatus.PASS, (scoring, result.message)


@pytest.mark.parametrize(
    "implementation",
    [s.vae_loss_mean_bce, s.vae_loss_sign_flipped, s.vae_loss_weight_on_reconstruction, s.vae_loss_weight_ignored],
    ids=lambda f: f.__name__,
)
def test_a_named_loss_mistake_is_not_deducted_again_by_the_experiment(plan, expected, implementation):
    per_mistake = run(s.evidence(plan, expected, experiment=True, vae_loss=implementation), "experiment.kl_tradeoff")
    assert per_mistake.status is CheckStatus.PASS, per_mistake.message
    strict = run(s.evidence(plan, expected, experiment=True, vae_loss=implementation, scoring=Scoring.STRICT), "experiment.kl_tradeoff")
    assert strict.status is CheckStatus.FAIL, strict.message


@pytest.mark.parametrize(
    "implementation", [s.vae_loss_kl_item, s.vae_loss_kl_detached, s.vae_loss_reconstruction_data], ids=lambda f: f.__name__
)
def test_a_term_cut_from_autograd_has_the_right_values_and_loses_the_training(plan, expected, implementation):
    """.item(), .detach() or .data on one term: every value is the reference's, and nothing in the values can
    say so; the training, which follows the gradient, ends elsewhere. One point, where it changes training."""
    evidence = s.evidence(plan, expected, experiment=True, vae_loss=implementation)
    for check_id in ("vae_loss.reconstruction", "vae_loss.kl", "vae_loss.weighting"):
        assert run(evidence, check_id).status is CheckStatus.PASS, check_id
    experiment = run(evidence, "experiment.kl_tradeoff")
    assert experiment.status is CheckStatus.FAIL, experiment.message
    assert "right values" in experiment.message and "wrong term" not in experiment.message and "wrong sign" not in experiment.message


def test_a_forged_experiment_earns_nothing(plan, expected):
    """The attack of issue 10: a wrong KL sign, and the weight-30 run replaced by x_hat = 0.5, mu = logvar = 0."""
    evidence = s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_sign_flipped, scoring=Scoring.STRICT)
    runs = dict(evidence.student.experiment.value.runs)
    x_hat, mu, logvar = runs["30.0"]
    runs["30.0"] = (np.full_like(x_hat, 0.5), np.zeros_like(mu), np.zeros_like(logvar))
    forged = ProbeResults(evidence.student.calls, replace(evidence.student.experiment, value=Experiment(runs)))
    result = run(replace(evidence, student=forged), "experiment.kl_tradeoff")
    assert result.status is CheckStatus.FAIL, result.message
    # The forgery does show the expected direction: the old direction-only check would have passed it.
    measured = result.details["measured"]
    assert measured["reconstruction"]["0"] < measured["reconstruction"]["30"] and measured["kl"]["30"] < measured["kl"]["0"]


# (BCE + w·KL)/(1 + w) is the right loss scaled at each weight: Adam trains it like the reference
# (tests/judge/test_weighting.py), and only its values cost it a point.
TRAINS_LIKE_THE_REFERENCE = frozenset({"weight_normalised"})


@pytest.mark.parametrize(
    "flags", [flags for flags in flag_subsets("vae_loss", 2) if flags != TRAINS_LIKE_THE_REFERENCE], ids=lambda f: ",".join(sorted(f))
)
def test_every_catalogued_loss_mistake_trains_far_from_the_reference(plan, expected, flags):
    trained = expected.trained(flags)
    if isinstance(trained, TrainingFailed):  # as far as a run can be: only a loss infinite at weight 0 stops training
        assert "weight_as_divisor" in flags, trained.reason
        return
    assert not runs_agree(trained, expected.trained(frozenset()))
    # Far, not marginally: at least ten times the tolerance somewhere (NaN where the reference has a number is infinitely far).
    distance = max(
        float(np.nanmax(_apart(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)))) - tolerance
        for weight in trained
        for a, b, tolerance in zip(trained[weight], expected.trained(frozenset())[weight], (TRAINED_XHAT_ATOL, 1e-3, 1e-3), strict=True)
    )
    assert distance > 9 * TRAINED_XHAT_ATOL


def _apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    distance: np.ndarray = np.where(np.isnan(a) != np.isnan(b), np.inf, np.abs(a - b))
    return distance


def test_the_assignment_readme_deduction_table_is_the_policy():
    readme = (Path(__file__).resolve().parents[2] / "assignments" / "a10" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `([\w.]+)` \| (\d) \|$", readme, re.MULTILINE)
    assert {name: check for name, check, _ in rows} == DEDUCTIONS
    points = {check.id: check.points for check in CHECKS}
    assert all(points[check] == float(cost) for _, check, cost in rows)


def test_stored_results_from_before_gradients_were_probed_are_rescored_on_their_draws_alone(plan, expected):
    """`grader rescore` of a run graded before the gradient call existed: the draws are judged as they were, and
    staff see that the gradient was not probed; a gradient call that is there but failed is still the check's error."""
    evidence = s.evidence(plan, expected, reparameterize=s.reparameterize_sample)
    gradient_calls = {case.call_ids()[-1] for case in plan.cases_for("reparameterize")}
    old = {cid: outcome for cid, outcome in evidence.student.calls.items() if cid not in gradient_calls}
    result = run(replace(evidence, student=replace(evidence.student, calls=old)), "reparameterize")
    assert result.status is CheckStatus.PASS
    assert result.details == {"gradient_not_probed": [case.name for case in plan.cases_for("reparameterize")]}
    failed = {**old, **{cid: CallResult(error=CallError("timeout", "")) for cid in gradient_calls}}
    assert run(replace(evidence, student=replace(evidence.student, calls=failed)), "reparameterize").status is CheckStatus.ERROR
