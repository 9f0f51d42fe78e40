"""The student kit (`grader kit`): it leaks nothing, runs without the grader, and agrees with it.

Agreement: every notebook of submissions/a10/, tests/broken.py, the hand-written student variants of
tests/students.py and a few derivation-form cases is checked twice, by the grader (one warm batch on
the public inputs, the seed and parameters `grader check` uses) and by the kit's check.py in its own
process, and every public check must get the same status and misconception names. The derivation
checks are compared as `grader check` judges them: for form only (pass unless the grader's verdict
is `error`). The experiment is not in the kit (its reference is training from the grading seed).

Under load: check.py limits cells and calls with the grader's own `TimeLimit` (from the shipped
probe runtime), which does not count time spent waiting for a CPU. The kit's first version used
wall-clock alarms, so on a busy machine a cell or call that the grader let finish could time out in
the kit: the one agreement failure seen under load. Draws are seeded per call by the same runtime,
so the reparameterisation verdicts do not depend on the machine either.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np
import pytest

from assignments.a10 import ASSIGNMENT, answer_lines
from assignments.a10.checks import CHECKS, SAMPLER, SAMPLING_FINDINGS
from assignments.a10.contract import CHECK_IDS, PUBLIC_SEED, QUESTIONS
from assignments.a10.plan import build_plan
from graders.judge.critical import critical_values
from graders.judge.kinds.value import ValueCheck
from graders.judge.probes import Case
from graders.kit import check as kit_check
from graders.kit import table as kit_table
from graders.kit.build import Kit, public_plan
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import CheckResult, CheckStatus, SubmissionResult
from tests import students
from tests.broken import CORRECT_CODE, notebook, write_broken
from tests.kit.formulas import formulas_in
from tests.kit.traps import TRAPS, check_cell_number, write_traps

ROOT = Path(__file__).resolve().parents[2]
HANDOUT = ROOT / "assignments" / "a10" / "handout"
CELL_TIMEOUT = 8.0
# A notebook that kills its own process (os._exit) stops check.py too: there is no table to compare.
KILLS_ITS_PROCESS = "kernel-dies"
UNREADABLE = ("empty", "invalid-json", "not-a-notebook", "latin1-bytes", "for-another-assignment")


PUBLIC_CHECK_IDS = tuple(i for i in CHECK_IDS if i != "experiment.kl_tradeoff")


def run_kit(python: str, kit: Kit, notebook_path: Path, *extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """check.py as a student runs it: isolated mode (no PYTHONPATH, no user site), from another folder."""
    argv = [python, "-I", str(kit.folder / "check.py"), str(notebook_path), "--timeout", str(CELL_TIMEOUT), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=cwd, check=False)


# ----------------------------------------------------------------------------- no leaks


def test_the_kit_checks_exactly_the_public_checks_in_its_own_words(kit):
    data = json.loads((kit.folder / "kit_data.json").read_text(encoding="utf-8"))
    assert tuple(c["id"] for c in data["checks"]) == PUBLIC_CHECK_IDS
    by_id = {check.id: check for check in CHECKS}
    judging = kit_check.Judging.of(data)
    for spec, configured in zip(data["checks"], judging.checks, strict=True):
        check = by_id[spec["id"]]
        assert (spec["title"], spec["points"]) == (check.title, check.points) == (configured.title, configured.points)
        assert type(configured) is type(check)
        if isinstance(check, ValueCheck):
            # What the value should be is the grader's report's to say, after submission (issue 22, item 7).
            assert spec["words"] != check.expectation and configured.observable is check.observable
            assert configured.consistency is check.consistency and configured.tolerance == check.tolerance
    # Every finding of the grader's, naming the same mistake, in the kit's own words.
    sampler = next(c for c in judging.checks if c.id == SAMPLER.id)
    assert {key: name for key, (_, name) in sampler.findings.items()} == {key: name for key, (_, name) in SAMPLING_FINDINGS.items()}
    assert not [words for words, _ in sampler.findings.values() if formulas_in(words)]
    # The same calls on the same public inputs as `grader check` (its plan adds the experiment).
    staff = json.loads(json.dumps(build_plan(seed=PUBLIC_SEED, hidden=False, data_dir=ROOT).request()))
    del staff["kernel"], staff["experiment_timeout_message"]  # what runs the experiment, which the kit has not
    assert json.loads(json.dumps(judging.plan.request())) == {**staff, "experiment": None}


# ----------------------------------------------------------------------------- the sampling tests as critical values


def _draw_models(case: Case) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(z, a second call's z) for a right sampler and for each way the grader knows a sampler to be wrong."""
    rng = np.random.default_rng(11)
    mu, logvar = (np.asarray(a, dtype=np.float64) for a in case.args)
    eps, again = rng.standard_normal(mu.shape), rng.standard_normal(mu.shape)
    shared = np.repeat(rng.standard_normal((mu.shape[0], 1)), mu.shape[1], axis=1)
    per_dimension = np.broadcast_to(rng.standard_normal(mu.shape[1]), mu.shape)  # one ε per dimension, shared by every row
    uniform = rng.uniform(-np.sqrt(3), np.sqrt(3), mu.shape)
    std = np.exp(0.5 * logvar)
    mixed = eps.copy()
    mixed[:, 1] = 0.3 * eps[:, 0] + np.sqrt(1 - 0.09) * eps[:, 1]
    return {
        "right": (mu + std * eps, mu + std * again),
        "variance_as_std": (mu + np.exp(logvar) * eps, mu + np.exp(logvar) * again),
        "no_noise": (mu, mu),
        "noise_reused": (mu + std * eps, mu + std * eps),
        "shared_noise": (mu + std * shared, mu + std * shared[::-1]),
        "same_for_every_row": (mu + std * per_dimension, mu + std * per_dimension[:, ::-1]),
        "correlated": (mu + std * mixed, mu + std * again),
        "shifted": (mu + 0.2 + std * eps, mu + 0.2 + std * again),
        "too_wide": (mu + 1.2 * std * eps, mu + 1.2 * std * again),
        "uniform": (mu + std * uniform, mu + std * uniform[::-1]),
        "just_wider": (mu + 1.08 * std * eps, mu + 1.08 * std * again),
    }


def test_the_kit_s_sampler_finds_what_the_grader_s_finds(kit):
    """The same findings on draws right and wrong in every way the grader tells apart, near the thresholds too: the
    grader's check, configured from the kit's data (its critical values among them)."""
    data = json.loads((kit.folder / "kit_data.json").read_text(encoding="utf-8"))
    kit_sampler = next(c for c in kit_check.Judging.of(data).checks if c.id == SAMPLER.id)
    (case,) = public_plan(ASSIGNMENT).cases_for("reparameterize")
    n = len(case.args[0])
    assert kit_sampler.critical(n) == critical_values(n)
    findings = {}
    for name, (z, again) in _draw_models(case).items():
        grader = SAMPLER.finding(case, z, again)
        assert kit_sampler.finding(case, z, again) == grader, name
        findings[name] = grader
    assert findings["right"] is None and len(set(findings.values())) >= 8, findings


# ----------------------------------------------------------------------------- without the grader


def _requirement_names(distribution: metadata.Distribution) -> set[str]:
    from packaging.requirements import Requirement

    names = set()
    for text in distribution.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.add(requirement.name)
    return names


def _closure(*roots: str) -> list[metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        distribution = metadata.distribution(name)
        key = distribution.metadata["Name"].lower().replace("_", "-")
        if key not in seen:
            seen[key] = distribution
            todo += _requirement_names(distribution)
    return list(seen.values())


def _student_environment(env: Path, *roots: str) -> str:
    """A fresh virtual environment holding `roots` and what they require, and nothing else.

    Chosen over `pip install torch` into a new venv (a 5.5 GB CUDA wheel, minutes per CI run) and over
    `python -I` with a curated sys.path (which would still run the project's interpreter and site): a
    `venv --without-pip` (instant) whose site-packages links exactly the installed distributions in the
    requirement closure of the roots, each by the top-level files its RECORD lists. No `.pth` is linked,
    so the editable install of the grader is not there: graders/ and reference/ are not importable
    (asserted below), nor papermill, ipykernel, torchvision or matplotlib.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = Path(
        subprocess.run(
            [str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for distribution in _closure(*roots):
        tops = {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}
        for top in tops:
            source = Path(str(distribution.locate_file(top)))
            if source.exists() and not (site / top).exists() and not top.endswith(".pth") and top != "__pycache__":
                (site / top).symlink_to(source)
    return str(env / "bin" / "python")


# numpy is named: torch's wheel metadata leaves it out, though torch's pip install brings it.
STUDENT_PACKAGES = ("torch", "numpy", "nbformat")


@pytest.fixture(scope="session")
def student_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What a student who runs notebooks has: torch, numpy, nbformat and IPython (Jupyter's kernel runs on it)."""
    return _student_environment(tmp_path_factory.mktemp("student-env"), *STUDENT_PACKAGES, "ipython")


def test_the_student_environment_has_no_grader(student_python, tmp_path):
    for module in ("graders", "reference", "papermill", "ipykernel", "torchvision", "scipy", "matplotlib"):
        probe = subprocess.run([student_python, "-I", "-c", f"import {module}"], capture_output=True, text=True, cwd=tmp_path, check=False)
        assert probe.returncode != 0, f"{module} is importable in the student environment"
    probe = subprocess.run(
        [student_python, "-I", "-c", "import torch, nbformat, numpy, IPython"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert probe.returncode == 0, probe.stderr


def test_the_kit_runs_where_only_torch_nbformat_and_ipython_are_installed(kit, student_python, tmp_path):
    correct = tmp_path / "mine.ipynb"
    correct.write_text(notebook(CORRECT_CODE), encoding="utf-8")
    result = run_kit(student_python, kit, correct, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The six checks scored on values: 2 + 1 + 2 + 2 + 1 + 1 (the derivations are read, not scored).
    assert "9 / 9 points" in result.stdout and f"Checked with kit {kit.hash}." in result.stdout

    template = run_kit(student_python, kit, kit.folder / "assignment10.ipynb", cwd=tmp_path)
    assert template.returncode == 1
    assert "PASS" not in template.stdout and "is not implemented yet" in template.stdout


def test_without_ipython_the_kit_says_what_to_install_and_checks_nothing(kit, tmp_path_factory, tmp_path):
    python = _student_environment(tmp_path_factory.mktemp("student-env-no-ipython"), *STUDENT_PACKAGES)
    correct = tmp_path / "mine.ipynb"
    correct.write_text(notebook(CORRECT_CODE), encoding="utf-8")
    result = run_kit(python, kit, correct, cwd=tmp_path)
    assert result.returncode == 2 and "pip install ipython" in result.stderr
    assert "PASS" not in result.stdout and "Traceback" not in result.stderr


# ----------------------------------------------------------------------------- agreement with the grader

DERIVATION_CASES = {
    "derivation-unknown-symbol": "$$\\mu = \\gamma\\, x_0$$\n\n$$\\Sigma = 1 - \\bar\\alpha_3$$",
    "derivation-empty": "$$\\mu = $$\n\n$$\\Sigma = 1 - \\bar\\alpha_3$$",
    "derivation-missing-brace": "$$\\mu = \\sqrt{\\bar\\alpha_3\\, x_0$$\n\n$$\\Sigma = 1 - \\bar\\alpha_3$$",
    "derivation-inline-only": "$\\mu = \\sqrt{\\bar\\alpha_3} x_0$ and $\\Sigma = 1 - \\bar\\alpha_3$",
    "derivation-chain-and-remark": "$$\\mu = \\sqrt{\\alpha_1\\alpha_2\\alpha_3}\\,x_0, \\quad \\text{where } t = 3$$\n\n"
    "$$\\Sigma_3 = 1 - \\bar\\alpha_3 = 1 - \\alpha_1\\alpha_2\\alpha_3$$",
    # Typed in Unicode, as MathJax renders it like the LaTeX (issue 22, item 3).
    "derivation-unicode-greek-letters": "$$μ = \\sqrt{α_1 α_2 α_3}\\, x_0$$\n\n$$Σ = 1 − α_1 α_2 α_3$$",
    "derivation-unicode-throughout": "$$μ = √ᾱ₃ · x₀$$\n\n$$σ² = 1 − α\u0304₃$$",
    "derivation-unicode-product-and-identity": "$$𝛍 = \\sqrt{∏ₛ₌₁³ αₛ}\\, 𝐱₀$$\n\n$$Σ·\N{MATHEMATICAL BOLD CAPITAL I} = (1 − ᾱ₃)·\N{MATHEMATICAL BOLD CAPITAL I}$$",
    "derivation-unicode-seed-mistake": "$$μ = α₃α₂α₁$$\n\n$$Σ = 1 − α₃α₂α₁$$",
    "derivation-unicode-unknown-symbol": "$$μ = √ᾱ₃ ε$$\n\n$$Σ = 1 − ᾱ₃ Ж$$",
}
STUDENT_HELPERS = (students._bce_sum, students._kl)


def student_notebook(function: str, implementation: object) -> str:
    """A notebook whose `function` is one of tests/students.py's hand-written implementations."""
    helpers = "\n\n".join(inspect.getsource(helper) for helper in STUDENT_HELPERS)  # type: ignore[arg-type]
    code = f"import numpy as np\n\n{helpers}\n\n{inspect.getsource(implementation)}\n{function} = {implementation.__name__}\n"  # type: ignore[attr-defined]
    return notebook(CORRECT_CODE, code)


def write_corpus(folder: Path) -> None:
    for path in (ROOT / "submissions" / "a10").glob("*.ipynb"):
        shutil.copy(path, folder / path.name)
    write_broken(folder)
    for name, value in vars(students).items():
        for function in ("closed_form", "vae_loss", "reparameterize"):
            if name.startswith(function + "_") and callable(value):
                (folder / f"student-{name.replace('_', '-')}.ipynb").write_text(student_notebook(function, value), encoding="utf-8")
    for name, answers in DERIVATION_CASES.items():
        (folder / f"{name}.ipynb").write_text(notebook(CORRECT_CODE, answers=answers), encoding="utf-8")
    write_traps(folder)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder)
    return folder


@pytest.fixture(scope="module")
def grader_verdicts(corpus: Path, grading_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    """The grader's verdicts on the public inputs, one warm batch for the corpus, with `grader check`'s seed."""
    config = GradingConfig(seed=PUBLIC_SEED, hidden=False, cell_timeout=CELL_TIMEOUT, jobs=2, data_dir=grading_data)
    return {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path_factory.mktemp("reports"), config=config)}


# Runs check.py's main in a forked child per notebook, with what the grader's zygote and process import once
# imported once before: torch, torchvision (the handout's import cell: 3 s a child otherwise), IPython and sympy (the
# derivation reader's: 0.9 s). Each notebook still runs in its own process, at a fraction of a fresh interpreter's cost.
FORKING_RUNNER = """
import os, sys
kit, out, timeout, data_dir, *paths = sys.argv[1:]
sys.path.insert(0, kit)
import torch, torchvision, nbformat, numpy, sympy, IPython.core.interactiveshell, IPython.core.inputtransformer2
import check
for path in paths:
    stem = os.path.splitext(os.path.basename(path))[0]
    pid = os.fork()
    if pid == 0:
        for fd, suffix in ((1, ".out"), (2, ".err")):
            os.dup2(os.open(os.path.join(out, stem + suffix), os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        code = 1
        try:
            code = check.main([path, "--timeout", timeout, "--data-dir", data_dir])
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    with open(os.path.join(out, stem + ".rc"), "w") as handle:
        handle.write(str(os.waitstatus_to_exitcode(status)))
"""


@pytest.fixture(scope="module")
def kit_runs(
    kit: Kit, corpus: Path, grading_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("kit-runs")
    paths = sorted(str(path) for path in corpus.glob("*.ipynb"))
    argv = [sys.executable, "-I", "-c", FORKING_RUNNER, str(kit.folder), str(out), str(CELL_TIMEOUT), str(grading_data)]
    with ThreadPoolExecutor(2) as pool:  # two runners, one per core
        done = pool.map(
            lambda half: subprocess.run(argv + half, cwd=out, timeout=900, capture_output=True, check=False), (paths[::2], paths[1::2])
        )
        assert all(run.returncode == 0 for run in done)
    return {
        Path(path).stem: subprocess.CompletedProcess(
            path, int((out / f"{Path(path).stem}.rc").read_text()), *((out / f"{Path(path).stem}{s}").read_text() for s in (".out", ".err"))
        )
        for path in paths
    }


ROW = re.compile(rf"^(PASS|FAIL|ERROR|READ)\s+(\S+)\s+(\S+/\S+|{kit_table.UNSCORED})$")
READ = {"read": "pass"}  # a derivation found and readable: what `grader check` calls a pass


def table_verdicts(stdout: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """{check id: (status, misconceptions)} read back from the printed table (a row's text may wrap)."""
    bodies: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in stdout.splitlines():
        if match := ROW.match(line):
            current = match.group(2)
            status = match.group(1).lower()
            bodies[current] = (READ.get(status, status), [])
        elif current and line.startswith("       "):
            bodies[current][1].append(line.strip())
        else:
            current = ""
    verdicts = {}
    for check_id, (status, lines) in bodies.items():
        names = re.search(r"\[misconceptions: ([^\]]+)\]", " ".join(lines))
        verdicts[check_id] = (status, tuple(names.group(1).split(", ")) if names else ())
    return verdicts


def public_verdict(check: CheckResult) -> tuple[str, tuple[str, ...]]:
    """A grader's verdict as `grader check` gives it: a derivation is only checked for form (read or not)."""
    if check.id.startswith("derivation."):
        return ("error" if check.status is CheckStatus.ERROR else "pass", ())
    return (check.status.value, check.misconceptions)


def test_the_corpus_covers_every_kind_of_notebook(corpus):
    names = {path.stem for path in corpus.glob("*.ipynb")}
    assert {"solution", "seed-writeup", "aaa-tamperer", "wrong-types", "student-vae-loss-sign-flipped", *TRAPS} <= names
    assert len(names) > 50


def test_the_kit_and_the_grader_agree_on_every_public_check(grader_verdicts, kit_runs):
    disagreements = []
    for name, run in sorted(kit_runs.items()):
        if name == KILLS_ITS_PROCESS:
            continue
        kit = table_verdicts(run.stdout)
        grader = {c.id: public_verdict(c) for c in grader_verdicts[name].checks if c.id in kit}
        assert tuple(kit) == PUBLIC_CHECK_IDS, name + run.stdout + run.stderr
        all_passed = all(status == "pass" for status, _ in kit.values())
        assert run.returncode == (0 if all_passed else 1), name + run.stderr
        if name not in UNREADABLE:  # an unreadable file: all `error` on both sides, all checks of a grade on the grader's
            disagreements += [(name, i, kit[i], grader[i]) for i in kit if kit[i] != grader[i]]
        else:
            assert {status for status, _ in kit.values()} == {"error"} == {s for s, _ in grader.values()}
    assert not disagreements


def _without_the_students_answers(corpus: Path, name: str, said: str) -> str:
    """The kit's words, less the derivation answers it quotes back (the student's own, right or wrong)."""
    said = " ".join(said.split())
    try:
        written = nbformat.read(str(corpus / f"{name}.ipynb"), as_version=4)  # as check.py reads it (nbformat 3 included)
        answers = answer_lines.derivation_answers(written, QUESTIONS)
    except (ValueError, AttributeError, TypeError):  # an unreadable notebook (NotJSONError is a ValueError): nothing of its is quoted
        return said
    for answer in answers:
        said = said.replace(" ".join((answer or "\0").split()), "<the student's answer>")
    return said


def test_no_kit_message_on_the_corpus_states_a_correct_formula(kit, corpus, kit_runs):
    assert not formulas_in((kit.folder / "kit_data.json").read_text(encoding="utf-8"))
    stated = {name: formulas_in(_without_the_students_answers(corpus, name, run.stdout + run.stderr)) for name, run in kit_runs.items()}
    assert not {name: found for name, found in stated.items() if found}
    assert sum("FAIL" in run.stdout for run in kit_runs.values()) > 20  # wrong values of every kind were described


TOTAL = re.compile(r"(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) points")


def test_the_kit_states_one_total_the_grader_s_score_for_the_same_checks(grader_verdicts, kit_runs):
    """On every notebook: one total, and it is what the grader gives the checks the kit scores (not the derivations)."""
    for name, run in sorted(kit_runs.items()):
        if name == KILLS_ITS_PROCESS:
            continue
        (total,) = TOTAL.findall(run.stdout)
        scored = [c for c in grader_verdicts[name].checks if c.id in PUBLIC_CHECK_IDS and not c.id.startswith("derivation.")]
        assert (float(total[0]), float(total[1])) == (sum(c.score for c in scored), sum(c.max_score for c in scored)), name


def kit_warnings(stdout: str) -> dict[int, set[str]]:
    """{cell number: the names it holds} from the kit's warnings about check cells."""
    warnings = {}
    for paragraph in stdout.split("\n\n"):
        if match := re.match(r"Warning: cell (\d+) ", paragraph):
            warnings[int(match.group(1))] = set(re.findall(r"`(\w+)`", paragraph))
    return warnings


def test_the_kit_warns_where_a_check_cell_holds_what_the_graded_notebook_misses_and_nowhere_else(corpus, kit_runs):
    warned = {}
    for name, run in sorted(kit_runs.items()):
        trap = TRAPS.get(name)
        expected = {}
        if trap is not None:
            written = nbformat.read(str(corpus / f"{name}.ipynb"), as_version=4)
            expected = {check_cell_number(written, part): set(names) for part, names in trap.lost}
        warned[name] = kit_warnings(run.stdout)
        assert warned[name] == expected, name + run.stdout
    assert sum(bool(w) for w in warned.values()) == sum(bool(t.lost) for t in TRAPS.values())


def test_a_kit_import_or_a_magic_anywhere_costs_nothing_when_graded(grader_verdicts):
    """Each trap that keeps the solution reachable is graded as the solved notebook is (every check passed);
    the definition left in a check cell is not there when graded, as the kit warned."""
    control = {c.id: (c.status, c.misconceptions) for c in grader_verdicts["trap-solved"].checks}
    assert {status for status, _ in control.values()} == {CheckStatus.PASS}
    for name, trap in TRAPS.items():
        graded = grader_verdicts[name]
        verdicts = {c.id: (c.status, c.misconceptions) for c in graded.checks}
        assert (verdicts == control) is trap.solution_reachable, name
        assert not [e for e in graded.cell_errors if e.ename in ("ModuleNotFoundError", "ImportError")], (name, graded.cell_errors)
    lost = {c.id: c for c in grader_verdicts["trap-definition-in-check-cell"].checks}["reparameterize"]
    assert lost.status is CheckStatus.ERROR and "is not implemented yet" in lost.message


COLD_TRAPS = ("trap-import-module", "trap-helper-module")


def test_cold_kernels_import_the_check_stub_and_the_work_dir_as_the_warm_path_does(corpus, grading_data, grader_verdicts, tmp_path):
    """The cold path is the reference (a real Jupyter kernel): `import check` and a %%writefile'd module
    import there as in the warm path's forked shell."""
    folder = tmp_path / "cold"
    folder.mkdir()
    for name in COLD_TRAPS:
        shutil.copy(corpus / f"{name}.ipynb", folder)
    # A cold kernel's cell limit is wall time (nbclient's), not the warm path's used time: roomy on a busy machine.
    config = GradingConfig(seed=PUBLIC_SEED, hidden=False, cell_timeout=60.0, jobs=2, data_dir=grading_data, cold=True)
    cold = {r.submission: r for r in grade_folder(folder, out_dir=tmp_path / "out", config=config)}
    for name in COLD_TRAPS:
        assert cold[name].provenance.executor == "cold"
        assert [(c.id, c.status, c.misconceptions) for c in cold[name].checks] == [
            (c.id, c.status, c.misconceptions) for c in grader_verdicts[name].checks
        ], name
        assert {c.status for c in cold[name].checks} == {CheckStatus.PASS} and not cold[name].cell_errors, name


def test_a_notebook_that_kills_its_process_stops_the_kit_without_a_pass(kit_runs, grader_verdicts):
    run = kit_runs[KILLS_ITS_PROCESS]
    assert run.returncode != 0 and "PASS" not in run.stdout
    # The grader still reads the written answers; everything its dead kernel should have computed is an error.
    calls = [c for c in grader_verdicts[KILLS_ITS_PROCESS].checks if not c.id.startswith("derivation.")]
    assert {c.status.value for c in calls} == {"error"}


@pytest.fixture(scope="module")
def template_graded(kit: Kit, grading_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SubmissionResult:
    """The kit's template notebook, graded by the grader as `grader check` would (its check cells included)."""
    folder = tmp_path_factory.mktemp("template")
    shutil.copy(kit.folder / "assignment10.ipynb", folder / "template.ipynb")
    config = GradingConfig(seed=PUBLIC_SEED, hidden=False, cell_timeout=CELL_TIMEOUT, jobs=1, data_dir=grading_data)
    (result,) = grade_folder(folder, out_dir=folder / "out", config=config)
    return result


def test_on_the_template_every_check_is_a_friendly_error(kit, grading_data, tmp_path, template_graded):
    run = run_kit(sys.executable, kit, kit.folder / "assignment10.ipynb", "--data-dir", str(grading_data), cwd=tmp_path)
    verdicts = table_verdicts(run.stdout)
    assert {status for status, _ in verdicts.values()} == {"error"} and run.returncode == 1
    assert run.stdout.count("is not implemented yet: replace `raise NotImplementedError`") == 6
    assert run.stdout.count("No answer for") == 2
    assert kit_warnings(run.stdout) == {}  # the kit's own check cells define nothing the notebook needs
    assert verdicts == {c.id: public_verdict(c) for c in template_graded.checks if c.id in verdicts}
    # The grader says the same words (the kit's messages are the grader's).
    said = " ".join(run.stdout.split())
    for check in template_graded.checks:
        if check.id in verdicts:
            assert check.message in said, check.id


def test_on_the_solution_every_check_passes(kit_runs):
    assert kit_runs["solution"].returncode == 0
    assert set(table_verdicts(kit_runs["solution"].stdout).values()) == {("pass", ())}


def test_on_the_seed_writeup_the_derivation_is_checked_for_form_only(kit_runs, grader_verdicts):
    verdicts = table_verdicts(kit_runs["seed-writeup"].stdout)
    # μ = α₃α₂α₁ is wrong (the grader, judging it after submission, says so), but the kit checks only its form.
    graded = {c.id: c for c in grader_verdicts["seed-writeup"].checks}
    assert graded["derivation.mu"].status is CheckStatus.FAIL and graded["derivation.mu"].misconceptions
    assert verdicts["derivation.mu"] == ("pass", ())
    said = " ".join(kit_runs["seed-writeup"].stdout.split())
    assert "Readable: \\alpha_3 \\alpha_2 \\alpha_1. Whether it is right is checked at grading." in said
    assert re.search(rf"^READ\s+derivation\.mu\s+{kit_table.UNSCORED}$", kit_runs["seed-writeup"].stdout, re.MULTILINE)
    # Its code is right, and closed_form.mu says so; the same μ = α₃α₂α₁ in code is named there.
    assert verdicts["closed_form.mu"] == ("pass", ())
    scalar_mu = table_verdicts(kit_runs["student-closed-form-scalar-mu"].stdout)["closed_form.mu"]
    assert scalar_mu == ("fail", ("missing_sqrt", "missing_x0"))


def test_the_grader_reads_which_kit_a_notebook_was_checked_with(kit, grading_data, tmp_path):
    checked = nbformat.reads(notebook(CORRECT_CODE), as_version=4)
    checked.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "…", kit_check.KIT_MIME: {"kit": kit.hash}})]
    forged = nbformat.reads(notebook(CORRECT_CODE), as_version=4)
    forged.cells[1].outputs = [nbformat.v4.new_output("display_data", data={kit_check.KIT_MIME: {"kit": "<b>not-a-hash</b>"}})]
    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(checked, str(folder / "checked.ipynb"))
    nbformat.write(forged, str(folder / "forged.ipynb"))
    config = GradingConfig(seed=PUBLIC_SEED, hidden=False, cell_timeout=CELL_TIMEOUT, jobs=1, data_dir=grading_data)
    results = {r.submission: r for r in grade_folder(folder, out_dir=tmp_path / "out", config=config)}
    assert results["checked"].provenance.kit == kit.hash and results["forged"].provenance.kit == ""
    assert f"Self-checked with student kit {kit.hash}." in (tmp_path / "out" / "checked" / "report.html").read_text(encoding="utf-8")
    assert "Self-checked" not in (tmp_path / "out" / "forged" / "report.html").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- inside the notebook


def load_kit_module(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The kit's check.py as a notebook imports it (the copy in the kit, not the grader's template)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_check", kit.folder / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "student_check", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_check_inside_a_notebook_checks_the_live_functions_quickly(kit, capsys, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    module = load_kit_module(kit, monkeypatch)
    namespace: dict[str, object] = {"check": module.check}
    exec(CORRECT_CODE, namespace)
    namespace["closed_form"] = students.closed_form_missing_sqrt
    exec("check('vae_loss')", namespace)  # warm-up: the first call pays numpy/torch first-use costs
    capsys.readouterr()
    started = time.process_time()
    exec("check()", namespace)
    cpu = time.process_time() - started
    out = capsys.readouterr().out
    verdicts = table_verdicts(out)
    assert verdicts["closed_form.mu"] == ("fail", ("missing_sqrt",)) and verdicts["vae_loss.kl"] == ("pass", ())
    assert "derivation.mu" not in verdicts and "python check.py NOTEBOOK" in out
    assert cpu < 1.0, f"check() took {cpu:.2f} s of CPU"

    exec("check('closed_form')", namespace)
    assert set(table_verdicts(capsys.readouterr().out)) == {"closed_form.mu", "closed_form.sigma"}


def test_check_inside_a_notebook_reads_the_saved_answers_when_jupyter_names_the_file(kit, capsys, monkeypatch, tmp_path):
    saved = tmp_path / "saved.ipynb"
    saved.write_text(notebook(CORRECT_CODE), encoding="utf-8")
    monkeypatch.setenv("JPY_SESSION_NAME", str(saved))
    module = load_kit_module(kit, monkeypatch)
    namespace: dict[str, object] = {"check": module.check}
    exec(CORRECT_CODE, namespace)
    exec("check('derivation')", namespace)
    assert table_verdicts(capsys.readouterr().out) == {"derivation.mu": ("pass", ()), "derivation.sigma": ("pass", ())}


def test_the_grader_blanks_the_kit_cells_so_they_cost_no_cell_error(kit, template_graded):
    assert not [e for e in template_graded.cell_errors if e.ename == "ModuleNotFoundError"], template_graded.cell_errors
    tagged = [
        c
        for c in nbformat.read(str(kit.folder / "assignment10.ipynb"), as_version=4).cells
        if kit_check.KIT_CELL_TAG in c.metadata.get("tags", [])
    ]
    assert len(tagged) == 4
