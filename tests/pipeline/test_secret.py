"""The course secret: generated once, private, the same seed every time, never shown."""

from __future__ import annotations

import stat

import pytest

from graders.errors import UsageError
from graders.pipeline.secret import course_seed


def test_the_secret_is_created_private_on_first_use_and_gives_the_same_seed_after(tmp_path):
    path = tmp_path / "reports" / ".grader-secret"
    first = course_seed(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    assert course_seed(path) == first


def test_another_secret_gives_another_seed_and_the_hash_does_not_reveal_the_seed(tmp_path):
    one, other = course_seed(tmp_path / "one"), course_seed(tmp_path / "two")
    assert one.seed != other.seed and one.secret_hash != other.secret_hash
    assert str(one.seed) not in one.secret_hash and 0 <= one.seed < 2**31


def test_a_secret_anyone_can_read_is_refused(tmp_path):
    path = tmp_path / "secret"
    path.write_text("shared\n")
    path.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        course_seed(path)


@pytest.mark.parametrize("kind", ["link", "folder", "empty"])
def test_a_secret_that_is_not_a_private_file_is_a_usage_error(tmp_path, kind):
    path = tmp_path / "secret"
    if kind == "link":
        target = tmp_path / "target"
        target.write_text("abc\n")
        target.chmod(0o600)
        path.symlink_to(target)
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_text("\n")
        path.chmod(0o600)
    with pytest.raises(UsageError):
        course_seed(path)
