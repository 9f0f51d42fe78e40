"""`grader kit --out DIR`: the student handout that self-checks without the grader or `reference/`.

The kit is six files: the template notebook (with a `check(...)` cell after each exercise),
`check.py` (assignments/a10/kit_check.py, copied verbatim), two of the grader's own modules
copied verbatim (`probe_runtime.py`, which calls the functions in every graded notebook, and
`answer_lines.py`, which finds the derivation's answers), `kit_data.json` and a README. The
data is derived from the grader at build time, never re-typed: the public plan's request (inputs,
calls, seeds, time limits), each public check's title and points and the reference's and every
misconception variant's values of its observable on the public inputs, the diagnosis stories, the
deduction policy, and the sampling tests as critical values at the grader's false-alarm rate. So the
kit judges like `grader check` while carrying no line of `reference/`, no hidden input, no grading
seed and no experiment (its reference is training from the grading seed). What it says of a wrong
value is its own (issue 22): how the values differ and, at the assignment's `kit_hints` level, the
matching mistake's title and hint; never a check's expectation or a mistake's explanation, which state
the right formula (the grader's report gives those after grading). Public inputs on which a catalogued
mistake gives the reference's values are refused (graders/judge/separation.py).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
from scipy import stats

from assignments.a10 import ASSIGNMENT, answer_lines, kit_check
from assignments.a10.checks import CHECKS, DEDUCTIONS, PERFECT_CORRELATION, SAMPLING_FINDINGS, SAMPLING_PASS, WHOLE_FUNCTION
from assignments.a10.contract import PUBLIC_SEED, QUESTIONS, NotebookParameters
from assignments.a10.expected import compute_expected
from assignments.a10.observables import LOSS_TOLERANCE
from assignments.a10.plan import VAE_WEIGHTS, build_plan
from graders import tags
from graders.assignment.spec import KitHints
from graders.errors import HarnessError, UsageError
from graders.judge import reading
from graders.judge.checks import Check
from graders.judge.comparison import Tolerance, Unusable
from graders.judge.expected import ExpectedValues
from graders.judge.kinds.experiment import ExperimentCheck
from graders.judge.kinds.sampler import GaussianSamplerCheck
from graders.judge.kinds.symbolic import SymbolicAnswerCheck
from graders.judge.kinds.value import ValueCheck
from graders.judge.probes import Case, ProbePlan
from graders.judge.sampling import FLOAT32_ROUNDING, GRADIENT_RTOL, P_MIN
from graders.judge.separation import require_separated
from graders.judge.values import CallFailed, Observable
from graders.pipeline.config import GradingConfig
from graders.runtime import probe_runtime
from reference.a10.misconceptions import CATALOG

HANDOUT = Path(__file__).resolve().parent / "handout" / "assignment10.ipynb"
README = Path(__file__).resolve().parent / "kit_README.md"
NOTEBOOK_NAME = "assignment10.ipynb"
DATA_FORMAT = 4  # 3: the assignment id (a notebook marked for another is refused); 4: hint level, no expectations
# (function whose definition the cell follows, the part it checks): each exercise ends with its check.
CHECK_CELLS = (("closed_form", "closed_form"), ("reparameterize", "reparameterize"), ("vae_loss", "vae_loss"))
# Each check cell says so itself: check.py warns about code left there, this says it before any is.
CHECK_CELL_NOTE = "# The grader empties this cell before it runs your notebook: keep your own code in other cells.\n"
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
    hash: str  # what check.py prints: the checker, the runtime and the data (see kit_check.kit_hash)
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
    shutil.copyfile(probe_runtime.__file__, out / kit_check.RUNTIME_FILE)
    shutil.copyfile(answer_lines.__file__, out / kit_check.ANSWER_LINES_FILE)
    shutil.copyfile(reading.__file__, out / kit_check.READING_FILE)
    shutil.copyfile(tags.__file__, out / kit_check.TAGS_FILE)
    shutil.copyfile(README, out / "README.md")
    (out / kit_check.DATA_FILE).write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    nbformat.write(kit_notebook(nbformat.read(str(HANDOUT), as_version=4)), str(out / NOTEBOOK_NAME))
    return Kit(out, kit_check.kit_hash(out), tuple(sorted(path.name for path in out.iterdir())))


# ----------------------------------------------------------------------------- the data


def kit_data(plan: ProbePlan, expected: ExpectedValues) -> dict[str, Any]:
    """Everything check.py needs, as plain JSON: the request, the rules' constants and every public check's values."""
    for function in WHOLE_FUNCTION:
        if len(plan.cases_for(function)) != 1:  # check.py's diagnosis relies on it (no partial evidence to weigh)
            raise HarnessError(f"the kit expects one public case of {function}; teach assignments/a10/kit_check.py more")
    require_separated(plan, expected, WHOLE_FUNCTION)  # else the kit would say "correct" where the grader deducts
    config = GradingConfig(seed=PUBLIC_SEED)
    return {
        "format": DATA_FORMAT,
        "assignment": ASSIGNMENT.id,  # a notebook whose metadata names another is refused, as the grader does
        # Injected into the `parameters` cell as `grader check` does; data_dir stays the student's own.
        "parameters": {
            name: value for name, value in NotebookParameters(config.notebook_seed(), "").as_dict().items() if name != "data_dir"
        },
        "cell_timeout": config.cell_timeout,
        "request": plan.request(),
        "value_limits": plan.value_limits(),
        "vae_weights": list(VAE_WEIGHTS),
        "x0_shapes": {case.name: list(np.shape(case.args[0])) for case in plan.cases_for("closed_form")},
        "loss_atol": LOSS_TOLERANCE.atol,
        "questions": [{"tag": q.tag, "key": q.key} for q in QUESTIONS],  # where the KL part starts (answer_lines)
        "catalog": list(CATALOG),  # the mistakes' ids, in the order messages name them
        "hints": ASSIGNMENT.kit_hints.value,
        "mistakes": _mistake_words(ASSIGNMENT.kit_hints),
        "deductions": DEDUCTIONS,
        "diagnosis": {function: _diagnosis_doc(function, plan, expected) for function in WHOLE_FUNCTION},
        "sampling": _sampling_doc(plan),
        "checks": [_check_doc(check, plan, expected) for check in CHECKS if not isinstance(check, ExperimentCheck)],
    }


def _mistake_words(level: KitHints) -> dict[str, dict[str, str]]:
    """What the kit may say of each catalogued mistake: its title, and its student-safe hint (never the
    explanation, which the report shows after grading and which may state the right formula)."""
    if level is KitHints.VALUES:
        return {}
    return {
        name: {"title": m.title, **({"hint": m.hint} if level is KitHints.EXPLANATIONS and m.hint else {})} for name, m in CATALOG.items()
    }


def _diagnosis_doc(function: str, plan: ProbePlan, expected: ExpectedValues) -> dict[str, Any]:
    """The stories diagnosis.diagnose weighs, in its order (the reference first, smallest flag sets next)."""
    whole = WHOLE_FUNCTION[function]
    observables, tolerance = whole.observables, whole.tolerance
    (case,) = plan.cases_for(function)
    stories = []
    for flags, results in [(frozenset[str](), expected.reference), *expected.variants.get(function, ())]:
        values = _values(observables, results, case)
        if values is not None:  # a story whose values cannot be read explains nothing (diagnosis._explains)
            stories.append({"flags": [name for name in CATALOG if name in flags], "values": values})
    return {"cases": [case.name], "observables": [o.__name__ for o in observables], "tolerance": _tolerance(tolerance), "stories": stories}


def _values(observables: tuple[Observable, ...], results: Any, case: Case) -> list[dict[str, Any]] | None:
    try:
        return [_array_doc(observable(results, case)) for observable in observables]
    except (CallFailed, Unusable):
        return None


def _sampling_doc(plan: ProbePlan) -> dict[str, Any]:
    """sampling.sample_tests as critical values: a p-value below P_MIN is a statistic beyond these (same n for every case)."""
    (n,) = {int(np.shape(case.args[0])[0]) for case in plan.cases_for("reparameterize")}
    return {
        "mean": float(stats.norm.isf(P_MIN / 2)),
        "spread": [float(stats.chi2.ppf(P_MIN / 2, n - 1)), float(stats.chi2.isf(P_MIN / 2, n - 1))],
        "correlation": float(stats.t.isf(P_MIN / 2, n - 2)),
        "normality": float(stats.kstwo.isf(P_MIN, n)),
        "perfect_correlation": PERFECT_CORRELATION,
        "gradient_tolerance": {"rtol": GRADIENT_RTOL, "float32_rounding": FLOAT32_ROUNDING},
        "pass": SAMPLING_PASS,
        # The kit's own words for each finding (the grader's may state the right formula); the mistake it names, the same.
        "findings": {key: [KIT_FINDINGS.get(key, NOT_A_FRESH_SAMPLE), name] for key, (_, name) in SAMPLING_FINDINGS.items()},
    }


def _check_doc(check: Check, plan: ProbePlan, expected: ExpectedValues) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": check.id, "title": check.title, "points": check.points}
    if isinstance(check, SymbolicAnswerCheck):
        return {**doc, "kind": "derivation", "function": "", "quantity": check.quantity}
    if isinstance(check, GaussianSamplerCheck):
        cases = {
            case.name: {"mu": case.args[0][0].tolist(), "logvar": case.args[1][0].tolist(), "shape": list(np.shape(case.args[0]))}
            for case in plan.cases_for("reparameterize")
        }
        return {**doc, "kind": "reparameterize", "function": "reparameterize", "cases": cases}
    if isinstance(check, ValueCheck):
        return {**doc, **_value_check_doc(check, plan, expected)}
    raise HarnessError(f"check {check.id} has no form in the student kit; teach assignments/a10/kit.py about it")


def _value_check_doc(check: ValueCheck, plan: ProbePlan, expected: ExpectedValues) -> dict[str, Any]:
    if check.observable.__name__ not in kit_check.OBSERVABLES or check.observable.__name__ not in kit_check.OBSERVED:
        raise HarnessError(
            f"check {check.id}: check.py has no observable {check.observable.__name__}; add it to OBSERVABLES and OBSERVED there"
        )
    consistency = check.consistency.__name__ if check.consistency else None
    if consistency is not None and (consistency not in kit_check.CONSISTENCIES or consistency not in kit_check.OBSERVED):
        raise HarnessError(f"check {check.id}: check.py has no consistency {consistency}; add it to CONSISTENCIES and OBSERVED there")
    (case,) = plan.cases_for(check.function)
    variants = []
    for flags, results in expected.variants.get(check.function, ()):
        values = _values((check.observable,), results, case)
        if values is not None:  # the grader skips such a variant too (ValueCheck._misconceptions)
            variants.append({"misconceptions": [name for name in CATALOG if name in flags], "values": {case.name: values[0]}})
    return {
        "kind": "value",
        "function": check.function,
        "observable": check.observable.__name__,
        "consistency": consistency,
        "tolerance": _tolerance(check.tolerance),
        "reference": {case.name: _array_doc(check.observable(expected.reference, case))},
        "variants": variants,
    }


def _tolerance(tolerance: Tolerance) -> list[float]:
    return [tolerance.rtol, tolerance.atol]


def _array_doc(value: Any) -> dict[str, Any]:
    """An observable's value (an array or a numpy scalar) as numbers that kit_check.array_from reads back exactly."""
    array = np.asarray(value)
    return {"dtype": array.dtype.name, "shape": list(array.shape), "values": array.ravel().tolist()}


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
    cell.id = f"{kit_check.KIT_CELL_TAG}-{name}".replace("_", "-")  # stable ids: the same kit every build
    cell.metadata["tags"] = [kit_check.KIT_CELL_TAG]
    return cell
