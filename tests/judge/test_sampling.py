"""The reparameterisation statistics: correct samplers pass across many seeds, at a false-alarm rate
bounded far below 1e-6, and the tests are calibrated (their p-values are uniform under the null),
so the bound holds for the rate actually seen, not only on paper."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from assignments.a10.plan import REPARAM_DRAWS, build_plan
from graders.judge.sampling import P_MIN, false_alarm_bound, per_case_test_count, sample_tests
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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda f: f.__name__)
def test_correct_samplers_pass_across_seeds_and_the_tests_are_calibrated(sampler, dtype):
    mu, logvar = np.array([0.0, 1.0, -2.0, 0.5]), np.array([-1.0, 0.5, 1.2, -2.0])
    sigma = np.exp(0.5 * logvar)
    p_values = {"mean": [], "spread": [], "correlation": [], "normality": []}
    for seed in SEEDS:
        result = sample_tests(draws(sampler, mu, logvar, dtype, seed), mu, sigma)
        assert result.failed() == (), (seed, result)
        for family, found in p_values.items():
            found.append(getattr(result, family))
    for family, values in p_values.items():
        # The smallest of k uniform p-values has P(min <= p) = 1 - (1 - p)^k; map back to uniform and test.
        k = {"mean": 4, "spread": 4, "normality": 4, "correlation": 6}[family]
        uniform = 1 - (1 - np.asarray(values)) ** k
        assert stats.kstest(uniform, "uniform").pvalue > 1e-4, (family, values)


def test_each_bug_is_far_past_the_threshold():
    mu, logvar = np.array([0.0, 1.0, -2.0, 0.5]), np.array([-1.0, 0.5, 1.2, -2.0])
    sigma = np.exp(0.5 * logvar)
    shared = sample_tests(draws(s.reparameterize_shared_noise, mu, logvar, torch.float32, 0), mu, sigma)
    assert shared.failed() == ("correlation",) and shared.smallest_abs_correlation > 0.99
    variance = sample_tests(draws(s.reparameterize_variance, mu, logvar, torch.float32, 0), mu, sigma)
    assert "spread" in variance.failed()
    plus_minus = sample_tests(draws(s.reparameterize_plus_minus_std, mu, logvar, torch.float32, 0), mu, sigma)
    assert "normality" in plus_minus.failed() and "mean" not in plus_minus.failed() and "spread" not in plus_minus.failed()
