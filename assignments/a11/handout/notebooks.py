"""Builds the handout (template, solution) and the demo submissions of `submissions/a11/` from content.py.

    python -m assignments.a11.handout.notebooks           # (re)write every notebook that changed
    python -m assignments.a11.handout.notebooks --check   # exit 1 if a committed notebook is stale

Each demo submission is the solution with one real mistake (`DEMOS`: the catalog name it shows, for
tests). Output is byte for byte deterministic: numbered cell ids, no outputs; every notebook is stamped
with the assignment's id (`metadata.grader.assignment`), so a batch of another assignment refuses it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import nbformat

from assignments.a11.contract import QUESTIONS
from assignments.a11.handout.content import (
    DERIVATION_TASK,
    FUNCTIONS_TASK,
    IMPORTS,
    LAYER_NORM_TASK,
    PARAMETERS,
    QUESTIONS_TASK,
    SOLUTION,
    TEMPLATE,
    TRY,
    Work,
)
from graders.tags import METADATA_KEY, PARAMETERS_TAG

ROOT = Path(__file__).resolve().parents[3]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ASSIGNMENT_ID = "assignment-11"

# Demo submissions: one real mistake each, as students write it.
DEMOS: dict[str, tuple[str, Work]] = {
    "no-scale": (
        "no_scale",
        replace(SOLUTION, attention=SOLUTION.attention.replace(" / math.sqrt(q.shape[-1])", "")),
    ),
    "mask-after-softmax": (
        "mask_after_softmax",
        replace(
            SOLUTION,
            attention="""def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    weights = softmax(scores, dim=-1)
    if mask is not None:
        weights = weights * mask  # hide the masked keys
    return weights @ v""",
        ),
    ),
    "unbiased-variance": (
        "unbiased_variance",
        replace(
            SOLUTION, layer_norm=SOLUTION.layer_norm.replace("x.var(dim=-1, unbiased=False, keepdim=True)", "x.var(dim=-1, keepdim=True)")
        ),
    ),
    "unstable-softmax": (
        "unstable_softmax",
        replace(
            SOLUTION,
            softmax="""def softmax(x, dim=-1):
    exponentials = torch.exp(x)
    return exponentials / exponentials.sum(dim=dim, keepdim=True)""",
        ),
    ),
}

NOTEBOOKS: dict[str, Work] = {
    "assignments/a11/handout/assignment11.ipynb": TEMPLATE,
    "assignments/a11/handout/solution.ipynb": SOLUTION,
    "submissions/a11/solution.ipynb": SOLUTION,
    **{f"submissions/a11/{name}.ipynb": work for name, (_, work) in DEMOS.items()},
}


def cells(work: Work) -> list[tuple[str, str, tuple[str, ...]]]:
    """The notebook as (cell type, source, tags), in handout order."""
    markdown, code = "markdown", "code"
    questions = [
        cell
        for q, answer in zip(QUESTIONS, work.answers, strict=True)
        for cell in ((markdown, f"**{q.text}**", ()), (markdown, answer, (q.tag,)))
    ]
    return [
        (markdown, work.title, ()),
        (code, PARAMETERS, (PARAMETERS_TAG,)),
        (code, IMPORTS, ()),
        (markdown, FUNCTIONS_TASK, ()),
        (code, work.softmax, ()),
        (code, work.causal_mask, ()),
        (code, work.attention, ()),
        (markdown, LAYER_NORM_TASK, ()),
        (code, work.layer_norm, ()),
        (code, TRY, ()),
        (markdown, DERIVATION_TASK, ()),
        (markdown, work.derivation, ()),
        (markdown, QUESTIONS_TASK, ()),
        *questions,
    ]


def build(work: Work) -> str:
    """The notebook file's text: nbformat 4.5, no outputs, numbered cell ids, the assignment's id stamped."""
    metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}, METADATA_KEY: {"assignment": ASSIGNMENT_ID}}
    notebook = nbformat.v4.new_notebook(metadata=nbformat.from_dict(metadata))
    for number, (kind, source, tags) in enumerate(cells(work), start=1):
        make: Callable[..., nbformat.NotebookNode] = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(
            make(source=source, id=f"cell-{number:02d}", metadata=nbformat.from_dict({"tags": list(tags)} if tags else {}))
        )
    nbformat.validate(notebook)
    text: str = nbformat.writes(notebook)
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, work in NOTEBOOKS.items():
        path, content = ROOT / name, build(work)
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    for name in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
