"""Incremental ingestion: load files, skip unchanged documents by content hash, re-embed changed
ones, delete documents that disappeared from the ingested paths, and persist the index.

A bad file never aborts a run: it is reported as a warning naming the file, and whatever it
contributed to the index before stays there until it is fixed or removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from crisis_mas.embeddings import Embedder, get_embedder
from crisis_mas.rag.chunking import chunk_document, embedding_text
from crisis_mas.rag.config import RagConfig
from crisis_mas.rag.documents import Document, DocumentError, iter_files, load_file
from crisis_mas.rag.store import ChunkRecord, DocRecord, IndexFormatError, IndexStore

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


class FileWarning(BaseModel):
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class IngestReport(BaseModel):
    """What one ingest run did; `changed` says whether the index was rewritten."""

    index_dir: str
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    # Unchanged content found at a new path: metadata updated, nothing re-embedded.
    relocated: list[str] = Field(default_factory=list)
    skipped: list[FileWarning] = Field(default_factory=list)
    chunks_embedded: int = 0
    total_docs: int = 0
    total_chunks: int = 0
    index_type: str = "flat"
    seconds: float = 0.0
    embed_seconds: float = 0.0
    rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.relocated or self.rebuilt)


def _file_of(doc_path: str) -> str:
    """The file a document came from (JSONL records carry `path:line`)."""
    head, sep, tail = doc_path.rpartition(":")
    return head if sep and tail.isdigit() else doc_path


def _under(path: str, scopes: list[Path]) -> bool:
    p = Path(path)
    return any(p == s or s in p.parents for s in scopes)


def collect_documents(
    paths: Iterable[Path], skipped: list[FileWarning]
) -> tuple[list[Document], set[str]]:
    """Load every supported file; returns the documents and the files that failed to load."""
    docs: list[Document] = []
    failed: set[str] = set()
    for path in iter_files([Path(p) for p in paths]):
        f = path.resolve()
        if not f.exists():
            skipped.append(FileWarning(path=str(path), reason="not found"))
            continue
        try:
            docs.extend(load_file(f))
        except DocumentError as err:
            skipped.append(FileWarning(path=str(path), reason=str(err)))
            failed.add(str(f))
        except Exception as err:  # noqa: BLE001 - a loader bug must not abort the run
            skipped.append(FileWarning(path=str(path), reason=f"{type(err).__name__}: {err}"))
            failed.add(str(f))
    return docs, failed


def _open_store(
    index_dir: Path, embedder: Embedder, cfg: RagConfig, report: IngestReport
) -> IndexStore:
    chunking = cfg.chunking.model_dump()
    if IndexStore.exists(index_dir):
        try:
            store = IndexStore.load_unlocked(index_dir)  # the caller holds the exclusive lock
            if (
                store.meta.model == embedder.name
                and store.meta.dim == embedder.dim
                and store.meta.chunking == chunking
            ):
                return store
            log.warning("%s: model or chunking settings changed; rebuilding the index", index_dir)
        except IndexFormatError as err:
            log.warning("%s; rebuilding the index", err)
        report.rebuilt = True
    return IndexStore.create(index_dir, embedder.name, embedder.dim, chunking)


def ingest(
    paths: Iterable[Path | str],
    index_dir: Path | str,
    config: RagConfig | None = None,
    *,
    documents: Iterable[Document] = (),
    scope: Iterable[Path | str] = (),
    embedder: Embedder | None = None,
    progress: ProgressFn | None = None,
    prune: bool = True,
) -> IngestReport:
    """Bring the index at `index_dir` up to date with `paths` (files or folders).

    `documents` are extra, already-loaded documents (e.g. the ERG guides split per guide), with
    `scope` naming the files they came from. With `prune`, documents previously ingested from
    these paths/scopes but no longer present are deleted; other documents in the index stay.
    """
    cfg = config or RagConfig()
    started = time.perf_counter()
    index_dir = Path(index_dir).expanduser()
    path_list = [Path(p).expanduser() for p in paths]
    report = IngestReport(index_dir=str(index_dir))
    docs, failed = collect_documents(path_list, report.skipped)
    docs.extend(documents)
    scopes = [p.resolve() for p in [*path_list, *(Path(s) for s in scope)] if p.exists()]
    emb = embedder or get_embedder()

    with IndexStore.locked(index_dir):
        store = _open_store(index_dir, emb, cfg, report)
        seen: dict[str, Document] = {}
        todo: list[Document] = []
        for doc in docs:
            if doc.id in seen:
                report.skipped.append(
                    FileWarning(
                        path=doc.path,
                        reason=f"duplicate document id '{doc.id}' "
                        f"(already from {seen[doc.id].path})",
                    )
                )
                continue
            seen[doc.id] = doc
            old = store.docs.get(doc.id)
            if old is not None and old.hash == doc.content_hash():
                report.unchanged.append(doc.id)
                if old.path != doc.path:  # moved but identical: just remember the new place
                    old.path = doc.path
                    report.relocated.append(doc.id)
            else:
                (report.updated if old is not None else report.added).append(doc.id)
                todo.append(doc)

        if prune:
            for doc_id, rec in list(store.docs.items()):
                f = _file_of(rec.path)
                if doc_id not in seen and _under(f, scopes) and f not in failed:
                    store.remove_document(doc_id)
                    report.removed.append(doc_id)

        chunked = [(doc, chunk_document(doc, cfg.chunking)) for doc in todo]
        texts = [
            embedding_text(d.title, c.heading, c.text, "; ".join(d.aliases))
            for d, cs in chunked
            for c in cs
        ]
        t0 = time.perf_counter()
        vectors = _embed(emb, texts, progress)
        report.embed_seconds = time.perf_counter() - t0
        report.chunks_embedded = len(texts)

        row = 0
        for doc, chunks in chunked:
            n = len(chunks)
            records = [
                ChunkRecord(
                    id=-1,
                    doc_id=doc.id,
                    chunk_id=c.chunk_id,
                    title=doc.title,
                    heading=c.heading,
                    text=c.text,
                    source=doc.source,
                    domains=doc.domains,
                    aliases="; ".join(doc.aliases),
                )
                for c in chunks
            ]
            store.add_document(
                DocRecord(
                    doc_id=doc.id,
                    hash=doc.content_hash(),
                    path=doc.path,
                    title=doc.title,
                    source=doc.source,
                    domains=doc.domains,
                ),
                records,
                vectors[row : row + n],
            )
            row += n

        if report.changed or not IndexStore.exists(index_dir):
            store.save(cfg.index_type, cfg.hnsw_threshold, cfg.hnsw_ef_construction, cfg.hnsw_m)
        report.total_docs = len(store.docs)
        report.total_chunks = len(store)
        report.index_type = store.meta.index_type
    report.seconds = time.perf_counter() - started
    return report


def _embed(
    emb: Embedder, texts: list[str], progress: ProgressFn | None, batch: int = 64
) -> np.ndarray:
    out = np.zeros((len(texts), emb.dim), dtype=np.float32)
    for start in range(0, len(texts), batch):
        out[start : start + batch] = emb.encode_passages(texts[start : start + batch])
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    return out
