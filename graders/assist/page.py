"""What the review app's grade-by-question page asks of the model: groups by meaning, and suggestions.

`assistant()` loads the model once (`MissingExtra` without the `assist` extra: the page then shows text groups
alone and says what to install). Embeddings are kept per text, so a page shown again embeds only new
answers, and a question's suggestions while its answers, marks and rubric are unchanged; a text is read up to `MAX_CHARS` (the model reads 256 tokens at most), the cache holds at most
`MAX_CACHED` texts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graders.assist import embed
from graders.assist.groups import meaning_groups, most_settling
from graders.assist.marks import QuestionAnswers, question_answers
from graders.assist.suggest import Suggestion, suggest

if TYPE_CHECKING:
    from numpy.typing import NDArray

MAX_CHARS = 4_000
MAX_CACHED = 50_000


class Assistant:
    def __init__(self, model: embed.Model) -> None:
        self._model = model
        self._cached: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()  # the app's requests run in a thread pool
        self._suggested: dict[str, tuple[QuestionAnswers, dict[str, Suggestion]]] = {}  # per question: the last input, its answer

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        cut = [text[:MAX_CHARS] for text in texts]
        with self._lock:
            new = list(dict.fromkeys(t for t in cut if t not in self._cached))
            if len(self._cached) + len(new) > MAX_CACHED:
                self._cached.clear()
                new = list(dict.fromkeys(cut))
            if new:
                self._cached.update(zip(new, self._model.embed(new), strict=True))
            return np.stack([self._cached[t] for t in cut]) if cut else np.zeros((0, embed.DIMENSION), dtype=np.float32)

    def groups(self, texts: Sequence[str]) -> list[list[int]]:
        """`groups.meaning_groups` of the texts."""
        return meaning_groups(texts, self.embed)

    def most_settling(self, texts: Sequence[str], weights: Sequence[int]) -> int | None:
        """`groups.most_settling` of the texts: the one to mark next."""
        return most_settling(texts, weights, self.embed)

    def suggestions(self, reports: Path, question: str) -> dict[str, Suggestion]:
        """Each unmarked answer's suggested rubric items, by submission; an abstention is absent. Marks of plain
        points alone suggest no items (`suggest`'s docstring): nothing then."""
        answers = question_answers(reports, question)
        if answers.rubric.exclusive:
            return {}
        # `suggest` is a function of the answers, marks and rubric alone: the same ones (a page shown again, another
        # grader's poll) get the same suggestions back without working them out again.
        with self._lock:
            last = self._suggested.get(question)
        if last is not None and last[0] == answers:
            return last[1]
        decisions = suggest(answers.rubric, answers.marked, answers.unmarked, self.embed)
        found = {d.key: d for d in decisions if isinstance(d, Suggestion)}
        with self._lock:
            self._suggested[question] = (answers, found)
        return found


def assistant() -> Assistant:
    """The model loaded (its hash checked); `MissingExtra` without the extra."""
    return Assistant(embed.load())
