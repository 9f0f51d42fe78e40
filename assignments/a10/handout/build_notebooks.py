"""Builds the handout (student template, solution) and the demo submissions from one source of truth.

Every notebook is the handout's cell sequence (assignments/a10/handout/content.py) with the parts a student
writes filled in (`Work`), so the template, the solution and the demo submissions
(assignments/a10/handout/demo_submissions.py) cannot drift apart: change a shared cell and all of them change.
The grader depends on this layout through the assignment contract (assignments/a10/contract.py):
the `parameters` cell, the three function names and signatures, the display-math answer lines
for Exercise 2.1, and the question tags on the free-text answers.

    python -m assignments.a10.handout.build_notebooks           # (re)write every notebook that changed
    python -m assignments.a10.handout.build_notebooks --check   # exit 1 if a committed notebook is stale

Output is byte-for-byte deterministic: cell ids are numbered, no outputs, no timestamps.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

from assignments.a10.contract import QUESTIONS
from assignments.a10.handout.content import (
    CLOSED_FORM_TASK,
    CLOSED_FORM_TRY,
    DATA,
    IMPORTS,
    MODEL,
    PARAMETERS,
    QUESTION_CELLS,
    RUN_KL_0,
    RUN_KL_30,
    SOLUTION,
    TEMPLATE,
    TRAINING,
    VAE_INTRO,
    VAE_LOSS_TASK,
    Work,
)
from assignments.a10.handout.demo_submissions import (
    KL_SIGN_FLIPPED,
    MEAN_REDUCTION,
    MISSING_SQRT,
    OFF_BY_ONE,
    SEED_WRITEUP,
    STD_FOR_VARIANCE,
    WEIGHT_ON_RECONSTRUCTION,
)
from graders.tags import PARAMETERS_TAG

ROOT = Path(__file__).resolve().parents[3]  # the repository: the notebooks are committed files there
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

NOTEBOOKS: dict[str, Work] = {
    "assignments/a10/handout/assignment10.ipynb": TEMPLATE,
    "assignments/a10/handout/solution.ipynb": SOLUTION,
    "submissions/a10/solution.ipynb": SOLUTION,
    "submissions/a10/seed-writeup.ipynb": SEED_WRITEUP,
    "submissions/a10/missing-sqrt.ipynb": MISSING_SQRT,
    "submissions/a10/kl-sign-flipped.ipynb": KL_SIGN_FLIPPED,
    "submissions/a10/mean-reduction.ipynb": MEAN_REDUCTION,
    "submissions/a10/weight-on-reconstruction.ipynb": WEIGHT_ON_RECONSTRUCTION,
    "submissions/a10/std-for-variance.ipynb": STD_FOR_VARIANCE,
    "submissions/a10/off-by-one.ipynb": OFF_BY_ONE,
}


def cells(work: Work) -> list[tuple[str, str, tuple[str, ...]]]:
    """The notebook as (cell type, source, tags), in handout order."""
    markdown, code = "markdown", "code"
    kl_section = []
    for question, answer, tag in zip(QUESTION_CELLS, work.answers, (q.tag for q in QUESTIONS), strict=True):
        kl_section += [(markdown, question, ()), (markdown, answer, (tag,) if work.tag_answers else ())]
    return [
        (markdown, work.title, ()),
        (code, PARAMETERS, (PARAMETERS_TAG,)),
        (code, IMPORTS, ()),
        (markdown, work.exercise, ()),
        *[(markdown, part, ()) for part in work.derivation],
        (markdown, CLOSED_FORM_TASK, ()),
        (code, work.closed_form, ()),
        (code, CLOSED_FORM_TRY, ()),
        (markdown, VAE_LOSS_TASK, ()),
        (code, work.reparameterize, ()),
        (code, work.vae_loss, ()),
        (markdown, VAE_INTRO, ()),
        (code, DATA, ()),
        (code, MODEL, ()),
        (code, TRAINING, ()),
        (code, RUN_KL_30, ()),
        (code, RUN_KL_0, ()),
        *kl_section,
    ]


def build(work: Work) -> str:
    """The notebook file's text: nbformat 4.5, no outputs, numbered cell ids."""
    notebook = nbformat.v4.new_notebook(metadata=nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}))
    for number, (kind, source, tags) in enumerate(cells(work), start=1):
        metadata = nbformat.from_dict({"tags": list(tags)} if tags else {})
        make: Callable[..., nbformat.NotebookNode] = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(make(source=source, id=f"cell-{number:02d}", metadata=metadata))
    nbformat.validate(notebook)
    text: str = nbformat.writes(notebook)
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, work in NOTEBOOKS.items():
        path = ROOT / name
        content = build(work)
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(content, encoding="utf-8")
    for name in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
