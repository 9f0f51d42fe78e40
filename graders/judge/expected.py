"""Expected values: the reference and every misconception variant, evaluated on one probe plan.

Computed once per batch in the grader process (the same inputs serve every student) and
shared by all checks. The reference's values for the public inputs are also stored in
`reference/expected/public.json`, keyed by the reference's content hash, so that a
self-check can run from stored values (the seam for a student kit without `reference/`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from graders.judge.probes import ProbePlan, ProbeResults, decode_results, evaluate_in_process
from reference import REFERENCE_DIR, reference_hash
from reference import closed_form as closed_form_module
from reference import vae as vae_module
from reference.misconceptions import closed_form_variant, flag_subsets, vae_loss_variant

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


@dataclass(frozen=True)
class ExpectedValues:
    reference: ProbeResults
    # function -> [(flags, results)], smallest flag sets first: the first match is the simplest story.
    variants: Mapping[str, tuple[tuple[frozenset[str], ProbeResults], ...]]
    reference_hash: str


def compute_expected(plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
    """`prefer_stored`: take the reference side from the stored public values when they are fresh."""
    variants = {
        function: tuple(
            (flags, evaluate_in_process(plan, _variant_namespace(function, flags), (function,))) for flags in flag_subsets(function)
        )
        for function in ("closed_form", "vae_loss")
    }
    stored = stored_public_reference() if prefer_stored else None
    reference = stored or evaluate_in_process(plan, reference_namespace(), FUNCTIONS)
    return ExpectedValues(reference, variants, reference_hash())


def stored_public_reference() -> ProbeResults | None:
    """The stored reference values for the public inputs, or None when stale or absent."""
    if not STORED_PUBLIC.exists():
        return None
    stored = json.loads(STORED_PUBLIC.read_text(encoding="utf-8"))
    if stored.get("reference_hash") != reference_hash():
        return None
    return decode_results(stored["results"])


def public_reference_document(plan: ProbePlan) -> dict[str, Any]:
    """What `python -m reference.expected` stores: raw encoded results plus the hash they belong to."""
    from graders.assignment.probe_runtime import run_probes

    raw = run_probes(reference_namespace(), plan.request(FUNCTIONS))
    for call in raw["calls"].values():
        call.pop("seconds", None)  # timings would make the stored file differ on every run
    return {"reference_hash": reference_hash(), "results": raw}


if __name__ == "__main__":
    from graders.judge.probes import build_plan

    document = public_reference_document(build_plan(seed=0, hidden=False, data_dir=None))
    STORED_PUBLIC.parent.mkdir(parents=True, exist_ok=True)
    STORED_PUBLIC.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {STORED_PUBLIC} for reference {document['reference_hash']}")
