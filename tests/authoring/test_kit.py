"""An authored assignment's student kit, as an author and a student use it: `grader assignment new`, `build`,
`grader kit`, then the kit's check.py (a process of its own, as a student runs it) on the solution, on the
catalogued mistake, on the template and on the solution with the kit's check cells, against the grader's own
verdicts on the same public inputs; and what the kit must not carry: the truth's lines, the hidden inputs and the
reference's values on them, the grading seed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from graders.assignment import registry
from graders.assignment.spec import KitHints
from graders.authoring.annotations import MISTAKE_PREFIX
from graders.authoring.built import BuiltAssignment
from graders.kit.build import Kit, kit_notebook
from graders.kit.check import kit_hash
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.pipeline.secret import course_seed
from graders.pipeline.validate import json_strings
from graders.results import SubmissionResult
from graders.runtime import probe_runtime
from tests.authoring.test_author_e2e import grader
from tests.kit import test_leaks
from tests.kit.test_kit import public_verdict, table_verdicts

NAME = "kit-e2e"
CELL_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def authored(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltAssignment, Path, Path]:
    """The skeleton built, and its kit written by the command a course runs: (assignment, source notebook, kit)."""
    root = tmp_path_factory.mktemp("authored-kit")
    for args in (
        ("assignment", "new", NAME, "--out", "source"),
        ("assignment", "build", f"source/{NAME}.ipynb", "--out", f"built/{NAME}"),
        ("--assignments-dir", "built", "kit", "--assignment", NAME, "--out", "kit"),
    ):
        done = grader(*args, cwd=root)
        assert done.returncode == 0, done.stderr
    return BuiltAssignment(root / "built" / NAME), root / "source" / f"{NAME}.ipynb", root / "kit"


def with_mistake(built: BuiltAssignment, source: Path, name: str) -> nbformat.NotebookNode:
    """The solution with a function's definition replaced by the catalogued mistake's own (its `mistake:` cell)."""
    mistake = next(c for c in nbformat.read(str(source), as_version=4).cells if MISTAKE_PREFIX + name in c.metadata.get("tags", []))
    function = built.catalog[name].function
    notebook = nbformat.read(str(built.handout.solution), as_version=4)
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and f"def {function}(" in c.source]
    cell.source = mistake.source
    return notebook


@pytest.fixture(scope="module")
def corpus(authored: tuple[BuiltAssignment, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    built, source, kit = authored
    folder = tmp_path_factory.mktemp("authored-corpus")
    solution = nbformat.read(str(built.handout.solution), as_version=4)
    nbformat.write(solution, str(folder / "solution.ipynb"))
    (mistake,) = built.catalog
    nbformat.write(with_mistake(built, source, mistake), str(folder / "mistake.ipynb"))
    nbformat.write(nbformat.read(str(kit / built.handout.template.name), as_version=4), str(folder / "kit-template.ipynb"))
    nbformat.write(kit_notebook(built.kit(), solution), str(folder / "kit-solution.ipynb"))
    return folder


@pytest.fixture(scope="module")
def kit_runs(authored: tuple[BuiltAssignment, Path, Path], corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """check.py as a student runs it: isolated mode, from another folder."""
    kit, cwd = authored[2], tmp_path_factory.mktemp("authored-kit-runs")
    argv = [sys.executable, "-I", str(kit / "check.py")]
    return {
        path.stem: subprocess.run(
            [*argv, str(path), "--timeout", str(CELL_TIMEOUT)], capture_output=True, text=True, timeout=600, cwd=cwd, check=False
        )
        for path in sorted(corpus.glob("*.ipynb"))
    }


@pytest.fixture(scope="module")
def grader_verdicts(
    authored: tuple[BuiltAssignment, Path, Path], corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, SubmissionResult]:
    """The grader's verdicts on the public inputs, with `grader check`'s seed; the built folder on the assignments
    path, as `--assignments-dir` puts it (the run records the assignment's id and finds it there)."""
    built = authored[0]
    config = GradingConfig(seed=built.public_seed, hidden=False, cell_timeout=CELL_TIMEOUT, jobs=2, assignment=built)
    registry.load.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(registry.PATH_VARIABLE, str(built.folder.parent))
        graded = grade_folder(corpus, out_dir=tmp_path_factory.mktemp("authored-reports"), config=config)
    registry.load.cache_clear()
    return {r.submission: r for r in graded}


def test_the_kit_passes_the_solution_and_names_the_catalogued_mistake(authored, kit_runs):
    built = authored[0]
    solution, mistake = kit_runs["solution"], kit_runs["mistake"]
    assert solution.returncode == 0, solution.stdout + solution.stderr
    assert set(table_verdicts(solution.stdout).values()) == {("pass", ())}
    (name,) = built.catalog
    misconception = built.catalog[name]
    assert mistake.returncode == 1, mistake.stdout + mistake.stderr
    assert table_verdicts(mistake.stdout) == {misconception.function: ("fail", (name,))}
    said = " ".join(mistake.stdout.split())
    # At the assignment's hint level (the default): the mistake's title and its hint; never the words that state the
    # right value (the mistake's explanation, the function's expectation), which the report gives after grading.
    assert built.kit_hints is KitHints.EXPLANATIONS
    assert misconception.title in said and misconception.hint in said
    (function,) = built.contract.functions
    assert misconception.explanation not in said and function.expectation not in said
    assert f"`{function.name}(...)` is not what the grader computes." in said


def test_the_kit_and_the_grader_agree_check_for_check(authored, kit_runs, grader_verdicts):
    built = authored[0]
    disagreements = []
    for name, run in kit_runs.items():
        said = table_verdicts(run.stdout)
        assert tuple(said) == built.check_ids, name + run.stdout + run.stderr
        grader_said = {c.id: public_verdict(c) for c in grader_verdicts[name].checks}
        disagreements += [
            (name, check_id, said[check_id], grader_said[check_id]) for check_id in said if said[check_id] != grader_said[check_id]
        ]
    assert not disagreements
    # Every kind of verdict is among them: passing, the mistake named, the template's unwritten function an error.
    assert {status for status, _ in table_verdicts(kit_runs["kit-template"].stdout).values()} == {"error"}
    assert [c.status for c in grader_verdicts["kit-solution"].checks] == [c.status for c in grader_verdicts["solution"].checks]
    assert not grader_verdicts["kit-solution"].cell_errors  # the grader blanks the kit's check cells


# ----------------------------------------------------------------------------- what the kit must not carry


def kit_texts(kit: Path) -> Iterator[tuple[str, str]]:
    """Every kit file as written, and for JSON (the data, the notebook) its strings decoded, where code is escaped."""
    for path in sorted(kit.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            text = path.read_text(encoding="utf-8")
            yield path.name, text
            if path.suffix in (".json", ".ipynb"):
                yield path.name, "\n".join(json_strings(json.loads(text)))


def test_no_line_of_the_truth_is_in_the_kit(authored):
    built, _, kit = authored
    texts = list(kit_texts(kit))
    handout = {line.strip() for cell in nbformat.read(str(built.handout.template), as_version=4).cells for line in cell.source.splitlines()}
    truth = sorted((built.folder / "truth").glob("*.py"))
    assert {"reference.py", "inputs.py", *(f"mistake_{name}.py" for name in built.catalog)} <= {path.name for path in truth}
    checked = set()
    for path in truth:
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            # Imports, short generic lines (`PUBLIC = {`, `"mse": [`) and the handout's own (the signatures) are no secret.
            if len(line) < 16 or line.startswith(("import ", "from ")) or line in handout:
                continue
            checked.add((path.name, line))
            assert not [name for name, text in texts if line in text], f"{path.name}: {line!r} is in the kit"
    # The solution's body, the mistake's, the public and hidden inputs' code and its comments among them.
    assert len(checked) >= 6 and {name for name, _ in checked} == {path.name for path in truth}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> int:
    """A real course secret's grading seed: what a course would grade with."""
    return course_seed(tmp_path_factory.mktemp("course") / ".grader-secret").seed


def test_neither_the_grading_seed_nor_a_hidden_input_nor_a_value_on_one_is_in_the_kit(authored, course):
    built, _, kit = authored
    files = "\n".join(text for _, text in kit_texts(kit))
    assert not re.search(rf"(?<![\d.]){course}(?!\d)", files)
    plan = built.build_plan(seed=course, hidden=True, data_dir=None)
    expected = built.compute_expected(plan)
    hidden = [case for case in plan.cases if not case.public]
    assert hidden
    (check,) = built.judging.checks()
    scanned = 0
    for case in hidden:
        for arg in case.args:
            assert probe_runtime.encode(arg)["data"][:40] not in files, f"{case.name} input leaked"  # as the kit carries inputs
            # Any run of four consecutive values, as the kit would write them as numbers.
            for run in np.lib.stride_tricks.sliding_window_view(arg.ravel(), min(4, arg.size)):
                scanned += 1
                assert json.dumps(run.tolist(), separators=(",", ":"))[1:-1] not in files, f"{case.name} input leaked"
        value = float(check.observable(expected.reference, case))
        assert repr(value) not in files and f"{value:.6g}" not in files, f"the reference's value on {case.name} leaked"
    assert scanned > 20


def test_the_kit_ships_the_grader_s_files_verbatim_and_imports_only_what_it_ships_and_a_student_has(authored):
    # What tests/kit/test_leaks.py holds of every shipped assignment's kit, of this one.
    built, _, folder = authored
    kit = Kit(folder, kit_hash(folder), tuple(sorted(path.name for path in folder.iterdir())))
    test_leaks.test_the_kit_holds_its_files_and_prints_its_hash((built, kit))
    test_leaks.test_the_kit_has_no_experiment_and_imports_only_what_it_ships_and_a_student_has((built, kit))
