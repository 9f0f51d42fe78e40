"""Forged probe payloads through real kernels: the grader decodes no size it did not choose, and a
forged experiment earns nothing. Each batch runs in its own process so that its peak memory
(ru_maxrss of the grader process alone; notebooks run in the zygote's children) can be measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GRADING_SEED
from tests.hostile import forging_notebooks

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GRADE_ONE = """
import json, resource, sys
from pathlib import Path
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
(result,) = grade_folder(Path(sys.argv[1]), out_dir=Path(sys.argv[2]),
                         config=GradingConfig(seed=int(sys.argv[4]), jobs=1, data_dir=Path(sys.argv[3])))
print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "checks": {c.id: c.status.value for c in result.checks}}))
"""


def grade_alone(name: str, tmp_path: Path, grading_data: Path) -> dict:
    folder = tmp_path / name / "in"
    folder.mkdir(parents=True)
    (folder / f"{name}.ipynb").write_text(forging_notebooks()[name], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", GRADE_ONE, str(folder), str(tmp_path / name / "out"), str(grading_data), str(GRADING_SEED)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_oversized_payload_leaves_the_graders_memory_where_a_normal_batch_has_it(tmp_path, grading_data):
    honest = grade_alone("honest", tmp_path, grading_data)
    bomb = grade_alone("oversized-payload", tmp_path, grading_data)
    assert set(honest["checks"].values()) == {"pass"}
    # The two replaced calls are refused unread; decoding them would have cost 256 MiB, 2 GiB as float64.
    assert bomb["checks"]["closed_form.mu"] == "error" and bomb["checks"]["vae_loss.reconstruction"] == "error"
    assert bomb["peak_kib"] < honest["peak_kib"] + 64 * 1024, (bomb, honest)


def test_a_forged_experiment_earns_nothing(tmp_path, grading_data):
    forged = grade_alone("forged-experiment", tmp_path, grading_data)
    assert forged["checks"]["experiment.kl_tradeoff"] == "fail"
    assert forged["checks"]["vae_loss.kl"] == "fail"
