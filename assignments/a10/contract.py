"""The Assignment 10 contract: what the handout asks for, as plain data in the seam's types.

Written down once, here: the functions a student writes (names, signatures, the shapes the
handout passes), the derivation answer lines, the three KL questions with their tags and rubrics,
the parameters the grader injects, and the checks with their points. The handout builder, the
plan, the checks and `assignments.a10.ASSIGNMENT` import it; it imports only the seam's types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from graders.assignment.spec import AnswerLine, CheckSpec, Function, Question, RubricItem

# ----------------------------------------------------------------------------- the functions


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


DERIVATION = (AnswerLine("mu", r"\mu"), AnswerLine("Sigma", r"\Sigma"))


# The rubrics: what a full-marks answer says, shown to staff above the answers. The handout asks the
# questions after the student trained the VAE at KL weight 0 and 30.
QUESTIONS = (
    Question(
        "What do you observe?",
        "answer:kl_observe",
        "what do you observe",
        # Only what the handout shows: its two runs' reconstructions (it draws no samples from the prior).
        rubric="Full marks: at weight 0 the reconstructions are sharp and close to the test images; at weight 30 they are "
        "blurry and look alike (an average digit). Half: only one of the two.",
        items=(
            RubricItem("blurry_at_30", "Weight 30: blurry reconstructions that look alike (an average digit)", 0.5),
            RubricItem("sharp_at_0", "Weight 0: sharp reconstructions close to the test images", 0.5),
            RubricItem("runs_swapped", "Describes the two runs the wrong way round", -0.5),
        ),
    ),
    Question(
        "How can these results be explained?",
        "answer:kl_explain",
        "how can these results be explained",
        rubric="Full marks: the weight trades reconstruction against matching the prior; a large weight pushes q(z|x) to "
        "N(0, I), so codes carry little information about x (posterior collapse). Half: the trade-off without why.",
        items=(
            RubricItem("tradeoff", "The weight trades reconstruction against matching the prior", 0.5),
            RubricItem("collapse", "A large weight pushes q(z|x) to N(0, I): z carries little about x (posterior collapse)", 0.5),
            RubricItem("restates", "Restates the observation without explaining it", -0.25),
        ),
    ),
    Question(
        "What is the role of the KL divergence term?",
        "answer:kl_role",
        "role of the kl",
        rubric="Full marks: the KL term regularises the encoder toward the prior, making the latent space smooth and "
        "sampleable; it is the gap between the ELBO and the reconstruction term. Half: 'regularisation' alone.",
        items=(
            RubricItem("regulariser", "Regularises the encoder: keeps q(z|x) close to the prior p(z)", 0.5),
            RubricItem("smooth_latent", "So the latent space is smooth and sampling z ~ p(z) decodes to plausible images", 0.5),
            RubricItem("elbo_wrong", "Misstates the KL's place in the ELBO (e.g. a term to maximise)", -0.25),
        ),
    ),
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

# How the checks of each function are headed in a student's report.
FUNCTION_LABELS = {
    "closed_form": "Closed form q(x_t | x₀)",
    "derivation": "Derivation",
    "vae_loss": "VAE loss",
    "reparameterize": "Reparameterisation",
    "experiment": "Experiment",
}
CHECK_IDS = tuple(spec.id for spec in CHECKS)
MAX_SCORE = sum(spec.points for spec in CHECKS)
