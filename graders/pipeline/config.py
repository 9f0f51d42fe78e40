"""The settings of one grading run, and where its data and grading seed come from."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from graders.assignment import registry
from graders.assignment.spec import Assignment, Scoring
from graders.execute.jobs import default_jobs
from graders.settings import DEFAULT_CELL_TIMEOUT, CourseSecretSeed, GivenSeed, RunSettings, Seed, notebook_seed

DEFAULT_CACHE = Path.home() / ".cache" / "a10-grader"


@dataclass(frozen=True)
class GradingConfig:
    """Everything that decides a grade besides the submission and the grader's code (`run_settings`),
    and how this run goes about it (`HOW_IT_RUNS`)."""

    # Not in the cache key: how a run goes about grading, or (seed, secret_hash, assignment) what
    # `run_settings` records in another form. Every other field is a RunSettings field of the same
    # name, passed by name: a field that is neither fails at once (tests/pipeline/test_config.py).
    HOW_IT_RUNS: ClassVar[frozenset[str]] = frozenset(
        {"seed", "secret_hash", "jobs", "cold", "sandbox", "force", "data_dir", "assignment", "run_cache"}
    )

    seed: int  # hidden inputs and the experiment's training (see graders.pipeline.secret)
    # Set when `seed` was derived from the course secret: a hash of the secret, never the seed
    # itself, is what results.json records. Empty: the seed was given (`--seed`, tests) and is recorded.
    secret_hash: str = ""
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    notebook_timeout: float = 900.0
    jobs: int = field(default_factory=default_jobs)
    cold: bool = False  # a fresh Jupyter kernel per notebook instead of the warm zygote
    sandbox: bool = True  # confine each notebook (graders.sandbox), warm or cold
    memory_bytes: int = 2 * 1024**3
    disk_bytes: int = 512 * 1024**2  # each notebook's work dir: a tmpfs of this size (counted in its memory)
    force: bool = False  # regrade even submissions whose cached result is still valid
    # The experiment's trained runs kept between batches (graders.pipeline.runcache); None: trained every run.
    # Not in the results' key: a run is the same read back as trained.
    run_cache: Path | None = DEFAULT_CACHE / "runs"
    data_dir: Path | None = None  # None: the assignment's generated data (graders.pipeline.config.grading_data)
    hidden: bool = True  # False for the student self-check: public inputs only
    scoring: Scoring = Scoring.PER_MISTAKE  # how a named mistake turns into deductions (docs/instructors.md: Deductions)
    # What is graded: `--assignment` or the one the notebooks name (graders.pipeline.triage.assignment_for), else the
    # only one installed or the installation's default (graders.assignment.registry.load).
    assignment: Assignment = field(default_factory=registry.load)

    def run_settings(self) -> RunSettings:
        """The settings a grade depends on, as recorded and keyed (not how many workers or which executor ran it)."""
        shared = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.HOW_IT_RUNS}
        return RunSettings(
            seed=self.recorded_seed(),
            assignment_id=self.assignment.id,
            assignment_version=self.assignment.version,
            **shared,
        )

    @classmethod
    def from_settings(
        cls, settings: RunSettings, *, seed: int, secret_hash: str, assignment: Assignment, data_dir: Path | None
    ) -> GradingConfig:
        """A config that grades as `settings` did (`run_settings`'s inverse): `seed` is the seed itself,
        where the settings may hold only its secret's hash; `assignment` the one they name."""
        shared = {f.name: getattr(settings, f.name) for f in fields(cls) if f.name not in cls.HOW_IT_RUNS}
        return cls(seed=seed, secret_hash=secret_hash, assignment=assignment, data_dir=data_dir, **shared)

    def recorded_seed(self) -> Seed:
        """The seed as results record it: by its course secret's hash if drawn from it, else as given."""
        return CourseSecretSeed(self.secret_hash) if self.secret_hash else GivenSeed(self.seed)

    def notebook_parameters(self, data_dir: Path) -> dict[str, Any]:
        return self.assignment.notebook_parameters(seed=self.notebook_seed(), data_dir=str(data_dir))

    def notebook_seed(self) -> int:
        return notebook_seed(self.seed)  # graders.settings: the kit's builder draws it the same way


def grading_data(config: GradingConfig) -> Path:
    if config.data_dir is not None:
        return config.data_dir.resolve()
    return config.assignment.prepare_data(generated_data_folder(config.assignment)).resolve()


def generated_data_folder(assignment: Assignment) -> Path:
    """Where the grader keeps an assignment's generated grading data (used when no `--data-dir` is given)."""
    return DEFAULT_CACHE / "data" / assignment.id
