"""The persisted index: FAISS vectors plus chunk and document metadata in one folder.

Layout of an index folder:
  meta.json     model, dimension, chunking settings, index type, next free id
  docs.json     per document: content hash, path, title, domains, its chunk ids
  chunks.jsonl  per chunk: id, doc/chunk ids, title, heading, text, source, domains
  vectors.npy   float32 vectors and ids.npy int64 ids, row-aligned (the source of truth, so the
                FAISS index can be rebuilt as flat or HNSW without re-embedding)
  index.faiss   the FAISS index (IndexIDMap2 over IndexFlatIP or IndexHNSWFlat, inner product)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import faiss
import numpy as np
from pydantic import BaseModel, Field

# 2: chunks carry `aliases` (other-language title/keywords); vectors are passage-side embeddings.
FORMAT_VERSION = 2
IndexKind = Literal["flat", "hnsw"]


class ChunkRecord(BaseModel):
    """Metadata of one indexed chunk; `id` is its FAISS id."""

    id: int
    doc_id: str
    chunk_id: str
    title: str
    heading: str = ""
    text: str
    source: str = ""
    domains: list[str] = Field(default_factory=list)
    # The document's title/keywords in the other language, searched with the chunk.
    aliases: str = ""


class DocRecord(BaseModel):
    """What the index remembers about a document to decide whether to re-embed it."""

    doc_id: str
    hash: str
    path: str
    title: str
    source: str = ""
    domains: list[str] = Field(default_factory=list)
    chunk_ids: list[int] = Field(default_factory=list)


class IndexMeta(BaseModel):
    version: int = FORMAT_VERSION
    model: str
    dim: int
    # Chunking settings the vectors were made with; a change forces a full re-embed.
    chunking: dict = Field(default_factory=dict)
    index_type: IndexKind = "flat"
    next_id: int = 0
    hnsw_m: int = 32


class IndexFormatError(RuntimeError):
    """The folder holds no index, or one this version cannot read."""


def choose_index_type(n: int, requested: str, threshold: int) -> IndexKind:
    """`auto` follows the measured crossover: flat below `threshold` chunks, HNSW at or above."""
    if requested in ("flat", "hnsw"):
        return requested  # type: ignore[return-value]
    return "hnsw" if n >= threshold else "flat"


def build_faiss_index(
    vectors: np.ndarray, ids: np.ndarray, kind: IndexKind, m: int = 32, ef_construction: int = 40
) -> faiss.Index:
    """An inner-product IndexIDMap2 (flat or HNSW) holding `vectors` under `ids`."""
    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 384
    if kind == "hnsw":
        base = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = ef_construction
    else:
        base = faiss.IndexFlatIP(dim)
    index = faiss.IndexIDMap2(base)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


def _atomic_write(path: Path, write) -> None:  # noqa: ANN001 - write(tmp_path) callback
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


class IndexStore:
    """In-memory view of an index folder with incremental add/remove and atomic save."""

    def __init__(self, directory: Path, meta: IndexMeta) -> None:
        self.dir = directory
        self.meta = meta
        self.docs: dict[str, DocRecord] = {}
        self.chunks: dict[int, ChunkRecord] = {}
        self.vectors = np.zeros((0, meta.dim), dtype=np.float32)
        self.ids = np.zeros((0,), dtype=np.int64)
        self.index: faiss.Index | None = None
        self._needs_rebuild = True
        self._row_of: dict[int, int] | None = None

    # ---- persistence -------------------------------------------------------------------
    @classmethod
    def exists(cls, directory: Path) -> bool:
        return (directory / "meta.json").is_file()

    @classmethod
    def create(cls, directory: Path, model: str, dim: int, chunking: dict) -> IndexStore:
        return cls(directory, IndexMeta(model=model, dim=dim, chunking=chunking))

    @classmethod
    def load(cls, directory: Path | str) -> IndexStore:
        """Read an index folder (under a shared lock, so never half-way through a save)."""
        directory = Path(directory)
        with cls.locked(directory, shared=True):
            return cls.load_unlocked(directory)

    @classmethod
    def load_unlocked(cls, directory: Path | str) -> IndexStore:
        """Read an index folder; raises IndexFormatError if it is missing or unreadable."""
        directory = Path(directory)
        try:
            meta = IndexMeta.model_validate_json((directory / "meta.json").read_text("utf-8"))
        except FileNotFoundError:
            raise IndexFormatError(f"no index at {directory}") from None
        except ValueError as err:
            raise IndexFormatError(f"{directory}/meta.json unreadable: {err}") from None
        if meta.version != FORMAT_VERSION:
            raise IndexFormatError(f"{directory}: index format {meta.version} != {FORMAT_VERSION}")
        store = cls(directory, meta)
        try:
            docs = json.loads((directory / "docs.json").read_text("utf-8"))
            store.docs = {k: DocRecord.model_validate(v) for k, v in docs.items()}
            with (directory / "chunks.jsonl").open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        rec = ChunkRecord.model_validate_json(line)
                        store.chunks[rec.id] = rec
            store.vectors = np.load(directory / "vectors.npy")
            store.ids = np.load(directory / "ids.npy")
            index_path = directory / "index.faiss"
            if index_path.is_file():
                store.index = faiss.read_index(str(index_path))
                store._needs_rebuild = store.index.ntotal != len(store.ids)
        except (OSError, ValueError, RuntimeError) as err:
            raise IndexFormatError(f"{directory}: damaged index ({err})") from None
        if len(store.ids) != len(store.vectors) or len(store.ids) != len(store.chunks):
            raise IndexFormatError(f"{directory}: vectors and chunk metadata disagree")
        return store

    def save(
        self,
        index_type: str = "auto",
        threshold: int = 50_000,
        ef_construction: int = 40,
        hnsw_m: int | None = None,
    ) -> None:
        """Write every file atomically (meta.json last, so a crash leaves the old meta)."""
        self.ensure_index(index_type, threshold, ef_construction, hnsw_m)
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.dir / "vectors.npy", lambda p: _np_save(p, self.vectors))
        _atomic_write(self.dir / "ids.npy", lambda p: _np_save(p, self.ids))
        _atomic_write(
            self.dir / "docs.json",
            lambda p: p.write_text(
                json.dumps(
                    {k: v.model_dump() for k, v in sorted(self.docs.items())},
                    ensure_ascii=False,
                    indent=1,
                ),
                encoding="utf-8",
            ),
        )

        def write_chunks(p: Path) -> None:
            with p.open("w", encoding="utf-8") as fh:
                for cid in self.ids.tolist():
                    fh.write(self.chunks[cid].model_dump_json() + "\n")

        _atomic_write(self.dir / "chunks.jsonl", write_chunks)
        assert self.index is not None
        _atomic_write(self.dir / "index.faiss", lambda p: faiss.write_index(self.index, str(p)))
        _atomic_write(
            self.dir / "meta.json",
            lambda p: p.write_text(self.meta.model_dump_json(indent=1), encoding="utf-8"),
        )

    @staticmethod
    @contextlib.contextmanager
    def locked(directory: Path | str, shared: bool = False) -> Iterator[None]:
        """Exclusive lock while a process refreshes the folder, shared while one reads it.
        A read-only folder (no lock file possible) is read without a lock."""
        directory = Path(directory)
        if shared and not (directory / ".lock").exists():
            yield
            return
        try:
            if not shared:
                directory.mkdir(parents=True, exist_ok=True)
            fh = (directory / ".lock").open("a")
        except OSError:
            if not shared:
                raise
            yield
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ---- mutation ------------------------------------------------------------------------
    def add_document(self, doc: DocRecord, chunks: list[ChunkRecord], vectors: np.ndarray) -> None:
        """Add a document's chunks; ids are assigned here (`doc.chunk_ids` is filled in)."""
        if doc.doc_id in self.docs:
            self.remove_document(doc.doc_id)
        n = len(chunks)
        new_ids = np.arange(self.meta.next_id, self.meta.next_id + n, dtype=np.int64)
        self.meta.next_id += n
        for cid, rec in zip(new_ids.tolist(), chunks, strict=True):
            rec.id = cid
            self.chunks[cid] = rec
        doc.chunk_ids = new_ids.tolist()
        self.docs[doc.doc_id] = doc
        vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(n, self.meta.dim)
        self.vectors = np.concatenate([self.vectors, vecs]) if n else self.vectors
        self.ids = np.concatenate([self.ids, new_ids]) if n else self.ids
        self._row_of = None
        if self.index is not None and not self._needs_rebuild and n:
            self.index.add_with_ids(vecs, new_ids)

    def remove_document(self, doc_id: str) -> None:
        doc = self.docs.pop(doc_id, None)
        if doc is None or not doc.chunk_ids:
            return
        drop = np.array(doc.chunk_ids, dtype=np.int64)
        for cid in doc.chunk_ids:
            self.chunks.pop(cid, None)
        keep = ~np.isin(self.ids, drop)
        self.vectors = self.vectors[keep]
        self.ids = self.ids[keep]
        self._row_of = None
        if self.index is not None and not self._needs_rebuild:
            if self.meta.index_type == "flat":
                self.index.remove_ids(drop)
            else:  # HNSW cannot delete: rebuild from the stored vectors at save time
                self._needs_rebuild = True

    def ensure_index(
        self,
        index_type: str = "auto",
        threshold: int = 50_000,
        ef_construction: int = 40,
        hnsw_m: int | None = None,
    ) -> faiss.Index:
        """(Re)build the FAISS index if missing, stale or of the wrong type for its size."""
        want = choose_index_type(len(self.ids), index_type, threshold)
        m = hnsw_m or self.meta.hnsw_m
        if (
            self.index is None
            or self._needs_rebuild
            or want != self.meta.index_type
            or (want == "hnsw" and m != self.meta.hnsw_m)
        ):
            self.index = build_faiss_index(self.vectors, self.ids, want, m, ef_construction)
            self.meta.index_type = want
            self.meta.hnsw_m = m
            self._needs_rebuild = False
        return self.index

    # ---- search --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, ef_search: int = 64
    ) -> list[tuple[int, float]]:
        """Top-k (id, cosine) for one normalised query; `allowed` restricts to those ids (exact)."""
        if len(self.ids) == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if allowed is not None:
            # Filtered search is exact over the subset: HNSW with a restrictive selector misses
            # hits, and the subsets our domain filters produce are small.
            if self._row_of is None:
                self._row_of = {cid: row for row, cid in enumerate(self.ids.tolist())}
            rows = np.array(
                [self._row_of[c] for c in allowed.tolist() if c in self._row_of], dtype=np.int64
            )
            if len(rows) == 0:
                return []
            scores = self.vectors[rows] @ q[0]
            top = np.argsort(-scores, kind="stable")[:k]
            return [(int(self.ids[rows[i]]), float(scores[i])) for i in top]
        index = self.index if self.index is not None and not self._needs_rebuild else None
        if index is None:
            index = self.ensure_index(self.meta.index_type)
        if self.meta.index_type == "hnsw":
            faiss.downcast_index(index.index).hnsw.efSearch = max(ef_search, k)
        scores, ids = index.search(q, min(k, len(self.ids)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def _np_save(path: Path, arr: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, arr)
