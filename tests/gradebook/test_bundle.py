"""The Gradescope autograder zip, run the way Gradescope runs it, against a fake /autograder root.

Gradescope's specification: the zip holds setup.sh and run_autograder at its root; its contents
are unpacked into /autograder/source, run_autograder runs with /autograder as working directory,
the submission is in /autograder/submission/ and the result must be /autograder/results/results.json.
The package is imported from the unpacked source (PYTHONPATH), not from this checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders.pipeline.autograder import run as autograder_run
from graders.pipeline.bundle import ASSIGNMENT_NAME, SEED_NAME

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def autograder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake /autograder with the bundle unpacked into source/ and run_autograder copied to the root."""
    return unpacked_bundle(tmp_path_factory)


def unpacked_bundle(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Path:
    """`grader gradescope-bundle … ARGS` as staff run it, unpacked as Gradescope does."""
    root = tmp_path_factory.mktemp("autograder")
    bundle = root / "autograder.zip"
    secret = tmp_path_factory.mktemp("course") / ".grader-secret"
    command = [sys.executable, "-m", "graders.cli", "gradescope-bundle", "--out", str(bundle), "--secret-file", str(secret), "--new-secret"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        assert "setup.sh" in names and "run_autograder" in names  # at the root, not in a folder
        for name in ("setup.sh", "run_autograder"):
            assert (archive.getinfo(name).external_attr >> 16) & stat.S_IXUSR
        assert (
            "graders/cli/__init__.py" in names
            and "pyproject.toml" in names
            and "reference/a10/closed_form.py" in names
            and "assignments/a10/checks.py" in names
        )
        assert not any("__pycache__" in name for name in names)
        # Every submission is graded on the hidden inputs of the course secret the bundle carries.
        assert archive.read(".grader-secret") == secret.read_bytes()
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    return root


def run_autograder(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "A10_AUTOGRADER_ROOT": str(root), "A10_GRADER_PYTHON": sys.executable, "PYTHONPATH": str(root / "source")}
    return subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, env=env, cwd=root, timeout=900, check=False)


@pytest.mark.e2e
def test_run_autograder_grades_a_demo_submission_into_results_json(autograder):
    submission = autograder / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    submission.mkdir()
    shutil.copy(ROOT / "submissions" / "a10" / "missing-sqrt.ipynb", submission / "assignment10.ipynb")
    done = run_autograder(autograder)
    assert done.returncode == 0, done.stderr
    document = json.loads((autograder / "results" / "results.json").read_text())
    tests = {t["name"].rsplit("(", 1)[1].rstrip(")"): t for t in document["tests"]}
    assert len(tests) == 9  # the automatic checks; the written answers are left to Gradescope's manual grading
    assert tests["closed_form.mu"]["score"] == 0 and tests["derivation.mu"]["score"] == 0 and tests["closed_form.sigma"]["score"] == 1
    assert "missing_sqrt" in tests["closed_form.mu"]["output"]
    assert document["score"] == 9 and "Graded assignment10.ipynb." in document["output"]
    assert all(t["visibility"] in {"visible", "after_published"} for t in document["tests"])


def test_run_autograder_without_a_notebook_says_so(autograder):
    submission = autograder / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    submission.mkdir()
    (submission / "notes.txt").write_text("forgot the notebook")
    done = run_autograder(autograder)
    assert done.returncode == 0, done.stderr
    document = json.loads((autograder / "results" / "results.json").read_text())
    assert document["score"] == 0 and document["tests"] == [] and "No Jupyter notebook" in document["output"]


@pytest.mark.parametrize("hidden", [".ipynb_checkpoints/assignment10-checkpoint.ipynb", "._assignment10.ipynb", ".assignment10.ipynb"])
def test_the_autograder_never_grades_a_hidden_notebook(tmp_path, hidden):
    """A checkpoint or macOS's AppleDouble file sorts before the real notebook: it must not be the one graded."""
    (tmp_path / "submission" / hidden).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "submission" / hidden).write_text("{}")
    document = json.loads(autograder_run(tmp_path).read_text())
    assert document["score"] == 0 and document["tests"] == [] and "No Jupyter notebook" in document["output"]


@pytest.mark.parametrize(("name", "text"), [(ASSIGNMENT_NAME, "assignment-99\n"), (SEED_NAME, "")], ids=["unknown-assignment", "no-seed"])
def test_a_broken_bundle_tells_the_student_to_tell_staff_in_results_json_not_in_a_traceback(tmp_path, name, text):
    (tmp_path / "submission").mkdir()
    shutil.copy(ROOT / "submissions" / "a11" / "solution.ipynb", tmp_path / "submission" / "mine.ipynb")
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / SEED_NAME).write_text("7\n")
    (tmp_path / "source" / name).write_text(text)  # an id no installation has; a seed file emptied
    document = json.loads(autograder_run(tmp_path).read_text())
    assert document["score"] == 0 and document["tests"] == []
    assert document["output"].startswith("This autograder could not grade anything: tell course staff")


@pytest.mark.e2e
def test_a_bundle_for_assignment_11_grades_its_notebooks_as_assignment_11(tmp_path_factory):
    """The bundle records its assignment: an Assignment 11 notebook is graded on Assignment 11's checks, not the default's."""
    from assignments.a11 import ASSIGNMENT as A11

    root = unpacked_bundle(tmp_path_factory, "--assignment", A11.id)
    assert (root / "source" / ".grader-assignment").read_text() == f"{A11.id}\n"
    (root / "submission").mkdir()
    shutil.copy(ROOT / "submissions" / "a11" / "no-scale.ipynb", root / "submission" / "attention.ipynb")
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"].rsplit("(", 1)[1].rstrip(")"): t for t in document["tests"]}
    assert list(tests) == list(A11.check_ids)  # its automatic checks; its written answers left to manual grading
    assert tests["attention"]["score"] == 0 and "no_scale" in tests["attention"]["output"]
    assert tests["softmax"]["score"] == tests["softmax"]["max_score"] and tests["layer_norm"]["score"] == tests["layer_norm"]["max_score"]
