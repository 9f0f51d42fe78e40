"""Rubric items over HTTP against a real `grader review`: listing, adding, marks that apply items, an
item's new points asked about first and refused without a confirmation, stale pages (409), bad bodies (400)."""

from __future__ import annotations

import pytest

from assignments.a10 import ASSIGNMENT
from graders.gradebook.store import Gradebook
from tests.review.conftest import api

RUBRIC = "/api/questions/kl_explain/rubric"
# Assignment 10's kl_explain items, from its definition: +0.5, +0.5, -0.25 of a 1-point question.
TRADEOFF, COLLAPSE, RESTATES = (item.key for item in ASSIGNMENT.question("kl_explain").items)


def mark(server, submission: str, items: list[str], points: float, **extra):
    return api(server, "PUT", f"/api/submissions/{submission}/manual/kl_explain", {"points": points, "items": items, **extra})


def explain_points(server, submission: str) -> float | None:
    status, listing = api(server, "GET", "/api/submissions")
    assert status == 200
    return next(s for s in listing if s["id"] == submission)["manual"]["kl_explain"]["points"]


def item(server, key: str) -> dict:
    status, body = api(server, "GET", RUBRIC)
    assert status == 200
    return next(i for i in body["items"] if i["key"] == key)


def test_the_rubric_is_the_assignments_items_until_staff_edit_it(server):
    status, body = api(server, "GET", RUBRIC)
    assert status == 200
    assert [(i["key"], i["text"], i["points"]) for i in body["items"]] == [
        (i.key, i.text, i.points) for i in ASSIGNMENT.question("kl_explain").items
    ]
    assert api(server, "GET", "/api/questions/kl_nothing/rubric")[0] == 404


def test_a_mark_applying_items_saves_them_with_the_adjustment_and_comment(server):
    status, saved = mark(server, "solution", [TRADEOFF, RESTATES], 0.75, adjustment=0.5, comment="says why, late")
    assert status == 200, saved
    assert (saved["mark"]["items"], saved["mark"]["adjustment"], saved["mark"]["points"]) == ([TRADEOFF, RESTATES], 0.5, 0.75)
    assert explain_points(server, "solution") == 0.75
    status, refused = mark(server, "solution", [TRADEOFF], 1.0, version=saved["mark"]["version"])  # the items give 0.5
    assert status == 409 and "now give 0.5 points, not 1" in refused["error"]


def test_new_points_are_refused_without_a_confirmation_then_move_every_mark_applying_the_item(server):
    assert mark(server, "carol", [COLLAPSE], 0.5)[0] == 200
    assert mark(server, "dave", [TRADEOFF, COLLAPSE], 1.0)[0] == 200
    before = item(server, COLLAPSE)
    status, effect = api(server, "GET", f"{RUBRIC}/{COLLAPSE}/effect?points=0.25")
    assert status == 200 and (effect["affected"], effect["changed"], effect["total_change"]) == (2, 2, -0.5)
    status, refused = api(server, "PUT", f"{RUBRIC}/{COLLAPSE}", {"points": 0.25, "version": before["version"]})
    assert status == 400 and "confirm" in refused["error"] and "-0.5 points in all" in refused["error"]
    assert (explain_points(server, "carol"), explain_points(server, "dave"), item(server, COLLAPSE)["points"]) == (0.5, 1.0, 0.5)
    status, done = api(server, "PUT", f"{RUBRIC}/{COLLAPSE}", {"points": 0.25, "version": before["version"], "confirm": True})
    assert status == 200 and done["changed"] == 2 and done["files"] == "updated"
    assert (explain_points(server, "carol"), explain_points(server, "dave")) == (0.25, 0.75)
    status, detail = api(server, "GET", "/api/submissions/carol")
    assert [m["points"] for m in detail["manual_history"] if m["question"] == "kl_explain"][-2:] == [0.5, 0.25]
    status, stale = api(server, "PUT", f"{RUBRIC}/{COLLAPSE}", {"points": 0.5, "version": before["version"], "confirm": True})
    assert status == 409 and "edited since you loaded it" in stale["error"]


def test_staff_add_an_item_and_rename_it_without_touching_marks(server):
    status, added = api(server, "POST", RUBRIC, {"text": "Blames the <b>optimiser</b>", "points": -0.5})
    assert status == 200 and added["item"]["key"].startswith("staff-")
    key = added["item"]["key"]
    status, renamed = api(server, "PUT", f"{RUBRIC}/{key}", {"text": "Blames the optimiser", "version": added["item"]["version"]})
    assert status == 200 and renamed["item"]["text"] == "Blames the optimiser" and renamed["changed"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("POST", RUBRIC, {"text": "fine", "points": "1"}, 400, '"points" must be a number'),
        ("POST", RUBRIC, {"text": "x" * 301, "points": 0.5}, 400, "at most 300 characters"),
        ("POST", RUBRIC, {"text": "fine", "points": 3}, 400, "between -1 and 1"),
        ("POST", RUBRIC, {"text": " ", "points": 0.5}, 400, "needs a line of text"),
        ("PUT", f"{RUBRIC}/{TRADEOFF}", {}, 400, "say what changes"),
        ("PUT", f"{RUBRIC}/{TRADEOFF}", {"points": 0.25, "confirm": "yes"}, 400, '"confirm" must be true or false'),
        ("PUT", f"{RUBRIC}/no-such-item", {"points": 0.25}, 404, "no rubric item"),
        ("GET", f"{RUBRIC}/{TRADEOFF}/effect?points=abc", None, 400, '"points" must be a number'),
        ("GET", f"{RUBRIC}/{TRADEOFF}/effect?points=nan", None, 400, '"points" must be a number'),
        ("PUT", "/api/submissions/seed-writeup/manual/kl_explain", {"points": 0.5, "items": TRADEOFF}, 400, "list of at most"),
        ("PUT", "/api/submissions/seed-writeup/manual/kl_explain", {"points": 0.5, "items": ["<b>"]}, 400, "rubric item keys"),
        ("PUT", "/api/submissions/seed-writeup/manual/kl_explain", {"points": 0.5, "adjustment": 0.5}, 400, '"adjustment" goes with'),
        ("PUT", "/api/submissions/seed-writeup/manual/kl_explain", {"points": 0.5, "items": ["nope"]}, 400, "no rubric item 'nope'"),
        ("PUT", "/api/submissions/seed-writeup/manual/kl_explain", {"points": 0, "items": [RESTATES, RESTATES]}, 400, "applies once"),
        ("PUT", "/api/questions/kl_explain/marks", {"submissions": ["seed-writeup"], "points": 1, "items": [TRADEOFF]}, 409, "now give"),
        (
            "PUT",
            "/api/questions/kl_explain/marks",
            {"submissions": ["seed-writeup"], "points": 0.5, "suggested": True},
            400,
            '"suggested" goes with',
        ),
        (
            "PUT",
            "/api/questions/kl_explain/marks",
            {"submissions": ["seed-writeup"], "points": 0.5, "items": [TRADEOFF], "suggested": 1},
            400,
            "true or false",
        ),
    ],
)
def test_bad_rubric_requests_are_refused_and_change_nothing(server, method, path, body, status, error):
    _, before = api(server, "GET", RUBRIC)
    got, answer = api(server, method, path, body)
    assert got == status and error in answer["error"], answer
    assert api(server, "GET", RUBRIC)[1] == before
    assert explain_points(server, "seed-writeup") is None


def test_a_group_mark_of_items_says_whether_it_was_the_suggestion_accepted(server, graded):
    tradeoff, collapse = item(server, TRADEOFF)["points"], item(server, COLLAPSE)["points"]  # as earlier tests left them
    accepted = {"submissions": ["bob"], "points": tradeoff, "items": [TRADEOFF], "suggested": True}
    status, body = api(server, "PUT", "/api/questions/kl_explain/marks", accepted)
    assert status == 200 and body["marks"]["bob"]["suggested"] is True
    by_hand = {"submissions": ["bob"], "points": tradeoff + collapse, "items": [TRADEOFF, COLLAPSE]}
    status, body = api(server, "PUT", "/api/questions/kl_explain/marks", by_hand)
    assert status == 200 and body["marks"]["bob"]["suggested"] is False
    with Gradebook.open(graded.root) as book:
        assert [m.suggested for m in book.manual_marks("bob") if m.question == "kl_explain"] == [True, False]
