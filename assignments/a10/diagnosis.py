"""Diagnosis: which catalogued mistake explains everything one function returned, and what it costs.

A check looks at one observable; a misconception is a story about a whole function. Before the
checks of a function run, its values on every input and at every weight are matched, all at once,
against the reference and every variant (smallest combination first). When one story explains them
all, the deduction policy (`DEDUCTIONS`) says which check each mistake costs; the function's other
checks are judged on what the values show, so one mistake costs one deduction.

A story is named only from values that all exist. A function that gave no value on some input
(raised, timed out, returned something unreadable or unusable) gets no diagnosis from the inputs it
answered: a lookup table of one input's values would otherwise buy every "right, given your values"
check. Its checks are then judged case by case (assignments/a10/checks.py), and an input without
the value a check compares fails that check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assignments.a10.observables import CLOSED_FORM_TOLERANCE, LOSS_TOLERANCE, closed_form_mu, closed_form_sigma, losses
from graders.judge.comparison import Tolerance, Unusable, agree
from graders.judge.expected import ExpectedValues
from graders.judge.probes import Case, ProbePlan, ProbeResults
from graders.judge.values import CallFailed, Observable
from reference.a10.misconceptions import CATALOG

# Which check each misconception costs under per-mistake scoring (the README's table).
DEDUCTIONS: dict[str, str] = {
    "missing_sqrt": "closed_form.mu",
    "missing_x0": "closed_form.mu",
    "std_for_variance": "closed_form.sigma",
    "off_by_one_index": "closed_form.mu",  # ᾱ_t is wrong once; Σ = 1 − (your ᾱ_t) is consistent with it
    "last_alpha_only": "closed_form.mu",
    "kl_sign_flipped": "vae_loss.kl",
    "kl_missing_half": "vae_loss.kl",
    "weight_on_reconstruction": "vae_loss.weighting",
    "weight_ignored": "vae_loss.weighting",
    "mean_reduction": "vae_loss.reconstruction",
    "mse_instead_of_bce": "vae_loss.reconstruction",
    "loss_expects_flat_x": "vae_loss.reconstruction",
    "variance_as_std": "reparameterize",
    "no_noise": "reparameterize",
    "shared_noise": "reparameterize",
    "noise_reused": "reparameterize",
}

# All a function's values, as one observable per case, and how close they must be.
WHOLE_FUNCTION: dict[str, tuple[tuple[Observable, ...], Tolerance]] = {
    "closed_form": ((closed_form_mu, closed_form_sigma), CLOSED_FORM_TOLERANCE),
    "vae_loss": ((losses,), LOSS_TOLERANCE),
}


@dataclass(frozen=True)
class Diagnosis:
    function: str
    # The smallest catalogued combination that explains every value on every input: frozenset() is the
    # reference itself; None means no story fits, or some input gave no value to explain.
    flags: frozenset[str] | None
    reshaped_x: bool = False  # the loss only ran with x flattened like x_hat

    @property
    def story(self) -> frozenset[str] | None:
        """Every named mistake, including the ones seen in how calls behaved rather than in values."""
        if self.flags is None:
            return None
        return self.flags | ({"loss_expects_flat_x"} if self.reshaped_x else set())

    def charged_to(self, check_id: str) -> tuple[str, ...]:
        """The story's mistakes that this check deducts, in catalog order."""
        return tuple(name for name in CATALOG if name in (self.story or ()) and DEDUCTIONS[name] == check_id)

    def charged_elsewhere(self, check_id: str) -> tuple[str, ...]:
        return tuple(name for name in CATALOG if name in (self.story or ()) and DEDUCTIONS[name] != check_id)


def diagnose(plan: ProbePlan, student: ProbeResults, expected: ExpectedValues, function: str) -> Diagnosis:
    observables, tolerance = WHOLE_FUNCTION[function]
    cases = plan.cases_for(function)
    try:
        values = {case.name: [observable(student, case) for observable in observables] for case in cases}
    except (CallFailed, Unusable):  # no value, or one wrong in form, on some input: the checks judge case by case
        return Diagnosis(function, None)
    reshaped = any(student.get(cid).reshaped_x is not None for case in cases for cid in case.call_ids())
    stories = [(frozenset[str](), expected.reference), *expected.variants.get(function, ())]
    # Smallest first, in catalog order: the first story that fits is the simplest one.
    flags = next((flags for flags, results in stories if _explains(results, cases, values, observables, tolerance)), None)
    return Diagnosis(function, flags, reshaped)


def _explains(
    results: ProbeResults,
    cases: tuple[Case, ...],
    values: dict[str, list[np.ndarray]],
    observables: tuple[Observable, ...],
    tolerance: Tolerance,
) -> bool:
    try:
        return all(
            agree(student, observable(results, case), tolerance)
            for case in cases
            for student, observable in zip(values[case.name], observables, strict=True)
        )
    except (CallFailed, Unusable):
        return False
