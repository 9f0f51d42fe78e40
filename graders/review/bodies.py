"""The JSON bodies of the API's changes, parsed into dataclasses or refused with a BadRequest (a 4xx and a message).

Nothing is written before a body has parsed: a malformed one never reaches the gradebook.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from graders.assignment.spec import RUBRIC_KEY_LENGTH
from graders.errors import BadRequest
from graders.gradebook.store import ANSWER_TAG_LENGTH, MAX_ITEMS, ManualEntry

MAX_BODY = 64 * 1024
MAX_TEXT = 10_000
MAX_GROUP = 1_000
MAX_VERSION_DIGITS = 18  # an SQLite row id fits
_ANSWER_TAG = re.compile(f"[0-9a-f]{{{ANSWER_TAG_LENGTH}}}")
_ITEM_KEY = re.compile(f"[A-Za-z0-9_-]{{1,{RUBRIC_KEY_LENGTH}}}")  # as spec.RubricItem's keys, and staff-N
T = TypeVar("T")


@dataclass(frozen=True)
class MarkBody:
    points: float
    comment: str
    version: int | None  # the mark the page showed (its id; 0: unmarked); None: not checked
    answer: str | None  # the answer the page showed (QuestionGrade.answer_tag); None: not checked
    applied: Applied | None = None  # the rubric items ticked and the adjustment; None: a mark of plain points


@dataclass(frozen=True)
class Applied:
    """A mark made with rubric items: their keys, in the rubric's order, and a free adjustment."""

    items: tuple[str, ...]
    adjustment: float
    suggested: bool = False  # the items are a suggestion shown (graders.assist), accepted as it was


@dataclass(frozen=True)
class ItemBody:
    """A new rubric item."""

    text: str
    points: float


@dataclass(frozen=True)
class ItemEditBody:
    """An item renamed and/or re-pointed; a points change over marks needs `confirm` (the page asked first)."""

    text: str | None
    points: float | None
    version: int | None  # the item's version the page showed; None: not checked
    confirm: bool


@dataclass(frozen=True)
class GroupMarkBody:
    submissions: tuple[str, ...]
    points: float
    comment: str
    versions: tuple[int, ...] | None  # per submission, as `MarkBody.version`; None: not checked
    answers: tuple[str, ...] | None  # per submission, as `MarkBody.answer`; None: not checked
    applied: Applied | None = None  # as `MarkBody.applied`, for every submission


@dataclass(frozen=True)
class OverrideBody:
    score: float
    reason: str
    version: int | None  # the override in force the page showed (its id; 0: none); None: not checked


def parse_mark(raw: bytes, content_type: str) -> MarkBody:
    data = _object(raw, content_type)
    answer = data.get("answer")
    return MarkBody(
        _number(data, "points"),
        _text(data, "comment", required=False),
        _optional_version(data.get("version")),
        None if answer is None else _answer_tag(answer, "answer"),
        _applied(data),
    )


def parse_group_mark(raw: bytes, content_type: str) -> GroupMarkBody:
    data = _object(raw, content_type)
    submissions = data.get("submissions")
    if not isinstance(submissions, list) or not submissions or not all(isinstance(s, str) for s in submissions):
        raise BadRequest('"submissions" must be a non-empty list of submission ids')
    if len(submissions) > MAX_GROUP:
        raise BadRequest(f"at most {MAX_GROUP} submissions at once")
    unique = tuple(dict.fromkeys(submissions))
    return GroupMarkBody(
        unique,
        _number(data, "points"),
        _text(data, "comment", required=False),
        _per_submission(data.get("versions"), unique, "versions", _version),
        _per_submission(data.get("answers"), unique, "answers", _answer_tag),
        _applied(data),
    )


@dataclass(frozen=True)
class MeaningBody:
    """The text group of `submission` taken out of its group by meaning (`joined` None), or put with `joined`'s."""

    submission: str
    joined: str | None


def parse_meaning(raw: bytes, content_type: str) -> MeaningBody:
    data = _object(raw, content_type)
    joined = data.get("with")
    if joined is not None and not isinstance(joined, str):
        raise BadRequest('"with" must be a submission id, or null to take the group out')
    return MeaningBody(_text(data, "submission", required=True), joined)


def parse_item(raw: bytes, content_type: str) -> ItemBody:
    data = _object(raw, content_type)
    return ItemBody(_text(data, "text", required=False), _number(data, "points"))


def parse_item_edit(raw: bytes, content_type: str) -> ItemEditBody:
    data = _object(raw, content_type)
    if "text" not in data and "points" not in data:
        raise BadRequest('say what changes: "text", "points" or both')
    confirm = data.get("confirm", False)
    if not isinstance(confirm, bool):
        raise BadRequest('"confirm" must be true or false')
    return ItemEditBody(
        _text(data, "text", required=False) if "text" in data else None,
        _number(data, "points") if "points" in data else None,
        _optional_version(data.get("version")),
        confirm,
    )


def _applied(data: dict[str, Any]) -> Applied | None:
    """`"items": [key, ...]` with an optional `"adjustment"` and `"suggested": true` (the items a suggestion named,
    accepted); none of them: a mark of plain points."""
    items = data.get("items")
    suggested = data.get("suggested", False)
    if not isinstance(suggested, bool):
        raise BadRequest('"suggested" must be true or false')
    if items is None:
        if "adjustment" in data:
            raise BadRequest('"adjustment" goes with "items" (send "items": [] for an adjustment alone)')
        if suggested:
            raise BadRequest('"suggested" goes with "items": a suggestion is rubric items')
        return None
    if not isinstance(items, list) or len(items) > MAX_ITEMS or not all(isinstance(k, str) and _ITEM_KEY.fullmatch(k) for k in items):
        raise BadRequest(f'"items" must be a list of at most {MAX_ITEMS} rubric item keys')
    return Applied(tuple(items), _number(data, "adjustment") if "adjustment" in data else 0.0, suggested)


def mark_entry(
    submission: str, tag: str, points: float, comment: str, version: int | None, answer: str | None, applied: Applied | None
) -> ManualEntry:
    """A mark to save as the page sent it: plain points, or items and an adjustment adding up to `points`."""
    if applied is None:
        return ManualEntry(submission, tag, points, comment, version, answer)
    return ManualEntry(
        submission, tag, points, comment, version, answer, items=applied.items, adjustment=applied.adjustment, suggested=applied.suggested
    )


def _per_submission(value: object, submissions: tuple[str, ...], name: str, parse: Callable[[object, str], T]) -> tuple[T, ...] | None:
    """`"name": {id: value}`, one for each submission, in their order; or absent (not checked)."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(submissions):
        raise BadRequest(f'"{name}" must map each of the submissions to what the page showed of it')
    return tuple(parse(value[s], name) for s in submissions)


def _answer_tag(value: object, name: str) -> str:
    if not isinstance(value, str) or not _ANSWER_TAG.fullmatch(value):
        raise BadRequest(f'"{name}" must be the answer tag the page showed ({ANSWER_TAG_LENGTH} hex digits)')
    return value


def _optional_version(value: object) -> int | None:
    return None if value is None else _version(value, "version")


def _version(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f'"{name}" must be a whole number (0 for an answer not marked yet)')
    return value


def parse_override(raw: bytes, content_type: str) -> OverrideBody:
    data = _object(raw, content_type)
    return OverrideBody(_number(data, "score"), _text(data, "reason", required=True), _optional_version(data.get("version")))


def parse_version(text: str | None) -> int | None:
    """`?version=N` of a change without a body (clearing an override)."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_VERSION_DIGITS:
        raise BadRequest('"version" must be a whole number (0 for none)')
    return int(text)


def parse_points(text: str | None) -> float:
    """`?points=X` of a question about an item's new points."""
    try:
        value = float(text or "nan") if len(text or "") <= MAX_VERSION_DIGITS else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest('"points" must be a number')
    return value


def _object(raw: bytes, content_type: str) -> dict[str, Any]:
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise BadRequest("send the body as JSON (Content-Type: application/json)", status=415)
    if len(raw) > MAX_BODY:
        raise BadRequest(f"the body is over {MAX_BODY // 1024} KiB", status=413)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _number(data: dict[str, Any], name: str) -> float:
    value = data.get(name)
    # bool is an int in Python; `true` points is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f'"{name}" must be a number')
    return float(value)


def _text(data: dict[str, Any], name: str, *, required: bool) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f'"{name}" must be a string')
    if required and not value.strip():
        raise BadRequest(f'"{name}" must say why (it is shown to the student)')
    if len(value) > MAX_TEXT:
        raise BadRequest(f'"{name}" is over {MAX_TEXT} characters')
    return value
