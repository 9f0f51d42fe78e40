"""graders.sandbox: what sandboxed code can and cannot do, checked from inside the sandbox.

No sandbox is ever entered in the pytest process. Each test starts a fresh Python that either
forks and enters the sandbox in the child, as the warm zygote does (`run_forked`), or runs
the cold-path launcher (`run_launcher`). Identities:
- "caller": whoever runs pytest (root in CI: the drop-to-uid-65534 path);
- "unprivileged": as root, the child first becomes uid 65534 itself, so the sandbox takes the
  user-namespace path that an ordinary user's grader takes. An ordinary user owns its checkout;
  uid 65534 does not, so the child first gets a way to it (`emulation.reach`: a checkout under a
  0700 folder, such as root's home or a `mktemp -d`, is otherwise out of its reach).
An assertion is skipped only when a probe independent of the sandbox shows the machine lacks
the capability (e.g. no user namespaces); the reason names it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from graders.sandbox import SandboxPolicy, capabilities, filesystem, release_cgroup
from graders.sandbox.policy import Findings
from tests.sandbox import emulation

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
IS_ROOT = os.geteuid() == 0
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

# Run by a fresh Python: fork; the child (optionally becoming uid 65534 first) enters the
# sandbox, prints its report as one JSON line, then runs the test's code with `P` (the paths).
FORKED = r"""
import ctypes, errno, fcntl, json, os, resource, signal, socket, struct, sys, threading, time, traceback
args = json.loads(sys.argv[1])
if args["torch"]:
    import torch
from graders.sandbox import SandboxPolicy, enter_sandbox, fork_into_new_pid_namespace, release_cgroup
policy = SandboxPolicy.from_json(args["policy"])
own_namespace = os.readlink("/proc/self/ns/pid")
alive_read, alive_write = os.pipe()
pid = fork_into_new_pid_namespace() if args["pid1"] else os.fork()
if pid == 0:
    os.close(alive_write)
    status = 1
    try:
        if args["uid"] is not None:
            from tests.sandbox.emulation import reach
            reach(args["reach"], args["uid"])
            os.setgroups([]); os.setresgid(args["uid"], args["uid"], args["uid"]); os.setresuid(args["uid"], args["uid"], args["uid"])
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable again, as a process that never was root
        if args["thread"]:
            threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
        os.chdir(args["cwd"])
        report = enter_sandbox(policy, parent_alive=alive_read if args["pid1"] else None)
        print(json.dumps(report.to_json()), flush=True)
        exec(args["code"], {**globals(), "P": args["paths"]})
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        os._exit(status)
_, status = os.waitpid(pid, 0)
release_cgroup(policy)
later = os.fork()
if later == 0:
    os._exit(0 if os.readlink("/proc/self/ns/pid") == own_namespace else 1)
print(json.dumps({"status": status, "later_children_in_own_namespace": os.waitpid(later, 0)[1] == 0}))
"""

PROBE_USERNS_AS_NOBODY = r"""
import ctypes, os
os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
os._exit(0 if ctypes.CDLL(None, use_errno=True).unshare(0x10000000 | 0x00020000 | 0x40000000) == 0 else 1)
"""


@dataclass
class Outcome:
    report: dict[str, Any]
    results: dict[str, Any]  # the JSON the test's code printed, if any
    status: int  # the sandboxed process's wait status, as its parent saw it
    stderr: str
    later_children_in_own_namespace: bool  # the parent's next plain fork was not in the sandbox's PID namespace


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def machine() -> dict[str, bool | str]:
    return capabilities()


@pytest.fixture(scope="module")
def userns_as_nobody() -> bool:
    if not IS_ROOT:
        return False
    return subprocess.run([sys.executable, "-c", PROBE_USERNS_AS_NOBODY], check=False).returncode == 0


def skip_unless_nobody_can_stand_in() -> None:
    if not IS_ROOT:
        pytest.skip("becoming uid 65534 needs root; the caller is already unprivileged")
    if reason := emulation.gap(emulation.needed()):
        pytest.skip(reason)


@pytest.fixture(params=["caller", "unprivileged"])
def identity(request: pytest.FixtureRequest) -> str:
    """Who enters the sandbox; limits are tested for both whatever the namespaces do."""
    if request.param == "unprivileged":
        skip_unless_nobody_can_stand_in()
    return request.param


@pytest.fixture
def isolated(identity: str, machine: dict[str, bool | str], userns_as_nobody: bool) -> str:
    """The identity, for tests of namespaces: skipped where the machine refuses them to it."""
    if identity == "unprivileged" and not userns_as_nobody:
        pytest.skip("uid 65534 cannot create a user namespace on this machine")
    if identity == "caller" and not (machine["namespaces_as_root"] if IS_ROOT else machine["user_namespaces"]):
        pytest.skip("this machine refuses the namespaces (unshare fails outside the sandbox too)")
    return identity


@pytest.fixture
def paths() -> Iterator[dict[str, str]]:
    """A tree under /var/tmp (not /tmp, which the sandbox replaces anyway), reachable by uid 65534.

    base/reference/answer.txt            hidden
    base/reference/data/digits.txt       readonly, inside the hidden dir
    base/scratch/other-student/notes.txt hidden
    base/scratch/me/                     writable, inside the hidden dir
    base/outside/existing.txt            neither: not in the view at all
    """
    base = Path(tempfile.mkdtemp(prefix="a10-sandbox-test-", dir="/var/tmp"))
    base.chmod(0o755)
    for sub, name, text in [
        ("reference", "answer.txt", "the answer"),
        ("reference/data", "digits.txt", "0123456789"),
        ("scratch/other-student", "notes.txt", "someone else's work"),
        ("outside", "existing.txt", "old"),
    ]:
        (base / sub).mkdir(parents=True, exist_ok=True)
        (base / sub / name).write_text(text)
    (base / "scratch" / "me").mkdir()
    (base / "scratch" / "me").chmod(0o777)  # the unprivileged identity owns nothing here
    relative = {
        "base": "",
        "reference": "reference",
        "data": "reference/data",
        "scratch": "scratch",
        "me": "scratch/me",
        "outside": "outside",
    }
    yield {key: str(base / rel) for key, rel in relative.items()} | {"graders": str(REPO / "graders")}
    shutil.rmtree(base)


def policy_for(paths: dict[str, str], **overrides: Any) -> SandboxPolicy:
    policy = SandboxPolicy(
        hidden_dirs=(paths["reference"], paths["scratch"]),
        writable_dirs=(paths["me"],),
        readonly_dirs=(paths["data"],),
        cgroup_name=f"test-{uuid.uuid4().hex[:12]}",
        cpu_seconds=60,
    )
    return replace(policy, **overrides)


def run_forked(
    policy: SandboxPolicy,
    identity: str,
    code: str,
    paths: dict[str, str],
    *,
    torch: bool = False,
    thread: bool = False,
    cwd: str | None = None,
    pid1: bool = False,
) -> Outcome:
    args = {
        "policy": policy.to_json(),
        "uid": NOBODY if identity == "unprivileged" else None,
        "reach": emulation.needed(),
        "code": code,
        "paths": paths,
        "torch": torch,
        "thread": thread,
        "cwd": cwd or str(REPO),
        "pid1": pid1,
    }
    done = subprocess.run(
        [sys.executable, "-c", FORKED, json.dumps(args)], capture_output=True, text=True, env=ENV, timeout=60, check=False
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines and "status" in lines[-1], f"the forking parent failed:\n{done.stdout}\n{done.stderr}"
    assert len(lines) > 1, f"the child ({identity}) never got a sandbox report: it failed before or in enter_sandbox:\n{done.stderr}"
    results = lines[1] if len(lines) > 2 else {}
    return Outcome(lines[0], results, lines[-1]["status"], done.stderr, lines[-1]["later_children_in_own_namespace"])


FAILURE_FILE = "failure.txt"  # where the launcher says why a command never started


def run_launcher(policy: SandboxPolicy, tmp_path: Path, command: list[str]) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    policy_file, report_file = tmp_path / "policy.json", tmp_path / "report.json"
    policy_file.write_text(json.dumps(policy.to_json()))
    launcher = [sys.executable, "-m", "graders.sandbox.launch", str(policy_file), "--report", str(report_file)]
    launcher += ["--failure", str(tmp_path / FAILURE_FILE), "--"]
    try:
        done = subprocess.run(launcher + command, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=60, check=False)
    finally:
        release_cgroup(policy)
    return done, json.loads(report_file.read_text())


def assert_no_cgroup_left(report: dict[str, Any]) -> None:
    for leaf in report.get("cgroup_dirs", []):
        assert not os.path.exists(leaf), f"cgroup {leaf} was not removed"


# ----------------------------------------------------------------------------- policy and report


def test_policy_round_trips_through_json_and_rejects_unknown_fields() -> None:
    policy = SandboxPolicy(hidden_dirs=("/a", "/b"), writable_dirs=("/w",), cgroup_name="x")
    assert SandboxPolicy.from_json(json.loads(json.dumps(policy.to_json()))) == policy
    with pytest.raises(ValueError, match="memory_byte"):
        SandboxPolicy.from_json({"memory_byte": 1})


def test_capabilities_describes_this_machine(machine: dict[str, bool | str]) -> None:
    assert machine["euid"] == str(os.geteuid())
    assert isinstance(machine["user_namespaces"], bool)
    assert {"cgroup_v1_memory", "cgroup_v1_pids", "cgroup_v2", "bwrap"} <= set(machine)


# ----------------------------------------------------------------------------- network


NETWORK = r"""
result = {}
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect(("127.0.0.1", 9))
    result["connect"] = "connected"
except OSError as exc:
    result["connect"] = exc.errno
up = []
for _, name in socket.if_nameindex():
    flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", name.encode(), 0)))[1]  # SIOCGIFFLAGS
    if flags & 0x1:  # IFF_UP
        up.append(name)
result["interfaces"] = [name for _, name in socket.if_nameindex()]
result["up"] = up
print(json.dumps(result))
"""


def test_network_is_unreachable(isolated: str, paths: dict[str, str]) -> None:
    outcome = run_forked(policy_for(paths), isolated, NETWORK, paths)
    assert outcome.report["network_isolated"] is True, outcome.report["warnings"]
    assert outcome.results, outcome.stderr
    assert outcome.results["connect"] in (101, 111), "127.0.0.1 must be unreachable (ENETUNREACH) or refused"
    assert outcome.results["up"] == [], f"interfaces up inside the sandbox: {outcome.results['up']}"
    assert outcome.results["interfaces"] == ["lo"]


# ----------------------------------------------------------------------------- filesystem


FILESYSTEM = r"""
def attempt(action):
    try:
        return action()
    except OSError as exc:
        return exc.errno
def attempt_import(name):
    try:
        __import__(name)
        return "imported"
    except ImportError as exc:
        return type(exc).__name__
def write(path, text="x"):
    with open(path, "w") as handle:
        handle.write(text)
    return "written"
result = {
    "uid": os.getuid(),
    "cwd_listing": sorted(os.listdir(".")),
    "hidden_reference": attempt(lambda: sorted(os.listdir(P["reference"]))),
    "hidden_answer": attempt(lambda: open(P["reference"] + "/answer.txt").read()),
    "hidden_scratch": attempt(lambda: sorted(os.listdir(P["scratch"]))),
    "other_student": attempt(lambda: open(P["scratch"] + "/other-student/notes.txt").read()),
    "data": attempt(lambda: open(P["data"] + "/digits.txt").read()),
    "data_write": attempt(lambda: write(P["data"] + "/new.txt")),
    "me_write": attempt(lambda: write(P["me"] + "/result.txt", "from the sandbox")),
    "me_read": attempt(lambda: open(P["me"] + "/result.txt").read()),
    "outside_read": attempt(lambda: open(P["outside"] + "/existing.txt").read()),
    "outside_write": attempt(lambda: write(P["outside"] + "/existing.txt", "changed")),
    "outside_create": attempt(lambda: write(P["outside"] + "/new.txt")),
    "repo_write": attempt(lambda: write(os.path.join(os.path.dirname(P["base"]), "a10-sandbox-escape.txt"))),
    "tmp_write": attempt(lambda: write("/tmp/a10-sandbox-private.txt")),
    "proc_pids": sorted(int(n) for n in os.listdir("/proc") if n.isdigit()),
    "root": sorted(os.listdir("/")),
    "etc_secrets": [name for name in ("shadow", "gshadow", "sudoers", "ssh", "ssl", "pip.conf") if os.path.lexists("/etc/" + name)],
    "graders_dir": attempt(lambda: sorted(os.listdir(os.path.dirname(P["graders"])))),
    "import_reference": attempt_import("reference"),
    "cap_eff": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0],
}
print(json.dumps(result))
"""


def test_filesystem_hides_protects_and_keeps_the_right_dirs(isolated: str, paths: dict[str, str]) -> None:
    outcome = run_forked(policy_for(paths), isolated, FILESYSTEM, paths, cwd=paths["scratch"])
    got, report = outcome.results, outcome.report
    assert report["filesystem_isolated"] is True, report["warnings"]
    assert got, outcome.stderr
    # (1) hidden dirs: empty but for the mount points of kept dirs; their files are gone
    assert got["hidden_reference"] == ["data"]
    assert got["hidden_scratch"] == ["me"]
    assert got["cwd_listing"] == ["me"], "a working directory inside a hidden dir must not see the original"
    assert got["hidden_answer"] == got["other_student"] == 2  # ENOENT
    # (2) the writable dir, at the same absolute path, really is the host's dir
    assert got["me_write"] == "written" and got["me_read"] == "from the sandbox"
    assert Path(paths["me"], "result.txt").read_text() == "from the sandbox"
    # (3) the readonly dir is readable, (4) nothing outside the view exists, nothing in it but the
    # writable dirs can be changed
    assert got["data"] == "0123456789"
    assert got["data_write"] in (13, 30)  # EACCES / EROFS
    assert got["outside_read"] == got["outside_write"] == got["outside_create"] == 2  # ENOENT
    assert got["repo_write"] in (13, 30)  # /var/tmp leads to the kept dirs: a read-only skeleton
    # (5) the allow-list: the system, the Python installation and the kept dirs; nothing of the
    # repository but its venv: neither the harness (graders/) nor `reference`; no secrets in /etc
    allowed = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"}
    python_tops = {Path(p).parts[1] for p in (*emulation.needed(), paths["base"])}  # with site-packages a .pth adds
    assert set(got["root"]) <= allowed | python_tops, got["root"]
    assert not {"home", "srv", "opt", "mnt", "var", "sys"} & set(got["root"]) - python_tops
    assert set(got["graders_dir"]) <= {Path(sys.prefix).name}, got["graders_dir"]
    assert got["import_reference"] == "ModuleNotFoundError"
    assert got["etc_secrets"] == []
    assert Path(paths["outside"], "existing.txt").read_text() == "old"
    assert not Path(paths["data"], "new.txt").exists()
    # /tmp is private and throwaway
    assert got["tmp_write"] == "written" and not Path("/tmp/a10-sandbox-private.txt").exists()  # noqa: S108 - the host's /tmp stayed clean
    # own PID namespace: only its own processes in /proc; no capabilities left
    assert "pid" in report["namespaces"] and got["proc_pids"] == [1]
    assert got["cap_eff"] == "0000000000000000"
    assert got["uid"] == (NOBODY if IS_ROOT and isolated == "caller" else 0)


# ----------------------------------------------------------------------------- limits


MEMORY_BOMB = r"""
try:
    block = bytearray(3 << 30)  # 3 GiB, zero-filled: every page is touched
    print(json.dumps({"survived": len(block)}))
except MemoryError:
    print(json.dumps({"memory_error": True}))
"""


def test_memory_bomb_is_stopped(identity: str, paths: dict[str, str]) -> None:
    outcome = run_forked(policy_for(paths, memory_bytes=512 * 1024**2), identity, MEMORY_BOMB, paths)
    if outcome.report["memory_limit"] == "none":
        pytest.skip(f"no memory limit available: {outcome.report['warnings']}")
    killed = os.WIFSIGNALED(outcome.status) and os.WTERMSIG(outcome.status) == signal.SIGKILL
    assert killed or outcome.results.get("memory_error"), f"3 GiB allocated under a 512 MiB limit: {outcome}"
    assert_no_cgroup_left(outcome.report)


FORK_BOMB = r"""
forks = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        forks += 1
except OSError as exc:
    print(json.dumps({"forks": forks, "errno": exc.errno}))
else:
    print(json.dumps({"forks": forks}))
"""


def test_fork_bomb_is_limited_and_nothing_survives(identity: str, paths: dict[str, str]) -> None:
    outcome = run_forked(policy_for(paths, max_processes=16), identity, FORK_BOMB, paths)
    limit = outcome.report["process_limit"]
    if limit == "none":
        pytest.skip(f"no process limit available: {outcome.report['warnings']}")
    assert outcome.results, f"the fork bomb printed nothing:\n{outcome.stderr}"
    assert outcome.results["forks"] <= 16 and outcome.results["errno"] == 11, outcome.results  # EAGAIN
    assert_no_cgroup_left(outcome.report)


BIG_FILE = r"""
path = P["me"] + "/big.bin"
try:
    with open(path, "wb") as handle:
        handle.write(b"x" * (3 << 20))
    print(json.dumps({"written": os.path.getsize(path)}))
except OSError as exc:
    print(json.dumps({"errno": exc.errno, "size": os.path.getsize(path)}))
"""


def test_big_file_write_stops_at_max_file_bytes(identity: str, paths: dict[str, str]) -> None:
    outcome = run_forked(policy_for(paths, max_file_bytes=1 << 20), identity, BIG_FILE, paths)
    assert any(limit.startswith("RLIMIT_FSIZE") for limit in outcome.report["other_limits"])
    killed = os.WIFSIGNALED(outcome.status) and os.WTERMSIG(outcome.status) == signal.SIGXFSZ
    assert killed or outcome.results == {"errno": 27, "size": 1 << 20}  # EFBIG
    assert Path(paths["me"], "big.bin").stat().st_size <= 1 << 20


def test_threads_make_a_user_namespace_impossible_and_the_report_says_so(paths: dict[str, str], userns_as_nobody: bool) -> None:
    skip_unless_nobody_can_stand_in()
    if not userns_as_nobody:
        pytest.skip("needs root (to become uid 65534) and user namespaces for uid 65534")
    outcome = run_forked(policy_for(paths), "unprivileged", "", paths, thread=True)
    assert outcome.report["network_isolated"] is False and outcome.report["filesystem_isolated"] is False
    assert any("threads" in warning for warning in outcome.report["warnings"]), outcome.report["warnings"]


# ----------------------------------------------------------------------------- torch


TORCH_OPS = r"""
print(json.dumps({"sum": torch.ones(3).sum().item(), "threads": torch.get_num_threads()}))
"""


def test_torch_loaded_before_the_fork_still_works_inside(isolated: str, paths: dict[str, str]) -> None:
    outcome = run_forked(policy_for(paths), isolated, TORCH_OPS, paths, torch=True)
    assert outcome.report["network_isolated"] and outcome.report["filesystem_isolated"], outcome.report["warnings"]
    assert outcome.results == {"sum": 3.0, "threads": 1}, outcome.stderr
    assert outcome.status == 0


# ----------------------------------------------------------------------------- launcher and release


@pytest.mark.skipif(not IS_ROOT, reason="only a root parent can fork straight into a new PID namespace")
def test_a_child_forked_as_pid1_of_its_own_namespace_is_confined_without_a_supervisor(paths: dict[str, str]) -> None:
    code = "print(json.dumps({'pid': os.getpid(), 'visible': sorted(p for p in os.listdir('/proc') if p.isdigit()), 'uid': os.getuid()}))"
    outcome = run_forked(policy_for(paths), "caller", code, paths, torch=True, pid1=True)
    assert outcome.results == {"pid": 1, "visible": ["1"], "uid": NOBODY}, outcome.stderr
    assert "pid" in outcome.report["namespaces"] and outcome.report["filesystem_isolated"]
    assert os.waitstatus_to_exitcode(outcome.status) == 0
    assert outcome.later_children_in_own_namespace
    assert_no_cgroup_left(outcome.report)


def test_launcher_execs_the_command_inside_the_sandbox(tmp_path: Path, paths: dict[str, str], machine: dict[str, bool | str]) -> None:
    if not (machine["namespaces_as_root"] if IS_ROOT else machine["user_namespaces"]):
        pytest.skip("this machine refuses the namespaces")
    code = (
        "import os, socket, sys, torch; s = socket.socket(); s.settimeout(1)\n"
        "try: s.connect(('127.0.0.1', 9))\nexcept OSError as e: print('net', e.errno)\n"
        f"print('hidden', os.listdir({paths['reference']!r}))\n"
        "print('torch', torch.ones(3).sum().item(), 'pid', os.getpid())\n"
        "sys.exit(7)"
    )
    done, report = run_launcher(policy_for(paths), tmp_path, [sys.executable, "-c", code])
    assert done.returncode == 7, done.stderr  # the command's own exit status comes back
    assert (tmp_path / FAILURE_FILE).read_text() == ""  # it started: nothing to explain
    assert done.stdout.split("\n")[:3] == ["net 101", "hidden ['data']", "torch 3.0 pid 1"]
    assert report["network_isolated"] and report["filesystem_isolated"] and report["warnings"] == []
    assert_no_cgroup_left(report)


def test_launcher_reports_a_command_it_cannot_run(tmp_path: Path, paths: dict[str, str]) -> None:
    done, _ = run_launcher(policy_for(paths), tmp_path, ["/nonexistent/a10-kernel"])
    assert done.returncode == 127 and "cannot run /nonexistent/a10-kernel" in done.stderr
    # The caller, who reads no kernel's stderr, gets the reason in one line.
    (reason,) = (tmp_path / FAILURE_FILE).read_text().splitlines()
    assert reason.startswith("cannot run /nonexistent/a10-kernel: ") and "No such file" in reason


def test_release_cgroup_kills_what_is_left_and_removes_the_cgroup(
    tmp_path: Path, paths: dict[str, str], machine: dict[str, bool | str]
) -> None:
    if not (IS_ROOT and machine["cgroup_writable"]):
        pytest.skip("creating cgroups needs root and a writable cgroup hierarchy")
    policy = policy_for(paths)
    policy_file, report_file = tmp_path / "policy.json", tmp_path / "report.json"
    policy_file.write_text(json.dumps(policy.to_json()))
    sleeper = "import os, time\nfor _ in range(3): os.fork()\ntime.sleep(60)"  # 8 processes
    launcher = [
        sys.executable,
        "-m",
        "graders.sandbox.launch",
        str(policy_file),
        "--report",
        str(report_file),
        "--",
        sys.executable,
        "-c",
        sleeper,
    ]
    process = subprocess.Popen(launcher, env=ENV, cwd=REPO)
    try:
        leaves = wait_for_population(report_file, minimum=9)
        pids = {int(p) for leaf in leaves for p in Path(leaf, "cgroup.procs").read_text().split()}
        release_cgroup(policy)
        assert process.wait(timeout=5) == -signal.SIGKILL
        for leaf in leaves:
            assert not os.path.exists(leaf)
        assert not [pid for pid in pids if alive(pid)]
    finally:
        process.kill()
        process.wait()
        release_cgroup(policy)


def alive(pid: int) -> bool:
    """Running or runnable: a zombie (killed, waiting for whichever init adopted it) is dead."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for_population(report_file: Path, minimum: int) -> list[str]:
    """The sandbox's cgroup leaves, once `minimum` processes (supervisor included) are in them."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            leaves = json.loads(report_file.read_text())["cgroup_dirs"]
        except (OSError, ValueError):
            leaves = []  # not written yet, or half-written
        if leaves and all(len(Path(leaf, "cgroup.procs").read_text().split()) >= minimum for leaf in leaves):
            return leaves
        time.sleep(0.05)
    raise AssertionError("the sandboxed processes never appeared in their cgroup")


def test_the_view_keeps_a_venv_under_tmp_but_never_the_repository_around_it(tmp_path, monkeypatch):
    """A clone under /tmp has its venv under the sandbox's private /tmp: it must stay importable,
    yet the repository holding it (sys.path[0] when run from the clone) must not be in the view."""
    clone = tmp_path / "clone"
    venv = clone / ".venv"
    site = venv / "lib" / "site-packages"
    site.mkdir(parents=True)
    (clone / "reference").mkdir()
    monkeypatch.setattr(sys, "prefix", str(venv))
    monkeypatch.setattr(sys, "path", [str(clone), str(site)])
    view = filesystem.plan_view(SandboxPolicy(), Findings())
    kinds = {entry.path: entry.kind for entry in view.entries}
    assert kinds[os.path.realpath(venv)] is filesystem.Kind.READONLY
    for package in ("graders", "assignments", "reference"):  # the harness, the assignments, their truth: hidden wherever they show
        assert kinds[os.path.realpath(REPO / package)] is filesystem.Kind.HIDDEN, package
    assert not [path for path in kinds if path in (str(clone), str(REPO))]
    assert kinds["/tmp"] is filesystem.Kind.SCRATCH  # noqa: S108 - the view's /tmp is a fresh tmpfs and "/etc/shadow" not in kinds


STAND_IN = r"""
import json, os, sys
from tests.sandbox.emulation import reach
checkout, private = sys.argv[1], sys.argv[2]
reach([checkout])
os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
print(json.dumps({"read": open(checkout + "/graders/module.py").read(), "others": os.listdir(private)}))
"""


def test_the_unprivileged_stand_in_reaches_a_checkout_under_private_folders_and_the_host_is_unchanged(tmp_path: Path) -> None:
    """A checkout under two 0700 folders (a `mktemp -d` in root's home): uid 65534 reaches it in its
    own mount namespace, sees nothing else of those folders, and their modes stay as they were."""
    if not IS_ROOT:
        pytest.skip("the stand-in is for a root test run")
    private = tmp_path / "home"
    checkout = private / "tmp.x" / "repo"
    (checkout / "graders").mkdir(parents=True)
    (checkout / "graders" / "module.py").write_text("reached")
    (private / "secret.txt").write_text("the owner's")
    for folder in (private, private / "tmp.x"):
        folder.chmod(0o700)
    command = [sys.executable, "-c", STAND_IN, str(checkout), str(private)]
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"read": "reached", "others": ["tmp.x"]}
    assert [stat.S_IMODE(folder.stat().st_mode) for folder in (private, private / "tmp.x")] == [0o700, 0o700]
    assert emulation.gap([str(checkout)]) == ""
    checkout.chmod(0o700)  # a checkout made under umask 077: no way to it helps; the tests say so
    assert "cannot read" in emulation.gap([str(checkout)]) and "drwx------" in emulation.gap([str(checkout)])
