"""`grader assignment list` and `grader assignment check NAME`: validation before release, for every installed assignment.

The passing runs are the real thing (real kernels, warm and cold, the real kit); each failing case
breaks one thing an author could get wrong (a template that scores, public inputs that cannot tell a
mistake from the reference, a variant that is not the mistake it claims, a kit carrying the
reference, hidden inputs that are the public ones) and asserts that the finding names it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assignments.a10 import ASSIGNMENT as TEN
from assignments.a11 import ASSIGNMENT as ELEVEN
from graders.assignment import registry
from graders.cli import main
from graders.judge.probes import ProbePlan
from graders.pipeline.validate import VALIDATION_SEED, Finding, Outcome, input_findings, kit_findings, mistake_findings

ROOT = Path(__file__).resolve().parents[2]
ATTENTION = "scaled_dot_product_attention"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    status = main(list(argv))
    return status, capsys.readouterr().out.splitlines()


def failed(findings: Iterator[Finding]) -> dict[str, str]:
    return {finding.subject: finding.detail for finding in findings if finding.outcome is Outcome.FAIL}


# ----------------------------------------------------------------------------- list


def test_the_list_names_each_installed_assignment_id_first_with_its_version_and_title(capsys):
    status, lines = run(capsys, "assignment", "list")
    assert status == 0
    by_id = {line.split()[0]: line for line in lines}
    # pyproject.toml registers both and names Assignment 10 the default.
    assert set(by_id) == {"assignment-10", "assignment-11"} and len(lines) == 2
    assert "version 1" in by_id["assignment-10"] and "Assignment 10" in by_id["assignment-10"]
    assert "version 1" in by_id["assignment-11"] and "Assignment 11" in by_id["assignment-11"]
    assert [line for line in lines if "(default)" in line] == [by_id["assignment-10"]]


def test_checking_an_assignment_that_is_not_installed_is_a_usage_error(capsys):
    assert main(["assignment", "check", "assignment-99"]) == 2
    assert "no assignment 'assignment-99' is installed" in capsys.readouterr().err


# ----------------------------------------------------------------------------- check passes on what ships


def _checked(assignment_id: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "graders.cli", "assignment", "check", assignment_id],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return done.returncode, done.stdout.splitlines()


@pytest.mark.parametrize("assignment_id", registry.installed())
def test_every_shipped_assignment_passes_its_check(assignment_id):
    # As an author runs it: a process of its own (its cold kernels owe nothing to what other tests left in this one).
    status, lines = _checked(assignment_id)
    print("\n".join(lines[-8:]), flush=True)  # the wall time is the last line (shown with -s)
    assert status == 0, "\n".join(line for line in lines if line.startswith("FAIL"))
    assert lines[-1].startswith(f"{assignment_id} passes, in ")
    outcomes = {line.split()[0] for line in lines[:-1]}
    assert outcomes <= {"PASS", "SKIPPED"}
    said = "\n".join(lines)
    for subject in ("public inputs:", "hidden inputs:", "kit:", "the solution: full marks", "the template: zero", "warm and cold:"):
        assert subject in said, subject
    # Both shipped assignments train an experiment in the kernel: the in-process part says it skipped it.
    assert any(line.startswith("SKIPPED in process: ") for line in lines)
    assignment = registry.load(assignment_id)
    mistakes = {name for line in lines if line.startswith("PASS    mistake ") for name in line.split(":")[0].split()[2:] if name != "+"}
    # Every mistake a reference variant computes, the sampler's included (judged by tests of its samples).
    assert mistakes == {name for name, m in assignment.catalog.items() if m.has_variant}
    assert any(" + " in line for line in lines if line.startswith("PASS    mistake "))  # the pairs too


def test_an_assignment_without_a_kit_says_so_and_does_not_fail_for_it(tmp_path, monkeypatch):
    monkeypatch.setattr(ELEVEN, "has_kit", False)
    (finding,) = kit_findings(ELEVEN, ELEVEN.truth(), tmp_path / "kit")
    assert (finding.outcome, finding.detail) == (Outcome.SKIPPED, "no kit")
    assert not (tmp_path / "kit").exists()


def test_a_kit_naming_the_mistakes_and_functions_holds_no_line_of_the_reference(tmp_path):
    # Assignment 11's kit data names its mistakes and functions as its reference does (`"mask_after_softmax",`):
    # a name is what students are told, not a line of the truth.
    (finding,) = kit_findings(ELEVEN, ELEVEN.truth(), tmp_path / "kit")
    assert finding.outcome is Outcome.PASS, finding.detail
    assert '"mask_after_softmax"' in (tmp_path / "kit" / "kit_data.json").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- check fails where it should


# An assignment whose template is its solution, checked as an author runs the command: in a process of its own (the
# suite's long-lived process once failed to start the cold kernels; see test_every_shipped_assignment_passes_its_check).
TEMPLATE_IS_THE_SOLUTION = """
import sys
from assignments.a11 import ASSIGNMENT
from graders.assignment.spec import Handout
from graders.cli import main
ASSIGNMENT.handout = Handout(solution=ASSIGNMENT.handout.solution, template=ASSIGNMENT.handout.solution)
ASSIGNMENT.has_kit = False  # a kit made from the solution carries the reference: a finding of its own, tested below
sys.exit(main(["assignment", "check", "assignment-11"]))
"""


def test_a_template_that_scores_points_fails_the_check():
    done = subprocess.run([sys.executable, "-c", TEMPLATE_IS_THE_SOLUTION], capture_output=True, text=True, timeout=900, check=False)
    status, lines = done.returncode, done.stdout.splitlines()
    assert status == 1, done.stderr
    failures = [line for line in lines if line.startswith("FAIL")]
    assert len(failures) == 1 and failures[0].startswith("FAIL    the template: scores 10 of 10, not zero"), failures
    assert lines[-1].startswith("assignment-11 fails (1 of ")


def test_public_inputs_that_cannot_tell_a_mistake_from_the_reference_fail_and_name_it(monkeypatch):
    """With d_k = 1 on every public input, dividing by √d_k, by d_k or not at all gives the same scores."""
    real = ELEVEN.build_plan

    def one_dimensional_keys(*, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
        plan = real(seed=seed, hidden=hidden, data_dir=data_dir)
        if hidden:
            return plan
        cases = tuple(
            replace(case, args=(case.args[0][..., :1], case.args[1][..., :1], *case.args[2:])) if case.function == ATTENTION else case
            for case in plan.cases
        )
        return replace(plan, cases=cases)

    monkeypatch.setattr(ELEVEN, "build_plan", one_dimensional_keys)
    failures = failed(input_findings(ELEVEN, ELEVEN.truth(), seed=VALIDATION_SEED))
    assert set(failures) == {"public inputs"}
    assert f"{ATTENTION}: no_scale;" in failures["public inputs"] and f"{ATTENTION}: scale_by_dk" in failures["public inputs"]


def test_hidden_inputs_that_are_the_public_ones_fail(monkeypatch):
    real = ELEVEN.build_plan

    def public_twice(*, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
        public = real(seed=seed, hidden=False, data_dir=data_dir)
        if not hidden:
            return public
        return replace(public, cases=public.cases + tuple(replace(case, name=f"{case.name}-again", public=False) for case in public.cases))

    monkeypatch.setattr(ELEVEN, "build_plan", public_twice)
    failures = failed(input_findings(ELEVEN, ELEVEN.truth(), seed=VALIDATION_SEED))
    assert set(failures) == {"hidden inputs"}
    assert failures["hidden inputs"].startswith("hidden inputs equal to public ones: causal_mask public-again, layer_norm public-3d-again")


def test_hidden_inputs_missing_for_a_function_fail(monkeypatch):
    real = ELEVEN.build_plan

    def no_hidden_layer_norm(*, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
        plan = real(seed=seed, hidden=hidden, data_dir=data_dir)
        return replace(plan, cases=tuple(c for c in plan.cases if c.public or c.function != "layer_norm"))

    monkeypatch.setattr(ELEVEN, "build_plan", no_hidden_layer_norm)
    assert failed(input_findings(ELEVEN, ELEVEN.truth(), seed=VALIDATION_SEED)) == {"hidden inputs": "no hidden inputs for layer_norm"}


def test_a_variant_that_is_another_mistake_is_not_named_and_costs_the_wrong_check():
    """The catalog claims `no_scale`, but the variant's code hides the diagonal of the causal mask."""
    truth = ELEVEN.truth()
    hides_diagonal = dict(truth.variants["causal_mask"])[frozenset({"mask_hides_diagonal"})]
    forged = replace(truth, variants={ATTENTION: ((frozenset({"no_scale"}), hides_diagonal),)})
    failures = failed(mistake_findings(ELEVEN, forged, seed=VALIDATION_SEED))
    assert failures == {
        "mistake no_scale": "costs causal_mask 1 where it should cost attention 2; no_scale is not named by attention",
    }


@pytest.mark.parametrize(
    ("code_of", "outcome", "said"),
    [
        ("no_scale", Outcome.PASS, "named; costs attention 2 (the values of no_scale alone: judged as it)"),
        ("both", Outcome.PASS, "named; costs attention 2, attention.mask 2"),
        # The values of a mistake outside the pair are no story of the pair.
        ("softmax_over_queries", Outcome.FAIL, "costs attention 2 where it should cost attention 2, attention.mask 2; "),
    ],
)
def test_a_pair_is_judged_as_the_one_of_its_mistakes_whose_values_it_computes_else_as_both(code_of, outcome, said):
    """A pair whose code computes exactly one of its mistakes (the other left nothing to change) is that mistake."""
    truth = ELEVEN.truth()
    attention = dict(truth.variants[ATTENTION])
    pair = frozenset({"no_scale", "mask_after_softmax"})
    code = attention[pair] if code_of == "both" else attention[frozenset({code_of})]
    singles = tuple((flags, attention[flags]) for flags in map(frozenset, ({"no_scale"}, {"softmax_over_queries"})))
    forged = replace(truth, variants={ATTENTION: (*singles, (pair, code))})
    *_, finding = mistake_findings(ELEVEN, forged, seed=VALIDATION_SEED)
    assert finding.subject == "mistake no_scale + mask_after_softmax"
    assert finding.outcome is outcome and finding.detail.startswith(said), finding.detail


def test_a_mistake_the_policy_gives_no_deduction_fails():
    truth = ELEVEN.truth()
    policy = replace(truth.policy, deductions={k: v for k, v in truth.policy.deductions.items() if k != "unstable_softmax"})
    failures = failed(mistake_findings(ELEVEN, replace(truth, policy=policy), seed=VALIDATION_SEED))
    assert failures == {"mistake unstable_softmax": "no deduction is declared for unstable_softmax"}


@pytest.mark.parametrize("carrier", ["notes.py", "extra.json"])
def test_a_kit_that_carries_a_line_of_the_reference_fails(monkeypatch, tmp_path, carrier):
    """Written as a module, or as a string inside the kit's JSON data where its quotes are escaped."""
    real = TEN.build_kit
    source = (ROOT / "reference" / "a10" / "misconceptions.py").read_text(encoding="utf-8")

    def leaky(out: Path) -> tuple[str, tuple[str, ...]]:
        built = real(out)
        text = source if carrier.endswith(".py") else json.dumps({"notes": source})
        (out / carrier).write_text(text, encoding="utf-8")
        return built

    monkeypatch.setattr(TEN, "build_kit", leaky)
    failures = failed(kit_findings(TEN, TEN.truth(), tmp_path / "kit"))
    assert set(failures) == {"kit"} and "lines of the reference are in the kit" in failures["kit"]


def test_the_shipped_kit_carries_no_line_of_the_reference(tmp_path):
    (finding,) = kit_findings(TEN, TEN.truth(), tmp_path / "kit")
    assert finding.outcome is Outcome.PASS, finding.detail
