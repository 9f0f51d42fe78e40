"""The probe runtime's known state, in process: what a notebook set globally is not what the grader's
calls see, and it is the notebook's again afterwards (after a value, an exception or a timeout).

The known values are torch's, numpy's and Python's documented defaults (and one thread, what the
sandbox starts kernels with), written here, not read from the runtime.
"""

from __future__ import annotations

import random
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from assignments.a10.kernel import train_once
from graders.runtime.probe_runtime import KnownState, decode, encode, run_call, run_probes
from reference.a10.vae import vae_loss


@dataclass(frozen=True)
class Setting:
    """One global setting a notebook may leave behind: how to set it, read it, and torch's default."""

    name: str
    set_by_notebook: Callable[[], Any]
    read: Callable[[], Any]
    default: Any
    undo: Callable[[Any], None] = lambda _: None


SETTINGS = (
    Setting("default dtype", lambda: torch.set_default_dtype(torch.float64), torch.get_default_dtype, torch.float32),
    Setting(
        "default tensor type",
        lambda: torch.set_default_tensor_type(torch.DoubleTensor),
        lambda: torch.ones(1).dtype,
        torch.float32,
    ),
    Setting(
        "default device",
        lambda: torch.set_default_device("meta"),
        lambda: torch.empty(1).device.type,
        "cpu",
        undo=lambda _: torch.set_default_device(None),
    ),
    Setting("grad mode", lambda: torch.set_grad_enabled(False), torch.is_grad_enabled, True),
    Setting(
        "inference mode left entered",
        lambda: _entered(torch.inference_mode()),
        torch.is_inference_mode_enabled,
        False,
        undo=lambda mode: mode.__exit__(None, None, None),
    ),
    Setting(
        "deterministic algorithms",
        lambda: torch.use_deterministic_algorithms(True, warn_only=True),
        lambda: (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()),
        (False, False),
    ),
    Setting("anomaly detection", lambda: torch.autograd.set_detect_anomaly(True), torch.is_anomaly_enabled, False),
    Setting("thread count", lambda: torch.set_num_threads(3), torch.get_num_threads, 1),
    Setting("matmul precision", lambda: torch.set_float32_matmul_precision("medium"), torch.get_float32_matmul_precision, "highest"),
    Setting("oneDNN off", lambda: setattr(torch.backends.mkldnn, "enabled", False), lambda: torch.backends.mkldnn.enabled, True),
    Setting("numpy raises on errors", lambda: np.seterr(all="raise"), lambda: np.geterr()["divide"], "warn"),
    Setting(
        "numpy prints everything", lambda: np.set_printoptions(threshold=sys.maxsize), lambda: np.get_printoptions()["threshold"], 1000
    ),
    Setting(
        "torch prints everything", lambda: torch.set_printoptions(profile="full"), lambda: torch._tensor_str.PRINT_OPTS.threshold, 1000
    ),
    Setting("warnings are errors", lambda: warnings.simplefilter("error"), lambda: warnings.filters[0][0], "default"),
)


def _forever() -> None:
    while True:
        pass


def _entered(context: Any) -> Any:
    context.__enter__()
    return context


@pytest.fixture(autouse=True)
def clean_process() -> Iterator[None]:
    """Whatever a test sets globally is undone by hand (not by the code under test), pass or fail."""
    dtype, threads, grad = torch.get_default_dtype(), torch.get_num_threads(), torch.is_grad_enabled()
    numpy_errors, numpy_print = np.geterr(), np.get_printoptions()
    rng = torch.get_rng_state(), np.random.get_state(), random.getstate()
    with warnings.catch_warnings():
        yield
    torch.set_default_device(None)
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)
    torch.set_grad_enabled(grad)
    torch.use_deterministic_algorithms(False)
    torch.autograd.set_detect_anomaly(False)
    torch.set_float32_matmul_precision("highest")
    torch.backends.mkldnn.enabled = True
    torch.set_printoptions(profile="default")
    np.seterr(**numpy_errors)
    np.set_printoptions(**numpy_print)
    torch.set_rng_state(rng[0])
    np.random.set_state(rng[1])
    random.setstate(rng[2])


def observed_in_a_call(read: Callable[[], Any], seed: int | None = None) -> tuple[Any, dict[str, Any]]:
    seen = []

    def student_function(x: torch.Tensor) -> torch.Tensor:
        seen.append(read())
        return x

    outcome = run_call({"f": student_function}, {"function": "f", "seed": seed}, [encode(np.ones(2, dtype=np.float32))], limit=30)
    return (seen[0] if seen else None), outcome


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_a_call_sees_the_defaults_and_the_notebook_gets_its_setting_back(setting):
    token = setting.set_by_notebook()
    try:
        left_by_notebook = setting.read()
        assert left_by_notebook != setting.default  # the setting took: the test can fail
        inside, outcome = observed_in_a_call(setting.read)
        assert outcome["ok"], outcome
        assert inside == setting.default
        assert setting.read() == left_by_notebook
    finally:
        setting.undo(token)


def test_every_setting_at_once_and_back():
    tokens = [setting.set_by_notebook() for setting in SETTINGS]
    try:
        left_by_notebook = [setting.read() for setting in SETTINGS]
        inside, outcome = observed_in_a_call(lambda: [setting.read() for setting in SETTINGS])
        assert outcome["ok"], outcome
        assert inside == [setting.default for setting in SETTINGS]
        assert [setting.read() for setting in SETTINGS] == left_by_notebook
    finally:
        for setting, token in reversed(list(zip(SETTINGS, tokens, strict=True))):
            setting.undo(token)


@pytest.mark.parametrize(
    "misbehaves",
    [
        pytest.param(lambda: 1 / 0, id="raises"),
        pytest.param(lambda: sys.exit(3), id="exits"),
        pytest.param(lambda: _forever(), id="times out"),
    ],
)
def test_the_notebooks_settings_come_back_when_a_call_fails(misbehaves):
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    outcome = run_call({"f": lambda x: misbehaves()}, {"function": "f"}, [encode(np.ones(1))], limit=0.5)
    assert not outcome["ok"]
    assert torch.get_default_dtype() == torch.float64 and not torch.is_grad_enabled()


def test_what_a_function_sets_inside_a_call_stays_in_that_call():
    def sets_globals(x):
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        np.seterr(all="raise")
        return x

    seen = []
    request = {
        "call_time_limit": 30,
        "inputs": {"x": [encode(np.ones(1))]},
        "calls": [{"id": "a", "function": "sets", "inputs": "x"}, {"id": "b", "function": "reads", "inputs": "x"}],
    }
    reads = lambda x: seen.append((torch.get_default_dtype(), torch.is_grad_enabled(), np.geterr()["over"])) or x  # noqa: E731
    results = run_probes({"sets": sets_globals, "reads": reads}, request)
    assert all(result["ok"] for result in results["calls"].values())
    assert seen == [(torch.float32, True, "warn")]
    assert (torch.get_default_dtype(), torch.is_grad_enabled(), np.geterr()["over"]) == (torch.float32, True, "warn")


def test_a_value_computed_in_float64_by_choice_is_kept_as_computed():
    outcome = run_call({"f": lambda x: x.double() * 3}, {"function": "f"}, [encode(np.ones(2, dtype=np.float32))], limit=30)
    value = decode(outcome["value"], max_elements=2)
    assert value.dtype == np.float64 and value.tolist() == [3.0, 3.0]


# ----------------------------------------------------------------------------- random streams


def draws() -> tuple[list[float], list[float], float]:
    """What a sampler could draw from each global stream."""
    return torch.randn(3).tolist(), np.random.standard_normal(3).tolist(), random.random()  # noqa: S311


def test_a_seeded_call_draws_from_that_seed_and_the_notebooks_streams_continue_untouched():
    torch.manual_seed(11)
    np.random.seed(12)
    random.seed(13)
    saved = torch.get_rng_state(), np.random.get_state(), random.getstate()
    notebooks_next = draws()
    torch.set_rng_state(saved[0])
    np.random.set_state(saved[1])
    random.setstate(saved[2])

    inside, outcome = observed_in_a_call(draws, seed=5)
    assert outcome["ok"]
    fresh = (
        torch.randn(3, generator=torch.Generator().manual_seed(5)).tolist(),
        np.random.RandomState(5).standard_normal(3).tolist(),
        random.Random(5).random(),  # noqa: S311
    )
    assert inside == fresh
    assert draws() == notebooks_next


def test_a_repeat_continues_the_probes_stream_not_the_notebooks():
    seen = []
    request = {
        "call_time_limit": 30,
        "inputs": {"x": [encode(np.ones(1))]},
        "calls": [
            {"id": "first", "function": "f", "inputs": "x", "seed": 7},
            {"id": "repeat", "function": "f", "inputs": "x", "seed": None},
        ],
    }
    torch.manual_seed(99)
    run_probes({"f": lambda x: seen.append(torch.randn(2).tolist()) or x}, request)
    stream = torch.Generator().manual_seed(7)
    assert seen == [torch.randn(2, generator=stream).tolist(), torch.randn(2, generator=stream).tolist()]


def test_a_no_op_manual_seed_does_not_unseed_the_grader(monkeypatch):
    monkeypatch.setattr(torch, "manual_seed", lambda seed: None)
    first, _ = observed_in_a_call(lambda: torch.randn(4).tolist(), seed=3)
    torch.randn(100)  # the notebook moves its own stream in between
    second, _ = observed_in_a_call(lambda: torch.randn(4).tolist(), seed=3)
    assert first == second


# ----------------------------------------------------------------------------- the experiment's model

SPEC = {"seed": 3, "latent": 4, "hidden": 16, "lr": 1e-3, "batch_size": 32, "steps": 12}


def small_training(loss: Callable[..., Any] = vae_loss) -> tuple[np.ndarray, ...]:
    images = np.random.RandomState(1).rand(112, 784).astype(np.float32)
    with KnownState().around(seed=None):  # where run_experiment reads the grader's data, from numpy
        train, held_out = torch.from_numpy(images[:96]), torch.from_numpy(images[96:])
        return tuple(t.detach().float().numpy() for t in train_once(loss, train, held_out, 1.0, SPEC))


def test_the_experiments_model_does_not_change_with_the_notebooks_globals_or_replaced_torch_names(monkeypatch):
    clean = small_training()
    tokens = [setting.set_by_notebook() for setting in SETTINGS]
    monkeypatch.setattr(torch, "manual_seed", lambda seed: None)
    monkeypatch.setattr(torch, "randn_like", lambda t, **kwargs: torch.zeros_like(t))
    monkeypatch.setattr(torch, "randn", lambda *args, **kwargs: torch.zeros(*args))
    try:
        polluted = small_training()
    finally:
        for setting, token in reversed(list(zip(SETTINGS, tokens, strict=True))):
            setting.undo(token)
    assert all(np.array_equal(a, b) for a, b in zip(clean, polluted, strict=True))


def test_a_loss_that_draws_random_numbers_does_not_move_the_models_noise():
    def loss_that_draws(*args, **kwargs):
        torch.rand(5)
        np.random.rand(5)
        random.random()  # noqa: S311
        return vae_loss(*args, **kwargs)

    assert all(np.array_equal(a, b) for a, b in zip(small_training(), small_training(loss_that_draws), strict=True))
