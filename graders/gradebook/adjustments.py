"""Staff adjustments in SQL: the `overrides`, `manual_marks` and `settings` tables (schema.py).

Rubric items are `rubric.py`'s.

Append-only but for one update: a new override, or a clear, stamps the active one cleared. The
newest mark per (submission, question) is the current one. Writes happen inside the caller's
transaction (`connection.transaction`), after the store has validated them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from graders.errors import StaleChange
from graders.gradebook.records import ManualEntry, ManualMark, Override
from graders.results import CheckResult

IDS_SHOWN = 10  # ids an error message lists before "and N more"
_COMMENT_SHOWN = 200  # characters of another grader's comment a refusal quotes
_ACTIVE = "cleared_at IS NULL"
_CURRENT = "id IN (SELECT max(id) FROM manual_marks GROUP BY submission, question)"


def insert_override(
    db: sqlite3.Connection, submission: str, check: CheckResult, *, score: float, reason: str, by: str, moment: str
) -> Override:
    """The check's override from `moment` on, over its automatic verdict `check`; the one active before is cleared."""
    # One active override per check: setting a new one clears the old one (kept in history).
    db.execute(
        f"UPDATE overrides SET cleared_at = ?, cleared_by = ? WHERE submission = ? AND check_id = ? AND {_ACTIVE}",
        (moment, by, submission, check.id),
    )
    row = (submission, check.id, score, reason, by, moment, check.status.value, check.score)
    cursor = db.execute(
        "INSERT INTO overrides (submission, check_id, score, reason, by, at, automatic_status, automatic_score)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        row,
    )
    return Override(int(cursor.lastrowid or 0), *row)


def clear_override(db: sqlite3.Connection, override_id: int, *, by: str, moment: str) -> None:
    db.execute("UPDATE overrides SET cleared_at = ?, cleared_by = ? WHERE id = ?", (moment, by, override_id))


def overrides(db: sqlite3.Connection, submission: str | None, *, active: bool) -> tuple[Override, ...]:
    """Oldest first: this submission's (every submission's when None), only those not cleared when `active`."""
    rows = db.execute(
        "SELECT id, submission, check_id, score, reason, by, at, automatic_status, automatic_score, cleared_at, cleared_by"
        f" FROM overrides {_where(submission, _ACTIVE if active else None)} ORDER BY id",
        () if submission is None else (submission,),
    )
    return tuple(Override(*row) for row in rows)


# A mark as written: submission, question, points, comment, by, at, answer's digest, items (None: plain
# points), adjustment, whether it was an accepted suggestion.
MarkRow = tuple[str, str, float, str, str, str, str, tuple[str, ...] | None, float, bool]
_MARK_COLUMNS = "submission, question, points, comment, by, at, answer_sha256, items, adjustment, suggested"


def insert_marks(db: sqlite3.Connection, rows: Sequence[MarkRow]) -> tuple[ManualMark, ...]:
    """The rows as marks, in that order."""
    first = latest_mark_id(db) + 1
    db.executemany(
        f"INSERT INTO manual_marks ({_MARK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row[:7], None if row[7] is None else json.dumps(list(row[7])), row[8], int(row[9])) for row in rows],
    )
    return tuple(ManualMark(first + index, *row) for index, row in enumerate(rows))


def marks(db: sqlite3.Connection, submission: str | None, *, current: bool) -> tuple[ManualMark, ...]:
    """Oldest first: this submission's (every submission's when None), only the newest per question when `current`."""
    rows = db.execute(
        f"SELECT id, {_MARK_COLUMNS} FROM manual_marks {_where(submission, _CURRENT if current else None)} ORDER BY id",
        () if submission is None else (submission,),
    )
    return tuple(
        ManualMark(mark_id, submission_id, question, points, comment, by, at, sha256, _items(items), float(adjustment), bool(suggested))
        for mark_id, submission_id, question, points, comment, by, at, sha256, items, adjustment, suggested in rows
    )


def _items(stored: str | None) -> tuple[str, ...] | None:
    """A mark's items as stored (our own JSON list of keys; NULL: plain points)."""
    return None if stored is None else tuple(str(key) for key in json.loads(stored))


def current_mark_ids(db: sqlite3.Connection, question: str) -> dict[str, int]:
    """The id of each submission's current mark on one question (a submission never marked is absent)."""
    rows = db.execute("SELECT submission, max(id) FROM manual_marks WHERE question = ? GROUP BY submission", (question,))
    return {submission: int(mark_id) for submission, mark_id in rows}


def latest_mark_id(db: sqlite3.Connection) -> int:
    """The newest mark's id (0 before any): it grows with every mark saved."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM manual_marks").fetchone()[0])


def question_points(db: sqlite3.Connection) -> dict[str, float]:
    """The points staff set per question tag; a question not in it keeps the assignment's."""
    row = db.execute("SELECT value FROM settings WHERE key = 'question_points'").fetchone()
    return {tag: float(points) for tag, points in json.loads(row[0]).items()} if row else {}


def save_question_points(db: sqlite3.Connection, points: Mapping[str, float]) -> None:
    db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('question_points', ?)", (json.dumps(dict(points), sort_keys=True),))


def _where(submission: str | None, condition: str | None) -> str:
    """A WHERE clause of this module's own conditions; the submission is always a `?` parameter."""
    parts = [condition] if condition else []
    if submission is not None:
        parts.append("submission = ?")
    return "WHERE " + " AND ".join(parts) if parts else ""


def refuse_stale(db: sqlite3.Connection, entries: Sequence[ManualEntry]) -> None:
    """A StaleChange when an entry's version is not the current mark's id (another grader marked it since)."""
    checked = [e for e in entries if e.version is not None]
    current: dict[str, dict[str, int]] = {}
    stale = []
    for entry in checked:
        if entry.question not in current:
            current[entry.question] = current_mark_ids(db, entry.question)
        if current[entry.question].get(entry.submission, 0) != entry.version:
            stale.append(entry)
    if stale:
        raise StaleChange(_stale_message(db, stale))


def refuse_stale_override(db: sqlite3.Connection, submission: str, check_id: str, version: int | None) -> None:
    """A StaleChange when the override in force is not the one the person saw (`version`: its id, 0 for none)."""
    active = next((o for o in overrides(db, submission, active=True) if o.check_id == check_id), None)
    if version is None or (0 if active is None else active.id) == version:
        return
    now_in_force = "none" if active is None else f"{active.score:g} by {active.by} ({active.reason[:_COMMENT_SHOWN]})"
    raise StaleChange(
        f"the override on {check_id} for {submission} changed since you loaded it (now: {now_in_force}); look, then change it again"
    )


def _stale_message(db: sqlite3.Connection, stale: Sequence[ManualEntry]) -> str:
    """Who marked what meanwhile, for the grader whose save was refused."""
    said = []
    for entry in stale[:IDS_SHOWN]:
        mark = next((m for m in marks(db, entry.submission, current=True) if m.question == entry.question), None)
        if mark is None:  # cannot happen through the app (versions only grow); a made-up version says so
            said.append(f"{entry.submission} has no mark on {entry.question}")
            continue
        comment = f" ({mark.comment[:_COMMENT_SHOWN]})" if mark.comment else ""
        said.append(f"{entry.submission}: {mark.points:g} by {mark.by} at {mark.at[:19].replace('T', ' ')} UTC{comment}")
    more = f" and {len(stale) - IDS_SHOWN} more" if len(stale) > IDS_SHOWN else ""
    return f"marked by someone else since you loaded it: {'; '.join(said)}{more}; look at that mark, then save again to replace it"
