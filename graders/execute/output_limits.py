"""Limits on what a notebook may print or display, so reports and executed notebooks stay small.

A cell that prints 50 MB or displays a 20 MB image keeps the start of its stream text and a
marker saying how much was cut; an oversized display output is replaced by a marker; a cell that
displays in a loop keeps its first outputs and a note of how many more there were.
The warm path applies the same limits while recording, so a child never holds the flood; but the
child's copy of these constants is the student's to change, so the grader applies them again
(`limit_outputs`) to every cell, the probe cell included. Only the probe results themselves are
exempt: the grader bounds those when it decodes them.
"""

from __future__ import annotations

import json
from typing import Any

import nbformat

from graders.runtime.probe_runtime import MIME_TYPE
from graders.tags import PROBE_TAG

MAX_STREAM_CHARS = 100_000  # per cell and stream name
MAX_DISPLAY_BYTES = 2_000_000  # per display output (all its MIME types together)
# Per cell, the note of what was left out included. Each output costs ~1 KiB to parse whatever
# its size; a cell that plots every epoch of a long training shows a few hundred.
MAX_OUTPUTS_PER_CELL = 1_000


def truncation_marker(dropped: int) -> str:
    return f"\n… [output truncated by the grader: {dropped:,} more characters not kept]\n"


def oversized_display(size: int) -> dict[str, Any]:
    return {"text/plain": f"[display output of {size:,} bytes removed by the grader: over the {MAX_DISPLAY_BYTES:,}-byte limit]"}


def display_size(data: dict[str, Any]) -> int:
    return len(json.dumps(data))


def kept_whatever_the_count(output: dict[str, Any], probe_cell: bool) -> bool:
    """An error (what the report names) and, in the probe cell, the probe's results are never cut for the count."""
    return output.get("output_type") == "error" or (probe_cell and MIME_TYPE in output.get("data", {}))


def within_output_count(outputs: list[nbformat.NotebookNode], probe_cell: bool, dropped: int = 0) -> list[nbformat.NotebookNode]:
    """At most MAX_OUTPUTS_PER_CELL outputs besides those kept whatever the count: the first ones,
    then a note of how many more there were (`dropped`: outputs already left out while recording)."""
    counted = [index for index, output in enumerate(outputs) if not kept_whatever_the_count(output, probe_cell)]
    if len(counted) <= MAX_OUTPUTS_PER_CELL and not dropped:
        return outputs
    cut = set(counted[MAX_OUTPUTS_PER_CELL - 1 :])  # room for the note
    note = nbformat.v4.new_output("stream", name="stderr", text=outputs_note(dropped + len(cut)))
    return [output for index, output in enumerate(outputs) if index not in cut] + [note]


def outputs_note(dropped: int) -> str:
    return f"\n… [{dropped:,} more outputs of this cell not kept by the grader: over the {MAX_OUTPUTS_PER_CELL:,}-output limit]\n"


def limit_outputs(notebook: nbformat.NotebookNode) -> int:
    """Trim every cell's outputs in place; returns how many outputs were cut."""
    cut = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        probe_cell = PROBE_TAG in cell.get("metadata", {}).get("tags", [])
        outputs = cell.get("outputs", [])
        kept = within_output_count(outputs, probe_cell)
        if kept is not outputs:
            cut += len(outputs) + 1 - len(kept)  # the note is new
            cell.outputs = outputs = kept
        kept_chars: dict[str, int] = {}
        for output in outputs:
            if probe_cell and MIME_TYPE in output.get("data", {}):
                continue
            if output.output_type == "stream":
                text = "".join(output.text) if isinstance(output.text, list) else output.text
                room = MAX_STREAM_CHARS - kept_chars.get(output.name, 0)
                if len(text) > room:
                    output.text = text[: max(room, 0)] + truncation_marker(len(text) - max(room, 0))
                    cut += 1
                kept_chars[output.name] = kept_chars.get(output.name, 0) + min(len(text), max(room, 0))
            elif output.output_type in ("display_data", "execute_result") and display_size(output.data) > MAX_DISPLAY_BYTES:
                output.data = nbformat.from_dict(oversized_display(display_size(output.data)))
                output.metadata = {}
                cut += 1
    return cut
