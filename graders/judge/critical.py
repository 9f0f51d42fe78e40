"""The sampling tests' critical values (graders/judge/sampling.py), from scipy's distributions.

Apart from the tests themselves, which need numpy alone: the student kit ships those and gets these
numbers as data, so it needs no scipy. Two-sided where the test is, each at the false-alarm rate P_MIN.
"""

from __future__ import annotations

from functools import lru_cache

from scipy import stats

from graders.judge.sampling import P_MIN, CriticalValues


@lru_cache(maxsize=16)
def critical_values(n: int) -> CriticalValues:
    """The critical values for n draws."""
    return CriticalValues(
        mean=float(stats.norm.isf(P_MIN / 2)),
        spread=(float(stats.chi2.ppf(P_MIN / 2, n - 1)), float(stats.chi2.isf(P_MIN / 2, n - 1))),
        correlation=float(stats.t.isf(P_MIN / 2, n - 2)),
        normality=float(stats.kstwo.isf(P_MIN, n)),
    )
