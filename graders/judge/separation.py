"""Separation: whether a plan's inputs tell every catalogued mistake from the reference.

A misconception variant (or a combination the catalog builds, see ExpectedValues.variants) whose
values equal the reference's on every input of a plan is invisible there: a student who makes that
mistake is told "correct" on those inputs, and only inputs elsewhere catch it. On the public inputs
that is a self-check that contradicts the grade, so a student kit is refused until its inputs
separate every variant (the assignment chooses other inputs). Judged on the values diagnosis reads
(each function's `WholeFunction` observables and tolerance), for any assignment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graders.errors import HarnessError
from graders.judge.comparison import Unusable, agree
from graders.judge.diagnosis import WholeFunction
from graders.judge.expected import ExpectedValues
from graders.judge.probes import ProbePlan, ProbeResults
from graders.judge.values import CallFailed


@dataclass(frozen=True)
class Unseparated:
    """A variant whose values are the reference's on every input of the plan."""

    function: str
    flags: frozenset[str]

    def __str__(self) -> str:
        return f"{self.function}: {' + '.join(sorted(self.flags))}"


def unseparated(plan: ProbePlan, expected: ExpectedValues, whole_function: Mapping[str, WholeFunction]) -> tuple[Unseparated, ...]:
    """Every variant of a diagnosed function that the plan's inputs cannot tell from the reference."""
    return tuple(
        Unseparated(function, flags)
        for function, whole in whole_function.items()
        for flags, results in expected.variants.get(function, ())
        if _same_values(plan, function, whole, results, expected.reference)
    )


def require_separated(plan: ProbePlan, expected: ExpectedValues, whole_function: Mapping[str, WholeFunction]) -> None:
    """Refuse a plan on whose inputs some catalogued mistake gives the reference's values."""
    hidden = unseparated(plan, expected, whole_function)
    if hidden:
        listed = "; ".join(str(variant) for variant in hidden)
        raise HarnessError(f"these inputs cannot tell a catalogued mistake from the reference (choose inputs that do): {listed}")


def _same_values(plan: ProbePlan, function: str, whole: WholeFunction, variant: ProbeResults, reference: ProbeResults) -> bool:
    """A variant that gives no value, or an unusable one, on some input is told apart there (the student's check is not a pass)."""
    cases = plan.cases_for(function)
    try:
        return bool(cases) and all(
            agree(observable(variant, case), observable(reference, case), whole.tolerance)
            for case in cases
            for observable in whole.observables
        )
    except (CallFailed, Unusable):
        return False
