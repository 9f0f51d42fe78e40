"""The `grader` command as users type it: exit statuses and what it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def grader(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graders.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_a_missing_submissions_folder_is_a_usage_error(tmp_path):
    result = grader("grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "is not a folder of submissions" in result.stderr


def test_bad_option_values_are_usage_errors(tmp_path):
    assert grader("grade", str(tmp_path), "--out", str(tmp_path), "--jobs", "0").returncode == 2
    assert grader("grade", str(tmp_path), "--out", str(tmp_path), "--timeout", "-1").returncode == 2
    assert grader("grade", str(tmp_path), "--out", str(tmp_path), "--memory-mb", "0").returncode == 2


def test_a_data_dir_without_mnist_is_a_usage_error(tmp_path):
    result = grader("grade", str(tmp_path), "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "MNIST/raw" in result.stderr


def test_an_empty_folder_grades_to_an_empty_overview(tmp_path, grading_data):
    (tmp_path / "subs").mkdir()
    result = grader("grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--data-dir", str(grading_data))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "index.html").exists() and (tmp_path / "out" / "grades.csv").exists()


@pytest.mark.e2e
def test_self_check_passes_the_solution(grading_data):
    result = grader("check", "handout/solution.ipynb", "--data-dir", str(grading_data))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "11 / 11" in result.stdout and "FAIL" not in result.stdout  # the public plan: no experiment


@pytest.mark.e2e
def test_self_check_names_the_mistake_but_not_the_derivation_verdict(grading_data):
    result = grader("check", "submissions/missing-sqrt.ipynb", "--data-dir", str(grading_data))
    assert result.returncode == 1
    assert "FAIL   closed_form.mu" in result.stdout and "missing_sqrt" in result.stdout
    assert "Whether it is right is graded after you submit" in result.stdout


def test_kit_writes_into_a_new_folder_only(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = grader("kit", "--out", str(tmp_path / "taken"))
    assert result.returncode == 2 and "not an empty folder" in result.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


def test_progress_rate_and_eta_leave_the_start_up_out(monkeypatch, capsys):
    from graders import cli
    from graders.results import SubmissionResult, SubmissionStatus

    clock = iter([10.0, 11.0, 12.0])  # the first result arrives after start-up; then one per second
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    progress = cli.Progress()
    for name in ("a", "b", "c"):
        progress.update(SubmissionResult(name, SubmissionStatus.GRADED, 12.0, 12.0, "", ()), 5)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[1/5] a: 12/12 (graded)"
    assert lines[2] == "[3/5] c: 12/12 (graded)  1.00 s/notebook, ETA 2 s"
