"""Assignment 11's seven checks: configurations of the harness's check kinds (graders/judge/kinds/).

softmax, causal_mask, attention (the inputs without a mask), attention.mask (the inputs with one) and
layer_norm are value checks on observables.py's observables; derivation.variance is a symbolic answer
read by answers.py; experiment.entropy runs the student's attention in the kernel (experiment.py). `POLICY` says which check each catalogued mistake costs (the table in this
package's README.md); every function is diagnosed as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assignments.a11 import answers
from assignments.a11.catalog import CATALOG
from assignments.a11.contract import ATTENTION, CAUSAL_MASK, LAYER_NORM, SOFTMAX
from assignments.a11.contract import CHECKS as CHECK_SPECS
from assignments.a11.experiment import entropy_check
from assignments.a11.observables import EXACT, TOLERANCE, WHOLE, masked_output, unmasked_output, values
from graders.judge.checks import Check, Judged
from graders.judge.checks import run_checks as generic_run_checks
from graders.judge.diagnosis import DeductionPolicy, WholeFunction
from graders.judge.evidence import Evidence as HarnessEvidence
from graders.judge.kinds.symbolic import SymbolicAnswerCheck
from graders.judge.kinds.value import ValueCheck
from graders.results import CheckResult


def _from_contract(check_id: str) -> tuple[str, str, float]:
    spec = next(spec for spec in CHECK_SPECS if spec.id == check_id)
    return spec.id, spec.title, spec.points


# Which check each misconception costs under per-mistake scoring (the table in this package's README.md).
DEDUCTIONS: dict[str, str] = {
    "unstable_softmax": "softmax",
    "mask_hides_diagonal": "causal_mask",
    "no_scale": "attention",
    "scale_by_dk": "attention",
    "softmax_over_queries": "attention",
    "mask_after_softmax": "attention.mask",
    "multiplicative_mask": "attention.mask",
    "masked_row_nan": "attention.mask",
    "unbiased_variance": "layer_norm",
    "normalised_over_wrong_axis": "layer_norm",
    "eps_outside_sqrt": "layer_norm",
    "variance_of_one_term": "derivation.variance",
    "std_for_variance": "derivation.variance",
}

WHOLE_FUNCTION: dict[str, WholeFunction] = {
    function: WholeFunction(observables, EXACT if function == CAUSAL_MASK.name else TOLERANCE) for function, observables in WHOLE.items()
}

POLICY = DeductionPolicy(CATALOG, DEDUCTIONS, WHOLE_FUNCTION)


@dataclass(frozen=True)
class Evidence(Judged):
    """The harness's evidence, judged with Assignment 11's deduction policy."""

    policy: DeductionPolicy = field(default=POLICY, kw_only=True)


CHECKS: tuple[Check, ...] = (
    ValueCheck(
        *_from_contract("softmax"),
        function=SOFTMAX.name,
        observable=values,
        tolerance=TOLERANCE,
        expectation="softmax(x, dim) should be exp(x) / Σ exp(x) along dim, finite for any finite logits.",
        hint="Try logits in the thousands, and a dim other than the last.",
    ),
    ValueCheck(
        *_from_contract("causal_mask"),
        function=CAUSAL_MASK.name,
        observable=values,
        tolerance=EXACT,
        expectation="causal_mask(size) should be (size, size) booleans, True where key j ≤ query i.",
        hint="Try size 1 and a size larger than the public one.",
    ),
    ValueCheck(
        *_from_contract("attention"),
        function=ATTENTION.name,
        observable=unmasked_output,
        tolerance=TOLERANCE,
        expectation="With mask=None the output should be softmax(q kᵀ / √d_k) v, the softmax over the keys.",
        hint="Check batched inputs with several heads: (batch, heads, length, d_k), and keys more than queries.",
    ),
    ValueCheck(
        *_from_contract("attention.mask"),
        function=ATTENTION.name,
        observable=masked_output,
        tolerance=TOLERANCE,
        expectation="With a mask, a key where the mask is False should get weight exactly 0 and each query's weights sum to 1; "
        "a query with no allowed key gives zeros (or the average of v), never NaN.",
        hint="Check a mask that broadcasts over the heads, and a query whose mask row is all False.",
    ),
    ValueCheck(
        *_from_contract("layer_norm"),
        function=LAYER_NORM.name,
        observable=values,
        tolerance=TOLERANCE,
        expectation="layer_norm should be gamma · (x − mean) / √(Var + ε) + beta over the last axis, with the biased variance.",
        hint="Check inputs with more than two axes, and rows whose values are nearly equal.",
    ),
    SymbolicAnswerCheck(*_from_contract("derivation.variance"), quantity="variance", judge=answers.judge_variance),
    entropy_check(*_from_contract("experiment.entropy")),
)


def run_checks(evidence: HarnessEvidence) -> tuple[CheckResult, ...]:
    return generic_run_checks(CHECKS, evidence if isinstance(evidence, Evidence) else Evidence.of(evidence, POLICY))
