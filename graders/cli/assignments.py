"""`grader assignment list` and `grader assignment check NAME`: the installed assignments (graders.assignment.registry)
and their validation before release (graders.pipeline.validate)."""

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
