"""The bench's arithmetic: the CPU split of a py-spy profile by process kind, and the fixed/marginal line fit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from cpu_split import own_code_share, split

from bench import line_fit

GRADER = 'process 7481:"python3 grader grade c20 --out r20p"'
ZYGOTE = 'process 7493:"python3 -m graders.execute.zygote"'
CHILD = 'process 7626:"python3 -m graders.execute.zygote"'
RUN_CELL = "InteractiveShell.run_code (IPython/core/interactiveshell.py:3823)"


def stack(*frames: str, samples: int) -> str:
    return ";".join(frames) + f" {samples}"


def test_each_sample_goes_to_its_process_kind_and_the_first_matching_category() -> None:
    lines = [
        # the notebook's training loop, in a forked child (three process frames)
        stack(
            GRADER,
            ZYGOTE,
            CHILD,
            RUN_CELL,
            "train_vae (<ipython-input-5-2339f941c13c>:20)",
            "backward (torch/autograd/__init__.py:395)",
            samples=60,
        ),
        # the student's loss called by the probe's experiment: the probe's, though a notebook frame is below it
        stack(
            GRADER,
            ZYGOTE,
            CHILD,
            RUN_CELL,
            "<module> (<ipython-input-7-aaaa>:1)",
            "run_probes (a10_grader_probe_runtime:470)",
            "run_experiment (grader_assignment_kernel:57)",
            "vae_loss (<ipython-input-4-9c5d13696198>:9)",
            samples=20,
        ),
        stack(
            GRADER, ZYGOTE, CHILD, RUN_CELL, "<module> (<ipython-input-7-aaaa>:1)", "run_call (a10_grader_probe_runtime:415)", samples=10
        ),
        stack(GRADER, ZYGOTE, CHILD, "run_child (graders/execute/child.py:67)", "validate (nbformat/validator.py:434)", samples=10),
        stack(GRADER, ZYGOTE, "<module> (graders/execute/zygote.py:1)", "_find_and_load (<frozen importlib._bootstrap>:1)", samples=30),
        stack(GRADER, ZYGOTE, "serve (graders/execute/zygote.py:122)", "warm_up (graders/execute/zygote.py:70)", samples=10),
        stack(GRADER, "_run (graders/pipeline/batch.py:120)", "compute_expected (assignments/a10/expected.py:1)", samples=4),
        stack(GRADER, "finding (graders/judge/kinds/sampler.py:140)", "sample_tests (graders/judge/sampling.py:87)", samples=2),
        "",  # py-spy's empty lines and a line with no count are skipped
        "garbage",
    ]
    seconds = split(lines, rate=100)
    assert seconds["child"] == {
        "notebook's own code": 0.6,
        "probe: experiment (two trainings)": 0.2,
        "probe: calls and encoding": 0.1,
        "fork, sandbox, papermill, exit": 0.1,
    }
    assert seconds["zygote"] == {"imports": 0.3, "warm-up": 0.1}
    assert seconds["grader"] == {"reference's and variants' values": 0.04, "sampling tests": 0.02}
    assert own_code_share(seconds) == pytest.approx(0.6)


def test_a_profile_of_no_child_has_no_own_code_share() -> None:
    assert own_code_share(split([stack(GRADER, "main (graders/cli/__init__.py:47)", samples=5)], rate=100)) == 0.0


def test_the_line_fit_recovers_fixed_and_marginal_costs() -> None:
    # wall = 4.5 + 0.15 N (4.65, 7.5 and 19.5 s), measured twice at each N, 0.1 s above and below
    points = [(1, 4.75), (1, 4.55), (20, 7.6), (20, 7.4), (100, 19.6), (100, 19.4)]
    fixed, marginal = line_fit(points)
    assert fixed == pytest.approx(4.5)
    assert marginal == pytest.approx(0.15)
