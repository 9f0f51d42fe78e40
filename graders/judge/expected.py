"""Expected values: an assignment's reference and every misconception variant, evaluated on one probe plan.

Computed once per batch in the grader process (the same inputs serve every student) and shared by
all checks; the assignment says what its reference and variants are (its `compute_expected`), this
module evaluates them the way a student's functions are evaluated. The reference is evaluated at
once; each variant the first time a wrong answer is compared with it (`VariantValues`). A reference's values for the
public inputs may also be stored beside it, keyed by the reference's content hash, so that a
self-check runs from stored values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, overload

from graders.judge.probes import ProbePlan, ProbeResults, decode_results, evaluate_in_process
from graders.runtime.probe_runtime import run_probes

# Training a behavioural experiment with the reference's (empty flags) or a variant's function.
Trainer = Callable[[frozenset[str]], Mapping[str, Any]]


@dataclass(frozen=True)
class TrainingFailed:
    """A variant's training raised: a mistake can break the run itself (a loss infinite at some weight
    turns the model into NaN, which the next step refuses), and a student's run with it fails too."""

    reason: str


class RunStore(Protocol):
    """Trained runs kept between batches (graders.pipeline.runcache): they depend on no student."""

    def load(self, flags: frozenset[str]) -> Mapping[str, Any] | None:
        """The run stored for these flags, or None (absent, damaged or made under another key)."""
        ...

    def save(self, flags: frozenset[str], runs: Mapping[str, Any]) -> None: ...


class TrainedRuns:
    """The experiment trained in the grader with the reference or a variant: each once per batch, on demand,
    and (with a `store`) once per key on disk. A failed training is not stored: it fails again, the same way."""

    def __init__(self, train: Trainer | None, store: RunStore | None = None) -> None:
        self._train = train
        self._store = store
        self._runs: dict[frozenset[str], Mapping[str, Any] | TrainingFailed] = {}

    def kept_in(self, store: RunStore) -> TrainedRuns:
        """The same runs, read from and written to `store` (a fresh memo: nothing trained yet is lost but time)."""
        return TrainedRuns(self._train, store)

    def __call__(self, flags: frozenset[str]) -> Mapping[str, Any] | TrainingFailed | None:
        if self._train is None:
            return None
        if flags not in self._runs:
            self._runs[flags] = self._trained(flags)
        return self._runs[flags]

    def _trained(self, flags: frozenset[str]) -> Mapping[str, Any] | TrainingFailed:
        assert self._train is not None  # noqa: S101 - __call__ returned before
        stored = self._store.load(flags) if self._store is not None else None
        if stored is not None:
            return stored
        try:
            runs = self._train(flags)
        except Exception as failure:
            if not flags:  # the reference must train: that failure is the grader's own
                raise
            return TrainingFailed(f"{type(failure).__name__}: {failure}")
        if self._store is not None:
            self._store.save(flags, runs)
        return runs


# A catalogued mistake (its flags; none for the reference) and its values on the plan.
Story = tuple[frozenset[str], ProbeResults]


@dataclass(frozen=True)
class ExpectedValues:
    reference: ProbeResults
    # function -> [(flags, results)], smallest flag sets first: the first match is the simplest story.
    variants: Mapping[str, Sequence[Story]]
    reference_hash: str
    trained: TrainedRuns = field(default_factory=lambda: TrainedRuns(None))


class VariantValues(Sequence[Story]):
    """One function's variants, each evaluated on the plan's calls for it the first time it is read, then kept.

    Judging reads them only for a wrong answer, in order, up to the first that fits (graders.judge.diagnosis,
    kinds/value.py): a batch of right answers evaluates none, one wrong answer as few as its simplest story
    needs (a catalog of 84 combinations took 1.4 s to evaluate whole: most of regrading one late notebook). When a
    variant is evaluated changes none of its values: each evaluation runs in a known state of its own
    (probe_runtime.KnownState, seeded per call) on the plan's fixed inputs."""

    def __init__(self, plan: ProbePlan, function: str, variants: Sequence[tuple[frozenset[str], Mapping[str, Any]]]) -> None:
        self._plan, self._function, self._variants = plan, function, tuple(variants)
        self._values: dict[int, ProbeResults] = {}

    def __len__(self) -> int:
        return len(self._variants)

    @overload
    def __getitem__(self, index: int) -> Story: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Story]: ...

    def __getitem__(self, index: int | slice) -> Story | Sequence[Story]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(len(self))[index])
        position = range(len(self))[index]  # IndexError past the end, which ends Sequence's iteration
        flags, namespace = self._variants[position]
        if position not in self._values:
            self._values[position] = evaluate_in_process(self._plan, namespace, (self._function,))
        return flags, self._values[position]


def variant_results(
    plan: ProbePlan, namespaces: Mapping[str, Sequence[tuple[frozenset[str], Mapping[str, Any]]]]
) -> dict[str, VariantValues]:
    """Each function's variants (flags, namespace defining it), evaluated on the plan's calls for it as they are read."""
    return {function: VariantValues(plan, function, variants) for function, variants in namespaces.items()}


def stored_reference(path: Path, reference_hash: str, plan: ProbePlan) -> ProbeResults | None:
    """The stored reference values for the public inputs, or None when stale or absent."""
    if not path.exists():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    if stored.get("reference_hash") != reference_hash:
        return None
    return decode_results(stored["results"], plan)


def store_reference(path: Path, reference_hash: str, plan: ProbePlan, namespace: Mapping[str, Any], functions: tuple[str, ...]) -> None:
    """Write the reference's raw encoded results on `plan` beside it, with the hash they belong to."""
    raw = run_probes(namespace, plan.request(functions))
    for call in raw["calls"].values():
        call.pop("seconds", None)  # timings would make the stored file differ on every run
    document = {"reference_hash": reference_hash, "results": raw}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
