"""A built assignment: the folder `build` writes, its contract read back strictly, the registry finding it on the
assignments path, and the seam's behaviour (judging, answers) on the real truth it holds."""

from __future__ import annotations

import json
import re

import pytest

from graders.assignment import registry
from graders.authoring.annotations import INPUTS_TAG
from graders.authoring.build import build
from graders.authoring.built import BuiltAssignment
from graders.authoring.contract import CONTRACT_FILE, Contract
from graders.authoring.skeleton import new
from graders.errors import BadCommandLine, UsageError
from graders.judge.evidence import Evidence
from graders.judge.probes import evaluate_in_process
from graders.pipeline.validate import Outcome, kit_findings
from graders.tags import named_assignment

NAME = "built-unit"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltAssignment:
    root = tmp_path_factory.mktemp("authored")
    return build(new(NAME, root / "source"), root / "built" / NAME)


@pytest.fixture
def search_path(monkeypatch: pytest.MonkeyPatch):
    """The assignments path as a test sets it; the registry's cache emptied before and after."""
    registry.load.cache_clear()
    yield lambda *folders: monkeypatch.setenv(registry.PATH_VARIABLE, ":".join(map(str, folders)))
    registry.load.cache_clear()


# ----------------------------------------------------------------------------- the folder


def test_students_get_the_template_only_stamped_with_the_id_and_the_truth_is_apart(built):
    student = sorted(path.name for path in (built.folder / "student").iterdir())
    assert student == [f"{NAME}.ipynb"]
    template = json.loads(built.handout.template.read_text(encoding="utf-8"))
    solution = json.loads(built.handout.solution.read_text(encoding="utf-8"))
    assert named_assignment(template) == named_assignment(solution) == NAME
    truth = built.folder / "truth"
    assert built.handout.solution.parent == truth
    assert {"reference.py", "inputs.py", "mistake_sum_instead_of_mean.py"} <= {path.name for path in truth.iterdir()}
    assert ".mean()" not in built.handout.template.read_text(encoding="utf-8")


def test_the_contract_is_strict_json_with_every_part_the_seam_needs(built):
    document = json.loads((built.folder / CONTRACT_FILE).read_text(encoding="utf-8"))
    assert {"id", "title", "version", "functions", "questions", "catalog", "public_seed"} <= set(document)
    assert built.check_ids == ("mse",) and built.max_score == 2.0
    assert built.catalog["sum_instead_of_mean"].function == "mse"
    (question,) = built.questions
    assert question.tag == "answer:why_mean" and [item.key for item in question.items] == ["batch_size", "vague"]


def test_the_stored_public_values_are_the_references_and_belong_to_its_hash(built):
    stored = json.loads((built.folder / "truth" / "expected" / "public.json").read_text(encoding="utf-8"))
    assert stored["reference_hash"] == built.reference_hash()
    plan = built.build_plan(seed=built.public_seed, hidden=False, data_dir=None)
    from_stored = built.compute_expected(plan, prefer_stored=True).reference
    assert from_stored.calls.keys() == evaluate_in_process(plan, built.truth().functions, ("mse",)).calls.keys()


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda d: d.update(points=1), "unknown fields ['points']"),
        (lambda d: d["functions"][0].update(points="2"), "'points' must be a float"),
        (lambda d: d["functions"][0].update(points=True), "'points' must be a float"),
        (lambda d: d.update(format=99), "format 99 is not 1"),
        (lambda d: d.update(catalog={}), "'catalog' must be a list"),
        (lambda d: d["questions"][0]["items"][0].pop("text"), "missing fields ['text']"),
        # Names become file names and ids: a contract edited to climb out of its folder is refused.
        (lambda d: d.update(id="../elsewhere"), "id '../elsewhere' must be"),
        (lambda d: d["catalog"][0].update(name="../../x"), "name '../../x' must be"),
        (lambda d: d["questions"][0].update(tag="why mean"), "tag 'why mean' must be"),
        (lambda d: d["questions"][0]["items"][0].update(key="a b"), "a rubric item's key is"),
    ],
)
def test_an_edited_contract_that_is_wrong_is_a_usage_error_naming_the_field(built, tmp_path, edit, said):
    document = json.loads((built.folder / CONTRACT_FILE).read_text(encoding="utf-8"))
    edit(document)
    path = tmp_path / CONTRACT_FILE
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(UsageError, match=r"assignment\.json") as caught:
        Contract.read(path)
    assert said in str(caught.value)


@pytest.mark.parametrize("text", ['{"id": NaN}', "[1, 2", "", '"x"', " " * (2 << 20)])
def test_a_contract_that_is_not_strict_json_or_too_large_is_a_usage_error(tmp_path, text):
    path = tmp_path / CONTRACT_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=str(path)):
        Contract.read(path)


def test_a_rebuild_replaces_an_earlier_build_and_refuses_a_folder_that_is_not_one(built, tmp_path):
    source = new("rebuilt", tmp_path)
    first = build(source, tmp_path / "out")
    (first.folder / "truth" / "mistake_gone.py").write_text("x = 1\n", encoding="utf-8")
    again = build(source, tmp_path / "out")
    assert not (again.folder / "truth" / "mistake_gone.py").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(BadCommandLine, match="not empty and not an earlier build"):
        build(source, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_new_refuses_a_bad_name_and_an_existing_file(tmp_path):
    with pytest.raises(BadCommandLine, match="lower-case"):
        new("../escape", tmp_path)
    new("once", tmp_path)
    with pytest.raises(BadCommandLine, match="exists"):
        new("once", tmp_path)


# ----------------------------------------------------------------------------- the registry


def test_the_registry_finds_a_built_folder_or_a_folder_of_them_on_the_path(built, search_path, tmp_path):
    for folder in (built.folder, built.folder.parent):
        search_path(tmp_path / "missing", folder)
        assert NAME in registry.installed()
        loaded = registry.load(NAME)
        assert isinstance(loaded, BuiltAssignment) and loaded.folder == built.folder
        registry.load.cache_clear()
    assert any(line.startswith(f"{NAME}  version 1") for line in registry.listing())


def test_an_installed_assignment_wins_over_a_built_one_of_the_same_id(built, search_path, tmp_path):
    installed = registry.installed()[0]
    impostor = tmp_path / "impostor"
    impostor.mkdir()
    document = json.loads((built.folder / CONTRACT_FILE).read_text(encoding="utf-8"))
    (impostor / CONTRACT_FILE).write_text(json.dumps({**document, "id": installed}), encoding="utf-8")
    search_path(impostor)
    assert not isinstance(registry.load(installed), BuiltAssignment)


def test_a_folder_with_a_damaged_contract_is_not_listed_and_an_unknown_id_is_a_usage_error(search_path, tmp_path):
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / CONTRACT_FILE).write_text("{", encoding="utf-8")
    search_path(tmp_path)
    assert "damaged" not in registry.installed()
    with pytest.raises(BadCommandLine, match="no assignment 'damaged'"):
        registry.load("damaged")


# ----------------------------------------------------------------------------- judging and answers


def test_the_reference_gets_full_marks_and_the_mistake_is_named_and_costs_its_check(built):
    plan = built.build_plan(seed=7, hidden=True, data_dir=None)
    expected = built.compute_expected(plan)
    truth = built.truth()
    (right,) = built.judge(Evidence(plan, evaluate_in_process(plan, truth.functions, ("mse",)), expected, ()))
    assert right.score == right.max_score == 2.0
    ((flags, namespace),) = truth.variants["mse"]
    (wrong,) = built.judge(Evidence(plan, evaluate_in_process(plan, namespace, ("mse",)), expected, ()))
    assert wrong.score == 0.0 and wrong.misconceptions == tuple(flags) == ("sum_instead_of_mean",)


def test_hidden_inputs_come_from_the_seed_and_are_never_the_public_ones(built):
    one, same, other = (built.build_plan(seed=s, hidden=True, data_dir=None) for s in (1, 1, 2))
    hidden = [case for case in one.cases if not case.public]
    assert hidden and all(case.name.startswith("hidden-") for case in hidden)
    assert all((a.args[0] == b.args[0]).all() for a, b in zip(hidden, [c for c in same.cases if not c.public], strict=True))
    assert any((a.args[0] != b.args[0]).any() for a, b in zip(hidden, [c for c in other.cases if not c.public], strict=True))


def test_answers_are_found_by_tag_bounded_and_a_malformed_cell_is_no_answer(built):
    question = built.questions[0]
    long = "x" * 100_000
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": None, "source": "ignored"},
            {"cell_type": "markdown", "metadata": {"tags": "answer:why_mean"}, "source": "ignored"},
            {"cell_type": "markdown", "metadata": {"tags": [question.tag]}, "source": [" because ", long]},
        ]
    }
    (answer,) = built.extract_free_text(notebook)
    assert answer.answer.startswith("because x") and len(answer.answer) < 30_000
    assert built.extract_free_text({"cells": "nothing"})[0].answer == ""


def test_public_inputs_that_hide_a_mistake_refuse_the_kit_as_the_author_s_to_fix_and_the_check_says_so(tmp_path):
    # One element: the sum of the squared errors is their mean, so the kit would call the mistake correct.
    source = new("one-element", tmp_path)
    notebook = json.loads(source.read_text(encoding="utf-8"))
    (inputs,) = [cell for cell in notebook["cells"] if INPUTS_TAG in cell["metadata"].get("tags", [])]
    inputs["source"] += '\nPUBLIC = {"mse": [(np.array([[1.0]], dtype=np.float32), np.array([[3.0]], dtype=np.float32))]}\n'
    source.write_text(json.dumps(notebook), encoding="utf-8")
    built = build(source, tmp_path / "built")
    assert built.has_kit
    with pytest.raises(UsageError, match=r"the public inputs cannot tell mse: sum_instead_of_mean from the reference"):
        built.build_kit(tmp_path / "kit")
    assert not (tmp_path / "kit").exists()
    # `grader assignment check` reports it as a finding and goes on (it is not the end of the check).
    (finding,) = kit_findings(built, built.truth(), tmp_path / "kit")
    assert finding.outcome is Outcome.FAIL and "sum_instead_of_mean" in finding.detail


def test_the_kit_is_written_into_a_new_folder_only(built, tmp_path):
    kit_hash, files = built.build_kit(tmp_path / "kit")
    assert re.fullmatch(r"[0-9a-f]{12}", kit_hash) and f"{NAME}.ipynb" in files and "check.py" in files
    with pytest.raises(UsageError, match="exists and is not an empty folder"):
        built.build_kit(tmp_path / "kit")


def test_a_reference_that_raises_on_an_input_stops_the_build_naming_the_call(tmp_path):
    source = new("raising", tmp_path)
    text = source.read_text(encoding="utf-8").replace(
        "return ((pred - target) ** 2).mean()", "return ((pred - target) ** 2).mean() * SCALE"
    )
    source.write_text(text.replace("import torch\\n", "import torch\\nSCALE = 1\\n"), encoding="utf-8")
    earlier = tmp_path / "out" / CONTRACT_FILE
    earlier.parent.mkdir()
    earlier.write_text("an earlier build", encoding="utf-8")
    with pytest.raises(UsageError, match=r"the reference gives no value on 3 input\(s\), e\.g\. mse/public-1: NameError"):
        build(source, tmp_path / "out")
    assert sorted(path.name for path in tmp_path.rglob("*")) == sorted(["out", CONTRACT_FILE, source.name])  # nothing left over
    assert earlier.read_text(encoding="utf-8") == "an earlier build"
