"""The handout and the demo submissions are generated from one source; the committed copies must match it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
HANDOUT = ROOT / "assignments" / "a10" / "handout"


def test_committed_notebooks_match_the_build_script():
    check = subprocess.run(
        [sys.executable, "-m", "assignments.a10.handout.build_notebooks", "--check"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_template_has_stubs_a_parameters_cell_and_no_answers():
    template = nbformat.read(str(HANDOUT / "assignment10.ipynb"), as_version=4)
    code = "\n".join(c.source for c in template.cells if c.cell_type == "code")
    assert code.count("raise NotImplementedError") == 3
    assert any("parameters" in c.metadata.get("tags", []) for c in template.cells)
    markdown = "\n".join(c.source for c in template.cells if c.cell_type == "markdown")
    assert re.search(r"\$\$\s*\\mu\s*=", markdown) is None


def test_no_notebook_ships_outputs():
    for path in [*HANDOUT.glob("*.ipynb"), *ROOT.glob("submissions/*/*.ipynb")]:
        notebook = nbformat.read(str(path), as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), path.name


def test_the_handout_asks_what_the_contract_says():
    """The template defines every injected parameter and every function as the contract states them,
    and tags one answer cell per question: the grader reads all three through the contract."""
    from assignments.a10.contract import FUNCTIONS, PARAMETER_NAMES, QUESTIONS
    from graders.tags import PARAMETERS_TAG

    template = nbformat.read(str(HANDOUT / "assignment10.ipynb"), as_version=4)
    (parameters,) = [c for c in template.cells if PARAMETERS_TAG in c.metadata.get("tags", [])]
    assert sorted(re.findall(r"^(\w+) =", parameters.source, re.MULTILINE)) == sorted(PARAMETER_NAMES)
    code = [c.source for c in template.cells if c.cell_type == "code"]
    assert all(sum(source.startswith(f.signature) for source in code) == 1 for f in FUNCTIONS)
    tags = [tag for c in template.cells for tag in c.metadata.get("tags", []) if tag != PARAMETERS_TAG]
    assert tags == [q.tag for q in QUESTIONS]
    markdown = "\n".join(c.source for c in template.cells if c.cell_type == "markdown")
    assert all(f") {q.text}" in markdown for q in QUESTIONS)
