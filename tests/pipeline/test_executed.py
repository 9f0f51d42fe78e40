"""Reading an executed notebook the student's process wrote: refused or capped quickly and in
bounded memory however it is shaped, and what is kept has at most so many outputs per cell."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from graders.errors import NotebookError
from graders.execute.jobs import MAX_EXECUTED_BYTES, ExecutionJob, ExecutionOutcome
from graders.execute.output_limits import MAX_OUTPUTS_PER_CELL
from graders.intake.notebooks import MAX_JSON_OBJECTS
from graders.pipeline.executed import (
    MAX_PROSE_CHARS,
    CellLimits,
    cell_errors,
    keep_executed,
    load_executed,
    read_executed,
    trim_prose,
)
from graders.runtime.probe_runtime import MIME_TYPE
from graders.tags import PROBE_TAG

ROOT = Path(__file__).resolve().parents[2]
SIZE = MAX_EXECUTED_BYTES // 4  # each shape at a quarter of the cap: the ratios below hold at any size
TINY_OUTPUT = '{"output_type": "display_data", "data": {"text/plain": "0"}, "metadata": {}}'


def code_cell(outputs: str) -> str:
    return '{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "x", "outputs": [' + outputs + "]}"


def notebook_text(cells: str) -> str:
    return '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [' + cells + "]}"


def repeated(item: str, size: int) -> str:
    return ", ".join([item] * (size // (len(item) + 2)))


# The reported shape (880,000 tiny outputs in one cell) and its class: many cells, one output each,
# and many lines of text (cheap to parse in time, not in memory).
SHAPES = {
    "tiny outputs in one cell": lambda: notebook_text(code_cell(repeated(TINY_OUTPUT, SIZE))),
    "tiny cells": lambda: notebook_text(repeated(code_cell(""), SIZE)),
    "one tiny output per cell": lambda: notebook_text(repeated(code_cell(TINY_OUTPUT), SIZE)),
    "many lines of text": lambda: notebook_text(
        code_cell('{"output_type": "stream", "name": "stdout", "text": [' + repeated('"ab"', SIZE) + "]}")
    ),
}
OBJECT_SHAPES = ("tiny outputs in one cell", "tiny cells", "one tiny output per cell")

MEASURE = """
import json, re, sys, time
from pathlib import Path
import nbformat
from graders.pipeline.executed import read_executed

def peak():
    # The process's own high-water mark: getrusage's ru_maxrss would start from the forking parent's.
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1]) * 1024

path = Path(sys.argv[1])
base, started = peak(), time.process_time()
kept = read_executed(path)
seconds, growth = time.process_time() - started, peak() - base
started = time.process_time()
try:  # what reading it cost before its objects were counted first: the whole parse
    nbformat.validate(nbformat.reads(path.read_text(), as_version=4))
except Exception:
    pass
print(json.dumps({"kept": kept is not None, "growth": growth, "seconds": seconds, "full_seconds": time.process_time() - started}))
"""


def measured(path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_notebook_of_very_many_tiny_parts_is_refused_quickly_in_the_memory_of_its_text(tmp_path, shape):
    path = tmp_path / "executed.ipynb"
    path.write_text(SHAPES[shape](), encoding="utf-8")
    size = path.stat().st_size
    found = measured(path)
    assert found["growth"] < 3 * size  # the bytes and their text; the whole parse took 10 to 27 times the size
    if shape in OBJECT_SHAPES:
        assert found["seconds"] < found["full_seconds"] / 5  # the reported notebook took 58 s to parse
    assert not found["kept"]


def test_an_honest_notebook_of_the_same_size_is_read_in_memory_of_the_same_order(tmp_path):
    figure = '{"output_type": "display_data", "data": {"image/png": "' + "iVBORw0K" * (SIZE // 8) + '"}, "metadata": {}}'
    path = tmp_path / "executed.ipynb"
    path.write_text(notebook_text(code_cell(figure)), encoding="utf-8")
    found = measured(path)
    assert found["kept"] and found["growth"] < 6 * path.stat().st_size  # the bytes, their text, the parsed string


def test_over_the_caps_the_reason_is_given(tmp_path):
    path = tmp_path / "executed.ipynb"
    for text, reason in (
        (notebook_text(code_cell(repeated(TINY_OUTPUT, MAX_JSON_OBJECTS * 30))), "JSON objects"),
        (notebook_text(code_cell(repeated('"ab"', 6_000_000))), "JSON strings and list items"),
        ("x" * (MAX_EXECUTED_BYTES + 1), f"over {MAX_EXECUTED_BYTES // 2**20} MiB"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(NotebookError, match=reason):
            load_executed(path)
    path.unlink()
    with pytest.raises(NotebookError, match="no executed notebook"):
        load_executed(path)


def test_brackets_and_commas_inside_strings_are_not_counted(tmp_path):
    """A printed tensor or a long LaTeX answer is one string, however many `{`, `[` and `,` it holds."""
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('print("{[,\\\\" * 10**6)', execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text='{[,\\"' * (MAX_JSON_OBJECTS * 60))]
    notebook.cells = [nbformat.v4.new_markdown_cell("$$\\frac{a}{b}$$, " * 100_000), cell]
    path = tmp_path / "executed.ipynb"
    nbformat.write(notebook, path)
    assert read_executed(path) == notebook


def displays(count: int) -> list[nbformat.NotebookNode]:
    return [nbformat.v4.new_output("display_data", data={"text/plain": f"shown {i}"}) for i in range(count)]


def test_the_copy_kept_in_the_reports_has_at_most_so_many_outputs_per_cell_and_keeps_its_error(tmp_path):
    """The cold path records every output a kernel sends, and a notebook can write its own: the grader caps what it keeps."""
    loop = nbformat.v4.new_code_cell("for i in range(3000): display(i)\n1 / 0", execution_count=1)
    loop.outputs = [*displays(3000), nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    probe = nbformat.v4.new_code_cell("probe", execution_count=2, metadata={"tags": [PROBE_TAG]})
    probe.outputs = [*displays(2000), nbformat.v4.new_output("display_data", data={MIME_TYPE: {"calls": {}}, "text/plain": "results"})]
    job = ExecutionJob("x", str(tmp_path / "in.ipynb"), str(tmp_path / "executed.ipynb"), str(tmp_path / "work"), {}, 10.0)
    nbformat.write(nbformat.v4.new_notebook(cells=[loop]), job.snapshot_path)  # the record: the student's cells before the probe
    nbformat.write(nbformat.v4.new_notebook(cells=[loop, probe]), job.output_path)
    target = tmp_path / "reports" / "executed.ipynb"
    executed = keep_executed(job, target)
    assert executed is not None and nbformat.read(target, as_version=4) == executed
    kept_loop, kept_probe = executed.cells
    assert len(kept_loop.outputs) == MAX_OUTPUTS_PER_CELL + 1  # and the error
    assert [o.get("data", {}).get("text/plain") for o in kept_loop.outputs[: MAX_OUTPUTS_PER_CELL - 1]] == [
        f"shown {i}" for i in range(MAX_OUTPUTS_PER_CELL - 1)
    ]
    assert f"{3000 - (MAX_OUTPUTS_PER_CELL - 1):,} more outputs" in kept_loop.outputs[-1].text
    assert kept_loop.outputs[-2].output_type == "error"
    assert any(MIME_TYPE in o.get("data", {}) for o in kept_probe.outputs)
    outcome = ExecutionOutcome("x", finished=True)
    assert [e.ename for e in cell_errors(executed, executed, CellLimits(10.0, 2**20), outcome)] == ["ZeroDivisionError"]


def test_markdown_that_is_not_run_is_capped_in_the_copy_that_runs():
    notebook = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_markdown_cell("It is blurry. " * 2_000_000, attachments={"big.png": {"image/png": "iVBOR" * 10**6}})
    code = nbformat.v4.new_code_cell("x = '" + "y" * (MAX_PROSE_CHARS * 2) + "'")
    notebook.cells = [answer, nbformat.v4.new_raw_cell("r" * (MAX_PROSE_CHARS + 1)), code]
    trim_prose(notebook)
    kept_answer, raw, kept_code = notebook.cells
    assert len(kept_answer.source) <= MAX_PROSE_CHARS and "characters not shown]" in kept_answer.source and "attachments" not in kept_answer
    assert len(raw.source) <= MAX_PROSE_CHARS and kept_code.source == code.source  # code runs as written
