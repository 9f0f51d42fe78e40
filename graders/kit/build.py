"""`grader kit --out DIR`: the student handout that self-checks without the grader or `reference/`.

The kit is four files: the template notebook (with a `check(...)` cell after each exercise),
`check.py` (graders/kit/template/check.py, copied verbatim: it imports nothing of the harness),
`kit_data.json` and a README. The data is derived from the grader itself, never re-typed: the
public probe plan's inputs and calls, and for every public check the value of its observable
on the reference and on each misconception variant, as numbers. So the kit judges like
`grader check` while carrying no line of `reference/`, no hidden input and no grading seed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from graders.assignment import probe_runtime
from graders.errors import HarnessError, UsageError
from graders.judge.checks import CallFailed, Check, DerivationCheck, ReparameterizeCheck, ValueCheck, applicable_checks
from graders.judge.comparison import Unusable
from graders.judge.expected import ExpectedValues, compute_expected
from graders.judge.probes import ProbePlan, public_plan
from graders.kit.template import check as kit_check
from graders.pipeline.batch import GradingConfig
from reference.misconceptions import CATALOG

TEMPLATE_DIR = Path(kit_check.__file__).resolve().parent
HANDOUT = Path(__file__).resolve().parents[2] / "handout" / "assignment10.ipynb"
NOTEBOOK_NAME = "assignment10.ipynb"
DATA_FORMAT = 1
# (function whose definition the cell follows, the part it checks): each exercise ends with its check.
CHECK_CELLS = (("closed_form", "closed_form"), ("reparameterize", "reparameterize"), ("vae_loss", "vae_loss"))


@dataclass(frozen=True)
class Kit:
    folder: Path
    hash: str  # what check.py prints: the checker and its data (see check.kit_hash)
    files: tuple[str, ...]


def build_kit(out: Path) -> Kit:
    """Write the kit into `out` (which must not exist or be empty) and return its hash."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder; the kit is written into a new one")
    if not HANDOUT.is_file():
        raise HarnessError(f"the template notebook {HANDOUT} is missing (the kit is built from a source checkout)")
    out.mkdir(parents=True, exist_ok=True)
    plan = public_plan()
    data = kit_data(plan, compute_expected(plan))
    shutil.copyfile(TEMPLATE_DIR / "check.py", out / "check.py")
    shutil.copyfile(TEMPLATE_DIR / "README.md", out / "README.md")
    (out / kit_check.DATA_FILE).write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    nbformat.write(kit_notebook(nbformat.read(str(HANDOUT), as_version=4)), str(out / NOTEBOOK_NAME))
    files = tuple(sorted(path.name for path in out.iterdir()))
    return Kit(out, kit_check.kit_hash(out), files)


# ----------------------------------------------------------------------------- the data


def kit_data(plan: ProbePlan, expected: ExpectedValues) -> dict[str, Any]:
    """Everything check.py needs, as plain JSON numbers: inputs, calls, and every public check's expected values."""
    request = plan.request(tuple(sorted({case.function for case in plan.cases})))
    config = GradingConfig()
    return {
        "format": DATA_FORMAT,
        # Injected into the `parameters` cell as grading does; the seed and data_dir stay the student's own.
        "parameters": {"epochs": config.epochs, "train_size": config.train_size, "batch_size": config.batch_size},
        "cell_timeout": config.cell_timeout,
        "call_time_limit": plan.call_time_limit,
        "inputs": {key: [_number_doc(probe_runtime.decode(arg)) for arg in args] for key, args in request["inputs"].items()},
        "calls": [
            {
                "id": call["id"],
                "function": call["function"],
                "inputs": call["inputs"],
                "kl_loss_weight": probe_runtime.decode(call["kwargs"]["kl_loss_weight"]) if call["kwargs"] else None,
                "seed": call["seed"],
            }
            for call in request["calls"]
        ],
        "checks": [_check_doc(check, plan, expected) for check in applicable_checks(plan)],
    }


def _check_doc(check: Check, plan: ProbePlan, expected: ExpectedValues) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": check.id, "title": check.title, "points": check.points}
    if isinstance(check, DerivationCheck):
        return {**doc, "kind": "derivation", "function": "", "quantity": check.quantity}
    if isinstance(check, ReparameterizeCheck):
        cases = plan.cases_for("reparameterize")
        models = {case.name: ReparameterizeCheck.models(case) for case in cases}
        return {
            **doc,
            "kind": "reparameterize",
            "function": "reparameterize",
            "cases": {
                name: {"mu": mu.tolist(), "sigma": {m: s.tolist() for m, s in sigmas.items()}} for name, (mu, sigmas) in models.items()
            },
        }
    if isinstance(check, ValueCheck):
        return {**doc, **_value_check_doc(check, plan, expected)}
    raise HarnessError(f"check {check.id} has no form in the student kit; teach graders/kit/build.py about it")


def _value_check_doc(check: ValueCheck, plan: ProbePlan, expected: ExpectedValues) -> dict[str, Any]:
    if check.observable.__name__ not in kit_check.OBSERVABLES:
        raise HarnessError(f"check {check.id}: check.py has no observable {check.observable.__name__}; add it to OBSERVABLES there")
    cases = plan.cases_for(check.function)
    variants = []
    for flags, results in expected.variants.get(check.function, ()):
        try:
            values = {case.name: _array_doc(check.observable(results, case)) for case in cases}
        except (CallFailed, Unusable):  # the grader skips such a variant too
            continue
        variants.append({"misconceptions": [name for name in CATALOG if name in flags], "values": values})
    return {
        "kind": "value",
        "function": check.function,
        "observable": check.observable.__name__,
        "rtol": check.tolerance.rtol,
        "atol": check.tolerance.atol,
        "expectation": check.expectation,
        "cases": {case.name: _array_doc(check.observable(expected.reference, case)) for case in cases},
        "variants": variants,
    }


def _number_doc(value: Any) -> Any:
    """An input: arrays as `{"dtype", "shape", "values"}`, numbers (t, a weight) as they are, as the grader passes them."""
    return _array_doc(value) if isinstance(value, np.ndarray) else value


def _array_doc(value: Any) -> dict[str, Any]:
    """An observable's value (an array or a numpy scalar) as numbers that check.array_from reads back exactly."""
    array = np.asarray(value)
    return {"dtype": array.dtype.name, "shape": list(array.shape), "values": array.ravel().tolist()}


# ----------------------------------------------------------------------------- the notebook


def kit_notebook(template: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The template with a `check(...)` cell after each function's definition and a full check at the end."""
    notebook = nbformat.from_dict(template)
    for function, part in CHECK_CELLS:
        index = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and f"def {function}(" in cell.source)
        notebook.cells.insert(index + 1, _check_cell(part, f'from check import check\n\ncheck("{part}")'))
    notebook.cells.append(
        _check_cell("all", "from check import check\n\ncheck()  # every public check; the written answers are read from the saved notebook")
    )
    return notebook


def _check_cell(name: str, source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = f"{kit_check.KIT_CELL_TAG}-{name}".replace("_", "-")  # stable ids: the same kit every build
    cell.metadata["tags"] = [kit_check.KIT_CELL_TAG]
    return cell
