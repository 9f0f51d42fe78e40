"""Release and duplicates in the review app, in real Chromium (Debian's, through Playwright): the class
page's release button (confirmed, sent with the token header; refused without it), what it changes for
the student's report, a mark after release flagged "changed since release" on both pages while the
student keeps the released report, and two submissions for one student flagged on both pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from graders.gradebook import record_run
from graders.gradebook.store import ManualEntry
from graders.pipeline.staff import rerender, set_manual
from graders.report.render import publish
from tests.provenance import provenance
from tests.review.conftest import CAROL, STUDENTS, Graded, Server, api, start_review

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

CAROL_AGAIN = replace(CAROL, submission="carol~2")  # intake's name for carol's second notebook


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    root = tmp_path_factory.mktemp("release") / "reports"
    results = (*STUDENTS, CAROL_AGAIN)
    for result in results:
        result.write(root / result.submission / "results.json")
    record_run(root, results, provenance())
    publish(root)
    return Graded(root, results)


@pytest.fixture(scope="module")
def review(folder: Graded) -> Iterator[Server]:
    running = start_review(folder.root, "--reviewer", "TA Alice")
    yield running
    running.process.terminate()
    running.process.wait(timeout=30)


@pytest.fixture
def page(browser: Any, review: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(180_000)  # generous: other graders load this machine's two cores
    opened = context.new_page()
    opened.goto(review.url)  # the printed address sets the token cookie
    yield opened
    context.close()


def expect(locator: Any) -> Any:
    return sync_api.expect(locator)


def flags_of(page: Any, submission: str) -> Any:
    return page.locator(f"tr[data-submission='{submission}'] td[data-key=flags]")


def report(folder: Graded, submission: str) -> bytes:
    return (folder.root / submission / "report.html").read_bytes()


def test_two_submissions_for_one_student_are_flagged_on_the_class_and_student_pages(page, review):
    expect(flags_of(page, "carol")).to_contain_text("duplicate: same student as carol~2")
    expect(flags_of(page, "carol~2")).to_contain_text("duplicate: same student as carol")
    expect(flags_of(page, "dave")).not_to_contain_text("duplicate")
    page.goto(review.base + "/submissions/carol~2")
    expect(page.locator("[data-flag]", has_text="duplicate")).to_have_text("duplicate: same student as carol")


def test_release_button_releases_and_a_later_mark_is_flagged_until_released_again(page, review, folder):
    # Refused without the token in a header, as every change: nothing released.
    assert api(review, "POST", "/api/release", token="wrong")[0] == 403  # noqa: S106 - a wrong token is the test
    assert not (folder.root / "release.json").exists()
    expect(page.get_by_test_id("release-state")).to_contain_text("Not released")
    expect(page.locator("tr[data-submission='dave'] td[data-key=score]")).to_contain_text("provisional")
    assert b"(provisional)" in report(folder, "dave")

    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("[data-release]")
    expect(page.get_by_test_id("release-state")).to_contain_text("Released")  # after the page reloads
    assert len(asked) == 1 and "not marked yet" in asked[0]  # nothing was marked: the grader was told first
    manifest = json.loads((folder.root / "release.json").read_text(encoding="utf-8"))
    assert manifest["by"] == "TA Alice" and set(manifest["students"]) == {s.submission for s in folder.results}
    expect(page.locator("tr[data-submission='dave'] td[data-key=score]")).not_to_contain_text("provisional")
    sent = report(folder, "dave")
    assert b"provisional" not in sent.lower()

    # A mark after release: dave is flagged, his report stays the one he was sent.
    set_manual(reports=folder.root, entries=[ManualEntry("dave", "kl_observe", 1.0, "late mark")], by="TA Bob")
    assert rerender(folder.root)
    page.reload()
    expect(flags_of(page, "dave")).to_contain_text("changed since release")
    expect(flags_of(page, "carol")).not_to_contain_text("changed since release")
    expect(page.get_by_test_id("changed")).to_have_text("1")
    assert report(folder, "dave") == sent
    assert b"late mark" in (folder.root / "dave" / "unreleased" / "report.html").read_bytes()
    page.goto(review.base + "/submissions/dave")
    expect(page.locator("[data-flag]", has_text="changed since release")).to_be_visible()

    page.goto(review.base + "/")
    page.click("[data-release]")
    expect(page.get_by_test_id("release-state")).not_to_contain_text("changed")
    expect(flags_of(page, "dave")).not_to_contain_text("changed since release")
    assert b"late mark" in report(folder, "dave")
