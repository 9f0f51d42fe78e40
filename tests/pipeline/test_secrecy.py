"""Security round 3, graded for real: nothing in a notebook's view answers a question, nothing hidden is
readable before the probe, what the probe shows the notebook never reaches a report, a notebook cannot
fill the disk, and a child holds nothing of its neighbours. Warm path (one batch, two at once), and the
cold path for what its own hand-over does.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

from assignments.a10.plan import build_plan, experiment_seed
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import SubmissionResult
from reference.a10 import REFERENCE_DIR
from tests.broken import CORRECT_CODE, notebook
from tests.hostile import (
    ASK_EARLY,
    STUB_CODE,
    fill_the_disk,
    harvest_the_view,
    leak_during_the_probe,
    normalised,
    search_for_the_plan,
    spy_on_neighbours,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SEED = 90210731  # distinctive: it must appear in no file a notebook can read or a report shows
DISK_MIB = 48
# Graded as with a course secret: results.json then records the secret's hash, never the seed.
CONFIG = dict(
    seed=SEED,
    secret_hash="0123456789abcdef",  # noqa: S106 - a made-up hash, no secret behind it
    cell_timeout=60.0,
    notebook_timeout=240.0,
    jobs=2,
    memory_bytes=1024**3,
    disk_bytes=DISK_MIB * 2**20,
)
MARKER = "PROBE-LEAK"
# Strings only the probe request holds: a hidden call's id, its first input as JSON writes it, the experiment's seed.
PLAN_MARKERS = ["closed_form/hidden-1", str(experiment_seed(SEED))]
ASSIGNMENT_NAMES = {"mu", "logvar", "abar", "alphas", "x0", "alpha_bar", "recon", "kl", "std", "weight"}


def answer_patterns() -> list[str]:
    """Every expression the reference and the catalogued mistakes compute an answer with, normalised.

    Taken from reference/*.py with `ast`: the value of each return and assignment in their functions
    that uses the assignment's names (e.g. `mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)`).
    """
    patterns = set()
    for path in REFERENCE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, (ast.Return, ast.Assign)) else None
            if value is None or isinstance(value, (ast.Name, ast.Constant)):
                continue
            names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            if (names & ASSIGNMENT_NAMES and len(names) > 1) or "logvar" in names:
                patterns.add(normalised(ast.unparse(value)))
    # And the forms the issue found in the harness itself.
    patterns |= {"mu+exp(0.5*logvar)*randn_like(mu)", "-0.5*sum(1+logvar-mu.pow(2)-logvar.exp())", "sqrt(prod(alphas"}
    computed = ("+", "-", "*", "/", "sqrt(", "exp(", "prod(", "sum(", "cross_entropy(")
    return sorted(p for p in patterns if len(p) >= 10 and any(op in p for op in computed))


@pytest.fixture(scope="module")
def batch(tmp_path_factory, grading_data):
    corpus = tmp_path_factory.mktemp("secrecy")
    notebooks = {
        "stub": notebook(STUB_CODE),
        "honest": notebook(CORRECT_CODE),
        "view-harvest": notebook(harvest_the_view(answer_patterns())),
        "plan-search": notebook(search_for_the_plan(PLAN_MARKERS)),
        "probe-leak": notebook(leak_during_the_probe(MARKER)),
        "ask-early": notebook(CORRECT_CODE, ASK_EARLY, f"raise RuntimeError({MARKER!r} + request[:2000])"),
        "disk-fill": notebook(CORRECT_CODE, fill_the_disk(DISK_MIB)),
        "spy-alpha": notebook(spy_on_neighbours("spy-")),
        "spy-beta": notebook(spy_on_neighbours("spy-")),
    }
    for name, text in notebooks.items():
        (corpus / f"{name}.ipynb").write_text(text, encoding="utf-8")
    out = tmp_path_factory.mktemp("secrecy-reports")
    results = grade_folder(corpus, out_dir=out, config=GradingConfig(**CONFIG, data_dir=grading_data))
    return out, {r.submission: r for r in results}


def leaked(result: SubmissionResult) -> list[str]:
    return [f"{e.ename}: {e.evalue}" for e in result.cell_errors if "LEAKED" in e.evalue]


def hidden_fingerprints() -> list[str]:
    """How the probe-leak notebook writes what it saw: the first values of each hidden x₀."""
    plan = build_plan(seed=SEED, hidden=True, data_dir=None)
    return [
        repr(np.asarray(case.args[0]).flatten().tolist()[:3]) for case in plan.cases if not case.public and case.function == "closed_form"
    ]


def student_facing(out: Path, name: str) -> list[Path]:
    """What a student or an LMS is given of a submission: its report, its results, the class files."""
    return [out / name / "report.html", out / name / "results.json", out / "grades.csv", out / "index.html"]


def test_the_harness_is_not_in_the_view_and_reading_the_view_earns_what_a_stub_earns(batch):
    out, results = batch
    harvest = results["view-harvest"]
    assert leaked(harvest) == []
    assert harvest.score == results["stub"].score < results["honest"].score == 12
    printed = json.dumps(json.loads((out / "view-harvest" / "executed.ipynb").read_text())["cells"])
    modules = ast.literal_eval(re.search(r"MODULES (\[.*?\])", printed).group(1))  # what the child holds in memory
    assert modules, "the warm child runs the harness's code"
    assert not [m for m in modules if m.split(".")[0] == "reference" or m.startswith(("graders.judge", "graders.pipeline"))]
    for module in modules:  # nor does any harness code in its memory spell out an answer
        source = ROOT / (module.replace(".", "/") + ".py")
        text = normalised(source.read_text(encoding="utf-8")) if source.exists() else ""
        assert [p for p in answer_patterns() if p in text] == [], module


def test_nothing_of_the_probe_request_is_readable_before_the_probe(batch):
    result = batch[1]["plan-search"]
    assert leaked(result) == [] and result.cell_errors == ()
    assert result.score == 12


def test_what_the_functions_see_during_the_probe_reaches_no_report(batch):
    out, results = batch
    result = results["probe-leak"]
    kept = (out / "probe-leak" / "executed.ipynb").read_text()
    assert MARKER in kept  # it did try: its calls raised with what they saw (kept for the grader only)
    fingerprints = hidden_fingerprints()
    for path in student_facing(out, "probe-leak"):
        text = path.read_text(encoding="utf-8")
        assert MARKER not in text and not [f for f in fingerprints if f in text], path
    assert result.cell_errors == ()  # the errors written into earlier cells during the probe are not the student's cells'


def test_the_grading_seed_is_nowhere_a_notebook_or_a_student_can_look(batch):
    out, results = batch
    assert str(experiment_seed(SEED)) != str(SEED)
    assert leaked(results["plan-search"]) == []
    for name in results:
        for path in student_facing(out, name):
            assert str(SEED) not in path.read_text(encoding="utf-8"), path
    request = json.dumps(build_plan(seed=SEED, hidden=True, data_dir=ROOT).request())
    assert str(SEED) not in request and str(experiment_seed(SEED)) in request


def test_asking_for_the_request_early_gets_nothing_into_a_report_and_no_points(batch):
    out, results = batch
    result = results["ask-early"]
    # Its record was spoiled (it wrote its own to ask early): none of its cells is shown, not even
    # the one that raised with the request in its message.
    assert result.cell_errors == ()
    for path in student_facing(out, "ask-early"):
        text = path.read_text(encoding="utf-8")
        assert "hidden-1" not in text and not [f for f in hidden_fingerprints() if f in text], path
    assert result.score == results["stub"].score  # it did ask first: the real probe found the request gone


def test_a_full_disk_stops_only_the_notebook_that_filled_it(batch):
    out, results = batch
    result = results["disk-fill"]
    assert [e.ename for e in result.cell_errors] == ["OSError"] and "No space left" in result.cell_errors[0].evalue
    assert f"{DISK_MIB} MiB" in result.cell_errors[0].evalue  # it says what the limit is
    assert result.score == 12  # its functions still count
    assert result.provenance.sandbox["filesystem"] and any(f"({DISK_MIB} MiB)" in line for line in result.provenance.sandbox["filesystem"])


def test_a_child_holds_nothing_of_its_neighbours(batch):
    _, results = batch
    for name in ("spy-alpha", "spy-beta"):
        assert leaked(results[name]) == [], leaked(results[name])
        assert results[name].score == 12


def test_the_cold_path_hands_the_request_over_only_at_the_probe(tmp_path, grading_data):
    corpus = tmp_path / "subs"
    corpus.mkdir()
    for name, text in {
        "plan-search": notebook(search_for_the_plan(PLAN_MARKERS)),
        "probe-leak": notebook(leak_during_the_probe(MARKER)),
    }.items():
        (corpus / f"{name}.ipynb").write_text(text, encoding="utf-8")
    cold = {**CONFIG, "cold": True, "cell_timeout": 120.0, "notebook_timeout": 400.0}
    results = {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path / "out", config=GradingConfig(**cold, data_dir=grading_data))}
    # No cell error: the search ran to its end (one cut off at the cell limit would have looked at less).
    assert leaked(results["plan-search"]) == [] and results["plan-search"].cell_errors == ()
    assert results["plan-search"].score == 12
    assert MARKER in (tmp_path / "out" / "probe-leak" / "executed.ipynb").read_text()
    for path in student_facing(tmp_path / "out", "probe-leak"):
        text = path.read_text(encoding="utf-8")
        assert MARKER not in text and not [f for f in hidden_fingerprints() if f in text], path
