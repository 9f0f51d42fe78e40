"""`--format canvas`: the CSV that Canvas's gradebook import reads.

Canvas's documented import layout: the first five columns identify the student — Student,
ID (Canvas user id), SIS User ID, SIS Login ID, Section — then one column per assignment.
Canvas matches an assignment column to an existing assignment by `Title (id)` (the id is the
one its own export shows) or else by its exact title; any other title creates a new assignment.
So the column is the assignment's title, with the LMS assignment id when staff give it
(`--lms-assignment-id`) or when the roster is Canvas's export and has exactly one `Title (id)` column.
The row after the header is "Points Possible", with the assignment's maximum; Canvas reads it
as the points possible, not as a student. An empty score cell leaves that student's grade
unchanged in Canvas, so a submission whose written answers are still pending is exported with an
EMPTY score: nothing is posted until staff have marked it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.gradebook.exports.cells import Options, Row, csv_text, number, safe
from graders.gradebook.exports.roster import Identity, Roster
from graders.results import write_text_atomic

HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")  # then the assignment's column


def identity(who: Identity, roster: Roster) -> str:
    """Canvas finds a student by ID, else SIS User ID, else SIS Login ID."""
    return who.canvas_id or who.sis_user_id or who.sis_login_id


def column_title(assignment: Assignment, roster: Roster, lms_assignment_id: str) -> str:
    """`Title (id)` with the id staff gave, or the one the roster (Canvas's own export) has for this title; else the title."""
    if lms_assignment_id:
        return f"{assignment.title} ({lms_assignment_id})"
    exported = [c for c in roster.columns if roster.source == "canvas" and _assignment_id(c, assignment.title)]
    return exported[0] if len(exported) == 1 else assignment.title


def _assignment_id(column: str, title: str) -> str:
    """The id in Canvas's `Title (id)` column header for this title, or ""."""
    head, _, tail = column.partition(f"{title} (")
    number = tail.removesuffix(")")
    return number if not head and tail.endswith(")") and number.isascii() and number.isdigit() else ""


def points_possible(rows: Sequence[Row]) -> str:
    """The "Points Possible" cell of a column: its grades' maximum (checks and written answers)."""
    return number(max((row.grade.max_score for row in rows), default=0.0))


def student_cells(who: Identity) -> list[str]:
    """The five columns Canvas identifies a student by, defused."""
    return [safe(who.name), safe(who.canvas_id), safe(who.sis_user_id), safe(who.sis_login_id), safe(who.section)]


def score(row: Row | None) -> str:
    """A score cell: empty (Canvas leaves the grade as it is) with no grade or written answers still pending."""
    return "" if row is None or row.grade.pending else number(row.grade.score)


def export(assignment: Assignment, rows: Sequence[Row], roster: Roster, out: Path, options: Options) -> None:
    lines = [
        [*HEADER, safe(column_title(assignment, roster, options.lms_id_for(assignment.id)))],
        ["Points Possible", "", "", "", "", points_possible(rows)],
    ]
    lines += [[*student_cells(row.who), score(row)] for row in sorted(rows, key=lambda r: r.grade.submission)]
    write_text_atomic(out, csv_text(lines, bom=options.bom))
