"""The cache key: a result is reused only when nothing that decides it has changed."""

from __future__ import annotations

import json
import os
from dataclasses import fields, replace
from enum import Enum
from pathlib import Path

import pytest

from assignments.a10 import ASSIGNMENT
from graders.pipeline.cache import cache_key, cached_result, data_fingerprint, grader_fingerprint
from graders.results import CheckResult, CheckStatus, SubmissionResult, SubmissionStatus
from graders.settings import CourseSecretSeed, GivenSeed, RunSettings
from tests.provenance import SETTINGS, provenance

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"

BASE = {"sha256": "a" * 64, "settings": SETTINGS, "grader": "g1", "reference_hash": "r1", "data": "d1"}


@pytest.mark.parametrize(
    "change",
    [{"sha256": "b" * 64}, {"grader": "g2"}, {"reference_hash": "r2"}, {"data": "d2"}],
    ids=["submission", "grader", "reference", "data"],
)
def test_every_decisive_input_changes_the_key(change):
    assert cache_key(**{**BASE, **change}) != cache_key(**BASE)


def other_value(value: object) -> object:
    """A different value of the same type: by type, so a new settings field needs no entry here."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "-other"
    if value is None:
        return "set"
    if isinstance(value, Enum):
        return next(member for member in type(value) if member is not value)
    if isinstance(value, GivenSeed):
        return CourseSecretSeed(str(value.value))  # the same digits, another kind of seed
    raise AssertionError(f"tests/pipeline/test_cache.py: no other value for {value!r}; teach other_value its type")


@pytest.mark.parametrize("name", [f.name for f in fields(RunSettings)])
def test_every_settings_field_changes_the_key(name):
    changed = replace(SETTINGS, **{name: other_value(getattr(SETTINGS, name))})
    assert cache_key(**{**BASE, "settings": changed}) != cache_key(**BASE)


def test_the_key_is_stable():
    assert cache_key(**BASE) == cache_key(**{**BASE, "settings": replace(SETTINGS)})
    assert len(cache_key(**BASE)) == 64


def result(key: str, **changes: object) -> SubmissionResult:
    check = CheckResult("closed_form.mu", CheckStatus.PASS, 2.0, 2.0, "ok")
    return SubmissionResult(
        "alice", SubmissionStatus.GRADED, 2.0, 12.0, "a" * 64, (check,), provenance=provenance(cache_key=key, **changes)
    )


def test_a_stored_result_is_reused_only_under_its_key_and_with_its_report(tmp_path):
    result("k1").write(tmp_path / "alice" / "results.json")
    assert cached_result(tmp_path, "alice", "k1") is None, "no report.html: the student would get nothing"
    (tmp_path / "alice" / "report.html").write_text("<html></html>")
    assert cached_result(tmp_path, "alice", "k1") == result("k1")
    assert cached_result(tmp_path, "alice", "k2") is None
    assert cached_result(tmp_path, "bob", "k1") is None


def stored_with(tmp_path, provenance_json: object) -> None:
    stored = result("k1").to_json()
    stored["provenance"] = provenance_json
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "results.json").write_text(json.dumps(stored))
    (tmp_path / "alice" / "report.html").write_text("<html></html>")


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"submission": "alice"}'])
def test_a_damaged_stored_result_is_a_miss_not_a_crash(tmp_path, content):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "results.json").write_text(content)
    (tmp_path / "alice" / "report.html").write_text("<html></html>")
    assert cached_result(tmp_path, "alice", "k1") is None


def typed(**changes: object) -> dict[str, object]:
    return {**result("k1").to_json()["provenance"], **changes}


@pytest.mark.parametrize(
    "damaged",
    [
        None,  # no provenance recorded: nothing says under which key it was made
        "k1",
        [1, 2],
        typed(format=99),
        typed(cache_key=1),
        typed(surprise="key"),
        {k: v for k, v in typed().items() if k != "cache_key"},
        typed(settings={**typed()["settings"], "hidden": "yes"}),
        typed(settings={**typed()["settings"], "seed": {"kind": "guessed", "value": 1}}),
        typed(sandbox={"warnings": "none"}),
        {"cache_key": "k1", "settings": {"seed": "not a seed"}},  # legacy, malformed
        {"cache_key": "k1"},  # legacy, without settings
    ],
)
def test_a_malformed_provenance_is_a_miss_not_a_crash(tmp_path, damaged):
    stored_with(tmp_path, damaged)
    assert cached_result(tmp_path, "alice", "k1") is None


def test_a_legacy_result_is_read_and_is_a_miss_under_todays_key(tmp_path):
    """A results.json from before typed settings still reads; its key was made another way, so it is graded again."""
    folder = tmp_path / "solution"
    folder.mkdir()
    (folder / "results.json").write_bytes((LEGACY / "before-seam" / "solution.graded.results.json").read_bytes())
    (folder / "report.html").write_text("<html></html>")
    old_key = json.loads((folder / "results.json").read_text())["provenance"]["cache_key"]
    assert cached_result(tmp_path, "solution", old_key) is not None  # readable: its own key still matches it
    assert cached_result(tmp_path, "solution", cache_key(**BASE)) is None


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
