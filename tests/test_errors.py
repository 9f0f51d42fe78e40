"""The error tree as the person running `grader` meets it: which exit status and message each kind
of failure gives (a bad command line, a corrupt gradebook, a folder another grader holds), and that
every error survives the trip back from a worker process."""

from __future__ import annotations

import inspect
import os
import pickle
import sqlite3
from pathlib import Path

import pytest

from graders import errors
from graders.cli import EXIT_STATUS, main
from graders.errors import (
    BadCommandLine,
    BadRequest,
    CorruptGradebook,
    FolderBusy,
    GraderError,
    HarnessError,
    MissingExtra,
    NotebookError,
    StaleChange,
    UsageError,
    mapped,
)
from graders.gradebook import connection
from graders.gradebook.lock import exclusive
from graders.gradebook.store import FILENAME, Gradebook
from tests.gradebook.unusable import UNUSABLE, real_gradebook, write_unusable
from tests.report.test_render import SEED

CHECK = "closed_form.mu"
TREE = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, GraderError)]
# What a script calling `grader` may rely on (README: exit statuses); sysexits for the two that are not usage errors.
EXPECTED_EXIT = {
    GraderError: 1,
    UsageError: 2,
    BadCommandLine: 2,
    BadRequest: 2,
    StaleChange: 2,
    FolderBusy: os.EX_TEMPFAIL,
    CorruptGradebook: os.EX_DATAERR,
    MissingExtra: os.EX_UNAVAILABLE,  # an optional extra (`grader suggest` without ".[assist]")
    NotebookError: 1,
    HarnessError: 1,
}


def test_the_tree_has_the_classes_the_docstring_draws():
    assert set(TREE) == set(EXPECTED_EXIT)
    assert all(f"── {cls.__name__} " in (errors.__doc__ or "") for cls in TREE if cls is not GraderError)


@pytest.mark.parametrize("cls", TREE, ids=lambda cls: cls.__name__)
def test_every_error_comes_back_from_a_worker_process_whole(cls):
    """Pool and Dask workers send errors back pickled: the class, the message and any attribute must survive."""
    error = cls("the folder /r is <busy> — ünïcode")
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, the point of the test
    assert type(back) is cls and str(back) == str(error)
    refused = pickle.loads(pickle.dumps(BadRequest("too big", status=413)))  # noqa: S301 - as above
    assert (refused.status, str(refused)) == (413, "too big")


@pytest.mark.parametrize("cls", TREE, ids=lambda cls: cls.__name__)
def test_each_error_has_its_exit_status_and_a_subclass_inherits_its_parents(cls):
    assert mapped(cls("x"), EXIT_STATUS) == EXPECTED_EXIT[cls]
    later = type("Later", (cls,), {})  # a class added without a row of its own
    assert mapped(later("x"), EXIT_STATUS) == EXPECTED_EXIT[cls]


# ----------------------------------------------------------------------------- through `grader`


def test_a_bad_command_line_exits_2_and_says_what_to_change(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    cases = [
        (["make-data", str(tmp_path / "data"), "--assignment", "no-such-assignment"], "no assignment 'no-such-assignment'"),
        (["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "r"), "--seed", "1", "--secret-file", "s"], "exclude each other"),
        (["check", str(tmp_path / "missing.ipynb")], "is not a file"),
        (["manual", str(tmp_path / "r"), "--question-points", "kl_role=lots"], "TAG=POINTS"),
    ]
    for argv, says in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("grader: ") and says in err and "internal error" not in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("kind", UNUSABLE)
def test_a_corrupt_gradebook_exits_65_from_every_command_that_opens_it_and_is_left_alone(tmp_path, capsys, kind):
    reports = tmp_path / "reports"
    path = write_unusable(reports, kind)
    before = path.read_bytes()
    (tmp_path / "subs").mkdir()
    commands = [
        ["history", str(reports), SEED.submission],
        ["override", str(reports), SEED.submission, CHECK, "--score", "1", "--reason", "r"],
        ["manual", str(reports), SEED.submission, "kl_role", "--points", "1"],
        ["report", str(reports)],
        ["export", str(reports), "--format", "csv", "--out", str(tmp_path / "out.csv")],
        ["grade", str(tmp_path / "subs"), "--out", str(reports), "--seed", "1"],
        ["review", str(reports), "--port", "0"],  # refused before it listens
    ]
    for argv in commands:
        assert main(argv) == os.EX_DATAERR, argv
        err = capsys.readouterr().err
        assert UNUSABLE[kind][1] in err and str(path) in err, argv
        assert "writing" not in err and "busy" not in err and "internal error" not in err, argv
    assert path.read_bytes() == before
    assert not (tmp_path / "out.csv").exists()


def test_a_folder_another_batch_holds_exits_75_for_batches_and_defers_the_render_of_a_change(tmp_path, capsys):
    reports = tmp_path / "reports"
    real_gradebook(reports)
    (tmp_path / "subs").mkdir()
    with exclusive(reports):  # a `grader grade` still running on the folder
        for argv in (
            ["report", str(reports)],
            ["rescore", str(reports)],
            ["grade", str(tmp_path / "subs"), "--out", str(reports), "--seed", "1"],
        ):
            assert main(argv) == os.EX_TEMPFAIL, argv
            err = capsys.readouterr().err
            assert f"another grader (pid {os.getpid()}) is writing to {reports}" in err and "internal error" not in err
        # A change is recorded at once; only its re-render is left to the batch that holds the folder.
        assert main(["override", str(reports), SEED.submission, CHECK, "--score", "1", "--reason", "r"]) == 0
        assert "a grader is writing to this folder" in capsys.readouterr().err
    with Gradebook.open(reports) as book:
        assert [o.score for o in book.overrides(SEED.submission)] == [1.0]


def test_a_gradebook_sqlite_keeps_locked_exits_75_and_writes_nothing(tmp_path, capsys, monkeypatch):
    reports = tmp_path / "reports"
    real_gradebook(reports)
    monkeypatch.setattr(connection, "BUSY_SECONDS", 0.2)  # SQLite's wait; the lock below is held for longer
    holder = sqlite3.connect(reports / FILENAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        assert main(["override", str(reports), SEED.submission, CHECK, "--score", "1", "--reason", "r"]) == os.EX_TEMPFAIL
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert "locked" in err and "nothing was written" in err and "corrupt" not in err
    with Gradebook.open(reports) as book:
        assert book.overrides(SEED.submission) == ()


def test_a_harness_fault_exits_1_as_an_internal_error(tmp_path, capsys, monkeypatch):
    def broken(reports: Path) -> None:
        raise HarnessError("the report template could not be rendered")

    monkeypatch.setattr("graders.report.render.publish", broken)  # a real template fault needs a broken install
    real_gradebook(tmp_path)
    assert main(["report", str(tmp_path)]) == 1
    assert "grader: internal error: the report template could not be rendered" in capsys.readouterr().err
