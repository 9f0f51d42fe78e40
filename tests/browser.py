"""Debian's Chromium, headless, driven by subprocess: dump a page's DOM or screenshot it.

No selenium or playwright: the two things the tests need (the DOM after the browser parsed the
page and ran whatever it would run, and a rendered picture) are both command-line flags.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    """The browser, or a skip locally; in CI (CI set) a missing browser is a failure."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make chromium` must run before the tests in CI")
        pytest.skip("chromium not installed (make chromium)")
    return found


def _run(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One fresh browser per call, with a throwaway profile so runs cannot influence each other."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def dump_dom(page: Path) -> str:
    """The DOM as Chromium serialises it after loading the page (and running any script)."""
    return _run(page, "--dump-dom").stdout


def screenshot(page: Path, png: Path, size: str = "1200,1600") -> Path:
    _run(page, f"--screenshot={png}", f"--window-size={size}")
    return png


# ----------------------------------------------------------------------------- reading a dumped DOM

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's text content, whitespace collapsed (as a reader sees it)."""
        return " ".join("".join(self.parts).split())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.parts.append(data)


def elements(dom: str, tag: str | None = None, **attrs: str) -> list[Element]:
    """Elements of a dumped DOM by tag and exact attribute values (data_check= matches data-check).

    Parsing the DOM, rather than searching its text, is what tells an escaped `&lt;script&gt;`
    (text) from a real <script> element.
    """
    collector = _Collector()
    collector.feed(dom)
    wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
    return [
        e for e in collector.elements if (tag is None or e.tag == tag) and all(e.attrs.get(name) == value for name, value in wanted.items())
    ]
