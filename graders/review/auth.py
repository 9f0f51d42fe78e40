"""Access to the review app: one random token, checked on every request, and CSRF protection.

The token is the whole authentication, the way Jupyter's is: whoever has the printed URL is
course staff. Pages accept it as `?token=` (the printed link) and then from a cookie set on
that first visit, so links inside the app need not carry it. A request that changes anything
must carry it in an `Authorization: Bearer` header, never by cookie alone: a page on another
site can make the browser send the cookie (a form post), but it cannot read the token nor add
that header without a CORS preflight, which this app never grants. That is the CSRF
protection; an `Origin` that is not this app is refused as well, as a second line.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp

SAFE_METHODS = frozenset({"GET", "HEAD"})
# No page of the app loads anything from elsewhere; notebook HTML outputs sit in sandboxed
# iframes (srcdoc inherits this policy, so even a forgotten sandbox attribute runs no script).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def cookie_name(port: int | None) -> str:
    """Cookies ignore ports: two review apps on one host must not overwrite each other's token."""
    return f"a10_review_{port or 0}"


class TokenGate(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, token: str) -> None:
        super().__init__(app)
        self.token = token

    def _valid(self, supplied: str | None) -> bool:
        return supplied is not None and hmac.compare_digest(supplied.encode(), self.token.encode())

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        header = request.headers.get("authorization", "")
        bearer = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        from_query = request.query_params.get("token")
        cookie = request.cookies.get(cookie_name(request.url.port))
        if request.method in SAFE_METHODS:
            allowed = self._valid(bearer) or self._valid(from_query) or self._valid(cookie)
        else:
            allowed = self._valid(bearer) and _same_origin(request)
        if not allowed:
            return _forbidden(request)
        response = await call_next(request)
        if self._valid(from_query):
            response.set_cookie(cookie_name(request.url.port), self.token, httponly=True, samesite="strict", path="/")
        return secure(response)


def secure(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token may be in the address
    response.headers["Cache-Control"] = "no-store"
    return response


def _same_origin(request: Request) -> bool:
    """Browsers send Origin on every PUT/DELETE; scripts (curl, Python) send none, which is fine."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _forbidden(request: Request) -> Response:
    if request.method in SAFE_METHODS:
        message = "403 Forbidden: open the address `grader review` printed (it carries ?token=…), or send Authorization: Bearer TOKEN."
    else:
        message = "403 Forbidden: changes need the token in an Authorization: Bearer header, from this app's own pages."
    if request.url.path.startswith("/api/"):
        return secure(JSONResponse({"error": message}, status_code=403))
    return secure(PlainTextResponse(message, status_code=403))
