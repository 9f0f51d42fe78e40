"""An author's whole path, as the commands run it: `grader assignment new`, `build`, then `check` (real kernels,
warm and cold) accepts the skeleton: full marks for the solution, zero for the template, the mistake named and
costing exactly its check. Each command a process of its own, as the author runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from graders.assignment.registry import PATH_VARIABLE


def grader(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != PATH_VARIABLE}  # nothing found but what is named
    return subprocess.run(
        [sys.executable, "-m", "graders.cli", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=900, check=False
    )


def test_new_then_build_then_check_accepts_the_skeleton(tmp_path):
    made = grader("assignment", "new", "e2e-skeleton", "--out", "source", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    built = grader("assignment", "build", "source/e2e-skeleton.ipynb", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    folder = tmp_path / "build" / "assignments" / "e2e-skeleton"  # the default --out
    assert (folder / "student" / "e2e-skeleton.ipynb").is_file()

    unnamed = grader("assignment", "check", "e2e-skeleton", cwd=tmp_path)
    assert unnamed.returncode == 2 and "no assignment 'e2e-skeleton'" in unnamed.stderr  # not on the path: not found

    checked = grader("--assignments-dir", str(folder.parent), "assignment", "check", "e2e-skeleton", cwd=tmp_path)
    lines = checked.stdout.splitlines()
    assert checked.returncode == 0, "\n".join([*lines, checked.stderr])
    assert lines[-1].startswith("e2e-skeleton passes")
    said = "\n".join(lines)
    assert "PASS    mistake sum_instead_of_mean: named; costs mse 2" in said
    assert "PASS    the solution: full marks: 2 of 2" in said
    assert "PASS    the template: zero: 0 of 2" in said
    assert "PASS    warm and cold:" in said
    assert "PASS    kit: none of the reference's" in said  # built, and free of the truth's lines


def test_a_bad_annotation_is_a_usage_error_exit_2_naming_the_cell_not_a_traceback(tmp_path):
    grader("assignment", "new", "broken", "--out", ".", cwd=tmp_path)
    source = tmp_path / "broken.ipynb"
    source.write_text(source.read_text(encoding="utf-8").replace("    # END SOLUTION", ""), encoding="utf-8")
    done = grader("assignment", "build", str(source), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("grader: cell ") and "has no END SOLUTION" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_commands_refuse_what_they_cannot_use_with_exit_2_and_say_what(tmp_path):
    (tmp_path / "empty.ipynb").write_text("{}", encoding="utf-8")
    for args, said in [
        (("assignment", "build", "missing.ipynb"), "missing.ipynb: no such notebook"),
        (("assignment", "build", "empty.ipynb"), "empty.ipynb: the file is JSON but not a Jupyter notebook"),
        (("--assignments-dir", "nowhere", "assignment", "list"), "--assignments-dir nowhere: not a folder"),
        (("assignment", "new", "Capitals"), "'Capitals': a name is lower-case letters"),
    ]:
        done = grader(*args, cwd=tmp_path)
        assert (done.returncode, done.stderr.startswith("grader: ")) == (2, True), done.stderr
        assert said in done.stderr


def test_a_graded_notebook_cannot_read_the_truth_of_a_built_assignment_kept_inside_its_view(tmp_path):
    # The worst place an instructor could keep a build: under the interpreter's prefix, which every kernel sees.
    inside_view = Path(tempfile.mkdtemp(prefix="test-built-", dir=sys.prefix))
    inside_view.chmod(0o755)  # as a folder an instructor makes: readable by all, the kernel's user too
    try:
        assert grader("assignment", "new", "e2e-hidden", "--out", "source", cwd=tmp_path).returncode == 0
        built = grader("assignment", "build", "source/e2e-hidden.ipynb", "--out", str(inside_view / "e2e-hidden"), cwd=tmp_path)
        assert built.returncode == 0, built.stderr
        truth = inside_view / "e2e-hidden" / "truth" / "reference.py"
        template = json.loads((inside_view / "e2e-hidden" / "student" / "e2e-hidden.ipynb").read_text())
        probe = f"import os\nraise RuntimeError('the truth can be read: ' + str(os.path.exists({str(truth)!r})))"
        template["cells"].append({"cell_type": "code", "metadata": {}, "source": probe, "outputs": [], "execution_count": None})
        (tmp_path / "class").mkdir()
        (tmp_path / "class" / "mallory.ipynb").write_text(json.dumps(template))
        graded = grader(
            "--assignments-dir", str(inside_view), "grade", "class", "--out", "reports", "--assignment", "e2e-hidden", cwd=tmp_path
        )
        assert graded.returncode == 0, graded.stderr
        result = json.loads((tmp_path / "reports" / "mallory" / "results.json").read_text())
        said = [error["evalue"] for error in result["cell_errors"]]
        assert said == ["the truth can be read: False"]  # the cell ran, and the folder was not there for it
    finally:
        shutil.rmtree(inside_view)
