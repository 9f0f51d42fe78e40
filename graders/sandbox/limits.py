"""Resource limits set with setrlimit, inherited by everything the student code starts.

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

import os
import resource
from pathlib import Path

from graders.sandbox.libc import CLONE_NEWUSER, size
from graders.sandbox.policy import Findings, SandboxPolicy


def set_rlimits(policy: SandboxPolicy, cgroup: dict[str, Path], drop_root: bool, flags: int, log_: Findings) -> None:
    limits = {
        # soft = hard: SIGKILL at once, because pid 1 of a PID namespace ignores SIGXCPU.
        resource.RLIMIT_CPU: ((policy.cpu_seconds,) * 2, f"RLIMIT_CPU {policy.cpu_seconds} s (SIGKILL)"),
        resource.RLIMIT_NOFILE: ((policy.max_open_files,) * 2, f"RLIMIT_NOFILE {policy.max_open_files}"),
        resource.RLIMIT_FSIZE: ((policy.max_file_bytes,) * 2, f"RLIMIT_FSIZE {size(policy.max_file_bytes)}"),
        resource.RLIMIT_CORE: ((0, 0), "RLIMIT_CORE 0"),
    }
    if "memory" not in cgroup:
        data = _vm_data() + policy.memory_bytes
        why = f"RLIMIT_DATA {size(data)} ({size(data - policy.memory_bytes)} mapped at entry + {size(policy.memory_bytes)}; per process)"
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
