"""The Assignment 10 contract: what the handout asks for and what every part of the harness agrees on.

Written down once, here: the functions a student writes (names, signatures, the shapes the
handout passes), the derivation answer lines, the three KL questions and their tags, the
parameters the grader injects, and the checks with their points. The handout builder, the
answer reader, the probe plan, the self-check, the reports and the executors import it; it
imports nothing from the harness. A second assignment is a second contract plus its reference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

# Tags the cell the grader appends to every notebook: it calls the student's functions and
# publishes raw values. Cells carrying it in a submission are dropped before grading.
PROBE_TAG = "a10-grader-probe"
# papermill's tag for the cell whose values the grader replaces, and the one it inserts after it.
PARAMETERS_TAG = "parameters"
INJECTED_PARAMETERS_TAG = "injected-parameters"

# ----------------------------------------------------------------------------- the functions


@dataclass(frozen=True)
class Function:
    name: str
    signature: str  # the `def` line exactly as the handout writes it


CLOSED_FORM = Function("closed_form", "def closed_form(x0, t, alphas):")
REPARAMETERIZE = Function("reparameterize", "def reparameterize(mu, logvar):")
VAE_LOSS = Function("vae_loss", "def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):")
FUNCTIONS = (CLOSED_FORM, REPARAMETERIZE, VAE_LOSS)
KL_WEIGHT = "kl_loss_weight"  # vae_loss's keyword argument

# vae_loss's inputs as the handout's training loop passes them: x straight from the DataLoader,
# x_hat from a sigmoid decoder with one output per pixel.
IMAGE_SHAPE = (1, 28, 28)  # x is (B, *IMAGE_SHAPE)
PIXELS = 28 * 28  # x_hat is (B, PIXELS)

# ----------------------------------------------------------------------------- the written answers


@dataclass(frozen=True)
class AnswerLine:
    """Exercise 2.1's result for one quantity: a display-math line `$$<latex> = …$$` in markdown."""

    quantity: str  # the name the judge and results.json use
    latex: str  # what stands left of the `=`

    @property
    def example(self) -> str:
        return f"$${self.latex} = …$$"


DERIVATION = (AnswerLine("mu", r"\mu"), AnswerLine("Sigma", r"\Sigma"))


@dataclass(frozen=True)
class Question:
    """A KL question: answered in free text, scored by hand."""

    text: str  # as the handout asks it
    tag: str  # the tag on its answer cell
    key: str  # a normalised phrase that finds the question when tags were lost
    points: float = 1.0  # awarded by staff in manual review


QUESTIONS = (
    Question("What do you observe?", "answer:kl_observe", "what do you observe"),
    Question("How can these results be explained?", "answer:kl_explain", "how can these results be explained"),
    Question("What is the role of the KL divergence term?", "answer:kl_role", "role of the kl"),
)

# ----------------------------------------------------------------------------- the grading run


@dataclass(frozen=True)
class NotebookParameters:
    """The values the grader injects into the notebook's `parameters` cell (the handout defines each name)."""

    seed: int
    data_dir: str
    epochs: int = 1  # grading trains briefly: the experiment is the grader's, not the student's run
    train_size: int = 256
    batch_size: int = 64

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


PARAMETER_NAMES = tuple(NotebookParameters.__dataclass_fields__)
# The self-check's seed (the experiment's training; it has no hidden inputs). Grading draws its
# seed from the course secret instead (graders.pipeline.secret): a seed in the source is public.
PUBLIC_SEED = 20251

# ----------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class CheckSpec:
    """What a check is worth; what it tests lives in graders.judge.checks under the same id."""

    id: str
    title: str
    points: float
    on_hidden_inputs: bool = True  # judged on inputs the student never saw (False: read from the markdown)


CHECKS = (
    CheckSpec("closed_form.mu", "Closed form: mean μ", 2.0),
    CheckSpec("closed_form.sigma", "Closed form: variance Σ", 1.0),
    CheckSpec("derivation.mu", "Derivation: your answer for μ", 1.0, on_hidden_inputs=False),
    CheckSpec("derivation.sigma", "Derivation: your answer for Σ", 1.0, on_hidden_inputs=False),
    CheckSpec("vae_loss.reconstruction", "VAE loss: reconstruction term", 2.0),
    CheckSpec("vae_loss.kl", "VAE loss: KL term", 2.0),
    CheckSpec("vae_loss.weighting", "VAE loss: kl_loss_weight", 1.0),
    CheckSpec("reparameterize", "Reparameterisation trick", 1.0),
    CheckSpec("experiment.kl_tradeoff", "Experiment: KL weight 30 vs 0", 1.0),
)
CHECK_IDS = tuple(spec.id for spec in CHECKS)
MAX_SCORE = sum(spec.points for spec in CHECKS)


def check_spec(check_id: str) -> CheckSpec:
    return next(spec for spec in CHECKS if spec.id == check_id)


class Scoring(str, Enum):
    """How mistakes turn into deductions (GradingConfig.scoring, `grader grade --scoring`; README: Deductions)."""

    PER_MISTAKE = "per-mistake"  # a named mistake costs the check it concerns, once (the default)
    STRICT = "strict"  # every check is judged against the reference on its own
