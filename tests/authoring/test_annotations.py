"""Reading an annotated solution notebook: what the two notebooks and the truth get, and every bad annotation a
clear UsageError naming the cell (never a traceback), fuzzed over the config's text."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graders.authoring.annotations import CONFIG_TAG, parse
from graders.authoring.skeleton import CONFIG, skeleton
from graders.errors import UsageError

NAME = "unit"


def notebook() -> dict[str, Any]:
    return copy.deepcopy(skeleton(NAME))


def cell_index(nb: dict[str, Any], tag: str) -> int:
    return next(i for i, cell in enumerate(nb["cells"]) if tag in cell["metadata"].get("tags", []))


def solution_index(nb: dict[str, Any]) -> int:
    return next(i for i, cell in enumerate(nb["cells"]) if "BEGIN SOLUTION" in cell["source"])


def with_config(text: str) -> dict[str, Any]:
    nb = notebook()
    nb["cells"][cell_index(nb, CONFIG_TAG)]["source"] = text
    return nb


def refused(nb: dict[str, Any]) -> str:
    with pytest.raises(UsageError) as caught:
        parse(nb)
    return str(caught.value)


# ----------------------------------------------------------------------------- what a good notebook gives


def test_the_template_replaces_each_region_and_empties_each_answer_and_keeps_no_instructor_cell():
    nb = notebook()
    read = parse(nb)
    template = "\n".join(cell["source"] for cell in read.template)
    assert "raise NotImplementedError" in template
    assert ".mean()" not in template  # the solution's line
    assert ".sum()" not in template  # the mistake's
    assert "def hidden(rng)" not in template and "[mistakes." not in template  # the inputs and the config
    answer = next(cell for cell in read.template if "answer:why_mean" in cell["metadata"].get("tags", []))
    assert answer["source"] == ""
    assert "parameters" in [tag for cell in read.template for tag in cell["metadata"].get("tags", [])]


def test_the_solution_keeps_the_answers_and_loses_only_the_markers_and_the_instructor_cells():
    read = parse(notebook())
    solution = "\n".join(cell["source"] for cell in read.solution)
    assert "return ((pred - target) ** 2).mean()" in solution
    assert "SOLUTION" not in solution and ".sum()" not in solution
    assert "do not grow with the batch size" in solution


def test_the_contract_takes_the_config_and_the_signature_from_the_solutions_def():
    contract = parse(notebook()).contract
    assert contract.id == NAME
    (function,) = contract.functions
    assert (function.name, function.signature, function.points) == ("mse", "def mse(pred, target):", 2.0)
    assert [m.name for m in contract.catalog] == ["sum_instead_of_mean"]
    (question,) = contract.questions
    assert question.tag == "why_mean" and [item.key for item in question.items] == ["batch_size", "vague"]


def test_nbgrader_style_markers_are_read_too_and_a_region_keeps_its_indentation():
    nb = notebook()
    index = solution_index(nb)
    nb["cells"][index]["source"] = (
        "def mse(pred, target):\n    ### BEGIN SOLUTION\n    return ((pred - target) ** 2).mean()\n    ### END SOLUTION"
    )
    read = parse(nb)
    assert read.template[index - 1]["source"] == "def mse(pred, target):\n    # your code here\n    raise NotImplementedError"


def test_the_reference_module_holds_the_imports_and_defs_and_not_the_notebooks_other_statements():
    reference = parse(notebook()).reference
    assert "import torch" in reference and "def mse(pred, target):" in reference
    assert "manual_seed" not in reference  # a statement, not a definition: it would run at every load


# ----------------------------------------------------------------------------- bad annotations


def test_a_region_without_its_end_marker_names_the_cell_and_the_line():
    nb = notebook()
    index = solution_index(nb)
    nb["cells"][index]["source"] = nb["cells"][index]["source"].replace("    # END SOLUTION", "")
    said = refused(nb)
    assert f"cell {index + 1}" in said and "begun on line 2 has no END SOLUTION" in said


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("def mse(pred, target):\n    # END SOLUTION\n    return 0", "line 2: END SOLUTION without a BEGIN SOLUTION"),
        ("def mse(pred, target):\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION", "line 3: BEGIN SOLUTION inside"),
        ("def mse(pred, target:\n    # BEGIN SOLUTION\n    return 0\n    # END SOLUTION", "not Python"),
    ],
)
def test_misplaced_markers_and_a_region_that_is_not_python_name_the_cell(source, said):
    nb = notebook()
    index = solution_index(nb)
    nb["cells"][index]["source"] = source
    message = refused(nb)
    assert f"cell {index + 1}" in message and said in message


def test_a_mistake_that_defines_an_unknown_function_is_refused():
    nb = notebook()
    index = cell_index(nb, "mistake:sum_instead_of_mean")
    nb["cells"][index]["source"] = "def mean_squared(pred, target):\n    return 0"
    said = refused(nb)
    assert f"cell {index + 1} (mistake 'sum_instead_of_mean')" in said and "exactly one function, mse" in said


def test_a_mistake_whose_config_names_an_unknown_function_is_refused():
    said = refused(with_config(CONFIG.format(name=NAME).replace('function = "mse"', 'function = "msee"')))
    assert "'function' 'msee' is not one of the [functions] (mse)" in said


def test_a_mistake_cell_without_config_and_config_without_cell_are_refused():
    nb = notebook()
    nb["cells"][cell_index(nb, "mistake:sum_instead_of_mean")]["metadata"]["tags"] = ["mistake:other"]
    assert "mistake 'other' has no [mistakes.other]" in refused(nb)
    nb = notebook()
    del nb["cells"][cell_index(nb, "mistake:sum_instead_of_mean")]
    assert "[mistakes.sum_instead_of_mean] has no code cell tagged mistake:sum_instead_of_mean" in refused(nb)


def test_duplicate_mistake_cells_answer_cells_definitions_and_config_keys_are_refused():
    nb = notebook()
    nb["cells"].append(copy.deepcopy(nb["cells"][cell_index(nb, "mistake:sum_instead_of_mean")]))
    assert f"cell {len(nb['cells'])}: a second cell for mistake 'sum_instead_of_mean'" in refused(nb)
    nb = notebook()
    nb["cells"].append(copy.deepcopy(nb["cells"][cell_index(nb, "answer:why_mean")]))
    assert "a second answer cell tagged answer:why_mean" in refused(nb)
    nb = notebook()
    nb["cells"].append(copy.deepcopy(nb["cells"][solution_index(nb)]))
    assert "mse is defined a second time" in refused(nb)
    said = refused(with_config(CONFIG.format(name=NAME) + "\n[functions.mse]\npoints = 1\n"))
    assert "not valid TOML" in said
    said = refused(with_config(CONFIG.format(name=NAME).replace('key = "vague"', 'key = "batch_size"')))
    assert "two rubric items share a key (batch_size)" in said


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        ("points = 2", 'points = "two"', "'points' must be a float"),
        ("points = 2", "points = nan", "'points' must be a float"),
        ("points = 2", "points = true", "'points' must be a float"),
        ("points = 2", "points = 0", "'points' must be more than 0"),
        ("points = 1\n", "points = -1\n", "'points' must not be negative"),
        ("rtol = 1e-5", "rtol = -1e-5", "'rtol' and 'atol' must not be negative"),
        ("points = 2", "point = 2", "unknown keys ['point']"),
        ('version = "1"', "version = 1", "'version' must be a str"),
        ("public_seed = 1", "public_seed = 1.5", "'public_seed' must be a int"),
        ('id = "{name}"', 'id = "Unit One"', "must be lower-case letters"),
        ('key = "vague"', 'key = "vague words"', "a rubric item's key is"),
        ("[functions.mse]", "[functions.mse_two]", "the solution defines no function mse_two"),
        ("[questions.why_mean]", "[questions.why_sum]", "no markdown cell is tagged answer:why_sum"),
        ("[functions.mse]", "[functions.Bad-Name]", "a name is lower-case letters"),
        ('title = "{name}"', 'title = "{name}', "not valid TOML"),
    ],
)
def test_a_bad_config_value_names_the_config_cell_and_the_field(before, after, said):
    config = CONFIG.replace(before, after, 1).format(name=NAME)
    message = refused(with_config(config))
    assert said in message
    assert f"cell {cell_index(notebook(), CONFIG_TAG) + 1}" in message


@pytest.mark.parametrize("tag", [CONFIG_TAG, "inputs", "parameters"])
def test_a_notebook_without_one_of_its_required_cells_or_with_two_says_which(tag):
    nb = notebook()
    index = cell_index(nb, tag)
    nb["cells"][index]["metadata"]["tags"] = []
    assert "exactly one" in refused(nb) and repr(tag) in refused(nb)
    nb = notebook()
    nb["cells"].append(copy.deepcopy(nb["cells"][index]))
    assert f"cells {index + 1}, {len(nb['cells'])}" in refused(nb)


def test_an_answer_cell_without_its_question_is_refused():
    nb = notebook()
    nb["cells"][cell_index(nb, "answer:why_mean")]["metadata"]["tags"].append("answer:another")
    nb["cells"].append({"cell_type": "markdown", "metadata": {"tags": ["answer:another"]}, "source": "x"})
    assert "answer:another has no [questions.another]" in refused(nb)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(max_size=300)
    | st.sampled_from(CONFIG.format(name=NAME).splitlines()).map(lambda line: CONFIG.format(name=NAME).replace(line, ""))
)
def test_any_config_text_is_read_or_refused_as_a_usage_error(text):
    with contextlib.suppress(UsageError):  # any other exception fails the test
        parse(with_config(text))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["tags", "source", "cell_type", "metadata"]), max_size=3), st.sampled_from([None, 3, [], {}, "x", [1]]))
def test_any_malformed_cell_field_is_read_or_refused_as_a_usage_error(fields, value):
    nb = json.loads(json.dumps(notebook()))
    for number, name in enumerate(fields):
        cell = nb["cells"][number * 3 % len(nb["cells"])]
        (cell["metadata"] if name == "tags" else cell)[name] = value
    with contextlib.suppress(UsageError):  # any other exception fails the test
        parse(nb)
