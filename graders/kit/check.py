"""Self-check: your functions on the public inputs, judged by the grader's own code.

    python check.py NOTEBOOK            # from a terminal: runs the notebook's code cells, then checks
    from check import check; check()    # from inside the notebook: checks the functions you defined
    check("PART")                       # one part (the first word of a check's id; the kit's README names them)

The folder `grader/` beside this file holds the grader's own modules, copied verbatim (the same files
as in the grader's packages): the probe runtime calls your functions with the grader's inputs, seeds
and time limits, and the grader's check kinds judge the values, name the known mistakes and word the
messages. What this file adds is data and presentation: `kit_data.json` (written by `grader kit`)
holds the public inputs, the reference's and each known mistake's values on them, and each check's
configuration in the kit's own words, which say how your values differ and which known mistake they
match (as much as the assignment's hint level allows), never the right formula. The hidden inputs,
whether the derivation is right and any experiment are graded after you submit.

From a terminal, the notebook runs as the grader runs it: in an IPython shell (magics and `!` lines
run, as in Jupyter), the kit's own check cells emptied, and `check` importing the stub the grader
gives every notebook (`CHECK_STUB`), so `from check import check` anywhere is harmless. A check
cell that defines something the notebook needs is named in a warning: the grader will not see it.

The kit needs the standard library, numpy, torch, nbformat, IPython (with traitlets) and sympy, which
torch installs; nothing of the grader is installed. In the grader this module is graders.kit.check
(every assignment's kit ships it), and the same imports resolve to the grader's packages; what is an
assignment's own (its observables, its derivation reader) the data names and the kit ships.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

KIT_DIR = Path(__file__).resolve().parent
DATA_FILE = "kit_data.json"
LIBRARY = "grader"  # the folder beside check.py with the grader's modules, under their package names
if not __package__ and str(KIT_DIR / LIBRARY) not in sys.path:  # run as the kit's check.py, not inside the grader
    sys.path.insert(0, str(KIT_DIR / LIBRARY))

# After the path is set: in the kit these are the shipped copies, in the grader its own packages.
from graders.assignment.spec import Misconception, Question  # noqa: E402
from graders.judge.cells import cell_source, cell_tags  # noqa: E402
from graders.judge.checks import Check, Judged  # noqa: E402
from graders.judge.comparison import Tolerance  # noqa: E402
from graders.judge.diagnosis import DeductionPolicy, WholeFunction  # noqa: E402
from graders.judge.expected import ExpectedValues  # noqa: E402
from graders.judge.kinds.sampler import GaussianSamplerCheck  # noqa: E402
from graders.judge.kinds.symbolic import AnswerVerdict, SymbolicAnswerCheck  # noqa: E402
from graders.judge.kinds.value import ValueCheck  # noqa: E402
from graders.judge.probes import ProbePlan, ProbeResults, decode_results, evaluate_in_process, plan_from_document  # noqa: E402
from graders.judge.sampling import CriticalValues  # noqa: E402
from graders.kit.cells import definition_warnings, numbered  # noqa: E402
from graders.kit.table import CellFailure, Verdict, format_table  # noqa: E402
from graders.results import CheckResult, CheckStatus, DerivationAnswer  # noqa: E402
from graders.runtime import probe_runtime  # noqa: E402
from graders.tags import CHECK_MODULE, CHECK_STUB, KIT_CELL_TAG, KIT_MIME, named_assignment  # noqa: E402

# ----------------------------------------------------------------------------- the kit's files


def library_files(kit_dir: Path = KIT_DIR) -> list[Path]:
    """The grader's modules the kit ships, in a stable order."""
    return sorted((kit_dir / LIBRARY).rglob("*.py"))


def kit_hash(kit_dir: Path = KIT_DIR) -> str:
    """The kit's content hash: the checker, the grader's modules and the data (not the notebook, which students edit)."""
    content = hashlib.sha256()
    for path in [kit_dir / "check.py", *library_files(kit_dir), kit_dir / DATA_FILE]:
        content.update(path.relative_to(kit_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return content.hexdigest()[:12]


def load_data(kit_dir: Path = KIT_DIR) -> dict[str, Any]:
    return dict(json.loads((kit_dir / DATA_FILE).read_text(encoding="utf-8")))


# ----------------------------------------------------------------------------- the grader's checks, configured from the data


@dataclass(frozen=True)
class Judging:
    """The public plan, the reference's and the mistakes' values on it, the deduction policy and the checks."""

    plan: ProbePlan
    expected: ExpectedValues
    policy: DeductionPolicy
    checks: tuple[Check, ...]  # in the grader's order, the experiment left out

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Judging:
        plan = plan_from_document(data["plan"])
        variants = {
            function: tuple((frozenset(v["flags"]), decode_results(v["results"], plan)) for v in stories)
            for function, stories in data["variants"].items()
        }
        expected = ExpectedValues(decode_results(data["reference"], plan), variants, reference_hash="")
        return cls(plan, expected, _policy(data), tuple(_check(data, doc) for doc in data["checks"]))


def _policy(data: Mapping[str, Any]) -> DeductionPolicy:
    # A mistake's explanation may state the right formula: the kit carries its title and hint (as the hint level allows).
    catalog = {
        name: Misconception(name, words["function"], words.get("title", ""), "", hint=words.get("hint", ""))
        for name, words in data["catalog"].items()
    }
    whole = {
        function: WholeFunction(
            tuple(_observable(data, name) for name in doc["observables"]), Tolerance(*doc["tolerance"]), doc["reshaped"]
        )
        for function, doc in data["whole_function"].items()
    }
    return DeductionPolicy(catalog, data["deductions"], whole)


def named_function(reference: str) -> Any:
    """`module:name` in a module the kit ships (the grader checked it is one when it wrote the data)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _observable(data: Mapping[str, Any], name: str) -> Any:
    """An observable of the assignment's, by name in its observables module (the data's `observables`)."""
    return named_function(f"{data['observables']}:{name}")


def _check(data: Mapping[str, Any], doc: Mapping[str, Any]) -> Check:
    kind, common = doc["kind"], (doc["id"], doc["title"], doc["points"])
    if kind == "value":
        return ValueCheck(
            *common,
            function=doc["function"],
            observable=_observable(data, doc["observable"]),
            tolerance=Tolerance(*doc["tolerance"]),
            expectation=doc["words"],
            hint="",  # said only of hidden inputs, which the kit has none of
            consistency=_observable(data, doc["consistency"]) if doc["consistency"] else None,
            reshaped_message=doc["reshaped_message"],
        )
    if kind == "sampler":
        critical = {int(n): CriticalValues(**{**values, "spread": tuple(values["spread"])}) for n, values in doc["critical"].items()}
        return GaussianSamplerCheck(
            *common,
            function=doc["function"],
            passed=doc["passed"],
            findings={key: (words, name) for key, (words, name) in doc["findings"].items()},
            perfect_correlation=doc["perfect_correlation"],
            critical=critical.__getitem__,
        )
    return SymbolicAnswerCheck(*common, quantity=doc["quantity"], judge=partial(_readable, doc["readable"], doc["quantity"]))


def _readable(reader: str, quantity: str, latex: str | None) -> AnswerVerdict:
    """Found and readable, by the grader's own reader (imported when asked: sympy takes a moment)."""
    verdict: AnswerVerdict = named_function(reader)(quantity, latex)
    return verdict


# ----------------------------------------------------------------------------- verdicts


def named(names: Sequence[str], data: Mapping[str, Any]) -> tuple[str, ...]:
    """The mistakes a verdict names: none when the kit gives values only."""
    return tuple(names) if data["hints"] != "values" else ()


def about_mistakes(names: Sequence[str], data: Mapping[str, Any]) -> str:
    """What the kit says of the catalogued mistakes a failure matches, at the assignment's hint level (never the right formula)."""
    words = [data["catalog"][name] for name in named(names, data)]
    if not words:
        return ""
    return " This matches a known mistake: " + " ".join(f"{w['title']}." + (f" {w['hint']}" if w.get("hint") else "") for w in words)


def verdict_of(result: CheckResult, check: Check, data: Mapping[str, Any]) -> Verdict:
    names = result.misconceptions if result.status is CheckStatus.FAIL else ()
    message = result.message + about_mistakes(names, data)
    return Verdict(
        result.id, result.status.value, result.max_score, message, named(names, data), not isinstance(check, SymbolicAnswerCheck)
    )


def judge_all(
    data: Mapping[str, Any], namespace: Mapping[str, Any], cells: Sequence[Mapping[str, Any]] | None, part: str | None = None
) -> list[Verdict]:
    """Every public check (or those of one part), by the grader's checks; derivation checks only when the notebook's cells are known."""
    judging = Judging.of(data)
    checks = [
        c
        for c in judging.checks
        if part in (None, c.id, c.id.split(".")[0]) and (cells is not None or not isinstance(c, SymbolicAnswerCheck))
    ]
    functions = tuple(sorted({c.function for c in checks if isinstance(c, (ValueCheck, GaussianSamplerCheck))}))
    # The grader's runtime calls them (each in its own known state, the notebook's random streams given back after).
    student = evaluate_in_process(judging.plan, namespace, functions) if functions else ProbeResults({})
    evidence = Judged(judging.plan, student, judging.expected, _derivation(cells, data), self_check=True, policy=judging.policy)
    return [verdict_of(check.run(evidence), check, data) for check in checks]


def _derivation(cells: Sequence[Mapping[str, Any]] | None, data: Mapping[str, Any]) -> tuple[DerivationAnswer, ...]:
    """The derivation's answers as the grader finds them (the assignment's reader, the data's `derivation_reader`)."""
    if cells is None:
        return ()
    questions = [Question("", q["tag"], q["key"]) for q in data["questions"]]
    answers: tuple[DerivationAnswer, ...] = named_function(data["derivation_reader"])({"cells": cells}, questions)
    return answers


def every_check_errs(data: Mapping[str, Any], message: str) -> list[Verdict]:
    """Every public check an error, for one reason (a notebook that cannot be run)."""
    return [Verdict(doc["id"], "error", doc["points"], message, scored=doc["kind"] != "derivation") for doc in data["checks"]]


def graded_functions(data: Mapping[str, Any]) -> set[str]:
    """What the grader calls after the notebook's last cell."""
    return {case["function"] for case in data["plan"]["cases"]}


# ----------------------------------------------------------------------------- from a terminal: run the notebook


class _CellTimeout(BaseException):
    """Raised in a cell past its time limit (a BaseException: `except Exception` in the cell cannot swallow it)."""


def kernel_like_shell(ipython_dir: str) -> Any:
    """A fresh IPython shell, as the grader's warm path runs cells (graders/execute/shell_engine.py): magics,
    `!` lines and display() work as in Jupyter. Its profile lives in `ipython_dir`, not the student's home."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Shell(InteractiveShell):
        def enable_gui(self, gui: str | None = None) -> None:
            """No GUI event loop: figures go to matplotlib's Agg backend (MPLBACKEND), as nothing shows them."""

    InteractiveShell.clear_instance()  # get_ipython() in a cell must return this shell
    # No history database: it would be one more file and a thread.
    config = Config({"HistoryManager": {"enabled": False}, "InteractiveShell": {"colors": "NoColor"}})
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return Shell.instance(config=config, ipython_dir=ipython_dir)


@contextlib.contextmanager
def check_stub_imported() -> Iterator[None]:
    """`import check` gives the grader's stub (CHECK_STUB) inside: what a graded notebook imports."""
    stub = ModuleType(CHECK_MODULE, "The student kit's check() while a notebook is graded.")
    exec(compile(CHECK_STUB, f"{CHECK_MODULE}.py", "exec"), stub.__dict__)  # noqa: S102 - the stub above, this file's own text
    saved = sys.modules.get(CHECK_MODULE)
    sys.modules[CHECK_MODULE] = stub
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop(CHECK_MODULE, None)
        else:
            sys.modules[CHECK_MODULE] = saved


def run_cells(shell: Any, cells: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any], cell_timeout: float) -> list[CellFailure]:
    """Run the code cells in order in `shell`, as grading does: the parameters injected right after the
    cell tagged `parameters` (before the first cell if none is), the kit's check cells skipped (the grader
    empties them), a cell that raises recorded and execution going on, a cell that used more than
    `cell_timeout` seconds interrupted (the grader's TimeLimit: time spent waiting for a busy CPU does not
    count). Printed output is not shown. The notebook's names end up in `shell.user_ns`."""
    injected = "".join(f"{key} = {value!r}\n" for key, value in parameters.items())
    failures: list[CellFailure] = []
    if not any("parameters" in cell_tags(cell) for cell in cells):
        shell.run_cell(injected)
    for number, cell, tags in numbered(cells):
        if cell.get("cell_type") != "code" or KIT_CELL_TAG in tags:
            continue
        failure = _run_cell(shell, cell_source(cell), cell_timeout)
        if failure is not None:
            failures.append(CellFailure(number, *failure))
        if "parameters" in tags:
            shell.run_cell(injected)
    return failures


def _run_cell(shell: Any, source: str, cell_timeout: float) -> tuple[str, str] | None:
    """(the error's name, its message) if the cell failed, else None."""
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            probe_runtime.TimeLimit(cell_timeout, _CellTimeout),
        ):
            result = shell.run_cell(source, store_history=True)
        error = result.error_before_exec or result.error_in_exec
    except _CellTimeout as timeout:  # the limit struck in IPython's own code around the cell's
        error = timeout
    if error is None:
        return None
    if isinstance(error, _CellTimeout):
        return "Timeout", f"the cell ran longer than the {cell_timeout:g} s limit and was interrupted"
    return type(error).__name__, str(error)[:500]


def check_file(path: Path, *, data: Mapping[str, Any], cell_timeout: float, data_dir: str | None) -> tuple[str, bool]:
    """The table for one notebook file, and whether every check passed."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the student's to fix, and said so
        return format_table(path.stem, every_check_errs(data, f"Your notebook could not be read: {exc}.")), False
    other = named_assignment(notebook)
    if other is not None and other != data["assignment"]:  # as the grader refuses it (graders/pipeline/triage.py)
        message = f"Your notebook could not be graded: its metadata says it is for {other!r}, and this kit checks {data['assignment']!r}."
        return format_table(path.stem, every_check_errs(data, message)), False
    parameters = {**data["parameters"], **({"data_dir": data_dir} if data_dir else {})}
    # Imported before the first cell, outside its time limit, as the grader's warm kernels have it: torch's
    # first import can take longer than a cell may, and an import interrupted half-way would stay broken.
    import torch  # noqa: F401

    os.environ.setdefault("MPLBACKEND", "Agg")  # plt.show() must not open windows or wait
    folder = Path.cwd()
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        os.chdir(path.parent)  # relative paths in the notebook mean what they mean in Jupyter
        with tempfile.TemporaryDirectory(prefix="grader-kit-ipython-") as ipython_dir, check_stub_imported():
            shell = kernel_like_shell(ipython_dir)
            failures = run_cells(shell, notebook.cells, parameters, cell_timeout)
            verdicts = judge_all(data, shell.user_ns, notebook.cells)
    finally:
        os.chdir(folder)
    table = format_table(path.stem, verdicts, cell_failures=failures, warnings=definition_warnings(notebook.cells, graded_functions(data)))
    return table, all(v.status == "pass" for v in verdicts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check.py", description="Self-check a notebook on the public inputs.")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=float, default=None, help="seconds one cell may run (default: the grader's)")
    parser.add_argument("--data-dir", default=None, help="the data for cells that read some (default: the notebook's own data_dir)")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        print(f"check.py: {args.notebook} is not a file", file=sys.stderr)
        return 2
    if importlib.util.find_spec("IPython") is None:
        print("check.py: running a notebook needs IPython, which Jupyter runs notebooks with: pip install ipython", file=sys.stderr)
        return 2
    data = load_data()
    table, passed = check_file(args.notebook, data=data, cell_timeout=args.timeout or data["cell_timeout"], data_dir=args.data_dir)
    print(table)
    print(f"\nChecked with kit {kit_hash()}.")
    return 0 if passed else 1


# ----------------------------------------------------------------------------- from inside the notebook


def _notebook_cells(namespace: Mapping[str, Any]) -> list[Any] | None:
    """The saved notebook's cells, when the kernel knows its file (Jupyter ≥ 2, VS Code); else None."""
    import nbformat

    name = namespace.get("__vsc_ipynb_file__") or os.environ.get("JPY_SESSION_NAME")
    if not name or not Path(name).is_file():
        return None
    try:
        return list(nbformat.read(str(name), as_version=4).cells)
    except Exception:  # noqa: BLE001 - an unsaved or odd file: check the functions only
        return None


def check(part: str | None = None) -> None:
    """Check the functions defined in this notebook on the public inputs (all parts, or one)."""
    namespace = sys._getframe(1).f_globals
    data = load_data()
    saved = _notebook_cells(namespace)
    about_derivation = part is None or part.startswith("derivation")
    cells = saved if about_derivation else None
    if cells is None and part is not None and about_derivation:
        print("Your written answers are checked from a terminal (a kernel cannot read its notebook): python check.py NOTEBOOK")
        return
    # The probe runtime calls every function in its own known state, random streams included (KnownState),
    # and gives the notebook's back: a check does not change what the student's next cell draws.
    verdicts = judge_all(data, namespace, cells, part)
    if not verdicts:
        parts = sorted({s["id"].split(".")[0] for s in data["checks"]})
        print(f"Nothing to check for {part!r}: the parts are {', '.join(parts)}.")
        return
    table = format_table("this notebook", verdicts, warnings=definition_warnings(saved, graded_functions(data)), whole=part is None)
    table += f"\n\nChecked with kit {kit_hash()}."
    if cells is None:
        table += " Your written answers (derivation.*) are checked from a terminal: python check.py NOTEBOOK."
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(table)
        return
    if get_ipython() is None:  # plain Python: nothing would keep the record
        print(table)
        return
    # Saved with the notebook, this output tells the grader which kit the student checked with.
    display({"text/plain": table, KIT_MIME: {"kit": kit_hash(), "checks": {v.id: v.status for v in verdicts}}}, raw=True)


if __name__ == "__main__":
    sys.exit(main())
