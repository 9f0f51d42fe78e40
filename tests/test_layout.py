"""The two sides stay apart: the harness (graders/) names nothing of any assignment.

What counts as a name of Assignment 10 is taken from the assignment itself (its functions, check
ids, question tags, title) plus the dataset it trains on, so a new check or question is covered
without anyone updating a list here.
"""

from __future__ import annotations

import re
from pathlib import Path

from assignments.a10 import ASSIGNMENT

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "graders"
TEXT_SUFFIXES = {".py", ".html", ".js", ".css", ".md", ".toml", ".txt", ".sh"}


def assignment_names() -> set[str]:
    names = {function.name for function in ASSIGNMENT.functions}
    names |= set(ASSIGNMENT.check_ids)
    names |= {question.tag.removeprefix("answer:") for question in ASSIGNMENT.questions}
    names |= {"kl_loss_weight", "MNIST", ASSIGNMENT.title}
    return names


def harness_files() -> list[Path]:
    return sorted(path for path in HARNESS.rglob("*") if path.is_file() and path.suffix in TEXT_SUFFIXES)


def test_the_names_cover_what_the_issue_lists():
    names = assignment_names()
    assert {"closed_form", "vae_loss", "reparameterize", "kl_observe", "kl_role", "experiment.kl_tradeoff", "Assignment 10"} <= names


def test_no_harness_file_names_anything_of_assignment_10():
    pattern = re.compile("|".join(re.escape(name) for name in sorted(assignment_names(), key=len, reverse=True)))
    found = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
        for path in harness_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for match in [pattern.search(line)]
        if match is not None
    ]
    assert not found, "the harness names Assignment 10:\n" + "\n".join(found)
