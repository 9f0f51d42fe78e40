"""The writer lock of a reports folder: one batch (`grade`, `rescore`, `report`) at a time.

Kept free of heavy imports: `grader grade` takes it before it starts anything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from graders.errors import FolderBusy

LOCK_FILENAME = ".gradebook.lock"


@contextlib.contextmanager
def exclusive(reports_dir: Path) -> Iterator[None]:
    """Hold REPORTS/.gradebook.lock for a whole batch; a second batch on the same folder is FolderBusy.

    An flock dies with its process, so a grader killed with -9 leaves no stale lock behind.
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    handle = os.open(reports_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 64, 0).decode(errors="replace").strip() or "unknown"
            raise FolderBusy(
                f"another grader (pid {holder}) is writing to {reports_dir}; wait for it to finish, then run this again"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(handle)  # releases the lock
