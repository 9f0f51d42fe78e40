"""`grader`: a thin command line over keyword-only functions in graders.pipeline (batch, selfcheck, staff) and the assignment (graders.assignment).

Exit status: 0 when the batch completed (whatever the grades); otherwise EXIT_STATUS of the error
(graders/errors.py draws the tree): 2 for a usage error, 75 while another grader holds the reports
folder, 65 for a gradebook that cannot be used, 1 for a fault of the harness itself. `grader check`
exits 0 only when every check passes.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graders.assignment.spec import Scoring
from graders.assist.command import add_command as add_suggest
from graders.errors import BadCommandLine, CorruptGradebook, FolderBusy, GraderError, HarnessError, MissingExtra, UsageError, mapped
from graders.execute.jobs import default_jobs

if TYPE_CHECKING:
    from graders.assignment.spec import Assignment
    from graders.execute.jobs import Executor
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
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

    data = commands.add_parser("make-data", help="write the assignment's generated grading data into a folder")
    data.add_argument("folder", type=Path)
    _assignment_option(data)
    data.set_defaults(command=_make_data)
    _staff_commands(commands)
    add_suggest(commands)
    return parser


def _staff_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """After grading: the gradebook in REPORTS (graders.pipeline.staff)."""
    history = commands.add_parser("history", help="a submission's grading runs and what changed between them")
    history.add_argument("reports", type=Path)
    history.add_argument("submission")
    history.set_defaults(command=_history)

    override = commands.add_parser("override", help="set (or --clear) a staff score for one check of one submission")
    override.add_argument("reports", type=Path)
    override.add_argument("submission")
    override.add_argument("check_id")
    override.add_argument("--score", type=float, help="the points this check gets, 0..its maximum")
    override.add_argument("--reason", default="", help="why; shown to the student as 'adjusted by course staff: REASON'")
    override.add_argument("--clear", action="store_true", help="remove the override: the automatic score applies again")
    override.add_argument("--by", default=_user(), help="who (default: your login name)")
    override.set_defaults(command=_override)

    manual = commands.add_parser("manual", help="points for a written answer (a question of the assignment)")
    manual.add_argument("reports", type=Path)
    manual.add_argument("submission", nargs="?")
    manual.add_argument("question", nargs="?", help="the question's tag in the handout (`grader manual REPORTS` lists them)")
    manual.add_argument("--points", type=float)
    manual.add_argument("--comment", default="", help="shown to the student next to the points")
    manual.add_argument("--from", dest="from_csv", type=Path, help="import many: a CSV with columns submission,question,points,comment")
    manual.add_argument("--question-points", metavar="TAG=POINTS", action="append", default=[], help="what a question is worth (default 1)")
    manual.add_argument(
        "--existing-marks",
        choices=("keep", "scale"),
        default=None,
        help="raising a question's points over marks already given: keep their points (a full mark is full no more) or scale them",
    )
    manual.add_argument("--by", default=_user(), help="who (default: your login name)")
    manual.set_defaults(command=_manual)

    rescore = commands.add_parser(
        "rescore", help="apply the current checks, points, overrides and marks to stored values; runs no notebook"
    )
    rescore.add_argument("reports", type=Path)
    rescore.add_argument("--data-dir", type=Path, default=None, help="the data root the run was graded with (default: the generated data)")
    rescore.add_argument(
        "--secret-file", type=Path, default=None, help="the course secret the run was graded with (default: REPORTS/.grader-secret)"
    )
    rescore.set_defaults(command=_rescore)

    report = commands.add_parser("report", help="re-render every report, index.html and grades.csv from the gradebook")
    report.add_argument("reports", type=Path)
    report.set_defaults(command=_report)

    export = commands.add_parser("export", help="grades for an LMS: csv, canvas, moodle or gradescope (docs/staff.md: Exports)")
    export.add_argument("reports", type=Path)
    export.add_argument("--format", required=True, choices=("csv", "canvas", "moodle", "gradescope"))
    export.add_argument("--out", type=Path, required=True, help="a file (a folder for gradescope)")
    export.add_argument(
        "--roster", type=Path, default=None, help="our roster CSV, or the LMS's own gradebook export (Canvas, Moodle) as downloaded"
    )
    export.add_argument("--lms-assignment-id", default="", help="canvas: the assignment's id in Canvas; the column is then 'Title (id)'")
    export.add_argument("--bom", action="store_true", help="start the CSV with a UTF-8 byte-order mark (for spreadsheet programs)")
    export.add_argument(
        "--keep",
        metavar="SUBMISSION",
        action="append",
        default=[],
        help="of several submissions for one student, the one that counts (once per student); the others are left out",
    )
    export.set_defaults(command=_export)

    bundle = commands.add_parser("gradescope-bundle", help="write the Gradescope autograder zip (setup.sh, run_autograder)")
    bundle.add_argument("--out", type=Path, required=True)
    bundle.add_argument(
        "--secret-file", type=Path, default=None, help="the course secret the class was graded with (REPORTS/.grader-secret)"
    )
    bundle.add_argument("--seed", type=int, default=None, help="for a class graded with --seed: that seed (the bundle carries it)")
    bundle.add_argument(
        "--reports", type=Path, default=None, help="the class's reports folder, checked against (default: the secret file's folder)"
    )
    bundle.add_argument("--new-secret", action="store_true", help="create the secret file if there is none (a new class)")
    bundle.set_defaults(command=_bundle)


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=_positive_float, default=120.0, help="seconds one cell may run (default 120)")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="the assignment's grading data; default: generated (`grader make-data`)"
    )
    _assignment_option(parser)


def _assignment_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assignment", default=None, help="the assignment's id (default: the only one installed)")


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


def _config(args: argparse.Namespace, *, seed: int, **extra: Any) -> GradingConfig:
    from graders.pipeline.config import GradingConfig

    return GradingConfig(seed=seed, cell_timeout=args.timeout, data_dir=args.data_dir, assignment=_assignment(args), **extra)


def _assignment(args: argparse.Namespace) -> Assignment:
    from graders.assignment import registry

    return registry.load(args.assignment)


def _check_data_dir(args: argparse.Namespace) -> None:
    assignment = _assignment(args)
    if args.data_dir is not None and not assignment.has_data(args.data_dir):
        raise BadCommandLine(f"--data-dir {args.data_dir} does not hold {assignment.id}'s grading data: {assignment.data_help}")


def _grade(args: argparse.Namespace) -> int:
    from graders.gradebook.exports import claimed_twice
    from graders.gradebook.lock import exclusive
    from graders.gradebook.store import Gradebook
    from graders.pipeline.batch import grade_folder
    from graders.pipeline.secret import SECRET_NAME, course_seed
    from graders.pipeline.staff import drift_warnings

    # Usage errors first: the lock and the secret create files, and a bad command writes nothing.
    _check_data_dir(args)
    if not args.submissions.is_dir():
        raise BadCommandLine(f"{args.submissions} is not a folder of submissions")
    if args.seed is not None and args.secret_file is not None:
        raise BadCommandLine("--seed and --secret-file exclude each other: the seed is either given or drawn from the secret")
    if args.scheduler is not None and args.cold:
        raise BadCommandLine("--scheduler runs the warm path on the cluster's workers; it cannot be combined with --cold")
    # Connected (and the workers checked) before the lock: an unreachable scheduler writes nothing.
    with (
        _cluster(args.scheduler, _assignment(args)) as executor,
        exclusive(args.out),
    ):  # a second grader on the same reports is refused at once
        Gradebook.open(args.out, create=True).close()  # a corrupt gradebook stops us before any grading
        seed, secret_hash = args.seed, ""
        if seed is None:
            drawn = course_seed(args.secret_file or args.out / SECRET_NAME)
            seed, secret_hash = drawn.seed, drawn.secret_hash
        config = _config(
            args,
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
        results = grade_folder(args.submissions, out_dir=args.out, config=config, executor=executor, on_result=Progress().update)
    graded = sum(1 for r in results if r.status.value == "graded")
    print(f"graded {graded} of {len(results)} submissions into {args.out}/ (index.html, grades.csv, gradebook.sqlite)", file=sys.stderr)
    for warning in drift_warnings(reports=args.out):
        print(warning, file=sys.stderr)
    for student, submissions in claimed_twice([r.submission for r in results]).items():
        print(
            f"warning: duplicate: {len(submissions)} submissions for the student id {student!r}: {', '.join(submissions)} "
            "(index.html's note names the files); exports refuse them until you choose one: grader export ... --keep SUBMISSION",
            file=sys.stderr,
        )
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


def _check(args: argparse.Namespace) -> int:
    from graders.pipeline.selfcheck import all_passed, check_notebook, format_table

    if not args.notebook.is_file():
        raise BadCommandLine(f"{args.notebook} is not a file")
    _check_data_dir(args)
    seed = args.seed if args.seed is not None else _assignment(args).public_seed
    config = _config(args, seed=seed, jobs=1)
    result = check_notebook(args.notebook, config=config)
    print(format_table(result, config))
    return 0 if all_passed(result) else 1


def _kit(args: argparse.Namespace) -> int:
    kit_hash, files = _assignment(args).build_kit(args.out)
    print(f"wrote the student kit {kit_hash} into {args.out}/ ({', '.join(files)})")
    return 0


def _review(args: argparse.Namespace) -> int:
    from graders.review.server import serve

    serve(args.reports, host=args.host, port=args.port, reviewer=args.reviewer)
    return 0


def _make_data(args: argparse.Namespace) -> int:
    print(_assignment(args).prepare_data(args.folder))
    return 0


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"


def _history(args: argparse.Namespace) -> int:
    from graders.pipeline.staff import format_history, history

    print(format_history(history(reports=args.reports, submission=args.submission)))
    return 0


def _override(args: argparse.Namespace) -> int:
    from graders.pipeline import staff

    if args.clear:
        if args.score is not None:
            raise BadCommandLine("--clear takes no --score")
        staff.clear_override(reports=args.reports, submission=args.submission, check_id=args.check_id, by=args.by)
        done = f"cleared the override on {args.submission} {args.check_id}"
    else:
        if args.score is None:
            raise BadCommandLine("give --score X --reason TEXT, or --clear")
        staff.set_override(
            reports=args.reports, submission=args.submission, check_id=args.check_id, score=args.score, reason=args.reason, by=args.by
        )
        done = f"{args.submission} {args.check_id}: {args.score:g} ({args.reason})"
    _rerendered(args.reports, done)
    return 0


def _manual(args: argparse.Namespace) -> int:
    from graders.gradebook.store import ExistingMarks, ManualEntry
    from graders.pipeline import staff

    if args.existing_marks and not args.question_points:
        raise BadCommandLine("--existing-marks says what a --question-points change does to marks; give it with --question-points")
    if args.question_points:
        existing = ExistingMarks(args.existing_marks) if args.existing_marks else None
        points = dict(_tag_points(text) for text in args.question_points)
        for line in staff.set_question_points(reports=args.reports, points=points, existing=existing, by=args.by):
            print(line, file=sys.stderr)
    if args.from_csv is not None:
        if args.submission or args.points is not None:
            raise BadCommandLine("--from FILE.csv imports every mark; give no SUBMISSION, QUESTION or --points with it")
        entries = staff.read_manual_csv(args.from_csv)
    elif args.submission and args.question and args.points is not None:
        entries = [ManualEntry(args.submission, args.question, args.points, args.comment)]
    elif args.question_points and not args.submission:
        entries = []
    else:
        raise BadCommandLine("give SUBMISSION QUESTION --points X [--comment TEXT], or --from FILE.csv")
    count = staff.set_manual(reports=args.reports, entries=entries, by=args.by) if entries else 0
    _rerendered(args.reports, f"{count} manual mark(s) recorded")
    return 0


def _tag_points(text: str) -> tuple[str, float]:
    tag, _, value = text.partition("=")
    try:
        return tag.strip(), float(value)
    except ValueError:
        raise BadCommandLine(f"--question-points takes TAG=POINTS, e.g. question_tag=2, not {text!r}") from None


def _rerendered(reports: Path, done: str) -> None:
    from graders.pipeline.staff import rerender

    later = "" if rerender(reports) else " (a grader is writing to this folder; its reports will show it when it finishes)"
    print(f"{done}; reports updated{later}", file=sys.stderr)


def _rescore(args: argparse.Namespace) -> int:
    from graders.pipeline.rescore import rescore_folder

    started = time.monotonic()
    changes = rescore_folder(args.reports, data_dir=args.data_dir, secret_file=args.secret_file)
    for change in changes:
        if change.changed_checks:
            moved = ", ".join(f"{check} {old:g} → {new:g}" for check, old, new in change.changed_checks)
            print(f"{change.submission}: {change.old_score:g} → {change.new_score:g} ({moved})")
    unchanged = sum(1 for c in changes if not c.changed_checks)
    print(f"rescored {len(changes)} submissions in {time.monotonic() - started:.1f} s; {unchanged} unchanged", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from graders.gradebook.lock import exclusive
    from graders.report.render import publish

    with exclusive(args.reports):
        grades = publish(args.reports)
    print(f"rendered {len(grades)} reports, index.html and grades.csv in {args.reports}/", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from graders.gradebook.exports import Options
    from graders.pipeline.staff import export

    options = Options(lms_assignment_id=args.lms_assignment_id, bom=args.bom, keep=tuple(args.keep))
    for warning in export(reports=args.reports, format_name=args.format, out=args.out, roster_path=args.roster, options=options):
        print(warning, file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from graders.pipeline.bundle import write_bundle

    written, warnings = write_bundle(
        out=args.out, secret_file=args.secret_file, seed=args.seed, reports=args.reports, new_secret=args.new_secret
    )
    print(written)
    for warning in warnings:
        print(warning, file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
