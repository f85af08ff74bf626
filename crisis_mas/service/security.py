"""HTTP API protection: bearer token, loopback-only binding without one, body size and rate limits.

`LimitsMiddleware` is plain ASGI (it runs before FastAPI parses anything), so an oversized or
unauthenticated request is refused without touching the model, and a flood from one client is
answered with 429 and `Retry-After`. Limits are per ingress replica (kept in memory).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from crisis_mas.errors import InputError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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


class RateLimiter:
    """Token buckets per client key: `burst` requests at once, refilled at `per_minute` / 60 s."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Take one token; None if allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = None
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self.max_clients:  # forget the least recently seen
                self._buckets.popitem(last=False)
            return wait


def error_body(status: int, message: str, type_: str, param: str | None = None) -> bytes:
    """The OpenAI-style error object every endpoint answers with."""
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": status}}
    ).encode()


async def send_error(
    send: Send, status: int, message: str, type_: str, headers: dict[str, str] | None = None
) -> None:
    body = error_body(status, message, type_)
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers") or []:
        if k.lower() == name:
            return v.decode("latin-1")
    return None


class LimitsMiddleware:
    """Auth (401), body size (413) and per-client rate limit (429) in front of the API."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        max_body_bytes: int,
        limiter: RateLimiter | None,
        public_paths: list[str],
        limited_prefix: str = "/v1/",
    ):
        self.app = app
        self.token = token
        self.max_body = max_body_bytes
        self.limiter = limiter
        self.public = set(public_paths)
        self.limited_prefix = limited_prefix

    def _authorized(self, scope: Scope) -> bool:
        if self.token is None or scope.get("path") in self.public:
            return True
        auth = _header(scope, b"authorization") or ""
        scheme, _, given = auth.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )

    @staticmethod
    def client_key(scope: Scope) -> str:
        """Who a request counts against: its token (hashed) if any, else its address."""
        auth = _header(scope, b"authorization")
        if auth:
            return "t:" + hashlib.sha256(auth.encode()).hexdigest()[:16]
        client = scope.get("client")
        return "a:" + (client[0] if client else "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._authorized(scope):
            await send_error(
                send,
                401,
                "missing or invalid bearer token (Authorization: Bearer <token>)",
                "authentication_error",
                {"www-authenticate": "Bearer"},
            )
            return
        path = scope.get("path", "")
        if self.limiter is not None and path.startswith(self.limited_prefix):
            wait = self.limiter.hit(self.client_key(scope))
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
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(send, int(declared))
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
                await self._too_large(send, size)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, size: int) -> None:
        await send_error(
            send,
            413,
            f"request body is over the {self.max_body} byte limit ({size}+ bytes)",
            "request_too_large",
        )
