"""The warm path, grader side: `WarmExecutor` talks JSON lines to one zygote (graders.execute.zygote)."""

from __future__ import annotations

import itertools
import json
import os
import select
import subprocess
import sys
from collections.abc import Iterable, Iterator

from graders.execute.jobs import ExecutionJob, ExecutionOutcome, kernel_environment


class WarmExecutor:
    """Runs jobs in children of one warm zygote; the default executor.

    `start()` may be called early (the CLI does, before the grader imports torch itself) so
    that the zygote warms up while the grader prepares; `map` starts it if nobody did.
    Jobs are pulled lazily, so preparing submission n+1 overlaps running submission n; only
    while the zygote warms up are jobs prepared ahead, on a core that would otherwise idle.
    """

    name = "warm"

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._zygote: subprocess.Popen[str] | None = None

    def start(self) -> None:
        if self._zygote is None:
            self._zygote = subprocess.Popen(
                [sys.executable, "-m", "graders.execute.zygote"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # Explicit: every child is a copy of the zygote, environment block included.
                env=kernel_environment(os.environ.get("HOME", "/")),
                text=True,
            )

    def map(self, jobs: Iterable[ExecutionJob]) -> Iterator[ExecutionOutcome]:
        pending = iter(jobs)
        self.start()
        zygote, self._zygote = self._zygote, None
        assert zygote is not None and zygote.stdin is not None and zygote.stdout is not None
        in_flight: dict[str, ExecutionJob] = {}
        ready = False
        idle = True  # no job ever sent: the zygote's warm-up is not worth waiting for
        try:
            # Jobs queue in the pipe while the zygote still warms up; it reads them when ready.
            self._send(zygote, pending, in_flight)
            idle = not in_flight
            pending = itertools.chain(_pull_while_warming_up(zygote, pending), pending)
            while True:
                if not in_flight:
                    return
                line = zygote.stdout.readline()
                if not line:
                    yield from _lost([*in_flight.values(), *pending], "the warm grading process stopped unexpectedly")
                    return
                message = json.loads(line)
                if not ready:
                    ready = True  # the first line says the zygote is warm
                    continue
                outcome = ExecutionOutcome.from_json(message)
                in_flight.pop(outcome.submission_id, None)
                # Refill the free slot before handing the outcome over: the grader's assessment
                # of this result must not leave a core idle.
                self._send(zygote, pending, in_flight)
                yield outcome
        finally:
            zygote.stdin.close()
            if idle:
                zygote.kill()  # e.g. every result came from the cache: nothing to fork
            try:
                zygote.wait(timeout=30)
            except subprocess.TimeoutExpired:
                zygote.kill()
                zygote.wait()

    def _send(self, zygote: subprocess.Popen[str], pending: Iterator[ExecutionJob], in_flight: dict[str, ExecutionJob]) -> None:
        """Pull jobs until every slot is taken (pulling prepares them: see pipeline.grade_folder)."""
        assert zygote.stdin is not None
        for job in itertools.islice(pending, self.jobs - len(in_flight)):
            in_flight[job.submission_id] = job
            zygote.stdin.write(json.dumps(job.to_json()) + "\n")
        zygote.stdin.flush()


def _pull_while_warming_up(zygote: subprocess.Popen[str], pending: Iterator[ExecutionJob]) -> list[ExecutionJob]:
    """Prepare jobs ahead until the zygote says it is warm: for ~2 s this core has nothing else to do."""
    ahead: list[ExecutionJob] = []
    while not select.select([zygote.stdout], [], [], 0)[0]:
        job = next(pending, None)
        if job is None:
            break
        ahead.append(job)
    return ahead


def _lost(jobs: list[ExecutionJob], message: str) -> Iterator[ExecutionOutcome]:
    for job in jobs:
        yield ExecutionOutcome(job.submission_id, False, message, executor="warm")
