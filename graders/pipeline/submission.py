"""One submission's way through: a loaded notebook becomes a job, the job's outcome becomes a result.

    Pending (from graders.pipeline.triage) ─prepare─▶ Prepared (+ its job) ─materialise─▶ job files
        ─Executor─▶ ExecutionOutcome ─assess─▶ SubmissionResult

`grade_notebook` is the same way for one file with a given runner (the self-check's API).
This module imports the judge, and with it torch: the batch imports it only when something
must actually run (see graders.pipeline.batch).
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nbformat

from graders.errors import NotebookError
from graders.execute.jobs import UNCONFINED, ExecutionJob, ExecutionOutcome
from graders.execute.untrusted import remove_tree
from graders.intake.discovery import Submission
from graders.intake.notebooks import read_submission
from graders.judge.evidence import Evidence
from graders.judge.expected import ExpectedValues
from graders.judge.probe_cell import probe_cell, read_probe_results
from graders.judge.probes import ProbePlan, ProbeResults
from graders.pipeline.config import GradingConfig
from graders.pipeline.deadline import AssessmentTimeout, assessment_limit
from graders.pipeline.executed import EXECUTED_NAME, CellLimits, cell_errors, keep_executed, read_graded, trim_prose
from graders.pipeline.triage import Pending, load_pending, provenance, unreadable_result, version
from graders.report.outputs import OUTPUTS_NAME, keep_own_outputs
from graders.results import SubmissionResult, SubmissionStatus, write_text_atomic
from graders.sandbox import SandboxPolicy, SandboxReport
from graders.settings import Execution
from graders.tags import KIT_CELL_TAG, PROBE_TAG, recorded_kit

Runner = Callable[[ExecutionJob], ExecutionOutcome]


@dataclass(frozen=True)
class Workspace:
    """Where jobs are prepared, and what the sandbox must keep out of every notebook's sight."""

    scratch: Path  # one work dir per job below it, and the executed notebooks
    data_dir: Path  # the grading data as the notebook reads it
    # Besides the scratch root, the assignment's own folder (an authored one's truth sits there, wherever the
    # instructor keeps it) and the harness's packages (graders.sandbox.filesystem).
    hidden_dirs: tuple[Path, ...]

    @property
    def probe_request(self) -> Path:
        """The batch's probe request (one plan for every job), out of every notebook's view."""
        return self.scratch / "probe-request.json"

    def sandbox_policy(self, config: GradingConfig, work_dir: Path) -> SandboxPolicy | None:
        if not config.sandbox:
            return None
        hidden = (*self.hidden_dirs, self.scratch, config.assignment.package_dir())
        return SandboxPolicy(
            memory_bytes=config.memory_bytes,
            disk_bytes=config.disk_bytes,
            hidden_dirs=tuple(str(p.resolve()) for p in hidden),
            private_dirs=(str(work_dir),),
            readonly_dirs=(str(self.data_dir),),
            cgroup_name=f"{os.getpid()}-{work_dir.name}",
        )


@dataclass(frozen=True)
class Prepared:
    pending: Pending
    job: ExecutionJob


def prepare(pending: Pending, *, config: GradingConfig, workspace: Workspace, index: int) -> Prepared:
    """The job for a pending submission: where it runs and what it gets. Writes nothing (see `materialise`).

    `index` names the work dir: the batch numbers its jobs, so work dirs never collide.
    """
    work_dir = workspace.scratch / f"{index:04d}"
    job = ExecutionJob(
        submission_id=pending.submission.id,
        input_path=str(work_dir / "submission.ipynb"),
        # Out of the notebook's reach, unlike its work dir: the grader reads it back from there.
        output_path=str(workspace.scratch / "executed" / f"{work_dir.name}.ipynb"),
        work_dir=str(work_dir),
        parameters=config.notebook_parameters(workspace.data_dir),
        cell_timeout=config.cell_timeout,
        notebook_timeout=config.notebook_timeout,
        sandbox=workspace.sandbox_policy(config, work_dir),
        probe_request_path=str(workspace.probe_request),
        data_dir=str(workspace.data_dir),
    )
    return Prepared(pending, job)


def materialise(prepared: Prepared, plan: ProbePlan) -> ExecutionJob:
    """Write the runnable notebook (student cells + the probe cell's placeholder) into the job's fresh
    work dir, and the probe request beside the work dirs (once per batch), out of the notebook's view."""
    runnable = nbformat.from_dict(prepared.pending.notebook)
    runnable.cells = [cell for cell in runnable.cells if PROBE_TAG not in cell.get("metadata", {}).get("tags", [])]
    for cell in runnable.cells:
        if KIT_CELL_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = ""  # the kit's `check()` cells: no check.py here; blanked, not dropped, so cell numbers stay the student's
    trim_prose(runnable)  # the executed notebook must stay small, whatever the markdown holds
    runnable.cells.append(probe_cell())
    runnable.metadata["a10_grader"] = {"grader_version": version("a10-grader"), "submission": prepared.pending.submission.id}
    Path(prepared.job.work_dir).mkdir()
    Path(prepared.job.output_path).parent.mkdir(exist_ok=True)
    nbformat.write(runnable, prepared.job.input_path)
    _write_request(Path(str(prepared.job.probe_request_path)), plan)
    return prepared.job


def _write_request(path: Path, plan: ProbePlan) -> None:
    if not path.exists():
        write_text_atomic(path, plan.request_json)


def assess_safely(
    prepared: Prepared, outcome: ExecutionOutcome, *, out_dir: Path, plan: ProbePlan, expected: ExpectedValues, config: GradingConfig
) -> SubmissionResult:
    """`assess`, keeping the executed notebook in the reports; a grader bug met on one submission
    is that submission's error, not the batch's end. A job the executor lost is an error too."""
    if outcome.lost:  # no key: tried again next run
        return unreadable_result(prepared.pending.submission, outcome.message, config, sha256=prepared.pending.sha256)
    try:
        with assessment_limit():
            executed = keep_executed(prepared.job, out_dir / prepared.pending.submission.id / EXECUTED_NAME)
            # What the student saw when they answered (the submitted notebook's outputs), for the reports and the review app.
            tags = [question.tag for question in config.assignment.questions]
            keep_own_outputs(
                prepared.pending.notebook, prepared.pending.sha256, tags, out_dir / prepared.pending.submission.id / OUTPUTS_NAME
            )
            return assess(prepared, outcome, executed, plan=plan, expected=expected, config=config)
    except AssessmentTimeout as timeout:  # a submission that makes assessing slow is its own error, not a stalled batch
        traceback.print_exc()  # where it was slow, for staff
        return unreadable_result(prepared.pending.submission, str(timeout), config, sha256=prepared.pending.sha256)  # no key: retried
    except Exception as exc:  # noqa: BLE001 - staff get the traceback on stderr
        traceback.print_exc()
        reason = f"the grader failed while assessing it ({type(exc).__name__}); course staff can see why in the grader's output"
        return unreadable_result(prepared.pending.submission, reason, config, sha256=prepared.pending.sha256)  # no key: retried


def assess(
    prepared: Prepared,
    outcome: ExecutionOutcome,
    executed: nbformat.NotebookNode | None,
    *,
    plan: ProbePlan,
    expected: ExpectedValues,
    config: GradingConfig,
    self_check: bool = False,
) -> SubmissionResult:
    """From an execution outcome and the executed notebook to a graded result."""
    pending = prepared.pending
    student = read_probe_results(executed, plan) if executed is not None else ProbeResults({}, missing_reason="no executed notebook")
    if not outcome.finished:
        student = ProbeResults({}, missing_reason=outcome.message)
    assignment = config.assignment
    derivation = assignment.extract_derivation(pending.notebook)
    checks = assignment.judge(Evidence(plan, student, expected, derivation, self_check, config.scoring))
    messages = [pending.submission.note, "" if outcome.finished else f"Your notebook did not run to the end: {outcome.message}."]
    return SubmissionResult(
        submission=pending.submission.id,
        status=SubmissionStatus.GRADED,
        score=sum(check.score for check in checks),
        max_score=assignment.max_score,
        sha256=pending.sha256,
        checks=checks,
        message=" ".join(m for m in messages if m),
        cell_errors=cell_errors(executed, pending.notebook, CellLimits(config.cell_timeout, config.disk_bytes), outcome),
        derivation=derivation,
        free_text=assignment.extract_free_text(pending.notebook),
        provenance=replace(
            provenance(config, pending.cache_key),
            seconds=round(float(outcome.seconds), 2),
            execution=Execution(outcome.finished, outcome.message),  # what `grader rescore` re-reads
            executor=outcome.executor or ("cold" if config.cold else "warm"),
            exception=outcome.exception or None,
            sandbox=sandbox_record(outcome, config),
            kit=recorded_kit(pending.notebook),  # which student kit the notebook was last self-checked with
        ),
    )


def sandbox_record(outcome: ExecutionOutcome, config: GradingConfig) -> dict[str, Any]:
    """What confined this notebook, as the sandbox reported it; never silently absent."""
    if outcome.sandbox is not None:
        return outcome.sandbox.to_json()
    if not config.sandbox:
        return SandboxReport.unconfined(UNCONFINED).to_json()
    return SandboxReport.absent("the executor lost the notebook's process before its sandbox reported").to_json()


def grade_notebook(
    submission: Submission,
    *,
    config: GradingConfig,
    plan: ProbePlan,
    expected: ExpectedValues,
    data_dir: Path,
    run: Runner,
    self_check: bool = False,
) -> SubmissionResult:
    """Run one notebook with `run` and assess it; nothing is written but a scratch folder, removed after."""
    scratch = Path(tempfile.mkdtemp(prefix="a10-grader-one-"))
    try:
        pending = load_pending(submission, read_submission(submission.path))
        workspace = Workspace(scratch, data_dir, hidden_dirs=(submission.path.parent,))
        prepared = prepare(pending, config=config, workspace=workspace, index=0)
        outcome = run(materialise(prepared, plan))
        executed = read_graded(prepared.job)
        return assess(prepared, outcome, executed, plan=plan, expected=expected, config=config, self_check=self_check)
    except NotebookError as exc:
        return unreadable_result(submission, str(exc), config)
    finally:
        remove_tree(scratch)
