"""Checks: each turns the evidence about one submission into one `CheckResult`.

Check ids and points are part of the output contract (results.json, grades.csv).
Value checks share one mechanism: an *observable* is computed from the student's probe
values, from the reference's, and from every misconception variant's, on every case; the
check passes when student and reference agree on all cases, and names the smallest set of
misconceptions whose variant agrees with the student on all cases.

To add a check: write an observable (or a `Check` subclass) and append it to `CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graders.assignment.probe_runtime import read_idx_images
from graders.judge import answers
from graders.judge.comparison import (
    CLOSED_FORM_TOLERANCE,
    LOSS_TOLERANCE,
    Tolerance,
    Unusable,
    WrongType,
    agree,
    as_array,
    as_scalar,
    describe,
    explain_difference,
    variance_from_sigma,
)
from graders.judge.expected import ExpectedValues
from graders.judge.probes import CallError, Case, ProbePlan, ProbeResults, call_id
from graders.results import CheckResult, CheckStatus, DerivationAnswer
from reference.misconceptions import CATALOG
from reference.vae import kl_divergence, reconstruction_loss


@dataclass(frozen=True)
class Evidence:
    """Everything known about one submission when checks run."""

    plan: ProbePlan
    student: ProbeResults
    expected: ExpectedValues
    derivation: tuple[DerivationAnswer, DerivationAnswer]
    self_check: bool = False  # students' own run: derivation answers are checked for form only


class CallFailed(Exception):
    """The student's function produced no value for a case: the check is an error, not a fail."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


# ----------------------------------------------------------------------------- value checks

Observable = Callable[[ProbeResults, Case], np.ndarray]


def value_of(results: ProbeResults, cid: str) -> Any:
    outcome = results.get(cid)
    if outcome.error is not None:
        raise CallFailed(_call_error_message(cid.split("/")[0], outcome.error))
    return outcome.value


def _call_error_message(function: str, error: CallError) -> str:
    if error.kind == "missing":
        return f"`{function}` is not defined in your notebook: check its name and that the cell defining it runs without error."
    if error.kind == "timeout":
        return f"`{function}` did not return within the time limit (an endless loop?)."
    if error.kind == "exception" and error.type == "NotImplementedError":
        return f"`{function}` is not implemented yet: replace `raise NotImplementedError` in it by your code."
    if error.kind == "exception":
        return f"`{function}` raised {error.type}: {error.message}"
    if error.kind == "unencodable":
        return f"`{function}` returned a value the grader cannot read ({error.message})."
    return f"`{function}` could not be called: {error.message}"


def _pair(results: ProbeResults, case: Case) -> tuple[Any, Any]:
    value = value_of(results, call_id(case.function, case.name))
    if not isinstance(value, tuple) or len(value) != 2:
        raise WrongType(f"closed_form must return the pair (mu, Sigma), but it returned {describe(value)}.")
    return value


def closed_form_mu(results: ProbeResults, case: Case) -> np.ndarray:
    return as_array(_pair(results, case)[0], "mu")


def closed_form_sigma(results: ProbeResults, case: Case) -> np.ndarray:
    return variance_from_sigma(_pair(results, case)[1], tuple(np.shape(case.args[0])))


def loss_at(results: ProbeResults, case: Case, weight: float) -> np.ndarray:
    return as_scalar(value_of(results, call_id(case.function, case.name, weight)), f"vae_loss(…, kl_loss_weight={weight:g})")


def reconstruction_term(results: ProbeResults, case: Case) -> np.ndarray:
    return loss_at(results, case, 0.0)


def kl_term(results: ProbeResults, case: Case) -> np.ndarray:
    return loss_at(results, case, 1.0) - loss_at(results, case, 0.0)


def weighted_kl_terms(results: ProbeResults, case: Case) -> np.ndarray:
    base = loss_at(results, case, 0.0)
    return np.stack([loss_at(results, case, weight) - base for weight in (0.5, 30.0)])


@dataclass(frozen=True, kw_only=True)
class ValueCheck(Check):
    function: str
    observable: Observable
    tolerance: Tolerance
    expectation: str  # what the value should be, in words
    hint: str  # added when the public case passes but a hidden one fails

    def run(self, evidence: Evidence) -> CheckResult:
        cases = evidence.plan.cases_for(self.function)
        try:
            student = {case.name: self.observable(evidence.student, case) for case in cases}
        except CallFailed as failure:
            return self.result(CheckStatus.ERROR, failure.message)
        except WrongType as wrong_type:
            return self.result(CheckStatus.ERROR, str(wrong_type))
        except Unusable as unusable:
            return self.result(CheckStatus.FAIL, f"{unusable}. {self.expectation}")
        expected = {case.name: self.observable(evidence.expected.reference, case) for case in cases}
        wrong = [case for case in cases if not agree(student[case.name], expected[case.name], self.tolerance)]
        details = {"cases_wrong": [case.name for case in wrong], "cases": len(cases)}
        if not wrong:
            return self.result(CheckStatus.PASS, f"Correct on all {len(cases)} inputs.", details=details)
        names = self._misconceptions(evidence, cases, student)
        return self.result(CheckStatus.FAIL, self._failure_message(wrong, student, expected, bool(names)), names, details)

    def _misconceptions(self, evidence: Evidence, cases: tuple[Case, ...], student: dict[str, np.ndarray]) -> tuple[str, ...]:
        for flags, results in evidence.expected.variants.get(self.function, ()):
            try:
                if all(agree(student[c.name], self.observable(results, c), self.tolerance) for c in cases):
                    return tuple(sorted(flags, key=_catalog_order))
            except (CallFailed, Unusable):
                continue
        return ()

    def _failure_message(self, wrong: list[Case], student: dict[str, np.ndarray], expected: dict[str, np.ndarray], named: bool) -> str:
        public = next((case for case in wrong if case.public), None)
        if public is not None:
            text = f"{self.expectation} On the public input {explain_difference(student[public.name], expected[public.name])}."
        else:
            text = f"Right on the public input but wrong on {len(wrong)} hidden input(s). {self.hint}".strip()
        if not named:
            text += " This does not match any mistake the grader knows; compare your code with the formula step by step."
        return text


def _catalog_order(name: str) -> int:
    return list(CATALOG).index(name)


# ----------------------------------------------------------------------------- derivation answers


@dataclass(frozen=True, kw_only=True)
class DerivationCheck(Check):
    quantity: str  # "mu" | "Sigma"

    def run(self, evidence: Evidence) -> CheckResult:
        answer = next(a for a in evidence.derivation if a.quantity == self.quantity)
        judge = answers.judge_mu if self.quantity == "mu" else answers.judge_sigma
        verdict = judge(answer.latex)
        if evidence.self_check and verdict.status is not CheckStatus.ERROR:
            return self.result(CheckStatus.PASS, f"Found and readable: {answer.latex}. Whether it is right is graded after you submit.")
        return self.result(verdict.status, verdict.message, verdict.misconceptions, {"parsed": verdict.parsed})


# ----------------------------------------------------------------------------- reparameterisation


@dataclass(frozen=True)
class ReparameterizeCheck(Check):
    """Statistical: per latent dimension, the draws' mean and spread must match N(μ, exp(logvar)).

    Bounds are 6 standard errors wide, so a correct implementation fails with probability
    below 1e-8 per dimension; the grading seed makes every run give the same draws anyway.
    """

    def run(self, evidence: Evidence) -> CheckResult:
        cases = evidence.plan.cases_for("reparameterize")
        try:
            draws = {case.name: self._draws(evidence.student, case) for case in cases}
        except CallFailed as failure:
            return self.result(CheckStatus.ERROR, failure.message)
        except WrongType as wrong_type:
            return self.result(CheckStatus.ERROR, str(wrong_type))
        except Unusable as unusable:
            return self.result(CheckStatus.FAIL, str(unusable))
        problems = [problem for case in cases if (problem := self._problem(draws[case.name], case, "std"))]
        if not problems:
            return self.result(CheckStatus.PASS, "Samples have the right mean and standard deviation.")
        names = tuple(name for name in ("variance_as_std", "no_noise") if all(not self._problem(draws[c.name], c, name) for c in cases))[:1]
        return self.result(CheckStatus.FAIL, problems[0], names)

    @staticmethod
    def _draws(results: ProbeResults, case: Case) -> np.ndarray:
        z = as_array(value_of(results, call_id("reparameterize", case.name)), "z")
        if z.shape != np.shape(case.args[0]):
            raise Unusable(f"z should have the shape of mu {tuple(np.shape(case.args[0]))}, but it has shape {tuple(z.shape)}.")
        if not np.all(np.isfinite(z)):
            raise Unusable("z contains NaN or inf.")
        return z

    @staticmethod
    def models(case: Case) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """μ per dimension, and σ per dimension under each model: 'std' is the right one, the others are mistakes."""
        mu, logvar = (np.asarray(a[0], dtype=np.float64) for a in case.args)
        return mu, {"std": np.exp(0.5 * logvar), "variance_as_std": np.exp(logvar), "no_noise": np.zeros_like(logvar)}

    @classmethod
    def _problem(cls, z: np.ndarray, case: Case, model: str) -> str:
        """Why `z` is not a sample of the given model, or '' if it is."""
        mu, sigmas = cls.models(case)
        sigma = sigmas[model]
        n = z.shape[0]
        mean, std = z.mean(axis=0), z.std(axis=0, ddof=1)
        if np.any(np.abs(mean - mu) > 6 * np.maximum(sigma, 1e-6) / np.sqrt(n)):
            return "The samples' mean is not mu: z = mu + σ·ε should be centred on mu."
        if model == "no_noise":
            return "" if np.all(std < 1e-6) else "noise present"
        if np.any(np.abs(std / sigma - 1) > 6 / np.sqrt(2 * n)):
            return "The samples' standard deviation is not exp(½·logvar): check how you turn logvar into σ and that ε ~ N(0, I)."
        return ""


# ----------------------------------------------------------------------------- the experiment


@dataclass(frozen=True)
class KlTradeoffCheck(Check):
    """The seed's experiment, reproducible: train one fixed VAE with the student's loss at weight 0 and 30.

    Expected direction: weight 0 reconstructs better (lower BCE); weight 30 stays closer to the
    prior (lower KL). Both are measured here with the reference formulas on held-out images.
    """

    def run(self, evidence: Evidence) -> CheckResult:
        spec = evidence.plan.experiment
        outcome = evidence.student.experiment
        if spec is None or outcome is None:
            reason = evidence.student.missing_reason or "the experiment was not run"
            return self.result(CheckStatus.ERROR, f"The training experiment could not run: {reason}.")
        if outcome.error is not None:
            return self.result(CheckStatus.ERROR, "Training with your vae_loss failed: " + _call_error_message("vae_loss", outcome.error))
        import torch

        x = torch.from_numpy(read_idx_images(spec.eval_images, spec.eval_size))
        measured = {}
        for weight, (x_hat, mu, logvar) in outcome.value.items():
            x_hat, mu, logvar = (torch.from_numpy(np.asarray(v, dtype=np.float64)) for v in (x_hat, mu, logvar))
            if not (torch.isfinite(x_hat).all() and torch.isfinite(mu).all() and torch.isfinite(logvar).all()):
                return self.result(
                    CheckStatus.FAIL,
                    f"Training with kl_loss_weight={weight} diverged (NaN or inf): the loss cannot be minimised as written.",
                )
            measured[float(weight)] = (float(reconstruction_loss(x, x_hat.clamp(1e-6, 1 - 1e-6))), float(kl_divergence(mu, logvar)))
        (recon_0, kl_0), (recon_30, kl_30) = measured[spec.weights[0]], measured[spec.weights[1]]
        details = {"reconstruction": {"0": recon_0, "30": recon_30}, "kl": {"0": kl_0, "30": kl_30}}
        if recon_0 < recon_30 and kl_30 < kl_0:
            return self.result(
                CheckStatus.PASS,
                "As expected: weight 0 reconstructs better, weight 30 keeps the posterior closer to the prior.",
                details=details,
            )
        wrong = []
        if recon_0 >= recon_30:
            wrong.append("with kl_loss_weight=0 the reconstructions were not better than with 30")
        if kl_30 >= kl_0:
            wrong.append("with kl_loss_weight=30 the KL to the prior was not smaller than with 0")
        return self.result(
            CheckStatus.FAIL,
            "Trained with your loss, "
            + " and ".join(wrong)
            + ": the weight probably multiplies the wrong term, or the KL has the wrong sign.",
            details=details,
        )


# ----------------------------------------------------------------------------- the registry

CHECKS: tuple[Check, ...] = (
    ValueCheck(
        "closed_form.mu",
        "Closed form: mean μ",
        2.0,
        function="closed_form",
        observable=closed_form_mu,
        tolerance=CLOSED_FORM_TOLERANCE,
        expectation="μ should be √ᾱ_t · x₀, the same shape as x₀.",
        hint="Use t and the whole alphas tensor: ᾱ_t = alphas[0] · … · alphas[t-1].",
    ),
    ValueCheck(
        "closed_form.sigma",
        "Closed form: variance Σ",
        1.0,
        function="closed_form",
        observable=closed_form_sigma,
        tolerance=CLOSED_FORM_TOLERANCE,
        expectation="Σ should be the variance 1 − ᾱ_t.",
        hint="Use t and the whole alphas tensor: ᾱ_t = alphas[0] · … · alphas[t-1].",
    ),
    DerivationCheck("derivation.mu", "Derivation: your answer for μ", 1.0, quantity="mu"),
    DerivationCheck("derivation.sigma", "Derivation: your answer for Σ", 1.0, quantity="Sigma"),
    ValueCheck(
        "vae_loss.reconstruction",
        "VAE loss: reconstruction term",
        2.0,
        function="vae_loss",
        observable=reconstruction_term,
        tolerance=LOSS_TOLERANCE,
        expectation="With kl_loss_weight=0 the loss should be the binary cross-entropy of x_hat against x, summed over all elements.",
        hint="Check that the loss uses all of x and x_hat, whatever their shapes (flatten both).",
    ),
    ValueCheck(
        "vae_loss.kl",
        "VAE loss: KL term",
        2.0,
        function="vae_loss",
        observable=kl_term,
        tolerance=LOSS_TOLERANCE,
        expectation="loss(w=1) − loss(w=0) should be the KL divergence −½ Σ(1 + logvar − mu² − exp(logvar)), summed over all elements.",
        hint="Check that the KL sums over the batch and every latent dimension.",
    ),
    ValueCheck(
        "vae_loss.weighting",
        "VAE loss: kl_loss_weight",
        1.0,
        function="vae_loss",
        observable=weighted_kl_terms,
        tolerance=LOSS_TOLERANCE,
        expectation="The loss should be BCE + kl_loss_weight · KL, so loss(w) − loss(0) = w · KL (checked at w = 0.5 and 30; a wrong KL term fails this too).",
        hint="Make sure kl_loss_weight is used as passed, for every value.",
    ),
    ReparameterizeCheck("reparameterize", "Reparameterisation trick", 1.0),
    KlTradeoffCheck("experiment.kl_tradeoff", "Experiment: KL weight 30 vs 0", 1.0),
)

CHECK_IDS = tuple(check.id for check in CHECKS)
MAX_SCORE = sum(check.points for check in CHECKS)


def applicable_checks(plan: ProbePlan) -> tuple[Check, ...]:
    """The checks a plan can decide: a plan without the experiment (the public plan) leaves its check out."""
    return tuple(check for check in CHECKS if plan.experiment is not None or not isinstance(check, KlTradeoffCheck))


def run_checks(evidence: Evidence) -> tuple[CheckResult, ...]:
    return tuple(check.run(evidence) for check in applicable_checks(evidence.plan))


def errored_checks(message: str) -> tuple[CheckResult, ...]:
    """Every check as `error`, for a submission that could not be read or run at all."""
    return tuple(CheckResult(check.id, CheckStatus.ERROR, 0.0, check.points, message) for check in CHECKS)
