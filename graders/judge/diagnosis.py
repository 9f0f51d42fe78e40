"""Diagnosis: which catalogued mistake explains everything one function returned, and what it costs.

A check looks at one observable; a misconception is a story about a whole function. Before the
checks of a function run, its values on every input (and at every weight) are matched, all at once,
against the reference and every variant (smallest combination first). When one story explains them
all, the assignment's deduction policy (`DeductionPolicy.deductions`) says which check each mistake
costs; the function's other checks are judged on what the values show, so one mistake costs one
deduction.

A story is named only from values that all exist. A function that gave no value on some input
(raised, timed out, returned something unreadable or unusable) gets no diagnosis from the inputs it
answered: a lookup table of one input's values would otherwise buy every "right, given your values"
check. Its checks are then judged case by case (graders/judge/kinds/value.py), and an input without
the value a check compares fails that check.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from itertools import chain

import numpy as np

from graders.assignment.spec import Misconception
from graders.judge.comparison import Tolerance, Unusable
from graders.judge.expected import ExpectedValues
from graders.judge.probes import Case, ProbePlan, ProbeResults
from graders.judge.reading import as_predicted
from graders.judge.values import CallFailed, Observable


@dataclass(frozen=True)
class WholeFunction:
    """All a function's values, as observables per case, and how close they must be to tell a story."""

    observables: tuple[Observable, ...]
    tolerance: Tolerance
    # The mistake a function shows when it ran only with an input reshaped (the runtime's one retry), if any.
    reshaped_mistake: str | None = None


@dataclass(frozen=True)
class DeductionPolicy:
    """An assignment's misconceptions as judging needs them: their order and titles, which check each costs,
    and which functions are diagnosed as a whole."""

    catalog: Mapping[str, Misconception]  # in the order reports name them
    deductions: Mapping[str, str]  # misconception -> the check id it costs under per-mistake scoring
    whole_function: Mapping[str, WholeFunction]

    def in_order(self, names: Collection[str]) -> tuple[str, ...]:
        return tuple(name for name in self.catalog if name in names)

    def titles(self, names: Collection[str]) -> str:
        return "; ".join(self.catalog[name].title for name in self.in_order(names))


@dataclass(frozen=True)
class Diagnosis:
    function: str
    # The smallest catalogued combination that explains every value on every input: frozenset() is the
    # reference itself; None means no story fits, or some input gave no value to explain.
    flags: frozenset[str] | None
    policy: DeductionPolicy
    reshaped_x: bool = False  # the function only ran with its input reshaped (the runtime's retry)

    @property
    def story(self) -> frozenset[str] | None:
        """Every named mistake, including the ones seen in how calls behaved rather than in values."""
        if self.flags is None:
            return None
        reshaped = self.policy.whole_function[self.function].reshaped_mistake
        return self.flags | ({reshaped} if self.reshaped_x and reshaped else set())

    def charged_to(self, check_id: str) -> tuple[str, ...]:
        """The story's mistakes that this check deducts, in catalog order."""
        return self.policy.in_order({name for name in self.story or () if self.policy.deductions[name] == check_id})

    def charged_elsewhere(self, check_id: str) -> tuple[str, ...]:
        return self.policy.in_order({name for name in self.story or () if self.policy.deductions[name] != check_id})


def diagnose(plan: ProbePlan, student: ProbeResults, expected: ExpectedValues, function: str, policy: DeductionPolicy) -> Diagnosis:
    whole = policy.whole_function[function]
    cases = plan.cases_for(function)
    try:
        values = {case.name: [observable(student, case) for observable in whole.observables] for case in cases}
    except (CallFailed, Unusable):  # no value, or one wrong in form, on some input: the checks judge case by case
        return Diagnosis(function, None, policy)
    reshaped = any(student.get(cid).reshaped_x is not None for case in cases for cid in case.call_ids())
    stories = chain([(frozenset[str](), expected.reference)], expected.variants.get(function, ()))
    # Smallest first, in catalog order: the first story that fits is the simplest one (and the last evaluated).
    flags = next((flags for flags, results in stories if _explains(results, cases, values, whole)), None)
    return Diagnosis(function, flags, policy, reshaped)


def _explains(results: ProbeResults, cases: tuple[Case, ...], values: dict[str, list[np.ndarray]], whole: WholeFunction) -> bool:
    try:
        return all(
            as_predicted(student, observable(results, case), (whole.tolerance.rtol, whole.tolerance.atol))
            for case in cases
            for student, observable in zip(values[case.name], whole.observables, strict=True)
        )
    except (CallFailed, Unusable):
        return False
