"""Triage: everything decided about a submission before anything runs.

Each file is read once (safely: `graders.intake.notebooks.read_submission`), hashed, keyed and
sorted: still cached, unreadable (with a result that says why), or pending execution. Nothing
here imports the judge (or torch): a regrade in which nothing must run needs only this.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import nbformat

from graders.assignment.spec import Assignment
from graders.errors import NotebookError
from graders.intake.discovery import Submission
from graders.intake.notebooks import parse_bytes, read_submission, sha256_of
from graders.pipeline.cache import cache_key, cached_result, grader_fingerprint
from graders.pipeline.config import GradingConfig
from graders.results import CheckResult, CheckStatus, SubmissionResult, SubmissionStatus
from graders.settings import Provenance
from graders.tags import named_assignment


@dataclass(frozen=True)
class Pending:
    """A submission that loaded and must run."""

    submission: Submission
    sha256: str
    notebook: nbformat.NotebookNode
    cache_key: str = ""  # empty: not to be reused (e.g. the self-check)


@dataclass(frozen=True)
class Triage:
    cached: tuple[SubmissionResult, ...]  # still valid: kept as they are
    unreadable: tuple[SubmissionResult, ...]  # to be written: no notebook the grader can run
    pending: tuple[Pending, ...]  # to be run


def sort_out(submissions: tuple[Submission, ...], *, out_dir: Path, config: GradingConfig, data: str) -> Triage:
    """Sort every submission; `data` is the grading data's fingerprint (graders.pipeline.cache)."""
    cached: list[SubmissionResult] = []
    unreadable: list[SubmissionResult] = []
    pending: list[Pending] = []
    for submission in submissions:
        try:
            raw = read_submission(submission.path)
        except NotebookError as exc:
            unreadable.append(unreadable_result(submission, str(exc), config))
            continue
        key = cache_key(
            sha256=sha256_of(raw),
            settings=config.run_settings(),
            grader=grader_fingerprint(config.assignment.package_dir()),
            reference_hash=config.assignment.reference_hash(),
            data=data,
        )
        hit = None if config.force else cached_result(out_dir, submission.id, key)
        if hit is not None:
            cached.append(hit)
            continue
        try:
            item = load_pending(submission, raw, key)
            for_this_assignment(item.notebook, config.assignment)
            pending.append(item)
        except NotebookError as exc:
            unreadable.append(unreadable_result(submission, str(exc), config, sha256=sha256_of(raw), key=key))
    return Triage(tuple(cached), tuple(unreadable), tuple(pending))


def for_this_assignment(notebook: nbformat.NotebookNode, assignment: Assignment) -> None:
    """A notebook whose metadata names another assignment is not graded as this one (NotebookError says why)."""
    named = named_assignment(notebook)
    if named is not None and named != assignment.id:
        raise NotebookError(f"its metadata says it is for {named!r}, and this batch grades {assignment.id!r} ({assignment.title})")


def load_pending(submission: Submission, raw: bytes, key: str = "") -> Pending:
    """The submission's bytes parsed; NotebookError if they are no notebook."""
    return Pending(submission, sha256_of(raw), parse_bytes(raw), key)


def unreadable_result(submission: Submission, reason: str, config: GradingConfig, *, sha256: str = "", key: str = "") -> SubmissionResult:
    """Every check `error`, with the reason; `key` empty means: not cached, tried again next run."""
    message = f"Your notebook could not be graded: {reason}."
    return SubmissionResult(
        submission=submission.id,
        status=SubmissionStatus.ERROR,
        score=0.0,
        max_score=config.assignment.max_score,
        sha256=sha256,
        checks=tuple(CheckResult(spec.id, CheckStatus.ERROR, 0.0, spec.points, message) for spec in config.assignment.checks),
        message=" ".join(m for m in (message, submission.note) if m),
        provenance=provenance(config, key),
    )


def provenance(config: GradingConfig, key: str) -> Provenance:
    """What grades under `config`; a result that ran adds how it ran (graders.pipeline.submission.assess)."""
    return Provenance(
        grader_version=version("a10-grader"),
        grader_fingerprint=grader_fingerprint(config.assignment.package_dir()),
        reference_hash=config.assignment.reference_hash(),
        cache_key=key,
        settings=config.run_settings(),
        executor="cold" if config.cold else "warm",
        python=platform.python_version(),
        torch=version("torch"),
    )


@cache
def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"
