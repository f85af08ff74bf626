"""`RemotePool` resends a batch whose model-pool replica died under it (Serve routes the retry
to a live replica) and fails with a clear ModelUnavailable once no replica answers; other
errors are not retried. The only fake is the deployment handle."""

from __future__ import annotations

from typing import Any

import pytest
from ray.exceptions import ActorDiedError

from crisis_mas.pool.backends.vllm_async import ModelUnavailable
from crisis_mas.pool.types import ChatMessage, GenerationRequest, GenerationResult, ModelInfo
from crisis_mas.service.deployments import PoolReply, RemotePool, replica_died


class _Response:
    def __init__(self, outcome: Any):
        self.outcome = outcome

    def result(self, timeout_s: float | None = None) -> Any:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def cancel(self) -> None:
        return None


class DyingHandle:
    """The first `deaths` calls fail as if the replica was killed; then a live replica answers."""

    def __init__(self, deaths: int, error: BaseException | None = None):
        self.deaths = deaths
        self.error = error or ActorDiedError()
        self.calls = 0
        handle = self

        class _Generate:
            @staticmethod
            def remote(requests: list, timeout_s: float) -> _Response:
                handle.calls += 1
                if handle.calls <= handle.deaths:
                    return _Response(handle.error)
                return _Response(
                    PoolReply(
                        replica=f"replica-{handle.calls}",
                        generated=[
                            GenerationResult(request_id=r.request_id, text="ok") for r in requests
                        ],
                    )
                )

        self.generate = _Generate()


def _pool(handle: DyingHandle) -> RemotePool:
    pool = RemotePool(handle, ModelInfo(base="b", backend="vllm"), timeout_s=5)
    pool.begin()
    return pool


def _req() -> GenerationRequest:
    return GenerationRequest(messages=[ChatMessage(role="user", content="hi")])


def test_a_dead_replica_batch_is_sent_again() -> None:
    handle = DyingHandle(deaths=2)
    pool = _pool(handle)
    out = pool.generate([_req(), _req()])
    assert [r.text for r in out] == ["ok", "ok"]
    assert handle.calls == 3 and pool.retried == 2
    assert pool.errors() == [] and pool.replicas() == ["replica-3"]


def test_no_live_replica_is_a_clear_error() -> None:
    handle = DyingHandle(deaths=10)
    pool = _pool(handle)
    with pytest.raises(ModelUnavailable, match=r"the replica died"):
        pool.generate([_req()])
    assert handle.calls == 3  # the first try and two retries
    assert len(pool.errors()) == 1


def test_other_failures_are_not_retried() -> None:
    handle = DyingHandle(deaths=1, error=ValueError("cannot serialise"))
    pool = _pool(handle)
    with pytest.raises(ModelUnavailable, match="ValueError"):
        pool.generate([_req()])
    assert handle.calls == 1
    assert not replica_died(ValueError()) and replica_died(ActorDiedError())
