"""LMS files that are safe to import: each export run through a small model of its importer's documented rules.

Moodle (grade/import/csv, load_data.php): the identifier column is looked up per row and a user it
cannot find ABORTS THE WHOLE IMPORT; a grade cell that is empty (or "-") is "no grade" and clears
the grade there; anything else must be a number. Canvas (gradebook import): an assignment column
matches an existing assignment by `Title (id)` or its exact title, any other title creates a new
assignment; a row is a student when its ID, SIS User ID or SIS Login ID is known; an empty cell
leaves the grade as it was. Rosters are the LMSs' own gradebook exports, as downloaded.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pytest

from assignments.a10 import ASSIGNMENT
from graders.errors import UsageError
from graders.gradebook import exports
from graders.gradebook.exports import Options
from graders.gradebook.exports.roster import Roster, read_roster
from graders.gradebook.store import Gradebook, ManualEntry
from tests.provenance import provenance
from tests.report.test_render import result

TITLE = ASSIGNMENT.title
QUESTIONS = [q.tag.removeprefix("answer:") for q in ASSIGNMENT.questions]

# Canvas: Grades → Export, as downloaded (the export has a "Points Possible" row and a test student).
CANVAS_EXPORT = f"""\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,{TITLE} (4242),Quiz 1 (4240),Current Score,Final Score
    Points Possible,,,,,15,10,(read only),(read only)
"Müller, Jürgen",101,S-101,jmueller@uni.example,Sec A,,8,80,53.33
"Lovelace, Ann",102,S-102,ann.lovelace@uni.example,Sec A,9,9,90,60
"da Silva, Maria José",103,S-103,mdasilva@uni.example,Sec B,,7,70,46.67
"Nosub, Nora",104,S-104,nnosub@uni.example,Sec B,,,,
"Student, Test",999,,,Sec A,,,,
"""

# Moodle: Grades → Export → Plain text file, as downloaded ("-" is no grade).
MOODLE_EXPORT = f"""First name,Last name,ID number,Institution,Department,Email address,Assignment: {TITLE} (Real),Course total (Real),Last downloaded from this course
Jürgen,Müller,10001,Uni,Physics,jmueller@uni.example,-,-,1765000000
Ann,Lovelace,10002,Uni,Physics,ann.lovelace@uni.example,9.00,9.00,1765000000
Maria José,da Silva,10003,Uni,Physics,mdasilva@uni.example,-,-,1765000000
Nora,Nosub,10004,Uni,Physics,nnosub@uni.example,-,-,1765000000
"""

# What each student submitted, named the ways real folders name them.
CANVAS_DOWNLOAD = "muellerjuergen_101_5551_assignment10"  # Canvas's submission download: name_userid_attachment_file
MOODLE_FOLDER = "Jürgen Müller_4411_assignsubmission_file_"  # Moodle's download, a folder per student
EMAIL = "ann.lovelace@uni.example"
SPACED = unicodedata.normalize("NFD", "Maria José da Silva")  # typed on a Mac: decomposed accents, spaces
STRANGER = "unknown-person"


def book_with(tmp_path: Path, ids: list[str], *, pending: tuple[str, ...] = ()):
    """Grades for `ids`, every written answer marked except for the ids in `pending`."""
    with Gradebook.open(tmp_path / "reports", create=True) as book:
        book.record_run([result(i) for i in ids], info=provenance())
        book.set_manual([ManualEntry(i, q, 1.0) for i in ids if i not in pending for q in QUESTIONS], by="ta")
        return book.grades()


def roster_file(tmp_path: Path, text: str) -> Roster:
    path = tmp_path / "lms-export.csv"
    path.write_text(text, encoding="utf-8")
    return read_roster(path)


def export(fmt: str, grades, roster: Roster, tmp_path: Path, **options) -> tuple[str, list[str]]:
    out = tmp_path / f"{fmt}.csv"
    warnings = exports.write(fmt, ASSIGNMENT, grades, roster, out, Options(**options))
    return out.read_text(encoding="utf-8"), warnings


class MoodleImportAborted(Exception):
    pass


def moodle_import(text: str, users: dict[str, str], gradebook: dict[str, float]) -> dict[str, float | None]:
    """Moodle's CSV import, as load_data.php does it: identifier column mapped to the `users` field, the title to the item."""
    header, *rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    after: dict[str, float | None] = dict(gradebook)
    for row in rows:
        user = users.get(row[0].strip())
        if user is None:
            raise MoodleImportAborted(f"user not found: {row[0]!r}")  # the whole import is cleaned up
        cell = row[header.index(TITLE)].strip()
        after[user] = None if cell in ("", "-") else float(cell)  # float() refuses "0,5" as Moodle refuses a bad grade
    return after


def canvas_import(text: str, assignments: dict[str, str], students: set[str]) -> tuple[str, dict[str, str]]:
    """Canvas's gradebook import: the assignment column it matches (else "new"), and the cells per known student."""
    header, points, *rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and points[0].strip() == "Points Possible"
    column = header[5]
    title, _, tail = column.rpartition(" (")
    by_id = tail.removesuffix(")") if title and tail.removesuffix(")") in assignments else None
    matched = by_id or next((aid for aid, name in assignments.items() if name == column), "new")
    known = {next(c for c in row[1:4] if c in students): row[5] for row in rows if any(c in students for c in row[1:4])}
    return matched, known


def test_moodle_file_from_moodles_own_export_imports_without_aborting_or_clearing(tmp_path):
    ids = [MOODLE_FOLDER, EMAIL, "10003", STRANGER]
    grades = book_with(tmp_path, ids, pending=("10003",))
    text, warnings = export("moodle", grades, roster_file(tmp_path, MOODLE_EXPORT), tmp_path)
    users = {
        "jmueller@uni.example": "jürgen",
        "ann.lovelace@uni.example": "ann",
        "mdasilva@uni.example": "maria",
        "nnosub@uni.example": "nora",
    }
    before = {"maria": 6.0}  # entered by hand in Moodle earlier
    after = moodle_import(text, users, before)  # no unknown user: the import runs
    assert after == {"jürgen": 15.0, "ann": 15.0, "maria": 6.0}  # Maria's answers are pending: her grade is untouched
    assert text.splitlines()[0] == f"Email address,{TITLE},Feedback"
    said = "\n".join(warnings)
    assert f"1 submission(s) left out: the roster matches no student:\n  {STRANGER}" in said
    assert "1 submission(s) left out: written answers not marked yet" in said and "  10003" in said
    assert "1 student(s) in the roster have no submission:\n  'Nora Nosub' ('nnosub@uni.example')" in said


def test_a_moodle_file_with_an_unmatched_or_blank_row_would_have_failed(tmp_path):
    """The model is strict where Moodle is: what the old export wrote aborts or clears."""
    with pytest.raises(MoodleImportAborted):
        moodle_import(f"Email address,{TITLE},Feedback\n{STRANGER},12,\n", {}, {})
    assert moodle_import(f"Email address,{TITLE},Feedback\na@x,,\n", {"a@x": "a"}, {"a": 6.0}) == {"a": None}


def test_canvas_column_matches_the_existing_assignment_by_title_and_id(tmp_path):
    ids = [CANVAS_DOWNLOAD, EMAIL, SPACED, STRANGER]
    grades = book_with(tmp_path, ids, pending=(SPACED,))
    canvas_roster = roster_file(tmp_path, CANVAS_EXPORT)
    text, warnings = export("canvas", grades, canvas_roster, tmp_path)
    assignment, cells = canvas_import(text, {"4242": TITLE, "4240": "Quiz 1"}, {"101", "102", "103", "104"})
    assert assignment == "4242"  # the id comes from the export's own `Title (4242)` column
    assert cells == {"101": "15", "102": "15", "103": ""}  # pending: empty, which Canvas leaves unchanged
    assert '"Lovelace, Ann",102,S-102,ann.lovelace@uni.example,Sec A,15' in text.splitlines()
    assert f"  {STRANGER}" in "\n".join(warnings) and "'Nosub, Nora' ('104')" in "\n".join(warnings)
    # Given by staff, the id wins; with our own roster and no id, the exact title matches.
    text, _ = export("canvas", grades, canvas_roster, tmp_path, lms_assignment_id="77")
    assert text.splitlines()[0].endswith(f",{TITLE} (77)")
    assert canvas_import(export("canvas", grades, Roster(), tmp_path)[0], {"4242": TITLE}, set())[0] == "4242"
    assert canvas_import(export("canvas", grades, Roster(), tmp_path)[0], {"4242": "Another title"}, set())[0] == "new"


def test_duplicates_are_refused_until_staff_keep_one(tmp_path):
    grades = book_with(tmp_path, ["ann", "ann~2", "bob"])
    for fmt in ("canvas", "moodle"):
        with pytest.raises(UsageError, match=r"'ann': ann, ann~2\. Choose the one that counts with --keep"):
            exports.write(fmt, ASSIGNMENT, grades, Roster(), tmp_path / f"refused-{fmt}", Options())
        assert not (tmp_path / f"refused-{fmt}").exists()  # nothing written
    text, warnings = export("moodle", grades, Roster(), tmp_path, keep=("ann~2",))
    assert [row[0] for row in csv.reader(io.StringIO(text))] == ["Username", "ann", "bob"]  # ann~2's grade, under ann
    assert "duplicate submission(s) left out (--keep chose another):\n  ann" in "\n".join(warnings)
    with pytest.raises(UsageError, match="--keep bob: not one of several submissions"):
        exports.write("moodle", ASSIGNMENT, grades, Roster(), tmp_path / "x.csv", Options(keep=("ann", "bob")))
    with pytest.raises(UsageError, match="'ann': ann, ann~2"):  # both kept settles nothing
        exports.write("moodle", ASSIGNMENT, grades, Roster(), tmp_path / "x.csv", Options(keep=("ann", "ann~2")))


def test_two_ids_the_roster_gives_one_student_are_duplicates(tmp_path):
    """A student who handed in twice under different names: both match the same Moodle user."""
    grades = book_with(tmp_path, [EMAIL, "Ann Lovelace", MOODLE_FOLDER])
    with pytest.raises(UsageError, match=r"'ann\.lovelace@uni\.example': Ann Lovelace, ann\.lovelace@uni\.example"):
        export("moodle", grades, roster_file(tmp_path, MOODLE_EXPORT), tmp_path)
    text, _ = export("moodle", grades, roster_file(tmp_path, MOODLE_EXPORT), tmp_path, keep=("Ann Lovelace",))
    assert sorted(row[0] for row in csv.reader(io.StringIO(text))) == ["Email address", EMAIL, "jmueller@uni.example"]


def test_a_student_the_roster_gives_no_identifier_for_is_left_out_not_guessed(tmp_path):
    """Our roster with an e-mail column: a row without an e-mail would be looked up by its id, and abort Moodle's import."""
    roster = roster_file(tmp_path, "submission,email,sis_user_id\nann,ann@uni.example,S1\nbob,,\n")
    grades = book_with(tmp_path, ["ann", "bob"])
    text, warnings = export("moodle", grades, roster, tmp_path)
    assert moodle_import(text, {"ann@uni.example": "ann"}, {}) == {"ann": 15.0}
    assert "warning: 1 submission(s) left out: their roster entry has no identifier this LMS matches:\n  bob" in warnings
    text, warnings = export("canvas", grades, roster, tmp_path)  # Canvas: no ID, SIS User ID or SIS Login ID for bob
    assert canvas_import(text, {}, {"S1"})[1] == {"S1": "15"} and len(text.splitlines()) == 3


def test_byte_order_mark_only_when_asked(tmp_path):
    grades = book_with(tmp_path, ["Jürgen Müller"])
    for fmt in ("csv", "canvas", "moodle"):
        plain, _ = export(fmt, grades, Roster(), tmp_path)
        marked, _ = export(fmt, grades, Roster(), tmp_path, bom=True)
        assert marked == "\ufeff" + plain and not plain.startswith("\ufeff") and "Jürgen Müller" in plain
        assert (tmp_path / f"{fmt}.csv").read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    ("submission", "matched"),
    [
        (CANVAS_DOWNLOAD, "101"),
        ("muellerjuergen_LATE_101_5551_assignment10", "101"),  # Canvas marks late submissions in the name
        (EMAIL.upper(), "102"),
        ("S-103", "103"),
        (SPACED, "103"),
        ("maria josé  DA silva", "103"),  # case and repeated spaces aside
        ("Lovelace, Ann", "102"),
        ("jürgen_101", None),  # a name and a number, but not Canvas's download name
        ("999", "999"),
        ("Points Possible", None),
        (STRANGER, None),
    ],
)
def test_how_a_submission_id_finds_its_row_in_a_canvas_export(tmp_path, submission, matched):
    found = roster_file(tmp_path, CANVAS_EXPORT).match([submission]).identities.get(submission)
    assert (found.canvas_id if found else None) == matched


def test_a_name_two_students_share_matches_neither(tmp_path):
    roster = roster_file(tmp_path, CANVAS_EXPORT + '"Müller, Jürgen",105,S-105,jm2@uni.example,Sec B,,,,\n')
    matching = roster.match(["Jürgen Müller", CANVAS_DOWNLOAD])
    assert matching.unmatched == ("Jürgen Müller",) and matching.identities[CANVAS_DOWNLOAD].canvas_id == "101"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Name,Mail\nAnn,a@x\n", "neither our roster"),
        ("", "neither our roster"),
        ("Student,ID,SIS User ID,SIS Login ID,Section\nAnn,1,S1,a,Sec,extra\n", "line 2: more cells than columns"),
        ("\xff\xfe", "cannot read the roster"),
    ],
)
def test_an_unusable_lms_export_is_a_usage_error(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    with pytest.raises(UsageError, match=message):
        read_roster(path)
