"""`--format csv` and REPORTS/grades.csv: one row per submission, every check, the written answers, overrides.

Columns: submission, status, score (with overrides and manual points), max_score,
automatic_score (the checks as the grader scored them), adjusted_score (the checks with staff
overrides applied), one column per check (its score, override applied), one per written question (its points; empty while pending),
manual ("pending", "marked" or "review": an answer changed after it was marked), overrides
("check=score (reason); …"). Rows are sorted by submission; cells that look like formulas are defused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.gradebook.exports.cells import Options, Row, csv_text, number, safe
from graders.gradebook.exports.roster import Roster
from graders.gradebook.questions import manual_questions
from graders.gradebook.store import Grade
from graders.results import write_text_atomic


def header(assignment: Assignment) -> tuple[str, ...]:
    return (
        "submission",
        "status",
        "score",
        "max_score",
        "automatic_score",
        "adjusted_score",
        *assignment.check_ids,
        *(q.tag for q in manual_questions(assignment)),
        "manual",
        "overrides",
    )


def manual_state(grade: Grade) -> str:
    if any(q.stale for q in grade.questions):
        return "review"
    return "pending" if grade.pending else "marked"


def row(grade: Grade, assignment: Assignment) -> list[str]:
    checks = {c.result.id: c.score for c in grade.checks}
    questions = {q.question.tag: q.points for q in grade.questions}
    return [
        safe(grade.submission),
        grade.result.status.value,
        number(grade.score),
        number(grade.max_score),
        number(grade.result.score),
        number(grade.checks_score),
        *(number(checks.get(check_id, 0.0)) for check_id in assignment.check_ids),
        *("" if questions.get(q.tag) is None else number(questions[q.tag] or 0.0) for q in manual_questions(assignment)),
        manual_state(grade),
        safe("; ".join(f"{o.check_id}={number(o.score)} ({o.reason})" for o in grade.overrides)),
    ]


def text(assignment: Assignment, grades: Sequence[Grade], *, bom: bool = False) -> str:
    rows = (row(grade, assignment) for grade in sorted(grades, key=lambda g: g.submission))
    return csv_text([header(assignment), *rows], bom=bom)


def export(assignment: Assignment, rows: Sequence[Row], roster: Roster, out: Path, options: Options) -> None:
    """Our own layout keys rows by submission id; the roster is not needed."""
    write_text_atomic(out, text(assignment, [r.grade for r in rows], bom=options.bom))
