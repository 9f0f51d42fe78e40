"""The gradebook's SQLite schema and its migrations.

The schema version is SQLite's `PRAGMA user_version`. `MIGRATIONS[i]` takes a database from
version i to i + 1; each runs in one transaction together with the version bump, so a grader
killed mid-migration leaves the database at the old version, never half-migrated. To change
the schema, APPEND a migration; never edit one that has shipped.

Tables (append-only history; nothing is ever updated in place except an override's clearing):

    runs         one row per `grader grade` or `grader rescore`: when, what kind, the grader
                 version and fingerprint, reference hash, torch, the decisive settings and seed;
                 schema 3: `provenance`, the run's whole `graders.settings.Provenance` as JSON (what
                 is read; `settings` holds its RunSettings, `seed` NULL). Rows written before have
                 NULL there and are read from the other columns (`graders.settings` reads legacy dicts)
    submissions  per run and submission: sha256, status, automatic score, the whole
                 SubmissionResult as JSON (what results.json holds; reports are re-rendered from it)
                 and its sha256 (`result_sha256`). A result byte-identical to the submission's
                 previous one (a regrade that reused it) is not stored again: `result` is '' and
                 `result_run` names the run whose row holds it (never a row that points on itself)
    checks       per stored result and check: status, score, max, message, misconceptions (a row
                 whose result points to an earlier run has its checks under that run)
    overrides    staff overrides of one check's score: who, when, why; `cleared_at` once cleared
    manual_marks staff points for one written answer; the newest row per (submission, question)
                 is the current mark, older rows are its history
    settings     gradebook-wide settings (the points of each written question)
    rubric_items schema 4: staff's edits of the written questions' rubric items (added, renamed, re-pointed);
                 the newest row per (question, key) is the item now, older rows its history; an item of
                 the assignment's never edited has no row (the assignment's definition seeds it).
                 `manual_marks.items`: the keys a mark applied, as a JSON list (NULL: a mark of plain
                 points, as every mark before), and its free `adjustment` beside them
    meaning_edits schema 6: staff's regrouping of the review's groups by meaning, per question and text group
                 (`key`, its normalised text): taken out of its group (`joined` NULL) or put with the text
                 group `joined`; the newest row per (question, key) stands, older rows are its history
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('grade', 'rescore')),
        started_at TEXT NOT NULL,
        grader_version TEXT NOT NULL,
        grader_fingerprint TEXT NOT NULL,
        reference_hash TEXT NOT NULL,
        torch TEXT NOT NULL,
        settings TEXT NOT NULL,
        seed INTEGER
    );
    CREATE TABLE submissions (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        submission TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        status TEXT NOT NULL,
        score REAL NOT NULL,
        max_score REAL NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (run_id, submission)
    );
    CREATE INDEX submissions_by_id ON submissions(submission, run_id);
    CREATE TABLE checks (
        run_id INTEGER NOT NULL,
        submission TEXT NOT NULL,
        check_id TEXT NOT NULL,
        status TEXT NOT NULL,
        score REAL NOT NULL,
        max_score REAL NOT NULL,
        message TEXT NOT NULL,
        misconceptions TEXT NOT NULL,
        PRIMARY KEY (run_id, submission, check_id),
        FOREIGN KEY (run_id, submission) REFERENCES submissions(run_id, submission)
    );
    CREATE TABLE overrides (
        id INTEGER PRIMARY KEY,
        submission TEXT NOT NULL,
        check_id TEXT NOT NULL,
        score REAL NOT NULL,
        reason TEXT NOT NULL,
        by TEXT NOT NULL,
        at TEXT NOT NULL,
        automatic_status TEXT NOT NULL,
        automatic_score REAL NOT NULL,
        cleared_at TEXT,
        cleared_by TEXT
    );
    CREATE INDEX overrides_active ON overrides(submission, check_id) WHERE cleared_at IS NULL;
    CREATE TABLE manual_marks (
        id INTEGER PRIMARY KEY,
        submission TEXT NOT NULL,
        question TEXT NOT NULL,
        points REAL NOT NULL,
        comment TEXT NOT NULL,
        by TEXT NOT NULL,
        at TEXT NOT NULL,
        answer_sha256 TEXT NOT NULL
    );
    CREATE INDEX manual_marks_by_answer ON manual_marks(submission, question, id);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: an unchanged result points to the row that holds it instead of being stored again.
    # Rows written before have no hash (NULL): the store hashes their text when it needs it.
    """
    ALTER TABLE submissions ADD COLUMN result_sha256 TEXT;
    ALTER TABLE submissions ADD COLUMN result_run INTEGER REFERENCES runs(id);
    """,
    # 3: the run's typed provenance (the settings with a typed seed, the assignment's id and version,
    # executor, python). Rows written before keep NULL: the store reads them from their columns.
    """
    ALTER TABLE runs ADD COLUMN provenance TEXT;
    """,
    # 4: rubric items, and the items and adjustment a mark applies. Marks before keep NULL items:
    # plain points, as they were given.
    """
    CREATE TABLE rubric_items (
        id INTEGER PRIMARY KEY,
        question TEXT NOT NULL,
        key TEXT NOT NULL,
        text TEXT NOT NULL,
        points REAL NOT NULL,
        by TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX rubric_items_by_key ON rubric_items(question, key, id);
    ALTER TABLE manual_marks ADD COLUMN items TEXT;
    ALTER TABLE manual_marks ADD COLUMN adjustment REAL NOT NULL DEFAULT 0;
    """,
    # 5: a mark that was a suggestion staff accepted (graders.assist's, in the review app) says so. Marks
    # before were all given by hand: 0.
    """
    ALTER TABLE manual_marks ADD COLUMN suggested INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: groups by meaning split and merged by hand (the review's Take out and Gather). Gradebooks before had none.
    """
    CREATE TABLE meaning_edits (
        id INTEGER PRIMARY KEY,
        question TEXT NOT NULL,
        key TEXT NOT NULL,
        joined TEXT,
        by TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX meaning_edits_by_key ON meaning_edits(question, key, id);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the database up to SCHEMA_VERSION; returns the version it was at.

    A database newer than this grader (written by a later version) is left alone: the caller refuses it.
    """
    found = version(connection)
    for index in range(found, SCHEMA_VERSION):
        # executescript would COMMIT first; BEGIN IMMEDIATE makes the DDL and the bump one transaction.
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[index]):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {index + 1}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return found


def _statements(script: str) -> list[str]:
    # Our migrations hold no string literals with ';', so splitting on it is exact.
    return [part.strip() for part in script.split(";") if part.strip()]


def tables(connection: sqlite3.Connection, limit: int = 5) -> tuple[str, ...]:
    """Some of the database's tables, their names shortened and quoted: for a message about a database that is not ours."""
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT ?", (limit,))
    return tuple(repr(name[:40]) for (name,) in rows)
