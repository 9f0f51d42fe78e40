"""Assignment 11's observables: the numbers its value checks compare, from one function's values on one case.

The same observable is evaluated on the student's values, the reference's and every variant's
(graders.judge.values has the mechanism). Two choices are this assignment's:

- a query row whose mask allows no key reads as zeros when the student returned zeros or the plain
  average of v there (what `masked_fill(-1e9)` gives): both are a careful answer; NaN is not;
- diagnosis reads NaN as inf (`nan_as_inf`): an overflowing softmax's NaN is what its mistake predicts,
  and the harness's diagnosis explains a predicted infinity, never a predicted NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from graders.judge.comparison import Tolerance, as_array
from graders.judge.probes import Case, ProbeResults, call_id
from graders.judge.values import Observable, redacted, value_of

# float32 work against a float32 reference: relative 1e-4 leaves round-off far inside it
# (graders/judge/comparison.py); every catalogued mistake moves values by far more.
TOLERANCE = Tolerance(rtol=1e-4, atol=1e-5)
EXACT = Tolerance(rtol=0.0, atol=0.0)  # a mask's booleans
_NOTHING = np.zeros(0)  # a case a check does not look at: agrees with itself


def values(results: ProbeResults, case: Case) -> np.ndarray:
    """The function's value on the case, as float64 (booleans as 0 and 1)."""
    what = f"{case.function}(…)"
    return as_array(redacted(value_of(results, call_id(case.function, case.name), case), case, what), what)


def _mask_of(case: Case) -> np.ndarray | None:
    return case.args[3] if len(case.args) > len(("q", "k", "v")) else None


def unmasked_output(results: ProbeResults, case: Case) -> np.ndarray:
    """Attention's output on the inputs without a mask (nothing on the others)."""
    return values(results, case) if _mask_of(case) is None else _NOTHING


def masked_output(results: ProbeResults, case: Case) -> np.ndarray:
    """Attention's output on the inputs with a mask; a query row with no allowed key as zeros when it is
    zeros or the average of v (nothing on the inputs without a mask)."""
    if (mask := _mask_of(case)) is None:
        return _NOTHING
    output = values(results, case)
    q, k, v = case.args[:3]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], mask.shape[:-2])
    if output.shape != (*batch, q.shape[-2], v.shape[-1]):
        return output  # the wrong shape: compared as it is, and told so
    empty = ~np.broadcast_to(mask, (*batch, q.shape[-2], k.shape[-2])).any(axis=-1)
    average = np.broadcast_to(v.astype(np.float64).mean(axis=-2, keepdims=True), output.shape)
    close = (np.isclose(output, 0.0, TOLERANCE.rtol, TOLERANCE.atol), np.isclose(output, average, TOLERANCE.rtol, TOLERANCE.atol))
    accepted = empty & (close[0].all(axis=-1) | close[1].all(axis=-1))
    return np.where(accepted[..., None], 0.0, output)


def nan_as_inf(observable: Observable) -> Observable:
    """The observable with NaN read as inf: diagnosis matches a predicted infinity exactly (graders/judge/reading.as_predicted)."""

    def read(results: ProbeResults, case: Case) -> np.ndarray:
        value = observable(results, case)
        return np.where(np.isnan(value), np.inf, value)

    read.__name__ = read.__qualname__ = f"{getattr(observable, '__name__', 'observable')}_nan_as_inf"
    return read


# Named here, as the student kit finds an observable: by its name in this module.
values_nan_as_inf = nan_as_inf(values)
unmasked_output_nan_as_inf = nan_as_inf(unmasked_output)
masked_output_nan_as_inf = nan_as_inf(masked_output)

WHOLE: dict[str, tuple[Callable[[ProbeResults, Case], np.ndarray], ...]] = {
    "softmax": (values_nan_as_inf,),
    "causal_mask": (values,),
    "scaled_dot_product_attention": (unmasked_output_nan_as_inf, masked_output_nan_as_inf),
    "layer_norm": (values,),
}
