"""The reparameterisation statistics: correct samplers pass across many seeds, at a false-alarm rate
bounded far below 1e-6, and the tests are calibrated (their p-values are uniform under the null),
so the bound holds for the rate actually seen, not only on paper."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from assignments.a10.plan import REPARAM_DRAWS, build_plan
from graders.judge.critical import critical_values
from graders.judge.reading import gradient_flaw
from graders.judge.sampling import (
    FLOAT32_ROUNDING,
    GRADIENT_RTOL,
    P_MIN,
    SampleTests,
    false_alarm_bound,
    per_case_test_count,
    sample_tests,
)
from graders.runtime.probe_runtime import decode, encode, run_call
from tests import students as s

SAMPLERS = [s.reparameterize_correct, s.reparameterize_normal, s.reparameterize_rsample]
SEEDS = range(40)


def draws(sampler, mu: np.ndarray, logvar: np.ndarray, dtype: torch.dtype, seed: int) -> np.ndarray:
    torch.manual_seed(seed)
    rows = torch.ones(REPARAM_DRAWS, 1, dtype=dtype)
    return sampler(rows * torch.tensor(mu, dtype=dtype), rows * torch.tensor(logvar, dtype=dtype)).numpy()


def test_the_false_alarm_bound_of_the_whole_check_is_below_one_in_a_million():
    plan = build_plan(seed=5, hidden=True, data_dir=None)
    dimensions = [case.args[0].shape[1] for case in plan.cases_for("reparameterize")]
    # Per case: 4 means, 4 spreads, 4 KS tests, 6 pairs = 18 tests, each at P_MIN.
    assert [per_case_test_count(d) for d in dimensions] == [18, 18]
    assert false_alarm_bound(dimensions) == pytest.approx(36 * P_MIN)
    assert false_alarm_bound(dimensions) < 1e-6


def smallest_p_values(tests: SampleTests, n: int) -> dict[str, float]:
    """Each family's smallest p-value, from its most extreme statistic (scipy's distributions, as the critical values are)."""
    low, high = tests.spread
    return {
        "mean": 2 * stats.norm.sf(tests.mean),
        "spread": 2 * min(stats.chi2.cdf(low, n - 1), stats.chi2.sf(high, n - 1)),
        "correlation": 2 * stats.t.sf(tests.correlation, n - 2),
        "normality": stats.kstwo.sf(tests.normality, n),
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda f: f.__name__)
def test_correct_samplers_pass_across_seeds_and_the_tests_are_calibrated(sampler, dtype):
    mu, logvar = np.array([0.0, 1.0, -2.0, 0.5]), np.array([-1.0, 0.5, 1.2, -2.0])
    sigma = np.exp(0.5 * logvar)
    p_values: dict[str, list[float]] = {"mean": [], "spread": [], "correlation": [], "normality": []}
    for seed in SEEDS:
        result = sample_tests(draws(sampler, mu, logvar, dtype, seed), mu, sigma)
        assert result.failed(critical_values(REPARAM_DRAWS)) == (), (seed, result)
        for family, p in smallest_p_values(result, REPARAM_DRAWS).items():
            p_values[family].append(p)
    for family, values in p_values.items():
        # The smallest of k uniform p-values has P(min <= p) = 1 - (1 - p)^k; map back to uniform and test.
        k = {"mean": 4, "spread": 4, "normality": 4, "correlation": 6}[family]
        uniform = 1 - (1 - np.asarray(values)) ** k
        assert stats.kstest(uniform, "uniform").pvalue > 1e-4, (family, values)


def test_a_statistic_fails_exactly_when_its_p_value_is_below_the_false_alarm_rate():
    """The critical values are the p-value rule said the other way: on each side of each one, the two agree."""
    n = REPARAM_DRAWS
    critical = critical_values(n)
    calm = SampleTests(mean=0.0, spread=(float(n - 1), float(n - 1)), correlation=0.0, normality=0.0, smallest_abs_correlation=0.0)
    assert calm.failed(critical) == ()
    edges = {
        "mean": lambda x: SampleTests(x, calm.spread, 0.0, 0.0, 0.0),
        "correlation": lambda x: SampleTests(0.0, calm.spread, x, 0.0, 0.0),
        "normality": lambda x: SampleTests(0.0, calm.spread, 0.0, x, 0.0),
    }
    for family, at in edges.items():
        bound = getattr(critical, family)
        for statistic in (bound * (1 - 1e-3), bound * (1 + 1e-3)):  # scipy inverts kstwo to ~1e-4
            tests = at(statistic)
            assert (family in tests.failed(critical)) == (smallest_p_values(tests, n)[family] < P_MIN), (family, statistic)
    low, high = critical.spread
    for spread in ((low * (1 + 1e-3), n - 1.0), (low * (1 - 1e-3), n - 1.0), (n - 1.0, high * (1 - 1e-3)), (n - 1.0, high * (1 + 1e-3))):
        tests = SampleTests(0.0, spread, 0.0, 0.0, 0.0)
        assert ("spread" in tests.failed(critical)) == (smallest_p_values(tests, n)["spread"] < P_MIN), spread


def test_the_ks_distance_is_scipy_s():
    z = np.random.default_rng(1).normal(0.3, 2.0, size=(REPARAM_DRAWS, 1))
    ours = sample_tests(z, np.array([0.3]), np.array([2.0])).normality
    assert ours == pytest.approx(stats.kstest(z[:, 0], "norm", args=(0.3, 2.0)).statistic, rel=1e-12)


def test_each_bug_is_far_past_the_threshold():
    mu, logvar = np.array([0.0, 1.0, -2.0, 0.5]), np.array([-1.0, 0.5, 1.2, -2.0])
    sigma = np.exp(0.5 * logvar)
    critical = critical_values(REPARAM_DRAWS)
    shared = sample_tests(draws(s.reparameterize_shared_noise, mu, logvar, torch.float32, 0), mu, sigma)
    assert shared.failed(critical) == ("correlation",) and shared.smallest_abs_correlation > 0.99
    variance = sample_tests(draws(s.reparameterize_variance, mu, logvar, torch.float32, 0), mu, sigma)
    assert "spread" in variance.failed(critical)
    plus_minus = sample_tests(draws(s.reparameterize_plus_minus_std, mu, logvar, torch.float32, 0), mu, sigma)
    failed = plus_minus.failed(critical)
    assert "normality" in failed and "mean" not in failed and "spread" not in failed


# ----------------------------------------------------------------------------- gradients


def gradient_evidence(sampler, mu: np.ndarray, logvar: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, tuple[object, ...]]:
    """(z, projection, gradients) as the probe runtime returns them for `sampler` on rows of (mu, logvar), in float32."""
    rows = np.ones((REPARAM_DRAWS, 1), dtype=np.float32)
    inputs = [rows * mu.astype(np.float32), rows * logvar.astype(np.float32)]
    projection = np.random.default_rng(seed).choice(np.array([-1.5, -1.0, -0.5, 0.5, 1.0, 1.5], dtype=np.float32), size=inputs[0].shape)
    call = {"function": "f", "kwargs": {}, "seed": seed, "gradient": {"arguments": [0, 1], "projection": encode(projection)}}
    outcome = run_call({"f": sampler}, call, [encode(arg) for arg in inputs], limit=10)
    return decode(outcome["value"], 10**6), projection, decode(outcome["gradients"], 10**6)


def flaw(sampler, mu: np.ndarray, logvar: np.ndarray, seed: int = 0) -> str | None:
    z, projection, gradients = gradient_evidence(sampler, mu, logvar, seed)
    rows = np.ones((REPARAM_DRAWS, 1))
    return gradient_flaw(
        z.astype(np.float64),
        rows * mu,
        rows * np.exp(0.5 * logvar),
        projection.astype(np.float64),
        gradients,
        GRADIENT_RTOL,
        FLOAT32_ROUNDING,
    )


SCALES = [  # (mu, logvar): the plan's ranges, and far beyond them both ways (the tolerance is relative)
    (np.array([0.0, 1.0, -2.0, 0.5]), np.array([-1.0, 0.5, 1.2, -2.0])),
    (np.array([1e3, -1e3, 0.0, 5.0]), np.array([-12.0, -6.0, 0.0, 12.0])),
    (np.array([1e-4, -3e-4, 2e-4, 0.0]), np.array([-18.0, -16.0, -14.0, -12.0])),
]
RIGHT = [s.reparameterize_correct, s.reparameterize_rsample, s.reparameterize_independent_rsample, s.reparameterize_inplace_std]


@pytest.mark.parametrize("scale", range(len(SCALES)))
@pytest.mark.parametrize("sampler", RIGHT, ids=lambda f: f.__name__)
def test_a_reparameterised_sample_s_float32_gradients_are_right_at_every_scale_and_seed(sampler, scale):
    mu, logvar = SCALES[scale]
    assert [flaw(sampler, mu, logvar, seed) for seed in range(5)] == [None] * 5


@pytest.mark.parametrize(
    ("sampler", "expected"),
    [
        (s.reparameterize_normal, "no_gradient"),  # all-zero gradients
        (s.reparameterize_sample, "no_gradient"),  # None
        (s.reparameterize_detached, "no_gradient"),
        (s.reparameterize_numpy_round_trip, "no_gradient"),
        (s.reparameterize_std_detached, "gradient_to_mean_only"),
        (s.reparameterize_mu_detached, "wrong_gradient"),
        (s.reparameterize_variance, "wrong_gradient"),  # ∂z/∂logvar is σ²·ε: twice the noise's share, and σ² for σ
        # The value unchanged, a hundredth added to logvar's gradient:
        (lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) + 0.01 * (logvar - logvar.detach()), "wrong_gradient"),
        (lambda mu, logvar: mu + torch.exp(0.5 * logvar).flip(0) * torch.randn_like(mu), "wrong_gradient"),  # another row's σ
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_gradients_that_are_not_a_reparameterised_sample_s_are_told_apart(sampler, expected):
    for mu, logvar in SCALES[:2]:
        assert flaw(sampler, mu, logvar) == expected


def test_a_gradient_that_is_not_an_array_of_z_s_shape_or_not_finite_is_not_right():
    mu, logvar = SCALES[0]
    z, projection, (d_mu, d_logvar) = gradient_evidence(s.reparameterize_correct, mu, logvar, seed=3)
    rows = np.ones((REPARAM_DRAWS, 1))

    def judge(*gradients: object) -> str | None:
        return gradient_flaw(z, rows * mu, rows * np.exp(0.5 * logvar), projection, gradients, GRADIENT_RTOL, FLOAT32_ROUNDING)

    assert judge(d_mu, d_logvar) is None
    assert judge(d_mu) == "no_gradient"  # one gradient for two arguments (forged): nothing the grader reads reached
    assert judge(d_mu[:1], d_logvar) == "wrong_gradient"
    assert judge(d_mu, np.where(np.arange(d_logvar.size).reshape(d_logvar.shape) == 7, np.nan, d_logvar)) == "wrong_gradient"
    assert judge(d_mu, d_logvar.astype(bool)) == "gradient_to_mean_only"  # a forged type is no gradient
    assert judge(np.zeros_like(d_mu), None) == "no_gradient"
