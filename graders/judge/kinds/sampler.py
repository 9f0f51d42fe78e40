"""The sampler check: a Gaussian reparameterisation sampler's draws, judged as a sample.

The function gets (μ, logvar) repeated over many identical rows; its draws must be independent
samples of N(μ, exp(logvar)) with fresh noise on every call, and, on a case that asks for it
(`Case.gradient`), differentiable in μ and logvar as a reparameterised sample is. What is wrong is one
of `FINDINGS`; the assignment says, for each, the words and the misconception that explains it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from graders.judge.checks import Check, Judged
from graders.judge.comparison import Unusable, WrongType, as_array
from graders.judge.probes import Case, GradientProbe, ProbeResults, call_id, gradient_id, repeat_id
from graders.judge.reading import gradient_flaw
from graders.judge.sampling import FLOAT32_ROUNDING, GRADIENT_RTOL, CriticalValues, sample_tests
from graders.judge.values import CallFailed, redacted, value_of
from graders.results import CheckResult, CheckStatus

# What `GaussianSamplerCheck.finding` can say about draws that are not a fresh sample.
FINDINGS = (
    "constant",  # z does not vary at all: not across rows, not from call to call
    "same_for_every_row",  # every row alike, though each is a draw; z changes from call to call
    "repeated_and_wrong",  # the same z on every call, and not a sample of N(μ, σ²)
    "repeated",  # two calls in a row return the same z
    "perfectly_correlated",  # the dimensions move together
    "correlated",
    "variance_as_std",  # the spread fits exp(logvar) taken as the standard deviation
    "mean",
    "spread",
    "normality",
    # The draws are a fresh sample, but their gradients (reading.gradient_flaw) are not a reparameterised sample's:
    "no_gradient",  # none reaches μ or logvar
    "gradient_to_mean_only",  # μ's is right, none reaches logvar
    "wrong_gradient",
)

# A gradient call's z, the projection it was asked for, and the gradients that came back.
Gradients = tuple[np.ndarray, np.ndarray, tuple[object, ...]]


@dataclass(frozen=True, kw_only=True)
class GaussianSamplerCheck(Check):
    """Statistical: z from n identical rows of (μ, logvar) must be n independent draws of N(μ, exp(logvar)),
    and a second call right after the first must draw new noise (graders/judge/sampling.py has the tests
    and their false-alarm rate). Where the case asks for gradients, a fresh sample must also carry a
    reparameterised sample's gradients to μ and logvar. A failure names the bug when one model of it fits."""

    function: str
    passed: str  # the message when z is a fresh sample
    # What the check says for each finding (see `finding`) and the misconception that explains it ("": none).
    findings: Mapping[str, tuple[str, str]]
    perfect_correlation: float = 0.9  # every pair of dimensions this correlated (|r|): one ε was shared between them
    # The tests' critical values for n draws: graders/judge/critical.py's in the grader, the same numbers as data in the student kit.
    critical: Callable[[int], CriticalValues]

    def run(self, evidence: Judged) -> CheckResult:
        cases = evidence.plan.cases_for(self.function)
        try:
            draws = {
                case.name: (
                    self._draws(evidence.student, case, call_id(self.function, case.name)),
                    self._draws(evidence.student, case, repeat_id(self.function, case.name)),
                )
                for case in cases
            }
            gradients = {
                case.name: self._gradients(evidence.student, case, case.gradient)
                for case in cases
                if case.gradient is not None and not self._predates_gradients(evidence.student, case)
            }
        except CallFailed as failure:
            return self.result(CheckStatus.ERROR, failure.message)
        except WrongType as wrong_type:
            return self.result(CheckStatus.ERROR, str(wrong_type))
        except Unusable as unusable:
            return self.result(CheckStatus.FAIL, str(unusable))
        findings = [(case, self._problem(case, *draws[case.name], gradients.get(case.name))) for case in cases]
        failing = [(case, problem) for case, problem in findings if problem is not None]
        if not failing:
            unprobed = [case.name for case in cases if case.gradient is not None and case.name not in gradients]
            return self.result(CheckStatus.PASS, self.passed, details={"gradient_not_probed": unprobed} if unprobed else None)
        # Named only when every failing case tells the same story (the report adds the catalog's explanation).
        names = {name for _, (_, name) in failing}
        named = evidence.policy.in_order(names) if len(names) == 1 else ()
        message, _ = failing[0][1]
        return self.result(CheckStatus.FAIL, message, named, {"cases_failed": [case.name for case, _ in failing]})

    @staticmethod
    def _draws(results: ProbeResults, case: Case, cid: str) -> np.ndarray:
        z = as_array(redacted(value_of(results, cid, case), case, "z"), "z")
        if z.shape != np.shape(case.args[0]):
            raise Unusable(f"z should have the shape of mu {tuple(np.shape(case.args[0]))}, but it has shape {tuple(z.shape)}.")
        if not np.all(np.isfinite(z)):
            raise Unusable("z contains NaN or inf.")
        return z

    @staticmethod
    def _predates_gradients(results: ProbeResults, case: Case) -> bool:
        """Results with the draws but no gradient call at all: a run from before gradients were probed, rescored
        (`grader rescore`). Its draws alone are judged, as when it was graded. A notebook that forges its results
        could leave the call out, or as easily forge the right gradients: nothing is lost by it."""
        error = results.get(gradient_id(case.function, case.name)).error
        return error is not None and error.kind == "absent" and not results.missing_reason

    @classmethod
    def _gradients(cls, results: ProbeResults, case: Case, probe: GradientProbe) -> Gradients:
        """The gradient call's z, the projection and the gradients (a call that fails is the check's error, like any other)."""
        cid = gradient_id(case.function, case.name)
        return cls._draws(results, case, cid), probe.projection, results.get(cid).gradients

    def _problem(self, case: Case, z: np.ndarray, again: np.ndarray, gradients: Gradients | None) -> tuple[str, str] | None:
        """(what is wrong, the misconception that explains it or ""), or None when z is a fresh sample with the right gradients.
        The draws come first: a gradient is judged only on a sampler that draws right (a wrong draw is the one deduction)."""
        finding = self.finding(case, z, again)
        if finding is None and gradients is not None:
            finding = self.gradient_finding(case, *gradients)
        return None if finding is None else self.findings[finding]

    @staticmethod
    def gradient_finding(case: Case, z: np.ndarray, projection: np.ndarray, gradients: tuple[object, ...]) -> str | None:
        """Which of the gradient `FINDINGS` describes the gradients of sum(z · projection), or None when they are a
        reparameterised sample's."""
        mu, logvar = (np.asarray(a, dtype=np.float64) for a in case.args)
        return gradient_flaw(
            z.astype(np.float64), mu, np.exp(0.5 * logvar), projection.astype(np.float64), gradients, GRADIENT_RTOL, FLOAT32_ROUNDING
        )

    def finding(self, case: Case, z: np.ndarray, again: np.ndarray) -> str | None:
        """Which of `FINDINGS` describes the draws, or None when z is a fresh sample."""
        mu, logvar = (np.asarray(a[0], dtype=np.float64) for a in case.args)
        sigma = np.exp(0.5 * logvar)
        if np.all(z == z[:1]):  # every row alike, as the rows' mu and logvar are: no noise, or one draw for the whole batch
            return "constant" if np.array_equal(z, again) else "same_for_every_row"
        critical = self.critical(len(z))
        right = sample_tests(z, mu, sigma)
        failed = right.failed(critical)
        if np.array_equal(z, again):
            return "repeated_and_wrong" if failed else "repeated"
        if not failed:
            return None
        perfect = right.smallest_abs_correlation > self.perfect_correlation
        if failed == ("correlation",) or ("correlation" in failed and perfect):
            return "perfectly_correlated" if perfect else "correlated"
        if not sample_tests(z, mu, np.exp(logvar)).failed(critical):
            return "variance_as_std"
        if "mean" in failed:
            return "mean"
        return "spread" if "spread" in failed else "normality"
