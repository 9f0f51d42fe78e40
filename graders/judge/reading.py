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


def explain_difference(actual: np.ndarray, expected: np.ndarray, tolerance: Sequence[float]) -> str:
    """Where, by how much and in which direction the values differ from the expected ones (never what they should be in words)."""
    if (actual.size != 1 or expected.size != 1) and actual.shape != expected.shape:
        return f"it has shape {tuple(actual.shape)} where {tuple(expected.shape)} was expected"
    if np.any(np.isnan(actual)):
        return "it contains NaN"
    if np.any(np.isinf(actual)):
        return "it contains inf"
    if actual.size == 1:
        a, e = float(actual.reshape(())), float(expected.reshape(()))
        return f"it is {a:.6g} where {e:.6g} was expected{_direction(a, e)}"
    off = ~np.isclose(actual, expected, rtol=tolerance[0], atol=tolerance[1])
    worst = np.unravel_index(np.argmax(np.abs(actual - expected)), expected.shape)
    a, e = float(actual[worst]), float(expected[worst])
    said = (
        f"{int(off.sum())} of its {actual.size} values differ, the most at index {tuple(int(i) for i in worst)}: "
        f"{a:.6g} where {e:.6g} was expected{_direction(a, e)}"
    )
    if np.all(expected != 0):
        ratios = actual / expected
        if np.allclose(ratios, ratios.flat[0], rtol=1e-4, atol=0):
            said += f"; every value is {float(ratios.flat[0]):.4g} times the expected one"
    return said


_PERCENT_RANGE = (0.5, 2.0)  # ratios said as a percentage; beyond them as a factor


def _direction(actual: float, expected: float) -> str:
    if expected == 0:
        return ""
    if actual * expected < 0:
        return " (the opposite sign)"
    ratio = actual / expected
    if not _PERCENT_RANGE[0] <= ratio <= _PERCENT_RANGE[1]:  # far off: "0.000425 times that", not "100% too small"
        return f" ({ratio:.3g} times that)"
    relative = ratio - 1
    return f" ({100 * abs(relative):.3g}% too {'large' if relative > 0 else 'small'})"


def gradient_flaw(
    z: np.ndarray, mu: np.ndarray, sigma: np.ndarray, projection: np.ndarray, gradients: Sequence[object], rtol: float, rounding: float
) -> str | None:
    """How the gradients of sum(z · projection) with respect to (μ, logvar) differ from a reparameterised sample's.

    z = μ + σ·ε with σ = exp(½·logvar) has ∂z/∂μ = 1 and ∂z/∂logvar = ½·σ·ε = ½·(z − μ): ε comes from the
    same call's z, so the student's noise need not be known. Each may be off by `rtol` of its term's size
    (1 for μ, σ for logvar), logvar's also by `rounding` of |z| + |μ| (float32's rounding of z, which ε inherits).
    "no_gradient": none reaches either (a sample drawn outside autograd, detached, copied out);
    "gradient_to_mean_only": μ's is right and none reaches logvar (the noise's scale detached);
    "wrong_gradient": any other that is not right; None: both right. A gradient that is not an array reaches nothing.
    """
    gradient_mu, gradient_logvar = gradients if len(gradients) == 2 else (None, None)  # noqa: PLR2004 - μ and logvar
    logvar_slack = np.abs(projection) * (rtol * sigma + rounding * (np.abs(z) + np.abs(mu)))
    mu_right = _close(gradient_mu, projection, rtol * np.abs(projection))
    logvar_right = _close(gradient_logvar, 0.5 * (z - mu) * projection, logvar_slack)
    if mu_right and logvar_right:
        return None
    if not (_reaches(gradient_mu) or _reaches(gradient_logvar)):
        return "no_gradient"
    return "gradient_to_mean_only" if mu_right and not _reaches(gradient_logvar) else "wrong_gradient"


def _reaches(gradient: object) -> bool:
    """Some gradient arrived (torch.normal's all-zero gradient is none)."""
    return isinstance(gradient, np.ndarray) and gradient.dtype.kind == "f" and bool(np.any(gradient != 0))


def _close(gradient: object, target: np.ndarray, tolerance: np.ndarray) -> bool:
    if not isinstance(gradient, np.ndarray) or gradient.shape != target.shape or gradient.dtype.kind not in "fiu":
        return False
    return bool(np.all(np.abs(gradient.astype(np.float64) - target) <= tolerance))  # NaN is never close
