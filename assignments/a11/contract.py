"""The Assignment 11 contract: what the handout asks for, as plain data in the seam's types.

The functions a student writes (names, signatures), the derivation's answer line, the three written
questions with their tags, rubrics and points, the parameters the grader injects, and the checks with
their points. Everything else in this package imports it; it imports only the seam's types.
"""

from __future__ import annotations

from graders.assignment.spec import AnswerLine, CheckSpec, Function, Question, RubricItem

# ----------------------------------------------------------------------------- the functions

ATTENTION = Function("scaled_dot_product_attention", "def scaled_dot_product_attention(q, k, v, mask=None):")
SOFTMAX = Function("softmax", "def softmax(x, dim=-1):")
LAYER_NORM = Function("layer_norm", "def layer_norm(x, gamma, beta, eps=1e-5):")
CAUSAL_MASK = Function("causal_mask", "def causal_mask(size):")
FUNCTIONS = (SOFTMAX, CAUSAL_MASK, ATTENTION, LAYER_NORM)

# ----------------------------------------------------------------------------- the written answers

# Var(q · k) for q, k with d_k independent unit-variance entries: the last `$$\mathrm{Var}(q \cdot k) = …$$` line.
DERIVATION = (AnswerLine("variance", r"\mathrm{Var}(q \cdot k)"),)

QUESTIONS = (
    Question(
        "What happens to the softmax of the scores when d_k is large and the scores are not scaled?",
        "answer:unscaled_scores",
        "not scaled",
        points=1.0,
        rubric="Full marks: the scores' spread grows like √d_k, so the softmax saturates towards one-hot; its gradients "
        "vanish (almost every weight is 0 or 1) and training stalls. Half: 'it becomes peaked' without the gradient.",
        items=(
            RubricItem("saturates", "The softmax saturates: nearly one-hot, weights near 0 or 1", 0.5),
            RubricItem("vanishing_gradients", "Its gradients vanish, so training stalls", 0.5),
        ),
    ),
    Question(
        "What does the causal mask prevent?",
        "answer:mask_prevents",
        "causal mask prevent",
        points=1.0,
        rubric="Full marks: a position attending to later positions, so that predicting token t cannot look at tokens "
        "after t (no leak of the answer during training; training matches generation). Half: 'looking ahead' without why.",
        items=(
            RubricItem("no_future", "A position cannot attend to later positions", 0.5),
            RubricItem("why", "Why: no leak of the next tokens in training; training matches generation", 0.5),
        ),
    ),
    Question(
        "Why do transformers use layer normalisation rather than batch normalisation?",
        "answer:layer_not_batch",
        "rather than batch",
        points=1.0,
        rubric="Full marks: layer norm normalises each token over its features, so it does not depend on the batch "
        "(its size, padding, other sequences) and works the same in training and inference, for any sequence length. "
        "Half: one of these reasons.",
        items=(
            RubricItem("per_token", "Normalises each token over its own features, independent of the batch", 0.5),
            RubricItem("train_equals_inference", "Works the same in training and inference, for any batch or length", 0.5),
        ),
    ),
)

# ----------------------------------------------------------------------------- the grading run

PARAMETER_NAMES = ("seed",)
# The self-check's seed; grading draws its seed from the course secret (graders.pipeline.secret).
PUBLIC_SEED = 20261

# ----------------------------------------------------------------------------- the checks

CHECKS = (
    CheckSpec("softmax", "Softmax: values, large logits included", 1.0),
    CheckSpec("causal_mask", "Causal mask", 1.0),
    CheckSpec("attention", "Attention without a mask", 2.0),
    CheckSpec("attention.mask", "Attention with a mask", 2.0),
    CheckSpec("layer_norm", "Layer normalisation", 2.0),
    CheckSpec("derivation.variance", "Derivation: Var(q · k)", 1.0, on_hidden_inputs=False),
    CheckSpec("experiment.entropy", "Experiment: attention's entropy at large d_k", 1.0),
)

FUNCTION_LABELS = {
    "softmax": "Softmax",
    "causal_mask": "Causal mask",
    "attention": "Scaled dot-product attention",
    "layer_norm": "Layer normalisation",
    "derivation": "Derivation",
    "experiment": "Experiment",
}
