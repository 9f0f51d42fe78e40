"""Probes: which inputs the student's functions are called on, and what came back.

A `ProbePlan` is drawn from the grading seed (hidden cases) plus fixed public cases. Its
request (`ProbePlan.request_json`) reaches the notebook only after the student's cells have run,
through the probe cell (graders/judge/probe_cell.py); that cell runs the self-contained
`probe_runtime` in the kernel and publishes raw encoded values, which `decode_results` decodes. The
same plan is evaluated in-process against the reference and each misconception variant
(`evaluate_in_process`), so student and reference values are produced by the same code path.

This module needs numpy and the probe runtime alone: the student kit ships it verbatim, with a public
plan (`plan_document`) and the reference's values on it (`results_document`) as data.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from graders.runtime import probe_runtime

# What the grader decodes of one returned value: a few times what the inputs hold (a student may
# return an unreduced value), plus what the case allows beyond it (`Case.extra_value_elements`, e.g.
# a covariance as a matrix). Anything larger is refused before it is allocated.
VALUE_ELEMENTS_PER_INPUT_ELEMENT = 4
MAX_ERROR_TEXT = 2000  # characters of a call's error message or traceback the grader keeps
MAX_EXPERIMENT_RUNS = 8  # settings of an experiment (weights, …) the grader decodes; an assignment uses a few


@dataclass(frozen=True)
class CallError:
    """Why a probe call produced no value: missing | exception | timeout | unencodable | absent."""

    kind: str
    message: str
    type: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class CallResult:
    value: Any = None
    error: CallError | None = None
    # The value came from a retry with x reshaped to x_hat's shape; this is why the handout's shapes failed.
    reshaped_x: CallError | None = None
    # A gradient call's gradients, one per argument it named: an array, or an `Opaque` None where none reached it.
    gradients: tuple[Any, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class GradientProbe:
    """One more call with `arguments` (positions) requiring grad: it returns the value and, for each argument,
    the gradient of sum(value · projection). `projection` has the value's shape and no zero in it."""

    arguments: tuple[int, ...]
    projection: np.ndarray


@dataclass(frozen=True)
class Case:
    """One set of inputs for one function; `public` cases are the ones students can self-check."""

    function: str
    name: str
    public: bool
    args: tuple[Any, ...]
    seed: int | None = None
    weights: tuple[float, ...] = ()  # called once per value of the keyword argument `weight_keyword`
    weight_keyword: str = ""
    # Called a second time right after the first, without reseeding: fresh noise must differ.
    repeat: bool = False
    # A call that raises is retried with its first argument reshaped to the second's shape (see probe_runtime.run_call).
    reshape_x_on_error: bool = False
    extra_value_elements: int = 0  # decoded beyond VALUE_ELEMENTS_PER_INPUT_ELEMENT per input element
    gradient: GradientProbe | None = None  # called once more, last, for the value's gradients (continuing the random stream)

    def call_ids(self) -> tuple[str, ...]:
        if self.weights:
            return tuple(call_id(self.function, self.name, weight) for weight in self.weights)
        ids: tuple[str, ...] = (call_id(self.function, self.name),)
        if self.repeat:
            ids += (repeat_id(self.function, self.name),)
        if self.gradient is not None:
            ids += (gradient_id(self.function, self.name),)
        return ids

    def max_value_elements(self) -> int:
        """The most array elements the grader decodes from one call on these inputs."""
        sizes = [int(np.size(arg)) for arg in self.args]
        return VALUE_ELEMENTS_PER_INPUT_ELEMENT * sum(sizes) + self.extra_value_elements


def call_id(function: str, case: str, weight: float | None = None) -> str:
    return f"{function}/{case}" if weight is None else f"{function}/{case}/w={weight:g}"


def repeat_id(function: str, case: str) -> str:
    return f"{function}/{case}/again"


def gradient_id(function: str, case: str) -> str:
    return f"{function}/{case}/gradient"


class ExperimentSpec(Protocol):
    """An assignment's behavioural experiment, as the probe request carries it (a dataclass: `asdict` is its request)."""

    def max_value_elements(self) -> int:
        """The most array elements its outputs may hold, for every setting together."""
        ...


@dataclass(frozen=True)
class ProbePlan:
    cases: tuple[Case, ...]
    experiment: ExperimentSpec | None
    call_time_limit: float = 10.0
    experiment_time_limit: float = 60.0
    kernel_source: str = ""  # the assignment's kernel-side code, which runs the experiment
    experiment_timeout_message: str = ""

    @cached_property
    def request_json(self) -> str:
        """The whole request, as the probe cell receives it once the student's cells have run."""
        return json.dumps(self.request())

    def cases_for(self, function: str) -> tuple[Case, ...]:
        return tuple(case for case in self.cases if case.function == function)

    def request(self, functions: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The JSON request the runtime executes; `functions` restricts it (reference variants)."""
        inputs: dict[str, Any] = {}
        calls: list[dict[str, Any]] = []
        for case in self.cases:
            if functions is not None and case.function not in functions:
                continue
            # Inputs are sent once per case, however many calls (weights) use them.
            key = call_id(case.function, case.name)
            inputs[key] = [probe_runtime.encode(arg) for arg in case.args]
            for cid, kwargs, seed in _calls_of(case):
                call = {
                    "id": cid,
                    "function": case.function,
                    "inputs": key,
                    "kwargs": kwargs,
                    "seed": seed,
                    "reshape_x_on_error": case.reshape_x_on_error,
                }
                if case.gradient is not None and cid == gradient_id(case.function, case.name):
                    call["gradient"] = {
                        "arguments": list(case.gradient.arguments),
                        "projection": probe_runtime.encode(case.gradient.projection),
                    }
                calls.append(call)
        experiment = None
        if self.experiment is not None and functions is None:
            experiment = asdict(self.experiment)  # type: ignore[call-overload]  # an assignment's spec is a dataclass
        request = {
            "inputs": inputs,
            "calls": calls,
            "experiment": experiment,
            "call_time_limit": self.call_time_limit,
            "experiment_time_limit": self.experiment_time_limit,
        }
        if experiment is not None:
            request.update(kernel=self.kernel_source, experiment_timeout_message=self.experiment_timeout_message)
        return request

    def value_limits(self) -> dict[str, int]:
        """Call id -> the most array elements decoded from it; calls not listed are never decoded."""
        return {cid: case.max_value_elements() for case in self.cases for cid in case.call_ids()}


def _calls_of(case: Case) -> list[tuple[str, dict[str, Any], int | None]]:
    """(call id, keyword arguments, seed) of each call a case makes, in the order they run."""
    if case.weights:
        return [
            (cid, {case.weight_keyword: probe_runtime.encode(w)}, case.seed) for cid, w in zip(case.call_ids(), case.weights, strict=True)
        ]
    # A repeat (and a gradient call) continues the random stream of the call before it instead of reseeding.
    return [(cid, {}, case.seed if index == 0 else None) for index, cid in enumerate(case.call_ids())]


@dataclass(frozen=True)
class ProbeResults:
    calls: Mapping[str, CallResult]
    experiment: CallResult | None = None
    # Set when no results came back at all (the probe cell never ran or was tampered with).
    missing_reason: str = ""

    def get(self, cid: str) -> CallResult:
        if self.missing_reason:
            return CallResult(error=CallError("absent", self.missing_reason))
        return self.calls.get(cid, CallResult(error=CallError("absent", f"no result for probe {cid}")))


def safe_exception_name(name: str) -> str:
    """A built-in exception's name as it is; any other class name could carry data, so it is not repeated."""
    builtin = getattr(builtins, name, None)
    return name if isinstance(builtin, type) and issubclass(builtin, BaseException) else "an exception"


def decode_results(payload: Mapping[str, Any], plan: ProbePlan) -> ProbeResults:
    """Only the calls the plan made are decoded, each within the size the plan allows for it."""
    try:
        raw_calls = payload["calls"]
        if not isinstance(raw_calls, Mapping):
            raise TypeError("calls is not a mapping")
        calls = {cid: _decode_call(raw_calls[cid], limit) for cid, limit in plan.value_limits().items() if cid in raw_calls}
        experiment = None
        if payload.get("experiment") and plan.experiment is not None:
            experiment = _decode_call(payload["experiment"], plan.experiment.max_value_elements())
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return ProbeResults({}, missing_reason=f"the probe results were malformed ({str(exc)[:200]})")
    return ProbeResults(calls, experiment)


def _decode_call(raw: Mapping[str, Any], limit: int) -> CallResult:
    if raw.get("ok"):
        try:
            if "gradients" in raw:  # one budget for the value and its gradients together
                value, gradients = probe_runtime.decode({"kind": "sequence", "items": [raw["value"], raw["gradients"]]}, max_elements=limit)
            else:
                value, gradients = _decode_value(raw["value"], limit), ()
        except probe_runtime.DecodeRefused as refused:
            return CallResult(error=CallError("unreadable", f"the grader refused the returned value: {refused}"))
        if not isinstance(gradients, tuple):
            return CallResult(error=CallError("unreadable", "the grader refused the returned gradients: not a sequence"))
        return CallResult(value=value, reshaped_x=_call_error(raw["reshaped_x"]) if raw.get("reshaped_x") else None, gradients=gradients)
    return CallResult(error=_call_error(raw["error"]))


def _decode_value(value: Any, limit: int) -> Any:
    if isinstance(value, Mapping) and value.get("kind") == "experiment":
        runs = value["runs"]
        if not isinstance(runs, Mapping) or len(runs) > MAX_EXPERIMENT_RUNS:
            raise probe_runtime.DecodeRefused("the experiment's runs are malformed")
        weights = [str(weight)[:20] for weight in runs]
        # Decoded as one sequence so that `limit` (which covers every weight) bounds them all together.
        decoded = probe_runtime.decode({"kind": "sequence", "items": list(runs.values())}, max_elements=limit)
        return Experiment(runs=dict(zip(weights, decoded, strict=True)), reshaped_x=value.get("reshaped_x") is True)
    return probe_runtime.decode(value, max_elements=limit)


def _call_error(error: Any) -> CallError:
    if not isinstance(error, Mapping):
        raise TypeError("an error is not a mapping")
    return CallError(
        kind=str(error.get("kind", "exception"))[:40],
        message=str(error.get("message", ""))[:MAX_ERROR_TEXT],
        type=str(error.get("type", ""))[:200],
        traceback=str(error.get("traceback", ""))[:MAX_ERROR_TEXT],
    )


@dataclass(frozen=True)
class Experiment:
    """The experiment's trained outputs per weight ("0.0", "30.0" -> (x_hat, mu, logvar))."""

    runs: Mapping[str, Any]
    reshaped_x: bool = False  # the loss ran only with x flattened like x_hat


def evaluate_in_process(plan: ProbePlan, namespace: Mapping[str, Any], functions: tuple[str, ...]) -> ProbeResults:
    """Run the plan's calls for `functions` against trusted code (the reference or a variant)."""
    raw = probe_runtime.run_probes(namespace, plan.request(functions))
    return decode_results(json.loads(json.dumps(raw)), plan)


# ----------------------------------------------------------------------------- as data (the student kit's)


def plan_document(plan: ProbePlan) -> dict[str, Any]:
    """A plan without an experiment as strict JSON (`plan_from_document` reads it back equal)."""
    if plan.experiment is not None:
        raise ValueError("a plan with an experiment is not written as data (its reference trains in the grader)")
    return {"cases": [_case_document(case) for case in plan.cases], "call_time_limit": plan.call_time_limit}


def _case_document(case: Case) -> dict[str, Any]:
    document = asdict(case)
    document["args"] = [probe_runtime.encode(arg) for arg in case.args]
    document["weights"] = list(case.weights)
    if case.gradient is not None:
        document["gradient"] = {"arguments": list(case.gradient.arguments), "projection": probe_runtime.encode(case.gradient.projection)}
    return document


def plan_from_document(document: Mapping[str, Any]) -> ProbePlan:
    """The inverse of `plan_document` (trusted data: the kit's own, written by the grader)."""
    cases = []
    for raw in document["cases"]:
        args = tuple(probe_runtime.decode(arg, max_elements=_TRUSTED) for arg in raw["args"])
        gradient = raw.get("gradient")
        probe = None
        if gradient is not None:
            probe = GradientProbe(tuple(gradient["arguments"]), probe_runtime.decode(gradient["projection"], max_elements=_TRUSTED))
        fields = {key: value for key, value in raw.items() if key not in ("args", "gradient", "weights")}
        cases.append(Case(**fields, args=args, weights=tuple(raw["weights"]), gradient=probe))
    return ProbePlan(tuple(cases), None, call_time_limit=float(document["call_time_limit"]))


_TRUSTED = 10**8  # elements: the grader's own data, decoded with the runtime's codec but no student's budget


def results_document(results: ProbeResults) -> dict[str, Any]:
    """Call results as the probe cell publishes them (`decode_results` reads them back equal); no experiment."""
    return {"calls": {cid: _call_document(result) for cid, result in results.calls.items()}}


def _call_document(result: CallResult) -> dict[str, Any]:
    if result.error is not None:
        return {"ok": False, "error": asdict(result.error)}
    document: dict[str, Any] = {"ok": True, "value": _encoded(result.value)}
    if result.gradients:
        document["gradients"] = _encoded(result.gradients)
    if result.reshaped_x is not None:
        document["reshaped_x"] = asdict(result.reshaped_x)
    return document


def _encoded(value: Any) -> Any:
    """`probe_runtime.encode`, and an `Opaque` value as the object it stands for."""
    if isinstance(value, probe_runtime.Opaque):
        return {"kind": "object", "type": value.type_name, "repr": value.text}
    if isinstance(value, tuple):
        return {"kind": "sequence", "items": [_encoded(item) for item in value]}
    return probe_runtime.encode(value)
