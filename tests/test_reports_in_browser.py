"""The reports as a browser shows them: real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from graders.reporting import write_class_overview, write_submission_report
from graders.results import FreeTextAnswer
from tests.browser import dump_dom, screenshot
from tests.test_reporting import SEED, result

pytestmark = pytest.mark.browser


def test_student_report_in_the_browser(tmp_path):
    hostile = result("mallory", free_text=(FreeTextAnswer("What do you observe?", "<script>document.title='pwned'</script>"),))
    page = write_submission_report(hostile, out_dir=tmp_path)
    dom = dump_dom(page)
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    assert "<script>document.title" not in dom  # shown as text, never run
    seed_dom = dump_dom(write_submission_report(SEED, out_dir=tmp_path))
    assert "11" in seed_dom and "Square root missing on ᾱ_t" in seed_dom
    assert seed_dom.count('class="badge fail"') == 1 and seed_dom.count('class="badge pass"') == 8


def test_overview_links_resolve_and_it_renders(tmp_path):
    results = [SEED, result("zoë smith"), result("solution")]
    for r in results:
        write_submission_report(r, out_dir=tmp_path)
    index = write_class_overview(results, out_dir=tmp_path)
    dom = dump_dom(index)
    links = re.findall(r'href="([^"]+/report\.html)"', dom)
    assert len(links) == 3 and all((tmp_path / unquote(link)).exists() for link in links)
    png = screenshot(index, tmp_path / "index.png")
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one
