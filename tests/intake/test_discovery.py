"""Which files are submissions, and what their ids are: safe path components, whatever the folder holds."""

from __future__ import annotations

import os
import socket
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graders.errors import UsageError
from graders.intake.discovery import find_submissions, safe_id


def ids(folder: Path) -> list[str]:
    return [s.id for s in find_submissions(folder).submissions]


def test_top_level_notebooks_and_student_folders(tmp_path):
    (tmp_path / "alice.ipynb").write_text("{}")
    (tmp_path / "bob smith").mkdir()
    (tmp_path / "bob smith" / "a10.ipynb").write_text("{}")
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a notebook")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "alice-checkpoint.ipynb").write_text("{}")
    found = find_submissions(tmp_path).submissions
    assert [(s.id, s.path.name) for s in found] == [("alice", "alice.ipynb"), ("bob smith", "a10.ipynb")]


def test_unicode_names_are_normalised(tmp_path):
    (tmp_path / unicodedata.normalize("NFD", "zoë.ipynb")).write_text("{}")
    assert ids(tmp_path) == ["zoë"]


def test_two_files_for_one_id_are_both_graded_and_flagged(tmp_path):
    (tmp_path / "carol.ipynb").write_text("{}")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "hw.ipynb").write_text("{}")
    found = find_submissions(tmp_path).submissions
    assert [s.id for s in found] == ["carol", "carol~2"]
    assert all("both map to the student id 'carol'" in s.note for s in found)


def test_extra_notebooks_in_a_student_folder_are_a_warning_for_staff(tmp_path):
    (tmp_path / "dave").mkdir()
    for name in ("a.ipynb", "b.ipynb"):
        (tmp_path / "dave" / name).write_text("{}")
    discovery = find_submissions(tmp_path)
    assert [(s.id, s.path.name) for s in discovery.submissions] == [("dave", "a.ipynb")]
    assert discovery.warnings == ("dave/: graded a.ipynb, ignored b.ipynb",)


# Every kind of hidden entry that would claim the id `s123` if it were graded: a stray copy, a
# hidden student folder, macOS's AppleDouble file, Jupyter's checkpoints, and a name that is all dots.
HIDDEN_CLAIMANTS = {
    ".s123.ipynb": "file",
    "._s123.ipynb": "file",
    ".s123": "folder",
    ".ipynb_checkpoints": "folder",
    "..ipynb": "file",
}


def plant(path: Path, kind: str) -> None:
    if kind == "file":
        path.write_text("{}")
    else:
        path.mkdir()
        (path / "s123-checkpoint.ipynb").write_text("{}")


@pytest.mark.parametrize("layout", ["folder", "file"])
@pytest.mark.parametrize("hidden", HIDDEN_CLAIMANTS)
def test_a_hidden_entry_never_takes_a_students_id(tmp_path, hidden, layout):
    """`.s123.ipynb` sorted before `s123/` took the id `s123`, and the real notebook became `s123~2`."""
    real = tmp_path / "s123" / "work.ipynb" if layout == "folder" else tmp_path / "s123.ipynb"
    real.parent.mkdir(exist_ok=True)
    real.write_text("{}")
    plant(tmp_path / hidden, HIDDEN_CLAIMANTS[hidden])
    discovery = find_submissions(tmp_path)
    assert [(s.id, s.path, s.note) for s in discovery.submissions] == [("s123", real, "")]
    shown = hidden + ("/" if HIDDEN_CLAIMANTS[hidden] == "folder" else "")
    assert len(discovery.warnings) == 1 and repr(shown) in discovery.warnings[0], discovery.warnings


def test_hidden_entries_alone_are_not_graded_but_named_for_staff(tmp_path):
    for name, kind in HIDDEN_CLAIMANTS.items():
        plant(tmp_path / name, kind)
    (tmp_path / ".DS_Store").write_text("")  # not a submission under any name: not worth a warning
    discovery = find_submissions(tmp_path)
    assert discovery.submissions == ()
    assert discovery.warnings == (
        "skipped hidden entries (never graded; rename one if it is a submission): "
        "'..ipynb', '._s123.ipynb', '.ipynb_checkpoints/', '.s123/', '.s123.ipynb'",
    )


def test_hidden_notebooks_in_a_student_folder_are_skipped_with_a_warning(tmp_path):
    for student in ("erin", "frank"):
        (tmp_path / student).mkdir()
        for name in (".a.ipynb", "._a.ipynb"):
            (tmp_path / student / name).write_text("{}")
    (tmp_path / "erin" / "work.ipynb").write_text("{}")
    discovery = find_submissions(tmp_path)
    assert [(s.id, s.path.name) for s in discovery.submissions] == [("erin", "work.ipynb")]
    assert discovery.warnings == (
        "erin/: graded work.ipynb, skipped hidden '._a.ipynb', '.a.ipynb' (never graded)",
        "frank/: no notebook graded; skipped hidden '._a.ipynb', '.a.ipynb' (never graded)",
    )


def test_the_hidden_entries_warning_is_one_bounded_line_whatever_the_names(tmp_path):
    for number in range(40):
        (tmp_path / f".{number:02d}\nfake warning line{'x' * 200}.ipynb").write_text("{}")
    (warning,) = find_submissions(tmp_path).warnings
    assert "\n" not in warning and "\\nfake" in warning  # escaped, so it cannot pose as another line
    assert warning.endswith(" and 35 more") and len(warning) < 1000


def test_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        find_submissions(tmp_path / "nope")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("..", "submission"),
        (".", "submission"),
        ("", "submission"),
        ("...", "submission"),
        (".hidden", "hidden"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("a\u2215b", "a_b"),  # DIVISION SLASH looks like a separator
        ("a\uff0fb", "a_b"),  # FULLWIDTH SOLIDUS
        ("line\nbreak", "line_break"),
        ("tab\there", "tab_here"),
        ("nul\x00", "nul_"),
        ("  spaced  ", "spaced"),
        ("zoë smith", "zoë smith"),
        ("bad\udcffbyte", "bad_byte"),  # a non-UTF-8 byte, as os.listdir escapes it
        ("<script>", "_script_"),
        ("x" * 300, "x" * 100),
    ],
)
def test_ids_are_safe_path_components(name, expected):
    assert safe_id(name) == expected


NAMES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(["..", ".", "...", "/", "a/../b", "\n", ""])


@given(NAMES)
def test_every_name_becomes_a_component_that_stays_inside_its_parent(name):
    sid = safe_id(name)
    assert sid and sid not in (".", "..") and not sid.startswith(".")
    assert "/" not in sid and "\\" not in sid and "\x00" not in sid
    assert all(unicodedata.category(c)[0] != "C" for c in sid)
    root = Path("/reports")
    assert (root / sid).resolve().parent == root


def test_odd_entries_are_listed_never_opened(tmp_path):
    """Folders, FIFOs, sockets, device files and links named *.ipynb are submissions that loading refuses;
    discovery itself must neither block nor fail on them."""
    (tmp_path / "folder.ipynb").mkdir()
    os.mkfifo(tmp_path / "fifo.ipynb")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket.ipynb"))
        (tmp_path / "dangling.ipynb").symlink_to(tmp_path / "nowhere")
        (tmp_path / "loop.ipynb").symlink_to(tmp_path / "loop.ipynb")
        (tmp_path / "device.ipynb").symlink_to("/dev/zero")
        (tmp_path / os.fsdecode(b"caf\xe9.ipynb")).write_text("{}")
        (tmp_path / " .ipynb").write_text("{}")
        (tmp_path / " ..ipynb").write_text("{}")
        (tmp_path / "new\nline.ipynb").write_text("{}")
        found = find_submissions(tmp_path).submissions
    assert sorted(s.id for s in found) == sorted(
        ["folder", "fifo", "socket", "dangling", "loop", "device", "caf_", "submission", "submission~2", "new_line"]
    )
    shown = {s.id: s.name for s in found}
    assert shown["caf_"] == "caf\ufffd.ipynb" and shown["new_line"] == "new\nline.ipynb"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        NAMES.filter(lambda n: n not in ("", ".", "..") and "/" not in n and "\x00" not in n),
        max_size=8,
        unique=True,
    )
)
def test_ids_are_unique_whatever_the_names(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("drop")
    for name in names:
        try:
            (folder / f"{name}.ipynb").write_text("{}")
        except OSError:  # a name the filesystem itself refuses (too long)
            continue
    found = ids(folder)
    assert len(found) == len(set(found)) == len([p for p in folder.iterdir() if not p.name.startswith(".")])
