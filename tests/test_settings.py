"""graders/settings.py: typed run settings and provenance, strict JSON both ways, and what older graders wrote."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import pytest

from graders.assignment.spec import Scoring
from graders.results import SubmissionResult
from graders.settings import CourseSecretSeed, Execution, GivenSeed, Provenance, RunSettings
from tests.provenance import SETTINGS, provenance

LEGACY = Path(__file__).resolve().parent / "fixtures" / "legacy"
# The oldest settings dict: before `disk_bytes`, `scoring` and the assignment were recorded.
OLD_SETTINGS = {"seed": 3, "cell_timeout": 60.0, "notebook_timeout": 600.0, "memory_bytes": 1, "hidden": False, "epochs": 1}
RAN = provenance(
    seconds=1.5,
    execution=Execution(False, "cell 3 timed out"),
    exception="RuntimeError: lost",
    sandbox={"warnings": ["network NOT isolated"], "filesystem": ["read-only: /usr"]},
    kit="abcdef012345",
    rescored_at="2026-01-01T00:00:00.000000+00:00",
)


@pytest.mark.parametrize("value", [provenance(), RAN, replace(RAN, settings=replace(SETTINGS, seed=CourseSecretSeed("0123abcd")))])
def test_provenance_round_trips_through_json_text(value):
    assert Provenance.from_json(json.loads(json.dumps(value.to_json()))) == value


def test_settings_round_trip_and_name_their_seed_kind():
    secret = replace(SETTINGS, seed=CourseSecretSeed("0123abcd"), assignment_id=None, assignment_version=None)
    for settings in (SETTINGS, secret):
        assert RunSettings.from_json(json.loads(settings.canonical())) == settings
    assert secret.to_json()["seed"] == {"kind": "course-secret", "secret_hash": "0123abcd"}
    assert SETTINGS.to_json()["seed"] == {"kind": "given", "value": 1}


@pytest.mark.parametrize("name", [f.name for f in fields(RunSettings)])
def test_a_missing_or_unknown_settings_key_is_refused_by_name(name):
    data = SETTINGS.to_json()
    with pytest.raises(ValueError, match=rf"settings: missing keys \['{name}'\]"):
        RunSettings.from_json({k: v for k, v in data.items() if k != name})
    with pytest.raises(ValueError, match=r"settings: unknown keys \['x_" + name):
        RunSettings.from_json({**data, f"x_{name}": 1})


@pytest.mark.parametrize("name", [f.name for f in fields(RunSettings)])
def test_a_settings_value_of_the_wrong_type_is_refused_by_name(name):
    """Every field refuses a list (no field is one), and the near misses JSON invites: a bool for a number, a string for a bool."""
    data = SETTINGS.to_json()
    for wrong in ([1], True if not isinstance(data[name], bool) else 1, {"kind": "given", "value": "1"}):
        if wrong == data[name]:
            continue
        with pytest.raises(ValueError, match=rf"settings\.{name}"):
            RunSettings.from_json({**data, name: wrong})


@pytest.mark.parametrize("name", [f.name for f in fields(Provenance)])
def test_a_missing_provenance_key_is_refused_by_name(name):
    data = RAN.to_json()
    with pytest.raises(ValueError, match=rf"provenance: missing keys \['{name}'\]"):
        Provenance.from_json({k: v for k, v in data.items() if k != name})


@pytest.mark.parametrize(
    ("damaged", "named"),
    [
        ({"seconds": "1.5"}, "provenance.seconds"),
        ({"execution": {"finished": "no", "message": ""}}, "provenance.execution.finished"),
        ({"execution": {"finished": True}}, "provenance.execution: missing"),
        ({"sandbox": {"warnings": [1]}}, "provenance.sandbox"),
        ({"sandbox": {"note": "no warnings key"}}, "provenance.sandbox"),
        ({"format": 2}, "format 1"),
        ({"settings": {**SETTINGS.to_json(), "scoring": "lenient"}}, "provenance.settings.scoring"),
        ({"settings": {**SETTINGS.to_json(), "seed": 7}}, "provenance.settings.seed"),
        ({"settings": {**SETTINGS.to_json(), "seed": {"kind": "course-secret", "value": 7}}}, "provenance.settings.seed"),
        ({"cache_key": "x" * 10_000_000 + "'"}, None),  # fine: a long key is a key (and the message stays short below)
        ({"python": ["x" * 1_000_000]}, "provenance.python"),
    ],
)
def test_a_malformed_provenance_is_a_clear_short_error(damaged, named):
    data = {**RAN.to_json(), **damaged}
    if named is None:
        assert Provenance.from_json(data).cache_key == damaged["cache_key"]
        return
    with pytest.raises(ValueError, match=named) as caught:
        Provenance.from_json(data)
    assert len(str(caught.value)) < 400  # the value is named in part, never whole


def test_a_float_setting_takes_a_json_integer_and_an_int_setting_no_float():
    data = SETTINGS.to_json()
    assert RunSettings.from_json({**data, "cell_timeout": 60}).cell_timeout == 60.0
    with pytest.raises(ValueError, match="settings.memory_bytes"):
        RunSettings.from_json({**data, "memory_bytes": 1.5})


def test_changed_from_names_every_field_that_differs():
    other = replace(SETTINGS, cell_timeout=60.0, scoring=Scoring.STRICT)
    assert other.changed_from(SETTINGS) == ("cell_timeout", "scoring")
    assert SETTINGS.changed_from(SETTINGS) == ()


def test_the_student_view_shows_no_seed_settings_timings_or_sandbox():
    assert RAN.student_view() == {"grader_version": "0.1.0", "reference_hash": "ref-one", "kit": "abcdef012345"}


# ----------------------------------------------------------------------------- what older graders wrote


def legacy_result(era: str, name: str) -> SubmissionResult:
    return SubmissionResult.read(LEGACY / era / f"{name}.results.json")


def test_results_written_before_the_assignment_seam_read_with_their_course_secret_seed():
    """tests/fixtures/legacy/before-seam: written by `grader grade` and `grader rescore` at 762e862."""
    graded = legacy_result("before-seam", "solution.graded")
    stored = json.loads((LEGACY / "before-seam" / "solution.graded.results.json").read_text())["provenance"]
    assert stored["settings"]["epochs"] == 1 and stored["settings"]["seed"].startswith("course secret ")  # the old shape
    ran = graded.provenance
    assert ran is not None
    assert ran.settings.seed == CourseSecretSeed(stored["settings"]["seed"].removeprefix("course secret "))
    assert (ran.settings.assignment_id, ran.settings.assignment_version) == (None, None)  # not recorded then
    assert (ran.cache_key, ran.executor, ran.seconds) == (stored["cache_key"], "warm", stored["seconds"])
    assert ran.execution == Execution(True, "") and ran.sandbox == stored["sandbox"] and ran.kit == ""
    assert ran.rescored_at is None and ran.exception is None
    rescored = legacy_result("before-seam", "solution").provenance
    assert rescored is not None and rescored.rescored_at is not None and rescored.settings == ran.settings
    broken = legacy_result("before-seam", "broken").provenance
    assert broken is not None and broken.execution is None and broken.sandbox is None and broken.kit is None


def test_results_written_after_the_seam_read_with_their_assignment():
    """tests/fixtures/legacy/after-seam: written by `grader grade` at 04d5c18 (settings name the assignment)."""
    broken = legacy_result("after-seam", "broken").provenance
    assert broken is not None
    assert (broken.settings.assignment_id, broken.settings.assignment_version) == ("assignment-10", "1")
    assert broken.settings.scoring is Scoring.PER_MISTAKE and isinstance(broken.settings.seed, CourseSecretSeed)


def test_a_legacy_result_is_written_back_typed_and_reads_the_same():
    old = legacy_result("before-seam", "solution.graded")
    again = SubmissionResult.from_json(json.loads(json.dumps(old.to_json())))
    assert again == old and again.to_json()["provenance"]["format"] == 1


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"seed": "1234"}, "neither a number nor 'course secret <hash>'"),
        ({"seed": True}, "neither a number"),
        ({"cell_timeout": 1.0}, "with a seed"),
        ({**OLD_SETTINGS, "cell_timeout": "slow"}, "settings.cell_timeout"),
        ({**OLD_SETTINGS, "workers": 4}, r"unknown keys \['workers'\]"),
        ({k: v for k, v in OLD_SETTINGS.items() if k != "hidden"}, r"missing keys \['hidden'\]"),
    ],
)
def test_malformed_legacy_settings_are_refused_by_name(settings, named):
    with pytest.raises(ValueError, match=named):
        Provenance.parse({"settings": settings})


def test_legacy_settings_take_the_defaults_then_in_force_for_what_they_did_not_record():
    read = Provenance.parse({"settings": OLD_SETTINGS})
    assert read.settings.seed == GivenSeed(3) and read.settings.scoring is Scoring.PER_MISTAKE
    assert read.settings.disk_bytes == 512 * 1024**2 and read.grader_version == "unknown" and read.cache_key == ""
