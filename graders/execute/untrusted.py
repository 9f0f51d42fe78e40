"""Reading files that a notebook's own code could have written or replaced.

Everything in a submission's work dir is under the student's control while their code runs:
a file there may be a symlink to another student's results or to a root-only file, a FIFO
that blocks forever, garbage, huge, or JSON nested deep enough to crash a recursive parser.
The grader and the zygote run unconfined, so they read such files only through this module,
and never write into a work dir after the notebook's code has started (the executed notebook
is delivered outside it: see `ExecutionJob.output_path`).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any


def read_regular_file(path: Path, limit: int) -> bytes | None:
    """The file's bytes; None unless it is a regular file (not a link) of at most `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # before fdopen, which refuses a directory
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None


def read_json(path: Path, max_bytes: int) -> Any | None:
    """The parsed JSON of a regular file of at most `max_bytes`; None for anything else.

    None also for text that is not UTF-8 JSON, and for nesting too deep to parse (RecursionError).
    The caller still checks the shape of what comes back.
    """
    raw = read_regular_file(path, max_bytes)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
