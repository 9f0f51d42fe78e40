"""Every check against hand-written student code, in-process (no kernel): the verdict and the
misconception it names. Correct variants in every accepted form must pass without names.
"""

from __future__ import annotations

import pytest

from graders.assignment.contract import CHECK_IDS, MAX_SCORE
from graders.judge.checks import CHECKS
from graders.results import CheckStatus
from reference.misconceptions import flag_subsets, vae_loss_variant
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
        (s.closed_form_off_by_one, "closed_form.sigma", ("off_by_one_index",)),
        (s.closed_form_last_alpha, "closed_form.mu", ("last_alpha_only",)),
        (s.closed_form_last_alpha, "closed_form.sigma", ("last_alpha_only",)),
    ],
)
def test_closed_form_misconceptions_are_named(plan, expected, implementation, check_id, names):
    result = run(s.evidence(plan, expected, closed_form=implementation), check_id)
    assert result.status is CheckStatus.FAIL
    assert result.misconceptions == names
    assert result.score == 0


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


@pytest.mark.parametrize("implementation", [s.vae_loss_correct, s.vae_loss_manual_bce], ids=lambda f: f.__name__)
def test_correct_losses_pass(plan, expected, implementation):
    evidence = s.evidence(plan, expected, vae_loss=implementation)
    for check_id in ("vae_loss.reconstruction", "vae_loss.kl", "vae_loss.weighting"):
        result = run(evidence, check_id)
        assert (result.status, result.misconceptions) == (CheckStatus.PASS, ()), result.message


@pytest.mark.parametrize(
    ("implementation", "verdicts"),
    [
        (
            s.vae_loss_sign_flipped,
            {"vae_loss.reconstruction": (), "vae_loss.kl": ("kl_sign_flipped",), "vae_loss.weighting": ("kl_sign_flipped",)},
        ),
        (
            s.vae_loss_missing_half,
            {"vae_loss.reconstruction": (), "vae_loss.kl": ("kl_missing_half",), "vae_loss.weighting": ("kl_missing_half",)},
        ),
        (
            s.vae_loss_weight_on_reconstruction,
            {
                "vae_loss.reconstruction": ("weight_on_reconstruction",),
                "vae_loss.kl": ("weight_on_reconstruction",),
                "vae_loss.weighting": ("weight_on_reconstruction",),
            },
        ),
        (
            s.vae_loss_weight_ignored,
            {"vae_loss.reconstruction": ("weight_ignored",), "vae_loss.kl": ("weight_ignored",), "vae_loss.weighting": ("weight_ignored",)},
        ),
        (s.vae_loss_mean_bce, {"vae_loss.reconstruction": ("mean_reduction",), "vae_loss.kl": (), "vae_loss.weighting": ()}),
        (s.vae_loss_mse, {"vae_loss.reconstruction": ("mse_instead_of_bce",), "vae_loss.kl": (), "vae_loss.weighting": ()}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_loss_misconceptions_fail_exactly_the_checks_they_break(plan, expected, implementation, verdicts):
    """() means: this check passes. A name means: this check fails and names it."""
    evidence = s.evidence(plan, expected, vae_loss=implementation)
    for check_id, names in verdicts.items():
        result = run(evidence, check_id)
        assert result.status is (CheckStatus.FAIL if names else CheckStatus.PASS), (check_id, result.message)
        assert result.misconceptions == names, check_id


def test_a_per_sample_loss_fails_with_a_message_about_reduction(plan, expected):
    result = run(s.evidence(plan, expected, vae_loss=s.vae_loss_per_sample), "vae_loss.reconstruction")
    assert result.status is CheckStatus.FAIL
    assert "single number" in result.message


@pytest.mark.parametrize(
    ("implementation", "status", "names"),
    [
        (s.reparameterize_correct, CheckStatus.PASS, ()),
        (s.reparameterize_variance, CheckStatus.FAIL, ("variance_as_std",)),
        (s.reparameterize_no_noise, CheckStatus.FAIL, ("no_noise",)),
        (s.reparameterize_wrong_shape, CheckStatus.FAIL, ()),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_reparameterize_is_checked_statistically(plan, expected, implementation, status, names):
    result = run(s.evidence(plan, expected, reparameterize=implementation), "reparameterize")
    assert (result.status, result.misconceptions) == (status, names), result.message


@pytest.mark.parametrize(
    ("implementation", "status"),
    [
        (s.vae_loss_correct, CheckStatus.PASS),
        (s.vae_loss_mean_bce, CheckStatus.PASS),
        (s.vae_loss_sign_flipped, CheckStatus.FAIL),
        (s.vae_loss_weight_on_reconstruction, CheckStatus.FAIL),
        (s.vae_loss_weight_ignored, CheckStatus.FAIL),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_the_kl_tradeoff_experiment_sees_which_term_the_weight_is_on(plan, expected, implementation, status):
    result = run(s.evidence(plan, expected, experiment=True, vae_loss=implementation), "experiment.kl_tradeoff")
    assert result.status is status, result.message


WEIGHTING_MISTAKES = frozenset({"kl_sign_flipped", "weight_on_reconstruction", "weight_ignored"})


@pytest.mark.parametrize("flags", [frozenset(), *flag_subsets("vae_loss", 2)], ids=lambda f: ",".join(sorted(f)) or "reference")
def test_the_short_experiment_separates_the_weights_by_a_wide_margin(plan, expected, flags):
    result = run(s.evidence(plan, expected, experiment=True, vae_loss=vae_loss_variant(flags)), "experiment.kl_tradeoff")
    if flags & WEIGHTING_MISTAKES:
        assert result.status is CheckStatus.FAIL, result.message
        return
    assert result.status is CheckStatus.PASS, result.message
    # Far apart, not a coin flip: a few training steps more or less would not change the verdict.
    recon, kl = result.details["reconstruction"], result.details["kl"]
    assert recon["30"] - recon["0"] > 1000 and kl["0"] - kl["30"] > 100, result.details
