"""Assignment 11's kernel-side code: the experiment, attention weights at small and large d_k, with and without the scale.

Its source travels in the probe request and runs in the student's kernel beside the probe runtime, so
it imports nothing of the harness (what it needs of the runtime comes as `tools`). With v = I the
output of attention is its weights; q · √d_k undoes the function's own scaling, so the same call shows
the weights without the scale. The grader runs the very same `weights_at` with the reference and each
named mistake's attention (assignments/a11/expected.py). It costs a few small matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

EXPERIMENT_TIMEOUT = "the attention experiment with your scaled_dot_product_attention did not finish in time"


def weights_at(attention: Callable[..., Any], spec: Mapping[str, Any], d_k: int) -> tuple[Any, Any]:
    """The (queries, queries) weights of `attention` on seeded q and k of width d_k: scaled, and with the scale undone."""
    import torch

    rng = np.random.default_rng([int(spec["seed"]), d_k])
    q = torch.from_numpy(rng.standard_normal((spec["queries"], d_k)).astype(np.float32))
    k = torch.from_numpy(rng.standard_normal((spec["queries"], d_k)).astype(np.float32))
    v = torch.eye(int(spec["queries"]))
    return attention(q, k, v), attention(q * math.sqrt(d_k), k, v)


def run_experiment(namespace: Mapping[str, Any], spec: Mapping[str, Any], tools: Any) -> dict[str, Any]:
    attention = namespace.get("scaled_dot_product_attention")
    if not callable(attention):
        return dict(tools.failure("missing", message="no function named 'scaled_dot_product_attention' is defined"))
    try:
        runs = {str(d_k): tools.encode(weights_at(attention, spec, int(d_k))) for d_k in spec["dims"]}
    except tools.ProbeTimeout as exc:
        return dict(tools.failure("timeout", exc))
    except BaseException as exc:  # noqa: BLE001 - a student's failure is data, as in the probe runtime
        return dict(tools.failure("exception", exc))
    return {"ok": True, "value": {"kind": "experiment", "runs": runs}}
