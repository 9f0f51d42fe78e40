"""Staff's regrouping of the review's groups by meaning in SQL: the `meaning_edits` table (schema.py, schema 6).

Append-only; the newest row per (question, key) stands. Writes happen inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3

from graders.gradebook.records import MeaningEdit


def insert(db: sqlite3.Connection, edit: MeaningEdit) -> MeaningEdit:
    db.execute(
        "INSERT INTO meaning_edits (question, key, joined, by, at) VALUES (?, ?, ?, ?, ?)",
        (edit.question, edit.key, edit.joined, edit.by, edit.at),
    )
    return edit


def edits(db: sqlite3.Connection, question: str) -> tuple[MeaningEdit, ...]:
    """The question's edits that stand (the newest per text group), in the order they were made."""
    rows = db.execute(
        "SELECT question, key, joined, by, at FROM meaning_edits WHERE id IN"
        " (SELECT max(id) FROM meaning_edits WHERE question = ? GROUP BY key) ORDER BY id",
        (question,),
    ).fetchall()
    return tuple(MeaningEdit(*row) for row in rows)
