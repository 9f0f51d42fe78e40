"""Pipeline rules that need no kernel."""

from __future__ import annotations

import sys
from pathlib import Path

from graders.pipeline import interpreter_dirs


def test_the_interpreter_stays_visible_in_the_sandbox_wherever_it_lives():
    kept = interpreter_dirs(("/nowhere/hidden",))
    assert str(Path(sys.prefix).resolve()) in kept and str(Path(sys.base_prefix).resolve()) in kept


def test_a_prefix_holding_a_hidden_folder_is_not_brought_back():
    inside_the_venv = str(Path(sys.prefix).resolve() / "secret")
    assert str(Path(sys.prefix).resolve()) not in interpreter_dirs((inside_the_venv,))
