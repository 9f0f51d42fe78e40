"""The kit's traps, piece by piece: the check stub, and which check cells hold what a graded notebook misses.

The grader empties the kit's check cells (graders/pipeline/submission.py) and gives every notebook a `check`
module that does nothing (graders/execute/cold.py writes it into the work dir). Whole notebooks, graded and
checked side by side, are in test_kit.py (tests/kit/traps.py); here each rule is pinned on small cells.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import nbformat
import pytest

from graders.kit.cells import LostDefinition, lost_definitions
from graders.kit.table import format_table
from graders.tags import KIT_CELL_TAG, PROBE_TAG, write_check_stub
from tests.broken import CORRECT_CODE
from tests.kit.test_kit import load_kit_module, table_verdicts

GRADED = {"closed_form", "reparameterize", "vae_loss"}


def code(source: str) -> dict[str, Any]:
    return nbformat.v4.new_code_cell(source)


def tagged(source: str) -> dict[str, Any]:
    return nbformat.v4.new_code_cell(source, metadata={"tags": [KIT_CELL_TAG]})


def lost(*cells: dict[str, Any]) -> dict[int, tuple[str, ...]]:
    return {found.number: found.names for found in lost_definitions(cells, GRADED)}


# ----------------------------------------------------------------------------- the stub


def test_the_stub_the_grader_writes_imports_both_ways_accepts_anything_and_says_nothing(tmp_path):
    write_check_stub(tmp_path)
    script = "from check import check\nimport check as module\nprint(repr(check()), repr(check('vae_loss', part=1)), repr(module.check(3)))"
    # Run from the work dir, as a kernel imports from there; -I so nothing but the stub could be `check`.
    run = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, '');\n{script}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "None None None\n", "")


def test_the_kit_imports_the_same_stub_while_it_runs_a_notebook_and_puts_its_own_back(kit, monkeypatch, capsys):
    module = load_kit_module(kit, monkeypatch)
    monkeypatch.setitem(sys.modules, "check", module)  # as in a kernel where the real kit was imported before
    with module.check_stub_imported():
        import check as stub

        assert stub is not module and stub.check("closed_form") is None
    assert sys.modules["check"] is module
    assert capsys.readouterr() == ("", "")


# ----------------------------------------------------------------------------- what a check cell must not hold


def test_functions_and_classes_in_a_check_cell_are_named_even_when_nothing_else_uses_them():
    cells = [code("import torch"), tagged("from check import check\ndef helper(x):\n    return x\nclass Model:\n    pass\ncheck()")]
    assert lost(*cells) == {2: ("helper", "Model")}


def test_a_graded_function_bound_in_a_check_cell_is_named_though_defined_before():
    cells = [code(CORRECT_CODE), tagged("closed_form = lambda x0, t, alphas: (x0, 0.0)"), tagged("def vae_loss(*args):\n    return 0")]
    assert lost(*cells) == {2: ("closed_form",), 3: ("vae_loss",)}


def test_a_name_set_in_a_check_cell_is_named_only_when_a_later_cell_reads_it_first():
    cells = [
        code("import torch"),
        tagged("alphas = torch.ones(3)\nunused = 1\nrebound = 2\nimport torch"),
        code("rebound = 3\nprint(rebound)"),  # bound again before it is read: the grader has it too
        code("print(alphas)"),
    ]
    assert lost(*cells) == {2: ("alphas",)}  # torch: the imports cell bound it before


def test_a_later_function_reading_the_name_as_a_global_counts_and_its_own_parameter_does_not():
    as_global = [tagged("EPS = 1e-8"), code("def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):\n    return EPS")]
    as_parameter = [tagged("mu = 0"), code("def reparameterize(mu, logvar):\n    return mu")]
    in_a_method = [tagged("SCALE = 2"), code("class Model:\n    def forward(self, x):\n        return SCALE * x")]
    assert (lost(*as_global), lost(*as_parameter), lost(*in_a_method)) == ({1: ("EPS",)}, {}, {1: ("SCALE",)})


def test_the_check_import_in_a_check_cell_is_named_when_a_cell_of_the_student_calls_check():
    cells = [tagged("from check import check\ncheck('closed_form')"), tagged("from check import check\ncheck('vae_loss')"), code("check()")]
    assert lost(*cells) == {2: ("check",)}
    imports_again = [tagged("from check import check\ncheck()"), code("from check import check\ncheck()")]
    assert lost(*imports_again) == {}


def test_magics_are_read_as_ipython_runs_them():
    cells = [
        tagged("%%time\ndef closed_form(x0, t, alphas):\n    return x0, 1"),  # %%time runs its body in the notebook
        tagged("%%capture out\n%%time\nweights = [0.5, 30]"),
        tagged("%time steps = 3"),
        tagged("%%timeit\ndef kept_nowhere():\n    pass"),  # %%timeit's body runs in a function of its own
        tagged("%%writefile helpers.py\ndef in_a_file():\n    pass"),  # not the notebook's Python
        tagged("!pip list\n%matplotlib inline\nlimit = 4"),
        code("print(weights, steps, limit, kept_nowhere, in_a_file)"),
    ]
    assert lost(*cells) == {1: ("closed_form",), 2: ("weights",), 3: ("steps",), 6: ("limit",)}


def test_cells_are_numbered_as_the_student_sees_them_and_the_grader_s_probe_cell_is_not_one():
    probe = nbformat.v4.new_code_cell("probe = 1", metadata={"tags": [PROBE_TAG]})
    cells = [nbformat.v4.new_markdown_cell("# Title"), probe, code("x = 1"), tagged("def f():\n    pass")]
    assert lost(*cells) == {3: ("f",)}


@pytest.mark.parametrize(
    "source",
    [
        "def broken(:\n    pass",  # a syntax error
        "return 1",  # parses, but no statement can be compiled
        "x = 1\x00",  # a null byte
        "%%time\n" * 50 + "def deep():\n    pass",  # magics nested past what is read
        "y = " + "(" * 250 + "1" + ")" * 250,  # too many parentheses: a SyntaxError
        "y = " + "-" * 50_000 + "1",  # the parser's stack overflows: a MemoryError
        "y = " + "+".join(["1"] * 100_000),  # a RecursionError while parsing
        "y = " + "-" * 1000 + "1",  # parses, but deeper than the unparser recurses
        "",
    ],
)
def test_a_cell_that_does_not_parse_holds_nothing_and_breaks_nothing(source):
    assert lost(tagged(source), code("print(deep, y)")) == {}


def test_the_warning_names_the_cell_the_tag_and_the_names_within_bounds():
    warning = LostDefinition(7, tuple(f"name_{i}" for i in range(20))).warning()
    assert warning.startswith("Warning: cell 7 ") and KIT_CELL_TAG in warning
    assert "`name_0`" in warning and "`name_5`" in warning and "`name_6`" not in warning and "and 14 more" in warning
    table = format_table("nb", [], warnings=[warning])
    assert "a10-kit-check" in table.replace("\n", " ")  # the tag is not broken at its hyphens


# ----------------------------------------------------------------------------- inside the notebook


def test_check_in_a_notebook_warns_about_a_saved_check_cell_that_defines_a_function(kit, capsys, monkeypatch, tmp_path):
    saved = nbformat.v4.new_notebook(
        cells=[
            code("import torch"),
            tagged("from check import check\n\ndef closed_form(x0, t, alphas):\n    return x0, 1\n\ncheck('closed_form')"),
        ]
    )
    path = tmp_path / "saved.ipynb"
    nbformat.write(saved, str(path))
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    module = load_kit_module(kit, monkeypatch)
    namespace: dict[str, object] = {"check": module.check}
    exec(CORRECT_CODE, namespace)
    exec("check('closed_form')", namespace)
    out = capsys.readouterr().out
    assert set(table_verdicts(out)) == {"closed_form.mu", "closed_form.sigma"}
    assert "Warning: cell 2 " in out and "`closed_form`" in out

    monkeypatch.delenv("JPY_SESSION_NAME")  # the kernel does not name its file: nothing to read, no warning
    exec("check('closed_form')", namespace)
    assert "Warning" not in capsys.readouterr().out
