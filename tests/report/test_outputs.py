"""The student's own outputs (graders/report/outputs.py): what is kept of a submitted notebook, what is
never kept, what is read back, and where the report shows it.

Images are made by the real libraries a notebook uses (matplotlib's PNG, Pillow's JPEG) and checked by
decoding what was kept, not by comparing it with what the module wrote.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest
from PIL import Image

from graders.report.outputs import (
    MAX_BESIDE,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_IMAGES,
    MAX_TEXT_CHARS,
    MAX_TEXTS,
    OUTPUTS_NAME,
    OwnOutputs,
    keep_own_outputs,
    own_outputs,
    read_own_outputs,
)
from graders.report.render import write_submission_report
from graders.results import FreeTextAnswer
from graders.tags import KIT_CELL_TAG
from tests.browser import elements
from tests.report.test_render import result

SHA = "cd" * 32
TAGS = ("answer:kl_observe", "answer:kl_explain", "answer:kl_role")
SCRIPT = "<script>alert('out')</script>"


def figure_png(width: float = 2.0, height: float = 1.5) -> bytes:
    """A plot as a notebook's inline backend sends it."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=50)
    ax.plot([0, 1, 2], [1, 0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def photo_jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image_output(mime: str, payload: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={mime: payload, "text/plain": "<Figure size 100x75 with 1 Axes>"})


def code(*outputs: nbformat.NotebookNode, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("plot()", execution_count=1)
    cell.outputs = list(outputs)
    cell.metadata["tags"] = list(tags)
    return cell


def answer(tag: str, text: str = "Blurry at 30.") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = [tag]
    return cell


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def decoded(uri: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :], validate=True)))
    assert image.format == "PNG"
    image.load()
    return image


# ----------------------------------------------------------------------------- what is kept


def test_png_and_jpeg_figures_are_kept_as_checked_pngs():
    png, jpeg = figure_png(), photo_jpeg()
    kept = own_outputs(notebook(code(image_output("image/png", b64(png)), image_output("image/jpeg", b64(jpeg)))), SHA, TAGS)
    assert [o.kind for o in kept.outputs] == ["image", "image"] and kept.left_out == 0
    assert decoded(kept.outputs[0].content).size == Image.open(io.BytesIO(png)).size
    assert decoded(kept.outputs[1].content).size == (40, 30)
    # nbformat may split base64 into lines: still one image
    split = own_outputs(
        notebook(code(image_output("image/png", "\n".join(b64(png)[i : i + 76] for i in range(0, len(b64(png)), 76))))), SHA, TAGS
    )
    assert [o.kind for o in split.outputs] == ["image"]


NEVER_KEPT = {
    "svg": image_output("image/svg+xml", "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(2)</script></svg>"),
    "gif": image_output("image/gif", b64(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")),
    "html": nbformat.v4.new_output("display_data", data={"text/html": SCRIPT}),
    "javascript": nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)"}),
    "not base64": image_output("image/png", "not base64 <img src=x onerror=alert(1)>"),
    "html claiming to be a png": image_output("image/png", b64(b"<html><script>alert(1)</script></html>")),
    "a jpeg claiming to be a png": image_output("image/png", b64(photo_jpeg())),
    "a png claiming to be a jpeg": image_output("image/jpeg", b64(figure_png())),
    "png header, garbage after": image_output("image/png", b64(figure_png()[:40] + b"\x00" * 200)),
    "empty": image_output("image/png", ""),
    "stderr": nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something\n"),
    "error": nbformat.v4.new_output("error", ename="ValueError", evalue=SCRIPT, traceback=[SCRIPT]),
}


@pytest.mark.parametrize("name", NEVER_KEPT)
def test_anything_but_a_real_png_or_jpeg_or_text_is_never_kept(name):
    kept = own_outputs(notebook(code(NEVER_KEPT[name])), SHA, TAGS)
    assert [o for o in kept.outputs if o.kind == "image"] == []
    assert all(SCRIPT not in o.content or o.kind == "text" for o in kept.outputs)


def test_images_past_the_size_caps_are_not_kept():
    wide = Image.new("L", (MAX_IMAGE_PIXELS // 1000 + 1, 1000))  # a tiny file with too many pixels: a decompression bomb
    buffer = io.BytesIO()
    wide.save(buffer, format="PNG")
    assert len(buffer.getvalue()) < MAX_IMAGE_BYTES
    noise = Image.frombytes("L", (1100, 1100), bytes(range(256)) * (1100 * 1100 // 256) + bytes(1100 * 1100 % 256))
    heavy = io.BytesIO()
    noise.save(heavy, format="PNG", compress_level=0)
    assert len(heavy.getvalue()) > MAX_IMAGE_BYTES
    kept = own_outputs(
        notebook(code(image_output("image/png", b64(buffer.getvalue())), image_output("image/png", b64(heavy.getvalue())))), SHA, TAGS
    )
    assert kept.outputs == () and kept.left_out == 2


def test_printed_text_is_kept_as_text_cleaned_and_capped():
    outputs = (
        nbformat.v4.new_output("stream", name="stdout", text=["epoch 1 loss \x1b[31m", "120.5\x1b[0m\x07\n"]),
        nbformat.v4.new_output("execute_result", data={"text/plain": SCRIPT}, execution_count=1),
        nbformat.v4.new_output("stream", name="stdout", text="x" * (10 * MAX_TEXT_CHARS)),
        nbformat.v4.new_output("stream", name="stdout", text="   \n"),
    )
    kept = own_outputs(notebook(code(*outputs)), SHA, TAGS)
    texts = [o.content for o in kept.outputs]
    assert texts[0] == "epoch 1 loss 120.5\n" and texts[1] == SCRIPT  # kept as text: the template escapes it
    assert len(texts[2]) < 2 * MAX_TEXT_CHARS and texts[2].startswith("x" * 100) and len(texts) == 3


def test_beside_an_answer_are_the_outputs_above_it():
    png = b64(figure_png())
    nb = notebook(
        code(nbformat.v4.new_output("stream", name="stdout", text="first\n")),
        code(image_output("image/png", png)),
        answer("answer:kl_observe"),
        code(nbformat.v4.new_output("stream", name="stdout", text="after the answer\n")),
        answer("answer:kl_role"),
    )
    kept = own_outputs(nb, SHA, TAGS)
    assert [o.kind for o in kept.before("answer:kl_observe")] == ["text", "image"]
    assert [o.content for o in kept.before("answer:kl_role")][-1] == "after the answer\n"
    assert len(kept.before("answer:kl_explain")) == 3  # no tagged answer cell: the notebook's last outputs


def test_the_kits_check_cells_are_not_the_students_outputs():
    kept = own_outputs(
        notebook(code(nbformat.v4.new_output("stream", name="stdout", text="PASS closed_form\n"), tags=(KIT_CELL_TAG,))), SHA, TAGS
    )
    assert kept.outputs == ()


def test_a_notebook_of_many_outputs_keeps_the_last_ones_and_counts_the_rest():
    pngs = [b64(figure_png(1.0 + i / 10, 1.0)) for i in range(MAX_IMAGES + 5)]
    prints = [nbformat.v4.new_output("stream", name="stdout", text=f"line {i}\n") for i in range(MAX_TEXTS + 7)]
    nb = notebook(*(code(image_output("image/png", png)) for png in pngs), code(*prints))
    kept = own_outputs(nb, SHA, TAGS)
    images = [o for o in kept.outputs if o.kind == "image"]
    assert len(images) == MAX_IMAGES and images[-1].cell == len(pngs)  # the last figure, nearest the questions
    assert [o.content for o in kept.outputs if o.kind == "text"][-1] == f"line {MAX_TEXTS + 6}\n"
    assert kept.left_out == 5 + 7
    assert len(kept.before("answer:kl_observe")) == MAX_BESIDE


# ----------------------------------------------------------------------------- read back


def kept_folder(tmp_path: Path, nb: nbformat.NotebookNode) -> Path:
    folder = tmp_path / "ann"
    keep_own_outputs(nb, SHA, TAGS, folder / OUTPUTS_NAME)
    return folder


def test_read_back_only_for_the_notebook_they_came_from(tmp_path):
    folder = kept_folder(tmp_path, notebook(code(image_output("image/png", b64(figure_png())))))
    assert [o.kind for o in read_own_outputs(folder, SHA).outputs] == ["image"]
    assert read_own_outputs(folder, "ef" * 32).outputs == ()  # a later submission that could not be graded: not the old figures
    assert read_own_outputs(tmp_path / "nobody", SHA) == OwnOutputs(SHA)


@pytest.mark.parametrize(
    "forged",
    [
        "data:image/svg+xml;base64," + b64(b"<svg onload='alert(1)'/>"),
        "data:image/png;base64," + b64(b"<html><script>alert(1)</script></html>"),
        "data:image/png;base64," + b64(photo_jpeg()),
        "data:image/png;base64,@@@",
        "javascript:alert(1)",
    ],
)
def test_a_tampered_file_shows_no_image_it_did_not_check(tmp_path, forged):
    folder = kept_folder(tmp_path, notebook(code(image_output("image/png", b64(figure_png())))))
    data = json.loads((folder / OUTPUTS_NAME).read_text(encoding="utf-8"))
    data["outputs"][0]["content"] = forged
    (folder / OUTPUTS_NAME).write_text(json.dumps(data), encoding="utf-8")
    assert read_own_outputs(folder, SHA).outputs == ()


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"sha256": "' + SHA + '"}', '{"sha256": "' + SHA + '", "outputs": [{"x": 1}]}', "{" * 100_000, "[" * 100_000],
)
def test_a_damaged_file_shows_nothing(tmp_path, content):
    folder = tmp_path / "ann"
    folder.mkdir()
    (folder / OUTPUTS_NAME).write_text(content, encoding="utf-8")
    assert read_own_outputs(folder, SHA).outputs == ()


# ----------------------------------------------------------------------------- in the report


def test_the_report_shows_the_students_figure_beside_the_answer_and_nothing_active(tmp_path):
    ann = result("ann", free_text=(FreeTextAnswer("What do you observe?", "Blurry at $w = 30$."),))
    ann = type(ann)(**{**ann.__dict__, "sha256": SHA})
    nb = notebook(
        code(image_output("image/png", b64(figure_png())), NEVER_KEPT["svg"], NEVER_KEPT["html"]),
        code(nbformat.v4.new_output("stream", name="stdout", text=SCRIPT)),
        answer("answer:kl_observe"),
    )
    keep_own_outputs(nb, SHA, TAGS, tmp_path / "ann" / OUTPUTS_NAME)
    page = write_submission_report(ann, out_dir=tmp_path).read_text(encoding="utf-8")
    answer_block = page.split('data-testid="written"')[1].split('data-testid="written"')[0]
    images = elements(answer_block, "img")
    assert len(images) == 1 and (images[0].attrs["src"] or "").startswith("data:image/png;base64,")
    assert elements(page, "script") == [] and elements(page, "svg") == [] and "&lt;script&gt;alert(&#39;out&#39;)" in page
    assert elements(answer_block, "math")  # the answer's math, rendered


# ----------------------------------------------------------------------------- kept by a real grading run


@pytest.mark.e2e
def test_grading_keeps_the_submitted_figures_and_a_later_unreadable_file_shows_none(tmp_path, grading_data):
    """`grader grade` on the shipped solution with the figure its student saw in the KL-30 cell: the report
    shows that figure (not the grader's one-epoch re-run) beside the first KL answer; once the file is
    replaced by one that cannot be graded, the old figure is not the new result's."""
    nb = nbformat.read(Path(__file__).resolve().parents[2] / "submissions" / "a10" / "solution.ipynb", as_version=4)
    plotted = next(number for number, cell in enumerate(nb.cells) if "kl_loss_weight=30" in cell.source and cell.cell_type == "code")
    nb.cells[plotted].outputs = [image_output("image/png", b64(figure_png(3.0, 1.0)))]
    corpus, out = tmp_path / "submissions", tmp_path / "reports"
    corpus.mkdir()
    nbformat.write(nb, corpus / "ann.ipynb")
    command = [sys.executable, "-m", "graders.cli", "grade", str(corpus), "--out", str(out), "--data-dir", str(grading_data), "--seed", "1"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stderr
    page = (out / "ann" / "report.html").read_text(encoding="utf-8")
    first = page.split('data-testid="written"')[1]
    (image,) = elements(first, "img")
    assert decoded(image.attrs["src"] or "").size == Image.open(io.BytesIO(figure_png(3.0, 1.0))).size
    (corpus / "ann.ipynb").write_text("not a notebook", encoding="utf-8")
    subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    regraded = json.loads((out / "ann" / "results.json").read_text(encoding="utf-8"))
    assert regraded["status"] == "error" and (out / "ann" / OUTPUTS_NAME).exists()  # the old file is still there ...
    assert read_own_outputs(out / "ann", regraded["sha256"]).outputs == ()  # ... and shows nothing for the new result


def test_a_page_with_every_answer_shows_each_output_once():
    png = b64(figure_png())
    nb = notebook(
        code(image_output("image/png", png)),
        answer("answer:kl_observe"),
        answer("answer:kl_explain"),
        code(nbformat.v4.new_output("stream", name="stdout", text="late\n")),
        answer("answer:kl_role"),
    )
    beside = own_outputs(nb, SHA, TAGS).beside(TAGS)
    assert [[o.kind for o in beside[tag]] for tag in TAGS] == [["image"], [], ["text"]]
