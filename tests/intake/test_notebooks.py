"""Reading submission files: every kind of broken file gets a message a student understands."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from graders.errors import NotebookError
from graders.intake.notebooks import load_notebook


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "student.ipynb"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"cells": [', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'["a list"]', "not a Jupyter notebook"),
        (b'{"hello": 1}', "not a Jupyter notebook"),
        (b'{"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "structure is invalid"),
    ],
)
def test_broken_files_are_explained(tmp_path, content, fragment):
    with pytest.raises(NotebookError) as raised:
        load_notebook(write(tmp_path, content))
    assert fragment in str(raised.value)


def test_nbformat_3_is_upgraded_and_keeps_its_code(tmp_path):
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {"name": "old"},
        "worksheets": [
            {"cells": [{"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [], "metadata": {}}], "metadata": {}}
        ],
    }
    notebook = load_notebook(write(tmp_path, json.dumps(v3).encode()))
    assert notebook.nbformat == 4
    assert notebook.cells[0].source == "x = 1"


def test_a_valid_notebook_loads(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$$\\mu = x$$")])
    assert load_notebook(write(tmp_path, nbformat.writes(nb).encode())).cells[0].cell_type == "markdown"


def test_missing_file_is_a_notebook_error(tmp_path):
    with pytest.raises(NotebookError):
        load_notebook(tmp_path / "gone.ipynb")
