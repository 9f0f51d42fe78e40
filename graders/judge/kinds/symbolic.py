"""The symbolic answer check: a quantity the student derived, read from the notebook's markdown.

Reading the LaTeX and comparing it with the truth and its mistaken forms is the assignment's
(`judge`: its notation, its sympy expressions); this kind turns the verdict into the check's
result, says what of the notebook was not read, and, in the student's own self-check, says only
whether the answer was found and readable (whether it is right is graded after submission).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graders.judge.checks import Check, Judged
from graders.results import CheckResult, CheckStatus


@dataclass(frozen=True)
class AnswerVerdict:
    status: CheckStatus
    misconceptions: tuple[str, ...]  # catalog names, in catalog order; empty unless status is FAIL
    message: str  # for the student
    parsed: str | None  # the expression as read, for staff; None when nothing could be read


@dataclass(frozen=True, kw_only=True)
class SymbolicAnswerCheck(Check):
    quantity: str  # the answer line's quantity (graders.assignment.spec.AnswerLine)
    judge: Callable[[str | None], AnswerVerdict]  # the assignment's reading of one answer (None: none found)

    def run(self, evidence: Judged) -> CheckResult:
        answer = next(a for a in evidence.derivation if a.quantity == self.quantity)
        verdict = self.judge(answer.latex)
        note = f" {answer.note}" if answer.note else ""  # text past a cap was not read: the student must know
        if evidence.self_check and verdict.status is not CheckStatus.ERROR:
            message = f"Readable: {answer.latex}. Whether it is right is checked at grading."
            return self.result(CheckStatus.PASS, message + note)
        return self.result(verdict.status, verdict.message + note, verdict.misconceptions, {"parsed": verdict.parsed})
