"""Mistakes in pairs: an authored assignment with two functions, one mistake in each, is validated with both applied
together (named, costing exactly both deductions); two mistakes of one function are never applied together, since
each is a whole alternative definition of it. The skeleton (`mse`, one mistake) gets a second function, `relu`,
with two mistakes of its own, so both kinds of "pair" exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graders.authoring.annotations import CONFIG_TAG, INPUTS_TAG, MISTAKE_PREFIX
from graders.authoring.build import build
from graders.authoring.built import BuiltAssignment
from graders.authoring.skeleton import new
from graders.judge.evidence import Evidence
from graders.judge.probes import evaluate_in_process
from graders.pipeline.validate import Outcome, mistake_findings
from tests.authoring.test_author_e2e import grader

NAME = "pairs"
MSE_POINTS, RELU_POINTS = 2, 1  # the skeleton's, and the config below
SUM, LEAKY, ABS = "sum_instead_of_mean", "leaky_for_relu", "abs_for_relu"

RELU_CONFIG = f"""
[functions.relu]
points = {RELU_POINTS}

[mistakes.{LEAKY}]
function = "relu"
title = "Leaky ReLU instead of ReLU"
explanation = "Negative inputs are scaled by 0.01 rather than set to 0."

[mistakes.{ABS}]
function = "relu"
title = "Absolute value instead of ReLU"
explanation = "Negative inputs are turned positive rather than set to 0."
"""

RELU_INPUTS = """

PUBLIC["relu"] = [(np.array([-2.0, -0.5, 0.0, 1.5], dtype=np.float32),)]
_mse_hidden = hidden


def hidden(rng):
    drawn = _mse_hidden(rng)
    drawn["relu"] = [(rng.normal(size=(3, 4)).astype(np.float32),)]
    return drawn"""


def _cell(name: str, source: str, *tags: str) -> dict[str, object]:
    return {"cell_type": "code", "id": name, "metadata": {"tags": list(tags)}, "source": source, "outputs": [], "execution_count": None}


def with_relu(source: Path) -> Path:
    """The skeleton at `source` with `relu` added (its solution, two mistakes, inputs): two functions, three mistakes."""
    notebook = json.loads(source.read_text(encoding="utf-8"))
    cells = notebook["cells"]

    def tagged(tag: str) -> dict[str, str]:
        return next(cell for cell in cells if tag in cell["metadata"].get("tags", []))

    tagged(CONFIG_TAG)["source"] += RELU_CONFIG
    tagged(INPUTS_TAG)["source"] += RELU_INPUTS
    at = cells.index(tagged(INPUTS_TAG))
    cells[at:at] = [
        _cell("relu-solution", "def relu(x):\n    # BEGIN SOLUTION\n    return torch.clamp(x, min=0)\n    # END SOLUTION"),
        _cell("relu-leaky", "def relu(x):\n    return torch.where(x > 0, x, 0.01 * x)", MISTAKE_PREFIX + LEAKY),
        _cell("relu-abs", "def relu(x):\n    return torch.abs(x)", MISTAKE_PREFIX + ABS),
    ]
    source.write_text(json.dumps(notebook), encoding="utf-8")
    return source


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltAssignment:
    root = tmp_path_factory.mktemp("pairs")
    return build(with_relu(new(NAME, root / "source")), root / "built" / NAME)


def test_validation_applies_each_mistake_alone_and_each_cross_function_pair_never_two_of_one_function(built):
    applied = [flags for variants in built.truth().variants.values() for flags, _ in variants]
    assert sorted(map(sorted, applied)) == sorted(
        [[SUM], [LEAKY], [ABS], sorted([SUM, LEAKY]), sorted([SUM, ABS])]
    )  # never {leaky, abs}: one relu cannot be both
    singles_first = [len(flags) for flags in applied]
    assert singles_first == sorted(singles_first)  # each pair after both its mistakes alone (validation's story needs them)


def test_a_pair_applied_in_a_notebook_fails_both_checks_naming_each_mistake(built):
    plan = built.build_plan(seed=3, hidden=True, data_dir=None)
    (namespace,) = [ns for variants in built.truth().variants.values() for flags, ns in variants if flags == {SUM, ABS}]
    assert set(namespace) == {"mse", "relu"}
    results = {
        r.id: r
        for r in built.judge(Evidence(plan, evaluate_in_process(plan, namespace, ("mse", "relu")), built.compute_expected(plan), ()))
    }
    assert (results["mse"].score, results["mse"].misconceptions) == (0.0, (SUM,))
    assert (results["relu"].score, results["relu"].misconceptions) == (0.0, (ABS,))


def test_each_pair_is_named_and_costs_exactly_both_deductions_in_the_check_s_findings(built):
    findings = {f.subject: f for f in mistake_findings(built, built.truth(), seed=11)}
    for mistake in (LEAKY, ABS):
        pair = findings[f"mistake {SUM} + {mistake}"]
        assert pair.outcome is Outcome.PASS, pair
        assert pair.detail == f"named; costs mse {MSE_POINTS}, relu {RELU_POINTS}"
    assert findings[f"mistake {LEAKY}"].detail == f"named; costs relu {RELU_POINTS}"
    assert not any(LEAKY in subject and ABS in subject for subject in findings)


def test_the_check_command_reports_the_pairs(built, tmp_path):
    checked = grader("--assignments-dir", str(built.folder), "assignment", "check", NAME, cwd=tmp_path)
    lines = checked.stdout.splitlines()
    assert checked.returncode == 0, "\n".join([*lines, checked.stderr])
    assert f"PASS    mistake {SUM} + {ABS}: named; costs mse {MSE_POINTS}, relu {RELU_POINTS}" in lines
    assert f"PASS    mistake {SUM} + {LEAKY}: named; costs mse {MSE_POINTS}, relu {RELU_POINTS}" in lines
    assert not [line for line in lines if LEAKY in line and ABS in line]
    assert lines[-1].startswith(f"{NAME} passes")
