"""Reading submission files: every kind of broken or hostile file gets a message a student understands,
and nothing in the file can crash, hang or exhaust the grader (fuzzed with hypothesis)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.errors import NotebookError
from graders.intake import notebooks
from graders.intake.notebooks import load_notebook, named_in, parse_bytes
from graders.tags import MAX_ASSIGNMENT_ID, named_assignment


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


def valid(**changes) -> dict:
    nb = json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])))
    return {**nb, **changes}


def deep(levels: int) -> bytes:
    text = json.dumps(valid(metadata={"deep": "HERE"}))
    return text.replace('"HERE"', "[" * levels + "]" * levels).encode()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (deep(100_000), "nests JSON too deeply"),  # past Python's recursion limit: a RecursionError in json
        (deep(500), "nests JSON too deeply"),  # parses, but nbformat and deepcopy would recurse on it
        (json.dumps(valid(nbformat=5)).encode(), "format version 5"),
        (json.dumps(valid(nbformat="4")).encode(), 'format version "4"'),
        (json.dumps(valid(nbformat=True)).encode(), "format version"),
        (json.dumps(valid(metadata={"kernelspec": {"language": "R", "name": "ir"}})).encode(), "for the 'R' language"),
        (json.dumps(valid(metadata={"language_info": {"name": "julia"}})).encode(), "for the 'julia' language"),
        (json.dumps(valid(cells={"not": "a list"})).encode(), "structure is invalid"),
        (json.dumps(valid(cells=[{"cell_type": "code", "source": 5, "metadata": {}, "outputs": []}])).encode(), "structure is invalid"),
        (json.dumps(valid(cells=[None])).encode(), "structure is invalid"),
    ],
)
def test_hostile_json_is_explained(tmp_path, content, fragment):
    with pytest.raises(NotebookError) as raised:
        load_notebook(write(tmp_path, content))
    assert fragment in str(raised.value)


def test_a_bom_and_nan_literals_are_read(tmp_path):
    text = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")], metadata={"score": 1.5}))
    text = text.replace("1.5", "NaN")
    notebook = load_notebook(write(tmp_path, b"\xef\xbb\xbf" + text.encode()))
    assert notebook.cells[0].source == "x = 1" and notebook.metadata["score"] is None


def test_a_python_kernelspec_of_any_flavour_is_accepted(tmp_path):
    content = json.dumps(valid(metadata={"kernelspec": {"language": "Python", "name": "python3.11-venv", "display_name": "venv"}}))
    assert load_notebook(write(tmp_path, content.encode())).cells[0].source == "x = 1"


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "MAX_NOTEBOOK_BYTES", 1000)
    with pytest.raises(NotebookError, match="over 0 MiB"):
        load_notebook(write(tmp_path, json.dumps(valid(metadata={"pad": "x" * 2000})).encode()))


def test_entries_that_are_not_regular_files_are_refused_without_opening_them(tmp_path):
    (tmp_path / "folder.ipynb").mkdir()
    os.mkfifo(tmp_path / "fifo.ipynb")  # open() without O_NONBLOCK would block here forever
    (tmp_path / "dangling.ipynb").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop.ipynb").symlink_to(tmp_path / "loop.ipynb")
    (tmp_path / "real.ipynb").write_bytes(json.dumps(valid()).encode())
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "real.ipynb")
    expected = {
        "folder.ipynb": "it is a folder",
        "fifo.ipynb": "it is a named pipe",
        "dangling.ipynb": "is a link",
        "loop.ipynb": "is a link",
        "link.ipynb": "is a link",
    }
    for name, fragment in expected.items():
        with pytest.raises(NotebookError) as raised:
            load_notebook(tmp_path / name)
        assert fragment in str(raised.value), name
    with pytest.raises(NotebookError, match="it is a device"):
        load_notebook(Path("/dev/null"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)
NOTEBOOKISH = st.fixed_dictionaries(
    {"cells": JSON | st.lists(st.dictionaries(st.sampled_from(["cell_type", "source", "metadata", "outputs", "id"]), JSON), max_size=3)},
    optional={"nbformat": st.sampled_from([1, 2, 3, 4, 5, "4", None, 4.0]), "nbformat_minor": JSON, "metadata": JSON, "worksheets": JSON},
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(NOTEBOOKISH.map(lambda d: json.dumps(d).encode()), JSON.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200)))
def test_any_bytes_load_or_are_explained(raw):
    try:
        notebook = parse_bytes(raw)
    except NotebookError as exc:
        assert str(exc)
    else:
        assert notebook.nbformat == 4 and isinstance(notebook.cells, list)


def padded(objects: int, text: str = "", items: int = 0) -> bytes:
    """A valid notebook of exactly `objects` JSON objects; `text` in a string beside them, `items` list items."""
    pad = {"pad": [{} for _ in range(objects - 2)], "text": text, "items": [0] * items}  # + the notebook and its metadata
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": pad, "cells": []}).encode()


SMALL_CAP = 50  # the rule at a size a property test can afford; the real caps are exercised below


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('{}[],:"\\ab\u2026\n'), max_size=400))
def test_objects_are_counted_outside_strings_only_and_refused_one_past_the_cap(text):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(notebooks, "MAX_JSON_OBJECTS", SMALL_CAP)
        assert parse_bytes(padded(SMALL_CAP, text)).metadata["text"] == text  # brackets and quotes in a string are no objects
        with pytest.raises(NotebookError, match=f"more than {SMALL_CAP:,} JSON objects"):
            parse_bytes(padded(SMALL_CAP + 1, text))


def test_a_submission_of_very_many_objects_or_items_is_refused_before_it_is_parsed(tmp_path):
    with pytest.raises(NotebookError, match="JSON objects.*clear the outputs"):
        load_notebook(write(tmp_path, padded(notebooks.MAX_JSON_OBJECTS + 1)))
    with pytest.raises(NotebookError, match="JSON strings and list items"):
        load_notebook(write(tmp_path, padded(10, items=notebooks.MAX_JSON_TOKENS)))
    assert len(load_notebook(write(tmp_path, padded(notebooks.MAX_JSON_OBJECTS, "{[," * 10**6))).metadata["pad"]) > 0


@settings(max_examples=300, deadline=None)
@given(st.one_of(NOTEBOOKISH.map(lambda d: json.dumps(d).encode()), JSON.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200)))
def test_the_assignment_a_file_names_is_the_one_its_notebook_names_or_the_file_is_explained(raw):
    """named_in (which assignment a folder is graded as) reads what parse_bytes would, without building the notebook."""
    try:
        named = named_in(raw)
    except NotebookError as exc:
        assert str(exc)
        with pytest.raises(NotebookError):  # refused only where grading refuses it too: a gradable notebook always counts
            parse_bytes(raw)
        return
    assert named is None or len(named) <= MAX_ASSIGNMENT_ID
    with contextlib.suppress(NotebookError):
        assert named == named_assignment(parse_bytes(raw))


def test_the_assignment_a_file_names_is_read_within_a_notebook_s_bounds():
    marked = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {"grader": {"assignment": "assignment-11"}}, "cells": []})
    assert named_in(marked.encode()) == "assignment-11"
    with pytest.raises(NotebookError, match="JSON objects"):
        named_in(padded(notebooks.MAX_JSON_OBJECTS + 1))
    with pytest.raises(NotebookError, match="too deeply"):
        named_in(b'{"cells": [], "metadata": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")
