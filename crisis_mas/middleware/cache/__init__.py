"""Response cache link: exact + semantic lookups over Redis or an embedded SQLite file.

Kept import-light: the trace link asks `hit_info(request_id)` how a cached answer was found
(exact or semantic, with its similarity) without importing Redis or the embedder.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

_MAX = 4096
_hits: OrderedDict[str, dict] = OrderedDict()
_lock = threading.Lock()


def record_hit(request_id: str, info: dict) -> None:
    """Remember how a request was answered from the cache (bounded, newest kept)."""
    with _lock:
        _hits[request_id] = info
        _hits.move_to_end(request_id)
        while len(_hits) > _MAX:
            _hits.popitem(last=False)


def hit_info(request_id: str) -> dict | None:
    """`{"mode": "exact"|"semantic", "similarity": float}` for a recent cache hit, else None."""
    with _lock:
        return _hits.get(request_id)
