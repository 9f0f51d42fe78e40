"""`grader serve`: start-up paid once. A process that keeps the grader's imports and a warm zygote ready.

    client (grader grade/check/rescore) ──socket (0600, in a 0700 folder; peer uid checked)──▶ server
    server ── fork ──▶ worker: the client's stdin/stdout/stderr, cwd, umask and environment;
                       runs the same command the client would have run, with the spare zygote
                       if the command runs notebooks (grade, check; not rescore)
    server ── starts the next spare zygote once the machine is quiet again

A worker is a fork of the server, so it finds the harness, torch and the assignments imported, and
it is a separate process, so nothing one command sets (the assignments path, the cwd, the
environment, module caches) is seen by another, and two commands run at once. The zygote a worker
gets is the local warm path's own (graders.execute.warm): a fresh process started with
`kernel_environment`, which never held the server's memory, so no student notebook can read
anything of the server. The server itself holds no reference value, seed or course secret: those
are computed or read in the worker, per command, as without a server (the trained runs come from
the run cache on disk).

The server is stale when a file of any module it has imported changed since (the harness, an
assignment, its reference, torch): it then answers "stale" to the next client, stops listening
and exits once its workers are done; that client, and every one after, runs without it. It also
exits after `idle` seconds with no command running.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import os
import select
import shlex
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from graders.assignment.registry import GROUP
from graders.assignment.spec import Assignment
from graders.errors import BadCommandLine
from graders.execute.warm import Zygote
from graders.execute.zygote import compile_notebook_validators
from graders.pipeline.cache import GRADERS_DIR
from graders.pipeline.serving import (
    GO,
    HANDSHAKE_SECONDS,
    STANDARD_FDS,
    Answer,
    Done,
    Request,
    deciding_environment,
    installation,
    peer_allowed,
    peer_uid,
    private_folder,
    receive_line,
    send_line,
)
from graders.report import render as reporting

# A command run with a warm zygote (None: it runs no notebook), returning its exit status: the CLI's own `main` (a
# layer above).
Command = Callable[[list[str], Zygote | None], int]


@dataclass(frozen=True)
class Commands:
    """What the server runs, from the CLI: a command, and whether one runs notebooks (takes the spare zygote)."""

    run: Command
    runs_notebooks: Callable[[list[str]], bool]


# What every served command imports: the judge (torch), the pipeline, the reports.
WARM_MODULES = (
    "graders.pipeline.batch",
    "graders.pipeline.submission",
    "graders.pipeline.selfcheck",
    "graders.pipeline.rescore",
    "graders.pipeline.runcache",
    "graders.pipeline.staff",
    "graders.gradebook.store",
    "graders.report.render",
)


def warm_up() -> None:
    """The harness's modules every command uses (with what they import on first use: torch's optimiser machinery,
    the report templates, the notebook validator), and each installed assignment's package (by its entry point)
    with its own modules: an assignment imports its behaviour (torch, scipy: seconds) on first use. Then each
    assignment's expected values on its public inputs, every variant's included, computed once and dropped (what
    the student kit holds anyway, never a hidden input): the first call of each pays caches a later one reuses."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    # torch.optim imports torch._dynamo on an optimiser's first use (2–2.5 s): a worker training a reference pays it.
    importlib.import_module("torch._dynamo")
    reporting.compile_templates()
    compile_notebook_validators()
    for entry in entry_points(group=GROUP):
        assignment = entry.load()
        if isinstance(assignment, Assignment):
            assignment.import_modules()
            public = assignment.build_plan(seed=assignment.public_seed, hidden=False, data_dir=None)
            for stories in assignment.compute_expected(public, prefer_stored=True).variants.values():
                tuple(stories)  # each variant is evaluated when first read (graders.judge.expected.VariantValues)


def code_stamp(files: tuple[str, ...]) -> str:
    """Path, size and modification time of every file: a changed file changes the stamp (cheap: stats only)."""
    digest = hashlib.sha256()
    for name in files:
        try:
            status = os.stat(name)
            digest.update(f"{name}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{name}\0gone\n".encode())
    return digest.hexdigest()


def loaded_files() -> tuple[str, ...]:
    """The source of every module this process has imported, and every file of the harness (a module a worker
    imports later is read from disk then, but the harness's templates and data are read by path)."""
    modules = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    harness = {str(path) for path in GRADERS_DIR.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    return tuple(sorted({name for name in modules if isinstance(name, str)} | harness))


@dataclass
class Worker:
    connection: socket.socket  # the client's; its end closing means the client is gone (Ctrl-C)
    command: str  # for the server's log
    started: float
    interrupted: bool = False


class Server:
    """The server's loop. Its state lives in fields, so that a worker forked from it can drop what is not its own."""

    def __init__(self, path: Path, listener: socket.socket, commands: Commands, *, idle: float, environment: dict[str, str]) -> None:
        self.path, self.listener, self.commands, self.idle = path, listener, commands, idle
        self.inode = path.stat().st_ino  # the socket file's: a socket's own descriptor names no file
        self.files = loaded_files()
        self.stamp = code_stamp(self.files)
        self.environment = deciding_environment(environment)
        self.workers: dict[int, Worker] = {}
        self.stopping = False
        self.quiet_since = time.monotonic()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        self.spare: Zygote | None = None
        self.spare_warm = False
        self._new_spare()

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            while self.workers or not self.stopping:
                self._step()
        finally:
            self._stop_listening()
            if self.spare is not None:
                self.spare.close(kill=True)

    def _step(self) -> None:
        if not self.workers and time.monotonic() - self.quiet_since > self.idle:
            self.stopping = True  # quiet for `idle` seconds: done
            return
        watched = {worker.connection.fileno(): pid for pid, worker in self.workers.items() if not worker.interrupted}
        listening = [] if self.stopping else [self.listener.fileno()]
        warming = [self.spare.fileno()] if self.spare is not None and not self.spare_warm else []
        timeout = None if self.workers else max(0.0, self.idle - (time.monotonic() - self.quiet_since))
        ready, _, _ = select.select([self.wake_read, *listening, *watched, *warming], [], [], timeout)
        if self.wake_read in ready:
            os.read(self.wake_read, 4096)
        if warming and warming[0] in ready:
            self._spare_spoke()
        for fd in ready:
            if fd in watched:
                _interrupt_if_gone(watched[fd], self.workers[watched[fd]])
        self._reap()
        if listening and listening[0] in ready:
            self._accept()

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        connection.settimeout(HANDSHAKE_SECONDS)
        fds: list[int] = []
        try:
            if not peer_allowed(peer_uid(connection)):
                connection.close()
                return
            message, fds = receive_line(connection, max_fds=STANDARD_FDS)
            request = Request.from_json(message)
            why = self._why_not(request, fds)
            if why is not None:
                print(f"grader serve: not taken: {why}", flush=True)
            send_line(connection, Answer(why is None, why or "").to_json())
            if why is None and connection.recv(len(GO)) == GO:
                self._fork_worker(connection, request, fds)
                return
        except (OSError, ValueError):
            pass  # a client that broke off: it runs the command itself
        finally:
            for fd in fds:
                os.close(fd)
        connection.close()

    def _why_not(self, request: Request, fds: list[int]) -> str | None:
        if len(fds) != STANDARD_FDS:
            return "the request came without the client's standard streams"
        if request.executable != installation():
            return f"it runs {installation()}, this command {request.executable}"
        if deciding_environment(request.environment) != self.environment:
            return "it was started with other settings in its environment (HOME, threads, locale, caches)"
        if code_stamp(self.files) != self.stamp:
            self.stopping = True
            self._stop_listening()
            return "stale: the grader's code changed since it started, so it stops"
        return None

    def _new_spare(self) -> None:
        self.spare, self.spare_warm = Zygote(), False

    def _spare_spoke(self) -> None:
        """The spare zygote's first line (it is warm), left in its pipe for the worker that takes it; or it died
        (its pipe closed), and the next command warms its own."""
        if self.spare is None:
            return
        if self.spare.process.poll() is None:
            self.spare_warm = True
            print("grader serve: ready: a warm zygote waits for the next command", flush=True)
        else:
            self.spare = None

    def _fork_worker(self, connection: socket.socket, request: Request, fds: list[int]) -> None:
        zygote = None
        if self.commands.runs_notebooks(list(request.argv)):
            zygote, self.spare = self.spare or Zygote(), None  # a second command at once warms its own
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                self._become_worker(connection, fds)
                status = _run(self.commands.run, request, zygote)
                send_line(connection, Done(status).to_json())
            except BaseException:  # noqa: BLE001 - the worker must end here, whatever happened; the client says it broke
                traceback.print_exc()
            finally:
                os._exit(status)
        if zygote is not None:
            zygote.detach()
        self.workers[pid] = Worker(connection, shlex.join(["grader", *request.argv]), time.monotonic())

    def _become_worker(self, connection: socket.socket, fds: list[int]) -> None:
        """In the forked worker: the server's signals, socket and other clients are not its own."""
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        self.listener.close()
        for worker in self.workers.values():
            worker.connection.close()
        self.workers.clear()
        os.close(self.wake_read)
        os.close(self.wake_write)
        connection.settimeout(None)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)  # the received descriptors are never 0-2: the server's own are open
            os.close(fd)
        fds.clear()

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is not None:
                worker.connection.close()
                self.quiet_since = time.monotonic()
                took = f"{self.quiet_since - worker.started:.2f} s, {usage.ru_utime + usage.ru_stime:.2f} s of its CPU"
                print(f"grader serve: `{worker.command}` exited {os.waitstatus_to_exitcode(status)} after {took}", flush=True)
            if self.spare is not None and self.spare.process.pid == pid:
                self.spare = None  # it died warming up
            if not self.workers and self.spare is None and not self.stopping:
                self._new_spare()  # warmed while nobody waits for a core

    def _stop_listening(self) -> None:
        """Close the socket and remove its file, unless another server has replaced it since."""
        if self.listener.fileno() < 0:
            return
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:
                self.path.unlink()
        self.listener.close()


def _run(run: Command, request: Request, zygote: Zygote | None) -> int:
    """The client's command, in the client's place (cwd, umask, environment, encodings); a crash is exit 1, as without a server."""
    os.chdir(request.cwd)
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.environment)
    # New text streams on the client's descriptors, as Python would have made them for the client.
    (out_encoding, out_errors), (err_encoding, err_errors) = request.streams
    sys.stdout = open(1, "w", encoding=out_encoding, errors=out_errors, closefd=False, buffering=1 if os.isatty(1) else -1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding=err_encoding, errors=err_errors, closefd=False, buffering=1)  # noqa: SIM115
    try:
        return run(list(request.argv), zygote)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - printed as Python prints an uncaught exception, exit 1 likewise
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _interrupt_if_gone(pid: int, worker: Worker) -> None:
    """The client sends nothing after GO: its end closing (Ctrl-C) interrupts its command, as Ctrl-C would without a server."""
    try:
        gone = worker.connection.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return
    except OSError:
        gone = True
    if gone:
        worker.interrupted = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)


def _listen(path: Path) -> tuple[socket.socket, Path]:
    """Bind the socket (0600) in its private folder under a name of its own, moved to `path` once the server is warm
    (a client meanwhile runs its command itself, rather than wait); a live server there already is a usage error."""
    private_folder(path.parent)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(HANDSHAKE_SECONDS)
        probe.connect(str(path))
    except OSError:
        pass  # nobody answers: no server, or a killed one's file, which the rename replaces
    else:
        raise BadCommandLine(f"a warm server already answers at {path}")
    finally:
        probe.close()
    warming = path.with_name(f".{path.name}.{os.getpid()}")
    warming.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(warming))  # created 0600: the umask, not a chmod after, so it is never more open
    finally:
        os.umask(old_umask)
    listener.listen(16)
    return listener, warming


def serve(run: Command, *, runs_notebooks: Callable[[list[str]], bool], idle: float, on_ready: Callable[[Path], None]) -> None:
    """Run the warm server in the foreground until it has been quiet for `idle` seconds, is stale, or is stopped."""
    from graders.pipeline.serving import socket_path

    path = socket_path()
    # As started: what warm-up imports may set variables of its own (torch._dynamo sets TORCHINDUCTOR_CACHE_DIR),
    # which no client's shell has.
    environment = dict(os.environ)
    listener, warming = _listen(path)
    try:
        warm_up()
        gc.freeze()  # the workers' collector leaves the imported modules' pages shared
        os.replace(warming, path)
        server = Server(path, listener, Commands(run, runs_notebooks), idle=idle, environment=environment)
    except BaseException:
        warming.unlink(missing_ok=True)
        listener.close()
        raise
    on_ready(path)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve()
