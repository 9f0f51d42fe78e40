"""graders.execute.untrusted: what a notebook could leave in its work dir is read without trusting it."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from graders.execute.untrusted import read_json, read_regular_file


def test_a_regular_file_within_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b"12345")
    assert read_regular_file(path, 5) == b"12345"
    assert read_regular_file(path, 4) is None  # one byte over


def test_links_directories_fifos_and_missing_files_are_refused_without_blocking(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_text('{"a": 1}')
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    results: dict[str, object] = {}

    def read_all() -> None:
        for name in ("link", "dir", "fifo", "missing"):
            results[name] = read_regular_file(tmp_path / name, 1 << 20)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert results == {"link": None, "dir": None, "fifo": None, "missing": None}


def test_read_json_returns_none_for_garbage_deep_nesting_and_bad_encoding(tmp_path: Path) -> None:
    cases = {
        "good": (json.dumps({"source": "x = 1"}).encode(), {"source": "x = 1"}),
        "garbage": (b"{not json", None),
        "deep": (b"[" * 200_000 + b"]" * 200_000, None),
        "latin1": ('{"a": "\xe9"}'.encode("latin-1"), None),
        "empty": (b"", None),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert read_json(tmp_path / name, 1 << 22) == expected, name
    assert read_json(tmp_path / "good", 5) is None  # over the cap: not even parsed
