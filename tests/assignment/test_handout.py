"""The handout and the demo submissions are generated from one source; the committed copies must match it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def test_committed_notebooks_match_the_build_script():
    check = subprocess.run([sys.executable, str(ROOT / "handout" / "build_notebooks.py"), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_template_has_stubs_a_parameters_cell_and_no_answers():
    template = nbformat.read(str(ROOT / "handout" / "assignment10.ipynb"), as_version=4)
    code = "\n".join(c.source for c in template.cells if c.cell_type == "code")
    assert code.count("raise NotImplementedError") == 3
    assert any("parameters" in c.metadata.get("tags", []) for c in template.cells)
    markdown = "\n".join(c.source for c in template.cells if c.cell_type == "markdown")
    assert re.search(r"\$\$\s*\\mu\s*=", markdown) is None


def test_no_notebook_ships_outputs():
    for path in [*ROOT.glob("handout/*.ipynb"), *ROOT.glob("submissions/*.ipynb")]:
        notebook = nbformat.read(str(path), as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), path.name
