"""Observables: the numbers a check compares, computed from one function's probe values on one case.

The same observable is evaluated on the student's values, the reference's and every misconception
variant's, so a mistake is named without code of its own. A call that produced no value raises
`CallFailed`, whose message is safe to show the student: on a hidden input it never repeats what
the student's code said (an exception message can print its arguments, i.e. the hidden input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graders.judge.comparison import LOSS_TOLERANCE, Unusable, WrongType, as_array, as_scalar, describe, variance_from_sigma
from graders.judge.probes import CallError, Case, ProbeResults, call_id, safe_exception_name

Observable = Callable[[ProbeResults, Case], np.ndarray]


class CallFailed(Exception):
    """The student's function produced no value for a case: the check is an error, not a fail."""

    def __init__(self, message: str, error: CallError) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


def value_of(results: ProbeResults, cid: str, case: Case) -> Any:
    outcome = results.get(cid)
    if outcome.error is not None:
        raise CallFailed(call_error_message(case.function, outcome.error, public=case.public), outcome.error)
    return outcome.value


def call_error_message(function: str, error: CallError, *, public: bool = True) -> str:
    """Why a call gave no value, for the student; on a hidden input, nothing the student's code wrote."""
    if error.kind == "missing":
        return f"`{function}` is not defined in your notebook: check its name and that the cell defining it runs without error."
    if error.kind == "timeout":
        return f"`{function}` did not return within the time limit (an endless loop?)."
    if error.kind == "exception" and error.type == "NotImplementedError":  # the handout's stub, not yet replaced
        return f"`{function}` is not implemented yet: replace `raise NotImplementedError` in it by your code."
    if error.kind == "exception" and public:
        return f"`{function}` raised {error.type}: {error.message}"
    if error.kind == "exception":
        return f"`{function}` raised {safe_exception_name(error.type)} on a hidden input (its message is not shown: it could reveal the input)."
    if error.kind == "unencodable" and public:
        return f"`{function}` returned a value the grader cannot read ({error.message})."
    if error.kind in ("unencodable", "unreadable"):
        return f"`{function}` returned a value the grader cannot read."
    return f"`{function}` could not be called: {error.message}"


def redacted(value: Any, case: Case, what: str) -> Any:
    """On a hidden input, a value the grader cannot compare is described without its text."""
    if case.public:
        return value
    try:
        return as_array(value, what)
    except WrongType:
        raise WrongType(f"{what} should be a number or a tensor, but on a hidden input it is {describe_shape_only(value)}") from None


def describe_shape_only(value: Any) -> str:
    return describe(value) if isinstance(value, (np.ndarray, tuple)) else "a value of another type"


# ----------------------------------------------------------------------------- closed_form


def _pair(results: ProbeResults, case: Case) -> tuple[Any, Any]:
    value = value_of(results, call_id(case.function, case.name), case)
    if not isinstance(value, tuple) or len(value) != 2:
        shown = describe(value) if case.public else describe_shape_only(value)
        raise WrongType(f"closed_form must return the pair (mu, Sigma), but it returned {shown}.")
    return value


def closed_form_mu(results: ProbeResults, case: Case) -> np.ndarray:
    return as_array(redacted(_pair(results, case)[0], case, "mu"), "mu")


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
    return loss_at(results, case, 1.0) - loss_at(results, case, 0.0)


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
