"""`grader serve`: real server processes, real sockets, the `grader` command as users type it.

Every wait is for an event (a line the server prints, a process ending), with a generous guard
timeout for a loaded machine; nothing is timed with sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graders.pipeline import serving
from graders.pipeline.serving import Answer, Done, Request
from tests.pipeline.test_runcache import without_timings

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "submissions" / "a10"
START_SECONDS = 300  # imports, the public warm-up and a zygote on a busy 2-core machine
COMMAND_SECONDS = 600
NOBODY = 65534


class Served:
    """A `grader serve` process and the lines it prints."""

    def __init__(self, runtime: Path, *, idle: float = 600, extra_env: dict[str, str] | None = None) -> None:
        self.env = environment(runtime)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "graders.cli", "serve", "--idle", str(idle)],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("warm at", START_SECONDS)
        self.socket = runtime / "a10-grader" / serving.SOCKET_NAME

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, text: str, timeout: float = COMMAND_SECONDS) -> str:
        """The next line that says `text` (lines before it are skipped); fails if the server ends first."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"the server ended before saying {text!r}"
            if text in line:
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=60)


# Set in this process by torch._dynamo's import (torch.optim imports it when a test trains), never in a user's
# shell: a server that took its own imports' variables for the environment it was started with would refuse
# every command from such a shell, which a test environment carrying the variable would not show.
SET_BY_IMPORTS = ("TORCHINDUCTOR_CACHE_DIR",)


def environment(runtime: Path) -> dict[str, str]:
    """A user's environment (the test's own, without what imports set) with the server's socket in `runtime`:
    never a developer's running server."""
    return {**{k: v for k, v in os.environ.items() if k not in SET_BY_IMPORTS}, "XDG_RUNTIME_DIR": str(runtime)}


def grader(runtime: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "graders.cli", *args],
        cwd=ROOT,
        env=environment(runtime),
        capture_output=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A private runtime folder outside pytest's (0700) tmp tree, so that another uid could reach it if its modes allowed."""
    folder = Path(tempfile.mkdtemp(prefix="a10-serve-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def shared_runtime() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="a10-serve-shared-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


SECRET = "do-not-leak"  # in the shared server's environment: a stand-in for a secret no notebook may see


@pytest.fixture(scope="module")
def server(shared_runtime: Path) -> Iterator[Served]:
    served = Served(shared_runtime, extra_env={"A10_TEST_SECRET": SECRET})
    yield served
    served.stop()


CHECKED = (("solution", 0), ("missing-sqrt", 1))  # a notebook that passes every check, one that fails one
CLASS = ("solution", "std-for-variance", "mean-reduction")
CLASS_SEED = "7"


@pytest.fixture(scope="module")
def unserved_checks(shared_runtime: Path) -> dict[str, subprocess.CompletedProcess[bytes]]:
    """`grader --no-server check` of each CHECKED notebook: what a served check must print."""
    return {name: grader(shared_runtime, "--no-server", "check", str(DEMO / f"{name}.ipynb")) for name, _ in CHECKED}


@pytest.fixture(scope="module")
def unserved_class(shared_runtime: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """CLASS graded with `--no-server` (its folder, its reports): what a served grading must write."""
    folder = copy_class(tmp_path_factory.mktemp("unserved") / "class", CLASS)
    out = folder.parent / "alone"
    assert grader(shared_runtime, "--no-server", "grade", str(folder), "--out", str(out), "--seed", CLASS_SEED).returncode == 0
    return folder, out


def copy_class(folder: Path, names: tuple[str, ...]) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copyfile(DEMO / f"{name}.ipynb", folder / f"{name}.ipynb")
    return folder


def reports(out: Path) -> dict[str, object]:
    """What a user compares between two gradings of one folder: each results.json (but for wall-clock seconds and the
    sandbox's scratch names), and every report page and the grades file byte for byte."""
    found: dict[str, object] = {p.relative_to(out).as_posix(): without_timings(p) for p in out.glob("*/results.json")}
    for page in [*out.glob("*/report.html"), out / "index.html", out / "grades.csv"]:
        found[page.relative_to(out).as_posix()] = page.read_bytes()
    return found


def test_a_check_through_the_server_prints_what_it_prints_without(
    server: Served, shared_runtime: Path, unserved_checks: dict[str, subprocess.CompletedProcess[bytes]]
) -> None:
    for name, status in CHECKED:
        notebook = str(DEMO / f"{name}.ipynb")
        served = grader(shared_runtime, "check", notebook)
        server.expect(f"check {notebook}` exited {status}")
        alone = unserved_checks[name]
        assert (served.returncode, served.stdout) == (alone.returncode, alone.stdout) == (status, alone.stdout)
        assert b"PASS" in served.stdout


def test_the_server_says_when_a_warm_zygote_waits_again(server: Served, shared_runtime: Path) -> None:
    """A command takes the warm zygote; the next is warmed once that command is done, and the server says so (what a
    script waits for before a command that must find the server as a late notebook does: idle, its zygote warm)."""
    notebook = str(DEMO / "solution.ipynb")
    assert grader(shared_runtime, "check", notebook).returncode == 0
    server.expect(f"check {notebook}` exited 0")
    server.expect("ready: a warm zygote waits for the next command", START_SECONDS)
    assert grader(shared_runtime, "check", notebook).returncode == 0
    server.expect(f"check {notebook}` exited 0")


def test_a_rescore_through_the_server_does_what_one_without_it_does_and_leaves_the_warm_zygote(
    server: Served, shared_runtime: Path, unserved_class: tuple[Path, Path], tmp_path: Path
) -> None:
    """Rescoring imports the judge, as grading does, so the server runs it; it runs no notebook, so the warm zygote
    stays for the next grade or check (a zygote a worker took ends with that worker)."""
    notebook = str(DEMO / "solution.ipynb")
    assert grader(shared_runtime, "check", notebook).returncode == 0
    server.expect(f"check {notebook}` exited 0")
    server.expect("ready: a warm zygote waits for the next command", START_SECONDS)
    (warm,) = zygotes(server)
    outs = {how: tmp_path / how for how in ("served", "alone")}
    for out in outs.values():
        shutil.copytree(unserved_class[1], out)
    served = grader(shared_runtime, "rescore", str(outs["served"]))
    server.expect(f"rescore {outs['served']}` exited 0")
    alone = grader(shared_runtime, "--no-server", "rescore", str(outs["alone"]))
    assert served.returncode == alone.returncode == 0, served.stderr
    assert served.stdout == alone.stdout
    assert reports(outs["served"]) == reports(outs["alone"])
    assert zygotes(server) == [warm]


def test_grading_through_the_server_writes_what_grading_without_it_writes(
    server: Served, shared_runtime: Path, unserved_class: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = copy_class(tmp_path / "class", CLASS)
    outs = {"served": tmp_path / "served", "alone": tmp_path / "alone"}
    shutil.copytree(unserved_class[1], outs["alone"])
    served = grader(shared_runtime, "grade", str(folder), "--out", str(outs["served"]), "--seed", CLASS_SEED)
    server.expect("exited 0")
    assert served.returncode == 0, served.stderr
    assert reports(outs["served"]) == reports(outs["alone"])
    assert json.loads((outs["served"] / "solution" / "results.json").read_text())["score"] > 0

    # One notebook changed: only it is graded again (the others' results.json are not rewritten), as without the server.
    kept = {p: p.read_bytes() for p in outs["served"].glob("*/results.json")}
    (folder / "mean-reduction.ipynb").write_bytes((DEMO / "off-by-one.ipynb").read_bytes())
    for how, argv in (("served", ()), ("alone", ("--no-server",))):
        assert grader(shared_runtime, *argv, "grade", str(folder), "--out", str(outs[how]), "--seed", CLASS_SEED).returncode == 0
    server.expect("exited 0")
    assert [p.parent.name for p, data in kept.items() if p.read_bytes() != data] == ["mean-reduction"]
    assert reports(outs["served"]) == reports(outs["alone"])


def test_a_batch_and_a_check_at_once(
    server: Served,
    shared_runtime: Path,
    unserved_checks: dict[str, subprocess.CompletedProcess[bytes]],
    unserved_class: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    folder, alone = unserved_class
    notebook = str(DEMO / "missing-sqrt.ipynb")
    command = [sys.executable, "-m", "graders.cli"]
    both = [
        subprocess.Popen([*command, *argv], cwd=ROOT, env=environment(shared_runtime), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for argv in (["grade", str(folder), "--out", str(tmp_path / "served"), "--seed", CLASS_SEED], ["check", notebook])
    ]
    outputs = [process.communicate(timeout=COMMAND_SECONDS) for process in both]
    server.expect("exited")
    server.expect("exited")  # both ran in the server
    assert [process.returncode for process in both] == [0, 1]  # missing-sqrt fails a check
    assert outputs[1][0] == unserved_checks["missing-sqrt"].stdout
    assert reports(tmp_path / "served") == reports(alone)


def test_ctrl_c_on_the_client_interrupts_its_command_in_the_server(server: Served, shared_runtime: Path, tmp_path: Path) -> None:
    folder = copy_class(tmp_path / "class", tuple(p.stem for p in sorted(DEMO.glob("*.ipynb"))))
    argv = [sys.executable, "-m", "graders.cli", "grade", str(folder), "--out", str(tmp_path / "out"), "--seed", "5", "--jobs", "1"]
    client = subprocess.Popen(argv, cwd=ROOT, env=environment(shared_runtime), stderr=subprocess.PIPE, text=True)
    assert client.stderr is not None
    for line in client.stderr:
        if line.startswith("[1/"):  # the first result: seven notebooks still to run
            break
    client.send_signal(signal.SIGINT)
    client.communicate(timeout=COMMAND_SECONDS)
    assert client.returncode == 130
    server.expect("exited 130")  # the command in the server was interrupted too, not left running


def test_stale_code_is_not_served_and_the_server_stops(runtime: Path) -> None:
    served = Served(runtime)
    touched = ROOT / "graders" / "pipeline" / "serving.py"  # a module the server imported
    before = touched.stat()
    try:
        os.utime(touched, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        result = grader(runtime, "check", str(DEMO / "solution.ipynb"))
    finally:
        os.utime(touched, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert result.returncode == 0 and b"PASS" in result.stdout  # ran without the server
    assert result.stderr.count(b"stale: the grader's code changed") == 1
    assert served.process.wait(timeout=COMMAND_SECONDS) == 0
    assert not served.socket.exists()


def test_a_killed_server_is_not_waited_for(runtime: Path) -> None:
    served = Served(runtime)
    served.process.send_signal(signal.SIGKILL)
    served.process.wait(timeout=60)
    assert served.socket.exists()  # a killed server leaves its socket file
    result = grader(runtime, "check", str(DEMO / "solution.ipynb"))
    assert result.returncode == 0 and b"PASS" in result.stdout
    assert result.stderr.count(b"no warm server answers") == 1
    # A new server replaces the dead one's file.
    again = Served(runtime)
    try:
        assert grader(runtime, "check", str(DEMO / "solution.ipynb")).returncode == 0
        again.expect("exited 0")
    finally:
        again.stop()


def test_a_second_server_is_a_usage_error(server: Served, shared_runtime: Path) -> None:
    result = grader(shared_runtime, "serve")
    assert result.returncode == 2 and b"already answers" in result.stderr


def test_a_quiet_server_exits_and_removes_its_socket(runtime: Path) -> None:
    served = Served(runtime, idle=1)
    assert served.process.wait(timeout=START_SECONDS) == 0
    assert not served.socket.exists()


def test_only_its_user_can_reach_the_server(server: Served) -> None:
    folder = server.socket.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(server.socket.stat().st_mode) == 0o600
    assert serving.peer_allowed(os.getuid()) and not serving.peer_allowed(os.getuid() + 1)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another uid")
def test_another_uid_is_refused_by_the_folder_and_by_the_server(server: Served, shared_runtime: Path) -> None:
    modes = {path: stat.S_IMODE(path.stat().st_mode) for path in (shared_runtime, server.socket.parent, server.socket)}
    try:
        shared_runtime.chmod(0o711)  # the runtime folder itself is passable; the server's own folder is not
        assert connect_as_nobody(server.socket) == "refused by the folder"
        # Were the folder and socket opened up by mistake, the server still refuses the uid (SO_PEERCRED).
        server.socket.parent.chmod(0o711)
        server.socket.chmod(0o666)
        assert connect_as_nobody(server.socket) == "closed without an answer"
        assert grader(shared_runtime, "check", str(DEMO / "solution.ipynb")).returncode == 0
        server.expect("exited 0")  # its own user is still served
    finally:
        for path, mode in modes.items():  # the module's other tests find the server as it was
            path.chmod(mode)


def connect_as_nobody(path: Path) -> str:
    """What another uid meets at the socket: a forked child drops to nobody and sends a well-formed request."""
    request = json.dumps(Request.here(["check", "x.ipynb"]).to_json()).encode() + b"\n"
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(60)
                connection.connect(str(path))
                socket.send_fds(connection, [request], [0, 1, 2])
                code = 0 if connection.recv(1) == b"" else 1
        except PermissionError:
            code = 3
        except ConnectionError:  # closed with our request unread: Linux resets the connection
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return {0: "closed without an answer", 1: "answered", 3: "refused by the folder"}.get(os.waitstatus_to_exitcode(status), "failed")


def test_the_zygote_holds_nothing_of_the_servers_environment(server: Served) -> None:
    """A notebook's process is a fork of the zygote: the server's own environment (SECRET) is not in it."""
    assert SECRET.encode() in Path(f"/proc/{server.process.pid}/environ").read_bytes()
    assert zygotes(server)
    for pid in zygotes(server):
        assert SECRET.encode() not in Path(f"/proc/{pid}/environ").read_bytes()


def zygotes(server: Served) -> list[int]:
    """The server's zygotes that are alive (an exited one the server has not reaped yet is a zombie, with no cmdline)."""
    return [pid for pid in children(server.process.pid) if b"graders.execute.zygote" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    return b""


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def test_messages_are_strict() -> None:
    request = Request.here(["check", "a.ipynb"])
    assert Request.from_json(json.loads(json.dumps(request.to_json()))) == request
    for broken in (
        {**request.to_json(), "extra": 1},
        {**request.to_json(), "argv": ["check", 1]},
        {**request.to_json(), "umask": 0o1000},
        {**request.to_json(), "streams": [["utf-8", "strict"]]},
        {**request.to_json(), "environment": {"A": 1}},
        [],
    ):
        with pytest.raises(ValueError):
            Request.from_json(broken)
    assert Answer.from_json({"served": False, "why": "stale"}) == Answer(False, "stale")
    assert Done.from_json({"status": 2}) == Done(2)
    for status in (-1, 256, True, "0"):
        with pytest.raises(ValueError):
            Done.from_json({"status": status})


def send_and_close(connection: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError), connection:
        connection.sendall(data)


@pytest.mark.parametrize(
    "sent",
    [b"x" * (serving.MAX_LINE_BYTES + 2), b'{"status": 0}\n{"status": 1}\n', b'{"status": NaN}\n', b"[" * 100_000 + b"\n", b'{"sta'],
    ids=["too long", "two lines", "not strict", "too deep", "cut off"],
)
def test_a_line_is_read_capped_and_whole(sent: bytes) -> None:
    left, right = socket.socketpair()
    writer = threading.Thread(target=send_and_close, args=(right, sent))
    writer.start()
    with left, pytest.raises(ValueError):
        serving.receive_line(left)
    writer.join(timeout=60)
