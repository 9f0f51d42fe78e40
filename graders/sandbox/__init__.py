"""Isolation for running untrusted student code, and an honest report of what held.

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
 1. cgroups (`cgroups.py`): memory, pids and CPU share; C moves itself in.
 2. as root, hands the writable dirs (recursively) to `policy.sandbox_uid`.
 3. unshares mount, network, IPC and PID namespaces (and a user namespace unless root:
    `namespaces.py`), then forks: the child G is pid 1 of the new PID namespace; C stays behind as
    a supervisor that never returns and leaves with G's wait status. A root parent can spare this
    fork: `fork_into_new_pid_namespace` makes C pid 1 already, and C plays G (the warm path).
 4. G builds the allow-listed view of the filesystem and pivot_roots into it (`filesystem.py`),
    with a fresh /proc, and re-enters its working directory there.
 5. rlimits (`limits.py`), inherited by everything below.
 6. drops every capability (and the bounding set), or, as root, switches to `sandbox_uid`; sets
    no_new_privs; closes inherited directory fds. `enter_sandbox` returns in G.

Consequences for callers:
- `enter_sandbox` may return in a *different process* than the one that called it. That
  process is pid 1 inside its namespace, so signals for which it has no handler are ignored
  unless they come from outside the namespace (SIGKILL always works); orphans are reparented
  to it. Signals meant for the student code go to the process group (as jupyter_client sends
  interrupts): the supervisor ignores SIGINT and dies of SIGTERM/SIGHUP/SIGKILL, taking G along.
- Only the view exists afterwards: paths the caller needs later (its working directory, files
  it will exec) must be in `writable_dirs`/`readonly_dirs` or in the Python installation.
- HOME must be set to a writable dir (the work dir) in the child's environment, or IPython and
  matplotlib warn that they fall back to a temp dir (graders.execute.jobs.kernel_environment).

What the filesystem must allow. An unprivileged grader (the user-namespace path) needs nothing
its own uid lacks: uid 0 in the sandbox is that uid outside, which reaches the Python installation,
the venv, the graders package and its TMPDIR (work dirs, the data copy) because the grader runs
from them, wherever they are (a checkout under a 0700 home or `mktemp -d` included). As root, the
student code runs as `sandbox_uid`, which reaches the kept dirs through the view's 0755 skeleton
whatever the modes of the folders above them; the kept dirs themselves (venv, site-packages, base
Python) must be readable by others, as under the usual umask 022 (under umask 077 `check_reachable`
warns, and the cold path cannot exec the venv's Python). tests/sandbox/emulation.py stands in for
an unprivileged grader as root and says what it sets up for that.
"""

from __future__ import annotations

import os
import shutil

from graders.sandbox import cgroups, filesystem, limits, namespaces
from graders.sandbox.cgroups import release_cgroup, remove_stale_cgroups
from graders.sandbox.libc import CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, probe_unshare, thread_count
from graders.sandbox.namespaces import die_with_parent, fork_into_new_pid_namespace, reap_descendants
from graders.sandbox.policy import Findings, SandboxPolicy, SandboxReport

__all__ = [
    "SandboxPolicy",
    "SandboxReport",
    "capabilities",
    "die_with_parent",
    "enter_sandbox",
    "fork_into_new_pid_namespace",
    "reap_descendants",
    "release_cgroup",
    "remove_stale_cgroups",
]


def capabilities() -> dict[str, bool | str]:
    """What this machine offers a sandbox, probed rather than guessed (one short fork per probe)."""
    found = cgroups.hierarchies()
    v1 = {c: str(h.own_dir) for h in found if h.version == cgroups.V1 for c in h.controllers}
    v2 = next((h for h in found if h.version == cgroups.V2), None)
    return {
        "euid": str(os.geteuid()),
        "kernel": os.uname().release,
        "threads": str(thread_count()),
        "user_namespaces": probe_unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET),
        "namespaces_as_root": os.geteuid() == 0 and probe_unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID),
        "cgroup_v1_memory": v1.get("memory", False),
        "cgroup_v1_pids": v1.get("pids", False),
        "cgroup_v1_cpu": v1.get("cpu", False),
        "cgroup_v2": str(v2.own_dir) if v2 else False,
        "cgroup_v2_controllers": " ".join(sorted(v2.controllers)) if v2 else "",
        "cgroup_writable": any(os.access(h.own_dir, os.W_OK) for h in found),
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
    log_ = Findings()
    drop_root = os.geteuid() == 0
    made_pid1 = parent_alive is not None and os.getpid() == 1
    view = filesystem.plan_view(policy, log_, drop_root=drop_root)
    cgroup = cgroups.join_cgroup(policy, log_)
    if drop_root:
        filesystem.hand_over(view.writable, policy, log_)
    flags = namespaces.unshare_namespaces(policy, drop_root, log_, new_pid_namespace=policy.isolate_pids and not made_pid1)
    if made_pid1:
        log_.namespaces.append("pid")
        parent = parent_alive
    elif flags & CLONE_NEWPID:
        parent = namespaces.become_pid1()
    else:
        parent = None
        log_.warn("processes NOT isolated: the student code can see other processes and signal those of its own uid")
    if flags & CLONE_NEWNS:
        log_.filesystem_isolated = filesystem.build_view(view, policy, log_, own_proc=parent is not None)
    else:
        log_.warn("filesystem NOT isolated: no mount namespace; the whole disk is readable and writable as far as permissions allow")
    filesystem.reenter_cwd(view, log_)
    limits.set_rlimits(policy, cgroup, drop_root, flags, log_)
    namespaces.drop_privileges(policy, drop_root, flags, log_)
    if parent is not None:
        namespaces.die_with(parent)
    filesystem.check_reachable(view, log_)
    filesystem.close_inherited_dir_fds(log_)
    return log_.report()
