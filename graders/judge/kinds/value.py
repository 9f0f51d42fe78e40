"""The value check: a function's values on the public and hidden inputs, against the reference's.

An *observable* (a function of probe results and a case, the assignment's) is computed from the
student's probe values, from the reference's, and from every misconception variant's. Under
per-mistake scoring (the default) a function's values are first diagnosed as a whole
(graders/judge/diagnosis.py): when a catalogued mistake explains them, the check that mistake
concerns deducts it and the function's other checks are judged on what the values show. Otherwise,
and always under strict scoring, each check compares its observable with the reference's case by
case and names the smallest set of misconceptions whose variant agrees with the student on it.
Every check needs its value on every case to pass: a case without one fails it, and then no
mistake is named (names come only from values that all exist, as the diagnosis's do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from graders.assignment.spec import Scoring
from graders.judge.checks import Check, Judged
from graders.judge.comparison import Tolerance, Unusable, WrongType, agree, correct_on, explain_difference
from graders.judge.diagnosis import Diagnosis
from graders.judge.probes import Case, ProbeResults
from graders.judge.values import CallFailed, Observable, call_error_message
from graders.results import CheckResult, CheckStatus


@dataclass(frozen=True)
class Raised:
    """An input on which the student's function gave no value, and the student-safe reason."""

    case: Case
    message: str


def raised_note(raised: list[Raised]) -> str:
    """One sentence naming the inputs that raised and why (hidden ones without the student's message)."""
    if not raised:
        return ""
    shown = "; ".join(f"{'the public input' if r.case.public else 'a hidden input'}: {r.message}" for r in raised[:3])
    return f" It raised on {len(raised)} input(s) ({shown})."


# (what the student's values give, what they should give) for one case, when "right" is judged
# against the student's own values (per-mistake scoring) rather than the reference's.
Consistency = Callable[[ProbeResults, Case], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, kw_only=True)
class ValueCheck(Check):
    function: str
    observable: Observable
    tolerance: Tolerance
    expectation: str  # what the value should be, in words
    hint: str  # added when only hidden inputs are wrong
    consistency: Consistency | None = field(default=None)  # per-mistake: judged on the student's own values
    # When the values are right only with the input reshaped (the runtime's one retry): what that means here.
    reshaped_message: str = "It gives the right values once its input is reshaped, but not with the shapes the handout passes."

    def run(self, evidence: Judged) -> CheckResult:
        diagnosis = evidence.diagnoses[self.function]
        if evidence.scoring is Scoring.PER_MISTAKE and diagnosis.story:
            return self._by_diagnosis(evidence, diagnosis)
        return self._on_its_own(evidence)

    def _by_diagnosis(self, evidence: Judged, diagnosis: Diagnosis) -> CheckResult:
        """A named mistake explains every value on every input: it costs its own check, and no other."""
        details = {"diagnosis": sorted(diagnosis.story or ())}
        charged = diagnosis.charged_to(self.id)
        if charged:
            message = self._charged_message(evidence)
            if message is None:  # within this check's own tolerance after all (e.g. loosened mid-term)
                return self._on_its_own(evidence)
            return self.result(CheckStatus.FAIL, message, charged, details)
        elsewhere = diagnosis.charged_elsewhere(self.id)
        counted = "one mistake" if len(elsewhere) == 1 else f"{len(elsewhere)} mistakes"
        titles = evidence.policy.titles(elsewhere)  # none where the catalog has no titles to say (a kit that names no mistake)
        return self.result(
            CheckStatus.PASS,
            f"Right, given your values: they are explained by {counted}{f' ({titles})' if titles.strip('; ') else ''}, "
            f"{'which is' if len(elsewhere) == 1 else 'each'} deducted once, "
            f"under {', '.join(sorted({evidence.policy.deductions[name] for name in elsewhere}))}.",
            details=details,
        )

    def _charged_message(self, evidence: Judged) -> str | None:
        """How the values differ from the reference's; a loss that only ran on flat x may have no difference to show.

        None when neither holds: the values agree with the reference within this check's tolerance."""
        cases = evidence.plan.cases_for(self.function)  # a diagnosis has values on all of them
        student = {case.name: self.observable(evidence.student, case) for case in cases}
        expected = {case.name: self.observable(evidence.expected.reference, case) for case in cases}
        wrong = [case for case in cases if not agree(student[case.name], expected[case.name], self.tolerance)]
        if wrong:
            return self._failure_message(cases, wrong, student, expected)
        reshaped = [(case, first) for case in cases for cid in case.call_ids() if (first := evidence.student.get(cid).reshaped_x)]
        if not reshaped:
            return None
        why = call_error_message(self.function, reshaped[0][1], public=reshaped[0][0].public)
        return f"{self.reshaped_message} {why}".strip()

    def _on_its_own(self, evidence: Judged) -> CheckResult:
        """Case by case, on this check's own values: a case without one fails the check, and nothing is named then."""
        cases = evidence.plan.cases_for(self.function)
        own = evidence.scoring is Scoring.PER_MISTAKE and self.consistency is not None
        student: dict[str, np.ndarray] = {}
        raised: list[Raised] = []
        try:
            for case in cases:
                try:
                    student[case.name] = self._student_value(evidence.student, case, own)
                except CallFailed as failure:
                    raised.append(Raised(case, failure.message))
        except WrongType as wrong_type:
            return self.result(CheckStatus.ERROR, str(wrong_type))
        except Unusable as unusable:
            return self.result(CheckStatus.FAIL, f"{unusable}. {self.expectation}")
        ran = tuple(case for case in cases if case.name in student)
        if not ran:
            return self.result(CheckStatus.ERROR, raised[0].message)
        expected = {case.name: self._expected_value(evidence, case, own) for case in ran}
        wrong = [case for case in ran if not agree(student[case.name], expected[case.name], self.tolerance)]
        details = {"cases_wrong": [case.name for case in wrong], "cases": len(cases), "cases_raised": [r.case.name for r in raised]}
        if not wrong and not raised:
            return self.result(CheckStatus.PASS, correct_on(len(cases)), details=details)
        if not wrong:
            message = f"Right on the {len(ran)} input(s) where it returned a value, but no value on the others.{raised_note(raised)}"
            return self.result(CheckStatus.ERROR, message, details=details)
        names = () if own or raised else self._misconceptions(evidence, cases, student)
        unnamed = "" if names else (_NOT_NAMED_WITHOUT_VALUES if raised else _MATCHES_NO_MISTAKE)
        message = self._failure_message(ran, wrong, student, expected) + unnamed + raised_note(raised)
        return self.result(CheckStatus.FAIL, message, names, details)

    def _student_value(self, results: ProbeResults, case: Case, own: bool) -> np.ndarray:
        return self.consistency(results, case)[0] if own and self.consistency else self.observable(results, case)

    def _expected_value(self, evidence: Judged, case: Case, own: bool) -> np.ndarray:
        if own and self.consistency:
            return self.consistency(evidence.student, case)[1]
        return self.observable(evidence.expected.reference, case)

    def _misconceptions(self, evidence: Judged, cases: tuple[Case, ...], student: dict[str, np.ndarray]) -> tuple[str, ...]:
        for flags, results in evidence.expected.variants.get(self.function, ()):
            try:
                if all(agree(student[c.name], self.observable(results, c), self.tolerance) for c in cases):
                    return evidence.policy.in_order(flags)
            except (CallFailed, Unusable):
                continue
        return ()

    def _failure_message(
        self, ran: tuple[Case, ...], wrong: list[Case], student: dict[str, np.ndarray], expected: dict[str, np.ndarray]
    ) -> str:
        """What is wrong, on the public input when it is wrong there; `ran` are the cases that gave a value."""
        public = next((case for case in wrong if case.public), None)
        if public is not None:
            difference = explain_difference(student[public.name], expected[public.name], (self.tolerance.rtol, self.tolerance.atol))
            return f"{self.expectation} On the public input {difference}."
        right_on_public = "Right on the public input but wrong" if any(case.public for case in ran) else "Wrong"
        return f"{right_on_public} on {len(wrong)} hidden input(s). {self.hint}".strip()


_MATCHES_NO_MISTAKE = " This does not match any mistake the grader knows; compare your code with the formula step by step."
# Why a failure with inputs that gave no value names no mistake: a story is told only from values that all exist.
_NOT_NAMED_WITHOUT_VALUES = " A mistake is named only when every input gives a value."
