"""Self-check for Assignment 10: your functions on the public inputs, judged like the grader does.

    python check.py NOTEBOOK            # from a terminal: runs the notebook's code cells, then checks
    from check import check; check()    # from inside the notebook: checks the functions you defined
    check("closed_form")                # one part: closed_form, derivation, vae_loss, reparameterize

The functions are called by the grader's own probe runtime (`probe_runtime.py` beside this file),
with the same inputs, seeds and time limits. What is checked and the misconceptions named are the
grader's: they come as data (`kit_data.json`, written by `grader kit`) with the reference's and each
known mistake's values on the public inputs. A message says how your values differ and which known
mistake they match (as much as the assignment's hint level allows), never the right formula. The
hidden inputs, the derivation's verdict and the training experiment are graded after you submit.

From a terminal, the notebook runs as the grader runs it: in an IPython shell (magics and `!` lines
run, as in Jupyter), the kit's own check cells emptied, and `check` importing the stub the grader
gives every notebook (`CHECK_STUB`), so `from check import check` anywhere is harmless. A check
cell that defines something the notebook needs is named in a warning: the grader will not see it.

This file imports only the standard library, numpy, torch, nbformat and IPython (with traitlets, its
configuration), nothing of the grader; IPython only to run cells. The grader imports it in turn: how
values are read and compared (graders/judge/comparison.py re-exports that part), the table `grader
check` prints, the kit cell tag, the check stub. Where it re-implements a grader rule (observables, the
per-mistake diagnosis, the sampling tests as critical values, the derivation's readability), tests/kit/
pins its agreement with the grader.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import symtable
import sys
import tempfile
import textwrap
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

KIT_DIR = Path(__file__).resolve().parent
DATA_FILE = "kit_data.json"
# The grader's own modules this file uses, beside it in the kit and in the grader's package alike.
RUNTIME_FILE = "probe_runtime.py"
ANSWER_LINES_FILE = "answer_lines.py"
READING_FILE = "reading.py"
TAGS_FILE = "tags.py"
MATRIX_DIMS = 2  # Σ given as the matrix Σ·I
MIN_CORRELATED_DIMS = 2  # independence between dimensions needs two of them
_STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}
UNSCORED = "checked at grading"  # a derivation's row: readable or not here, right or wrong after submission


# ----------------------------------------------------------------------------- the kit's files


def kit_hash(kit_dir: Path = KIT_DIR) -> str:
    """The kit's content hash: the checker, the runtime and the data (not the notebook, which students edit)."""
    content = hashlib.sha256()
    for name in ("check.py", RUNTIME_FILE, READING_FILE, TAGS_FILE, ANSWER_LINES_FILE, DATA_FILE):
        content.update(name.encode() + b"\0" + (kit_dir / name).read_bytes())
    return content.hexdigest()[:12]


def load_data(kit_dir: Path = KIT_DIR) -> dict[str, Any]:
    return dict(json.loads((kit_dir / DATA_FILE).read_text(encoding="utf-8")))


# Where the kit's companion files live in the grader's packages (this file is assignments/a10/kit_check.py there).
_IN_THE_GRADER = {
    RUNTIME_FILE: "graders.runtime.probe_runtime",
    READING_FILE: "graders.judge.reading",
    TAGS_FILE: "graders.tags",
    ANSWER_LINES_FILE: "assignments.a10.answer_lines",
}


def probe_runtime() -> ModuleType:
    """The grader's probe runtime: calls the functions, with its time limits, seeds and codec."""
    return _beside(RUNTIME_FILE)


def answer_lines() -> ModuleType:
    """The grader's reader of the derivation's answer lines."""
    return _beside(ANSWER_LINES_FILE)


def _beside(file_name: str) -> ModuleType:
    """A module loaded from its file beside this one (no package needed); in the grader, the same module from its package."""
    if __package__:
        return importlib.import_module(_IN_THE_GRADER[file_name])
    name = f"a10_kit_{file_name.removesuffix('.py')}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, KIT_DIR / file_name)
        if spec is None or spec.loader is None:
            raise ImportError(f"the kit's {file_name} is missing beside check.py: unpack the whole kit")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def array_from(doc: Mapping[str, Any]) -> np.ndarray:
    """`{"dtype", "shape", "values"}` → numpy array (the kit stores numbers, not encoded bytes)."""
    array: np.ndarray = np.asarray(doc["values"], dtype=np.dtype(doc["dtype"])).reshape(doc["shape"])
    return array


# ----------------------------------------------------------------------------- calling the functions


@dataclass(frozen=True)
class Call:
    """What one call gave, decoded as the grader decodes it."""

    value: Any = None
    failure: str = ""  # why there is no value, in the grader's words ("" when there is one)
    reshaped_x: str = ""  # the value came from a retry with x flattened: why the handout's shapes failed
    gradients: tuple[Any, ...] = ()  # a gradient call's: an array per argument it named, an Opaque None where none reached it


def call_error_message(function: str, error: Mapping[str, Any]) -> str:
    """The grader's words for a call without a value on a public input (assignments/a10/observables.py)."""
    kind, kind_of_exception = error.get("kind"), str(error.get("type", ""))
    if kind == "missing":
        return f"`{function}` is not defined in your notebook: check its name and that the cell defining it runs without error."
    if kind == "timeout":
        return f"`{function}` did not return within the time limit (an endless loop?)."
    if kind == "exception" and kind_of_exception == "NotImplementedError":
        return f"`{function}` is not implemented yet: replace `raise NotImplementedError` in it by your code."
    if kind == "exception":
        return f"`{function}` raised {kind_of_exception}: {error.get('message', '')}"
    if kind == "unencodable":
        return f"`{function}` returned a value the grader cannot read ({error.get('message', '')})."
    if kind == "unreadable":
        return f"`{function}` returned a value the grader cannot read."
    return f"`{function}` could not be called: {error.get('message', '')}"


def call_all(namespace: Mapping[str, Any], data: Mapping[str, Any], functions: set[str]) -> dict[str, Call]:
    """Every public call of `functions`, through the grader's runtime, decoded within the grader's limits."""
    runtime = probe_runtime()
    request = dict(data["request"])
    request["calls"] = [call for call in request["calls"] if call["function"] in functions]
    raw = runtime.run_probes(namespace, request)["calls"]
    calls = {}
    for call in request["calls"]:
        outcome, name = raw[call["id"]], call["function"]
        if not outcome["ok"]:
            calls[call["id"]] = Call(failure=call_error_message(name, outcome["error"]))
            continue
        try:
            limit = data["value_limits"][call["id"]]
            if "gradients" in outcome:  # a gradient call's value and gradients within one budget, as the grader decodes them
                value, gradients = runtime.decode({"kind": "sequence", "items": [outcome["value"], outcome["gradients"]]}, limit)
            else:
                value, gradients = runtime.decode(outcome["value"], limit), ()
        except runtime.DecodeRefused as refused:
            calls[call["id"]] = Call(failure=call_error_message(name, {"kind": "unreadable", "message": str(refused)}))
            continue
        if not isinstance(gradients, tuple):
            calls[call["id"]] = Call(failure=call_error_message(name, {"kind": "unreadable", "message": "gradients: not a sequence"}))
            continue
        reshaped = outcome.get("reshaped_x")
        calls[call["id"]] = Call(value=value, reshaped_x=call_error_message(name, reshaped) if reshaped else "", gradients=gradients)
    return calls


# ----------------------------------------------------------------------------- values: how the grader reads them too (graders/judge/comparison.py)


# The grader's reading of values (graders/judge/reading.py, beside this file in the kit as reading.py).
# The marks the grader puts on notebooks and finds in them (graders/tags.py, beside this file in the kit as
# tags.py): the kit's check cells (blanked before grading), the `check` stub a graded notebook imports (also
# while `python check.py NOTEBOOK` runs its cells), the kit's output type, the grader's probe cell.
tags = _beside(TAGS_FILE)
KIT_CELL_TAG: str = tags.KIT_CELL_TAG
CHECK_STUB: str = tags.CHECK_STUB
CHECK_MODULE: str = tags.CHECK_MODULE
KIT_MIME: str = tags.KIT_MIME
PROBE_TAG: str = tags.PROBE_TAG
named_assignment: Callable[[Mapping[str, Any]], str | None] = tags.named_assignment

# Loaded from a file, the module is untyped: its functions are named here with their types.
reading = _beside(READING_FILE)
Unusable: type[Exception] = reading.Unusable
WrongType: type[Exception] = reading.WrongType
describe: Callable[[Any], str] = reading.describe
as_array: Callable[[Any, str], np.ndarray] = reading.as_array
as_scalar: Callable[[Any, str], np.ndarray] = reading.as_scalar
agree: Callable[[np.ndarray, np.ndarray, Sequence[float]], bool] = reading.agree
as_predicted: Callable[[np.ndarray, np.ndarray, Sequence[float]], bool] = reading.as_predicted
correct_on: Callable[[int], str] = reading.correct_on
explain_difference: Callable[[np.ndarray, np.ndarray], str] = reading.explain_difference
gradient_flaw: Callable[..., str | None] = reading.gradient_flaw


class CallFailed(Exception):
    """The function gave no value (missing, raised, too slow): the check is an error."""


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


# ----------------------------------------------------------------------------- observables (assignments/a10/observables.py)


def _value(calls: Mapping[str, Call], cid: str) -> Any:
    call = calls[cid]
    if call.failure:
        raise CallFailed(call.failure)
    return call.value


def _pair(calls: Mapping[str, Call], case: str) -> tuple[Any, Any]:
    value = _value(calls, f"closed_form/{case}")
    if not isinstance(value, tuple) or len(value) != len(("mu", "Sigma")):
        raise WrongType(f"closed_form must return the pair (mu, Sigma), but it returned {describe(value)}.")
    return value


def _loss(calls: Mapping[str, Call], case: str, weight: float) -> np.ndarray:
    what = f"vae_loss(…, kl_loss_weight={weight:g})"
    loss: np.ndarray = as_scalar(_value(calls, f"vae_loss/{case}/w={weight:g}"), what)
    return loss


def _weighted_by_own_kl(calls: Mapping[str, Call], case: str, data: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    base, own_kl = _loss(calls, case, 0.0), _loss(calls, case, 1.0) - _loss(calls, case, 0.0)
    if abs(float(own_kl)) <= data["loss_atol"]:
        raise Unusable("The loss does not change with kl_loss_weight")
    weights = (0.5, 30.0)
    return np.stack([_loss(calls, case, w) for w in weights]), np.stack([base + w * own_kl for w in weights])


# (calls, case, kit data) → the number the check compares; by the grader's function names.
Observable = Callable[[Mapping[str, Call], str, Mapping[str, Any]], np.ndarray]
OBSERVABLES: dict[str, Observable] = {
    "closed_form_mu": lambda calls, case, data: as_array(_pair(calls, case)[0], "mu"),
    "closed_form_sigma": lambda calls, case, data: variance_from_sigma(_pair(calls, case)[1], tuple(data["x0_shapes"][case])),
    "losses": lambda calls, case, data: np.stack([_loss(calls, case, w) for w in data["vae_weights"]]),
    "reconstruction_term": lambda calls, case, data: _loss(calls, case, 0.0),
    "kl_term": lambda calls, case, data: _loss(calls, case, 1.0) - _loss(calls, case, 0.0),
    "weighted_kl_terms": lambda calls, case, data: np.stack([_loss(calls, case, w) - _loss(calls, case, 0.0) for w in (0.5, 30.0)]),
}
# What each observable is, in the kit's words: where values differ, never what they should be.
OBSERVED: dict[str, str] = {
    "closed_form_mu": "μ",
    "closed_form_sigma": "Σ",
    "losses": "The loss",
    "reconstruction_term": "The loss at kl_loss_weight=0",
    "kl_term": "loss(w=1) − loss(w=0)",
    "weighted_kl_terms": "loss(w) − loss(0) at w = 0.5 and 30",
    "weighted_by_own_kl": "loss(w) at w = 0.5 and 30, against loss(0) + w·(loss(1) − loss(0)) from your own values,",
}
# (what the student's values give, what they should give), judged on the student's own values.
CONSISTENCIES: dict[str, Callable[[Mapping[str, Call], str, Mapping[str, Any]], tuple[np.ndarray, np.ndarray]]] = {
    "weighted_by_own_kl": _weighted_by_own_kl,
}


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    id: str
    status: str  # "pass" | "fail" | "error"
    points: float
    message: str
    misconceptions: tuple[str, ...] = ()
    scored: bool = True  # False: only read here (a derivation), its points are the grader's to give

    @property
    def score(self) -> float:
        return self.points if self.status == "pass" and self.scored else 0.0


def _verdict(spec: Mapping[str, Any], status: str, message: str, names: Sequence[str] = ()) -> Verdict:
    return Verdict(spec["id"], status, spec["points"], message, tuple(names), scored=spec["kind"] != "derivation")


# ----------------------------------------------------------------------------- what a message may say (the assignment's hint level)


def named(names: Sequence[str], data: Mapping[str, Any]) -> tuple[str, ...]:
    """The mistakes a verdict names: none when the kit gives values only."""
    return tuple(names) if data["hints"] != "values" else ()


def about_mistakes(names: Sequence[str], data: Mapping[str, Any]) -> str:
    """What the kit says of the catalogued mistakes the values match, at the assignment's hint level (never the right formula)."""
    if data["hints"] == "values":
        return ""
    if not names:
        return " This matches no mistake the grader knows."
    words = [data["mistakes"][name] for name in names]
    said = " ".join(f"{w['title']}." + (f" {w['hint']}" if w.get("hint") else "") for w in words)
    return f" This matches a known mistake: {said}"


def how_values_differ(actual: np.ndarray, expected: np.ndarray, tolerance: Sequence[float]) -> str:
    """Where, by how much and in which direction the values differ from the grader's."""
    if ((actual.size != 1 or expected.size != 1) and actual.shape != expected.shape) or not np.all(np.isfinite(actual)):
        return explain_difference(actual, expected)  # shape, NaN, inf: the grader's own words
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


def _direction(actual: float, expected: float) -> str:
    if expected == 0:
        return ""
    if actual * expected < 0:
        return " (the opposite sign)"
    relative = (actual - expected) / abs(expected)
    return f" ({100 * abs(relative):.3g}% too {'large' if relative > 0 else 'small'})"


def diagnose(function: str, calls: Mapping[str, Call], data: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The catalogued mistakes that explain all of a function's public values (assignments/a10/diagnosis.py), or None.

    The kit has one public case per function (`grader kit` refuses others), so a call without a value
    leaves nothing to diagnose, and the first (smallest) story that fits all values is the one.
    """
    whole = data["diagnosis"][function]
    (case,) = whole["cases"]
    try:
        values = [OBSERVABLES[name](calls, case, data) for name in whole["observables"]]
    except (CallFailed, Unusable):
        return None
    reshaped = any(call.reshaped_x for cid, call in calls.items() if cid.startswith(f"{function}/{case}"))
    for story in whole["stories"]:
        if all(as_predicted(v, array_from(doc), whole["tolerance"]) for v, doc in zip(values, story["values"], strict=True)):
            flags = set(story["flags"]) | ({"loss_expects_flat_x"} if reshaped else set())
            return tuple(name for name in data["catalog"] if name in flags)
    return None


def judge_value(spec: Mapping[str, Any], calls: Mapping[str, Call], data: Mapping[str, Any], story: tuple[str, ...] | None) -> Verdict:
    """A value check under per-mistake scoring (assignments/a10/checks.py, ValueCheck)."""
    if story:
        charged = [name for name in story if data["deductions"][name] == spec["id"]]
        if not charged:
            elsewhere = [name for name in story if data["deductions"][name] != spec["id"]]
            titles = "; ".join(data["mistakes"][name]["title"] for name in named(elsewhere, data))
            under = ", ".join(sorted({data["deductions"][name] for name in elsewhere}))
            counted, each = ("one mistake", "which is") if len(elsewhere) == 1 else (f"{len(elsewhere)} mistakes", "each")
            return _verdict(
                spec,
                "pass",
                f"Right, given your values: they are explained by {counted}{f' ({titles})' if titles else ''}, "
                f"{each} deducted once, under {under}.",
            )
        message = _charged_message(spec, calls, data, charged)
        if message is not None:
            return _verdict(spec, "fail", message, named(charged, data))
    return _judge_on_its_own(spec, calls, data)


def _charged_message(spec: Mapping[str, Any], calls: Mapping[str, Call], data: Mapping[str, Any], charged: Sequence[str]) -> str | None:
    (case,) = spec["reference"]
    student, expected = OBSERVABLES[spec["observable"]](calls, case, data), array_from(spec["reference"][case])
    if not agree(student, expected, spec["tolerance"]):
        return _differs(spec["observable"], student, expected, spec["tolerance"]) + about_mistakes(charged, data)
    why = next((call.reshaped_x for cid, call in calls.items() if cid.startswith(f"{spec['function']}/{case}") and call.reshaped_x), "")
    if not why:
        return None
    return (
        f"Your loss gives the right values once x is flattened, but not with the shapes the handout passes. {why}".strip()
        + about_mistakes(charged, data)
    )


def _differs(observable: str, student: np.ndarray, expected: np.ndarray, tolerance: Sequence[float]) -> str:
    return f"{OBSERVED[observable]} on the public input: {how_values_differ(student, expected, tolerance)}."


def _judge_on_its_own(spec: Mapping[str, Any], calls: Mapping[str, Call], data: Mapping[str, Any]) -> Verdict:
    (case,) = spec["reference"]
    own = CONSISTENCIES.get(spec["consistency"] or "")
    try:
        if own:
            student, expected = own(calls, case, data)
        else:
            student, expected = OBSERVABLES[spec["observable"]](calls, case, data), array_from(spec["reference"][case])
    except CallFailed as failure:
        return _verdict(spec, "error", str(failure))
    except WrongType as wrong_type:
        return _verdict(spec, "error", str(wrong_type))
    except Unusable as unusable:
        return _verdict(spec, "fail", f"{unusable}.")
    if agree(student, expected, spec["tolerance"]):
        return _verdict(spec, "pass", correct_on(1))
    variants = () if own else spec["variants"]
    names = next((v["misconceptions"] for v in variants if agree(student, array_from(v["values"][case]), spec["tolerance"])), ())
    message = _differs(spec["consistency"] or spec["observable"], student, expected, spec["tolerance"]) + about_mistakes(names, data)
    return _verdict(spec, "fail", message, named(names, data))


# ----------------------------------------------------------------------------- reparameterisation (graders/judge/sampling.py)


def failed_sample_tests(z: np.ndarray, mu: np.ndarray, sigma: np.ndarray, critical: Mapping[str, Any]) -> tuple[tuple[str, ...], float]:
    """The grader's exact tests of N(mu, σ²) as statistics beyond critical values computed from its false-alarm rate:
    (the families that fail, in the grader's order; the smallest |correlation| of two dimensions)."""
    n, d = z.shape
    failed = []
    if np.any(np.abs((z.mean(axis=0) - mu) / (sigma / np.sqrt(n))) > critical["mean"]):
        failed.append("mean")
    chi2 = (n - 1) * z.var(axis=0, ddof=1) / sigma**2
    if np.any((chi2 < critical["spread"][0]) | (chi2 > critical["spread"][1])):
        failed.append("spread")
    correlated, smallest = _correlated(z, critical["correlation"])
    if correlated:
        failed.append("correlation")
    if max(_ks_distance(z[:, k], mu[k], sigma[k]) for k in range(d)) > critical["normality"]:
        failed.append("normality")
    return tuple(failed), smallest


def _correlated(z: np.ndarray, critical_t: float) -> tuple[bool, float]:
    n, d = z.shape
    if d < MIN_CORRELATED_DIMS:
        return False, 0.0
    centred = z - z.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    if np.any(norms == 0):
        return True, 1.0
    pairs = ((centred.T @ centred) / np.outer(norms, norms))[np.triu_indices(d, k=1)].clip(-1.0, 1.0)
    with np.errstate(divide="ignore"):
        t = pairs * np.sqrt((n - 2) / np.maximum(1 - pairs**2, 0.0))
    return bool(np.any(np.abs(t) > critical_t)), float(np.abs(pairs).min())


def _ks_distance(x: np.ndarray, mu: float, sigma: float) -> float:
    """The Kolmogorov–Smirnov distance of the draws to N(mu, σ²)."""
    cdf = np.array([0.5 * math.erfc(-(v - mu) / (sigma * math.sqrt(2.0))) for v in np.sort(x)])
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))


def _draws(calls: Mapping[str, Call], cid: str, shape: tuple[int, ...]) -> np.ndarray:
    z = as_array(_value(calls, cid), "z")
    if z.shape != shape:
        raise Unusable(f"z should have the shape of mu {shape}, but it has shape {tuple(z.shape)}.")
    if not np.all(np.isfinite(z)):
        raise Unusable("z contains NaN or inf.")
    return z


def sampling_finding(z: np.ndarray, again: np.ndarray, mu: np.ndarray, logvar: np.ndarray, critical: Mapping[str, Any]) -> str | None:
    """Which of the grader's findings describes the draws (a key of its SAMPLING_FINDINGS), None for a fresh sample."""
    if np.all(z == z[:1]):  # every row alike, as the rows' mu and logvar are: no noise, or one draw for the whole batch
        return "constant" if np.array_equal(z, again) else "same_for_every_row"
    failed, smallest = failed_sample_tests(z, mu, np.exp(0.5 * logvar), critical)
    if np.array_equal(z, again):
        return "repeated_and_wrong" if failed else "repeated"
    if not failed:
        return None
    if failed == ("correlation",) or ("correlation" in failed and smallest > critical["perfect_correlation"]):
        return "perfectly_correlated" if smallest > critical["perfect_correlation"] else "correlated"
    if not failed_sample_tests(z, mu, np.exp(logvar), critical)[0]:
        return "variance_as_std"
    if "mean" in failed:
        return "mean"
    return "spread" if "spread" in failed else "normality"


def _gradient_finding(calls: Mapping[str, Call], case: str, c: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """The gradient call's finding on one case, None when the request makes none for it."""
    cid = f"reparameterize/{case}/gradient"
    request = next((call for call in data["request"]["calls"] if call["id"] == cid and call.get("gradient")), None)
    if request is None:
        return None
    z = _draws(calls, cid, tuple(c["shape"])).astype(np.float64)
    projection = np.asarray(probe_runtime().decode(request["gradient"]["projection"], z.size), dtype=np.float64)
    mu, logvar = (np.broadcast_to(np.asarray(c[key], dtype=np.float64), z.shape) for key in ("mu", "logvar"))
    tolerance = data["sampling"]["gradient_tolerance"]
    return gradient_flaw(z, mu, np.exp(0.5 * logvar), projection, calls[cid].gradients, tolerance["rtol"], tolerance["float32_rounding"])


def judge_reparameterize(spec: Mapping[str, Any], calls: Mapping[str, Call], data: Mapping[str, Any]) -> Verdict:
    try:
        draws = {
            case: (
                _draws(calls, f"reparameterize/{case}", tuple(c["shape"])),
                _draws(calls, f"reparameterize/{case}/again", tuple(c["shape"])),
            )
            for case, c in spec["cases"].items()
        }
        gradients = {case: _gradient_finding(calls, case, c, data) for case, c in spec["cases"].items()}
    except CallFailed as failure:
        return _verdict(spec, "error", str(failure))
    except WrongType as wrong_type:
        return _verdict(spec, "error", str(wrong_type))
    except Unusable as unusable:
        return _verdict(spec, "fail", str(unusable))
    # The draws first; a gradient is judged only on a sampler that draws right, as the grader does.
    findings = [
        sampling_finding(*draws[case], np.asarray(c["mu"]), np.asarray(c["logvar"]), data["sampling"]) or gradients[case]
        for case, c in spec["cases"].items()
    ]
    failing = [finding for finding in findings if finding is not None]
    if not failing:
        return _verdict(spec, "pass", data["sampling"]["pass"])
    names = {data["sampling"]["findings"][finding][1] for finding in failing}
    matched = [name for name in data["catalog"] if name in names] if len(names) == 1 else []
    message = data["sampling"]["findings"][failing[0]][0] + (about_mistakes(matched, data) if matched else "")
    return _verdict(spec, "fail", message, named(matched, data))


# ----------------------------------------------------------------------------- the written answers (form only)

_SYMBOLS = {"mu": ("μ", r"\mu"), "Sigma": ("Σ", r"\Sigma")}
_KNOWN_COMMANDS = {
    *(
        rf"\{name}"
        for name in ("alpha", "bar", "overline", "sqrt", "frac", "dfrac", "tfrac", "cdot", "times", "ast", "prod", "left", "right")
    ),
    *(rf"\{name}" for name in ("sum", "exp", "log", "ln")),
    *(rf"\{name}" for name in ("big", "Big", "bigg", "Bigg", "mathbf", "boldsymbol", "bm", "mathrm", "operatorname", "div", "quad")),
    *(rf"\{ch}" for ch in ",;:! {}"),
}
_NOTATION_HINT = r"Write it with \alpha_1, \bar\alpha_3, x_0, \sqrt{…}, \frac{…}{…}, \cdot and numbers."


@dataclass(frozen=True)
class QuestionKey:
    """A KL question as answer_lines finds it: its answer cell's tag and a phrase that finds it."""

    tag: str
    key: str


def _unreadable(latex: str) -> str:
    """Why the answer cannot be read as a formula in α, ᾱ, x₀ and numbers; '' when it can."""
    latex = latex.rstrip(".")
    if not latex:
        return "the answer is empty"
    depth = 0
    for ch in latex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return "unexpected '}'"
    if depth:
        return "a '}' is missing"
    # x₀, t, I, Euler's e, and a product's or sum's variable (\prod_{s=1}^{3}); Unicode the reader did not rewrite is none
    symbols = {"x", "I", "t", "e", *re.findall(r"_\{\s*([A-Za-z])\s*=", latex)}
    for token in re.findall(r"\\[A-Za-z]+|\\.|[A-Za-z]|[^\x00-\x7f]", latex):
        if token.startswith("\\") and token not in _KNOWN_COMMANDS:
            return f"'{token}' is not something this checker understands"
        if not token.startswith("\\") and token not in symbols:
            return f"the symbol '{token}' is unexpected here"
    return ""


def judge_derivation(spec: Mapping[str, Any], cells: Sequence[Mapping[str, Any]], data: Mapping[str, Any]) -> Verdict:
    symbol, command = _SYMBOLS[spec["quantity"]]
    questions = [QuestionKey(q["tag"], q["key"]) for q in data["questions"]]
    mu, sigma = answer_lines().derivation_answers({"cells": cells}, questions)
    latex = mu if spec["quantity"] == "mu" else sigma
    if latex is None:
        message = (
            f"No answer for {symbol} found. End your derivation with a markdown line that holds only "
            f"display math with {symbol} left of the = sign, like $${command} = …$$ (with $$ on both sides)."
        )
        return _verdict(spec, "error", message)
    problem = _unreadable(latex)
    if problem:
        message = f"Your answer {symbol} = {latex} could not be read: {problem}. {_NOTATION_HINT}"
        return _verdict(spec, "error", message)
    return _verdict(spec, "pass", f"Readable: {latex}. Whether it is right is checked at grading.")


def judge_all(
    data: Mapping[str, Any], namespace: Mapping[str, Any], cells: Sequence[Mapping[str, Any]] | None, part: str | None = None
) -> list[Verdict]:
    """Every public check (or those of one part); derivation checks only when the notebook's cells are known."""
    specs = [
        s for s in data["checks"] if part in (None, s["id"], s["id"].split(".")[0]) and (cells is not None or s["kind"] != "derivation")
    ]
    calls = call_all(namespace, data, {s["function"] for s in specs if s["kind"] != "derivation"})
    stories = {function: diagnose(function, calls, data) for function in data["diagnosis"] if any(s["function"] == function for s in specs)}
    verdicts = []
    for spec in specs:
        if spec["kind"] == "derivation":
            verdicts.append(judge_derivation(spec, cells or (), data))
        elif spec["kind"] == "reparameterize":
            verdicts.append(judge_reparameterize(spec, calls, data))
        else:
            verdicts.append(judge_value(spec, calls, data, stories[spec["function"]]))
    return verdicts


# ----------------------------------------------------------------------------- what the grader will not see

# Magics whose Python runs in the notebook's namespace, so what it defines stays (unlike %%timeit's).
_PYTHON_MAGICS = ("time", "capture", "prun")
_MAX_MAGICS_DEEP = 4  # `%%time` over `%%capture` over …: deeper is left unread (it binds nothing found here)
_MAX_NAMES_SHOWN = 6


@dataclass(frozen=True)
class LostDefinition:
    """What a kit check cell binds that the notebook needs: the grader empties the cell, so it is not there."""

    number: int  # the cell, counted as CellFailure counts
    names: tuple[str, ...]

    def warning(self) -> str:
        shown = ", ".join(f"`{name}`" for name in self.names[:_MAX_NAMES_SHOWN])
        more = f" and {len(self.names) - _MAX_NAMES_SHOWN} more" if len(self.names) > _MAX_NAMES_SHOWN else ""
        return (
            f"Warning: cell {self.number} is one of the kit's check cells (tagged {KIT_CELL_TAG}), which the grader empties "
            f"before running your notebook: {shown}{more} defined there will not exist when your notebook is graded. "
            "Move that code into a cell of your own."
        )


def definition_warnings(cells: Sequence[Mapping[str, Any]] | None, data: Mapping[str, Any]) -> list[str]:
    """A warning per check cell whose definitions the graded notebook misses (none without the cells or IPython)."""
    if cells is None or importlib.util.find_spec("IPython") is None:
        return []
    graded = {call["function"] for call in data["request"]["calls"]}  # what the grader calls after the last cell
    return [lost.warning() for lost in lost_definitions(cells, graded)]


def _numbered(cells: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, Mapping[str, Any], list[str]]]:
    """Each cell with its number as the student counts (the grader's probe cell left out) and its tags."""
    lines = answer_lines()
    number = 0
    for cell in cells:
        tags = lines.cell_tags(cell)
        if PROBE_TAG not in tags:
            number += 1
            yield number, cell, tags


def lost_definitions(cells: Sequence[Mapping[str, Any]], graded: Collection[str]) -> list[LostDefinition]:
    """The check cells that bind what the graded notebook needs: a function or class (always), a graded
    function's name, or a name a later cell reads before binding it anew, unless an earlier cell had bound it."""
    lines = answer_lines()
    lost: dict[int, dict[str, None]] = {}  # cell number → names, in the order found
    pending: dict[str, int] = {}  # a name only a check cell has bound, and that cell
    bound: set[str] = set()  # names the cells the grader runs have bound so far
    for number, cell, tags in _numbered(cells):
        if cell.get("cell_type") != "code":
            continue
        statements = _statements(lines.cell_source(cell))
        if KIT_CELL_TAG in tags:
            for _, binds, defines in statements:
                lost.setdefault(number, {}).update(dict.fromkeys(name for name in sorted(binds) if name in defines or name in graded))
                pending.update({name: number for name in binds - bound})
            continue
        for reads, binds, _ in statements:
            for name in sorted(reads & pending.keys()):
                lost.setdefault(pending.pop(name), {})[name] = None
            bound |= binds
            for name in binds:
                pending.pop(name, None)
    return [LostDefinition(cell, tuple(names)) for cell, names in sorted(lost.items()) if names]


def _statements(source: str) -> list[tuple[frozenset[str], frozenset[str], frozenset[str]]]:
    """Each top-level statement of a cell as IPython runs it: (the notebook's names it reads, those it binds,
    of which functions and classes). A cell that does not parse gives none."""
    statements = []
    for statement in _python_statements(source):
        try:
            table = symtable.symtable(ast.unparse(statement), "<cell>", "exec")
        except (SyntaxError, RecursionError):  # `return` outside a function, nesting Python cannot compile: the cell fails anyway
            continue
        binds = frozenset(s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported())
        defines = frozenset(s.get_name() for s in table.get_symbols() if s.is_namespace() and s.get_name() in binds)
        statements.append((_reads(table), binds, defines))
    return statements


def _python_statements(source: str, depth: int = 0) -> list[ast.stmt]:
    """The cell's statements, magics turned into Python by IPython; the Python inside %%time and the like inlined."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    # What CPython's parser raises on what it cannot read: ValueError on a null byte, RecursionError and
    # MemoryError (its stack overflowing) on deep nesting.
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    statements: list[ast.stmt] = []
    for statement in tree.body:
        inner = _magic_python(statement)
        statements += _python_statements(inner, depth + 1) if inner is not None and depth < _MAX_MAGICS_DEEP else [statement]
    return statements


def _magic_python(statement: ast.stmt) -> str | None:
    """The Python a `%time …` line or `%%time` cell runs (as IPython writes them: get_ipython().run_*_magic(...)), else None."""
    match statement:
        case ast.Expr(ast.Call(func=ast.Attribute(attr="run_cell_magic"), args=[ast.Constant(name), _, ast.Constant(str(body))])):
            return body if name in _PYTHON_MAGICS else None
        case ast.Expr(ast.Call(func=ast.Attribute(attr="run_line_magic"), args=[ast.Constant(name), ast.Constant(str(body))])):
            return body if name in _PYTHON_MAGICS else None
    return None


def _reads(table: symtable.SymbolTable) -> frozenset[str]:
    """The notebook's names a statement reads: at top level, and as globals in the functions and classes it defines."""
    top = table.get_type() == "module"
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced() and (top or s.is_global())}
    for child in table.get_children():
        names |= _reads(child)
    return frozenset(names)


# ----------------------------------------------------------------------------- the table (`grader check` prints it too)


@dataclass(frozen=True)
class CellFailure:
    number: int  # the student's cells counted from 1, markdown included
    ename: str
    evalue: str


def format_table(
    name: str,
    verdicts: Sequence[Verdict],
    message: str = "",
    cell_failures: Sequence[CellFailure] = (),
    width: int = 100,
    warnings: Sequence[str] = (),
    *,
    whole: bool = True,
) -> str:
    """One total, stated once (of every check shown, or none for one part): what the grader gives the same
    checks on the same inputs. A check only read here (a derivation) counts no points: grading decides it."""
    scored = [v for v in verdicts if v.scored]
    score, total = sum(v.score for v in scored), sum(v.points for v in scored)
    if whole:
        rows = [f"Self-check of {name}: {score:g} / {total:g} points on the public inputs, as the grader scores these checks"]
    else:
        rows = [f"Self-check of {name}, these checks only (check() with no argument gives the total)"]
    if message:
        rows.append(textwrap.fill(message, width))
    rows.append("")
    id_width = max((len(v.id) for v in verdicts), default=0)
    for v in verdicts:
        if v.scored:
            rows.append(f"{_STATUS_WORD[v.status]:<6} {v.id:<{id_width}}  {v.score:g}/{v.points:g}")
        else:
            rows.append(f"{'READ' if v.status == 'pass' else _STATUS_WORD[v.status]:<6} {v.id:<{id_width}}  {UNSCORED}")
        body = v.message + (f" [misconceptions: {', '.join(v.misconceptions)}]" if v.misconceptions else "")
        rows.extend(textwrap.wrap(body, width - 7, initial_indent="       ", subsequent_indent="       "))
    for failure in cell_failures:
        rows.append(f"\nCell {failure.number} raised {failure.ename}: {failure.evalue}")
    rows.extend(f"\n{textwrap.fill(warning, width, break_on_hyphens=False)}" for warning in warnings)
    return "\n".join(rows)


# ----------------------------------------------------------------------------- from a terminal: run the notebook


class _CellTimeout(BaseException):
    """Raised in a cell past its time limit (a BaseException: `except Exception` in the cell cannot swallow it)."""


def kernel_like_shell(ipython_dir: str) -> Any:
    """A fresh IPython shell, as the grader's warm path runs cells (graders/execute/shell_engine.py): magics,
    `!` lines and display() work as in Jupyter. Its profile lives in `ipython_dir`, not the student's home."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Shell(InteractiveShell):
        def enable_gui(self, gui: str | None = None) -> None:
            """No GUI event loop: figures go to matplotlib's Agg backend (MPLBACKEND), as nothing shows them."""

    InteractiveShell.clear_instance()  # get_ipython() in a cell must return this shell
    # No history database: it would be one more file and a thread.
    config = Config({"HistoryManager": {"enabled": False}, "InteractiveShell": {"colors": "NoColor"}})
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return Shell.instance(config=config, ipython_dir=ipython_dir)


@contextlib.contextmanager
def check_stub_imported() -> Iterator[None]:
    """`import check` gives the grader's stub (CHECK_STUB) inside: what a graded notebook imports."""
    stub = ModuleType(CHECK_MODULE, "The student kit's check() while a notebook is graded.")
    exec(compile(CHECK_STUB, f"{CHECK_MODULE}.py", "exec"), stub.__dict__)  # noqa: S102 - the stub above, this file's own text
    saved = sys.modules.get(CHECK_MODULE)
    sys.modules[CHECK_MODULE] = stub
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop(CHECK_MODULE, None)
        else:
            sys.modules[CHECK_MODULE] = saved


def run_cells(shell: Any, cells: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any], cell_timeout: float) -> list[CellFailure]:
    """Run the code cells in order in `shell`, as grading does: the parameters injected right after the
    cell tagged `parameters` (before the first cell if none is), the kit's check cells skipped (the grader
    empties them), a cell that raises recorded and execution going on, a cell that used more than
    `cell_timeout` seconds interrupted (the grader's TimeLimit: time spent waiting for a busy CPU does not
    count). Printed output is not shown. The notebook's names end up in `shell.user_ns`."""
    lines = answer_lines()
    injected = "".join(f"{key} = {value!r}\n" for key, value in parameters.items())
    failures: list[CellFailure] = []
    if not any("parameters" in lines.cell_tags(cell) for cell in cells):
        shell.run_cell(injected)
    for number, cell, tags in _numbered(cells):
        if cell.get("cell_type") != "code" or KIT_CELL_TAG in tags:
            continue
        failure = _run_cell(shell, lines.cell_source(cell), cell_timeout)
        if failure is not None:
            failures.append(CellFailure(number, *failure))
        if "parameters" in tags:
            shell.run_cell(injected)
    return failures


def _run_cell(shell: Any, source: str, cell_timeout: float) -> tuple[str, str] | None:
    """(the error's name, its message) if the cell failed, else None."""
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            probe_runtime().TimeLimit(cell_timeout, _CellTimeout),
        ):
            result = shell.run_cell(source, store_history=True)
        error = result.error_before_exec or result.error_in_exec
    except _CellTimeout as timeout:  # the limit struck in IPython's own code around the cell's
        error = timeout
    if error is None:
        return None
    if isinstance(error, _CellTimeout):
        return "Timeout", f"the cell ran longer than the {cell_timeout:g} s limit and was interrupted"
    return type(error).__name__, str(error)[:500]


def check_file(path: Path, *, data: Mapping[str, Any], cell_timeout: float, data_dir: str | None) -> tuple[str, bool]:
    """The table for one notebook file, and whether every check passed."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the student's to fix, and said so
        verdicts = [_verdict(s, "error", f"Your notebook could not be read: {exc}.") for s in data["checks"]]
        return format_table(path.stem, verdicts), False
    named = named_assignment(notebook)
    if named is not None and named != data["assignment"]:  # as the grader refuses it (graders/pipeline/triage.py)
        message = f"Your notebook could not be graded: its metadata says it is for {named!r}, and this kit checks {data['assignment']!r}."
        return format_table(path.stem, [_verdict(s, "error", message) for s in data["checks"]]), False
    parameters = {**data["parameters"], **({"data_dir": data_dir} if data_dir else {})}
    # Imported before the first cell, outside its time limit, as the grader's warm kernels have it: torch's
    # first import can take longer than a cell may, and an import interrupted half-way would stay broken.
    import torch  # noqa: F401

    os.environ.setdefault("MPLBACKEND", "Agg")  # plt.show() must not open windows or wait
    folder = Path.cwd()
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        os.chdir(path.parent)  # relative paths in the notebook mean what they mean in Jupyter
        with tempfile.TemporaryDirectory(prefix="a10-kit-ipython-") as ipython_dir, check_stub_imported():
            shell = kernel_like_shell(ipython_dir)
            failures = run_cells(shell, notebook.cells, parameters, cell_timeout)
            verdicts = judge_all(data, shell.user_ns, notebook.cells)
    finally:
        os.chdir(folder)
    table = format_table(path.stem, verdicts, cell_failures=failures, warnings=definition_warnings(notebook.cells, data))
    return table, all(v.status == "pass" for v in verdicts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check.py", description="Self-check an Assignment 10 notebook on the public inputs.")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=float, default=None, help="seconds one cell may run (default: the grader's)")
    parser.add_argument("--data-dir", default=None, help="MNIST root for the training cells (default: the notebook's own data_dir)")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        print(f"check.py: {args.notebook} is not a file", file=sys.stderr)
        return 2
    if importlib.util.find_spec("IPython") is None:
        print("check.py: running a notebook needs IPython, which Jupyter runs notebooks with: pip install ipython", file=sys.stderr)
        return 2
    data = load_data()
    table, passed = check_file(args.notebook, data=data, cell_timeout=args.timeout or data["cell_timeout"], data_dir=args.data_dir)
    print(table)
    print(f"\nChecked with kit {kit_hash()}.")
    return 0 if passed else 1


# ----------------------------------------------------------------------------- from inside the notebook


def _notebook_cells(namespace: Mapping[str, Any]) -> list[Any] | None:
    """The saved notebook's cells, when the kernel knows its file (Jupyter ≥ 2, VS Code); else None."""
    import nbformat

    name = namespace.get("__vsc_ipynb_file__") or os.environ.get("JPY_SESSION_NAME")
    if not name or not Path(name).is_file():
        return None
    try:
        return list(nbformat.read(str(name), as_version=4).cells)
    except Exception:  # noqa: BLE001 - an unsaved or odd file: check the functions only
        return None


def check(part: str | None = None) -> None:
    """Check the functions defined in this notebook on the public inputs (all parts, or one)."""
    namespace = sys._getframe(1).f_globals
    data = load_data()
    saved = _notebook_cells(namespace)
    about_derivation = part is None or part.startswith("derivation")
    cells = saved if about_derivation else None
    if cells is None and part is not None and about_derivation:
        print("Your written answers are checked from a terminal (a kernel cannot read its notebook): python check.py NOTEBOOK")
        return
    # The probe runtime calls every function in its own known state, random streams included (KnownState),
    # and gives the notebook's back: a check does not change what the student's next cell draws.
    verdicts = judge_all(data, namespace, cells, part)
    if not verdicts:
        parts = sorted({s["id"].split(".")[0] for s in data["checks"]})
        print(f"Nothing to check for {part!r}: the parts are {', '.join(parts)}.")
        return
    table = format_table("this notebook", verdicts, warnings=definition_warnings(saved, data), whole=part is None)
    table += f"\n\nChecked with kit {kit_hash()}."
    if cells is None:
        table += " Your written answers (derivation.*) are checked from a terminal: python check.py NOTEBOOK."
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(table)
        return
    if get_ipython() is None:  # plain Python: nothing would keep the record
        print(table)
        return
    # Saved with the notebook, this output tells the grader which kit the student checked with.
    display({"text/plain": table, KIT_MIME: {"kit": kit_hash(), "checks": {v.id: v.status for v in verdicts}}}, raw=True)


if __name__ == "__main__":
    sys.exit(main())
