"""The grading pipeline, one way through:

    submission file ─load─▶ notebook ─prepare─▶ job ─Executor─▶ executed notebook
        ─read─▶ probe values + answers ─checks─▶ CheckResults ─▶ SubmissionResult
        ─▶ results.json, report.html (as each finishes) ─▶ grades.csv, index.html

Every stage is a function of plain data; a submission that fails at any stage still leaves
with a SubmissionResult that says why.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from graders.assignment.contract import PROBE_TAG
from graders.assignment.dataset import ensure_mnist
from graders.errors import NotebookError
from graders.execute.cold import LocalExecutor
from graders.execute.jobs import RUNNING_CELL, ExecutionJob, ExecutionOutcome, Executor, default_jobs
from graders.execute.output_limits import limit_outputs
from graders.intake.discovery import Submission, find_submissions, points_outside
from graders.intake.notebooks import load_notebook, parse_notebook, sha256_of
from graders.judge import answers
from graders.judge.checks import MAX_SCORE, Evidence, errored_checks, run_checks
from graders.judge.expected import REFERENCE_DIR, ExpectedValues, compute_expected
from graders.judge.expected import reference_hash as current_reference_hash
from graders.judge.probes import DEFAULT_SEED, ProbePlan, ProbeResults, build_plan, probe_cell, public_plan, read_probe_results
from graders.kit.template.check import KIT_CELL_TAG, KIT_MIME
from graders.pipeline.cache import cache_key, cached_result, data_fingerprint, grader_fingerprint
from graders.report import render as reporting
from graders.results import CellError, SubmissionResult, SubmissionStatus, write_text_atomic
from graders.sandbox import SandboxPolicy

DEFAULT_CACHE = Path.home() / ".cache" / "a10-grader"


@dataclass(frozen=True)
class GradingConfig:
    """Everything that decides a grade besides the submission and the grader's code."""

    seed: int = DEFAULT_SEED
    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    jobs: int = field(default_factory=default_jobs)
    cold: bool = False  # a fresh Jupyter kernel per notebook instead of the warm zygote
    sandbox: bool = True  # confine each notebook (graders.sandbox), warm or cold
    memory_bytes: int = 2 * 1024**3
    force: bool = False  # regrade even submissions whose cached result is still valid
    data_dir: Path | None = None  # None: the grader's generated MNIST look-alike
    hidden: bool = True  # False for the student self-check: public inputs only
    # Injected into the notebook's `parameters` cell so grading trains briefly.
    epochs: int = 1
    train_size: int = 256
    batch_size: int = 64

    def decisive(self) -> dict[str, Any]:
        """The settings a grade depends on (not how many workers or which executor ran it)."""
        return {
            "seed": self.seed,
            "cell_timeout": self.cell_timeout,
            "notebook_timeout": self.notebook_timeout,
            "memory_bytes": self.memory_bytes,
            "hidden": self.hidden,
            "epochs": self.epochs,
            "train_size": self.train_size,
            "batch_size": self.batch_size,
        }

    def notebook_parameters(self, data_dir: Path) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "epochs": self.epochs,
            "train_size": self.train_size,
            "batch_size": self.batch_size,
            "data_dir": str(data_dir),
        }


@dataclass(frozen=True)
class Workspace:
    """Where one batch reads and writes; the sandbox hides everything here but a job's own work dir."""

    submissions_dir: Path
    out_dir: Path
    scratch: Path
    data_dir: Path

    def sandbox_policy(self, config: GradingConfig, work_dir: Path) -> dict[str, Any] | None:
        if not config.sandbox:
            return None
        hidden = (REFERENCE_DIR, self.submissions_dir, self.out_dir, self.scratch)
        return SandboxPolicy(
            memory_bytes=config.memory_bytes,
            hidden_dirs=tuple(str(p.resolve()) for p in hidden),
            writable_dirs=(str(work_dir),),
            readonly_dirs=(str(self.data_dir),),
            cgroup_name=f"{os.getpid()}-{work_dir.name}",
        ).to_json()


@dataclass(frozen=True)
class Prepared:
    """A submission that loaded: its notebook and where its job reads and writes."""

    submission: Submission
    sha256: str
    notebook: nbformat.NotebookNode
    job: ExecutionJob
    cache_key: str = ""


@lru_cache(maxsize=1)
def grader_version() -> str:
    try:
        return metadata.version("a10-grader")
    except metadata.PackageNotFoundError:
        return "unknown"


def grading_data(config: GradingConfig) -> Path:
    if config.data_dir is not None:
        return config.data_dir.resolve()
    return ensure_mnist(DEFAULT_CACHE / "mnist-lookalike").resolve()


# ----------------------------------------------------------------------------- the batch


def grade_folder(
    submissions_dir: Path,
    *,
    out_dir: Path,
    config: GradingConfig,
    executor: Executor | None = None,
    on_result: Callable[[SubmissionResult, int], None] = lambda result, total: None,
) -> tuple[SubmissionResult, ...]:
    """Grade every submission in the folder into `out_dir`; one bad notebook never stops the rest.

    Results still valid under the same key (see graders.pipeline.cache) are reused unless `config.force`.
    `on_result(result, total)` is called as each submission finishes (for progress display).
    """
    submissions = find_submissions(submissions_dir)
    data_dir = grading_data(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="a10-grader-"))
    kernel_data = share_data(data_dir, scratch) if config.sandbox else data_dir
    workspace = Workspace(submissions_dir.resolve(), out_dir.resolve(), scratch, kernel_data)
    # Without hidden inputs the batch is a self-check of each notebook, on the public plan the student kit uses.
    plan = build_plan(seed=config.seed, hidden=True, data_dir=kernel_data) if config.hidden else public_plan()
    expected = compute_expected(plan)
    results: list[SubmissionResult] = []

    def finish(result: SubmissionResult, *, fresh: bool = True) -> None:
        if fresh:
            result.write(out_dir / result.submission / "results.json")
            reporting.write_submission_report(result, out_dir=out_dir)
        results.append(result)
        on_result(result, len(submissions))

    prepared: dict[str, Prepared] = {}

    def jobs() -> Iterator[ExecutionJob]:
        """Lazily: the executor pulls the next job only when it has room for it."""
        data = data_fingerprint(data_dir)
        for submission in submissions:
            if points_outside(submission, submissions_dir):
                finish(
                    unreadable_result(
                        submission, "the file is a link to somewhere outside the submissions folder; submit the notebook itself", config
                    )
                )
                continue
            key = cache_key(
                sha256=sha256_of(submission.path), settings=config.decisive(), reference_hash=expected.reference_hash, data=data
            )
            cached = None if config.force else cached_result(out_dir, submission.id, key)
            if cached is not None:
                finish(cached, fresh=False)
                continue
            try:
                prepared[submission.id] = prepare(submission, plan, config, workspace, key)
            except NotebookError as exc:
                finish(unreadable_result(submission, str(exc), config, key))
                continue
            yield prepared[submission.id].job

    try:
        for outcome in (executor or make_executor(config)).map(jobs()):
            item = prepared[outcome.submission_id]
            finish(_assess_safely(item, outcome, out_dir, plan, expected, config))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ordered = tuple(sorted(results, key=lambda r: r.submission))
    reporting.write_grades_csv(ordered, out_dir=out_dir)
    reporting.write_class_overview(ordered, out_dir=out_dir)
    return ordered


def share_data(data_dir: Path, scratch: Path) -> Path:
    """A world-readable copy of the MNIST files, so the sandbox's unprivileged uid can read them
    whatever the permissions of the instructor's own copy (a 0700 home or cache folder)."""
    shared = scratch / "data"
    raw = shared / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for path in [shared, shared / "MNIST", raw]:
        path.chmod(0o755)
    for source in (data_dir / "MNIST" / "raw").iterdir():
        if source.is_file():
            shutil.copyfile(source, raw / source.name)
            (raw / source.name).chmod(0o644)
    return shared


def make_executor(config: GradingConfig) -> Executor:
    from graders.execute.warm import WarmExecutor

    return LocalExecutor(config.jobs) if config.cold else WarmExecutor(config.jobs)


def prepare(submission: Submission, plan: ProbePlan, config: GradingConfig, workspace: Workspace, key: str = "") -> Prepared:
    notebook = load_notebook(submission.path)
    runnable = nbformat.from_dict(notebook)
    runnable.cells = [cell for cell in runnable.cells if PROBE_TAG not in cell.get("metadata", {}).get("tags", [])]
    for cell in runnable.cells:
        if KIT_CELL_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = ""  # the kit's `check()` cells: no check.py here; blanked, not dropped, so cell numbers stay the student's
    runnable.cells.append(probe_cell(plan))
    runnable.metadata["a10_grader"] = {"grader_version": grader_version(), "seed": config.seed, "submission": submission.id}
    work_dir = workspace.scratch / f"{len(list(workspace.scratch.iterdir())):04d}"
    work_dir.mkdir()
    executed_dir = workspace.scratch / "executed"  # out of the notebook's reach, unlike its work dir
    executed_dir.mkdir(exist_ok=True)
    input_path = work_dir / "submission.ipynb"
    nbformat.write(runnable, str(input_path))
    # The kernel writes only inside its own work dir; the grader copies the result to the reports.
    job = ExecutionJob(
        submission_id=submission.id,
        input_path=str(input_path),
        output_path=str(executed_dir / f"{work_dir.name}.ipynb"),
        work_dir=str(work_dir),
        parameters=config.notebook_parameters(workspace.data_dir),
        cell_timeout=config.cell_timeout,
        notebook_timeout=config.notebook_timeout,
        sandbox=workspace.sandbox_policy(config, work_dir),
    )
    return Prepared(submission, sha256_of(submission.path), notebook, job, key)


def keep_executed(prepared: Prepared, out_dir: Path) -> nbformat.NotebookNode | None:
    """Read the executed notebook from the work dir, trim its outputs, keep it in the reports.

    Never leaves a stale notebook from an earlier run behind.
    """
    target = out_dir / prepared.submission.id / "executed.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = _text_of(Path(prepared.job.output_path))
    executed = _parse_executed(text)
    if text is None or executed is None:
        target.unlink(missing_ok=True)
        return None
    # Nothing to trim (outputs are capped while recorded, too): keep the file as written.
    write_text_atomic(target, nbformat.writes(executed) if limit_outputs(executed) else text)
    return executed


def _assess_safely(
    prepared: Prepared, outcome: ExecutionOutcome, out_dir: Path, plan: ProbePlan, expected: ExpectedValues, config: GradingConfig
) -> SubmissionResult:
    """`assess`; a grader bug met on one submission is that submission's error, not the batch's end."""
    try:
        return assess(prepared, outcome, keep_executed(prepared, out_dir), plan, expected, config, self_check=not config.hidden)
    except Exception as exc:  # noqa: BLE001 - staff get the traceback on stderr
        traceback.print_exc()
        reason = f"the grader failed while assessing it ({type(exc).__name__}); course staff can see why in the grader's output"
        return unreadable_result(prepared.submission, reason, config)  # no cache key: retried next run


def assess(
    prepared: Prepared,
    outcome: ExecutionOutcome,
    executed: nbformat.NotebookNode | None,
    plan: ProbePlan,
    expected: ExpectedValues,
    config: GradingConfig,
    *,
    self_check: bool = False,
) -> SubmissionResult:
    """From an execution outcome and the executed notebook to a graded result."""
    student = read_probe_results(executed) if executed is not None else ProbeResults({}, missing_reason="no executed notebook")
    if not outcome.finished:
        student = ProbeResults({}, missing_reason=outcome.message)
    evidence = Evidence(plan, student, expected, answers.extract_derivation(prepared.notebook), self_check)
    checks = run_checks(evidence)  # without the experiment on the public plan: max_score counts only what ran
    messages = [prepared.submission.note, "" if outcome.finished else f"Your notebook did not run to the end: {outcome.message}."]
    return SubmissionResult(
        submission=prepared.submission.id,
        status=SubmissionStatus.GRADED,
        score=sum(check.score for check in checks),
        max_score=sum(check.max_score for check in checks),
        sha256=prepared.sha256,
        checks=checks,
        message=" ".join(m for m in messages if m),
        cell_errors=cell_errors(executed, prepared.notebook, config.cell_timeout, outcome),
        derivation=evidence.derivation,
        free_text=answers.extract_free_text(prepared.notebook),
        provenance={
            **provenance(config, expected.reference_hash, prepared.cache_key),
            "seconds": round(outcome.seconds, 2),
            **{key: value for key, value in outcome.details.items() if key != RUNNING_CELL},
            "sandbox": sandbox_record(outcome, config),
            "kit": kit_used(prepared.notebook),
        },
    )


def kit_used(notebook: nbformat.NotebookNode) -> str:
    """The hash of the student kit last run in this notebook (check() leaves an output saying so), or "".

    Written by the student's side, so only informative: shown to staff, never decisive; a malformed one is ignored.
    """
    found = ""
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            record = output.get("data", {}).get(KIT_MIME)
            if isinstance(record, dict) and isinstance(record.get("kit"), str) and re.fullmatch(r"[0-9a-f]{12}", record["kit"]):
                found = record["kit"]
    return found


def sandbox_record(outcome: ExecutionOutcome, config: GradingConfig) -> dict[str, Any]:
    """What confined this notebook, as the sandbox reported it; never silently absent."""
    if "sandbox" in outcome.details:
        return outcome.details["sandbox"]
    if not config.sandbox:
        return {"warnings": ["NOT sandboxed: the notebook ran unconfined (--no-sandbox)"]}
    return {"warnings": [], "note": "the notebook's process ended before it could report its sandbox (entered before any cell ran)"}


def unreadable_result(submission: Submission, reason: str, config: GradingConfig, key: str = "") -> SubmissionResult:
    message = f"Your notebook could not be graded: {reason}."
    return SubmissionResult(
        submission=submission.id,
        status=SubmissionStatus.ERROR,
        score=0.0,
        max_score=MAX_SCORE,
        sha256=sha256_of(submission.path) if submission.path.is_file() and not submission.path.is_symlink() else "",
        checks=errored_checks(message),
        message=" ".join(m for m in (message, submission.note) if m),
        provenance=provenance(config, None, key),
    )


def provenance(config: GradingConfig, reference_hash: str | None, key: str) -> dict[str, Any]:
    return {
        "grader_version": grader_version(),
        "grader_fingerprint": grader_fingerprint(),
        "reference_hash": reference_hash or current_reference_hash(),
        "cache_key": key,
        "settings": config.decisive(),
        "executor": "cold" if config.cold else "warm",
        "python": platform.python_version(),
        "torch": _version("torch"),
    }


@cache
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def read_executed(path: Path) -> nbformat.NotebookNode | None:
    return _parse_executed(_text_of(path))


def _text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def _parse_executed(text: str | None) -> nbformat.NotebookNode | None:
    """Validated like a submission: the notebook's own code may have written anything there."""
    try:
        return parse_notebook(text) if text is not None else None
    except NotebookError:
        return None


# ----------------------------------------------------------------------------- cell errors


def cell_errors(
    executed: nbformat.NotebookNode | None, source: nbformat.NotebookNode, cell_timeout: float, outcome: ExecutionOutcome
) -> tuple[CellError, ...]:
    """The student's cells that raised, timed out, or were running when the kernel died.

    Cell numbers count the student's own cells from 1, skipping the cells the grader added.
    Without an executed notebook (the process died before writing it) the source notebook and
    the executor's note of the running cell stand in.
    """
    found: list[CellError] = []
    for number, cell in _student_cells(executed or source):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if error is not None:
            found.append(_error_of(number, cell, error, cell_timeout))
        elif not outcome.finished and _was_running(cell, outcome):
            found.append(CellError(number, "KernelDied", outcome.message, _excerpt(cell.source)))
    return tuple(found)


def _was_running(cell: nbformat.NotebookNode, outcome: ExecutionOutcome) -> bool:
    if RUNNING_CELL in outcome.details:
        return cell.source == outcome.details[RUNNING_CELL]
    return cell.get("execution_count") is None and bool(cell.metadata.get("papermill", {}).get("start_time"))


def _student_cells(executed: nbformat.NotebookNode) -> Iterable[tuple[int, nbformat.NotebookNode]]:
    number = 0
    for cell in executed.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if PROBE_TAG in tags or "injected-parameters" in tags:
            continue
        number += 1
        if cell.cell_type == "code":
            yield number, cell


def _error_of(number: int, cell: nbformat.NotebookNode, output: nbformat.NotebookNode, cell_timeout: float) -> CellError:
    ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))
    duration = cell.metadata.get("papermill", {}).get("duration") or 0.0
    if ename == "KeyboardInterrupt" and duration >= 0.9 * cell_timeout:
        ename, evalue = "Timeout", f"the cell ran longer than the {cell_timeout:g} s limit and was interrupted"
    return CellError(number, ename, evalue[:500], _excerpt(cell.source))


def _excerpt(source: str, lines: int = 6) -> str:
    kept = source.splitlines()[:lines]
    return "\n".join(kept) + ("\n…" if len(source.splitlines()) > lines else "")
