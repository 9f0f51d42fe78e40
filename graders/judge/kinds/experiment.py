"""The experiment check: a behavioural experiment run in the student's kernel with the student's function.

The assignment's kernel code trains (or otherwise runs) something with the student's function from
the grading seed; the grader runs the same with the reference and, under per-mistake scoring, with
the variant of the mistake the function's diagnosis named (`ExpectedValues.trained`). The student's
run passes when it ends where the reference's ends, or where the named mistake's ends, or breaks (raises,
or ends in NaN or inf) where training with the named mistake breaks too (that mistake is deducted by the function's own checks, not again here). A forger would have to produce the
reference run's outputs, i.e. run with a correct function. What "ends where" means, what is
measured for staff and what a failure says are the assignment's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graders.assignment.spec import Scoring
from graders.judge.checks import Check, Judged
from graders.judge.expected import TrainingFailed
from graders.judge.probes import Experiment, ExperimentSpec
from graders.judge.values import call_error_message
from graders.results import CheckResult, CheckStatus

Runs = Mapping[str, Any]  # the experiment's outputs per setting, decoded


@dataclass(frozen=True, kw_only=True)
class ExperimentCheck(Check):
    function: str  # the student's function the experiment runs with (and whose diagnosis it may follow)
    run_with: str  # how a message names the run: "your loss"
    well_formed: Callable[[Experiment, ExperimentSpec], bool]  # outputs of the shapes the spec asks for
    measure: Callable[[Experiment, ExperimentSpec], dict[str, Any]]  # what staff see in the details
    agrees: Callable[[Runs, Runs | None], bool]  # the student's run ends where this run of the grader's ends
    diverged: Callable[[Runs], bool]  # the run ended in NaN or inf: training broke
    passed: str
    failure: Callable[[dict[str, Any]], str]  # what went wrong, from what was measured
    # What went wrong when the function's values are the reference's on every input and its training still
    # ends elsewhere: the gradient is not its values' (a term cut from autograd). The measures would guess wrong.
    right_values_failure: str

    def run(self, evidence: Judged) -> CheckResult:
        spec = evidence.plan.experiment
        outcome = evidence.student.experiment
        if spec is None or outcome is None:
            reason = evidence.student.missing_reason or "the experiment was not run"
            return self.result(CheckStatus.ERROR, f"The training experiment could not run: {reason}.")
        if outcome.error is not None:
            failed = f"Training with your {self.function} failed: " + call_error_message(self.function, outcome.error)
            story = self._story(evidence)
            if story and self._broke(evidence.expected.trained(story)):
                predicted = f"Training with the same mistake fails too ({evidence.policy.titles(story)}); {self._deducted_elsewhere()}"
                return self.result(CheckStatus.PASS, f"{failed} {predicted}", details={"matched": sorted(story)})
            return self.result(CheckStatus.ERROR, failed)
        trained = outcome.value
        if not isinstance(trained, Experiment) or not self.well_formed(trained, spec):
            return self.result(CheckStatus.FAIL, "The training experiment returned something other than the trained model's outputs.")
        measured = self.measure(trained, spec)
        details: dict[str, Any] = {"measured": measured, "reshaped_x": trained.reshaped_x}
        if self._ends_where(trained.runs, evidence.expected.trained(frozenset())):
            return self.result(CheckStatus.PASS, self.passed, details=details)
        story = self._story(evidence)
        mistake_run = evidence.expected.trained(story) if story else None
        if story and (self._ends_where(trained.runs, mistake_run) or (self.diverged(trained.runs) and self._broke(mistake_run))):
            return self.result(
                CheckStatus.PASS,
                f"Trained with {self.run_with}, the model behaves as its mistake predicts ({evidence.policy.titles(story)}); "
                + self._deducted_elsewhere(),
                details={**details, "matched": sorted(story)},
            )
        # The measures guess at a wrong term; values that are the reference's say otherwise.
        message = self.right_values_failure if self._values_are_the_reference(evidence) else self.failure(measured)
        return self.result(CheckStatus.FAIL, message, details=details)

    def _story(self, evidence: Judged) -> frozenset[str] | None:
        """The mistakes the function's diagnosis named, when per-mistake scoring lets the experiment follow them."""
        diagnosis = evidence.diagnoses.get(self.function)
        return diagnosis.flags if evidence.scoring is Scoring.PER_MISTAKE and diagnosis is not None else None

    def _values_are_the_reference(self, evidence: Judged) -> bool:
        diagnosis = evidence.diagnoses.get(self.function)
        return diagnosis is not None and diagnosis.flags == frozenset()

    def _ends_where(self, runs: Runs, trained: Runs | TrainingFailed | None) -> bool:
        return not isinstance(trained, TrainingFailed) and self.agrees(runs, trained)

    def _broke(self, trained: Runs | TrainingFailed | None) -> bool:
        """Whether the grader's training with a mistake broke (raised, or ended in NaN or inf): the student's breaking
        too, either way, is what the mistake predicts (a NaN the next step refuses, or one that trains on)."""
        return isinstance(trained, TrainingFailed) or (trained is not None and self.diverged(trained))

    def _deducted_elsewhere(self) -> str:
        return f"that mistake is deducted under the {self.function} checks, not again here."
