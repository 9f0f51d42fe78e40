"""What an authored assignment's checks read, as the student kit finds it by name: shipped verbatim in every such kit.

The grader and the kit judge with these same functions (graders/kit/check.py imports them as `module:function`
from the kit's copy), so they import only what the kit ships besides numpy: the harness's value reading and
the seam's types, never the built folder's truth. An authored assignment has one observable (a function's
values) and no derivation yet, so its derivation reader finds nothing and its form reader is never asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graders.judge.cells import Tagged
from graders.judge.comparison import as_array
from graders.judge.kinds.symbolic import AnswerVerdict
from graders.judge.probes import Case, ProbeResults, call_id
from graders.judge.values import redacted, value_of
from graders.results import CheckStatus, DerivationAnswer


def values(results: ProbeResults, case: Case) -> np.ndarray:
    """A function's value on a case as float64 (booleans as 0 and 1); hidden inputs' messages redacted."""
    what = f"{case.function}(…)"
    return as_array(redacted(value_of(results, call_id(case.function, case.name), case), case, what), what)


def derivation(notebook: Mapping[str, Any], questions: Sequence[Tagged]) -> tuple[DerivationAnswer, ...]:
    """None: an authored assignment asks for no derivation line (its written questions are marked by staff)."""
    return ()


def readable(quantity: str, latex: str | None) -> AnswerVerdict:
    """Never asked (no derivation check exists to ask it); were it asked, it says that nothing here reads one."""
    return AnswerVerdict(CheckStatus.ERROR, (), f"This assignment has no derivation line to read ({quantity[:50]}).", None)
