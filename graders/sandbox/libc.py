"""The kernel interfaces the sandbox needs and Python's standard library lacks: ctypes wrappers,
flag values, /proc/self/mountinfo, and the error wording every finding uses."""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2
UMOUNT_NOFOLLOW = 0x8

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

LAST_STDIO_FD = 2  # stdin, stdout, stderr are 0, 1, 2: kept when inherited descriptors are closed
LINUX_CAPABILITY_VERSION_3 = 0x20080522

# glibc has no pivot_root() wrapper: the raw system call, by architecture.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217, "armv7l": 218, "i686": 217}

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]


def checked(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    checked(libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)), f"mount {target}")


def umount_detached(target: str, *, follow: bool = True) -> None:
    """`follow=False`: refuse a `target` that is a link (its last component) rather than unmount where it points."""
    checked(libc.umount2(_bytes(target), MNT_DETACH | (0 if follow else UMOUNT_NOFOLLOW)), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(errno.ENOSYS, f"pivot_root: unknown system call number on {platform.machine()}")
    checked(libc.syscall(number, _bytes(new_root), _bytes(put_old)), "pivot_root")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def prctl(option: int, arg: int = 0) -> None:
    checked(libc.prctl(option, arg, 0, 0, 0), f"prctl {option}")


def unshare(flags: int) -> None:
    checked(libc.unshare(flags), "unshare")


def probe_unshare(flags: int) -> bool:
    """Whether unshare(flags) works here, tried in a throwaway child so the caller is untouched."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if libc.unshare(flags) == 0 else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def describe(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno else "error"
    return f"{name}: {exc.strerror or exc}"


def size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


@dataclass(frozen=True)
class Mount:
    root: str  # the directory of the filesystem that is mounted
    point: str
    fstype: str
    super_options: frozenset[str]


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mountinfo() -> list[Mount]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        ours = left.split()
        fstype, *source_and_options = right.split()  # "fstype source super-options"; the last two may be missing
        options = frozenset(source_and_options[1].split(",")) if source_and_options[1:] else frozenset()
        mounts.append(Mount(_unescape(ours[3]), _unescape(ours[4]), fstype, options))
    return mounts
