"""The reference: what Assignment 11's functions compute.

A query row whose mask allows no key at all gets zeros (its weights are all zero, not NaN): the
handout says so, and the grader also accepts the uniform average of v there (assignments/a11/observables.py).
"""

from __future__ import annotations

import math

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x − max) / Σ exp(x − max): the same value as exp(x) / Σ exp(x), with no exp of a large number."""
    shifted = x - x.amax(dim=dim, keepdim=True)
    exponentials = shifted.exp()
    return exponentials / exponentials.sum(dim=dim, keepdim=True)


def causal_mask(size: int) -> torch.Tensor:
    """(size, size) booleans, True where query i may attend to key j: j ≤ i (itself included)."""
    return torch.ones(size, size, dtype=torch.bool).tril()


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q kᵀ / √d_k) v over the keys; `mask` (broadcast to the scores) is True where a query may attend."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is None:
        return softmax(scores, dim=-1) @ v
    weights = softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    attends = mask.any(dim=-1, keepdim=True)  # a query row with no key to attend to gets zero weights, not NaN
    return torch.where(attends, weights, torch.zeros_like(weights)) @ v


def layer_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each row (the last axis) to mean 0 and variance 1 (the biased variance, ε inside the root), then gamma · x̂ + beta."""
    mean = x.mean(dim=-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + eps) * gamma + beta
