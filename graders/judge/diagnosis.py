"""Diagnosis: which catalogued mistake explains everything one function returned, and what it costs.

A check looks at one observable; a misconception is a story about a whole function. Before the
checks of a function run, its values on every input and at every weight are matched, all at once,
against the reference and every variant (smallest combination first). When one story explains them
all, the deduction policy (`DEDUCTIONS`) says which check each mistake costs; the function's other
checks are judged on what the values show, so one mistake costs one deduction.

Partial evidence counts: inputs on which the function raised are left out, and the story is named
when the inputs that ran single it out (only one smallest combination fits them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graders.judge.comparison import CLOSED_FORM_TOLERANCE, LOSS_TOLERANCE, Tolerance, Unusable, agree
from graders.judge.expected import ExpectedValues
from graders.judge.observables import CallFailed, Observable, closed_form_mu, closed_form_sigma, losses
from graders.judge.probes import Case, ProbePlan, ProbeResults
from reference.misconceptions import CATALOG

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
class Raised:
    """An input on which the student's function gave no value, and the student-safe reason."""

    case: Case
    message: str


@dataclass(frozen=True)
class Diagnosis:
    function: str
    # The smallest catalogued combination that explains every value that came back: frozenset() is
    # the reference itself; None means no story fits (or the inputs that ran fit several equally).
    flags: frozenset[str] | None
    ran: tuple[Case, ...]
    raised: tuple[Raised, ...]
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
    values: dict[str, list[np.ndarray]] = {}
    raised: list[Raised] = []
    try:
        for case in cases:
            try:
                values[case.name] = [observable(student, case) for observable in observables]
            except CallFailed as failure:
                raised.append(Raised(case, failure.message))
    except Unusable:  # a value wrong in form (a per-sample loss, a string): the checks explain it one by one
        return Diagnosis(function, None, (), tuple(raised))
    ran = tuple(case for case in cases if case.name in values)
    reshaped = any(student.get(cid).reshaped_x is not None for case in ran for cid in case.call_ids())
    if not ran:
        return Diagnosis(function, None, ran, tuple(raised), reshaped)
    stories = [(frozenset[str](), expected.reference), *expected.variants.get(function, ())]
    fitting = [flags for flags, results in stories if _explains(results, ran, values, observables, tolerance)]
    if not fitting:
        return Diagnosis(function, None, ran, tuple(raised), reshaped)
    smallest = [flags for flags in fitting if len(flags) == len(fitting[0])]
    # All inputs ran: the smallest story in catalog order is the simplest one. Some raised: name it
    # only if the inputs that ran single it out.
    if raised and len(smallest) > 1:
        return Diagnosis(function, None, ran, tuple(raised), reshaped)
    return Diagnosis(function, fitting[0], ran, tuple(raised), reshaped)


def _explains(
    results: ProbeResults,
    ran: tuple[Case, ...],
    values: dict[str, list[np.ndarray]],
    observables: tuple[Observable, ...],
    tolerance: Tolerance,
) -> bool:
    try:
        return all(
            agree(student, observable(results, case), tolerance)
            for case in ran
            for student, observable in zip(values[case.name], observables, strict=True)
        )
    except (CallFailed, Unusable):
        return False


def raised_note(raised: tuple[Raised, ...]) -> str:
    """One sentence naming the inputs that raised and why (hidden ones without the student's message)."""
    if not raised:
        return ""
    shown = "; ".join(f"{'the public input' if r.case.public else 'a hidden input'}: {r.message}" for r in raised[:3])
    return f" It raised on {len(raised)} input(s) ({shown})."
