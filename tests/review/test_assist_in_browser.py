"""Groups by meaning and suggested marks in real Chromium (Debian's, through Playwright), on the real model
(the `assist` extra; skipped without it): paraphrases shown together, one taken out by hand; a suggestion
accepted with one key and recorded as an accepted suggestion; an abstention shown as nothing.

The folder's answers to kl_observe: six marked with rubric items before the server starts, and unmarked ones
chosen (and measured on the model, tests/assist) to get a suggestion, an abstention, or a meaning group.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assignments.a10 import ASSIGNMENT
from graders.assist import embed
from graders.errors import MissingExtra
from graders.gradebook import record_run
from graders.gradebook.store import Gradebook, ManualEntry
from tests.provenance import provenance
from tests.report.test_render import result
from tests.review.conftest import Server, answers, question_page, start_review

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
WAIT = 180_000  # ms; generous: other graders load this machine's two cores (waits end on the event, not the clock)
# Assignment 10's kl_observe items, from its definition: +0.5, +0.5, -0.5 of a 1-point question.
BLURRY, SHARP, SWAPPED = (item.key for item in ASSIGNMENT.question("kl_observe").items)
SWAPPED_TEXT = ASSIGNMENT.question("kl_observe").items[2].text
MARKED = {
    "m1": ("At weight 0 the reconstructions are sharp, at weight 30 they are blurry.", (BLURRY, SHARP), 1.0),
    "m2": ("At weight 0 the reconstructions are blurry, at weight 30 they are sharp.", (SWAPPED,), 0.0),
    "m3": ("With weight 30 the reconstructions are blurry.", (BLURRY,), 0.5),
    "m4": ("The training loss goes down.", (), 0.0),
    "m5": ("I could not run the notebook.", (), 0.0),
    "m6": ("With weight 0 the reconstructions are sharp.", (SHARP,), 0.5),
}
UNMARKED = {
    "swap": "Sharp at 30, blurry at 0.",  # the runs the wrong way round, as m2: a suggestion (that item, 0 points)
    "para": "With weight 0 reconstructions look sharp, with weight 30 they look blurry.",  # unsure: an abstention
    "loss1": "Training loss decreases.",  # these two mean the same in other words (cosine 0.96)
    "loss2": "The loss decreases during training.",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        embed.load()
    except MissingExtra as missing:
        pytest.skip(str(missing))
    root = tmp_path_factory.mktemp("assist") / "reports"
    texts = {**{s: t for s, (t, _, _) in MARKED.items()}, **UNMARKED}
    results = [result(s, None, free_text=answers(text, "Trade-off.", "It regularises.")) for s, text in texts.items()]
    for graded in results:
        graded.write(root / graded.submission / "results.json")
    record_run(root, results, provenance())
    with Gradebook.open(root) as book:
        book.set_manual([ManualEntry(s, "kl_observe", points, items=items) for s, (_, items, points) in MARKED.items()], by="ta")
    return root


@pytest.fixture(scope="module")
def review(folder: Path) -> Iterator[Server]:
    running = start_review(folder, "--reviewer", "Alice", assist=True)
    yield running
    running.process.terminate()
    running.process.wait(timeout=30)


@pytest.fixture
def page(browser: Any, review: Server) -> Iterator[Any]:
    yield from question_page(browser, review, "kl_observe", WAIT)


def group_of(page: Any, submission: str) -> Any:
    return page.locator("[data-group]", has=page.locator(f"[data-member][data-submission='{submission}']"))


def gathering_of(page: Any, submission: str) -> Any:
    return page.locator("[data-meaning]", has=page.locator(f"[data-member][data-submission='{submission}']"))


def test_answers_meaning_the_same_are_shown_together_and_one_can_be_taken_out(page):
    assert page.locator("[data-assist]").count() == 1 and page.locator("[data-assist-missing]").count() == 0
    together = gathering_of(page, "loss1")
    assert together.locator("[data-member][data-submission='loss2']").count() == 1
    assert "2 answers in 2 groups" in together.locator("[data-meaning-head]").inner_text()
    # The runs the wrong way round are not gathered with the right way round, nor share its text group although
    # they have the same words; the right way round in other words is gathered with it.
    assert gathering_of(page, "m1").locator("[data-member][data-submission='swap']").count() == 0
    assert group_of(page, "m1").locator("[data-member][data-submission='m2']").count() == 0
    assert gathering_of(page, "m1").locator("[data-member][data-submission='m2']").count() == 0
    assert gathering_of(page, "m1").locator("[data-member][data-submission='para']").count() == 1
    group_of(page, "loss2").locator("[data-take-out]").click()
    assert gathering_of(page, "loss2").locator("[data-member][data-submission='loss1']").count() == 0
    assert gathering_of(page, "loss1").locator("[data-meaning-head]").count() == 0  # alone now: no heading
    assert gathering_of(page, "loss1").locator("[data-take-out]").count() == 0
    assert gathering_of(page, "loss2").locator("[data-take-out]").count() == 0
    assert group_of(page, "loss1").count() == 1 and group_of(page, "loss2").count() == 1  # each keeps its own mark form


def test_a_suggestion_is_accepted_with_one_key_and_recorded_as_one(page, folder):
    swap = group_of(page, "swap")
    suggestion = swap.locator("[data-suggestion]")
    assert SWAPPED_TEXT in suggestion.inner_text() and suggestion.get_attribute("data-items") == SWAPPED
    swap.locator("input[name=points]").focus()  # the group is the current one
    page.keyboard.press("a")
    swap.locator("[data-state]", has_text="saved").wait_for()
    assert suggestion.is_hidden()  # marked now: no suggestion stands
    with Gradebook.open(folder) as book:
        (mark,) = (m for m in book.manual_marks("swap") if m.question == "kl_observe")
    assert (mark.items, mark.points, mark.suggested, mark.by) == ((SWAPPED,), 0.0, True, "Alice")


def test_an_abstention_shows_nothing_and_marked_answers_show_no_suggestion(page):
    assert group_of(page, "para").locator("[data-suggestion]").count() == 0
    assert group_of(page, "para").locator("form[data-mark] input[name=item]:checked").count() == 0
    for marked in MARKED:
        assert group_of(page, marked).locator("[data-suggestion]").count() == 0


def test_the_most_informative_answer_is_one_key_away_and_the_next_comes_after_a_reload(page):
    """Unmarked without a suggestion: para (alone in meaning) and loss1, loss2 (near each other): marking either
    loss answer settles two students, para one. Once it is marked, the key reloads the page for the next pick."""
    picked = page.locator("[data-group][data-informative]")
    assert picked.count() == 1
    page.locator("h1").click()  # outside every text box
    page.keyboard.press("i")
    current = page.locator("[data-group].current")
    current.wait_for()
    (first,) = (s for s in ("loss1", "loss2") if current.locator(f"[data-member][data-submission='{s}']").count())
    assert current.locator("input[name=points]").evaluate("box => box === document.activeElement")
    current.locator("input[name=points]").fill("0")
    current.locator("input[name=points]").press("Enter")
    group_of(page, first).locator("[data-state]", has_text="saved").wait_for()
    page.locator("h1").click()
    with page.expect_navigation():
        page.keyboard.press("i")
    current = page.locator("[data-group].current")
    current.wait_for()
    assert current.get_attribute("data-informative") is not None and "marked" not in (current.get_attribute("class") or "")
    assert current.locator(f"[data-member][data-submission='{first}']").count() == 0
    assert current.locator("[data-member][data-pending='true']").count() == len(current.locator("[data-member]").all())


def test_regrouping_by_meaning_is_kept_across_reloads(page):
    """para, m1's meaning in other words, is taken out of m1's gathering and stays out after a reload; gathered
    back by hand, it is with m1 again after the next."""
    assert gathering_of(page, "m1").locator("[data-member][data-submission='para']").count() == 1
    group_of(page, "para").locator("[data-take-out]").click()
    page.locator("[data-tools-state]", has_text="taken out (kept)").wait_for()
    page.reload()
    assert gathering_of(page, "m1").locator("[data-member][data-submission='para']").count() == 0
    assert gathering_of(page, "para").locator("[data-meaning-head]").count() == 0  # alone
    group_of(page, "para").locator("[data-pick]").check()
    group_of(page, "m1").locator("[data-pick]").check()
    with page.expect_navigation():
        page.locator("[data-gather]").click()
    assert gathering_of(page, "m1").locator("[data-member][data-submission='para']").count() == 1
    page.reload()
    assert gathering_of(page, "m1").locator("[data-member][data-submission='para']").count() == 1
