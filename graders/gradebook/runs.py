"""The runs and their results in SQL: the `runs`, `submissions` and `checks` tables (schema.py).

Writes happen inside the caller's transaction (`connection.transaction`); a result is stored
once per submission for as long as it stays byte-identical (later rows point to it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.errors import CorruptGradebook
from graders.gradebook.records import Run, digest
from graders.results import SubmissionResult
from graders.settings import Provenance

# The result of a `submissions s` row: its own text, or that of the row it points to (schema.py).
_RESULT = "coalesce((SELECT h.result FROM submissions h WHERE h.run_id = s.result_run AND h.submission = s.submission), s.result)"


def insert(db: sqlite3.Connection, results: Sequence[SubmissionResult], *, info: Provenance, kind: str, started: str) -> Run:
    """Add one run with every result; never touches earlier runs."""
    cursor = db.execute(
        "INSERT INTO runs (kind, started_at, grader_version, grader_fingerprint, reference_hash, torch, settings, seed, provenance)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            started,
            # The columns of schema 1 stay filled for whoever reads the file; `provenance` is what is read.
            info.grader_version,
            info.grader_fingerprint,
            info.reference_hash,
            info.torch,
            info.settings.canonical(),
            None,  # the seed is in the settings, typed
            json.dumps(info.to_json(), sort_keys=True),
        ),
    )
    run_id = int(cursor.lastrowid or 0)
    stored = [_stored_result(db, r) for r in results]
    db.executemany(
        "INSERT INTO submissions (run_id, submission, sha256, status, score, max_score, result, result_sha256, result_run)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, r.submission, r.sha256, r.status.value, r.score, r.max_score, s.text, s.sha256, s.run)
            for r, s in zip(results, stored, strict=True)
        ],
    )
    db.executemany(
        "INSERT INTO checks (run_id, submission, check_id, status, score, max_score, message, misconceptions)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, r.submission, c.id, c.status.value, c.score, c.max_score, c.message, json.dumps(list(c.misconceptions)))
            for r, s in zip(results, stored, strict=True)
            if s.run is None  # a result stored again has its checks where it is stored
            for c in r.checks
        ],
    )
    return Run(run_id, kind, started, info)


@dataclass(frozen=True)
class _Stored:
    """How a result goes into its `submissions` row."""

    text: str  # the result's JSON, or '' when it points to an earlier row
    sha256: str  # of the JSON
    run: int | None  # the run whose row holds the JSON; None: this row does


def _stored_result(db: sqlite3.Connection, result: SubmissionResult) -> _Stored:
    """The row's text, unless the submission's previous row holds the same bytes (then a pointer to it)."""
    text = json.dumps(result.to_json(), sort_keys=True)
    text_digest = digest(text)
    previous = db.execute(
        # Rows from before schema 2 have no hash: only their text is read, to hash it.
        "SELECT run_id, result_run, result_sha256, CASE WHEN result_sha256 IS NULL THEN result END"
        " FROM submissions WHERE submission = ? ORDER BY run_id DESC LIMIT 1",
        (result.submission,),
    ).fetchone()
    if previous is not None:
        run_id, points_to, stored_digest, legacy_text = previous
        if (stored_digest or digest(legacy_text)) == text_digest:
            return _Stored("", text_digest, points_to if points_to is not None else int(run_id))
    return _Stored(text, text_digest, None)


def every_run(db: sqlite3.Connection, path: Path) -> tuple[Run, ...]:
    """Oldest first; a run whose provenance cannot be read is a CorruptGradebook."""
    rows = db.execute(
        "SELECT id, kind, started_at, grader_version, grader_fingerprint, reference_hash, torch, settings, provenance FROM runs ORDER BY id"
    )
    return tuple(_run(row, path) for row in rows)


def _run(row: Sequence[Any], path: Path) -> Run:
    run_id, kind, started_at, version, fingerprint, reference, torch, settings, provenance = row
    try:
        if provenance is None:  # a run recorded before schema 3: its columns are all there is
            columns = {"grader_version": version, "grader_fingerprint": fingerprint, "reference_hash": reference, "torch": torch}
            return Run(int(run_id), kind, started_at, Provenance.parse({**columns, "settings": json.loads(settings)}))
        return Run(int(run_id), kind, started_at, Provenance.parse(json.loads(provenance)))
    except ValueError as exc:  # json's errors are ValueErrors too
        raise CorruptGradebook(f"the gradebook {path} is damaged: run {run_id} has an unreadable provenance ({exc})") from None


def submission_ids(db: sqlite3.Connection, run_id: int) -> tuple[str, ...]:
    rows = db.execute("SELECT submission FROM submissions WHERE run_id = ? ORDER BY submission", (run_id,))
    return tuple(row[0] for row in rows)


def results_in(db: sqlite3.Connection, run_id: int) -> tuple[SubmissionResult, ...]:
    """Every result of one run, sorted by submission id."""
    rows = db.execute(f"SELECT {_RESULT} FROM submissions s WHERE s.run_id = ? ORDER BY s.submission", (run_id,))
    return tuple(_result(text) for (text,) in rows)


def results_of(db: sqlite3.Connection, submission: str) -> tuple[tuple[int, SubmissionResult], ...]:
    """(run id, result) of every run of one submission, oldest first; () for an unknown one."""
    rows = db.execute(f"SELECT s.run_id, {_RESULT} FROM submissions s WHERE s.submission = ? ORDER BY s.run_id", (submission,))
    return tuple((int(run_id), _result(text)) for run_id, text in rows)


def latest_result(db: sqlite3.Connection, submission: str) -> tuple[int, SubmissionResult] | None:
    """(run id, result) of the submission's latest run; None for an unknown submission."""
    row = db.execute(
        f"SELECT s.run_id, {_RESULT} FROM submissions s WHERE s.submission = ? ORDER BY s.run_id DESC LIMIT 1", (submission,)
    ).fetchone()
    return None if row is None else (int(row[0]), _result(row[1]))


def changed_in(db: sqlite3.Connection, run_id: int) -> frozenset[str]:
    """Submissions of this run whose file or automatic score differs from their previous run's."""
    rows = db.execute(
        """SELECT s.submission FROM submissions s JOIN submissions p ON p.submission = s.submission
           AND p.run_id = (SELECT MAX(q.run_id) FROM submissions q WHERE q.submission = s.submission AND q.run_id < s.run_id)
           WHERE s.run_id = ? AND (p.sha256 != s.sha256 OR p.score != s.score)""",
        (run_id,),
    )
    return frozenset(row[0] for row in rows)


def _result(text: str) -> SubmissionResult:
    return SubmissionResult.from_json(json.loads(text))
