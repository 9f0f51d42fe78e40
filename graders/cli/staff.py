"""`grader`'s commands after grading: the gradebook in REPORTS (history, overrides, written answers, rescore,
reports, exports, release, the Gradescope bundle), each a thin call of graders.pipeline.staff and its neighbours."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from graders.errors import BadCommandLine


def add_staff_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """After grading: the gradebook in REPORTS (graders.pipeline.staff)."""
    _adjusting(commands)
    _publishing(commands)


def _adjusting(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """What staff change: overrides and written answers' marks (and suggested ones), and what they look at first (history)."""
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

    suggest = commands.add_parser("suggest", help="suggested marks for a written question's unmarked answers (needs the [assist] extra)")
    suggest.add_argument("reports", type=Path)
    suggest.add_argument("question", help="the question's tag in the handout")
    suggest.add_argument(
        "--json", action="store_true", help="one JSON object per line: submission, points, rubric_items, confidence (or abstain)"
    )
    suggest.set_defaults(command=_suggest)


def _publishing(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """What staff send on: rescored and re-rendered reports, LMS files, the release, the Gradescope bundle."""

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

    export = commands.add_parser(
        "export", help="grades for an LMS: csv, canvas or moodle (Gradescope: gradescope-bundle; docs/staff.md: Exports)"
    )
    export.add_argument(
        "reports", type=Path, nargs="+", help="a reports folder; several (one per assignment): one canvas or moodle file, a column each"
    )
    export.add_argument("--format", required=True, choices=("csv", "canvas", "moodle"))
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.add_argument(
        "--roster",
        type=Path,
        action="append",
        default=[],
        help="our roster CSV, or the LMS's own gradebook export (Canvas, Moodle) as downloaded; once, or once per reports folder",
    )
    export.add_argument(
        "--lms-assignment-id",
        metavar="[ASSIGNMENT=]ID",
        action="append",
        default=[],
        help="canvas: an assignment's id in Canvas; its column is then 'Title (id)' (several folders: ASSIGNMENT=ID, once per assignment)",
    )
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
    bundle.add_argument(
        "--assignment", default=None, help="the assignment it grades (default: the class's; without a class, the installation's default)"
    )
    bundle.set_defaults(command=_bundle)

    release = commands.add_parser("release", help="send the students their grades: nothing says provisional then (docs/staff.md: Release)")
    release.add_argument("reports", type=Path)
    release.add_argument("--by", default=_user(), help="who (default: your login name), recorded in REPORTS/release.json")
    release.set_defaults(command=_release)


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
    elif not args.submission:
        print("\n".join(staff.question_listing(args.reports)))  # what QUESTION may be, as the help promises
        return 0
    else:
        raise BadCommandLine("give SUBMISSION QUESTION --points X [--comment TEXT], or --from FILE.csv")
    count = staff.set_manual(reports=args.reports, entries=entries, by=args.by) if entries else 0
    _rerendered(args.reports, f"{count} manual mark(s) recorded")
    return 0


def _suggest(args: argparse.Namespace) -> int:
    import json

    from graders.assist.command import suggested

    result = suggested(args.reports, args.question)
    for row in result.rows:
        print(json.dumps(row.as_json()) if args.json else row.as_line())
    print(result.summary(), file=sys.stderr)
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


# The staff commands a warm server runs (graders.cli.SERVED): rescoring imports the judge, as grading does.
SERVED_STAFF = (_rescore,)


def _report(args: argparse.Namespace) -> int:
    from graders.gradebook.lock import exclusive
    from graders.report.render import publish

    with exclusive(args.reports):
        grades = publish(args.reports)
    print(f"rendered {len(grades)} reports, index.html and grades.csv in {args.reports}/", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from graders.gradebook.exports import Options
    from graders.pipeline.staff import export, export_course

    bare = [value for value in args.lms_assignment_id if "=" not in value]
    if len(bare) > 1:
        raise BadCommandLine("--lms-assignment-id ID is one assignment's id: for several, --lms-assignment-id ASSIGNMENT=ID each")
    named = tuple((assignment, number) for assignment, _, number in (v.partition("=") for v in args.lms_assignment_id if "=" in v))
    options = Options(lms_assignment_id="".join(bare), lms_assignment_ids=named, bom=args.bom, keep=tuple(args.keep))
    if len(args.reports) > 1:
        said = export_course(reports=args.reports, format_name=args.format, out=args.out, roster_paths=args.roster, options=options)
    elif len(args.roster) > 1:
        raise BadCommandLine("--roster: one reports folder is matched with one roster")
    else:
        roster = args.roster[0] if args.roster else None
        said = export(reports=args.reports[0], format_name=args.format, out=args.out, roster_path=roster, options=options)
    for warning in said:
        print(warning, file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _release(args: argparse.Namespace) -> int:
    from graders.pipeline.staff import release

    for line in release(reports=args.reports, by=args.by).said():
        print(line, file=sys.stderr)
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from graders.pipeline.bundle import write_bundle

    written, warnings = write_bundle(
        out=args.out,
        secret_file=args.secret_file,
        seed=args.seed,
        reports=args.reports,
        new_secret=args.new_secret,
        assignment=args.assignment,
    )
    print(written)
    for warning in warnings:
        print(warning, file=sys.stderr)
    return 0
