"""cgroup leaves for one sandbox: memory, number of processes and CPU share, v2 or v1.

A leaf `a10-sandbox-<name>` goes under the calling process's *own* cgroup, so the sandbox stays
inside whatever limits the grader already lives under (cgroup v2 only: or next to it, since v2
enables no controller below a non-root cgroup that holds processes). cgroup v2 if its memory and
pids controllers can be enabled there (cpu too where offered), else v1 memory, pids and cpu, each
where its hierarchy exists. The caller moves itself in before it loses its rights over the host's
cgroup files.

CPU: a quota of `policy.cpu_cores` cores per period (v2 cpu.max, v1 cpu.cfs_quota_us), so a
notebook that forks 60 busy loops slows itself, not its neighbours. Without a cpu controller
there is no CPU share at all (the report says so); what still holds is that the harness's
per-call and per-cell limits count time the notebook ran or slept, not time it waited for a CPU
(graders.runtime.probe_runtime.TimeLimit, used time), so a starved notebook is not failed for its neighbour.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from graders.sandbox.libc import Mount, describe, mountinfo, size
from graders.sandbox.policy import Findings, SandboxPolicy

log = logging.getLogger(__name__)

CGROUP_PREFIX = "a10-sandbox-"
_CGROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")
_RELEASE_SECONDS = 5.0
_CPU_PERIOD_US = 100_000
V1, V2 = 1, 2  # the two cgroup hierarchy versions (`Hierarchy.version`)


@dataclass(frozen=True)
class Hierarchy:
    version: int
    controllers: frozenset[str]
    own_dir: Path  # this process's cgroup in the hierarchy
    top: Path  # where the hierarchy is mounted

    def leaf_parents(self) -> list[Path]:
        """Where sandbox leaves may go: under our own cgroup; for v2 also next to it, because
        v2 enables no controller below a non-root cgroup that has processes (ours has us)."""
        if self.version == V2 and self.own_dir != self.top:
            return [self.own_dir, self.own_dir.parent]
        return [self.own_dir]


def hierarchies() -> list[Hierarchy]:
    """Every mounted cgroup hierarchy in which this process's own cgroup is visible."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    found = []
    for mount in mountinfo():
        if mount.fstype == "cgroup2" and "" in own:
            directory = _inside(mount, own[""])
            if directory is not None:
                found.append(Hierarchy(V2, _v2_controllers(directory), directory, Path(mount.point)))
        elif mount.fstype == "cgroup":
            for controllers, path in own.items():
                names = frozenset(controllers.split(","))
                if controllers and names <= mount.super_options and (directory := _inside(mount, path)) is not None:
                    found.append(Hierarchy(V1, names, directory, Path(mount.point)))
    return found


def _inside(mount: Mount, cgroup_path: str) -> Path | None:
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
    return [leaf for h in hierarchies() for parent in h.leaf_parents() if (leaf := parent / f"{CGROUP_PREFIX}{name}").is_dir()]


def join_cgroup(policy: SandboxPolicy, log_: Findings) -> dict[str, Path]:
    """Create the leaf cgroup(s), set the limits, move this process in; {"memory"/"pids"/"cpu": leaf}."""
    name = policy.cgroup_name
    if name is None:
        return {}
    if not _CGROUP_NAME.fullmatch(name):
        log_.warn(f"no cgroup: invalid cgroup_name {name!r} (letters, digits, '_', '.', '-')")
        return {}
    found = hierarchies()
    v2 = next((h for h in found if h.version == V2 and {"memory", "pids"} <= h.controllers), None)
    leaf = _join_v2(v2, name, policy, log_) if v2 else None
    if leaf is not None:
        joined = {"memory": leaf, "pids": leaf}
        log_.memory_limit = f"cgroup v2 memory.max {size(policy.memory_bytes)}, no swap"
        log_.process_limit = f"cgroup v2 pids.max {policy.max_processes} (threads count too)"
        if (leaf / "cpu.max").exists():
            joined["cpu"] = leaf
            log_.cpu_limit = f"cgroup v2 cpu.max: {policy.cpu_cores:g} core(s)"
    else:
        joined = _join_v1(found, name, policy, log_)
    if "cpu" not in joined:
        log_.warn("CPU share NOT limited: no cpu cgroup controller (time limits still count only time the notebook ran or slept)")
    log_.cgroup_dirs.extend(sorted({str(leaf) for leaf in joined.values()}))
    return joined


def _cpu_quota(policy: SandboxPolicy) -> str:
    return str(max(1000, int(policy.cpu_cores * _CPU_PERIOD_US)))


def _join_v2(hierarchy: Hierarchy, name: str, policy: SandboxPolicy, log_: Findings) -> Path | None:
    refusals = []
    wanted = {"memory", "pids"} | ({"cpu"} & hierarchy.controllers)
    for parent in hierarchy.leaf_parents():
        subtree = parent / "cgroup.subtree_control"
        try:
            missing = wanted - set(subtree.read_text().split())
            if missing:
                subtree.write_text(" ".join(f"+{c}" for c in sorted(missing)))
        except OSError as exc:
            refusals.append(f"{parent} ({describe(exc)})")
            continue
        limits = [("memory.max", str(policy.memory_bytes)), ("pids.max", str(policy.max_processes))]
        optional = [("memory.swap.max", "0"), ("cpu.max", f"{_cpu_quota(policy)} {_CPU_PERIOD_US}")]
        return _join_leaf(parent / f"{CGROUP_PREFIX}{name}", limits, optional, log_)
    log_.warn(f"cgroup v2 not usable: cannot enable memory+pids under {' or '.join(refusals)}")
    return None


def _join_v1(found: list[Hierarchy], name: str, policy: SandboxPolicy, log_: Findings) -> dict[str, Path]:
    joined = {}
    for controller in ("memory", "pids", "cpu"):
        hierarchy = next((h for h in found if h.version == V1 and controller in h.controllers), None)
        if hierarchy is None:
            if controller != "cpu":  # the cpu warning is join_cgroup's
                log_.warn(f"no {controller} cgroup: neither a usable cgroup v2 nor a v1 {controller} hierarchy")
            continue
        leaf_dir = hierarchy.own_dir / f"{CGROUP_PREFIX}{name}"
        if controller == "memory":
            # memsw (memory + swap) must not be below the memory limit: written after it.
            limit = str(policy.memory_bytes)
            leaf = _join_leaf(leaf_dir, [("memory.limit_in_bytes", limit)], [("memory.memsw.limit_in_bytes", limit)], log_)
            if leaf is not None:
                log_.memory_limit = f"cgroup v1 memory {size(policy.memory_bytes)}"
        elif controller == "pids":
            leaf = _join_leaf(leaf_dir, [("pids.max", str(policy.max_processes))], [], log_)
            if leaf is not None:
                log_.process_limit = f"cgroup v1 pids {policy.max_processes} (threads count too)"
        else:
            limits = [("cpu.cfs_period_us", str(_CPU_PERIOD_US)), ("cpu.cfs_quota_us", _cpu_quota(policy))]
            leaf = _join_leaf(leaf_dir, limits, [], log_)
            if leaf is not None:
                log_.cpu_limit = f"cgroup v1 cpu.cfs_quota_us: {policy.cpu_cores:g} core(s)"
        if leaf is not None:
            joined[controller] = leaf
    return joined


def _join_leaf(leaf: Path, limits: list[tuple[str, str]], optional: list[tuple[str, str]], log_: Findings) -> Path | None:
    """mkdir, write the limits (the optional ones, such as swap, only where the kernel has them), move in."""
    try:
        leaf.mkdir(exist_ok=True)
        for filename, value in limits + [(f, v) for f, v in optional if (leaf / f).exists()]:
            (leaf / filename).write_text(value)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        return leaf
    except OSError as exc:
        log_.warn(f"no cgroup {leaf}: {describe(exc)}")
        with contextlib.suppress(OSError):  # it never existed, or something is in it: release_cgroup deals with that
            leaf.rmdir()
        return None


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


def remove_stale_cgroups() -> None:
    """Remove empty sandbox cgroups left by a grader that was killed before it could release them.

    Names start with the grading process's pid (see graders.pipeline.batch); a leaf whose process is
    gone and which holds no task is stale. Anything else is left alone.
    """
    pattern = re.compile(re.escape(CGROUP_PREFIX) + r"(\d+)-")
    for hierarchy in hierarchies():
        for parent in hierarchy.leaf_parents():
            for leaf in parent.glob(f"{CGROUP_PREFIX}*"):
                match = pattern.match(leaf.name)
                if match is None or Path(f"/proc/{match.group(1)}").exists():
                    continue
                try:
                    if not (leaf / "cgroup.procs").read_text().strip():
                        leaf.rmdir()
                except OSError as exc:
                    log.info("stale cgroup %s not removed: %s", leaf, describe(exc))


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
