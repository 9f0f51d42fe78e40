"""Evidence: everything known about one submission when an assignment's checks run (`Assignment.judge`)."""

from __future__ import annotations

from dataclasses import dataclass

from graders.assignment.spec import Scoring
from graders.judge.expected import ExpectedValues
from graders.judge.probes import ProbePlan, ProbeResults
from graders.results import DerivationAnswer


@dataclass(frozen=True)
class Evidence:
    plan: ProbePlan
    student: ProbeResults  # what the student's functions returned on the plan (untrusted, decoded within bounds)
    expected: ExpectedValues
    derivation: tuple[DerivationAnswer, ...]  # as the assignment read them from the markdown
    self_check: bool = False  # the student's own run: written answers are checked for form only
    scoring: Scoring = Scoring.PER_MISTAKE
