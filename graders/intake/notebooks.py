"""Reading a submission file into a runnable nbformat-4 notebook, or saying why it cannot be.

A submission is untrusted input in every way a file can be: it may not be a regular file at
all (a FIFO would block `open()` forever, a device would read forever), it may be huge, nested
deeper than Python's recursion limit, or JSON that nbformat's readers were never written to
see. So the file is opened without following links and without blocking, checked with
`fstat`, read with a cap, and parsed with every failure mapped to a NotebookError whose
message the student can act on. Bytes are not what costs memory: JSON objects are (880,000
tiny outputs in 64 MiB took 2.5 GiB and a minute to parse), so objects and tokens are counted
by a linear scan of the text before anything is built.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat.reader import get_version

from graders.errors import NotebookError
from graders.execute.untrusted import NotAFile, TooLarge, read_regular
from graders.tags import named_assignment

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_JSON_DEPTH = 64  # a real notebook nests about 8 deep; far below Python's recursion limit
SUPPORTED_NBFORMAT = (1, 2, 3, 4)  # nbformat upgrades 1-3 to 4 losslessly
# A graded notebook of the handout holds ~150 JSON objects (25 cells, 8 outputs, their metadata)
# and ~2,000 tokens (strings, brackets, commas); each object costs the parse ~1 KiB and ~15 µs,
# each token (a line of text) ~70 bytes. Counted before the parse builds anything.
MAX_JSON_OBJECTS = 20_000
MAX_JSON_TOKENS = 1_000_000
_TOKEN = re.compile(r'["{[,]')  # the start of a string, an object, a list; a comma


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_submission(path: Path) -> bytes:
    """The file's bytes, if it is a regular file (not a link) of at most MAX_NOTEBOOK_BYTES."""
    try:
        return read_regular(path, MAX_NOTEBOOK_BYTES)
    except NotAFile as exc:
        if exc.kind == "a link":
            raise NotebookError(
                "the file is a link, not the notebook itself; links are not followed (they may point outside the submissions folder)"
            ) from exc
        raise NotebookError(f"it is {exc.kind}, not a notebook file; submit the .ipynb file itself") from exc
    except TooLarge as exc:
        raise NotebookError(f"the file is over {MAX_NOTEBOOK_BYTES // 2**20} MiB; notebooks that large are not graded") from exc
    except FileNotFoundError as exc:
        raise NotebookError("the file disappeared before it could be read") from exc
    except OSError as exc:
        raise NotebookError(f"the file could not be read ({exc.strerror})") from exc


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and parse; older nbformat versions are upgraded to v4 (nbformat does that losslessly)."""
    return parse_bytes(read_submission(path))


def parse_bytes(raw: bytes) -> nbformat.NotebookNode:
    return parse_notebook(_text(raw))


def named_in(raw: bytes) -> str | None:
    """The assignment a submission's metadata names (graders.tags.named_assignment), read within the bounds
    parse_bytes reads in but without building the notebook; NotebookError if the bytes are no notebook's JSON."""
    return named_assignment(_notebook_json(_text(raw)))


def _text(raw: bytes) -> str:
    if not raw.strip():
        raise NotebookError("the file is empty")
    try:
        return raw.decode("utf-8-sig")  # a BOM, as some Windows editors write, is not an error
    except UnicodeDecodeError as exc:
        raise NotebookError(f"the file is not UTF-8 text (bad byte at position {exc.start}); save it again from Jupyter") from exc


def parse_notebook(text: str) -> nbformat.NotebookNode:
    """JSON text to a validated nbformat-4 notebook, or a NotebookError saying what is wrong."""
    data = _notebook_json(text)
    version = data.get("nbformat")
    if version not in SUPPORTED_NBFORMAT or isinstance(version, bool):
        raise NotebookError(
            f"the notebook format version {json.dumps(version)[:20]} is not one Jupyter reads (1 to 4); save it again from Jupyter"
        )
    language = _language(data)
    if language and not language.lower().startswith("python"):
        raise NotebookError(f"the notebook is written for the {language[:40]!r} language; this assignment is graded in Python")
    try:
        major, minor = get_version(data)
        notebook: nbformat.NotebookNode = nbformat.convert(nbformat.versions[major].to_notebook_json(data, minor=minor), 4)
        nbformat.validate(notebook)
    # nbformat's readers and upgraders assume a well-formed file: on untrusted JSON anything they
    # raise (a TypeError where a list was expected, a ValidationError, ...) means the structure is wrong.
    except Exception as exc:  # every failure here is the file's, reported to the student
        raise NotebookError(f"the notebook structure is invalid ({_first_line(exc)})") from exc
    return notebook


def _notebook_json(text: str) -> dict[str, Any]:
    """The text's JSON, counted before it is parsed, if it is an object with cells (any nbformat)."""
    _check_counts(text)
    data = _json(text)
    if not isinstance(data, dict) or ("cells" not in data and "worksheets" not in data):
        raise NotebookError("the file is JSON but not a Jupyter notebook (no cells)")
    return data


def _check_counts(text: str) -> None:
    """Refuse a notebook with more JSON objects or tokens than a notebook needs, before parsing it."""
    objects, tokens = _counts(text)
    if objects > MAX_JSON_OBJECTS:
        raise NotebookError(
            f"the notebook holds more than {MAX_JSON_OBJECTS:,} JSON objects (cells, outputs and their metadata), more than "
            "the grader reads; a notebook needs a few hundred: clear the outputs of cells that print or display in a loop"
        )
    if tokens > MAX_JSON_TOKENS:
        raise NotebookError(
            f"the notebook holds more than {MAX_JSON_TOKENS:,} JSON strings and list items (lines of text, ...), more than the "
            "grader reads; clear long outputs and save it again from Jupyter"
        )


def _counts(text: str) -> tuple[int, int]:
    """(objects, tokens) of the JSON text: upper bounds from its characters when those are within the
    caps (most notebooks); else counted outside strings, one step per token, until one is over its cap.

    Each string is skipped by the C decoder (escapes and all), so a step costs the same whatever the
    string holds, and nothing is kept: memory stays that of the text. A text that is not JSON stops
    the count where it goes wrong; json.loads then says where, having built no more than was counted."""
    objects = text.count("{")
    tokens = text.count('"') // 2 + objects + text.count("[") + text.count(",")  # a string has two quotes at least
    if objects <= MAX_JSON_OBJECTS and tokens <= MAX_JSON_TOKENS:
        return objects, tokens
    objects = tokens = position = 0
    decoder = json.JSONDecoder()
    while objects <= MAX_JSON_OBJECTS and tokens <= MAX_JSON_TOKENS:
        found = _TOKEN.search(text, position)
        if found is None:
            break
        tokens += 1
        if found[0] != '"':
            objects += found[0] == "{"
            position = found.end()
            continue
        try:
            position = decoder.raw_decode(text, found.start())[1]
        except json.JSONDecodeError:
            break
    return objects, tokens


def _json(text: str) -> Any:
    try:
        # NaN and Infinity are not JSON; Python's writer emits them, so read them as null, not as an error.
        data = json.loads(text, parse_constant=lambda _: None)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); it may have been edited by hand or truncated"
        ) from exc
    except RecursionError as exc:
        raise NotebookError("the file nests JSON too deeply to be a notebook") from exc
    if _depth(data) > MAX_JSON_DEPTH:
        raise NotebookError("the file nests JSON too deeply to be a notebook")
    return data


def _depth(data: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (what follows — nbformat, deepcopy — recurses)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _language(data: dict[str, Any]) -> str:
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    for section, key in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(section, {}).get(key) if isinstance(metadata.get(section), dict) else None
        if isinstance(value, str) and value:
            return value
    return ""


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
