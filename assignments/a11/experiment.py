"""Assignment 11's experiment check: the attention weights' entropy at d_k = 4 and 256, scaled and not.

Run in the student's kernel with the student's attention (kernel.py); the grader runs the same with the
reference and with a named mistake's variant. The student's run passes when it ends where one of those
ends (graders/judge/kinds/experiment.py); the entropies are measured for staff and for the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from functools import partial
from typing import Any

import numpy as np

from assignments.a11.contract import ATTENTION
from assignments.a11.kernel import weights_at
from assignments.a11.observables import TOLERANCE
from assignments.a11.plan import SETTINGS, EntropySpec
from graders.judge.expected import TrainedRuns
from graders.judge.kinds.experiment import ExperimentCheck
from graders.judge.probes import Experiment
from graders.judge.probes import ExperimentSpec as HarnessExperimentSpec
from graders.runtime import probe_runtime
from reference.a11.attention import scaled_dot_product_attention
from reference.a11.misconceptions import variant


def trained_runs(spec: EntropySpec) -> TrainedRuns:
    return TrainedRuns(partial(_run, spec))


def _run(spec: EntropySpec, flags: frozenset[str]) -> Mapping[str, Any]:
    """The experiment with the reference's attention (no flags) or a variant's, decoded as a student's run is."""
    attention = variant(ATTENTION.name, flags) if flags else scaled_dot_product_attention
    settings = asdict(spec)
    return {
        str(d_k): probe_runtime.decode(probe_runtime.encode(weights_at(attention, settings, d_k)), max_elements=spec.max_value_elements())
        for d_k in spec.dims
    }


def _well_formed(trained: Experiment, spec: HarnessExperimentSpec) -> bool:
    if not isinstance(spec, EntropySpec):
        return False
    shape = (spec.queries, spec.queries)
    return set(trained.runs) == {str(d) for d in spec.dims} and all(
        isinstance(run, tuple) and len(run) == len(SETTINGS) and all(isinstance(w, np.ndarray) and w.shape == shape for w in run)
        for run in trained.runs.values()
    )


def _entropy(weights: np.ndarray) -> float:
    """Mean over queries of −Σ w log w, in nats (0 · log 0 = 0)."""
    w = np.asarray(weights, dtype=np.float64)
    terms = np.where(w > 0, -w * np.log(np.where(w > 0, w, 1.0)), 0.0)
    return float(terms.sum(axis=-1).mean())


def _measure(trained: Experiment, spec: HarnessExperimentSpec) -> dict[str, Any]:
    return {setting: {d: _entropy(run[index]) for d, run in trained.runs.items()} for index, setting in enumerate(SETTINGS)}


def _agrees(student: Mapping[str, Any], reference: Mapping[str, Any] | None) -> bool:
    if reference is None or set(student) != set(reference):
        return False
    return all(
        np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=TOLERANCE.rtol, atol=TOLERANCE.atol)
        for d in student
        for a, b in zip(student[d], reference[d], strict=True)
    )


def _diverged(runs: Mapping[str, Any]) -> bool:
    return any(not np.all(np.isfinite(np.asarray(w, dtype=np.float64))) for run in runs.values() for w in run)


def _failure(measured: dict[str, Any]) -> str:
    shown = "; ".join(f"d_k = {d}: {measured['scaled'][d]:.2f} scaled, {measured['unscaled'][d]:.2f} unscaled" for d in measured["scaled"])
    return (
        f"With v = I your attention returns its weights; their entropy (nats) was {shown}. The assignment's weights keep "
        "their entropy as d_k grows when scaled and collapse towards one-hot without the scale: yours are other weights."
    )


def entropy_check(check_id: str, title: str, points: float) -> ExperimentCheck:
    return ExperimentCheck(
        check_id,
        title,
        points,
        function=ATTENTION.name,
        run_with="your attention",
        well_formed=_well_formed,
        measure=_measure,
        agrees=_agrees,
        diverged=_diverged,
        passed="As expected: scaled by √d_k the weights stay spread at d_k = 256; unscaled they collapse towards one-hot.",
        failure=_failure,
        right_values_failure="Your attention's values are right on every input, yet its weights read with v = I are not: "
        "it does not compute softmax(q kᵀ / √d_k) for every shape (2-d inputs, a v as wide as the keys).",
    )
