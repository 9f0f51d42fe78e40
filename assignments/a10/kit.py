"""Assignment 10's student kit: what is its own (the graders/kit builder does the rest, `KIT`).

Its check cells, its modules the kit ships (the observables, the notation, the answer finder and its
form reader), and its words: what the kit says where a value differs or draws are not a fresh sample,
never the right formula (the grader's expectations and findings may state it; the report gives those).
"""

from __future__ import annotations

from pathlib import Path

from assignments.a10 import ASSIGNMENT, answer_form, answer_lines, latex, notation, observables
from assignments.a10.checks import CHECKS, POLICY
from graders.assignment.spec import KitSpec

# (function whose definition the cell follows, the part it checks): each exercise ends with its check.
CHECK_CELLS = (("closed_form", "closed_form"), ("reparameterize", "reparameterize"), ("vae_loss", "vae_loss"))
# What the kit says where a value check's values differ: which values, never what they should be (the
# grader's expectation states the formula). The message goes on with where and by how much.
KIT_WORDS = {
    "closed_form.mu": "μ is not what the grader computes.",
    "closed_form.sigma": "Σ is not what the grader computes.",
    "vae_loss.reconstruction": "The loss at kl_loss_weight=0 is not what the grader computes.",
    "vae_loss.kl": "loss(w=1) − loss(w=0) is not what the grader computes.",
    "vae_loss.weighting": "loss(w) − loss(0) at w = 0.5 and 30 is not what the grader computes.",
}
OWN_VALUES_WORDS = "loss(w) at w = 0.5 and 30 is not loss(0) + w·(loss(1) − loss(0)) from your own values."
# What the kit says of draws that are not a fresh sample: how they look, never how z is computed (the
# grader's words, SAMPLING_FINDINGS, may say it). A finding the kit has no words for gets the general one.
NOT_A_FRESH_SAMPLE = "The draws are not a fresh sample of N(mu, σ²) with independent dimensions."
KIT_FINDINGS = {
    "constant": "z does not vary at all.",
    "repeated_and_wrong": "z is the same on every call, and it is not a sample of N(mu, σ²).",
    "repeated": "Two calls in a row returned exactly the same z.",
    "perfectly_correlated": "The dimensions of z move together: they are perfectly correlated.",
    "correlated": "The dimensions of z are correlated: they are not independent.",
    "variance_as_std": "The samples do not have the standard deviation σ that logvar = log σ² gives.",
    "mean": "The samples' mean is not mu.",
    "spread": "The samples do not have the standard deviation σ that logvar = log σ² gives.",
    "normality": "The samples are not normally distributed.",
    "same_for_every_row": "Every row of z is the same draw, although z changes from call to call: the rows share their noise.",
    "no_gradient": "z is distributed right but carries no gradient back to mu or logvar, so training cannot reach the encoder through it.",
    "gradient_to_mean_only": "z carries a gradient back to mu but none to logvar.",
    "wrong_gradient": "z's gradients with respect to mu and logvar are not those of a sample drawn as a function of them.",
}


KIT = KitSpec(
    template=ASSIGNMENT.handout.template,
    readme=Path(__file__).resolve().parent / "kit_README.md",
    check_cells=CHECK_CELLS,
    checks=CHECKS,
    policy=POLICY,
    modules=(observables, answer_lines, notation, latex, answer_form),
    observables=observables,
    derivation_reader=answer_form.derivation,
    readable=answer_form.readable,
    words=KIT_WORDS,
    own_values_words=OWN_VALUES_WORDS,
    findings=KIT_FINDINGS,
    not_a_fresh_sample=NOT_A_FRESH_SAMPLE,
)
