"""The student's self-check: their notebook, the public inputs only, a table in the terminal.

It runs the same pipeline as grading (same kernel, same probes, same checks) with two
differences: no hidden inputs, and the derivation answers are only checked for being
present and readable — whether they are right is for grading to say.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from graders.errors import NotebookError
from graders.execute.cold import run_notebook
from graders.intake.discovery import Submission
from graders.judge.expected import compute_expected
from graders.judge.probes import public_plan
from graders.kit.template import check as kit_check
from graders.kit.template.check import CellFailure, Verdict
from graders.pipeline.batch import GradingConfig, Workspace, assess, grading_data, prepare, read_executed, unreadable_result
from graders.results import CheckStatus, SubmissionResult


def check_notebook(path: Path, *, config: GradingConfig) -> SubmissionResult:
    # One notebook of the student's own, on their own machine: a plain kernel, as in Jupyter.
    config = replace(config, hidden=False, cold=True, sandbox=False)
    data_dir = grading_data(config)
    plan = public_plan()  # the student kit checks the very same cases (graders.kit.build)
    expected = compute_expected(plan, prefer_stored=True)
    submission = Submission(path.stem, path)
    scratch = Path(tempfile.mkdtemp(prefix="a10-selfcheck-"))
    try:
        prepared = prepare(submission, plan, config, Workspace(path.parent, scratch, scratch, data_dir))
        outcome = run_notebook(prepared.job)
        executed = read_executed(Path(prepared.job.output_path))
        return assess(prepared, outcome, executed, plan, expected, config, self_check=True)
    except NotebookError as exc:
        return unreadable_result(submission, str(exc), config)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def format_table(result: SubmissionResult) -> str:
    """The kit's table (graders/kit/template/check.py), so staff and students read the same words."""
    verdicts = [Verdict(c.id, c.status.value, c.max_score, c.message, c.misconceptions) for c in result.checks]
    failures = [CellFailure(e.cell_index, e.ename, e.evalue) for e in result.cell_errors]
    return kit_check.format_table(result.submission, verdicts, result.message, failures)


def all_passed(result: SubmissionResult) -> bool:
    return all(check.status is CheckStatus.PASS for check in result.checks)
