"""Is a batch of draws z a sample of N(μ, diag(σ²))? Exact tests, each at a fixed false-alarm rate.

The reparameterisation check calls the student's function on n identical rows of (μ, logvar), so
each column of z should be n independent draws of N(μ_d, σ_d²). Four families of tests, every one
exact for normal data with the KNOWN μ and σ (no parameter is estimated, so no correction applies):

- mean:        z̄_d ~ N(μ_d, σ_d²/n)                              (normal)
- spread:      (n−1)·s_d²/σ_d² ~ χ²(n−1)                          (chi-square, both tails)
- correlation: r·√((n−2)/(1−r²)) ~ t(n−2) for each pair of columns (Student t, both tails)
- normality:   Kolmogorov–Smirnov distance to N(μ_d, σ_d²)         (exact KS distribution)

A sample fails when any p-value is below `P_MIN`. For a correct implementation the chance of that
is at most (number of tests) × P_MIN: with 4 dimensions, 18 tests per case, 36 for the two cases,
under 4e-9 (`false_alarm_bound`; tests/judge/test_sampling.py checks it and the calibration across
seeds). A real bug is far past these bounds: a shared ε makes r = 1, mu ± std fails the KS test,
exp(logvar) as σ moves the spread by e^{±0.5}..e^{±1}.

A sample that passes must also be differentiable in its parameters the way a reparameterised
sample is (`gradient_flaw`): z = μ + σ·ε with σ = exp(½·logvar) has ∂z/∂μ = 1 and
∂z/∂logvar = ½·σ·ε = ½·(z − μ), where ε is recovered from the same call's z, so the student's
noise need not be known. A deterministic check, with a tolerance relative to the size of the terms;
the comparison is `graders.judge.reading.gradient_flaw` (the kit ships it), with the tolerances below.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

P_MIN = 1e-10  # the false-alarm rate of one test
MIN_CORRELATED_DIMS = 2  # independence between dimensions needs two of them
# How far a gradient may be from a reparameterised sample's: GRADIENT_RTOL of the term's size (1 for μ, σ for
# logvar), plus float32's rounding of z, which ε = (z − μ)/σ inherits (2^-20: 8 ulps of |z| + |μ|).
GRADIENT_RTOL = 1e-3
FLOAT32_ROUNDING = 2.0**-20


@dataclass(frozen=True)
class SampleTests:
    """The smallest p-value of each family of tests on one batch of draws."""

    mean: float
    spread: float
    correlation: float
    normality: float
    smallest_abs_correlation: float  # between any two dimensions: near 1 when one ε is shared

    def failed(self) -> tuple[str, ...]:
        """The families whose smallest p-value is below P_MIN, in the order above."""
        return tuple(name for name in ("mean", "spread", "correlation", "normality") if getattr(self, name) < P_MIN)


def sample_tests(z: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> SampleTests:
    """Run every test on z (n draws × d dimensions) against N(mu, diag(sigma²)); sigma > 0."""
    z = np.asarray(z, dtype=np.float64)
    n, d = z.shape
    mean_z = (z.mean(axis=0) - mu) / (sigma / np.sqrt(n))
    mean_p = 2 * stats.norm.sf(np.abs(mean_z))
    chi2 = (n - 1) * z.var(axis=0, ddof=1) / sigma**2
    spread_p = 2 * np.minimum(stats.chi2.sf(chi2, n - 1), stats.chi2.cdf(chi2, n - 1))
    normality_p = np.array([stats.kstest(z[:, k], "norm", args=(mu[k], sigma[k])).pvalue for k in range(d)])
    correlation_p, smallest_abs_r = _correlations(z)
    return SampleTests(
        mean=float(mean_p.min()),
        spread=float(spread_p.min()),
        correlation=correlation_p,
        normality=float(normality_p.min()),
        smallest_abs_correlation=smallest_abs_r,
    )


def _correlations(z: np.ndarray) -> tuple[float, float]:
    """The smallest p-value of the pairwise independence tests, and the smallest |r| of any pair."""
    n, d = z.shape
    if d < MIN_CORRELATED_DIMS:
        return 1.0, 0.0
    centred = z - z.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    if np.any(norms == 0):
        return 0.0, 1.0  # a constant column: no spread to correlate (the spread test says so)
    r = (centred.T @ centred) / np.outer(norms, norms)
    pairs = r[np.triu_indices(d, k=1)].clip(-1.0, 1.0)
    with np.errstate(divide="ignore"):
        t = pairs * np.sqrt((n - 2) / np.maximum(1 - pairs**2, 0.0))
    p = 2 * stats.t.sf(np.abs(t), n - 2)
    return float(p.min()), float(np.abs(pairs).min())


def per_case_test_count(dimensions: int) -> int:
    """How many tests one case runs: mean, spread and normality per dimension, and each pair."""
    return 3 * dimensions + dimensions * (dimensions - 1) // 2


def false_alarm_bound(dimensions_per_case: list[int]) -> float:
    """The chance that a correct implementation fails the check at all (union bound over every test)."""
    return P_MIN * sum(per_case_test_count(d) for d in dimensions_per_case)
