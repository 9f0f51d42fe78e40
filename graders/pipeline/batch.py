"""The grading pipeline for a folder, one way through:

    folder ─discover─▶ Submissions ─triage─▶ cached results, unreadable results, Pending
    Pending ─prepare─▶ jobs ─Executor─▶ outcomes ─assess─▶ SubmissionResults
        ─▶ results.json, report.html (as each finishes) ─▶ grades.csv, index.html

Triage comes first and decides everything that needs no execution: a regrade in which every
result is still valid starts no executor and imports neither the judge nor torch. Only then is
the executor handed a generator that does nothing but prepare jobs. A submission that fails at
any stage still leaves with a SubmissionResult that says why.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from graders.execute.cold import LocalExecutor
from graders.execute.jobs import Executor
from graders.execute.untrusted import remove_tree
from graders.gradebook import record_run
from graders.intake.discovery import find_submissions
from graders.pipeline.cache import data_fingerprint
from graders.pipeline.config import GradingConfig, grading_data
from graders.pipeline.triage import Pending, provenance, sort_out
from graders.report import render as reporting
from graders.results import SubmissionResult


def grade_folder(
    submissions_dir: Path,
    *,
    out_dir: Path,
    config: GradingConfig,
    executor: Executor | None = None,
    on_result: Callable[[SubmissionResult, int], None] = lambda result, total: None,
    on_warning: Callable[[str], None] = lambda warning: print(f"grader: {warning}", file=sys.stderr),
) -> tuple[SubmissionResult, ...]:
    """Grade every submission in the folder into `out_dir`; one bad notebook never stops the rest.

    Results still valid under the same key (see graders.pipeline.cache) are reused unless `config.force`.
    `on_result(result, total)` is called as each submission finishes (for progress display);
    `on_warning` gets what staff should know about entries that were not graded.
    `executor`: default the warm zygote (or cold kernels with `config.cold`), started only if something runs.
    """
    discovery = find_submissions(submissions_dir)
    for warning in discovery.warnings:
        on_warning(warning)
    total = len(discovery.submissions)
    data_dir = grading_data(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    triage = sort_out(
        discovery.submissions, out_dir=out_dir, config=config, data=data_fingerprint(data_dir, config.assignment.data_files(data_dir))
    )
    results: list[SubmissionResult] = []

    def finish(result: SubmissionResult) -> None:
        result.write(out_dir / result.submission / "results.json")
        reporting.write_submission_report(result, out_dir=out_dir)
        results.append(result)
        on_result(result, total)

    for result in triage.cached:
        results.append(result)
        on_result(result, total)
    for result in triage.unreadable:
        finish(result)
    if triage.pending:
        _run(
            triage.pending,
            submissions_dir=submissions_dir,
            out_dir=out_dir,
            data_dir=data_dir,
            config=config,
            executor=executor,
            finish=finish,
        )
    ordered = tuple(sorted(results, key=lambda r: r.submission))
    record_run(out_dir, ordered, provenance(config, ""))  # a run in the gradebook's history
    reporting.publish(out_dir)  # reports, overview, grades.csv with staff overrides and manual points
    return ordered


def _run(
    pending: tuple[Pending, ...],
    *,
    submissions_dir: Path,
    out_dir: Path,
    data_dir: Path,
    config: GradingConfig,
    executor: Executor | None,
    finish: Callable[[SubmissionResult], None],
) -> None:
    """Execute and assess what triage left; each result goes to `finish` as it is ready."""
    executor = executor or make_executor(config)
    # Imported here, not at the top: the judge imports torch (seconds), which a regrade that
    # runs nothing must not pay. The warm zygote starts first, so it warms up meanwhile.
    from graders.pipeline import submission as one
    from graders.pipeline.runcache import with_run_cache

    scratch = Path(tempfile.mkdtemp(prefix="a10-grader-"))
    try:
        kernel_data = share_data(data_dir, config.assignment.data_files(data_dir), scratch) if config.sandbox else data_dir
        workspace = one.Workspace(scratch, kernel_data, hidden_dirs=(submissions_dir.resolve(), out_dir.resolve()))
        plan = config.assignment.build_plan(seed=config.seed, hidden=config.hidden, data_dir=kernel_data)
        expected = with_run_cache(config.assignment.compute_expected(plan), config, plan, data_dir=data_dir)
        # The reference's training run, now, while the zygote warms up: not inside the first
        # assessment, whose time limit (pipeline.deadline) is that submission's alone.
        expected.trained(frozenset())
        config.assignment.import_modules()  # what the first assessment would import, also while the zygote warms up
        prepared = {
            item.submission.id: one.prepare(item, config=config, workspace=workspace, index=index) for index, item in enumerate(pending)
        }
        # Lazily: the executor pulls (and so materialises) the next job only when it has room for it.
        jobs = (one.materialise(item, plan) for item in prepared.values())
        for outcome in executor.map(jobs):
            finish(
                one.assess_safely(prepared[outcome.submission_id], outcome, out_dir=out_dir, plan=plan, expected=expected, config=config)
            )
    finally:
        remove_tree(scratch)  # never raises: the gradebook run and the overview are written whatever it meets


def share_data(data_dir: Path, files: tuple[Path, ...], scratch: Path) -> Path:
    """A world-readable copy of the grading data's files (relative to `data_dir`), so the sandbox's
    unprivileged uid can read them whatever the permissions of the instructor's own copy (a 0700
    home or cache folder)."""
    shared = scratch / "data"
    shared.mkdir()
    shared.chmod(0o755)
    for relative in files:
        target = shared / relative
        for folder in reversed(target.relative_to(shared).parents[:-1]):
            (shared / folder).mkdir(exist_ok=True)
            (shared / folder).chmod(0o755)
        shutil.copyfile(data_dir / relative, target)
        target.chmod(0o644)
    return shared


def make_executor(config: GradingConfig) -> Executor:
    """The warm zygote, started at once so that it warms up while the grader imports the judge."""
    if config.cold:
        return LocalExecutor(config.jobs)
    from graders.execute.warm import WarmExecutor

    warm = WarmExecutor(config.jobs)
    warm.start()
    return warm
