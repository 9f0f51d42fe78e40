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


# ----------------------------------------------------------------------------- gradient calls


def gradient_call(projection: torch.Tensor, arguments=(0, 1)) -> dict:
    return {"function": "f", "kwargs": {}, "gradient": {"arguments": list(arguments), "projection": encode(projection)}}


MU, LOGVAR = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[-1.0, 0.0, 1.0]])
PROJECTION = torch.tensor([[1.5, -0.5, 1.0]])


def gradients_of(function, projection=PROJECTION, inputs=(MU, LOGVAR)) -> tuple:
    outcome = run_call({"f": function}, gradient_call(projection), [encode(arg) for arg in inputs], limit=5)
    assert outcome["ok"], outcome
    return decode(outcome["value"]), decode(outcome["gradients"])


def test_a_gradient_call_returns_the_gradient_of_the_projected_value_for_each_argument():
    z, (d_mu, d_logvar) = gradients_of(lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))
    assert np.allclose(d_mu, PROJECTION.numpy())
    assert np.allclose(d_logvar, 0.5 * (z - MU.numpy()) * PROJECTION.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "function",
    [
        lambda mu, logvar: torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).sample(),
        lambda mu, logvar: (mu + logvar).detach(),
        lambda mu, logvar: mu.data + logvar.data,
        lambda mu, logvar: torch.tensor(mu.tolist()),
        lambda mu, logvar: mu.detach().numpy(),  # not even a tensor
        lambda mu, logvar: float(mu.sum().item()),
    ],
)
def test_where_no_gradient_reaches_an_argument_its_gradient_is_none(function):
    _, gradients = gradients_of(function)
    assert [type(g) for g in gradients] == [Opaque, Opaque] and all(g.type_name == "NoneType" for g in gradients)


def test_an_argument_the_value_does_not_use_has_no_gradient_and_the_other_keeps_its_own():
    _, (d_mu, d_logvar) = gradients_of(lambda mu, logvar: mu * 2)
    assert np.array_equal(d_mu, 2 * PROJECTION.numpy()) and isinstance(d_logvar, Opaque)


def test_a_value_of_another_shape_than_the_projection_has_no_gradient_rather_than_a_broadcast_one():
    _, gradients = gradients_of(lambda mu, logvar: (mu + logvar)[0])
    assert all(isinstance(g, Opaque) for g in gradients)


def test_the_function_gets_inputs_it_can_edit_in_place_as_an_encoder_s_outputs_allow():
    z, (d_mu, _) = gradients_of(lambda mu, logvar: mu.add_(torch.exp(0.5 * logvar)))
    assert np.allclose(z, (MU + torch.exp(0.5 * LOGVAR)).numpy()) and np.array_equal(d_mu, PROJECTION.numpy())


def test_a_plain_call_passes_no_input_that_requires_grad_and_returns_no_gradients():
    outcome = run_call({"f": lambda mu, logvar: mu.requires_grad}, {"function": "f", "kwargs": {}}, [encode(MU), encode(LOGVAR)], limit=5)
    assert decode(outcome["value"]) is False and "gradients" not in outcome


def test_gradients_flow_though_the_notebook_left_grad_mode_off():
    previous = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        _, (d_mu, _) = gradients_of(lambda mu, logvar: mu + logvar)
    finally:
        torch.set_grad_enabled(previous)
    assert np.array_equal(d_mu, PROJECTION.numpy())


class _EndlessBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        while True:
            pass


def test_a_backward_that_never_returns_is_a_timeout_like_a_call_that_never_returns():
    outcome = run_call(
        {"f": lambda mu, logvar: _EndlessBackward.apply(mu)}, gradient_call(PROJECTION), [encode(MU), encode(LOGVAR)], limit=0.3
    )
    assert outcome["error"]["kind"] == "timeout"


def test_a_backward_that_raises_is_the_call_s_exception():
    def hooked(mu, logvar):
        mu.register_hook(lambda grad: 1 / 0)
        return mu * 1

    outcome = run_call({"f": hooked}, gradient_call(PROJECTION), [encode(MU), encode(LOGVAR)], limit=5)
    assert outcome["error"]["kind"] == "exception" and outcome["error"]["type"] == "ZeroDivisionError"
