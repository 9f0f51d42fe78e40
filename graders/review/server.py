"""Serving the review app: bind, print the address with its token, run uvicorn until Ctrl-C."""

from __future__ import annotations

import gc
import socket
from pathlib import Path

import uvicorn

from graders.errors import BadCommandLine
from graders.gradebook.store import Gradebook
from graders.review.app import ReviewSettings, create_app
from graders.review.auth import new_token

DEFAULT_PORT = 8765  # the CLI default; tests use 0


def serve(reports: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, reviewer: str | None = None) -> None:
    """Blocks until interrupted. Port 0 picks a free port; the printed line says which."""
    with Gradebook.open(reports):  # no usable gradebook stops the command (its own exit status) before anything listens
        pass
    listener = _listen(host, port)
    bound_host, bound_port = listener.getsockname()[:2]
    settings = ReviewSettings(reports=reports, token=new_token(), reviewer=reviewer)
    # The socket is listening already: a client that reads this line can connect at once.
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(f"review: http://{shown}:{bound_port}/?token={settings.token}", flush=True)
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False, lifespan="off")
    # Everything imported so far (torch comes in with the checks) lives as long as the server:
    # without this, the garbage collector rescans those millions of objects while pages render
    # (the class page of 300 students took ~6 s instead of <1 s).
    gc.freeze()
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """Bound here rather than by uvicorn, so a busy port is a BadCommandLine and port 0 works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise BadCommandLine(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host") from exc
    listener.listen(128)
    return listener
