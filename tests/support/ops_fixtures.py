"""Shared fixtures (loaded by tests/conftest.py): a real redis-server, an isolated state dir and
a fake pool. `redis_server` runs Debian's `redis-server` (installed by scripts/ensure_redis.sh)
on a free 127.0.0.1 port with persistence off."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import (
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_exe() -> str:
    exe = shutil.which("redis-server")
    if exe is None:
        subprocess.run([str(REPO / "scripts" / "ensure_redis.sh")], check=False, timeout=300)
        exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server not installed: run scripts/ensure_redis.sh")
    return exe


@dataclass
class RedisServer:
    """A private redis-server process; `kill()` simulates a crash, `start()` brings it back."""

    port: int
    workdir: Path
    proc: subprocess.Popen | None = None
    exe: str = field(default_factory=_redis_exe)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL, like a crash: no graceful shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on a free 127.0.0.1 port (--save '' --appendonly no), stopped after."""
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ops_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolated $CRISIS_MAS_HOME, no Redis and no Langfuse from the caller's environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("CRISIS_MAS_HOME", str(home))
    for var in (
        "REDIS_URL",
        "LANGFUSE_PUBLIC_KEY",
        "LANGFUSE_SECRET_KEY",
        "LANGFUSE_BASE_URL",
        "LANGFUSE_HOST",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


def langfuse_env(monkeypatch: pytest.MonkeyPatch, base_url: str) -> str:
    """Point the Langfuse SDK at `base_url` with a fresh key (the SDK keeps one client per key)."""
    public = f"pk-lf-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", public)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    monkeypatch.setenv("LANGFUSE_BASE_URL", base_url)
    monkeypatch.setenv("LANGFUSE_TIMEOUT", "1")
    return public


@pytest.fixture
def dead_port() -> int:
    """A 127.0.0.1 port nothing listens on (connections are refused at once)."""
    return free_port()


@pytest.fixture
def use_langfuse(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """`use_langfuse(url)` points the Langfuse SDK at `url` for this test; returns the key."""
    return lambda url: langfuse_env(monkeypatch, url)


class FakePool(ModelPool):
    """A stand-in model: deterministic answers, optional delay, records what reached it."""

    def __init__(self, delay_s: float = 0.0, base: str = "fake-base") -> None:
        self.delay_s = delay_s
        self.base = base
        self.calls: list[list[str]] = []
        self.fail_next = False
        self.result_overrides: dict[str, dict] = {}

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        self.calls.append([r.request_id for r in requests])
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("engine exploded")
        if self.delay_s:
            time.sleep(self.delay_s)
        out = []
        for r in requests:
            fields = {
                "text": f"answer to: {r.messages[-1].content}",
                "prompt_tokens": 100,
                "completion_tokens": 40,
                "latency_ms": self.delay_s * 1000 or 5.0,
                "finish_reason": "stop",
                **self.result_overrides.get(r.messages[-1].content, {}),
            }
            out.append(GenerationResult(request_id=r.request_id, **fields))
        return out

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        self.calls.append([r.request_id for r in requests])
        return [
            ScoreResult(
                request_id=r.request_id,
                logprobs=[-1.0 - i for i in range(len(r.continuations))],
                token_counts=[2] * len(r.continuations),
                prompt_tokens=50,
                latency_ms=3.0,
            )
            for r in requests
        ]

    def info(self) -> ModelInfo:
        return ModelInfo(base=self.base, backend="fake")

    @property
    def n_requests(self) -> int:
        return sum(len(c) for c in self.calls)


@pytest.fixture
def fake_pool() -> FakePool:
    return FakePool()
