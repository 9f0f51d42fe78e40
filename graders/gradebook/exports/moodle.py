"""`--format moodle`: a CSV for Moodle's gradebook import (Grades → Import → CSV file).

Moodle's importer maps one column to a user field (email address, username or ID number)
and each other column to a grade item or its feedback; grades are plain numbers with a dot
decimal, and an empty grade cell is skipped. Columns: the identifier (the first of the
roster's `email`, `username`, `id_number` columns that is filled in; without a roster the
submission id as "Username"), the assignment's title (the total; EMPTY while written answers are
pending), "Feedback" (score, what is pending, staff adjustments with reasons).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.gradebook.exports.cells import feedback, number, safe
from graders.gradebook.exports.roster import Roster
from graders.gradebook.store import Grade
from graders.results import write_text_atomic

IDENTIFIERS = (("email", "Email address"), ("username", "Username"), ("id_number", "ID number"))


def identifier(roster: Roster) -> tuple[str, str]:
    """(roster column, Moodle's name for the user field it maps to)."""
    return next(((column, title) for column, title in IDENTIFIERS if roster.has_column(column)), IDENTIFIERS[1])


def export(assignment: Assignment, grades: Sequence[Grade], roster: Roster, out: Path) -> None:
    column, title = identifier(roster)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([title, assignment.title, "Feedback"])
    for grade in sorted(grades, key=lambda g: g.submission):
        who = getattr(roster.identity(grade.submission), column) or grade.submission
        writer.writerow([safe(who), "" if grade.pending else number(grade.score), feedback(grade)])
    write_text_atomic(out, buffer.getvalue())
