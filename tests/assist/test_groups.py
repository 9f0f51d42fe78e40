"""Groups by meaning on the real model: paraphrases together, opposite statements in the same words apart,
measured on the labelled set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graders.assist import embed
from graders.assist.groups import meaning_groups, most_settling

if TYPE_CHECKING:
    from graders.assist.groups import Embed

ANSWERS = Path(__file__).with_name("answers")


def labelled(question: str) -> list[tuple[str, frozenset[str]]]:
    rows = [json.loads(line) for line in (ANSWERS / f"{question}.jsonl").read_text().splitlines() if line.strip()]
    return [(row["text"], frozenset(row["rubric_items"])) for row in rows]


def test_paraphrases_share_a_group_and_unrelated_answers_do_not(model: embed.Model) -> None:
    texts = [
        "At weight 0 the reconstructions are sharp.",
        "I could not run the notebook.",
        "at weight 0 the reconstructions are sharp",
        "With weight 0 the reconstructions are sharp.",
    ]
    groups = meaning_groups(texts, model.embed)
    assert sorted(map(sorted, groups)) == [[0, 2, 3], [1]]


def test_opposite_statements_in_the_same_words_stay_apart(model: embed.Model) -> None:
    texts = [
        "At weight 0 the reconstructions are sharp, at weight 30 they are blurry.",
        "At weight 0 the reconstructions are blurry, at weight 30 they are sharp.",
        "At weight 30 the reconstructions are sharp, at weight 0 they are blurry.",
    ]
    vectors = model.embed(texts)
    assert float(vectors[0] @ vectors[1]) > 0.9  # the model alone would merge them: the veto is what keeps them apart
    groups = meaning_groups(texts, model.embed)
    assert all(0 not in g or len(g) == 1 for g in groups)


def test_the_most_central_answer_leads_and_grouping_is_deterministic(model: embed.Model) -> None:
    texts = [
        "The KL term regularises the latent space.",
        "The KL term regularises the latent space towards the prior.",
        "the KL term regularises the latent space",
    ]
    first = meaning_groups(texts, model.embed)
    assert first == meaning_groups(texts, model.embed)
    (group,) = [g for g in first if len(g) > 1]
    vectors = model.embed(texts)
    mean = [float(sum(vectors[i] @ vectors[j] for j in group)) for i in group]
    assert group[0] == group[mean.index(max(mean))]


def test_on_the_labelled_set_few_answers_are_grouped_with_an_answer_labelled_otherwise(model: embed.Model) -> None:
    """Measured at SAME = 0.9: 22 of 336 answers share a group, 22 of them with an answer of other items (the set is
    built of near-miss pairs: 'sharp at 0' against 'sharp at 30'), hence one mark per text group, not per group by
    meaning. Bounded: fewer than one answer in ten is grouped at all."""
    grouped = mixed = total = 0
    for question in ("kl_explain", "kl_observe", "kl_role"):
        answers = labelled(question)
        groups = meaning_groups([text for text, _ in answers], model.embed)
        total += len(answers)
        assert sorted(i for g in groups for i in g) == list(range(len(answers)))
        for group in groups:
            if len(group) > 1:
                grouped += len(group)
                mixed += sum(any(answers[i][1] != answers[j][1] for j in group) for i in group)
    assert total > 300
    assert mixed <= total / 10
    assert grouped <= total / 10


def fixed(vectors: dict[str, list[float]]) -> Embed:
    """An embedding that maps each text to a given direction (unit length), for choosing by hand what is near."""

    def embedded(texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        rows = np.array([vectors[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    return embedded


def test_the_answer_to_mark_next_is_the_one_with_the_most_students_near_it() -> None:
    near = {"a": [1, 0, 0], "b": [1, 0.1, 0], "c": [1, 0, 0.1], "far": [0, 1, 0]}  # a, b, c: cosine 0.99; far: 0
    texts = ["far", "a", "b", "c"]
    assert most_settling(texts, [1, 1, 1, 1], fixed(near)) == 1  # a settles itself and b and c; far only itself
    assert most_settling(texts, [4, 1, 1, 1], fixed(near)) == 0  # but four students wrote far: 4 against 3
    assert most_settling(texts, [3, 1, 1, 1], fixed(near)) == 0  # equals: the first
    assert most_settling([], [], fixed(near)) is None


def test_an_answer_saying_the_opposite_in_the_same_words_is_not_settled_by_it() -> None:
    right = "At weight 0 the reconstructions are sharp, at weight 30 they are blurry."
    swapped = "At weight 0 the reconstructions are blurry, at weight 30 they are sharp."
    alone = {"x": [0, 1], right: [1, 0], swapped: [1, 0]}  # the same direction: only the cues tell them apart
    assert most_settling(["x", right, swapped], [2, 1, 1], fixed(alone)) == 0
