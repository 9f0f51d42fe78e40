"""The warm path, grader side: `WarmExecutor` talks JSON lines to one zygote (graders.execute.zygote).

`Zygote` is that process and its protocol; the Dask worker plugin (graders.execute.cluster) runs
notebooks through it too, so that a cluster worker runs them exactly as the local warm path does.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import subprocess
import sys
from collections.abc import Iterable, Iterator

from graders.errors import HarnessError
from graders.execute.jobs import ExecutionJob, ExecutionOutcome, kernel_environment


class Zygote:
    """One zygote process: jobs in, outcomes out (in completion order), as JSON lines."""

    def __init__(self) -> None:
        # S603: a fixed argv (this Python, the harness's own zygote module); nothing in it comes from a notebook.
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "graders.execute.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Explicit: every child is a copy of the zygote, environment block included.
            env=kernel_environment(os.environ.get("HOME", "/")),
            text=True,
        )
        if self.process.stdin is None or self.process.stdout is None:  # unreachable with PIPE; narrows the types once
            raise HarnessError("the zygote started without its pipes")
        self._stdin, self._stdout = self.process.stdin, self.process.stdout
        self.warm = False

    def send(self, jobs: Iterable[ExecutionJob]) -> None:
        """Queue jobs in the pipe: the zygote reads them as soon as it is warm."""
        for job in jobs:
            self._stdin.write(json.dumps(job.to_json()) + "\n")
        self._stdin.flush()

    def has_spoken(self) -> bool:
        """Whether the zygote said it is warm (or anything else) yet; never blocks."""
        return self.warm or bool(select.select([self._stdout], [], [], 0)[0])

    def receive(self) -> ExecutionOutcome | None:
        """The next job's outcome; None once the zygote is gone."""
        while True:
            line = self._stdout.readline()
            if not line:
                return None
            message = json.loads(line)
            if self.warm:
                return ExecutionOutcome.from_json(message)
            self.warm = True  # the first line says the zygote is warm

    def fileno(self) -> int:
        """Its output pipe, for select(): readable once the zygote is warm (it says so first) or gone."""
        return self._stdout.fileno()

    def detach(self) -> None:
        """Close this process's ends of the pipes once a forked process took the zygote over (graders.pipeline.server):
        its jobs come from that process alone, and it exits when that process closes its end."""
        self._stdin.close()
        self._stdout.close()

    def close(self, *, kill: bool = False) -> None:
        """Closing stdin lets the zygote finish its running jobs and exit; `kill` does not wait for them."""
        self._stdin.close()
        if kill:
            self.process.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class WarmExecutor:
    """Runs jobs in children of one warm zygote; the default executor.

    `start()` may be called early (the CLI does, before the grader imports torch itself) so
    that the zygote warms up while the grader prepares; `map` starts it if nobody did. A zygote
    already started (the warm server's, graders.pipeline.server) may be given instead.
    Jobs are pulled lazily, so preparing submission n+1 overlaps running submission n; only
    while the zygote warms up are jobs prepared ahead, on a core that would otherwise idle.
    """

    name = "warm"

    def __init__(self, jobs: int, zygote: Zygote | None = None) -> None:
        self.jobs = max(1, jobs)
        self._zygote = zygote

    def start(self) -> Zygote:
        if self._zygote is None:
            self._zygote = Zygote()
        return self._zygote

    def map(self, jobs: Iterable[ExecutionJob]) -> Iterator[ExecutionOutcome]:
        pending = iter(jobs)
        zygote, self._zygote = self.start(), None
        in_flight: dict[str, ExecutionJob] = {}
        idle = True  # no job ever sent: the zygote's warm-up is not worth waiting for
        try:
            # Jobs queue in the pipe while the zygote still warms up; it reads them when ready.
            self._send(zygote, pending, in_flight)
            idle = not in_flight
            pending = itertools.chain(_pull_while_warming_up(zygote, pending), pending)
            while in_flight:
                outcome = zygote.receive()
                if outcome is None:
                    yield from _lost([*in_flight.values(), *pending], "the warm grading process stopped unexpectedly")
                    return
                in_flight.pop(outcome.submission_id, None)
                # Refill the free slot before handing the outcome over: the grader's assessment
                # of this result must not leave a core idle.
                self._send(zygote, pending, in_flight)
                yield outcome
        finally:
            zygote.close(kill=idle)  # idle: e.g. every result came from the cache, nothing to fork

    def _send(self, zygote: Zygote, pending: Iterator[ExecutionJob], in_flight: dict[str, ExecutionJob]) -> None:
        """Pull jobs until every slot is taken (pulling prepares them: see pipeline.grade_folder)."""
        jobs = list(itertools.islice(pending, self.jobs - len(in_flight)))
        in_flight.update((job.submission_id, job) for job in jobs)
        zygote.send(jobs)


def run_one(executor: WarmExecutor, job: ExecutionJob) -> ExecutionOutcome:
    """One job through the executor, as the self-check's runner (graders.pipeline.submission.Runner)."""
    (outcome,) = executor.map([job])
    return outcome


def _pull_while_warming_up(zygote: Zygote, pending: Iterator[ExecutionJob]) -> list[ExecutionJob]:
    """Prepare jobs ahead until the zygote says it is warm: for ~2 s this core has nothing else to do."""
    ahead: list[ExecutionJob] = []
    while not zygote.has_spoken():
        job = next(pending, None)
        if job is None:
            break
        ahead.append(job)
    return ahead


def _lost(jobs: list[ExecutionJob], message: str) -> Iterator[ExecutionOutcome]:
    for job in jobs:
        yield ExecutionOutcome(job.submission_id, False, message, executor="warm")
