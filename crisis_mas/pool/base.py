"""`ModelPool`: the one interface every agent, the CLI, the server and the benchmarks call.

A pool takes *batches*: the vLLM backend submits a whole batch (one request per expert, each with
its own LoRA) to the engine at once, so the engine batches them; other backends fan out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from crisis_mas.pool.types import (
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)


class ModelPool(ABC):
    """A base model plus its LoRA adapters behind one backend."""

    @abstractmethod
    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Run all requests (as one batch where the backend can), results in request order."""

    @abstractmethod
    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        """Log-likelihood of each request's continuations, results in request order."""

    @abstractmethod
    def info(self) -> ModelInfo:
        """Base model id, backend name and known adapters (for reports and /v1/models)."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Load weights / start the engine now rather than on the first call."""

    def health(self) -> dict:
        """A cheap liveness check; backends override with something real."""
        return {"ok": True, **self.info().model_dump()}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release engine resources."""

    def __enter__(self) -> ModelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ModelPoolError(RuntimeError):
    """The backend failed (engine error, timeout, unreachable server)."""
