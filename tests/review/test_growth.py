"""A large executed notebook in the review app: a student's page stays small and says the notebook
was cut (paged) or why it is not shown; following the pages shows every output once."""

from __future__ import annotations

import re

import nbformat
import pytest

from graders.execute.jobs import MAX_EXECUTED_BYTES
from graders.intake.notebooks import MAX_JSON_OBJECTS
from tests.review.conftest import CAROL, DAVE, SOLUTION, Graded, Server, api, make_graded

CELLS, OUTPUTS_PER_CELL = 3, 900  # a loop that prints one line per output, in each of three cells
NEXT = re.compile(r'<a href="\?cell=(\d+)&amp;output=(\d+)#notebook" data-next-page>')
SHOWN = re.compile(r"output (\d+)-(\d+) ")


def output_text(cell: int, number: int) -> str:
    return f"output {cell}-{number} " + "x" * 3_000 + "\n"


def many_outputs() -> nbformat.NotebookNode:
    """Thousands of outputs of a few KB each: within every cap the grader applies, ~8 MB in all."""
    notebook = nbformat.v4.new_notebook()
    for cell in range(1, CELLS + 1):
        code = nbformat.v4.new_code_cell(f"for i in range({OUTPUTS_PER_CELL}): display(i)", execution_count=cell)
        code.outputs = [
            nbformat.v4.new_output("display_data", data={"text/plain": output_text(cell, n)}) for n in range(1, OUTPUTS_PER_CELL + 1)
        ]
        notebook.cells += [nbformat.v4.new_markdown_cell(f"## Part {cell}"), code]
    return notebook


def tiny_outputs(count: int) -> str:
    """A notebook of `count` tiny outputs, written as text (nbformat would take minutes for the reported case)."""
    output = '{"output_type": "display_data", "data": {"text/plain": "0"}, "metadata": {}}'
    cell = '{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "x", "outputs": [' + ", ".join([output] * count) + "]}"
    return '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [' + cell + "]}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    graded = make_graded(tmp_path_factory.mktemp("review-growth") / "reports")
    nbformat.write(many_outputs(), graded.root / CAROL.submission / "executed.ipynb")
    # The reported case: 880,000 tiny outputs just under the old 64 MiB cap (left by an older grader).
    (graded.root / DAVE.submission / "executed.ipynb").write_text(tiny_outputs(880_000), encoding="utf-8")
    # Its class: under the byte cap, over the number of JSON objects a notebook needs.
    (graded.root / SOLUTION.submission / "executed.ipynb").write_text(tiny_outputs(MAX_JSON_OBJECTS), encoding="utf-8")
    return graded


# `server` is the conftest's, over this module's `graded`.


def page(server: Server, submission: str, query: str = "") -> str:
    status, text = api(server, "GET", f"/submissions/{submission}{query}")
    assert status == 200, text
    return text


def test_a_notebook_of_thousands_of_outputs_is_paged_and_every_output_shown_once(server, graded):
    size = (graded.root / CAROL.submission / "executed.ipynb").stat().st_size
    first = page(server, CAROL.submission)
    assert "the notebook continues" in first and "From the first cell" not in first
    pages, query, seen = [first], "", []
    while True:
        seen += [(int(cell), int(number)) for cell, number in SHOWN.findall(pages[-1])]
        following = NEXT.search(pages[-1])
        if following is None:
            break
        query = f"?cell={following[1]}&output={following[2]}"
        pages.append(page(server, CAROL.submission, query))
    assert seen == [(cell, n) for cell in range(1, CELLS + 1) for n in range(1, OUTPUTS_PER_CELL + 1)]
    assert len(pages) >= 5 and all(len(text) < size / 4 for text in pages)  # a page, never the whole notebook
    assert "From the first cell" in pages[-1] and "the notebook continues" not in pages[-1]
    assert "continued from the page before" in pages[1]  # a page may start inside a cell


@pytest.mark.parametrize(
    "submission, why", [(DAVE.submission, f"over {MAX_EXECUTED_BYTES // 2**20} MiB"), (SOLUTION.submission, "JSON objects")]
)
def test_a_notebook_over_the_caps_is_not_parsed_and_the_page_says_why(server, graded, submission, why):
    size = (graded.root / submission / "executed.ipynb").stat().st_size
    text = page(server, submission)
    reason = re.search(r"<p class=\"missing\" data-notebook-problem>(.*?)</p>", text, re.S)
    assert reason is not None and why in reason[1]
    assert len(text) < min(size / 10, 100_000)  # the page without a notebook: checks, answers, history


@pytest.mark.parametrize("query, status", [("?cell=x", 400), ("?cell=1&output=-1", 404), ("?cell=99", 404), ("?cell=2&output=901", 404)])
def test_a_page_outside_the_notebook_is_a_4xx_with_a_message(server, query, status):
    code, text = api(server, "GET", f"/submissions/{CAROL.submission}{query}")
    assert code == status and ("cell" in text)
