"""Rubric items on a real gradebook: marks that apply them, an item's edit moving every mark that uses it
(with a history entry each, only when confirmed), stale pages refused, and old gradebooks migrated."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from assignments.a10 import ASSIGNMENT
from graders.assignment.spec import RubricItem
from graders.errors import StaleChange, UsageError
from graders.gradebook import schema
from graders.gradebook.store import FILENAME, ExistingMarks, Gradebook, ManualEntry
from graders.results import FreeTextAnswer
from tests.provenance import provenance
from tests.report.test_render import result

INFO = provenance()
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
OBSERVE = "What do you observe?"
# Assignment 10's items on kl_observe, from its definition: +0.5, +0.5 and -0.5 of a 1-point question.
BLURRY, SHARP, SWAPPED = (item.key for item in ASSIGNMENT.question("kl_observe").items)


def answered(name: str, observe: str = "Blurry at 30, sharp at 0."):
    return result(name, None, free_text=(FreeTextAnswer(OBSERVE, observe),))


@pytest.fixture
def book(tmp_path: Path):
    with Gradebook.open(tmp_path, create=True) as opened:
        opened.record_run([answered("ann"), answered("bob"), answered("cat"), answered("dan")], info=INFO)
        yield opened


def apply(book: Gradebook, submission: str, items: tuple[str, ...], points: float, adjustment: float = 0.0, comment: str = ""):
    entry = ManualEntry(submission, "kl_observe", points, comment, items=items, adjustment=adjustment)
    return book.set_manual([entry], by="ta")[0]


def points(book: Gradebook, submission: str) -> float | None:
    return next(q.points for q in book.grade(submission).questions if q.question.tag == "kl_observe")


def test_the_assignments_items_seed_every_new_gradebooks_rubric(book):
    seeded = ASSIGNMENT.question("kl_observe").items
    assert [(i.key, i.text, i.points, i.version) for i in book.rubric("kl_observe")] == [(s.key, s.text, s.points, 0) for s in seeded]
    for question in ASSIGNMENT.questions:  # every written question has a few, positive and negative
        assert len(question.items) >= 2 and any(i.points < 0 for i in question.items)
        assert len({i.key for i in question.items}) == len(question.items)
    with pytest.raises(UsageError, match="unknown question"):
        book.rubric("kl_nothing")


def test_a_mark_records_the_items_it_applies_its_adjustment_and_comment(book):
    mark = apply(book, "ann", (BLURRY, SHARP), 0.75, adjustment=-0.25, comment="mixes up the plots' titles")
    assert (mark.items, mark.adjustment, mark.comment, mark.points) == ((BLURRY, SHARP), -0.25, "mixes up the plots' titles", 0.75)
    assert book.manual_marks("ann")[-1] == mark and points(book, "ann") == 0.75
    assert book.grade("ann").manual_score == 0.75  # exports and reports read these points as before


@pytest.mark.parametrize(
    ("items", "adjustment", "total"),
    [
        ((SWAPPED,), 0.0, 0.0),  # a deduction alone does not go below 0
        ((BLURRY, SHARP), 0.5, 1.0),  # nor do items and adjustment above the question's points
        ((BLURRY, SWAPPED), 0.0, 0.0),
        ((), 0.25, 0.25),  # no item ticked: the adjustment alone
    ],
)
def test_a_marks_points_are_its_items_and_adjustment_bounded_to_the_question(book, items, adjustment, total):
    assert apply(book, "bob", items, total, adjustment).points == total


def test_a_mark_whose_items_do_not_give_the_points_shown_is_refused_as_stale(book):
    with pytest.raises(StaleChange, match="now give 1 points, not 0.5"):
        apply(book, "ann", (BLURRY, SHARP), 0.5)
    assert book.manual_marks("ann") == ()


@pytest.mark.parametrize(
    ("items", "adjustment", "error"),
    [
        (("no_such_item",), 0.0, "no rubric item 'no_such_item'"),
        ((BLURRY, BLURRY), 0.0, "an item applies once"),
        ((BLURRY,), 5.0, "the adjustment must be between -1 and 1"),
        ((BLURRY,), float("nan"), "the adjustment must be between"),
    ],
)
def test_bad_items_are_refused_before_anything_is_written(book, items, adjustment, error):
    with pytest.raises(UsageError, match=error):
        apply(book, "ann", items, 0.5, adjustment)
    assert book.manual_marks("ann") == ()


def test_changing_an_items_points_moves_every_mark_using_it_with_a_history_entry_each_once_confirmed(book):
    apply(book, "ann", (BLURRY, SHARP), 1.0, comment="both runs")
    apply(book, "bob", (BLURRY,), 0.5)
    apply(book, "cat", (SHARP,), 0.5)  # does not use the item
    book.set_manual([ManualEntry("dan", "kl_observe", 1.0)], by="ta")  # plain points, as every mark before items
    preview = book.rubric_change("kl_observe", BLURRY, 0.25)
    assert (preview.affected, len(preview.moved), preview.total_change) == (2, 2, -0.5)
    assert "changes 2 of the 2 mark(s) applying it, -0.5 points in all" in preview.effect()
    with pytest.raises(UsageError, match="confirm to apply it"):
        book.edit_rubric_item("kl_observe", BLURRY, points=0.25, by="prof")
    assert [points(book, s) for s in ("ann", "bob")] == [1.0, 0.5]  # nothing written
    assert book.rubric("kl_observe")[0].points == 0.5
    book.edit_rubric_item("kl_observe", BLURRY, points=0.25, by="prof", version=0, confirm=True)
    assert [points(book, s) for s in ("ann", "bob", "cat", "dan")] == [0.75, 0.25, 0.5, 1.0]
    ann = book.manual_marks("ann")
    assert [(m.points, m.by) for m in ann] == [(1.0, "ta"), (0.75, "prof")]  # the old mark kept as history
    assert (ann[-1].items, ann[-1].comment) == ((BLURRY, SHARP), "both runs")
    assert len(book.manual_marks("cat")) == len(book.manual_marks("dan")) == 1
    assert book.rubric("kl_observe")[0].points == 0.25 and book.rubric("kl_observe")[0].version > 0


def test_a_change_the_bounds_absorb_moves_no_mark_and_a_change_concerning_no_mark_needs_no_confirmation(book):
    apply(book, "ann", (BLURRY, SHARP), 1.0, adjustment=0.5)  # 1.5, bounded to 1
    assert book.rubric_change("kl_observe", BLURRY, 0.75).moved == ()  # 1.75 is still 1
    book.edit_rubric_item("kl_observe", SWAPPED, points=-1.0, by="prof")  # no mark applies it
    assert book.rubric("kl_observe")[2].points == -1.0 and len(book.manual_marks("ann")) == 1


def test_an_edit_from_an_old_version_of_the_item_is_refused(book):
    book.edit_rubric_item("kl_observe", BLURRY, text="Weight 30: blurry", by="prof", version=0)
    with pytest.raises(StaleChange, match="was edited since you loaded it"):
        book.edit_rubric_item("kl_observe", BLURRY, points=0.25, by="ta", version=0, confirm=True)
    assert book.rubric("kl_observe")[0].points == 0.5


def test_a_save_from_a_page_showing_the_items_old_points_is_refused(book):
    apply(book, "ann", (BLURRY,), 0.5)
    book.edit_rubric_item("kl_observe", BLURRY, points=0.25, by="prof", confirm=True)
    with pytest.raises(StaleChange, match="the rubric of kl_observe changed"):
        apply(book, "bob", (BLURRY,), 0.5)  # what the page added up before the edit


def test_staff_add_and_rename_items_in_the_gradebook_not_the_assignment(book, tmp_path):
    added = book.add_rubric_item("kl_observe", text="  Mentions   the\nlatent space  ", points=-0.25, by="ta")
    second = book.add_rubric_item("kl_observe", text="Compares with the test images", points=0.25, by="ta")
    assert (added.key, added.text, second.key) == ("staff-1", "Mentions the latent space", "staff-2")
    book.edit_rubric_item("kl_observe", added.key, text="Talks of the latent space (not shown)", by="ta", version=added.version)
    assert [i.text for i in book.rubric("kl_observe")][3:] == ["Talks of the latent space (not shown)", "Compares with the test images"]
    assert apply(book, "ann", (BLURRY, second.key), 0.75).points == 0.75
    assert ASSIGNMENT.question("kl_observe").items[0].points == 0.5  # the definition is untouched
    other = tmp_path / "other"
    other.mkdir()
    with Gradebook.open(other, create=True) as fresh:
        fresh.record_run([answered("ann")], info=INFO)
        assert len(fresh.rubric("kl_observe")) == len(ASSIGNMENT.question("kl_observe").items)


@pytest.mark.parametrize(
    ("text", "value", "error"),
    [
        ("   ", 0.5, "needs a line of text"),
        ("x" * 301, 0.5, "at most 300 characters"),
        ("fine", 1.5, "between -1 and 1"),
        ("fine", float("inf"), "between -1 and 1"),
    ],
)
def test_bad_items_are_refused(book, text, value, error):
    with pytest.raises(UsageError, match=error):
        book.add_rubric_item("kl_observe", text=text, points=value, by="ta")
    assert len(book.rubric("kl_observe")) == 3


def test_an_old_gradebook_with_plain_marks_migrates_and_its_marks_keep_working(tmp_path):
    """The real legacy file (schema 2), with a mark added as that grader wrote them."""
    shutil.copy(LEGACY / "after-seam" / FILENAME, tmp_path / FILENAME)
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert schema.version(db) == 2
        (submission,) = db.execute("SELECT submission FROM submissions ORDER BY submission LIMIT 1").fetchone()
        db.execute(
            "INSERT INTO manual_marks (submission, question, points, comment, by, at, answer_sha256)"
            " VALUES (?, 'kl_observe', 1.0, 'old', 'ta', '2025-01-01T00:00:00.000000+00:00', ?)",
            (submission, "00" * 32),
        )
    with Gradebook.open(tmp_path) as book:
        (old,) = book.manual_marks(submission)
        assert (old.points, old.items, old.adjustment) == (1.0, None, 0.0)
        assert points(book, submission) == 1.0
        book.edit_rubric_item("kl_observe", BLURRY, points=0.25, by="prof", confirm=True)  # concerns no plain mark
        assert book.manual_marks(submission) == (old,)
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert schema.version(db) == schema.SCHEMA_VERSION


@pytest.mark.parametrize("key", ["", "x" * 41, "it's", "a b", "ключ", "a,b"])
def test_an_assignment_cannot_define_an_item_key_the_pages_and_api_would_have_to_escape(key):
    with pytest.raises(ValueError, match="rubric item's key"):
        RubricItem(key, "a line", 0.5)


def test_scaling_a_questions_points_turns_its_item_marks_into_plain_points(book):
    apply(book, "ann", (BLURRY,), 0.5)
    book.set_question_points({"kl_observe": 2.0}, existing=ExistingMarks.SCALE, by="prof")
    assert (book.manual_marks("ann")[-1].points, book.manual_marks("ann")[-1].items) == (1.0, None)
    # The item no longer concerns that mark: its new points move nothing.
    assert book.rubric_change("kl_observe", BLURRY, 0.25).affected == 0
