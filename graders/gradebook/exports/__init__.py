"""Grades out of the gradebook, in the layouts LMS importers document (docs/staff.md, "Exports").

`write(format, assignment, grades, roster, out, options)` decides which rows a file gets, then
hands them to the format's writer; it returns what the person exporting must hear. The rules:
- with a roster, Canvas and Moodle get only the rows it matches (Moodle's importer aborts the whole
  import on the first unknown user); the others, and the roster's students with no submission, are listed;
- Moodle gets no row for a grade still pending (its importer reads an empty grade as "no grade"
  and clears what was there); Canvas gets an empty cell, which its importer leaves unchanged;
- two rows for one LMS identity (two notebooks for one student, or a roster mapping two ids to
  one student) are refused until staff keep one (`Options.keep`): an importer would take either;
- a grade not released (`grader release`), or changed since, is provisional: the feedback says so
  where the format has feedback (Moodle, Gradescope), and staff are told which rows are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from graders.assignment.spec import Assignment
from graders.errors import BadCommandLine, UsageError
from graders.gradebook.exports import canvas, csv, moodle
from graders.gradebook.exports.cells import Options, Row, shown
from graders.gradebook.exports.roster import Identity, Matching, Roster, claimed_id, key, stand_in
from graders.gradebook.release import Release, ReleaseState
from graders.gradebook.store import Grade

__all__ = [
    "FORMATS",
    "Chosen",
    "Options",
    "Row",
    "check_assignments_named",
    "check_options",
    "claimed_twice",
    "duplicates",
    "listing",
    "select",
    "write",
]


@dataclass(frozen=True)
class Format:
    write: Callable[[Assignment, Sequence[Row], Roster, Path, Options], None]
    identity: Callable[[Identity, Roster], str] | None  # what the LMS matches a row by; None: our layout, keyed by submission
    matched_only: bool = False  # with a roster, rows it cannot match are left out
    omit_pending: bool = False  # a pending grade gets no row at all


FORMATS: dict[str, Format] = {
    "csv": Format(csv.export, None),
    "canvas": Format(canvas.export, canvas.identity, matched_only=True),
    "moodle": Format(moodle.export, moodle.identity, matched_only=True, omit_pending=True),
}


def write(
    format_name: str,
    assignment: Assignment,
    grades: Sequence[Grade],
    roster: Roster,
    out: Path,
    options: Options,
    *,
    release: Release | None = None,
) -> list[str]:
    """Write one export (nothing at all when it is refused); returns warnings for the person running it.
    `release`: the last `grader release` (None: never released, every grade provisional)."""
    check_options(format_name, options)
    chosen = select(format_name, grades, roster, options.keep, release=release, every_keep_settles=True)
    FORMATS[format_name].write(assignment, chosen.rows, roster, out, options)
    return chosen.warnings


@dataclass(frozen=True)
class Chosen:
    """The rows one assignment's grades give a format, what staff must hear, and the `--keep`s that settled nothing."""

    rows: list[Row]
    warnings: list[str]
    stray_keeps: tuple[str, ...]


def select(
    format_name: str, grades: Sequence[Grade], roster: Roster, keep: Sequence[str], *, release: Release | None, every_keep_settles: bool
) -> Chosen:
    """The rows of a format's file (the rules in this module's docstring); a duplicate left unsettled is refused, and so is
    a `keep` that settles nothing when `every_keep_settles` (one assignment's file; a course file checks over all of them)."""
    fmt = FORMATS[format_name]
    matching = roster.match([g.submission for g in grades])
    unmatched = {} if fmt.matched_only else {s: stand_in(s) for s in matching.unmatched}  # exported under their ids
    identities = matching.identities | unmatched
    states = {g.submission: release.state(g) if release is not None else ReleaseState.PROVISIONAL for g in grades}
    rows = [Row(g, identities[g.submission], states[g.submission] is ReleaseState.RELEASED) for g in grades if g.submission in identities]
    warnings = _roster_warnings(format_name, fmt, roster, matching, grades)
    stray: tuple[str, ...] = tuple(keep)
    if fmt.identity is not None:
        nameless = [row.grade.submission for row in rows if not fmt.identity(row.who, roster)]
        rows = [row for row in rows if fmt.identity(row.who, roster)]
        warnings += listing(f"{len(nameless)} submission(s) left out: their roster entry has no identifier this LMS matches", nameless)
        rows, kept, stray = _settled(rows, fmt.identity, roster, keep, every_keep_settles=every_keep_settles)
        warnings += kept
    if fmt.omit_pending:
        pending = [row.grade.submission for row in rows if row.grade.pending]
        rows = [row for row in rows if not row.grade.pending]
        warnings += listing(
            f"{len(pending)} submission(s) left out: written answers not marked yet (a blank grade would clear one)", pending
        )
    elif format_name != "csv" and (pending := [row.grade.submission for row in rows if row.grade.pending]):
        warnings.append(f"warning: {len(pending)} submission(s) have written answers not marked yet; their grade is left empty/partial")
    return Chosen(rows, warnings + _provisional(rows, states), stray if fmt.identity is not None else ())


def _provisional(rows: Sequence[Row], states: dict[str, ReleaseState]) -> list[str]:
    """Which exported grades students have not been released (the file marks them where it can)."""
    never = [row.grade.submission for row in rows if states[row.grade.submission] is ReleaseState.PROVISIONAL]
    changed = [row.grade.submission for row in rows if states[row.grade.submission] is ReleaseState.CHANGED]
    return listing(f"{len(never)} grade(s) provisional: not released yet (`grader release`)", never) + listing(
        f"{len(changed)} grade(s) provisional: changed since released (review, then `grader release` again)", changed
    )


def check_options(format_name: str, options: Options) -> None:
    """Options that do not fit the format are a bad command line, refused before anything is read."""
    if format_name not in FORMATS:
        # Gradescope takes an autograder's results only from its own run of it: there is no file to import.
        raise BadCommandLine(f"no export format {format_name!r}: {', '.join(FORMATS)}; for Gradescope, use grader gradescope-bundle")
    given = [options.lms_assignment_id] * bool(options.lms_assignment_id) + [number for _, number in options.lms_assignment_ids]
    if given and format_name != "canvas":
        raise BadCommandLine("--lms-assignment-id names a Canvas assignment; it is for --format canvas")
    if not all(number.isascii() and number.isdigit() for number in given):
        raise BadCommandLine("--lms-assignment-id must be the number Canvas shows in the assignment's address or export column")


def check_assignments_named(options: Options, held: Sequence[str]) -> None:
    """Each `--lms-assignment-id ASSIGNMENT=ID` names an assignment of the folders exported (else it would be ignored)."""
    unknown = [assignment for assignment, _ in options.lms_assignment_ids if assignment not in held]
    if unknown:
        raise BadCommandLine(f"--lms-assignment-id names {', '.join(unknown)}, which no folder holds; they hold: {', '.join(held)}")


def _roster_warnings(format_name: str, fmt: Format, roster: Roster, matching: Matching, grades: Sequence[Grade]) -> list[str]:
    if not roster.given:
        return [] if format_name == "csv" else ["warning: no --roster: submission ids are exported as the LMS identities"]
    unmatched = list(matching.unmatched) if fmt.matched_only else []
    warnings = listing(f"{len(unmatched)} submission(s) left out: the roster matches no student", unmatched)
    if matching.unmatched and not fmt.matched_only and format_name != "csv":
        warnings.append(f"warning: {len(matching.unmatched)} submission(s) not in the roster, exported under their ids")
    missing = [_who(who) for who in matching.without_submission]
    return warnings + listing(f"{len(missing)} student(s) in the roster have no submission", missing)


def _settled(
    rows: list[Row], identity: Callable[[Identity, Roster], str], roster: Roster, keep: Sequence[str], *, every_keep_settles: bool
) -> tuple[list[Row], list[str], tuple[str, ...]]:
    """One row per LMS identity: duplicates need a `keep`; returns the rows, what was left out, and the `keep`s that
    settle nothing here (refused when `every_keep_settles`; in a course file, maybe a choice for another assignment)."""
    groups = duplicates([(row.grade.submission, key(identity(row.who, roster))) for row in rows])
    unsettled, dropped = [], []
    for claimed, submissions in groups.items():
        chosen = [s for s in submissions if s in keep]
        if len(chosen) != 1:
            unsettled.append(f"{shown(claimed)}: {', '.join(submissions)}")
        dropped += [s for s in submissions if chosen and s not in chosen]
    in_groups = {s for submissions in groups.values() for s in submissions}
    stray = tuple(s for s in keep if s not in in_groups)
    if stray and every_keep_settles:
        raise UsageError(
            f"--keep {', '.join(stray)}: not one of several submissions for one student; the duplicates are: {_groups(groups)}"
        )
    if unsettled:
        raise UsageError(
            "two or more submissions would be exported for one student (an importer would take either): "
            + "; ".join(unsettled)
            + ". Choose the one that counts with --keep SUBMISSION (once per student); nothing was written"
        )
    left_out = set(dropped)
    return (
        [row for row in rows if row.grade.submission not in left_out],
        listing(f"{len(dropped)} duplicate submission(s) left out (--keep chose another)", dropped),
        stray,
    )


def claimed_twice(submissions: Sequence[str]) -> dict[str, list[str]]:
    """Student ids two or more graded entries claim (intake's `X`, `X~2`, …), before any roster: for staff at grading."""
    submitted = frozenset(submissions)
    return duplicates([(s, claimed_id(s, submitted)) for s in submissions])


def duplicates(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """(submission, LMS identity) pairs → every identity claimed by more than one submission, with them, sorted."""
    claims: dict[str, list[str]] = {}
    for submission, identity in pairs:
        claims.setdefault(identity, []).append(submission)
    return {identity: sorted(subs) for identity, subs in sorted(claims.items()) if len(subs) > 1}


def _groups(groups: dict[str, list[str]]) -> str:
    return "; ".join(f"{shown(identity)}: {', '.join(subs)}" for identity, subs in groups.items()) or "none"


def _who(who: Identity) -> str:
    """A roster entry for a warning line: its name and its first identifier, escaped."""
    ids = [shown(value) for value in (who.canvas_id, who.email, who.username, who.id_number, who.sis_user_id, who.submission) if value]
    name = shown(who.name) if who.name else ""
    return f"{name} ({ids[0]})" if name and ids else name or (ids[0] if ids else "?")


def listing(title: str, items: Sequence[str]) -> list[str]:
    """A warning with one line per item (items are ids or escaped roster text)."""
    return [f"warning: {title}:\n" + "\n".join(f"  {item}" for item in items)] if items else []
