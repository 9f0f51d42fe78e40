"""`grader assignment new NAME [--out DIR]`: a working skeleton, one annotated solution notebook (DIR/NAME.ipynb).

One function (`mse`), one catalogued mistake, one written question: `grader assignment build` builds it as it
is and `grader assignment check` passes it, so an author starts from something that works and edits it
(docs/authors.md walks through that).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graders.authoring.annotations import CONFIG_TAG, INPUTS_TAG, MISTAKE_PREFIX
from graders.authoring.contract import ANSWER_PREFIX, ASSIGNMENT_ID
from graders.errors import BadCommandLine
from graders.tags import PARAMETERS_TAG

CONFIG = """\
# The assignment's config (TOML): docs/authors.md, "The config".
id = "{name}"
title = "{name}"
subtitle = "Mean squared error"
version = "1"
public_seed = 1

[functions.mse]
label = "Mean squared error"
points = 2
rtol = 1e-5
atol = 1e-7
expectation = "mse(pred, target) should be the mean over every element of (pred - target) squared."
hint = "Try inputs of other shapes than the example's."

[mistakes.sum_instead_of_mean]
function = "mse"
title = "Sum instead of mean"
explanation = "The squared errors are added up rather than averaged: divide by the number of elements."
hint = "Compare your value for a 2x2 input with one for a 4x4 input holding the same errors."

[questions.why_mean]
text = "Why average the squared errors rather than add them up?"
points = 1
rubric = "Full marks: the loss (and its gradient) should not grow with the batch size, so a learning rate works for any batch."
items = [
  {{ key = "batch_size", text = "independent of the batch size", points = 1 }},
  {{ key = "vague", text = "'it is more stable' without why", points = 0.5 }},
]
"""

SOLUTION = """\
def mse(pred, target):
    # BEGIN SOLUTION
    return ((pred - target) ** 2).mean()
    # END SOLUTION"""

MISTAKE = """\
def mse(pred, target):
    return ((pred - target) ** 2).sum()"""

INPUTS = """\
import numpy as np

# function name -> a list of argument tuples; students may see these (the self-check runs them).
PUBLIC = {
    "mse": [
        (np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), np.array([[1.5, 2.0], [2.0, 4.0]], dtype=np.float32)),
    ],
}


def hidden(rng):
    \"\"\"Drawn from the grading seed (a numpy Generator): never shown to students.\"\"\"
    shapes = [(3, 5), (2, 4, 6)]
    return {"mse": [(rng.normal(size=s).astype(np.float32), rng.normal(size=s).astype(np.float32)) for s in shapes]}"""


def _cell(kind: str, source: str, *tags: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {"tags": list(tags)} if tags else {}, "source": source}
    return {**cell, "outputs": [], "execution_count": None} if kind == "code" else cell


def skeleton(name: str) -> dict[str, Any]:
    cells = [
        _cell("markdown", f"# {name}\n\nWrite `mse(pred, target)`, the mean squared error, and answer one question."),
        _cell("raw", CONFIG.format(name=name), CONFIG_TAG),
        _cell("code", "seed = 0  # the grader injects its own", PARAMETERS_TAG),
        _cell("code", "import torch\n\ntorch.manual_seed(seed)"),
        _cell("markdown", "## 1. The mean squared error\n\n`mse(pred, target)`: the mean over every element of $(pred - target)^2$."),
        _cell("code", SOLUTION),
        _cell("code", MISTAKE, MISTAKE_PREFIX + "sum_instead_of_mean"),
        _cell("code", INPUTS, INPUTS_TAG),
        _cell("markdown", "## 2. A question\n\n**Why average the squared errors rather than add them up?**"),
        _cell("markdown", "So that the loss and its gradient do not grow with the batch size.", ANSWER_PREFIX + "why_mean"),
    ]
    metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}}
    numbered = [{**cell, "id": f"cell-{index}"} for index, cell in enumerate(cells)]  # nbformat 4.5's cell ids
    return {"cells": numbered, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def new(name: str, out: Path) -> Path:
    """Write the skeleton as out/NAME.ipynb (never over an existing file); returns its path."""
    if not ASSIGNMENT_ID.fullmatch(name):
        raise BadCommandLine(
            f"{name[:70]!r}: a name is lower-case letters, digits, '.', '_' or '-' (at most 63), starting with a letter or digit"
        )
    path = out / f"{name}.ipynb"
    if path.exists():
        raise BadCommandLine(f"{path} exists; name another --out or remove it")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(skeleton(name), indent=1) + "\n", encoding="utf-8")
    return path
