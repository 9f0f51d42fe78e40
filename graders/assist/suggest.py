"""Suggested rubric items for unmarked written answers, from the marked ones; abstaining unless sure.

Each rubric item is decided on its own, statement by statement (`cues.segments`; the whole answer is one
more). Evidence *for* an item: its own wording in the rubric, and in each marked answer that carries it the
statement nearest that wording. Evidence *against*: every statement of the marked answers without it, and
any evidence for it that the statement contradicts (`cues.opposed`: the same words saying the opposite,
"sharp at 30" against "sharp at 0"), which a sentence embedding cannot tell apart. An item is present when
some statement is close to evidence for it (`NEAR`) and closer to it than to any evidence against by
`margin`; absent when every statement is far from the evidence for it or closer, by `margin`, to evidence
against; otherwise unsure. The answer gets a suggestion only when no item is unsure; its points are the
items'. An answer that says nothing (no letter or digit) carries no item. Its confidence is the smallest such margin; the least margin is calibrated on the marks
themselves (each marked answer suggested from the others, `calibrated`), never below `FLOOR`.

Marks given as points alone (no items, `points_rubric`) suggest nothing but an empty answer's zero: copying
the points of the nearest marked answers (those near each other agreeing) was measured on
tests/assist/answers at 53-66% precision, far below what a TA must be able to trust.
Also measured there (10% marked, 10 seeds) and not kept: deciding each clause of an answer as one item or
none by its nearest evidence (the rubric's wording, the marked answers' clauses), with the weight it speaks
of required to agree with the evidence's (0 or 30; "high" and "low" mapped to the rubric's own numbers)
besides the opposition cues, suggested for 9-31% of answers but at 74-92% precision, and its margins did
not tell right suggestions from wrong (the strictest kept 2-5% at 94-100%, no better than this module).
The wrong ones are meanings this model does not resolve: "ELBO = reconstruction + KL" next to "the gap
between the ELBO and the reconstruction term", "at weight 0 the codes carry little information". Marking a
first 10% chosen to cover the answers (k-centre on the embeddings) instead of at random changed neither.
The caller embeds (`graders.assist.embed`); the work per answer is linear in the marked statements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from graders.assist.cues import Cues, cues, opposed, overlap, segments
from graders.errors import UsageError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Embed = Callable[[list[str]], NDArray[np.float32]]

WORDING = 0.5  # the weight of shared words against the embedding's cosine in a statement's similarity
NEAR = 0.5  # a statement this similar to evidence for an item may carry it
FAR = 0.3  # a statement this far from all evidence for an item does not carry it
# The least margin between evidence for and against an item that a suggestion may rest on. Precision first:
# on tests/assist/answers (10% marked, 20 seeds) 0.25 still let wrong suggestions through (84% precision on
# one question), 0.3 none; `python -m graders.assist.measure` shows what a change does.
FLOOR = 0.3


@dataclass(frozen=True)
class Item:
    id: str
    points: float
    text: str = ""  # its wording in the rubric: evidence for it (a points value has none)


@dataclass(frozen=True)
class Rubric:
    items: tuple[Item, ...]
    exclusive: bool = False  # exactly one item per answer: the points of marks given without items

    def points(self, chosen: frozenset[str]) -> float:
        return sum(item.points for item in self.items if item.id in chosen)


@dataclass(frozen=True)
class Answer:
    key: str
    text: str


@dataclass(frozen=True)
class Marked:
    answer: Answer
    items: frozenset[str]


@dataclass(frozen=True)
class Suggestion:
    key: str
    items: frozenset[str]
    points: float
    confidence: float  # the similarity the least sure item rests on, 0..1


@dataclass(frozen=True)
class Abstention:
    key: str


Decision = Suggestion | Abstention


@dataclass(frozen=True)
class _Read:
    """An answer's statements as vectors and cues; row 0 is the whole answer."""

    vectors: NDArray[np.float32]
    cues: tuple[Cues, ...]


@dataclass(frozen=True)
class _Known:
    read: _Read
    items: frozenset[str]


@dataclass(frozen=True)
class _Evidence:
    """For one item: vectors and cues of statements that carry it, and of statements that do not."""

    for_vectors: NDArray[np.float32]
    for_cues: tuple[Cues, ...]
    against_vectors: NDArray[np.float32]
    against_cues: tuple[Cues, ...]


def points_rubric(points: Sequence[float]) -> Rubric:
    """A rubric for marks given as points alone: one exclusive item per points value."""
    return Rubric(tuple(Item(points_item(p), p) for p in sorted(set(points))), exclusive=True)


def points_item(points: float) -> str:
    return f"{points:g} points"


def suggest(rubric: Rubric, marked: Sequence[Marked], unmarked: Sequence[Answer], embed: Embed) -> list[Decision]:
    """A suggestion or an abstention for each unmarked answer, in order."""
    _check(rubric, marked)
    known = [_Known(read, m.items) for m, read in zip(marked, _read_all([m.answer.text for m in marked], embed), strict=True)]
    items = {item.id: _item_text(item, embed) for item in rubric.items}
    margin = calibrated(rubric, known, items)
    reads = _read_all([a.text for a in unmarked], embed)
    return [_decision(rubric, known, items, answer, read, margin) for answer, read in zip(unmarked, reads, strict=True)]


def calibrated(rubric: Rubric, known: Sequence[_Known], items: dict[str, _Read | None]) -> float:
    """The margin a suggestion must exceed: above every margin at which suggesting a marked answer from the
    others (leave one out) named the wrong items, and never below `FLOOR`. More marks, a truer threshold."""
    wrong = [
        confidence
        for i, k in enumerate(known)
        for confidence, chosen in [_judged(rubric, [*known[:i], *known[i + 1 :]], items, k.read)]
        if chosen is not None and chosen != k.items
    ]
    return float(max([FLOOR, *(np.nextafter(c, 2.0) for c in wrong)]))


def _decision(
    rubric: Rubric, known: Sequence[_Known], items: dict[str, _Read | None], answer: Answer, read: _Read, margin: float
) -> Decision:
    if not segments(answer.text):
        return _said_nothing(rubric, answer)
    confidence, chosen = _judged(rubric, known, items, read)
    if chosen is None or confidence < margin:
        return Abstention(answer.key)
    return Suggestion(answer.key, chosen, rubric.points(chosen), round(confidence, 3))


def _said_nothing(rubric: Rubric, answer: Answer) -> Decision:
    """An answer without a letter or digit carries no item, for sure; marked as points alone, it gets the
    zero points band if one was given."""
    none = frozenset({points_item(0)}) if rubric.exclusive else frozenset()
    if rubric.exclusive and not {item.id for item in rubric.items} >= none:
        return Abstention(answer.key)
    return Suggestion(answer.key, none, 0.0, 1.0)


def _judged(rubric: Rubric, known: Sequence[_Known], items: dict[str, _Read | None], read: _Read) -> tuple[float, frozenset[str] | None]:
    """(confidence, the items) or (0, None) when unsure."""
    if rubric.exclusive:
        return 0.0, None  # points alone: no evidence per item (the module's docstring says why)
    chosen: set[str] = set()
    least = 1.0
    for item in rubric.items:
        evidence = _evidence(item.id, known, items)
        if evidence is None:
            return 0.0, None
        verdict, certainty = _item_verdict(evidence, read)
        if verdict is None:
            return 0.0, None
        least = min(least, certainty)
        if verdict:
            chosen.add(item.id)
    return least, frozenset(chosen)


def _evidence(item: str, known: Sequence[_Known], items: dict[str, _Read | None]) -> _Evidence | None:
    """The statements for and against an item; None without any against (nothing tells its absence) or for."""
    wording = items[item]
    if wording is None:
        return None
    against = [k.read for k in known if item not in k.items]
    if not against:
        return None
    said = [(k.read, p) for k in known if item in k.items for p in [_saying(k, item, wording, items)] if p is not None]
    for_vectors = np.stack([wording.vectors[0], *(r.vectors[p] for r, p in said)])
    for_cues = (wording.cues[0], *(r.cues[p] for r, p in said))
    against_cues = tuple(c for r in against for c in r.cues)
    return _Evidence(for_vectors, for_cues, np.concatenate([r.vectors for r in against]), against_cues)


def _saying(carrier: _Known, item: str, wording: _Read, items: dict[str, _Read | None]) -> int | None:
    """The statement of a marked answer that says the item: the one nearest the item's wording. None when that
    statement is also the nearest to another item the answer carries ("regulariser in the ELBO" carries two):
    it would count as evidence for each item whatever the other said."""
    vectors = carrier.read.vectors
    first = 1 if len(vectors) > 1 else 0  # row 0, the whole answer, says everything at once

    def nearest(text: _Read) -> int:
        return int(np.argmax(vectors[first:] @ text.vectors[0])) + first

    picked = nearest(wording)
    others = (items[other] for other in carrier.items - {item})
    return None if any(other is not None and nearest(other) == picked for other in others) else picked


def _item_verdict(evidence: _Evidence, read: _Read) -> tuple[bool | None, float]:
    """(present?, by how much) from the answer's statements; (None, 0) when unsure."""
    best_for = -1.0
    clearly_absent = 1.0
    for vector, statement in zip(read.vectors, read.cues, strict=True):
        similarity = _similarity(evidence.for_vectors @ vector, statement, evidence.for_cues)
        contradicted = np.array([opposed(statement, c) for c in evidence.for_cues])
        near = float(np.max(similarity, where=~contradicted, initial=-1.0))
        # Row 0 is the rubric's wording: a statement saying its opposite ("small weight: pushed to the prior"
        # against "a large weight pushes q to N(0, I)") carries the item by no marked example either; but it
        # is near the item, not evidence of its absence ("blurry at 30" and "sharp at 0" differ by an antonym).
        support = near if not contradicted[0] else -1.0
        # A statement of an answer without the item says this one lacks it only if it does not say the opposite.
        plainly = np.array([not opposed(statement, c) for c in evidence.against_cues])
        plainly_against = _similarity(evidence.against_vectors @ vector, statement, evidence.against_cues)
        against = max(
            float(np.max(plainly_against, where=plainly, initial=-1.0)), float(np.max(similarity, where=contradicted, initial=-1.0))
        )
        if support >= NEAR:
            best_for = max(best_for, support - against)
        # Absent only where the answer says nothing near the item, or says what a marked answer without it says.
        clearly_absent = min(clearly_absent, FAR - near if near < FAR else against - near if against >= NEAR else -1.0)
    if best_for >= FLOOR:
        return True, best_for
    if clearly_absent >= FLOOR and best_for < 0:
        return False, clearly_absent
    return None, 0.0


def _similarity(cosines: NDArray[np.float32], statement: Cues, others: Sequence[Cues]) -> NDArray[np.float64]:
    """Meaning and wording together: the embedding's cosine and the shared words, weighted by `WORDING`."""
    words = np.array([overlap(statement, other) for other in others])
    mixed: NDArray[np.float64] = (1 - WORDING) * cosines + WORDING * words
    return mixed


def _read_all(texts: list[str], embed: Embed) -> list[_Read]:
    parts = [[text, *segments(text)] if len(segments(text)) > 1 else [text] for text in texts]
    flat = [p for ps in parts for p in ps]
    vectors = embed(flat)
    reads, at = [], 0
    for ps in parts:
        reads.append(_Read(vectors[at : at + len(ps)], tuple(cues(p) for p in ps)))
        at += len(ps)
    return reads


def _item_text(item: Item, embed: Embed) -> _Read | None:
    return _read_all([item.text], embed)[0] if item.text else None


def _check(rubric: Rubric, marked: Sequence[Marked]) -> None:
    ids = {item.id for item in rubric.items}
    unknown = {i for m in marked for i in m.items} - ids
    if unknown:
        raise UsageError(f"marks name rubric items the rubric does not have: {', '.join(sorted(unknown))}")
