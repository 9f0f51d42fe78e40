"""Staff's regrouping by meaning (the review's Take out and Gather) is kept in the gradebook: read back from the file,
the newest edit per text group standing, for known questions only; a gradebook of schema 5 migrates."""

from __future__ import annotations

import sqlite3

import pytest

from graders.errors import UsageError
from graders.gradebook import schema
from graders.gradebook.store import FILENAME, Gradebook
from tests.gradebook.test_suggested_marks import open_book


def test_regrouping_is_read_back_from_the_file_the_newest_per_group_standing(tmp_path):
    with open_book(tmp_path) as book:
        book.set_meaning_edit("kl_observe", "sharp at 0", joined=None, by="ta")
        book.set_meaning_edit("kl_observe", "blurry at 30", joined="sharp at 0", by="ta")
        book.set_meaning_edit("kl_observe", "sharp at 0", joined="the loss goes down", by="prof")  # replaces the first
        book.set_meaning_edit("kl_role", "it regularises", joined=None, by="ta")
    with Gradebook.open(tmp_path) as reopened:
        edits = [(e.key, e.joined, e.by) for e in reopened.meaning_edits("kl_observe")]
        assert edits == [("blurry at 30", "sharp at 0", "ta"), ("sharp at 0", "the loss goes down", "prof")]
        assert [(e.key, e.joined) for e in reopened.meaning_edits("kl_role")] == [("it regularises", None)]
        assert reopened.meaning_edits("kl_explain") == ()


def test_an_unknown_question_is_refused_before_anything_is_written(tmp_path):
    with open_book(tmp_path) as book, pytest.raises(UsageError, match="unknown question"):
        book.set_meaning_edit("kl_nothing", "sharp at 0", joined=None, by="ta")
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert db.execute("SELECT count(*) FROM meaning_edits").fetchone() == (0,)


def test_a_gradebook_of_schema_5_migrates_with_no_regrouping(tmp_path):
    open_book(tmp_path).close()
    with sqlite3.connect(tmp_path / FILENAME) as db:  # back to schema 5, as the grader before wrote it
        db.execute("DROP TABLE meaning_edits")
        db.execute("PRAGMA user_version = 5")
    with Gradebook.open(tmp_path) as book:
        assert book.meaning_edits("kl_observe") == ()
        book.set_meaning_edit("kl_observe", "sharp at 0", joined=None, by="ta")
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert schema.version(db) == schema.SCHEMA_VERSION == 6
