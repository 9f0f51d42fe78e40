"""Reading a submission file into a runnable nbformat-4 notebook, or saying why it cannot be."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
from nbformat.validator import ValidationError

from graders.errors import NotebookError

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """Parse and validate; older nbformat versions are upgraded to v4 (nbformat does that losslessly)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(f"the file could not be read ({exc.strerror})") from exc
    if not raw.strip():
        raise NotebookError("the file is empty")
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"the file is {len(raw) // 2**20} MiB; notebooks over {MAX_NOTEBOOK_BYTES // 2**20} MiB are not graded")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"the file is not UTF-8 text (bad byte at position {exc.start}); save it again from Jupyter") from exc
    return parse_notebook(text)


def parse_notebook(text: str) -> nbformat.NotebookNode:
    """JSON text to a validated nbformat-4 notebook, or a NotebookError saying what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); it may have been edited by hand or truncated"
        ) from exc
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookError("the file is JSON but not a Jupyter notebook (no cells)")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except (ValidationError, nbformat.reader.NotJSONError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NotebookError(f"the notebook structure is invalid ({_first_line(exc)})") from exc
    return notebook


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
