"""Assignment 10: the closed-form forward diffusion q(x_t | x₀) and a VAE loss whose KL term is weighted.

The first implementation of the harness's `Assignment` seam (graders/assignment/spec.py), registered
in pyproject.toml's `graders.assignments` entry points as `assignment-10`. What the handout asks for
is data (contract.py, catalog.py); the behaviour is imported when first used, so that loading the
assignment (a regrade in which nothing runs) imports no torch, numpy or sympy. Its truth is
`reference/a10/`, instructor-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assignments.a10.catalog import CATALOG
from assignments.a10.contract import CHECKS, DERIVATION, FUNCTION_LABELS, FUNCTIONS, PUBLIC_SEED, QUESTIONS, NotebookParameters
from graders.assignment.spec import Assignment, Handout, KitSpec, Truth

if TYPE_CHECKING:
    from graders.judge.evidence import Evidence
    from graders.judge.expected import ExpectedValues
    from graders.judge.probes import ProbePlan
    from graders.results import CheckResult, DerivationAnswer, FreeTextAnswer

RAW_IMAGES = ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")

HANDOUT = Path(__file__).resolve().parent / "handout"


class AssignmentTen(Assignment):
    id = "assignment-10"
    title = "Assignment 10"
    subtitle = "Closed-form forward diffusion and the VAE loss with a KL weight"
    version = "1"
    functions = FUNCTIONS
    function_labels = FUNCTION_LABELS
    derivation = DERIVATION
    questions = QUESTIONS
    checks = CHECKS
    catalog = CATALOG
    public_seed = PUBLIC_SEED
    data_help = "an MNIST/raw folder (torchvision's layout)"
    handout = Handout(solution=HANDOUT / "solution.ipynb", template=HANDOUT / "assignment10.ipynb")

    def notebook_parameters(self, *, seed: int, data_dir: str) -> dict[str, Any]:
        return NotebookParameters(seed, data_dir).as_dict()

    def prepare_data(self, folder: Path) -> Path:
        from assignments.a10.dataset import ensure_mnist

        return ensure_mnist(folder)

    def data_files(self, data_dir: Path) -> tuple[Path, ...]:
        from assignments.a10.dataset import RAW

        folder = data_dir / RAW
        return tuple(path.relative_to(data_dir) for path in sorted(folder.iterdir()) if path.is_file()) if folder.is_dir() else ()

    def has_data(self, data_dir: Path) -> bool:
        from assignments.a10.dataset import RAW

        return all((data_dir / RAW / name).is_file() for name in RAW_IMAGES)

    def reference_hash(self) -> str:
        from reference import content_hash
        from reference.a10 import REFERENCE_DIR

        return content_hash(REFERENCE_DIR)

    def build_plan(self, *, seed: int, hidden: bool, data_dir: Path | None) -> ProbePlan:
        from assignments.a10.plan import build_plan

        return build_plan(seed=seed, hidden=hidden, data_dir=data_dir)

    def compute_expected(self, plan: ProbePlan, *, prefer_stored: bool = False) -> ExpectedValues:
        from assignments.a10.expected import compute_expected

        return compute_expected(plan, prefer_stored=prefer_stored)

    def judge(self, evidence: Evidence) -> tuple[CheckResult, ...]:
        from assignments.a10.checks import run_checks

        return run_checks(evidence)

    def truth(self) -> Truth:
        from assignments.a10.checks import POLICY
        from assignments.a10.contract import REPARAMETERIZE
        from assignments.a10.expected import reference_namespace, variant_namespaces
        from reference.a10 import REFERENCE_DIR
        from reference.a10.misconceptions import flag_subsets, reparameterize_variant

        # The sampler is judged by tests of its samples, not by matching a variant's values, so grading
        # computes none of its variants (variant_namespaces); validation runs them as a student's code.
        name = REPARAMETERIZE.name
        sampler = {name: tuple((flags, {name: reparameterize_variant(flags)}) for flags in flag_subsets(name))}
        return Truth(REFERENCE_DIR, reference_namespace(), variant_namespaces() | sampler, POLICY)

    def extract_derivation(self, notebook: Mapping[str, Any]) -> tuple[DerivationAnswer, ...]:
        from assignments.a10.answers import extract_derivation

        return extract_derivation(notebook)

    def extract_free_text(self, notebook: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
        from assignments.a10.answers import extract_free_text

        return extract_free_text(notebook)

    def kit(self) -> KitSpec:
        from assignments.a10.kit import KIT

        return KIT

    def build_kit(self, out: Path) -> tuple[str, tuple[str, ...]]:
        from graders.kit.build import build_kit

        kit = build_kit(self, out)
        return kit.hash, kit.files


ASSIGNMENT = AssignmentTen()
