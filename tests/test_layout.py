"""The two sides stay apart: the harness (graders/) names nothing of any assignment.

What counts as a name of Assignment 10 is taken from the assignment itself (its functions, check
ids, question tags, title) plus the dataset it trains on, so a new check or question is covered
without anyone updating a list here.
"""

from __future__ import annotations

import re
from pathlib import Path

from assignments.a10 import ASSIGNMENT
from assignments.a11 import ASSIGNMENT as A11
from graders.assignment.spec import Assignment

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


# What a page or a script of the harness shows is as much the harness as its code: its templates and static
# files name no assignment at all, neither by an assignment's own names nor by a course's words for one
# (its subject, its notation: a label such as μ comes from the assignment's answer line).
COURSE_WORDS = (r"a1\d", "KL", "VAE", "attention", "diffusion", r"Assignment \d+", "μ", "Σ")
PAGE_SUFFIXES = {".html", ".js", ".css"}


def names_of(assignment: Assignment) -> set[str]:
    names = {function.name for function in assignment.functions} | set(assignment.check_ids) | {assignment.title, assignment.id}
    return names | {question.tag.removeprefix("answer:") for question in assignment.questions}


def course_pattern() -> re.Pattern[str]:
    """Every shipped assignment's names and the course's words, as whole words, in any case."""
    names = names_of(ASSIGNMENT) | names_of(A11)
    words = [re.escape(name) for name in sorted(names, key=len, reverse=True)] + list(COURSE_WORDS)
    return re.compile(r"(?<![\w-])(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)


def naming_lines(paths: list[Path], root: Path) -> list[str]:
    """`path:line: word` for each course word in the files."""
    pattern = course_pattern()
    return [
        f"{path.relative_to(root).as_posix()}:{number}: {match.group(0)}"
        for path in paths
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for match in pattern.finditer(line)
    ]


def test_no_harness_page_or_script_names_any_assignment():
    pages = [path for path in harness_files() if path.suffix in PAGE_SUFFIXES]
    assert len(pages) >= 10  # the report's and the review app's templates and static files are all read
    found = naming_lines(pages, ROOT)
    assert not found, "a page of the harness names an assignment (take its words from the assignment):\n" + "\n".join(found)


def test_the_page_check_finds_each_kind_of_assignment_word(tmp_path: Path):
    page = tmp_path / "page.html"
    lines = [
        "<h2>Your answers to the KL questions</h2>",
        "Graded by a10-grader",
        "<dt>Σ =</dt> of assignment 11",
        "softmax(x)",
        "skill, a100, data-attentive",
    ]
    page.write_text("\n".join(lines), encoding="utf-8")
    found = [line.rsplit(": ", 1)[1] for line in naming_lines([page], tmp_path)]
    assert found == ["KL", "a10", "Σ", "assignment 11", "softmax"]
