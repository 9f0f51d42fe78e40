"""Opening REPORTS/gradebook.sqlite, its transactions, and what SQLite's refusals mean.

A database this grader must not touch (a newer grader's, another program's) is refused before
the first pragma, since WAL mode is written into the file. Every refusal becomes `FolderBusy`
(another writer holds SQLite's lock longer than BUSY_SECONDS) or `CorruptGradebook` (anything else).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from graders.errors import CorruptGradebook, FolderBusy, UsageError
from graders.gradebook import schema

FILENAME = "gradebook.sqlite"
BUSY_SECONDS = 30.0


def connect(reports_dir: Path, *, create: bool) -> sqlite3.Connection:
    """The gradebook of a reports folder, migrated to this grader's schema (created first when `create`)."""
    path = reports_dir / FILENAME
    if not create and not path.is_file():
        raise UsageError(f"{reports_dir} has no gradebook ({FILENAME}); run `grader grade SUBMISSIONS --out {reports_dir}` first")
    if create:
        reports_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE), one per write.
        connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise _refusal(path, exc) from exc
    try:
        _refuse_unknown(connection, path)  # before the first pragma: WAL mode is written into the file
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        schema.migrate(connection)
    except sqlite3.Error as exc:
        connection.close()
        raise _refusal(path, exc) from exc
    except BaseException:
        connection.close()
        raise
    return connection


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """One write: committed whole, or rolled back whole when anything in it raises."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _refusal(path, exc) from exc
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _refuse_unknown(connection: sqlite3.Connection, path: Path) -> None:
    """A database this grader must not migrate: a newer grader's, or another program's (tables, yet no version)."""
    found = schema.version(connection)
    if found > schema.SCHEMA_VERSION:
        raise CorruptGradebook(f"the gradebook {path} was written by a newer grader (schema {found}); upgrade this one")
    foreign = schema.tables(connection) if found == 0 else ()
    if foreign:
        raise CorruptGradebook(
            f"{path} is not a gradebook but another program's SQLite database (tables {', '.join(foreign)}); nothing was "
            "changed. Move it aside to start a new gradebook"
        )


def _refusal(path: Path, exc: sqlite3.Error) -> FolderBusy | CorruptGradebook:
    """What SQLite's refusal to open or write the gradebook means: another writer, or a file that is no gradebook."""
    # By name, and only the primary code's part of it: SQLITE_BUSY_SNAPSHOT is a SQLITE_BUSY. Python 3.10
    # has no names, only SQLite's messages ("database is locked", "database table is locked").
    code = "_".join(getattr(exc, "sqlite_errorname", "").split("_")[:2])
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or (not code and str(exc).endswith("is locked")):
        return FolderBusy(f"another grader kept the gradebook {path} locked for {BUSY_SECONDS:g} s ({exc}); nothing was written")
    if code in ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR"):
        return CorruptGradebook(f"the gradebook {path} cannot be read or written ({exc}); check the file and its folder")
    return CorruptGradebook(
        f"the gradebook {path} is corrupt, not a readable gradebook ({exc}); nothing was changed. Move it aside to start a new one "
        "(every results.json is still in place)"
    )
