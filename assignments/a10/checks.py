"""Checks: each turns the evidence about one submission into one `CheckResult`.

Check ids and points are part of the output contract (results.json, grades.csv).
Value checks share one mechanism: an *observable* (assignments/a10/observables.py) is computed from
the student's probe values, from the reference's, and from every misconception variant's. Under
per-mistake scoring (the default) a function's values are first diagnosed as a whole
(assignments/a10/diagnosis.py): when a catalogued mistake explains them, the check that mistake
concerns deducts it and the function's other checks are judged on what the values show. Otherwise,
and always under strict scoring, each check compares its observable with the reference's case by
case and names the smallest set of misconceptions whose variant agrees with the student on it.
Every check needs its value on every case to pass: a case without one fails it, and then no
mistake is named (names come only from values that all exist, as the diagnosis's do).

To add a check: write an observable (or a `Check` subclass) and append it to `CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from assignments.a10 import answers
from assignments.a10.contract import CHECKS as CHECK_SPECS
from assignments.a10.diagnosis import DEDUCTIONS, Diagnosis, diagnose
from assignments.a10.kernel import read_idx_images
from assignments.a10.observables import (
    CLOSED_FORM_TOLERANCE,
    LOSS_TOLERANCE,
    closed_form_mu,
    closed_form_sigma,
    kl_term,
    reconstruction_term,
    weighted_by_own_kl,
    weighted_kl_terms,
)
from assignments.a10.plan import ExperimentSpec
from graders.assignment.spec import Scoring
from graders.judge.comparison import Tolerance, Unusable, WrongType, agree, as_array, correct_on, explain_difference
from graders.judge.evidence import Evidence as HarnessEvidence
from graders.judge.probes import Case, Experiment, ProbeResults, call_id, repeat_id
from graders.judge.sampling import sample_tests
from graders.judge.values import CallFailed, Observable, call_error_message, redacted, value_of
from graders.results import CheckResult, CheckStatus
from reference.a10.misconceptions import CATALOG
from reference.a10.vae import kl_divergence, reconstruction_loss

# How close the student's trained outputs must be to the same training with the reference loss.
# Measured (tests/judge/test_checks.py): float32 and float64 losses, a hand-written BCE and a
# torch.distributions KL end within ~1e-5 of the reference; x_hat travels as float16 (steps of
# 2^-11 near 1), so it gets a few of those steps. Every catalogued mistake ends 1e-2 or more away.
TRAINED_XHAT_ATOL = 4e-3
TRAINED_POSTERIOR_TOLERANCE = (1e-3, 1e-3)  # rtol, atol for mu and logvar


def runs_agree(student: Mapping[str, Any], reference: Mapping[str, Any] | None) -> bool:
    """Whether two trainings ended at the same reconstructions and posteriors (NaN where both diverged)."""
    if reference is None or set(student) != set(reference):
        return False
    rtol, atol = TRAINED_POSTERIOR_TOLERANCE
    for weight, (x_hat, mu, logvar) in student.items():
        ref_x_hat, ref_mu, ref_logvar = reference[weight]
        if not np.allclose(x_hat.astype(np.float64), ref_x_hat.astype(np.float64), rtol=0, atol=TRAINED_XHAT_ATOL, equal_nan=True):
            return False
        if not all(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True) for a, b in ((mu, ref_mu), (logvar, ref_logvar))):
            return False
    return True


@dataclass(frozen=True)
class Evidence(HarnessEvidence):
    """The harness's evidence, with each value-checked function's diagnosis made once for all of its checks."""

    @classmethod
    def of(cls, evidence: HarnessEvidence) -> Evidence:
        return cls(evidence.plan, evidence.student, evidence.expected, evidence.derivation, evidence.self_check, evidence.scoring)

    @cached_property
    def diagnoses(self) -> Mapping[str, Diagnosis]:
        """Each value-checked function's diagnosis, made once for all of its checks."""
        return {function: diagnose(self.plan, self.student, self.expected, function) for function in ("closed_form", "vae_loss")}


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    points: float

    def run(self, evidence: Evidence) -> CheckResult:
        raise NotImplementedError

    def result(
        self, status: CheckStatus, message: str, misconceptions: tuple[str, ...] = (), details: dict[str, Any] | None = None
    ) -> CheckResult:
        score = self.points if status is CheckStatus.PASS else 0.0
        return CheckResult(self.id, status, score, self.points, message, misconceptions, details or {})


def _catalog_order(names: frozenset[str] | set[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in CATALOG if name in names)


def _titles(names: tuple[str, ...]) -> str:
    return "; ".join(CATALOG[name].title for name in names)


# ----------------------------------------------------------------------------- value checks


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

    def run(self, evidence: Evidence) -> CheckResult:
        diagnosis = evidence.diagnoses[self.function]
        if evidence.scoring is Scoring.PER_MISTAKE and diagnosis.story:
            return self._by_diagnosis(evidence, diagnosis)
        return self._on_its_own(evidence)

    def _by_diagnosis(self, evidence: Evidence, diagnosis: Diagnosis) -> CheckResult:
        """A named mistake explains every value on every input: it costs its own check, and no other."""
        details = {"diagnosis": sorted(diagnosis.story or ())}
        charged = diagnosis.charged_to(self.id)
        if charged:
            message = self._charged_message(evidence)
            if message is None:  # within this check's own tolerance after all (e.g. loosened mid-term)
                return self._on_its_own(evidence)
            return self.result(CheckStatus.FAIL, message, charged, details)
        elsewhere = diagnosis.charged_elsewhere(self.id)
        return self.result(
            CheckStatus.PASS,
            f"Right, given your values: they are explained by one mistake ({_titles(elsewhere)}), which is deducted once, "
            f"under {', '.join(sorted({DEDUCTIONS[name] for name in elsewhere}))}.",
            details=details,
        )

    def _charged_message(self, evidence: Evidence) -> str | None:
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
        return f"Your loss gives the right values once x is flattened, but not with the shapes the handout passes. {why}".strip()

    def _on_its_own(self, evidence: Evidence) -> CheckResult:
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

    def _expected_value(self, evidence: Evidence, case: Case, own: bool) -> np.ndarray:
        if own and self.consistency:
            return self.consistency(evidence.student, case)[1]
        return self.observable(evidence.expected.reference, case)

    def _misconceptions(self, evidence: Evidence, cases: tuple[Case, ...], student: dict[str, np.ndarray]) -> tuple[str, ...]:
        for flags, results in evidence.expected.variants.get(self.function, ()):
            try:
                if all(agree(student[c.name], self.observable(results, c), self.tolerance) for c in cases):
                    return _catalog_order(flags)
            except (CallFailed, Unusable):
                continue
        return ()

    def _failure_message(
        self, ran: tuple[Case, ...], wrong: list[Case], student: dict[str, np.ndarray], expected: dict[str, np.ndarray]
    ) -> str:
        """What is wrong, on the public input when it is wrong there; `ran` are the cases that gave a value."""
        public = next((case for case in wrong if case.public), None)
        if public is not None:
            return f"{self.expectation} On the public input {explain_difference(student[public.name], expected[public.name])}."
        right_on_public = "Right on the public input but wrong" if any(case.public for case in ran) else "Wrong"
        return f"{right_on_public} on {len(wrong)} hidden input(s). {self.hint}".strip()


_MATCHES_NO_MISTAKE = " This does not match any mistake the grader knows; compare your code with the formula step by step."
# Why a failure with inputs that gave no value names no mistake: a story is told only from values that all exist.
_NOT_NAMED_WITHOUT_VALUES = " A mistake is named only when every input gives a value."


# ----------------------------------------------------------------------------- derivation answers


@dataclass(frozen=True, kw_only=True)
class DerivationCheck(Check):
    quantity: str  # "mu" | "Sigma"

    def run(self, evidence: Evidence) -> CheckResult:
        answer = next(a for a in evidence.derivation if a.quantity == self.quantity)
        judge = answers.judge_mu if self.quantity == "mu" else answers.judge_sigma
        verdict = judge(answer.latex)
        note = f" {answer.note}" if answer.note else ""  # text past a cap was not read: the student must know
        if evidence.self_check and verdict.status is not CheckStatus.ERROR:
            message = f"Found and readable: {answer.latex}. Whether it is right is graded after you submit."
            return self.result(CheckStatus.PASS, message + note)
        return self.result(verdict.status, verdict.message + note, verdict.misconceptions, {"parsed": verdict.parsed})


# ----------------------------------------------------------------------------- reparameterisation


@dataclass(frozen=True)
class ReparameterizeCheck(Check):
    """Statistical: z from n identical rows of (μ, logvar) must be n independent draws of N(μ, exp(logvar)),
    and a second call right after the first must draw new noise (graders/judge/sampling.py has the tests
    and their false-alarm rate). A failure names the bug when one model of it fits the draws."""

    def run(self, evidence: Evidence) -> CheckResult:
        cases = evidence.plan.cases_for("reparameterize")
        try:
            draws = {
                case.name: (
                    self._draws(evidence.student, case, call_id("reparameterize", case.name)),
                    self._draws(evidence.student, case, repeat_id("reparameterize", case.name)),
                )
                for case in cases
            }
        except CallFailed as failure:
            return self.result(CheckStatus.ERROR, failure.message)
        except WrongType as wrong_type:
            return self.result(CheckStatus.ERROR, str(wrong_type))
        except Unusable as unusable:
            return self.result(CheckStatus.FAIL, str(unusable))
        findings = [(case, self._problem(case, *draws[case.name])) for case in cases]
        failing = [(case, problem) for case, problem in findings if problem is not None]
        if not failing:
            return self.result(CheckStatus.PASS, SAMPLING_PASS)
        # Named only when every failing case tells the same story (the report adds the catalog's explanation).
        names = {name for _, (_, name) in failing}
        named = _catalog_order(names) if len(names) == 1 else ()
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
    def _problem(case: Case, z: np.ndarray, again: np.ndarray) -> tuple[str, str] | None:
        """(what is wrong, the misconception that explains it or ""), or None when z is a fresh sample."""
        finding = ReparameterizeCheck.finding(case, z, again)
        return None if finding is None else SAMPLING_FINDINGS[finding]

    @staticmethod
    def finding(case: Case, z: np.ndarray, again: np.ndarray) -> str | None:
        """Which of SAMPLING_FINDINGS describes the draws, or None when z is a fresh sample."""
        mu, logvar = (np.asarray(a[0], dtype=np.float64) for a in case.args)
        sigma = np.exp(0.5 * logvar)
        if np.all(z.std(axis=0) == 0) or np.array_equal(z, np.broadcast_to(mu, z.shape)):
            return "constant"
        right = sample_tests(z, mu, sigma)
        if np.array_equal(z, again):
            return "repeated_and_wrong" if right.failed() else "repeated"
        failed = right.failed()
        if not failed:
            return None
        perfect = right.smallest_abs_correlation > PERFECT_CORRELATION
        if failed == ("correlation",) or ("correlation" in failed and perfect):
            return "perfectly_correlated" if perfect else "correlated"
        if not sample_tests(z, mu, np.exp(logvar)).failed():
            return "variance_as_std"
        if "mean" in failed:
            return "mean"
        return "spread" if "spread" in failed else "normality"


SAMPLING_PASS = "Samples have the right mean, spread and shape, independent dimensions, and fresh noise on every call."
# Every pair of dimensions this correlated (|r|) means one ε was shared between them.
PERFECT_CORRELATION = 0.9
# What the reparameterisation check says about draws that are not a fresh sample, and the mistake
# that explains it ("": none). Plain data: the student kit ships it, so both say the same words.
SAMPLING_FINDINGS: dict[str, tuple[str, str]] = {
    "constant": ("z does not vary at all: no noise is drawn.", "no_noise"),
    "repeated_and_wrong": ("z is the same on every call and is not a sample of N(mu, σ²): it holds no randomness.", "no_noise"),
    "repeated": ("Two calls in a row returned exactly the same z: the noise is not drawn afresh.", "noise_reused"),
    "perfectly_correlated": ("The dimensions of z move together: they are perfectly correlated.", "shared_noise"),
    "correlated": ("The dimensions of z are correlated: each needs its own independent noise.", ""),
    "variance_as_std": ("The samples' standard deviation is exp(logvar), the variance, not exp(½·logvar).", "variance_as_std"),
    "mean": ("The samples' mean is not mu: z = mu + σ·ε should be centred on mu.", ""),
    "spread": ("The samples' standard deviation is not exp(½·logvar): check how you turn logvar into σ and that ε ~ N(0, I).", ""),
    "normality": ("The samples are not normally distributed: ε must come from torch.randn_like (a standard normal).", ""),
}


# ----------------------------------------------------------------------------- the experiment


@dataclass(frozen=True)
class KlTradeoffCheck(Check):
    """The seed's experiment, reproducible and unforgeable: one fixed VAE trained with the student's loss
    at weight 0 and 30 from the same seed on the same batches must end where the same training with the
    reference loss ends (the grader trains that itself, once per batch). A forger would have to produce
    the reference-trained reconstructions and posteriors, i.e. train with a correct loss.

    Under per-mistake scoring, a loss whose mistake the vae_loss checks named and deducted passes when
    its training ends where the same mistake's training ends (the grader trains that variant too):
    the mistake is not deducted again.
    """

    def run(self, evidence: Evidence) -> CheckResult:
        spec = evidence.plan.experiment
        outcome = evidence.student.experiment
        if not isinstance(spec, ExperimentSpec) or outcome is None:
            reason = evidence.student.missing_reason or "the experiment was not run"
            return self.result(CheckStatus.ERROR, f"The training experiment could not run: {reason}.")
        if outcome.error is not None:
            return self.result(CheckStatus.ERROR, "Training with your vae_loss failed: " + call_error_message("vae_loss", outcome.error))
        trained = outcome.value
        if not isinstance(trained, Experiment) or not _well_formed(trained, spec.eval_size, spec.latent, spec.weights):
            return self.result(CheckStatus.FAIL, "The training experiment returned something other than the trained model's outputs.")
        measured = _measure(trained, spec.eval_images, spec.eval_size)
        details: dict[str, Any] = {"measured": measured, "reshaped_x": trained.reshaped_x}
        if runs_agree(trained.runs, evidence.expected.trained(frozenset())):
            return self.result(CheckStatus.PASS, _AS_EXPECTED, details=details)
        story = evidence.diagnoses["vae_loss"].flags
        if evidence.scoring is Scoring.PER_MISTAKE and story and runs_agree(trained.runs, evidence.expected.trained(story)):
            names = _catalog_order(story)
            return self.result(
                CheckStatus.PASS,
                f"Trained with your loss, the model behaves as its mistake predicts ({_titles(names)}); "
                "that mistake is deducted under the vae_loss checks, not again here.",
                details={**details, "matched": sorted(story)},
            )
        return self.result(CheckStatus.FAIL, _what_went_wrong(measured), details=details)


_AS_EXPECTED = "As expected: weight 0 reconstructs better, weight 30 keeps the posterior closer to the prior."


def _well_formed(trained: Experiment, eval_size: int, latent: int, weights: tuple[float, float]) -> bool:
    shapes = ((eval_size, 784), (eval_size, latent), (eval_size, latent))
    return set(trained.runs) == {str(float(w)) for w in weights} and all(
        isinstance(run, tuple)
        and len(run) == len(shapes)
        and all(isinstance(v, np.ndarray) and v.shape == s for v, s in zip(run, shapes, strict=True))
        for run in trained.runs.values()
    )


def _measure(trained: Experiment, eval_images: str, eval_size: int) -> dict[str, dict[str, float]]:
    """Held-out reconstruction error and KL of each run, measured with the reference formulas (for staff)."""
    import torch

    x = torch.from_numpy(read_idx_images(eval_images, eval_size))
    measured: dict[str, dict[str, float]] = {"reconstruction": {}, "kl": {}}
    for weight, outputs in trained.runs.items():
        x_hat, mu, logvar = (torch.from_numpy(np.asarray(v, dtype=np.float64)) for v in outputs)
        label = f"{float(weight):g}"
        measured["reconstruction"][label] = float(reconstruction_loss(x, x_hat.clamp(1e-6, 1 - 1e-6)))
        measured["kl"][label] = float(kl_divergence(mu, logvar))
    return measured


def _what_went_wrong(measured: dict[str, dict[str, float]]) -> str:
    recon, kl = measured["reconstruction"], measured["kl"]
    if not all(np.isfinite(v) for v in (*recon.values(), *kl.values())):
        return "Training with your loss diverged (NaN or inf): the loss cannot be minimised as written."
    wrong = []
    if recon["0"] >= recon["30"]:
        wrong.append("with kl_loss_weight=0 the reconstructions were not better than with 30")
    if kl["30"] >= kl["0"]:
        wrong.append("with kl_loss_weight=30 the KL to the prior was not smaller than with 0")
    if wrong:
        return (
            f"Trained with your loss, {' and '.join(wrong)}: the weight probably multiplies the wrong term, or the KL has the wrong sign."
        )
    return (
        "Trained with your loss, the model does not end where training with the assignment's loss ends: the loss computes something else."
    )


# ----------------------------------------------------------------------------- the registry


def _from_contract(check_id: str) -> tuple[str, str, float]:
    """Id, title and points as the assignment contract fixes them (they are results.json's contract too)."""
    spec = next(spec for spec in CHECK_SPECS if spec.id == check_id)
    return spec.id, spec.title, spec.points


CHECKS: tuple[Check, ...] = (
    ValueCheck(
        *_from_contract("closed_form.mu"),
        function="closed_form",
        observable=closed_form_mu,
        tolerance=CLOSED_FORM_TOLERANCE,
        expectation="μ should be √ᾱ_t · x₀, the same shape as x₀.",
        hint="Use t and the whole alphas tensor: ᾱ_t = alphas[0] · … · alphas[t-1].",
    ),
    ValueCheck(
        *_from_contract("closed_form.sigma"),
        function="closed_form",
        observable=closed_form_sigma,
        tolerance=CLOSED_FORM_TOLERANCE,
        expectation="Σ should be the variance 1 − ᾱ_t.",
        hint="Use t and the whole alphas tensor: ᾱ_t = alphas[0] · … · alphas[t-1].",
    ),
    DerivationCheck(*_from_contract("derivation.mu"), quantity="mu"),
    DerivationCheck(*_from_contract("derivation.sigma"), quantity="Sigma"),
    ValueCheck(
        *_from_contract("vae_loss.reconstruction"),
        function="vae_loss",
        observable=reconstruction_term,
        tolerance=LOSS_TOLERANCE,
        expectation="With kl_loss_weight=0 the loss should be the binary cross-entropy of x_hat against x, summed over all elements.",
        hint="Check that the loss uses all of x and x_hat, whatever their shapes (flatten both).",
    ),
    ValueCheck(
        *_from_contract("vae_loss.kl"),
        function="vae_loss",
        observable=kl_term,
        tolerance=LOSS_TOLERANCE,
        expectation="loss(w=1) − loss(w=0) should be the KL divergence −½ Σ(1 + logvar − mu² − exp(logvar)), summed over all elements.",
        hint="Check that the KL sums over the batch and every latent dimension.",
    ),
    ValueCheck(
        *_from_contract("vae_loss.weighting"),
        function="vae_loss",
        observable=weighted_kl_terms,
        tolerance=LOSS_TOLERANCE,
        expectation="The loss should be BCE + kl_loss_weight · KL, so loss(w) − loss(0) = w · KL (checked at w = 0.5 and 30 with your own KL term).",
        hint="Make sure kl_loss_weight is used as passed, for every value.",
        consistency=weighted_by_own_kl,
    ),
    ReparameterizeCheck(*_from_contract("reparameterize")),
    KlTradeoffCheck(*_from_contract("experiment.kl_tradeoff")),
)


def run_checks(evidence: Evidence) -> tuple[CheckResult, ...]:
    return tuple(check.run(evidence) for check in CHECKS)
