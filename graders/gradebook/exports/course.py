"""Course files: one Canvas or one Moodle file with a column per assignment (`grader export REPORTS REPORTS …`).

Each reports folder is one assignment's class (`make grade` writes reports/<assignment>/). Each folder's
rows are chosen as for a file of its own (`exports.select`: roster matches, duplicates, Moodle's pending
grades), then the rows are joined by the identity the LMS matches a student by. A column is titled
as its importer finds an existing column: Canvas by `Title (id)` (the Canvas id staff give per
assignment, `--lms-assignment-id ASSIGNMENT=ID`, or the one the roster, Canvas's own export, has for
that title) or else the exact title; Moodle by the grade item's name, which staff pick in its mapping
form (its own export writes no id in a header). A student with no grade in a column gets an empty cell,
never 0: Canvas leaves the grade as it was; Moodle reads "no grade" and clears one already there, so staff
are told whose cells those are. A student whom two folders name differently (one submission id, or one
LMS identity, with two names or emails) is refused with both spellings: joining them would post one
person's grade to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.errors import BadCommandLine, UsageError
from graders.gradebook.exports import Row, canvas, check_assignments_named, check_options, listing, moodle, select
from graders.gradebook.exports.cells import Options, csv_text, safe, shown
from graders.gradebook.exports.roster import Identity, Roster, key
from graders.gradebook.release import Release
from graders.gradebook.store import Grade
from graders.results import write_text_atomic

# The LMSs a course file is for, and how each matches a row to a student.
IDENTITY = {"canvas": canvas.identity, "moodle": moodle.identity}
COURSE_FORMATS = tuple(IDENTITY)


@dataclass(frozen=True)
class Graded:
    """One reports folder: the assignment its runs recorded, its grades, its last release, the roster its ids are matched with."""

    folder: Path
    assignment: Assignment
    grades: tuple[Grade, ...]
    release: Release | None
    roster: Roster


@dataclass(frozen=True)
class Column:
    """One assignment's column: its rows by the LMS identity (its key) they are exported under."""

    graded: Graded
    rows: dict[str, Row]


def write_course(format_name: str, classes: Sequence[Graded], out: Path, options: Options) -> list[str]:
    """Write one file with a column per class (nothing at all when it is refused); returns warnings for staff."""
    check_course(format_name, classes, options)
    columns: list[Column] = []
    warnings: list[str] = []
    unsettled: set[str] = set(options.keep)
    for graded in classes:
        chosen = select(format_name, graded.grades, graded.roster, options.keep, release=graded.release, every_keep_settles=False)
        unsettled &= set(chosen.stray_keeps)
        warnings += [_about(graded.assignment, warning) for warning in chosen.warnings]
        columns.append(Column(graded, {_key(format_name, row.who, graded.roster): row for row in chosen.rows}))
    if unsettled:
        raise UsageError(f"--keep {', '.join(sorted(unsettled))}: not one of several submissions for one student in any folder")
    students = _students(columns)
    if format_name == "canvas":
        _canvas(columns, students, out, options)
    else:
        _moodle(columns, students, out, options)
        warnings += _cleared(columns, students)
    return warnings


def check_request(format_name: str, options: Options) -> None:
    """Before anything is read: a course file is an LMS's layout, and each Canvas id names its assignment."""
    if format_name not in COURSE_FORMATS:
        raise BadCommandLine(f"several reports folders make one file for {' or '.join(COURSE_FORMATS)}, not {format_name!r}")
    check_options(format_name, options)
    if options.lms_assignment_id:
        raise BadCommandLine("with several reports folders, name the assignment of each Canvas id: --lms-assignment-id ASSIGNMENT=ID")


def check_course(format_name: str, classes: Sequence[Graded], options: Options) -> None:
    """One folder per assignment, Canvas ids for assignments the folders hold, one Moodle identifier for every roster."""
    check_request(format_name, options)
    ids = [graded.assignment.id for graded in classes]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        folders = "; ".join(f"{i}: {', '.join(str(g.folder) for g in classes if g.assignment.id == i)}" for i in twice)
        raise UsageError(f"one assignment in two reports folders (an importer would take either column): {folders}")
    check_assignments_named(options, ids)
    if format_name == "moodle" and len({moodle.identifier(graded.roster) for graded in classes}) > 1:
        raise UsageError("the rosters identify students by different Moodle fields (email, username, ID number); one file needs one")


def _about(assignment: Assignment, warning: str) -> str:
    """A folder's warning, saying which assignment it is about: `warning: TITLE: …`."""
    said = warning.removeprefix("warning: ")
    return f"{warning[: len(warning) - len(said)]}{assignment.title}: {said}"


def _key(format_name: str, who: Identity, roster: Roster) -> str:
    return key(IDENTITY[format_name](who, roster))


def _students(columns: Sequence[Column]) -> dict[str, Identity]:
    """Each LMS identity once, in the order of its first submission id; refused when two folders name one student two ways."""
    seen: dict[str, list[tuple[Row, Column]]] = {}
    for column in columns:
        for identity_key, row in column.rows.items():
            seen.setdefault(identity_key, []).append((row, column))
    by_submission: dict[str, list[tuple[Row, Column]]] = {}
    for column in columns:
        for row in column.rows.values():
            by_submission.setdefault(row.grade.submission, []).append((row, column))
    conflicts = [_conflict(label, pairs) for label, pairs in [*seen.items(), *by_submission.items()]]
    found = sorted({c for c in conflicts if c})
    if found:
        raise UsageError(
            "two reports folders name one student differently (joining them could post one person's grade to another): "
            + "; ".join(found)
            + ". Correct the roster (or the submission ids) so each student is one person; nothing was written"
        )
    first = {k: min(row.grade.submission for row, _ in pairs) for k, pairs in seen.items()}
    return {k: seen[k][0][0].who for k in sorted(seen, key=lambda k: (first[k], k))}


def _conflict(label: str, pairs: Sequence[tuple[Row, Column]]) -> str:
    """'' when every folder's row names the student alike (name and email, as keys compare), else what each says."""
    if len({(key(row.who.name), key(row.who.email)) for row, _ in pairs}) <= 1:
        return ""
    spelled = ", ".join(f"{column.graded.assignment.id} {shown(row.who.name)} {shown(row.who.email)}" for row, column in pairs)
    return f"{shown(label)}: {spelled}"


def _canvas(columns: Sequence[Column], students: dict[str, Identity], out: Path, options: Options) -> None:
    titles = [canvas.column_title(c.graded.assignment, c.graded.roster, options.lms_id_for(c.graded.assignment.id)) for c in columns]
    lines = [
        [*canvas.HEADER, *(safe(title) for title in titles)],
        ["Points Possible", "", "", "", "", *(canvas.points_possible(list(c.rows.values())) for c in columns)],
    ]
    lines += [[*canvas.student_cells(who), *(canvas.score(c.rows.get(k)) for c in columns)] for k, who in students.items()]
    write_text_atomic(out, csv_text(lines, bom=options.bom))


def _moodle(columns: Sequence[Column], students: dict[str, Identity], out: Path, options: Options) -> None:
    field, title = moodle.identifier(columns[0].graded.roster)
    lines = [[title, *(cell for c in columns for cell in _moodle_titles(c.graded.assignment))]]
    lines += [[safe(getattr(who, field)), *(cell for c in columns for cell in moodle.cells(c.rows.get(k)))] for k, who in students.items()]
    write_text_atomic(out, csv_text(lines, bom=options.bom))


def _moodle_titles(assignment: Assignment) -> list[str]:
    """The grade item's name, and its feedback named after it (Moodle's mapping form lists both by the item's name)."""
    return [safe(assignment.title), safe(f"{assignment.title} (Feedback)")]


def _cleared(columns: Sequence[Column], students: dict[str, Identity]) -> list[str]:
    """Moodle reads an empty grade as "no grade" and clears one already there: whose cells are empty, per assignment."""
    warnings = []
    for column in columns:
        empty = [shown(who.name or k) for k, who in students.items() if k not in column.rows]
        title = (
            f"{len(empty)} empty cell(s), no grade here; Moodle's importer clears a grade already in that item for them "
            "(map the column to 'ignore' if one was entered there by hand)"
        )
        warnings += [_about(column.graded.assignment, warning) for warning in listing(title, empty)]
    return warnings
