"""Assignment 10's kernel-side code: the experiment, training one fixed small VAE with the student's `vae_loss`.

Its source text travels in the probe request and runs in the student's kernel beside the harness's
probe runtime (graders.runtime.probe_runtime), so it imports nothing of the harness: what it needs
of the runtime (encoding, failures, the time-limit exception) comes as `tools`. The grader runs the
very same `train_once` with the reference loss and each variant's (assignments.a10.expected).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

EXPERIMENT_TIMEOUT = "the training run with your vae_loss did not finish in time"
IDX_IMAGES = 2051  # the magic number opening an IDX file of images


class Tools(Protocol):
    """What the probe runtime lends this code (graders.runtime.probe_runtime.TOOLS): it encodes and fails the same way."""

    ProbeTimeout: type[BaseException]

    def encode(self, value: Any) -> Any: ...

    def failure(self, kind: str, exc: BaseException | None = None, message: str = "") -> dict[str, Any]: ...


def read_idx_images(path: str, count: int) -> np.ndarray:
    """First `count` images of an IDX3 file as float32 rows in [0, 1]."""
    with open(path, "rb") as handle:
        magic, total, rows, cols = np.frombuffer(handle.read(16), dtype=">i4")
        if magic != IDX_IMAGES:
            raise ValueError(f"{path} is not an IDX image file")
        count = min(count, int(total))
        pixels = np.frombuffer(handle.read(count * rows * cols), dtype=np.uint8)
    return pixels.reshape(count, rows * cols).astype(np.float32) / 255.0


def run_experiment(namespace: Mapping[str, Any], spec: Mapping[str, Any], tools: Tools) -> dict[str, Any]:
    """Train one fixed small VAE with the student's `vae_loss` at each weight, from the same seed.

    Returns the trained models' reconstructions and posteriors on held-out images; the grader
    compares them with the same training run with the reference loss, which it runs itself.
    """
    loss_fn = namespace.get("vae_loss")
    if not callable(loss_fn):
        return tools.failure("missing", message="no function named 'vae_loss' is defined")
    try:
        import torch

        train = torch.from_numpy(read_idx_images(spec["train_images"], spec["train_size"]))
        held_out = torch.from_numpy(read_idx_images(spec["eval_images"], spec["eval_size"]))
        adapted = _ShapeAdapter(loss_fn, tools.ProbeTimeout)
        runs = {str(weight): tools.encode(train_once(adapted, train, held_out, float(weight), spec)) for weight in spec["weights"]}
    except tools.ProbeTimeout as exc:
        return tools.failure("timeout", exc)
    except BaseException as exc:  # noqa: BLE001
        return tools.failure("exception", exc)
    return {"ok": True, "value": {"kind": "experiment", "runs": runs, "reshaped_x": adapted.flat}}


class _ShapeAdapter:
    """The loss as the handout calls it, or, if that raises on the first batch, with x flattened like x_hat.

    The same convention `run_call` retries: a loss written for a training loop that flattens x first
    is still trained and graded on what it computes (the grader names the convention separately).
    """

    def __init__(self, loss_fn: Callable[..., Any], timeout: type[BaseException]) -> None:
        self.loss_fn = loss_fn
        self.timeout = timeout
        self.flat: bool | None = None  # decided on the first call

    def __call__(self, x: Any, x_hat: Any, mu: Any, logvar: Any, kl_loss_weight: float) -> Any:
        if self.flat is None:
            try:
                loss = self.loss_fn(x, x_hat, mu, logvar, kl_loss_weight=kl_loss_weight)
            except self.timeout:
                raise
            except Exception:  # noqa: BLE001 - any failure with the handout's shapes earns one retry
                loss = self.loss_fn(x.reshape(x_hat.shape), x_hat, mu, logvar, kl_loss_weight=kl_loss_weight)
                self.flat = True
            else:
                self.flat = False
            return loss
        return self.loss_fn(x.reshape(x_hat.shape) if self.flat else x, x_hat, mu, logvar, kl_loss_weight=kl_loss_weight)


def train_once(loss_fn: Callable[..., Any], train: Any, held_out: Any, weight: float, spec: Mapping[str, Any]) -> Any:
    """One training run: (x_hat, mu, logvar) on the held-out images; the grader runs this very function with the reference loss.

    Its randomness (initial weights, the noise of z) comes from its own generator, through torch's C
    extension rather than the `torch.*` names a notebook can replace (`torch.manual_seed = ...`), so
    neither a notebook's random streams nor what its loss draws changes the grader's model; the model
    and its data are float32 on the CPU whatever the notebook set as defaults.
    """
    import torch
    from torch import nn

    generator = torch._C.Generator()
    generator.manual_seed(spec["seed"])
    latent, hidden = spec["latent"], spec["hidden"]
    encoder = nn.Sequential(_linear(784, hidden, generator), nn.ReLU(), _linear(hidden, 2 * latent, generator))
    decoder = nn.Sequential(_linear(latent, hidden, generator), nn.ReLU(), _linear(hidden, 784, generator), nn.Sigmoid())
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimiser = torch.optim.Adam(params, lr=spec["lr"])
    train, held_out = train.to(dtype=torch.float32, device="cpu"), held_out.to(dtype=torch.float32, device="cpu")
    batch = spec["batch_size"]
    for step in range(spec["steps"]):
        start = (step * batch) % train.shape[0]
        x = train[start : start + batch]
        # The encoder gives the log of the standard deviation: the loss gets the log-variance it
        # expects, and this file, which students can read, holds no line of their sampler.
        mu, log_scale = encoder(x).chunk(2, dim=1)
        noise = torch._C._VariableFunctions.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        z = torch.addcmul(mu, log_scale.exp(), noise)
        loss = loss_fn(x.view(-1, 1, 28, 28), decoder(z), mu, 2 * log_scale, kl_loss_weight=weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        mu, log_scale = encoder(held_out).chunk(2, dim=1)
        x_hat = decoder(mu)
    return (x_hat.to(torch.float16), mu, 2 * log_scale)


def _linear(inputs: int, outputs: int, generator: Any) -> Any:
    """A float32 CPU `nn.Linear` initialised from `generator` by torch's own rule for it (weight and bias
    uniform in ±1/√inputs), drawn in the order `nn.Linear` draws them."""
    import torch
    from torch import nn

    layer = nn.Linear(inputs, outputs, dtype=torch.float32, device="cpu")
    bound = 1 / math.sqrt(inputs)
    with torch.no_grad():
        for parameter in (layer.weight, layer.bias):
            torch._C.TensorBase.uniform_(parameter, -bound, bound, generator=generator)
    return layer
