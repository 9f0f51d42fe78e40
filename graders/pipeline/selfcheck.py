"""The student's self-check: their notebook, the public inputs only, a table in the terminal.

It runs the same pipeline as grading (same kernel, same probes, same checks) with two
differences: no hidden inputs, and the derivation answers are only checked for being
present and readable — whether they are right is for grading to say.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from graders.execute.cold import run_notebook
from graders.intake.discovery import Submission, display_name, safe_id
from graders.kit.table import CellFailure, Verdict
from graders.kit.table import format_table as kit_table
from graders.pipeline.config import GradingConfig, grading_data
from graders.pipeline.runcache import with_run_cache
from graders.pipeline.submission import Runner, grade_notebook
from graders.results import CheckStatus, SubmissionResult


def check_notebook(path: Path, *, config: GradingConfig, run: Runner = run_notebook) -> SubmissionResult:
    """`run`: a plain kernel by default, as in Jupyter; the warm server's zygote runs it unconfined the same way."""
    # One notebook of the student's own, on their own machine: no sandbox.
    config = replace(config, hidden=False, cold=True, sandbox=False)
    data_dir = grading_data(config)
    plan = config.assignment.build_plan(seed=config.seed, hidden=False, data_dir=data_dir)
    expected = with_run_cache(config.assignment.compute_expected(plan, prefer_stored=True), config, plan, data_dir=data_dir)
    submission = Submission(safe_id(path.stem), path, name=display_name(path.name))
    return grade_notebook(submission, config=config, plan=plan, expected=expected, data_dir=data_dir, run=run, self_check=True)


def format_table(result: SubmissionResult, config: GradingConfig) -> str:
    """The student kit's table (graders/kit/table.py), so staff and students read the same words. A check
    on no hidden input (a derivation) is read for form only in a self-check: no points here."""
    verdicts = [
        Verdict(c.id, c.status.value, c.max_score, c.message, c.misconceptions, scored=config.assignment.check_spec(c.id).on_hidden_inputs)
        for c in result.checks
    ]
    failures = [CellFailure(e.cell_index, e.ename, e.evalue) for e in result.cell_errors]
    return kit_table(result.submission, verdicts, result.message, failures)


def all_passed(result: SubmissionResult) -> bool:
    return all(check.status is CheckStatus.PASS for check in result.checks)
