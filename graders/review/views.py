"""What the review pages and the JSON API show, computed from gradebook grades (no HTML here)."""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.assist.suggest import Suggestion
from graders.gradebook.exports import claimed_twice
from graders.gradebook.questions import ManualQuestion
from graders.gradebook.release import Release, ReleaseState
from graders.gradebook.store import Grade, Item, ItemChange, ManualMark, MeaningEdit, Override, QuestionGrade, total
from graders.report.outputs import OwnOutputs, read_own_outputs
from graders.report.render import overview_context
from graders.results import SubmissionStatus


@dataclass(frozen=True)
class Bar:
    """One histogram bar: scores in [low, high) (the last bar includes the maximum)."""

    low: float
    high: float
    count: int
    share: float  # of the tallest bar, 0..1, for its drawn height


def histogram(grades: Sequence[Grade]) -> tuple[Bar, ...]:
    """Graded scores (with staff adjustments) in one-point bins from 0 to the maximum."""
    graded = [g for g in grades if g.result.status is SubmissionStatus.GRADED]
    if not graded:
        return ()
    edges = max(1, math.ceil(max(g.max_score for g in graded)))
    counts = [0] * edges
    for grade in graded:
        counts[min(edges - 1, max(0, math.floor(grade.score)))] += 1
    tallest = max(counts)
    return tuple(Bar(float(i), float(i + 1), count, count / tallest) for i, count in enumerate(counts))


@dataclass(frozen=True)
class ExtraColumn:
    key: str
    title: str


EXTRA_COLUMNS = (ExtraColumn("overrides", "Overrides"), ExtraColumn("flags", "Flags"))


def class_context(grades: Sequence[Grade], href: Callable[[str], str], release: Release | None) -> dict[str, Any]:
    """The static overview's context (render.overview_context, linking to the app's pages; its "pending"
    counts written answers of graded students, as `progress` does) with two more columns for staff:
    the overridden checks and the flags (`staff_flags`)."""
    context = overview_context(grades, href=href, release=release)
    by_id = {g.submission: g for g in grades}
    twice = duplicates_of([g.submission for g in grades])
    for row in context["rows"]:
        grade = by_id[row["id"]]
        row["extra"] = _extra_cells(grade, staff_flags(grade, twice, release))
    return {**context, "extra_columns": EXTRA_COLUMNS}


def duplicates_of(submissions: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each submission that claims a student id with others (exports.claimed_twice), → those others."""
    return {s: tuple(o for o in group if o != s) for group in claimed_twice(submissions).values() for s in group}


def staff_flags(grade: Grade, duplicates: Mapping[str, Sequence[str]], release: Release | None) -> tuple[str, ...]:
    """`flags`, and what needs the class around the grade: another submission for the same student
    (exports refuse both until staff choose), a grade that moved since it was released."""
    found = list(flags(grade))
    if grade.submission in duplicates:
        found.append("duplicate: same student as " + ", ".join(duplicates[grade.submission]))
    if release is not None and release.state(grade) is ReleaseState.CHANGED:
        found.append(ReleaseState.CHANGED.value)
    return tuple(found)


def flags(grade: Grade) -> tuple[str, ...]:
    """What staff should look at: a timeout, an unreadable notebook, isolation warnings, a mark or
    override whose ground changed underneath it, a file or score that changed since the run before."""
    result = grade.result
    found = []
    if any(e.ename == "Timeout" for e in result.cell_errors):
        found.append("timeout")
    if result.status is SubmissionStatus.ERROR:
        found.append("error")
    if result.provenance is not None and result.provenance.sandbox_warnings:
        found.append("sandbox warning")
    if any(q.stale for q in grade.questions):
        found.append("answer changed since marked")
    if any(c.drifted for c in grade.checks):
        found.append("automatic verdict changed under override")
    if grade.changed:
        found.append("changed since last run")
    return tuple(found)


def _extra_cells(grade: Grade, shown: Sequence[str]) -> dict[str, dict[str, str]]:
    overridden = ", ".join(o.check_id for o in grade.overrides)
    found = ", ".join(shown)
    return {
        "overrides": {"text": overridden or "–", "value": str(len(grade.overrides)), "css": "overridden" if overridden else ""},
        "flags": {"text": found or "–", "value": found, "css": "flagged" if found else ""},
    }


# ----------------------------------------------------------------------------- grade by question


@dataclass(frozen=True)
class Member:
    """One student's answer in a group."""

    submission: str
    grade: QuestionGrade


@dataclass(frozen=True)
class Variant:
    """Answers that read the same once case and spacing are normalised, as the first of them wrote it."""

    answer: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class AnswerGroup:
    """Answers that read the same or nearly so: one mark can serve them all (the page can split it)."""

    key: str
    variants: tuple[Variant, ...]

    @property
    def members(self) -> tuple[Member, ...]:
        return tuple(m for v in self.variants for m in v.members)

    @property
    def marked(self) -> bool:
        return all(not m.grade.pending for m in self.members)

    @property
    def shared_mark(self) -> ManualMark | None:
        """The members' common mark (same points and comment), if every one is marked alike."""
        marks = {(m.grade.mark.points, m.grade.mark.comment) for m in self.members if m.grade.mark is not None}
        first = self.members[0].grade.mark
        return first if self.marked and len(marks) == 1 else None


def normalised(answer: str) -> str:
    return " ".join(answer.casefold().split())


# Near-duplicates: answers whose word sets overlap by SIMILAR (Jaccard) or more share a group, when
# their words differ only where they do not share them: the words both have stand in the same order,
# and their negations and numbers are the same, in the same order. A group gets one mark, so a
# variant must never say the opposite: "sharp at 0, blurry at 30" and "blurry at 0, sharp at 30"
# have the same words, "the KL is small" and "the KL is not small" nearly so. Each answer is
# compared on its first MAX_TOKENS words, and only with the groups filed under its SKETCH smallest
# word hashes; a hash already holding MAX_CANDIDATES groups (a word nearly every answer has) is
# passed over for the next one. Constant work per answer, so grouping stays linear in the number
# and length of the answers, whatever they hold.
SIMILAR = 0.8
MIN_TOKENS = 3  # shorter answers join only answers with the same words: one word is their meaning
MAX_TOKENS = 200
SKETCH = 4
MAX_CANDIDATES = 16
_WORD = re.compile(r"\w+")
# Words that turn a statement round, English and German ("isn't" reads as "isn", "t").
NEGATIONS = frozenset(
    "not no never none nothing neither nor without cannot t nicht kein keine keinen keiner keines nie niemals ohne".split()
)


def words(answer: str) -> tuple[str, ...]:
    """The answer's first MAX_TOKENS words, case-folded, in order (a linear scan)."""
    return tuple(itertools.islice((m.group() for m in _WORD.finditer(answer.casefold())), MAX_TOKENS))


def _turning_words(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The negations and numbers, in order: where one differs, so may the meaning."""
    return tuple(t for t in tokens if t in NEGATIONS or t.isdigit())


def _similar(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    set_a, set_b = frozenset(a), frozenset(b)
    if min(len(set_a), len(set_b)) < MIN_TOKENS:
        return a == b
    shared = set_a & set_b
    if len(shared) < SIMILAR * len(set_a | set_b) or _turning_words(a) != _turning_words(b):
        return False
    return [t for t in a if t in shared] == [t for t in b if t in shared]


class _NearIndex:
    """Groups filed under a few of their words' hashes, for finding an answer's near twin."""

    def __init__(self) -> None:
        self.representatives: list[tuple[str, ...]] = []  # per group, the words of its first answer
        self._filed: dict[int, list[int]] = {}

    def _sketch(self, tokens: tuple[str, ...]) -> list[int]:
        # crc32, not hash(): the same answers group the same way in every process.
        open_hashes = (h for h in sorted({zlib.crc32(t.encode()) for t in tokens}) if len(self._filed.get(h, ())) < MAX_CANDIDATES)
        return list(itertools.islice(open_hashes, SKETCH))

    def find(self, tokens: tuple[str, ...]) -> int | None:
        candidates = dict.fromkeys(c for h in self._sketch(tokens) for c in self._filed.get(h, ()))
        return next((c for c in candidates if _similar(tokens, self.representatives[c])), None)

    def add(self, tokens: tuple[str, ...]) -> int:
        group = len(self.representatives)
        self.representatives.append(tokens)
        for h in self._sketch(tokens):
            self._filed.setdefault(h, []).append(group)
        return group


def answer_groups(grades: Sequence[Grade], tag: str) -> tuple[AnswerGroup, ...]:
    """Every graded submission's answer to one question, grouped; unanswered ones last, larger groups first."""
    exact: dict[str, list[Member]] = {}
    for grade in grades:
        if grade.result.status is not SubmissionStatus.GRADED:
            continue
        question = next(q for q in grade.questions if q.question.tag == tag)
        exact.setdefault(normalised(question.answer), []).append(Member(grade.submission, question))
    near = _NearIndex()
    clusters: list[list[str]] = []  # per group, its answers' normalised texts
    for key in sorted(exact, key=lambda k: (-len(exact[k]), k)):
        tokens = words(key)
        found = near.find(tokens) if tokens else None
        if found is None:
            found = near.add(tokens)
            clusters.append([])
        clusters[found].append(key)
    groups = [AnswerGroup(keys[0], tuple(Variant(exact[k][0].grade.answer, tuple(exact[k])) for k in keys)) for keys in clusters]
    return tuple(sorted(groups, key=lambda g: (not g.key, -len(g.members), g.key)))


@dataclass(frozen=True)
class MeaningGroup:
    """Text groups whose answers mean nearly the same (graders.assist.groups), the most central first; each
    keeps its own mark: near-misses ("sharp at 0" against "sharp at 30") are measured to land together."""

    groups: tuple[AnswerGroup, ...]

    @property
    def size(self) -> int:
        return sum(len(g.members) for g in self.groups)


def by_meaning(
    groups: Sequence[AnswerGroup], cluster: Callable[[list[str]], list[list[int]]], edits: Sequence[MeaningEdit] = ()
) -> tuple[MeaningGroup, ...]:
    """The text groups gathered by `cluster` (indices of their first answers' texts, in groups) and regathered by
    staff's `edits`, in the order of each gathering's first text group; unanswered groups each alone, last."""
    answered = [g for g in groups if g.key]
    gathered = regathered(cluster([g.variants[0].answer for g in answered]), [g.key for g in answered], edits)
    return (
        *(MeaningGroup(tuple(answered[i] for i in indices)) for indices in gathered),
        *(MeaningGroup((g,)) for g in groups if not g.key),
    )


def most_informative(
    groups: Sequence[AnswerGroup], suggested: Mapping[str, Suggested | None], settle: Callable[[list[str], list[int]], int | None]
) -> str | None:
    """The key of the unmarked text group, among those with no suggestion, whose mark would settle the most such
    answers (`settle`: graders.assist, given the groups' texts and sizes); None when every one is marked or suggested."""
    open_groups = [g for g in groups if g.key and suggested.get(g.key) is None and all(m.grade.pending for m in g.members)]
    index = settle([g.variants[0].answer for g in open_groups], [len(g.members) for g in open_groups])
    return None if index is None else open_groups[index].key


def regathered(gathered: list[list[int]], keys: Sequence[str], edits: Sequence[MeaningEdit]) -> list[list[int]]:
    """Staff's edits over the model's gatherings, in the order made: a text group taken out is alone, one put with
    another joins that one's gathering (after its own members); an edit naming a text group not there now (its
    answers changed) is passed over. Gatherings in the order of their first text group."""
    place = {i: n for n, indices in enumerate(gathered) for i in indices}
    index = {key: i for i, key in enumerate(keys)}
    moved: set[int] = set()
    for edit in edits:
        which, joined = index.get(edit.key), None if edit.joined is None else index.get(edit.joined)
        if which is None or (edit.joined is not None and joined is None) or joined == which:
            continue
        place[which] = len(gathered) + len(moved) if joined is None else place[joined]
        moved.add(which)
    order = {i: n for n, i in enumerate(i for indices in gathered for i in indices)}  # each gathering's central first
    regrouped: dict[int, list[int]] = {}
    for i in sorted(place, key=lambda i: (i in moved, order[i])):
        regrouped.setdefault(place[i], []).append(i)
    return sorted(regrouped.values(), key=min)


@dataclass(frozen=True)
class Suggested:
    """A suggestion shown on a group: its rubric items (as the rubric has them now), points and confidence."""

    items: tuple[Item, ...]
    points: float
    confidence: float


def group_suggestion(group: AnswerGroup, items: Sequence[Item], found: Mapping[str, Suggestion], maximum: float) -> Suggested | None:
    """The suggestion every member of an unmarked group has alike (`found`: by submission), its points what its
    items give a mark (bounded to 0..`maximum`); None when a member is marked, or has none or another."""
    if any(not m.grade.pending for m in group.members):
        return None
    chosen = {found[m.submission].items if m.submission in found else None for m in group.members}
    if len(chosen) != 1 or None in chosen:
        return None
    applied = tuple(i for i in items if i.key in found[group.members[0].submission].items)
    confidence = min(found[m.submission].confidence for m in group.members)
    return Suggested(applied, total((i.points for i in applied), 0.0, maximum), confidence)


def own_outputs(reports: Path, grade: Grade) -> OwnOutputs:
    """The student's own outputs kept from the notebook this grade's result was graded from (none from another)."""
    return read_own_outputs(reports / grade.submission, grade.result.sha256)


@dataclass(frozen=True)
class Progress:
    """One written question's marking, counted in students (graded submissions), not groups."""

    tag: str
    students: int
    marked: int  # marked, with the answer as it was marked
    changed: int  # marked, but the answer changed since: pending again

    @property
    def pending(self) -> int:
        return self.students - self.marked


def progress(grades: Sequence[Grade], questions: Sequence[ManualQuestion]) -> tuple[Progress, ...]:
    graded = [g for g in grades if g.result.status is SubmissionStatus.GRADED]
    answers = [q for g in graded for q in g.questions]
    return tuple(
        Progress(
            question.tag,
            len(graded),
            sum(1 for a in answers if a.question.tag == question.tag and not a.pending),
            sum(1 for a in answers if a.question.tag == question.tag and a.stale),
        )
        for question in questions
    )


def progress_json(revision: str, counts: Sequence[Progress]) -> dict[str, Any]:
    """GET /api/progress: what every page's counters show; `revision` changes when a run or a mark is added."""
    return {
        "revision": revision,
        "pending": sum(p.pending for p in counts),
        "questions": {p.tag: {"students": p.students, "marked": p.marked, "pending": p.pending, "changed": p.changed} for p in counts},
    }


def question_json(revision: str, counts: Sequence[Progress], grades: Sequence[Grade], tag: str) -> dict[str, Any]:
    """GET /api/questions/{tag}/marks: the progress, and each graded submission's mark on the question with its version."""
    members = {}
    for grade in grades:
        if grade.result.status is SubmissionStatus.GRADED:
            question = next(q for q in grade.questions if q.question.tag == tag)
            members[grade.submission] = {
                "version": question.version,
                "answer": question.answer_tag,
                "pending": question.pending,
                "stale": question.stale,
                "mark": mark_json(question.mark),
            }
    return {**progress_json(revision, counts), "members": members}


def question_of(questions: Sequence[ManualQuestion], tag: str) -> ManualQuestion | None:
    return next((q for q in questions if q.tag == tag), None)


# ----------------------------------------------------------------------------- JSON


def mark_json(mark: ManualMark | None) -> dict[str, Any] | None:
    if mark is None:
        return None
    return {
        "version": mark.id,
        "points": mark.points,
        "comment": mark.comment,
        "by": mark.by,
        "at": mark.at,
        "items": None if mark.items is None else list(mark.items),
        "adjustment": mark.adjustment,
        "suggested": mark.suggested,
    }


def item_json(item: Item) -> dict[str, Any]:
    return {"key": item.key, "text": item.text, "points": item.points, "version": item.version}


def change_json(change: ItemChange) -> dict[str, Any]:
    """What an item's new points do (or did) to the marks applying it: the page shows it before asking."""
    return {
        "item": item_json(change.item),
        "points": change.points,
        "affected": change.affected,
        "changed": len(change.moved),
        "total_change": change.total_change,
        "effect": change.effect(),
    }


def override_json(override: Override) -> dict[str, Any]:
    return {
        "score": override.score,
        "reason": override.reason,
        "by": override.by,
        "at": override.at,
        "automatic_status": override.automatic_status,
        "automatic_score": override.automatic_score,
        "cleared_at": override.cleared_at,
        "cleared_by": override.cleared_by,
    }


def submission_summary(grade: Grade) -> dict[str, Any]:
    """One element of GET /api/submissions."""
    return {
        "id": grade.submission,
        "status": grade.result.status.value,
        "score": grade.score,
        "max_score": grade.max_score,
        "automatic_score": grade.result.score,  # as graded, before staff overrides
        "adjusted_score": grade.checks_score,  # the checks with overrides
        "manual_pending": grade.pending,
        "checks": {
            c.result.id: {
                "status": c.result.status.value,
                "score": c.score,
                "max_score": c.result.max_score,
                "overridden": c.override is not None,
            }
            for c in grade.checks
        },
        "manual": {
            q.question.tag: {"points": q.points, "max_points": q.question.points, "pending": q.pending, "stale": q.stale}
            for q in grade.questions
        },
        "flags": list(flags(grade)),
    }


def submission_detail(grade: Grade, overrides: Sequence[Override], marks: Sequence[ManualMark]) -> dict[str, Any]:
    """GET /api/submissions/{id}: the summary, the full automatic result, every override and mark ever given."""
    return {
        **submission_summary(grade),
        "result": grade.result.to_json(),
        "answers": {q.question.tag: {"question": q.question.text, "answer": q.answer, "mark": mark_json(q.mark)} for q in grade.questions},
        "overrides": [dict(override_json(o), check_id=o.check_id) for o in overrides],
        "manual_history": [dict(mark_json(m) or {}, question=m.question) for m in marks],
    }
