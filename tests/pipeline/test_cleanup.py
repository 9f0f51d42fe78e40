"""Clean-up after a batch: whatever a notebook leaves in its work folder, the batch finishes, writes
its gradebook run and overview, and removes its scratch folder (graders.execute.untrusted.remove_tree)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graders.execute.untrusted import remove_tree
from graders.gradebook.store import Gradebook
from tests.broken import CORRECT_CODE, notebook

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

# Deeper than Python's recursion limit (shutil.rmtree raised RecursionError at 1,200), with names long
# enough that the path passes PATH_MAX; a folder locked with mode 0000 around another; 3,000 files.
FOLDER_TREE = """\
import os
home = os.getcwd()
for _ in range(1300):
    os.mkdir("n" * 100)
    os.chdir("n" * 100)
open("bottom.txt", "w").close()
os.chdir(home)
os.makedirs("locked/inner")
open("locked/inner/file.txt", "w").close()
os.chmod("locked/inner", 0)
os.chmod("locked", 0)
os.mkdir("many")
for number in range(3000):
    open(f"many/{number}.txt", "w").close()
"""


def test_a_notebook_that_plants_a_deep_locked_folder_tree_does_not_stop_the_batch(tmp_path: Path, grading_data: Path) -> None:
    subs, out, temp = tmp_path / "subs", tmp_path / "out", tmp_path / "temp"
    for folder in (subs, temp):
        folder.mkdir()
    (subs / "alice.ipynb").write_text(notebook(CORRECT_CODE))
    (subs / "mallory.ipynb").write_text(notebook(CORRECT_CODE, FOLDER_TREE))
    command = [sys.executable, "-m", "graders.cli", "grade", str(subs), "--out", str(out), "--data-dir", str(grading_data), "--seed", "1"]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)}, timeout=600, check=False
        )
    finally:
        leftovers = [p.name for p in temp.iterdir()]
        remove_tree(temp)  # a scratch left behind must not break pytest's own rmtree of old temp dirs
    assert done.returncode == 0, done.stderr
    assert "could not remove" not in done.stderr, done.stderr
    with Gradebook.open(out) as book:
        assert len(book.runs()) == 1 and [g.submission for g in book.grades()] == ["alice", "mallory"]
    assert (out / "index.html").is_file()
    with (out / "grades.csv").open(newline="") as handle:
        assert sorted(row["submission"] for row in csv.DictReader(handle)) == ["alice", "mallory"]
    alice, mallory = (json.loads((out / student / "results.json").read_text()) for student in ("alice", "mallory"))
    assert alice["status"] == mallory["status"] == "graded" and mallory["score"] == alice["score"], mallory["message"]
    assert not [name for name in leftovers if name.startswith("a10-")], "the batch's scratch folder was left behind"
