"""Is a batch of draws z a sample of N(μ, diag(σ²))? Exact tests, each at a fixed false-alarm rate.

The reparameterisation check calls the student's function on n identical rows of (μ, logvar), so
each column of z should be n independent draws of N(μ_d, σ_d²). Four families of tests, every one
exact for normal data with the KNOWN μ and σ (no parameter is estimated, so no correction applies):

- mean:        z̄_d ~ N(μ_d, σ_d²/n)                              (normal)
- spread:      (n−1)·s_d²/σ_d² ~ χ²(n−1)                          (chi-square, both tails)
- correlation: r·√((n−2)/(1−r²)) ~ t(n−2) for each pair of columns (Student t, both tails)
- normality:   Kolmogorov–Smirnov distance to N(μ_d, σ_d²)         (exact KS distribution)

A sample fails a family when one of its statistics lies beyond the family's critical value at the
false-alarm rate `P_MIN` (a p-value below P_MIN, said without computing one). For a correct
implementation the chance of that is at most (number of tests) × P_MIN: with 4 dimensions, 18
tests per case, 36 for the two cases, under 4e-9 (`false_alarm_bound`; tests/judge/test_sampling.py
checks it and the calibration across seeds). A real bug is far past these bounds: a shared ε makes
r = 1, mu ± std fails the KS test, exp(logvar) as σ moves the spread by e^{±0.5}..e^{±1}.

The statistics and the decision need numpy alone, so the student kit ships this module verbatim and
judges draws with the grader's code; only the critical values need scipy's distributions
(graders/judge/critical.py): the grader computes them, the kit carries them as data.

A sample that passes must also be differentiable in its parameters the way a reparameterised
sample is (`gradient_flaw`): z = μ + σ·ε with σ = exp(½·logvar) has ∂z/∂μ = 1 and
∂z/∂logvar = ½·σ·ε = ½·(z − μ), where ε is recovered from the same call's z, so the student's
noise need not be known. A deterministic check, with a tolerance relative to the size of the terms;
the comparison is `graders.judge.reading.gradient_flaw`, with the tolerances below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

P_MIN = 1e-10  # the false-alarm rate of one test
MIN_CORRELATED_DIMS = 2  # independence between dimensions needs two of them
# How far a gradient may be from a reparameterised sample's: GRADIENT_RTOL of the term's size (1 for μ, σ for
# logvar), plus float32's rounding of z, which ε = (z − μ)/σ inherits (2^-20: 8 ulps of |z| + |μ|).
GRADIENT_RTOL = 1e-3
FLOAT32_ROUNDING = 2.0**-20
FAMILIES = ("mean", "spread", "correlation", "normality")


@dataclass(frozen=True)
class CriticalValues:
    """The statistics' bounds for n draws at P_MIN per test: beyond one of them, a family fails."""

    mean: float  # |z-score| of a column's mean
    spread: tuple[float, float]  # (n−1)·s²/σ² outside this interval
    correlation: float  # |t| of a pair's correlation
    normality: float  # Kolmogorov–Smirnov distance


@dataclass(frozen=True)
class SampleTests:
    """The most extreme statistic of each family of tests on one batch of draws."""

    mean: float  # the largest |z-score| of a column's mean
    spread: tuple[float, float]  # the smallest and the largest (n−1)·s²/σ²
    correlation: float  # the largest |t| of a pair (inf for r = ±1; 0 with one dimension)
    normality: float  # the largest KS distance of a column
    smallest_abs_correlation: float  # between any two dimensions: near 1 when one ε is shared

    def failed(self, critical: CriticalValues) -> tuple[str, ...]:
        """The families with a statistic beyond its critical value, in the order of `FAMILIES`."""
        beyond = {
            "mean": self.mean > critical.mean,
            "spread": self.spread[0] < critical.spread[0] or self.spread[1] > critical.spread[1],
            "correlation": self.correlation > critical.correlation,
            "normality": self.normality > critical.normality,
        }
        return tuple(family for family in FAMILIES if beyond[family])


def sample_tests(z: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> SampleTests:
    """Every statistic of z (n draws × d dimensions) against N(mu, diag(sigma²)); sigma > 0."""
    z = np.asarray(z, dtype=np.float64)
    n, d = z.shape
    chi2 = (n - 1) * z.var(axis=0, ddof=1) / sigma**2
    correlation, smallest_abs_r = _correlations(z)
    return SampleTests(
        mean=float(np.abs((z.mean(axis=0) - mu) / (sigma / np.sqrt(n))).max()),
        spread=(float(chi2.min()), float(chi2.max())),
        correlation=correlation,
        normality=max(_ks_distance(z[:, k], float(mu[k]), float(sigma[k])) for k in range(d)),
        smallest_abs_correlation=smallest_abs_r,
    )


def _correlations(z: np.ndarray) -> tuple[float, float]:
    """The largest |t| of the pairwise independence tests, and the smallest |r| of any pair."""
    n, d = z.shape
    if d < MIN_CORRELATED_DIMS:
        return 0.0, 0.0
    centred = z - z.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    if np.any(norms == 0):
        return math.inf, 1.0  # a constant column: no spread to correlate (the spread test says so)
    r = (centred.T @ centred) / np.outer(norms, norms)
    pairs = r[np.triu_indices(d, k=1)].clip(-1.0, 1.0)
    with np.errstate(divide="ignore"):
        t = np.abs(pairs) * np.sqrt((n - 2) / np.maximum(1 - pairs**2, 0.0))
    return float(t.max()), float(np.abs(pairs).min())


_normal_tail = np.frompyfunc(math.erfc, 1, 1)  # numpy has no erf; math's, element by element (n is a few thousand)


def _ks_distance(x: np.ndarray, mu: float, sigma: float) -> float:
    """The Kolmogorov–Smirnov distance of the draws to N(mu, σ²)."""
    cdf = 0.5 * np.asarray(_normal_tail(-(np.sort(x) - mu) / (sigma * math.sqrt(2.0))), dtype=np.float64)
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))


def per_case_test_count(dimensions: int) -> int:
    """How many tests one case runs: mean, spread and normality per dimension, and each pair."""
    return 3 * dimensions + dimensions * (dimensions - 1) // 2


def false_alarm_bound(dimensions_per_case: list[int]) -> float:
    """The chance that a correct implementation fails the check at all (union bound over every test)."""
    return P_MIN * sum(per_case_test_count(d) for d in dimensions_per_case)
