"""What crosses between the grader and whatever runs a notebook: the job, its outcome, the seam.

`Executor` is the seam for "which worker grades which submission": the warm zygote
(`graders.execute.warm`), cold Jupyter kernels (`graders.execute.cold`), or a cluster.
Jobs and outcomes are plain, picklable dataclasses of strings and numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

# The warm path writes the source of the cell about to run here (in the work dir), so that a
# process that dies without saving its notebook can still be pinned to the cell that killed it.
PROGRESS_FILE = ".a10-grader-running-cell.json"
RUNNING_CELL = "running_cell_source"  # the key in ExecutionOutcome.details that carries it
MAX_EXECUTED_BYTES = 256 * 2**20  # the sandbox's largest file (SandboxPolicy.max_file_bytes)

# Fixed for every kernel, cold or warm: one thread per kernel (parallel workers must not
# oversubscribe the cores) and the same string-hash seed everywhere. glibc's malloc asks for
# transparent huge pages: forking the 0.4 GiB warm zygote then copies one page-table entry per
# 2 MiB instead of per 4 KiB (fork + exit 18 -> 12 ms here), and tensors fault in faster; a no-op
# where THP is off or glibc predates 2.35. It replaces any GLIBC_TUNABLES of the caller.
KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
}


@dataclass(frozen=True)
class ExecutionJob:
    submission_id: str
    input_path: str  # the prepared notebook: student cells + the grader's probe cell
    # Where the executor delivers the executed notebook: never inside work_dir, which the
    # notebook's own code controls (see graders.execute.untrusted).
    output_path: str
    work_dir: str  # the kernel's working directory, private to this submission
    parameters: dict[str, Any]
    cell_timeout: float
    notebook_timeout: float = 900.0  # the whole notebook, enforced by the warm executor
    start_timeout: float = 60.0
    sandbox: dict[str, Any] | None = None  # graders.sandbox.SandboxPolicy.to_json(); None: unconfined


@dataclass(frozen=True)
class ExecutionOutcome:
    submission_id: str
    finished: bool  # every cell was attempted (cells may still have raised)
    message: str = ""  # why not, for the student and staff
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    # The harness lost the job (e.g. every cluster worker that ran it died): the submission is an
    # `error`, not a grade, and is run again next time. Never taken from what a notebook wrote.
    lost: bool = False


class Executor(Protocol):
    def map(self, jobs: Iterable[ExecutionJob]) -> Iterator[ExecutionOutcome]:
        """Run every job; yield outcomes as they finish, in any order. Never raise for one job.

        `jobs` may be lazy: an executor should pull a job only when it can start it.
        """
        ...


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
