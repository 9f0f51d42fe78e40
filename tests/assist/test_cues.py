"""Opposite statements in almost the same words are told apart; paraphrases are not; reading is linear."""

from __future__ import annotations

import pytest

from graders.assist.cues import MAX_CHARS, cues, opposed, overlap, segments
from tests.timing import assert_linear

OPPOSITE = [
    ("blurry at 30, sharp at 0", "sharp at 30, blurry at 0"),  # the same words, crossed settings
    (
        "Bei Gewicht 0 sind die Rekonstruktionen scharf, bei 30 unscharf.",
        "Bei Gewicht 0 sind die Rekonstruktionen unscharf, bei 30 scharf.",
    ),
    (
        "For $\\lambda=0$ reconstructions are sharp, for $\\lambda=30$ they are blurry.",
        "For $\\lambda=0$ reconstructions are blurry, for $\\lambda=30$ they are sharp.",
    ),
    ("sharp at weight zero", "sharp at weight thirty"),  # numbers written out
    ("A large weight pushes q(z|x) towards N(0,I).", "A large weight pushes q(z|x) away from N(0,I)."),  # antonyms
    ("The latent code contains no information about x.", "The latent code contains all the information about x."),
    ("The KL term is the reconstruction loss.", "The KL term is not the reconstruction loss."),  # negation
    ("Higher weight: blurrier reconstructions.", "Lower weight: blurrier reconstructions."),  # high/low as settings
]
SAME = [
    (
        "Weight 0: sharp reconstructions. Weight 30: blurry ones.",
        "At kl_loss_weight=0 the digits are crisp; at 30 they are washed out and blurry.",
    ),
    ("It regularises the encoder towards the prior.", "The KL term regularizes q(z|x) towards p(z)."),
    ("Posterior collapse: z carries no information about x.", "z carries no information about x (posterior collapse)."),
    ("It is a trade-off.", "trade off between reconstruction and KL"),
]


@pytest.mark.parametrize(("a", "b"), OPPOSITE)
def test_opposite_statements_are_opposed_both_ways(a, b):
    assert opposed(cues(a), cues(b))
    assert opposed(cues(b), cues(a))


@pytest.mark.parametrize(("a", "b"), SAME)
def test_statements_saying_the_same_are_not_opposed(a, b):
    assert not opposed(cues(a), cues(b))


def test_noise_and_update_are_not_no_and_up():
    """Short antonym and negation words match whole words only."""
    assert not opposed(cues("the normal update"), cues("the normal update, no doubt"))
    assert cues("normal update").sides == frozenset()


def test_an_answer_is_split_into_statements_and_the_whole_answer_is_read_up_to_the_cap():
    assert segments("Weight 0: sharp. Weight 30: blurry, and the KL is small; done") == [
        "Weight 0: sharp",
        "Weight 30: blurry",
        "and the KL is small",
        "done",
    ]
    assert segments("  ,;  ") == []
    tail = "x" * MAX_CHARS + " thirty sharp"
    assert "30" not in {setting for setting, _ in cues(tail).anchored}


def test_overlap_is_the_share_of_shared_words():
    assert overlap(cues("sharp reconstructions"), cues("reconstructions sharp")) == 1.0
    assert overlap(cues("sharp reconstructions"), cues("completely unrelated")) == 0.0
    assert overlap(cues(""), cues("")) == 0.0


@pytest.mark.parametrize(
    "build",
    [
        lambda n: "sharp at 0, blurry at 30; " * (n // 26),  # many clauses, many settings
        lambda n: "not " * (n // 4),  # negation everywhere
        lambda n: "a" * n,  # one endless word
        lambda n: "(" * n,  # nothing but separators of nothing
    ],
)
def test_reading_an_answer_takes_time_linear_in_its_length(build):
    def read(text: str) -> object:
        return opposed(cues(text), cues(text[::-1])), segments(text)

    assert_linear(read, build, size=MAX_CHARS // 4)
