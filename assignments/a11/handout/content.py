"""The handout's content: the shared cells, the function cells, and what a student writes (`Work`).

The template, the solution and every demo submission are `Work` values, so they cannot drift apart.
Everything the grader relies on comes from the contract (assignments/a11/contract.py): the function
names and signatures, the `parameters` cell, the answer line and the question tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from textwrap import dedent

from assignments.a11.contract import ATTENTION, CAUSAL_MASK, LAYER_NORM, QUESTIONS, SOFTMAX

PLACEHOLDER = "*Your answer here.*"


def text(source: str) -> str:
    return dedent(source).strip("\n")


INTRO = text(r"""
    # Assignment 11: attention

    You implement the pieces of a transformer block that are easiest to get subtly wrong: a numerically
    stable softmax, the causal mask, scaled dot-product attention with an optional mask, and layer
    normalisation. You derive why the scores are divided by $\sqrt{d_k}$ and answer three questions.

    **Before you hand in**

    - Keep the function names and signatures: the grader calls them on inputs of its own, batched
      with several heads, `(batch, heads, length, d_k)`, as well as the shapes below.
    - Keep the cell tagged `parameters` as it is, and the tags of the answer cells.
    - Run the whole notebook from top to bottom (Kernel → Restart & Run All).
""")

PARAMETERS = "seed = 0  # random seed for the examples"

IMPORTS = text("""
    import math

    import torch

    torch.manual_seed(seed)
""")

FUNCTIONS_TASK = text(rf"""
    ## 1. Softmax, the causal mask, attention

    - `{SOFTMAX.signature[4:-1]}`: $\mathrm{{softmax}}(x)_i = e^{{x_i}} / \sum_j e^{{x_j}}$ along `dim`. It must
      stay finite for any finite logits, including logits in the thousands.
    - `{CAUSAL_MASK.signature[4:-1]}`: a `(size, size)` boolean tensor, `True` where query $i$ may attend to
      key $j$, i.e. $j \le i$.
    - `{ATTENTION.signature[4:-1]}`: $\mathrm{{softmax}}(q k^\top / \sqrt{{d_k}})\, v$, the softmax over the
      keys. `q` is `(…, L_q, d_k)`, `k` is `(…, L_k, d_k)`, `v` is `(…, L_k, d_v)`; return the output only,
      `(…, L_q, d_v)`. `mask` is `None` or a boolean tensor that broadcasts to the scores `(…, L_q, L_k)`:
      `True` where a query may attend. A masked key gets weight exactly 0. A query whose mask row is all
      `False` (it may attend to nothing) must give a finite output: return zeros there (the plain average of
      `v` is accepted too); NaN is not.

    You may use your `softmax` inside your attention, or `torch.softmax`.
""")

LAYER_NORM_TASK = text(rf"""
    ## 2. Layer normalisation

    `{LAYER_NORM.signature[4:-1]}` normalises each row over the last axis to mean 0 and variance 1, then
    scales and shifts: $\gamma \cdot (x - \mathrm{{mean}}) / \sqrt{{\mathrm{{Var}} + \varepsilon}} + \beta$, with
    the variance that divides by the number of features. `gamma` and `beta` have the last axis's size.
""")

TRY = text("""
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 4, 8), torch.randn(2, 4, 3)
    print(softmax(torch.tensor([1000.0, 999.0, 0.0])))
    print(causal_mask(3))
    print(scaled_dot_product_attention(q, k, v, causal_mask(4)).shape)
    print(layer_norm(torch.randn(2, 5), torch.ones(5), torch.zeros(5)).std(dim=-1, unbiased=False))
""")

DERIVATION_TASK = text(r"""
    ## 3. Why √d_k?

    Let $q, k \in \mathbb{R}^{d_k}$ have independent entries with mean 0 and variance 1. Derive
    $\mathrm{Var}(q \cdot k)$ in the markdown cell below and end with one display-math line holding your
    result, `$$\mathrm{Var}(q \cdot k) = …$$` (the last such line counts), written in $d_k$ and numbers.
""")

QUESTIONS_TASK = "## 4. Questions\n\nAnswer each in the tagged cell under it, in a few sentences."

_SOFTMAX = """def softmax(x, dim=-1):
    shifted = x - x.amax(dim=dim, keepdim=True)  # exp of the largest is 1: nothing overflows
    exponentials = torch.exp(shifted)
    return exponentials / exponentials.sum(dim=dim, keepdim=True)"""

_CAUSAL_MASK = """def causal_mask(size):
    return torch.tril(torch.ones(size, size, dtype=torch.bool))"""

_ATTENTION = """def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.nan_to_num(weights, nan=0.0)  # a query with no allowed key: zero weights
    return weights @ v"""

_LAYER_NORM = """def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, unbiased=False, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(variance + eps) + beta"""

_DERIVATION = text(r"""
    $q \cdot k = \sum_{i=1}^{d_k} q_i k_i$. Each term has mean $E[q_i]E[k_i] = 0$ and variance
    $E[q_i^2]E[k_i^2] = 1$, and the terms are independent, so their variances add:

    $$\mathrm{Var}(q \cdot k) = d_k$$

    Dividing the scores by $\sqrt{d_k}$ gives them variance 1 whatever $d_k$ is.
""")

_ANSWERS = (
    "Without the scale the scores have standard deviation √d_k, so for large d_k the softmax is almost one-hot: "
    "nearly all weights are 0 or 1 and its gradients vanish, which stalls training.",
    "It stops a position from attending to later positions, so that predicting token t cannot use tokens after t: "
    "training then matches generation, where the future is not known.",
    "Layer norm normalises each token over its own features, so it does not depend on the batch (its size, padding "
    "or the other sequences) and behaves the same in training and inference, for any length.",
)


def _stub(signature: str) -> str:
    return f"{signature}\n    # your code here\n    raise NotImplementedError"


@dataclass(frozen=True)
class Work:
    """What one notebook's author wrote: the function cells, the derivation and the answers."""

    title: str
    softmax: str
    causal_mask: str
    attention: str
    layer_norm: str
    derivation: str
    answers: tuple[str, ...] = field(default=(PLACEHOLDER,) * len(QUESTIONS))


TEMPLATE = Work(
    INTRO,
    _stub(SOFTMAX.signature),
    _stub(CAUSAL_MASK.signature),
    _stub(ATTENTION.signature),
    _stub(LAYER_NORM.signature),
    PLACEHOLDER + " End with `$$\\mathrm{Var}(q \\cdot k) = …$$`.",
)
SOLUTION = Work(
    INTRO.replace("# Assignment 11:", "# Assignment 11 (solution):"), _SOFTMAX, _CAUSAL_MASK, _ATTENTION, _LAYER_NORM, _DERIVATION, _ANSWERS
)
