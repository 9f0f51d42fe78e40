"""Changing what a written question is worth: raising it over marks already given says what it does and waits for staff.

Raised from 1 to 2 with the marks kept, a full mark of 1 is half marks: staff must choose `keep` or
`scale` (each mark multiplied by new/old, recorded as a new mark). Lowering below a mark is refused
unless the marks are scaled. With no marks given, nothing needs choosing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.cli import main
from graders.errors import UsageError
from graders.gradebook.store import ExistingMarks, Gradebook, ManualEntry
from graders.results import FreeTextAnswer
from tests.provenance import provenance
from tests.report.test_render import result

QUESTION = "kl_role"


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """ann: full mark with a comment; bob: half; cleo: zero; dan: unmarked."""
    with Gradebook.open(tmp_path / "reports", create=True) as book:
        text = next(q.text for q in book.questions() if q.tag == QUESTION)
        book.record_run(
            [result(n, free_text=(FreeTextAnswer(text, f"{n}'s answer"),)) for n in ("ann", "bob", "cleo", "dan")], info=provenance()
        )
        book.set_manual(
            [ManualEntry("ann", QUESTION, 1.0, "spot on"), ManualEntry("bob", QUESTION, 0.5), ManualEntry("cleo", QUESTION, 0.0)], by="ta"
        )
    return tmp_path / "reports"


def marks(reports: Path) -> dict[str, tuple[float | None, float]]:
    """Per student: (points, out of) on the question."""
    with Gradebook.open(reports) as book:
        found = {}
        for grade in book.grades():
            question = next(q for q in grade.questions if q.question.tag == QUESTION)
            found[grade.submission] = (question.points, question.question.points)
        return found


def test_raising_over_given_marks_is_refused_until_staff_choose(reports):
    before = marks(reports)
    with Gradebook.open(reports) as book, pytest.raises(UsageError) as refused:
        book.set_question_points({QUESTION: 2.0})
    said = str(refused.value)
    assert "nothing was changed" in said and "3 mark(s) given" in said and "1 full mark(s) of 1 would become 1 of 2" in said
    assert "--existing-marks keep" in said and "--existing-marks scale" in said
    assert marks(reports) == before


def test_keep_leaves_the_points_and_a_full_mark_is_no_longer_full(reports):
    with Gradebook.open(reports) as book:
        (change,) = book.set_question_points({QUESTION: 2.0}, existing=ExistingMarks.KEEP, by="lead")
        assert (change.old, change.new, change.marked, change.full) == (1.0, 2.0, 3, 1)
    assert marks(reports) == {"ann": (1.0, 2.0), "bob": (0.5, 2.0), "cleo": (0.0, 2.0), "dan": (None, 2.0)}


def test_scale_keeps_each_mark_the_same_fraction_and_records_it(reports):
    with Gradebook.open(reports) as book:
        book.set_question_points({QUESTION: 3.0}, existing=ExistingMarks.SCALE, by="lead")
        history = [(m.points, m.by, m.comment) for m in book.manual_marks("ann") if m.question == QUESTION]
        ann = next(q for q in book.grade("ann").questions if q.question.tag == QUESTION)
    assert marks(reports) == {"ann": (3.0, 3.0), "bob": (1.5, 3.0), "cleo": (0.0, 3.0), "dan": (None, 3.0)}
    assert history == [(1.0, "ta", "spot on"), (3.0, "lead", "spot on")]  # the old mark stays in the history
    assert not ann.stale  # the same answer was marked: scaling is not a change of answer


def test_lowering_below_a_mark_needs_scale_and_no_marks_needs_nothing(reports):
    with Gradebook.open(reports) as book:
        with pytest.raises(UsageError, match="ann already has 1 points for kl_role; lower that mark first, or give --existing-marks scale"):
            book.set_question_points({QUESTION: 0.5})
        book.set_question_points({QUESTION: 0.5}, existing=ExistingMarks.SCALE, by="lead")
        (change,) = book.set_question_points({"kl_observe": 4.0})  # nobody marked kl_observe yet
        assert change.marked == 0
    assert marks(reports)["ann"] == (0.5, 0.5) and marks(reports)["bob"] == (0.25, 0.5)


def test_the_command_line_says_what_it_did_and_refuses_without_a_choice(reports, capsys):
    before = marks(reports)
    assert main(["manual", str(reports), "--question-points", f"{QUESTION}=2"]) == 2
    assert "1 full mark(s) of 1 would become 1 of 2" in capsys.readouterr().err and marks(reports) == before
    assert main(["manual", str(reports), "--existing-marks", "scale"]) == 2
    assert "give it with --question-points" in capsys.readouterr().err
    assert main(["manual", str(reports), "--question-points", f"{QUESTION}=2", "--existing-marks", "scale", "--by", "lead"]) == 0
    assert "kl_role: 1 → 2 points; its 3 mark(s) scaled with the points" in capsys.readouterr().err
    assert marks(reports)["ann"] == (2.0, 2.0)


def test_manual_with_only_the_reports_lists_the_questions_it_takes_with_their_current_points(reports, capsys):
    assert main(["manual", str(reports), "--question-points", f"{QUESTION}=2", "--existing-marks", "keep"]) == 0
    capsys.readouterr()
    assert main(["manual", str(reports)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Assignment 10's three written questions, by the tags `grader manual REPORTS SUBMISSION QUESTION` takes.
    assert [line.split()[0] for line in lines] == ["kl_observe", "kl_explain", "kl_role"]
    assert "kl_role  2 point(s)  " in lines[2]  # the points as staff set them, not the handout's
    assert main(["manual", str(reports), "ann"]) == 2  # a submission with no question is still the usage error
