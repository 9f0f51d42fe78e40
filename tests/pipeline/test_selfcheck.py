"""The one-notebook API (`grade_notebook`) the self-check is built on, and the self-check itself."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from assignments.a10.contract import MAX_SCORE, PUBLIC_SEED
from assignments.a10.expected import compute_expected
from assignments.a10.plan import build_plan
from assignments.a11 import ASSIGNMENT as ELEVEN
from graders.intake.discovery import Submission
from graders.pipeline.config import GradingConfig
from graders.pipeline.selfcheck import all_passed, check_notebook, format_table
from graders.pipeline.submission import grade_notebook

ROOT = Path(__file__).resolve().parents[2]


def never_run(job):
    raise AssertionError(f"{job.submission_id} must not run")


def test_a_file_that_is_no_notebook_is_an_error_result_and_never_runs(tmp_path, grading_data):
    os.mkfifo(tmp_path / "fifo.ipynb")
    plan = build_plan(seed=PUBLIC_SEED, hidden=False, data_dir=grading_data)
    config = GradingConfig(seed=PUBLIC_SEED, hidden=False, sandbox=False, cold=True)
    result = grade_notebook(
        Submission("fifo", tmp_path / "fifo.ipynb"),
        config=config,
        plan=plan,
        expected=compute_expected(plan, prefer_stored=True),
        data_dir=grading_data,
        run=never_run,
    )
    assert result.status.value == "error" and "named pipe" in result.message and result.score == 0


@pytest.mark.e2e
def test_the_self_check_runs_one_notebook_and_leaves_nothing_behind(tmp_path, grading_data, monkeypatch):
    notebook = tmp_path / "mine" / "solution.ipynb"
    notebook.parent.mkdir()
    shutil.copy(ROOT / "submissions" / "a10" / "solution.ipynb", notebook)
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    result = check_notebook(notebook, config=GradingConfig(seed=PUBLIC_SEED, data_dir=grading_data, cell_timeout=60.0))
    assert all_passed(result) and result.score == MAX_SCORE, [c for c in result.checks if c.status.value != "pass"]
    assert all(not c.details.get("cases_wrong") for c in result.checks)
    # torch may create its own compile cache (torchinductor_<user>) under the temp dir the first time
    # anything in the process asks for it: torch's, kept across runs, not the self-check's scratch.
    left = [p.name for p in scratch_root.iterdir() if not p.name.startswith(("a10-grader-kernelspec-", "torchinductor_"))]
    assert left == [] and sorted(p.name for p in notebook.parent.iterdir()) == ["solution.ipynb"]


@pytest.mark.e2e
def test_the_self_check_of_any_assignment_with_a_kit_prints_the_kit_s_table(tmp_path):
    notebook = tmp_path / "no-scale.ipynb"
    shutil.copy(ROOT / "submissions" / "a11" / "no-scale.ipynb", notebook)
    config = GradingConfig(seed=ELEVEN.public_seed, assignment=ELEVEN, cell_timeout=60.0)
    result = check_notebook(notebook, config=config)
    failed = {c.id: c.misconceptions for c in result.checks if c.status.value != "pass"}
    assert failed == {"attention": ("no_scale",)} and not all_passed(result)
    table = format_table(result, config)
    # Assignment 11's README table: 10 points, of which the derivation's 1 is only read here; no_scale costs attention's 2.
    assert table.startswith("Self-check of no-scale: 7 / 9 points on the public inputs")
    assert re.search(r"^READ\s+derivation\.variance\s+checked at grading$", table, re.MULTILINE)
    assert re.search(r"^FAIL\s+attention\s+0/2$", table, re.MULTILINE)
