"""Assignment 11's probe plan: the public inputs and the hidden ones drawn from the grading seed.

Every public input is chosen to tell each catalogued mistake from the reference (tests/a11 checks it
with graders/judge/separation.py): d_k = 4, so √d_k and d_k differ; fewer queries than keys; a causal
mask with hidden keys in most rows and a padding mask with one query that may attend to nothing;
logits near 1000, where exp overflows in float32 and float64 alike; layer-norm rows of four features,
one of them with a variance far below ε. The hidden inputs add batches with several heads, other
lengths and widths, masks broadcast over the heads, and larger logits.
The experiment (kernel.py) reads attention's weights at d_k = 4 and 256.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass

import numpy as np

from assignments.a11 import kernel
from assignments.a11.contract import ATTENTION, CAUSAL_MASK, LAYER_NORM, SOFTMAX
from graders.judge.probes import Case, ProbePlan

_PUBLIC_RNG_SEED = 20262
KERNEL_SOURCE = inspect.getsource(kernel)
SETTINGS = ("scaled", "unscaled")


@dataclass(frozen=True)
class EntropySpec:
    """experiment.entropy: the weights of 8 queries over 8 keys at each d_k, scaled and with the scale undone."""

    seed: int
    dims: tuple[int, ...] = (4, 256)
    queries: int = 8

    def max_value_elements(self) -> int:
        return len(self.dims) * len(SETTINGS) * self.queries * self.queries


def experiment_seed(seed: int) -> int:
    """Derived one way from the grading seed: the request carries it into the notebook, where it must reveal no hidden input."""
    return int.from_bytes(hashlib.sha256(b"a11 attention entropy\0" + str(seed).encode()).digest()[:4], "big") >> 1


def _normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def _causal(size: int) -> np.ndarray:
    return np.tril(np.ones((size, size), dtype=bool))


def _padding_mask(heads_axis: bool, keys_kept: tuple[int, ...], queries: int, empty_query: tuple[int, int]) -> np.ndarray:
    """Batch b may attend to its first keys_kept[b] keys; the query `empty_query` = (batch, row) to none."""
    keys = queries
    mask = np.zeros((len(keys_kept), queries, keys), dtype=bool)
    for batch, kept in enumerate(keys_kept):
        mask[batch, :, :kept] = True
    mask[empty_query] = False
    return mask[:, None] if heads_axis else mask


def _attention(name: str, public: bool, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None) -> Case:
    args = (q, k, v) if mask is None else (q, k, v, mask)
    return Case(ATTENTION.name, name, public, args)


def _causal_mask_case(name: str, public: bool, size: int) -> Case:
    return Case(CAUSAL_MASK.name, name, public, (size,), extra_value_elements=size * size)


def public_cases() -> tuple[Case, ...]:
    """Fixed inputs students may see; the self-check runs only these."""
    rng = np.random.default_rng(_PUBLIC_RNG_SEED)
    logits = np.array([[1.0, 2.0, 3.0, 4.0], [1000.0, 999.0, 0.0, -5.0], [-2.0, 0.5, 0.5, 3.0]], dtype=np.float32)
    rows = np.stack([_normal(rng, 4), 10.0 * _normal(rng, 4) + 50.0, 1e-3 * _normal(rng, 4)]).astype(np.float32)
    return (
        Case(SOFTMAX.name, "public", True, (logits,)),
        Case(SOFTMAX.name, "public-dim", True, (_normal(rng, 2, 3, 4, scale=2.0), 1)),
        _causal_mask_case("public", True, 4),
        _attention("public", True, _normal(rng, 2, 3, 4), _normal(rng, 2, 5, 4), _normal(rng, 2, 5, 3)),
        _attention("public-causal", True, _normal(rng, 1, 4, 4), _normal(rng, 1, 4, 4), _normal(rng, 1, 4, 4), _causal(4)),
        _attention(
            "public-padded",
            True,
            _normal(rng, 2, 4, 4),
            _normal(rng, 2, 4, 4),
            _normal(rng, 2, 4, 3),
            _padding_mask(False, (3, 2), 4, (1, 3)),
        ),
        Case(LAYER_NORM.name, "public", True, (rows, _normal(rng, 4), _normal(rng, 4))),
        Case(LAYER_NORM.name, "public-3d", True, (_normal(rng, 2, 3, 4, scale=3.0), _normal(rng, 4), _normal(rng, 4))),
    )


def hidden_cases(seed: int) -> tuple[Case, ...]:
    """Inputs drawn from the grading seed: same seed, same inputs, for every student."""
    rng = np.random.default_rng(seed)
    # Logits are either small (|x| < ~50) or past 709, where exp overflows in float64 as in float32:
    # an unstable softmax fails the same way whichever precision the student computes in.
    large = _normal(rng, 2, 3, 6, scale=10.0)
    large[0, 0] += 2000.0  # a whole row of huge logits: only a stable softmax survives it
    large[1, 2, 1] += 1500.0
    columns = _normal(rng, 4, 5, scale=10.0)
    columns[2] += 3000.0
    columns[0, 3] += 800.0
    tiny = _normal(rng, 6, 16)
    tiny[[1, 4]] *= 1e-3  # rows whose variance is far below ε
    return (
        Case(SOFTMAX.name, "hidden-1", False, (large,)),
        Case(SOFTMAX.name, "hidden-2", False, (columns, 0)),
        _causal_mask_case("hidden-1", False, 1),
        _causal_mask_case("hidden-2", False, 7),
        _attention("hidden-heads", False, _normal(rng, 2, 3, 5, 8), _normal(rng, 2, 3, 7, 8), _normal(rng, 2, 3, 7, 6)),
        _attention("hidden-causal", False, _normal(rng, 2, 2, 6, 8), _normal(rng, 2, 2, 6, 8), _normal(rng, 2, 2, 6, 5), _causal(6)),
        _attention(
            "hidden-padded",
            False,
            _normal(rng, 2, 2, 5, 4),
            _normal(rng, 2, 2, 5, 4),
            _normal(rng, 2, 2, 5, 4),
            _padding_mask(True, (4, 3), 5, (0, 4)),
        ),
        Case(LAYER_NORM.name, "hidden-1", False, (_normal(rng, 2, 5, 8, scale=2.0), _normal(rng, 8), _normal(rng, 8))),
        Case(LAYER_NORM.name, "hidden-2", False, (tiny, _normal(rng, 16), _normal(rng, 16))),
    )


def build_plan(*, seed: int, hidden: bool) -> ProbePlan:
    return ProbePlan(
        cases=public_cases() + (hidden_cases(seed) if hidden else ()),
        experiment=EntropySpec(experiment_seed(seed)),
        kernel_source=KERNEL_SOURCE,
        experiment_timeout_message=kernel.EXPERIMENT_TIMEOUT,
    )
