"""Typed provenance for tests that build results and runs by hand (what `triage.provenance` makes in a grade)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from graders.assignment.spec import Scoring
from graders.settings import GivenSeed, Provenance, RunSettings

SETTINGS = RunSettings(
    seed=GivenSeed(1),
    cell_timeout=120.0,
    notebook_timeout=900.0,
    memory_bytes=2 * 1024**3,
    disk_bytes=512 * 1024**2,
    hidden=True,
    scoring=Scoring.PER_MISTAKE,
    assignment_id="assignment-10",
    assignment_version="1",
)


def provenance(*, seed: int = 1, **changes: Any) -> Provenance:
    """A run's or a result's provenance; `changes` name Provenance or RunSettings fields."""
    settings_fields = {f.name for f in fields(RunSettings)}
    settings = replace(SETTINGS, seed=GivenSeed(seed), **{k: v for k, v in changes.items() if k in settings_fields})
    base = Provenance(
        grader_version="0.1.0",
        grader_fingerprint="fp-one",
        reference_hash="ref-one",
        cache_key="",
        settings=settings,
        executor="warm",
        python="3.11.7",
        torch="2.14.1",
    )
    return replace(base, **{k: v for k, v in changes.items() if k not in settings_fields})
