"""What the warm server (graders.pipeline.server) and its client (graders.pipeline.client) share.

    client ──Request + its stdin, stdout, stderr (SCM_RIGHTS)──▶ server   (one JSON line)
    client ◀──Answer (served, or why not)────────────────────── server
    client ──GO────────────────────────────────────────────────▶ server   (only then is a worker forked)
    client ◀──Done (the command's exit status)───────────────── worker    (the output went to the client's own fds)

The socket lives in a folder only its user can open (`socket_path`), and the server also checks the
peer's uid (`peer_allowed`). Every message is one line of strict JSON, read capped and typed here, so
that neither side re-parses a dict. The handshake has time limits: a dead server or a stale socket file
costs the client a refused connect, never a hang.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.errors import BadCommandLine

SOCKET_NAME = "serve.sock"
GO = b"go\n"
HANDSHAKE_SECONDS = 10.0  # generous on a loaded machine; the server answers after a few stats, never a long job
MAX_LINE_BYTES = 1 << 20  # a command line and an environment: far below this
STANDARD_FDS = 3  # the client's stdin, stdout and stderr
MAX_MODE = 0o777
MAX_STATUS = 255

# The environment the server's own process and its warm zygote were started under, as far as it decides
# results or where files go: libraries read these when they are imported (threads change torch's float
# sums), the zygote's environment is built from HOME, the caches live under it. A client whose values
# differ is not served (its command runs without the server); every other variable is the client's own.
DECIDING_PREFIXES = ("OMP_", "MKL_", "OPENBLAS_", "KMP_", "TORCH", "PYTORCH", "CUDA", "PYTHON", "LC_")
DECIDING_NAMES = frozenset({"HOME", "LANG", "TZ", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"})


def socket_path() -> Path:
    """`$XDG_RUNTIME_DIR/a10-grader/serve.sock`, else `~/.cache/a10-grader/serve/serve.sock`."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(runtime) / "a10-grader" if runtime else Path.home() / ".cache" / "a10-grader" / "serve"
    return folder / SOCKET_NAME


def private_folder(folder: Path) -> None:
    """Create `folder` 0700, or check that an existing one is a real folder of ours that nobody else can open."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = folder.lstat()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or stat.S_IMODE(status.st_mode) & 0o077:
        raise BadCommandLine(f"{folder} must be a folder of this user's that only it can open (mode 0700), to hold the server's socket")


def installation() -> str:
    """This Python and the environment it runs in (a venv's `bin/python` and `bin/python3` are one)."""
    return f"{sys.prefix}:{os.path.realpath(sys.executable)}"


def deciding_environment(environment: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in environment.items() if name in DECIDING_NAMES or name.startswith(DECIDING_PREFIXES)}


def peer_uid(connection: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket, as the kernel says (SO_PEERCRED)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def peer_allowed(uid: int) -> bool:
    """Only the server's own user: root included, no other uid may run commands in it."""
    return uid == os.getuid()


@dataclass(frozen=True)
class Request:
    """A served command (`grader grade`, `check`, `rescore`) as the client would have run it itself."""

    argv: tuple[str, ...]
    cwd: str
    environment: dict[str, str]
    umask: int
    executable: str  # the client's installation (`installation()`): another one is not this server's
    streams: tuple[tuple[str, str], tuple[str, str]]  # the client's stdout's and stderr's text encoding and error handler

    @staticmethod
    def here(argv: list[str]) -> Request:
        umask = os.umask(0)
        os.umask(umask)
        streams = ((sys.stdout.encoding, sys.stdout.errors or "strict"), (sys.stderr.encoding, sys.stderr.errors or "strict"))
        return Request(tuple(argv), os.getcwd(), dict(os.environ), umask, installation(), streams)

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "cwd": self.cwd,
            "environment": self.environment,
            "umask": self.umask,
            "executable": self.executable,
            "streams": [list(stream) for stream in self.streams],
        }

    @staticmethod
    def from_json(data: Any) -> Request:
        fields = _object(data, {"argv", "cwd", "environment", "umask", "executable", "streams"})
        argv, environment, streams = fields["argv"], fields["environment"], fields["streams"]
        if not (_strings(argv) and isinstance(environment, dict) and _strings([*environment, *environment.values()])):
            raise ValueError("a request's argv and environment are strings")
        if not (isinstance(streams, list) and all(_strings(s) for s in streams) and _strings([fields["cwd"], fields["executable"]])):
            raise ValueError("a request's cwd, executable and streams are strings")
        (out_encoding, out_errors), (err_encoding, err_errors) = streams  # exactly two pairs, else a ValueError
        umask = fields["umask"]
        if type(umask) is not int or not 0 <= umask <= MAX_MODE:
            raise ValueError("a request's umask is a mode")
        return Request(
            tuple(argv), fields["cwd"], environment, umask, fields["executable"], ((out_encoding, out_errors), (err_encoding, err_errors))
        )


@dataclass(frozen=True)
class Answer:
    """The server's reply to a request: served, or why not (the client then runs the command itself)."""

    served: bool
    why: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"served": self.served, "why": self.why}

    @staticmethod
    def from_json(data: Any) -> Answer:
        fields = _object(data, {"served", "why"})
        if type(fields["served"]) is not bool or not isinstance(fields["why"], str):
            raise ValueError("an answer is a flag and a reason")
        return Answer(fields["served"], fields["why"])


@dataclass(frozen=True)
class Done:
    """The command's exit status, sent by the worker that ran it."""

    status: int

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status}

    @staticmethod
    def from_json(data: Any) -> Done:
        status = _object(data, {"status"})["status"]
        if type(status) is not int or not 0 <= status <= MAX_STATUS:
            raise ValueError("an exit status is 0..255")
        return Done(status)


def send_line(connection: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message, allow_nan=False).encode() + b"\n"
    if fds:
        sent = socket.send_fds(connection, [data], fds)
        data = data[sent:]
    connection.sendall(data)


def receive_line(connection: socket.socket, *, max_fds: int = 0) -> tuple[Any, list[int]]:
    """One JSON line (capped) and the descriptors that came with its first bytes; ValueError for anything else.

    The caller owns the descriptors, even when this raises after receiving them: they are closed here then.
    """
    chunk, fds, _flags, _address = socket.recv_fds(connection, 1 << 16, max_fds)
    buffered = bytearray(chunk)
    try:
        while not buffered.endswith(b"\n"):
            if b"\n" in buffered or len(buffered) > MAX_LINE_BYTES:
                raise ValueError("not one line of at most MAX_LINE_BYTES")
            more = connection.recv(1 << 16)
            if not more:
                raise ValueError("the other side closed the connection mid-line")
            buffered += more
        if buffered.count(b"\n") != 1:
            raise ValueError("more than one line")
        return json.loads(bytes(buffered), parse_constant=_refuse_constant), fds
    except (ValueError, RecursionError, OSError) as exc:
        for fd in fds:
            os.close(fd)
        raise ValueError(f"not a message: {exc}") from exc


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not strict JSON")


def _object(data: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) != keys:
        raise ValueError(f"expected exactly the keys {sorted(keys)}")
    return data


def _strings(values: Any) -> bool:
    return isinstance(values, list) and all(isinstance(value, str) for value in values)
