"""The Gradescope autograder zip for an assignment built from a notebook (graders.authoring): the bundle carries the
built folder (the grader's side: contract, template, truth, stored public values) and nothing else of where it was
built, and the autograder, unpacked as Gradescope does, grades a submission with it once the folder it was built in
is gone and no assignments path names it."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from graders.assignment.registry import PATH_VARIABLE
from tests.authoring.test_author_e2e import grader
from tests.gradebook.test_bundle import run_autograder, unpacked_bundle

NAME = "bundled-authored"


@pytest.mark.e2e
def test_a_bundle_for_a_built_assignment_carries_its_folder_and_grades_a_notebook_with_it(tmp_path_factory, monkeypatch):
    work = tmp_path_factory.mktemp("authored")
    for args in (("assignment", "new", NAME, "--out", "source"), ("assignment", "build", f"source/{NAME}.ipynb", "--out", f"built/{NAME}")):
        done = grader(*args, cwd=work)
        assert done.returncode == 0, done.stderr
    folder = work / "built" / NAME
    (folder / "notes.txt").write_text("the instructor's own notes, not the build's", encoding="utf-8")
    solution = (folder / "truth" / "solution.ipynb").read_text(encoding="utf-8")

    monkeypatch.setenv(PATH_VARIABLE, str(work / "built"))  # how staff name it: the assignments path
    root = unpacked_bundle(tmp_path_factory, "--assignment", NAME)
    with zipfile.ZipFile(root / "autograder.zip") as archive:
        carried = {name.removeprefix(f"built/{NAME}/") for name in archive.namelist() if name.startswith("built/")}
    built_files = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    assert carried == built_files - {"notes.txt"}  # the whole build, and only the build
    assert {"assignment.json", "truth/reference.py", "truth/expected/public.json", f"student/{NAME}.ipynb"} <= carried
    assert (root / "source" / ".grader-assignment").read_text() == f"{NAME}\n"

    shutil.rmtree(work)  # the bundle alone: nothing left where it was built
    monkeypatch.delenv(PATH_VARIABLE)
    (root / "submission").mkdir()
    wrong = solution.replace("((pred - target) ** 2).mean()", "((pred - target) ** 2).sum()")
    assert wrong != solution
    (root / "submission" / "mine.ipynb").write_text(wrong, encoding="utf-8")
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"].rsplit("(", 1)[1].rstrip(")"): t for t in document["tests"]}
    assert list(tests) == ["mse"]  # the built assignment's one check; its written question left to manual grading
    assert tests["mse"]["score"] == 0 and "sum_instead_of_mean" in tests["mse"]["output"]
