"""The marking queue without a browser: versions and stale saves on a real gradebook, a changed
answer back in the queue with its old text, progress counted in students, near-duplicate groups."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from graders.errors import StaleChange
from graders.gradebook.store import Grade, Gradebook, ManualEntry, ManualQuestion
from graders.results import SubmissionResult
from graders.review import views
from graders.review.views import MIN_TOKENS, answer_groups, progress, words
from tests.provenance import provenance
from tests.report.test_render import BROKEN, result
from tests.review.conftest import answers, api
from tests.review.test_api import _everything

INFO = provenance()


def student(name: str, role: str, observe: str = "Blurry.") -> SubmissionResult:
    return result(name, free_text=answers(observe, "Trade-off.", role))


@pytest.fixture
def book(tmp_path: Path):
    with Gradebook.open(tmp_path, create=True) as opened:
        opened.record_run([student("ann", "It regularises."), student("ben", "It regularises.")], info=INFO)
        yield opened


def _mark(book: Gradebook, submission: str, tag: str = "kl_role"):
    return next(q for q in book.grade(submission).questions if q.question.tag == tag)


def test_a_save_from_the_version_shown_is_kept_and_one_from_an_older_version_is_refused(book):
    assert _mark(book, "ann").version == 0  # unmarked
    (first,) = book.set_manual([ManualEntry("ann", "kl_role", 1.0, "right", version=0)], by="Alice")
    assert _mark(book, "ann").version == first.id
    # Bob's page was loaded before Alice saved: it still says 0.
    with pytest.raises(StaleChange) as refused:
        book.set_manual([ManualEntry("ann", "kl_role", 0.0, "wrong", version=0)], by="Bob")
    assert "1 by Alice" in str(refused.value) and "(right)" in str(refused.value)
    assert [m.by for m in book.manual_marks("ann")] == ["Alice"]  # nothing of Bob's was written
    # Having seen it, Bob saves from the current version: that replaces it, and history keeps both.
    book.set_manual([ManualEntry("ann", "kl_role", 0.5, "half", version=first.id)], by="Bob")
    assert [(m.by, m.points) for m in book.manual_marks("ann")] == [("Alice", 1.0), ("Bob", 0.5)]


def test_a_group_save_with_one_stale_member_writes_nothing(book):
    book.set_manual([ManualEntry("ben", "kl_role", 1.0, version=0)], by="Alice")
    with pytest.raises(StaleChange, match="ben: 1 by Alice"):
        book.set_manual([ManualEntry("ann", "kl_role", 0.0, version=0), ManualEntry("ben", "kl_role", 0.0, version=0)], by="Bob")
    assert book.manual_marks("ann") == () and len(book.manual_marks("ben")) == 1
    # A version of another question, or one never issued, is stale too.
    with pytest.raises(StaleChange):
        book.set_manual([ManualEntry("ann", "kl_observe", 1.0, version=999)], by="Bob")


def test_an_override_changed_meanwhile_is_neither_replaced_nor_cleared_unseen(book):
    first = book.set_override("ann", "closed_form.mu", score=1.0, reason="sign convention", by="Alice", version=0)
    with pytest.raises(StaleChange, match=r"now: 1 by Alice \(sign convention\)"):
        book.set_override("ann", "closed_form.mu", score=0.0, reason="no", by="Bob", version=0)
    with pytest.raises(StaleChange):
        book.clear_override("ann", "closed_form.mu", by="Bob", version=first.id + 1)
    assert [(o.by, o.cleared_at) for o in book.overrides("ann")] == [("Alice", None)]
    book.clear_override("ann", "closed_form.mu", by="Bob", version=first.id)
    with pytest.raises(StaleChange, match=r"now: none"):
        book.set_override("ann", "closed_form.mu", score=0.5, reason="half", by="Carl", version=first.id)
    assert book.grade("ann").overrides == ()


def test_a_save_of_an_answer_a_regrade_changed_since_it_was_shown_is_refused(book):
    shown = _mark(book, "ann").answer_tag
    book.record_run([student("ann", "Something else now."), student("ben", "It regularises.")], info=INFO)
    with pytest.raises(StaleChange, match="ann's answer to kl_role changed since you loaded it"):
        book.set_manual([ManualEntry("ann", "kl_role", 1.0, version=0, answer_tag=shown)], by="Alice")
    assert book.manual_marks("ann") == ()
    book.set_manual([ManualEntry("ann", "kl_role", 1.0, version=0, answer_tag=_mark(book, "ann").answer_tag)], by="Alice")
    assert _mark(book, "ann").points == 1.0


def test_a_changed_answer_is_pending_again_with_the_text_it_was_marked_as(book):
    book.set_manual([ManualEntry("ann", "kl_role", 1.0, version=0)], by="Alice")
    assert not _mark(book, "ann").pending and book.marked_answer("ann", "kl_role") is None
    book.record_run([student("ann", "It pulls q(z|x) to the prior."), student("ben", "It regularises.")], info=INFO)
    changed = _mark(book, "ann")
    assert changed.stale and changed.pending and changed.points == 1.0  # kept, but back in the queue
    assert book.marked_answer("ann", "kl_role") == "It regularises."
    (count,) = (p for p in progress(book.grades(), book.questions()) if p.tag == "kl_role")
    assert (count.students, count.marked, count.changed, count.pending) == (2, 0, 1, 2)
    # Marking it again (from its current version) takes it out of the queue.
    book.set_manual([ManualEntry("ann", "kl_role", 0.5, version=changed.version)], by="Alice")
    assert not _mark(book, "ann").pending and book.marked_answer("ann", "kl_role") is None


def test_progress_counts_students_not_groups_and_leaves_out_ungraded_ones(tmp_path):
    same = [student(f"s{i}", "Same words here.") for i in range(5)]
    with Gradebook.open(tmp_path, create=True) as book:
        book.record_run([*same, student("odd", "Other."), BROKEN], info=INFO)
        (group, _) = answer_groups(book.grades(), "kl_role")
        book.set_manual([ManualEntry(s, "kl_role", 1.0) for s in (m.submission for m in group.members)], by="ta")
        counts = {p.tag: p for p in progress(book.grades(), book.questions())}
    assert (counts["kl_role"].marked, counts["kl_role"].students, counts["kl_role"].pending) == (5, 6, 1)
    assert (counts["kl_observe"].marked, counts["kl_observe"].pending) == (0, 6)


def _grouped(texts: list[str]) -> list[set[str]]:
    """The groups of these answers to kl_role, each as the set of its variants' texts, in page order."""
    questions = (ManualQuestion("kl_role", "What is the role of the KL divergence term?", 1.0),)
    grades = [Grade.unmarked(student(f"s{i:05d}", text), questions) for i, text in enumerate(texts)]
    return [{v.answer for v in group.variants} for group in answer_groups(grades, "kl_role")]


def test_near_duplicates_share_a_group_and_different_answers_do_not():
    texts = [
        "The KL term pulls the posterior towards the standard normal prior.",
        "the KL term  pulls the posterior towards the standard normal prior",  # case, spacing, punctuation
        "The KL term pulls the posterior toward the standard normal prior.",  # one word of ten differs
        "It makes the decoder sharper.",
        "It makes the decoder blurrier.",  # 4 of 6 words shared: not near enough
        "Sharper.",
        "sharper",
        "",
    ]
    assert _grouped(texts) == [set(texts[:3]), {texts[5], texts[6]}, {texts[4]}, {texts[3]}, {""}]  # unanswered last


@pytest.mark.parametrize(
    ("answer", "opposite"),
    [
        (  # the same words, two swapped: the runs' descriptions change places
            "At weight 0 the reconstructions are sharp and at weight 30 they are blurry and look alike.",
            "At weight 0 the reconstructions are blurry and at weight 30 they are sharp and look alike.",
        ),
        (  # a negation added to a long answer
            "The KL term keeps the posterior close to the prior so the latent space stays smooth and regular.",
            "The KL term does not keep the posterior close to the prior so the latent space stays smooth and regular.",
        ),
        (  # "isn't" against "is"
            "With a large weight the KL term is small and the reconstructions look like an average digit.",
            "With a large weight the KL term isn't small and the reconstructions look like an average digit.",
        ),
        (  # one number changed
            "With the weight at 30 the reconstructions are blurry and every digit looks like the same average one.",
            "With the weight at 0 the reconstructions are blurry and every digit looks like the same average one.",
        ),
        (  # German: "nicht" added
            "Bei Gewicht 30 sind die Rekonstruktionen unscharf und sehen alle wie eine mittlere Ziffer aus.",
            "Bei Gewicht 30 sind die Rekonstruktionen nicht unscharf und sehen alle wie eine mittlere Ziffer aus.",
        ),
    ],
)
def test_answers_that_may_say_the_opposite_never_share_a_group_however_many_words_they_share(answer, opposite):
    assert sorted(map(sorted, _grouped([answer, opposite]))) == sorted([[answer], [opposite]])  # two groups of one


def test_any_two_words_swapped_in_an_answer_leave_it_out_of_its_group():
    rng = random.Random(11)  # noqa: S311 - test data, not a secret
    vocabulary = [f"w{i}" for i in range(300)]
    for _ in range(200):
        sentence = rng.sample(vocabulary, rng.randint(MIN_TOKENS, 40))
        i, j = sorted(rng.sample(range(len(sentence)), 2))
        swapped = [*sentence[:i], sentence[j], *sentence[i + 1 : j], sentence[i], *sentence[j + 1 :]]
        assert len(_grouped([" ".join(sentence), " ".join(swapped)])) == 2


def test_grouping_is_bounded_whatever_the_answers_hold():
    """Each answer is compared with at most SKETCH × MAX_CANDIDATES groups on at most MAX_TOKENS words:
    thousands of answers that all share their commonest words still group, each with its near twin."""
    rng = random.Random(7)  # noqa: S311 - test data, not a secret
    vocabulary = [f"w{i}" for i in range(5000)]
    common = " ".join(vocabulary[:5])  # words every answer has
    texts = []
    for _ in range(1500):
        own = rng.sample(vocabulary[5:], 20)
        texts.append(f"{common} {' '.join(own)}")
        texts.append(f"{common} {' '.join(own[:-1])} extra")  # its near twin: one word of 25 differs
    groups = _grouped(texts)
    assert len(groups) == 1500 and all(len(g) == 2 for g in groups)
    assert len(words(" ".join(vocabulary))) == views.MAX_TOKENS  # a long answer is compared on its first words


def test_the_api_refuses_a_stale_save_with_409_and_says_whose_mark_is_there(server, graded):
    """dave's kl_explain belongs to this test in this module."""
    status, state = api(server, "GET", "/api/questions/kl_explain/marks")
    assert status == 200 and state["members"]["dave"]["version"] == 0
    status, saved = api(server, "PUT", "/api/questions/kl_explain/marks", {"submissions": ["dave"], "points": 1, "versions": {"dave": 0}})
    assert status == 200
    status, refused = api(
        server, "PUT", "/api/questions/kl_explain/marks", {"submissions": ["dave"], "points": 0, "versions": {"dave": 0}}, X_Reviewer="Bob"
    )
    assert status == 409 and "1 by TA Alice" in refused["error"]
    status, refused = api(server, "PUT", "/api/submissions/dave/manual/kl_explain", {"points": 0, "version": 0})
    assert status == 409
    tag = state["members"]["dave"]["answer"]
    wrong = "0" * 16 if tag != "0" * 16 else "1" * 16
    body = {"points": 0, "version": saved["marks"]["dave"]["version"], "answer": wrong}
    assert api(server, "PUT", "/api/submissions/dave/manual/kl_explain", body)[0] == 409  # not the answer it showed
    status, state = api(server, "GET", "/api/questions/kl_explain/marks")
    assert state["members"]["dave"]["mark"]["points"] == 1.0 and state["members"]["dave"]["version"] == saved["marks"]["dave"]["version"]
    # Polling is cheap when nothing changed: the revision alone comes back.
    assert api(server, "GET", f"/api/questions/kl_explain/marks?since={state['revision']}")[1] == {"revision": state["revision"]}
    assert api(server, "GET", f"/api/progress?since={state['revision']}")[1] == {"revision": state["revision"]}


def test_the_api_refuses_a_stale_override_with_409(server, graded):
    """solution's closed_form.sigma belongs to this test in this module."""
    path = "/api/submissions/solution/overrides/closed_form.sigma"
    status, saved = api(server, "PUT", path, {"score": 1, "reason": "ok", "version": 0})
    assert status == 200
    assert api(server, "PUT", path, {"score": 0, "reason": "no", "version": 0})[0] == 409
    assert api(server, "DELETE", path + "?version=0")[0] == 409
    assert api(server, "DELETE", path + "?version=x")[0] == 400
    with Gradebook.open(graded.root) as book:
        (override,) = book.grade("solution").overrides
    assert override.reason == "ok"
    assert api(server, "DELETE", f"{path}?version={override.id}")[0] == 200


@pytest.mark.parametrize(
    "body",
    [
        {"submissions": ["carol"], "points": 1, "versions": {"carol": -1}},
        {"submissions": ["carol"], "points": 1, "versions": {"carol": "3"}},
        {"submissions": ["carol"], "points": 1, "versions": {"carol": True}},
        {"submissions": ["carol", "dave"], "points": 1, "versions": {"carol": 0}},
        {"submissions": ["carol"], "points": 1, "versions": [0]},
        {"submissions": ["carol"], "points": 1, "answers": {"carol": "ABCDEF0123456789"}},
        {"submissions": ["carol"], "points": 1, "answers": {"carol": "0123"}},
        {"submissions": ["carol"], "points": 1, "answers": {"carol": 5}},
    ],
)
def test_a_malformed_version_or_answer_tag_is_a_400(server, graded, body):
    before = _everything(graded)
    status, answer = api(server, "PUT", "/api/questions/kl_observe/marks", body)
    assert status == 400 and ("versions" in answer["error"] or "answers" in answer["error"])
    assert _everything(graded) == before
