"""Answers grouped by meaning for the review page: a sentence embedding's cosine, vetoed by the cues of opposite
statements.

Leader clustering, in the order given (the review passes its text groups, largest first): an answer joins the
first group whose leader it is `SAME` or more similar to and does not contradict (`cues.opposed`: "sharp at 30"
against "sharp at 0" embed almost alike); else it leads a group of its own. Work is at most `MAX_LEADERS`
comparisons per answer (past that many groups, an answer stays alone), so grouping is linear in the answers;
the result depends only on the texts and their order. Each group lists its most central answer first (the
highest mean cosine to the others).

`SAME` = 0.9, measured on tests/assist/answers (`tests/assist/test_groups.py`): below it, pairs with different
labels outnumber pairs with the same label four to one (at 0.85: 61 against 15); at 0.9, 22 of 336 answers share
a group, nearly all with an answer of other items (the set is built of near misses). So a group by meaning is a
reading aid, not a mark: the review page keeps one mark per text group inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from graders.assist.cues import Cues, cues, opposed

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Embed = Callable[[list[str]], NDArray[np.float32]]

SAME = 0.9
MAX_LEADERS = 500
BLOCK = 256  # rows of the similarity matrix held at once in `most_settling`: memory linear in the answers


def meaning_groups(texts: Sequence[str], embed: Embed) -> list[list[int]]:
    """The texts' indices, grouped; groups in the order of their first text, each with its most central text first."""
    if not texts:
        return []
    vectors = embed(list(texts))
    said = [cues(text) for text in texts]
    leaders: list[int] = []
    groups: list[list[int]] = []
    for index in range(len(texts)):
        joined = _group_of(index, leaders, vectors, said)
        if joined is None:
            leaders.append(index)
            groups.append([index])
        else:
            groups[joined].append(index)
    return [_central_first(group, vectors) for group in groups]


def _group_of(index: int, leaders: list[int], vectors: NDArray[np.float32], said: list[Cues]) -> int | None:
    if not leaders or len(leaders) >= MAX_LEADERS:
        return None
    similar = vectors[leaders] @ vectors[index]
    for at in np.flatnonzero(similar >= SAME):
        if not opposed(said[index], said[leaders[at]]):
            return int(at)
    return None


def _central_first(group: list[int], vectors: NDArray[np.float32]) -> list[int]:
    block = vectors[group]
    mean = (block @ block.T).sum(axis=1)
    centre = int(np.argmax(mean))  # the first of equals: deterministic
    return [group[centre], *(g for i, g in enumerate(group) if i != centre)]


def most_settling(texts: Sequence[str], weights: Sequence[int], embed: Embed) -> int | None:
    """The index of the text whose mark would settle the most: its weight (its students) plus the weights of the
    texts it would share a group with (cosine `SAME` or more, not `cues.opposed`); the first of equals, None for
    none. Every pair is compared (quadratic in the texts, a row block at a time): for the review's unmarked
    answers without a suggestion, a few hundred texts at most."""
    if not texts:
        return None
    vectors = embed(list(texts))
    said = [cues(text) for text in texts]
    weight = np.asarray(weights, dtype=np.float64)
    scores = np.zeros(len(texts))
    for start in range(0, len(texts), BLOCK):
        near = vectors[start : start + BLOCK] @ vectors.T >= SAME
        for row, index in enumerate(range(start, min(start + BLOCK, len(texts)))):
            joined = [j for j in np.flatnonzero(near[row]) if j != index and not opposed(said[index], said[j])]
            scores[index] = weight[index] + weight[joined].sum()
    return int(np.argmax(scores))  # the first of equals: deterministic
