"""The gradebook: REPORTS/gradebook.sqlite, the history of every grading run plus staff adjustments.

This module is the whole API; the CLI (`grader history|override|manual|rescore|report|export`)
and the review web app call it directly, and import every value from here. Every value crossing
it is a frozen dataclass (`records`). Here is what a write must satisfy and how reads combine;
the SQL lives in `runs` (runs and results) and `adjustments` (overrides, marks, question points),
opening and transactions in `connection`, the explanation of changes in `history`.

    with Gradebook.open(reports_dir) as book:            # UsageError missing; CorruptGradebook; FolderBusy
        book.record_run(results, info=p, kind="grade") -> Run   # p: graders.settings.Provenance
        book.runs() -> tuple[Run, ...]                    # oldest first
        book.submission_ids() -> tuple[str, ...]          # in the latest run
        book.result(submission) -> SubmissionResult       # latest automatic result (= results.json)
        book.grade(submission) -> Grade                   # latest result + overrides + manual marks
        book.grades() -> tuple[Grade, ...]                # every submission of the latest run
        book.history(submission) -> History               # runs, changes and why
        book.set_override(submission, check_id, score=, reason=, by=, version=) -> Override   # StaleChange
        book.clear_override(submission, check_id, by=, version=) -> Override
        book.set_manual([ManualEntry(...)], by=) -> tuple[ManualMark, ...]   # all or nothing; StaleChange
        book.marked_answer(submission, question) -> str | None   # the text a stale mark was given to
        book.revision() -> str                            # changes when a run or a mark is added
        book.questions() -> tuple[ManualQuestion, ...]    # the written questions and their points
        book.set_question_points({"<question tag>": 2.0}, existing=ExistingMarks.SCALE, by=) -> tuple[PointsChange, ...]
        book.rubric(question) -> tuple[Item, ...]         # its rubric items now (the assignment's seed, staff's edits)
        book.add_rubric_item(question, text=, points=, by=) -> Item
        book.rubric_change(question, key, points) -> ItemChange      # what a new points value would do to the marks
        book.edit_rubric_item(question, key, text=, points=, by=, version=, confirm=) -> ItemChange  # StaleChange
        book.drifted_overrides() -> tuple[CheckGrade, ...]  # overrides whose automatic verdict changed
        book.meaning_edits(question) / set_meaning_edit(question, key, joined=, by=)  # the review's regrouping by meaning

Bad input (unknown submission, check or question; a score outside 0..max) raises UsageError
before anything is written. Each write is one SQLite transaction (WAL, synchronous=FULL): a
process killed mid-write leaves the gradebook as it was before that write. History is
append-only: a regrade adds a run, a new manual mark adds a row, clearing an override stamps it.
A regrade that reuses a result unchanged adds only a small row pointing to where it is stored.

Concurrency: SQLite allows one writer at a time and waits up to `connection.BUSY_SECONDS` for it.
Whole batches that also write files into REPORTS (`grader grade`, `rescore`, `report`) first take
`graders.gradebook.lock.exclusive(reports_dir)`, a file lock: a second batch on the same folder is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

from graders.assignment import registry
from graders.assignment.spec import Assignment, RubricItem
from graders.errors import StaleChange, UsageError
from graders.gradebook import adjustments, connection, meaning, rubric, runs
from graders.gradebook.connection import FILENAME
from graders.gradebook.history import history_of
from graders.gradebook.questions import ExistingMarks, ManualQuestion, PointsChange, manual_questions, points_changes, scaled
from graders.gradebook.records import (
    ANSWER_TAG_LENGTH,
    CheckChange,
    CheckGrade,
    Grade,
    History,
    HistoryEntry,
    ManualEntry,
    ManualMark,
    MeaningEdit,
    Override,
    QuestionGrade,
    Run,
    answer_digest,
    now,
)
from graders.gradebook.rubric import MAX_ITEMS, Item, ItemChange, total
from graders.results import SubmissionResult
from graders.settings import Provenance

# The API's values are imported from here, wherever they are defined.
__all__ = [
    "ANSWER_TAG_LENGTH",
    "FILENAME",
    "MAX_ITEMS",
    "CheckChange",
    "CheckGrade",
    "ExistingMarks",
    "Grade",
    "Gradebook",
    "History",
    "HistoryEntry",
    "Item",
    "ItemChange",
    "ManualEntry",
    "ManualMark",
    "ManualQuestion",
    "MeaningEdit",
    "Override",
    "PointsChange",
    "QuestionGrade",
    "Run",
    "now",
    "total",
]


class Gradebook:
    """One open gradebook; use as a context manager (`Gradebook.open(...)`)."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    def open(cls, reports_dir: Path, *, create: bool = False) -> Gradebook:
        return cls(connection.connect(reports_dir, create=create), reports_dir / FILENAME)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return connection.transaction(self._db, self.path)

    # ------------------------------------------------------------------------- runs

    def record_run(self, results: Sequence[SubmissionResult], *, info: Provenance, kind: str = "grade") -> Run:
        """Add one run with every result; never touches earlier runs.

        A result byte-identical to its submission's previous one (a regrade that reused it) is not
        stored again: the new row holds its hash and points to the row that holds the text."""
        started = now()
        with self._transaction() as db:
            return runs.insert(db, results, info=info, kind=kind, started=started)

    def runs(self) -> tuple[Run, ...]:
        return runs.every_run(self._db, self.path)

    @property
    def assignment(self) -> Assignment:
        """The assignment this gradebook's runs graded (before any run: the one installed)."""
        latest = self.latest_run()
        return registry.recorded_in(latest.info.settings if latest is not None else None)

    def latest_run(self) -> Run | None:
        every = self.runs()
        return every[-1] if every else None

    def submission_ids(self) -> tuple[str, ...]:
        latest = self.latest_run()
        return () if latest is None else runs.submission_ids(self._db, latest.id)

    def result(self, submission: str) -> SubmissionResult:
        """The latest automatic result for this submission (what its results.json says)."""
        return self._latest(submission)[1]

    def _latest(self, submission: str) -> tuple[int, SubmissionResult]:
        """(run id, result) of the submission's latest run; an unknown submission is a UsageError."""
        found = runs.latest_result(self._db, submission)
        if found is None:
            raise UsageError(f"no submission {submission!r} in the gradebook {self.path}" + _known(self.submission_ids()))
        return found

    # ------------------------------------------------------------------------- grades

    def grade(self, submission: str) -> Grade:
        run_id, result = self._latest(submission)
        return Grade.of(
            run_id,
            result,
            self.questions(),
            adjustments.overrides(self._db, submission, active=True),
            adjustments.marks(self._db, submission, current=True),
            changed=submission in runs.changed_in(self._db, run_id),
        )

    def grades(self) -> tuple[Grade, ...]:
        """Every submission of the latest run, sorted by id."""
        latest = self.latest_run()
        if latest is None:
            return ()
        questions = self.questions()
        overrides = adjustments.overrides(self._db, None, active=True)
        marks = adjustments.marks(self._db, None, current=True)
        changed = runs.changed_in(self._db, latest.id)
        return tuple(
            Grade.of(latest.id, result, questions, overrides, marks, changed=result.submission in changed)
            for result in runs.results_in(self._db, latest.id)
        )

    def drifted_overrides(self) -> tuple[CheckGrade, ...]:
        """Checks of the latest run whose automatic verdict changed under an override (`grader grade` warns)."""
        return tuple(check for grade in self.grades() for check in grade.checks if check.drifted)

    # ------------------------------------------------------------------------- overrides

    def set_override(self, submission: str, check_id: str, *, score: float, reason: str, by: str, version: int | None = None) -> Override:
        """Replace the check's automatic score for this submission, in this and every later run, until cleared.

        `version`: the id of the override in force the person saw (0: none); when another is in force
        now, nothing is written (StaleChange). None: not checked (the CLI)."""
        grade = self.grade(submission)
        check = next((c.result for c in grade.checks if c.result.id == check_id), None)
        if check is None:
            raise UsageError(f"unknown check {check_id!r}; the checks are: {', '.join(self.assignment.check_ids)}")
        _within(score, check.max_score, f"the score for {check_id}")
        if not reason.strip():
            raise UsageError("an override needs a reason (--reason): it is shown to the student")
        moment = now()
        with self._transaction() as db:
            adjustments.refuse_stale_override(db, submission, check_id, version)
            return adjustments.insert_override(db, submission, check, score=score, reason=reason.strip(), by=by, moment=moment)

    def clear_override(self, submission: str, check_id: str, *, by: str, version: int | None = None) -> Override:
        """Clear the override in force (`version` as for set_override)."""
        self._latest(submission)  # an unknown submission is a usage error, not "no override"
        active = next((o for o in adjustments.overrides(self._db, submission, active=True) if o.check_id == check_id), None)
        if active is None:
            raise UsageError(f"{submission} has no override on {check_id!r} to clear")
        moment = now()
        with self._transaction() as db:
            adjustments.refuse_stale_override(db, submission, check_id, version)
            adjustments.clear_override(db, active.id, by=by, moment=moment)
        return replace(active, cleared_at=moment, cleared_by=by)

    def overrides(self, submission: str) -> tuple[Override, ...]:
        """Every override ever set on this submission, cleared ones included, oldest first."""
        return adjustments.overrides(self._db, submission, active=False)

    # ------------------------------------------------------------------------- manual marks

    def questions(self) -> tuple[ManualQuestion, ...]:
        """The written questions with their current points (a gradebook setting; the assignment's by default)."""
        points = adjustments.question_points(self._db)
        return tuple(replace(q, points=points.get(q.tag, q.points)) for q in manual_questions(self.assignment))

    def set_question_points(
        self, points: Mapping[str, float], *, existing: ExistingMarks | None = None, by: str = "staff"
    ) -> tuple[PointsChange, ...]:
        """Set what questions are worth; raising one over marks already given needs `existing` (questions.ExistingMarks)."""
        known = {q.tag: q for q in self.questions()}
        for tag, value in points.items():
            if tag not in known:
                raise UsageError(f"unknown question {tag!r}; the questions are: {', '.join(known)}")
            if not value >= 0:
                raise UsageError(f"the points of {tag} must be 0 or more, not {value:g}")
        current = adjustments.marks(self._db, None, current=True)
        changes = {c.tag: c for c in points_changes(tuple(known.values()), points, [(m.question, m.points) for m in current])}
        undecided = [c.effect() for c in changes.values() if c.needs_choice and existing is None]
        if undecided:
            raise UsageError(
                "raising a question's points changes what the marks already given on it mean; nothing was changed. "
                + "; ".join(undecided)
                + ". Choose with --existing-marks keep or --existing-marks scale"
            )
        merged = {tag: q.points for tag, q in known.items()} | dict(points)
        moment = now()
        # A scaled mark is plain points: its items' points no longer add up to it, nor is it the suggestion accepted.
        rescaled: list[adjustments.MarkRow] = [
            (m.submission, m.question, scaled(m.points, changes[m.question]), m.comment, by, moment, m.answer_sha256, None, 0.0, False)
            for m in current
            if existing is ExistingMarks.SCALE and m.question in changes and scaled(m.points, changes[m.question]) != m.points
        ]
        marked_over = [m for m in current if m.points > merged[m.question]] if existing is not ExistingMarks.SCALE else []
        if marked_over:
            first = marked_over[0]
            raise UsageError(
                f"{first.submission} already has {first.points:g} points for {first.question}; "
                "lower that mark first, or give --existing-marks scale"
            )
        with self._transaction() as db:
            adjustments.save_question_points(db, merged)
            adjustments.insert_marks(db, rescaled)
        return tuple(changes.values())

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
            if entry.items is not None:
                if len(set(entry.items)) != len(entry.items):
                    raise UsageError(f"{entry.submission} / {entry.question}: an item applies once")
                rubric.checked_points(entry.adjustment, question.points, "the adjustment")
        moment = now()
        rows: list[adjustments.MarkRow] = []
        for entry in entries:
            shown = next(q for q in grades[entry.submission].questions if q.question.tag == entry.question)
            if entry.answer_tag is not None and entry.answer_tag != shown.answer_tag:
                raise StaleChange(
                    f"{entry.submission}'s answer to {entry.question} changed since you loaded it (a regrade): reload to see it"
                )
            adjustment = entry.adjustment if entry.items is not None else 0.0
            rows.append(
                (
                    entry.submission,
                    entry.question,
                    entry.points,
                    entry.comment,
                    by,
                    moment,
                    shown.answer_sha256,
                    entry.items,
                    adjustment,
                    entry.suggested,
                )
            )
        with self._transaction() as db:
            # Checked inside the write transaction: no other grader's mark (or item edit) can land between check and write.
            adjustments.refuse_stale(db, entries)
            rubric.refuse_changed(db, entries, self._seed, {tag: q.points for tag, q in questions.items()})
            return adjustments.insert_marks(db, rows)

    # ------------------------------------------------------------------------- rubric items

    def rubric(self, question: str) -> tuple[Item, ...]:
        """The question's rubric items now: the assignment's (as staff edited them), then those staff added."""
        self._question(question)
        return rubric.items(self._db, question, self._seed(question))

    def add_rubric_item(self, question: str, *, text: str, points: float, by: str) -> Item:
        """A new item on the question's rubric (applied to no mark yet)."""
        found = self._question(question)
        line = rubric.checked_text(text)
        value = rubric.checked_points(points, found.points, "an item's points")
        moment = now()
        with self._transaction() as db:
            existing = rubric.items(db, question, self._seed(question))
            if len(existing) >= rubric.MAX_ITEMS:
                raise UsageError(f"{question} has {len(existing)} rubric items, the most a question may have")
            return rubric.insert(db, question, Item(rubric.new_key(existing), line, value, 0), by=by, at=moment)

    def rubric_change(self, question: str, key: str, points: float) -> ItemChange:
        """What giving the item `points` would do to the marks applying it (nothing is written)."""
        found = self._question(question)
        return self._item_change(self._db, found, key, rubric.checked_points(points, found.points, "an item's points"))

    def edit_rubric_item(
        self,
        question: str,
        key: str,
        *,
        text: str | None = None,
        points: float | None = None,
        by: str,
        version: int | None = None,
        confirm: bool = False,
    ) -> ItemChange:
        """Rename an item and/or change its points; every current mark applying it follows, each a new mark by `by`.

        A points change that concerns marks is refused unless `confirm` (the person saw `rubric_change`'s
        effect); `version`: the item's version the person saw, another edit since is a StaleChange."""
        found = self._question(question)
        line = None if text is None else rubric.checked_text(text)
        if points is not None:
            rubric.checked_points(points, found.points, "an item's points")
        moment = now()
        with self._transaction() as db:
            before = self._item(db, question, key)
            change = self._item_change(db, found, key, before.points if points is None else points)
            if version is not None and version != before.version:
                raise StaleChange(
                    f"the rubric item '{before.text}' of {question} was edited since you loaded it (now {before.points:g} points); "
                    "look, then edit it again"
                )
            if change.points != before.points and change.affected and not confirm:
                raise UsageError(f"{change.effect()}; nothing was changed: confirm to apply it")
            rubric.insert(db, question, Item(key, line or before.text, change.points, 0), by=by, at=moment)
            moved = change.moved
            # A moved mark keeps its items, and so stays the suggestion accepted, if it was one.
            moved_rows: list[adjustments.MarkRow] = [
                (m.submission, m.question, new, m.comment, by, moment, m.answer_sha256, m.items, m.adjustment, m.suggested)
                for m, new in moved
            ]
            adjustments.insert_marks(db, moved_rows)
        return change

    def _item_change(self, db: sqlite3.Connection, question: ManualQuestion, key: str, points: float) -> ItemChange:
        now_items = rubric.items(db, question.tag, self._seed(question.tag))
        item = rubric.find(now_items, question.tag, key)
        return rubric.item_change(question.tag, item, points, now_items, adjustments.marks(db, None, current=True), question.points)

    def _item(self, db: sqlite3.Connection, question: str, key: str) -> Item:
        return rubric.find(rubric.items(db, question, self._seed(question)), question, key)

    def meaning_edits(self, question: str) -> tuple[MeaningEdit, ...]:
        """Staff's regrouping by meaning of the question's text groups, oldest first (the newest per group stands)."""
        return meaning.edits(self._db, self._question(question).tag)

    def set_meaning_edit(self, question: str, key: str, *, joined: str | None, by: str) -> MeaningEdit:
        """Text group `key` taken out of its group by meaning (`joined` None), or put with text group `joined`."""
        if joined == key:
            raise UsageError("a text group cannot be put with itself")
        with self._transaction() as db:
            return meaning.insert(db, MeaningEdit(self._question(question).tag, key, joined, by, now()))

    def _question(self, tag: str) -> ManualQuestion:
        found = next((q for q in self.questions() if q.tag == tag), None)
        if found is None:
            raise UsageError(f"unknown question {tag[:40]!r}; the questions are: {', '.join(q.tag for q in self.questions())}")
        return found

    def _seed(self, tag: str) -> tuple[RubricItem, ...]:
        """The assignment's items of the question: what its rubric starts from."""
        spec = self.assignment.question(tag)
        return spec.items if spec is not None else ()

    def marked_answer(self, submission: str, question: str) -> str | None:
        """The answer as it was when its current mark was given, if it has changed since (None otherwise):
        found in the submission's earlier results, newest first."""
        grade = self.grade(submission)
        current = next((q for q in grade.questions if q.question.tag == question), None)
        if current is None or current.mark is None or not current.stale:
            return None
        for _, result in reversed(runs.results_of(self._db, submission)):
            for answer in result.free_text:
                if answer.question == current.question.text and answer_digest(answer.answer) == current.mark.answer_sha256:
                    return answer.answer
        return None

    def revision(self) -> str:
        """A token that changes whenever a run or a mark is added: a page that polls compares it first."""
        latest = self.latest_run()
        return f"{0 if latest is None else latest.id}.{adjustments.latest_mark_id(self._db)}"

    def manual_marks(self, submission: str) -> tuple[ManualMark, ...]:
        """Every mark ever given on this submission, oldest first (the newest per question is current)."""
        return adjustments.marks(self._db, submission, current=False)

    # ------------------------------------------------------------------------- history

    def history(self, submission: str) -> History:
        """Every run of this submission, what changed from the previous one and why."""
        self._latest(submission)
        by_id = {run.id: run for run in self.runs()}
        return history_of(
            submission,
            [(by_id[run_id], result) for run_id, result in runs.results_of(self._db, submission)],
            self.questions(),
            self.overrides(submission),
            self.manual_marks(submission),
            until=now(),
        )


def _within(value: float, maximum: float, what: str) -> None:
    if not 0 <= value <= maximum:
        raise UsageError(f"{what} must be between 0 and {maximum:g}, not {value:g}")


def _known(ids: Sequence[str]) -> str:
    if not ids:
        return " (it has no submissions yet)"
    shown = ", ".join(ids[: adjustments.IDS_SHOWN])
    return f"; known ids: {shown}" + (f" and {len(ids) - adjustments.IDS_SHOWN} more" if len(ids) > adjustments.IDS_SHOWN else "")
