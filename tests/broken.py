"""Broken and mischievous submissions, written into a folder for end-to-end tests.

Each is small and says in its source what it does. The code cells that *do* define the three
functions define them correctly, so any lost point is the breakage's doing.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

CORRECT_CODE = """\
import torch
import torch.nn.functional as F

def closed_form(x0, t, alphas):
    alpha_bar = torch.prod(alphas[:t])
    return torch.sqrt(alpha_bar) * x0, 1 - alpha_bar

def reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    bce = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kl_loss_weight * kl
"""

PARAMETERS = "seed = 0\nepochs = 10\ndata_dir = 'data'\ntrain_size = None\nbatch_size = 128"
ANSWERS = "$$\\mu = \\sqrt{\\bar\\alpha_3}\\, x_0$$\n\n$$\\Sigma = 1 - \\bar\\alpha_3$$"


def notebook(*code: str, answers: str = ANSWERS, assignment: str | None = None) -> str:
    cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(source) for source in code]
    cells.append(nbformat.v4.new_markdown_cell(answers))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if assignment is not None:  # the assignment its metadata names (graders.assignment.registry.named_in)
        nb.metadata["grader"] = {"assignment": assignment}
    return nbformat.writes(nb)


V3_NOTEBOOK = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {"name": "old"},
    "worksheets": [
        {
            "metadata": {},
            "cells": [
                {"cell_type": "code", "language": "python", "input": CORRECT_CODE, "outputs": [], "metadata": {}},
                {"cell_type": "markdown", "source": ANSWERS, "metadata": {}},
            ],
        }
    ],
}

# file name -> file content (bytes or text)
BROKEN: dict[str, bytes | str] = {
    "empty.ipynb": b"",
    "invalid-json.ipynb": notebook(CORRECT_CODE)[:200],
    "not-a-notebook.ipynb": json.dumps(["just", "a", "list"]),
    "latin1-bytes.ipynb": '{"cells": [], "note": "caf\xe9"}'.encode("latin-1"),
    "old-nbformat-v3.ipynb": json.dumps(V3_NOTEBOOK),
    "for-another-assignment.ipynb": notebook(CORRECT_CODE, assignment="assignment-11"),
    "no-functions.ipynb": notebook("x = 1"),
    "cell-raises-first.ipynb": notebook("raise RuntimeError('a cell that fails before the functions')", CORRECT_CODE),
    "syntax-error.ipynb": notebook("def closed_form(x0, t, alphas)\n    return x0"),
    "wrong-types.ipynb": notebook(CORRECT_CODE + "\ndef closed_form(x0, t, alphas):\n    return 'mu', 'Sigma'\n"),
    "nan-values.ipynb": notebook(CORRECT_CODE + "\ndef closed_form(x0, t, alphas):\n    return x0 * float('nan'), float('nan')\n"),
    "wrong-shape.ipynb": notebook(
        CORRECT_CODE
        + "\ndef closed_form(x0, t, alphas):\n    ab = torch.prod(alphas[:t])\n    return (torch.sqrt(ab) * x0).flatten(), 1 - ab\n"
    ),
    "endless-cell.ipynb": notebook(CORRECT_CODE, "import time\nwhile True:\n    time.sleep(0.1)"),
    "kernel-dies.ipynb": notebook(CORRECT_CODE, "import os\nos._exit(3)"),
    # Sorted first, so it runs before or beside the others on the same zygote.
    "aaa-tamperer.ipynb": notebook(
        CORRECT_CODE + "\nimport os, threading, time\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.sqrt = lambda x: x\n"
        "os.chdir('/')\n"
        "threading.Thread(target=lambda: time.sleep(600), daemon=True).start()\n"
        "SOME_GLOBAL = 42\n"
    ),
}


def write_broken(folder: Path) -> None:
    for name, content in BROKEN.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
