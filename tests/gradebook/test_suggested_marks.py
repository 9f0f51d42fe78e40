"""A mark that was an accepted suggestion says so, in the gradebook and its history; marks given by hand, old
marks and marks changed since say not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from graders.gradebook import schema
from graders.gradebook.store import FILENAME, ExistingMarks, Gradebook, ManualEntry
from tests.gradebook.test_rubric import BLURRY, SHARP, answered
from tests.provenance import provenance

INFO = provenance()


def open_book(tmp_path: Path) -> Gradebook:
    book = Gradebook.open(tmp_path, create=True)
    book.record_run([answered("ann"), answered("bob")], info=INFO)
    return book


def test_an_accepted_suggestion_is_recorded_as_one_and_a_mark_by_hand_is_not(tmp_path):
    with open_book(tmp_path) as book:
        accepted = ManualEntry("ann", "kl_observe", 1.0, items=(BLURRY, SHARP), suggested=True)
        by_hand = ManualEntry("bob", "kl_observe", 1.0, items=(BLURRY, SHARP))
        book.set_manual([accepted, by_hand], by="ta")
    with Gradebook.open(tmp_path) as reopened:  # read back from the file, not the values handed out
        assert [m.suggested for m in reopened.manual_marks("ann")] == [True]
        assert [m.suggested for m in reopened.manual_marks("bob")] == [False]


def test_a_later_mark_by_hand_replaces_the_accepted_one_and_history_keeps_both(tmp_path):
    with open_book(tmp_path) as book:
        book.set_manual([ManualEntry("ann", "kl_observe", 1.0, items=(BLURRY, SHARP), suggested=True)], by="ta")
        book.set_manual([ManualEntry("ann", "kl_observe", 0.5, items=(BLURRY,))], by="prof")
        assert [m.suggested for m in book.manual_marks("ann")] == [True, False]
        (current,) = (q.mark for q in book.grade("ann").questions if q.question.tag == "kl_observe")
        assert current is not None and not current.suggested


def test_a_scaled_mark_is_no_longer_the_suggestion_accepted_but_a_moved_item_mark_still_is(tmp_path):
    with open_book(tmp_path) as book:
        book.set_manual(
            [
                ManualEntry("ann", "kl_observe", 0.5, items=(BLURRY,), suggested=True),
                ManualEntry("bob", "kl_observe", 0.5, items=(BLURRY,), suggested=True),
            ],
            by="ta",
        )
        book.edit_rubric_item("kl_observe", BLURRY, points=0.25, by="prof", confirm=True)
        assert [(m.points, m.suggested) for m in book.manual_marks("ann")][-1] == (0.25, True)
        book.set_question_points({"kl_observe": 2.0}, existing=ExistingMarks.SCALE, by="prof")
        assert [(m.points, m.items, m.suggested) for m in book.manual_marks("ann")][-1] == (0.5, None, False)


def test_a_gradebook_of_schema_4_migrates_and_its_marks_read_as_given_by_hand(tmp_path):
    with open_book(tmp_path) as book:
        book.set_manual([ManualEntry("ann", "kl_observe", 1.0, items=(BLURRY, SHARP))], by="ta")
    with sqlite3.connect(tmp_path / FILENAME) as db:  # back to schema 4, as the grader before wrote it
        db.execute("ALTER TABLE manual_marks DROP COLUMN suggested")
        db.execute("DROP TABLE meaning_edits")  # schema 6
        db.execute("PRAGMA user_version = 4")
    with Gradebook.open(tmp_path) as book:
        (mark,) = book.manual_marks("ann")
        assert (mark.points, mark.items, mark.suggested) == (1.0, (BLURRY, SHARP), False)
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert schema.version(db) == schema.SCHEMA_VERSION  # 5 then, and every migration since


def test_grader_history_says_which_mark_was_a_suggestion_accepted(tmp_path, capsys):
    from graders import cli

    with open_book(tmp_path) as book:
        book.set_manual([ManualEntry("ann", "kl_observe", 1.0, items=(BLURRY, SHARP), suggested=True)], by="ta")
        book.set_manual([ManualEntry("bob", "kl_observe", 1.0, items=(BLURRY, SHARP))], by="ta")
    assert cli.main(["history", str(tmp_path), "ann"]) == 0
    assert "manual points for kl_observe: 1 by ta (a suggestion accepted)" in capsys.readouterr().out
    assert cli.main(["history", str(tmp_path), "bob"]) == 0
    said = capsys.readouterr().out
    assert "manual points for kl_observe: 1 by ta" in said and "suggestion" not in said
