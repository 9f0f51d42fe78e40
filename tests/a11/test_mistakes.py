"""Every catalogued mistake of Assignment 11 is named and costs exactly its deduction, and nothing else.

The deductions are written here by hand from the assignment's README (the checks' points in the
contract: softmax 1, causal_mask 1, attention 2, attention.mask 2, layer_norm 2, derivation 1,
experiment 1), not read
from the policy under test. Students' functions are real torch code run in-process (the kernel path is
tests/a11/test_grading_e2e.py).
"""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest

from assignments.a11 import ASSIGNMENT
from assignments.a11.checks import WHOLE_FUNCTION
from graders.judge.evidence import Evidence
from graders.judge.probes import ProbePlan, decode_results
from graders.judge.separation import unseparated
from graders.results import CheckResult, CheckStatus, DerivationAnswer
from graders.runtime.probe_runtime import run_probes
from reference.a11.misconceptions import MISTAKES, variant
from tests.a11.students import solution, template, with_cell

SEED = 4321
FULL = 10.0  # 1 + 1 + 2 + 2 + 2 + 1 + 1
COSTS = {  # mistake -> (the check it costs, its points), as README.md's table says
    "unstable_softmax": ("softmax", 1.0),
    "mask_hides_diagonal": ("causal_mask", 1.0),
    "no_scale": ("attention", 2.0),
    "scale_by_dk": ("attention", 2.0),
    "softmax_over_queries": ("attention", 2.0),
    "mask_after_softmax": ("attention.mask", 2.0),
    "multiplicative_mask": ("attention.mask", 2.0),
    "masked_row_nan": ("attention.mask", 2.0),
    "unbiased_variance": ("layer_norm", 2.0),
    "normalised_over_wrong_axis": ("layer_norm", 2.0),
    "eps_outside_sqrt": ("layer_norm", 2.0),
}
RIGHT = (DerivationAnswer("variance", "d_k"),)


@pytest.fixture(scope="module")
def plan() -> ProbePlan:
    return ASSIGNMENT.build_plan(seed=SEED, hidden=True, data_dir=None)


@pytest.fixture(scope="module")
def expected(plan):
    return ASSIGNMENT.compute_expected(plan)


def grade(plan, expected, namespace, derivation=RIGHT) -> tuple[CheckResult, ...]:
    # The whole request, the experiment included, as the probe cell runs it (in-process here).
    student = decode_results(json.loads(json.dumps(run_probes(namespace, plan.request()))), plan)
    return ASSIGNMENT.judge(Evidence(plan, student, expected, derivation))


def lost(results) -> dict[str, float]:
    return {r.id: r.max_score - r.score for r in results if r.score < r.max_score}


def test_the_solution_earns_every_point_and_the_template_none(plan, expected):
    assert sum(r.score for r in grade(plan, expected, solution())) == FULL
    stubs = grade(plan, expected, template(), (DerivationAnswer("variance", None),))
    assert sum(r.score for r in stubs) == 0 and all(r.status is CheckStatus.ERROR for r in stubs)


def test_the_catalog_has_every_mistake_the_handout_is_about():
    assert set(COSTS) == {name for names in MISTAKES.values() for name in names}
    assert len(ASSIGNMENT.catalog) >= 8 and all(m.hint and m.explanation for m in ASSIGNMENT.catalog.values())


@pytest.mark.parametrize("mistake", sorted(COSTS))
def test_each_mistake_alone_is_named_and_costs_its_check_once(plan, expected, mistake):
    function = next(f for f, names in MISTAKES.items() if mistake in names)
    results = grade(plan, expected, {**solution(), function: variant(function, frozenset({mistake}))})
    check, points = COSTS[mistake]
    assert lost(results) == {check: points}
    assert next(r for r in results if r.id == check).misconceptions == (mistake,)


@pytest.mark.parametrize("pair", [pair for pair in combinations(sorted(COSTS), 2) if COSTS[pair[0]][0] != COSTS[pair[1]][0]][::7], ids=str)
def test_two_mistakes_on_different_checks_cost_both(plan, expected, pair):
    student = solution()
    for mistake in pair:
        function = next(f for f, names in MISTAKES.items() if mistake in names)
        flags = frozenset(m for m in pair if m in MISTAKES[function])
        student[function] = variant(function, flags)
    assert lost(grade(plan, expected, student)) == {COSTS[m][0]: COSTS[m][1] for m in pair}


def test_the_public_inputs_separate_every_mistake_and_every_pair_and_the_hidden_ones_differ(plan, expected):
    public = ASSIGNMENT.build_plan(seed=SEED, hidden=False, data_dir=None)
    public_expected = ASSIGNMENT.compute_expected(public)
    assert sum(len(v) for v in public_expected.variants.values()) >= len(COSTS)
    assert unseparated(public, public_expected, WHOLE_FUNCTION) == ()
    assert unseparated(plan, expected, WHOLE_FUNCTION) == ()
    hidden = [c for c in plan.cases if not c.public]
    assert {c.function for c in hidden} == {f.name for f in ASSIGNMENT.functions}
    public_inputs = [c.args for c in public.cases]
    assert not any(_same_args(c.args, p) for c in hidden for p in public_inputs)
    # Another seed, other hidden inputs.
    other = ASSIGNMENT.build_plan(seed=SEED + 1, hidden=True, data_dir=None)
    assert not all(_same_args(a.args, b.args) for a, b in zip(plan.cases, other.cases, strict=True) if not a.public)


def _same_args(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(np.shape(x) == np.shape(y) and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_hidden_inputs_have_heads_large_logits_and_a_query_with_no_allowed_key(plan):
    hidden = [c for c in plan.cases if not c.public]
    attention = [c for c in hidden if c.function == "scaled_dot_product_attention"]
    assert any(np.ndim(c.args[0]) == 4 for c in attention)  # (batch, heads, length, d_k)
    assert any(len(c.args) == 4 and not c.args[3].any(axis=-1).all() for c in attention)  # a mask row all False
    assert any(np.max(c.args[0]) > 1000 for c in hidden if c.function == "softmax")


# ----------------------------------------------------------------------------- what a careful student writes

_ATTENTION_HEAD = """def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
"""


@pytest.mark.parametrize(
    "masking",
    [
        # -1e9 instead of -inf: a query with no allowed key gets the plain average of v
        """    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    return torch.softmax(scores, dim=-1) @ v""",
        # float64 throughout, the empty row zeroed by hand
        """    if mask is not None:
        scores = scores.double().masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores.double(), dim=-1)
    weights = torch.where(torch.isnan(weights), torch.zeros_like(weights), weights)
    return (weights @ v.double()).float()""",
    ],
    ids=["average-of-v", "float64-zeros"],
)
def test_a_careful_answer_for_a_query_with_no_allowed_key_passes(plan, expected, masking):
    assert lost(grade(plan, expected, with_cell(attention=_ATTENTION_HEAD + masking))) == {}


def test_the_library_softmax_and_a_float64_one_pass_on_large_logits(plan, expected):
    library = "def softmax(x, dim=-1):\n    return torch.softmax(x, dim=dim)"
    wide = "def softmax(x, dim=-1):\n    return torch.softmax(x.double(), dim=dim).float()"
    assert lost(grade(plan, expected, with_cell(softmax=library))) == {}
    assert lost(grade(plan, expected, with_cell(softmax=wide))) == {}


def test_a_float64_unstable_softmax_still_overflows_and_is_named(plan, expected):
    unstable = "def softmax(x, dim=-1):\n    e = torch.exp(x.double())\n    return (e / e.sum(dim=dim, keepdim=True)).float()"
    results = grade(plan, expected, with_cell(softmax=unstable))
    assert lost(results) == {"softmax": 1.0}
    assert results[0].misconceptions == ("unstable_softmax",)


def test_an_inverted_mask_matches_no_mistake_and_costs_the_masked_check_only(plan, expected):
    inverted = (
        _ATTENTION_HEAD
        + """    if mask is not None:
        scores = scores.masked_fill(mask, -1e9)
    return torch.softmax(scores, dim=-1) @ v"""
    )
    results = grade(plan, expected, with_cell(attention=inverted))
    assert lost(results) == {"attention.mask": 2.0}
    masked = next(r for r in results if r.id == "attention.mask")
    assert masked.misconceptions == () and "public input" in masked.message


# ----------------------------------------------------------------------------- the experiment


def test_the_experiment_shows_the_unscaled_weights_collapsing_at_large_d_k(plan, expected):
    experiment = grade(plan, expected, solution())[-1]
    assert experiment.id == "experiment.entropy" and experiment.status is CheckStatus.PASS
    measured = experiment.details["measured"]
    # Scaled, the entropy hardly changes from d_k = 4 to 256; unscaled it falls to a fraction of it.
    assert measured["scaled"]["256"] > 0.5 * measured["scaled"]["4"]
    assert measured["unscaled"]["256"] < 0.5 * measured["scaled"]["256"]


def test_a_scale_hard_coded_for_the_public_d_k_fails_the_hidden_inputs_and_the_experiment(plan, expected):
    fixed = (
        _ATTENTION_HEAD.replace("math.sqrt(q.shape[-1])", "2.0")
        + """    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    return torch.softmax(scores, dim=-1) @ v"""
    )
    results = grade(plan, expected, with_cell(attention=fixed))
    assert lost(results) == {"attention": 2.0, "attention.mask": 2.0, "experiment.entropy": 1.0}
    assert all(not r.misconceptions for r in results)
    assert "d_k = 256" in results[-1].message
