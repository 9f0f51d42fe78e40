"""The codec between the kernel and the grader: lossless, NaN-safe, and never raising on odd values."""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
import torch

from graders.runtime.probe_runtime import DecodeRefused, Opaque, encode, run_call
from graders.runtime.probe_runtime import decode as bounded_decode


def decode(data, max_elements=10**6):
    return bounded_decode(data, max_elements=max_elements)


def roundtrip(value):
    return decode(json.loads(json.dumps(encode(value))))


def test_tensors_keep_dtype_shape_and_values():
    for tensor in (torch.arange(6, dtype=torch.float32).reshape(2, 3), torch.tensor(2.5, dtype=torch.float64), torch.ones(0)):
        back = roundtrip(tensor)
        assert back.dtype == tensor.numpy().dtype and back.shape == tuple(tensor.shape)
        assert np.array_equal(back, tensor.numpy())


def test_nan_and_inf_survive_json():
    back = roundtrip((float("nan"), torch.tensor([math.inf, -math.inf])))
    assert math.isnan(back[0]) and list(back[1]) == [math.inf, -math.inf]


def test_half_precision_and_gradients_are_accepted():
    tensor = torch.ones(2, dtype=torch.float16, requires_grad=True) * 3
    assert roundtrip(tensor).tolist() == [3.0, 3.0]


def test_ints_stay_ints_so_they_can_index():
    assert roundtrip(3) == 3 and isinstance(roundtrip(3), int)


def test_unsupported_values_become_opaque_not_errors():
    for value in ("text", None, object(), {"a": 1}):
        assert isinstance(roundtrip(value), Opaque)


def test_a_call_that_raises_or_loops_is_data():
    def loops(x):
        while True:
            pass

    def exits(x):
        raise SystemExit(3)

    encoded = [encode(torch.ones(1))]
    timed_out = run_call({"f": loops}, {"function": "f", "kwargs": {}}, encoded, limit=0.2)
    assert timed_out["error"]["kind"] == "timeout"
    exited = run_call({"f": exits}, {"function": "f", "kwargs": {}}, encoded, limit=1)
    assert exited["error"]["kind"] == "exception" and exited["error"]["type"] == "SystemExit"
    missing = run_call({}, {"function": "f", "kwargs": {}}, encoded, limit=1)
    assert missing["error"]["kind"] == "missing"


def test_inputs_are_fresh_for_every_call():
    def mutates(x):
        x.mul_(0)
        return x.sum()

    encoded = [encode(torch.ones(3))]
    first = run_call({"f": mutates}, {"function": "f", "kwargs": {}}, encoded, limit=1)
    second = run_call({"f": lambda x: x.sum()}, {"function": "f", "kwargs": {}}, encoded, limit=1)
    assert decode(first["value"]) == 0 and decode(second["value"]) == 3


@pytest.mark.parametrize("seed", [1, 2])
def test_seeded_calls_are_deterministic(seed):
    call = {"function": "f", "kwargs": {}, "seed": seed}
    draw = lambda x: torch.randn_like(x)  # noqa: E731
    encoded = [encode(torch.zeros(5))]
    a = decode(run_call({"f": draw}, call, encoded, limit=1)["value"])
    b = decode(run_call({"f": draw}, call, encoded, limit=1)["value"])
    assert np.array_equal(a, b)


# ----------------------------------------------------------------------------- bounded decoding


def bomb(shape, dtype="|b1", payload: bytes | None = None):
    raw = payload if payload is not None else bytes(int(np.prod(shape)) * np.dtype(dtype).itemsize)
    return {
        "kind": "array",
        "origin": "numpy",
        "dtype": dtype,
        "shape": list(shape),
        "data": base64.b64encode(zlib.compress(raw, 9)).decode(),
    }


def test_a_value_larger_than_the_budget_is_refused_before_it_is_decompressed():
    with pytest.raises(DecodeRefused, match="larger than the grader allows"):
        decode(bomb([256 * 2**20]), max_elements=10_000)


def test_data_longer_than_its_shape_is_refused_without_inflating_it():
    # Declares 10 bools but carries 256 MiB of zeros: decompression stops after 11 bytes.
    with pytest.raises(DecodeRefused):
        decode(bomb([10], payload=bytes(256 * 2**20)), max_elements=10_000)


@pytest.mark.parametrize(
    "data",
    [
        bomb([2], dtype="|O"),
        bomb([2], dtype="<c16"),
        {**bomb([2]), "shape": [-1, -2]},
        {**bomb([2]), "shape": [2**62, 2**62, 0, 5]},
        {"kind": "sequence", "items": [{"kind": "int", "value": 1}] * 65},
        {"kind": "sequence", "items": [{"kind": "sequence", "items": []}]},
    ],
    ids=["object", "complex", "negative", "overflowing", "too-many-items", "fine-nesting"],
)
def test_forged_dtypes_shapes_and_sequences(data):
    if data["kind"] == "sequence" and len(data["items"]) == 1:
        assert decode(data, max_elements=0) == ((),)  # nesting within the limit is fine
        return
    with pytest.raises(DecodeRefused):
        decode(data, max_elements=10**6)


def test_the_budget_covers_every_array_in_a_value():
    two = {"kind": "sequence", "items": [encode(np.zeros(600)), encode(np.zeros(600))]}
    with pytest.raises(DecodeRefused):
        decode(two, max_elements=1000)
    assert len(decode(two, max_elements=1200)) == 2


# ----------------------------------------------------------------------------- the flat-x retry


def test_a_loss_that_only_takes_flat_x_is_retried_and_the_first_error_recorded():
    def flat_only(x, x_hat):
        return torch.nn.functional.binary_cross_entropy(x_hat, x, reduction="sum")

    inputs = [encode(torch.full((2, 1, 28, 28), 0.5)), encode(torch.full((2, 784), 0.5))]
    call = {"function": "f", "kwargs": {}, "reshape_x_on_error": True}
    outcome = run_call({"f": flat_only}, call, inputs, limit=5)
    assert outcome["ok"] and outcome["reshaped_x"]["type"] == "ValueError"
    without = run_call({"f": flat_only}, {**call, "reshape_x_on_error": False}, inputs, limit=5)
    assert not without["ok"]


def test_a_loss_that_fails_either_way_reports_the_error_with_the_handouts_shapes():
    def broken(x, x_hat):
        raise KeyError(tuple(x.shape))

    inputs = [encode(torch.zeros(2, 1, 28, 28)), encode(torch.zeros(2, 784))]
    outcome = run_call({"f": broken}, {"function": "f", "kwargs": {}, "reshape_x_on_error": True}, inputs, limit=5)
    assert not outcome["ok"] and "28" in outcome["error"]["message"]


def test_a_starved_call_is_timed_by_the_time_it_ran_not_the_time_it_waited():
    """Pin this process and four busy loops to one CPU: a call that needs 0.3 s of CPU then takes
    well over a second of wall time, yet stays within a 1 s limit. A call that sleeps does not."""

    def works(x):
        started = time.process_time()
        while time.process_time() - started < 0.3:
            pass
        return x

    cpu = min(os.sched_getaffinity(0))
    saved = os.sched_getaffinity(0)
    hogs = [subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"]) for _ in range(4)]
    try:
        os.sched_setaffinity(0, {cpu})
        encoded = [encode(torch.ones(1))]
        started = time.monotonic()
        result = run_call({"f": works}, {"function": "f", "kwargs": {}}, encoded, limit=1.0)
        waited = time.monotonic() - started
        assert result["ok"], result
        slept = run_call({"f": lambda x: time.sleep(30)}, {"function": "f", "kwargs": {}}, encoded, limit=1.0)
        assert slept["error"]["kind"] == "timeout"
    finally:
        os.sched_setaffinity(0, saved)
        for hog in hogs:
            hog.kill()
            hog.wait()
    if waited < 1.0:
        pytest.skip(f"the busy loops did not slow the call down ({waited:.2f} s): nothing was shown")
