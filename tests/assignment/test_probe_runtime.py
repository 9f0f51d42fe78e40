"""The codec between the kernel and the grader: lossless, NaN-safe, and never raising on odd values."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from graders.assignment.probe_runtime import Opaque, decode, encode, run_call


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
