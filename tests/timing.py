"""Time that grows with the size of a student's text, measured the way a busy machine allows: the
CPU time of the thread doing the work (not wall time), the least of a few runs, and only ever
compared with another measurement (size n against 4n, one input against a baseline), never with a
fixed budget. A run that would take far longer than the comparison allows is stopped by a watchdog
scaled from the same measurements, so a quadratic regression fails in seconds instead of hours.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from graders.runtime.probe_runtime import TimeLimit

GROWTH = 8.0  # allowed for 4× the input: linear work takes about 4×, quadratic work 16×
SLACK = 0.02  # seconds of CPU: timer resolution and a garbage collection, nothing a quadratic step fits in


class TooSlow(AssertionError):
    """The watchdog stopped a run that was already far over what the comparison allows."""


def cpu_seconds(work: Callable[[], object], *, repeats: int = 3, watchdog: float = math.inf) -> float:
    """The least thread CPU time of `repeats` runs of `work`; TooSlow once one run takes `watchdog` seconds."""
    best = math.inf
    for _ in range(repeats):
        started = time.thread_time()
        if math.isinf(watchdog):
            work()
        else:
            with TimeLimit(watchdog, lambda: TooSlow(f"still running after {watchdog:.1f} s")):
                work()
        best = min(best, time.thread_time() - started)
    return best


def assert_linear(read: Callable[[str], object], build: Callable[[int], str], size: int = 50_000) -> None:
    """`read` of `build(4 * size)` takes at most GROWTH times as long as of `build(size)`."""
    small, large = build(size), build(4 * size)
    small_seconds = cpu_seconds(lambda: read(small))
    allowed = GROWTH * small_seconds + SLACK
    large_seconds = cpu_seconds(lambda: read(large), watchdog=20 * allowed + 1)
    assert large_seconds <= allowed, f"{len(small):,} characters: {small_seconds:.4f} s; {len(large):,}: {large_seconds:.4f} s"


def repeat_to(unit: str, length: int) -> str:
    """`unit` repeated to about `length` characters."""
    return unit * max(1, length // len(unit))
