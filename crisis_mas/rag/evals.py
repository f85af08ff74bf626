"""Retrieval evals: hit@1, hit@5 and MRR@10 of vector, BM25 and hybrid search on QA sets that map
each question to the document(s) that answer it.

Sets over our knowledge base: `kb` (evals/rag/kb_qa.jsonl, English), `kb-el` / `kb-el-en` (the
bilingual set frozen before the Greek work, evals/rag/kb_qa_bilingual.jsonl: its Greek questions and
their English twins) and `heldout-el` / `heldout-en` (pairs written after tuning, in a dated file);
`external` runs over the third-party corpora in ../shared/data, indexed in its own folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from crisis_mas.embeddings import DEFAULT_EMBEDDER, Embedder, get_embedder
from crisis_mas.errors import InputError
from crisis_mas.paths import REPO_ROOT, home, shared_data
from crisis_mas.rag.config import RagConfig
from crisis_mas.rag.external import external_documents, external_sources
from crisis_mas.rag.ingest import FileWarning, IngestReport, ingest
from crisis_mas.rag.retriever import Mode, Retriever

MODES: tuple[Mode, ...] = ("vector", "bm25", "hybrid")
RANK_DEPTH = 10  # MRR is computed over the top 10
EVAL_DIR = REPO_ROOT / "evals" / "rag"
BILINGUAL = EVAL_DIR / "kb_qa_bilingual.jsonl"  # frozen 2026-12-03, before Greek tuning
HELDOUT = EVAL_DIR / "kb_qa_bilingual_heldout_2026-12-03.jsonl"  # written after tuning
# name -> (QA file, language of the question field to read; None: `question`)
SETS: dict[str, tuple[Path, str | None]] = {
    "kb": (EVAL_DIR / "kb_qa.jsonl", None),
    "kb-el": (BILINGUAL, "el"),
    "kb-el-en": (BILINGUAL, "en"),
    "heldout-el": (HELDOUT, "el"),
    "heldout-en": (HELDOUT, "en"),
    "external": (EVAL_DIR / "external_qa.jsonl", None),
}
# hybrid hit@5 targets (issue 4 for kb/external, issue 16 for the Greek sets)
TARGETS = {"kb": 0.9, "kb-el": 0.9, "heldout-el": 0.9, "external": 0.8}

_Q_KEYS = ("question", "query", "q")
_DOC_KEYS = (
    "doc_id",
    "expected_doc_id",
    "answer_doc_id",
    "doc_ids",
    "expected_doc_ids",
    "expected",
    "answer_doc_ids",
    "doc",
)


class QAItem(BaseModel):
    question: str
    doc_ids: list[str]
    domains: list[str] | None = None


class ModeMetrics(BaseModel):
    mode: Mode
    n: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    mean_latency_ms: float
    misses: list[dict] = Field(default_factory=list)  # questions with no hit in the top 5


class SetReport(BaseModel):
    set: str
    qa_path: str
    index_dir: str
    docs: int
    chunks: int
    target_hybrid_hit_at_5: float | None = None
    use_domains: bool = False
    embedder: str = ""
    modes: list[ModeMetrics] = Field(default_factory=list)

    def metrics(self, mode: str) -> ModeMetrics:
        return next(m for m in self.modes if m.mode == mode)


def load_qa(path: Path, lang: str | None = None) -> list[QAItem]:
    """Read a QA JSONL file; accepts `question|query` and `doc_id|doc_ids|expected_doc_id(s)`.
    With `lang` ("el", "en") the question is read from `question_<lang>` instead."""
    if not path.is_file():
        raise InputError(f"QA set not found: {path}")
    items: list[QAItem] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{lineno}: invalid JSON ({err.msg})") from None
        keys = (f"question_{lang}",) if lang else _Q_KEYS
        q = next((rec[k] for k in keys if isinstance(rec.get(k), str)), None)
        docs = next((rec[k] for k in _DOC_KEYS if rec.get(k)), None)
        if q is None or docs is None:
            raise InputError(f"{path}:{lineno}: needs a question and a doc_id")
        doc_ids = [docs] if isinstance(docs, str) else [str(d) for d in docs]
        domains = rec.get("domains", rec.get("domain"))
        items.append(
            QAItem(
                question=q,
                doc_ids=doc_ids,
                domains=[domains] if isinstance(domains, str) else domains,
            )
        )
    if not items:
        raise InputError(f"QA set is empty: {path}")
    return items


def first_rank(hit_doc_ids: list[str], expected: list[str]) -> int | None:
    """1-based rank of the first hit from an expected document, or None."""
    for rank, doc_id in enumerate(hit_doc_ids, 1):
        if doc_id in expected:
            return rank
    return None


def evaluate(
    retriever: Retriever,
    items: list[QAItem],
    modes: tuple[Mode, ...] = MODES,
    use_domains: bool = False,
) -> list[ModeMetrics]:
    """Metrics per mode; ranks are over chunk hits (the first chunk of an expected doc counts).

    With `use_domains`, each question is filtered like an expert's search: its `domain(s)` plus
    the shared domains (questions without a domain are searched unfiltered)."""
    out: list[ModeMetrics] = []
    for mode in modes:
        ranks: list[int | None] = []
        misses: list[dict] = []
        latency = 0.0
        for item in items:
            domains = (
                retriever.config.domains_for(item.domains) if use_domains and item.domains else None
            )
            res = retriever.retrieve(item.question, RANK_DEPTH, domains, mode)
            latency += res.latency_ms
            got = [h.doc_id for h in res.hits]
            r = first_rank(got, item.doc_ids)
            ranks.append(r)
            if r is None or r > 5:
                misses.append(
                    {
                        "question": item.question,
                        "expected": item.doc_ids,
                        "got": [h.chunk_id for h in res.hits[:5]],
                        "rank": r,
                    }
                )
        n = len(items)
        out.append(
            ModeMetrics(
                mode=mode,
                n=n,
                hit_at_1=round(sum(1 for r in ranks if r == 1) / n, 4),
                hit_at_5=round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
                mrr=round(sum(1.0 / r for r in ranks if r is not None) / n, 4),
                mean_latency_ms=round(latency / n, 2),
                misses=misses,
            )
        )
    return out


def external_index_dir() -> Path:
    return home() / "index" / "external"


def kb_index_dir(cfg: RagConfig, embedder: str | None) -> Path:
    """The configured KB index for the default embedder; a side folder for another one, so a
    comparison never makes the shared index rebuild back and forth."""
    if embedder in (None, DEFAULT_EMBEDDER):
        return cfg.resolved_index_dir()
    return home() / "index" / f"kb-{embedder}"


def build_external_index(
    config: RagConfig | None = None,
    data_dir: Path | None = None,
    index_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Index the external corpora (incremental) in their own folder."""
    data = data_dir or shared_data()
    docs, warnings = external_documents(data)
    if not docs:
        raise InputError(f"external corpora not found under {data}")
    report = ingest(
        [],
        index_dir or external_index_dir(),
        config,
        documents=docs,
        scope=[p for p in external_sources(data) if p.exists()],
        progress=progress,
        embedder=embedder,
    )
    for w in warnings:
        path, _, reason = w.partition(": ")
        report.skipped.append(FileWarning(path=path, reason=reason))
    return report


def run_set(
    name: str,
    config: RagConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    modes: tuple[Mode, ...] = MODES,
    use_domains: bool = False,
    embedder: str | None = None,
) -> SetReport:
    """Build/refresh the set's index, then evaluate every mode on its QA file."""
    cfg = config or RagConfig()
    if name not in SETS:
        raise InputError(f"unknown eval set '{name}' (choose {', '.join(SETS)} or all)")
    path, lang = SETS[name]
    items = load_qa(path, lang)
    emb = get_embedder(embedder)
    if name != "external":
        index_dir = kb_index_dir(cfg, embedder)
        kb_cfg = cfg.model_copy(update={"index_dir": str(index_dir)})
        retriever = Retriever.open(kb_cfg, embedder=emb, progress=progress)
    else:
        index_dir = (
            external_index_dir()
            if embedder in (None, DEFAULT_EMBEDDER)
            else (home() / "index" / f"external-{embedder}")
        )
        build_external_index(cfg, index_dir=index_dir, progress=progress, embedder=emb)
        retriever = Retriever.load(index_dir, cfg, embedder=emb)
    # The guard is for agent prompts; evals measure retrieval itself.
    retriever._guard = None
    retriever.warmup()  # model load is not query latency
    report = SetReport(
        set=name,
        qa_path=str(path),
        index_dir=str(index_dir),
        docs=len(retriever.store.docs),
        chunks=len(retriever.store),
        target_hybrid_hit_at_5=TARGETS.get(name),
    )
    report.use_domains = use_domains
    report.embedder = emb.name
    report.modes = evaluate(retriever, items, modes, use_domains)
    return report
