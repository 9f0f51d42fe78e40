"""Bounded growth end to end, through the sandboxed warm path: a 20 MB written answer and a cell that
displays in a loop are graded as the solution they otherwise are, every file they leave is bounded,
and an unchanged regrade adds a small row to the gradebook, not the results again."""

from __future__ import annotations

import html
import json
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest

from assignments.a10.contract import QUESTIONS
from graders.execute.output_limits import MAX_OUTPUTS_PER_CELL
from graders.gradebook.store import FILENAME, Gradebook
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.pipeline.executed import MAX_PROSE_CHARS
from graders.results import MAX_ANSWER_CHARS
from tests.conftest import GRADING_SEED

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONFIG = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=2)
ANSWER = "With a weight of 30 the reconstructions are blurry and alike. "
HUGE = 20_000_000  # the reported answer
DISPLAYS = 5_000
LOOP = f"from IPython.display import display\nfor i in range({DISPLAYS}):\n    display(i)\n    print(i)"  # display, print, display, ...
NOTE = "… [truncated: "


def solution() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "submissions" / "a10" / "solution.ipynb", as_version=4)


def huge_answer() -> nbformat.NotebookNode:
    notebook = solution()
    cell = next(c for c in notebook.cells if QUESTIONS[0].tag in c.metadata.get("tags", []))
    cell.source = (ANSWER * (HUGE // len(ANSWER) + 1))[:HUGE]
    return notebook


def display_loop() -> nbformat.NotebookNode:
    notebook = solution()
    notebook.cells.append(nbformat.v4.new_code_cell(LOOP))
    return notebook


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("growth")
    submissions, out = root / "submissions", root / "reports"
    submissions.mkdir()
    for name, notebook in (("solution", solution()), ("huge-answer", huge_answer()), ("display-loop", display_loop())):
        nbformat.write(notebook, submissions / f"{name}.ipynb")
    grade_folder(submissions, out_dir=out, config=CONFIG)
    shutil.copytree(out, root / "after-one-run")  # as the first run left it
    grade_folder(submissions, out_dir=out, config=CONFIG)  # nothing changed: every result is reused
    return root


def result_of(reports: Path, name: str) -> dict:
    return json.loads((reports / "reports" / name / "results.json").read_text(encoding="utf-8"))


def checks(result: dict) -> dict[str, tuple[str, float]]:
    return {c["id"]: (c["status"], c["score"]) for c in result["checks"]}


@pytest.mark.parametrize("name", ["huge-answer", "display-loop"])
def test_each_is_graded_as_the_solution_it_otherwise_is(reports, name):
    assert checks(result_of(reports, name)) == checks(result_of(reports, "solution"))


def test_a_huge_answer_is_capped_with_a_note_in_every_file_that_shows_it(reports):
    out = reports / "reports"
    answer = result_of(reports, "huge-answer")["free_text"][0]["answer"]
    assert answer.startswith(ANSWER) and NOTE in answer and len(answer) <= MAX_ANSWER_CHARS
    assert NOTE in html.unescape((out / "huge-answer" / "report.html").read_text(encoding="utf-8"))
    with Gradebook.open(out) as book:
        assert book.grade("huge-answer").questions[0].answer == answer
    for name in ("results.json", "report.html"):
        assert (out / "huge-answer" / name).stat().st_size < (out / "solution" / name).stat().st_size + 4 * MAX_ANSWER_CHARS, name
    executed = (out / "huge-answer" / "executed.ipynb").stat().st_size
    assert executed < (out / "solution" / "executed.ipynb").stat().st_size + 2 * MAX_PROSE_CHARS  # was 20 MB


def test_a_cell_that_displays_in_a_loop_keeps_its_first_outputs_and_says_how_many_more(reports):
    executed = nbformat.read(reports / "reports" / "display-loop" / "executed.ipynb", as_version=4)
    loop = next(cell for cell in executed.cells if cell.source == LOOP)
    assert len(loop.outputs) == MAX_OUTPUTS_PER_CELL
    assert [o.data["text/plain"] for o in loop.outputs[: MAX_OUTPUTS_PER_CELL - 1 : 2]] == [
        str(i) for i in range(MAX_OUTPUTS_PER_CELL // 2)
    ]
    assert f"{2 * DISPLAYS - (MAX_OUTPUTS_PER_CELL - 1):,} more outputs" in loop.outputs[-1].text


def stored_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
        return int(db.execute("PRAGMA page_count").fetchone()[0]) * int(db.execute("PRAGMA page_size").fetchone()[0])


def test_an_unchanged_regrade_adds_a_small_row_and_history_shows_both_runs(reports):
    first, both = stored_bytes(reports / "after-one-run" / FILENAME), stored_bytes(reports / "reports" / FILENAME)
    assert both - first < first / 10  # it was 20 MB → 39 MB
    with Gradebook.open(reports / "reports") as book:
        for name in ("solution", "huge-answer", "display-loop"):
            history = book.history(name)
            assert len(history.entries) == 2 and history.entries[1].changes == () and history.entries[1].reasons == ()
