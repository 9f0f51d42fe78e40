"""What crosses between the grader and whatever runs a notebook: the job, its outcome, the seam.

`Executor` is the seam for "which worker grades which submission": the warm zygote
(`graders.execute.warm`), cold Jupyter kernels (`graders.execute.cold`), or a cluster.
Jobs and outcomes are frozen dataclasses; they become JSON only where they cross a process
boundary (the zygote's pipe, files in a work dir), through their own `to_json`/`from_json`.
An outcome may come back from a process that ran student code, so `from_json` is strict.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from graders.execute.untrusted import read_json
from graders.sandbox import SandboxPolicy, SandboxReport

# The largest executed notebook the grader reads (checked before parsing; the parse also counts
# its JSON objects first, see intake.notebooks). The shipped submissions' executed notebooks weigh
# 0.56-0.68 MB (two figures of ~0.11 MB, the probe results ~0.31 MB); outputs are cut to 100,000
# characters per stream, 2 MB per display and 1,000 outputs per cell while recorded. 16 MiB is 24
# times the heaviest: room for dozens of figures. Parsing the 256 MiB the sandbox lets a notebook
# write would cost the grader gigabytes.
MAX_EXECUTED_BYTES = 16 * 2**20
MAX_SMALL_JSON_BYTES = 1 << 20  # an outcome, a progress marker, a sandbox report
UNCONFINED = "the notebook ran unconfined (--no-sandbox)"

# Fixed for every kernel, cold or warm: one thread per kernel (parallel workers must not
# oversubscribe the cores) and the same string-hash seed everywhere. glibc's malloc asks for
# transparent huge pages: forking the 0.4 GiB warm zygote then copies one page-table entry per
# 2 MiB instead of per 4 KiB, and tensors fault in faster; a no-op where THP is off or glibc
# predates 2.35. It replaces any GLIBC_TUNABLES of the caller.
KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
}
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def kernel_environment(home: str) -> dict[str, str]:
    """The whole environment of a process that runs student code (warm child, cold kernel, zygote).

    Explicit, never inherited: anything else in the grader's environment (an LMS token, cloud
    credentials) must not reach a notebook, which could print it into its own report. IPython and
    matplotlib want a writable home: inside the sandbox only the work dir is.
    """
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:{_SYSTEM_PATH}",
        "HOME": home,
        "IPYTHONDIR": home,
        "MPLCONFIGDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        **KERNEL_ENV,
    }


@dataclass(frozen=True)
class ExecutionJob:
    submission_id: str
    input_path: str  # the prepared notebook: student cells + the grader's probe cell (a placeholder: see execute.handover)
    # Where the executor delivers the executed notebook: never inside work_dir, which the
    # notebook's own code controls (see graders.execute.untrusted).
    output_path: str
    work_dir: str  # the kernel's working directory, private to this submission
    parameters: dict[str, Any]
    cell_timeout: float
    notebook_timeout: float = 900.0  # the whole notebook, enforced by the warm executor
    start_timeout: float = 60.0
    sandbox: SandboxPolicy | None = None  # None: unconfined
    # The probe request (hidden inputs included), out of the notebook's view; it reaches the probe
    # cell only once the student's cells have run (graders.execute.handover). None: no probe.
    probe_request_path: str | None = None
    # The grading data's root as the notebook reads it ("": none), whatever the assignment calls it in its
    # parameters: a Dask worker has its own copy and points every mention of this root at it (execute.cluster).
    data_dir: str = ""

    @property
    def sandbox_report_path(self) -> str:
        """Where the sandbox's report is written, before any student code runs and out of its view."""
        return self.output_path + ".sandbox.json"

    @property
    def sandbox_failure_path(self) -> str:
        """Where the cold path's launcher says why a kernel never started (graders.sandbox.launch --failure)."""
        return self.output_path + ".sandbox-failure.txt"

    @property
    def snapshot_path(self) -> str:
        """Where the executor records the notebook as it stood when the probe began (its student cells)."""
        return self.output_path + ".before-probe.ipynb"

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["sandbox"] = None if self.sandbox is None else self.sandbox.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExecutionJob:
        """Only the grader writes jobs (the zygote's stdin): a plain inverse of `to_json`."""
        sandbox = data.get("sandbox")
        return cls(**{**data, "sandbox": None if sandbox is None else SandboxPolicy.from_json(sandbox)})


@dataclass(frozen=True)
class ExecutionOutcome:
    submission_id: str
    finished: bool  # every cell was attempted (cells may still have raised)
    message: str = ""  # why not, for the student and staff
    seconds: float = 0.0
    executor: str = ""  # "warm" or "cold"
    sandbox: SandboxReport | None = None  # what confined the notebook; None: nothing reported
    running_cell: str | None = None  # the source of the cell that was running when the process died
    exception: str | None = None  # the harness-side exception that ended the run, for staff
    # The harness lost the job (every cluster worker that ran it died): the submission becomes an
    # `error` result, not cached, so the next run tries it again. Set only by the grader-side
    # executor: `to_json` leaves it out and `from_json` refuses it (a notebook must not be able to
    # turn its own grade into a retry).
    lost: bool = False

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lost"}
        data["sandbox"] = None if self.sandbox is None else self.sandbox.to_json()
        return data

    @classmethod
    def from_json(cls, data: Any) -> ExecutionOutcome:
        """Strict (the data may come from a process that ran student code); ValueError if malformed."""
        if not isinstance(data, dict) or set(data) - {f.name for f in fields(cls) if f.name != "lost"}:
            raise ValueError("not an execution outcome")
        types = {"submission_id": str, "finished": bool, "message": str, "executor": str}
        wrong = [name for name, kind in types.items() if name in data and not isinstance(data[name], kind)]
        wrong += [name for name in ("running_cell", "exception") if data.get(name) is not None and not isinstance(data[name], str)]
        seconds = data.get("seconds", 0.0)
        if wrong or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError(f"outcome fields of the wrong type: {wrong or ['seconds']}")
        sandbox = data.get("sandbox")
        try:
            return cls(**{**data, "sandbox": None if sandbox is None else SandboxReport.from_json(sandbox)})
        except TypeError as exc:  # a required field is missing
            raise ValueError(str(exc)) from None


def reported_sandbox(job: ExecutionJob) -> SandboxReport:
    """What confined the job's notebook, as its sandbox wrote it before any student code ran.

    The file is out of the notebook's view, but it is parsed as strictly as anything else a
    sandboxed process produced. Never silently absent: an unconfined job says so loudly.
    """
    if job.sandbox is None:
        return SandboxReport.unconfined(UNCONFINED)
    try:
        return SandboxReport.from_json(read_json(Path(job.sandbox_report_path), MAX_SMALL_JSON_BYTES))
    except ValueError:
        return SandboxReport.absent("the notebook's process ended before its sandbox reported (nothing of the notebook ran)")


class Executor(Protocol):
    def map(self, jobs: Iterable[ExecutionJob]) -> Iterator[ExecutionOutcome]:
        """Run every job; yield outcomes as they finish, in any order. Never raise for one job.

        `jobs` may be lazy: an executor should pull a job only when it can start it.
        """
        ...


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
