"""The cache key: a result is reused only when nothing that decides it has changed."""

from __future__ import annotations

import os

import pytest

from assignments.a10 import ASSIGNMENT
from graders.pipeline.cache import cache_key, cached_result, data_fingerprint, grader_fingerprint
from graders.results import CheckResult, CheckStatus, SubmissionResult, SubmissionStatus

BASE = {"sha256": "a" * 64, "settings": {"seed": 1, "cell_timeout": 120.0}, "grader": "g1", "reference_hash": "r1", "data": "d1"}


@pytest.mark.parametrize(
    "change",
    [
        {"sha256": "b" * 64},
        {"settings": {"seed": 2, "cell_timeout": 120.0}},
        {"settings": {"seed": 1, "cell_timeout": 60.0}},
        {"settings": {"seed": 1, "cell_timeout": 120.0, "assignment": "assignment-11"}},
        {"grader": "g2"},
        {"reference_hash": "r2"},
        {"data": "d2"},
    ],
    ids=["submission", "seed", "timeout", "assignment", "grader", "reference", "data"],
)
def test_every_decisive_input_changes_the_key(change):
    assert cache_key(**{**BASE, **change}) != cache_key(**BASE)


def test_the_key_is_stable_and_ignores_the_order_of_settings():
    reordered = {**BASE, "settings": {"cell_timeout": 120.0, "seed": 1}}
    assert cache_key(**BASE) == cache_key(**reordered)
    assert len(cache_key(**BASE)) == 64


def result(key: str) -> SubmissionResult:
    check = CheckResult("closed_form.mu", CheckStatus.PASS, 2.0, 2.0, "ok")
    return SubmissionResult("alice", SubmissionStatus.GRADED, 2.0, 12.0, "a" * 64, (check,), provenance={"cache_key": key})


def test_a_stored_result_is_reused_only_under_its_key_and_with_its_report(tmp_path):
    result("k1").write(tmp_path / "alice" / "results.json")
    assert cached_result(tmp_path, "alice", "k1") is None, "no report.html: the student would get nothing"
    (tmp_path / "alice" / "report.html").write_text("<html></html>")
    assert cached_result(tmp_path, "alice", "k1") == result("k1")
    assert cached_result(tmp_path, "alice", "k2") is None
    assert cached_result(tmp_path, "bob", "k1") is None


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"submission": "alice"}'])
def test_a_damaged_stored_result_is_a_miss_not_a_crash(tmp_path, content):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "results.json").write_text(content)
    (tmp_path / "alice" / "report.html").write_text("<html></html>")
    assert cached_result(tmp_path, "alice", "k1") is None


def test_the_data_fingerprint_follows_the_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = raw / "train-images-idx3-ubyte"
    images.write_bytes(b"\0" * 100)
    files = ASSIGNMENT.data_files(tmp_path)
    first = data_fingerprint(tmp_path, files)
    assert data_fingerprint(tmp_path, files) == first
    images.write_bytes(b"\0" * 101)
    assert data_fingerprint(tmp_path, files) != first
    resized = data_fingerprint(tmp_path, files)
    os.utime(images, ns=(1, 1))
    assert data_fingerprint(tmp_path, files) != resized
    (raw / "t10k-images-idx3-ubyte").write_bytes(b"\0")
    assert data_fingerprint(tmp_path, ASSIGNMENT.data_files(tmp_path)) != resized


def test_the_grader_fingerprint_covers_the_assignment_package(tmp_path):
    """A change of an assignment's checks regrades, as a change of the harness does."""
    package = tmp_path / "assignments" / "a99"
    package.mkdir(parents=True)
    (package / "checks.py").write_text("TOLERANCE = 1e-4\n")
    before = grader_fingerprint(package)
    (package / "checks.py").write_text("TOLERANCE = 1e-3\n")
    grader_fingerprint.cache_clear()
    assert grader_fingerprint(package) != before
