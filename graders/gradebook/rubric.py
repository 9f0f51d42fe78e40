"""Rubric items: the lines a TA clicks to make a written answer's mark, and what editing one does.

The assignment's items (`spec.RubricItem`) seed each question's rubric; staff add items, rename
them and change their points in the gradebook (`rubric_items`, append-only: the newest row per
(question, key) is the item now, older rows its history). An assignment's item never edited has
no row. A mark that applies items records their keys and a free adjustment; its points are their
sum, bounded to the question's range (`total`). Changing an item's points changes every current
mark applying it (`ItemChange`: how many, by how much), each a new mark in the history.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from graders.assignment.spec import RubricItem
from graders.errors import StaleChange, UsageError
from graders.gradebook.records import ManualEntry, ManualMark

MAX_TEXT = 300  # characters of an item's line: one line a TA reads at a glance
MAX_ITEMS = 50  # per question: a rubric, not a list of every answer
STAFF_KEY = "staff-"  # the keys of items staff add: staff-1, staff-2, ... per question


@dataclass(frozen=True)
class Item:
    """One item as it is now."""

    key: str
    text: str
    points: float
    version: int  # the id of its newest row (0: the assignment's item, never edited); an edit names it


def items(db: sqlite3.Connection, question: str, seed: Sequence[RubricItem]) -> tuple[Item, ...]:
    """The question's items now: the assignment's in its order (as edited), then staff's in the order added."""
    newest: dict[str, Item] = {}
    for row_id, key, text, points in db.execute(
        "SELECT id, key, text, points FROM rubric_items WHERE question = ? ORDER BY id", (question,)
    ):
        # dict order is first insertion: staff's items keep the order they were added in.
        newest[key] = Item(key, text, float(points), int(row_id))
    seeded = tuple(newest.pop(i.key, Item(i.key, i.text, i.points, 0)) for i in seed)
    return seeded + tuple(newest.values())


def find(rubric: Sequence[Item], question: str, key: str) -> Item:
    found = next((i for i in rubric if i.key == key), None)
    if found is None:
        raise UsageError(f"no rubric item {key[:40]!r} on {question}; the items are: {', '.join(i.key for i in rubric)}")
    return found


def insert(db: sqlite3.Connection, question: str, item: Item, *, by: str, at: str) -> Item:
    cursor = db.execute(
        "INSERT INTO rubric_items (question, key, text, points, by, at) VALUES (?, ?, ?, ?, ?, ?)",
        (question, item.key, item.text, item.points, by, at),
    )
    return Item(item.key, item.text, item.points, int(cursor.lastrowid or 0))


def new_key(existing: Iterable[Item]) -> str:
    """The next staff key, never one in use (staff-N after the highest N)."""
    numbers = [int(i.key.removeprefix(STAFF_KEY)) for i in existing if i.key.startswith(STAFF_KEY) and i.key[len(STAFF_KEY) :].isdigit()]
    return f"{STAFF_KEY}{max(numbers, default=0) + 1}"


def total(points: Iterable[float], adjustment: float, maximum: float) -> float:
    """A mark's points from its items' points and the adjustment, bounded to 0..maximum (rounded as marks are)."""
    return min(maximum, max(0.0, round(sum(points) + adjustment, 4)))


def mark_points(keys: Sequence[str], adjustment: float, rubric: Mapping[str, float], maximum: float) -> float:
    return total((rubric[key] for key in keys), adjustment, maximum)


def refuse_changed(
    db: sqlite3.Connection, entries: Sequence[ManualEntry], seed: Callable[[str], Sequence[RubricItem]], maxima: Mapping[str, float]
) -> None:
    """Marks made of items: an item unknown is a UsageError; items adding up to other points than the
    person saw (`entry.points`) a StaleChange, the rubric having changed since. Inside the write's transaction."""
    rubrics: dict[str, dict[str, float]] = {}  # per question, read once
    for entry in entries:
        if entry.items is None:
            continue
        if entry.question not in rubrics:
            rubrics[entry.question] = {i.key: i.points for i in items(db, entry.question, seed(entry.question))}
        now_points = rubrics[entry.question]
        unknown = [key for key in entry.items if key not in now_points]
        if unknown:
            raise UsageError(f"no rubric item {unknown[0][:40]!r} on {entry.question}; the items are: {', '.join(now_points)}")
        points = mark_points(entry.items, entry.adjustment, now_points, maxima[entry.question])
        if points != entry.points:
            raise StaleChange(
                f"the rubric of {entry.question} changed since you loaded it: these items now give {points:g} points, "
                f"not {entry.points:g}; reload, then save again"
            )


def checked_text(text: str) -> str:
    """An item's line as stored: stripped, one line, not empty, bounded."""
    line = " ".join(text.split())
    if not line:
        raise UsageError("a rubric item needs a line of text")
    if len(line) > MAX_TEXT:
        raise UsageError(f"a rubric item's text is at most {MAX_TEXT} characters, not {len(line)}")
    return line


def checked_points(points: float, maximum: float, what: str) -> float:
    """Item points and adjustments: positive or negative, at most the question's points either way."""
    if not (math.isfinite(points) and -maximum <= points <= maximum):
        raise UsageError(f"{what} must be between {-maximum:g} and {maximum:g} (the question's points), not {points:g}")
    return points


@dataclass(frozen=True)
class ItemChange:
    """One item's points changed, and the current marks on its question that apply it."""

    question: str
    item: Item
    points: float  # the new points
    marks: tuple[tuple[ManualMark, float], ...]  # each mark applying the item, with its points after the change

    @property
    def affected(self) -> int:
        return len(self.marks)

    @property
    def moved(self) -> tuple[tuple[ManualMark, float], ...]:
        """The marks whose points change (a bound can keep one where it was)."""
        return tuple((mark, new) for mark, new in self.marks if new != mark.points)

    @property
    def total_change(self) -> float:
        return round(sum(new - mark.points for mark, new in self.marks), 4)

    def effect(self) -> str:
        """What the change does to the marks, in staff's words."""
        return (
            f"{self.question}: '{self.item.text}' {self.item.points:g} → {self.points:g} points changes {len(self.moved)} "
            f"of the {self.affected} mark(s) applying it, {self.total_change:+g} points in all"
        )


def item_change(
    question: str, item: Item, points: float, rubric: Sequence[Item], current: Sequence[ManualMark], maximum: float
) -> ItemChange:
    """What setting `item` to `points` does to the current marks on `question` that apply it."""
    after = {i.key: (points if i.key == item.key else i.points) for i in rubric}
    using = [m for m in current if m.question == question and m.items is not None and item.key in m.items]
    return ItemChange(question, item, points, tuple((m, mark_points(m.items or (), m.adjustment, after, maximum)) for m in using))
