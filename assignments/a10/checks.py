"""Assignment 10's nine checks: configurations of the harness's check kinds (graders/judge/kinds/).

closed_form's μ and Σ and vae_loss's three terms are value checks on their observables
(observables.py); the derivation's μ and Σ are symbolic answers (answers.py reads them);
reparameterize is a Gaussian sampler; the KL-weight experiment trains the kernel's small VAE with the
student's loss (kernel.py). `POLICY` is the deduction policy: which check each catalogued mistake
costs (the table in this package's README.md) and which functions are diagnosed as a whole.

To add a check: write an observable (or configure another kind) and append it to `CHECKS`, with its
`CheckSpec` in contract.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assignments.a10 import answers
from assignments.a10.catalog import CATALOG
from assignments.a10.contract import CHECKS as CHECK_SPECS
from assignments.a10.contract import CLOSED_FORM, PIXELS, REPARAMETERIZE, VAE_LOSS
from assignments.a10.kernel import read_idx_images
from assignments.a10.observables import (
    CLOSED_FORM_TOLERANCE,
    LOSS_TOLERANCE,
    closed_form_mu,
    closed_form_sigma,
    kl_term,
    losses,
    reconstruction_term,
    weighted_by_own_kl,
    weighted_kl_terms,
)
from assignments.a10.plan import ExperimentSpec
from graders.judge.checks import Check, Judged
from graders.judge.checks import run_checks as generic_run_checks
from graders.judge.critical import critical_values
from graders.judge.diagnosis import DeductionPolicy, WholeFunction
from graders.judge.evidence import Evidence as HarnessEvidence
from graders.judge.kinds.experiment import ExperimentCheck
from graders.judge.kinds.sampler import GaussianSamplerCheck
from graders.judge.kinds.symbolic import SymbolicAnswerCheck
from graders.judge.kinds.value import ValueCheck
from graders.judge.probes import Experiment
from graders.judge.probes import ExperimentSpec as HarnessExperimentSpec
from graders.results import CheckResult
from reference.a10.vae import kl_divergence, reconstruction_loss


def _from_contract(check_id: str) -> tuple[str, str, float]:
    """Id, title and points as the assignment contract fixes them (they are results.json's contract too)."""
    spec = next(spec for spec in CHECK_SPECS if spec.id == check_id)
    return spec.id, spec.title, spec.points


# ----------------------------------------------------------------------------- the deduction policy

# Which check each misconception costs under per-mistake scoring (the table in this package's README.md).
DEDUCTIONS: dict[str, str] = {
    "missing_sqrt": "closed_form.mu",
    "missing_x0": "closed_form.mu",
    "std_for_variance": "closed_form.sigma",
    "off_by_one_index": "closed_form.mu",  # ᾱ_t is wrong once; Σ = 1 − (your ᾱ_t) is consistent with it
    "last_alpha_only": "closed_form.mu",
    "kl_sign_flipped": "vae_loss.kl",
    "kl_missing_half": "vae_loss.kl",
    "kl_mean_reduction": "vae_loss.kl",
    "kl_batch_mean": "vae_loss.kl",
    # However the weight enters, it is one mistake in how kl_loss_weight is applied: the terms are judged as the values show them.
    "weight_on_reconstruction": "vae_loss.weighting",
    "weight_ignored": "vae_loss.weighting",
    "weight_convex_mixture": "vae_loss.weighting",
    "weight_on_both_terms": "vae_loss.weighting",
    "weight_as_divisor": "vae_loss.weighting",
    "weight_normalised": "vae_loss.weighting",
    "weight_squared": "vae_loss.weighting",
    "mean_reduction": "vae_loss.reconstruction",
    "mse_instead_of_bce": "vae_loss.reconstruction",
    "loss_expects_flat_x": "vae_loss.reconstruction",
    "variance_as_std": "reparameterize",
    "no_noise": "reparameterize",
    "shared_noise": "reparameterize",
    "noise_reused": "reparameterize",
    "sample_without_gradient": "reparameterize",
    "logvar_without_gradient": "reparameterize",
}

# The functions diagnosed as a whole: all their values, as observables per case, and how close they must be.
WHOLE_FUNCTION: dict[str, WholeFunction] = {
    CLOSED_FORM.name: WholeFunction((closed_form_mu, closed_form_sigma), CLOSED_FORM_TOLERANCE),
    VAE_LOSS.name: WholeFunction((losses,), LOSS_TOLERANCE, reshaped_mistake="loss_expects_flat_x"),
}

POLICY = DeductionPolicy(CATALOG, DEDUCTIONS, WHOLE_FUNCTION)


@dataclass(frozen=True)
class Evidence(Judged):
    """The harness's evidence, judged with Assignment 10's deduction policy."""

    policy: DeductionPolicy = field(default=POLICY, kw_only=True)


# ----------------------------------------------------------------------------- vae_loss

RESHAPED_LOSS = "Your loss gives the right values once x is flattened, but not with the shapes the handout passes."

# ----------------------------------------------------------------------------- reparameterize

SAMPLING_PASS = "Samples have the right mean, spread and shape, independent dimensions, and fresh noise on every call."
PERFECT_CORRELATION = 0.9  # every pair of dimensions this correlated (|r|) means one ε was shared between them
# What the reparameterisation check says about draws that are not a fresh sample, and the mistake
# that explains it ("": none). Plain data: the student kit ships it, so both say the same words.
SAMPLING_FINDINGS: dict[str, tuple[str, str]] = {
    "constant": ("z does not vary at all: no noise is drawn.", "no_noise"),
    "same_for_every_row": (
        "Every row of z is the same, though each row is a separate sample (z does change from call to call): "
        "one draw of noise is shared by the whole batch.",
        "shared_noise",
    ),
    "repeated_and_wrong": ("z is the same on every call and is not a sample of N(mu, σ²): it holds no randomness.", "no_noise"),
    "repeated": ("Two calls in a row returned exactly the same z: the noise is not drawn afresh.", "noise_reused"),
    "perfectly_correlated": ("The dimensions of z move together: they are perfectly correlated.", "shared_noise"),
    "correlated": ("The dimensions of z are correlated: each needs its own independent noise.", ""),
    "variance_as_std": ("The samples' standard deviation is exp(logvar), the variance, not exp(½·logvar).", "variance_as_std"),
    "mean": ("The samples' mean is not mu: z = mu + σ·ε should be centred on mu.", ""),
    "spread": ("The samples' standard deviation is not exp(½·logvar): check how you turn logvar into σ and that ε ~ N(0, I).", ""),
    "normality": ("The samples are not normally distributed: ε must come from torch.randn_like (a standard normal).", ""),
    "no_gradient": (
        "z has the right distribution but carries no gradient to mu or logvar: training could not update the encoder through it.",
        "sample_without_gradient",
    ),
    "gradient_to_mean_only": (
        "z carries a gradient to mu but none to logvar: training could not learn the encoder's variance through it.",
        "logvar_without_gradient",
    ),
    "wrong_gradient": (
        "z has the right distribution, but its gradients with respect to mu and logvar are not those of a reparameterised "
        "sample: z does not move with mu and logvar as the noise it drew says it should.",
        "",
    ),
}


SAMPLER = GaussianSamplerCheck(
    *_from_contract(REPARAMETERIZE.name),
    function=REPARAMETERIZE.name,
    passed=SAMPLING_PASS,
    findings=SAMPLING_FINDINGS,
    perfect_correlation=PERFECT_CORRELATION,
    critical=critical_values,
)

# ----------------------------------------------------------------------------- the experiment

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


def runs_diverged(runs: Mapping[str, Any]) -> bool:
    """Whether a training ended in NaN or inf somewhere (as one with a loss infinite at weight 0 does)."""
    return any(not np.all(np.isfinite(np.asarray(value, dtype=np.float64))) for run in runs.values() for value in run)


_AS_EXPECTED = "As expected: weight 0 reconstructs better, weight 30 keeps the posterior closer to the prior."


def _well_formed(trained: Experiment, spec: HarnessExperimentSpec) -> bool:
    if not isinstance(spec, ExperimentSpec):
        return False
    eval_size, latent = spec.eval_size, spec.latent
    shapes = ((eval_size, PIXELS), (eval_size, latent), (eval_size, latent))
    return set(trained.runs) == {str(float(w)) for w in spec.weights} and all(
        isinstance(run, tuple)
        and len(run) == len(shapes)
        and all(isinstance(v, np.ndarray) and v.shape == s for v, s in zip(run, shapes, strict=True))
        for run in trained.runs.values()
    )


def _measure(trained: Experiment, spec: HarnessExperimentSpec) -> dict[str, Any]:
    """Held-out reconstruction error and KL of each run, measured with the reference formulas (for staff)."""
    import torch

    assert isinstance(spec, ExperimentSpec)  # noqa: S101 - _well_formed, which the check runs first, made sure
    x = torch.from_numpy(read_idx_images(spec.eval_images, spec.eval_size))
    measured: dict[str, dict[str, float]] = {"reconstruction": {}, "kl": {}}
    for weight, outputs in trained.runs.items():
        x_hat, mu, logvar = (torch.from_numpy(np.asarray(v, dtype=np.float64)) for v in outputs)
        label = f"{float(weight):g}"
        # A run that ended in NaN has no reconstruction error (BCE refuses NaN): the failure says it diverged.
        diverged = not bool(torch.isfinite(x_hat).all())
        measured["reconstruction"][label] = float("nan") if diverged else float(reconstruction_loss(x, x_hat.clamp(1e-6, 1 - 1e-6)))
        measured["kl"][label] = float(kl_divergence(mu, logvar))
    return measured


def _what_went_wrong(measured: dict[str, Any]) -> str:
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


# ----------------------------------------------------------------------------- the checks


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
    SymbolicAnswerCheck(*_from_contract("derivation.mu"), quantity="mu", judge=answers.judge_mu),
    SymbolicAnswerCheck(*_from_contract("derivation.sigma"), quantity="Sigma", judge=answers.judge_sigma),
    ValueCheck(
        *_from_contract("vae_loss.reconstruction"),
        function="vae_loss",
        observable=reconstruction_term,
        tolerance=LOSS_TOLERANCE,
        expectation="With kl_loss_weight=0 the loss should be the binary cross-entropy of x_hat against x, summed over all elements.",
        hint="Check that the loss uses all of x and x_hat, whatever their shapes (flatten both).",
        reshaped_message=RESHAPED_LOSS,
    ),
    ValueCheck(
        *_from_contract("vae_loss.kl"),
        function="vae_loss",
        observable=kl_term,
        tolerance=LOSS_TOLERANCE,
        expectation="loss(w=1) − loss(w=0) should be the KL divergence −½ Σ(1 + logvar − mu² − exp(logvar)), summed over all elements.",
        hint="Check that the KL sums over the batch and every latent dimension.",
        reshaped_message=RESHAPED_LOSS,
    ),
    ValueCheck(
        *_from_contract("vae_loss.weighting"),
        function="vae_loss",
        observable=weighted_kl_terms,
        tolerance=LOSS_TOLERANCE,
        expectation="The loss should be BCE + kl_loss_weight · KL, so loss(w) − loss(0) = w · KL (checked at w = 0.5 and 30 with your own KL term).",
        hint="Make sure kl_loss_weight is used as passed, for every value.",
        consistency=weighted_by_own_kl,
        reshaped_message=RESHAPED_LOSS,
    ),
    SAMPLER,
    ExperimentCheck(
        *_from_contract("experiment.kl_tradeoff"),
        function=VAE_LOSS.name,
        run_with="your loss",
        well_formed=_well_formed,
        measure=_measure,
        agrees=runs_agree,
        diverged=runs_diverged,
        passed=_AS_EXPECTED,
        failure=_what_went_wrong,
        right_values_failure=(
            "Your loss gives the right values on every input, yet training with it does not end where training with "
            "the assignment's loss ends: the gradient does not flow through all of it (a term taken out with .item(), "
            ".detach(), .data or numpy still adds its value, but trains nothing)."
        ),
    ),
)


def run_checks(evidence: HarnessEvidence) -> tuple[CheckResult, ...]:
    return generic_run_checks(CHECKS, evidence if isinstance(evidence, Evidence) else Evidence.of(evidence, POLICY))
