"""What the student kit says about a wrong value: how it differs and which mistake it matches, never the answer.

Issue 22, items 7, 8 and the last bullet: no correct formula in kit_data.json or in a message, at every hint
level (values only / mistake names / explanations); derivations read, not scored, and one total; check()
leaves the notebook's random streams as it found them; the kit's README names everything the notebook needs.
Judged in-process on the same public data the kit ships (check.py and the grader's judge share this process;
tests/kit/test_kit.py runs the kit as a student does, on the whole corpus).
"""

from __future__ import annotations

import ast
import json
import random
import re
import sys
from collections.abc import Callable
from importlib import metadata
from types import ModuleType
from typing import Any

import nbformat
import numpy as np
import pytest
import torch

from assignments.a10 import ASSIGNMENT
from assignments.a10.catalog import CATALOG
from assignments.a10.checks import CHECKS, SAMPLING_FINDINGS
from assignments.a10.expected import compute_expected
from graders.assignment.spec import KitHints
from graders.judge.kinds.value import ValueCheck
from graders.kit import check as kit_check
from graders.kit import table as kit_table
from graders.kit.build import Kit, kit_data, public_plan
from tests import students
from tests.broken import CORRECT_CODE
from tests.kit.formulas import formulas_in
from tests.kit.test_kit import _closure

LEVELS = tuple(KitHints)


@pytest.fixture(scope="module")
def public() -> tuple[Any, Any]:
    plan = public_plan(ASSIGNMENT)
    return plan, compute_expected(plan)


@pytest.fixture(scope="module")
def data_at(public: tuple[Any, Any]) -> Callable[[KitHints], dict[str, Any]]:
    """kit_data.json as `grader kit` writes it for an assignment set to each hint level."""
    made: dict[KitHints, dict[str, Any]] = {}

    def at(level: KitHints) -> dict[str, Any]:
        if level not in made:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(ASSIGNMENT, "kit_hints", level)
                made[level] = json.loads(json.dumps(kit_data(ASSIGNMENT, *public)))  # as the file holds it
        return made[level]

    return at


def implementations() -> dict[str, tuple[str, Callable[..., Any]]]:
    """tests/students.py's hand-written functions, right and wrong: {name: (the function it replaces, it)}."""
    return {
        name: (function, value)
        for name, value in vars(students).items()
        for function in ("closed_form", "vae_loss", "reparameterize")
        if name.startswith(function + "_") and callable(value)
    }


def judged(data: dict[str, Any], function: str, implementation: Callable[..., Any]) -> list[kit_check.Verdict]:
    namespace: dict[str, Any] = {}
    exec(CORRECT_CODE, namespace)  # noqa: S102 - the tests' own solution
    namespace[function] = implementation
    return kit_check.judge_all(data, namespace, None)


# ----------------------------------------------------------------------------- the forbidden formulas can be found


def test_the_forbidden_patterns_find_the_formulas_the_grader_s_own_words_state():
    """The grader's report states them (after grading): the patterns must see them there, or the tests below prove nothing."""
    expectations = {check.id: check.expectation for check in CHECKS if isinstance(check, ValueCheck)}
    for check_id in ("closed_form.mu", "closed_form.sigma", "vae_loss.kl"):
        assert formulas_in(expectations[check_id]), check_id
    for name in ("missing_x0", "std_for_variance", "kl_sign_flipped", "variance_as_std"):
        assert formulas_in(CATALOG[name].explanation), name
    assert formulas_in(SAMPLING_FINDINGS["variance_as_std"][0])
    for spelled in (
        "\\sqrt{\\bar\\alpha_t} x_0",
        "sqrt(alpha_bar) * x0",
        "1 - torch.prod(alphas[:t])",
        "-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())",
    ):
        assert formulas_in(spelled), spelled
    assert not formulas_in("μ on the public input: 4 of its 4 values differ, 1.512 where 2.12979 was expected (29% too small).")


# ----------------------------------------------------------------------------- no formula, at any level


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.value)
def test_the_kit_data_states_no_correct_formula(data_at, level):
    text = json.dumps(data_at(level), ensure_ascii=False)
    assert not formulas_in(text)
    assert not any(m.explanation in text for m in CATALOG.values())  # the explanations are the report's


def test_every_catalogued_mistake_has_a_hint_that_states_no_formula():
    for name, misconception in CATALOG.items():
        assert misconception.hint and misconception.hint != misconception.explanation, name
        assert not formulas_in(misconception.hint) and not formulas_in(misconception.title), name


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.value)
def test_no_message_states_a_correct_formula_for_any_student_function(data_at, level):
    data = data_at(level)
    failed = 0
    for name, (function, implementation) in implementations().items():
        for verdict in judged(data, function, implementation):
            assert not formulas_in(verdict.message), (name, verdict.id, verdict.message)
            failed += verdict.status != "pass"
    assert failed > 20  # wrong functions of every kind were judged, not only right ones


# ----------------------------------------------------------------------------- the hint level decides what is said


def _said(data: dict[str, Any], function: str, implementation: Callable[..., Any]) -> tuple[str, set[str]]:
    verdicts = judged(data, function, implementation)
    return " ".join(v.message for v in verdicts), {name for v in verdicts for name in v.misconceptions}


@pytest.mark.parametrize(
    ("function", "implementation", "mistake"),
    [
        ("closed_form", students.closed_form_missing_sqrt, "missing_sqrt"),
        ("closed_form", students.closed_form_off_by_one, "off_by_one_index"),
        ("vae_loss", students.vae_loss_sign_flipped, "kl_sign_flipped"),
        ("vae_loss", students.vae_loss_mean_bce, "mean_reduction"),
        ("reparameterize", students.reparameterize_variance, "variance_as_std"),
    ],
)
def test_each_level_says_what_it_promises(data_at, function, implementation, mistake):
    title, hint = CATALOG[mistake].title, CATALOG[mistake].hint
    values, values_named = _said(data_at(KitHints.VALUES), function, implementation)
    names, names_named = _said(data_at(KitHints.NAMES), function, implementation)
    explained, explained_named = _said(data_at(KitHints.EXPLANATIONS), function, implementation)
    assert not values_named and title not in values and hint not in values and "known mistake" not in values
    assert mistake in names_named and title in names and hint not in names
    assert mistake in explained_named and title in explained and hint in explained
    assert ASSIGNMENT.kit_hints is KitHints.EXPLANATIONS  # the default


def test_a_wrong_value_is_described_where_by_how_much_and_in_which_direction(data_at):
    verdicts = {v.id: v for v in judged(data_at(KitHints.VALUES), "closed_form", students.closed_form_missing_sqrt)}
    message = verdicts["closed_form.mu"].message
    # ᾱ·x₀ where √ᾱ·x₀ is expected: smaller by the factor √ᾱ_3 = √(0.9·0.8·0.7) in every entry (computed here, not read back).
    factor = float(np.sqrt(0.9 * 0.8 * 0.7))
    assert re.search(r"at index \(\d, \d\)", message) and "too small" in message, message
    assert f"every value is {factor:.4g} times the expected one" in message, message
    sign = {v.id: v for v in judged(data_at(KitHints.VALUES), "vae_loss", students.vae_loss_sign_flipped)}["vae_loss.kl"].message
    assert "the opposite sign" in sign, sign


# ----------------------------------------------------------------------------- one total


def test_derivations_are_read_not_scored_and_the_total_is_stated_once(data_at):
    data = data_at(KitHints.EXPLANATIONS)
    wrong = nbformat.v4.new_markdown_cell("$$\\mu = \\alpha_3 \\alpha_2 \\alpha_1$$\n\n$$\\Sigma = 1 - \\alpha_3$$")
    namespace: dict[str, Any] = {}
    exec(CORRECT_CODE, namespace)  # noqa: S102 - the tests' own solution
    verdicts = kit_check.judge_all(data, namespace, [wrong])
    table = kit_check.format_table("nb", verdicts)
    scored = [spec for spec in data["checks"] if spec["kind"] != "derivation"]
    worth = sum(spec["points"] for spec in scored)
    assert len(re.findall(r"\d+ / \d+ points", table)) == 1 and f": {worth:g} / {worth:g} points" in table
    rows = [line for line in table.splitlines() if line.startswith(("READ", "PASS", "FAIL", "ERROR"))]
    assert [line.split()[0] for line in rows if "derivation." in line] == ["READ", "READ"]
    assert all(line.endswith(kit_table.UNSCORED) for line in rows if "derivation." in line)
    part = kit_check.format_table("nb", [v for v in verdicts if v.id.startswith("closed_form")], whole=False)
    assert not re.search(r"\d+ / \d+", part) and "check() with no argument gives the total" in part


# ----------------------------------------------------------------------------- the student's random streams


def load_kit_module(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_check_rng", kit.folder / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "student_check_rng", module)
    spec.loader.exec_module(module)
    return module


NOISY_REPARAMETERIZE = """
import random
import numpy as np

def reparameterize(mu, logvar):
    # Draws from every global stream a notebook has: random, numpy's and torch's.
    random.random()
    np.random.standard_normal()
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
"""


def _draws() -> tuple[float, float, list[float]]:
    return random.random(), float(np.random.standard_normal()), torch.rand(3).tolist()  # noqa: S311 - the notebook's streams


def _seed_all() -> None:
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)


def test_check_leaves_the_notebook_s_random_streams_as_it_found_them(kit, monkeypatch, capsys):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    module = load_kit_module(kit, monkeypatch)
    namespace: dict[str, Any] = {"check": module.check}
    exec(CORRECT_CODE + NOISY_REPARAMETERIZE, namespace)  # noqa: S102 - the tests' own code
    _seed_all()
    untouched = _draws()
    _seed_all()
    exec("check()", namespace)  # noqa: S102
    assert "reparameterize" in capsys.readouterr().out
    assert _draws() == untouched
    # The function check() calls does move every stream: the assertion above can fail.
    _seed_all()
    namespace["reparameterize"](torch.zeros(2), torch.zeros(2))
    assert all(after != before for after, before in zip(_draws(), untouched, strict=True))


# ----------------------------------------------------------------------------- what a student installs


def _imported(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a magic line: nothing the kit's notebooks hold
        return set()
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level}
    return {name.split(".")[0] for name in names if name}


def test_the_kit_readme_names_everything_the_notebook_and_checker_import_in_one_command(kit):
    readme = (kit.folder / "README.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"^\s*pip install (.+)$", readme, re.MULTILINE)
    named = {name.lower() for name in command.split()}
    notebook = nbformat.read(str(kit.folder / "assignment10.ipynb"), as_version=4)
    modules = set().union(*(_imported(cell.source) for cell in notebook.cells if cell.cell_type == "code"))
    for path in [kit.folder / "check.py", *kit_check.library_files(kit.folder)]:
        modules |= _imported(path.read_text(encoding="utf-8"))
    kit_modules = {"check", *(path.name for path in (kit.folder / kit_check.LIBRARY).iterdir())}  # check.py and grader/'s packages
    third_party = {m for m in modules - set(sys.stdlib_module_names) - kit_modules - {"__future__"}}
    assert {"torch", "torchvision", "matplotlib"} <= third_party  # what the first README left out
    # What the command installs: the named distributions and what they require (those installed here; jupyterlab may not be).
    installed = {d.metadata["Name"].lower() for d in _closure(*(n for n in named if _installed(n)))}
    providers = metadata.packages_distributions()
    for module in sorted(third_party):
        distributions = {d.lower() for d in providers.get(module, [module])}
        assert distributions & installed, f"{module} (from {distributions}) is not installed by `pip install {command}`"


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_the_template_names_a_data_source_students_have(kit):
    notebook = nbformat.read(str(kit.folder / "assignment10.ipynb"), as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "make-data" not in text  # a staff command: students have no grader
    assert "datasets.MNIST('data', download=True)" in text
