"""The student's own outputs from the notebook they submitted: the figures and text they saw when they answered.

The grader's run is short (one epoch) and its figures are not the student's; a question like "what do
you observe?" is about the student's own plots. So at grading the outputs of the submitted notebook
are kept beside the result (`keep_own_outputs` → REPORTS/<id>/outputs.json, with the notebook's
sha256), and the student's report and the review app show them beside each written answer (the
outputs of the cells before the answer's cell, `OwnOutputs.before`) and on the student page.

Everything in a notebook's outputs is the student's (or their code's) and can be anything. Images
are PNG or JPEG only: strict base64, opened by Pillow as exactly that format within MAX_IMAGE_BYTES
and MAX_IMAGE_PIXELS, and re-encoded as PNG, so what is kept is an image Pillow wrote; read back, each
is checked again (`image_uri`) before it becomes a `data:` URI. SVG, HTML, JavaScript and every other
type are never kept. Text (printed output and plain results) is kept as text, ANSI codes and control
characters removed, capped; the templates escape it. Only the last MAX_IMAGES images and MAX_TEXTS
texts are kept (the ones nearest the questions), and a note says how many were left out.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from graders.results import capped, write_text_atomic
from graders.tags import KIT_CELL_TAG

OUTPUTS_NAME = "outputs.json"  # REPORTS/<id>/outputs.json
IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
MAX_IMAGE_BYTES = 1 * 2**20  # decoded, of one image as submitted and as kept
MAX_IMAGE_PIXELS = 4_000_000  # a 2000 × 2000 figure; checked from the header before any pixel is decoded
MAX_IMAGES = 8
MAX_TEXTS = 8
MAX_TEXT_CHARS = 2_000
MAX_BESIDE = 4  # outputs shown beside one answer
MAX_FILE_BYTES = 2 * MAX_IMAGES * MAX_IMAGE_BYTES  # of outputs.json read back (base64 and JSON around the images)
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class OwnOutput:
    """One output: `image` a `data:image/png;base64,` URI, or `text` shown as text."""

    cell: int  # counted from 1, as the notebook counts its cells
    kind: str  # "image" | "text"
    content: str


@dataclass(frozen=True)
class OwnOutputs:
    sha256: str  # of the submitted notebook they came from: shown only with a result of the same notebook
    outputs: tuple[OwnOutput, ...] = ()
    answers: Mapping[str, int] = field(default_factory=dict)  # question tag → the cell its answer is in
    left_out: int = 0  # outputs not kept (past the caps, or not an image or text we show)

    def before(self, tag: str) -> tuple[OwnOutput, ...]:
        """The last MAX_BESIDE outputs above the answer to `tag` (its cell unknown: the notebook's last ones)."""
        cell = self.answers.get(tag)
        shown = [output for output in self.outputs if cell is None or output.cell < cell]
        return tuple(shown[-MAX_BESIDE:])

    def beside(self, tags: Sequence[str]) -> dict[str, tuple[OwnOutput, ...]]:
        """Per answer, in question order, the outputs above it that no earlier answer shows: for a page with every
        answer on it (questions asked one after another share the figures above the first)."""
        shown: set[OwnOutput] = set()
        fresh: dict[str, tuple[OwnOutput, ...]] = {}
        for tag in tags:
            fresh[tag] = tuple(output for output in self.before(tag) if output not in shown)
            shown.update(fresh[tag])
        return fresh

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "answers": dict(self.answers)}, ensure_ascii=False, sort_keys=True)


def own_outputs(notebook: Mapping[str, Any], sha256: str, tags: Sequence[str]) -> OwnOutputs:
    """The outputs worth keeping of a submitted notebook, validated; where each question's answer cell is (by its tag)."""
    cells = [cell for cell in notebook.get("cells", ()) if isinstance(cell, Mapping)]
    answers = {tag: number for number, cell in reversed(list(enumerate(cells, 1))) for tag in _tags(cell) if tag in tags}
    kept: list[OwnOutput] = []
    room = {"image": MAX_IMAGES, "text": MAX_TEXTS}
    left_out = 0
    # From the end: the outputs nearest the questions are the ones kept when there are too many.
    for number, output in reversed(list(_candidates(cells))):
        kind = _kind(output)
        shown = None if kind is None or room[kind] == 0 else _shown(number, output, kind)
        if kind is None or shown is None:
            left_out += 1
            continue
        room[kind] -= 1
        kept.append(shown)
    return OwnOutputs(sha256, tuple(reversed(kept)), answers, left_out)


def keep_own_outputs(notebook: Mapping[str, Any], sha256: str, tags: Sequence[str], target: Path) -> None:
    """REPORTS/<id>/outputs.json for the submitted notebook (written over any earlier one)."""
    write_text_atomic(target, own_outputs(notebook, sha256, tags).to_json())


def read_own_outputs(folder: Path, sha256: str) -> OwnOutputs:
    """folder/outputs.json if it was kept from the notebook with this sha256, each image checked again; else none."""
    none = OwnOutputs(sha256)
    try:
        with (folder / OUTPUTS_NAME).open("rb") as file:
            data = json.loads(file.read(MAX_FILE_BYTES + 1) or b"null")
        if not isinstance(data, dict) or data.get("sha256") != sha256 or not sha256:
            return none
        outputs = tuple(_checked(OwnOutput(**entry)) for entry in data["outputs"])
        answers = {str(tag): int(cell) for tag, cell in data["answers"].items()}
        return OwnOutputs(sha256, tuple(o for o in outputs if o is not None), answers, int(data["left_out"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):  # none kept, or not what this module wrote
        return none


def image_uri(mime: str, value: Any) -> str:
    """A `data:image/png` URI of a PNG or JPEG output re-encoded by Pillow, or "" when it is not one we show."""
    expected = IMAGE_FORMATS.get(mime)
    if expected is None:
        return ""
    try:
        payload = base64.b64decode("".join(text_of(value).split()), validate=True)
    except (binascii.Error, ValueError):
        return ""
    if not payload or len(payload) > MAX_IMAGE_BYTES:
        return ""
    try:
        with Image.open(io.BytesIO(payload), formats=(expected,)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return ""
            image.load()
            encoded = io.BytesIO()
            image.save(encoded, format="PNG")
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError):
        return ""
    kept = encoded.getvalue()
    return "data:image/png;base64," + base64.b64encode(kept).decode("ascii") if len(kept) <= MAX_IMAGE_BYTES else ""


def _checked(output: OwnOutput) -> OwnOutput | None:
    """An output read back from outputs.json, checked again: an image must still be a PNG within the caps."""
    if output.kind == "text":
        return OwnOutput(int(output.cell), "text", _clean_text(output.content))
    prefix = "data:image/png;base64,"
    if output.kind != "image" or not output.content.startswith(prefix) or not _is_png(output.content[len(prefix) :]):
        return None
    return OwnOutput(int(output.cell), "image", output.content)


def _is_png(data: str) -> bool:
    """Strict base64 of a PNG within the caps whose chunks verify (no pixel is decoded)."""
    try:
        payload = base64.b64decode(data, validate=True)
        if len(payload) > MAX_IMAGE_BYTES:
            return False
        with Image.open(io.BytesIO(payload), formats=("PNG",)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return False
            image.verify()
    except (binascii.Error, OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError):
        return False
    return True


def _tags(cell: Mapping[str, Any]) -> list[str]:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def _candidates(cells: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Every output of the student's code cells (not the kit's check cells), with its cell's number."""
    for number, cell in enumerate(cells, 1):
        outputs = cell.get("outputs")
        if cell.get("cell_type") != "code" or KIT_CELL_TAG in _tags(cell) or not isinstance(outputs, list):
            continue
        for output in outputs:
            if isinstance(output, Mapping):
                yield number, output


def _kind(output: Mapping[str, Any]) -> str | None:
    """What an output would be shown as, without decoding it: an image, text printed to stdout or a
    result's plain text; None for anything else (stderr, errors, HTML, SVG, …)."""
    kind = output.get("output_type")
    if kind == "stream":
        return "text" if output.get("name") == "stdout" else None
    data = output.get("data")
    if kind not in ("display_data", "execute_result") or not isinstance(data, Mapping):
        return None
    if any(mime in data for mime in IMAGE_FORMATS):
        return "image"
    if any(str(mime).startswith("image/") for mime in data):
        return None  # a figure in a type we never show (SVG, GIF): its text is only "<Figure size …>"
    return "text" if "text/plain" in data else None


def _shown(cell: int, output: Mapping[str, Any], kind: str) -> OwnOutput | None:
    """The output as kept, or None when it holds nothing to show (an image that is not one, blank text)."""
    if kind == "image":
        data = output["data"]
        uri = next((image_uri(mime, data[mime]) for mime in IMAGE_FORMATS if mime in data), "")
        return OwnOutput(cell, "image", uri) if uri else None
    raw = output.get("text", "") if output.get("output_type") == "stream" else output["data"].get("text/plain", "")
    text = _clean_text(text_of(raw))
    return OwnOutput(cell, "text", text) if text.strip() else None


def _clean_text(text: str) -> str:
    return capped(_CONTROL.sub("", ANSI.sub("", text[: 4 * MAX_TEXT_CHARS])), MAX_TEXT_CHARS)


def text_of(value: Any) -> str:
    """nbformat keeps multi-line strings either whole or as a list of lines."""
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else str(value)
