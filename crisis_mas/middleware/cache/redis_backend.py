"""The shared cache backend: Redis (`REDIS_URL`), fail-fast (no retries, short timeouts) so a
dead Redis costs a bypass, not a wait."""

from __future__ import annotations

import fnmatch
import json

import numpy as np

from crisis_mas.middleware.cache.base import (
    COUNTERS,
    CacheBackend,
    SemanticRef,
    pack_ref,
    redact_url,
    unpack_ref,
)


class RedisBackend(CacheBackend):
    """Shared cache in Redis: `cmas:c:<ns>:e:<key>` strings with EX, `...:s:<scope>` hashes."""

    name = "redis"
    PREFIX = "cmas:c"

    def __init__(self, url: str, timeout_s: float = 0.5, max_connections: int = 32) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        # Blocking pool: redis-py 8's default pool raises past max_connections under load.
        # No retries: when Redis is down we want to fail fast and bypass, not wait.
        self._pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._r = redis.Redis(connection_pool=self._pool)

    def _e(self, ns: str, key: str) -> str:
        return f"{self.PREFIX}:{ns}:e:{key}"

    def _s(self, ns: str, scope: str) -> str:
        return f"{self.PREFIX}:{ns}:s:{scope}"

    def get_many(self, ns: str, keys: list[str]) -> list[dict | None]:
        if not keys:
            return []
        raw = self._r.mget([self._e(ns, k) for k in keys])
        return [json.loads(v) if v is not None else None for v in raw]

    def set(self, ns: str, key: str, entry: dict, ttl_s: int) -> None:
        self._r.set(self._e(ns, key), json.dumps(entry), ex=max(1, int(ttl_s)))

    def add_semantic(
        self,
        ns: str,
        scope: str,
        key: str,
        vector: np.ndarray,
        signature: frozenset[str],
        ttl_s: int,
        max_entries: int,
    ) -> None:
        name = self._s(ns, scope)
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(name, key, pack_ref(vector, signature))
        # The hash lives as long as its newest entry; stale refs are dropped on lookup.
        pipe.expire(name, max(1, int(ttl_s)), gt=True)
        pipe.expire(name, max(1, int(ttl_s)), nx=True)
        pipe.hlen(name)
        n = pipe.execute()[-1]
        if n > max_entries:
            extra = list(self._r.hkeys(name))[: n - max_entries]
            if extra:
                self._r.hdel(name, *extra)

    def semantic_refs(self, ns: str, scope: str) -> list[SemanticRef]:
        raw = self._r.hgetall(self._s(ns, scope))
        return [unpack_ref(k.decode(), v) for k, v in raw.items()]

    def drop_semantic(self, ns: str, scope: str, key: str) -> None:
        self._r.hdel(self._s(ns, scope), key)

    def incr(self, counters: dict[str, int]) -> None:
        pipe = self._r.pipeline(transaction=False)
        for k, v in counters.items():
            if v:
                pipe.hincrby(f"{self.PREFIX}:stats", k, v)
        pipe.execute()

    def _scan(self, match: str):  # noqa: ANN202 - iterator of bytes keys
        return self._r.scan_iter(match=match, count=1000)

    def stats(self) -> dict:
        counters = {k.decode(): int(v) for k, v in self._r.hgetall(f"{self.PREFIX}:stats").items()}
        keys = list(self._scan(f"{self.PREFIX}:*:e:*"))
        size = 0
        for i in range(0, len(keys), 500):
            pipe = self._r.pipeline(transaction=False)
            for k in keys[i : i + 500]:
                pipe.strlen(k)
            size += sum(pipe.execute())
        n_sem = 0
        for name in self._scan(f"{self.PREFIX}:*:s:*"):
            n_sem += self._r.hlen(name)
        return {
            **{c: counters.get(c, 0) for c in COUNTERS},
            "entries": len(keys),
            "semantic_entries": n_sem,
            "bytes": size,
        }

    def clear(self, pattern: str | None = None) -> int:
        if pattern is None:
            n = 0
            doomed = list(self._scan(f"{self.PREFIX}:*"))
            for i in range(0, len(doomed), 500):
                chunk = doomed[i : i + 500]
                n += sum(1 for k in chunk if b":e:" in k)
                self._r.delete(*chunk)
            return n
        n = 0
        keys = list(self._scan(f"{self.PREFIX}:*:e:*"))
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            values = self._r.mget(chunk)
            doomed = [
                k
                for k, v in zip(chunk, values, strict=True)
                if v is not None and fnmatch.fnmatchcase(json.loads(v).get("label", ""), pattern)
            ]
            if doomed:
                self._r.delete(*doomed)
                n += len(doomed)
        return n

    def ping(self) -> None:
        self._r.ping()

    def describe(self) -> str:
        return f"redis:{redact_url(self.url)}"

    def close(self) -> None:
        self._pool.disconnect()
