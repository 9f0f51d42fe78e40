"""What the exporters share: the rows they are given, the staff's options, cell values, the file's text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graders.gradebook.exports.roster import Identity
from graders.gradebook.store import Grade

BOM = "\ufeff"
MAX_SHOWN_CHARS = 80


@dataclass(frozen=True)
class Options:
    """What staff choose per export (`grader export`)."""

    lms_assignment_id: str = ""  # Canvas: the column is `Title (id)`, which Canvas matches to that assignment
    bom: bool = False  # a UTF-8 byte-order mark first, so spreadsheet programs read umlauts right
    keep: tuple[str, ...] = ()  # among submissions for one student, the ones that count
    # Canvas, per assignment (its id in the gradebook → its id in Canvas): a course file's `Title (id)` columns
    lms_assignment_ids: tuple[tuple[str, str], ...] = ()

    def lms_id_for(self, assignment_id: str) -> str:
        """The Canvas id staff gave for this assignment, by its id or (one assignment) on its own; "" when none."""
        return dict(self.lms_assignment_ids).get(assignment_id, self.lms_assignment_id)


@dataclass(frozen=True)
class Row:
    """One grade with the LMS identity it is exported under."""

    grade: Grade
    who: Identity
    final: bool = False  # the grade is the one released to the student (`grader release`); until then it is provisional


def number(value: float) -> str:
    """Points as importers read them: a dot decimal, no exponent, no trailing zeros."""
    return f"{round(value, 4):.4f}".rstrip("0").rstrip(".")


def safe(text: str) -> str:
    """A cell that starts like a formula is defused, so opening the file in a spreadsheet runs nothing."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def shown(text: str) -> str:
    """Text from a roster or a notebook for a line on stderr: quoted, escaped (no line can be faked), bounded."""
    return repr(text[:MAX_SHOWN_CHARS])


def csv_text(rows: Iterable[Sequence[str]], *, bom: bool) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return (BOM if bom else "") + buffer.getvalue()


def feedback(grade: Grade, *, final: bool) -> str:
    """One line for the student: the score (provisional until released), what is pending, and every staff adjustment with its reason."""
    parts = [f"{number(grade.score)} / {number(grade.max_score)} points" + ("" if final else " (provisional: not released yet)")]
    if grade.pending:
        pending = [q.question.tag for q in grade.questions if q.pending]
        parts.append("written answers not marked yet: " + ", ".join(pending))
    parts.extend(f"{o.check_id} adjusted by course staff: {o.reason}" for o in grade.overrides)
    parts.extend(f"{q.question.tag}: {q.mark.comment}" for q in grade.questions if q.mark is not None and q.mark.comment)
    return safe("; ".join(parts))
