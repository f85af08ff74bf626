"""The cache backend interface and what every backend stores: exact entries (JSON, with a TTL),
semantic references per scope (vector + fact signature, pointing at an exact entry), counters.

Entries carry a label `namespace:op:kind:adapter:expert` that `cache clear --pattern` matches
(glob). Backends raise on failure; the cache link turns failures into a bypass.
"""

from __future__ import annotations

import json
import struct
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

COUNTERS = (
    "hits_exact",
    "hits_semantic",
    "misses",
    "tokens_saved",
    "stores",
    "bypassed",
    "uncacheable",
)


@dataclass
class SemanticRef:
    key: str
    vector: np.ndarray
    signature: frozenset[str]


def pack_ref(vector: np.ndarray, signature: frozenset[str]) -> bytes:
    vec = np.ascontiguousarray(vector, dtype=np.float32)
    return struct.pack("<H", vec.shape[0]) + vec.tobytes() + json.dumps(sorted(signature)).encode()


def unpack_ref(key: str, blob: bytes) -> SemanticRef:
    (dim,) = struct.unpack_from("<H", blob)
    vec = np.frombuffer(blob, dtype=np.float32, count=dim, offset=2)
    sig = frozenset(json.loads(blob[2 + 4 * dim :].decode()))
    return SemanticRef(key, vec, sig)


class CacheBackend(ABC):
    """Storage for the response cache. Every method may raise; callers bypass on errors."""

    name = "backend"

    @abstractmethod
    def get_many(self, ns: str, keys: list[str]) -> list[dict | None]:
        """Entries (None where missing or expired), in `keys` order."""

    @abstractmethod
    def set(self, ns: str, key: str, entry: dict, ttl_s: int) -> None: ...

    @abstractmethod
    def add_semantic(
        self,
        ns: str,
        scope: str,
        key: str,
        vector: np.ndarray,
        signature: frozenset[str],
        ttl_s: int,
        max_entries: int,
    ) -> None: ...

    @abstractmethod
    def semantic_refs(self, ns: str, scope: str) -> list[SemanticRef]: ...

    @abstractmethod
    def drop_semantic(self, ns: str, scope: str, key: str) -> None: ...

    @abstractmethod
    def incr(self, counters: dict[str, int]) -> None: ...

    @abstractmethod
    def stats(self) -> dict: ...

    @abstractmethod
    def clear(self, pattern: str | None = None) -> int:
        """Delete entries whose label matches the glob (all when None); returns how many."""

    @abstractmethod
    def ping(self) -> None: ...

    def describe(self) -> str:
        return self.name

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def redact_url(url: str) -> str:
    """Hide a password in a Redis URL for logs and health output."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
