"""Grades out of the gradebook, in the layouts LMS importers document (docs/staff.md, "Exports").

Every exporter is a function `(assignment, grades, roster, out) -> None` over `store.Grade`s (the
assignment names the grade column and the checks); `write` picks one by name. The roster (exports.roster) maps submission ids to LMS identities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.gradebook.exports import canvas, csv, gradescope, moodle
from graders.gradebook.exports.roster import Roster
from graders.gradebook.store import Grade

Exporter = Callable[[Assignment, Sequence[Grade], Roster, Path], None]
FORMATS: dict[str, Exporter] = {"csv": csv.export, "canvas": canvas.export, "moodle": moodle.export, "gradescope": gradescope.export}


def write(format_name: str, assignment: Assignment, grades: Sequence[Grade], roster: Roster, out: Path) -> None:
    FORMATS[format_name](assignment, grades, roster, out)
