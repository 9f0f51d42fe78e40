"""`--format moodle`: a CSV for Moodle's gradebook import (Grades → Import → CSV file).

Moodle's importer maps one column to a user field (email address, username or ID number)
and each other column to a grade item or its feedback; grades are plain numbers with a dot
decimal. Two of its rules shape this file: a user it cannot find aborts the WHOLE import, and
an empty grade cell is "no grade", which clears a grade already there. So with a roster only
the students it matches get a row, and a grade still pending gets no row at all (both listed
on stderr by `exports.write`). Columns: the identifier (the first of the roster's `email`,
`username`, `id_number` that is filled in; without a roster the submission id as "Username"),
the assignment's title (the total), "Feedback" (score, staff adjustments with reasons).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.gradebook.exports.cells import Options, Row, csv_text, feedback, number, safe
from graders.gradebook.exports.roster import Identity, Roster
from graders.results import write_text_atomic

IDENTIFIERS = (("email", "Email address"), ("username", "Username"), ("id_number", "ID number"))


def identifier(roster: Roster) -> tuple[str, str]:
    """(roster column, Moodle's name for the user field it maps to)."""
    return next(((column, title) for column, title in IDENTIFIERS if roster.has_column(column)), IDENTIFIERS[1])


def identity(who: Identity, roster: Roster) -> str:
    return str(getattr(who, identifier(roster)[0]))  # empty: Moodle cannot find this student (the row is left out)


def export(assignment: Assignment, rows: Sequence[Row], roster: Roster, out: Path, options: Options) -> None:
    column, title = identifier(roster)
    lines = [[title, safe(assignment.title), "Feedback"]]
    lines += [[safe(getattr(row.who, column)), *cells(row)] for row in sorted(rows, key=lambda r: r.grade.submission)]
    write_text_atomic(out, csv_text(lines, bom=options.bom))


def cells(row: Row | None) -> list[str]:
    """A grade and its feedback; empty for no grade (Moodle then clears one already there: `exports.course` says so)."""
    return ["", ""] if row is None else [number(row.grade.score), feedback(row.grade, final=row.final)]
