"""Probe runtime: calls the student's functions on the grader's inputs and encodes what comes back.

This file is self-contained on purpose (standard library, numpy, and torch imported lazily):
its *source text* is pasted into a cell appended to the student's notebook, so it runs
inside the student's kernel without importing anything from the harness or `reference/`.
The grader imports the very same module to evaluate the reference implementation
in-process, and to decode values, so the codec lives in exactly one place.

Nothing is judged here. Values are encoded raw (dtype, shape, bytes) and compared in the
grader process; a student who tampers with this code can only break their own checks.
"""

from __future__ import annotations

import base64
import math
import random
import signal
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np

MIME_TYPE = "application/vnd.a10-grader.probe+json"
RUNTIME_VERSION = 2
_REPR_LIMIT = 300
# What `decode` accepts: numbers and booleans of at most 8 bytes, in the byte order `encode` writes.
_DTYPES = {np.dtype(code).str: np.dtype(code) for code in "?bBhHiIlLqQefd"}
_MAX_NESTING = 8  # a tuple of tuples of …: nothing the assignment returns is deeper than 2
_MAX_ITEMS = 64  # items in one returned tuple or list
_INPUT_ELEMENTS = 10**7  # the grader's own inputs, decoded in the kernel: trusted, only bounded
MAX_ITEM_BYTES = 8  # float64 / int64: wider numbers are no answer here and decode as an object
MAX_DIMS = 32  # numpy's own limit is 64; no input or answer of an assignment comes near
_NO_TIME_LEFT = 0.001  # seconds: too little to arm an alarm for


# ----------------------------------------------------------------------------- codec


def encode(value: Any) -> Any:
    """Encode a return value losslessly into JSON-able data (NaN and inf survive)."""
    if isinstance(value, (tuple, list)):
        return {"kind": "sequence", "items": [encode(item) for item in value]}
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"kind": "int", "value": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"kind": "number", "value": repr(float(value))}
    array, origin = _as_numpy(value)
    if array is None:
        text = repr(value)
        return {"kind": "object", "type": type(value).__name__, "repr": text[:_REPR_LIMIT]}
    if array.dtype.kind not in "biuf" or array.dtype.itemsize > MAX_ITEM_BYTES:
        return {"kind": "object", "type": f"{origin} of {array.dtype}", "repr": repr(array)[:_REPR_LIMIT]}
    array = array.astype(array.dtype.newbyteorder("="), copy=False)  # `decode` reads native order only
    return {
        "kind": "array",
        "origin": origin,
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        # zlib: repeated rows (reparameterisation inputs) shrink to almost nothing. Level 1: the
        # default level took ~20 ms per notebook on the experiment's incompressible floats.
        "data": base64.b64encode(zlib.compress(array.tobytes(order="C"), level=1)).decode("ascii"),
    }


class DecodeRefused(ValueError):
    """An encoded value the grader will not allocate: larger than it allowed, or not what `encode` writes."""


def decode(data: Any, max_elements: int) -> Any:
    """Inverse of `encode`: arrays come back as numpy arrays, numbers as floats.

    The data may come from a notebook's process, so nothing in it is trusted with a size: at most
    `max_elements` array elements in all (the caller's budget, from the probe plan), checked from
    the declared shape and dtype BEFORE anything is decompressed, and decompression stops at the
    declared size. A value outside this raises `DecodeRefused`.
    """
    return _Decoder(max_elements).value(data, depth=0)


class _Decoder:
    def __init__(self, max_elements: int) -> None:
        self.remaining = max_elements

    def value(self, data: Any, depth: int) -> Any:
        if not isinstance(data, Mapping) or depth > _MAX_NESTING:
            raise DecodeRefused("an encoded value is malformed or nested too deeply")
        kind = data.get("kind")
        if kind == "sequence":
            items = data.get("items")
            if not isinstance(items, list) or len(items) > _MAX_ITEMS:
                raise DecodeRefused(f"a returned sequence holds more than {_MAX_ITEMS} items")
            return tuple(self.value(item, depth + 1) for item in items)
        if kind == "bool":
            return bool(data["value"])
        if kind == "int":
            return int(str(data["value"])[:_REPR_LIMIT])
        if kind == "number":
            return float(str(data["value"])[:_REPR_LIMIT])
        if kind == "array":
            return self.array(data)
        return Opaque(type_name=str(data.get("type", "?"))[:_REPR_LIMIT], text=str(data.get("repr", ""))[:_REPR_LIMIT])

    def array(self, data: Mapping[str, Any]) -> np.ndarray:
        dtype = _DTYPES.get(data.get("dtype"))
        shape = data.get("shape")
        if dtype is None or not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(type(n) is int and n >= 0 for n in shape):
            raise DecodeRefused("an array's dtype or shape is not one the grader reads")
        count = math.prod(shape)  # Python ints: a forged shape cannot overflow into a small number
        if count > self.remaining:
            raise DecodeRefused(f"an array of shape {tuple(shape)} is larger than the grader allows here")
        self.remaining -= count
        size = count * dtype.itemsize
        text = data.get("data")
        # zlib grows incompressible input by at most 5 bytes per 16 KiB block plus a header.
        if not isinstance(text, str) or len(text) > 4 * ((size + size // 1000 + 64) // 3 + 1):
            raise DecodeRefused("an array's encoded data is larger than its shape allows")
        raw = zlib.decompressobj().decompress(base64.b64decode(text, validate=True), size + 1)
        if len(raw) != size:
            raise DecodeRefused("an array's data does not match its shape")
        array: np.ndarray = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array


class Opaque:
    """A value of a type the grader cannot compare (a string, None, a model…): kept for messages."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def _as_numpy(value: Any) -> tuple[np.ndarray | None, str]:
    if isinstance(value, np.ndarray):
        return value, "numpy"
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
            tensor = tensor.float()
        return tensor.numpy(), "torch"
    return None, ""


def _torch_from(data: Any) -> Any:
    """Grader inputs arrive as encoded arrays; the student's functions get torch tensors."""
    import torch

    value = decode(data, max_elements=_INPUT_ELEMENTS)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return value


# ----------------------------------------------------------------------------- known state

# The settings the grader's calls and experiment run under: torch's and numpy's own defaults, and the
# one thread every sandboxed kernel starts with (OMP_NUM_THREADS=1): a notebook that asks for 64
# threads on a two-core cgroup would otherwise train the experiment oversubscribed.
_KNOWN_THREADS = 1
_UNSEEDED = 0  # the probe's random streams before a call names a seed
# Printing bounds the repr `encode` takes of a value it cannot encode: `threshold=sys.maxsize`, common
# at the top of notebooks, would otherwise build a huge array's whole text before it is cut.
_TORCH_PRINT = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_NUMPY_PRINT = {"precision": 8, "threshold": 1000, "edgeitems": 3, "linewidth": 75, "formatter": None}
_NUMPY_ERRORS = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}


class _Settings(NamedTuple):  # not a dataclass: exec'd from source, this module is in no sys.modules
    """The process-wide settings a notebook can change that alter what torch computes or how values print.

    Read and written through torch's C extension (`torch._C`), not the `torch.*` names, which a
    notebook can replace (`torch.set_default_dtype = ...`).
    """

    dtype: Any
    grad: bool
    deterministic: tuple[bool, bool]  # (on, warn only)
    anomaly: tuple[bool, bool]  # (on, check NaN)
    threads: int
    matmul_precision: str
    mkldnn: bool
    numpy_errors: Any  # numpy's own typed dict
    numpy_print: Mapping[str, Any]
    torch_print: Mapping[str, Any]

    @classmethod
    def known(cls, torch: Any) -> _Settings:
        return cls(
            torch.float32, True, (False, False), (False, True), _KNOWN_THREADS, "highest", True, _NUMPY_ERRORS, _NUMPY_PRINT, _TORCH_PRINT
        )

    @classmethod
    def read(cls, torch: Any) -> _Settings:
        c = torch._C
        return cls(
            dtype=c.get_default_dtype(),
            grad=c.is_grad_enabled(),
            deterministic=(c._get_deterministic_algorithms(), c._get_deterministic_algorithms_warn_only()),
            anomaly=(c.is_anomaly_enabled(), c.is_anomaly_check_nan_enabled()),
            threads=c.get_num_threads(),
            matmul_precision=c._get_float32_matmul_precision(),
            mkldnn=c._get_mkldnn_enabled(),
            numpy_errors=np.geterr(),
            numpy_print=np.get_printoptions(),
            torch_print=torch._tensor_str.get_printoptions(),
        )

    def apply(self, torch: Any) -> None:
        c = torch._C
        c._set_default_dtype(self.dtype)
        c._set_grad_enabled(self.grad)
        c._set_deterministic_algorithms(self.deterministic[0], warn_only=self.deterministic[1])
        c.set_anomaly_enabled(*self.anomaly)
        if c.get_num_threads() != self.threads:  # resizing the pool is not free; most calls keep it
            c.set_num_threads(self.threads)
        c._set_float32_matmul_precision(self.matmul_precision)
        c._set_mkldnn_enabled(self.mkldnn)
        np.seterr(**self.numpy_errors)
        np.set_printoptions(**self.numpy_print)
        torch._tensor_str.set_printoptions(**self.torch_print)


class _Streams(NamedTuple):
    """The global random streams a function can draw from: torch's CPU generator, numpy's and Python's."""

    torch: Any
    numpy: Any
    python: Any

    @classmethod
    def read(cls, torch: Any) -> _Streams:
        return cls(torch._C.default_generator.get_state(), np.random.get_state(), random.getstate())

    @classmethod
    def seeded(cls, torch: Any, seed: int) -> _Streams:
        generator = torch._C.Generator()
        generator.manual_seed(seed)  # the CPU stream `torch.manual_seed(seed)` gives
        python = random.Random(seed)  # noqa: S311 - a sampling stream, no secret
        return cls(generator.get_state(), np.random.RandomState(seed % 2**32).get_state(), python.getstate())

    def apply(self, torch: Any) -> None:
        torch._C.default_generator.set_state(self.torch)
        np.random.set_state(self.numpy)
        random.setstate(self.python)


class KnownState:
    """Around each call of a student's function and around the experiment: a known state in, the notebook's back out.

    A notebook may leave the process in any state (`torch.set_default_dtype(torch.float64)`, a
    default device, grad mode off, deterministic algorithms, anomaly detection, thread counts, print
    options, numpy's error mode, warnings as errors): the grader's inputs and its experiment's model
    must not change with it, and the notebook's own settings must be as it left them afterwards
    (the student kit's `check()` runs this in the student's session). Torch function modes (the
    default device, an entered `torch.device(...)`) are lifted off and put back.

    The random streams are the probe's own: a call that names a seed starts them from that seed, a
    call that names none continues where the probe's previous call left them (a repeat), and the
    notebook's streams are put back in between.

    What remains possible: a notebook that replaces torch's C functions, its modules, optimisers or
    Tensor methods still changes what runs in its process. It can change only its own values, which
    a notebook's process could forge anyway; nothing here is trusted for more than fairness.
    """

    def __init__(self) -> None:
        self._streams: _Streams | None = None

    @contextmanager
    def around(self, seed: int | None) -> Iterator[None]:
        import torch

        notebook, notebook_streams = _Settings.read(torch), _Streams.read(torch)
        modes = [torch._C._pop_torch_function_stack() for _ in range(torch._C._len_torch_function_stack())]
        try:
            with warnings.catch_warnings(), torch._C._InferenceMode(False):
                warnings.simplefilter("default")
                _Settings.known(torch).apply(torch)
                if seed is not None or self._streams is None:
                    self._streams = _Streams.seeded(torch, _UNSEEDED if seed is None else seed)
                self._streams.apply(torch)
                try:
                    yield
                finally:
                    self._streams = _Streams.read(torch)
        finally:
            notebook.apply(torch)
            notebook_streams.apply(torch)
            for mode in reversed(modes):
                torch._C._push_on_torch_function_stack(mode)


# ----------------------------------------------------------------------------- calls


class ProbeTimeout(Exception):
    """Raised inside a student function that ran past the per-call time limit."""


class TimeLimit:
    """Raise `error()` in the main thread once the code inside has *used* `seconds`.

    Used time is wall time minus the time the thread waited for a CPU (its run-queue delay, from
    /proc/self/schedstat): a notebook starved by a neighbour that forks 60 busy loops is not
    failed for it, while a function that sleeps or blocks still runs out of time. Where the kernel
    does not report run-queue delay, used time is plain wall time.

    A single ITIMER_REAL is re-armed with the remaining budget whenever it fires early. An
    enclosing limit's timer (the cell's, around the probe calls) is resumed on exit.
    """

    def __init__(self, seconds: float, error: Callable[[], BaseException]) -> None:
        self.seconds = seconds
        self.error = error

    def __enter__(self) -> TimeLimit:
        self._outer_remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        self._started, self._waited = time.monotonic(), _run_queue_delay()
        self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def used(self) -> float:
        return (time.monotonic() - self._started) - (_run_queue_delay() - self._waited)

    def _on_alarm(self, signum: int, frame: Any) -> None:
        remaining = self.seconds - self.used()
        if remaining <= _NO_TIME_LEFT:
            raise self.error()
        signal.setitimer(signal.ITIMER_REAL, remaining)

    def __exit__(self, *exc_info: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous)
        if self._outer_remaining > 0:
            elapsed = time.monotonic() - self._started
            signal.setitimer(signal.ITIMER_REAL, max(self._outer_remaining - elapsed, 0.001))


def _run_queue_delay() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU; 0.0 where unknown."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _requiring_grad(args: list[Any], arguments: list[int]) -> list[Any]:
    """The arguments a gradient call names, as leaves that require grad. The function gets a copy of each that is
    not a leaf, as an encoder's outputs are in training: an in-place edit that training allows must work here too."""
    leaves = []
    for index in arguments:
        leaf = args[index].detach().requires_grad_(True)
        args[index] = leaf.clone()
        leaves.append(leaf)
    return leaves


def _gradients(value: Any, leaves: list[Any], projection: Any) -> tuple[Any, ...]:
    """d sum(value · projection) / d leaf for each leaf, None where no gradient reaches it.

    A fixed projection (the grader's, of the value's shape) rather than a sum: every element of the value
    counts with its own weight, so a gradient that lands on the wrong element does not cancel out.
    """
    import torch

    if not isinstance(value, torch.Tensor) or not value.requires_grad or tuple(value.shape) != tuple(projection.shape):
        return (None,) * len(leaves)
    objective = (value * projection.to(value.dtype)).sum()
    return tuple(torch.autograd.grad(objective, leaves, allow_unused=True))


def _error(kind: str, exc: BaseException | None = None, message: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"kind": kind, "message": message}
    if exc is not None:
        error.update(
            type=type(exc).__name__,
            message=str(exc)[:_REPR_LIMIT] or message,
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:])[-2000:],
        )
    return {"ok": False, "error": error}


def run_call(
    namespace: Mapping[str, Any], call: Mapping[str, Any], inputs: list[Any], limit: float, state: KnownState | None = None
) -> dict[str, Any]:
    """One call of one student function, in a known state (`state`'s: a request's calls share its random streams);
    every failure becomes data, never an exception.

    A call marked `reshape_x_on_error` (the loss: the handout passes x as (B, 1, 28, 28) and x_hat as
    (B, 784)) that raises is tried once more with x reshaped to x_hat's shape; a value from that retry
    carries the first error under `reshaped_x`, so the grader can name the shape convention.

    A call with `gradient` (`{"arguments": [index, …], "projection": an encoded array}`) passes those
    arguments requiring grad and returns, under `gradients`, d sum(value · projection) / d argument for each
    (None where no gradient reaches it): whether a sampler's value is differentiable in its parameters.
    """
    function = namespace.get(call["function"])
    if not callable(function):
        return _error("missing", message=f"no function named {call['function']!r} is defined")
    state = state or KnownState()
    with state.around(call.get("seed")):
        outcome = _call_once(function, call, inputs, limit, reshape_x=False)
    if outcome["ok"] or not call.get("reshape_x_on_error") or outcome["error"]["kind"] != "exception":
        return outcome
    with state.around(call.get("seed")):  # seeded as the first try was, or continuing its stream
        retry = _call_once(function, call, inputs, limit, reshape_x=True)
    if not retry["ok"]:
        return outcome  # the error with the handout's shapes is the one that tells the student most
    return {**retry, "reshaped_x": outcome["error"]}


def _call_once(
    function: Callable[..., Any], call: Mapping[str, Any], inputs: list[Any], limit: float, *, reshape_x: bool
) -> dict[str, Any]:
    try:
        # Decoded afresh for every call: a function that edits its inputs in place harms only itself.
        args = [_torch_from(arg) for arg in inputs]
        if reshape_x:
            args[0] = args[0].reshape(args[1].shape)
        kwargs = {key: _torch_from(value) for key, value in call.get("kwargs", {}).items()}
        gradient = call.get("gradient")
        leaves = _requiring_grad(args, gradient["arguments"]) if gradient else []
        started = time.perf_counter()
        with TimeLimit(limit, lambda: ProbeTimeout(f"did not return within {limit:g} s")):
            result = function(*args, **kwargs)
            # The student's backward (a custom autograd Function's) runs here too: under the same limit.
            gradients = _gradients(result, leaves, _torch_from(gradient["projection"])) if gradient else None
        seconds = time.perf_counter() - started
    except ProbeTimeout as exc:
        return _error("timeout", exc)
    except BaseException as exc:  # noqa: BLE001 - a student's SystemExit or KeyboardInterrupt is data too
        return _error("exception", exc)
    try:
        outcome = {"ok": True, "value": encode(result), "seconds": round(seconds, 4)}
        if gradients is not None:
            outcome["gradients"] = encode(gradients)  # a sequence: an array per argument, None (an object) where none reached it
        return outcome
    except Exception as exc:  # noqa: BLE001
        return _error("unencodable", exc)


# ----------------------------------------------------------------------------- entry points


def run_probes(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    limit = float(request["call_time_limit"])
    results: dict[str, Any] = {"runtime_version": RUNTIME_VERSION, "calls": {}}
    state = KnownState()
    for call in request["calls"]:
        results["calls"][call["id"]] = run_call(namespace, call, request["inputs"][call["inputs"]], limit, state)
    if request.get("experiment"):
        kernel = assignment_kernel(request["kernel"])
        with (
            state.around(seed=None),
            TimeLimit(float(request["experiment_time_limit"]), lambda: ProbeTimeout(request["experiment_timeout_message"])),
        ):
            results["experiment"] = kernel["run_experiment"](namespace, request["experiment"], TOOLS)
    return results


def assignment_kernel(source: str) -> dict[str, Any]:
    """The assignment's kernel-side code (its experiment), run from its source text as this file is:
    it imports nothing of the harness and gets what it needs of this runtime as `TOOLS`."""
    kernel: dict[str, Any] = {"__name__": "grader_assignment_kernel"}
    exec(compile(source, "grader_assignment_kernel", "exec"), kernel)  # noqa: S102 - the assignment's own code, sent by the grader
    return kernel


# What an assignment's kernel code may use of this runtime: it must encode and fail the same way.
TOOLS = SimpleNamespace(encode=encode, failure=_error, ProbeTimeout=ProbeTimeout)


def publish(results: Mapping[str, Any]) -> None:
    """Hand the results to the grader as a display output of the probe cell."""
    from IPython.display import publish_display_data

    publish_display_data({MIME_TYPE: dict(results), "text/plain": "grader probe results"})
