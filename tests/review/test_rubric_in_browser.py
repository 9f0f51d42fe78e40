"""Rubric items in real Chromium (Debian's, through Playwright): a click applies an item (one save per
click), an adjustment beside the items, and an item's new points shown with the marks they move and
the change in total, applied only once the grader clicks Apply; the marks on the page follow."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assignments.a10 import ASSIGNMENT
from graders.gradebook.store import Gradebook
from tests.review.conftest import Graded, Server, make_graded, question_page, start_review

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
WAIT = 180_000  # ms; generous: other graders load this machine's two cores (waits end on the event, not the clock)
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Assignment 10's kl_observe items, from its definition: +0.5, +0.5, -0.5 of a 1-point question.
BLURRY, SHARP, SWAPPED = (item.key for item in ASSIGNMENT.question("kl_observe").items)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return make_graded(tmp_path_factory.mktemp("rubric") / "reports")


@pytest.fixture(scope="module")
def review(folder: Graded) -> Iterator[Server]:
    running = start_review(folder.root, "--reviewer", "Alice")
    yield running
    running.process.terminate()
    running.process.wait(timeout=30)


@pytest.fixture
def page(browser: Any, review: Server) -> Iterator[Any]:
    yield from question_page(browser, review, "kl_observe", WAIT)


def marks(folder: Graded, submission: str) -> list[tuple[float, tuple[str, ...] | None, float]]:
    """Every mark ever saved on kl_observe for one student: (points, items, adjustment), oldest first."""
    with Gradebook.open(folder.root) as book:
        return [(m.points, m.items, m.adjustment) for m in book.manual_marks(submission) if m.question == "kl_observe"]


def group_of(page: Any, submission: str) -> Any:
    return page.locator("[data-group]", has=page.locator(f"[data-member][data-submission='{submission}']"))


def box(group: Any, key: str) -> Any:
    return group.locator(f"input[name=item][value='{key}']")


def test_items_are_clicked_onto_marks_and_an_items_new_points_move_them_once_confirmed(page, folder):
    carol = group_of(page, "carol")  # carol and seed-writeup wrote the same answer: one group
    assert carol.locator("[data-member]").count() == 2
    box(carol, BLURRY).check()
    sync_api.expect(carol.locator("[data-member][data-submission='carol']")).to_have_attribute("data-items", BLURRY, timeout=WAIT)
    sync_api.expect(carol.locator("[data-state]")).to_have_text("saved", timeout=WAIT)
    assert marks(folder, "carol") == marks(folder, "seed-writeup") == [(0.5, (BLURRY,), 0.0)]
    assert carol.locator("input[name=points]").input_value() == "0.5"
    box(carol, SHARP).check()
    sync_api.expect(carol.locator("input[name=points]")).to_have_value("1", timeout=WAIT)
    sync_api.expect(carol.locator("[data-member][data-submission='carol']")).to_have_attribute(
        "data-items", f"{BLURRY},{SHARP}", timeout=WAIT
    )
    assert marks(folder, "carol")[-1] == (1.0, (BLURRY, SHARP), 0.0) and len(marks(folder, "carol")) == 2  # one save per click

    dave = group_of(page, "dave")
    box(dave, BLURRY).check()
    sync_api.expect(dave.locator("[data-member]")).to_have_attribute("data-items", BLURRY, timeout=WAIT)
    dave.locator("input[name=adjustment]").fill("-0.25")
    dave.locator("input[name=adjustment]").press("Tab")
    sync_api.expect(dave.locator("[data-member]")).to_have_attribute("data-adjustment", "-0.25", timeout=WAIT)
    assert marks(folder, "dave")[-1] == (0.25, (BLURRY,), -0.25)

    # BLURRY from 0.5 to 0.25: the page says what it does before anything changes.
    item = page.locator(f"form[data-item-edit][data-key='{BLURRY}']")
    item.locator("input[name=points]").fill("0.25")
    item.locator("button[type=submit]").click()
    effect = item.locator("[data-effect]")
    sync_api.expect(effect).to_have_text("3 marks apply this item; 3 would change, -0.75 points in all. Apply?", timeout=WAIT)
    assert marks(folder, "carol")[-1][0] == 1.0 and marks(folder, "dave")[-1][0] == 0.25  # asked first: nothing written
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rubric-confirm.png"), full_page=True)
    item.locator("[data-apply]").click()
    sync_api.expect(item.locator("[data-state]")).to_have_text("saved; 3 marks changed", timeout=WAIT)
    assert [m[0] for m in marks(folder, "carol")] == [0.5, 1.0, 0.75]  # a history entry per changed mark
    assert marks(folder, "seed-writeup")[-1] == (0.75, (BLURRY, SHARP), 0.0)
    assert marks(folder, "dave")[-1] == (0.0, (BLURRY,), -0.25)
    # The marks on the page move without a reload, and every group's box shows the item's new points.
    sync_api.expect(carol.locator("input[name=points]")).to_have_value("0.75", timeout=WAIT)
    sync_api.expect(dave.locator("input[name=points]")).to_have_value("0", timeout=WAIT)
    sync_api.expect(carol.locator("label.item", has=page.locator(f"input[value='{BLURRY}']")).locator("[data-item-shown]")).to_have_text(
        "+0.25", timeout=WAIT
    )

    # Cancel leaves everything as it was.
    item.locator("input[name=points]").fill("0.5")
    item.locator("button[type=submit]").click()
    sync_api.expect(effect).to_have_text(re.compile("^3 marks apply this item; 3 would change, \\+0.75 points"), timeout=WAIT)
    item.locator("[data-cancel]").click()
    sync_api.expect(item.locator("[data-state]")).to_have_text("not changed", timeout=WAIT)
    assert item.locator("input[name=points]").input_value() == "0.25" and len(marks(folder, "carol")) == 3
