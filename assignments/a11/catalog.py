"""Assignment 11's misconception catalog: plain data, no torch.

Each entry: the function it is about, a title, the explanation for the report (which may state the
right formula), and the kit's hint (which says where to look, never the formula). The implementations
are `reference/a11/misconceptions.py`; the two derivation entries are recognised from the answer's
value (answers.py), not from a variant.
"""

from __future__ import annotations

from graders.assignment.spec import Misconception

_ATTENTION = "scaled_dot_product_attention"

CATALOG: dict[str, Misconception] = {
    m.name: m
    for m in (
        Misconception(
            "unstable_softmax",
            "softmax",
            "Softmax overflows on large logits",
            "exp of a logit above ~88 (float32) is inf and inf / inf is NaN: subtract each row's maximum before exp, "
            "which does not change the result.",
            hint="Try your softmax on logits around 1000.",
        ),
        Misconception(
            "mask_hides_diagonal",
            "causal_mask",
            "The causal mask hides the diagonal",
            "Position i may attend to itself: the causal mask is True for j ≤ i (torch.tril with diagonal=0), not only j < i.",
            hint="Look at the first row of your mask: may the first token attend to anything?",
        ),
        Misconception(
            "no_scale",
            _ATTENTION,
            "Scores not scaled",
            "The scores q kᵀ must be divided by √d_k before the softmax, or their spread grows with d_k.",
            hint="Compare your scores with the formula's, before the softmax.",
        ),
        Misconception(
            "scale_by_dk",
            _ATTENTION,
            "Scores divided by d_k instead of √d_k",
            "Var(q · k) = d_k, so the scores' standard deviation is √d_k: divide by √d_k, not by d_k.",
            hint="Check what the scores are divided by.",
        ),
        Misconception(
            "softmax_over_queries",
            _ATTENTION,
            "Softmax over the query axis",
            "Each query's weights over the keys must sum to 1: the softmax runs over the last axis (keys), not dim=-2.",
            hint="Which axis of the scores do your weights sum to 1 over?",
        ),
        Misconception(
            "mask_after_softmax",
            _ATTENTION,
            "Mask applied after the softmax",
            "Zeroing weights after the softmax leaves rows that no longer sum to 1: set hidden scores to −inf before the softmax.",
            hint="Do your weights still sum to 1 for each query once the mask is applied?",
        ),
        Misconception(
            "multiplicative_mask",
            _ATTENTION,
            "Mask multiplied into the scores",
            "A score times 0 is a score of 0, which the softmax still weights with exp(0): hidden scores must be −inf "
            "(masked_fill), so that their weight is exactly 0.",
            hint="What weight does the softmax give a score of 0?",
        ),
        Misconception(
            "masked_row_nan",
            _ATTENTION,
            "A query with no allowed key gives NaN",
            "When a mask allows a query no key at all, its row of −inf scores makes the softmax NaN: give that query zero "
            "weights (or the plain average of v), as the handout asks.",
            hint="Try a mask whose row for one query is all False.",
        ),
        Misconception(
            "unbiased_variance",
            "layer_norm",
            "Layer norm with the unbiased variance",
            "Layer norm divides by the number of features (the biased variance, unbiased=False), not by that number minus one.",
            hint="Check the variance you normalise with on a row of few features.",
        ),
        Misconception(
            "normalised_over_wrong_axis",
            "layer_norm",
            "Layer norm over the batch axis",
            "Layer norm normalises each row over its features (the last axis); normalising over the batch is batch norm.",
            hint="Which axis do your mean and variance reduce over?",
        ),
        Misconception(
            "eps_outside_sqrt",
            "layer_norm",
            "ε added outside the square root",
            "The denominator is √(Var + ε), not √Var + ε: the two differ where a row's variance is small.",
            hint="Try a row whose values are all nearly equal.",
        ),
        Misconception(
            "variance_of_one_term",
            "derivation",
            "Var(q · k) = 1: the sum over d_k terms is missing",
            "Each product q_i k_i has variance 1, and q · k sums d_k independent ones, so Var(q · k) = d_k.",
            has_variant=False,
            hint="How many terms does q · k add up?",
        ),
        Misconception(
            "std_for_variance",
            "derivation",
            "√d_k is the standard deviation, not the variance",
            "Var(q · k) = d_k; its square root √d_k is the standard deviation, which is what the scores are divided by.",
            has_variant=False,
            hint="Is your answer a variance or a standard deviation?",
        ),
    )
}
