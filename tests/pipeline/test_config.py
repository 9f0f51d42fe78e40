"""graders/pipeline/config.py: every setting that decides a grade reaches RunSettings (and with it the cache key)."""

from __future__ import annotations

from dataclasses import fields

from assignments.a10 import ASSIGNMENT
from graders.assignment.spec import Scoring
from graders.pipeline.config import GradingConfig
from graders.settings import CourseSecretSeed, GivenSeed, RunSettings

CONFIG = GradingConfig(seed=5, cell_timeout=33.0, memory_bytes=3, disk_bytes=4, hidden=False, scoring=Scoring.STRICT, jobs=1)


def test_every_config_field_is_a_setting_or_says_how_a_run_goes():
    settings = {f.name for f in fields(RunSettings)}
    undeclared = [f.name for f in fields(GradingConfig) if f.name not in GradingConfig.HOW_IT_RUNS and f.name not in settings]
    assert undeclared == []


def test_run_settings_carry_every_shared_field_the_seed_and_the_assignment():
    settings = CONFIG.run_settings()
    shared = [f.name for f in fields(GradingConfig) if f.name not in GradingConfig.HOW_IT_RUNS]
    assert {name: getattr(settings, name) for name in shared} == {name: getattr(CONFIG, name) for name in shared}
    assert settings.seed == GivenSeed(5)
    assert (settings.assignment_id, settings.assignment_version) == (ASSIGNMENT.id, ASSIGNMENT.version)


def test_a_seed_drawn_from_the_course_secret_is_recorded_by_its_hash_only():
    config = GradingConfig(seed=123456789, secret_hash="00ff", jobs=1)  # noqa: S106  # a hash, not a password
    assert config.run_settings().seed == CourseSecretSeed("00ff")
    assert "123456789" not in config.run_settings().canonical()


def test_from_settings_grades_as_the_recorded_settings_did():
    again = GradingConfig.from_settings(CONFIG.run_settings(), seed=5, secret_hash="", assignment=ASSIGNMENT, data_dir=None)
    assert again.run_settings() == CONFIG.run_settings()
