"""The notebook's view of the filesystem: an allow-list, built on an empty root.

Inside its own mount namespace the process builds a new root on a small tmpfs, binds the allowed
paths into it at their own absolute paths, and pivot_roots into it; the old root is detached, so
nothing outside the view can be reached by any path (and inherited directory fds are closed,
because openat on one would walk the old tree). The view holds only:

- the system runtime, read-only: /usr, and /bin, /sbin, /lib* (bound, or re-created as symlinks);
- /etc: only the entries in `ETC_ENTRIES` (users, hosts, the dynamic loader's cache, locale and
  time zone data, …), read-only; never shadow, gshadow, ssh, sudoers, ssl, pip.conf and the like;
- the Python installation, read-only: every prefix (the venv and the base Python) and the
  site-packages dirs on sys.path. Never the harness: the `graders` package directory is hidden
  wherever it would show (in site-packages after a regular install), and an editable install's
  repository is not bound at all, so neither the judge, the executor, `reference`, .git, handout/
  nor the reports are in the view. A warm child imports what it runs before it enters the view;
  the probe cell carries the kernel-side runtime as source;
- `policy.readonly_dirs` read-only and `policy.writable_dirs` writable;
- `policy.private_dirs`: a tmpfs of `policy.disk_bytes` each, seeded with copies of the host
  dir's top-level files (the prepared notebook); what the notebook writes there stays there;
- private tmpfs /tmp and /dev/shm (each `max_file_bytes` big);
- a minimal /dev (null, zero, full, random, urandom, tty and the fd/stdin/stdout/stderr links);
- /proc: a fresh one for the sandbox's PID namespace (the host's only when there is none: warned);
- `policy.hidden_dirs`: an empty read-only tmpfs wherever one would show inside the view.

Every directory that only leads to a kept path (e.g. /root/.pyenv for a pyenv Python under a 0700
/root) is a 0755 directory of the new root holding nothing else, so a dropped uid can traverse
it without seeing what the host has there. The new root itself is read-only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import stat
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from graders.sandbox.libc import (
    LAST_STDIO_FD,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    describe,
    mount,
    pivot_root,
    umount_detached,
)
from graders.sandbox.policy import Findings, SandboxPolicy

SYSTEM_ENTRIES = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_ENTRIES = (
    "passwd",
    "group",
    "hosts",
    "hostname",
    "host.conf",
    "nsswitch.conf",
    "resolv.conf",
    "gai.conf",
    "networks",
    "protocols",
    "services",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "locale.alias",
    "mime.types",
    "magic",
    "os-release",
    "alternatives",
    "fonts",
    "terminfo",
    "mtab",
    "python3",
    f"python{sys.version_info.major}.{sys.version_info.minor}",  # a distribution Python's sitecustomize
)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
# Where the new root is assembled before the pivot: any directory works, because every source is
# opened (O_PATH) before it is covered; /tmp is replaced by a private tmpfs in the view anyway.
_ASSEMBLY = "/tmp"  # noqa: S108 - a mount point only, covered by the view's own /tmp (below); nothing is written to it
_SKELETON_TMPFS = "size=1m,nr_inodes=4096,mode=0755"  # holds only the mount points of the view
# The harness, the assignments and their truth: hidden wherever an installation puts them in the
# view (site-packages, a source checkout). The kernel needs none of them: the probe runtime and an
# assignment's kernel code arrive as source with the probe request.
_HIDDEN_PACKAGES = ("graders", "assignments", "reference")


def _package_dirs() -> tuple[str, ...]:
    """The folders of `_HIDDEN_PACKAGES` as installed, found without importing them."""
    found: list[str] = []
    for name in _HIDDEN_PACKAGES:
        spec = importlib.util.find_spec(name)
        found += [str(Path(p).resolve()) for p in (spec.submodule_search_locations or [])] if spec is not None else []
    return tuple(found)


class Kind(Enum):
    READONLY = "read-only"
    WRITABLE = "writable"
    DEVICE = "device"
    SYMLINK = "symlink"
    SCRATCH = "private tmpfs"
    DEVDIR = "minimal /dev"
    PROC = "/proc"
    HIDDEN = "hidden (empty, read-only)"
    PRIVATE = "private tmpfs, seeded"


# Mounted first at the same depth: a tmpfs must be in place before the binds below it.
_FIRST = (Kind.SCRATCH, Kind.DEVDIR, Kind.HIDDEN)


@dataclass(frozen=True)
class Entry:
    path: str  # absolute; the same in the view as on the host
    kind: Kind
    link: str = ""  # for SYMLINK: where it points


@dataclass(frozen=True)
class View:
    entries: tuple[Entry, ...]
    writable: tuple[str, ...]
    readonly: tuple[str, ...]
    cwd: str
    private: tuple[str, ...] = ()
    owner: tuple[int, int] | None = None  # who owns a private dir's tmpfs (the uid root drops to); None: the caller


def plan_view(policy: SandboxPolicy, log_: Findings, *, drop_root: bool = False) -> View:
    """What the view will hold: real paths (mounts follow no symlinks); missing dirs are left out."""

    def existing(paths: tuple[str, ...], role: str) -> tuple[str, ...]:
        found = []
        for path in paths:
            real = os.path.realpath(path)
            if os.path.isdir(real):
                found.append(real)
            elif role != "hidden":  # a hidden dir that does not exist has nothing to hide
                log_.warn(f"{role} dir {path} does not exist: not available to the student")
        return tuple(dict.fromkeys(found))

    writable, readonly = existing(policy.writable_dirs, "writable"), existing(policy.readonly_dirs, "readonly")
    private = existing(policy.private_dirs, "private")
    entries = [*_system_entries(), *_python_entries(), Entry("/tmp", Kind.SCRATCH), Entry("/dev", Kind.DEVDIR)]  # noqa: S108 - a fresh tmpfs
    entries += [Entry(f"/dev/{name}", Kind.DEVICE) for name in DEVICES if os.path.exists(f"/dev/{name}")]
    entries += [Entry(f"/dev/{name}", Kind.SYMLINK, target) for name, target in DEV_LINKS.items()]
    entries += [Entry("/dev/shm", Kind.SCRATCH), Entry("/proc", Kind.PROC)]  # noqa: S108 - a fresh tmpfs
    entries += [Entry(path, Kind.READONLY) for path in readonly] + [Entry(path, Kind.WRITABLE) for path in writable]
    entries += [Entry(path, Kind.PRIVATE) for path in private]
    entries += [Entry(path, Kind.HIDDEN) for path in existing((*policy.hidden_dirs, *_package_dirs()), "hidden")]
    try:
        cwd = os.getcwd()
    except FileNotFoundError:  # the working directory was deleted
        cwd = "/"
    owner = (policy.sandbox_uid, policy.sandbox_gid) if drop_root else None
    return View(_deduplicated(entries), writable, readonly, cwd, private, owner)


def _system_entries() -> list[Entry]:
    found = []
    for path in [f"/{name}" for name in SYSTEM_ENTRIES] + [f"/etc/{name}" for name in ETC_ENTRIES]:
        if os.path.islink(path):
            found.append(Entry(path, Kind.SYMLINK, os.readlink(path)))
        elif os.path.exists(path):
            found.append(Entry(path, Kind.READONLY))
    return found


def _python_entries() -> list[Entry]:
    """The interpreter's prefixes and the site-packages on sys.path (the harness is not among them)."""
    prefixes = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    packages = [p for p in sys.path if os.path.isabs(p) and os.path.basename(p.rstrip("/")) in ("site-packages", "dist-packages")]
    paths = [os.path.realpath(p) for p in (*prefixes, *packages)]
    return [Entry(path, Kind.READONLY) for path in dict.fromkeys(paths) if os.path.isdir(path)]


def _deduplicated(entries: list[Entry]) -> tuple[Entry, ...]:
    """One entry per path (the last word wins: a writable dir beats a read-only one), in mount order.

    A read-only bind already inside another read-only bind is left out: it shows anyway.
    """
    by_path = {entry.path: entry for entry in entries}
    binds = [e.path for e in by_path.values() if e.kind is Kind.READONLY]
    kept = [
        e
        for e in by_path.values()
        if not (e.kind is Kind.READONLY and any(e.path != top and _under(e.path, top) for top in binds) and not _below_tmpfs(e, by_path))
    ]
    return tuple(sorted(kept, key=lambda e: (len(Path(e.path).parts), e.kind not in _FIRST)))


def _below_tmpfs(entry: Entry, by_path: dict[str, Entry]) -> bool:
    """Whether a tmpfs of the view (a hidden dir, /tmp) lies between `entry` and the bind holding it."""
    return any(e.kind in _FIRST and e.path != entry.path and _under(entry.path, e.path) for e in by_path.values())


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def build_view(view: View, policy: SandboxPolicy, log_: Findings, *, own_proc: bool) -> bool:
    """Assemble the view and pivot_root into it; False (with warnings) if the old root stays.

    `own_proc`: the process is pid 1 of a new PID namespace, so a fresh /proc can be mounted.
    """
    try:
        mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we do may propagate to the host
        sources = _open_sources(view)
    except OSError as exc:
        log_.warn(f"filesystem NOT isolated: cannot prepare the view ({describe(exc)})")
        return False
    try:
        mount("tmpfs", _ASSEMBLY, "tmpfs", MS_NOSUID | MS_NODEV, _SKELETON_TMPFS)
    except OSError as exc:
        log_.warn(f"filesystem NOT isolated: no tmpfs for the new root ({describe(exc)})")
        _close(sources)
        return False
    complete = True
    frozen = [_ASSEMBLY]  # tmpfs mounts made read-only once everything below them is mounted
    for entry in view.entries:
        try:
            if _place(entry, sources, policy, log_, own_proc=own_proc, owner=view.owner):
                frozen.append(_ASSEMBLY + entry.path)
        except OSError as exc:
            complete = False
            log_.warn(f"filesystem view incomplete: {entry.kind.value} {entry.path} failed ({describe(exc)})")
    _close(sources)
    try:
        for point in reversed(frozen):
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _locked_flags(point))
        os.chdir(_ASSEMBLY)
        pivot_root(".", ".")  # the old root now lies on top of the new one, at "/": detach it
        umount_detached(".")
        os.chdir("/")
    except OSError as exc:
        log_.warn(f"filesystem NOT isolated: pivot_root into the view failed ({describe(exc)})")
        os.chdir("/")
        with contextlib.suppress(OSError):
            umount_detached(_ASSEMBLY)  # give the host's /tmp back
        return False
    return complete


def _open_sources(view: View) -> dict[str, int]:
    """O_PATH fds on everything to be bound, taken before the assembly tmpfs can cover any of them.

    Opened inside the new mount namespace: a bind mount's source must be one of its mounts.
    """
    sources = {}
    for entry in view.entries:
        # A private dir's files are copied, not bound: its source is opened for reading.
        flags = os.O_RDONLY | os.O_DIRECTORY if entry.kind is Kind.PRIVATE else os.O_PATH
        if entry.kind in (Kind.READONLY, Kind.WRITABLE, Kind.DEVICE, Kind.PROC, Kind.PRIVATE):
            try:
                sources[entry.path] = os.open(entry.path, flags | os.O_CLOEXEC)
            except OSError:
                continue  # _place reports it
    return sources


def _close(sources: dict[str, int]) -> None:
    for fd in sources.values():
        os.close(fd)  # an fd on the old tree would let openat(fd, "..") walk around the view


# PLR0911, PLR0913: one branch per entry kind, each needing the same context; split, the steps of
# the view would be spread over seven functions that each read as a fragment of this one.
def _place(
    entry: Entry, sources: dict[str, int], policy: SandboxPolicy, log_: Findings, *, own_proc: bool, owner: tuple[int, int] | None
) -> bool:
    """Mount or create one entry under the assembly root; True for a tmpfs to freeze read-only later."""
    target = _ASSEMBLY + entry.path
    if entry.kind is Kind.HIDDEN:
        if not os.path.isdir(target):
            return False  # not in the view at all: nothing to hide
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, _SKELETON_TMPFS)
        log_.filesystem.append(f"{entry.kind.value}: {entry.path}")
        return True
    _make_parents(target)
    if entry.kind is Kind.SYMLINK:
        os.symlink(entry.link, target)
        return False
    if entry.kind in (Kind.SCRATCH, Kind.DEVDIR):
        os.makedirs(target, exist_ok=True)
        options = f"size={policy.max_file_bytes},mode=1777" if entry.kind is Kind.SCRATCH else _SKELETON_TMPFS
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)
        log_.filesystem.append(f"{entry.kind.value}: {entry.path}")
        return entry.kind is Kind.DEVDIR
    if entry.kind is Kind.PROC:
        os.makedirs(target, exist_ok=True)
        _mount_proc(target, sources, log_, own_proc=own_proc)
        return False
    if entry.path not in sources:
        raise FileNotFoundError(2, "could not be opened")
    if entry.kind is Kind.PRIVATE:
        _private_tmpfs(sources[entry.path], target, policy, owner)
        log_.filesystem.append(f"{entry.kind.value} ({policy.disk_bytes // 2**20} MiB): {entry.path}")
        return False
    _bind(sources[entry.path], target, readonly=entry.kind is Kind.READONLY)
    if entry.kind is not Kind.DEVICE:
        log_.filesystem.append(f"{entry.kind.value}: {entry.path}")
    return False


def _private_tmpfs(source: int, target: str, policy: SandboxPolicy, owner: tuple[int, int] | None) -> None:
    """A tmpfs of `disk_bytes` at `target` holding copies of the regular files directly in `source`.

    The quota is the tmpfs's size: a notebook that fills it gets ENOSPC, and its pages count
    against the notebook's memory cgroup. Only the top level is copied: the grader puts the
    prepared notebook there, nothing deeper.
    """
    os.makedirs(target, exist_ok=True)
    options = f"size={policy.disk_bytes},nr_inodes={max(1024, policy.disk_bytes // 4096)},mode=0700"
    if owner is not None:
        options += f",uid={owner[0]},gid={owner[1]}"
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for name in os.listdir(source):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=source)
        except OSError:
            continue  # a link or something unreadable: not the grader's
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            copy = os.path.join(target, name)
            with open(copy, "wb") as out:
                out.write(handle.read(policy.disk_bytes))
            if owner is not None:
                os.chown(copy, *owner)


def _mount_proc(target: str, sources: dict[str, int], log_: Findings, *, own_proc: bool) -> None:
    """A /proc of the new PID namespace: only its own processes are visible there."""
    if own_proc:
        try:
            mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            log_.filesystem.append("own: /proc")
            return
        except OSError as exc:
            log_.warn(f"processes NOT fully isolated: the host's /proc is in the view ({describe(exc)})")
    mount(f"/proc/self/fd/{sources['/proc']}", target, None, MS_BIND | MS_REC)
    log_.filesystem.append("host's: /proc")


def _make_parents(target: str) -> None:
    """The directories leading to `target` in the assembly root, 0755 whatever the umask."""
    parent = Path(target).parent
    missing = []
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir()
        directory.chmod(0o755)


def _bind(fd: int, target: str, *, readonly: bool) -> None:
    source = f"/proc/self/fd/{fd}"
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)  # its mode does not matter: the bound dir covers it
    elif not os.path.exists(target):
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    mount(source, target, None, MS_BIND)
    if readonly:
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | _locked_flags(target))


def _locked_flags(path: str) -> int:
    """nosuid/nodev/noexec of the mount at `path`: a remount inside a user namespace must keep them."""
    flags = os.statvfs(path).f_flag
    return (
        (MS_NOSUID if flags & os.ST_NOSUID else 0) | (MS_NODEV if flags & os.ST_NODEV else 0) | (MS_NOEXEC if flags & os.ST_NOEXEC else 0)
    )


def reenter_cwd(view: View, log_: Findings) -> None:
    """The cwd still points into the old tree: walk to it again in the view, if it is there."""
    try:
        os.chdir(view.cwd)
    except OSError:
        fallback = next(iter((*view.private, *view.writable)), "/")
        log_.warn(f"working directory {view.cwd} is not in the view: moved to {fallback}")
        os.chdir(fallback)


def hand_over(writable: tuple[str, ...], policy: SandboxPolicy, log_: Findings) -> None:
    """As root: give the writable dirs (recursively) to the uid the student code will run as."""
    for top in writable:
        try:
            os.lchown(top, policy.sandbox_uid, policy.sandbox_gid)
            for parent, subdirs, files in os.walk(top):
                for name in (*subdirs, *files):
                    os.lchown(os.path.join(parent, name), policy.sandbox_uid, policy.sandbox_gid)
        except OSError as exc:
            log_.warn(f"writable dir {top} not fully handed to uid {policy.sandbox_uid}: {describe(exc)}")


def check_reachable(view: View, log_: Findings) -> None:
    """As the final identity: can the student code really use the kept dirs?"""
    for path in (*view.private, *view.writable):
        if not os.access(path, os.W_OK | os.X_OK):
            log_.warn(f"writable dir {path} is not writable by the sandboxed uid")
    for path in view.readonly:
        if not os.access(path, os.R_OK | os.X_OK):
            log_.warn(f"readonly dir {path} is not readable by the sandboxed uid (make it world-readable)")
    if not os.access(sys.prefix, os.R_OK | os.X_OK):
        log_.warn(f"Python's prefix {sys.prefix} is not readable by the sandboxed uid: imports will fail")


def close_inherited_dir_fds(log_: Findings) -> None:
    """A directory fd opened before the sandbox reaches the old tree (openat), so it goes."""
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        try:
            if fd > LAST_STDIO_FD and stat.S_ISDIR(os.fstat(fd).st_mode):
                target = os.readlink(f"/proc/self/fd/{fd}")
                os.close(fd)
                log_.filesystem.append(f"closed inherited directory fd {fd}: {target}")
        except OSError:
            continue  # the fd os.listdir used, closed by now
