"""`grader`: a thin command line over keyword-only functions in graders.pipeline (batch, selfcheck, staff) and the assignment (graders.assignment).

Exit status: 0 when the batch completed (whatever the grades); otherwise EXIT_STATUS of the error
(graders/errors.py draws the tree): 2 for a usage error, 75 while another grader holds the reports
folder, 65 for a gradebook that cannot be used, 1 for a fault of the harness itself. `grader check`
exits 0 only when every check passes, `grader assignment check` only when no finding fails (1 otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from graders.assignment.spec import Scoring
from graders.cli.assignments import add_assignment_commands
from graders.cli.staff import SERVED_STAFF, add_staff_commands
from graders.errors import BadCommandLine, CorruptGradebook, FolderBusy, GraderError, HarnessError, MissingExtra, UsageError, mapped
from graders.execute.jobs import default_jobs

if TYPE_CHECKING:
    from graders.assignment.spec import Assignment
    from graders.execute.jobs import Executor
    from graders.execute.warm import Zygote
    from graders.intake.discovery import Submission
    from graders.pipeline.config import GradingConfig
    from graders.results import SubmissionResult


# The one mapping from errors to exit statuses; a class not listed takes its nearest listed ancestor's.
EXIT_STATUS: dict[type[GraderError], int] = {
    GraderError: 1,
    UsageError: 2,  # argparse's own status for a bad command line
    FolderBusy: 75,  # sysexits' EX_TEMPFAIL: the same command works once the other grader is done
    CorruptGradebook: 65,  # sysexits' EX_DATAERR
    MissingExtra: 69,  # sysexits' EX_UNAVAILABLE: installing the extra makes the same command work
}


def run() -> NoReturn:
    """The `grader` command itself (its console script, `python -m graders.cli`): `main`, then exit.

    Before exiting, the heap is frozen: Python's shutdown otherwise sweeps every object for reference cycles, and
    with torch, scipy and sympy loaded that sweep took 1.5 s of each command (a slow 2-core VM). Nothing waits on
    it: the harness closes its files and the gradebook as it writes them, and atexit handlers still run."""
    status = main()
    gc.freeze()
    sys.exit(status)


def main(argv: Sequence[str] | None = None, *, served: bool = False, warm: Zygote | None = None) -> int:
    """`served`: the warm server runs this command (graders.pipeline.server), with `warm`, its zygote, when the command
    runs notebooks."""
    args = _parser().parse_args(argv)
    args.warm = warm
    try:
        if not served and args.server and args.command in SERVED:
            from graders.pipeline.client import delegate

            status_there = delegate(list(sys.argv[1:] if argv is None else argv))
            if status_there is not None:
                return status_there
        _search_folders(args.assignments_dir)
        status: int = args.command(args)
        return status
    except GraderError as exc:
        # Only a harness fault is ours; every other message says what the person running it can do.
        said = f"internal error: {exc}" if isinstance(exc, HarnessError) else str(exc)
        print(f"grader: {said}", file=sys.stderr)
        return mapped(exc, EXIT_STATUS)
    except KeyboardInterrupt:
        print("grader: interrupted; results written so far are kept", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade notebook assignments.")
    parser.add_argument(
        "--assignments-dir",
        type=Path,
        action="append",
        default=[],
        help="a built assignment's folder, or a folder of them, searched besides the installed ones (repeatable; "
        "also GRADER_ASSIGNMENTS, folders separated by ':')",
    )
    parser.add_argument(
        "--no-server", dest="server", action="store_false", help="run here even when a warm server (`grader serve`) is running"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    grade = commands.add_parser("grade", help="grade every notebook in a folder")
    grade.add_argument("submissions", type=Path, help="folder of *.ipynb files or of one folder per student")
    grade.add_argument("--out", type=Path, required=True, help="reports folder (results.json, report.html per student)")
    grade.add_argument("--jobs", type=_positive_int, default=default_jobs(), help="notebooks run at once (default: usable cores)")
    grade.add_argument("--cold", action="store_true", help="a fresh Jupyter kernel per notebook (slow; the reference path)")
    grade.add_argument("--force", action="store_true", help="regrade every submission, even unchanged ones")
    grade.add_argument("--no-sandbox", dest="sandbox", action="store_false", help="run notebooks unconfined (results.json says so)")
    grade.add_argument("--notebook-timeout", type=_positive_float, default=900.0, help="seconds a whole notebook may run (default 900)")
    grade.add_argument("--memory-mb", type=_positive_int, default=2048, help="memory one notebook may use, in MiB (default 2048)")
    grade.add_argument(
        "--disk-mb",
        type=_positive_int,
        default=512,
        help="disk one notebook may write, in MiB: its work dir's size, counted in its memory (default 512)",
    )
    grade.add_argument(
        "--scheduler", metavar="ADDRESS", default=None, help="grade on this Dask cluster, e.g. tcp://127.0.0.1:8786 (needs the dask extra)"
    )
    grade.add_argument(
        "--secret-file", type=Path, default=None, help="the course secret the grading seed is drawn from (default: OUT/.grader-secret)"
    )
    grade.add_argument("--seed", type=int, default=None, help="grade with this seed instead of the course secret's (reproducible tests)")
    grade.add_argument(
        "--scoring",
        choices=[s.value for s in Scoring],
        default=Scoring.PER_MISTAKE.value,
        help="per-mistake: a named mistake costs the one check it concerns (default); strict: every check on its own",
    )
    _common_options(grade)
    grade.set_defaults(command=_grade)

    check = commands.add_parser("check", help="self-check one notebook on the public inputs")
    check.add_argument("notebook", type=Path)
    check.add_argument("--seed", type=int, default=None, help="seed of the experiment's training (default: the assignment's public seed)")
    _common_options(check)
    check.set_defaults(command=_check)

    kit = commands.add_parser("kit", help="write the student kit: template, self-contained check.py, public expected values")
    kit.add_argument("--out", type=Path, required=True, help="a new (or empty) folder for the kit")
    _assignment_option(kit)
    kit.set_defaults(command=_kit)

    review = commands.add_parser("review", help="staff review in the browser: a local web app over a reports folder")
    review.add_argument("reports", type=Path, help="the folder `grader grade --out` wrote")
    review.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765; 0 picks a free one)")
    review.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    review.add_argument("--reviewer", default=None, help="your name, recorded with every change (default: asked in the browser)")
    review.set_defaults(command=_review)

    serve = commands.add_parser("serve", help="keep the grader warm for `grade`, `check` and `rescore` (foreground; exits when quiet)")
    serve.add_argument("--idle", type=_positive_float, default=600.0, help="seconds with no command running before it exits (default 600)")
    serve.set_defaults(command=_serve)

    data = commands.add_parser("make-data", help="write the assignment's generated grading data into a folder")
    data.add_argument("folder", type=Path)
    _assignment_option(data)
    data.set_defaults(command=_make_data)
    add_staff_commands(commands)
    add_assignment_commands(commands)
    return parser


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=_positive_float, default=120.0, help="seconds one cell may run (default 120)")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="the assignment's grading data; default: generated (`grader make-data`)"
    )
    _assignment_option(parser, default="the one the notebooks' metadata name, else the installation's default")


def _search_folders(folders: list[Path]) -> None:
    from graders.assignment import registry

    for folder in reversed(folders):  # the first named is searched first
        if not folder.is_dir():
            raise BadCommandLine(f"--assignments-dir {folder}: not a folder")
        registry.add_search_folder(folder)


def _assignment_option(parser: argparse.ArgumentParser, default: str = "the installation's default") -> None:
    parser.add_argument("--assignment", default=None, help=f"the assignment's id (default: {default})")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


MAX_PORT = 65535


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError("must be a port number, 0..65535")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _config(args: argparse.Namespace, *, assignment: Assignment, seed: int, **extra: Any) -> GradingConfig:
    from graders.pipeline.config import GradingConfig

    return GradingConfig(seed=seed, cell_timeout=args.timeout, data_dir=args.data_dir, assignment=assignment, **extra)


def _assignment(args: argparse.Namespace) -> Assignment:
    from graders.assignment import registry

    return registry.load(args.assignment)


def _graded(args: argparse.Namespace, submissions: tuple[Submission, ...]) -> Assignment:
    """`--assignment`, else the one the submissions' metadata name (graders.pipeline.triage.assignment_for), said on stderr."""
    from graders.pipeline.triage import assignment_for

    assignment = assignment_for(submissions, args.assignment)
    if args.assignment is None:
        print(f"grading as {assignment.id} ({assignment.title}); name another with --assignment", file=sys.stderr)
    return assignment


def _check_data_dir(args: argparse.Namespace, assignment: Assignment) -> None:
    if args.data_dir is not None and not assignment.has_data(args.data_dir):
        raise BadCommandLine(f"--data-dir {args.data_dir} does not hold {assignment.id}'s grading data: {assignment.data_help}")


def _grade(args: argparse.Namespace) -> int:
    from graders.gradebook.lock import exclusive
    from graders.gradebook.store import Gradebook
    from graders.intake.discovery import find_submissions
    from graders.pipeline.batch import grade_folder
    from graders.pipeline.secret import SECRET_NAME, course_seed
    from graders.pipeline.staff import after_grading

    # Usage errors first: the lock and the secret create files, and a bad command writes nothing.
    if not args.submissions.is_dir():
        raise BadCommandLine(f"{args.submissions} is not a folder of submissions")
    if args.seed is not None and args.secret_file is not None:
        raise BadCommandLine("--seed and --secret-file exclude each other: the seed is either given or drawn from the secret")
    if args.scheduler is not None and args.cold:
        raise BadCommandLine("--scheduler runs the warm path on the cluster's workers; it cannot be combined with --cold")
    assignment = _graded(args, find_submissions(args.submissions).submissions)
    _check_data_dir(args, assignment)
    # Connected (and the workers checked) before the lock: an unreachable scheduler writes nothing.
    with (
        _cluster(args.scheduler, assignment) as cluster,
        exclusive(args.out),
    ):  # a second grader on the same reports is refused at once
        Gradebook.open(args.out, create=True).close()  # a corrupt gradebook stops us before any grading
        seed, secret_hash = args.seed, ""
        if seed is None:
            drawn = course_seed(args.secret_file or args.out / SECRET_NAME)
            seed, secret_hash = drawn.seed, drawn.secret_hash
        config = _config(
            args,
            assignment=assignment,
            seed=seed,
            secret_hash=secret_hash,
            jobs=args.jobs,
            cold=args.cold,
            force=args.force,
            sandbox=args.sandbox,
            notebook_timeout=args.notebook_timeout,
            memory_bytes=args.memory_mb * 2**20,
            disk_bytes=args.disk_mb * 2**20,
            scoring=Scoring(args.scoring),
        )
        executor = cluster or _warm_executor(args.warm, config)
        results = grade_folder(args.submissions, out_dir=args.out, config=config, executor=executor, on_result=Progress().update)
    graded = sum(1 for r in results if r.status.value == "graded")
    print(f"graded {graded} of {len(results)} submissions into {args.out}/ (index.html, grades.csv, gradebook.sqlite)", file=sys.stderr)
    for warning in after_grading(reports=args.out, submissions=[r.submission for r in results]):
        print(warning, file=sys.stderr)
    return 0


def _cluster(address: str | None, assignment: Assignment) -> contextlib.AbstractContextManager[Executor | None]:
    """The Dask executor for `--scheduler`, connected; without it nothing of Dask is imported."""
    if address is None:
        return contextlib.nullcontext()
    try:
        from graders.execute.cluster import DaskExecutor
    except ImportError as exc:
        raise BadCommandLine(f"--scheduler needs Dask ({exc}): pip install 'a10-grader[dask]', on the workers too") from exc
    from functools import partial

    from graders.pipeline.cache import grader_fingerprint

    # Run on every worker: the same harness and assignment code there, wherever it is installed.
    executor = DaskExecutor(address, fingerprint=partial(grader_fingerprint, assignment.package_dir()))
    executor.start()
    return executor


def _warm_executor(zygote: Zygote | None, config: GradingConfig) -> Executor | None:
    """The warm server's zygote as this batch's executor; None: the batch's own (graders.pipeline.batch.make_executor)."""
    if zygote is None or config.cold:
        return None
    from graders.execute.warm import WarmExecutor

    return WarmExecutor(config.jobs, zygote)


def _check(args: argparse.Namespace) -> int:
    from graders.intake.discovery import Submission, safe_id
    from graders.pipeline.selfcheck import all_passed, check_notebook, format_table

    if not args.notebook.is_file():
        raise BadCommandLine(f"{args.notebook} is not a file")
    assignment = _graded(args, (Submission(safe_id(args.notebook.stem), args.notebook),))
    _check_data_dir(args, assignment)
    seed = args.seed if args.seed is not None else assignment.public_seed
    config = _config(args, assignment=assignment, seed=seed, jobs=1)
    if args.warm is None:
        result = check_notebook(args.notebook, config=config)
    else:
        from functools import partial

        from graders.execute.warm import WarmExecutor, run_one

        result = check_notebook(args.notebook, config=config, run=partial(run_one, WarmExecutor(1, args.warm)))
    print(format_table(result, config))
    return 0 if all_passed(result) else 1


# What a warm server runs (graders.pipeline.client), and whether the command runs notebooks (it takes the server's
# warm zygote; a rescore leaves it for the next grade or check); every other command runs here.
SERVED: dict[Callable[[argparse.Namespace], int], bool] = {_grade: True, _check: True, **dict.fromkeys(SERVED_STAFF, False)}


def runs_notebooks(argv: Sequence[str]) -> bool:
    """Whether a command the server is asked to run needs a zygote (the client parsed the same argv before it asked)."""
    try:
        return SERVED.get(_parser().parse_args(argv).command, True)
    except SystemExit:
        return True  # unreachable for a client's own command line; the worker reports the error as the client would


def _kit(args: argparse.Namespace) -> int:
    kit_hash, files = _assignment(args).build_kit(args.out)
    print(f"wrote the student kit {kit_hash} into {args.out}/ ({', '.join(files)})")
    return 0


def _review(args: argparse.Namespace) -> int:
    from graders.review.server import serve

    serve(args.reports, host=args.host, port=args.port, reviewer=args.reviewer)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from graders.pipeline.server import serve

    def ready(path: Path) -> None:
        print(f"grader serve: warm at {path}; `grader grade`, `check` and `rescore` use it (exits after {args.idle:g} s quiet)", flush=True)

    serve(lambda argv, zygote: main(argv, served=True, warm=zygote), runs_notebooks=runs_notebooks, idle=args.idle, on_ready=ready)
    return 0


def _make_data(args: argparse.Namespace) -> int:
    print(_assignment(args).prepare_data(args.folder))
    return 0


class Progress:
    """One line per finished submission with count, rate and ETA, on stderr.

    The rate is measured from the first result on: the start-up before it (imports, the warm
    zygote) is paid once and would make the first ETAs several times too long.
    """

    def __init__(self) -> None:
        self.first: float | None = None
        self.done = 0

    def update(self, result: SubmissionResult, total: int) -> None:
        now = time.monotonic()
        self.done += 1
        self.first = self.first if self.first is not None else now
        rate = ""
        if self.done > 1:
            per_notebook = (now - self.first) / (self.done - 1)
            rate = f"  {per_notebook:.2f} s/notebook, ETA {per_notebook * (total - self.done):.0f} s"
        print(
            f"[{self.done}/{total}] {result.submission}: {result.score:g}/{result.max_score:g} ({result.status.value}){rate}",
            file=sys.stderr,
        )
