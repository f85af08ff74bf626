"""The real HTTP app on a real socket with a stand-in model-pool handle (the only fake).

Everything but the model is real: `ApiState` with `Assessor.run` and the default middleware
chain, the SQLite run and job stores, guardrails, the FastAPI app behind the limits middleware,
served by uvicorn on 127.0.0.1 so an `openai` client or a browser can talk to it. The stand-in
answers like a model-pool replica: the trained assessment format, beliefs favouring the first
alternative, and streamed generation word by word (`handle.options(stream=True)`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANSWER = (
    "Rationale: The fire front is moving toward the villages and evacuation routes may close.\n"
    "Key concerns:\n- wind shifts\n- blocked roads\nImmediate actions:\n- open corridors\n"
    "- warn residents by 112\n"
)


class _Response:
    def __init__(self, fn: Any, args: tuple):
        self.fn, self.args = fn, args
        self.cancelled = False

    def result(self, timeout_s: float | None = None) -> Any:
        return self.fn(*self.args)

    def cancel(self) -> None:
        self.cancelled = True


class _Stream:
    """Like Serve's `DeploymentResponseGenerator`: iterable, cancellable."""

    def __init__(self, items: Iterator[Any]):
        self.items = items
        self.cancelled = False

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            if self.cancelled:
                return
            yield item

    def cancel(self) -> None:
        self.cancelled = True


class _Method:
    def __init__(self, fn: Any, streams: list | None = None):
        self.fn, self.streams = fn, streams

    def remote(self, *args: Any) -> Any:
        if self.streams is None:
            return _Response(self.fn, args)
        stream = _Stream(self.fn(*args))
        self.streams.append(stream)
        return stream


class StandInHandle:
    """A model-pool deployment handle; `delay_s` slows every call (to watch progress live)."""

    def __init__(self, answer: str = ANSWER, delay_s: float = 0.0, word_delay_s: float = 0.0):
        self.answer = answer
        self.delay_s = delay_s
        self.word_delay_s = word_delay_s
        self.fail: str | None = None
        self.seen: list[Any] = []
        self.streams: list[_Stream] = []
        self.generate = _Method(self._generate)
        self.score = _Method(self._score)
        self.health = _Method(lambda: {"ok": True, "replica": "stand-in"})

    def options(self, stream: bool = False) -> Any:
        handle = self

        class _Streaming:
            generate_stream = _Method(handle._generate_stream, handle.streams)

        return _Streaming() if stream else self

    def streams_cancelled(self) -> bool:
        return any(s.cancelled for s in self.streams)

    def _text(self, request: Any) -> str:
        if request.raw_prompt:
            return " and then the crews arrived."
        return self.answer

    def _generate(self, requests: list, timeout_s: float) -> Any:
        from crisis_mas.pool.types import GenerationResult
        from crisis_mas.service.deployments import PoolReply

        time.sleep(self.delay_s)
        self.seen.extend(requests)
        if self.fail:
            return PoolReply(replica="stand-in", error="engine exploded", error_kind=self.fail)
        return PoolReply(
            replica="stand-in",
            generated=[
                GenerationResult(
                    request_id=r.request_id,
                    text=self._text(r),
                    prompt_tokens=50,
                    completion_tokens=30,
                    latency_ms=5.0,
                    finish_reason="stop",
                )
                for r in requests
            ],
        )

    def _generate_stream(self, request: Any, timeout_s: float) -> Iterator[Any]:
        from crisis_mas.pool.types import GenerationResult
        from crisis_mas.service.deployments import StreamChunk

        self.seen.append(request)
        if self.fail:
            yield StreamChunk(replica="stand-in", error="engine exploded", error_kind=self.fail)
            return
        text = self._text(request)
        words = text.split(" ")
        for i, w in enumerate(words):
            time.sleep(self.word_delay_s)
            yield StreamChunk(replica="stand-in", delta=w if i == 0 else " " + w)
        yield StreamChunk(
            replica="stand-in",
            result=GenerationResult(
                request_id=request.request_id,
                text=text,
                prompt_tokens=12,
                completion_tokens=len(words),
                latency_ms=3.0,
                finish_reason="stop",
            ),
        )

    def _score(self, requests: list, timeout_s: float) -> Any:
        from crisis_mas.pool.types import ScoreResult
        from crisis_mas.service.deployments import PoolReply

        time.sleep(self.delay_s)
        return PoolReply(
            replica="stand-in",
            scored=[
                ScoreResult(
                    request_id=r.request_id,
                    logprobs=[-1.0 - i for i in range(len(r.continuations))],
                    token_counts=[1] * len(r.continuations),
                    prompt_tokens=60,
                )
                for r in requests
            ],
        )


def settings(tmp: Path, rag: bool = False, **api: Any) -> Any:
    from crisis_mas.service.config import ServeAppConfig

    adapter = tmp / "adapters" / "fire"
    adapter.mkdir(parents=True, exist_ok=True)
    (adapter / "adapter_config.json").write_text("{}")
    return ServeAppConfig.model_validate(
        {
            "api": api,
            "crisis_mas": {
                "model": {"adapters": {"fire": str(adapter)}, "adapters_dir": str(tmp / "none")},
                "rag": {"enabled": rag},
                "store": {"path": str(tmp / "runs.db")},
                "ops": {"cache": {"enabled": False}},
            },
        }
    )


def make_state(tmp: Path, handle: StandInHandle, token: str | None = None, **kw: Any) -> Any:
    from crisis_mas.pool.types import ModelInfo
    from crisis_mas.service.api import ApiState
    from crisis_mas.service.deployments import RemotePool

    cfg = settings(tmp, **kw)
    pool = RemotePool(handle, ModelInfo(base=cfg.crisis_mas.model.base, backend="vllm"), 30)
    return ApiState(cfg, pool, "ingress-1", token)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    state: Any
    handle: StandInHandle
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.state.close()


def serve(tmp: Path, handle: StandInHandle | None = None, token: str | None = None, **kw: Any):
    """Start the app on 127.0.0.1:<free port> in a thread; returns a `LiveServer`."""
    import uvicorn

    from crisis_mas.service.api import create_api

    handle = handle or StandInHandle()
    state = make_state(tmp, handle, token, **kw)
    port = free_port()
    config = uvicorn.Config(
        create_api(state), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", state, handle, server, thread)
