"""An executed notebook, read-only, as dataclasses a template can show without trusting anything.

Our own renderer rather than nbconvert's HTML exporter: the exporter renders markdown and HTML
outputs as live markup (a student's `<img onerror>` would be a page element), and taming that
takes more code than showing cells plainly. Here every string stays text (the template escapes
it, markdown through the `rendered` filter), images are PNG or JPEG re-encoded by Pillow
(`graders.report.outputs.image_uri`; never SVG), and an HTML output is shown in an `<iframe sandbox>` without scripts (see the
student page template), so it renders but cannot run or reach the page around it.

A notebook is shown a page at a time (`notebook_page`): cells from a position (a cell, an output
in it) until the page holds PAGE_CHARS of text and images (or 200 cells, or 500 outputs), so a
notebook of thousands of outputs or dozens of figures costs each view a page, never the whole.
Long texts are cut with a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graders.report.outputs import ANSI, IMAGE_FORMATS, image_uri, text_of
from graders.results import capped

PAGE_CHARS = 1_000_000  # text and image data per page; a page ends after the output that passes it
# Each cell and output also counts for a share of a page (its markup, the browser's work), so a
# page holds at most 200 cells or 500 outputs however small they are.
CELL_SHARE = PAGE_CHARS // 200
OUTPUT_SHARE = PAGE_CHARS // 500
MAX_SHOWN_CHARS = 50_000  # of one cell's source or one output's text


@dataclass(frozen=True)
class OutputView:
    """One output: `kind` is text, error, image or html; `text` is shown as text, `image` is a data URI."""

    kind: str
    text: str = ""
    image: str = ""

    @property
    def size(self) -> int:
        return len(self.text) + len(self.image) + OUTPUT_SHARE


@dataclass(frozen=True)
class CellView:
    number: int  # from 1, as the notebook counts its cells
    kind: str  # "code" | "markdown" | "raw"
    source: str  # "" when the cell continues from the page before (its source was shown there)
    execution_count: int | None
    outputs: tuple[OutputView, ...]
    first_output: int = 1  # the number of the first output shown (> 1: continued from the page before)

    @property
    def size(self) -> int:
        return len(self.source) + CELL_SHARE + sum(output.size for output in self.outputs)


@dataclass(frozen=True)
class Position:
    """Where a page starts: a cell and an output in it, both counted from 1."""

    cell: int = 1
    output: int = 1


@dataclass(frozen=True)
class NotebookPage:
    cells: tuple[CellView, ...]
    start: Position
    total_cells: int
    next: Position | None  # where the next page starts; None: this page shows the notebook's end


def notebook_page(notebook: Mapping[str, Any], start: Position = Position()) -> NotebookPage:
    """The cells from `start` until the page is full; ValueError when `start` is not in the notebook."""
    cells = [cell for cell in notebook.get("cells", ()) if isinstance(cell, Mapping)]
    if start != Position() and not (1 <= start.cell <= len(cells) and 1 <= start.output <= max(len(_outputs(cells[start.cell - 1])), 1)):
        raise ValueError(f"the notebook has no cell {start.cell} with an output {start.output}")
    shown: list[CellView] = []
    room, position = PAGE_CHARS, start
    while position.cell <= len(cells) and room > 0:
        view, rest = _cell(cells[position.cell - 1], position, room)
        shown.append(view)
        room -= view.size
        position = Position(position.cell, rest) if rest is not None else Position(position.cell + 1)
    return NotebookPage(tuple(shown), start, len(cells), position if position.cell <= len(cells) else None)


def _outputs(cell: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    outputs = cell.get("outputs") if cell.get("cell_type") == "code" else None
    return [output for output in outputs if isinstance(output, Mapping)] if isinstance(outputs, list) else []


def _cell(cell: Mapping[str, Any], position: Position, room: int) -> tuple[CellView, int | None]:
    """The cell from `position.output` within `room` (one output at least), and the output the next page starts at, if any."""
    count = cell.get("execution_count")
    source = _shown(cell.get("source", "")) if position.output == 1 else ""
    room -= len(source) + CELL_SHARE
    outputs = _outputs(cell)
    shown: list[OutputView] = []
    for number in range(position.output, len(outputs) + 1):
        if shown and room <= 0:
            return _view(cell, position, source, count, shown), number
        view = _output(outputs[number - 1])
        shown.append(view)
        room -= view.size
    return _view(cell, position, source, count, shown), None


def _view(cell: Mapping[str, Any], position: Position, source: str, count: Any, outputs: list[OutputView]) -> CellView:
    return CellView(
        number=position.cell,
        kind=str(cell.get("cell_type", "raw")),
        source=source,
        execution_count=count if isinstance(count, int) else None,
        outputs=tuple(outputs),
        first_output=position.output,
    )


def _output(output: Mapping[str, Any]) -> OutputView:
    kind = output.get("output_type")
    if kind == "stream":
        return OutputView("text", _shown(output.get("text", "")))
    if kind == "error":
        traceback = output.get("traceback")
        lines = traceback if isinstance(traceback, list) else [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return OutputView("error", capped(ANSI.sub("", "\n".join(str(line) for line in lines)), MAX_SHOWN_CHARS))
    data = output.get("data")
    return _rich(data) if isinstance(data, Mapping) else OutputView("text", "")


def _rich(data: Mapping[str, Any]) -> OutputView:
    """The richest representation we can show safely: an image, then HTML, then plain text."""
    for mime in IMAGE_FORMATS:
        if mime in data:
            uri = image_uri(mime, data[mime])
            if uri:
                return OutputView("image", image=uri)
    if "text/html" in data:
        return OutputView("html", _shown(data["text/html"]))
    return OutputView("text", _shown(data.get("text/plain", "")))


def _shown(value: Any) -> str:
    return capped(text_of(value), MAX_SHOWN_CHARS)
