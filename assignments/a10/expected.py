"""Assignment 10's expected values: its reference and every misconception variant on one probe plan.

The reference is `reference/a10/` (instructor-only); its values on the public inputs are also
stored in `reference/a10/expected/public.json`, keyed by the reference's content hash, so a
self-check runs from stored values (`python -m assignments.a10.expected` rewrites it; `make reference`).
The experiment is trained in the grader with the kernel's own `train_once`, so a student's run and
the reference's differ only in the loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from functools import partial
from typing import Any

from assignments.a10.contract import CLOSED_FORM, REPARAMETERIZE, VAE_LOSS
from assignments.a10.kernel import read_idx_images, train_once
from assignments.a10.plan import ExperimentSpec, build_plan
from graders.judge.expected import ExpectedValues, TrainedRuns, store_reference, stored_reference, variant_results
from graders.judge.probes import ProbePlan, evaluate_in_process
from graders.runtime import probe_runtime
from reference import content_hash
from reference.a10 import REFERENCE_DIR
from reference.a10 import closed_form as closed_form_module
from reference.a10 import vae as vae_module
from reference.a10.misconceptions import closed_form_variant, flag_subsets, vae_loss_variant

STORED_PUBLIC = REFERENCE_DIR / "expected" / "public.json"
FUNCTIONS = (CLOSED_FORM.name, VAE_LOSS.name, REPARAMETERIZE.name)


def reference_hash() -> str:
    return content_hash(REFERENCE_DIR)  # the same as ASSIGNMENT.reference_hash(), which imports none of this


def reference_namespace() -> dict[str, Any]:
    return {
        CLOSED_FORM.name: closed_form_module.closed_form,
        VAE_LOSS.name: vae_module.vae_loss,
        REPARAMETERIZE.name: vae_module.reparameterize,
    }


def variant_namespaces() -> dict[str, tuple[tuple[frozenset[str], Mapping[str, Any]], ...]]:
    """Each function with catalogued variants: (flags, a namespace defining it), smallest flag sets first."""
    return {
        CLOSED_FORM.name: tuple(
            (flags, {CLOSED_FORM.name: partial(closed_form_variant, flags=flags)}) for flags in flag_subsets(CLOSED_FORM.name)
        ),
        VAE_LOSS.name: tuple((flags, {VAE_LOSS.name: vae_loss_variant(flags)}) for flags in flag_subsets(VAE_LOSS.name)),
    }


def compute_expected(plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
    """`prefer_stored`: take the reference side from the stored public values when they are fresh."""
    stored = stored_reference(STORED_PUBLIC, reference_hash(), plan) if prefer_stored else None
    reference = stored or evaluate_in_process(plan, reference_namespace(), FUNCTIONS)
    trainer = partial(_train, plan.experiment) if isinstance(plan.experiment, ExperimentSpec) else None
    return ExpectedValues(reference, variant_results(plan, variant_namespaces()), reference_hash(), TrainedRuns(trainer))


def _train(spec: ExperimentSpec, flags: frozenset[str]) -> Mapping[str, Any]:
    """The experiment trained with the reference loss (no flags) or a variant's, decoded like a student's."""
    import torch

    loss_fn: Callable[..., Any] = vae_module.vae_loss if not flags else vae_loss_variant(flags)
    settings = asdict(spec)
    train = torch.from_numpy(read_idx_images(spec.train_images, spec.train_size))
    held_out = torch.from_numpy(read_idx_images(spec.eval_images, spec.eval_size))
    runs = {}
    for weight in spec.weights:
        encoded = probe_runtime.encode(train_once(loss_fn, train, held_out, float(weight), settings))
        runs[str(float(weight))] = probe_runtime.decode(encoded, max_elements=spec.max_value_elements())
    return runs


if __name__ == "__main__":
    public = build_plan(seed=0, hidden=False, data_dir=None)
    store_reference(STORED_PUBLIC, reference_hash(), public, reference_namespace(), FUNCTIONS)
    print(f"wrote {STORED_PUBLIC} for reference {reference_hash()}")
