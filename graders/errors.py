"""The harness's own failures. A broken *student notebook* is not one of these: it is a graded
outcome. These exceptions are for problems the person running the grader must fix, or for
faults of the harness itself.

    GraderError                  base class                                         exit 1 · HTTP 500
    ├── UsageError               the person's input is wrong: an unknown submission,  exit 2 · HTTP 400
    │   │                        check or question, a score outside 0..max, a malformed CSV
    │   ├── BadCommandLine       an option's value or combination, a path that is not  exit 2
    │   │                        what the command needs, an unknown --assignment
    │   ├── BadRequest           a web request the review app refuses;                 HTTP .status
    │   │                        `status` says why (400, 404, 413, 415)
    │   └── StaleChange          a change made from an old version: someone else       exit 2 · HTTP 409
    │                            changed the same mark since; nothing was written
    ├── FolderBusy               another grader holds the reports folder: its lock      exit 75 · HTTP 503
    │                            file, or SQLite's write lock for longer than the store waits
    ├── CorruptGradebook         gradebook.sqlite cannot be used: not SQLite, another   exit 65 · HTTP 500
    │                            program's database, a newer schema, unreadable
    ├── MissingExtra             an optional part is not installed (`pip install ".[assist]"`)  exit 69 · HTTP 500
    ├── NotebookError            one submission could not be read (mapped to a graded
    │                            outcome with status "error" in graders.pipeline.batch)
    └── HarnessError             the grader itself failed (reference, templates, workers)  exit 1 · HTTP 500

The exit statuses are `graders.cli.EXIT_STATUS` (75 and 65 are sysexits' EX_TEMPFAIL, "try again
later", and EX_DATAERR); the HTTP statuses are `graders.review.app.HTTP_STATUS`. Both are looked up
with `mapped`, so a subclass without its own entry gets its parent's.

Lower-level exceptions (json, nbformat, nbclient, OSError, sqlite3) are mapped to these in one
place each — `graders.intake.notebooks.load_notebook`, `graders.execute.cold.run_notebook` and
`graders.gradebook.connection` (behind `Gradebook.open` and every write) — with `raise … from exc`,
so the original cause stays visible. Every class here pickles with its message and attributes: errors raised in pool and Dask
workers come back to the grader that way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class GraderError(Exception):
    """Base of every error the harness raises on purpose."""


class UsageError(GraderError):
    """The grader was given input it cannot work with; the message says what to change."""


class BadCommandLine(UsageError):
    """The command line itself is wrong: an option's value, two options that exclude each other, a path."""


class BadRequest(UsageError):
    """A web request the review app refuses; `status` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class StaleChange(UsageError):
    """A change made from a version that is no longer current (another grader changed the same thing
    since); nothing was written, and the message says what is there now."""


class FolderBusy(GraderError):
    """Another grader is writing to the reports folder; the same command works once it is done."""


class CorruptGradebook(GraderError):
    """REPORTS/gradebook.sqlite exists but is no gradebook this grader can use; nothing was changed."""


class MissingExtra(GraderError):
    """An optional extra the command needs is not installed, or not as pinned (its model file's sha256 differs); the
    message names the `pip install` that adds it."""


class NotebookError(GraderError):
    """A submission file is not a notebook the grader can run; the message is for the student."""


class HarnessError(GraderError):
    """The grader's own machinery failed; not the student's fault."""


def mapped(error: GraderError, table: Mapping[type[GraderError], T]) -> T:
    """The entry of the error's own class in `table`, else that of its nearest ancestor there."""
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    raise KeyError(f"{type(error).__name__} has no entry (GraderError needs one)")
