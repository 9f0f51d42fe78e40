"""The seam's own behaviour (graders.assignment.spec): `import_modules`, which a batch calls while its zygote warms up
and the warm server before its first command, so that the first assessment does not import the judge's behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import assignments.a10

NEWLY_IMPORTED = (
    "import json, sys\n"
    "from graders.assignment import registry\n"
    "assignment = registry.load({id!r})\n"
    "before = set(sys.modules)\n"
    "assignment.import_modules()\n"
    "print(json.dumps({{'new': sorted(set(sys.modules) - before), 'loaded': sorted(sys.modules)}}))\n"
)


def newly_imported(assignment_id: str, env: dict[str, str] | None = None) -> tuple[set[str], set[str]]:
    """In a fresh process that has loaded the assignment and nothing else: the modules `import_modules` imports, and
    every module loaded afterwards."""
    done = subprocess.run(
        [sys.executable, "-c", NEWLY_IMPORTED.format(id=assignment_id)], capture_output=True, text=True, check=True, env=env, timeout=300
    )
    modules = json.loads(done.stdout)
    return set(modules["new"]), set(modules["loaded"])


def test_every_module_of_an_installed_assignments_package_is_imported_with_the_behaviour_judging_needs():
    folder = Path(assignments.a10.__file__).parent
    modules = {path.stem for path in folder.glob("*.py")} | {path.parent.name for path in folder.glob("*/__init__.py")}
    expected = {f"assignments.a10.{name}" for name in modules if not name.startswith("_")}
    imported, loaded = newly_imported("assignment-10")
    assert expected <= loaded
    # What the first assessment would otherwise import: the sampling tests' critical values, the LaTeX reader, torch.
    assert {"scipy.stats", "sympy", "torch", "graders.judge.critical"} <= imported


def test_a_built_assignment_imports_the_harness_modules_it_is_judged_with(tmp_path):
    from graders.assignment.registry import PATH_VARIABLE
    from graders.authoring.build import build
    from graders.authoring.skeleton import new

    build(new("built-spec", tmp_path / "source"), tmp_path / "built" / "built-spec")
    environment = {**os.environ, PATH_VARIABLE: str(tmp_path / "built")}
    imported, _ = newly_imported("built-spec", environment)
    assert "graders.authoring.judging" in imported
    assert not any(name.startswith("assignments.") for name in imported)
