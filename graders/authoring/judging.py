"""A built assignment's behaviour: its truth loaded from the folder, its probe plan, expected values and checks.

The truth is the instructor's own code, written out by `grader assignment build` under `truth/`: the solution's
definitions (`reference.py`), each mistake as the reference with one function redefined (`mistake_NAME.py`),
and the inputs (`inputs.py`: `PUBLIC`, `hidden(rng)`). Each check is the harness's value check
(graders.judge.kinds.value) on the function's values, with the whole-function diagnosis that names a mistake
and charges it once, to its function's check; its observable (graders.authoring.observables) is the student kit's
too. Imported only when the assignment judges or plans: numpy here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from graders.assignment.spec import Misconception, Variants
from graders.authoring.contract import Contract, FunctionSpec
from graders.authoring.observables import values
from graders.errors import UsageError
from graders.judge.checks import Check, Judged
from graders.judge.comparison import Tolerance
from graders.judge.diagnosis import DeductionPolicy, WholeFunction
from graders.judge.expected import ExpectedValues, store_reference, stored_reference, variant_results
from graders.judge.kinds.value import ValueCheck
from graders.judge.probes import Case, ProbePlan, evaluate_in_process
from graders.judge.separation import unseparated

TRUTH = "truth"  # instructor-only: never handed to students, never in a notebook's view
REFERENCE_FILE = "reference.py"
INPUTS_FILE = "inputs.py"
STORED_PUBLIC = Path("expected") / "public.json"
ARGUMENT_TYPES = (np.ndarray, bool, int, float)  # what the probe sends a function (arrays become tensors)


def mistake_file(name: str) -> str:
    return f"mistake_{name}.py"


def _namespace(path: Path) -> Mapping[str, Any]:
    """The module at `path` run in a namespace of its own, once per content (a rebuild is read again)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror}); build the assignment again") from None
    return _run(str(path), text)


@cache
def _run(path: str, text: str) -> Mapping[str, Any]:
    """Instructor code: its failure is the author's to fix."""
    namespace: dict[str, Any] = {"__name__": f"grader_authored_{Path(path).stem}", "__file__": path}
    try:
        exec(compile(text, path, "exec"), namespace)  # noqa: S102 - the author's own truth, never a student's code
        return namespace
    except Exception as exc:  # noqa: BLE001 - anything the author's code raises is reported as theirs
        raise UsageError(f"{path}: raised {type(exc).__name__}: {str(exc)[:300]} (fix the source notebook and build again)") from None


@dataclass(frozen=True)
class Judging:
    """Everything a built assignment does, from its folder and contract."""

    folder: Path
    contract: Contract

    @property
    def truth_dir(self) -> Path:
        return self.folder / TRUTH

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(function.name for function in self.contract.functions)

    # ------------------------------------------------------------------ the truth

    def reference(self) -> dict[str, Callable[..., Any]]:
        namespace = _namespace(self.truth_dir / REFERENCE_FILE)
        return {name: namespace[name] for name in self.names}

    def variants(self) -> dict[str, Variants]:
        """Each function's mistakes, one at a time: what its values are diagnosed against (a mistake is a whole
        alternative definition of its function, so two of one function never combine into a third variant)."""
        return {
            name: tuple(
                (frozenset({m.name}), {name: _namespace(self.truth_dir / mistake_file(m.name))[name]})
                for m in self.contract.catalog
                if m.function == name
            )
            for name in self.names
        }

    def variants_and_pairs(self) -> dict[str, Variants]:
        """`variants`, each function's followed by its mistakes paired with every earlier function's: what validation
        applies (a student may make one mistake in each of two functions; two in one function cannot both be applied).
        A pair sits under its later function, so both its mistakes alone come before it."""
        singles = self.variants()
        earlier: list[tuple[frozenset[str], Mapping[str, Callable[..., Any]]]] = []
        found: dict[str, Variants] = {}
        for name in self.names:
            pairs = tuple((a | b, {**one, **other}) for a, one in earlier for b, other in singles[name])
            found[name] = singles[name] + pairs
            earlier += singles[name]
        return found

    def policy(self) -> DeductionPolicy:
        catalog = {m.name: Misconception(m.name, m.function, m.title, m.explanation, hint=m.hint) for m in self.contract.catalog}
        whole = {f.name: WholeFunction((values,), _tolerance(f)) for f in self.contract.functions}
        return DeductionPolicy(catalog, {m.name: m.function for m in self.contract.catalog}, whole)

    # ------------------------------------------------------------------ the plan and the expected values

    def plan(self, *, seed: int, hidden: bool) -> ProbePlan:
        inputs = _namespace(self.truth_dir / INPUTS_FILE)
        public, drawn = inputs.get("PUBLIC"), inputs.get("hidden")
        where = self.truth_dir / INPUTS_FILE
        if not isinstance(public, Mapping) or not callable(drawn):
            raise UsageError(f"{where}: the inputs cell must define PUBLIC (a dict) and hidden(rng) (a function)")
        cases = self._cases(public, public=True, where=f"{where}: PUBLIC")
        if hidden:
            try:
                hidden_inputs = drawn(np.random.default_rng(seed))
            except Exception as exc:  # noqa: BLE001 - the author's generator: its failure is reported as theirs
                raise UsageError(f"{where}: hidden(rng) raised {type(exc).__name__}: {str(exc)[:300]}") from None
            cases += self._cases(hidden_inputs, public=False, where=f"{where}: hidden(rng)")
        return ProbePlan(cases=cases, experiment=None)

    def _cases(self, inputs: Any, *, public: bool, where: str) -> tuple[Case, ...]:
        if not isinstance(inputs, Mapping):
            raise UsageError(f"{where}: a dict of function name -> list of argument tuples was expected")
        unknown = sorted(str(name)[:50] for name in inputs if name not in self.names)
        if unknown:
            raise UsageError(f"{where}: no function {', '.join(unknown)} in the config ({', '.join(self.names)})")
        kind = "public" if public else "hidden"
        return tuple(
            Case(function, f"{kind}-{number}", public, _arguments(args, f"{where}[{function!r}][{number - 1}]"))
            for function, calls in inputs.items()
            for number, args in enumerate(_listed(calls, f"{where}[{function!r}]"), start=1)
        )

    def reference_failures(self, plan: ProbePlan) -> list[str]:
        """Each call on which the reference gives no value: `build` refuses to store them (a check could never pass)."""
        calls = evaluate_in_process(plan, self.reference(), self.names).calls
        return [f"{cid}: {call.error.type or call.error.kind}: {call.error.message[:200]}" for cid, call in calls.items() if call.error]

    def stored_public(self) -> Path:
        return self.truth_dir / STORED_PUBLIC

    def store_public(self, reference_hash: str, public_seed: int) -> None:
        store_reference(self.stored_public(), reference_hash, self.plan(seed=public_seed, hidden=False), self.reference(), self.names)

    def expected(self, plan: ProbePlan, reference_hash: str, *, prefer_stored: bool) -> ExpectedValues:
        stored = stored_reference(self.stored_public(), reference_hash, plan) if prefer_stored else None
        reference = stored or evaluate_in_process(plan, self.reference(), self.names)
        return ExpectedValues(reference, variant_results(plan, self.variants()), reference_hash)

    def require_public_told_apart(self, plan: ProbePlan, expected: ExpectedValues) -> None:
        """The student kit runs the public inputs only: where they cannot tell a mistake from the reference the kit
        would call it correct. The inputs are the author's, so this is theirs to fix (not the harness's fault)."""
        hidden = unseparated(plan, expected, self.policy().whole_function)
        if hidden:
            listed = "; ".join(map(str, hidden))
            raise UsageError(f"no student kit: the public inputs cannot tell {listed} from the reference (choose PUBLIC inputs that do)")

    # ------------------------------------------------------------------ the checks

    def checks(self) -> tuple[Check, ...]:
        return tuple(
            ValueCheck(
                f.name,
                f.title,
                f.points,
                function=f.name,
                observable=values,
                tolerance=_tolerance(f),
                expectation=f.expectation,
                hint=f.hint,
            )
            for f in self.contract.functions
        )

    def judged(self, evidence: Any) -> Judged:
        return Judged.of(evidence, self.policy())


def _tolerance(function: FunctionSpec) -> Tolerance:
    return Tolerance(rtol=function.rtol, atol=function.atol)


def _listed(calls: Any, where: str) -> Iterable[Any]:
    if not isinstance(calls, list | tuple):
        raise UsageError(f"{where}: a list of argument tuples was expected, not {type(calls).__name__}")
    return calls


def _arguments(args: Any, where: str) -> tuple[Any, ...]:
    """One call's arguments: a tuple (a single argument may stand alone); lists become arrays."""
    given = args if isinstance(args, tuple) else (args,)
    arguments = tuple(np.asarray(arg) if isinstance(arg, list) else arg for arg in given)
    for arg in arguments:
        if not isinstance(arg, ARGUMENT_TYPES):
            raise UsageError(f"{where}: an argument must be a numpy array or a number, not {type(arg).__name__}")
    return arguments
