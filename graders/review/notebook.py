"""An executed notebook, read-only, as dataclasses a template can show without trusting anything.

Our own renderer rather than nbconvert's HTML exporter: the exporter renders markdown and HTML
outputs as live markup (a student's `<img onerror>` would be a page element), and taming that
takes more code than showing cells plainly. Here every string stays text (the template escapes
it), images become `data:` URIs only after their base64 decodes and their type is an image
type we name, and an HTML output is shown in an `<iframe sandbox>` without scripts (see the
student page template), so it renders but cannot run or reach the page around it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Types a browser shows inside <img> without running anything (an SVG in <img> runs no script).
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class OutputView:
    """One output: `kind` is text, error, image or html; `text` is shown as text, `image` is a data URI."""

    kind: str
    text: str = ""
    image: str = ""


@dataclass(frozen=True)
class CellView:
    kind: str  # "code" | "markdown" | "raw"
    source: str
    execution_count: int | None
    outputs: tuple[OutputView, ...]


def notebook_view(notebook: Mapping[str, Any]) -> tuple[CellView, ...]:
    """Cells in order; anything malformed shows as what it is rather than failing the page."""
    return tuple(_cell(cell) for cell in notebook.get("cells", ()) if isinstance(cell, Mapping))


def _cell(cell: Mapping[str, Any]) -> CellView:
    count = cell.get("execution_count")
    outputs = cell.get("outputs", ()) if cell.get("cell_type") == "code" else ()
    return CellView(
        kind=str(cell.get("cell_type", "raw")),
        source=_text(cell.get("source", "")),
        execution_count=count if isinstance(count, int) else None,
        outputs=tuple(_output(output) for output in outputs if isinstance(output, Mapping)),
    )


def _output(output: Mapping[str, Any]) -> OutputView:
    kind = output.get("output_type")
    if kind == "stream":
        return OutputView("text", _text(output.get("text", "")))
    if kind == "error":
        traceback = output.get("traceback")
        lines = traceback if isinstance(traceback, list) else [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return OutputView("error", ANSI.sub("", "\n".join(str(line) for line in lines)))
    data = output.get("data")
    return _rich(data) if isinstance(data, Mapping) else OutputView("text", "")


def _rich(data: Mapping[str, Any]) -> OutputView:
    """The richest representation we can show safely: an image, then HTML, then plain text."""
    for mime in IMAGE_TYPES:
        if mime in data:
            uri = _data_uri(mime, data[mime])
            if uri:
                return OutputView("image", image=uri)
    if "text/html" in data:
        return OutputView("html", _text(data["text/html"]))
    return OutputView("text", _text(data.get("text/plain", "")))


def _data_uri(mime: str, value: Any) -> str:
    """A data URI, or "" when the payload is not what it claims (invalid base64 never reaches the page)."""
    text = _text(value)
    if mime == "image/svg+xml":
        payload = text.encode("utf-8")
    else:
        try:
            payload = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            return ""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}" if payload else ""


def _text(value: Any) -> str:
    """nbformat keeps multi-line strings either whole or as a list of lines."""
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else str(value)
