"""The student's self-check: their notebook, the public inputs only, a table in the terminal.

It runs the same pipeline as grading (same kernel, same probes, same checks) with two
differences: no hidden inputs, and the derivation answers are only checked for being
present and readable — whether they are right is for grading to say.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

from graders.execute.cold import run_notebook
from graders.intake.discovery import Submission, display_name, safe_id
from graders.judge.expected import compute_expected
from graders.judge.probes import build_plan
from graders.pipeline.config import GradingConfig, grading_data
from graders.pipeline.submission import grade_notebook
from graders.results import CheckStatus, SubmissionResult

_SYMBOL = {CheckStatus.PASS: "PASS", CheckStatus.FAIL: "FAIL", CheckStatus.ERROR: "ERROR"}


def check_notebook(path: Path, *, config: GradingConfig) -> SubmissionResult:
    # One notebook of the student's own, on their own machine: a plain kernel, as in Jupyter.
    config = replace(config, hidden=False, cold=True, sandbox=False)
    data_dir = grading_data(config)
    plan = build_plan(seed=config.seed, hidden=False, data_dir=data_dir)
    expected = compute_expected(plan, prefer_stored=True)
    submission = Submission(safe_id(path.stem), path, name=display_name(path.name))
    return grade_notebook(submission, config=config, plan=plan, expected=expected, data_dir=data_dir, run=run_notebook, self_check=True)


def format_table(result: SubmissionResult, width: int = 100) -> str:
    """A plain-text table that reads well in any terminal (no colours needed)."""
    rows = [f"Self-check of {result.submission}: {result.score:g} / {result.max_score:g} points on the public inputs"]
    if result.message:
        rows.append(textwrap.fill(result.message, width))
    rows.append("")
    id_width = max(len(check.id) for check in result.checks)
    for check in result.checks:
        head = f"{_SYMBOL[check.status]:<6} {check.id:<{id_width}}  {check.score:g}/{check.max_score:g}"
        rows.append(head)
        body = check.message + (f" [misconceptions: {', '.join(check.misconceptions)}]" if check.misconceptions else "")
        rows.extend(textwrap.wrap(body, width - 7, initial_indent="       ", subsequent_indent="       "))
    for error in result.cell_errors:
        rows.append(f"\nCell {error.cell_index} raised {error.ename}: {error.evalue}")
    return "\n".join(rows)


def all_passed(result: SubmissionResult) -> bool:
    return all(check.status is CheckStatus.PASS for check in result.checks)
