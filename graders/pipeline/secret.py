"""The course secret the grading seed is drawn from.

The seed decides the hidden inputs and the experiment's training. A constant in the grader's
source would let anyone with the source rebuild the hidden inputs, so it comes from a secret
that lives with the course's reports (`REPORTS/.grader-secret`, mode 0600, or `--secret-file`),
is generated on first use, and is never in the repository. results.json shows only a hash of
it. Same submission + same grader + same secret = same scores.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from graders.errors import UsageError
from graders.execute.untrusted import NotAFile, TooLarge, read_regular

SECRET_NAME = ".grader-secret"
_MAX_SECRET_BYTES = 4096
_SEED_DOMAIN = b"a10-grader grading seed\0"  # the seed and the recorded hash must not be the same digest


@dataclass(frozen=True)
class CourseSeed:
    seed: int
    secret_hash: str  # what provenance shows: identifies the secret without revealing the seed


def course_seed(secret_file: Path) -> CourseSeed:
    """The seed drawn from the secret in `secret_file`, creating the file (0600) if there is none."""
    secret = _read(secret_file) if os.path.lexists(secret_file) else _create(secret_file)
    digest = hashlib.sha256(_SEED_DOMAIN + secret).digest()
    return CourseSeed(int.from_bytes(digest[:4], "big") & 0x7FFFFFFF, hashlib.sha256(secret).hexdigest()[:16])


def existing_course_seed(secret_file: Path) -> CourseSeed:
    """The seed drawn from a secret that must already exist: where a new secret would grade on other hidden inputs."""
    if not os.path.lexists(secret_file):
        raise UsageError(f"there is no course secret at {secret_file}")
    return course_seed(secret_file)


def _create(path: Path) -> bytes:
    secret = secrets.token_hex(32).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:  # another grader created it a moment ago: use theirs
        return _read(path)
    except OSError as exc:
        raise UsageError(f"cannot create the course secret {path} ({exc.strerror})") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret + b"\n")
    return secret


def _read(path: Path) -> bytes:
    try:
        info = path.lstat()
        secret = read_regular(path, _MAX_SECRET_BYTES).strip()
    except (OSError, NotAFile, TooLarge) as exc:
        raise UsageError(
            f"cannot read the course secret {path}: it must be a private regular file of a few bytes, not a link ({exc})"
        ) from exc
    if info.st_mode & 0o077:
        raise UsageError(f"the course secret {path} is readable by others (mode {info.st_mode & 0o777:o}); chmod 600 it")
    if not secret:
        raise UsageError(f"the course secret {path} is empty")
    return secret
