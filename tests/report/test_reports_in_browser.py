"""The reports as a browser shows them: real headless Chromium (Debian's `chromium`).

Skipped when chromium is missing, except in CI (CI set), where that is a failure.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pytest

from assignments.a10.checks import CHECKS
from graders.report.outputs import OUTPUTS_NAME, keep_own_outputs
from graders.report.render import write_class_overview, write_submission_report
from graders.results import DerivationAnswer, FreeTextAnswer
from reference.a10.misconceptions import CATALOG
from tests.browser import chromium, dump_dom, elements, screenshot
from tests.report.test_outputs import SHA, TAGS, answer, b64, code, figure_png, image_output, notebook
from tests.report.test_render import BROKEN, HOSTILE, SCRIPT, SEED, SOLUTION, result

pytestmark = pytest.mark.browser


def one(dom: str, tag: str | None = None, **attrs: str):
    found = elements(dom, tag, **attrs)
    assert len(found) == 1, f"expected one {tag or 'element'} with {attrs}, found {len(found)}"
    return found[0]


def test_student_report_shows_score_statuses_and_misconceptions(tmp_path):
    dom = dump_dom(write_submission_report(SEED, out_dir=tmp_path))
    assert one(dom, data_testid="score").text == "11 / 15 points (provisional)"  # 12 automatic + 3 written (pending); not released
    assert "graded" in one(dom, data_testid="status").text
    for check in CHECKS:
        section = one(dom, "section", data_check=check.id)
        status = "fail" if check.id == "derivation.mu" else "pass"
        assert section.attrs["data-status"] == status and f"{status} {check.title}" in section.text
    failed = one(dom, "section", data_check="derivation.mu").text
    assert CATALOG["missing_sqrt"].title in failed and CATALOG["missing_x0"].title in failed
    assert CATALOG["missing_sqrt"].explanation in failed


def test_hostile_text_stays_text(tmp_path):
    # The written answers shown are those to the handout's KL questions: the hostile answer sits under one.
    hostile = replace(HOSTILE, free_text=(FreeTextAnswer("What do you observe?", SCRIPT),))
    dom = dump_dom(write_submission_report(hostile, out_dir=tmp_path))
    assert elements(dom, "script") == [] and elements(dom, "img") == [] and elements(dom, "i") == []
    assert one(dom, "title").text == "Assignment 10 feedback: mallory <b>"  # the script never ran
    answer = one(dom, "div", **{"class": "a md"}).text
    assert answer == SCRIPT  # shown to the reader exactly as the student wrote it


def test_unreadable_notebook_report_leads_with_the_reason(tmp_path):
    dom = dump_dom(write_submission_report(BROKEN, out_dir=tmp_path))
    alert = one(dom, role="alert").text
    assert alert.startswith("Your notebook could not be graded: not a notebook: invalid JSON.")
    assert one(dom, data_testid="score").text == "0 / 15 points (provisional)"
    assert [s.attrs.get("data-status") for s in elements(dom, "section") if "data-check" in s.attrs] == ["error"] * len(CHECKS)


def test_student_report_screenshot_is_a_rendered_page(tmp_path):
    png = screenshot(write_submission_report(SEED, out_dir=tmp_path), tmp_path / "report.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_overview_links_resolve_and_it_renders(tmp_path):
    results = [SEED, SOLUTION, BROKEN, HOSTILE]
    for r in results:
        write_submission_report(r, out_dir=tmp_path)
    index = write_class_overview(results, out_dir=tmp_path)
    dom = dump_dom(index)
    links = [a.attrs["href"] for a in elements(dom, "a") if not a.attrs["href"].startswith("?")]
    assert len(links) == len(results)
    assert all((tmp_path / unquote(link)).is_file() for link in links)
    assert len(elements(dom, "script")) == 1  # table.js; nothing a student wrote became a script
    assert elements(dom, "img") == []
    assert [row.attrs["data-submission"] for row in elements(dom, "tr") if "data-submission" in row.attrs] == sorted(
        r.submission for r in results
    )
    seed_row = one(dom, "tr", data_submission="seed-writeup").text
    assert "11 / 15" in seed_row and seed_row.count("✓ pass") == 8 and seed_row.count("✗ fail") == 1  # symbol and word, not colour alone
    png = screenshot(index, tmp_path / "index.png")
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one


def test_static_overview_sorts_and_filters_from_file_url(tmp_path):
    """index.html's inlined table.js, in Chromium driven by Playwright, opened as file://."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    carol = result("carol", {"closed_form.mu": ("missing_sqrt",)})
    results = [SEED, SOLUTION, BROKEN, HOSTILE, carol]
    index = write_class_overview(results, out_dir=tmp_path)
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(180_000)  # generous: other graders load this machine's two cores
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(index.as_uri())
        rows = "table[data-table=submissions] tbody tr:not([hidden])"
        page.click("button[data-sort=score]")
        scores = page.eval_on_selector_all(rows + " td[data-key=score]", "cells => cells.map(c => parseFloat(c.dataset.value))")
        assert scores == sorted(r.score for r in results)
        page.select_option("select[name=check]", "closed_form.mu")
        page.select_option("select[name=status]", "fail")
        assert page.eval_on_selector_all(rows, "rows => rows.map(r => r.dataset.submission)") == ["carol"]
        page.goto(index.as_uri() + "?misconception=missing_sqrt")  # a misconception link, from file://
        assert page.eval_on_selector_all(rows, "rows => rows.map(r => r.dataset.submission)") == ["carol", "seed-writeup"]
        assert page.title() == "Assignment 10 — class overview" and dialogs == []
        browser.close()


# Per formula: a script and its base. In a browser that lays out MathML, the script sits lower than
# its base (a subscript) and a radical's contents sit inside the radical; as unknown inline elements
# they would share one baseline. Measured against each other, never against fixed pixel values.
MATH_LAYOUT = """() => Array.from(document.querySelectorAll("math")).map(m => {
    const sub = m.querySelector("msub");
    const box = e => e.getBoundingClientRect();
    return {
        mathml: m instanceof MathMLElement && m.namespaceURI === "http://www.w3.org/1998/Math/MathML",
        style: getComputedStyle(m).mathStyle,
        width: box(m).width,
        lowered: sub ? box(sub.children[1]).bottom > box(sub.children[0]).bottom : null,
    };
})"""


def test_math_renders_as_mathml_from_a_file_url(tmp_path):
    """The report as a student opens it (file://), in Chromium driven by Playwright: math is laid out by the
    browser's own MathML, with no script and nothing fetched; the student's figure shows beside the answer."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    ann = replace(
        SEED,
        submission="ann",
        sha256=SHA,
        derivation=(DerivationAnswer("mu", r"\sqrt{\bar\alpha_3}\, x_0"), DerivationAnswer("Sigma", r"1 - \bar\alpha_3")),
        free_text=(FreeTextAnswer("What do you observe?", r"At weight 30 every $q(z \mid x)$ is close to $\mathcal{N}(0, I)$: blurry."),),
    )
    keep_own_outputs(
        notebook(code(image_output("image/png", b64(figure_png()))), answer(TAGS[0])), SHA, TAGS, tmp_path / "ann" / OUTPUTS_NAME
    )
    report = write_submission_report(ann, out_dir=tmp_path)
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(180_000)  # generous: other graders load this machine's two cores
        dialogs: list[str] = []
        fetched: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        formulas = page.evaluate(MATH_LAYOUT)
        figure = page.eval_on_selector("[data-testid=written] [data-own-outputs] img", "img => [img.complete, img.naturalWidth]")
        shot = Path(tmp_path / "report-math.png")
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert len(formulas) == 6  # μ and Σ (the assignment's labels), two derivation answers, two formulas in the written answer
    assert all(f["mathml"] and f["width"] > 0 for f in formulas)
    # the derivation's labels and answers display-style (the stylesheet's .derivation), the written answer's inline
    assert [f["style"] for f in formulas] == ["normal", "normal", "normal", "normal", "compact", "compact"]
    assert [f["lowered"] for f in formulas if f["lowered"] is not None] == [True, True]  # ᾱ₃ and x₀: laid out as subscripts
    assert figure[0] and figure[1] > 0
    assert dialogs == [] and [url for url in fetched if not url.startswith(("file:", "data:"))] == []
    assert shot.stat().st_size > 20_000
