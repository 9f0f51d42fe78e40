"""`python -m graders.pipeline.autograder --root /autograder`: one Gradescope submission, graded.

Called by the bundle's run_autograder (graders.pipeline.bundle). Grades the notebook in
ROOT/submission/ (the first *.ipynb in name order; the output says if there were others) as the
assignment the bundle records (a bundle from before it recorded one: the default; one built from a
notebook is found in the bundle's `built/` folder, put on the assignments path), like
`grader grade` does, into a scratch REPORTS, and writes ROOT/results/results.json in
Gradescope's layout (graders.gradebook.exports.gradescope). The written answers are left to
staff (Gradescope's manual grading); the output says so.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from graders.assignment import registry
from graders.assignment.spec import Assignment
from graders.errors import GraderError, HarnessError
from graders.execute.untrusted import remove_tree
from graders.gradebook.exports.gradescope import results_json
from graders.gradebook.store import Gradebook
from graders.pipeline.batch import grade_folder
from graders.pipeline.bundle import ASSIGNMENT_NAME, BUILT_NAME, SEED_NAME
from graders.pipeline.config import GradingConfig
from graders.pipeline.secret import SECRET_NAME, existing_course_seed
from graders.results import write_text_atomic

SUBMISSION_ID = "submission"
MISCONFIGURED = "This autograder could not grade anything: tell course staff that its bundle is broken."


def run(root: Path) -> Path:
    results = root / "results" / "results.json"
    submitted = root / "submission"
    notebooks = sorted(p for p in submitted.rglob("*.ipynb") if is_own_notebook(p, submitted)) if submitted.is_dir() else []
    if not notebooks:
        document = {
            "score": 0.0,
            "output": "No Jupyter notebook (.ipynb) was found in your submission: upload your notebook.",
            "tests": [],
        }
        write_text_atomic(results, json.dumps(document, indent=2) + "\n")
        return results
    try:
        config = GradingConfig(seed=_bundled_seed(root), jobs=1, assignment=_bundled_assignment(root))
    except GraderError as exc:  # the bundle's fault, not the student's: Gradescope shows them this, staff must act
        document = {"score": 0.0, "output": f"{MISCONFIGURED} ({exc})", "tests": []}
        write_text_atomic(results, json.dumps(document, indent=2) + "\n")
        return results
    scratch = Path(tempfile.mkdtemp(prefix="a10-autograder-"))
    try:
        folder = scratch / "submissions"
        folder.mkdir()
        shutil.copyfile(notebooks[0], folder / f"{SUBMISSION_ID}.ipynb")
        reports = scratch / "reports"
        grade_folder(folder, out_dir=reports, config=config)
        with Gradebook.open(reports) as book:
            document = results_json(book.grade(SUBMISSION_ID), book.assignment, final=True)  # Gradescope publishes it: its own release step
    finally:
        remove_tree(scratch)
    notes = [
        f"Graded {notebooks[0].name}" + (f" (of {len(notebooks)} notebooks; only the first by name counts)." if len(notebooks) > 1 else ".")
    ]
    notes.append("The written answers are marked by course staff.")
    document["output"] = " ".join(notes) + "\n" + str(document["output"])
    write_text_atomic(results, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return results


def _bundled_assignment(root: Path) -> Assignment:
    """The assignment the bundle records, found among the built assignments it carries too; a bundle that records
    none grades as the installation's default."""
    built = root / "source" / BUILT_NAME
    if built.is_dir() and not built.is_symlink():
        registry.add_search_folder(built)
    recorded = root / "source" / ASSIGNMENT_NAME
    named = recorded.read_text(encoding="utf-8").strip() if recorded.is_file() and not recorded.is_symlink() else None
    return registry.load(named)


def _bundled_seed(root: Path) -> int:
    """The seed the bundle carries, or its course secret (unzipping loses its mode: it is made private again); never a new one."""
    given = root / "source" / SEED_NAME
    if given.is_file() and not given.is_symlink():
        text = given.read_text(encoding="utf-8").strip()
        if not text.isascii() or not text.isdigit():
            raise HarnessError(f"the bundle's {SEED_NAME} holds no seed")
        return int(text)
    secret = root / "source" / SECRET_NAME
    if secret.is_file() and not secret.is_symlink():
        secret.chmod(0o600)
    return existing_course_seed(secret).seed


def is_own_notebook(path: Path, folder: Path) -> bool:
    """A visible regular file inside the submission folder: never a link (to anywhere) or a FIFO,
    nor hidden (`.ipynb_checkpoints/`, macOS's `._x.ipynb`: both sort before the real notebook)."""
    hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
    return not hidden and not path.is_symlink() and path.is_file() and path.resolve().is_relative_to(folder.resolve())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.pipeline.autograder")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    print(run(parser.parse_args(argv).root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
