"""Live progress of assessment jobs, for server-sent events (`/v1/jobs/{id}/events`, the
console, `POST /v1/assessments?mode=stream`).

The serving `Assessor` has one event sink for every run; `ProgressHub.publish` routes each
`ProgressEvent` by run id to its job's channel. A channel keeps its whole history (a run emits a
few dozen events), so a subscriber that connects late replays it, then follows live events until
the job's terminal event (`report`, `error` or `cancelled`). Events arrive from worker threads and
reach subscribers on their own event loops. Channels live in this ingress replica's memory (the
last `keep` jobs); other replicas answer from the job store instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from crisis_mas.assess import ProgressEvent
from crisis_mas.service.streaming import CallControl

TERMINAL = ("report", "error", "cancelled")


@dataclass
class Event:
    """One server-sent event of a job: its name, its JSON data, and its sequence number."""

    name: str
    data: dict[str, Any]
    seq: int = 0

    @property
    def terminal(self) -> bool:
        return self.name in TERMINAL


@dataclass
class JobChannel:
    """One job's events and subscribers, plus the control that cancels its model calls."""

    job_id: str
    run_id: str
    control: CallControl = field(default_factory=CallControl)
    history: list[Event] = field(default_factory=list)
    _subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = field(
        default_factory=list
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def finished(self) -> bool:
        return bool(self.history) and self.history[-1].terminal

    def put(self, name: str, data: dict[str, Any]) -> None:
        """Record an event and hand it to every subscriber (any thread). After a terminal event
        nothing more is recorded."""
        with self._lock:
            if self.finished:
                return
            event = Event(name, data, len(self.history) + 1)
            self.history.append(event)
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):  # that subscriber's loop is closed
                loop.call_soon_threadsafe(queue.put_nowait, event)

    async def follow(self, keepalive_s: float = 15.0) -> AsyncIterator[Event | None]:
        """The history, then live events until the terminal one; None every `keepalive_s`
        without news (so a stream can send a comment and notice a client that left)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()
        with self._lock:
            backlog = list(self.history)
            entry = (loop, queue)
            self._subscribers.append(entry)
        try:
            for event in backlog:
                yield event
                if event.terminal:
                    return
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), keepalive_s)
                except TimeoutError:
                    yield None
                    continue
                yield event
                if event.terminal:
                    return
        finally:
            with self._lock:
                self._subscribers.remove(entry)


class ProgressHub:
    """Job channels by job id and by run id; `publish` is the serving Assessor's event sink."""

    def __init__(self, keep: int = 256):
        self.keep = keep
        self._jobs: OrderedDict[str, JobChannel] = OrderedDict()
        self._runs: dict[str, JobChannel] = {}
        self._lock = threading.Lock()

    def open(self, job_id: str, run_id: str) -> JobChannel:
        channel = JobChannel(job_id, run_id)
        with self._lock:
            self._jobs[job_id] = channel
            self._runs[run_id] = channel
            while len(self._jobs) > self.keep:  # forget the oldest finished jobs
                old = next(iter(self._jobs.values()))
                if not old.finished:
                    break
                self._jobs.popitem(last=False)
                self._runs.pop(old.run_id, None)
        return channel

    def get(self, job_id: str) -> JobChannel | None:
        with self._lock:
            return self._jobs.get(job_id)

    def publish(self, event: ProgressEvent) -> None:
        """The Assessor's sink: route a run's event to its job (runs without a job: ignored)."""
        with self._lock:
            channel = self._runs.get(event.run_id)
        if channel is not None:
            channel.put("progress", event.model_dump(mode="json"))
