"""Gradebook files this grader must refuse, each written as a real file, and what the refusal must say.

Shared by the store's, the CLI's and the review app's tests: every way in meets the same files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from graders.gradebook import schema
from graders.gradebook.store import FILENAME, Gradebook
from tests.provenance import provenance
from tests.report.test_render import SEED, SOLUTION


def real_gradebook(reports: Path) -> Path:
    """A gradebook with one run of two students, closed (its WAL checkpointed into the file)."""
    with Gradebook.open(reports, create=True) as book:
        book.record_run([SEED, SOLUTION], info=provenance())
    return reports / FILENAME


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not SQLite" * 100)


def _truncated(path: Path) -> None:
    whole = real_gradebook(path.parent / "whole").read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


def _another_program(path: Path, table: str) -> None:
    with sqlite3.connect(path) as other:
        other.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        other.execute(f"INSERT INTO {table} (name) VALUES ('kept')")  # noqa: S608 - the table names are the test's own
    other.close()


def _newer(path: Path) -> None:
    real_gradebook(path.parent)
    with sqlite3.connect(path) as later:
        later.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    later.close()


# name → (writes REPORTS/gradebook.sqlite, what the refusal says)
UNUSABLE: dict[str, tuple[Callable[[Path], None], str]] = {
    "garbage bytes": (_garbage, "is corrupt"),
    "half of a real gradebook": (_truncated, "is corrupt"),
    "another program's database with a table called runs": (lambda path: _another_program(path, "runs"), "another program's"),
    "another program's database": (lambda path: _another_program(path, "customers"), "another program's"),
    "a newer grader's gradebook": (_newer, "newer grader"),
}


def write_unusable(reports: Path, kind: str) -> Path:
    """REPORTS/gradebook.sqlite as `kind`; returns its path."""
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / FILENAME
    UNUSABLE[kind][0](path)
    return path
