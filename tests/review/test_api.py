"""The review app's HTTP surface with a plain HTTP client against a real `grader review` process:
the token gate, the JSON API, bad input, concurrent saves and a server killed mid-save."""

from __future__ import annotations

import signal
import threading
import urllib.request

import pytest

from assignments.a10.contract import CHECK_IDS
from graders.gradebook.store import Gradebook
from tests.review.conftest import MALLORY, STUDENTS, api, make_graded, start_review

QUOTED_MALLORY = "mallory%20%3Cb%3E"


def test_without_the_right_token_everything_is_403(server):
    for path in ("/", "/api/submissions", "/static/review.js", "/submissions/carol", "/questions/kl_role"):
        assert api(server, "GET", path, token="wrong")[0] == 403  # noqa: S106 - a wrong token is the test
        request = urllib.request.Request(server.base + path)  # no token at all
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
    status, body = api(server, "PUT", "/api/submissions/carol/manual/kl_role", {"points": 1}, token="wrong")  # noqa: S106 - a wrong token is the test
    assert status == 403 and "Authorization" in body["error"]


def test_the_printed_address_opens_the_class_page_and_sets_a_cookie_for_links(server):
    with urllib.request.urlopen(server.url, timeout=30) as response:
        assert response.status == 200
        cookie = response.headers["Set-Cookie"]
        policy = response.headers["Content-Security-Policy"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    request = urllib.request.Request(server.base + "/submissions/carol", headers={"Cookie": cookie.split(";")[0]})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_a_change_needs_the_header_a_cookie_alone_is_not_enough(server, graded):
    """CSRF: another site can make the browser send the cookie, never the Authorization header."""
    before = _everything(graded)
    with urllib.request.urlopen(server.url, timeout=30) as response:
        cookie = response.headers["Set-Cookie"].split(";")[0]
    request = urllib.request.Request(
        server.base + "/api/submissions/carol/manual/kl_role",
        data=b'{"points": 1}',
        method="PUT",
        headers={"Cookie": cookie, "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    # The header from a foreign origin is refused too (a second line behind CORS).
    status, _ = api(server, "PUT", "/api/submissions/carol/manual/kl_role", {"points": 1}, Origin="http://evil.example")
    assert status == 403
    assert _everything(graded) == before


def _marks(server, submission="carol"):
    status, detail = api(server, "GET", f"/api/submissions/{submission}")
    assert status == 200
    return detail["manual_history"]


def test_get_submissions_lists_every_submission_with_checks(server, graded):
    status, listing = api(server, "GET", "/api/submissions")
    assert status == 200
    assert [s["id"] for s in listing] == sorted(r.submission for r in STUDENTS)
    carol = next(s for s in listing if s["id"] == "carol")
    assert carol["checks"]["closed_form.mu"] == {"status": "fail", "score": 0.0, "max_score": 2.0, "overridden": False}
    assert set(carol["checks"]) == set(CHECK_IDS)
    assert carol["score"] == 10.0 and carol["max_score"] == 15.0 and carol["manual_pending"] is True
    assert carol["manual"]["kl_role"] == {"points": None, "max_points": 1.0, "pending": True, "stale": False}
    status, detail = api(server, "GET", f"/api/submissions/{QUOTED_MALLORY}")
    assert status == 200 and detail["id"] == MALLORY.submission
    assert detail["answers"]["kl_observe"]["answer"] == MALLORY.free_text[0].answer  # data, unescaped: JSON is not HTML


def test_manual_points_and_overrides_are_recorded_with_who_and_when(server, graded):
    """carol's kl_role and closed_form.mu belong to this test in this module."""
    status, saved = api(server, "PUT", "/api/submissions/carol/manual/kl_role", {"points": 0.5, "comment": "half"})
    assert status == 200 and saved["mark"]["by"] == "TA Alice" and saved["mark"]["points"] == 0.5
    assert saved["submission"]["score"] == 10.5
    status, saved = api(server, "PUT", "/api/submissions/carol/overrides/closed_form.mu", {"score": 1, "reason": "sqrt on paper"})
    assert status == 200 and saved["override"]["reason"] == "sqrt on paper" and saved["submission"]["score"] == 11.5
    # The automatic result stays what the grader gave (carol's checks: 10); the override moves the adjusted score only.
    assert (saved["submission"]["automatic_score"], saved["submission"]["adjusted_score"]) == (10.0, 11.0)
    with Gradebook.open(graded.root) as book:
        grade = book.grade("carol")
        assert next(q for q in grade.questions if q.question.tag == "kl_role").mark.comment == "half"
        assert grade.overrides[0].by == "TA Alice" and grade.overrides[0].at
    status, cleared = api(server, "DELETE", "/api/submissions/carol/overrides/closed_form.mu")
    assert status == 200 and cleared["override"]["cleared_by"] == "TA Alice" and cleared["submission"]["score"] == 10.5


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("PUT", "/api/submissions/carol/manual/kl_role", {"points": 2}, 400, "between 0 and 1"),
        ("PUT", "/api/submissions/carol/manual/kl_role", {"points": -0.5}, 400, "between 0 and 1"),
        ("PUT", "/api/submissions/carol/manual/kl_role", {"points": "1"}, 400, "must be a number"),
        ("PUT", "/api/submissions/carol/manual/kl_role", {"points": True}, 400, "must be a number"),
        ("PUT", "/api/submissions/carol/manual/kl_role", b"{points: 1", 400, "not valid JSON"),
        ("PUT", "/api/submissions/carol/manual/kl_role", b"[1]", 400, "JSON object"),
        ("PUT", "/api/submissions/nobody/manual/kl_role", {"points": 1}, 404, "no submission 'nobody'"),
        ("PUT", "/api/submissions/carol/manual/kl_nothing", {"points": 1}, 404, "no written question"),
        ("PUT", "/api/submissions/carol/overrides/closed_form.mu", {"score": 3, "reason": "x"}, 400, "between 0 and 2"),
        ("PUT", "/api/submissions/carol/overrides/closed_form.mu", {"score": 1, "reason": " "}, 400, "must say why"),
        ("PUT", "/api/submissions/carol/overrides/no.such.check", {"score": 1, "reason": "x"}, 404, "no check"),
        ("DELETE", "/api/submissions/carol/overrides/closed_form.mu", None, 400, "no override"),
        ("PUT", "/api/questions/kl_role/marks", {"submissions": ["carol", "nobody"], "points": 1}, 404, "no submission 'nobody'"),
        ("GET", "/api/submissions/%2E%2E", None, 404, "no submission '..'"),
    ],
)
def test_bad_input_is_a_4xx_with_a_message_and_nothing_is_written(server, graded, method, path, body, status, says):
    before = _everything(graded)
    got, answer = api(server, method, path, body)
    assert got == status and says in answer["error"]
    assert _everything(graded) == before


def _everything(graded):
    """Every mark and override ever written, for every submission."""
    with Gradebook.open(graded.root) as book:
        return [(book.manual_marks(s.submission), book.overrides(s.submission)) for s in STUDENTS]


def test_a_body_that_is_not_json_typed_is_refused(server):
    got, answer = api(server, "PUT", "/api/submissions/carol/manual/kl_role", b'{"points": 1}', Content_Type="text/plain")
    assert got == 415 and "application/json" in answer["error"]


def test_two_tabs_saving_the_same_answer_last_write_wins_and_history_keeps_both(server, graded):
    first = api(server, "PUT", "/api/submissions/dave/manual/kl_observe", {"points": 1, "comment": "tab one"}, X_Reviewer="x")
    second = api(server, "PUT", "/api/submissions/dave/manual/kl_observe", {"points": 0, "comment": "tab two"})
    assert first[0] == second[0] == 200
    history = _marks(server, "dave")
    assert [(m["points"], m["comment"]) for m in history] == [(1.0, "tab one"), (0.0, "tab two")]
    status, listing = api(server, "GET", "/api/submissions/dave")
    assert listing["manual"]["kl_observe"]["points"] == 0.0  # the later write


def test_a_group_mark_applies_to_every_member_at_once(server, graded):
    status, saved = api(
        server, "PUT", "/api/questions/kl_explain/marks", {"submissions": ["carol", "solution"], "points": 1, "comment": "ok"}
    )
    assert status == 200 and set(saved["marks"]) == {"carol", "solution"}
    with Gradebook.open(graded.root) as book:
        marks = [m for s in ("carol", "solution") for m in book.manual_marks(s) if m.question == "kl_explain"]
    assert [(m.submission, m.points, m.comment, m.at) for m in marks] == [
        ("carol", 1.0, "ok", marks[0].at),
        ("solution", 1.0, "ok", marks[0].at),
    ]


def test_without_reviewer_a_change_must_name_one(tmp_path):
    graded = make_graded(tmp_path / "reports")
    server = start_review(graded.root)
    try:
        status, answer = api(server, "PUT", "/api/submissions/carol/manual/kl_role", {"points": 1})
        assert status == 400 and "--reviewer" in answer["error"]
        status, saved = api(server, "PUT", "/api/submissions/carol/manual/kl_role", {"points": 1}, X_Reviewer="Zo%C3%AB")
        assert status == 200 and saved["mark"]["by"] == "Zoë"
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)


def test_a_server_killed_mid_save_loses_nothing_it_acknowledged(tmp_path):
    """Saves stream in from two threads; the server is killed (SIGKILL) while they do. Every
    save that got its 200 is in the gradebook afterwards, and the gradebook still opens."""
    graded = make_graded(tmp_path / "reports")
    server = start_review(graded.root, "--reviewer", "TA")
    acknowledged: list[tuple[str, float]] = []
    lock = threading.Lock()
    students = ("carol", "dave")

    def save_many(submission: str) -> None:
        for i in range(200):
            points = (i % 5) / 4
            try:
                status, _ = api(server, "PUT", f"/api/submissions/{submission}/manual/kl_explain", {"points": points, "comment": str(i)})
            except OSError:
                return  # the server is gone
            if status == 200:
                with lock:
                    acknowledged.append((submission, float(i)))

    workers = [threading.Thread(target=save_many, args=(s,)) for s in students]
    for worker in workers:
        worker.start()
    # Kill once a few saves are through (event-driven: poll the acknowledgements, not the clock).
    while len(acknowledged) < 10 and any(w.is_alive() for w in workers):
        threading.Event().wait(0.01)
    server.process.send_signal(signal.SIGKILL)
    for worker in workers:
        worker.join(timeout=60)
    server.process.wait(timeout=30)
    assert acknowledged, "no save was acknowledged before the kill"
    with Gradebook.open(graded.root) as book:
        stored = {(s, float(m.comment)) for s in students for m in book.manual_marks(s)}
    assert set(acknowledged) <= stored


def test_without_the_assist_extra_the_question_page_has_text_groups_and_says_what_to_install(server):
    status, page = api(server, "GET", "/questions/kl_role")
    assert status == 200
    assert "data-assist-missing" in page and 'pip install ".[assist]"' in page
    assert "data-meaning" not in page and "data-suggestion" not in page and "data-group" in page
