"""graders.execute.output_limits: the grader's own trim of an executed notebook, probe cell included."""

from __future__ import annotations

import nbformat

from graders.assignment.contract import PROBE_TAG
from graders.assignment.probe_runtime import MIME_TYPE
from graders.execute.output_limits import MAX_DISPLAY_BYTES, MAX_STREAM_CHARS, limit_outputs


def executed(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def code_cell(*outputs: nbformat.NotebookNode, probe: bool = False) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x = 1", metadata={"tags": [PROBE_TAG]} if probe else {})
    cell.outputs = list(outputs)
    return cell


def stream(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def display(data: dict) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data)


def test_streams_are_cut_per_cell_and_stream_name_with_a_marker() -> None:
    notebook = executed(code_cell(stream("a" * MAX_STREAM_CHARS), stream("b" * 10)), code_cell(stream("c" * 10)))
    assert limit_outputs(notebook) == 1
    first, second = notebook.cells[0].outputs
    assert first.text == "a" * MAX_STREAM_CHARS and second.text.startswith("\n… [output truncated by the grader: 10 more")
    assert notebook.cells[1].outputs[0].text == "c" * 10


def test_an_oversized_display_is_replaced_and_a_small_one_kept() -> None:
    big, small = display({"image/png": "x" * (MAX_DISPLAY_BYTES + 1)}), display({"text/plain": "fine"})
    notebook = executed(code_cell(big, small))
    assert limit_outputs(notebook) == 1
    assert "removed by the grader" in notebook.cells[0].outputs[0].data["text/plain"]
    assert notebook.cells[0].outputs[1].data == {"text/plain": "fine"}


def test_the_probe_cells_other_outputs_are_limited_but_its_results_kept() -> None:
    results = display({MIME_TYPE: {"calls": {"x": "y" * (MAX_DISPLAY_BYTES + 1)}}, "text/plain": "grader probe results"})
    flood = stream("z" * (MAX_STREAM_CHARS + 5))
    notebook = executed(code_cell(flood, results, display({"image/png": "x" * (MAX_DISPLAY_BYTES + 1)}), probe=True))
    assert limit_outputs(notebook) == 2
    kept_flood, kept_results, cut_image = notebook.cells[0].outputs
    assert len(kept_flood.text) < MAX_STREAM_CHARS + 200
    assert kept_results.data[MIME_TYPE]["calls"]["x"] == "y" * (MAX_DISPLAY_BYTES + 1)
    assert "removed by the grader" in cut_image.data["text/plain"]


def test_nothing_to_trim_changes_nothing() -> None:
    notebook = executed(code_cell(stream("ok"), display({"text/plain": "fine"})))
    before = nbformat.writes(notebook)
    assert limit_outputs(notebook) == 0 and nbformat.writes(notebook) == before
