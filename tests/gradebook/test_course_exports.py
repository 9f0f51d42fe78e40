"""A course graded on two assignments: one Canvas file and one Moodle file with a column per assignment (issue 23).

The reports folders are real (a gradebook each, as `make grade` writes reports/a10 and reports/a11), the
files are written by `grader export` as staff run it, and read back with the csv module, cell by cell.
The rosters are the LMSs' own gradebook exports, as downloaded, listing both assignments.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from assignments.a10 import ASSIGNMENT as A10
from assignments.a11 import ASSIGNMENT as A11
from graders.assignment.spec import Assignment
from graders.cli import main
from graders.gradebook.store import Gradebook, ManualEntry
from graders.results import CheckResult, CheckStatus, SubmissionResult, SubmissionStatus
from tests.provenance import provenance

CANVAS_ROSTER = f"""\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,{A10.title} (4242),{A11.title} (4243),Current Score
    Points Possible,,,,,15,13,(read only)
"Lovelace, Ann",101,S-101,ann@uni.example,Sec A,,,
"Babbage, Bob",102,S-102,bob@uni.example,Sec A,,,
"Hopper, Cara",103,S-103,cara@uni.example,Sec B,,,
"Nosub, Nora",104,S-104,nora@uni.example,Sec B,,,
"""
MOODLE_ROSTER = f"""First name,Last name,ID number,Institution,Department,Email address,Assignment: {A10.title} (Real)
Ann,Lovelace,10001,Uni,CS,ann@uni.example,-
Bob,Babbage,10002,Uni,CS,bob@uni.example,-
Cara,Hopper,10003,Uni,CS,cara@uni.example,-
"""
# The class, each notebook named by its student's login: ann did both assignments, bob only the first, cara only
# the second (her written answers still unmarked).
ANN, BOB, CARA = "ann@uni.example", "bob@uni.example", "cara@uni.example"
FAILED = {A10: {ANN: (), BOB: ("closed_form.mu",)}, A11: {ANN: ("attention",), CARA: ("softmax",)}}
UNMARKED = {(CARA, A11)}


def graded(assignment: Assignment, submission: str, failed: tuple[str, ...]) -> SubmissionResult:
    checks = tuple(
        CheckResult(c.id, CheckStatus.FAIL if c.id in failed else CheckStatus.PASS, 0.0 if c.id in failed else c.points, c.points, "")
        for c in assignment.checks
    )
    return SubmissionResult(
        submission=submission,
        status=SubmissionStatus.GRADED,
        score=sum(c.score for c in checks),
        max_score=assignment.max_score,
        sha256="ef" * 32,
        checks=checks,
        provenance=provenance(assignment_id=assignment.id, assignment_version=assignment.version),
    )


def expected_total(assignment: Assignment, submission: str) -> str:
    """What the student earned: every check but the failed ones, and one point per written answer (as marked below)."""
    lost = sum(c.points for c in assignment.checks if c.id in FAILED[assignment][submission])
    return f"{assignment.max_score - lost + len(assignment.questions):g}"


def reports_folder(root: Path, assignment: Assignment) -> Path:
    folder = root / "reports" / assignment.id
    with Gradebook.open(folder, create=True) as book:
        book.record_run(
            [graded(assignment, s, failed) for s, failed in FAILED[assignment].items()],
            info=provenance(assignment_id=assignment.id, assignment_version=assignment.version),
        )
        marks = [ManualEntry(s, q.tag, 1.0) for s in FAILED[assignment] if (s, assignment) not in UNMARKED for q in book.questions()]
        book.set_manual(marks, by="ta")
    return folder


@pytest.fixture
def course(tmp_path: Path) -> tuple[Path, Path]:
    return reports_folder(tmp_path, A10), reports_folder(tmp_path, A11)


def roster(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def exported(args: list[str], out: Path, capsys) -> tuple[list[list[str]], str]:
    assert main(["export", *args, "--out", str(out)]) == 0, capsys.readouterr().err
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle)), capsys.readouterr().err


def test_one_canvas_file_carries_both_assignments_titled_as_canvas_knows_them(course, tmp_path, capsys):
    a10, a11 = course
    canvas_roster = roster(tmp_path, CANVAS_ROSTER)
    rows, said = exported([str(a10), str(a11), "--format", "canvas", "--roster", str(canvas_roster)], tmp_path / "canvas.csv", capsys)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A10.title} (4242)", f"{A11.title} (4243)"]
    points = [f"{a.max_score + sum(q.points for q in a.questions):g}" for a in (A10, A11)]
    assert rows[1] == ["Points Possible", "", "", "", "", *points]
    assert rows[2:] == [
        ["Lovelace, Ann", "101", "S-101", "ann@uni.example", "Sec A", expected_total(A10, ANN), expected_total(A11, ANN)],
        ["Babbage, Bob", "102", "S-102", "bob@uni.example", "Sec A", expected_total(A10, BOB), ""],  # no a11 grade: empty, not 0
        ["Hopper, Cara", "103", "S-103", "cara@uni.example", "Sec B", "", ""],  # a10: none; a11: written answers pending
    ]
    for assignment in (A10, A11):  # on the roster, no submission in either folder: said for each assignment
        assert f"warning: {assignment.title}: 2 student(s) in the roster have no submission:" in said and "'Nosub, Nora'" in said


def test_staff_give_each_assignment_its_canvas_id(course, tmp_path, capsys):
    rows, _ = exported(
        [*map(str, course), "--format", "canvas", "--lms-assignment-id", f"{A11.id}=77", "--lms-assignment-id", f"{A10.id}=76"],
        tmp_path / "canvas.csv",
        capsys,
    )
    assert rows[0][5:] == [f"{A10.title} (76)", f"{A11.title} (77)"]
    # Without a roster the submission ids stand in for the students, one row each.
    assert [(row[0], row[5], row[6]) for row in rows[2:]] == [
        (ANN, expected_total(A10, ANN), expected_total(A11, ANN)),
        (BOB, expected_total(A10, BOB), ""),
        (CARA, "", ""),
    ]


def test_one_moodle_file_carries_both_assignments_and_names_the_cells_it_would_clear(course, tmp_path, capsys):
    moodle_roster = roster(tmp_path, MOODLE_ROSTER)
    rows, said = exported([*map(str, course), "--format", "moodle", "--roster", str(moodle_roster)], tmp_path / "moodle.csv", capsys)
    assert rows[0] == ["Email address", A10.title, f"{A10.title} (Feedback)", A11.title, f"{A11.title} (Feedback)"]
    cells = {row[0]: (row[1], row[3], row[2] != "", row[4] != "") for row in rows[1:]}
    assert cells == {
        ANN: (expected_total(A10, ANN), expected_total(A11, ANN), True, True),
        BOB: (expected_total(A10, BOB), "", True, False),
    }  # cara's only grade is pending: no row (Moodle would clear her grade with an empty one)
    assert "provisional" in rows[1][2]
    assert f"warning: {A11.title}: 1 empty cell(s)" in said and "'Bob Babbage'" in said and CARA in said


def test_a_course_file_column_reads_as_that_assignments_own_file(course, tmp_path, capsys):
    """Joining changes no cell: each column is the single-folder export's, with empty cells for the others."""
    a10, a11 = course
    args = ["--format", "canvas", "--roster", str(roster(tmp_path, CANVAS_ROSTER))]
    both, _ = exported([str(a10), str(a11), *args], tmp_path / "both.csv", capsys)
    for index, folder in ((5, a10), (6, a11)):
        alone, _ = exported([str(folder), *args], tmp_path / f"{folder.name}.csv", capsys)
        assert len(alone[0]) == 6  # the single-folder layout: one assignment column
        column = {row[1]: row[5] for row in alone[1:]}
        assert {row[1]: row[index] for row in both[1:] if row[1] in column} == column
        assert all(row[index] == "" for row in both[2:] if row[1] not in column)


def test_a_student_two_folders_name_differently_is_reported_not_merged(course, tmp_path, capsys):
    ours = f"submission,name,email\n{ANN},Ann Lovelace,{ANN}\n{BOB},Bob Babbage,{BOB}\n{CARA},Cara Hopper,{CARA}\n"
    other = ours.replace(f"{ANN},Ann Lovelace,{ANN}", f"{ANN},Ann Other,ann.other@uni.example")
    out = tmp_path / "moodle.csv"
    rosters = ["--roster", str(roster(tmp_path, ours, "a10.csv")), "--roster", str(roster(tmp_path, other, "a11.csv"))]
    assert main(["export", *map(str, course), "--format", "moodle", "--out", str(out), *rosters]) == 2
    said = capsys.readouterr().err
    assert "name one student differently" in said and "'Ann Lovelace'" in said and "'Ann Other'" in said and repr(ANN) in said
    assert "Bob" not in said and not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "csv"], "one file for canvas or moodle"),
        (["--format", "canvas", "--lms-assignment-id", "42"], "--lms-assignment-id ASSIGNMENT=ID"),
        (["--format", "canvas", "--lms-assignment-id", "assignment-99=42"], "which no folder holds"),
        (["--format", "canvas", "--lms-assignment-id", f"{A10.id}=4x"], "must be the number Canvas shows"),
        (["--format", "moodle", "--lms-assignment-id", f"{A10.id}=42"], "for --format canvas"),
        (["--format", "canvas", "--lms-assignment-id", "41", "--lms-assignment-id", "42"], "is one assignment's id"),
    ],
)
def test_a_course_export_that_cannot_be_one_file_is_refused(course, tmp_path, capsys, args, message):
    out = tmp_path / "x.csv"
    assert main(["export", *map(str, course), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_one_assignment_in_two_folders_is_refused(course, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["export", str(course[0]), str(course[0]), "--format", "canvas", "--out", str(out)]) == 2
    assert "one assignment in two reports folders" in capsys.readouterr().err and not out.exists()


def test_one_folder_takes_its_canvas_id_either_way_and_refuses_another_assignments(course, tmp_path, capsys):
    a10, _ = course
    for given in ("76", f"{A10.id}=76"):
        rows, _ = exported([str(a10), "--format", "canvas", "--lms-assignment-id", given], tmp_path / "one.csv", capsys)
        assert rows[0][5:] == [f"{A10.title} (76)"]
    out = tmp_path / "other.csv"
    assert main(["export", str(a10), "--format", "canvas", "--out", str(out), "--lms-assignment-id", f"{A11.id}=77"]) == 2
    assert "which no folder holds" in capsys.readouterr().err and not out.exists()
