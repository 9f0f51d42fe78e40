"""Assignment 11's expected values: its reference and every misconception variant on one probe plan.

The reference is `reference/a11/` (instructor-only); its values on the public inputs are stored in
`reference/a11/expected/public.json`, keyed by the reference's content hash
(`python -m assignments.a11.expected` rewrites it), so a self-check runs from stored values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assignments.a11.contract import FUNCTIONS
from assignments.a11.experiment import trained_runs
from assignments.a11.plan import EntropySpec, build_plan
from graders.judge.expected import ExpectedValues, TrainedRuns, store_reference, stored_reference, variant_results
from graders.judge.probes import ProbePlan, evaluate_in_process
from reference import content_hash
from reference.a11 import REFERENCE_DIR, attention
from reference.a11.misconceptions import flag_subsets, variant

STORED_PUBLIC = REFERENCE_DIR / "expected" / "public.json"
NAMES = tuple(function.name for function in FUNCTIONS)


def reference_hash() -> str:
    return content_hash(REFERENCE_DIR)


def reference_namespace() -> dict[str, Any]:
    return {name: getattr(attention, name) for name in NAMES}


def variant_namespaces() -> dict[str, tuple[tuple[frozenset[str], Mapping[str, Any]], ...]]:
    """Each function's variants: (flags, a namespace defining it), single mistakes first, then pairs."""
    return {name: tuple((flags, {name: variant(name, flags)}) for flags in flag_subsets(name)) for name in NAMES}


def compute_expected(plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
    """`prefer_stored`: take the reference side from the stored public values when they are fresh."""
    stored = stored_reference(STORED_PUBLIC, reference_hash(), plan) if prefer_stored else None
    reference = stored or evaluate_in_process(plan, reference_namespace(), NAMES)
    trained = trained_runs(plan.experiment) if isinstance(plan.experiment, EntropySpec) else TrainedRuns(None)
    return ExpectedValues(reference, variant_results(plan, variant_namespaces()), reference_hash(), trained)


if __name__ == "__main__":
    store_reference(STORED_PUBLIC, reference_hash(), build_plan(seed=0, hidden=False), reference_namespace(), NAMES)
    print(f"wrote {STORED_PUBLIC} for reference {reference_hash()}")
