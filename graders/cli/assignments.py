"""`grader assignment list` and `grader assignment check NAME`: the installed assignments (graders.assignment.registry)
and their validation before release (graders.pipeline.validate); `new` and `build`: an assignment written as an
annotated solution notebook (graders.authoring, docs/authors.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_assignment_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("assignment", help="the installed assignments: list them, or check one before release")
    actions = group.add_subparsers(required=True, metavar="ACTION")
    actions.add_parser("list", help="each installed assignment: id, version, title (the default marked)").set_defaults(command=_list)
    check = actions.add_parser("check", help="validate an assignment before release; exits 1 when a finding fails")
    check.add_argument("name", help="the assignment's id (`grader assignment list`)")
    check.set_defaults(command=_validate)
    new = actions.add_parser("new", help="write a working skeleton: an annotated solution notebook NAME.ipynb")
    new.add_argument("name", help="the new assignment's id: lower-case letters, digits, '.', '_', '-'")
    new.add_argument("--out", type=Path, default=Path(), help="the folder to write NAME.ipynb into (default: here)")
    new.set_defaults(command=_new)
    build = actions.add_parser("build", help="build an annotated solution notebook into an assignment folder")
    build.add_argument("source", type=Path, help="the annotated solution notebook")
    build.add_argument(
        "--out", type=Path, default=None, help="the built folder (default: build/assignments/ID); new, empty or an earlier build"
    )
    build.set_defaults(command=_build)


def _list(args: argparse.Namespace) -> int:
    from graders.assignment.registry import listing

    print("\n".join(listing()))
    return 0


def _validate(args: argparse.Namespace) -> int:
    import tempfile

    from graders.assignment import registry
    from graders.pipeline.validate import validate

    assignment = registry.load(args.name)
    with tempfile.TemporaryDirectory(prefix="grader-assignment-check-") as work:
        validation = validate(assignment, work=Path(work))
    print(validation.report())
    return 0 if validation.passed else 1


def _new(args: argparse.Namespace) -> int:
    from graders.authoring.skeleton import new

    path = new(args.name, args.out)
    print(f"wrote {path}: edit it, then `grader assignment build {path}`")
    return 0


def _build(args: argparse.Namespace) -> int:
    from graders.authoring.build import build

    assignment = build(args.source, args.out)
    print(f"built {assignment.id} (version {assignment.version}) into {assignment.folder}")
    print(f"students get {assignment.handout.template}; {assignment.folder / 'truth'} is instructor-only")
    print(f"check it: grader --assignments-dir {assignment.folder} assignment check {assignment.id}")
    return 0
