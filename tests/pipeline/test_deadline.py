"""The time limit on assessing one submission (graders/pipeline/deadline.py): work past it is
stopped wherever it is and whatever it catches, no timer outlives the block, and in a batch the
submission that ran out of time is its own `error` while the others are graded.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from graders.pipeline import deadline
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.pipeline.deadline import AssessmentTimeout, assessment_limit
from tests.broken import CORRECT_CODE, notebook
from tests.conftest import GRADING_SEED

GIVE_UP = 120.0  # CPU seconds a spin runs before it returns on its own: only if no limit stopped it


def spin(cpu_seconds: float = GIVE_UP) -> None:
    """Busy work, the kind a slow parser does, until stopped or `cpu_seconds` of this thread's CPU are used."""
    started = time.thread_time()
    while time.thread_time() - started < cpu_seconds:
        pass


def test_work_past_the_limit_is_stopped_with_a_message_for_the_student():
    started = time.thread_time()
    with pytest.raises(AssessmentTimeout) as stopped, assessment_limit(0.3):
        spin()
    assert time.thread_time() - started < GIVE_UP / 2
    assert str(stopped.value) == "the grader stopped assessing it after 0.3 s; course staff can see where in the grader's output"


def test_the_work_cannot_catch_the_timeout_as_an_ordinary_error():
    caught = []
    with pytest.raises(AssessmentTimeout), assessment_limit(0.3):
        try:
            spin()
        except Exception as exc:  # noqa: BLE001 - what a library's broad handler would do
            caught.append(exc)
    assert caught == []


def test_no_timer_and_no_handler_outlive_the_block():
    handler = signal.getsignal(signal.SIGALRM)
    with assessment_limit(0.3):
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler
    spin(0.5)  # an alarm left behind would raise here


def test_the_default_limit_is_the_module_constant(monkeypatch):
    monkeypatch.setattr(deadline, "ASSESSMENT_SECONDS", 0.2)
    with pytest.raises(AssessmentTimeout, match="after 0.2 s"), assessment_limit():
        spin()


def test_off_the_main_thread_the_block_runs_without_a_limit():
    outcome: list[str] = []

    def work() -> None:
        try:
            with assessment_limit(0.05):
                spin(0.3)
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
            outcome.append(repr(exc))
        else:
            outcome.append("finished")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert outcome == ["finished"]


@pytest.mark.e2e
def test_a_submission_whose_assessment_runs_out_of_time_is_its_error_and_the_batch_goes_on(tmp_path, grading_data, monkeypatch):
    from graders.pipeline import submission as pipeline

    corpus = tmp_path / "subs"
    corpus.mkdir()
    for name in ("stalls", "spared"):
        (corpus / f"{name}.ipynb").write_text(notebook(CORRECT_CODE), encoding="utf-8")
    real_assess = pipeline.assess

    def assess_stalling(prepared, *args, **kwargs):  # no real notebook makes assessing this slow: its reading is bounded
        if prepared.pending.submission.id == "stalls":
            time.sleep(GIVE_UP)  # blocked time is used time too; asleep, it leaves the CPUs to the notebooks
        return real_assess(prepared, *args, **kwargs)

    monkeypatch.setattr(pipeline, "assess", assess_stalling)
    # Above the grader's one-time training of the reference experiment (about 1.5 s of CPU), which
    # happens inside whichever assessment first needs it.
    monkeypatch.setattr(deadline, "ASSESSMENT_SECONDS", 10.0)
    config = GradingConfig(seed=GRADING_SEED, data_dir=grading_data, jobs=2)
    results = {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path / "out", config=config)}
    stalled = results["stalls"]
    assert stalled.status.value == "error"
    assert (
        stalled.message
        == "Your notebook could not be graded: the grader stopped assessing it after 10 s; course staff can see where in the grader's output."
    )
    assert results["spared"].score == 12
    assert json.loads((tmp_path / "out" / "stalls" / "results.json").read_text())["provenance"]["cache_key"] == ""  # tried again next run
