"""`grader kit --out DIR`: any assignment's student handout that self-checks without the grader or `reference/`.

`build_kit(assignment, out)` is the one entry point (`Assignment.build_kit` calls it; so can a built
assignment). The kit is the template notebook (with a `check(...)` cell after each exercise), `check.py`
(graders/kit/check.py, copied verbatim), `grader/` with the grader's own judging modules and the
assignment's own (`Assignment.kit().modules`) copied verbatim under their package names, `kit_data.json`
and a README. So there is one implementation of calling, reading, comparing, diagnosing and wording: the
kit runs the grader's checks. The data is derived from the grader at build time, never re-typed: the
public plan, the reference's and every misconception variant's values on it, the deduction policy, each
public check's configuration, the sampling tests' critical values at the grader's false-alarm rate. It
carries no line of `reference/`, no hidden input, no grading seed and no experiment (its reference is
training from the grading seed). What it says of a wrong value is the assignment's kit words: how the
values differ and, at the assignment's `kit_hints` level, the matching mistake's title and hint; never a
check's expectation or a mistake's explanation, which state the right formula (the grader's report gives
those after grading). Public inputs on which a catalogued mistake gives the reference's values are
refused (graders/judge/separation.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import numpy as np

from graders import results, settings, tags
from graders.assignment import spec
from graders.assignment.spec import Assignment, KitHints, KitSpec
from graders.errors import HarnessError, UsageError
from graders.judge import cells, checks, comparison, diagnosis, evidence, expected, probes, reading, sampling, unicode_math, values
from graders.judge.checks import Check
from graders.judge.comparison import Tolerance
from graders.judge.expected import ExpectedValues
from graders.judge.kinds import sampler, symbolic, value
from graders.judge.kinds.experiment import ExperimentCheck
from graders.judge.kinds.sampler import GaussianSamplerCheck
from graders.judge.kinds.symbolic import SymbolicAnswerCheck
from graders.judge.kinds.value import ValueCheck
from graders.judge.probes import ProbePlan, plan_document, results_document
from graders.judge.separation import require_separated
from graders.judge.values import Observable
from graders.kit import cells as kit_cells
from graders.kit import check, table
from graders.runtime import probe_runtime
from graders.settings import DEFAULT_CELL_TIMEOUT, notebook_seed

DATA_FORMAT = 6  # 3: the assignment id; 4: hint level, no expectations; 5: the grader's checks configured; 6: any assignment's
# The grader's modules check.py runs, copied verbatim into grader/ under their package names, before the
# assignment's own (tests/kit/ checks that their imports stay within what is shipped, the standard library
# and what a student has).
SHIPPED: tuple[ModuleType, ...] = (
    probe_runtime,
    tags,
    settings,
    results,
    spec,
    reading,
    comparison,
    probes,
    values,
    expected,
    diagnosis,
    evidence,
    checks,
    sampling,
    value,
    sampler,
    symbolic,
    cells,
    unicode_math,
    kit_cells,
    table,
)
# Each check cell says so itself: check.py warns about code left there, this says it before any is.
CHECK_CELL_NOTE = "# The grader empties this cell before it runs your notebook: keep your own code in other cells.\n"


@dataclass(frozen=True)
class Kit:
    folder: Path
    hash: str  # what check.py prints: the checker, the shipped modules and the data (see check.kit_hash)
    files: tuple[str, ...]


def kit_of(assignment: Assignment) -> KitSpec:
    """The assignment's kit parts, or a HarnessError naming an assignment that has none."""
    made = assignment.kit() if assignment.has_kit else None
    if made is None:
        raise HarnessError(f"{assignment.title} has no student kit")
    return made


def public_plan(assignment: Assignment) -> ProbePlan:
    """The plan `grader check` runs (graders/pipeline/selfcheck.py), without the experiment (its reference
    trains in the grader)."""
    return replace(assignment.build_plan(seed=assignment.public_seed, hidden=False, data_dir=None), experiment=None)


def shipped_modules(assignment: Assignment) -> tuple[ModuleType, ...]:
    """Every module the kit's `grader/` holds: the harness's, then the assignment's own."""
    return SHIPPED + kit_of(assignment).modules


def build_kit(assignment: Assignment, out: Path) -> Kit:
    """Write the assignment's kit into `out` (which must not exist or be empty) and return it."""
    parts = kit_of(assignment)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder; the kit is written into a new one")
    if not parts.template.is_file():
        raise HarnessError(f"the template notebook {parts.template} is missing (the kit is built from a source checkout)")
    plan = public_plan(assignment)
    data = kit_data(assignment, plan, assignment.compute_expected(plan))  # before anything is written: a kit that cannot judge is refused
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(str(check.__file__), out / "check.py")
    for module in shipped_modules(assignment):
        _ship(module, out / check.LIBRARY)
    shutil.copyfile(parts.readme, out / "README.md")
    (out / check.DATA_FILE).write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    nbformat.write(kit_notebook(parts, nbformat.read(str(parts.template), as_version=4)), str(out / parts.template.name))
    return Kit(out, check.kit_hash(out), tuple(sorted(path.name for path in out.iterdir())))


def _ship(module: ModuleType, library: Path) -> None:
    """The module's file under its package path, with an empty `__init__.py` marking each package (not the grader's)."""
    *packages, name = module.__name__.split(".")
    folder = library.joinpath(*packages)
    folder.mkdir(parents=True, exist_ok=True)
    for depth in range(1, len(packages) + 1):
        (library.joinpath(*packages[:depth]) / "__init__.py").touch()
    shutil.copyfile(str(module.__file__), folder / f"{name}.py")


# ----------------------------------------------------------------------------- the data


def kit_data(assignment: Assignment, plan: ProbePlan, expected_values: ExpectedValues) -> dict[str, Any]:
    """Everything check.py needs, as plain JSON: the plan, the values, the policy and the checks' configuration."""
    parts = kit_of(assignment)
    policy = parts.policy
    require_separated(plan, expected_values, policy.whole_function)  # else the kit would say "correct" where the grader deducts
    functions = tuple(sorted({case.function for case in plan.cases}))
    kit = _KitNames(parts)
    # As `grader check` injects them (graders/pipeline/selfcheck.py: the public seed, the default cell limit).
    parameters = assignment.notebook_parameters(seed=notebook_seed(assignment.public_seed), data_dir="")
    return {
        "format": DATA_FORMAT,
        "assignment": assignment.id,  # a notebook whose metadata names another is refused, as the grader does
        # Injected into the `parameters` cell as `grader check` does; data_dir stays the student's own.
        "parameters": {name: v for name, v in parameters.items() if name != "data_dir"},
        "cell_timeout": DEFAULT_CELL_TIMEOUT,
        "plan": plan_document(plan),
        "reference": results_document(expected_values.reference),
        "variants": {
            function: [{"flags": sorted(flags), "results": results_document(results_of)} for flags, results_of in stories]
            for function, stories in expected_values.variants.items()
            if function in functions
        },
        "questions": [{"tag": q.tag, "key": q.key} for q in assignment.questions],  # for the derivation reader
        "observables": parts.observables.__name__,
        "derivation_reader": kit.function(parts.derivation_reader),
        "hints": assignment.kit_hints.value,
        "catalog": _mistake_words(assignment, assignment.kit_hints),  # in the order messages name them
        "deductions": dict(policy.deductions),
        "whole_function": {
            function: {
                "observables": [kit.observable(o) for o in whole.observables],
                "tolerance": _tolerance(whole.tolerance),
                "reshaped": whole.reshaped_mistake,
            }
            for function, whole in policy.whole_function.items()
        },
        "checks": [kit.check_doc(c, plan) for c in parts.checks if not isinstance(c, ExperimentCheck)],
    }


def _mistake_words(assignment: Assignment, level: KitHints) -> dict[str, dict[str, str]]:
    """What the kit may say of each catalogued mistake: its title, and its student-safe hint (never the
    explanation, which the report shows after grading and which may state the right formula)."""
    words = {}
    for name, m in assignment.catalog.items():
        said = {"function": m.function}
        if level is not KitHints.VALUES:
            said["title"] = m.title
        if level is KitHints.EXPLANATIONS and m.hint:
            said["hint"] = m.hint
        words[name] = said
    return words


@dataclass(frozen=True)
class _KitNames:
    """The kit's names for the assignment's own parts: check.py finds each by name in a module the kit ships."""

    parts: KitSpec

    def function(self, function: Callable[..., Any]) -> str:
        module = getattr(function, "__module__", "")
        if module not in {m.__name__ for m in self.parts.modules} or getattr(function, "__qualname__", "") != function.__name__:
            raise HarnessError(f"{function!r} is not a top-level function of a module the kit ships (Assignment.kit().modules)")
        return f"{module}:{function.__name__}"

    def observable(self, observable: Observable | Any) -> str:
        """An observable's name in the assignment's shipped observables module."""
        name = str(getattr(observable, "__name__", ""))
        if getattr(self.parts.observables, name, None) is not observable:
            raise HarnessError(f"{name or observable!r} is not in {self.parts.observables.__name__}, which the kit ships")
        return name

    def check_doc(self, check: Check, plan: ProbePlan) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": check.id, "title": check.title, "points": check.points}
        if isinstance(check, SymbolicAnswerCheck):
            return {**doc, "kind": "derivation", "quantity": check.quantity, "readable": self.function(self.parts.readable)}
        if isinstance(check, GaussianSamplerCheck):
            draws = {int(np.shape(case.args[0])[0]) for case in plan.cases_for(check.function)}
            words = self.parts.findings
            return {
                **doc,
                "kind": "sampler",
                "function": check.function,
                "passed": check.passed,
                # The kit's own words for each finding (the grader's may state the right formula); the mistake it names, the same.
                "findings": {key: [words.get(key, self.parts.not_a_fresh_sample), name] for key, (_, name) in check.findings.items()},
                "perfect_correlation": check.perfect_correlation,
                "critical": {str(n): _critical_doc(check.critical(n)) for n in sorted(draws)},
            }
        if isinstance(check, ValueCheck):
            return {
                **doc,
                "kind": "value",
                "function": check.function,
                "observable": self.observable(check.observable),
                "consistency": self.observable(check.consistency) if check.consistency else None,
                "tolerance": _tolerance(check.tolerance),
                "words": self.parts.own_values_words if check.consistency else self.parts.words[check.id],
                "reshaped_message": check.reshaped_message,
            }
        raise HarnessError(f"check {check.id} has no form in the student kit; teach graders/kit/build.py about it")


def _critical_doc(critical: sampling.CriticalValues) -> dict[str, Any]:
    return {"mean": critical.mean, "spread": list(critical.spread), "correlation": critical.correlation, "normality": critical.normality}


def _tolerance(tolerance: Tolerance) -> list[float]:
    return [tolerance.rtol, tolerance.atol]


# ----------------------------------------------------------------------------- the notebook


def kit_notebook(parts: KitSpec, template: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The template with a `check(...)` cell after each function's definition and a full check at the end."""
    notebook: nbformat.NotebookNode = nbformat.from_dict(template)
    for function, part in parts.check_cells:
        index = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and f"def {function}(" in cell.source)
        notebook.cells.insert(index + 1, _check_cell(part, f'{CHECK_CELL_NOTE}from check import check\n\ncheck("{part}")'))
    notebook.cells.append(
        _check_cell(
            "all",
            f"{CHECK_CELL_NOTE}from check import check\n\ncheck()  # every public check; the written answers are read from the saved notebook",
        )
    )
    return notebook


def _check_cell(name: str, source: str) -> nbformat.NotebookNode:
    cell: nbformat.NotebookNode = nbformat.v4.new_code_cell(source)
    cell.id = f"{tags.KIT_CELL_TAG}-{name}".replace("_", "-")  # stable ids: the same kit every build
    cell.metadata["tags"] = [tags.KIT_CELL_TAG]
    return cell
