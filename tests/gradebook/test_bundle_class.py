"""The Gradescope bundle grades on the class's hidden inputs, or is not written.

A class graded with `--seed N` gets a bundle only when told N (it then carries the seed); a class
graded from the course secret only with that secret; a secret is created only on `--new-secret`.
Refused: exit 2, no zip, no secret file.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from graders.cli import main
from graders.gradebook.store import Gradebook
from graders.pipeline.secret import SECRET_NAME, course_seed
from graders.settings import CourseSecretSeed
from tests.provenance import provenance
from tests.report.test_render import result


def graded_class(reports: Path, *, seed: int | None = None, secret_hash: str = "") -> Path:
    info = provenance(seed=seed or 0)
    if secret_hash:
        info = replace(info, settings=replace(info.settings, seed=CourseSecretSeed(secret_hash)))
    with Gradebook.open(reports, create=True) as book:
        book.record_run([result("ann")], info=info)
    return reports


def run(tmp_path: Path, *args: str) -> int:
    return main(["gradescope-bundle", "--out", str(tmp_path / "autograder.zip"), *args])


def test_a_class_graded_with_a_seed_needs_that_seed(tmp_path, capsys):
    reports = graded_class(tmp_path / "reports", seed=7)
    assert run(tmp_path, "--secret-file", str(reports / SECRET_NAME), "--new-secret") == 2
    assert "graded with --seed 7" in capsys.readouterr().err
    assert not (reports / SECRET_NAME).exists() and not (tmp_path / "autograder.zip").exists()
    assert run(tmp_path, "--seed", "8", "--reports", str(reports)) == 2
    assert "graded with --seed 7, not 8" in capsys.readouterr().err
    assert run(tmp_path, "--seed", "7", "--reports", str(reports)) == 0
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert archive.read(".grader-seed") == b"7\n" and SECRET_NAME not in archive.namelist()


def test_no_secret_is_created_unless_asked(tmp_path, capsys):
    secret = tmp_path / "course" / SECRET_NAME
    assert run(tmp_path, "--secret-file", str(secret)) == 2
    said = capsys.readouterr().err
    assert f"there is no course secret at {secret}" in said and "--new-secret for a new class" in said
    assert not secret.exists() and not (tmp_path / "autograder.zip").exists()
    assert run(tmp_path, "--secret-file", str(secret), "--new-secret") == 0
    assert secret.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert archive.read(SECRET_NAME) == secret.read_bytes()


def test_a_class_graded_from_a_secret_needs_that_secret(tmp_path, capsys):
    ours, other = tmp_path / "ours" / SECRET_NAME, tmp_path / "other" / SECRET_NAME
    reports = graded_class(tmp_path / "reports", secret_hash=course_seed(ours).secret_hash)
    course_seed(other)
    assert run(tmp_path, "--secret-file", str(other), "--reports", str(reports)) == 2
    assert "not the course secret" in capsys.readouterr().err
    assert run(tmp_path, "--seed", "1", "--reports", str(reports)) == 2
    assert "give --secret-file instead of --seed" in capsys.readouterr().err
    assert run(tmp_path, "--secret-file", str(ours), "--reports", str(reports)) == 0


def test_the_class_is_the_secret_files_folder_when_it_holds_a_gradebook(tmp_path, capsys):
    reports = graded_class(tmp_path / "reports", seed=7)
    (reports / SECRET_NAME).write_text("a secret made by hand\n")
    (reports / SECRET_NAME).chmod(0o600)
    assert run(tmp_path, "--secret-file", str(reports / SECRET_NAME)) == 2
    assert "Give --seed 7" in capsys.readouterr().err


@pytest.mark.parametrize("args", [("--seed", "7", "--secret-file", "x"), ("--seed", "7", "--new-secret")])
def test_a_seed_and_a_secret_exclude_each_other(tmp_path, capsys, args):
    assert run(tmp_path, *args) == 2 and "exclude each other" in capsys.readouterr().err


def recorded_assignment(tmp_path: Path) -> str:
    with zipfile.ZipFile(tmp_path / "autograder.zip") as bundle:
        return bundle.read(".grader-assignment").decode().strip()


def test_the_bundle_records_the_assignment_its_class_was_graded_as(tmp_path, capsys):
    from assignments.a11 import ASSIGNMENT as A11

    reports = tmp_path / "reports"
    with Gradebook.open(reports, create=True) as book:
        book.record_run([replace(result("ann"), provenance=None)], info=provenance(seed=5, assignment_id=A11.id))
    assert run(tmp_path, "--seed", "5", "--reports", str(reports)) == 0
    assert recorded_assignment(tmp_path) == A11.id
    # Named the other way, it is refused: the bundle would grade on another assignment than the class's.
    (tmp_path / "autograder.zip").unlink()
    assert run(tmp_path, "--seed", "5", "--reports", str(reports), "--assignment", "assignment-10") == 2
    assert f"graded as {A11.id}, not assignment-10" in capsys.readouterr().err and not (tmp_path / "autograder.zip").exists()


def test_without_a_class_the_bundle_records_the_assignment_named_or_the_default(tmp_path, capsys):
    from graders.assignment import registry

    assert run(tmp_path, "--seed", "5", "--assignment", "assignment-11") == 0
    assert recorded_assignment(tmp_path) == "assignment-11"
    assert run(tmp_path, "--seed", "5") == 0
    assert recorded_assignment(tmp_path) == registry.load(None).id
    assert run(tmp_path, "--seed", "5", "--assignment", "assignment-99") == 2
    assert "no assignment 'assignment-99' is installed" in capsys.readouterr().err
