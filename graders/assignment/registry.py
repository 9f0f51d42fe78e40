"""Finding assignments: the `graders.assignments` entry-point group, like papermill's engines.

An assignment package declares, in its pyproject.toml,
`[project.entry-points."graders.assignments"] <id> = "<package>:ASSIGNMENT"`; the harness finds it by
id (`--assignment`, a run's recorded settings), or, named by nothing, takes the one installed or else
the installation's default: the one entry of the `graders.default_assignment` group, in the same
`<package>:ASSIGNMENT` form. Runs recorded before the seam name no assignment: they are the default's.
Assignments built from a notebook (`grader assignment build`, graders.authoring) need no installing: a folder
holding `assignment.json`, or a folder of such folders, named on the assignments path (`GRADER_ASSIGNMENTS`,
folders separated by `:`; `grader --assignments-dir DIR` adds one) is found beside the entry points, and an
entry point of the same id wins. Each is loaded through `BUILT_LOADER`, named like an entry point's object.
A notebook may name the assignment it is for (graders.tags.named_assignment): which assignment a folder
of notebooks is graded as is graders.pipeline.triage.assignment_for, and a batch refuses a notebook
named for another.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from graders.assignment.spec import Assignment
from graders.errors import BadCommandLine, HarnessError

if TYPE_CHECKING:  # graders.settings imports this package (Scoring): a name for annotations only
    from graders.settings import RunSettings

GROUP = "graders.assignments"
DEFAULT_GROUP = "graders.default_assignment"
PATH_VARIABLE = "GRADER_ASSIGNMENTS"
CONTRACT_FILE = "assignment.json"  # graders.authoring.contract's name for it
BUILT_LOADER = "graders.authoring.built:from_folder"  # loaded by name, as entry points are: a layer above this one
_MAX_ID = 100


def add_search_folder(folder: Path) -> None:
    """Put `folder` first on the assignments path (`--assignments-dir`), for this process and the ones it starts."""
    os.environ[PATH_VARIABLE] = os.pathsep.join([str(folder.resolve()), *_search_path()])
    load.cache_clear()


def _search_path() -> list[str]:
    return [folder for folder in os.environ.get(PATH_VARIABLE, "").split(os.pathsep) if folder]


def built_folders() -> dict[str, Path]:
    """id -> folder of each built assignment on the assignments path (the first of an id wins)."""
    found: dict[str, Path] = {}
    for entry in map(Path, _search_path()):
        candidates = [entry] if (entry / CONTRACT_FILE).is_file() else sorted(p for p in entry.glob("*") if (p / CONTRACT_FILE).is_file())
        for folder in candidates:
            assignment_id = _built_id(folder)
            if assignment_id is not None:
                found.setdefault(assignment_id, folder)
    return found


def _built_id(folder: Path) -> str | None:
    """The id a built folder's contract names, read without loading it; None for a file that is not a contract."""
    try:
        document = json.loads((folder / CONTRACT_FILE).read_bytes()[: 1 << 20])
    except (OSError, ValueError):
        return None
    named = document.get("id") if isinstance(document, Mapping) else None
    return named if isinstance(named, str) and 0 < len(named) <= _MAX_ID else None


def _points() -> dict[str, EntryPoint]:
    """Every assignment by id: the built ones on the assignments path, then the installed entry points over them."""
    built = {name: EntryPoint(name, BUILT_LOADER, GROUP) for name in built_folders()}
    return {**built, **{point.name: point for point in entry_points(group=GROUP)}}


def installed() -> tuple[str, ...]:
    return tuple(sorted(_points()))


@cache
def load(assignment_id: str | None = None) -> Assignment:
    """The assignment registered under `assignment_id`; None: the only one installed, else the default."""
    points = _points()
    if assignment_id is None:
        assignment_id = next(iter(points)) if len(points) == 1 else _default_id(points)
    if assignment_id not in points:
        raise BadCommandLine(f"no assignment {assignment_id!r} is installed (installed: {_listed(points)})")
    point = points[assignment_id]
    assignment = point.load()(built_folders()[assignment_id]) if point.value == BUILT_LOADER else point.load()
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
