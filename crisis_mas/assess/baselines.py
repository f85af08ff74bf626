"""Content-free calibration scores, memoised per process.

A calibration request (`experts.prompting.content_free_messages`) holds no scenario fact: only
the expert's persona, the prompt template, the alternative ids and the expert's adapter. Its
scores are therefore the same in every run with those, so each is sent to the engine once and
re-used after that, instead of being prefilled and scored again for every expert of every run.
The key is the whole request but its tags (messages, prefix, continuations, adapter name, id and
path), so a new adapter version, template or alternative set is a new entry.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import ScoreRequest, ScoreResult


def baseline_key(request: ScoreRequest) -> str:
    """What decides a calibration request's scores (everything but its tags)."""
    body = request.model_dump_json(exclude={"tags", "request_id"})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class BaselineMemo:
    """A bounded, thread-safe store of calibration scores, in front of `pool.score`."""

    def __init__(self, size: int = 512):
        self.size = size
        self._scores: OrderedDict[str, ScoreResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._scores)

    def score(
        self, pool: ModelPool, requests: list[ScoreRequest], memoisable: set[int]
    ) -> list[ScoreResult]:
        """`pool.score(requests)`, with the requests at `memoisable` indices answered from the
        memo when they were scored before (at no engine cost: 0 tokens, 0 ms)."""
        keys = {i: baseline_key(requests[i]) for i in memoisable}
        found: dict[int, ScoreResult] = {}
        with self._lock:
            for i, k in keys.items():
                hit = self._scores.get(k)
                if hit is not None:
                    self._scores.move_to_end(k)
                    found[i] = hit.model_copy(
                        update={
                            "request_id": requests[i].request_id,
                            "prompt_tokens": 0,
                            "latency_ms": 0.0,
                        }
                    )
            self.hits += len(found)
            self.misses += len(keys) - len(found)
        todo = [i for i in range(len(requests)) if i not in found]
        got = pool.score([requests[i] for i in todo]) if todo else []
        fresh = dict(zip(todo, got, strict=True))  # a pool that lost a score fails here
        with self._lock:
            for i in keys.keys() & fresh.keys():
                self._scores[keys[i]] = fresh[i]
                self._scores.move_to_end(keys[i])
            while len(self._scores) > self.size:
                self._scores.popitem(last=False)
        return [found[i] if i in found else fresh[i] for i in range(len(requests))]
