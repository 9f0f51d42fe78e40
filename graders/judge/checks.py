"""Checks: each turns the evidence about one submission into one `CheckResult`.

An assignment's checks are configured instances of the kinds in graders/judge/kinds/ (a function's
values, a symbolic answer, a sampler's distribution, a behavioural experiment); the written answers
staff mark are the assignment's questions (graders/gradebook). Check ids and points are the
assignment's (`CheckSpec`) and part of the output contract (results.json, grades.csv).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from graders.judge.diagnosis import DeductionPolicy, Diagnosis, diagnose
from graders.judge.evidence import Evidence
from graders.results import CheckResult, CheckStatus


@dataclass(frozen=True)
class Judged(Evidence):
    """The evidence with the assignment's deduction policy: each diagnosed function's diagnosis, made once for all its checks."""

    policy: DeductionPolicy = field(kw_only=True)

    @classmethod
    def of(cls, evidence: Evidence, policy: DeductionPolicy) -> Judged:
        return cls(
            evidence.plan, evidence.student, evidence.expected, evidence.derivation, evidence.self_check, evidence.scoring, policy=policy
        )

    @cached_property
    def diagnoses(self) -> Mapping[str, Diagnosis]:
        return {
            function: diagnose(self.plan, self.student, self.expected, function, self.policy) for function in self.policy.whole_function
        }


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    points: float

    def run(self, evidence: Judged) -> CheckResult:
        raise NotImplementedError

    def result(
        self, status: CheckStatus, message: str, misconceptions: tuple[str, ...] = (), details: dict[str, Any] | None = None
    ) -> CheckResult:
        score = self.points if status is CheckStatus.PASS else 0.0
        return CheckResult(self.id, status, score, self.points, message, misconceptions, details or {})


def run_checks(checks: tuple[Check, ...], evidence: Judged) -> tuple[CheckResult, ...]:
    return tuple(check.run(evidence) for check in checks)
