"""graders.execute.untrusted: what a notebook could leave in its work dir is read without trusting it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graders.execute.untrusted import read_json, read_regular_file, remove_tree


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


# ----------------------------------------------------------------------------- remove_tree

NOBODY = 65534
DEEPER_THAN_RECURSION = sys.getrecursionlimit() + 200  # shutil.rmtree raised RecursionError here


def nest(top: Path, levels: int, name: str = "d" * 100) -> None:
    """`levels` nested folders under `top`, made through descriptors: the path is far longer than PATH_MAX."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            deeper = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = deeper
        os.close(os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def plant_everything(work: Path, outside: Path) -> None:
    """What a notebook can leave in its work dir: a deep tree, locked folders, many files, links
    out of the tree (to a folder, a file, nowhere), a hard link, a FIFO, a socket."""
    nest(work, DEEPER_THAN_RECURSION)
    for mode in (0o000, 0o100, 0o300, 0o500, 0o600):
        locked = work / f"locked-{mode:o}"
        (locked / "inner").mkdir(parents=True)
        (locked / "inner" / "file.txt").write_text("x")
        (locked / "file.txt").write_text("x")
        (locked / "inner").chmod(mode)
        locked.chmod(mode)
    (work / "many").mkdir()
    for number in range(3000):
        (work / "many" / f"{number}.bin").write_bytes(b"")
    (work / "to-folder").symlink_to(outside)
    (work / "to-file").symlink_to(outside / "keep.txt")
    (work / "dangling").symlink_to(work / "nowhere")
    os.link(outside / "keep.txt", work / "hard-link")
    os.mkfifo(work / "fifo")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(work / "socket"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder the links point into: it must survive every removal untouched."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("not yours")
    return folder


def test_remove_tree_removes_anything_a_notebook_plants_and_follows_no_link(tmp_path: Path, outside: Path, capfd) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "work").mkdir(parents=True)
    plant_everything(scratch / "work", outside)
    remove_tree(scratch)
    assert not os.path.lexists(scratch)
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"] and (outside / "keep.txt").read_text() == "not yours"
    assert capfd.readouterr().err == ""


def test_remove_tree_of_nothing_or_of_a_link_removes_only_the_link(tmp_path: Path, outside: Path, capfd) -> None:
    remove_tree(tmp_path / "missing")
    remove_tree(tmp_path / "missing" / "too")
    (tmp_path / "link").symlink_to(outside)
    remove_tree(tmp_path / "link")
    assert not os.path.lexists(tmp_path / "link") and (outside / "keep.txt").read_text() == "not yours"
    assert capfd.readouterr().err == ""


@pytest.fixture
def nobody_base() -> Iterator[Path]:
    """A folder owned by uid 65534, reachable by it (unlike pytest's tmp_path under a 0700 folder)."""
    if os.geteuid() != 0:
        pytest.skip("acting as another uid needs root")
    base = Path(tempfile.mkdtemp(prefix="a10-remove-tree-test-", dir="/var/tmp"))
    base.chmod(0o755)
    os.chown(base, NOBODY, NOBODY)
    yield base
    subprocess.run(["rm", "-rf", "--", str(base)], check=True)


def as_nobody(action: Callable[[], bool]) -> bool:
    """`action()` in a forked child that is uid 65534 (no capabilities: permission bits count)."""
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            code = 0 if action() else 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0


def chown_tree(top: Path, uid: int) -> None:
    for folder, subfolders, files in os.walk(top):
        for name in [*subfolders, *files]:
            os.chown(Path(folder, name), uid, uid, follow_symlinks=False)
    os.chown(top, uid, uid)


def test_an_unprivileged_grader_removes_folders_the_notebook_locked(nobody_base: Path, capfd) -> None:
    """Without root's capabilities, 0000, 0300, 0500 and 0600 folders stop a plain removal."""
    scratch = nobody_base / "scratch"
    (scratch / "work").mkdir(parents=True)
    outside = nobody_base / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not yours")
    (scratch / "work" / "many").mkdir()
    for mode in (0o000, 0o100, 0o300, 0o500, 0o600):  # made here as root, then handed over: modes last
        locked = scratch / "work" / f"locked-{mode:o}"
        (locked / "inner").mkdir(parents=True)
        (locked / "inner" / "file.txt").write_text("x")
    nest(scratch / "work", 50, name="d")  # short names: os.walk in chown_tree goes by path
    chown_tree(scratch, NOBODY)
    for mode in (0o000, 0o100, 0o300, 0o500, 0o600):
        (scratch / "work" / f"locked-{mode:o}" / "inner").chmod(mode)
        (scratch / "work" / f"locked-{mode:o}").chmod(mode)
    assert as_nobody(lambda: (remove_tree(scratch), not os.path.lexists(scratch))[1])
    assert not os.path.lexists(scratch) and (outside / "keep.txt").read_text() == "not yours"
    assert capfd.readouterr().err == ""


def test_what_cannot_be_removed_is_named_to_staff_and_the_rest_still_goes(nobody_base: Path, capfd) -> None:
    scratch = nobody_base / "scratch"
    (scratch / "a-work").mkdir(parents=True)
    (scratch / "b-work").mkdir()
    (scratch / "b-work" / "file.txt").write_text("x")
    chown_tree(scratch, NOBODY)
    theirs = scratch / "a-work" / "root\nfolder"  # root's, 0755: uid 65534 can neither empty nor unlock it
    theirs.mkdir()
    (theirs / "root-file").write_text("x")
    assert as_nobody(lambda: (remove_tree(scratch), True)[1])  # returned, did not raise
    assert sorted(p.name for p in scratch.iterdir()) == ["a-work"] and os.listdir(scratch / "a-work") == [theirs.name]
    (line,) = capfd.readouterr().err.splitlines()  # one line: the name's newline is escaped
    assert line.startswith(f"grader: could not remove all of {scratch} (4 left, ")
    assert "'scratch/a-work/root\\nfolder/root-file' (EACCES" in line, line


def test_a_folder_that_is_a_filesystem_of_its_own_is_unmounted_and_removed(tmp_path: Path) -> None:
    """A work dir may be a tmpfs of its own: unmounted (in a private mount namespace here), then removed."""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    code = (
        "import os, sys\nfrom pathlib import Path\n"
        "from graders.sandbox.libc import CLONE_NEWNS, MS_PRIVATE, MS_REC, mount, unshare, mountinfo\n"
        "from graders.execute.untrusted import remove_tree\n"
        "unshare(CLONE_NEWNS); mount(None, '/', None, MS_REC | MS_PRIVATE)\n"
        "scratch = Path(sys.argv[1]); work = scratch / 'work'; work.mkdir(parents=True)\n"
        "mount('tmpfs', str(work), 'tmpfs', 0, 'size=1m')\n"
        "(work / 'inside.txt').write_text('x'); os.mkdir(work / 'sub')\n"
        "remove_tree(scratch)\n"
        "print(os.path.lexists(scratch), any(m.point.startswith(str(scratch)) for m in mountinfo()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "scratch")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"], done.stdout + done.stderr
    assert done.stderr == ""
