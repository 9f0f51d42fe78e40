"""A notebook's cells as answers are read from them, within caps: what every assignment's answer reader uses.

Standard library only, like probe_runtime.py: every assignment's answer reader and every student kit's
check.py (which ships this file verbatim) read the same cells the same way. Student text is read only
so much: the first `MAX_CELLS` cells, the first `MAX_CELL_CHARS` characters of each (`reading_note` tells
the student what was left out), and never the rest of an over-long cell's source list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any, Protocol

MAX_CELLS = 300  # cells read for answers; a handout has a few dozen
MAX_CELL_CHARS = 20_000  # characters read of each cell; a handout's longest is about a thousand


class Tagged(Protocol):
    """A written question as far as finding its answer cell goes (graders.assignment.spec.Question)."""

    @property
    def tag(self) -> str: ...


def cells_read(nb: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The cells answers are looked for in: the first `MAX_CELLS`."""
    return list(islice(nb.get("cells", []), MAX_CELLS))


def cell_source(cell: Mapping[str, Any]) -> str:
    """The cell's text, up to `MAX_CELL_CHARS` (`unread_chars` tells how much more there was)."""
    source = cell.get("source", "")
    if not isinstance(source, list):
        return str(source)[:MAX_CELL_CHARS]
    parts, length = [], 0
    for part in source:  # not the whole list: a cell of a million lines is read up to the cap only
        if length >= MAX_CELL_CHARS:
            break
        parts.append(part)
        length += len(part)
    return "".join(parts)[:MAX_CELL_CHARS]


def unread_chars(cell: Mapping[str, Any]) -> int:
    """How many characters of the cell `cell_source` leaves unread: 0 when it reads the whole cell."""
    source = cell.get("source", "")
    return max(0, (sum(map(len, source)) if isinstance(source, list) else len(str(source))) - MAX_CELL_CHARS)


def reading_note(nb: Mapping[str, Any], questions: Sequence[Tagged]) -> str:
    """For the student: which markdown or answer cells were not read in full, and whether cells were
    left out altogether; "" when everything was read."""
    cut = [number for number, cell in enumerate(cells_read(nb), 1) if unread_chars(cell) and _holds_answers(cell, questions)]
    notes = []
    if cut:
        notes.append(
            f"Only the first {MAX_CELL_CHARS:,} characters of {_cell_numbers(cut)} (counting every cell from the top) "
            "were read for your answers; the rest was ignored."
        )
    if len(nb.get("cells", [])) > MAX_CELLS:
        notes.append(f"Your answers were looked for in the first {MAX_CELLS} cells only; the cells after them were ignored.")
    return " ".join(notes)


def _holds_answers(cell: Mapping[str, Any], questions: Sequence[Tagged]) -> bool:
    return is_markdown(cell) or any(q.tag in cell_tags(cell) for q in questions)


def _cell_numbers(numbers: list[int], shown: int = 10) -> str:
    if len(numbers) == 1:
        return f"cell {numbers[0]}"
    listed = ", ".join(map(str, numbers[:shown]))
    return f"cells {listed} and {len(numbers) - shown} more" if len(numbers) > shown else f"cells {listed}"


def cell_tags(cell: Mapping[str, Any]) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags", []) or [])


def is_markdown(cell: Mapping[str, Any]) -> bool:
    return cell.get("cell_type") == "markdown"
