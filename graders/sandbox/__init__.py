"""Isolation primitives for running untrusted student code, and an honest report of what held.

Two callers enter a sandbox with `enter_sandbox(policy)`:
- the warm path: a child forked from the single-threaded, torch-loaded zygote calls it and
  then runs the student's cells in-process;
- the cold path: `python -m graders.sandbox.launch POLICY.json -- ARGV…` calls it and then
  execs the kernel, which talks to the grader over jupyter_client's `ipc` transport (Unix
  sockets in a writable dir), because TCP loopback does not cross a network namespace.

`enter_sandbox` never raises because the machine lacks a feature: every step that fails is
left out and named in `SandboxReport.warnings`, and the report says exactly what is in force.
The caller decides whether a degraded sandbox is acceptable.

What the calling process C does, in this order (each step needs the rights the next removes):
 1. cgroup (if `policy.cgroup_name`): a leaf `a10-sandbox-<name>` under C's *own* cgroup, so the
    sandbox stays inside whatever limits C already lives under (cgroup v2 only: or next to it,
    since v2 enables no controller below a non-root cgroup that holds processes). cgroup v2 if
    its memory and pids controllers can be enabled there, else v1 memory + pids. C moves itself
    in before it loses its rights over the host's cgroup files.
 2. as root, hands the writable dirs (recursively) to `policy.sandbox_uid`.
 3. unshares mount, network, IPC and PID namespaces. As root it does so directly and later
    drops to `policy.sandbox_uid`: no user namespace, so the student has no capabilities
    anywhere and is not real root for file permissions and Unix sockets (mapping root to root
    would let it write /dev/sda or talk to root-only sockets such as docker.sock). Otherwise it
    also unshares a user namespace and maps uid 0 inside to its own uid outside.
 4. filesystem: makes every mount private and read-only, opens an O_PATH fd on every
    writable/readonly dir, mounts an empty read-only tmpfs over each hidden dir and a fresh
    size-limited tmpfs over /tmp and /dev/shm, then bind-mounts each writable/readonly dir back
    at its own absolute path from its fd (shallowest path first, so nesting works either way),
    closes the fds and re-enters the working directory through the new mounts.
 5. rlimits (inherited by everything below).
 6. forks: the child G is pid 1 of the new PID namespace and mounts a fresh /proc, so the
    student can neither see nor signal other processes, nor reach another process's files
    through /proc/<pid>/root. C stays behind as a supervisor that never returns: it exits with
    G's exit status or dies of G's signal, so callers see the same wait status as before.
    G dies with C (PR_SET_PDEATHSIG), and when G exits the kernel kills its whole namespace.
    A root parent can spare this second fork: `fork_into_new_pid_namespace` creates C as pid 1
    already, C only mounts /proc, and C itself plays G from here on (the warm path does this).
 7. in G: drops every capability (and the bounding set), or, as root, switches to
    `sandbox_uid`; sets no_new_privs; closes inherited directory fds (openat on one would walk
    around the hidden dirs). `enter_sandbox` returns in G.

Consequences for callers:
- `enter_sandbox` may return in a *different process* than the one that called it. That
  process is pid 1 inside its namespace, so signals for which it has no handler are ignored
  unless they come from outside the namespace (SIGKILL always works); orphans are reparented
  to it. Signals meant for the student code go to the process group (as jupyter_client sends
  interrupts): the supervisor ignores SIGINT and dies of SIGTERM/SIGHUP/SIGKILL, taking G along.
- The student code may write only to `writable_dirs`, /tmp and /dev/shm (the last two are
  private, throwaway tmpfs); as root, the writable dirs are chowned to `sandbox_uid`.
- HOME usually stays unwritable: set HOME/IPYTHONDIR/MPLCONFIGDIR to a writable dir in the
  kernel's environment, or IPython and matplotlib warn that they fall back to a temp dir.

Memory limit without a cgroup, measured here (torch 2.14.1+cu130, Python 3.11, x86_64):
- RLIMIT_AS is useless: `import torch; torch.ones(3).sum()` maps 3.1 GiB of address space
  (VmSize), so the import itself fails under RLIMIT_AS = 2 GiB ("libtorch_cpu.so: failed to
  map segment from shared object") and only succeeds from 4 GiB.
- RLIMIT_DATA (private writable mappings, which is where tensors and Python objects live since
  Linux 4.7) is usable: the same import leaves VmData at 0.73 GiB; it fails at 512 MiB and
  works at 1 GiB. A forked zygote child already holds its parent's VmData, so the limit is set
  to "VmData at entry + memory_bytes": the student gets `memory_bytes` of new data either way.
  It is a per-process limit (each child process gets its own), and virtual, so it errs strict.
Process limit without a cgroup: RLIMIT_NPROC. It is not enforced for real root; in a user
namespace it counts only that namespace's processes (so it is per sandbox); as a dropped-to uid
without a user namespace it counts every process of that uid on the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import resource
import select
import shutil
import signal
import stat
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

log = logging.getLogger(__name__)

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

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

CGROUP_PREFIX = "a10-sandbox-"
_CGROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")
_SCRATCH_DIRS = ("/tmp", "/dev/shm")  # writable for everyone on a normal system: made private
_HIDING_TMPFS = "size=1m,nr_inodes=4096,mode=0755"  # holds only mount points of kept dirs
_RELEASE_SECONDS = 5.0
_LAYOUT = {"hide": "hidden (empty, read-only)", "scratch": "private tmpfs", "writable": "writable", "readonly": "read-only"}


# ----------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class SandboxPolicy:
    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 900
    max_processes: int = 64  # fork-bomb guard (a cgroup counts threads too)
    max_open_files: int = 512
    max_file_bytes: int = 256 * 1024**2  # largest file the student may write; also /tmp's size
    isolate_network: bool = True
    hidden_dirs: tuple[str, ...] = ()  # made empty and read-only
    writable_dirs: tuple[str, ...] = ()  # visible and writable at the same path, even inside a hidden dir
    readonly_dirs: tuple[str, ...] = ()  # visible and read-only at the same path, even inside a hidden dir
    cgroup_name: str | None = None  # unique per submission, for cgroup-based limits
    isolate_pids: bool = True  # own PID namespace and /proc (enter_sandbox may then return in a child)
    sandbox_uid: int = 65534  # a root caller runs the student code as this uid/gid
    sandbox_gid: int = 65534

    def to_json(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SandboxPolicy:
        """The inverse of `to_json`; unknown keys are an error (a typo must not weaken a sandbox)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown sandbox policy fields: {sorted(unknown)}")
        values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class SandboxReport:
    """What was really in force; goes into every results.json."""

    network_isolated: bool
    filesystem_isolated: bool
    memory_limit: str  # e.g. "cgroup v1 memory 2.0 GiB", "RLIMIT_DATA 2.7 GiB (…)", "none"
    process_limit: str  # e.g. "cgroup v1 pids 64", "RLIMIT_NPROC 64 (…)", "none"
    other_limits: tuple[str, ...]  # cpu, files, file size, core dumps, no_new_privs
    warnings: tuple[str, ...]  # loud and human-readable: what is NOT in force and why
    identity: str = ""  # who the student code runs as, inside and outside
    namespaces: tuple[str, ...] = ()  # e.g. ("mount", "network", "ipc", "pid")
    cgroup_dirs: tuple[str, ...] = ()  # the leaf cgroups the code runs in
    filesystem: tuple[str, ...] = ()  # the mounts made, e.g. "hidden: /x", "writable: /y"

    def to_json(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def capabilities() -> dict[str, bool | str]:
    """What this machine offers a sandbox, probed rather than guessed (one short fork per probe)."""
    hierarchies = _hierarchies()
    v1 = {c: str(h.own_dir) for h in hierarchies if h.version == 1 for c in h.controllers}
    v2 = next((h for h in hierarchies if h.version == 2), None)
    return {
        "euid": str(os.geteuid()),
        "kernel": os.uname().release,
        "threads": str(_thread_count()),
        "user_namespaces": _probe_unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET),
        "namespaces_as_root": os.geteuid() == 0 and _probe_unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID),
        "cgroup_v1_memory": v1.get("memory", False),
        "cgroup_v1_pids": v1.get("pids", False),
        "cgroup_v2": str(v2.own_dir) if v2 else False,
        "cgroup_v2_controllers": " ".join(sorted(v2.controllers)) if v2 else "",
        "cgroup_writable": any(os.access(h.own_dir, os.W_OK) for h in hierarchies),
        "bwrap": shutil.which("bwrap") or False,
    }


def enter_sandbox(policy: SandboxPolicy, *, parent_alive: int | None = None) -> SandboxReport:
    """Confine the calling process (see the module docstring); never raises for a missing capability.

    May return in a forked child (pid 1 of a new PID namespace): the calling process then stays
    behind as a supervisor that never returns and leaves with the child's wait status.

    `parent_alive` is for a process that `fork_into_new_pid_namespace` made: it is pid 1 of its
    own PID namespace already, so no supervisor is forked. It is the read end of a pipe whose
    write end only the parent holds (EOF: the parent is gone), because changing uid clears
    PR_SET_PDEATHSIG and the process must still die with its parent.
    """
    log_ = _Findings()
    drop_root = os.geteuid() == 0
    made_pid1 = parent_alive is not None and os.getpid() == 1
    dirs = _resolve_dirs(policy, drop_root, log_)
    cgroup = _join_cgroup(policy, log_)
    if drop_root:
        _hand_over(dirs.writable, policy, log_)
    flags = _unshare(policy, drop_root, log_, new_pid_namespace=policy.isolate_pids and not made_pid1)
    if flags & CLONE_NEWNS:
        _build_filesystem(dirs, policy, log_)
    else:
        log_.warn(
            "filesystem NOT isolated: no mount namespace; hidden dirs are readable and the whole disk writable as far as permissions allow"
        )
    _reenter_cwd(dirs, log_)
    _set_rlimits(policy, cgroup, drop_root, flags, log_)
    if made_pid1:
        log_.namespaces.append("pid")
        _mount_proc(log_)
        parent = parent_alive
    else:
        parent = _become_pid1(log_) if flags & CLONE_NEWPID else None
        if parent is None:
            log_.warn("processes NOT isolated: the student code can see other processes and signal those of its own uid")
    _drop_privileges(policy, drop_root, flags, log_)
    if parent is not None:
        _die_with(parent)
    _check_reachable(dirs, log_)
    _close_inherited_dir_fds(log_)
    return log_.report()


def remove_stale_cgroups() -> None:
    """Remove empty sandbox cgroups left by a grader that was killed before it could release them.

    Names start with the grading process's pid (see graders.pipeline.batch); a leaf whose process is
    gone and which holds no task is stale. Anything else is left alone.
    """
    pattern = re.compile(re.escape(CGROUP_PREFIX) + r"(\d+)-")
    for hierarchy in _hierarchies():
        for parent in hierarchy.leaf_parents():
            for leaf in parent.glob(f"{CGROUP_PREFIX}*"):
                match = pattern.match(leaf.name)
                if match is None or Path(f"/proc/{match.group(1)}").exists():
                    continue
                try:
                    if not (leaf / "cgroup.procs").read_text().strip():
                        leaf.rmdir()
                except OSError as exc:
                    log.info("stale cgroup %s not removed: %s", leaf, _describe(exc))


def reap_descendants() -> None:
    """Adopt orphaned descendants (PR_SET_CHILD_SUBREAPER), so that a sandboxed process whose
    supervisor was killed is reaped here instead of lingering as a zombie under init."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def fork_into_new_pid_namespace() -> int | None:
    """`os.fork()`, but the child is pid 1 of a new PID namespace; None if that is impossible here.

    For a root parent that forks many sandboxed children (the zygote): `enter_sandbox` would
    otherwise fork a second time to get a PID namespace, and forking a process with torch loaded
    costs ~16 ms of CPU. Pass the child's `enter_sandbox` a `parent_alive` fd. Later children of
    the caller are created in its own namespace again.
    """
    if os.geteuid() != 0:
        return None  # a user namespace would be needed first, and the caller could not leave it
    own = os.open("/proc/self/ns/pid", os.O_RDONLY)
    try:
        if _libc.unshare(CLONE_NEWPID) != 0:
            return None
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                _checked(_libc.setns(own, CLONE_NEWPID), "setns")
        return pid
    finally:
        os.close(own)


def die_with_parent() -> None:
    """Be killed when the parent dies: a grader killed with SIGKILL must leave no process behind."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def release_cgroup(policy: SandboxPolicy) -> None:
    """In the parent, after the sandboxed child exited: kill whatever is left in its cgroup, remove it.

    Must be called from a process in the cgroup the child started from (the child's parent is).
    Failures are logged, not raised: a leftover cgroup must not stop a grading run.
    """
    if policy.cgroup_name is None:
        return
    for leaf in _leaf_dirs(policy.cgroup_name):
        try:
            _kill_all(leaf)
            _remove(leaf)
        except OSError as exc:
            log.warning("could not release cgroup %s: %s", leaf, exc)


# ----------------------------------------------------------------------------- findings


@dataclass
class _Findings:
    """What enter_sandbox established so far; becomes the SandboxReport."""

    network_isolated: bool = False
    filesystem_isolated: bool = False
    memory_limit: str = "none"
    process_limit: str = "none"
    identity: str = ""
    other_limits: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    cgroup_dirs: list[str] = field(default_factory=list)
    filesystem: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def report(self) -> SandboxReport:
        return SandboxReport(
            network_isolated=self.network_isolated,
            filesystem_isolated=self.filesystem_isolated,
            memory_limit=self.memory_limit,
            process_limit=self.process_limit,
            other_limits=tuple(self.other_limits),
            warnings=tuple(self.warnings),
            identity=self.identity,
            namespaces=tuple(self.namespaces),
            cgroup_dirs=tuple(self.cgroup_dirs),
            filesystem=tuple(self.filesystem),
        )


def _describe(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno else "error"
    return f"{name}: {exc.strerror or exc}"


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


# ----------------------------------------------------------------------------- libc


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]


def _checked(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _checked(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)), f"mount {target}")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def _prctl(option: int, arg: int = 0) -> None:
    _checked(_libc.prctl(option, arg, 0, 0, 0), f"prctl {option}")


def _unshare_raw(flags: int) -> None:
    _checked(_libc.unshare(flags), "unshare")


def _probe_unshare(flags: int) -> bool:
    """Whether unshare(flags) works here, tried in a throwaway child so the caller is untouched."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _libc.unshare(flags) == 0 else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


# ----------------------------------------------------------------------------- mounts and cgroups


@dataclass(frozen=True)
class _Mount:
    root: str  # the directory of the filesystem that is mounted
    point: str
    fstype: str
    super_options: frozenset[str]


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _mountinfo() -> list[_Mount]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        ours, theirs = left.split(), right.split()
        options = frozenset(theirs[2].split(",")) if len(theirs) > 2 else frozenset()
        mounts.append(_Mount(_unescape(ours[3]), _unescape(ours[4]), theirs[0], options))
    return mounts


@dataclass(frozen=True)
class _Hierarchy:
    version: int
    controllers: frozenset[str]
    own_dir: Path  # this process's cgroup in the hierarchy
    top: Path  # where the hierarchy is mounted

    def leaf_parents(self) -> list[Path]:
        """Where sandbox leaves may go: under our own cgroup; for v2 also next to it, because
        v2 enables no controller below a non-root cgroup that has processes (ours has us)."""
        if self.version == 2 and self.own_dir != self.top:
            return [self.own_dir, self.own_dir.parent]
        return [self.own_dir]


def _hierarchies() -> list[_Hierarchy]:
    """Every mounted cgroup hierarchy in which this process's own cgroup is visible."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    found = []
    for mount in _mountinfo():
        if mount.fstype == "cgroup2" and "" in own:
            directory = _inside(mount, own[""])
            if directory is not None:
                found.append(_Hierarchy(2, _v2_controllers(directory), directory, Path(mount.point)))
        elif mount.fstype == "cgroup":
            for controllers, path in own.items():
                names = frozenset(controllers.split(","))
                if controllers and names <= mount.super_options and (directory := _inside(mount, path)) is not None:
                    found.append(_Hierarchy(1, names, directory, Path(mount.point)))
    return found


def _inside(mount: _Mount, cgroup_path: str) -> Path | None:
    """The directory of `cgroup_path` under a cgroup mount, if the mount shows it."""
    root = mount.root.rstrip("/")
    if cgroup_path != root and not cgroup_path.startswith(root + "/"):
        return None
    directory = Path(mount.point + cgroup_path[len(root) :])
    return directory if directory.is_dir() else None


def _v2_controllers(directory: Path) -> frozenset[str]:
    try:
        return frozenset((directory / "cgroup.controllers").read_text().split())
    except OSError:
        return frozenset()


def _leaf_dirs(name: str) -> list[Path]:
    """The leaves a sandbox called `name` may have, in any hierarchy; only existing ones."""
    return [leaf for h in _hierarchies() for parent in h.leaf_parents() if (leaf := parent / f"{CGROUP_PREFIX}{name}").is_dir()]


def _join_cgroup(policy: SandboxPolicy, log_: _Findings) -> dict[str, Path]:
    """Create the leaf cgroup(s), set the limits, move this process in; {"memory"/"pids": leaf}."""
    name = policy.cgroup_name
    if name is None:
        return {}
    if not _CGROUP_NAME.fullmatch(name):
        log_.warn(f"no cgroup: invalid cgroup_name {name!r} (letters, digits, '_', '.', '-')")
        return {}
    hierarchies = _hierarchies()
    v2 = next((h for h in hierarchies if h.version == 2 and {"memory", "pids"} <= h.controllers), None)
    leaf = _join_v2(v2, name, policy, log_) if v2 else None
    if leaf is not None:
        joined = {"memory": leaf, "pids": leaf}
        log_.memory_limit = f"cgroup v2 memory.max {_size(policy.memory_bytes)}, no swap"
        log_.process_limit = f"cgroup v2 pids.max {policy.max_processes} (threads count too)"
    else:
        joined = _join_v1(hierarchies, name, policy, log_)
    log_.cgroup_dirs.extend(sorted({str(leaf) for leaf in joined.values()}))
    return joined


def _join_v2(hierarchy: _Hierarchy, name: str, policy: SandboxPolicy, log_: _Findings) -> Path | None:
    refusals = []
    for parent in hierarchy.leaf_parents():
        subtree = parent / "cgroup.subtree_control"
        try:
            if not {"memory", "pids"} <= set(subtree.read_text().split()):
                subtree.write_text("+memory +pids")
        except OSError as exc:
            refusals.append(f"{parent} ({_describe(exc)})")
            continue
        limits = [("memory.max", str(policy.memory_bytes)), ("pids.max", str(policy.max_processes))]
        return _join_leaf(parent / f"{CGROUP_PREFIX}{name}", limits, [("memory.swap.max", "0")], log_)
    log_.warn(f"cgroup v2 not usable: cannot enable memory+pids under {' or '.join(refusals)}")
    return None


def _join_v1(hierarchies: list[_Hierarchy], name: str, policy: SandboxPolicy, log_: _Findings) -> dict[str, Path]:
    joined = {}
    for controller in ("memory", "pids"):
        hierarchy = next((h for h in hierarchies if h.version == 1 and controller in h.controllers), None)
        if hierarchy is None:
            log_.warn(f"no {controller} cgroup: neither a usable cgroup v2 nor a v1 {controller} hierarchy")
            continue
        leaf_dir = hierarchy.own_dir / f"{CGROUP_PREFIX}{name}"
        if controller == "memory":
            # memsw (memory + swap) must not be below the memory limit: written after it.
            limit = str(policy.memory_bytes)
            leaf = _join_leaf(leaf_dir, [("memory.limit_in_bytes", limit)], [("memory.memsw.limit_in_bytes", limit)], log_)
            if leaf is not None:
                log_.memory_limit = f"cgroup v1 memory {_size(policy.memory_bytes)}"
        else:
            leaf = _join_leaf(leaf_dir, [("pids.max", str(policy.max_processes))], [], log_)
            if leaf is not None:
                log_.process_limit = f"cgroup v1 pids {policy.max_processes} (threads count too)"
        if leaf is not None:
            joined[controller] = leaf
    return joined


def _join_leaf(leaf: Path, limits: list[tuple[str, str]], optional: list[tuple[str, str]], log_: _Findings) -> Path | None:
    """mkdir, write the limits (the optional ones, such as swap, only where the kernel has them), move in."""
    try:
        leaf.mkdir(exist_ok=True)
        for filename, value in limits + [(f, v) for f, v in optional if (leaf / f).exists()]:
            (leaf / filename).write_text(value)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        return leaf
    except OSError as exc:
        log_.warn(f"no cgroup {leaf}: {_describe(exc)}")
        with contextlib.suppress(OSError):  # it never existed, or something is in it: release_cgroup deals with that
            leaf.rmdir()
        return None


def _kill_all(leaf: Path) -> None:
    """SIGKILL everything in `leaf` until it stays empty (cgroup.kill where the kernel has it)."""
    kill_file = leaf / "cgroup.kill"
    if kill_file.exists():
        kill_file.write_text("1")
    deadline = time.monotonic() + _RELEASE_SECONDS
    while pids := [int(p) for p in (leaf / "cgroup.procs").read_text().split() if int(p) != os.getpid()]:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise OSError(errno.EBUSY, f"processes {pids} survive SIGKILL")
        time.sleep(0.01)


def _remove(leaf: Path) -> None:
    """rmdir, retried: a killed task leaves its cgroup a moment after it is gone from cgroup.procs."""
    deadline = time.monotonic() + _RELEASE_SECONDS
    while True:
        try:
            leaf.rmdir()
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


# ----------------------------------------------------------------------------- directories


@dataclass(frozen=True)
class _Dirs:
    hidden: tuple[str, ...]
    writable: tuple[str, ...]
    readonly: tuple[str, ...]
    scratch: tuple[str, ...]
    cwd: str


def _resolve_dirs(policy: SandboxPolicy, drop_root: bool, log_: _Findings) -> _Dirs:
    """Real paths (mounts follow no symlinks); missing dirs are left out with a warning.

    Python itself must stay usable: its prefixes are kept read-only if they would be hidden.
    A root caller drops to `sandbox_uid`, which may be unable to traverse an ancestor of a kept
    dir or of a sys.path entry (pyenv's Python under /root, 0700): such an ancestor is hidden
    too, behind a tmpfs the uid can traverse (which hides nothing that uid could have read),
    and those dirs are bound back read-only, so imports keep working.
    """

    def existing(paths: tuple[str, ...], role: str, consequence: str) -> tuple[str, ...]:
        result = []
        for path in paths:
            real = os.path.realpath(path)
            if os.path.isdir(real):
                result.append(real)
            else:
                log_.warn(f"{role} dir {path} does not exist: {consequence}")
        return tuple(result)

    hidden = existing(policy.hidden_dirs, "hidden", "anything created there later will be visible")
    writable = existing(policy.writable_dirs, "writable", "not available to the student")
    readonly = existing(policy.readonly_dirs, "readonly", "not available to the student")
    python = tuple(dict.fromkeys(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)))
    imports = tuple(dict.fromkeys(os.path.realpath(p) for p in sys.path if os.path.isabs(p) and os.path.isdir(p)))
    python += tuple(p for p in imports if not _under_any(p, (*python, *hidden)))
    if drop_root:
        kept = (*writable, *readonly, *python)
        blocked = {a for p in kept if (a := _untraversable_ancestor(p, policy.sandbox_uid, policy.sandbox_gid))}
        hidden += tuple(sorted(blocked - set(hidden)))
    # Bound back if a hidden dir or a private /tmp would cover it (a venv in a clone under /tmp),
    # but never a dir that holds a hidden one: its bind mount would show what was hidden.
    covered = (*hidden, *_SCRATCH_DIRS)
    readonly += tuple(
        p
        for p in python
        if _under_any(p, covered) and not _under_any(p, (*writable, *readonly)) and not any(_under_any(h, (p,)) for h in hidden)
    )
    listed = {*hidden, *writable, *readonly}
    scratch = tuple(p for p in _SCRATCH_DIRS if os.path.isdir(p) and p not in listed)
    try:
        cwd = os.getcwd()
    except FileNotFoundError:  # the working directory was deleted
        cwd = "/"
    return _Dirs(hidden, writable, readonly, scratch, cwd)


def _under_any(path: str, tops: tuple[str, ...]) -> bool:
    return any(path == top or path.startswith(top.rstrip("/") + "/") for top in tops)


def _untraversable_ancestor(path: str, uid: int, gid: int) -> str | None:
    """The shallowest ancestor of `path` that uid/gid may not search (the owner/group/other bits)."""
    for ancestor in reversed(Path(path).parents):
        info = os.stat(ancestor)
        shift = 6 if info.st_uid == uid else 3 if info.st_gid == gid else 0
        if not (info.st_mode >> shift) & 0o1:
            return str(ancestor)
    return None


def _open_kept_dirs(dirs: _Dirs, log_: _Findings) -> dict[str, int]:
    """O_PATH fds, taken before anything is hidden, to bind the kept dirs back from.

    Opened inside the new mount namespace: a bind mount's source must be one of its mounts.
    """
    fds = {}
    for path in (*dirs.writable, *dirs.readonly):
        try:
            fds[path] = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            log_.warn(f"dir {path} not kept: {_describe(exc)}")
    return fds


def _hand_over(writable: tuple[str, ...], policy: SandboxPolicy, log_: _Findings) -> None:
    """As root: give the writable dirs (recursively) to the uid the student code will run as."""
    for top in writable:
        try:
            os.lchown(top, policy.sandbox_uid, policy.sandbox_gid)
            for parent, subdirs, files in os.walk(top):
                for name in (*subdirs, *files):
                    os.lchown(os.path.join(parent, name), policy.sandbox_uid, policy.sandbox_gid)
        except OSError as exc:
            log_.warn(f"writable dir {top} not fully handed to uid {policy.sandbox_uid}: {_describe(exc)}")


# ----------------------------------------------------------------------------- namespaces


def _unshare(policy: SandboxPolicy, drop_root: bool, log_: _Findings, *, new_pid_namespace: bool) -> int:
    """Unshare the namespaces; returns the flags in force (0 if none)."""
    flags = CLONE_NEWNS | CLONE_NEWIPC
    flags |= CLONE_NEWNET if policy.isolate_network else 0
    flags |= CLONE_NEWPID if new_pid_namespace else 0
    flags |= 0 if drop_root else CLONE_NEWUSER
    threads = _thread_count()
    try:
        _unshare_raw(flags)
    except OSError as exc:
        hint = f" (the process has {threads} threads; a user namespace needs exactly one)" if threads > 1 and flags & CLONE_NEWUSER else ""
        log_.warn(f"NO namespaces: unshare failed ({_describe(exc)}){hint}")
        if policy.isolate_network:
            log_.warn("network NOT isolated")
        return 0
    names = {CLONE_NEWUSER: "user", CLONE_NEWNS: "mount", CLONE_NEWNET: "network", CLONE_NEWIPC: "ipc", CLONE_NEWPID: "pid"}
    log_.namespaces.extend(name for flag, name in names.items() if flags & flag)
    log_.network_isolated = bool(flags & CLONE_NEWNET)
    if not policy.isolate_network:
        log_.warn("network NOT isolated: disabled by the policy")
    if flags & CLONE_NEWUSER and not _map_ids(log_):
        return flags & ~CLONE_NEWNS  # without a mapping nothing can be mounted
    return flags


def _map_ids(log_: _Findings) -> bool:
    """Inside the new user namespace: uid/gid 0 = the caller's own ids outside."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        Path("/proc/self/setgroups").write_text("deny")  # required before an unprivileged gid_map
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1\n")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1\n")
    except OSError as exc:
        log_.warn(f"could not map ids in the user namespace ({_describe(exc)})")
        return False
    return True


def _build_filesystem(dirs: _Dirs, policy: SandboxPolicy, log_: _Findings) -> None:
    """Everything read-only; hidden dirs empty; /tmp and /dev/shm private; kept dirs bound back."""
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we do may propagate to the host
    except OSError as exc:
        log_.warn(f"filesystem NOT isolated: cannot make mounts private ({_describe(exc)})")
        return
    kept_fds = _open_kept_dirs(dirs, log_)
    complete = _remount_all_readonly(log_)
    steps = [(p, "hide") for p in dirs.hidden] + [(p, "scratch") for p in dirs.scratch]
    steps += [(p, "writable") for p in dirs.writable if p in kept_fds] + [(p, "readonly") for p in dirs.readonly if p in kept_fds]
    steps.sort(key=lambda step: (len(Path(step[0]).parts), step[1] in ("writable", "readonly")))
    hiding = []
    for path, action in steps:
        try:
            if action in ("hide", "scratch") and not os.path.isdir(path):
                log_.filesystem.append(f"hidden (under an earlier tmpfs): {path}")
                continue
            if action == "hide":
                _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, _HIDING_TMPFS)
                hiding.append(path)
            elif action == "scratch":
                _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={policy.max_file_bytes},mode=1777")
            else:
                _bind_back(path, kept_fds[path], readonly=action == "readonly")
            log_.filesystem.append(f"{_LAYOUT[action]}: {path}")
        except OSError as exc:
            complete = False
            log_.warn(f"filesystem NOT isolated: {action} {path} failed ({_describe(exc)})")
    for fd in kept_fds.values():
        os.close(fd)  # an fd on the original dir would let openat(fd, "..") walk around the hiding
    for path in hiding:  # only now: the kept dirs' mount points had to be created first
        try:
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        except OSError as exc:
            log_.warn(f"hidden dir {path} is an empty but writable tmpfs ({_describe(exc)})")
    log_.filesystem_isolated = complete


def _remount_all_readonly(log_: _Findings) -> bool:
    """Remount every mount read-only, one by one (mount_setattr would need Linux 5.12)."""
    failed = []
    for point in dict.fromkeys(m.point for m in _mountinfo()):
        try:
            _mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | _locked_flags(point))
        except OSError as exc:
            failed.append(f"{point} ({_describe(exc)})")
    if failed:
        log_.warn(f"{len(failed)} mounts stay writable: {', '.join(failed)}")
    log_.filesystem.append("read-only: every mount" + (" but those above" if failed else ""))
    return not failed


def _locked_flags(path: str) -> int:
    """nosuid/nodev/noexec of the mount at `path`: a remount inside a user namespace must keep them."""
    flags = os.statvfs(path).f_flag
    return (
        (MS_NOSUID if flags & os.ST_NOSUID else 0) | (MS_NODEV if flags & os.ST_NODEV else 0) | (MS_NOEXEC if flags & os.ST_NOEXEC else 0)
    )


def _bind_back(path: str, fd: int, readonly: bool) -> None:
    os.makedirs(path, exist_ok=True)  # inside a hiding tmpfs the mount point is new
    _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
    # A bind inherits the source mount's read-only flag, which _remount_all_readonly just set.
    _mount(None, path, None, MS_BIND | MS_REMOUNT | (MS_RDONLY if readonly else 0) | _locked_flags(path))


def _reenter_cwd(dirs: _Dirs, log_: _Findings) -> None:
    """The cwd still points at the original directory, under any mount: walk to it again."""
    try:
        os.chdir(dirs.cwd)
    except OSError:
        fallback = dirs.writable[0] if dirs.writable else "/"
        log_.warn(f"working directory {dirs.cwd} is hidden: moved to {fallback}")
        os.chdir(fallback)


# ----------------------------------------------------------------------------- limits


def _set_rlimits(policy: SandboxPolicy, cgroup: dict[str, Path], drop_root: bool, flags: int, log_: _Findings) -> None:
    limits = {
        # soft = hard: SIGKILL at once, because pid 1 of a PID namespace ignores SIGXCPU.
        resource.RLIMIT_CPU: ((policy.cpu_seconds,) * 2, f"RLIMIT_CPU {policy.cpu_seconds} s (SIGKILL)"),
        resource.RLIMIT_NOFILE: ((policy.max_open_files,) * 2, f"RLIMIT_NOFILE {policy.max_open_files}"),
        resource.RLIMIT_FSIZE: ((policy.max_file_bytes,) * 2, f"RLIMIT_FSIZE {_size(policy.max_file_bytes)}"),
        resource.RLIMIT_CORE: ((0, 0), "RLIMIT_CORE 0"),
    }
    if "memory" not in cgroup:
        data = _vm_data() + policy.memory_bytes
        why = f"RLIMIT_DATA {_size(data)} ({_size(data - policy.memory_bytes)} mapped at entry + {_size(policy.memory_bytes)}; per process)"
        limits[resource.RLIMIT_DATA] = ((data,) * 2, why)
    if "pids" not in cgroup:
        limits[resource.RLIMIT_NPROC] = ((policy.max_processes,) * 2, _nproc_scope(policy, drop_root, flags))
    for which, (values, description) in limits.items():
        try:
            resource.setrlimit(which, _within_hard(which, values))
        except (OSError, ValueError) as exc:
            log_.warn(f"{description.split()[0]} not set: {exc}")
            continue
        if which == resource.RLIMIT_DATA:
            log_.memory_limit = description
        elif which == resource.RLIMIT_NPROC:
            log_.process_limit = description
        else:
            log_.other_limits.append(description)
    if log_.memory_limit == "none":
        log_.warn("memory NOT limited")
    if log_.process_limit == "none":
        log_.warn("number of processes NOT limited")


def _within_hard(which: int, values: tuple[int, int]) -> tuple[int, int]:
    """An unprivileged process cannot raise a hard limit: never ask for more than the current one."""
    _, hard = resource.getrlimit(which)
    if hard == resource.RLIM_INFINITY:
        return values
    return min(values[0], hard), min(values[1], hard)


def _nproc_scope(policy: SandboxPolicy, drop_root: bool, flags: int) -> str:
    """Whom RLIMIT_NPROC counts: the kernel counts per real uid, separately in each user namespace."""
    base = f"RLIMIT_NPROC {policy.max_processes}"
    if drop_root:
        return f"{base} (shared by every process of uid {policy.sandbox_uid} on the machine)"
    if flags & CLONE_NEWUSER:
        return f"{base} (counted in the sandbox's own user namespace; includes its supervisor)"
    return f"{base} (shared by every process of uid {os.geteuid()} on the machine)"


def _vm_data() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


# ----------------------------------------------------------------------------- the pid namespace


def _become_pid1(log_: _Findings) -> int:
    """Fork into the new PID namespace; only the child returns, with an fd that reads EOF once
    the supervisor (see _supervise) is gone."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # else buffered output would be written by both processes
    parent_alive, parent_holds = os.pipe()
    child = os.fork()
    if child:
        os.close(parent_alive)
        _supervise(child)
    os.close(parent_holds)
    _mount_proc(log_)
    return parent_alive


def _mount_proc(log_: _Findings) -> None:
    """A /proc of the new PID namespace: only its own processes are visible there."""
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as exc:
        log_.warn(f"processes NOT fully isolated: the host's /proc is still mounted ({_describe(exc)})")


def _die_with(parent_alive: int) -> None:
    """Set last, because any change of uid clears it; the pipe covers a supervisor that died earlier."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if select.select([parent_alive], [], [], 0)[0]:
        os._exit(1)
    os.close(parent_alive)


def _supervise(child: int) -> NoReturn:
    """The calling process after the fork: wait for the sandboxed child, leave with its status.

    Whatever happens here, this process must never return into the caller's code.
    """
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts reach the child through the process group
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)  # dying here kills the child (PR_SET_PDEATHSIG)
        _, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            if -code not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(-code, signal.SIG_DFL)
            os.kill(os.getpid(), -code)
            code = 128 - code  # only for a signal whose default action is not to terminate
    finally:
        os._exit(code)


# ----------------------------------------------------------------------------- identity


def _drop_privileges(policy: SandboxPolicy, drop_root: bool, flags: int, log_: _Findings) -> None:
    try:
        if drop_root:
            _drop_bounding_set()
            os.setgroups([])
            os.setresgid(policy.sandbox_gid, policy.sandbox_gid, policy.sandbox_gid)
            os.setresuid(policy.sandbox_uid, policy.sandbox_uid, policy.sandbox_uid)  # clears every capability
            # Changing uid made the process non-dumpable, which hides its own /proc/self/fd from it.
            _prctl(PR_SET_DUMPABLE, 1)
            log_.identity = f"uid {policy.sandbox_uid} gid {policy.sandbox_gid} (dropped from root), no capabilities"
        elif flags & CLONE_NEWUSER:
            _drop_bounding_set()
            _clear_capabilities()
            log_.identity = f"uid 0 in its own user namespace = uid {_outside_uid()} outside, no capabilities"
        else:
            log_.identity = f"uid {os.geteuid()}, unchanged"
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        log_.other_limits.append("no_new_privs")
    except OSError as exc:
        log_.warn(f"privileges NOT dropped: {_describe(exc)}")
        log_.identity = f"uid {os.geteuid()} with capabilities {_capabilities_in_effect()}"


def _drop_bounding_set() -> None:
    """No later exec (of a setuid or file-capability binary, or as uid 0) can gain a capability."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _prctl(PR_CAPBSET_DROP, capability)


def _clear_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable, for 2 words, all zero
    _checked(_libc.capset(header, data), "capset")


def _outside_uid() -> str:
    try:
        return Path("/proc/self/uid_map").read_text().split()[1]
    except (OSError, IndexError):
        return "?"


def _capabilities_in_effect() -> str:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return line.split()[1]
    return "?"


# ----------------------------------------------------------------------------- checks


def _check_reachable(dirs: _Dirs, log_: _Findings) -> None:
    """As the final identity: can the student code really use the kept dirs?"""
    for path in dirs.writable:
        if not os.access(path, os.W_OK | os.X_OK):
            log_.warn(f"writable dir {path} is not writable by the sandboxed uid")
    for path in dirs.readonly:
        if not os.access(path, os.R_OK | os.X_OK):
            log_.warn(f"readonly dir {path} is not readable by the sandboxed uid (make it world-readable)")
    if not os.access(sys.prefix, os.R_OK | os.X_OK):
        log_.warn(f"Python's prefix {sys.prefix} is not readable by the sandboxed uid: imports will fail")


def _close_inherited_dir_fds(log_: _Findings) -> None:
    """A directory fd opened before the sandbox reaches around every hidden dir (openat), so it goes."""
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        try:
            if fd > 2 and stat.S_ISDIR(os.fstat(fd).st_mode):
                target = os.readlink(f"/proc/self/fd/{fd}")
                os.close(fd)
                log_.filesystem.append(f"closed inherited directory fd {fd}: {target}")
        except OSError:
            continue  # the fd os.listdir used, closed by now
