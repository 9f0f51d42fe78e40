"""Comparison: turning decoded probe values into numbers and deciding whether two agree.

Tolerances are documented here and nowhere else. Students may compute in float32 or
float64; the reference computes in float64 from the same float32 inputs, so a relative
tolerance of 1e-4 leaves float32 round-off (≈1e-7 per operation) far inside it, while every
catalogued misconception moves values by far more than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from graders.assignment.probe_runtime import Opaque


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-4
    atol: float = 1e-5


CLOSED_FORM_TOLERANCE = Tolerance(rtol=1e-4, atol=1e-5)
# Losses are sums over thousands of elements: the absolute slack scales with their size.
LOSS_TOLERANCE = Tolerance(rtol=1e-4, atol=1e-3)


class Unusable(Exception):
    """A returned value that is wrong in form (shape, NaN) before any comparison: a `fail`."""


class WrongType(Unusable):
    """A returned value of a type that cannot be evaluated at all (a string, None, a model): an `error`."""


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    if isinstance(value, Opaque):
        return f"a {value.type_name} ({value.text[:60]})"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    return f"a {type(value).__name__}"


def as_array(value: Any, what: str) -> np.ndarray:
    """A tensor, array, int or float as a float64 array; anything else is unusable."""
    if isinstance(value, (bool, tuple, Opaque)) or value is None:
        raise WrongType(f"{what} should be a number or a tensor, but it is {describe(value)}")
    if isinstance(value, (int, float)):
        return np.asarray(float(value))
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    raise WrongType(f"{what} should be a number or a tensor, but it is {describe(value)}")


def as_scalar(value: Any, what: str) -> np.ndarray:
    array = as_array(value, what)
    if array.size != 1:
        raise Unusable(f"{what} should be a single number (a 0-dim tensor), but it has shape {tuple(array.shape)}: sum over all elements")
    return array.reshape(())


def variance_from_sigma(value: Any, x0_shape: tuple[int, ...]) -> np.ndarray:
    """Σ given as a number, a 0-dim tensor, a tensor shaped like x₀, or the matrix Σ·I → the number Σ."""
    array = as_array(value, "Sigma")
    if array.size == 1:
        return array.reshape(())
    if array.shape == x0_shape and np.all(array == array.flat[0]):
        return array.reshape(-1)[0]
    if array.ndim == 2 and array.shape[0] == array.shape[1] and array.shape[0] in _identity_sizes(x0_shape):
        diagonal = np.diag(array)
        if np.all(diagonal == diagonal[0]) and np.count_nonzero(array - np.diag(diagonal)) == 0:
            return np.asarray(diagonal[0])
    raise Unusable(f"Sigma should be the variance 1 − ᾱ_t (a number) or the matrix Σ·I, but it is {describe(array)}")


def _identity_sizes(x0_shape: tuple[int, ...]) -> set[int]:
    """The sizes of I a student may reasonably build: all of x₀, one sample of it, its last axis."""
    total = int(np.prod(x0_shape)) if x0_shape else 1
    sizes = {total, x0_shape[-1] if x0_shape else 1}
    if len(x0_shape) > 1:
        sizes.add(total // x0_shape[0])
    return sizes


def agree(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> bool:
    """Same shape (a single number matches a single number of any shape) and close everywhere."""
    if actual.size == 1 and expected.size == 1:
        actual, expected = actual.reshape(()), expected.reshape(())
    elif actual.shape != expected.shape:
        return False
    if not np.all(np.isfinite(actual)):
        return False
    return bool(np.allclose(actual, expected, rtol=tolerance.rtol, atol=tolerance.atol))


def explain_difference(actual: np.ndarray, expected: np.ndarray) -> str:
    """One sentence on how a value differs: shape, NaN/inf, or size of the error."""
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
