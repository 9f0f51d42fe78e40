"""Reading, and removing, files that a notebook's own code could have written or replaced.

Everything in a submission's work dir, and every memory file a warm child hands back (see
graders.execute.handover.ChildChannel), is under the student's control while their code runs:
a file there may be a symlink to another student's results or to a root-only file, a FIFO
that blocks forever, garbage, huge, or JSON nested deep enough to crash a recursive parser.
The grader and the zygote run unconfined, so they read such files only through this module,
and never write into a work dir after the notebook's code has started (the executed notebook
is delivered outside it: see `ExecutionJob.output_path`). Work dirs, and the scratch folders
holding them, are removed only through `remove_tree`.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.sandbox.libc import describe, umount_detached


# Not GraderErrors: each caller maps these to what its file is (a NotebookError for a submission, a UsageError
# for the course secret); raised and caught in the same process, never shown as they are.
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


# Opens a folder to list it, never through a link; the walk holds one such descriptor at a time.
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_REPORTED = 3  # entries named in the one line a failed removal prints; the rest are counted
_SHOWN_CHARS = 200


def remove_tree(path: Path) -> None:
    """Remove `path` and everything under it, whatever a notebook left there; never raises.

    For `finally:` blocks: nothing a notebook can plant stops a batch here. Unlike shutil.rmtree,
    which recurses (1,200 nested folders raised RecursionError, which `ignore_errors` does not
    catch), the walk is a loop holding one folder descriptor at any depth (deeper than the fd
    limit, paths longer than PATH_MAX), never follows a link, makes a folder the notebook locked
    (mode 0000, 0500) usable again, and unmounts a folder that is a filesystem of its own (a
    tmpfs work dir). Whatever cannot be removed is left, and named to staff on stderr.
    """
    removal = _Removal(path)
    try:
        removal.run()
    except OSError as exc:  # the walk itself could not go on (the tree moved under it): say so
        removal.failed("", exc)
    finally:
        removal.close()
    removal.report()


@dataclass
class _Folder:
    """A folder on the walk's way down: its name in its parent, its identity, the subfolders left to remove."""

    name: str
    identity: tuple[int, int]
    subfolders: list[str]


class _Removal:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.fd = -1  # the one open folder
        self.stack: list[_Folder] = []  # root first
        self.failures = 0
        self.examples: list[str] = []

    def run(self) -> None:
        name = self.root.name
        try:
            # The root's parent is the grader's own path (it may lead through links: /tmp on macOS).
            self.fd = os.open(self.root.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            kind = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return  # nothing to remove
        if not stat.S_ISDIR(kind.st_mode):
            self.attempt(os.unlink, name)
            return
        top = _identity(self.fd)
        if self.descend(name):
            self.walk(top)

    def walk(self, top: tuple[int, int]) -> None:
        """Depth first, a loop: down into a subfolder, back up through `..`, checked to be the folder it left."""
        while self.stack:
            folder = self.stack[-1]
            if folder.subfolders:
                self.descend(folder.subfolders.pop())
                continue
            self.stack.pop()
            self.switch(os.open("..", _FOLDER, dir_fd=self.fd))
            if _identity(self.fd) != (self.stack[-1].identity if self.stack else top):
                raise OSError(errno.ESTALE, "a folder was moved while it was being removed")
            self.attempt(os.rmdir, folder.name)

    def descend(self, name: str) -> bool:
        """Enter a subfolder of the open folder and remove all but its subfolders; False if it cannot be entered."""
        self.unmount(name)
        try:
            try:
                fd = os.open(name, _FOLDER, dir_fd=self.fd)
            except PermissionError:  # mode 0000 or 0300: made ours to list, then opened again
                self.unlock(name)
                fd = os.open(name, _FOLDER, dir_fd=self.fd)
        except OSError as exc:
            self.failed(name, exc)
            return False
        self.switch(fd)
        if stat.S_IMODE(os.fstat(fd).st_mode) & stat.S_IRWXU != stat.S_IRWXU:
            self.attempt_on_fd(lambda: os.fchmod(fd, stat.S_IRWXU), name)  # 0500, 0600: entries could not be removed or reached
        folder = _Folder(name, _identity(fd), [])
        self.stack.append(folder)  # first: a failure inside it is named by its path
        folder.subfolders = self.clear()
        return True

    def clear(self) -> list[str]:
        """Unlink everything in the open folder but its subfolders, which are returned."""
        try:
            with os.scandir(self.fd) as listing:
                entries = [(entry.name, _is_folder(entry)) for entry in listing]
        except OSError as exc:
            self.failed("", exc)
            return []
        for entry_name, is_folder in entries:
            if not is_folder:
                self.attempt(os.unlink, entry_name)
        return [entry_name for entry_name, is_folder in entries if is_folder]

    def unmount(self, name: str) -> None:
        """A subfolder on another filesystem (a mount of its own) is unmounted rather than emptied, where allowed."""
        try:
            if os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_dev != os.fstat(self.fd).st_dev:
                umount_detached(f"/proc/self/fd/{self.fd}/{name}", follow=False)
        except OSError:
            return  # not a mount, or not ours to unmount: emptied like any folder (rmdir reports it if it stays)

    def unlock(self, name: str) -> None:
        """chmod 0700 a folder we may not list, through an O_PATH descriptor: a link is refused, never followed."""
        fd = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.fd)
        try:
            os.chmod(f"/proc/self/fd/{fd}", 0o700)  # fchmod refuses an O_PATH descriptor
        finally:
            os.close(fd)

    def switch(self, fd: int) -> None:
        os.close(self.fd)
        self.fd = fd

    def attempt(self, action: Callable[..., None], name: str) -> None:
        """`action(name, dir_fd=the open folder)`; a failure is counted and the walk goes on."""
        self.attempt_on_fd(lambda: action(name, dir_fd=self.fd), name)

    def attempt_on_fd(self, action: Callable[[], None], name: str) -> None:
        try:
            action()
        except FileNotFoundError:
            return  # gone already: what was wanted
        except OSError as exc:
            self.failed(name, exc)

    def failed(self, name: str, exc: OSError) -> None:
        self.failures += 1
        if len(self.examples) < _REPORTED:
            where = "/".join([*(folder.name for folder in self.stack), name]).strip("/")
            shown = where if len(where) <= _SHOWN_CHARS else "…" + where[-_SHOWN_CHARS:]
            self.examples.append(f"{shown!r} ({describe(exc)})")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def report(self) -> None:
        if self.failures:
            more = f" and {self.failures - len(self.examples)} more" if self.failures > len(self.examples) else ""
            print(
                f"grader: could not remove all of {self.root} ({self.failures} left, under {self.root.parent}): {', '.join(self.examples)}{more}",
                file=sys.stderr,
            )


def _identity(fd: int) -> tuple[int, int]:
    found = os.fstat(fd)
    return found.st_dev, found.st_ino


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False  # gone since it was listed: unlinking it is a no-op
