"""The marking queue in real Chromium (Debian's, through Playwright): keyboard marking with one save
per Enter, counts that move without a reload, two graders on the same group (the stale save refused
and the other's mark shown), split and merge, empty answers marked 0, a changed answer back in the queue.

Its own folder and server (started without --reviewer: each browser context is a different grader).
Each test owns one question: kl_observe the two graders, kl_explain the keyboard, kl_role the groups.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from graders.gradebook import record_run
from graders.gradebook.store import Gradebook
from tests.provenance import provenance
from tests.review.conftest import CAROL, STUDENTS, Graded, Server, answers, make_graded, start_review

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
WAIT = 180_000  # ms; generous: other graders load this machine's two cores (waits end on the event, not the clock)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
GRADED = [s.submission for s in STUDENTS if s.status.value == "graded"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return make_graded(tmp_path_factory.mktemp("queue") / "reports")


@pytest.fixture(scope="module")
def review(folder: Graded) -> Iterator[Server]:
    running = start_review(folder.root)
    yield running
    running.process.terminate()
    running.process.wait(timeout=30)


@pytest.fixture
def grader(browser: Any, review: Server) -> Iterator[Any]:
    """grader("Alice") → a page in a browser context of its own, reviewing as Alice."""
    contexts = []
    dialogs: list[str] = []

    def open_as(name: str) -> Any:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(180_000)  # generous: other graders load this machine's two cores
        context.add_init_script(f"localStorage.setItem('grader-reviewer', {name!r})")
        contexts.append(context)
        context.on("page", lambda page: page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())))
        page = context.new_page()
        page.goto(review.url)  # the printed address sets the token cookie
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert dialogs == [], f"a dialog fired (a reviewer prompt, or worse): {dialogs}"


def marks(folder: Graded, question: str) -> dict[str, list[tuple[str, float, str]]]:
    """Every mark ever saved on one question, per submission: (by, points, comment), oldest first."""
    with Gradebook.open(folder.root) as book:
        return {s: [(m.by, m.points, m.comment) for m in book.manual_marks(s) if m.question == question] for s in GRADED}


def group_of(page: Any, submission: str) -> Any:
    return page.locator("[data-group]", has=page.locator(f"[data-member][data-submission='{submission}']"))


def progress(page: Any) -> str:
    return page.text_content("[data-testid=progress]")


def eventually(locator: Any) -> Any:
    """Playwright's retrying assertions (polled from here: the pages' policy allows no eval)."""
    return sync_api.expect(locator)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_keyboard_marking_saves_once_per_enter_moves_the_counts_and_ends_at_the_next_question(grader, review, folder):
    page = grader("Alice")
    overview = page.context.new_page()
    overview.goto(review.base + "/")
    pending_before = int(overview.text_content("[data-testid=pending]"))
    page.goto(review.base + "/questions/kl_explain")
    assert progress(page) == f"0 of {len(GRADED)} students marked"
    eventually(page.locator("nav [data-progress-for=kl_explain]")).to_have_text("0/5", timeout=WAIT)

    groups = page.locator("[data-group]").count()
    page.keyboard.press("Alt+ArrowDown")
    marked = 0
    for n in range(groups):
        group = page.locator("[data-group].current")
        size = len(group.locator("[data-member]").all())
        page.keyboard.type("1" if n % 2 == 0 else "0.5")
        page.keyboard.press("Enter")
        marked += size
        # The counters move without a reload: here, in the navigation, and on the class page in another tab.
        eventually(page.locator("[data-testid=progress]")).to_have_text(re.compile(f"^{marked} of "), timeout=WAIT)
        eventually(page.locator("nav [data-progress-for=kl_explain]")).to_have_text(f"{marked}/5", timeout=WAIT)
    eventually(overview.locator("[data-testid=pending]")).to_have_text(str(pending_before - len(GRADED)), timeout=WAIT)
    # After the last group, Enter leads on to the next question.
    eventually(page.locator("[data-next-question]")).to_be_focused(timeout=WAIT)
    assert page.get_attribute("[data-next-question]", "href") == "/questions/kl_role"
    # Exactly one save per Enter: one history entry per student, not two (key handler and change event).
    saved = marks(folder, "kl_explain")
    assert all(len(saved[s]) == 1 for s in GRADED), saved
    assert page.locator("[data-group]:not(.marked)").count() == 0
    shot(page, "queue-keyboard")


def test_two_graders_on_one_group_a_stale_save_is_refused_and_the_other_mark_shown(grader, review, folder):
    alice, bob = grader("Alice"), grader("Bob")
    for page in (alice, bob):
        page.goto(review.base + "/questions/kl_observe")
    # carol and seed-writeup wrote the same answer: one group, open in both pages.
    assert group_of(alice, "carol").locator("[data-member]").count() == 2
    bob_group = group_of(bob, "carol")
    bob_group.locator("input[name=points]").fill("0")  # Bob starts typing his mark

    alice_group = group_of(alice, "carol")
    alice_group.locator("input[name=points]").fill("1")
    alice_group.locator("input[name=points]").press("Enter")
    alice_group.locator("[data-state]", has_text="saved").wait_for()

    # Bob's page learns of Alice's mark by itself, and keeps what Bob typed.
    bob_group.locator("[data-status]", has_text="marked by Alice").wait_for()
    assert bob_group.locator("input[name=points]").input_value() == "0"
    bob_group.locator("input[name=points]").press("Enter")
    refusal = bob_group.locator("[data-state]", has_text="not saved")
    refusal.wait_for()
    assert re.search(r"carol: 1 by Alice", refusal.text_content())
    assert marks(folder, "kl_observe")["carol"] == [("Alice", 1.0, "")]  # nothing of Bob's was written
    shot(bob, "queue-stale-save")

    # Having seen it, Bob saves again: now that replaces it, and Alice's page follows without a reload.
    bob_group.locator("input[name=points]").press("Enter")
    bob_group.locator("[data-state]", has_text="saved").wait_for()
    assert marks(folder, "kl_observe")["carol"] == [("Alice", 1.0, ""), ("Bob", 0.0, "")]
    alice_group.locator("[data-status]", has_text="marked by Bob").wait_for()
    assert alice_group.locator("input[name=points]").input_value() == "0"

    # A group only Alice marks turns marked in Bob's page too, with her points in its box.
    alice.locator("[data-group]", has=alice.locator("[data-member][data-submission='dave']")).locator("input[name=points]").fill("1")
    group_of(alice, "dave").locator("input[name=points]").press("Enter")
    eventually(group_of(bob, "dave")).to_have_class(re.compile(r"\bmarked\b"), timeout=WAIT)
    assert group_of(bob, "dave").locator("input[name=points]").input_value() == "1"


def test_groups_split_and_merge_empty_answers_get_0_and_a_changed_answer_comes_back(grader, review, folder):
    page = grader("Alice")
    page.goto(review.base + "/questions/kl_role")
    # carol and dave wrote the same sentence (case and spacing apart): split them to mark them apart.
    pair = group_of(page, "carol")
    assert pair.locator("[data-member]").count() == 2
    pair.locator("[data-split]").click()
    assert group_of(page, "carol").locator("[data-member]").count() == 1 and group_of(page, "dave").locator("[data-member]").count() == 1
    group_of(page, "carol").locator("input[name=points]").fill("1")
    group_of(page, "carol").locator("input[name=points]").press("Enter")
    group_of(page, "carol").locator("[data-state]", has_text="saved").wait_for()
    group_of(page, "dave").locator("input[name=points]").fill("0.5")
    group_of(page, "dave").locator("input[name=points]").press("Enter")
    group_of(page, "dave").locator("[data-state]", has_text="saved").wait_for()
    saved = marks(folder, "kl_role")
    assert (saved["carol"], saved["dave"]) == ([("Alice", 1.0, "")], [("Alice", 0.5, "")])

    # The two unanswered ones: one click marks them 0.
    page.click("[data-mark-empty]")
    page.locator("[data-tools-state]", has_text="marked 2 empty answers 0").wait_for()
    saved = marks(folder, "kl_role")
    assert saved["seed-writeup"] == saved["solution"] == [("Alice", 0.0, "no answer")]

    # Merge: tick carol's and mallory's groups, one mark for both.
    mallory = next(s for s in GRADED if s.startswith("mallory"))
    group_of(page, "carol").locator("[data-pick]").check()
    group_of(page, mallory).locator("[data-pick]").check()
    page.click("[data-merge]")
    merged = group_of(page, "carol")
    assert merged.locator("[data-member]").count() == 2 and group_of(page, mallory).count() == 1
    # Different marks in one group are listed, not shown as an empty box.
    assert merged.locator("[data-mixed] li").all_text_contents() == ["carol: 1 by Alice", f"{mallory}: not marked"]
    merged.locator("input[name=points]").fill("0.25")
    merged.locator("input[name=points]").press("Enter")
    merged.locator("[data-state]", has_text="saved").wait_for()
    saved = marks(folder, "kl_role")
    assert saved["carol"][-1] == saved[mallory][-1] == ("Alice", 0.25, "")
    eventually(page.locator("[data-testid=progress]")).to_have_text(f"{len(GRADED)} of {len(GRADED)} students marked", timeout=WAIT)

    # carol rewrites her answer and is graded again: her answer is pending again, old and new side by side.
    changed = replace(CAROL, free_text=answers("Blurry at 30.", "Trade-off.", "It keeps the latent space close to N(0, I)."))
    record_run(folder.root, [changed if s.submission == "carol" else s for s in STUDENTS], provenance(grader_version="9.9"))
    eventually(page.locator("[data-testid=progress]")).to_have_text(re.compile("^4 of "), timeout=WAIT)  # no reload
    # The page still shows the old text, and says so: a save from it would be refused.
    eventually(group_of(page, "carol").locator("[data-state]")).to_have_text(re.compile("changed since this page loaded"), timeout=WAIT)
    page.reload()
    assert progress(page) == f"4 of {len(GRADED)} students marked (1 changed since marked)"
    carol = group_of(page, "carol")
    assert "marked" not in (carol.get_attribute("class") or "")
    # Rendered as markdown: the text as written, whatever whitespace the rendering adds around it.
    assert carol.locator("[data-changed] [data-old]").text_content().strip() == CAROL.free_text[2].answer
    assert carol.locator("[data-changed] [data-new]").text_content().strip() == "It keeps the latent space close to N(0, I)."
    page.keyboard.press("j")  # the queue goes to it: it is the only unmarked answer
    assert page.evaluate("document.activeElement.closest('[data-group]').querySelector('[data-member]').dataset.submission") == "carol"
    shot(page, "queue-changed-answer")
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    carol.locator("[data-state]", has_text="saved").wait_for()
    eventually(page.locator("[data-testid=progress]")).to_have_text("5 of 5 students marked", timeout=WAIT)
