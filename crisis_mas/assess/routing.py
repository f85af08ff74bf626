"""How a caller steers adapters per run (adapter rollout) without this layer importing it.

`crisis_mas.runtime` injects the rollout registry's `LiveRouter`; evals and shadow runs pass
none, so they are never routed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from crisis_mas.pool.types import AdapterRef, ModelInfo

if TYPE_CHECKING:
    from crisis_mas.report.model import Report


class RoutedRun(Protocol):
    """A router's decision for one run: adapter overrides by expert id."""

    adapters: dict[str, AdapterRef]


class AdapterRouter(Protocol):
    """Chooses adapters per run (rollout canary and promotions) and learns from the report."""

    def extra_adapters(self, experts: list[str]) -> list[AdapterRef]:
        """Adapters to load beside the incumbents (active candidates)."""
        ...

    def plan(
        self,
        run_id: str,
        experts: list[str],
        pool_info: Callable[[], ModelInfo],
        configured: dict[str, AdapterRef],
    ) -> RoutedRun | None:
        """Overrides for this run, or None when every expert serves its configured adapter."""
        ...

    def record(self, plan: RoutedRun | None, report: Report) -> None:
        """Record the finished run (canary samples, automatic rollback); never raises."""
        ...
