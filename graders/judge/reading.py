"""Reading a value a student's function returned, and deciding whether two values agree.

Self-contained on purpose (the standard library and numpy only), like graders/runtime/probe_runtime.py:
the grader's checks and every assignment's student kit (which ships this file verbatim, as
`reading.py` beside its check.py) read values with this one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class Unusable(Exception):
    """Wrong in form (shape, NaN) before any comparison: the check fails."""


class WrongType(Unusable):
    """Not a number or tensor at all: the check is an error."""


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    if type(value).__name__ == "Opaque":
        return f"a {value.type_name} ({value.text[:60]})"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    return f"a {type(value).__name__}"


def as_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(float(value))
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    raise WrongType(f"{what} should be a number or a tensor, but it is {describe(value)}")


def as_scalar(value: Any, what: str) -> np.ndarray:
    array = as_array(value, what)
    if array.size != 1:
        raise Unusable(f"{what} should be a single number (a 0-dim tensor), but it has shape {tuple(array.shape)}: sum over all elements")
    return array.reshape(())


def agree(actual: np.ndarray, expected: np.ndarray, tolerance: Sequence[float]) -> bool:
    """Same shape (a single number matches a single number of any shape) and close everywhere."""
    if actual.size == 1 and expected.size == 1:
        actual, expected = actual.reshape(()), expected.reshape(())
    elif actual.shape != expected.shape:
        return False
    return bool(np.all(np.isfinite(actual)) and np.allclose(actual, expected, rtol=tolerance[0], atol=tolerance[1]))


def as_predicted(actual: np.ndarray, predicted: np.ndarray, tolerance: Sequence[float]) -> bool:
    """Whether a diagnosis's story predicts a value: close where it predicts a number, the same infinity where it predicts one.

    `agree` never accepts a value that is not finite (a right answer is finite), but a story may predict one:
    a weight used as a divisor makes the loss infinite at weight 0. A predicted NaN explains nothing.
    """
    if actual.size == 1 and predicted.size == 1:
        actual, predicted = actual.reshape(()), predicted.reshape(())
    elif actual.shape != predicted.shape:
        return False
    infinite = np.isinf(predicted)
    return bool(np.array_equal(actual[infinite], predicted[infinite]) and agree(actual[~infinite], predicted[~infinite], tolerance))


def correct_on(count: int) -> str:
    """A value check's pass message, the same in the grader and the kit."""
    return "Correct on the input." if count == 1 else f"Correct on all {count} inputs."


def explain_difference(actual: np.ndarray, expected: np.ndarray) -> str:
    if (actual.size != 1 or expected.size != 1) and actual.shape != expected.shape:
        return f"it has shape {tuple(actual.shape)} where {tuple(expected.shape)} was expected"
    if np.any(np.isnan(actual)):
        return "it contains NaN"
    if np.any(np.isinf(actual)):
        return "it contains inf"
    if actual.size == 1:
        return f"it is {float(actual.reshape(())):.6g} where {float(expected.reshape(())):.6g} was expected"
    worst = np.unravel_index(np.argmax(np.abs(actual - expected)), expected.shape)
    return f"at index {tuple(int(i) for i in worst)} it is {actual[worst]:.6g} where {expected[worst]:.6g} was expected"
