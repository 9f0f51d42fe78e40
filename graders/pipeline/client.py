"""The warm server's client: `grader grade`, `check` and `rescore` hand their command to a running `grader serve`.

No server, a dead one (its socket file left by a kill), a stale one or one that refuses: the command
runs here as it always did (`delegate` returns None), and the client says why once on stderr, except
when there is simply no server. Once the server took the command (the client said GO), the client
only waits for the exit status; its output went straight to the client's own stdout and stderr.
"""

from __future__ import annotations

import socket
import sys

from graders.pipeline.serving import GO, HANDSHAKE_SECONDS, STANDARD_FDS, Answer, Done, Request, receive_line, send_line, socket_path

WORKER_LOST = 1  # the worker ended without an exit status (killed): the harness's failure, as a crash would be


def delegate(argv: list[str]) -> int | None:
    """Run the command in the warm server: its exit status, or None to run it here."""
    path = socket_path()
    if not path.exists():
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(HANDSHAKE_SECONDS)
    try:
        connection.connect(str(path))
        send_line(connection, Request.here(argv).to_json(), fds=list(range(STANDARD_FDS)))
        message, _ = receive_line(connection)
        answer = Answer.from_json(message)
        if not answer.served:
            _say(f"the warm server at {path} did not take this command ({answer.why}); running it without the server")
            return None
        connection.sendall(GO)
    except (OSError, ValueError) as exc:
        _say(f"no warm server answers at {path} ({exc}); running without it")
        connection.close()
        return None
    with connection:
        return _wait(connection)


def _wait(connection: socket.socket) -> int:
    connection.settimeout(None)  # a batch takes as long as it takes
    try:
        message, _ = receive_line(connection)
        return Done.from_json(message).status
    except (OSError, ValueError):
        _say("internal error: the warm server's worker ended without an exit status; run the command again with --no-server")
        return WORKER_LOST


def _say(text: str) -> None:
    print(f"grader: {text}", file=sys.stderr)
