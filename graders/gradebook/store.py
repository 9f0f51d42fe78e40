"""The gradebook: REPORTS/gradebook.sqlite, the history of every grading run plus staff adjustments.

This module is the whole API; the CLI (`grader history|override|manual|rescore|report|export`)
and the review web app call it directly. Every value crossing it is a frozen dataclass.
It is longer than the house's ~500 lines on purpose: every write (and its validation) and every
read that applies overrides and marks share one connection discipline and one transaction rule,
and splitting them would spread that rule over several modules.

    with Gradebook.open(reports_dir) as book:            # UsageError missing; CorruptGradebook; FolderBusy
        book.record_run(results, info=p, kind="grade") -> Run   # p: graders.settings.Provenance
        book.runs() -> tuple[Run, ...]                    # oldest first
        book.submission_ids() -> tuple[str, ...]          # in the latest run
        book.result(submission) -> SubmissionResult       # latest automatic result (= results.json)
        book.grade(submission) -> Grade                   # latest result + overrides + manual marks
        book.grades() -> tuple[Grade, ...]                # every submission of the latest run
        book.history(submission) -> History               # runs, changes and why
        book.set_override(submission, check_id, score=, reason=, by=) -> Override
        book.clear_override(submission, check_id, by=) -> Override
        book.set_manual([ManualEntry(...)], by=) -> tuple[ManualMark, ...]   # all or nothing
        book.questions() -> tuple[ManualQuestion, ...]    # the written questions and their points
        book.set_question_points({"<question tag>": 2.0})
        book.drifted_overrides() -> tuple[CheckGrade, ...]  # overrides whose automatic verdict changed

Bad input (unknown submission, check or question; a score outside 0..max) raises UsageError
before anything is written. Each write is one SQLite transaction (WAL, synchronous=FULL): a
process killed mid-write leaves the gradebook as it was before that write. History is
append-only: a regrade adds a run, a new manual mark adds a row, clearing an override stamps it.
A regrade that reuses a result unchanged adds only a small row pointing to where it is stored.

Concurrency: SQLite allows one writer at a time and waits up to BUSY_SECONDS for it. Whole
batches that also write files into REPORTS (`grader grade`, `rescore`, `report`) first take
`graders.gradebook.lock.exclusive(reports_dir)`, a file lock: a second batch on the same folder is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from graders.assignment import registry
from graders.assignment.spec import Assignment
from graders.errors import CorruptGradebook, FolderBusy, UsageError
from graders.gradebook import schema
from graders.gradebook.questions import ManualQuestion, manual_questions
from graders.results import CheckResult, SubmissionResult, SubmissionStatus
from graders.settings import Provenance

FILENAME = "gradebook.sqlite"
BUSY_SECONDS = 30.0
# The result of a `submissions s` row: its own text, or that of the row it points to (schema.py).
_RESULT = "coalesce((SELECT h.result FROM submissions h WHERE h.run_id = s.result_run AND h.submission = s.submission), s.result)"
_IDS_SHOWN = 10  # ids an error message lists before "and N more"


def now() -> str:
    """UTC with microseconds: timestamps order runs and staff adjustments (ISO strings sort)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer_digest(answer: str) -> str:
    """What a manual mark remembers of the answer it marked (surrounding whitespace is no change)."""
    return _digest(answer.strip())


# ----------------------------------------------------------------------------- the dataclasses


@dataclass(frozen=True)
class Run:
    id: int
    kind: str  # "grade" | "rescore"
    started_at: str
    info: Provenance  # what graded it; compared between runs to say why scores changed


@dataclass(frozen=True)
class Override:
    id: int
    submission: str
    check_id: str
    score: float
    reason: str
    by: str
    at: str
    # The automatic verdict it was set over: a regrade that changes it is reported.
    automatic_status: str
    automatic_score: float
    cleared_at: str | None = None
    cleared_by: str | None = None

    def active_at(self, moment: str) -> bool:
        return self.at <= moment and (self.cleared_at is None or self.cleared_at > moment)


@dataclass(frozen=True)
class ManualEntry:
    """One mark to set (from the CLI or an imported CSV row), before validation."""

    submission: str
    question: str  # a ManualQuestion tag
    points: float
    comment: str = ""


@dataclass(frozen=True)
class ManualMark:
    id: int
    submission: str
    question: str
    points: float
    comment: str
    by: str
    at: str
    answer_sha256: str  # of the answer as it was when marked


@dataclass(frozen=True)
class CheckGrade:
    """One automatic check with the override (if any) in force on it."""

    result: CheckResult
    override: Override | None = None

    @property
    def score(self) -> float:
        return self.override.score if self.override is not None else self.result.score

    @property
    def drifted(self) -> bool:
        """The automatic verdict under an override is no longer the one staff overrode."""
        if self.override is None:
            return False
        return (self.result.status.value, self.result.score) != (self.override.automatic_status, self.override.automatic_score)


@dataclass(frozen=True)
class QuestionGrade:
    """One written answer and its manual mark; `pending` until staff have marked it."""

    question: ManualQuestion
    answer: str
    mark: ManualMark | None = None

    @property
    def pending(self) -> bool:
        return self.mark is None

    @property
    def stale(self) -> bool:
        """Marked, but the student's answer has changed since: the mark is kept and flagged for review."""
        return self.mark is not None and self.mark.answer_sha256 != answer_digest(self.answer)

    @property
    def points(self) -> float | None:
        return None if self.mark is None else self.mark.points


@dataclass(frozen=True)
class Grade:
    """A submission's grade as staff and exports see it: the latest automatic result, overrides, manual marks."""

    run_id: int
    result: SubmissionResult
    checks: tuple[CheckGrade, ...]
    questions: tuple[QuestionGrade, ...]
    changed: bool = False  # its file or automatic score differs from the run before (staff re-check it)

    @classmethod
    def unmarked(cls, result: SubmissionResult, questions: Sequence[ManualQuestion]) -> Grade:
        """A result outside any gradebook: no overrides, every written answer pending."""
        answers = {answer.question: answer.answer for answer in result.free_text}
        return cls(
            0, result, tuple(CheckGrade(c) for c in result.checks), tuple(QuestionGrade(q, answers.get(q.text, "")) for q in questions)
        )

    @property
    def submission(self) -> str:
        return self.result.submission

    @property
    def automatic_score(self) -> float:
        return sum(check.score for check in self.checks)

    @property
    def manual_score(self) -> float:
        return sum(q.points or 0.0 for q in self.questions)

    @property
    def score(self) -> float:
        return self.automatic_score + self.manual_score

    @property
    def max_score(self) -> float:
        return self.result.max_score + sum(q.question.points for q in self.questions)

    @property
    def pending(self) -> bool:
        return any(q.pending for q in self.questions)

    @property
    def overrides(self) -> tuple[Override, ...]:
        return tuple(c.override for c in self.checks if c.override is not None)

    @property
    def needs_review(self) -> bool:
        return any(q.stale for q in self.questions) or any(c.drifted for c in self.checks)


@dataclass(frozen=True)
class CheckChange:
    check_id: str
    old_status: str | None  # None: the check was not in the earlier run
    new_status: str
    old_score: float | None
    new_score: float


@dataclass(frozen=True)
class HistoryEntry:
    """One run of one submission: its scores then, and what changed since its previous run and why."""

    run: Run
    sha256: str
    status: str
    automatic_score: float  # before staff adjustments
    score: float  # with the overrides and manual marks in force when the run was made
    max_score: float
    changes: tuple[CheckChange, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class History:
    submission: str
    entries: tuple[HistoryEntry, ...]
    since_last_run: tuple[str, ...] = field(default=())  # staff adjustments made after the latest run


# ----------------------------------------------------------------------------- the store


class Gradebook:
    """One open gradebook; use as a context manager (`Gradebook.open(...)`)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, reports_dir: Path, *, create: bool = False) -> Gradebook:
        path = reports_dir / FILENAME
        if not create and not path.is_file():
            raise UsageError(f"{reports_dir} has no gradebook ({FILENAME}); run `grader grade SUBMISSIONS --out {reports_dir}` first")
        if create:
            reports_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE), one per write.
            connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise _refusal(path, exc) from exc
        try:
            _refuse_unknown(connection, path)  # before the first pragma: WAL mode is written into the file
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            schema.migrate(connection)
        except sqlite3.Error as exc:
            connection.close()
            raise _refusal(path, exc) from exc
        except BaseException:
            connection.close()
            raise
        return cls(connection, path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _refusal(self.path, exc) from exc
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------------------- runs

    def record_run(self, results: Sequence[SubmissionResult], *, info: Provenance, kind: str = "grade") -> Run:
        """Add one run with every result; never touches earlier runs.

        A result byte-identical to its submission's previous one (a regrade that reused it) is not
        stored again: the new row holds its hash and points to the row that holds the text."""
        started = now()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, started_at, grader_version, grader_fingerprint, reference_hash, torch, settings, seed, provenance)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    started,
                    # The columns of schema 1 stay filled for whoever reads the file; `provenance` is what is read.
                    info.grader_version,
                    info.grader_fingerprint,
                    info.reference_hash,
                    info.torch,
                    info.settings.canonical(),
                    None,  # the seed is in the settings, typed
                    json.dumps(info.to_json(), sort_keys=True),
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            stored = [_stored_result(db, r) for r in results]
            db.executemany(
                "INSERT INTO submissions (run_id, submission, sha256, status, score, max_score, result, result_sha256, result_run)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, r.submission, r.sha256, r.status.value, r.score, r.max_score, s.text, s.sha256, s.run)
                    for r, s in zip(results, stored, strict=True)
                ],
            )
            db.executemany(
                "INSERT INTO checks (run_id, submission, check_id, status, score, max_score, message, misconceptions)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, r.submission, c.id, c.status.value, c.score, c.max_score, c.message, json.dumps(list(c.misconceptions)))
                    for r, s in zip(results, stored, strict=True)
                    if s.run is None  # a result stored again has its checks where it is stored
                    for c in r.checks
                ],
            )
        return Run(run_id, kind, started, info)

    def runs(self) -> tuple[Run, ...]:
        rows = self._db.execute(
            "SELECT id, kind, started_at, grader_version, grader_fingerprint, reference_hash, torch, settings, provenance"
            " FROM runs ORDER BY id"
        )
        return tuple(_run(row, self.path) for row in rows)

    @property
    def assignment(self) -> Assignment:
        """The assignment this gradebook's runs graded (before any run: the one installed)."""
        latest = self.latest_run()
        return registry.recorded_in(latest.info.settings if latest is not None else None)

    def latest_run(self) -> Run | None:
        runs = self.runs()
        return runs[-1] if runs else None

    def submission_ids(self) -> tuple[str, ...]:
        latest = self.latest_run()
        if latest is None:
            return ()
        rows = self._db.execute("SELECT submission FROM submissions WHERE run_id = ? ORDER BY submission", (latest.id,))
        return tuple(row[0] for row in rows)

    def result(self, submission: str) -> SubmissionResult:
        """The latest automatic result for this submission (what its results.json says)."""
        return self._latest(submission)[1]

    def _latest(self, submission: str) -> tuple[int, SubmissionResult]:
        row = self._db.execute(
            f"SELECT s.run_id, {_RESULT} FROM submissions s WHERE s.submission = ? ORDER BY s.run_id DESC LIMIT 1", (submission,)
        ).fetchone()
        if row is None:
            raise UsageError(f"no submission {submission!r} in the gradebook {self.path}" + _known(self.submission_ids()))
        return int(row[0]), SubmissionResult.from_json(json.loads(row[1]))

    # ------------------------------------------------------------------------- grades

    def grade(self, submission: str) -> Grade:
        run_id, result = self._latest(submission)
        changed = submission in self._changed_in(run_id)
        return self._grade(run_id, result, self._active_overrides(submission), self._current_marks(submission), changed=changed)

    def grades(self) -> tuple[Grade, ...]:
        """Every submission of the latest run, sorted by id."""
        latest = self.latest_run()
        if latest is None:
            return ()
        rows = self._db.execute(f"SELECT {_RESULT} FROM submissions s WHERE s.run_id = ? ORDER BY s.submission", (latest.id,))
        overrides = self._active_overrides(None)
        marks = self._current_marks(None)
        changed = self._changed_in(latest.id)
        grades = []
        for (text,) in rows:
            result = SubmissionResult.from_json(json.loads(text))
            grades.append(self._grade(latest.id, result, overrides, marks, changed=result.submission in changed))
        return tuple(grades)

    def _changed_in(self, run_id: int) -> frozenset[str]:
        """Submissions of this run whose file or automatic score differs from their previous run's."""
        rows = self._db.execute(
            """SELECT s.submission FROM submissions s JOIN submissions p ON p.submission = s.submission
               AND p.run_id = (SELECT MAX(q.run_id) FROM submissions q WHERE q.submission = s.submission AND q.run_id < s.run_id)
               WHERE s.run_id = ? AND (p.sha256 != s.sha256 OR p.score != s.score)""",
            (run_id,),
        )
        return frozenset(row[0] for row in rows)

    def _grade(
        self,
        run_id: int,
        result: SubmissionResult,
        overrides: Sequence[Override],
        marks: Sequence[ManualMark],
        moment: str | None = None,
        *,
        changed: bool = False,
    ) -> Grade:
        by_check = {o.check_id: o for o in overrides if o.submission == result.submission and (moment is None or o.active_at(moment))}
        answers = {answer.question: answer.answer for answer in result.free_text}
        by_question = {m.question: m for m in marks if m.submission == result.submission}
        return Grade(
            run_id=run_id,
            result=result,
            checks=tuple(CheckGrade(check, by_check.get(check.id)) for check in result.checks),
            questions=tuple(QuestionGrade(q, answers.get(q.text, ""), by_question.get(q.tag)) for q in self.questions()),
            changed=changed,
        )

    def drifted_overrides(self) -> tuple[CheckGrade, ...]:
        """Checks of the latest run whose automatic verdict changed under an override (`grader grade` warns)."""
        return tuple(check for grade in self.grades() for check in grade.checks if check.drifted)

    # ------------------------------------------------------------------------- overrides

    def set_override(self, submission: str, check_id: str, *, score: float, reason: str, by: str) -> Override:
        """Replace the check's automatic score for this submission, in this and every later run, until cleared."""
        grade = self.grade(submission)
        check = next((c.result for c in grade.checks if c.result.id == check_id), None)
        if check is None:
            raise UsageError(f"unknown check {check_id!r}; the checks are: {', '.join(self.assignment.check_ids)}")
        _within(score, check.max_score, f"the score for {check_id}")
        if not reason.strip():
            raise UsageError("an override needs a reason (--reason): it is shown to the student")
        moment = now()
        with self._transaction() as db:
            # One active override per check: setting a new one clears the old one (kept in history).
            db.execute(
                "UPDATE overrides SET cleared_at = ?, cleared_by = ? WHERE submission = ? AND check_id = ? AND cleared_at IS NULL",
                (moment, by, submission, check_id),
            )
            cursor = db.execute(
                "INSERT INTO overrides (submission, check_id, score, reason, by, at, automatic_status, automatic_score)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (submission, check_id, score, reason.strip(), by, moment, check.status.value, check.score),
            )
        return Override(
            int(cursor.lastrowid or 0), submission, check_id, score, reason.strip(), by, moment, check.status.value, check.score
        )

    def clear_override(self, submission: str, check_id: str, *, by: str) -> Override:
        self._latest(submission)  # an unknown submission is a usage error, not "no override"
        active = next((o for o in self._active_overrides(submission) if o.check_id == check_id), None)
        if active is None:
            raise UsageError(f"{submission} has no override on {check_id!r} to clear")
        moment = now()
        with self._transaction() as db:
            db.execute("UPDATE overrides SET cleared_at = ?, cleared_by = ? WHERE id = ?", (moment, by, active.id))
        return replace(active, cleared_at=moment, cleared_by=by)

    def overrides(self, submission: str) -> tuple[Override, ...]:
        """Every override ever set on this submission, cleared ones included, oldest first."""
        return self._overrides("WHERE submission = ?", (submission,))

    def _active_overrides(self, submission: str | None) -> tuple[Override, ...]:
        if submission is None:
            return self._overrides("WHERE cleared_at IS NULL", ())
        return self._overrides("WHERE cleared_at IS NULL AND submission = ?", (submission,))

    def _overrides(self, where: str, parameters: tuple[Any, ...]) -> tuple[Override, ...]:
        rows = self._db.execute(
            "SELECT id, submission, check_id, score, reason, by, at, automatic_status, automatic_score, cleared_at, cleared_by"
            f" FROM overrides {where} ORDER BY id",
            parameters,
        )
        return tuple(Override(*row) for row in rows)

    # ------------------------------------------------------------------------- manual marks

    def questions(self) -> tuple[ManualQuestion, ...]:
        """The written questions with their current points (a gradebook setting; default 1 each)."""
        row = self._db.execute("SELECT value FROM settings WHERE key = 'question_points'").fetchone()
        points = json.loads(row[0]) if row else {}
        return tuple(replace(q, points=float(points.get(q.tag, q.points))) for q in manual_questions(self.assignment))

    def set_question_points(self, points: Mapping[str, float]) -> tuple[ManualQuestion, ...]:
        known = {q.tag: q for q in self.questions()}
        for tag, value in points.items():
            if tag not in known:
                raise UsageError(f"unknown question {tag!r}; the questions are: {', '.join(known)}")
            if not value >= 0:
                raise UsageError(f"the points of {tag} must be 0 or more, not {value:g}")
        merged = {tag: q.points for tag, q in known.items()} | dict(points)
        marked_over = [m for m in self._current_marks(None) if m.points > merged[m.question]]
        if marked_over:
            first = marked_over[0]
            raise UsageError(f"{first.submission} already has {first.points:g} points for {first.question}; lower that mark first")
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('question_points', ?)", (json.dumps(merged, sort_keys=True),))
        return self.questions()

    def set_manual(self, entries: Sequence[ManualEntry], *, by: str) -> tuple[ManualMark, ...]:
        """Set several marks at once: every entry is validated first, then all are written in one transaction."""
        questions = {q.tag: q for q in self.questions()}
        grades: dict[str, Grade] = {}
        for entry in entries:
            if entry.submission not in grades:
                grades[entry.submission] = self.grade(entry.submission)
            question = questions.get(entry.question)
            if question is None:
                raise UsageError(f"unknown question {entry.question!r}; the questions are: {', '.join(questions)}")
            _within(entry.points, question.points, f"the points for {entry.submission} / {entry.question}")
        moment = now()
        rows = []
        for entry in entries:
            answer = next(q.answer for q in grades[entry.submission].questions if q.question.tag == entry.question)
            rows.append((entry.submission, entry.question, entry.points, entry.comment, by, moment, answer_digest(answer)))
        with self._transaction() as db:
            first = int(db.execute("SELECT coalesce(max(id), 0) FROM manual_marks").fetchone()[0]) + 1
            db.executemany(
                "INSERT INTO manual_marks (submission, question, points, comment, by, at, answer_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return tuple(ManualMark(first + index, *row) for index, row in enumerate(rows))

    def manual_marks(self, submission: str) -> tuple[ManualMark, ...]:
        """Every mark ever given on this submission, oldest first (the newest per question is current)."""
        return self._marks("WHERE submission = ?", (submission,))

    def _current_marks(self, submission: str | None) -> tuple[ManualMark, ...]:
        newest = "id IN (SELECT max(id) FROM manual_marks GROUP BY submission, question)"
        if submission is None:
            return self._marks(f"WHERE {newest}", ())
        return self._marks(f"WHERE {newest} AND submission = ?", (submission,))

    def _marks(self, where: str, parameters: tuple[Any, ...]) -> tuple[ManualMark, ...]:
        rows = self._db.execute(
            f"SELECT id, submission, question, points, comment, by, at, answer_sha256 FROM manual_marks {where} ORDER BY id", parameters
        )
        return tuple(ManualMark(*row) for row in rows)

    # ------------------------------------------------------------------------- history

    def history(self, submission: str) -> History:
        """Every run of this submission, what changed from the previous one and why."""
        self._latest(submission)
        runs = {run.id: run for run in self.runs()}
        rows = self._db.execute(
            f"SELECT s.run_id, {_RESULT} FROM submissions s WHERE s.submission = ? ORDER BY s.run_id", (submission,)
        ).fetchall()
        overrides = self.overrides(submission)
        marks = self.manual_marks(submission)
        entries: list[HistoryEntry] = []
        previous: tuple[Run, Grade] | None = None
        for run_id, text in rows:
            run = runs[int(run_id)]
            grade = self._grade(
                run.id, SubmissionResult.from_json(json.loads(text)), overrides, _marks_at(marks, run.started_at), run.started_at
            )
            entries.append(_entry(run, grade, previous, overrides, marks))
            previous = (run, grade)
        last = entries[-1].run.started_at
        return History(submission, tuple(entries), _adjustments_between(last, now(), overrides, marks))


# ----------------------------------------------------------------------------- helpers


def _refuse_unknown(connection: sqlite3.Connection, path: Path) -> None:
    """A database this grader must not migrate: a newer grader's, or another program's (tables, yet no version)."""
    found = schema.version(connection)
    if found > schema.SCHEMA_VERSION:
        raise CorruptGradebook(f"the gradebook {path} was written by a newer grader (schema {found}); upgrade this one")
    foreign = schema.tables(connection) if found == 0 else ()
    if foreign:
        raise CorruptGradebook(
            f"{path} is not a gradebook but another program's SQLite database (tables {', '.join(foreign)}); nothing was "
            "changed. Move it aside to start a new gradebook"
        )


def _refusal(path: Path, exc: sqlite3.Error) -> FolderBusy | CorruptGradebook:
    """What SQLite's refusal to open or write the gradebook means: another writer, or a file that is no gradebook."""
    # By name, and only the primary code's part of it: SQLITE_BUSY_SNAPSHOT is a SQLITE_BUSY. Python 3.10
    # has no names, only SQLite's messages ("database is locked", "database table is locked").
    code = "_".join(getattr(exc, "sqlite_errorname", "").split("_")[:2])
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or (not code and str(exc).endswith("is locked")):
        return FolderBusy(f"another grader kept the gradebook {path} locked for {BUSY_SECONDS:g} s ({exc}); nothing was written")
    if code in ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR"):
        return CorruptGradebook(f"the gradebook {path} cannot be read or written ({exc}); check the file and its folder")
    return CorruptGradebook(
        f"the gradebook {path} is corrupt, not a readable gradebook ({exc}); nothing was changed. Move it aside to start a new one "
        "(every results.json is still in place)"
    )


@dataclass(frozen=True)
class _Stored:
    """How a result goes into its `submissions` row."""

    text: str  # the result's JSON, or '' when it points to an earlier row
    sha256: str  # of the JSON
    run: int | None  # the run whose row holds the JSON; None: this row does


def _stored_result(db: sqlite3.Connection, result: SubmissionResult) -> _Stored:
    """The row's text, unless the submission's previous row holds the same bytes (then a pointer to it)."""
    text = json.dumps(result.to_json(), sort_keys=True)
    digest = _digest(text)
    previous = db.execute(
        # Rows from before schema 2 have no hash: only their text is read, to hash it.
        "SELECT run_id, result_run, result_sha256, CASE WHEN result_sha256 IS NULL THEN result END"
        " FROM submissions WHERE submission = ? ORDER BY run_id DESC LIMIT 1",
        (result.submission,),
    ).fetchone()
    if previous is not None:
        run_id, points_to, stored_digest, legacy_text = previous
        if (stored_digest or _digest(legacy_text)) == digest:
            return _Stored("", digest, points_to if points_to is not None else int(run_id))
    return _Stored(text, digest, None)


def _within(value: float, maximum: float, what: str) -> None:
    if not 0 <= value <= maximum:
        raise UsageError(f"{what} must be between 0 and {maximum:g}, not {value:g}")


def _known(ids: Sequence[str]) -> str:
    if not ids:
        return " (it has no submissions yet)"
    shown = ", ".join(ids[:_IDS_SHOWN])
    return f"; known ids: {shown}" + (f" and {len(ids) - _IDS_SHOWN} more" if len(ids) > _IDS_SHOWN else "")


def _run(row: Sequence[Any], path: Path) -> Run:
    run_id, kind, started_at, version, fingerprint, reference, torch, settings, provenance = row
    try:
        if provenance is None:  # a run recorded before schema 3: its columns are all there is
            columns = {"grader_version": version, "grader_fingerprint": fingerprint, "reference_hash": reference, "torch": torch}
            return Run(int(run_id), kind, started_at, Provenance.parse({**columns, "settings": json.loads(settings)}))
        return Run(int(run_id), kind, started_at, Provenance.parse(json.loads(provenance)))
    except ValueError as exc:  # json's errors are ValueErrors too
        raise CorruptGradebook(f"the gradebook {path} is damaged: run {run_id} has an unreadable provenance ({exc})") from None


def _marks_at(marks: Sequence[ManualMark], moment: str) -> tuple[ManualMark, ...]:
    """The marks current at a moment: per question, the newest given before it."""
    current: dict[str, ManualMark] = {}
    for mark in marks:
        if mark.at <= moment:
            current[mark.question] = mark
    return tuple(current.values())


def _entry(
    run: Run, grade: Grade, previous: tuple[Run, Grade] | None, overrides: Sequence[Override], marks: Sequence[ManualMark]
) -> HistoryEntry:
    changes: tuple[CheckChange, ...] = ()
    reasons: list[str] = []
    if previous is None:
        reasons.append("first run")
    else:
        before_run, before = previous
        old = {c.result.id: c for c in before.checks}
        changes = tuple(
            CheckChange(
                c.result.id,
                old[c.result.id].result.status.value if c.result.id in old else None,
                c.result.status.value,
                old[c.result.id].score if c.result.id in old else None,
                c.score,
            )
            for c in grade.checks
            if c.result.id not in old or (old[c.result.id].result.status, old[c.result.id].score) != (c.result.status, c.score)
        )
        reasons.extend(_why(before_run, before.result, run, grade.result))
        reasons.extend(_adjustments_between(before_run.started_at, run.started_at, overrides, marks))
    return HistoryEntry(
        run=run,
        sha256=grade.result.sha256,
        status=grade.result.status.value,
        automatic_score=grade.result.score,
        score=grade.score,
        max_score=grade.max_score,
        changes=changes,
        reasons=tuple(reasons),
    )


def _why(before_run: Run, before: SubmissionResult, run: Run, result: SubmissionResult) -> list[str]:
    reasons = []
    if run.kind == "rescore":
        reasons.append("rescored from stored values (no notebook executed)")
    if before.sha256 != result.sha256:
        reasons.append("new file")
    if before_run.info.grader_fingerprint != run.info.grader_fingerprint:
        reasons.append(
            f"new grader ({before_run.info.grader_version} {before_run.info.grader_fingerprint} → "
            f"{run.info.grader_version} {run.info.grader_fingerprint})"
        )
    if before_run.info.reference_hash != run.info.reference_hash:
        reasons.append("new reference")
    changed = run.info.settings.changed_from(before_run.info.settings)
    if changed:
        reasons.append("new settings (" + ", ".join(changed) + ")")
    if before.status is not result.status and result.status is SubmissionStatus.ERROR:
        reasons.append("the notebook could not be graded this time")
    return reasons


def _adjustments_between(start: str, end: str, overrides: Sequence[Override], marks: Sequence[ManualMark]) -> tuple[str, ...]:
    events: list[tuple[str, str]] = []
    for o in overrides:
        if start < o.at <= end:
            events.append((o.at, f"override on {o.check_id}: {o.score:g} by {o.by} ({o.reason})"))
        if o.cleared_at is not None and start < o.cleared_at <= end:
            events.append((o.cleared_at, f"override on {o.check_id} cleared by {o.cleared_by}"))
    for m in marks:
        if start < m.at <= end:
            events.append((m.at, f"manual points for {m.question}: {m.points:g} by {m.by}" + (f" ({m.comment})" if m.comment else "")))
    return tuple(text for _, text in sorted(events))
