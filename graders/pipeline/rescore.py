"""`grader rescore REPORTS`: judge the stored probe values again with the current checks, without running anything.

What a notebook returned is kept: the executed notebook (REPORTS/<id>/executed.ipynb) carries the
probe payload, and the result carries the derivation answers and whether execution finished
(`Provenance.execution`). Rescoring re-reads those and runs the assignment's current checks (tolerances,
points) on them, under the run's own seed and settings, so a mid-term fix of a tolerance or a
point value reaches every student in seconds. No notebook, kernel or zygote is started.
Submissions that could not be read at all (status "error") have nothing to rescore and are kept.
The executed notebook is untrusted (the student's code wrote it) and is read as strictly as in a grade.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from graders.assignment import registry
from graders.assignment.spec import Assignment
from graders.errors import UsageError
from graders.gradebook import record_run
from graders.gradebook.lock import exclusive
from graders.gradebook.store import Gradebook, now
from graders.judge.evidence import Evidence
from graders.judge.expected import ExpectedValues
from graders.judge.probe_cell import read_probe_results
from graders.judge.probes import ProbePlan, ProbeResults
from graders.pipeline.config import GradingConfig, generated_data_folder, grading_data
from graders.pipeline.executed import read_executed
from graders.pipeline.runcache import with_run_cache
from graders.pipeline.secret import SECRET_NAME, existing_course_seed
from graders.pipeline.triage import provenance
from graders.report import render as reporting
from graders.results import SubmissionResult, SubmissionStatus
from graders.settings import CourseSecretSeed, Execution, GivenSeed, Provenance, RunSettings, Seed


@dataclass(frozen=True)
class Rescored:
    """One submission's change: (check id, old score, new score) for every check whose score or status moved."""

    submission: str
    old_score: float
    new_score: float
    changed_checks: tuple[tuple[str, float, float], ...]


def rescore_folder(out_dir: Path, *, data_dir: Path | None = None, secret_file: Path | None = None) -> tuple[Rescored, ...]:
    """Rescore every submission of the latest run, record a "rescore" run, re-render everything.

    `data_dir` must be the data root the run was graded with (None: the generated data): an
    experiment check measures the student's trained models on it.
    """
    with exclusive(out_dir), Gradebook.open(out_dir) as book:
        latest = book.latest_run()
        previous = [book.result(submission) for submission in book.submission_ids()]
        if latest is None or not previous:
            return ()
        config = _config_of(latest.info.settings, secret_file or out_dir / SECRET_NAME, data_dir)
        data_dir = _data(config)
        plan = config.assignment.build_plan(seed=config.seed, hidden=config.hidden, data_dir=data_dir)
        expected = with_run_cache(config.assignment.compute_expected(plan), config, plan, data_dir=data_dir)
        current = provenance(config, "")
        results = tuple(rescore(result, out_dir, plan, expected, current, config) for result in previous)
    for result in results:
        result.write(out_dir / result.submission / "results.json")
    record_run(out_dir, results, current, kind="rescore")
    reporting.publish(out_dir)
    return tuple(_change(old, new) for old, new in zip(previous, results, strict=True))


def rescore(
    result: SubmissionResult, out_dir: Path, plan: ProbePlan, expected: ExpectedValues, current: Provenance, config: GradingConfig
) -> SubmissionResult:
    assignment: Assignment = config.assignment
    if result.status is SubmissionStatus.ERROR or len(result.derivation) != len(assignment.derivation):
        return result
    ran = result.provenance or current  # a result without provenance: what judges it now is all there is
    execution = ran.execution or Execution(finished=True, message="")  # not recorded: taken as finished, as before
    executed = read_executed(out_dir / result.submission / "executed.ipynb")
    if not execution.finished:
        student = ProbeResults({}, missing_reason=execution.message)
    elif executed is None:
        student = ProbeResults({}, missing_reason="no executed notebook")
    else:
        student = read_probe_results(executed, plan)
    judged = assignment.judge(Evidence(plan, student, expected, result.derivation, scoring=config.scoring))
    # What judged it is new; what ran it (cache key, executor, timings, sandbox) is as it was.
    judged_by = replace(
        ran,
        grader_version=current.grader_version,
        grader_fingerprint=current.grader_fingerprint,
        reference_hash=current.reference_hash,
        rescored_at=now(),
    )
    return replace(
        result,
        checks=judged,
        score=sum(check.score for check in judged),
        max_score=sum(check.max_score for check in judged),
        provenance=judged_by,
    )


def _config_of(settings: RunSettings, secret_file: Path, data_dir: Path | None) -> GradingConfig:
    """A config that grades as the recorded `settings` did: its assignment (runs before assignments were
    named: the one installed), its seed (from the course secret at hand if it was drawn from one)."""
    seed, secret_hash = _seed_of(settings.seed, secret_file)
    return GradingConfig.from_settings(
        settings, seed=seed, secret_hash=secret_hash, assignment=registry.recorded_in(settings), data_dir=data_dir
    )


def _seed_of(recorded: Seed, secret_file: Path) -> tuple[int, str]:
    """The run's seed and its secret's hash ("" for a given seed): recorded as it was given (`--seed`),
    or by the hash of the course secret it was drawn from, which must be the secret at hand."""
    match recorded:
        case GivenSeed(value):
            return value, ""
        case CourseSecretSeed(secret_hash):
            drawn = existing_course_seed(secret_file)  # a rescore never creates a secret: a new one would not be the run's
            if drawn.secret_hash != secret_hash:
                raise UsageError(
                    f"the run was graded with another course secret than {secret_file} (hash {secret_hash}); pass that one with --secret-file"
                )
            return drawn.seed, drawn.secret_hash


def _data(config: GradingConfig) -> Path:
    """The generated data as it is already: regenerating it to compare would cost more than
    rescoring a whole class (the experiment check reads only some of it)."""
    generated = generated_data_folder(config.assignment)
    if config.data_dir is None and config.assignment.has_data(generated):
        return generated.resolve()
    return grading_data(config)


def _change(old: SubmissionResult, new: SubmissionResult) -> Rescored:
    before = {check.id: check for check in old.checks}
    moved = tuple(
        (check.id, before[check.id].score if check.id in before else 0.0, check.score)
        for check in new.checks
        if check.id not in before or (before[check.id].score, before[check.id].status) != (check.score, check.status)
    )
    return Rescored(new.submission, old.score, new.score, moved)
