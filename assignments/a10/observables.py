"""Assignment 10's observables: the numbers its value checks compare, from one function's values on one case.

The same observable is evaluated on the student's values, the reference's and every misconception
variant's (graders.judge.values has the mechanism), so a mistake is named without code of its own.
The student kit ships this module verbatim: it states no right formula, only how values are read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graders.judge.comparison import Tolerance, Unusable, WrongType, as_array, as_scalar, describe
from graders.judge.probes import Case, ProbeResults, call_id
from graders.judge.values import describe_shape_only, redacted, value_of

MATRIX_DIMS = 2  # Σ given as the matrix Σ·I

# How close values must be (graders/judge/comparison.py says why a relative 1e-4 suits float32 work).
CLOSED_FORM_TOLERANCE = Tolerance(rtol=1e-4, atol=1e-5)
# Losses are sums over thousands of elements: the absolute slack scales with their size.
LOSS_TOLERANCE = Tolerance(rtol=1e-4, atol=1e-3)


# ----------------------------------------------------------------------------- closed_form


def _pair(results: ProbeResults, case: Case) -> tuple[Any, Any]:
    value = value_of(results, call_id(case.function, case.name), case)
    if not isinstance(value, tuple) or len(value) != len(("mu", "Sigma")):
        shown = describe(value) if case.public else describe_shape_only(value)
        raise WrongType(f"closed_form must return the pair (mu, Sigma), but it returned {shown}.")
    return value


def closed_form_mu(results: ProbeResults, case: Case) -> np.ndarray:
    return as_array(redacted(_pair(results, case)[0], case, "mu"), "mu")


def variance_from_sigma(value: Any, x0_shape: tuple[int, ...]) -> np.ndarray:
    """Σ as a number, a 0-dim tensor, a tensor shaped like x₀ with one value, or Σ·I → the number Σ."""
    array = as_array(value, "Sigma")
    if array.size == 1:
        return np.asarray(array.reshape(()))
    if array.shape == x0_shape and np.all(array == array.flat[0]):
        return np.asarray(array.reshape(-1)[0])
    total = int(np.prod(x0_shape)) if x0_shape else 1
    sizes = {total, x0_shape[-1] if x0_shape else 1} | ({total // x0_shape[0]} if len(x0_shape) > 1 else set())
    if array.ndim == MATRIX_DIMS and array.shape[0] == array.shape[1] and array.shape[0] in sizes:
        diagonal = np.diag(array)
        if np.all(diagonal == diagonal[0]) and np.count_nonzero(array - np.diag(diagonal)) == 0:
            return np.asarray(diagonal[0])
    raise Unusable(f"Sigma should be a single number (the variance) or the matrix Σ·I, but it is {describe(array)}")


def closed_form_sigma(results: ProbeResults, case: Case) -> np.ndarray:
    return variance_from_sigma(redacted(_pair(results, case)[1], case, "Sigma"), tuple(np.shape(case.args[0])))


# ----------------------------------------------------------------------------- vae_loss


def loss_at(results: ProbeResults, case: Case, weight: float) -> np.ndarray:
    what = f"vae_loss(…, kl_loss_weight={weight:g})"
    return as_scalar(redacted(value_of(results, call_id(case.function, case.name, weight), case), case, what), what)


def losses(results: ProbeResults, case: Case) -> np.ndarray:
    """The loss at every weight the case is called with: all a loss's values say."""
    return np.stack([loss_at(results, case, weight) for weight in case.weights])


def reconstruction_term(results: ProbeResults, case: Case) -> np.ndarray:
    return loss_at(results, case, 0.0)


def kl_term(results: ProbeResults, case: Case) -> np.ndarray:
    difference: np.ndarray = loss_at(results, case, 1.0) - loss_at(results, case, 0.0)
    return difference


def weighted_kl_terms(results: ProbeResults, case: Case) -> np.ndarray:
    """loss(w) − loss(0) at w = 0.5 and 30: w times the reference's KL when the loss is right (strict scoring)."""
    base = loss_at(results, case, 0.0)
    return np.stack([loss_at(results, case, weight) - base for weight in (0.5, 30.0)])


def weighted_by_own_kl(results: ProbeResults, case: Case) -> tuple[np.ndarray, np.ndarray]:
    """(loss(w), loss(0) + w·KL) at w = 0.5 and 30, where KL = loss(1) − loss(0) is the student's OWN KL term.

    Whether the weight is applied to the KL term, whatever that term computes: a wrong KL is the
    KL check's deduction, not this one's.
    """
    base, own_kl = loss_at(results, case, 0.0), kl_term(results, case)
    if abs(float(own_kl)) <= LOSS_TOLERANCE.atol:  # no KL term to weight: a weight that does nothing is consistent with it
        raise Unusable("The loss does not change with kl_loss_weight")
    weights = (0.5, 30.0)
    return np.stack([loss_at(results, case, w) for w in weights]), np.stack([base + w * own_kl for w in weights])
