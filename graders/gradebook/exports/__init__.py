"""Grades out of the gradebook, in the layouts LMS importers document (README "Exports").

Every exporter is a function `(grades, roster, out) -> None` over `store.Grade`s; `write` picks
one by name. The roster (exports.roster) maps submission ids to LMS identities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from graders.gradebook.exports import canvas, csv, gradescope, moodle
from graders.gradebook.exports.roster import Roster
from graders.gradebook.store import Grade

Exporter = Callable[[Sequence[Grade], Roster, Path], None]
FORMATS: dict[str, Exporter] = {"csv": csv.export, "canvas": canvas.export, "moodle": moodle.export, "gradescope": gradescope.export}


def write(format_name: str, grades: Sequence[Grade], roster: Roster, out: Path) -> None:
    FORMATS[format_name](grades, roster, out)
