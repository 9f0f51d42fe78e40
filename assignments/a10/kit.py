"""`grader kit --out DIR`: the student handout that self-checks without the grader or `reference/`.

The kit is the template notebook (with a `check(...)` cell after each exercise), `check.py`
(assignments/a10/kit_check.py, copied verbatim), `grader/` with the grader's own judging modules
copied verbatim under their package names (`SHIPPED`: the probe runtime, value reading, the check
kinds, the diagnosis, the sampling tests, this assignment's observables and answer reader),
`kit_data.json` and a README. So there is one implementation of calling, reading, comparing,
diagnosing and wording: the kit runs the grader's checks. The data is derived from the grader at build
time, never re-typed: the public plan, the reference's and every misconception variant's values on
it, the deduction policy, each public check's configuration, the sampling tests' critical values at
the grader's false-alarm rate. It carries no line of `reference/`, no hidden input, no grading seed
and no experiment (its reference is training from the grading seed). What it says of a wrong value is
its own (`KIT_WORDS`, `KIT_FINDINGS`): how the values differ and, at the assignment's `kit_hints`
level, the matching mistake's title and hint; never a check's expectation or a mistake's
explanation, which state the right formula (the grader's report gives those after grading). Public
inputs on which a catalogued mistake gives the reference's values are refused (graders/judge/separation.py).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import numpy as np

from assignments.a10 import ASSIGNMENT, answer_form, answer_lines, kit_cells, kit_check, latex, notation, observables
from assignments.a10.checks import CHECKS, DEDUCTIONS, SAMPLING_FINDINGS, WHOLE_FUNCTION
from assignments.a10.contract import PUBLIC_SEED, QUESTIONS, NotebookParameters
from assignments.a10.expected import compute_expected
from assignments.a10.plan import build_plan
from graders import results, settings, tags
from graders.assignment import spec
from graders.assignment.spec import KitHints
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
from graders.pipeline.config import GradingConfig
from graders.runtime import probe_runtime
from reference.a10.misconceptions import CATALOG

HANDOUT = Path(__file__).resolve().parent / "handout" / "assignment10.ipynb"
README = Path(__file__).resolve().parent / "kit_README.md"
NOTEBOOK_NAME = "assignment10.ipynb"
DATA_FORMAT = 5  # 3: the assignment id; 4: hint level, no expectations; 5: the grader's checks configured, its modules shipped
# The grader's modules check.py runs, copied verbatim into grader/ under their package names (tests/kit/ checks
# that their imports stay within this list, the standard library and what a student has).
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
    observables,
    cells,
    unicode_math,
    answer_lines,
    notation,
    latex,
    answer_form,
    kit_cells,
)
# (function whose definition the cell follows, the part it checks): each exercise ends with its check.
CHECK_CELLS = (("closed_form", "closed_form"), ("reparameterize", "reparameterize"), ("vae_loss", "vae_loss"))
# Each check cell says so itself: check.py warns about code left there, this says it before any is.
CHECK_CELL_NOTE = "# The grader empties this cell before it runs your notebook: keep your own code in other cells.\n"
# What the kit says where a value check's values differ: which values, never what they should be (the
# grader's expectation states the formula). The message goes on with where and by how much.
KIT_WORDS = {
    "closed_form_mu": "μ is not what the grader computes.",
    "closed_form_sigma": "Σ is not what the grader computes.",
    "reconstruction_term": "The loss at kl_loss_weight=0 is not what the grader computes.",
    "kl_term": "loss(w=1) − loss(w=0) is not what the grader computes.",
    "weighted_kl_terms": "loss(w) − loss(0) at w = 0.5 and 30 is not what the grader computes.",
}
OWN_VALUES_WORDS = "loss(w) at w = 0.5 and 30 is not loss(0) + w·(loss(1) − loss(0)) from your own values."
# What the kit says of draws that are not a fresh sample: how they look, never how z is computed (the
# grader's words, SAMPLING_FINDINGS, may say it). A finding the kit has no words for gets the general one.
NOT_A_FRESH_SAMPLE = "The draws are not a fresh sample of N(mu, σ²) with independent dimensions."
KIT_FINDINGS = {
    "constant": "z does not vary at all.",
    "repeated_and_wrong": "z is the same on every call, and it is not a sample of N(mu, σ²).",
    "repeated": "Two calls in a row returned exactly the same z.",
    "perfectly_correlated": "The dimensions of z move together: they are perfectly correlated.",
    "correlated": "The dimensions of z are correlated: they are not independent.",
    "variance_as_std": "The samples do not have the standard deviation σ that logvar = log σ² gives.",
    "mean": "The samples' mean is not mu.",
    "spread": "The samples do not have the standard deviation σ that logvar = log σ² gives.",
    "normality": "The samples are not normally distributed.",
    "same_for_every_row": "Every row of z is the same draw, although z changes from call to call: the rows share their noise.",
    "no_gradient": "z is distributed right but carries no gradient back to mu or logvar, so training cannot reach the encoder through it.",
    "gradient_to_mean_only": "z carries a gradient back to mu but none to logvar.",
    "wrong_gradient": "z's gradients with respect to mu and logvar are not those of a sample drawn as a function of them.",
}


@dataclass(frozen=True)
class Kit:
    folder: Path
    hash: str  # what check.py prints: the checker, the grader's modules and the data (see kit_check.kit_hash)
    files: tuple[str, ...]


def public_plan() -> ProbePlan:
    """The plan `grader check` runs (graders/pipeline/selfcheck.py), without the experiment."""
    return build_plan(seed=PUBLIC_SEED, hidden=False, data_dir=None)


def build_kit(out: Path) -> Kit:
    """Write the kit into `out` (which must not exist or be empty) and return its hash."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder; the kit is written into a new one")
    if not HANDOUT.is_file():
        raise HarnessError(f"the template notebook {HANDOUT} is missing (the kit is built from a source checkout)")
    plan = public_plan()
    data = kit_data(plan, compute_expected(plan))  # before anything is written: a kit that cannot judge is refused
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kit_check.__file__, out / "check.py")
    for module in SHIPPED:
        _ship(module, out / kit_check.LIBRARY)
    shutil.copyfile(README, out / "README.md")
    (out / kit_check.DATA_FILE).write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    nbformat.write(kit_notebook(nbformat.read(str(HANDOUT), as_version=4)), str(out / NOTEBOOK_NAME))
    return Kit(out, kit_check.kit_hash(out), tuple(sorted(path.name for path in out.iterdir())))


def _ship(module: ModuleType, library: Path) -> None:
    """The module's file under its package path, with an empty `__init__.py` marking each package (not the grader's)."""
    *packages, name = module.__name__.split(".")
    folder = library.joinpath(*packages)
    folder.mkdir(parents=True, exist_ok=True)
    for depth in range(1, len(packages) + 1):
        (library.joinpath(*packages[:depth]) / "__init__.py").touch()
    shutil.copyfile(str(module.__file__), folder / f"{name}.py")


# ----------------------------------------------------------------------------- the data


def kit_data(plan: ProbePlan, expected_values: ExpectedValues) -> dict[str, Any]:
    """Everything check.py needs, as plain JSON: the plan, the values, the policy and the checks' configuration."""
    require_separated(plan, expected_values, WHOLE_FUNCTION)  # else the kit would say "correct" where the grader deducts
    config = GradingConfig(seed=PUBLIC_SEED)
    functions = tuple(sorted({case.function for case in plan.cases}))
    return {
        "format": DATA_FORMAT,
        "assignment": ASSIGNMENT.id,  # a notebook whose metadata names another is refused, as the grader does
        # Injected into the `parameters` cell as `grader check` does; data_dir stays the student's own.
        "parameters": {name: v for name, v in NotebookParameters(config.notebook_seed(), "").as_dict().items() if name != "data_dir"},
        "cell_timeout": config.cell_timeout,
        "plan": plan_document(plan),
        "reference": results_document(expected_values.reference),
        "variants": {
            function: [{"flags": sorted(flags), "results": results_document(results_of)} for flags, results_of in stories]
            for function, stories in expected_values.variants.items()
            if function in functions
        },
        "questions": [{"tag": q.tag, "key": q.key} for q in QUESTIONS],  # where the KL part starts (answer_lines)
        "hints": ASSIGNMENT.kit_hints.value,
        "catalog": _mistake_words(ASSIGNMENT.kit_hints),  # in the order messages name them
        "deductions": DEDUCTIONS,
        "whole_function": {
            function: {
                "observables": [_observable_name(o) for o in whole.observables],
                "tolerance": _tolerance(whole.tolerance),
                "reshaped": whole.reshaped_mistake,
            }
            for function, whole in WHOLE_FUNCTION.items()
        },
        "checks": [_check_doc(check, plan) for check in CHECKS if not isinstance(check, ExperimentCheck)],
    }


def _mistake_words(level: KitHints) -> dict[str, dict[str, str]]:
    """What the kit may say of each catalogued mistake: its title, and its student-safe hint (never the
    explanation, which the report shows after grading and which may state the right formula)."""
    words = {}
    for name, m in CATALOG.items():
        said = {"function": m.function}
        if level is not KitHints.VALUES:
            said["title"] = m.title
        if level is KitHints.EXPLANATIONS and m.hint:
            said["hint"] = m.hint
        words[name] = said
    return words


def _observable_name(observable: Observable | Any) -> str:
    """An observable's name in the shipped observables module (check.py finds it there by name)."""
    name = str(getattr(observable, "__name__", ""))
    if getattr(observables, name, None) is not observable:
        raise HarnessError(f"{name or observable!r} is not in assignments/a10/observables.py, which the kit ships")
    return name


def _check_doc(check: Check, plan: ProbePlan) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": check.id, "title": check.title, "points": check.points}
    if isinstance(check, SymbolicAnswerCheck):
        return {**doc, "kind": "derivation", "quantity": check.quantity}
    if isinstance(check, GaussianSamplerCheck):
        draws = {int(np.shape(case.args[0])[0]) for case in plan.cases_for(check.function)}
        return {
            **doc,
            "kind": "sampler",
            "function": check.function,
            "passed": check.passed,
            # The kit's own words for each finding (the grader's may state the right formula); the mistake it names, the same.
            "findings": {key: [KIT_FINDINGS.get(key, NOT_A_FRESH_SAMPLE), name] for key, (_, name) in SAMPLING_FINDINGS.items()},
            "perfect_correlation": check.perfect_correlation,
            "critical": {str(n): _critical_doc(check.critical(n)) for n in sorted(draws)},
        }
    if isinstance(check, ValueCheck):
        return {
            **doc,
            "kind": "value",
            "function": check.function,
            "observable": _observable_name(check.observable),
            "consistency": _observable_name(check.consistency) if check.consistency else None,
            "tolerance": _tolerance(check.tolerance),
            "words": OWN_VALUES_WORDS if check.consistency else KIT_WORDS[check.observable.__name__],
            "reshaped_message": check.reshaped_message,
        }
    raise HarnessError(f"check {check.id} has no form in the student kit; teach assignments/a10/kit.py about it")


def _critical_doc(critical: sampling.CriticalValues) -> dict[str, Any]:
    return {"mean": critical.mean, "spread": list(critical.spread), "correlation": critical.correlation, "normality": critical.normality}


def _tolerance(tolerance: Tolerance) -> list[float]:
    return [tolerance.rtol, tolerance.atol]


# ----------------------------------------------------------------------------- the notebook


def kit_notebook(template: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The template with a `check(...)` cell after each function's definition and a full check at the end."""
    notebook: nbformat.NotebookNode = nbformat.from_dict(template)
    for function, part in CHECK_CELLS:
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
