"""`grader grade --assignment assignment-11` on the shipped demo class, with real kernels.

The expected grades are worked out by hand from the demo submissions (each is the solution with one
mistake, assignments/a11/handout/notebooks.py) and the checks' points in the README's table: 10
automatic points (softmax 1, causal_mask 1, attention 2, attention.mask 2, layer_norm 2, derivation 1,
experiment 1) and 3 written answers marked by staff later. The experiment passes for every demo: its
mistakes are deducted by the function's own checks, and the no-scale run ends where its mistake predicts.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "submissions" / "a11"
# student -> (automatic score, {check: the mistake it names})
EXPECTED = {
    "solution": (10.0, {}),
    "no-scale": (8.0, {"attention": "no_scale"}),
    "mask-after-softmax": (8.0, {"attention.mask": "mask_after_softmax"}),
    "unbiased-variance": (8.0, {"layer_norm": "unbiased_variance"}),
    "unstable-softmax": (9.0, {"softmax": "unstable_softmax"}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("a11") / "submissions"
    shutil.copytree(DEMOS, folder)
    out = folder.parent / "reports"
    command = [sys.executable, "-m", "graders.cli", "grade", str(folder), "--out", str(out), "--assignment", "assignment-11", "--seed", "7"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    return out, result


@pytest.mark.e2e
def test_the_demo_class_is_graded_with_each_mistake_named_once(graded):
    out, result = graded
    assert result.returncode == 0, result.stderr
    assert sorted(p.parent.name for p in out.glob("*/results.json")) == sorted(EXPECTED)
    for student, (score, named) in EXPECTED.items():
        stored = json.loads((out / student / "results.json").read_text())
        assert stored["status"] == "graded", student
        checks = {c["id"]: c for c in stored["checks"]}
        assert sum(c["score"] for c in checks.values()) == score, student
        assert {cid: c["misconceptions"] for cid, c in checks.items() if c["misconceptions"]} == {k: [v] for k, v in named.items()}
        assert [a["latex"] for a in stored["derivation"]] == ["d_k"]
        assert all(a["answer"] for a in stored["free_text"]), student


@pytest.mark.e2e
def test_the_class_s_grades_csv_has_a_column_per_check_and_written_answer(graded):
    out, _ = graded
    with (out / "grades.csv").open(newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(EXPECTED)
    assert float(rows["no-scale"]["attention"]) == 0 and float(rows["no-scale"]["attention.mask"]) == 2
    assert float(rows["solution"]["max_score"]) == 13  # 10 automatic + 3 written, marked by staff
    assert float(rows["no-scale"]["experiment.entropy"]) == 1
    assert {"unscaled_scores", "mask_prevents", "layer_not_batch"} <= set(rows["solution"])
