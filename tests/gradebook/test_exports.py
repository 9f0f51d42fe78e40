"""Each export against the column rules its importer documents (docs/staff.md, "Exports", cites them).

Canvas (gradebook import): identity columns Student, ID, SIS User ID, SIS Login ID, Section, in
that order, then one column per assignment; a "Points Possible" row right after the header;
every student row identified by ID, SIS User ID or SIS Login ID; scores numeric or empty.
Moodle (grade import, CSV): one header row; an identifier column mapped to a user field (email
address, username or ID number); grades plain numbers with a dot decimal or empty; a feedback column.
Gradescope (autograder specification): results.json with numeric `score`, text `output` and
`tests`, each with `name`, numeric `score` and `max_score`, text `output` and `visibility` in
hidden / after_due_date / after_published / visible.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from assignments.a10 import ASSIGNMENT
from assignments.a10.checks import CHECKS
from graders.errors import UsageError
from graders.gradebook import exports
from graders.gradebook.exports import Options
from graders.gradebook.exports.gradescope import results_json
from graders.gradebook.exports.roster import Roster, read_roster
from graders.gradebook.store import Gradebook, ManualEntry
from graders.results import FreeTextAnswer
from tests.provenance import provenance
from tests.report.test_render import BROKEN, result

INFO = provenance()
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture
def grades(tmp_path: Path):
    """ann: all marked, one override; bob: unreadable; =evil: pending, a formula for an id."""
    ann = result("ann", {"derivation.mu": ("missing_sqrt",)}, free_text=(FreeTextAnswer("What do you observe?", "Blurry."),))
    with Gradebook.open(tmp_path / "reports", create=True) as book:
        book.record_run([ann, BROKEN, result("=evil")], info=INFO)
        book.set_override("ann", "derivation.mu", score=1.0, reason="notation accepted", by="ta")
        book.set_manual(
            [ManualEntry("ann", "kl_observe", 1.0, "good"), ManualEntry("ann", "kl_explain", 0.5), ManualEntry("ann", "kl_role", 1.0)],
            by="ta",
        )
        book.set_manual([ManualEntry(q, tag, 0.0) for q in ("bob",) for tag in ("kl_observe", "kl_explain", "kl_role")], by="ta")
        return book.grades()


@pytest.fixture
def roster(tmp_path: Path) -> Roster:
    path = tmp_path / "roster.csv"
    path.write_text(
        "submission,name,canvas_id,sis_user_id,sis_login_id,section,email,username\n"
        'ann,"Lovelace, Ann",101,S1,ann@uni,Sec A,ann@uni.edu,ann\n'
        "bob,Bob,102,S2,bob@uni,Sec A,bob@uni.edu,bob\n",
        encoding="utf-8",
    )
    return read_roster(path)


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(encoding="utf-8", newline="")))


def test_canvas_layout(grades, roster, tmp_path):
    out = tmp_path / "canvas.csv"
    exports.write("canvas", ASSIGNMENT, grades, roster, out, Options())
    header, points, *rows = read_csv(out)
    assert header[:5] == CANVAS_IDENTITY and header[5] == ASSIGNMENT.title and len(header) == 6
    assert points == ["Points Possible", "", "", "", "", "15"]
    by_student = {row[0]: row for row in rows}
    assert by_student["Lovelace, Ann"] == ["Lovelace, Ann", "101", "S1", "ann@uni", "Sec A", "14.5"]  # 11 + override 1 + 2.5 written
    assert by_student["Bob"][1:] == ["102", "S2", "bob@uni", "Sec A", "0"]
    assert set(by_student) == {"Lovelace, Ann", "Bob"}  # =evil is not in the roster: left out, not guessed
    exports.write("canvas", ASSIGNMENT, grades, Roster(), out, Options())
    evil = {row[0]: row for row in read_csv(out)[2:]}["'=evil"]  # no roster: the id stands in; pending: the score is left empty
    assert evil[2] == "'=evil" and evil[5] == ""
    for row in rows:
        assert any(row[1:4]), "Canvas matches a student by ID, SIS User ID or SIS Login ID"
        assert row[5] == "" or 0 <= float(row[5]) <= 15


def test_moodle_layout(grades, roster, tmp_path):
    out = tmp_path / "moodle.csv"
    exports.write("moodle", ASSIGNMENT, grades, roster, out, Options())
    header, *rows = read_csv(out)
    assert header == ["Email address", "Assignment 10", "Feedback"]
    by_user = {row[0]: row for row in rows}
    assert by_user["ann@uni.edu"][1] == "14.5" and "derivation.mu adjusted by course staff: notation accepted" in by_user["ann@uni.edu"][2]
    assert set(by_user) == {"ann@uni.edu", "bob@uni.edu"}  # =evil: neither in the roster nor marked, so no row at all
    for row in rows:
        assert float(row[1]) >= 0 and "," not in row[1]
    exports.write("moodle", ASSIGNMENT, grades, Roster(), out, Options())  # no roster: ids as usernames, pending still left out
    assert [row[0] for row in read_csv(out)] == ["Username", "ann", "bob"]


def test_the_autograder_s_results_follow_gradescope_s_layout(grades):
    """What the Gradescope autograder writes (graders/pipeline/autograder.py): the specification's keys and visibilities."""
    documents = {grade.submission: results_json(grade, ASSIGNMENT, final=True) for grade in grades}
    for document in documents.values():
        assert isinstance(document["score"], float | int) and isinstance(document["output"], str)
        for test in document["tests"]:
            assert set(test) == {"name", "score", "max_score", "output", "visibility"}
            assert isinstance(test["name"], str) and isinstance(test["output"], str)
            assert 0 <= test["score"] <= test["max_score"] and test["visibility"] in GRADESCOPE_VISIBILITY
        assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]))
    ann = documents["ann"]
    assert ann["score"] == 14.5 and len(ann["tests"]) == len(CHECKS) + 3
    mu = next(t for t in ann["tests"] if "(derivation.mu)" in t["name"])
    assert mu["score"] == 1.0 and "adjusted by course staff: notation accepted" in mu["output"] and mu["visibility"] == "visible"
    assert next(t for t in ann["tests"] if "(closed_form.mu)" in t["name"])["visibility"] == "after_published"
    evil = next(d for s, d in documents.items() if s.startswith("="))
    assert len(evil["tests"]) == len(CHECKS) and "not marked yet" in evil["output"]


def test_there_is_no_stand_alone_gradescope_export(grades, roster, tmp_path):
    """Gradescope imports no folder of results: its autograder (gradescope-bundle) is the way in."""
    with pytest.raises(UsageError, match="gradescope-bundle"):
        exports.write("gradescope", ASSIGNMENT, grades, roster, tmp_path / "gradescope", Options())
    assert not (tmp_path / "gradescope").exists()


def test_csv_layout_has_every_check_the_written_answers_and_overrides(grades, tmp_path):
    out = tmp_path / "grades.csv"
    exports.write("csv", ASSIGNMENT, grades, Roster(), out, Options())
    rows = {row["submission"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    ann = rows["ann"]
    assert (ann["score"], ann["max_score"], ann["derivation.mu"]) == ("14.5", "15", "1")
    assert (ann["automatic_score"], ann["adjusted_score"]) == ("11", "12")  # as graded; with the override on derivation.mu
    assert (ann["kl_observe"], ann["kl_explain"], ann["manual"], ann["overrides"]) == (
        "1",
        "0.5",
        "marked",
        "derivation.mu=1 (notation accepted)",
    )
    assert (rows["'=evil"]["kl_role"], rows["'=evil"]["manual"]) == ("", "pending")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,email\nAnn,a@x\n", "is neither our roster"),
        ("submission,shoe_size\nann,42\n", "unknown columns shoe_size"),
        ("submission,email\nann,a@x,extra\n", "line 2: more cells than columns"),
        ("submission,email\nann,a@x\nann,b@x\n", "'ann' is listed twice"),
        ("submission,email\n,a@x\n", "the submission id is empty"),
    ],
)
def test_a_malformed_roster_is_a_usage_error(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        read_roster(path)
