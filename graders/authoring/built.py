"""`BuiltAssignment`: the seam (graders.assignment.spec) implemented once for every assignment built from a notebook.

A built folder (written by `grader assignment build`, graders.authoring.build) holds:
- `assignment.json`: the contract (graders.authoring.contract);
- `student/<id>.ipynb`: the template students get;
- `truth/`: instructor-only: the solution notebook, the reference, each mistake, the inputs, the stored public values.
The registry (graders.assignment.registry) finds such folders on the assignments path and loads them with
`from_folder`. Loading reads the contract only (standard library); judging imports numpy (graders.authoring.judging).
Its student kit is the harness's (graders/kit), from the contract, the judging and graders.authoring.observables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graders.assignment.spec import CheckSpec, Function, Handout, KitSpec, Misconception, Question, RubricItem, Truth, WithoutData
from graders.authoring.contract import ANSWER_PREFIX, CONTRACT_FILE, Contract

if TYPE_CHECKING:
    from graders.authoring.judging import Judging
    from graders.judge.evidence import Evidence
    from graders.judge.expected import ExpectedValues
    from graders.judge.probes import ProbePlan
    from graders.results import CheckResult, DerivationAnswer, FreeTextAnswer

STUDENT = "student"
SOLUTION_FILE = "solution.ipynb"
KIT_README = "kit_README.md"  # beside graders/authoring/observables.py: every authored kit's README
MAX_ANSWER_CELLS = 300  # cells looked at for answers
MAX_ANSWER_CHARS = 20_000  # characters kept of an answer (results.py caps what a result carries, too)


def template_name(assignment_id: str) -> str:
    return f"{assignment_id}.ipynb"


class BuiltAssignment(WithoutData):
    """An assignment built from an annotated solution notebook: data from its contract, checks of one kind."""

    derivation = ()

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.contract = Contract.read(self.folder / CONTRACT_FILE)
        c = self.contract
        self.id, self.title, self.subtitle, self.version, self.public_seed = c.id, c.title, c.subtitle, c.version, c.public_seed
        self.functions = tuple(Function(f.name, f.signature) for f in c.functions)
        self.function_labels = {f.name: f.label for f in c.functions}
        self.checks = tuple(CheckSpec(f.name, f.title, f.points) for f in c.functions)
        self.questions = tuple(
            Question(
                q.text,
                ANSWER_PREFIX + q.tag,
                q.text.lower(),
                q.points,
                q.rubric,
                tuple(RubricItem(i.key, i.text, i.points) for i in q.items),
            )
            for q in c.questions
        )
        self.catalog = {m.name: Misconception(m.name, m.function, m.title, m.explanation, hint=m.hint) for m in c.catalog}
        truth = self.folder / "truth"
        self.handout = Handout(solution=truth / SOLUTION_FILE, template=self.folder / STUDENT / template_name(c.id))

    @cached_property
    def judging(self) -> Judging:
        from graders.authoring.judging import Judging

        return Judging(self.folder, self.contract)

    def package_dir(self) -> Path:
        return self.folder  # its truth's code is part of the grader's fingerprint

    # ------------------------------------------------------------------ grading

    def reference_hash(self) -> str:
        """The contract and the truth's code: a change of either changes every cache key."""
        digest = hashlib.sha256()
        for path in [self.folder / CONTRACT_FILE, *sorted((self.folder / "truth").glob("*.py"))]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()[:16]

    def build_plan(self, *, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
        return self.judging.plan(seed=seed, hidden=hidden)

    def compute_expected(self, plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
        return self.judging.expected(plan, self.reference_hash(), prefer_stored=prefer_stored)

    def judge(self, evidence: Evidence) -> tuple[CheckResult, ...]:
        from graders.judge.checks import run_checks

        return run_checks(self.judging.checks(), self.judging.judged(evidence))

    def truth(self) -> Truth:
        judging = self.judging
        return Truth(judging.truth_dir, judging.reference(), judging.variants_and_pairs(), judging.policy())

    def extract_derivation(self, notebook: Mapping[str, Any]) -> tuple[DerivationAnswer, ...]:
        from graders.authoring.observables import derivation  # the kit's reader: none yet

        return derivation(notebook, self.questions)

    def extract_free_text(self, notebook: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
        """Each question's answer: the first cell tagged with its tag, within bounds; "" where none is."""
        from graders.results import FreeTextAnswer

        found: dict[str, str] = {}
        cells = notebook.get("cells", [])
        for cell in cells[:MAX_ANSWER_CELLS] if isinstance(cells, list) else []:
            for tag in _tags(cell):
                found.setdefault(tag, _text(cell.get("source", "")))
        return tuple(FreeTextAnswer(q.text, found.get(q.tag, "").strip()) for q in self.questions)

    # ------------------------------------------------------------------ the student's side

    def kit(self) -> KitSpec:
        """The harness's kit (graders/kit) from the contract and the judging: a check cell after each function, the
        grader's checks, words that say which values differ (the config's expectation, which states the right value,
        stays in the report), and the harness's own observables and readers (never the folder's truth)."""
        from graders.authoring import observables

        judging = self.judging
        return KitSpec(
            template=self.handout.template,
            readme=Path(observables.__file__).with_name(KIT_README),
            check_cells=tuple((function.name, function.name) for function in self.functions),
            checks=judging.checks(),
            policy=judging.policy(),
            modules=(observables,),
            observables=observables,
            derivation_reader=observables.derivation,
            readable=observables.readable,
            words={function.name: f"`{function.name}(...)` is not what the grader computes." for function in self.functions},
        )

    def build_kit(self, out: Path) -> tuple[str, tuple[str, ...]]:
        from graders.kit.build import build_kit, public_plan

        plan = public_plan(self)
        self.judging.require_public_told_apart(plan, self.compute_expected(plan))
        kit = build_kit(self, out)
        return kit.hash, kit.files


def _tags(cell: Any) -> list[str]:
    """A cell's tags, when it has them in nbformat's shape (the notebook is the student's: anything else is no tag)."""
    metadata = cell.get("metadata") if isinstance(cell, Mapping) else None
    tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
    return [tag for tag in tags[:MAX_ANSWER_CELLS] if isinstance(tag, str)] if isinstance(tags, list) else []


def _text(source: Any) -> str:
    """A cell's source (a string or a list of strings, as nbformat allows), at most MAX_ANSWER_CHARS of it."""
    if isinstance(source, str):
        return source[:MAX_ANSWER_CHARS]
    parts: list[str] = []
    size = 0
    for part in source if isinstance(source, list) else []:
        if not isinstance(part, str) or size >= MAX_ANSWER_CHARS:
            break
        parts.append(part[: MAX_ANSWER_CHARS - size])
        size += len(parts[-1])
    return "".join(parts)


def from_folder(folder: Path) -> BuiltAssignment:
    """The registry's loader (named by string there, like an entry point's object)."""
    return BuiltAssignment(folder)
