"""The assignment seam: everything assignment-specific sits behind `Assignment`, and the harness knows nothing else.

An assignment is a package of its own (e.g. `assignments.a10`), registered in the
`graders.assignments` entry-point group (graders.assignment.registry) the way papermill registers
engines. It declares, as plain data: its id, title and version; the functions students write; the
derivation's answer lines; the written questions with their rubrics and points; the checks with
their points; the misconception catalog. Its behaviour is behind the methods below: the notebook's
parameters, the grading data, the probe plan (public and hidden inputs), the expected values (its
reference, instructor-only, under `reference/<assignment>/`), the configured checks (the check kinds
of graders.judge), and the derivation's reading.
For validation before release (graders.pipeline.validate) it also names its handout's solution and
template notebooks (`handout`), whether it has a student kit, and its reference as code (`truth`); for
the student kit, its own parts (`kit()`: check cells, words, shipped modules), which graders/kit builds from.

Importing this module (or an assignment's `__init__`) imports no torch, numpy or sympy: a regrade in
which nothing runs needs the data and none of the behaviour. Types from the judge are named for the
type checker only.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

    from graders.judge.checks import Check
    from graders.judge.diagnosis import DeductionPolicy
    from graders.judge.evidence import Evidence
    from graders.judge.expected import ExpectedValues
    from graders.judge.kinds.symbolic import AnswerVerdict
    from graders.judge.probes import ProbePlan
    from graders.results import CheckResult, DerivationAnswer, FreeTextAnswer


@dataclass(frozen=True)
class Function:
    name: str
    signature: str  # the `def` line exactly as the handout writes it


@dataclass(frozen=True)
class AnswerLine:
    """A derivation's result for one quantity: a display-math line `$$<latex> = …$$` in markdown."""

    quantity: str  # the name the judge and results.json use
    latex: str  # what stands left of the `=`

    @property
    def example(self) -> str:
        return f"$${self.latex} = …$$"


RUBRIC_KEY_LENGTH = 40  # at most, in characters


@dataclass(frozen=True)
class RubricItem:
    """One reusable line of a written question's rubric: a TA applies it to a mark with a click.

    The assignment's items seed the gradebook's rubric, where staff rename them, change their
    points and add others (graders.gradebook.rubric); a mark records the items it applies."""

    key: str  # stable within its question: what a mark records (letters, digits, '_' and '-')
    text: str  # what the TA reads, e.g. "weight 30: blurry, average-looking reconstructions"
    points: float  # added to the mark; negative for a deduction

    def __post_init__(self) -> None:
        # Keys travel in URLs, JSON and the pages' selectors: a plain word, so none needs escaping.
        if not (0 < len(self.key) <= RUBRIC_KEY_LENGTH and self.key.isascii() and self.key.replace("_", "a").replace("-", "a").isalnum()):
            raise ValueError(f"a rubric item's key is 1 to {RUBRIC_KEY_LENGTH} letters, digits, '_' or '-', not {self.key!r}")


@dataclass(frozen=True)
class Question:
    """A written question: answered in free text, marked by staff with its rubric."""

    text: str  # as the handout asks it
    tag: str  # the tag on its answer cell
    key: str  # a normalised phrase that finds the question when tags were lost
    points: float = 1.0  # awarded by staff in manual review
    rubric: str = ""  # what a full-marks answer says, shown to staff above the answers
    items: tuple[RubricItem, ...] = ()  # the rubric's items a TA clicks to apply (their sum, bounded, is the mark)


@dataclass(frozen=True)
class CheckSpec:
    """What a check is worth; what it tests is the assignment's configured check of the same id."""

    id: str
    title: str
    points: float
    on_hidden_inputs: bool = True  # judged on inputs the student never saw (False: read from the markdown)


@dataclass(frozen=True)
class Misconception:
    name: str
    function: str  # which student function it is about
    title: str
    explanation: str  # one sentence a student understands
    # Whether the reference has a variant that computes it; the others are recognised from how a
    # call behaves (a shape convention, noise that never changes), not from its values.
    has_variant: bool = True
    # What the student kit says before submission: what to look at, never the correct formula (the
    # explanation, which may state it, is for the report after grading). "" : the kit shows the title only.
    hint: str = ""


@dataclass(frozen=True)
class Handout:
    """The handout's two notebooks: validation before release grades both (graders.pipeline.validate)."""

    solution: Path  # everything written: full marks on the automatic checks
    template: Path  # what students are given: zero


# A function's catalogued variants: (the mistakes applied, a namespace defining the function with them).
Variants = tuple[tuple[frozenset[str], Mapping[str, Callable[..., Any]]], ...]


@dataclass(frozen=True)
class Truth:
    """The reference as code, for validation before release (graders.pipeline.validate) and nothing else:
    a grading run reads only its values (`compute_expected`)."""

    folder: Path  # reference/<id>/: no line of it may be in the student kit
    functions: Mapping[str, Callable[..., Any]]  # the reference's, by the names students write
    variants: Mapping[str, Variants]  # function -> its catalogued variants, singles then the pairs the catalog combines
    policy: DeductionPolicy  # which check each mistake costs; how each function is diagnosed


@dataclass(frozen=True)
class KitSpec:
    """What an assignment's student kit is made of beyond the harness's (graders/kit/): its notebook, its
    words, its modules. The builder derives everything else from the grader (plan, values, checks, policy).

    The kit's words say how a value differs, never what it should be (a check's expectation and a
    mistake's explanation may state the right formula; the report gives those after grading)."""

    template: Path  # the template notebook the kit's notebook is made from
    readme: Path  # the kit's README.md
    check_cells: tuple[tuple[str, str], ...]  # (function whose definition a check cell follows, the part it checks)
    checks: tuple[Check, ...]  # the grader's checks; the kit runs those with a form in it (not an experiment)
    policy: DeductionPolicy
    modules: tuple[ModuleType, ...]  # the assignment's own modules the kit runs (standard library, numpy, sympy, torch only)
    observables: ModuleType  # one of `modules`: where the value checks' observables are, by name
    # The derivation's answers as found in a notebook's cells (the questions say where written answers start),
    # and whether one is readable (form only: never right or wrong); top-level functions of `modules`.
    derivation_reader: Callable[[Mapping[str, Any], Sequence[Question]], tuple[DerivationAnswer, ...]]
    readable: Callable[[str, str | None], AnswerVerdict]
    words: Mapping[str, str]  # a value check's id -> what the kit says where the values differ (which values, not what they should be)
    own_values_words: str = ""  # a consistency check's words (the student's values against each other)
    findings: Mapping[str, str] = field(default_factory=dict)  # a sampler finding -> the kit's words
    not_a_fresh_sample: str = ""  # a sampler finding the kit has no words for


class KitHints(str, Enum):
    """How much the student kit says about a wrong value; it never states the correct formula."""

    VALUES = "values"  # where, by how much and in which direction the values differ
    NAMES = "names"  # and the title of the catalogued mistake they match
    EXPLANATIONS = "explanations"  # and that mistake's hint


class Scoring(str, Enum):
    """How mistakes turn into deductions (`grader grade --scoring`; docs/instructors.md: Deductions)."""

    PER_MISTAKE = "per-mistake"  # a named mistake costs the check it concerns, once (the default)
    STRICT = "strict"  # every check is judged against the reference on its own


class Assignment(ABC):
    """One assignment, as the harness sees it. Subclasses set the data attributes and implement the methods."""

    id: str  # stable, in results.json, the gradebook and notebook metadata, e.g. "assignment-10"
    title: str  # for people: reports, LMS columns, the review app
    subtitle: str  # one line under the title in a student's report
    version: str  # bumped when grading changes; part of every cache key and recorded with every run
    functions: tuple[Function, ...]
    function_labels: Mapping[str, str]  # function -> the heading its checks get in a report
    derivation: tuple[AnswerLine, ...]
    questions: tuple[Question, ...]
    checks: tuple[CheckSpec, ...]
    catalog: Mapping[str, Misconception]
    public_seed: int  # the self-check's seed: public, so it draws no hidden input
    data_help: str  # what `--data-dir` must hold, for the CLI's help and errors
    kit_hints: KitHints = KitHints.EXPLANATIONS  # what the student kit says about a wrong value
    handout: Handout  # the solution and template notebooks (validation grades both)
    has_kit: bool = True  # False: `build_kit` refuses (no student kit yet)

    @cached_property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(spec.id for spec in self.checks)

    @cached_property
    def max_score(self) -> float:
        return sum(spec.points for spec in self.checks)

    def check_spec(self, check_id: str) -> CheckSpec:
        return next(spec for spec in self.checks if spec.id == check_id)

    def question(self, tag: str) -> Question | None:
        """A written question by its tag, with or without the `answer:` prefix."""
        return next((q for q in self.questions if q.tag.removeprefix("answer:") == tag.removeprefix("answer:")), None)

    # ------------------------------------------------------------------ the notebook and its data

    @abstractmethod
    def notebook_parameters(self, *, seed: int, data_dir: str) -> dict[str, Any]:
        """The values injected into the notebook's `parameters` cell (the handout defines each name)."""

    @abstractmethod
    def prepare_data(self, folder: Path) -> Path:
        """Write (once) the grading data into `folder`; returns the data root notebooks get."""

    @abstractmethod
    def data_files(self, data_dir: Path) -> tuple[Path, ...]:
        """The files under a data root that grading reads, relative to it (fingerprinted for the cache, shared with notebooks)."""

    @abstractmethod
    def has_data(self, data_dir: Path) -> bool:
        """Whether `data_dir` already holds what grading reads (`data_help` says what that is)."""

    def package_dir(self) -> Path:
        """The assignment package's folder: its code is part of the grader's fingerprint (graders.pipeline.cache)."""
        module = sys.modules[type(self).__module__]
        return Path(str(module.__file__)).resolve().parent

    def import_modules(self) -> None:
        """Import every module of the assignment's package now. Its methods import their behaviour on first use
        (torch, scipy, sympy: seconds on a slow machine), so the first assessment would pay it; a caller with time to
        spare pays it there instead: a batch while its zygote warms up, the warm server before its first command."""
        module = sys.modules[type(self).__module__]
        package = module if hasattr(module, "__path__") else sys.modules[module.__name__.rpartition(".")[0]]
        for found in pkgutil.iter_modules(package.__path__):
            if not found.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{found.name}")

    # ------------------------------------------------------------------ grading

    @abstractmethod
    def reference_hash(self) -> str:
        """Content hash of the assignment's reference: a change of the truth changes every key."""

    @abstractmethod
    def build_plan(self, *, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
        """Public inputs, and hidden ones drawn from `seed` when `hidden`; the experiment when there is data."""

    @abstractmethod
    def compute_expected(self, plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
        """The reference's and every misconception variant's values on the plan."""

    @abstractmethod
    def judge(self, evidence: Evidence) -> tuple[CheckResult, ...]:
        """One result per `CheckSpec`, in the same order: the student's values and written answers judged."""

    @abstractmethod
    def truth(self) -> Truth:
        """The reference's functions, every catalogued variant and the deduction policy (imports the reference)."""

    @abstractmethod
    def extract_derivation(self, notebook: Mapping[str, Any]) -> tuple[DerivationAnswer, ...]:
        """The derivation's answers as written in the notebook's markdown."""

    @abstractmethod
    def extract_free_text(self, notebook: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
        """The answers to the written questions, in question order, for staff to mark."""

    # ------------------------------------------------------------------ the student's side

    def kit(self) -> KitSpec | None:
        """What the student kit is made of, which graders.kit builds it from; None: no kit (`has_kit` False)."""
        return None

    @abstractmethod
    def build_kit(self, out: Path) -> tuple[str, tuple[str, ...]]:
        """Write the student kit into `out` (new or empty); returns its hash and its files
        (`graders.kit.build.build_kit(self, out)`: the harness's builder sits above this seam)."""


class WithoutData(Assignment, ABC):
    """An assignment whose notebooks read no data: `seed` is their only parameter, and any folder will do as
    the data root (nothing to prepare, share or fingerprint)."""

    data_help = "nothing (this assignment grades without data; any folder will do)"

    def notebook_parameters(self, *, seed: int, data_dir: str) -> dict[str, Any]:
        return {"seed": seed}  # data_dir is not one of the handout's parameters

    def prepare_data(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def data_files(self, data_dir: Path) -> tuple[Path, ...]:
        return ()

    def has_data(self, data_dir: Path) -> bool:
        return True
