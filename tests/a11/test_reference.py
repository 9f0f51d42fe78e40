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
    # To float32's last bits, not to the bit: torch's vectorised softmax and layer norm differ by a few units in
    # the last place from one CPU to another (8 at most between the machine that stored these and an AMD EPYC),
    # far inside every check's tolerance; a changed reference moves values by far more, and changes its hash.
    for cid, call in fresh.calls.items():
        np.testing.assert_allclose(np.asarray(stored.calls[cid].value), np.asarray(call.value), rtol=1e-6, atol=1e-7, err_msg=cid)


def test_the_committed_notebooks_are_what_the_handout_builds_and_name_their_assignment():
    assert notebooks.main(["--check"]) == 0
    for name in notebooks.NOTEBOOKS:
        assert f'"assignment": "{ASSIGNMENT.id}"' in (notebooks.ROOT / name).read_text(encoding="utf-8")
