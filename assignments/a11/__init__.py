"""Assignment 11: scaled dot-product attention with an optional mask, a stable softmax, layer normalisation.

The second implementation of the harness's `Assignment` seam (graders/assignment/spec.py), registered in
pyproject.toml's `graders.assignments` entry points as `assignment-11`, written without any change to
`graders/`. What the handout asks for is data (contract.py, catalog.py); the behaviour is imported
when first used, so loading the assignment imports no torch or numpy. Its truth is `reference/a11/`.
It needs no grading data; its student kit is built by graders/kit from its parts (kit.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assignments.a11.catalog import CATALOG
from assignments.a11.contract import CHECKS, DERIVATION, FUNCTION_LABELS, FUNCTIONS, PUBLIC_SEED, QUESTIONS
from graders.assignment.spec import Handout, KitSpec, Truth, WithoutData

if TYPE_CHECKING:
    from graders.judge.evidence import Evidence
    from graders.judge.expected import ExpectedValues
    from graders.judge.probes import ProbePlan
    from graders.results import CheckResult, DerivationAnswer, FreeTextAnswer

HANDOUT = Path(__file__).resolve().parent / "handout"


class AssignmentEleven(WithoutData):
    id = "assignment-11"
    title = "Assignment 11"
    subtitle = "Scaled dot-product attention, a stable softmax and layer normalisation"
    version = "1"
    functions = FUNCTIONS
    function_labels = FUNCTION_LABELS
    derivation = DERIVATION
    questions = QUESTIONS
    checks = CHECKS
    catalog = CATALOG
    public_seed = PUBLIC_SEED
    handout = Handout(solution=HANDOUT / "solution.ipynb", template=HANDOUT / "assignment11.ipynb")

    def reference_hash(self) -> str:
        from reference import content_hash
        from reference.a11 import REFERENCE_DIR

        return content_hash(REFERENCE_DIR)

    def build_plan(self, *, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
        from assignments.a11.plan import build_plan

        return build_plan(seed=seed, hidden=hidden)

    def compute_expected(self, plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
        from assignments.a11.expected import compute_expected

        return compute_expected(plan, prefer_stored=prefer_stored)

    def judge(self, evidence: Evidence) -> tuple[CheckResult, ...]:
        from assignments.a11.checks import run_checks

        return run_checks(evidence)

    def truth(self) -> Truth:
        from assignments.a11.checks import POLICY
        from assignments.a11.expected import reference_namespace, variant_namespaces
        from reference.a11 import REFERENCE_DIR

        return Truth(REFERENCE_DIR, reference_namespace(), variant_namespaces(), POLICY)

    def extract_derivation(self, notebook: Mapping[str, Any]) -> tuple[DerivationAnswer, ...]:
        from assignments.a11.answers import extract_derivation

        return extract_derivation(notebook)

    def extract_free_text(self, notebook: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
        from assignments.a11.answers import extract_free_text

        return extract_free_text(notebook)

    def kit(self) -> KitSpec:
        from assignments.a11.kit import KIT

        return KIT

    def build_kit(self, out: Path) -> tuple[str, tuple[str, ...]]:
        from graders.kit.build import build_kit

        kit = build_kit(self, out)
        return kit.hash, kit.files


ASSIGNMENT = AssignmentEleven()
