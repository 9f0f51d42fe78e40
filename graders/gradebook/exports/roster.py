"""The roster: which LMS identity each submission id belongs to.

Three files are read as they are (the header says which):
- our roster: a `submission` column (our id: the notebook's file stem or folder name) and any of
  `name`, `canvas_id`, `sis_user_id`, `sis_login_id`, `section` (Canvas), `email`, `username`,
  `id_number` (Moodle: the first of these present is the identifier); a submission matches its row exactly.
- Canvas's gradebook export (Grades → Export): `Student, ID, SIS User ID, SIS Login ID, [Integration ID,]
  Section`, then one column per assignment, `Title (id)`; rows without a numeric ID
  ("Points Possible", "Manual Posting") are not students.
- Moodle's gradebook export (Export → Plain text file): `First name, Last name, [Username,] ID number,
  Institution, Department, Email address`, then the grade items.
A submission matches an LMS export's row when its id is one of the row's identifiers or its name
(case and Unicode normalisation aside), or when it is named the way the LMS's own submission
download names it: Canvas `name[_late]_ID_…`, Moodle `Full Name_N_assignsubmission_…`. An
identifier two rows share matches neither. An id `X~N` (intake's suffix for a second entry
claiming `X`) belongs to whoever `X` belongs to, so the two come out as duplicates for staff to settle.
Without a roster, ids are exported as they are (the CLI warns).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, fields, replace
from pathlib import Path

from graders.errors import UsageError

MAX_ROSTER_BYTES = 16 * 2**20  # a class of thousands is well under a megabyte


@dataclass(frozen=True)
class Identity:
    submission: str = ""  # our roster's own column; empty for an LMS's export
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    username: str = ""
    id_number: str = ""


COLUMNS = tuple(f.name for f in fields(Identity))
IDENTIFIERS = ("canvas_id", "sis_user_id", "sis_login_id", "email", "username", "id_number", "name")  # the order a plain id is tried in

# The LMS exports' headers, as each writes them → our fields.
CANVAS_COLUMNS = {"Student": "name", "ID": "canvas_id", "SIS User ID": "sis_user_id", "SIS Login ID": "sis_login_id", "Section": "section"}
MOODLE_COLUMNS = {"Username": "username", "ID number": "id_number", "Email address": "email"}
MOODLE_NAMES = ("First name", "Last name")


@dataclass(frozen=True)
class Matching:
    """Submission ids against a roster: who each matched, which matched nobody, who submitted nothing."""

    identities: dict[str, Identity]
    unmatched: tuple[str, ...] = ()
    without_submission: tuple[Identity, ...] = ()


@dataclass(frozen=True)
class Roster:
    entries: tuple[Identity, ...] = ()
    source: str = ""  # "roster", "canvas" or "moodle"; "" when none was given
    columns: tuple[str, ...] = ()  # every column title of the file (Canvas's `Title (id)` among them)

    @property
    def given(self) -> bool:
        return bool(self.source)

    def has_column(self, column: str) -> bool:
        return any(getattr(identity, column) for identity in self.entries)

    def match(self, submissions: Sequence[str]) -> Matching:
        """Each submission's identity; without a roster, the (claimed) id stands in for every identifier."""
        submitted = frozenset(submissions)
        if not self.given:
            return Matching({s: stand_in(claimed_id(s, submitted)) for s in submissions})
        index = _Index(self)
        found = {s: who for s in submissions if (who := index.find(s)) is not None}
        for s in submissions:
            claimed = claimed_id(s, submitted)
            if s not in found and claimed in found:
                found[s] = found[claimed]
        matched = {id(who) for who in found.values()}
        return Matching(
            found,
            tuple(s for s in submissions if s not in found),
            tuple(who for who in self.entries if id(who) not in matched),
        )


def stand_in(submission: str) -> Identity:
    return Identity(submission, name=submission, sis_user_id=submission, username=submission)


def claimed_id(submission: str, submitted: AbstractSet[str]) -> str:
    """`X` for `X~N` when `X` was submitted too (intake gives a second entry claiming `X` that id); else the id."""
    base, tilde, number = submission.rpartition("~")
    if tilde and number.isascii() and number.isdigit() and base in submitted:
        return base
    return submission


def key(text: str) -> str:
    """How identifiers compare: NFC, case-folded, outer spaces and repeated inner ones ignored."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


class _Index:
    """Per identifier field: key → the one entry holding it (a key two entries share is dropped)."""

    def __init__(self, roster: Roster) -> None:
        self.exact = roster.source == "roster"
        self.by_field: dict[str, dict[str, Identity | None]] = {}
        self.submissions = {who.submission: who for who in roster.entries}  # our roster: exact ids, checked unique
        for column in () if self.exact else IDENTIFIERS:
            table: dict[str, Identity | None] = {}
            for who in roster.entries:
                value = getattr(who, column)
                for variant in _variants(column, value) if value else ():
                    table[variant] = who if table.get(variant, who) is who else None
            self.by_field[column] = table

    def find(self, submission: str) -> Identity | None:
        if self.exact:
            return self.submissions.get(unicodedata.normalize("NFC", submission))
        wanted = key(submission)
        for column in IDENTIFIERS:
            if (who := self.by_field[column].get(wanted)) is not None:
                return who
        canvas_id, moodle_name = canvas_download_id(submission), moodle_download_name(submission)
        return (self.by_field["canvas_id"].get(canvas_id) if canvas_id else None) or (
            self.by_field["name"].get(key(moodle_name)) if moodle_name else None
        )


def _variants(column: str, value: str) -> tuple[str, ...]:
    """The keys one identifier is found by; Canvas's `Last, First` is also `First Last`."""
    last, comma, first = value.partition(",")
    return (key(value), key(f"{first} {last}")) if column == "name" and comma else (key(value),)


def canvas_download_id(submission: str) -> str:
    """The user id in Canvas's submission download name `name[_late]_ID_attachment_file`, or ""."""
    parts = submission.split("_", 4)[1:]  # after the name
    parts = parts[1:] if parts and parts[0].casefold() == "late" else parts
    token = parts[0] if len(parts) > 1 else ""  # something (the attachment id, the file name) follows the user id
    return token if token.isascii() and token.isdigit() else ""


def moodle_download_name(submission: str) -> str:
    """The full name in Moodle's download name `Full Name_N_assignsubmission_…`, or ""."""
    head, marker, _ = submission.partition("_assignsubmission_")
    name, _, number = head.rpartition("_")
    return name if marker and number.isascii() and number.isdigit() else ""


def read_roster(path: Path) -> Roster:
    """Read our roster or an LMS's gradebook export; anything malformed is a UsageError naming the line."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ROSTER_BYTES + 1)
        text = data.decode("utf-8-sig")  # Excel and the LMSs write a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the roster {path}: {exc}") from exc
    if len(data) > MAX_ROSTER_BYTES:
        raise UsageError(f"the roster {path} is over {MAX_ROSTER_BYTES // 2**20} MiB; a class list is far smaller")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise UsageError(f"the roster {path} is not valid CSV: {exc}") from exc
    header = tuple(name.strip() for name in rows[0]) if rows else ()
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    if "submission" in header:
        return Roster(_our_rows(path, header, body), "roster", header)
    if all(column in header for column in ("Student", "ID", "SIS User ID")):
        return Roster(_lms_rows(path, header, body, _canvas_student), "canvas", header)
    if "Email address" in header and any(column in header for column in MOODLE_NAMES):
        return Roster(_lms_rows(path, header, body, _moodle_student), "moodle", header)
    raise UsageError(
        f"the roster {path} is neither our roster (a 'submission' column; the others may be: {', '.join(COLUMNS[1:])}) "
        "nor a Canvas or Moodle gradebook export as downloaded"
    )


def _our_rows(path: Path, header: tuple[str, ...], body: list[tuple[int, list[str]]]) -> tuple[Identity, ...]:
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise UsageError(f"the roster {path} has unknown columns {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}")
    entries: dict[str, Identity] = {}
    for number, row in body:
        if len(row) > len(header):
            raise UsageError(f"the roster {path}, line {number}: more cells than columns")
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        submission = unicodedata.normalize("NFC", values.get("submission", ""))
        if not submission:
            raise UsageError(f"the roster {path}, line {number}: the submission id is empty")
        if submission in entries:
            raise UsageError(f"the roster {path}, line {number}: {submission!r} is listed twice")
        entries[submission] = replace(Identity(**values), submission=submission)
    return tuple(entries.values())


def _lms_rows(
    path: Path, header: tuple[str, ...], body: list[tuple[int, list[str]]], student: Callable[[dict[str, str]], Identity | None]
) -> tuple[Identity, ...]:
    entries = []
    for number, row in body:
        if len(row) > len(header):
            raise UsageError(f"the roster {path}, line {number}: more cells than columns")
        who = student(dict(zip(header, (cell.strip() for cell in row), strict=False)))
        entries += [who] if who is not None else []
    return tuple(entries)


def _canvas_student(cells: dict[str, str]) -> Identity | None:
    """A student row has Canvas's numeric user id ("Points Possible" and "Manual Posting" rows have none)."""
    canvas_id = cells.get("ID", "")
    if not (canvas_id.isascii() and canvas_id.isdigit()):
        return None
    return Identity(**{ours: cells.get(theirs, "") for theirs, ours in CANVAS_COLUMNS.items()})


def _moodle_student(cells: dict[str, str]) -> Identity | None:
    identifiers = {ours: cells.get(theirs, "") for theirs, ours in MOODLE_COLUMNS.items()}
    name = " ".join(cells[column] for column in MOODLE_NAMES if cells.get(column))
    return Identity(name=name, **identifiers) if any(identifiers.values()) else None
