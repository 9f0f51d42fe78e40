"""What the gradebook hands out: frozen values for runs, staff adjustments, grades and history.

No SQL here: `graders.gradebook.store` reads and writes them (through `runs` and `adjustments`),
and every caller imports them from there. `Grade.of` is the one rule that puts a result, the
overrides in force and the manual marks together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from graders.gradebook.questions import ManualQuestion
from graders.results import CheckResult, SubmissionResult
from graders.settings import Provenance

ANSWER_TAG_LENGTH = 16  # hex digits: 64 bits tell a changed answer apart; a group's save stays small


def now() -> str:
    """UTC with microseconds: timestamps order runs and staff adjustments (ISO strings sort)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer_digest(answer: str) -> str:
    """What a manual mark remembers of the answer it marked (surrounding whitespace is no change)."""
    return digest(answer.strip())


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
    # The id of the current mark this one replaces, as the person saw it (0: unmarked); a save made
    # from an older version is refused (StaleChange). None: not checked (the CLI, a CSV import).
    version: int | None = None
    # The answer as the person saw it (QuestionGrade.answer_tag); one a regrade has changed since is
    # refused too. None: not checked.
    answer_tag: str | None = None
    # The rubric items the mark applies (their keys) and a free adjustment beside them; `points` is then
    # what the person saw them add up to (rubric.total), refused as stale when the rubric now says otherwise.
    # None: a mark of plain points.
    items: tuple[str, ...] | None = None
    adjustment: float = 0.0
    suggested: bool = False  # the person accepted a suggestion as shown (the review app's accept key)


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
    items: tuple[str, ...] | None = None  # the rubric items it applies (keys); None: plain points
    adjustment: float = 0.0  # added to the items' points (0 for a mark of plain points)
    suggested: bool = False  # a suggestion (graders.assist) that staff accepted as it was


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
    """One written answer and its manual mark; `pending` until staff have marked it, and again once
    the answer changed after marking (`stale`: the old mark is kept, and counts, until it is redone)."""

    question: ManualQuestion
    answer: str
    mark: ManualMark | None = None

    @property
    def pending(self) -> bool:
        return self.mark is None or self.stale

    @property
    def version(self) -> int:
        """What a save from a page showing this answer names as its version: the current mark's id, 0 if none."""
        return 0 if self.mark is None else self.mark.id

    @property
    def answer_sha256(self) -> str:
        return answer_digest(self.answer)

    @property
    def answer_tag(self) -> str:
        """A short name of the answer (its digest's start) that a page sends back with a save of it."""
        return self.answer_sha256[:ANSWER_TAG_LENGTH]

    @property
    def stale(self) -> bool:
        """Marked, but the student's answer has changed since: the mark is kept and flagged for review."""
        return self.mark is not None and self.mark.answer_sha256 != self.answer_sha256

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
    def of(
        cls,
        run_id: int,
        result: SubmissionResult,
        questions: Sequence[ManualQuestion],
        overrides: Sequence[Override] = (),
        marks: Sequence[ManualMark] = (),
        *,
        moment: str | None = None,
        changed: bool = False,
    ) -> Grade:
        """The result with this submission's overrides (those in force at `moment`; all given when None)
        and its marks (all given count: the caller picks the current ones)."""
        by_check = {o.check_id: o for o in overrides if o.submission == result.submission and (moment is None or o.active_at(moment))}
        answers = {answer.question: answer.answer for answer in result.free_text}
        by_question = {m.question: m for m in marks if m.submission == result.submission}
        return cls(
            run_id=run_id,
            result=result,
            checks=tuple(CheckGrade(check, by_check.get(check.id)) for check in result.checks),
            questions=tuple(QuestionGrade(q, answers.get(q.text, ""), by_question.get(q.tag)) for q in questions),
            changed=changed,
        )

    @classmethod
    def unmarked(cls, result: SubmissionResult, questions: Sequence[ManualQuestion]) -> Grade:
        """A result outside any gradebook: no overrides, every written answer pending."""
        return cls.of(0, result, questions)

    @property
    def submission(self) -> str:
        return self.result.submission

    @property
    def checks_score(self) -> float:
        """The automatic checks with staff overrides applied (`result.score` is the automatic result alone)."""
        return sum(check.score for check in self.checks)

    @property
    def manual_score(self) -> float:
        return sum(q.points or 0.0 for q in self.questions)

    @property
    def score(self) -> float:
        return self.checks_score + self.manual_score

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


@dataclass(frozen=True)
class MeaningEdit:
    """A text group of a question (`key`: its normalised text) taken out of its group by meaning (`joined` None) or
    put with the text group `joined`, by staff in the review."""

    question: str
    key: str
    joined: str | None
    by: str
    at: str
