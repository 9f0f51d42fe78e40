"""Namespaces, the PID-namespace supervisor, and the identity the student code ends up with.

As root the sandbox unshares mount, network, IPC and PID namespaces directly and later drops to
`policy.sandbox_uid`: no user namespace, so the student has no capabilities anywhere and is not
real root for file permissions and Unix sockets (mapping root to root would let it write
/dev/sda or talk to root-only sockets such as docker.sock). Otherwise it also unshares a user
namespace and maps uid 0 inside to its own uid outside, then drops every capability.

The PID namespace needs a fork: the child G is pid 1 of the new namespace and mounts a fresh
/proc, so the student can neither see nor signal other processes. The calling process C stays
behind as a supervisor that never returns: it exits with G's exit status or dies of G's signal.
G dies with C (PR_SET_PDEATHSIG, re-armed after any change of uid, plus a pipe for a supervisor
that died earlier), and when G exits the kernel kills its whole namespace.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
from pathlib import Path
from typing import NoReturn

from graders.sandbox.libc import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    LINUX_CAPABILITY_VERSION_3,
    PR_CAPBSET_DROP,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    checked,
    describe,
    libc,
    prctl,
    thread_count,
    unshare,
)
from graders.sandbox.policy import Findings, SandboxPolicy


def unshare_namespaces(policy: SandboxPolicy, drop_root: bool, log_: Findings, *, new_pid_namespace: bool) -> int:
    """Unshare the namespaces; returns the flags in force (0 if none)."""
    flags = CLONE_NEWNS | CLONE_NEWIPC
    flags |= CLONE_NEWNET if policy.isolate_network else 0
    flags |= CLONE_NEWPID if new_pid_namespace else 0
    flags |= 0 if drop_root else CLONE_NEWUSER
    threads = thread_count()
    try:
        unshare(flags)
    except OSError as exc:
        hint = f" (the process has {threads} threads; a user namespace needs exactly one)" if threads > 1 and flags & CLONE_NEWUSER else ""
        log_.warn(f"NO namespaces: unshare failed ({describe(exc)}){hint}")
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


def _map_ids(log_: Findings) -> bool:
    """Inside the new user namespace: uid/gid 0 = the caller's own ids outside."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        Path("/proc/self/setgroups").write_text("deny")  # required before an unprivileged gid_map
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1\n")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1\n")
    except OSError as exc:
        log_.warn(f"could not map ids in the user namespace ({describe(exc)})")
        return False
    return True


def become_pid1() -> int:
    """Fork into the new PID namespace; only the child returns, with an fd that reads EOF once
    the supervisor (see _supervise) is gone. The child mounts its /proc with the new root."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # else buffered output would be written by both processes
    parent_alive, parent_holds = os.pipe()
    child = os.fork()
    if child:
        os.close(parent_alive)
        _supervise(child)
    os.close(parent_holds)
    return parent_alive


def die_with(parent_alive: int) -> None:
    """Set last, because any change of uid clears it; the pipe covers a supervisor that died earlier."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
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


def drop_privileges(policy: SandboxPolicy, drop_root: bool, flags: int, log_: Findings) -> None:
    try:
        if drop_root:
            _drop_bounding_set()
            os.setgroups([])
            os.setresgid(policy.sandbox_gid, policy.sandbox_gid, policy.sandbox_gid)
            os.setresuid(policy.sandbox_uid, policy.sandbox_uid, policy.sandbox_uid)  # clears every capability
            # Changing uid made the process non-dumpable, which hides its own /proc/self/fd from it.
            prctl(PR_SET_DUMPABLE, 1)
            log_.identity = f"uid {policy.sandbox_uid} gid {policy.sandbox_gid} (dropped from root), no capabilities"
        elif flags & CLONE_NEWUSER:
            _drop_bounding_set()
            _clear_capabilities()
            log_.identity = f"uid 0 in its own user namespace = uid {_outside_uid()} outside, no capabilities"
        else:
            log_.identity = f"uid {os.geteuid()}, unchanged"
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        log_.other_limits.append("no_new_privs")
    except OSError as exc:
        log_.warn(f"privileges NOT dropped: {describe(exc)}")
        log_.identity = f"uid {os.geteuid()} with capabilities {_capabilities_in_effect()}"


def _drop_bounding_set() -> None:
    """No later exec (of a setuid or file-capability binary, or as uid 0) can gain a capability."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        prctl(PR_CAPBSET_DROP, capability)


def _clear_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable, for 2 words, all zero
    checked(libc.capset(header, data), "capset")


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


def fork_into_new_pid_namespace() -> int | None:
    """`os.fork()`, but the child is pid 1 of a new PID namespace; None if that is impossible here.

    For a root parent that forks many sandboxed children (the zygote): `enter_sandbox` would
    otherwise fork a second time to get a PID namespace, and forking a process with torch loaded
    is not free. Pass the child's `enter_sandbox` a `parent_alive` fd. Later children of the
    caller are created in its own namespace again.
    """
    if os.geteuid() != 0:
        return None  # a user namespace would be needed first, and the caller could not leave it
    own = os.open("/proc/self/ns/pid", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWPID) != 0:
            return None
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                checked(libc.setns(own, CLONE_NEWPID), "setns")
        return pid
    finally:
        os.close(own)


def die_with_parent() -> None:
    """Be killed when the parent dies: a grader killed with SIGKILL must leave no process behind."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def reap_descendants() -> None:
    """Adopt orphaned descendants (PR_SET_CHILD_SUBREAPER), so that a sandboxed process whose
    supervisor was killed is reaped here instead of lingering as a zombie under init."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)
