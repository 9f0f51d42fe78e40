"""Validation before release (`grader assignment check NAME`): what an assignment must get right before students see it.

Each finding is a typed result (`Finding`); the assignment passes when none fails. In order:
- each catalogued mistake with a reference variant, alone and in every pair the catalog combines, is
  named and costs exactly its deduction (the policy's check, its points) and nothing else; judged in
  the grader process (the variant as the student's functions, the solution's derivation, hidden inputs
  from a fixed seed), so a check no in-process call can feed (an experiment, which trains in the
  kernel) is said to be skipped here and is judged by the real-kernel runs below;
- the public inputs separate every mistake (graders.judge.separation); every function has hidden inputs,
  none of them one of its public inputs;
- no line of the reference (a variant's included) is in the student kit;
- the handout's solution gets full marks and its template zero, with real kernels through the grading
  pipeline, warm and cold alike (the cold path is the reference the warm one must agree with).
Only the last part runs notebooks (four); the rest costs seconds.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from graders.assignment.spec import Assignment, Truth
from graders.errors import UsageError
from graders.intake.notebooks import load_notebook
from graders.judge.evidence import Evidence
from graders.judge.probes import CallResult, Case, ProbePlan, ProbeResults, evaluate_in_process
from graders.judge.separation import unseparated
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import CheckResult, SubmissionResult
from graders.runtime.probe_runtime import encode

VALIDATION_SEED = 20261206  # the hidden inputs' seed: fixed, so two validations of one assignment agree
MIN_REFERENCE_LINE = 16  # shorter lines (`return x`, `else:`) are everyone's, not the reference's
_A_NAME = re.compile(r'"\w+"(?:,|: ?[(\[{]?)?')  # a quoted name alone, or as a key
SOLUTION, TEMPLATE = "solution", "template"
EXACT = 1e-9  # points: a score is a sum of checks' points, not a measurement


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"  # not judged here; the detail says why and where it is


@dataclass(frozen=True)
class Finding:
    subject: str  # what was checked: "mistake no_scale + mask_hides_diagonal", "kit", "warm and cold"
    outcome: Outcome
    detail: str

    def __str__(self) -> str:
        return f"{self.outcome.value.upper():7} {self.subject}: {self.detail}"


@dataclass(frozen=True)
class Validation:
    assignment: str
    findings: tuple[Finding, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(finding.outcome is not Outcome.FAIL for finding in self.findings)

    def report(self) -> str:
        failed = sum(1 for finding in self.findings if finding.outcome is Outcome.FAIL)
        verdict = "passes" if self.passed else f"fails ({failed} of {len(self.findings)} findings)"
        return "\n".join([*map(str, self.findings), f"{self.assignment} {verdict}, in {self.seconds:.0f} s"])


def validate(assignment: Assignment, *, work: Path, seed: int = VALIDATION_SEED) -> Validation:
    """Every finding about `assignment`; `work` is an empty folder for the kit and the graded notebooks."""
    started = time.monotonic()
    truth = assignment.truth()
    findings = (
        *mistake_findings(assignment, truth, seed=seed),
        *input_findings(assignment, truth, seed=seed),
        *kit_findings(assignment, truth, work / "kit"),
        *notebook_findings(assignment, work / "graded", seed=seed),
    )
    return Validation(assignment.id, findings, time.monotonic() - started)


# ----------------------------------------------------------------------------- mistakes, in-process


def mistake_findings(assignment: Assignment, truth: Truth, *, seed: int) -> Iterator[Finding]:
    plan = assignment.build_plan(seed=seed, hidden=True, data_dir=None)
    judge = _in_process_judge(assignment, truth, plan)
    baseline = judge({}).results
    unjudged = {check_id: result for check_id, result in baseline.items() if result.score < result.max_score - EXACT}
    if unjudged:
        listed = "; ".join(f"{check_id} ({result.message})" for check_id, result in unjudged.items())
        yield Finding("in process", Outcome.SKIPPED, f"not judged without a kernel, judged on the real-kernel runs below: {listed}")
    alone: dict[str, dict[str, str]] = {}  # each single mistake's values (singles come before pairs)
    for variants in truth.variants.values():
        for flags, namespace in variants:
            judged = judge(namespace)
            if len(flags) == 1:
                alone[next(iter(flags))] = judged.values
            yield _mistake_finding(flags, _story(flags, judged.values, alone), judged.results, baseline, truth)


@dataclass(frozen=True)
class _Judged:
    values: dict[str, str]  # call id -> the replaced functions' result, exactly (encoded)
    results: dict[str, CheckResult]  # check id -> its result


def _in_process_judge(assignment: Assignment, truth: Truth, plan: ProbePlan) -> Callable[[Mapping[str, Any]], _Judged]:
    """Judge the reference with some of its functions replaced, as a student's values, on `plan`."""
    functions = tuple(function.name for function in assignment.functions)
    reference = evaluate_in_process(plan, truth.functions, functions)
    expected = assignment.compute_expected(plan)
    derivation = assignment.extract_derivation(load_notebook(assignment.handout.solution))

    def judge(replaced: Mapping[str, Any]) -> _Judged:
        # Only the replaced functions run again: a call's id names its function.
        ran = evaluate_in_process(plan, replaced, tuple(replaced)).calls if replaced else {}
        results = assignment.judge(Evidence(plan, ProbeResults({**reference.calls, **ran}), expected, derivation))
        return _Judged({cid: _exactly(call) for cid, call in ran.items()}, {result.id: result for result in results})

    return judge


def _exactly(call: CallResult) -> str:
    return json.dumps([encode(call.value), repr(call.error), encode(list(call.gradients))])


def _story(flags: frozenset[str], values: dict[str, str], alone: Mapping[str, dict[str, str]]) -> frozenset[str]:
    """What a student whose values these are is judged to have done: a combination that computes exactly what one
    of its mistakes alone computes (drawing no noise leaves nothing for a wrong scale of it to change) is that mistake."""
    same = next((name for name in sorted(flags) if len(flags) > 1 and alone.get(name) == values), None)
    return flags if same is None else frozenset({same})


def _mistake_finding(
    flags: frozenset[str], story: frozenset[str], results: dict[str, CheckResult], baseline: dict[str, CheckResult], truth: Truth
) -> Finding:
    subject = "mistake " + " + ".join(truth.policy.in_order(flags))
    undeclared = sorted(flags - truth.policy.deductions.keys())
    if undeclared:
        return Finding(subject, Outcome.FAIL, f"no deduction is declared for {', '.join(undeclared)}")
    deductions = truth.policy.deductions
    costs = {deductions[name]: baseline[deductions[name]].score for name in story}
    lost = {check_id: baseline[check_id].score - r.score for check_id, r in results.items() if r.score < baseline[check_id].score - EXACT}
    unnamed = sorted(name for name in story if name not in results[deductions[name]].misconceptions)
    wrong = (
        [f"costs {_points(lost)} where it should cost {_points(costs)}"] if lost.keys() != costs.keys() or not _same(lost, costs) else []
    )
    wrong += [f"{name} is not named by {deductions[name]}" for name in unnamed]
    if wrong:
        return Finding(subject, Outcome.FAIL, "; ".join(wrong))
    masked = f" (the values of {' + '.join(story)} alone: judged as it)" if story != flags else ""
    return Finding(subject, Outcome.PASS, f"named; costs {_points(costs)}{masked}")


def _same(lost: Mapping[str, float], costs: Mapping[str, float]) -> bool:
    return all(abs(lost[check_id] - points) <= EXACT for check_id, points in costs.items())


def _points(costs: Mapping[str, float]) -> str:
    return ", ".join(f"{check_id} {points:g}" for check_id, points in sorted(costs.items())) or "nothing"


# ----------------------------------------------------------------------------- the inputs


def input_findings(assignment: Assignment, truth: Truth, *, seed: int) -> Iterator[Finding]:
    public = assignment.build_plan(seed=assignment.public_seed, hidden=False, data_dir=None)
    hidden = assignment.build_plan(seed=seed, hidden=True, data_dir=None)
    unseen = unseparated(public, assignment.compute_expected(public), truth.policy.whole_function)
    if unseen:
        listed = "; ".join(map(str, unseen))
        yield Finding("public inputs", Outcome.FAIL, f"these mistakes give the reference's values on every public input: {listed}")
    else:
        yield Finding("public inputs", Outcome.PASS, "separate every catalogued mistake and pair from the reference")
    yield _hidden_finding(assignment, public, hidden)


def _hidden_finding(assignment: Assignment, public: ProbePlan, hidden: ProbePlan) -> Finding:
    drawn = [case for case in hidden.cases if not case.public]
    missing = sorted({function.name for function in assignment.functions} - {case.function for case in drawn})
    repeated = sorted({f"{case.function} {case.name}" for case in drawn if any(_same_inputs(case, p) for p in public.cases)})
    wrong = [f"no hidden inputs for {', '.join(missing)}"] if missing else []
    wrong += [f"hidden inputs equal to public ones: {', '.join(repeated)}"] if repeated else []
    if wrong:
        return Finding("hidden inputs", Outcome.FAIL, "; ".join(wrong))
    return Finding("hidden inputs", Outcome.PASS, f"{len(drawn)} hidden cases, every function has some, none is a public one")


def _same_inputs(case: Case, public: Case) -> bool:
    return (
        case.function == public.function
        and len(case.args) == len(public.args)
        and all(np.shape(a) == np.shape(b) and np.array_equal(a, b) for a, b in zip(case.args, public.args, strict=True))
    )


# ----------------------------------------------------------------------------- the kit


def kit_findings(assignment: Assignment, truth: Truth, out: Path) -> Iterator[Finding]:
    if not assignment.has_kit:
        yield Finding("kit", Outcome.SKIPPED, "no kit")
        return
    try:
        assignment.build_kit(out)
    except UsageError as exc:  # an authored assignment's inputs, the author's to fix: a finding, not the end of the check
        yield Finding("kit", Outcome.FAIL, str(exc))
        return
    files = sorted(path for path in out.rglob("*") if path.is_file())  # the kit's folders (its grader/ modules) included
    texts = [text for path in files for text in _kit_texts(path)]
    handout = set(_notebook_lines(assignment.handout.template))
    lines = {line for line in _reference_lines(truth.folder) if line not in handout}
    leaked = sorted(line for line in lines if any(line in text for text in texts))
    if leaked:
        yield Finding("kit", Outcome.FAIL, f"{len(leaked)} lines of the reference are in the kit, e.g. {leaked[0]!r}")
    else:
        yield Finding("kit", Outcome.PASS, f"none of the reference's {len(lines)} lines is in its {len(files)} files")


def _reference_lines(folder: Path) -> Iterator[str]:
    """The reference's own lines: long enough to be its, neither an import nor a name alone (a function's or a
    mistake's, `"mask_after_softmax",`: names are what students are told, and the kit's data names them)."""
    for path in sorted(folder.rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if len(stripped) >= MIN_REFERENCE_LINE and not stripped.startswith(("import ", "from ")) and not _A_NAME.fullmatch(stripped):
                yield stripped


def _notebook_lines(path: Path) -> Iterator[str]:
    for cell in load_notebook(path).cells:
        yield from (line.strip() for line in cell.source.splitlines())


def _kit_texts(path: Path) -> Iterator[str]:
    """A kit file as written, and for JSON (kit data, the template) its strings decoded, where code would be escaped."""
    text = path.read_text(encoding="utf-8", errors="replace")
    yield text
    if path.suffix in (".json", ".ipynb"):
        yield "\n".join(json_strings(json.loads(text)))


def json_strings(value: Any) -> Iterator[str]:
    """Every string a decoded JSON value holds, at any depth (a kit file's text as a reader sees it)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


# ----------------------------------------------------------------------------- the handout's notebooks, real kernels


def notebook_findings(assignment: Assignment, work: Path, *, seed: int) -> Iterator[Finding]:
    """The solution and the template graded warm and cold (four notebooks), through the grading pipeline."""
    submissions = work / "submissions"
    submissions.mkdir(parents=True)
    shutil.copyfile(assignment.handout.solution, submissions / f"{SOLUTION}.ipynb")
    shutil.copyfile(assignment.handout.template, submissions / f"{TEMPLATE}.ipynb")
    config = GradingConfig(seed=seed, assignment=assignment, force=True, jobs=2)
    warm = _graded(grade_folder(submissions, out_dir=work / "warm", config=config))
    cold = _graded(grade_folder(submissions, out_dir=work / "cold", config=replace(config, cold=True)))
    yield _score_finding(warm[SOLUTION], assignment.max_score, "full marks")
    yield _score_finding(warm[TEMPLATE], 0.0, "zero")
    differences = [f"the {name}: {said}" for name in (SOLUTION, TEMPLATE) if (said := _differences(warm[name], cold[name]))]
    if differences:
        yield Finding("warm and cold", Outcome.FAIL, "the verdicts differ on " + "; ".join(differences))
    else:
        yield Finding("warm and cold", Outcome.PASS, "the same verdicts, scores and named mistakes on the solution and the template")


def _graded(results: tuple[SubmissionResult, ...]) -> dict[str, SubmissionResult]:
    return {result.submission: result for result in results}


def _score_finding(result: SubmissionResult, wanted: float, said: str) -> Finding:
    subject = f"the {result.submission}"
    if abs(result.score - wanted) > EXACT:
        scored = ", ".join(
            f"{c.id} {c.score:g}/{c.max_score:g}" for c in result.checks if (c.score < c.max_score if wanted else c.score > 0)
        )
        why = f": {result.message}" if result.message else ""
        return Finding(subject, Outcome.FAIL, f"scores {result.score:g} of {result.max_score:g}, not {said} ({scored}){why}")
    return Finding(subject, Outcome.PASS, f"{said}: {result.score:g} of {result.max_score:g}")


def _differences(warm: SubmissionResult, cold: SubmissionResult) -> str:
    """Each check whose verdict differs (status, score, named mistakes), warm against cold, with both sides and why a
    differing cold check erred; "" when none. The instructor-only details (measured numbers) are not compared: two
    kernel kinds may round them apart."""
    if warm.status is not cold.status:
        return f"graded {warm.status.value} warm, {cold.status.value} cold ({cold.message or warm.message})"
    by_id = {c.id: c for c in cold.checks}
    said = []
    for check in warm.checks:
        other = by_id.get(check.id)
        if other is None:
            said.append(f"{check.id} {check.status.value} {check.score:g} warm, absent cold")
        elif (check.status, check.score, check.misconceptions) != (other.status, other.score, other.misconceptions):
            why = f" ({other.message[:200]})" if other.status is not check.status else ""
            said.append(f"{check.id} {check.status.value} {check.score:g} warm, {other.status.value} {other.score:g} cold{why}")
    if said and cold.provenance is not None and cold.provenance.exception:  # the cold kernel's account (why it did not start)
        said.append(f"the cold run: {cold.provenance.exception}")
    return "; ".join(said)
