"""Assignment 11's student kit against its grader, check for check, on the shipped demo class.

The kit is built by the harness's builder from the assignment's parts (assignments/a11/kit.py); its
check.py runs as a student runs it, in a process of its own, and its table is read back; the grader
grades the same notebooks on the same public inputs with `grader check`'s seed. The kit's own notebooks
(the template and the solution with the kit's check cells) are in the corpus: the grader blanks those cells.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from assignments.a10 import ASSIGNMENT as TEN
from assignments.a11 import ASSIGNMENT as ELEVEN
from assignments.a11.kit import KIT
from graders.kit.build import Kit, build_kit, kit_notebook
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import SubmissionResult
from tests.kit.test_kit import public_verdict, table_verdicts

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "submissions" / "a11"
CELL_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return build_kit(ELEVEN, tmp_path_factory.mktemp("a11-kit") / "kit")


@pytest.fixture(scope="module")
def corpus(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("a11-corpus")
    for path in DEMOS.glob("*.ipynb"):
        shutil.copyfile(path, folder / path.name)
    shutil.copyfile(kit.folder / ELEVEN.handout.template.name, folder / "kit-template.ipynb")
    solution = kit_notebook(KIT, nbformat.read(str(ELEVEN.handout.solution), as_version=4))
    nbformat.write(solution, str(folder / "kit-solution.ipynb"))
    return folder


def run_kit(kit: Kit, notebook: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """check.py as a student runs it: isolated mode, from another folder."""
    argv = [sys.executable, "-I", str(kit.folder / "check.py"), str(notebook), "--timeout", str(CELL_TIMEOUT)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def kit_runs(kit: Kit, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("a11-kit-runs")
    return {path.stem: run_kit(kit, path, cwd) for path in sorted(corpus.glob("*.ipynb"))}


@pytest.fixture(scope="module")
def grader_verdicts(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    """The grader's verdicts on the public inputs, with `grader check`'s seed."""
    config = GradingConfig(seed=ELEVEN.public_seed, hidden=False, cell_timeout=CELL_TIMEOUT, jobs=2, assignment=ELEVEN)
    return {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path_factory.mktemp("a11-reports"), config=config)}


def test_the_kit_and_the_grader_agree_on_every_public_check(kit, kit_runs, grader_verdicts):
    data = json.loads((kit.folder / "kit_data.json").read_text(encoding="utf-8"))
    public = tuple(check["id"] for check in data["checks"])
    assert public == tuple(c.id for c in ELEVEN.checks if not c.id.startswith("experiment."))
    disagreements = []
    for name, run in kit_runs.items():
        said = table_verdicts(run.stdout)
        assert tuple(said) == public, name + run.stdout + run.stderr
        assert run.returncode == (0 if all(status == "pass" for status, _ in said.values()) else 1), name + run.stderr
        grader = {c.id: public_verdict(c) for c in grader_verdicts[name].checks if c.id in said}
        disagreements += [(name, check_id, said[check_id], grader[check_id]) for check_id in said if said[check_id] != grader[check_id]]
    assert not disagreements
    # The corpus shows every kind of verdict: all passing, each demo's one mistake named, the template all errors.
    assert kit_runs["solution"].returncode == kit_runs["kit-solution"].returncode == 0
    assert table_verdicts(kit_runs["no-scale"].stdout)["attention"] == ("fail", ("no_scale",))
    assert {status for status, _ in table_verdicts(kit_runs["kit-template"].stdout).values()} == {"error"}


def test_the_grader_blanks_the_kit_s_check_cells(grader_verdicts):
    graded = grader_verdicts["kit-solution"]
    assert not graded.cell_errors
    assert [c.status for c in graded.checks] == [c.status for c in grader_verdicts["solution"].checks]


def test_the_kit_refuses_a_notebook_of_another_assignment(kit, tmp_path):
    other = nbformat.read(str(TEN.handout.solution), as_version=4)
    other.metadata["grader"] = {"assignment": TEN.id}  # as triage reads it (graders.tags.named_assignment)
    nbformat.write(other, str(tmp_path / "a10.ipynb"))
    run = run_kit(kit, tmp_path / "a10.ipynb", tmp_path)
    said = table_verdicts(run.stdout)
    assert run.returncode == 1 and set(said) and {status for status, _ in said.values()} == {"error"}
    assert f"this kit checks {ELEVEN.id!r}" in " ".join(run.stdout.split())
