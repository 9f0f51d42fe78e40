"""Finding assignments: the `graders.assignments` entry-point group, like papermill's engines.

An assignment package declares, in its pyproject.toml,
`[project.entry-points."graders.assignments"] <id> = "<package>:ASSIGNMENT"`; the harness finds it by
id (`--assignment`, a run's recorded settings), or takes the one installed. A notebook may name the
assignment it is for (graders.tags.named_assignment): a batch refuses one named for another.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from graders.assignment.spec import Assignment
from graders.errors import BadCommandLine, HarnessError

if TYPE_CHECKING:  # graders.settings imports this package (Scoring): a name for annotations only
    from graders.settings import RunSettings

GROUP = "graders.assignments"


def installed() -> tuple[str, ...]:
    return tuple(sorted(point.name for point in entry_points(group=GROUP)))


@cache
def load(assignment_id: str | None = None) -> Assignment:
    """The assignment registered under `assignment_id`; None: the only one installed."""
    points = {point.name: point for point in entry_points(group=GROUP)}
    if assignment_id is None:
        if len(points) != 1:
            raise BadCommandLine(f"name the assignment with --assignment: installed are {', '.join(sorted(points)) or 'none'}")
        (assignment_id,) = points
    if assignment_id not in points:
        raise BadCommandLine(f"no assignment {assignment_id!r} is installed (installed: {', '.join(sorted(points)) or 'none'})")
    assignment = points[assignment_id].load()
    if not isinstance(assignment, Assignment) or assignment.id != assignment_id:
        # An installed package that registers something else under the id: its fault, not the command's.
        raise HarnessError(f"the entry point {assignment_id!r} of {GROUP} is not that assignment")
    return assignment


def recorded_in(settings: RunSettings | None) -> Assignment:
    """The assignment a run's recorded settings name (None, or a run from before the seam, which
    recorded none: the one installed)."""
    return load(None if settings is None else settings.assignment_id)
