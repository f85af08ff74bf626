"""Health of the parts a run depends on: model pool, Redis cache, vector index, Langfuse.

`check_health(config, pool=None)` returns a JSON-able dict for `crisis-mas health --json` and a
`/healthz` endpoint. Each component reports `status` = ok | down | disabled | not built, with a
detail line and the time the check took; every network check has a 1 s timeout. Overall `ok` is
False only when a component is `down` (a disabled Langfuse or an unbuilt index is not an outage).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crisis_mas.config import AppConfig
    from crisis_mas.pool.base import ModelPool

TIMEOUT_S = 1.0


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        out = check()
    except Exception as err:
        out = {"status": "down", "detail": f"{type(err).__name__}: {err}"[:300]}
    out["ms"] = round((time.perf_counter() - t0) * 1000.0, 1)
    return out


def _pool(pool: ModelPool) -> dict[str, Any]:
    info = pool.health()
    ok = bool(info.get("ok", True)) if isinstance(info, dict) else bool(info)
    return {"status": "ok" if ok else "down", "detail": info}


def _redis(config: AppConfig) -> dict[str, Any]:
    """Redis when configured; otherwise the embedded cache file (Redis reported as disabled)."""
    from crisis_mas.middleware.cache.backends import open_backend, redis_url

    cfg = config.ops.cache
    if not cfg.enabled:
        return {"status": "disabled", "detail": "ops.cache.enabled is false"}
    url = redis_url(cfg)
    if cfg.backend == "redis" or (cfg.backend == "auto" and url):
        import redis

        from crisis_mas.middleware.cache.backends import redact_url

        url = url or "redis://127.0.0.1:6379/0"
        client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        try:
            client.ping()
            version = client.info("server").get("redis_version", "?")
        finally:
            client.close()
        return {"status": "ok", "detail": f"redis {version} at {redact_url(url)}"}
    backend = open_backend(cfg)
    try:
        backend.ping()
        return {
            "status": "disabled",
            "detail": f"REDIS_URL not set; embedded cache {backend.describe()} is ok",
        }
    finally:
        backend.close()


def _vector_index(config: AppConfig) -> dict[str, Any]:
    rag = config.rag
    if not rag.enabled:
        return {"status": "disabled", "detail": "rag.enabled is false"}
    index_dir = rag.resolved_index_dir()
    try:
        from crisis_mas.rag.store import IndexStore
    except ImportError:
        return {"status": "not built", "detail": "crisis_mas.rag.store is not available"}
    if not IndexStore.exists(index_dir):
        return {"status": "not built", "detail": f"no index at {index_dir}"}
    store = IndexStore.load(index_dir)
    return {
        "status": "ok",
        "detail": f"{len(store)} chunks, {len(store.docs)} documents at {index_dir}",
    }


def _langfuse(config: AppConfig) -> dict[str, Any]:
    from crisis_mas.middleware.tracing import langfuse_settings

    settings = langfuse_settings()
    if not config.ops.tracing.enabled:
        return {"status": "disabled", "detail": "ops.tracing.enabled is false"}
    if settings is None:
        return {"status": "disabled", "detail": "LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY not set"}
    import httpx

    url = f"{settings['base_url']}/api/public/health"
    resp = httpx.get(url, timeout=TIMEOUT_S)
    status = "ok" if resp.status_code < 500 else "down"
    return {"status": status, "detail": f"HTTP {resp.status_code} from {url}"}


def _event_log(config: AppConfig) -> dict[str, Any]:
    from crisis_mas.middleware.metrics import event_log

    store = event_log(config.ops.metrics)
    return {"status": "ok", "detail": f"{store.count()} events in {store.where}"}


def check_health(config: AppConfig, pool: ModelPool | None = None) -> dict[str, Any]:
    """Check every component; never raises."""
    components: dict[str, dict[str, Any]] = {}
    if pool is not None:
        components["model_pool"] = _timed(lambda: _pool(pool))
    components["redis"] = _timed(lambda: _redis(config))
    components["vector_index"] = _timed(lambda: _vector_index(config))
    components["langfuse"] = _timed(lambda: _langfuse(config))
    components["event_log"] = _timed(lambda: _event_log(config))
    down = [k for k, v in components.items() if v["status"] == "down"]
    return {
        "ok": not down,
        "status": "down" if down else "ok",
        "down": down,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "components": components,
    }
