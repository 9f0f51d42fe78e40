"""REPORTS/release.json and the released copies: strict, typed, refused when damaged; what students were
sent is never rewritten by a render, and never silently replaced by a tampered copy. Also: a rescore
never creates a course secret (a new one would judge on other hidden inputs)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from graders.errors import CorruptGradebook, UsageError
from graders.gradebook.release import RELEASE_NAME, Release, ReleaseState, read_release
from graders.gradebook.store import Gradebook, ManualEntry
from graders.pipeline.rescore import rescore_folder
from graders.pipeline.secret import SECRET_NAME
from graders.pipeline.staff import release, set_manual
from graders.report.render import publish
from graders.settings import CourseSecretSeed
from tests.provenance import SETTINGS, provenance
from tests.report.test_render import SEED, SOLUTION


def released_class(reports: Path) -> Release:
    with Gradebook.open(reports, create=True) as book:
        book.record_run([SEED, SOLUTION], info=provenance())
    publish(reports)
    return release(reports=reports, by="lecturer").release


def test_the_manifest_reads_back_as_written_and_says_what_each_student_was_sent(tmp_path):
    written = released_class(tmp_path)
    assert read_release(tmp_path) == written
    sent = written.students["seed-writeup"]
    # seed-writeup: 11 of the 12 automatic points (its μ derivation is wrong), its three written answers unmarked
    assert (sent.score, sent.max_score, sent.checks["derivation.mu"]) == (11, 15, 0)
    assert dict(sent.questions) == {"kl_observe": None, "kl_explain": None, "kl_role": None}
    with Gradebook.open(tmp_path) as book:
        assert {written.state(g) for g in book.grades()} == {ReleaseState.RELEASED}


def test_a_class_never_released_has_no_manifest_and_nothing_released(tmp_path):
    assert read_release(tmp_path) is None


def test_an_empty_gradebook_cannot_be_released(tmp_path):
    with Gradebook.open(tmp_path, create=True):
        pass
    with pytest.raises(UsageError, match="no graded submissions"):
        release(reports=tmp_path, by="lecturer")
    assert not (tmp_path / RELEASE_NAME).exists()


def _score(data: dict) -> None:
    data["students"]["solution"]["score"] = "15"


def _nan(data: dict) -> None:
    data["students"]["solution"]["score"] = float("nan")


def _extra_key(data: dict) -> None:
    data["students"]["solution"]["bonus"] = 3


def _missing_key(data: dict) -> None:
    del data["students"]["solution"]["report_sha256"]


def _format(data: dict) -> None:
    data["format"] = "something else"


def _question(data: dict) -> None:
    data["students"]["solution"]["questions"]["kl_role"] = True


DAMAGE = {
    "score as text": _score,
    "NaN": _nan,
    "an extra key": _extra_key,
    "a missing key": _missing_key,
    "a format": _format,
    "a bool": _question,
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_manifest_is_refused_and_nothing_is_rewritten(tmp_path, kind):
    released_class(tmp_path)
    path = tmp_path / RELEASE_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    DAMAGE[kind](data)
    path.write_text(json.dumps(data), encoding="utf-8")  # json.dumps writes NaN as the non-standard NaN
    sent = (tmp_path / "solution" / "report.html").read_bytes()
    with pytest.raises(CorruptGradebook, match=RELEASE_NAME):
        publish(tmp_path)
    assert (tmp_path / "solution" / "report.html").read_bytes() == sent


@pytest.mark.parametrize("content", [b"", b"{", b"\xff\xfe", b"[]", b"{" * 100_000])
def test_a_manifest_that_is_not_json_is_refused(tmp_path, content):
    (tmp_path / RELEASE_NAME).write_bytes(content)
    with pytest.raises(CorruptGradebook, match="not a release manifest"):
        read_release(tmp_path)


def test_a_manifest_that_is_a_link_is_refused(tmp_path):
    released_class(tmp_path / "real")
    os.symlink(tmp_path / "real" / RELEASE_NAME, tmp_path / RELEASE_NAME)
    with pytest.raises(CorruptGradebook, match="cannot be read"):
        read_release(tmp_path)


def test_a_render_after_release_keeps_what_was_sent_and_puts_the_new_version_beside_it(tmp_path):
    released_class(tmp_path)
    sent = (tmp_path / "seed-writeup" / "report.html").read_bytes()
    set_manual(reports=tmp_path, entries=[ManualEntry("seed-writeup", "kl_role", 1.0, "after the release")], by="ta")
    publish(tmp_path)
    assert (tmp_path / "seed-writeup" / "report.html").read_bytes() == sent
    assert b"after the release" in (tmp_path / "seed-writeup" / "unreleased" / "report.html").read_bytes()
    manifest = read_release(tmp_path)
    assert manifest is not None
    with Gradebook.open(tmp_path) as book:
        states = {g.submission: manifest.state(g) for g in book.grades()}
    assert states == {"seed-writeup": ReleaseState.CHANGED, "solution": ReleaseState.RELEASED}


def test_a_tampered_released_copy_is_refused_not_sent(tmp_path):
    released_class(tmp_path)
    (tmp_path / "solution" / "released" / "report.html").write_text("<p>full marks, honestly</p>", encoding="utf-8")
    with pytest.raises(CorruptGradebook, match="is not the report release.json says solution was sent"):
        publish(tmp_path)
    assert b"full marks, honestly" not in (tmp_path / "solution" / "report.html").read_bytes()


def test_a_rescore_never_creates_a_course_secret(tmp_path):
    drawn = replace(provenance(), settings=replace(SETTINGS, seed=CourseSecretSeed("0123456789abcdef")))
    with Gradebook.open(tmp_path, create=True) as book:
        book.record_run([SEED, SOLUTION], info=drawn)
    with pytest.raises(UsageError, match="there is no course secret"):
        rescore_folder(tmp_path)
    assert not (tmp_path / SECRET_NAME).exists()
