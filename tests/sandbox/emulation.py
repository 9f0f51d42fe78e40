"""The tests' stand-in for an unprivileged grader, and what it must be able to reach.

A real unprivileged grader runs as the user who owns its checkout: it reaches the checkout, the
venv and the Python installation because it runs from them, wherever they are (a home folder of
mode 0700 included), and its sandbox maps uid 0 in a user namespace to that user. As root, the
tests stand in for it with uid 65534, which owns nothing: a checkout under a folder that only its
owner can enter (mode 0700, as `mktemp -d` makes it and as root's home is) is out of its reach,
and the sandbox's view silently loses the venv and the graders package (`filesystem.plan_view`
cannot see them), or the child cannot even enter its working directory.

`reach` gives uid 65534 what the grader's own user would have, in the forked child's own mount
namespace only (nothing on the host changes): each folder that blocks the way is covered by a
0755 tmpfs holding nothing but the way down to the paths needed, bound there at their own
absolute paths, as the sandbox's view itself is built. What it cannot fix, a needed folder that
others may not read (a checkout made under umask 077), `gap` names, and the tests skip saying so.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import graders
from graders.sandbox.libc import CLONE_NEWNS, MS_BIND, MS_NODEV, MS_NOSUID, MS_PRIVATE, MS_REC, mount, unshare

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534


def needed() -> list[str]:
    """What the stand-in must reach, as real paths: the checkout (the tests' working directory,
    the graders package) and the Python installation the sandbox puts in its view."""
    python = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    python += [p for p in sys.path if os.path.isabs(p) and Path(p).name in ("site-packages", "dist-packages")]
    paths = [os.path.realpath(p) for p in (str(REPO), os.path.dirname(graders.__file__), *python)]
    return [path for path in dict.fromkeys(paths) if os.path.isdir(path)]


def gap(paths: list[str], uid: int = NOBODY) -> str:
    """Why `uid` could not use `paths` even once `reach` cleared the way to them; "" if it could."""
    for path in paths:
        found = os.stat(path)
        if not _may(found, uid, read=True):
            return (
                f"uid {uid}, which stands in for an unprivileged grader here, cannot read {path} "
                f"(mode {stat.filemode(found.st_mode)}): make the checkout and its venv world-readable to run these tests as root "
                "(a real unprivileged grader owns its checkout and is not affected)"
            )
    return ""


def reach(paths: list[str], uid: int = NOBODY) -> None:
    """As root, before becoming `uid`: clear the way to `paths` in a mount namespace of this process's own."""
    blocked: dict[str, list[str]] = {}
    for path in paths:
        top = _first_blocking(path, uid)
        if top:
            blocked.setdefault(top, []).append(path)
    if not blocked:
        return
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    for top, below in blocked.items():
        _cover(top, [p for p in below if not any(p != other and p.startswith(other + "/") for other in below)])


def _first_blocking(path: str, uid: int) -> str:
    """The outermost folder above `path` that `uid` may not pass through; "" if none."""
    parts = Path(path).parts
    for depth in range(1, len(parts)):
        folder = os.path.join(*parts[:depth])
        if not _may(os.stat(folder), uid, read=False):
            return folder
    return ""


def _may(found: os.stat_result, uid: int, *, read: bool) -> bool:
    """Whether `uid` (no supplementary groups, its own gid) may search the folder, and read it if `read`."""
    wanted = 0o5 if read else 0o1
    shift = 6 if found.st_uid == uid else 3 if found.st_gid == uid else 0
    return (found.st_mode >> shift) & wanted == wanted


def _cover(top: str, paths: list[str]) -> None:
    """A 0755 tmpfs over `top` with only `paths` in it, bound from the folders they were."""
    sources = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in paths}  # before the tmpfs hides them
    try:
        mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for path, fd in sources.items():
            os.makedirs(path)
            for folder in Path(path).relative_to(top).parents:
                os.chmod(Path(top, folder), 0o755)  # noqa: S103 - whatever the umask: the view's dirs are world-traversable, like the real ones
            mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
    finally:
        for fd in sources.values():
            os.close(fd)
