"""Assignment 11's catalogued mistakes, each a small alternative implementation of one step.

A variant is the reference with some steps swapped for their mistaken versions (`flags`, catalog
names); combinations of two steps are built too, so that a student who makes two mistakes in one
function is told both. Steps that are alternatives of one another (two ways to scale, two ways to
mask) are never combined: no one function does both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from itertools import combinations
from typing import Any

import torch

from reference.a11.attention import softmax

# function -> its catalogued mistakes, in catalog order
MISTAKES: dict[str, tuple[str, ...]] = {
    "scaled_dot_product_attention": (
        "no_scale",
        "scale_by_dk",
        "softmax_over_queries",
        "mask_after_softmax",
        "multiplicative_mask",
        "masked_row_nan",
    ),
    "causal_mask": ("mask_hides_diagonal",),
    "softmax": ("unstable_softmax",),
    "layer_norm": ("unbiased_variance", "normalised_over_wrong_axis", "eps_outside_sqrt"),
}
# Groups no variant combines two of: one way of scaling, one way of masking.
ALTERNATIVES = (
    frozenset({"no_scale", "scale_by_dk"}),
    frozenset({"mask_after_softmax", "multiplicative_mask", "masked_row_nan"}),
)


def flag_subsets(function: str) -> tuple[frozenset[str], ...]:
    """Every single mistake of `function`, then every pair that is not two alternatives."""
    names = MISTAKES[function]
    pairs = (frozenset(pair) for pair in combinations(names, 2))
    return tuple(frozenset({name}) for name in names) + tuple(pair for pair in pairs if not any(pair <= group for group in ALTERNATIVES))


# ----------------------------------------------------------------------------- attention


def _scores(q: torch.Tensor, k: torch.Tensor, flags: frozenset[str]) -> torch.Tensor:
    raw = q @ k.transpose(-2, -1)
    if "no_scale" in flags:
        return raw
    d_k = q.shape[-1]
    return raw / (d_k if "scale_by_dk" in flags else math.sqrt(d_k))


def _masked_weights(scores: torch.Tensor, mask: torch.Tensor, axis: int, flags: frozenset[str]) -> torch.Tensor:
    if "multiplicative_mask" in flags:  # scores · 0 is a score of 0, which the softmax still weights
        return softmax(scores * mask, dim=axis)
    if "mask_after_softmax" in flags:  # the hidden keys' weight is dropped, the rest not renormalised
        return softmax(scores, dim=axis) * mask
    weights = softmax(scores.masked_fill(~mask, float("-inf")), dim=axis)
    if "masked_row_nan" in flags:  # a row of −inf only: exp(−inf − (−inf)) is NaN
        return weights
    return torch.where(mask.any(dim=-1, keepdim=True), weights, torch.zeros_like(weights))


def attention_variant(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *, flags: frozenset[str]
) -> torch.Tensor:
    scores = _scores(q, k, flags)
    axis = -2 if "softmax_over_queries" in flags else -1
    weights = softmax(scores, dim=axis) if mask is None else _masked_weights(scores, mask, axis, flags)
    return weights @ v


# ----------------------------------------------------------------------------- the others


def causal_mask_variant(size: int, *, flags: frozenset[str]) -> torch.Tensor:
    offset = -1 if "mask_hides_diagonal" in flags else 0  # tril(…, diagonal=-1): a token may not see itself
    return torch.ones(size, size, dtype=torch.bool).tril(diagonal=offset)


def softmax_variant(x: torch.Tensor, dim: int = -1, *, flags: frozenset[str]) -> torch.Tensor:
    if "unstable_softmax" in flags:  # exp of a large logit is inf, and inf / inf is NaN
        return x.exp() / x.exp().sum(dim=dim, keepdim=True)
    return softmax(x, dim=dim)


def layer_norm_variant(
    x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5, *, flags: frozenset[str]
) -> torch.Tensor:
    axis = 0 if "normalised_over_wrong_axis" in flags else -1  # over the batch, as batch norm does
    mean = x.mean(dim=axis, keepdim=True)
    variance = x.var(dim=axis, keepdim=True, unbiased="unbiased_variance" in flags)
    spread = torch.sqrt(variance) + eps if "eps_outside_sqrt" in flags else torch.sqrt(variance + eps)
    return (x - mean) / spread * gamma + beta


VARIANTS: dict[str, Callable[..., Any]] = {
    "scaled_dot_product_attention": attention_variant,
    "causal_mask": causal_mask_variant,
    "softmax": softmax_variant,
    "layer_norm": layer_norm_variant,
}


def variant(function: str, flags: frozenset[str]) -> Callable[..., Any]:
    return partial(VARIANTS[function], flags=flags)
