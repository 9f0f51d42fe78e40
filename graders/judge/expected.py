"""Expected values: the reference and every misconception variant, evaluated on one probe plan.

Computed once per batch in the grader process (the same inputs serve every student) and
shared by all checks. The reference's values for the public inputs are also stored in
`reference/expected/public.json`, keyed by the reference's content hash, so that a
self-check can run from stored values (the seam for a student kit without `reference/`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np

from graders.assignment import probe_runtime
from graders.judge.probes import ExperimentSpec, ProbePlan, ProbeResults, build_plan, decode_results, evaluate_in_process
from reference import REFERENCE_DIR, reference_hash
from reference import closed_form as closed_form_module
from reference import vae as vae_module
from reference.misconceptions import closed_form_variant, flag_subsets, vae_loss_variant

# How close the student's trained outputs must be to the same training with the reference loss.
# Measured (tests/judge/test_checks.py): float32 and float64 losses, a hand-written BCE and a
# torch.distributions KL end within ~1e-5 of the reference; x_hat travels as float16 (steps of
# 2^-11 near 1), so it gets a few of those steps. Every catalogued mistake ends 1e-2 or more away.
TRAINED_XHAT_ATOL = 4e-3
TRAINED_POSTERIOR_TOLERANCE = (1e-3, 1e-3)  # rtol, atol for mu and logvar

STORED_PUBLIC = REFERENCE_DIR / "expected" / "public.json"
FUNCTIONS = ("closed_form", "vae_loss", "reparameterize")


def reference_namespace() -> dict[str, Any]:
    return {
        "closed_form": closed_form_module.closed_form,
        "vae_loss": vae_module.vae_loss,
        "reparameterize": vae_module.reparameterize,
    }


def _variant_namespace(function: str, flags: frozenset[str]) -> dict[str, Any]:
    if function == "closed_form":
        return {"closed_form": partial(closed_form_variant, flags=flags)}
    return {"vae_loss": vae_loss_variant(flags)}


class TrainedRuns:
    """The experiment trained in the grader with the reference loss or a variant's: each once per batch, on demand.

    The training function is the probe runtime's own (`train_once`), so student and reference runs
    differ only in the loss.
    """

    def __init__(self, spec: ExperimentSpec | None) -> None:
        self.spec = spec
        self._runs: dict[frozenset[str], Mapping[str, Any]] = {}

    def __call__(self, flags: frozenset[str]) -> Mapping[str, Any] | None:
        if self.spec is None:
            return None
        if flags not in self._runs:
            self._runs[flags] = self._train(vae_module.vae_loss if not flags else vae_loss_variant(flags))
        return self._runs[flags]

    def _train(self, loss_fn: Any) -> Mapping[str, Any]:
        import torch

        assert self.spec is not None
        spec = asdict(self.spec)
        train = torch.from_numpy(probe_runtime.read_idx_images(spec["train_images"], spec["train_size"]))
        held_out = torch.from_numpy(probe_runtime.read_idx_images(spec["eval_images"], spec["eval_size"]))
        runs = {}
        for weight in self.spec.weights:
            encoded = probe_runtime.train_once(loss_fn, train, held_out, float(weight), spec)
            runs[str(float(weight))] = probe_runtime.decode(encoded, max_elements=self.spec.max_value_elements())
        return runs


def runs_agree(student: Mapping[str, Any], reference: Mapping[str, Any] | None) -> bool:
    """Whether two trainings ended at the same reconstructions and posteriors (NaN where both diverged)."""
    if reference is None or set(student) != set(reference):
        return False
    rtol, atol = TRAINED_POSTERIOR_TOLERANCE
    for weight, (x_hat, mu, logvar) in student.items():
        ref_x_hat, ref_mu, ref_logvar = reference[weight]
        if not np.allclose(x_hat.astype(np.float64), ref_x_hat.astype(np.float64), rtol=0, atol=TRAINED_XHAT_ATOL, equal_nan=True):
            return False
        if not all(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True) for a, b in ((mu, ref_mu), (logvar, ref_logvar))):
            return False
    return True


@dataclass(frozen=True)
class ExpectedValues:
    reference: ProbeResults
    # function -> [(flags, results)], smallest flag sets first: the first match is the simplest story.
    variants: Mapping[str, tuple[tuple[frozenset[str], ProbeResults], ...]]
    reference_hash: str
    trained: TrainedRuns = field(default_factory=lambda: TrainedRuns(None))


def compute_expected(plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
    """`prefer_stored`: take the reference side from the stored public values when they are fresh."""
    variants = {
        function: tuple(
            (flags, evaluate_in_process(plan, _variant_namespace(function, flags), (function,))) for flags in flag_subsets(function)
        )
        for function in ("closed_form", "vae_loss")
    }
    stored = stored_public_reference(plan) if prefer_stored else None
    reference = stored or evaluate_in_process(plan, reference_namespace(), FUNCTIONS)
    return ExpectedValues(reference, variants, reference_hash(), TrainedRuns(plan.experiment))


def stored_public_reference(plan: ProbePlan | None = None) -> ProbeResults | None:
    """The stored reference values for the public inputs, or None when stale or absent."""
    if not STORED_PUBLIC.exists():
        return None
    stored = json.loads(STORED_PUBLIC.read_text(encoding="utf-8"))
    if stored.get("reference_hash") != reference_hash():
        return None
    return decode_results(stored["results"], plan or build_plan(seed=0, hidden=False, data_dir=None))


def public_reference_document(plan: ProbePlan) -> dict[str, Any]:
    """What `python -m reference.expected` stores: raw encoded results plus the hash they belong to."""
    from graders.assignment.probe_runtime import run_probes

    raw = run_probes(reference_namespace(), plan.request(FUNCTIONS))
    for call in raw["calls"].values():
        call.pop("seconds", None)  # timings would make the stored file differ on every run
    return {"reference_hash": reference_hash(), "results": raw}


if __name__ == "__main__":
    document = public_reference_document(build_plan(seed=0, hidden=False, data_dir=None))
    STORED_PUBLIC.parent.mkdir(parents=True, exist_ok=True)
    STORED_PUBLIC.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {STORED_PUBLIC} for reference {document['reference_hash']}")
