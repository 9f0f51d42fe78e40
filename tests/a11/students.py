"""Assignment 11's functions as students write them: the handout's solution, its stubs, and a few careful
variations, each a namespace of real functions built from notebook-style source."""

from __future__ import annotations

import math
from typing import Any

import torch

from assignments.a11.handout.content import SOLUTION, TEMPLATE, Work


def namespace_of(*sources: str) -> dict[str, Any]:
    """The functions the sources define, run as a notebook's cells would be."""
    namespace: dict[str, Any] = {"torch": torch, "math": math}
    for source in sources:
        exec(source, namespace)  # noqa: S102 - the handout's own code, as a kernel runs it
    return {name: value for name, value in namespace.items() if callable(value) and name not in ("torch", "math")}


def work_namespace(work: Work) -> dict[str, Any]:
    return namespace_of(work.softmax, work.causal_mask, work.attention, work.layer_norm)


def solution() -> dict[str, Any]:
    return work_namespace(SOLUTION)


def template() -> dict[str, Any]:
    return work_namespace(TEMPLATE)


def with_cell(**cells: str) -> dict[str, Any]:
    """The solution with some functions written another way."""
    return {**solution(), **namespace_of(*cells.values())}
