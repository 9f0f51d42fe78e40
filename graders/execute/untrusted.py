"""Reading files that a notebook's own code could have written or replaced.

Everything in a submission's work dir, and every memory file a warm child hands back (see
graders.execute.handover.ChildChannel), is under the student's control while their code runs:
a file there may be a symlink to another student's results or to a root-only file, a FIFO
that blocks forever, garbage, huge, or JSON nested deep enough to crash a recursive parser.
The grader and the zygote run unconfined, so they read such files only through this module,
and never write into a work dir after the notebook's code has started (the executed notebook
is delivered outside it: see `ExecutionJob.output_path`).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any


class NotAFile(Exception):
    """The path is something other than a regular file (a link, a folder, a FIFO, a device, ...)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # in words: "a link", "a folder", "a named pipe", ...


class TooLarge(Exception):
    """The file has more than the bytes the reader allowed."""


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, opened without following a link or blocking.

    Raises NotAFile (a link is "a link": O_NOFOLLOW refuses it), TooLarge, or OSError.
    Never `open()`s a FIFO or device in a way that blocks or reads forever: the type is checked
    on the descriptor (fstat) before a single byte is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise NotAFile("a link") from exc
        raise
    kind = stat.S_IFMT(os.fstat(fd).st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)  # before fdopen: it refuses a folder's descriptor, which would leak
        raise NotAFile(_KINDS.get(kind, "not a regular file"))
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"over {limit} bytes")
    return data


def read_regular_file(path: Path, limit: int) -> bytes | None:
    """The file's bytes; None unless it is a regular file (not a link) of at most `limit` bytes."""
    try:
        return read_regular(path, limit)
    except (NotAFile, TooLarge, OSError):
        return None


def read_json(path: Path, max_bytes: int) -> Any | None:
    """The parsed JSON of a regular file of at most `max_bytes`; None for anything else.

    None also for text that is not UTF-8 JSON, and for nesting too deep to parse (RecursionError).
    The caller still checks the shape of what comes back.
    """
    return parse_json(read_regular_file(path, max_bytes))


def parse_json(raw: bytes | None) -> Any | None:
    """Parsed JSON, or None for anything else (not UTF-8, not JSON, nested too deep to parse)."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def read_memory_file(fd: int, limit: int) -> bytes | None:
    """What a sandboxed process wrote into a memory file the zygote handed it; None if over `limit` bytes."""
    data = os.pread(fd, limit + 1, 0)
    return data if len(data) <= limit else None


def copy_capped(fd: int, target: Path, limit: int) -> bool:
    """Copy a memory file a sandboxed process wrote to `target` (replaced), in the kernel, if it holds
    at most `limit` bytes; otherwise, or if it is empty, remove `target`. True if copied."""
    size = os.fstat(fd).st_size
    target.unlink(missing_ok=True)
    if not 0 < size <= limit:
        return False
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        offset = 0
        while offset < size and (sent := os.sendfile(out, fd, offset, size - offset)) > 0:
            offset += sent
    finally:
        os.close(out)
    return True
