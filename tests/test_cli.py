"""The `grader` command as users type it: exit statuses and what it prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def grader(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graders.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


def test_a_missing_submissions_folder_is_a_usage_error(tmp_path):
    result = grader("grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "is not a folder of submissions" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_option_values_are_usage_errors(tmp_path):
    assert grader("grade", str(tmp_path), "--out", str(tmp_path), "--jobs", "0").returncode == 2
    assert grader("grade", str(tmp_path), "--out", str(tmp_path), "--timeout", "-1").returncode == 2
    assert grader("grade", str(tmp_path), "--out", str(tmp_path), "--memory-mb", "0").returncode == 2
    assert grader("grade", str(tmp_path), "--out", str(tmp_path), "--scoring", "lenient").returncode == 2


def test_a_data_dir_without_mnist_is_a_usage_error(tmp_path):
    result = grader("grade", str(tmp_path), "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "MNIST/raw" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written, not even the reports folder


def test_an_empty_folder_grades_to_an_empty_overview(tmp_path, grading_data):
    (tmp_path / "subs").mkdir()
    result = grader("grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--data-dir", str(grading_data))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "index.html").exists() and (tmp_path / "out" / "grades.csv").exists()


def test_seed_and_secret_file_together_are_a_usage_error_that_writes_nothing(tmp_path):
    (tmp_path / "subs").mkdir()
    out = tmp_path / "out"
    result = grader("grade", str(tmp_path / "subs"), "--out", str(out), "--seed", "1", "--secret-file", str(tmp_path / "s"))
    assert result.returncode == 2 and "exclude each other" in result.stderr
    assert not out.exists() and not (tmp_path / "s").exists()


def test_grading_draws_its_seed_from_the_course_secret_and_records_only_its_hash(tmp_path, grading_data):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "alice.ipynb").write_text("{broken")  # an error result: recorded without running anything
    out = tmp_path / "out"
    assert grader("grade", str(tmp_path / "subs"), "--out", str(out), "--data-dir", str(grading_data)).returncode == 0
    secret = out / ".grader-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    from graders.pipeline.secret import course_seed

    drawn = course_seed(secret)
    stored = json.loads((out / "alice" / "results.json").read_text())
    assert stored["provenance"]["settings"]["seed"] == {"kind": "course-secret", "secret_hash": drawn.secret_hash}
    assert str(drawn.seed) not in json.dumps(stored)


def test_no_file_name_makes_the_grader_write_outside_out(tmp_path, grading_data):
    """` ..ipynb` would be the id `.`, ` ...ipynb` the id `..`: the reports folder and its parent.
    Hidden entries (`..ipynb`, `.hidden.ipynb`) are not graded at all, only named on stderr."""
    subs, out = tmp_path / "drop" / "subs", tmp_path / "drop" / "out"
    subs.mkdir(parents=True)
    names = [" ..ipynb", " ...ipynb", "new\nline.ipynb", "a\u2215b.ipynb", " .ipynb", "~.ipynb"]
    hidden = ["..ipynb", "...ipynb", ".hidden.ipynb"]
    for name in names + hidden:
        (subs / name).write_text("{broken")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = grader("grade", str(subs), "--out", str(out), "--data-dir", str(grading_data), "--seed", "1")
    assert result.returncode == 0, result.stderr
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.relative_to(tmp_path) not in before)
    assert written and all(p.parts[:2] == ("drop", "out") for p in written), written
    ids = sorted(p.parent.name for p in out.glob("*/results.json"))
    assert len(ids) == len(names) and ids == sorted(set(ids))
    assert all(i and not i.startswith(".") and "/" not in i and "\n" not in i for i in ids), ids
    assert all(repr(name) in result.stderr for name in hidden), result.stderr


@pytest.mark.e2e
def test_self_check_passes_the_solution(grading_data):
    result = grader("check", "assignments/a10/handout/solution.ipynb", "--data-dir", str(grading_data))
    assert result.returncode == 0, result.stdout + result.stderr
    # The derivations are read, not scored, in a self-check: 12 points less their 2 (issue 22, item 8).
    assert "10 / 10 points" in result.stdout and "FAIL" not in result.stdout and "READ   derivation.mu" in result.stdout


@pytest.mark.e2e
def test_self_check_names_the_mistake_but_not_the_derivation_verdict(grading_data):
    result = grader("check", "submissions/a10/missing-sqrt.ipynb", "--data-dir", str(grading_data))
    assert result.returncode == 1
    assert "FAIL   closed_form.mu" in result.stdout and "missing_sqrt" in result.stdout
    assert "Whether it is right is checked at grading" in result.stdout


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


@pytest.mark.parametrize(
    ("argv", "runs"),
    [
        (["grade", "submissions", "--out", "reports"], True),
        (["--assignments-dir", "built", "check", "notebook.ipynb"], True),
        (["rescore", "reports"], False),
    ],
)
def test_the_warm_server_gives_its_zygote_only_to_commands_that_run_notebooks(argv, runs):
    from graders.cli import runs_notebooks

    assert runs_notebooks(argv) is runs
