"""graders.execute.output_limits: the grader's own trim of an executed notebook, probe cell included,
and the warm path's recorder, which applies the same limits while a cell runs."""

from __future__ import annotations

import nbformat

from graders.execute.output_limits import MAX_DISPLAY_BYTES, MAX_OUTPUTS_PER_CELL, MAX_STREAM_CHARS, limit_outputs
from graders.execute.shell_engine import OutputRecorder
from graders.runtime.probe_runtime import MIME_TYPE
from graders.tags import PROBE_TAG


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


def error() -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])


def test_a_cell_keeps_its_first_outputs_and_a_note_of_how_many_more_there_were() -> None:
    shown = [display({"text/plain": str(i)}) for i in range(MAX_OUTPUTS_PER_CELL + 500)]
    notebook = executed(code_cell(*shown, error()), code_cell(*shown[:MAX_OUTPUTS_PER_CELL]))
    assert limit_outputs(notebook) > 0
    capped, within = notebook.cells[0].outputs, notebook.cells[1].outputs
    assert capped[: MAX_OUTPUTS_PER_CELL - 1] == shown[: MAX_OUTPUTS_PER_CELL - 1]
    assert capped[-2] == error()  # the error a cell ended with is what the report names: never cut
    assert capped[-1].name == "stderr" and f"{500 + 1:,} more outputs" in capped[-1].text and len(capped) == MAX_OUTPUTS_PER_CELL + 1
    assert within == shown[:MAX_OUTPUTS_PER_CELL]  # at the cap: nothing cut
    again = nbformat.writes(notebook)
    assert limit_outputs(notebook) == 0 and nbformat.writes(notebook) == again  # the grader's second pass changes nothing


def test_in_the_probe_cell_the_results_are_never_cut_for_the_count() -> None:
    results = display({MIME_TYPE: {"calls": {}}, "text/plain": "grader probe results"})
    noise = [stream(f"{i}\n") if i % 2 else nbformat.v4.new_output("stream", name="stderr", text=f"{i}\n") for i in range(3000)]
    notebook = executed(code_cell(*noise, results, probe=True), code_cell(*noise, results))
    limit_outputs(notebook)
    probe, student = notebook.cells
    assert results in probe.outputs and len(probe.outputs) == MAX_OUTPUTS_PER_CELL + 1
    assert results not in student.outputs and len(student.outputs) == MAX_OUTPUTS_PER_CELL  # a student's cell cannot claim it


def test_while_recording_a_cell_holds_no_more_than_the_cap_and_ends_with_the_same_note() -> None:
    recorder = OutputRecorder()
    for i in range(20_000):
        recorder.display("display_data", {"text/plain": str(i)}, {})
        recorder.stream("stdout" if i % 2 else "stderr", "x")  # after a display: an output of its own
        recorder.stream("stdout" if i % 2 else "stderr", "y")  # the same stream again: the same output
        assert len(recorder.outputs) <= MAX_OUTPUTS_PER_CELL
    recorder.display("display_data", {MIME_TYPE: {"calls": {}}}, {})
    recorded = recorder.finish_cell()
    assert any(MIME_TYPE in o.get("data", {}) for o in recorded) and len(recorded) == MAX_OUTPUTS_PER_CELL + 1
    assert f"{2 * 20_000 - (MAX_OUTPUTS_PER_CELL - 1):,} more outputs" in recorded[-1].text
    assert limit_outputs(executed(code_cell(*recorded, probe=True))) == 0  # the grader's own pass agrees


def test_clearing_a_cells_output_clears_the_count_too() -> None:
    recorder = OutputRecorder()
    for i in range(MAX_OUTPUTS_PER_CELL * 3):
        recorder.display("display_data", {"text/plain": str(i)}, {})
    recorder.clear()
    recorder.display("display_data", {"text/plain": "after"}, {})
    assert [o.data["text/plain"] for o in recorder.finish_cell()] == ["after"]
