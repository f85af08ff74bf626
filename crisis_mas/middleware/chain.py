"""The middleware chain: one composable mechanism around every model-pool call.

A link sees a whole batch and the `call_next` callable that runs the rest of the chain (ending in
the real pool), through one hook for both operations (`Middleware.around`). It may answer some
requests itself (a cache hit, a guard block), pass the rest on, and annotate results (flags,
metrics). `ChainedPool` is itself a `ModelPool`, so agents never know
which links are configured. Links are named in `OpsConfig.chain`, outermost first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import (
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)

if TYPE_CHECKING:
    from crisis_mas.middleware.config import OpsConfig

Op = Literal["generate", "score"]
PoolRequest = GenerationRequest | ScoreRequest
PoolResult = GenerationResult | ScoreResult
CallNext = Callable[[list[Any]], list[Any]]


class Middleware:
    """Base link: passes everything through.

    A link implements one hook, `around(op, requests, call_next)`, for both pool operations:
    `op` says which ("generate": GenerationRequest -> GenerationResult, "score": ScoreRequest
    -> ScoreResult), `call_next` runs the rest of the chain. A link that only cares about one
    operation lists it in `ops`; the chain skips it for the other.
    """

    name = "passthrough"
    ops: frozenset[Op] = frozenset({"generate", "score"})

    def around(self, op: Op, requests: list[Any], call_next: CallNext) -> list[Any]:
        return call_next(requests)

    def health(self) -> dict:
        return {"ok": True}

    def close(self) -> None:
        """Release resources (connections, background threads)."""


# name -> "module:factory"; a factory takes (ops: OpsConfig, model_base: str) -> Middleware.
# Lazy import paths keep `crisis-mas --help` fast and optional dependencies optional.
LINKS: dict[str, str] = {
    "input_guard": "crisis_mas.middleware.guard:input_guard_link",
    "output_guard": "crisis_mas.middleware.guard:output_guard_link",
    "hazmat": "crisis_mas.middleware.hazmat:hazmat_link",
    "grounding": "crisis_mas.middleware.grounding:grounding_link",
    "cache": "crisis_mas.middleware.cache.middleware:cache_link",
    "trace": "crisis_mas.middleware.tracing.link:trace_link",
    "metrics": "crisis_mas.middleware.metrics:metrics_link",
}


def register_link(name: str, target: str) -> None:
    LINKS[name] = target


def build_link(name: str, ops: OpsConfig, model_base: str) -> Middleware:
    """One link by name; `model_base` scopes the cache and labels traces."""
    from crisis_mas.errors import InputError

    if name not in LINKS:
        known = ", ".join(sorted(LINKS)) or "(none)"
        raise InputError(f"ops.chain: unknown middleware link '{name}' (known: {known})")
    module, _, attr = LINKS[name].partition(":")
    factory = getattr(importlib.import_module(module), attr)
    return factory(ops, model_base)


class ChainedPool(ModelPool):
    """A ModelPool that runs every call through the configured links, outermost first."""

    def __init__(self, pool: ModelPool, links: list[Middleware]):
        self.pool = pool
        self.links = links

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        return self._through("generate", requests, self.pool.generate)

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        return self._through("score", requests, self.pool.score)

    def _through(self, op: Op, requests: list[Any], last: CallNext) -> list[Any]:
        call = last
        for link in reversed(self.links):
            if op in link.ops:
                call = _bind(link, op, call)
        return call(requests)

    def info(self) -> ModelInfo:
        return self.pool.info()

    def start(self) -> None:
        self.pool.start()

    def health(self) -> dict:
        out = {"model_pool": self.pool.health()}
        for link in self.links:
            out[link.name] = link.health()
        return out

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.pool.close()


def _bind(link: Middleware, op: Op, call_next: CallNext) -> CallNext:
    return lambda requests: link.around(op, requests, call_next)


def build_chain(pool: ModelPool, ops: OpsConfig, model_base: str) -> ChainedPool:
    """`pool` wrapped in the links named by `ops.chain`, outermost first."""
    return ChainedPool(pool, [build_link(n, ops, model_base) for n in ops.chain])
