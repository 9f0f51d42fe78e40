"""A mistake is named only from values that all exist (issue 20, item 2).

A lookup table returns values for the one public input it knows (a catalogued mistake's, or the
right ones) and nothing on the hidden inputs. Before, the diagnosis named the mistake from the public
input alone and the function's other checks passed "given your values": 6 of 12 points for a
notebook that computes nothing. Here every such table, for every function with a diagnosis and
every catalogued mistake, and every way of giving no value, must earn at most what a stub earns
(every call raises NotImplementedError), under either scoring.

Probe results are built as `test_checks.test_a_forged_experiment_earns_nothing` builds them: the
calls of a correct submission probed in-process, with one function's calls replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from assignments.a10.checks import CHECKS, WHOLE_FUNCTION, Evidence, run_checks
from graders.assignment.spec import Scoring
from graders.judge.expected import ExpectedValues
from graders.judge.probes import CallError, CallResult, Case, repeat_id
from graders.results import CheckStatus
from graders.runtime.probe_runtime import Opaque
from reference.a10.misconceptions import CATALOG
from tests import students as s

# (case, call id) -> what the probe got back from that call.
Calls = Callable[[Case, str], CallResult]

STUB = CallResult(error=CallError("exception", "", "NotImplementedError"))
# Every way a call can come back without a usable value: each must count as no value.
NO_VALUE: dict[str, Calls] = {
    "raises": lambda case, cid: CallResult(error=CallError("exception", "not in my table", "KeyError")),
    "times-out": lambda case, cid: CallResult(error=CallError("timeout", "past the time limit")),
    "unreadable": lambda case, cid: CallResult(error=CallError("unencodable", "cannot encode a generator")),
    "opaque": lambda case, cid: CallResult(value=Opaque("dict", "{}")),
    "nan": lambda case, cid: CallResult(value=_nan_like(case)),
}
# Every function whose checks can pass "given your values", with each of its catalogued mistakes and
# its right values (None): what a lookup table could return on the public input.
TABLES = [(m.function, name) for name, m in CATALOG.items() if m.function in WHOLE_FUNCTION] + [(f, None) for f in WHOLE_FUNCTION]


def _nan_like(case: Case) -> object:
    """A value of the right form for the case, all NaN."""
    if case.function == "vae_loss":
        return np.asarray(np.nan)
    shaped = np.full(np.shape(case.args[0]), np.nan, dtype=np.float32)  # μ like x₀, z like mu
    return (shaped, np.asarray(np.nan)) if case.function == "closed_form" else shaped


def _table_values(expected: ExpectedValues, function: str, mistake: str | None) -> Calls:
    """What a function with this catalogued mistake (None: the right function) returns on a case."""
    if mistake is None:
        return lambda case, cid: expected.reference.get(cid)
    if CATALOG[mistake].has_variant:
        variant = dict(expected.variants[function])[frozenset({mistake})]
        return lambda case, cid: variant.get(cid)
    # Recognised from how a call behaves, not from values: each needs its model here.
    assert mistake == "loss_expects_flat_x", f"no model of {mistake} for a lookup table"
    first_try = CallError("exception", "shape mismatch with x as the DataLoader gives it", "ValueError")
    return lambda case, cid: replace(expected.reference.get(cid), reshaped_x=first_try)


def _with_calls(evidence: Evidence, function: str, calls: Calls, scoring: Scoring) -> Evidence:
    """`evidence` with every call of `function` replaced by what `calls` says it returned."""
    replaced = dict(evidence.student.calls)
    for case in evidence.plan.cases_for(function):
        replaced.update({cid: calls(case, cid) for cid in case.call_ids()})
    return replace(evidence, student=replace(evidence.student, calls=replaced), scoring=scoring)


def _score(evidence: Evidence) -> float:
    return sum(result.score for result in run_checks(evidence))


def _checks_of(evidence: Evidence, function: str) -> list:
    return [check.run(evidence) for check in CHECKS if check.id.split(".")[0] == function]


@pytest.fixture(scope="module")
def correct(plan, expected) -> Evidence:
    """A correct submission, probed in-process: the rest of the notebook a lookup table sits in."""
    return s.evidence(plan, expected)


def test_the_table_values_are_the_mistakes(expected, correct):
    """The tables below are what they claim: answered on every input, each is diagnosed as its mistake."""
    for function, mistake in TABLES:
        evidence = _with_calls(correct, function, _table_values(expected, function, mistake), Scoring.PER_MISTAKE)
        assert evidence.diagnoses[function].story == (frozenset({mistake}) if mistake else frozenset()), (function, mistake)


@pytest.mark.parametrize("scoring", list(Scoring), ids=lambda v: v.value)
@pytest.mark.parametrize("no_value", list(NO_VALUE))
@pytest.mark.parametrize(("function", "mistake"), TABLES, ids=lambda v: str(v))
def test_a_lookup_table_for_the_public_input_earns_no_more_than_a_stub(expected, correct, function, mistake, no_value, scoring):
    stub = _with_calls(correct, function, lambda case, cid: STUB, scoring)
    known = _table_values(expected, function, mistake)
    table = _with_calls(correct, function, lambda case, cid: known(case, cid) if case.public else NO_VALUE[no_value](case, cid), scoring)
    assert _score(table) <= _score(stub), [(r.id, r.status.value, r.message) for r in _checks_of(table, function)]
    for result in _checks_of(table, function):
        assert (result.status is not CheckStatus.PASS, result.misconceptions) == (True, ()), (result.id, result.message)


@pytest.mark.parametrize("no_value", list(NO_VALUE))
@pytest.mark.parametrize(("function", "mistake"), TABLES, ids=lambda v: str(v))
def test_no_value_on_one_hidden_input_costs_every_check_of_the_function(plan, expected, correct, function, mistake, no_value):
    """The mistake's values on every other input: those that ran single the mistake out, and still name nothing."""
    missing = next(case for case in plan.cases_for(function) if not case.public)
    known = _table_values(expected, function, mistake)
    stub = _with_calls(correct, function, lambda case, cid: STUB, Scoring.PER_MISTAKE)
    partial = _with_calls(
        correct, function, lambda case, cid: NO_VALUE[no_value](case, cid) if case == missing else known(case, cid), Scoring.PER_MISTAKE
    )
    assert partial.diagnoses[function].story is None
    assert _score(partial) <= _score(stub)
    for result in _checks_of(partial, function):
        assert (result.status is not CheckStatus.PASS, result.misconceptions) == (True, ()), (result.id, result.message)


def test_a_check_needs_only_its_own_values_on_every_input(expected, correct):
    """A loss that raises only at weight 30, on every input, computes BCE and KL right everywhere: those
    checks pass on their own values (as the student kit judges them); the weighting has no value to judge."""
    evidence = _with_calls(
        correct, "vae_loss", lambda case, cid: STUB if cid.endswith("w=30") else expected.reference.get(cid), Scoring.PER_MISTAKE
    )
    assert evidence.diagnoses["vae_loss"].story is None
    verdicts = {result.id: result.status for result in _checks_of(evidence, "vae_loss")}
    assert verdicts == {
        "vae_loss.reconstruction": CheckStatus.PASS,
        "vae_loss.kl": CheckStatus.PASS,
        "vae_loss.weighting": CheckStatus.ERROR,
    }


def test_a_loss_named_from_the_public_input_alone_does_not_excuse_its_training(plan, expected):
    """The experiment passes a mistake's training only when the diagnosis named that mistake from every input."""
    trained = s.evidence(plan, expected, experiment=True, vae_loss=s.vae_loss_mean_bce)
    experiment = next(check for check in CHECKS if check.id == "experiment.kl_tradeoff")
    assert experiment.run(trained).status is CheckStatus.PASS  # named from every input: not deducted twice
    mean_reduction = _table_values(expected, "vae_loss", "mean_reduction")
    table = _with_calls(trained, "vae_loss", lambda case, cid: mean_reduction(case, cid) if case.public else STUB, Scoring.PER_MISTAKE)
    result = experiment.run(table)
    assert (result.status, result.score) == (CheckStatus.FAIL, 0.0), result.message


@pytest.mark.parametrize("no_value", list(NO_VALUE))
@pytest.mark.parametrize("repeat_only", [False, True], ids=["every-call", "second-call"])
def test_a_sampler_answering_only_the_public_input_earns_nothing(plan, correct, no_value, repeat_only):
    """The right draws on the public input (the best a table can hold), none on the hidden one, or only its second call."""

    def calls(case: Case, cid: str) -> CallResult:
        if case.public or (repeat_only and cid != repeat_id("reparameterize", case.name)):
            return correct.student.get(cid)
        return NO_VALUE[no_value](case, cid)

    table = _with_calls(correct, "reparameterize", calls, Scoring.PER_MISTAKE)
    (result,) = _checks_of(table, "reparameterize")
    assert (result.status is not CheckStatus.PASS, result.score) == (True, 0.0), result.message
