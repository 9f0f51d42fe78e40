"""The grade-by-question page's groups by meaning and suggestions, as views computes them from real grades:
text groups gathered as the clustering says (unanswered ones alone, last), a suggestion shown on a group only
when every member is unmarked and has that same one, its points what saving its items gives."""

from __future__ import annotations

from pathlib import Path

from assignments.a10 import ASSIGNMENT
from graders.assist.suggest import Suggestion
from graders.gradebook.store import Gradebook, ManualEntry
from graders.review.views import answer_groups, by_meaning, group_suggestion
from tests.provenance import provenance
from tests.report.test_render import result
from tests.review.conftest import answers

BLURRY, SHARP, SWAPPED = (item.key for item in ASSIGNMENT.question("kl_observe").items)
OBSERVE = {"a1": "Blurry at 30.", "a2": "blurry at 30.", "b": "Sharp at 0.", "c": "The loss goes down.", "e": ""}


def book_of(tmp_path: Path) -> Gradebook:
    book = Gradebook.open(tmp_path, create=True)
    book.record_run([result(s, None, free_text=answers(text, "x", "y")) for s, text in OBSERVE.items()], info=provenance())
    return book


def test_text_groups_are_gathered_as_clustered_and_unanswered_ones_stay_alone_last(tmp_path):
    with book_of(tmp_path) as book:
        groups = answer_groups(book.grades(), "kl_observe")
    seen: list[list[str]] = []

    def cluster(texts: list[str]) -> list[list[int]]:
        seen.append(texts)
        return [[1, 0], [2]]  # the second text group first, as the most central

    gathered = by_meaning(groups, cluster)
    (texts,) = seen
    assert "" not in texts and len(texts) == 3  # the unanswered group is never clustered
    assert [[g.key for g in m.groups] for m in gathered] == [[groups[1].key, groups[0].key], [groups[2].key], [""]]
    assert gathered[0].size == len(groups[0].members) + len(groups[1].members)


def test_a_suggestion_shows_only_when_every_member_is_unmarked_and_has_the_same(tmp_path):
    with book_of(tmp_path) as book:
        items = book.rubric("kl_observe")
        groups = {g.members[0].submission: g for g in answer_groups(book.grades(), "kl_observe")}
        pair = groups["a1"]  # a1 and a2 read the same
        assert {m.submission for m in pair.members} == {"a1", "a2"}
        swapped = {s: Suggestion(s, frozenset({SWAPPED}), -0.5, 0.6) for s in ("a1", "a2")}
        shown = group_suggestion(pair, items, swapped, 1.0)
        assert shown is not None and [i.key for i in shown.items] == [SWAPPED]
        assert shown.points == 0.0  # a mark's points are bounded to 0..max, as saving them gives
        both = {"a1": Suggestion("a1", frozenset({BLURRY, SHARP}), 1.0, 0.9), "a2": Suggestion("a2", frozenset({BLURRY, SHARP}), 1.0, 0.4)}
        least = group_suggestion(pair, items, both, 1.0)
        assert least is not None and least.confidence == 0.4  # the least sure member's
        assert group_suggestion(pair, items, {"a1": swapped["a1"]}, 1.0) is None  # a2 abstained
        assert group_suggestion(pair, items, {**swapped, "a2": both["a2"]}, 1.0) is None  # they differ
        book.set_manual([ManualEntry("a2", "kl_observe", 0.5, items=(BLURRY,))], by="ta")
        pair = next(g for g in answer_groups(book.grades(), "kl_observe") if "a1" in {m.submission for m in g.members})
        assert group_suggestion(pair, items, swapped, 1.0) is None  # one is marked already


def test_staff_regrouping_applies_in_order_and_passes_over_groups_no_longer_there():
    from graders.gradebook.store import MeaningEdit
    from graders.review.views import regathered

    def edit(key: str, joined: str | None) -> MeaningEdit:
        return MeaningEdit("kl_observe", key, joined, "ta", "2026-12-07T00:00:00+00:00")

    keys = ["a", "b", "c", "d"]
    model = [[1, 0], [2], [3]]  # b leads a (the most central first); c and d alone
    assert regathered(model, keys, []) == model
    assert regathered(model, keys, [edit("a", None)]) == [[0], [1], [2], [3]]
    assert regathered(model, keys, [edit("d", "b")]) == [[1, 0, 3], [2]]  # joins after the gathering's own
    assert regathered(model, keys, [edit("d", "b"), edit("b", None)]) == [[0, 3], [1], [2]]  # d stays where it went
    assert regathered(model, keys, [edit("gone", None), edit("c", "gone")]) == model  # answers changed since
