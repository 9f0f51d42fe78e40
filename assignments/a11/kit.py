"""Assignment 11's student kit: what is its own (the graders/kit builder does the rest, `KIT`).

Its check cells, its modules the kit ships (the observables, the Var(q · k) answer's finder and form
reader, not the module that judges it), and its words: what the kit says where a value differs, never
the right formula (the grader's expectations may state it; the report gives those after grading).
"""

from __future__ import annotations

from pathlib import Path

from assignments.a11 import ASSIGNMENT, answer_form, observables
from assignments.a11.checks import CHECKS, POLICY
from assignments.a11.contract import ATTENTION, CAUSAL_MASK, LAYER_NORM, SOFTMAX
from graders.assignment.spec import KitSpec

# (function whose definition the cell follows, the part it checks): each function ends with its check.
CHECK_CELLS = (
    (SOFTMAX.name, "softmax"),
    (CAUSAL_MASK.name, "causal_mask"),
    (ATTENTION.name, "attention"),
    (LAYER_NORM.name, "layer_norm"),
)
# What the kit says where a value check's values differ: which values, never what they should be. The
# message goes on with where and by how much.
KIT_WORDS = {
    "softmax": "softmax(x, dim) is not what the grader computes.",
    "causal_mask": "causal_mask(size) is not the mask the grader computes.",
    "attention": "The attention output with mask=None is not what the grader computes.",
    "attention.mask": "The attention output with a mask is not what the grader computes.",
    "layer_norm": "layer_norm(x, gamma, beta, eps) is not what the grader computes.",
}

KIT = KitSpec(
    template=ASSIGNMENT.handout.template,
    readme=Path(__file__).resolve().parent / "kit_README.md",
    check_cells=CHECK_CELLS,
    checks=CHECKS,
    policy=POLICY,
    modules=(observables, answer_form),
    observables=observables,
    derivation_reader=answer_form.derivation,
    readable=answer_form.readable,
    words=KIT_WORDS,
)
