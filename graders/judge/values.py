"""Values: what a check reads of a student's probe results, and why a call gave none.

An *observable* is computed from one function's values on one case; the same observable is evaluated
on the student's values, the reference's and every misconception variant's. A call that produced no
value raises `CallFailed`, whose message is safe to show the student: on a hidden input it never
repeats what the student's code said (an exception message can print its arguments, i.e. the hidden input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graders.judge.comparison import WrongType, as_array, describe
from graders.judge.probes import CallError, Case, ProbeResults, safe_exception_name

Observable = Callable[[ProbeResults, Case], np.ndarray]


# Not a GraderError: the student's failure, which the check kinds turn into the check's status; it never leaves them.
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


_NO_CALL = {
    "missing": "`{function}` is not defined in your notebook: check its name and that the cell defining it runs without error.",
    "timeout": "`{function}` did not return within the time limit (an endless loop?).",
}


def call_error_message(function: str, error: CallError, *, public: bool = True) -> str:
    """Why a call gave no value, for the student; on a hidden input, nothing the student's code wrote."""
    if error.kind in _NO_CALL:
        return _NO_CALL[error.kind].format(function=function)
    if error.kind == "exception":
        return _raised_message(function, error, public=public)
    if error.kind in ("unencodable", "unreadable"):
        detail = f" ({error.message})" if public and error.kind == "unencodable" else ""
        return f"`{function}` returned a value the grader cannot read{detail}."
    return f"`{function}` could not be called: {error.message}"


def _raised_message(function: str, error: CallError, *, public: bool) -> str:
    if error.type == "NotImplementedError":  # the handout's stub, not yet replaced
        return f"`{function}` is not implemented yet: replace `raise NotImplementedError` in it by your code."
    if public:
        return f"`{function}` raised {error.type}: {error.message}"
    return f"`{function}` raised {safe_exception_name(error.type)} on a hidden input (its message is not shown: it could reveal the input)."


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
