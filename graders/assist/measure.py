"""`python -m graders.assist.measure FOLDER`: how well suggestions do on a labelled set of written answers.

FOLDER holds `rubrics.json` (per question: its rubric items and their points) and `<question>.jsonl` (one
answer a line: id, text, rubric_items, points), as `tests/assist/answers/` does. For each question and
seed, a random `marked_share` of the answers is marked first (with their labels), the rest get suggestions,
and three numbers are counted: coverage (the share of the rest with a suggestion), precision (the share of
suggestions whose items equal the label) and TA actions per 100 answers, against text grouping alone.

TA actions count what a TA does: a mark by hand is one action per rubric item chosen plus one to save
it; accepting a suggestion is one; a wrong suggestion is one to reject it plus the mark by hand. Text
grouping alone marks each group of answers with the same normalised text once, by hand.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graders.assist import embed
from graders.assist.suggest import Abstention, Answer, Item, Marked, Rubric, Suggestion, suggest

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Labelled:
    answer: Answer
    items: frozenset[str]


@dataclass(frozen=True)
class Measured:
    """One question at one seed."""

    question: str
    seed: int
    suggested: int
    right: int
    rest: int
    actions_per_100: float
    grouping_actions_per_100: float

    @property
    def coverage(self) -> float:
        return self.suggested / self.rest if self.rest else 0.0

    @property
    def precision(self) -> float:
        return self.right / self.suggested if self.suggested else 1.0


def load(folder: Path) -> dict[str, tuple[Rubric, list[Labelled]]]:
    """The labelled set: per question tag, its rubric and answers."""
    rubrics = json.loads((folder / "rubrics.json").read_text(encoding="utf-8"))
    out = {}
    for tag, spec in rubrics.items():
        rubric = Rubric(tuple(Item(i["id"], float(i["points"]), i["text"]) for i in spec["items"]))
        lines = (folder / f"{tag}.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        out[tag] = (rubric, [Labelled(Answer(r["id"], r["text"]), frozenset(r["rubric_items"])) for r in rows])
    return out


def measure(
    model: embed.Model, rubric: Rubric, answers: Sequence[Labelled], question: str, seeds: Sequence[int], marked_share: float = 0.1
) -> list[Measured]:
    embed = _memo(model)
    results = []
    for seed in seeds:
        order = list(range(len(answers)))
        random.Random(seed).shuffle(order)  # noqa: S311 (a reproducible sample, not a secret)
        cut = max(1, round(marked_share * len(answers)))
        first, rest = order[:cut], order[cut:]
        marked = [Marked(answers[i].answer, answers[i].items) for i in first]
        decisions = suggest(rubric, marked, [answers[i].answer for i in rest], embed)
        results.append(_counted(question, seed, [answers[i] for i in first], [answers[i] for i in rest], decisions))
    return results


def _memo(model: embed.Model) -> Callable[[list[str]], NDArray[np.float32]]:
    """The model's embedding, each text embedded once over every seed."""
    seen: dict[str, NDArray[np.float32]] = {}

    def embedded(texts: list[str]) -> NDArray[np.float32]:
        new = sorted({t for t in texts if t not in seen})
        seen.update(zip(new, model.embed(new), strict=True))
        return np.stack([seen[t] for t in texts]) if texts else np.zeros((0, embed.DIMENSION), dtype=np.float32)

    return embedded


def _counted(question: str, seed: int, first: list[Labelled], rest: list[Labelled], decisions: list[Suggestion | Abstention]) -> Measured:
    suggested = right = 0
    actions = sum(_by_hand(a) for a in first)
    for labelled, decision in zip(rest, decisions, strict=True):
        if isinstance(decision, Suggestion):
            suggested += 1
            right += decision.items == labelled.items
            actions += 1 if decision.items == labelled.items else 1 + _by_hand(labelled)
        else:
            actions += _by_hand(labelled)
    everyone = [*first, *rest]
    groups: dict[str, Labelled] = {}
    for labelled in everyone:
        groups.setdefault(normalised(labelled.answer.text), labelled)
    grouping = sum(_by_hand(a) for a in groups.values())
    per_100 = 100 / len(everyone)
    return Measured(question, seed, suggested, right, len(rest), actions * per_100, grouping * per_100)


def _by_hand(labelled: Labelled) -> int:
    return len(labelled.items) + 1


def normalised(text: str) -> str:
    """Text grouping's key: case, punctuation and spacing ignored."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.assist.measure", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--marked", type=float, default=0.1, help="the share of answers marked first")
    args = parser.parse_args(argv)
    model = embed.load()
    labelled = load(args.folder)
    texts = [a.answer.text for _, answers in labelled.values() for a in answers]
    started = time.process_time()
    model.embed(texts)
    cpu = time.process_time() - started
    print(f"embedding {len(texts)} answers: {cpu:.2f} s of CPU (model sha256 {model.provenance.model_sha256[:12]})")
    print("question       seeds  coverage (min)   precision (min)   actions/100  text grouping/100")
    for tag, (rubric, answers) in labelled.items():
        rows = measure(model, rubric, answers, tag, range(args.seeds), args.marked)
        suggested = sum(r.suggested for r in rows)
        print(
            f"{tag:14} {len(rows):5}  {sum(r.coverage for r in rows) / len(rows):6.1%} ({min(r.coverage for r in rows):5.1%})"
            f"   {sum(r.right for r in rows) / max(suggested, 1):6.1%} ({min(r.precision for r in rows):5.1%})"
            f"   {sum(r.actions_per_100 for r in rows) / len(rows):10.1f}  {rows[0].grouping_actions_per_100:10.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
