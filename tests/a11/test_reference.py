"""Assignment 11's committed artefacts are current: the stored public values and the notebooks."""

from __future__ import annotations

import numpy as np

from assignments.a11 import ASSIGNMENT
from assignments.a11.expected import STORED_PUBLIC
from assignments.a11.handout import notebooks
from graders.judge.expected import stored_reference


def test_the_stored_public_values_are_the_reference_s_on_the_public_inputs():
    plan = ASSIGNMENT.build_plan(seed=0, hidden=False, data_dir=None)
    stored = stored_reference(STORED_PUBLIC, ASSIGNMENT.reference_hash(), plan)
    assert stored is not None, "stale: run python -m assignments.a11.expected"
    fresh = ASSIGNMENT.compute_expected(plan).reference
    assert set(stored.calls) == set(fresh.calls) == {cid for case in plan.cases for cid in case.call_ids()}
    for cid, call in fresh.calls.items():
        assert np.array_equal(np.asarray(stored.calls[cid].value), np.asarray(call.value)), cid


def test_the_committed_notebooks_are_what_the_handout_builds_and_name_their_assignment():
    assert notebooks.main(["--check"]) == 0
    for name in notebooks.NOTEBOOKS:
        assert f'"assignment": "{ASSIGNMENT.id}"' in (notebooks.ROOT / name).read_text(encoding="utf-8")
