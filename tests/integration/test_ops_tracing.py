"""Langfuse tracing with the real SDK, exported to a loopback OTLP receiver (and to a dead port).

Asserts the trace tree the SDK actually sends: run -> expert spans -> generations (model, adapter,
tokens, cost, cache hit) and retrieval, plus scores from the run API and from result flags.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from otlp_receiver import OTLPReceiver, Receiver

from crisis_mas.config import AppConfig
from crisis_mas.middleware.chain import ChainedPool
from crisis_mas.middleware.tracing import NoopRun, get_tracer, shutdown_tracers
from crisis_mas.middleware.tracing.link import trace_link
from crisis_mas.pool.types import AdapterRef, ChatMessage, GenerationRequest, ScoreRequest

if TYPE_CHECKING:
    from ops_fixtures import FakePool



@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with OTLPReceiver() as rx:
        yield rx


@pytest.fixture(autouse=True)
def _stop_clients() -> Iterator[None]:
    yield
    shutdown_tracers(timeout_s=2.0)


def _req(expert: str, run_id: str, text: str = "assess", adapter_id: int = 1) -> GenerationRequest:
    return GenerationRequest(
        messages=[ChatMessage(role="user", content=text)],
        adapter=AdapterRef(name=f"{expert}-lora", id=adapter_id, path=f"/adapters/{expert}"),
        tags={"run_id": run_id, "expert": expert, "kind": "assessment", "prompt_version": "1"},
    )


def test_trace_tree_over_real_otlp_export(
    receiver: Receiver,
    ops_home: Path,
    fake_pool: FakePool,
    use_langfuse: Callable[[str], str],
) -> None:
    use_langfuse(receiver.url)
    config = AppConfig()
    config.ops.chain = ["trace", "metrics", "cache"]
    from crisis_mas.middleware.chain import build_chain

    pool = build_chain(fake_pool, config.ops, config.model.base)
    tracer = get_tracer(config.ops, config.model.base)
    assert tracer.enabled
    run = tracer.start_run("run-42", "hazmat_002", "hazmat", ["fire", "police"])
    run.expert("fire")
    run.expert("police")
    run.retrieval(
        "fire",
        "chlorine isolation distance",
        [{"doc_id": "erg", "title": "ERG 124", "text": "Isolate 100 m", "score": 0.9}],
        latency_ms=25.0,
    )
    fake_pool.result_overrides = {
        "police view": {
            "flags": [{"type": "hazmat_contradiction", "message": "IDLH of chlorine is 10 ppm"}]
        }
    }
    pool.generate([_req("fire", "run-42", "fire view"), _req("police", "run-42", "police view", 2)])
    pool.generate([_req("fire", "run-42", "fire view")])  # a cache hit
    pool.score(
        [
            ScoreRequest(
                messages=[ChatMessage(role="user", content="rank")],
                continuations=["a1", "a2"],
                tags={"run_id": "run-42", "expert": "fire", "kind": "assessment"},
            )
        ]
    )
    run.score("hazmat_verdict", "consistent", comment="all facts match", expert_id="fire")
    run.score("guard.pii", True)
    run.end({"recommended": "action_isolate_and_shelter"})

    assert receiver.wait_for(lambda r: len(r.spans) >= 8 and len(r.scores) >= 3), receiver.requests
    spans = {s.span_id: s for s in receiver.spans}
    (root,) = receiver.by_name("crisis-run")
    assert root.attributes["session.id"] == "run-42"
    assert root.attributes["langfuse.trace.tags"] == ["hazmat", "fire", "police"]
    assert root.attributes["langfuse.trace.name"] == "crisis-run hazmat_002"
    assert root.json_attr("langfuse.observation.output") == {
        "recommended": "action_isolate_and_shelter"
    }
    experts = {s.name: s for s in receiver.spans if s.name.startswith("expert:")}
    assert set(experts) == {"expert:fire", "expert:police"}
    assert all(s.parent_id == root.span_id for s in experts.values())
    assert len({s.trace_id for s in receiver.spans}) == 1

    gens = [s for s in receiver.spans if s.type == "generation"]
    assert len(gens) == 4
    for g in gens:
        expert = g.json_attr("langfuse.observation.metadata.expert")
        assert spans[g.parent_id].name == f"expert:{expert}"
        assert g.attributes["langfuse.observation.model.name"] == config.model.base
        assert g.attributes["session.id"] == "run-42"
    fire_gens = sorted((g for g in gens if g.name == "fire.assessment"), key=lambda g: g.start_ns)
    miss, hit = fire_gens
    assert miss.json_attr("langfuse.observation.metadata.adapter") == "fire-lora"
    assert miss.json_attr("langfuse.observation.usage_details") == {
        "input": 100,
        "output": 40,
        "total": 140,
    }
    assert miss.json_attr("langfuse.observation.cost_details")["total"] > 0
    assert miss.json_attr("langfuse.observation.metadata.cache_hit") is False
    assert hit.json_attr("langfuse.observation.metadata.cache_hit") is True
    assert hit.json_attr("langfuse.observation.metadata.cache_mode") == "exact"
    assert hit.json_attr("langfuse.observation.cost_details")["total"] == 0
    (ret,) = receiver.by_name("retrieval")
    assert ret.type == "retriever" and ret.parent_id == experts["expert:fire"].span_id
    assert 20e6 <= ret.end_ns - ret.start_ns <= 40e6  # back-dated to cover the search

    scores = {s["name"]: s for s in receiver.scores}
    assert scores["hazmat_contradiction"]["observationId"] in {
        g.span_id for g in gens if g.name == "police.assessment"
    }
    assert scores["hazmat_verdict"]["value"] == "consistent"
    assert scores["hazmat_verdict"]["observationId"] == experts["expert:fire"].span_id
    assert scores["guard.pii"]["dataType"] == "BOOLEAN"
    assert "observationId" not in scores["guard.pii"]
    assert {s["traceId"] for s in receiver.scores} == {root.trace_id}
    auth = [{k.lower(): v for k, v in h.items()}.get("authorization", "") for h in receiver.headers]
    assert all(a.startswith("Basic ") for a in auth)


def test_disabled_without_keys(ops_home: Path, fake_pool: FakePool) -> None:
    config = AppConfig()
    tracer = get_tracer(config.ops, config.model.base)
    assert not tracer.enabled
    run = tracer.start_run("r", "s", "fire", ["fire"])
    assert isinstance(run, NoopRun)
    run.expert("fire").end()
    run.retrieval("fire", "q", [], 1.0)
    run.score("x", 1.0)
    run.end({})
    link = trace_link(config.ops, config.model.base)
    out = link.around("generate", [_req("fire", "r")], fake_pool.generate)
    assert out[0].text == "answer to: assess"


def test_dead_langfuse_never_blocks(
    ops_home: Path,
    fake_pool: FakePool,
    use_langfuse: Callable[[str], str],
    dead_port: int,
) -> None:
    use_langfuse(f"http://127.0.0.1:{dead_port}")
    config = AppConfig()
    config.ops.tracing.flush_timeout_s = 1.0
    pool = ChainedPool(fake_pool, [trace_link(config.ops, config.model.base)])
    tracer = get_tracer(config.ops, config.model.base)
    assert tracer.enabled
    t0 = time.perf_counter()
    run = tracer.start_run("run-dead", "s", "fire", ["fire"])
    for i in range(30):
        out = pool.generate([_req("fire", "run-dead", f"q{i}")])
        assert out[0].text == f"answer to: q{i}"
    run.score("hazmat_verdict", 1.0, expert_id="fire")
    calls = time.perf_counter() - t0
    t1 = time.perf_counter()
    run.end({"ok": True})  # flush bounded by flush_timeout_s
    end = time.perf_counter() - t1
    assert calls < 1.0, f"30 traced calls took {calls:.2f} s"
    assert end < 1.5, f"run.end took {end:.2f} s"
