"""A time limit on assessing one submission: no notebook can stall a batch in the grader.

Everything assessing reads from a submission is bounded (answers: graders/judge/cells.py and each
assignment's answer readers; the probe payload: graders/judge/probes.py), and this is the last line
behind those bounds: whatever makes one assessment slow (a parser, sympy, a decoder), once it has used
`ASSESSMENT_SECONDS` it stops, and `submission.assess_safely` makes it that submission's `error`.
Used time is `probe_runtime.TimeLimit`'s: wall time less the time the grader waited for a CPU, so a
busy machine does not fail a submission. The result is not cached: the next run tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from graders.runtime.probe_runtime import TimeLimit

# Assessing a submission takes about 0.03 s (ARCHITECTURE.md, the warm path). The first assessment that
# needs the grader's own training of the experiment (the reference's, or a mistake's: once per batch,
# graders/judge/expected.py) pays for it, about 1.5 s of CPU with the contract's settings, and the first
# wrong answers pay for the variants they are compared with (a catalog of 84 combinations: about 1.4 s
# on a slow machine): the limit must stay well above that, or each assessment would stop it and the
# next start it again.
ASSESSMENT_SECONDS = 60.0


class AssessmentTimeout(BaseException):
    """Assessing one submission used up its time. Its message is for the student.

    A BaseException, like KeyboardInterrupt: it is raised wherever the grader happens to be (in sympy,
    in numpy), and no `except Exception` there may swallow it.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the grader stopped assessing it after {seconds:g} s; course staff can see where in the grader's output")


@contextmanager
def assessment_limit(seconds: float | None = None) -> Iterator[None]:
    """Raise `AssessmentTimeout` in the block once it has used `seconds` (default `ASSESSMENT_SECONDS`).

    A signal reaches only the main thread, where the grader assesses; in any other thread (a caller's
    own worker) the block runs without a limit rather than failing.
    """
    limit = ASSESSMENT_SECONDS if seconds is None else seconds
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with TimeLimit(limit, lambda: AssessmentTimeout(limit)):
        yield
