"""`--format canvas`: the CSV that Canvas's gradebook import reads.

Canvas's documented import layout: the first five columns identify the student — Student,
ID (Canvas user id), SIS User ID, SIS Login ID, Section — then one column per assignment,
headed by its name (a new name creates the assignment). The row after the header is
"Points Possible", with the assignment's maximum; Canvas reads it as the points possible,
not as a student. An empty score cell leaves that student's grade unchanged in Canvas, so a
submission whose written answers are still pending is exported with an EMPTY score: nothing
is posted until staff have marked it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.gradebook.exports.cells import number, safe
from graders.gradebook.exports.roster import Roster
from graders.gradebook.store import Grade
from graders.results import write_text_atomic

HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")  # then the assignment's title


def export(assignment: Assignment, grades: Sequence[Grade], roster: Roster, out: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*HEADER, assignment.title])
    maximum = max((g.max_score for g in grades), default=0.0)
    writer.writerow(["Points Possible", "", "", "", "", number(maximum)])
    for grade in sorted(grades, key=lambda g: g.submission):
        who = roster.identity(grade.submission)
        score = "" if grade.pending else number(grade.score)
        writer.writerow([safe(who.name), safe(who.canvas_id), safe(who.sis_user_id), safe(who.sis_login_id), safe(who.section), score])
    write_text_atomic(out, buffer.getvalue())
