"""A course of several installed assignments, as its users meet it: `make grade`'s demo classes, a
notebook for another assignment in a class, `grader check` of a notebook that names its assignment."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders.intake.discovery import find_submissions
from graders.pipeline.triage import assignment_for

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ROOT / "submissions"
# Each shipped demo class and the assignment it is the demo of (the handouts that write them say so).
CLASSES = {"a10": "assignment-10", "a11": "assignment-11"}


def run(*argv: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)


def grader(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "graders.cli", *args)


def test_every_shipped_demo_class_is_one_folder_graded_as_its_own_assignment():
    """`make grade` passes no --assignment: each class's notebooks must choose its assignment themselves."""
    assert sorted(p.name for p in DEMOS.iterdir() if p.is_dir()) == sorted(CLASSES)
    assert not list(DEMOS.glob("*.ipynb"))  # a notebook beside the classes would be graded by none of them
    for folder, assignment in CLASSES.items():
        assert assignment_for(find_submissions(DEMOS / folder).submissions).id == assignment


def test_make_grade_grades_each_demo_class_into_its_own_reports_folder():
    # --no-print-directory: run from another make (CI's `make test`), make would say which directory it entered.
    dry = run("make", "-n", "--no-print-directory", "-o", ".venv/.installed", "grade")  # -o: print the commands, install nothing
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [f".venv/bin/grader grade submissions/{c} --out reports/{c}" for c in sorted(CLASSES)]


def test_make_clean_reports_empties_the_reports_folder_but_its_gitkeep(tmp_path):
    reports = tmp_path / "reports"
    for path in ("a10/alice/results.json", "a10/gradebook.sqlite", "a11/.grader-secret", "index.html"):
        (reports / path).parent.mkdir(parents=True, exist_ok=True)
        (reports / path).write_text("x", encoding="utf-8")
    (reports / ".gitkeep").touch()
    done = run("make", "clean-reports", f"REPORTS={reports}")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in reports.iterdir()] == [".gitkeep"]


@pytest.mark.e2e
def test_an_a11_notebook_in_an_a10_class_is_an_error_for_that_student_only(tmp_path, grading_data):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    shutil.copy(DEMOS / "a10" / "solution.ipynb", subs / "ann.ipynb")
    shutil.copy(DEMOS / "a11" / "solution.ipynb", subs / "bob.ipynb")

    refused = grader("grade", subs, "--out", out, "--data-dir", grading_data)
    assert refused.returncode == 2 and "'assignment-11': 1 (bob)" in refused.stderr and "--assignment" in refused.stderr
    assert not out.exists()  # a bad command writes nothing

    done = grader("grade", subs, "--out", out, "--assignment", "assignment-10", "--data-dir", grading_data, "--seed", "7", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    ann, bob = (json.loads((out / name / "results.json").read_text(encoding="utf-8")) for name in ("ann", "bob"))
    assert ann["status"] == "graded" and ann["score"] == ann["max_score"] > 0
    assert bob["status"] == "error" and bob["score"] == 0
    assert "for 'assignment-11', and this batch grades 'assignment-10'" in bob["message"]
    assert all(check["status"] == "error" for check in bob["checks"])
    with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
        assert sorted(row["submission"] for row in csv.DictReader(handle)) == ["ann", "bob"]


@pytest.mark.e2e
def test_check_takes_the_assignment_the_notebook_names():
    result = grader("check", DEMOS / "a11" / "no-scale.ipynb")
    assert result.returncode == 1, result.stderr  # one mistake: not every check passes
    assert "grading as assignment-11" in result.stderr
    # Assignment 11's checks, its one mistake's check failing (the demo's score: assignments/a11/README.md).
    # The kit's table (graders/kit/table.py): the derivation is only read here, so 9 points are at stake, not 10.
    assert re.search(r"^FAIL +attention +0/2$", result.stdout, re.MULTILINE), result.stdout
    assert result.stdout.startswith("Self-check of no-scale: 7 / 9 points")
