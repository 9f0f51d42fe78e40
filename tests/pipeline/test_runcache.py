"""The experiment's trained runs kept on disk (graders.pipeline.runcache): a hit gives back exactly what
training gave and trains nothing; anything that changes the run misses; a file that is not the run's own
(damaged, oversized, forged, another key's, a link) is trained again and rewritten, never believed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assignments.a10 import ASSIGNMENT
from assignments.a10 import expected as a10_expected
from assignments.a10.contract import VAE_LOSS
from assignments.a10.plan import build_plan
from graders.judge.expected import TrainedRuns, TrainingFailed
from graders.judge.probes import ProbePlan
from graders.pipeline import runcache
from graders.pipeline.config import GradingConfig
from graders.pipeline.runcache import RunCache, run_cache
from reference.a10.misconceptions import flag_subsets
from tests.conftest import GRADING_SEED

REFERENCE = frozenset[str]()
MISTAKE = next(flags for flags in flag_subsets(VAE_LOSS.name) if flags)


class CountingTrainer:
    """The assignment's real trainer, counted: how many runs were trained rather than read back."""

    def __init__(self, plan: ProbePlan) -> None:
        self._train = partial(a10_expected._train, plan.experiment)
        self.calls: list[frozenset[str]] = []

    def __call__(self, flags: frozenset[str]) -> Mapping[str, Any]:
        self.calls.append(flags)
        return self._train(flags)


@pytest.fixture
def config(tmp_path: Path, grading_data: Path) -> GradingConfig:
    return GradingConfig(seed=GRADING_SEED, data_dir=grading_data, run_cache=tmp_path / "runs", assignment=ASSIGNMENT)


def store_for(config: GradingConfig, grading_data: Path, *, plan: ProbePlan | None = None, reference_hash: str | None = None) -> RunCache:
    plan = plan or build_plan(seed=config.seed, hidden=config.hidden, data_dir=grading_data)
    store = run_cache(config, plan, reference_hash=reference_hash or ASSIGNMENT.reference_hash(), data_dir=grading_data)
    assert store is not None
    return store


def trained(store: RunCache, plan: ProbePlan, flags: frozenset[str]) -> tuple[Any, list[frozenset[str]]]:
    """A new batch's view: a fresh memo, the real trainer counted."""
    trainer = CountingTrainer(plan)
    return TrainedRuns(trainer, store)(flags), trainer.calls


def same_runs(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """The same weights, and under each the same values to the bit (dtype and shape included)."""
    return list(a) == list(b) and all(
        len(x) == len(y)
        and all(
            np.asarray(u).dtype == np.asarray(v).dtype and np.asarray(u).tobytes() == np.asarray(v).tobytes()
            for u, v in zip(x, y, strict=True)
        )
        for x, y in zip(a.values(), b.values(), strict=True)
    )


@pytest.mark.parametrize("flags", [REFERENCE, MISTAKE], ids=["reference", "mistake"])
def test_a_second_batch_reads_the_run_back_exactly_and_trains_nothing(
    config: GradingConfig, grading_data: Path, plan: ProbePlan, flags: frozenset[str]
) -> None:
    store = store_for(config, grading_data, plan=plan)
    first, first_calls = trained(store, plan, flags)
    again, again_calls = trained(store, plan, flags)
    assert (first_calls, again_calls) == ([flags], [])
    assert same_runs(first, again)
    assert same_runs(first, CountingTrainer(plan)(flags))  # what the cache gives is what training gives


def test_the_reference_and_a_mistake_are_kept_apart(config: GradingConfig, grading_data: Path, plan: ProbePlan) -> None:
    store = store_for(config, grading_data, plan=plan)
    trained(store, plan, REFERENCE)
    mistake, calls = trained(store, plan, MISTAKE)
    assert calls == [MISTAKE]
    assert not same_runs(mistake, trained(store, plan, REFERENCE)[0])


KEY_CHANGES: dict[str, Callable[[GradingConfig], dict[str, Any]]] = {
    "seed": lambda c: {"config": replace(c, seed=c.seed + 1)},
    "hidden inputs": lambda c: {"config": replace(c, hidden=not c.hidden)},
    "reference": lambda c: {"reference_hash": "0" * 16},
    "assignment version": lambda c: {"config": replace(c, assignment=VersionBumped())},
}


class VersionBumped(type(ASSIGNMENT)):  # type: ignore[misc]
    """Assignment 10 as a later version of it would be: the same everything, another `version`."""

    version = ASSIGNMENT.version + ".1"


@pytest.mark.parametrize("change", KEY_CHANGES, ids=list(KEY_CHANGES))
def test_a_change_to_what_decides_the_run_misses(config: GradingConfig, grading_data: Path, plan: ProbePlan, change: str) -> None:
    trained(store_for(config, grading_data, plan=plan), plan, REFERENCE)
    changed = KEY_CHANGES[change](config)
    other = store_for(changed.get("config", config), grading_data, plan=plan, reference_hash=changed.get("reference_hash"))
    assert other.load(REFERENCE) is None


def test_another_torch_misses(config: GradingConfig, grading_data: Path, plan: ProbePlan, monkeypatch: pytest.MonkeyPatch) -> None:
    trained(store_for(config, grading_data, plan=plan), plan, REFERENCE)
    monkeypatch.setattr(runcache, "version", lambda package: "0.0-other" if package == "torch" else "x")
    assert store_for(config, grading_data, plan=plan).load(REFERENCE) is None


def test_changed_grading_data_misses(config: GradingConfig, grading_data: Path, plan: ProbePlan) -> None:
    store = store_for(config, grading_data, plan=plan)
    trained(store, plan, REFERENCE)
    data = next(grading_data / p for p in ASSIGNMENT.data_files(grading_data))
    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        assert store_for(config, grading_data, plan=plan).load(REFERENCE) is None
    finally:
        os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def only_file(store: RunCache) -> Path:
    (path,) = store.folder.glob("*.json")
    return path


def forged_shape(text: str) -> str:
    document = json.loads(text)
    document["runs"]["items"][0]["items"][0]["shape"] = [10**9, 10**9]
    return json.dumps(document)


DAMAGE: dict[str, Callable[[str], str]] = {
    "truncated": lambda text: text[: len(text) // 2],
    "not JSON": lambda text: "\x00\xff garbage",
    "NaN constant": lambda text: text.replace('"format": 1', '"format": NaN'),
    "another format": lambda text: text.replace('"format": 1', '"format": 2'),
    "forged shape": forged_shape,
    "names and runs disagree": lambda text: text.replace('"names": [', '"names": ["extra", '),
    "not an object": lambda text: "[]",
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_file_is_trained_again_and_rewritten(config: GradingConfig, grading_data: Path, plan: ProbePlan, damage: str) -> None:
    store = store_for(config, grading_data, plan=plan)
    original, _ = trained(store, plan, REFERENCE)
    path = only_file(store)
    path.write_text(DAMAGE[damage](path.read_text(encoding="utf-8")), encoding="utf-8", errors="surrogateescape")
    again, calls = trained(store, plan, REFERENCE)
    assert calls == [REFERENCE]
    assert same_runs(original, again)
    assert trained(store, plan, REFERENCE)[1] == []  # rewritten whole


def test_an_oversized_file_is_not_read(config: GradingConfig, grading_data: Path, plan: ProbePlan) -> None:
    """Valid JSON, the right key, but padded past what the run's budget allows: refused before parsing."""
    store = store_for(config, grading_data, plan=plan)
    trained(store, plan, REFERENCE)
    path = only_file(store)
    with path.open("a", encoding="utf-8") as file:
        file.write(" " * (runcache._SLACK_BYTES + runcache._BYTES_PER_ELEMENT * store.budget))
    _, calls = trained(store, plan, REFERENCE)
    assert calls == [REFERENCE]


def test_another_keys_file_in_its_place_is_not_believed(config: GradingConfig, grading_data: Path, plan: ProbePlan) -> None:
    """A run copied or renamed from another key (a mistake's, here) is not this run, whatever its name."""
    store = store_for(config, grading_data, plan=plan)
    trained(store, plan, MISTAKE)
    foreign = only_file(store)
    reference_path = store.folder / foreign.name.replace(foreign.name[:32], store._digest(REFERENCE)[:32])
    reference_path.write_bytes(foreign.read_bytes())
    _, calls = trained(store, plan, REFERENCE)
    assert calls == [REFERENCE]


def test_a_link_is_not_followed(config: GradingConfig, grading_data: Path, plan: ProbePlan, tmp_path: Path) -> None:
    store = store_for(config, grading_data, plan=plan)
    trained(store, plan, REFERENCE)
    path = only_file(store)
    elsewhere = tmp_path / "elsewhere.json"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    assert store.load(REFERENCE) is None


def test_the_cache_is_the_graders_own(config: GradingConfig, grading_data: Path, plan: ProbePlan) -> None:
    """Values from the grading seed: a folder and files only the grader's user can open, and no seed spelled out."""
    store = store_for(config, grading_data, plan=plan)
    trained(store, plan, REFERENCE)
    path = only_file(store)
    assert (store.folder.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)
    assert str(GRADING_SEED) not in path.name
    assert not [p for p in store.folder.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_a_cache_that_cannot_be_written_still_grades(
    config: GradingConfig, grading_data: Path, plan: ProbePlan, capsys: pytest.CaptureFixture[str]
) -> None:
    assert config.run_cache is not None
    config.run_cache.parent.mkdir(parents=True, exist_ok=True)
    config.run_cache.write_text("a file where the folder should be")
    store = store_for(config, grading_data, plan=plan)
    runs, calls = trained(store, plan, REFERENCE)
    assert calls == [REFERENCE] and same_runs(runs, CountingTrainer(plan)(REFERENCE))
    assert "trained again next time" in capsys.readouterr().err


def test_what_would_not_come_back_the_same_is_not_kept(tmp_path: Path) -> None:
    """A value the codec keeps only as its text (here a string) would be read back as something else: not stored."""
    store = RunCache(tmp_path / "runs", "k" * 64, budget=10)
    store.save(REFERENCE, {"0.0": (np.zeros(2), "not an array")})
    assert not (tmp_path / "runs").exists()


def test_a_failed_training_is_not_kept(tmp_path: Path) -> None:
    """A variant whose training raises fails again the next batch, the same way, rather than from a file."""

    def broken(flags: frozenset[str]) -> Mapping[str, Any]:
        raise FloatingPointError("the loss is infinite at this weight")

    store = RunCache(tmp_path / "runs", "k" * 64, budget=10)
    assert isinstance(TrainedRuns(broken, store)(MISTAKE), TrainingFailed)
    assert store.load(MISTAKE) is None


def test_no_cache_folder_means_no_store(config: GradingConfig, grading_data: Path, plan: ProbePlan) -> None:
    assert run_cache(replace(config, run_cache=None), plan, reference_hash=ASSIGNMENT.reference_hash(), data_dir=grading_data) is None


def without_timings(path: Path) -> Any:
    """results.json as a user compares it: every field but the wall-clock ones (`seconds`, `rescored_at`, anywhere) and the
    sandbox's record, which names each batch's own scratch folder."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in {"seconds", "rescored_at", "sandbox"}}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.e2e
def test_grading_gives_the_same_results_with_and_without_the_cache(grading_data: Path, tmp_path: Path) -> None:
    """The solution and a mistake whose variant the experiment check trains: graded with no cache, with a cold
    one (filled) and a warm one (read back, nothing rewritten): results.json the same but for timings."""
    from graders.pipeline.batch import grade_folder

    root = Path(__file__).resolve().parents[2]
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("solution", "weight-on-reconstruction"):
        (folder / f"{name}.ipynb").write_bytes((root / "submissions" / "a10" / f"{name}.ipynb").read_bytes())
    base = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=2, data_dir=grading_data, force=True, assignment=ASSIGNMENT)
    cache = tmp_path / "runs"
    graded = {}
    for way, config in {
        "none": replace(base, run_cache=None),
        "cold": replace(base, run_cache=cache),
        "warm": replace(base, run_cache=cache),
    }.items():
        if way == "warm":
            kept = {p.name: p.stat().st_ino for p in cache.rglob("*.json")}
        grade_folder(folder, out_dir=tmp_path / way, config=config)
        graded[way] = {p.parent.name: without_timings(p) for p in (tmp_path / way).glob("*/results.json")}
    assert set(graded["none"]) == {"solution", "weight-on-reconstruction"}
    assert graded["none"] == graded["cold"] == graded["warm"]
    assert len(kept) == 2  # the reference's run and the named mistake's
    assert {p.name: p.stat().st_ino for p in cache.rglob("*.json")} == kept  # the warm batch read them, trained nothing
