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


# Issue 21: "No module over 500 lines". A longer module is a sign two things live in one place.
MAX_MODULE_LINES = 500


def modules_over_limit(root: Path) -> list[str]:
    """Each module under root's graders/ and assignments/ longer than MAX_MODULE_LINES, with its length."""
    modules = sorted(path for folder in ("graders", "assignments") for path in (root / folder).rglob("*.py"))
    lengths = {path.relative_to(root).as_posix(): len(path.read_text(encoding="utf-8").splitlines()) for path in modules}
    return [f"{name}: {lines} lines" for name, lines in lengths.items() if lines > MAX_MODULE_LINES]


def test_no_module_is_over_500_lines():
    too_long = modules_over_limit(ROOT)
    assert not too_long, f"over {MAX_MODULE_LINES} lines (split them by what their parts do):\n" + "\n".join(too_long)


def test_the_limit_finds_long_modules_anywhere_below_both_sides(tmp_path: Path):
    def module(name: str, lines: int) -> None:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" * lines, encoding="utf-8")

    module("graders/deep/down/long.py", MAX_MODULE_LINES + 1)
    module("graders/at_the_limit.py", MAX_MODULE_LINES)
    module("assignments/other/long.py", MAX_MODULE_LINES + 200)
    module("reference/long.py", MAX_MODULE_LINES + 1)  # neither side: the truth, not a module of the harness
    assert modules_over_limit(tmp_path) == ["assignments/other/long.py: 700 lines", "graders/deep/down/long.py: 501 lines"]
