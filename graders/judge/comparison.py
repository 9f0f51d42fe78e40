"""Comparison: turning decoded probe values into numbers and deciding whether two agree.

Tolerances are documented here and nowhere else. Students may compute in float32 or
float64; the reference computes in float64 from the same float32 inputs, so a relative
tolerance of 1e-4 leaves float32 round-off (≈1e-7 per operation) far inside it, while every
catalogued misconception moves values by far more than that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# What a value is and whether two agree: the module every student kit ships verbatim, so the grader
# and the kit read values with the same code (re-exported from here).
from graders.judge.reading import Unusable, WrongType, as_array, as_scalar, correct_on, describe, explain_difference
from graders.judge.reading import agree as close_enough

__all__ = [
    "Tolerance",
    "Unusable",
    "WrongType",
    "agree",
    "as_array",
    "as_scalar",
    "correct_on",
    "describe",
    "explain_difference",
]


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-4
    atol: float = 1e-5


def agree(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> bool:
    """Same shape (a single number matches a single number of any shape) and close everywhere."""
    return close_enough(actual, expected, (tolerance.rtol, tolerance.atol))
