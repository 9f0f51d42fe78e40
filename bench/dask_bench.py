"""`make bench-dask` (and the end of `make bench`): the cost of grading on a Dask cluster, per notebook.

A loopback cluster (`dask scheduler` + W `dask worker --nthreads 1 --no-nanny` processes, as the
docs/operators.md starts one by hand) against the local warm path with `--jobs W`, for W = 1 and 2. Fixed
costs are measured apart from the per-notebook cost, because they are paid differently: the local
path warms a zygote up in every `grader grade`, a cluster once per worker for as long as it lives.

- start-up: scheduler and workers until the scheduler reports them; then the first grading run,
  which registers the worker plugin and warms each worker's zygote up (a 1-notebook corpus);
- per notebook: the marginal cost, (wall(N_large) - wall(N_small)) / (N_large - N_small), for the
  local path and for the already warm cluster alike, so that neither side's fixed costs count;
- where the cluster's time goes: CPU seconds per notebook of the grader process, the scheduler and
  the worker processes themselves (not their zygotes), over the large run.

Both paths grade with the same seed; the large run's results must be identical check by check.
Usage: python bench/dask_bench.py [--small N] [--large N] [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from distributed import Client

from bench import BIN, FUNCTIONS, check_table, realistic_notebook

SEED = "1234"
READY_TIMEOUT = 180.0


@dataclass
class Cluster:
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]
    address: str
    started_in: float  # seconds until the scheduler reported every worker

    @classmethod
    def start(cls, folder: Path, workers: int) -> Cluster:
        started = time.perf_counter()
        scheduler_file = folder / "scheduler.json"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        scheduler = subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            **quiet,
        )
        command = [str(BIN / "dask"), "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        processes = [subprocess.Popen([*command, "--host", "127.0.0.1"], **quiet) for _ in range(workers)]
        while not scheduler_file.exists():
            time.sleep(0.05)
        with Client(scheduler_file=str(scheduler_file), timeout=READY_TIMEOUT) as client:
            client.wait_for_workers(workers, timeout=READY_TIMEOUT)
            address = client.scheduler.address
        return cls(scheduler, processes, address, time.perf_counter() - started)

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU seconds so far of the scheduler, and of the worker processes themselves (not their zygotes)."""

        def own(process: subprocess.Popen) -> float:
            times = psutil.Process(process.pid).cpu_times()
            return times.user + times.system

        return own(self.scheduler), sum(own(worker) for worker in self.workers)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            process.terminate()
        for process in [*self.workers, self.scheduler]:
            process.wait(timeout=60)


def grade(corpus: Path, out: Path, data_dir: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and the CPU seconds of the grader process and what it waited for (its zygote, locally)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [str(BIN / "grader"), "grade", str(corpus), "--out", str(out), "--data-dir", str(data_dir), "--seed", SEED, *extra]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def corpora(work: Path, small: int, large: int) -> tuple[Path, Path, Path]:
    data_dir = work / "data"
    subprocess.run([str(BIN / "grader"), "make-data", str(data_dir)], check=True, stdout=subprocess.DEVNULL)
    kinds = list(FUNCTIONS)
    folders = {n: work / f"corpus-{n}" for n in (1, small, large)}
    for n, folder in folders.items():
        folder.mkdir()
        for index in range(n):
            nbformat.write(realistic_notebook(kinds[index % len(kinds)]), str(folder / f"student-{index:03d}.ipynb"))
    return data_dir, folders[small], folders[large]


def measure(work: Path, workers: int, small: int, large: int, repeats: int) -> dict[str, float]:
    data_dir, small_corpus, large_corpus = corpora(work / f"w{workers}", small, large)
    runs = iter(range(10_000))

    def out() -> Path:
        return work / f"w{workers}" / f"reports-{next(runs)}"

    local: dict[int, list[float]] = {n: [] for n in (small, large)}
    dask: dict[int, list[float]] = {n: [] for n in (small, large)}
    grader_cpu: dict[int, list[float]] = {n: [] for n in (small, large)}
    cluster = Cluster.start(work / f"w{workers}", workers)
    try:
        first_run = grade(work / f"w{workers}" / "corpus-1", out(), data_dir, "--scheduler", cluster.address)[0]
        for _ in range(repeats):  # interleaved, so that the machine's drift hits both alike
            for n, corpus in ((small, small_corpus), (large, large_corpus)):
                local[n].append(grade(corpus, local_out := out(), data_dir, "--jobs", str(workers))[0])
                scheduler_cpu, worker_cpu = cluster.cpu_seconds()
                wall, cpu = grade(corpus, dask_out := out(), data_dir, "--scheduler", cluster.address)
                dask[n].append(wall)
                grader_cpu[n].append(cpu)
                scheduler_after, worker_after = cluster.cpu_seconds()
        if check_table(local_out) != check_table(dask_out):
            raise SystemExit("Dask and local results differ")
    finally:
        cluster.stop()

    def marginal(seconds: dict[int, float]) -> float:
        return (seconds[large] - seconds[small]) / (large - small)

    local_wall = {n: statistics.median(times) for n, times in local.items()}
    dask_wall = {n: statistics.median(times) for n, times in dask.items()}
    return {
        "cluster start-up s": cluster.started_in,
        "first run (plugin + zygote warm-up), 1 notebook, s": first_run,
        "local wall, large corpus, s": local_wall[large],
        "dask wall, large corpus, s": dask_wall[large],
        "local marginal s/notebook": marginal(local_wall),
        "dask marginal s/notebook": marginal(dask_wall),
        "grader process CPU marginal s/notebook (dask)": marginal({n: statistics.median(c) for n, c in grader_cpu.items()}),
        "scheduler CPU s/notebook (last large run)": (scheduler_after - scheduler_cpu) / large,
        "worker processes CPU s/notebook (last large run)": (worker_after - worker_cpu) / large,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="a10-bench-dask-"))
    try:
        figures = {workers: measure(work, workers, args.small, args.large, args.repeats) for workers in (1, 2)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.small} and {args.large} notebooks on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average after the run: {load}; medians of {args.repeats} interleaved run(s)")
    for name in figures[1]:
        print(f"{name:<52} {figures[1][name]:>8.3f} {figures[2][name]:>8.3f}   (1 worker, 2 workers)")
    for workers, row in figures.items():
        overhead = 100 * (row["dask marginal s/notebook"] / row["local marginal s/notebook"] - 1)
        print(f"Dask overhead per notebook at {workers} worker(s) vs --jobs {workers}: {overhead:+.1f}%")
    speedup = figures[1]["dask marginal s/notebook"] / figures[2]["dask marginal s/notebook"]
    print(f"Dask, 1 -> 2 workers: {speedup:.2f}x per notebook; results identical check by check to the local path")


if __name__ == "__main__":
    main()
