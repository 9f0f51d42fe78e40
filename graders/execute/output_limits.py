"""Limits on what a notebook may print or display, so reports and executed notebooks stay small.

A cell that prints 50 MB or displays a 20 MB image keeps the start of its stream text and a
marker saying how much was cut; an oversized display output is replaced by a marker.
The warm path applies the same limits while recording, so a child never holds the flood; but the
child's copy of these constants is the student's to change, so the grader applies them again
(`limit_outputs`) to every cell, the probe cell included. Only the probe results themselves are
exempt: the grader bounds those when it decodes them.
"""

from __future__ import annotations

import json
from typing import Any

import nbformat

from graders.assignment.contract import PROBE_TAG
from graders.assignment.probe_runtime import MIME_TYPE

MAX_STREAM_CHARS = 100_000  # per cell and stream name
MAX_DISPLAY_BYTES = 2_000_000  # per display output (all its MIME types together)


def truncation_marker(dropped: int) -> str:
    return f"\n… [output truncated by the grader: {dropped:,} more characters not kept]\n"


def oversized_display(size: int) -> dict[str, Any]:
    return {"text/plain": f"[display output of {size:,} bytes removed by the grader: over the {MAX_DISPLAY_BYTES:,}-byte limit]"}


def display_size(data: dict[str, Any]) -> int:
    return len(json.dumps(data))


def limit_outputs(notebook: nbformat.NotebookNode) -> int:
    """Trim every cell's outputs in place; returns how many outputs were cut."""
    cut = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        probe_cell = PROBE_TAG in cell.get("metadata", {}).get("tags", [])
        kept_chars: dict[str, int] = {}
        for output in cell.get("outputs", []):
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
