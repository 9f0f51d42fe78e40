"""Assignment 10's probe plan: the public inputs, the hidden ones drawn from the grading seed, and the experiment.

The inputs mirror the handout: closed_form on (x₀, t, alphas); vae_loss on x as the DataLoader gives
it and x_hat from a (B, 784) sigmoid decoder, at four KL weights; reparameterize on many identical
rows, so that its draws can be tested as a sample, and once more with mu and logvar requiring grad, so that
its gradients can be compared with a reparameterised sample's. The experiment trains the kernel's small VAE
(assignments/a10/kernel.py) with the student's loss at weights 0 and 30.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assignments.a10 import kernel
from assignments.a10.contract import CLOSED_FORM, IMAGE_SHAPE, KL_WEIGHT, PIXELS, REPARAMETERIZE, VAE_LOSS
from assignments.a10.dataset import RAW
from assignments.a10.kernel import EXPERIMENT_TIMEOUT
from graders.judge.probes import Case, GradientProbe, ProbePlan

VAE_WEIGHTS = (0.0, 1.0, 0.5, 30.0)
REPARAM_DRAWS = 2000
# The weights of z's elements in the gradient call's sum(z · w): none zero, exact in float32, few enough to compress.
PROJECTION_WEIGHTS = (-1.5, -1.0, -0.5, 0.5, 1.0, 1.5)
KERNEL_SOURCE = inspect.getsource(kernel)


@dataclass(frozen=True)
class ExperimentSpec:
    """The training run of experiment.kl_tradeoff, sized to cost a fraction of the student's own.

    12 steps of 32 images already separate the two weights by thousands of nats of reconstruction
    and hundreds of nats of KL, for the reference and for every catalogued misconception alone or
    in pairs; the verdicts are the same as with 20 steps of 64 (tests/test_checks.py checks the margins).
    """

    train_images: str
    eval_images: str
    seed: int
    weights: tuple[float, float] = (0.0, 30.0)
    train_size: int = 256
    eval_size: int = 32
    steps: int = 12
    batch_size: int = 32
    latent: int = 4
    hidden: int = 64
    lr: float = 3e-3

    def max_value_elements(self) -> int:
        """x_hat, mu and logvar on the held-out images, for each weight."""
        return len(self.weights) * self.eval_size * (784 + 2 * self.latent)


def public_cases() -> tuple[Case, ...]:
    """Fixed inputs students may see; the self-check runs only these."""
    x0 = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    # More alphas than t: alphas[:t+1] (off_by_one_index) must differ from the answer here too (issue 22).
    alphas = np.array([0.9, 0.8, 0.7, 0.6, 0.5], dtype=np.float32)
    rng = np.random.default_rng(20241)
    return (
        _closed_form_case("public", True, (x0, 3, alphas)),
        Case(
            VAE_LOSS.name,
            "public",
            True,
            # Three rows: with two, a KL averaged over the batch with its ½ missing (kl_batch_mean +
            # kl_missing_half) equals the answer.
            _vae_inputs(rng, batch=3, latent=2, image_shaped=True),
            weights=VAE_WEIGHTS,
            weight_keyword=KL_WEIGHT,
            reshape_x_on_error=True,
        ),
        Case(
            REPARAMETERIZE.name,
            "public",
            True,
            _reparam_inputs(np.array([0.0, 1.0, -2.0, 0.5]), np.array([-1.0, 0.5, 1.2, -2.0])),
            seed=7,
            repeat=True,
            gradient=_gradient_probe(np.random.default_rng(20242), latent=4),
        ),
    )


def hidden_cases(seed: int) -> tuple[Case, ...]:
    """Inputs drawn from the grading seed: same seed, same inputs, for every student."""
    rng = np.random.default_rng(seed)
    cases = []
    for index, (t, steps, shape) in enumerate(((3, 8, (2, 1, 4, 4)), (1, 5, (5,)), (6, 9, (3, 2))), start=1):
        alphas = rng.uniform(0.85, 0.99, size=steps).astype(np.float32)
        x0 = rng.standard_normal(shape).astype(np.float32)
        cases.append(_closed_form_case(f"hidden-{index}", False, (x0, t, alphas)))
    for index, (batch, latent, image_shaped) in enumerate(((4, 8, True), (3, 2, False)), start=1):
        inputs = _vae_inputs(rng, batch, latent, image_shaped)
        cases.append(
            Case(VAE_LOSS.name, f"hidden-{index}", False, inputs, weights=VAE_WEIGHTS, weight_keyword=KL_WEIGHT, reshape_x_on_error=True)
        )
    mu = rng.uniform(-2.0, 2.0, size=4)
    logvar = rng.choice([-1.5, -0.7, 0.6, 1.3], size=4, replace=False)
    seed_of_draws = int(rng.integers(1, 2**31))
    # Drawn after every other hidden input, so that adding it changed none of them.
    gradient = _gradient_probe(rng, latent=len(mu))
    cases.append(
        Case(REPARAMETERIZE.name, "hidden-1", False, _reparam_inputs(mu, logvar), seed=seed_of_draws, repeat=True, gradient=gradient)
    )
    return tuple(cases)


def _vae_inputs(rng: np.random.Generator, batch: int, latent: int, image_shaped: bool) -> tuple[np.ndarray, ...]:
    # Mirrors the handout: x comes from the DataLoader, x_hat from a (B, 784) sigmoid decoder.
    x_shape = (batch, *IMAGE_SHAPE) if image_shaped else (batch, PIXELS)
    x = rng.uniform(0.0, 1.0, size=x_shape).astype(np.float32)
    x_hat = (1.0 / (1.0 + np.exp(-rng.standard_normal((batch, PIXELS))))).astype(np.float32)
    mu = rng.standard_normal((batch, latent)).astype(np.float32)
    logvar = (0.5 * rng.standard_normal((batch, latent))).astype(np.float32)
    return x, x_hat, mu, logvar


def _reparam_inputs(mu: np.ndarray, logvar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.ones((REPARAM_DRAWS, 1), dtype=np.float32)
    return rows * mu.astype(np.float32), rows * logvar.astype(np.float32)


def _gradient_probe(rng: np.random.Generator, latent: int) -> GradientProbe:
    """reparameterize(mu, logvar) called with both requiring grad; z's elements weighted at random in the sum."""
    projection = rng.choice(np.array(PROJECTION_WEIGHTS, dtype=np.float32), size=(REPARAM_DRAWS, latent))
    return GradientProbe(arguments=(0, 1), projection=projection)


def build_plan(*, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
    cases = public_cases() + (hidden_cases(seed) if hidden else ())
    experiment = None
    if data_dir is not None:
        raw = Path(data_dir) / RAW
        experiment = ExperimentSpec(str(raw / "train-images-idx3-ubyte"), str(raw / "t10k-images-idx3-ubyte"), seed=experiment_seed(seed))
    return ProbePlan(cases=cases, experiment=experiment, kernel_source=KERNEL_SOURCE, experiment_timeout_message=EXPERIMENT_TIMEOUT)


def _closed_form_case(name: str, public: bool, args: tuple[Any, ...]) -> Case:
    """Σ may come back as Σ·I over all of x₀: the grader decodes that matrix too."""
    return Case(CLOSED_FORM.name, name, public, args, extra_value_elements=int(np.size(args[0])) ** 2)


def experiment_seed(seed: int) -> int:
    """The experiment's training seed, derived one way from the grading seed: the probe request
    carries it into the notebook, and seeing it must reveal nothing else (the hidden inputs are
    drawn from the grading seed). The same for the whole batch, so the grader trains the
    reference and each variant once."""
    return int.from_bytes(hashlib.sha256(b"a10-grader experiment seed\0" + str(seed).encode()).digest()[:4], "big") >> 1
