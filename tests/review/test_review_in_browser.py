"""`grader review` in real headless Chromium (Debian's, driven by Playwright; no browser download).

Skipped when chromium is missing, except in CI (CI set), where that is a failure. Screenshots of
the three pages are kept in tests/review/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from graders.cli import main
from graders.gradebook.store import Gradebook
from tests.review.conftest import ALERT, MALLORY, TEXTAREA, api

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
MEMBERS = "(group => Array.from(group.querySelectorAll('[data-member]'), m => m.dataset.submission))"  # a group's students


@dataclass
class Watch:
    """What a page did that it must not: dialogs, requests to other hosts, script errors."""

    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser, server) -> Iterator:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(180_000)  # generous: other graders load this machine's two cores
    watch = Watch()

    def route(route) -> None:
        url = route.request.url
        watch.requests.append(url)
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in LOCAL_HOSTS:
            watch.foreign.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: (watch.dialogs.append(dialog.message), dialog.dismiss()))
    tab.watch = watch
    tab.goto(server.url)  # the printed address: its ?token= sets the cookie the other pages use
    yield tab
    context.close()
    assert watch.dialogs == [], f"a dialog fired: {watch.dialogs}"
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def visible_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "table[data-table=submissions] tbody tr:not([hidden])", "rows => rows.map(r => r.getAttribute('data-submission'))"
    )


def visible_scores(page) -> list[float]:
    return [
        float(v)
        for v in page.eval_on_selector_all(
            "table[data-table=submissions] tbody tr:not([hidden]) td[data-key=score]",
            "cells => cells.map(c => c.getAttribute('data-value'))",
        )
    ]


def test_class_page_sorts_filters_and_links_to_students(page, server, graded):
    page.goto(server.url)
    assert page.title() == "Class · grader review"
    every = sorted(r.submission for r in graded.results)
    assert sorted(visible_ids(page)) == every
    page.click("button[data-sort=score]")
    ascending = visible_scores(page)
    assert ascending == sorted(ascending) and len(ascending) == len(every)
    page.click("button[data-sort=score]")
    assert visible_scores(page) == sorted(ascending, reverse=True)
    assert page.get_attribute("button[data-sort=score] >> xpath=..", "aria-sort") == "descending"

    page.select_option("select[name=check]", "closed_form.mu")
    page.select_option("select[name=status]", "fail")
    failed = sorted(r.submission for r in graded.results if any(c.id == "closed_form.mu" and c.status.value == "fail" for c in r.checks))
    assert sorted(visible_ids(page)) == failed == ["carol", "dave"]
    assert page.text_content("[data-shown]") == f"2 of {len(every)} shown"
    assert "check=closed_form.mu" in page.url and "status=fail" in page.url  # the filter is in the address: shareable
    shot(page, "class-filtered")

    page.goto(server.base + "/")
    page.click("a[data-misconception=missing_sqrt]")
    page.wait_for_url("**misconception=missing_sqrt**")
    having = sorted(r.submission for r in graded.results if any("missing_sqrt" in c.misconceptions for c in r.checks))
    assert sorted(visible_ids(page)) == having == ["carol", "seed-writeup"]
    page.click("table[data-table=submissions] tr[data-submission=carol] a")
    page.wait_for_url("**/submissions/carol")
    assert page.text_content("[data-testid=submission]") == "carol"
    page.goto(server.base + "/")
    shot(page, "class")


def test_hostile_student_page_shows_everything_as_text_and_runs_nothing(page, server):
    page.goto(server.base + "/submissions/mallory%20%3Cb%3E")
    assert page.text_content("[data-testid=submission]") == MALLORY.submission
    assert page.title() == f"{MALLORY.submission} · grader review"  # no script rewrote it
    assert page.evaluate("window.pwned") is None
    answers = page.locator("[data-question=kl_observe] .a").text_content()
    assert answers.strip() == MALLORY.free_text[0].answer  # shown exactly as written, markup and all
    # No element the student wrote became a live one: the only images are the data: figures we made,
    # the only links are our own, and HTML outputs sit in script-less sandboxed frames.
    assert page.locator("img[onerror], [onload], a[href^='javascript:']").count() == 0
    frames = page.locator("iframe")
    assert frames.count() >= 2 and all(frames.nth(i).get_attribute("sandbox") == "" for i in range(frames.count()))
    notebook = page.locator(".notebook").inner_text()
    assert ALERT in notebook and TEXTAREA in notebook and "ValueError" in notebook and "\x1b" not in notebook
    assert page.locator(".notebook img.nb-image").count() == 0  # images are PNG or JPEG only: the SVG and the bad PNG are dropped
    # The report frame and the HTML output frame rendered (text inside them), scripts did not run there either.
    report = page.frame_locator("iframe.report")
    assert "Feedback for" in report.locator("h1").text_content()
    page.wait_for_timeout(300)  # let any onerror/onload that could fire do so (nothing should)
    assert page.watch.dialogs == [] and page.evaluate("window.pwned") is None
    shot(page, "student-hostile")


def test_grade_by_question_marks_persist_and_groups_share_a_mark(page, server, graded, tmp_path):
    page.goto(server.base + "/questions/kl_role")
    assert page.text_content("[data-testid=question]") == "What is the role of the KL divergence term?"
    groups = page.locator("[data-group]")
    # carol and dave wrote the same sentence in different case and spacing: one group.
    pair = page.locator("[data-group]", has=page.locator("a", has_text="carol"))
    assert pair.locator(".who-list a").all_text_contents() == ["carol", "dave"]
    hostile = page.locator("[data-group]", has=page.locator("a", has_text=MALLORY.submission))
    assert TEXTAREA in hostile.locator(".a").text_content()

    # Keyboard: Alt+↓ goes to the first unmarked answer; Enter saves and moves to the next.
    page.keyboard.press("Alt+ArrowDown")
    first = groups.nth(0)
    assert page.evaluate("document.activeElement.name") == "points"
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    first.locator("[data-state]", has_text="saved").wait_for()
    page.wait_for_function("document.activeElement.closest('[data-group]') !== null")
    second_submissions = page.evaluate(f"{MEMBERS}(document.activeElement.closest('[data-group]'))")
    page.keyboard.type("0.5")
    page.locator("[data-group].current textarea").fill("partly right </textarea><script>window.pwned=9</script>")
    page.locator("[data-group].current textarea").press("Tab")  # change → save
    page.locator("[data-group].current [data-member][data-comment^='partly right']").first.wait_for(state="attached")
    page.locator("[data-group].current [data-state]", has_text="saved").wait_for()
    first_submissions = page.evaluate(f"{MEMBERS}(document.querySelector('[data-group]'))")

    page.reload()
    assert groups.nth(0).locator("input[name=points]").input_value() == "1"
    current = page.locator("[data-group]", has=page.locator("a", has_text=second_submissions[0]))
    assert current.locator("input[name=points]").input_value() == "0.5"
    assert current.locator("textarea").input_value() == "partly right </textarea><script>window.pwned=9</script>"
    assert page.evaluate("window.pwned") is None
    with Gradebook.open(graded.root) as book:
        marks = {s: book.grade(s) for s in (*first_submissions, *second_submissions)}
    for s in first_submissions:
        assert next(q for q in marks[s].questions if q.question.tag == "kl_role").points == 1.0
    for s in second_submissions:
        mark = next(q for q in marks[s].questions if q.question.tag == "kl_role").mark
        assert mark is not None and mark.points == 0.5 and mark.by == "TA Alice"
    # The export course scripts use, by the real command (in this process: torch is imported already).
    exported = tmp_path / "grades.csv"
    assert main(["export", str(graded.root), "--format", "csv", "--out", str(exported)]) == 0
    rows = {row["submission"]: row for row in csv.DictReader(exported.open(encoding="utf-8"))}
    assert [rows[s]["kl_role"] for s in first_submissions] == ["1"] * len(first_submissions)
    assert [rows[s]["kl_role"] for s in second_submissions] == ["0.5"]
    # The files in REPORTS followed without `grader report`: grades.csv and the student's report.
    published = {row["submission"]: row for row in csv.DictReader((graded.root / "grades.csv").open(encoding="utf-8"))}
    assert published["carol"]["kl_role"] == "1"
    carol_report = (graded.root / "carol" / "report.html").read_text(encoding="utf-8")
    assert '<span class="pending">pending</span> / 1' in carol_report and "1 / 1" in carol_report
    shot(page, "question")


def test_override_from_the_student_page(page, server, graded):
    page.goto(server.base + "/submissions/dave")
    row = page.locator("tr[data-check='closed_form.mu']")
    row.locator("input[name=score]").fill("1.5")
    row.locator("input[name=reason]").fill("sign convention differs; derivation right")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    row = page.locator("tr[data-check='closed_form.mu']")
    assert row.locator("[data-testid=overridden-score]").text_content() == "1.5"
    assert "Adjusted by TA Alice: sign convention differs" in row.text_content()
    status, detail = api(server, "GET", "/api/submissions/dave")
    assert detail["checks"]["closed_form.mu"] == {"status": "fail", "score": 1.5, "max_score": 2.0, "overridden": True}
    # The student's own report says so, and so do the overview and grades.csv, without `grader report`.
    report = page.context.new_page()
    report.goto(server.base + "/submissions/dave/report.html")
    adjusted = report.locator("[data-testid=adjusted]")
    assert adjusted.count() == 1 and "sign convention differs" in adjusted.text_content()
    report.close()
    published = {row["submission"]: row for row in csv.DictReader((graded.root / "grades.csv").open(encoding="utf-8"))}
    assert published["dave"]["closed_form.mu"] == "1.5" and "closed_form.mu=1.5" in published["dave"]["overrides"]
    assert "adjusted by course staff" in (graded.root / "index.html").read_text(encoding="utf-8")
    with page.expect_navigation():
        row.locator("button[data-clear]").click()
    assert page.locator("tr[data-check='closed_form.mu'] [data-testid=overridden-score]").count() == 0
    assert "sign convention" not in (graded.root / "dave" / "report.html").read_text(encoding="utf-8")


def test_a_bad_mark_says_why_and_is_not_saved(page, server, graded):
    page.goto(server.base + "/questions/kl_observe")
    group = page.locator("[data-group]").nth(0)
    group.locator("input[name=points]").fill("7")
    group.locator("input[name=points]").press("Enter")
    group.locator("[data-state]", has_text="not saved").wait_for()
    assert "between 0 and 1" in group.locator("[data-state]").text_content()
    assert "marked" not in (group.get_attribute("class") or "")


def test_nothing_is_loaded_from_other_hosts(page, server):
    for path in ("/", "/questions/kl_explain", "/submissions/mallory%20%3Cb%3E", "/submissions/seed-writeup"):
        page.goto(server.base + path)
        page.wait_for_load_state("networkidle")
    local = [urlparse(u) for u in page.watch.requests]
    assert local and all(u.scheme in ("http", "data", "about") for u in local)
    assert {u.path for u in local} >= {"/static/review.css", "/static/report.css", "/static/review.js", "/static/table.js"}
