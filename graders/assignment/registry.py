"""Finding assignments: the `graders.assignments` entry-point group, like papermill's engines.

An assignment package declares, in its pyproject.toml,
`[project.entry-points."graders.assignments"] <id> = "<package>:ASSIGNMENT"`; the harness finds it by
id (`--assignment`, a run's recorded settings), or, named by nothing, takes the one installed or else
the installation's default: the one entry of the `graders.default_assignment` group, in the same
`<package>:ASSIGNMENT` form. Runs recorded before the seam name no assignment: they are the default's.
A notebook may name the assignment it is for (graders.tags.named_assignment): which assignment a folder
of notebooks is graded as is graders.pipeline.triage.assignment_for, and a batch refuses a notebook
named for another.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from graders.assignment.spec import Assignment
from graders.errors import BadCommandLine, HarnessError

if TYPE_CHECKING:  # graders.settings imports this package (Scoring): a name for annotations only
    from graders.settings import RunSettings

GROUP = "graders.assignments"
DEFAULT_GROUP = "graders.default_assignment"


def installed() -> tuple[str, ...]:
    return tuple(sorted(point.name for point in entry_points(group=GROUP)))


@cache
def load(assignment_id: str | None = None) -> Assignment:
    """The assignment registered under `assignment_id`; None: the only one installed, else the default."""
    points = {point.name: point for point in entry_points(group=GROUP)}
    if assignment_id is None:
        assignment_id = next(iter(points)) if len(points) == 1 else _default_id(points)
    if assignment_id not in points:
        raise BadCommandLine(f"no assignment {assignment_id!r} is installed (installed: {_listed(points)})")
    assignment = points[assignment_id].load()
    if not isinstance(assignment, Assignment) or assignment.id != assignment_id:
        # An installed package that registers something else under the id: its fault, not the command's.
        raise HarnessError(f"the entry point {assignment_id!r} of {GROUP} is not that assignment")
    return assignment


def listing() -> tuple[str, ...]:
    """One line per installed assignment, id first (for scripts), then its version and title; the default marked."""
    default = default_id()
    return tuple(
        f"{assignment.id}  version {assignment.version}  {assignment.title}" + ("  (default)" if assignment.id == default else "")
        for assignment in map(load, installed())
    )


def default_id() -> str | None:
    """The assignment graded when nothing names one; None when several are installed and the installation names none."""
    try:
        return load(None).id
    except BadCommandLine:  # not an error here: the commands that need a default say so when run
        return None


def _default_id(points: dict[str, EntryPoint]) -> str:
    """The id of the assignment the installation names its default (several installed, none named)."""
    defaults = {point.value for point in entry_points(group=DEFAULT_GROUP)}
    if len(defaults) != 1:
        named = f"names {len(defaults)} defaults ({', '.join(sorted(defaults))})" if defaults else "names no default"
        raise BadCommandLine(f"name the assignment with --assignment: installed are {_listed(points)}, and the installation {named}")
    (value,) = defaults
    registered = [name for name, point in points.items() if point.value == value]
    if not registered:
        raise BadCommandLine(f"the default assignment {value!r} ({DEFAULT_GROUP}) is not installed (installed: {_listed(points)})")
    return registered[0]


def _listed(points: dict[str, EntryPoint]) -> str:
    return ", ".join(sorted(points)) or "none"


def recorded_in(settings: RunSettings | None) -> Assignment:
    """The assignment a run's recorded settings name; None (an empty gradebook), or a run from before
    the seam, which recorded none: the default (`load(None)`)."""
    return load(None if settings is None else settings.assignment_id)
