"""Triage: everything decided about a submission before anything runs.

Each file is read once (safely: `graders.intake.notebooks.read_submission`), hashed, keyed and
sorted: still cached, unreadable (with a result that says why), or pending execution. Nothing
here imports the judge (or torch): a regrade in which nothing must run needs only this.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import nbformat

from graders.assignment import registry
from graders.assignment.spec import Assignment
from graders.errors import BadCommandLine, NotebookError
from graders.intake.discovery import Submission
from graders.intake.notebooks import named_in, parse_bytes, read_submission, sha256_of
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


MAX_NAMES_SHOWN = 5  # assignments named in a disagreement; the rest are counted
MAX_IDS_SHOWN = 3  # submissions shown for each


def assignment_for(submissions: Iterable[Submission], given: str | None = None) -> Assignment:
    """What a batch or a self-check grades: `given` (`--assignment`), else the one every readable submission's
    metadata names, a submission naming none counting as the default's (graders.assignment.registry.load(None)).

    The metadata is the student's to write: one notebook naming another assignment must not turn a class
    into that assignment's, so any disagreement is for staff to settle with --assignment (BadCommandLine,
    naming the assignments and some of their submissions); that notebook is then its student's `error`
    (for_this_assignment). A file that cannot be read names nothing: triage says why, whatever is graded.
    """
    if given is not None:
        return registry.load(given)
    named: dict[str | None, list[str]] = {}
    for submission in submissions:
        try:
            named.setdefault(named_in(read_submission(submission.path)), []).append(submission.id)
        except NotebookError:
            continue
    ids = {name if name is not None else registry.load(None).id for name in named}
    if len(ids) > 1:
        raise BadCommandLine(
            f"the notebooks' metadata name different assignments ({_disagreement(named)}): "
            "grade each class on its own, or name the assignment with --assignment"
        )
    return registry.load(ids.pop() if ids else None)


def _disagreement(named: dict[str | None, list[str]]) -> str:
    """Each name with how many submissions give it and the first few; bounded whatever the students wrote."""
    groups = sorted(named.items(), key=lambda item: -len(item[1]))
    shown = [
        f"{f'none (the default, {registry.load(None).id})' if name is None else repr(name)}: {len(ids)} ({', '.join(ids[:MAX_IDS_SHOWN])}{', …' * (len(ids) > MAX_IDS_SHOWN)})"
        for name, ids in groups[:MAX_NAMES_SHOWN]
    ]
    more = len(groups) - MAX_NAMES_SHOWN
    return "; ".join(shown) + (f"; and {more} more names" if more > 0 else "")


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
