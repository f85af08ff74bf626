"""What an HTTP handler can do to the model calls its worker thread makes: receive generated text
as it arrives (streamed chat and completions) and cancel them (a job cancelled, a client gone).

The pipeline (`Assessor.run`, the middleware chain) is synchronous and knows nothing of HTTP, so
the control travels beside it in a context variable set in the worker thread: the innermost pool
(`RemotePool`) reads it, streams a single-request call through the model-pool deployment when a
delta sink is set, and refuses to start (or aborts) calls once cancelled. The links around it
(guard, cache, metrics, tracing) run unchanged.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from crisis_mas.pool.base import ModelPoolError

DeltaSink = Callable[[str], None]


class ModelCancelled(ModelPoolError):
    """The caller cancelled the request (job cancelled, client disconnected)."""


class CallControl:
    """Shared between the handler (event loop) and its worker thread; thread-safe."""

    def __init__(self, on_delta: DeltaSink | None = None):
        self.on_delta = on_delta
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._inflight: set[Any] = set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop: calls in flight are cancelled on the model pool, new ones are refused."""
        self._cancelled.set()
        with self._lock:
            pending = list(self._inflight)
        for response in pending:
            with contextlib.suppress(Exception):
                response.cancel()

    def check(self) -> None:
        if self.cancelled:
            raise ModelCancelled("cancelled by the caller")

    @contextlib.contextmanager
    def tracking(self, response: Any) -> Iterator[None]:
        """Remember an in-flight deployment call so `cancel()` can abort it."""
        with self._lock:
            self._inflight.add(response)
        try:
            if self.cancelled:  # cancelled between the check and the call
                with contextlib.suppress(Exception):
                    response.cancel()
                raise ModelCancelled("cancelled by the caller")
            yield
        finally:
            with self._lock:
                self._inflight.discard(response)


_current: ContextVar[CallControl | None] = ContextVar("crisis_mas_call_control", default=None)


def current_control() -> CallControl | None:
    """The control of the request this thread is working for (None outside one)."""
    return _current.get()


@contextlib.contextmanager
def controlled(control: CallControl) -> Iterator[CallControl]:
    """Run the block's model calls under `control` (set inside the worker thread)."""
    token = _current.set(control)
    try:
        yield control
    finally:
        _current.reset(token)
