"""What every assignment's kit must not carry (README "The student kit"): no line of its reference, no
grading seed, no hidden input and no value on one, no experiment, nothing it does not ship; and it is
the files it says, the grader's modules byte for byte. Each test runs for every shipped assignment.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from graders.assignment.spec import Assignment
from graders.judge.kinds.value import ValueCheck
from graders.judge.probes import ProbePlan
from graders.kit import check as kit_check
from graders.kit.build import Kit, kit_of, shipped_modules
from graders.runtime import probe_runtime


def kit_files(kit: Kit) -> dict[str, str]:
    """Every file of the kit (the grader's modules under grader/ included), by its path in the kit; not the
    bytecode Python caches beside them once the kit has run (other tests run it), compiled from those files."""
    return {
        path.relative_to(kit.folder).as_posix(): path.read_text(encoding="utf-8")
        for path in kit.folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.relative_to(kit.folder).parts
    }


def test_the_kit_holds_its_files_and_prints_its_hash(built):
    assignment, kit = built
    assert kit.files == tuple(sorted(("README.md", assignment.handout.template.name, "check.py", kit_check.LIBRARY, "kit_data.json")))
    assert (kit.folder / "check.py").read_bytes() == Path(str(kit_check.__file__)).read_bytes()
    library = kit.folder / kit_check.LIBRARY
    shipped = {Path(*module.__name__.split(".")).with_suffix(".py"): module for module in shipped_modules(assignment)}
    # The grader's own modules, byte for byte; each package marked by an empty __init__.py (not the grader's, which may do more).
    for relative, module in shipped.items():
        assert (library / relative).read_bytes() == Path(str(module.__file__)).read_bytes(), relative
    inits = {path.relative_to(library) for path in library.rglob("__init__.py")}
    assert all((library / init).read_bytes() == b"" for init in inits)
    assert {path.relative_to(library) for path in library.rglob("*.py")} == set(shipped) | inits
    assert re.fullmatch(r"[0-9a-f]{12}", kit.hash) and kit.hash == kit_check.kit_hash(kit.folder)


def test_no_line_of_the_reference_is_in_the_kit(built):
    assignment, kit = built
    files = kit_files(kit)
    handout = assignment.handout.template.read_text(encoding="utf-8")
    # A mistake's title is what every report shows students (the kit names mistakes in the same words).
    titles = {f'"{misconception.title}",' for misconception in assignment.catalog.values()}
    checked = 0
    for source in assignment.truth().folder.glob("*.py"):
        for raw in source.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            # No part of the truth: imports, decorators, short generic lines (`return x`, `"""`), a
            # misconception's or a function's name alone or as a key (`"mean_reduction",`, `"layer_norm": (`: names
            # are what students are told) and
            # the handout's own lines (the functions' signatures).
            if (
                len(line) < 16
                or line.startswith(("import ", "from ", "@"))
                or re.fullmatch(r'"\w+"(?:,|: ?[(\[{]?)?', line)
                or line in handout
                or line in titles
            ):
                continue
            checked += 1
            leaked = [name for name, text in files.items() if line in text]
            assert not leaked, f"{source.name}: {line!r} is in {leaked}"
    assert checked > 50


def _hidden_plan(assignment: Assignment, seed: int) -> ProbePlan:
    """The inputs a course grades on, without the experiment (trained in the grader, never in a kit)."""
    return replace(assignment.build_plan(seed=seed, hidden=True, data_dir=None), experiment=None)


def test_neither_the_grading_seed_nor_a_hidden_input_is_in_the_kit(built, course):
    assignment, kit = built
    files = kit_files(kit)
    seed = re.compile(rf"(?<![\d.]){course}(?!\d)")
    assert not [name for name, text in files.items() if seed.search(text)]
    scanned = 0
    for case in (c for c in _hidden_plan(assignment, course).cases if not c.public):
        for arg in case.args:
            # Numbers drawn from the seed: a run of booleans (a mask) or of small integers is no secret.
            if isinstance(arg, np.ndarray) and arg.dtype.kind == "f":
                encoded = probe_runtime.encode(arg)["data"]  # as the request carries inputs
                assert not [name for name, text in files.items() if encoded[:40] in text], f"{case.name} input leaked"
                # Any run of four consecutive values, as the kit would write them as numbers.
                for run in np.lib.stride_tricks.sliding_window_view(arg.ravel(), min(4, arg.size))[:: max(1, arg.size // 50)]:
                    text = json.dumps(run.tolist(), separators=(",", ":"))[1:-1]
                    scanned += 1
                    assert not [name for name, content in files.items() if text in content], f"{case.name} input leaked"
    assert scanned > 20


def test_no_expected_value_for_a_hidden_input_is_in_the_kit(built, course):
    assignment, kit = built
    plan = _hidden_plan(assignment, course)
    expected = assignment.compute_expected(plan)
    files = "\n".join(kit_files(kit).values())
    checked = 0
    for check in kit_of(assignment).checks:
        if not isinstance(check, ValueCheck):
            continue
        for case in plan.cases_for(check.function):
            if case.public:
                continue
            values = np.atleast_1d(check.observable(expected.reference, case)).ravel()
            for value in values[np.isfinite(values) & (values != np.round(values))][:8]:  # not 0, 1 or a mask's booleans
                checked += 1
                assert repr(float(value)) not in files, f"{check.id} on {case.name} leaked"
    assert checked > 20


def _imports(path: Path) -> list[str]:
    """Every module a file imports (a `from package import module` as package.module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imports += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return imports


def test_the_kit_has_no_experiment_and_imports_only_what_it_ships_and_a_student_has(built):
    assignment, kit = built
    data = json.loads((kit.folder / "kit_data.json").read_text(encoding="utf-8"))
    assert "experiment" not in data["plan"] and "train-images" not in json.dumps(data)
    assert not [c for c in data["checks"] if c["id"].startswith("experiment")]
    shipped = {module.__name__ for module in shipped_modules(assignment)}
    packages = {name.rsplit(".", depth)[0] for name in shipped for depth in range(1, name.count(".") + 1)}
    # IPython inside a notebook, where the kernel is IPython's (check() and the runtime's publish()), and to run
    # a notebook's cells as Jupyter does; traitlets configures IPython's shell; sympy reads the derivation (torch requires it).
    allowed = {*sys.stdlib_module_names, "numpy", "torch", "nbformat", "IPython", "traitlets", "sympy"}
    files = [kit.folder / "check.py", *kit_check.library_files(kit.folder)]
    for path in files:
        for module in _imports(path):
            top = module.split(".")[0]
            if top in ("graders", "assignments", "reference"):
                # A module the kit ships, or a package of them importing one (`from graders.judge import reading`).
                assert module in shipped | packages or module.rsplit(".", 1)[0] in shipped, f"{path.name} imports {module}"
            else:
                assert top in allowed, f"{path.name} imports {module}"
    # Everything the data names of the assignment's own is in a module the kit ships.
    named = [data["derivation_reader"], *(c["readable"] for c in data["checks"] if c["kind"] == "derivation")]
    assert {reference.split(":")[0] for reference in named} | {data["observables"]} <= shipped
