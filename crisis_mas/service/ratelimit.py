"""Request rate limits: a token bucket per client, in memory (one ingress replica) or in Redis
(shared by every ingress replica, so N replicas do not multiply the limit by N).

The Redis bucket is one hash per client updated by a Lua script (atomic, Redis's own clock).
When Redis fails the limiter falls back to the in-memory buckets for a few seconds and says so
once in the log: a dead Redis never lifts the limit, nor blocks requests on timeouts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger("crisis_mas.service.ratelimit")


class Limiter(Protocol):
    async def check(self, key: str) -> float | None:
        """Take one token for `key`: None if allowed, else the seconds until one is free."""
        ...


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

    async def check(self, key: str) -> float | None:
        return self.hit(key)


# KEYS[1] the bucket; ARGV rate per second, burst, ttl. Returns the wait in seconds ("0": ok).
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return tostring(wait)
"""


class RedisRateLimiter:
    """The same token bucket kept in Redis (`cmas:rl:<key>`), shared by all ingress replicas."""

    PREFIX = "cmas:rl:"

    def __init__(
        self,
        url: str,
        per_minute: float,
        burst: int,
        timeout_s: float = 0.25,
        retry_after_s: float = 5.0,
    ):
        import redis.asyncio as aioredis

        self.url = url
        self.rate = per_minute / 60.0
        self.burst = burst
        # A bucket idle long enough to refill completely carries no state worth keeping.
        self.ttl_s = max(1, int(burst / self.rate) + 1)
        self.retry_after_s = retry_after_s
        self.local = RateLimiter(per_minute, burst)
        self._redis: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._script: Any = self._redis.register_script(_BUCKET_LUA)
        self._down_until = 0.0

    async def check(self, key: str) -> float | None:
        if time.monotonic() < self._down_until:
            return self.local.hit(key)
        try:
            args = [self.rate, self.burst, self.ttl_s]
            wait = float(await self._script(keys=[self.PREFIX + key], args=args))
        except Exception as err:  # Redis down or slow: limit locally for a while
            from crisis_mas.middleware.cache.backends import redact_url

            if self._down_until == 0.0 or time.monotonic() > self._down_until + 60:
                log.warning(
                    "rate limit: Redis %s failed (%s); limiting per replica for %g s",
                    redact_url(self.url),
                    type(err).__name__,
                    self.retry_after_s,
                )
            self._down_until = time.monotonic() + self.retry_after_s
            return self.local.hit(key)
        return wait if wait > 0 else None


def make_limiter(settings: Any) -> Limiter | None:
    """The limiter `api.rate_limit` asks for: None when disabled; Redis when its backend is
    `redis`, or `auto` with a Redis URL (its own `redis_url`, else the cache's Redis)."""
    spec = settings.api.rate_limit
    if not spec.enabled:
        return None
    url = spec.redis_url
    if url is None and spec.backend != "memory":
        from crisis_mas.middleware.cache.backends import redis_url

        url = redis_url(settings.crisis_mas.ops.cache)
    if spec.backend == "redis" or (spec.backend == "auto" and url):
        return RedisRateLimiter(
            url or "redis://127.0.0.1:6379/0", spec.requests_per_minute, spec.burst
        )
    return RateLimiter(spec.requests_per_minute, spec.burst)
