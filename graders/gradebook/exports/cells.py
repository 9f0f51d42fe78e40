"""Cell values shared by the CSV exporters."""

from __future__ import annotations

from graders.gradebook.store import Grade


def number(value: float) -> str:
    """Points as importers read them: a dot decimal, no exponent, no trailing zeros."""
    return f"{round(value, 4):.4f}".rstrip("0").rstrip(".")


def safe(text: str) -> str:
    """A cell that starts like a formula is defused, so opening the file in a spreadsheet runs nothing."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def feedback(grade: Grade) -> str:
    """One line for the student: the score, what is pending, and every staff adjustment with its reason."""
    parts = [f"{number(grade.score)} / {number(grade.max_score)} points"]
    if grade.pending:
        pending = [q.question.tag for q in grade.questions if q.pending]
        parts.append("written answers not marked yet: " + ", ".join(pending))
    parts.extend(f"{o.check_id} adjusted by course staff: {o.reason}" for o in grade.overrides)
    parts.extend(f"{q.question.tag}: {q.mark.comment}" for q in grade.questions if q.mark is not None and q.mark.comment)
    return safe("; ".join(parts))
