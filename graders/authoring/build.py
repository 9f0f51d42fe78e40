"""`grader assignment build SOURCE.ipynb [--out DIR]`: an annotated solution notebook to a built assignment folder.

The folder's layout is graders.authoring.built's. What students get (`student/`) is written apart from the
instructor-only `truth/`; both notebooks are stamped with the assignment's id (graders.tags.named_assignment).
After writing, the reference runs on the public inputs (its values stored, `truth/expected/public.json`) and
the hidden inputs are drawn once from the public seed: a reference or an input generator that raises is the
author's error, said now rather than at grading.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graders.authoring.annotations import Source, parse
from graders.authoring.built import SOLUTION_FILE, STUDENT, BuiltAssignment, template_name
from graders.authoring.contract import CONTRACT_FILE
from graders.authoring.judging import INPUTS_FILE, REFERENCE_FILE, TRUTH, mistake_file
from graders.errors import BadCommandLine, NotebookError, UsageError
from graders.intake.notebooks import load_notebook
from graders.tags import METADATA_KEY

DEFAULT_OUT = Path("build") / "assignments"  # `--out` by default: build/assignments/<id>
BUILT_PARTS = (CONTRACT_FILE, STUDENT, TRUTH)  # what a build writes in its folder (anything else there is not its)


def build(source: Path, out: Path | None = None) -> BuiltAssignment:
    """Build `source` into `out` (default build/assignments/<id>): new, empty, or an earlier build (replaced).

    Written beside `out` first and moved into place only once the reference and the inputs have run: a build
    that fails leaves an earlier one as it was."""
    if not source.is_file():
        raise BadCommandLine(f"{source}: no such notebook")
    try:
        notebook = load_notebook(source)
    except NotebookError as exc:
        raise UsageError(f"{source}: {exc}") from None
    read = parse(notebook)
    folder = out if out is not None else DEFAULT_OUT / read.contract.id
    _check_room(folder)
    staging = folder.parent / f".{folder.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write(read, staging)
        _verify_and_store(BuiltAssignment(staging), source)
        _move_into(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuiltAssignment(folder)


def _check_room(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BadCommandLine(f"--out {folder}: not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / CONTRACT_FILE).is_file():
        raise BadCommandLine(f"--out {folder}: not empty and not an earlier build (no {CONTRACT_FILE}); name a new folder")


def _verify_and_store(assignment: BuiltAssignment, source: Path) -> None:
    """The inputs drawn (public, and hidden from the public seed) and the reference run on them; its public values stored."""
    judging = assignment.judging
    failures = judging.reference_failures(judging.plan(seed=assignment.public_seed, hidden=True))
    if failures:
        raise UsageError(
            f"{source}: the reference gives no value on {len(failures)} input(s), e.g. {failures[0]} "
            "(what a reference function needs must be an import, def or class of a code cell)"
        )
    judging.store_public(assignment.reference_hash(), assignment.public_seed)


def _move_into(staging: Path, folder: Path) -> None:
    """The new build's parts in place of an earlier build's (anything else in the folder is left alone)."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in (STUDENT, TRUTH):
        shutil.rmtree(folder / part, ignore_errors=True)
        (staging / part).rename(folder / part)
    (staging / CONTRACT_FILE).replace(folder / CONTRACT_FILE)


def _write(read: Source, folder: Path) -> None:
    truth = folder / TRUTH
    (folder / STUDENT).mkdir(parents=True)
    truth.mkdir(parents=True)
    contract = read.contract
    (folder / CONTRACT_FILE).write_text(contract.to_json(), encoding="utf-8")
    _write_notebook(folder / STUDENT / template_name(contract.id), read.template, read.metadata, contract.id)
    _write_notebook(truth / SOLUTION_FILE, read.solution, read.metadata, contract.id)
    (truth / REFERENCE_FILE).write_text(_module("the reference: the solution's imports and definitions", read.reference), encoding="utf-8")
    (truth / INPUTS_FILE).write_text(_module("the inputs: PUBLIC and hidden(rng)", read.inputs), encoding="utf-8")
    for name, source in read.mistakes.items():
        said = f"mistake {name}: the reference with one function redefined"
        (truth / mistake_file(name)).write_text(_module(said, read.reference + "\n\n" + source), encoding="utf-8")


def _module(what: str, source: str) -> str:
    return (
        f'"""Written by `grader assignment build` from the source notebook ({what}); edit the notebook, not this."""\n\n{source.rstrip()}\n'
    )


def _write_notebook(path: Path, cells: list[dict[str, Any]], metadata: Mapping[str, Any], assignment_id: str) -> None:
    stamped = {**metadata, METADATA_KEY: {**_mapping(metadata.get(METADATA_KEY)), "assignment": assignment_id}}
    notebook = {
        "cells": [_numbered(cell, index) for index, cell in enumerate(cells)],
        "metadata": stamped,
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _numbered(cell: dict[str, Any], index: int) -> dict[str, Any]:
    return {**cell, "id": f"cell-{index}"}  # nbformat 4.5 wants an id per cell; the source's may repeat across the two notebooks


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
