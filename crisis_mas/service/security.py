"""HTTP API protection in front of FastAPI, as plain ASGI (nothing is parsed before it passes):

- Host allow-list (421): a DNS-rebinding page whose name resolves to 127.0.0.1 is refused.
- bearer token (401), and a rate limit per client (429 with Retry-After) keyed on the valid
  token, else on the client address (a varied Authorization header never picks the bucket).
- state-changing requests (POST/PUT/PATCH/DELETE): a cross-site Origin or Sec-Fetch-Site gets
  403, and a body must be declared JSON (415), so an HTML form or a `text/plain` fetch from
  another site cannot reach a route such as /v1/adapters/{expert}/rollback.
- body size (413, also when chunked) and JSON nesting depth (400), before any parsing.

Every refusal is the API's one error object `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from crisis_mas.errors import InputError
from crisis_mas.service.ratelimit import Limiter, RateLimiter, make_limiter
from crisis_mas.textio import json_depth

__all__ = ["LimitsMiddleware", "RateLimiter", "api_token", "check_bind", "protect"]

log = logging.getLogger("crisis_mas.service.security")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def api_token(env_name: str = "CRISIS_MAS_API_TOKEN") -> str | None:
    """The bearer token from the environment (blank counts as unset)."""
    value = os.environ.get(env_name, "").strip()
    return value or None


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, env_name: str = "CRISIS_MAS_API_TOKEN") -> None:
    """Refuse to listen beyond loopback without a token: anyone on the network could use it."""
    if token is None and not is_loopback(host):
        raise InputError(
            f"refusing to listen on {host} without authentication: set {env_name} to a secret "
            "bearer token, or listen on 127.0.0.1"
        )


def served_hosts(configured: list[str] | None, bind_host: str | None) -> frozenset[str] | None:
    """The Host names to serve (None: any). Default: loopback names plus the bind address;
    any name when the proxies listen on all interfaces (`check_bind` made a token mandatory)."""
    if configured is not None:
        names = {h.strip().lower().strip("[]").rstrip(".") for h in configured}
        return None if "*" in names else frozenset(names)
    if bind_host is not None and bind_host.strip("[]") in WILDCARD_HOSTS:
        log.warning(
            "listening on all interfaces: every Host name is served; set api.allowed_hosts "
            "to the names clients use"
        )
        return None
    extra = {bind_host.strip("[]").lower()} if bind_host else set()
    return frozenset({*LOOPBACK_NAMES, *extra})


def host_name(value: str) -> str:
    """The name part of a Host header or netloc ("[::1]:8000" -> "::1", "a.org:80" -> "a.org")."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name, sep, port = value.rpartition(":")
    return (name if sep and port.isdigit() else value).rstrip(".")


def error_body(status: int, message: str, type_: str, param: str | None = None) -> bytes:
    """The OpenAI-style error object every endpoint answers with."""
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": status}}
    ).encode()


async def send_error(
    send: Send,
    status: int,
    message: str,
    type_: str,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> None:
    body = error_body(status, message, type_, param)
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers") or []:
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
        return True
    except ValueError:
        return False


class LimitsMiddleware:
    """Host, auth, rate limit, cross-site, content type, body size and depth, in that order."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        max_body_bytes: int,
        limiter: Limiter | RateLimiter | None,
        public_paths: list[str],
        limited_prefix: str = "/v1/",
        allowed_hosts: frozenset[str] | None = None,
        allowed_origins: list[str] | None = None,
        max_json_depth: int = 64,
    ):
        self.app = app
        self.token = token
        self.max_body = max_body_bytes
        self.limiter = limiter
        self.public = set(public_paths)
        self.limited_prefix = limited_prefix
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = {o.rstrip("/").lower() for o in allowed_origins or []}
        self.max_depth = max_json_depth

    # -- checks -----------------------------------------------------------------------------
    def _host_allowed(self, scope: Scope) -> bool:
        client = scope.get("client")
        if self.allowed_hosts is None or not (client and _is_ip(client[0])):
            return True  # any name, or an in-process call with no network peer to rebind
        host = _header(scope, b"host")
        if host is None:
            return True  # HTTP/1.0 without Host: not a browser
        name = host_name(host)
        return name in self.allowed_hosts or any(
            h.startswith(".") and name.endswith(h) for h in self.allowed_hosts
        )

    def _token_valid(self, scope: Scope) -> bool:
        if self.token is None:
            return False
        auth = _header(scope, b"authorization") or ""
        scheme, _, given = auth.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )

    def client_key(self, scope: Scope, token_valid: bool) -> str:
        """Who a request counts against: the valid token (hashed), else the client address."""
        if token_valid and self.token is not None:
            return "t:" + hashlib.sha256(self.token.encode()).hexdigest()[:16]
        client = scope.get("client")
        return "a:" + (str(client[0]) if client else "unknown")

    def _cross_site(self, scope: Scope) -> str | None:
        """Why a state-changing request looks cross-site (None when it does not)."""
        origin = _header(scope, b"origin")
        site = (_header(scope, b"sec-fetch-site") or "").lower()
        if origin is not None:
            origin = origin.strip().rstrip("/").lower()
            if origin in self.allowed_origins:
                return None
            host = (_header(scope, b"host") or "").strip().lower()
            parts = urlsplit(origin)
            if origin == "null" or not parts.netloc or parts.netloc != host:
                return f"Origin {origin} is not this server"
            return None
        if site == "cross-site":
            return "Sec-Fetch-Site: cross-site"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._host_allowed(scope):
            host = (_header(scope, b"host") or "")[:100]
            await send_error(
                send,
                421,
                f"Host {host!r} is not served here (api.allowed_hosts)",
                "invalid_request_error",
                param="host",
            )
            return
        path = scope.get("path", "")
        valid = self._token_valid(scope)
        if self.limiter is not None and path.startswith(self.limited_prefix):
            wait = await self.limiter.check(self.client_key(scope, valid))
            if wait is not None:
                secs = max(1, math.ceil(wait))
                await send_error(
                    send,
                    429,
                    f"rate limit exceeded; retry in {secs} s",
                    "rate_limit_error",
                    {"retry-after": str(secs)},
                )
                return
        if self.token is not None and not valid and path not in self.public:
            await send_error(
                send,
                401,
                "missing or invalid bearer token (Authorization: Bearer <token>)",
                "authentication_error",
                {"www-authenticate": "Bearer"},
            )
            return
        unsafe = scope.get("method", "GET").upper() not in SAFE_METHODS
        if unsafe:
            why = self._cross_site(scope)
            if why is not None:
                await send_error(
                    send,
                    403,
                    f"cross-site request refused ({why}); add the origin to api.allowed_origins",
                    "permission_error",
                    param="origin",
                )
                return
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        is_json = ctype == "application/json" or ctype.endswith("+json")
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(send, int(declared), receive)
            return
        # Read the body up front (bounded), so a chunked upload cannot exceed the limit either.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(send, size, receive, more=message.get("more_body", False))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if unsafe and (body or ctype) and not is_json:
            await send_error(
                send,
                415,
                f"state-changing requests must send JSON (Content-Type: application/json), "
                f"got {ctype or 'no content type'}",
                "invalid_request_error",
                param="content-type",
            )
            return
        # A large body is scanned off the event loop (a 1 MiB body of "[][]..." takes ~0.4 s).
        problem = None
        if body and is_json:
            check = self._json_problem
            problem = await asyncio.to_thread(check, body) if len(body) > 65536 else check(body)
        if problem is not None:
            await send_error(send, 400, problem, "invalid_request_error", param="body")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _json_problem(self, body: bytes) -> str | None:
        """Why a JSON body is refused before parsing (encoding, nesting), or None."""
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as err:
            return f"malformed JSON: the body is not UTF-8 (invalid byte at offset {err.start})"
        # Fewer brackets than the limit cannot nest past it: most bodies skip the scan.
        brackets = body.count(b"[") + body.count(b"{")
        if brackets > self.max_depth and json_depth(body, self.max_depth) > self.max_depth:
            return f"request body nests more than {self.max_depth} levels deep"
        return None

    async def _too_large(self, send: Send, size: int, receive: Receive, more: bool = True) -> None:
        """413. A body up to four times the limit is read and dropped first, so the client
        (still sending) gets the answer instead of a reset connection; larger ones are cut."""
        read = 0
        while more and read <= 4 * self.max_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            read += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send_error(
            send,
            413,
            f"request body is over the {self.max_body} byte limit ({size}+ bytes)",
            "request_too_large",
            param="body",
        )


def serve_bind_host() -> str | None:
    """The host Serve's HTTP proxies listen on (None outside Serve; never starts Ray)."""
    import sys

    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    try:
        from ray.serve.context import _get_global_client

        return _get_global_client().http_config.host
    except Exception:
        return None


def protect(app: ASGIApp, settings: Any, token: str | None, public_paths: list[str]) -> Any:
    """`app` behind `LimitsMiddleware` configured from a `ServeAppConfig`."""
    api = settings.api
    return LimitsMiddleware(
        app,
        token,
        api.max_body_bytes,
        make_limiter(settings),
        public_paths,
        allowed_hosts=served_hosts(api.allowed_hosts, serve_bind_host()),
        allowed_origins=api.allowed_origins,
        max_json_depth=api.max_json_depth,
    )
