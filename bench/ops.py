"""Ops benchmark: cache hit vs miss, semantic-cache precision, tracing overhead. Baseline vs ours.

    .venv/bin/python bench/ops.py                       # fake 2 s model call (see --pool)
    .venv/bin/python bench/ops.py --pool transformers   # a real SmolLM2 call (CPU)
    .venv/bin/python bench/ops.py --only semantic --json out.json

(1) A repeated assessment-sized call (rendered with the real prompt builder from a bundled
    scenario) through the `cache` link: the miss goes to the model, the hits come from the cache.
    Target: hit >= 100x faster than miss.
(2) Semantic-cache precision on `evals/cache/paraphrases.jsonl` (true paraphrases + near-miss
    traps: other chemical, ppm, street, UN number...). Every anchor is stored, then every variant
    is looked up through the real link. Target: 0 wrong hits, >= 70% hits on true paraphrases.
    A threshold sweep shows what the fact check adds over cosine alone.
(3) Tracing overhead per model call: the same calls with and without the `trace` link, the Langfuse
    SDK exporting to a loopback OTLP receiver. Target: < 2% of a model call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "support"))  # the loopback OTLP receiver (test helper)

from crisis_mas.config import AppConfig  # noqa: E402
from crisis_mas.middleware.chain import ChainedPool  # noqa: E402
from crisis_mas.pool.base import ModelPool  # noqa: E402
from crisis_mas.pool.types import (  # noqa: E402
    ChatMessage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)


class SleepPool(ModelPool):
    """Stands in for the model: sleeps `delay_s` per batch (a real assessment call took ~2 s)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.calls = 0

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        self.calls += 1
        time.sleep(self.delay_s)
        return [
            GenerationResult(
                request_id=r.request_id,
                text=f"ANSWER[{r.tags.get('anchor')}]",
                prompt_tokens=900,
                completion_tokens=160,
                latency_ms=self.delay_s * 1000,
                finish_reason="stop",
            )
            for r in requests
        ]

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        return [
            ScoreResult(
                request_id=r.request_id,
                logprobs=[0.0] * len(r.continuations),
                token_counts=[1] * len(r.continuations),
            )
            for r in requests
        ]

    def info(self) -> ModelInfo:
        return ModelInfo(base="sleep", backend="fake")


def _assessment_request(config: AppConfig) -> GenerationRequest:
    """A real expert prompt: fire commander on the bundled Piraeus chlorine scenario."""
    from crisis_mas.experts.profiles import load_profiles
    from crisis_mas.experts.prompting import assessment_messages, prompt_version
    from crisis_mas.scenario import load_scenario

    scenario = load_scenario(REPO / "scenarios" / "piraeus_chlorine.json")
    profile = load_profiles()["fire"]
    return GenerationRequest(
        messages=assessment_messages(profile, scenario),
        sampling=config.model.sampling,
        tags={
            "kind": "assessment",
            "expert": "fire",
            "run_id": "bench",
            "prompt_version": str(prompt_version()),
            "kb_version": "bench",
        },
    )


def _fresh_config(tmp: Path) -> AppConfig:
    config = AppConfig()
    config.ops.cache.backend = "sqlite"
    config.ops.cache.sqlite_path = str(tmp / f"cache-{uuid.uuid4().hex[:6]}.db")
    config.ops.metrics.events_path = str(tmp / "events.db")
    return config


def _make_pool(kind: str, delay_s: float, config: AppConfig) -> ModelPool:
    if kind == "fake":
        return SleepPool(delay_s)
    from crisis_mas.pool.factory import build_pool

    config.model.backend = kind  # type: ignore[assignment]
    config.model.use_adapters = False
    pool = build_pool(config.model, [])
    pool.start()
    return pool


# ---- (1) cache hit vs miss ----------------------------------------------------------------
def bench_cache(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from crisis_mas.middleware.cache.middleware import CacheLink

    config = _fresh_config(tmp)
    if args.redis_url:
        config.ops.cache.backend = "redis"
        config.ops.cache.redis_url = args.redis_url
    pool = _make_pool(args.pool, args.delay, config)
    link = CacheLink(config.ops.cache, config.model.base)
    chained = ChainedPool(pool, [link])
    req = _assessment_request(config)
    chars = sum(len(m.content) for m in req.messages)

    def once(p: ModelPool) -> tuple[float, GenerationResult]:
        r = req.model_copy(update={"request_id": uuid.uuid4().hex[:12]})
        t0 = time.perf_counter()
        out = p.generate([r])[0]
        return (time.perf_counter() - t0) * 1000.0, out

    baseline_ms = [once(pool)[0] for _ in range(args.miss_repeats)]  # no cache at all
    miss_ms, miss = once(chained)
    hits = [once(chained) for _ in range(args.repeats)]
    assert all(h[1].cached for h in hits) and not miss.cached
    hit_ms = [h[0] for h in hits]
    base = statistics.median(baseline_ms)
    hit = statistics.median(hit_ms)
    pool.close()
    return {
        "pool": args.pool if args.pool != "fake" else f"fake (sleep {args.delay:.1f} s)",
        "backend": link._describe().split(":")[0],
        "prompt_chars": chars,
        "completion_tokens": miss.completion_tokens,
        "baseline_ms": round(base, 2),
        "miss_ms": round(miss_ms, 2),
        "hit_ms_p50": round(hit, 3),
        "hit_ms_p95": round(sorted(hit_ms)[int(0.95 * len(hit_ms)) - 1], 3),
        "speedup": round(base / hit, 1),
        "target": ">= 100x",
    }


# ---- (2) semantic precision ---------------------------------------------------------------
def _load_set(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def bench_semantic(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import numpy as np

    from crisis_mas.middleware.cache import hit_info
    from crisis_mas.middleware.cache.entities import signature
    from crisis_mas.middleware.cache.middleware import CacheLink
    from crisis_mas.middleware.cache.semantic import get_encoder

    groups = _load_set(Path(args.paraphrases))
    config = _fresh_config(tmp)
    if args.threshold is not None:
        config.ops.cache.semantic.threshold = args.threshold
    pool = SleepPool(0.0)
    link = CacheLink(config.ops.cache, config.model.base)
    system = "You answer doctrine questions for Greek emergency services."

    def req(text: str, anchor: str | None) -> GenerationRequest:
        return GenerationRequest(
            messages=[
                ChatMessage(role="system", content=system),
                ChatMessage(role="user", content=text),
            ],
            tags={"kind": "reference", "expert": "fire", "anchor": anchor or "-"},
        )

    t0 = time.perf_counter()
    link.around("generate", [req(g["anchor"], g["id"]) for g in groups], pool.generate)
    store_s = time.perf_counter() - t0
    # Group by group, paraphrases then traps. Misses are stored as they would be in production,
    # each tagged with its own answer id: a paraphrase may reuse a stored paraphrase of its own
    # group, and any hit on a trap's stored answer (or a trap hitting anything) is wrong.
    queries: list[tuple[str, str, str]] = []
    for g in groups:
        queries += [(g["id"], p, "paraphrase") for p in g["paraphrases"]]
        queries += [(f"trap:{g['id']}:{i}", t["text"], t["type"]) for i, t in enumerate(g["traps"])]
    rows = []
    lookup_ms = []
    for expected, text, qtype in queries:
        r = req(text, expected)
        t1 = time.perf_counter()
        out = link.around("generate", [r], pool.generate)[0]
        lookup_ms.append((time.perf_counter() - t1) * 1000.0)
        served = out.text[len("ANSWER[") : -1] if out.cached else None
        info = hit_info(r.request_id) or {}
        rows.append(
            {
                "type": qtype,
                "text": text,
                "expected": expected,
                "served": served,
                "similarity": info.get("similarity"),
            }
        )
    paras = [r for r in rows if r["type"] == "paraphrase"]
    traps = [r for r in rows if r["type"] != "paraphrase"]
    correct = sum(1 for r in paras if r["served"] == r["expected"])
    wrong = [r for r in rows if r["served"] is not None and r["served"] != r["expected"]]
    by_type: dict[str, list[int]] = {}
    for r in traps:
        by_type.setdefault(r["type"], [0, 0])
        by_type[r["type"]][0] += 1
        by_type[r["type"]][1] += int(r["served"] is not None)

    # Threshold sweep, cosine alone vs cosine + fact check (same encoder, same candidates).
    enc = get_encoder()
    anchors = [g["anchor"] for g in groups]
    ids = [g["id"] for g in groups]
    a_vec = enc.encode(anchors)
    a_sig = [signature(a) for a in anchors]
    q_vec = enc.encode([q[1] for q in queries])
    sweep = []
    for thr in (0.70, 0.75, 0.80, 0.85, 0.90, 0.95):
        stats = {"threshold": thr}
        for mode in ("cosine_only", "cosine_and_facts"):
            good = bad = 0
            for (expected, text, _), v in zip(queries, q_vec, strict=True):
                # Against the anchors only (the link run above also sees stored misses).
                sims = a_vec @ v
                if mode == "cosine_and_facts":
                    sig = signature(text)
                    sims = np.where([s == sig for s in a_sig], sims, -1.0)
                i = int(np.argmax(sims))
                if sims[i] >= thr:
                    good += int(ids[i] == expected)
                    bad += int(ids[i] != expected)
            stats[mode] = {"paraphrase_hits": good, "wrong_hits": bad}
        sweep.append(stats)
    return {
        "groups": len(groups),
        "paraphrases": len(paras),
        "traps": len(traps),
        "threshold": config.ops.cache.semantic.threshold,
        "paraphrase_hits": correct,
        "paraphrase_hit_rate": round(correct / len(paras), 3),
        "wrong_hits": len(wrong),
        "wrong": wrong[:10],
        "trap_hits_by_type": {k: f"{v[1]}/{v[0]}" for k, v in sorted(by_type.items())},
        "missed_paraphrases": [r["text"] for r in paras if r["served"] != r["expected"]],
        "store_s": round(store_s, 2),
        "lookup_ms_p50": round(statistics.median(lookup_ms), 2),
        "targets": "0 wrong hits, >= 70% paraphrase hits",
        "sweep": sweep,
    }


# ---- (3) tracing overhead -----------------------------------------------------------------
def bench_tracing(args: argparse.Namespace, tmp: Path, model_ms: float) -> dict[str, Any]:
    from otlp_receiver import OTLPReceiver

    from crisis_mas.middleware.tracing import get_tracer, shutdown_tracers
    from crisis_mas.middleware.tracing.link import trace_link

    config = _fresh_config(tmp)
    with OTLPReceiver() as rx:
        os.environ.update(
            LANGFUSE_PUBLIC_KEY=f"pk-bench-{uuid.uuid4().hex[:6]}",
            LANGFUSE_SECRET_KEY="sk-bench",
            LANGFUSE_BASE_URL=rx.url,
        )
        tracer = get_tracer(config.ops, config.model.base)
        pool = SleepPool(args.trace_delay)
        traced = ChainedPool(pool, [trace_link(config.ops, config.model.base)])
        experts = ["fire", "police", "medical"]
        run = tracer.start_run("bench-run", "hazmat_002", "hazmat", experts)
        prompt = _assessment_request(config).messages

        def batch() -> list[GenerationRequest]:
            return [
                GenerationRequest(
                    messages=prompt, tags={"run_id": "bench-run", "expert": e, "kind": "assessment"}
                )
                for e in experts
            ]

        def timed(p: ModelPool) -> float:
            t0 = time.perf_counter()
            p.generate(batch())
            return (time.perf_counter() - t0) * 1000.0

        # Interleave so CPU noise from other jobs hits both sides alike.
        base, ours = [], []
        for _ in range(args.trace_repeats):
            base.append(timed(pool))
            ours.append(timed(traced))
        # Pure overhead: the link around a zero-latency pool, per model call.
        zero = ChainedPool(SleepPool(0.0), [trace_link(config.ops, config.model.base)])
        t0 = time.perf_counter()
        n = 200
        for _ in range(n // len(experts)):
            zero.generate(batch())
        per_call_ms = (time.perf_counter() - t0) * 1000.0 / (n // len(experts) * len(experts))
        run.end({"bench": True})
        tracer.flush(5.0)
        exported = len(rx.spans)
        shutdown_tracers(2.0)
    for var in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL"):
        os.environ.pop(var, None)
    b, o = statistics.median(base), statistics.median(ours)
    return {
        "model_call_ms": round(args.trace_delay * 1000, 1),
        "batch": len(experts),
        "baseline_batch_ms_p50": round(b, 2),
        "traced_batch_ms_p50": round(o, 2),
        "measured_overhead_pct": round((o - b) / b * 100, 3),
        "overhead_per_call_ms": round(per_call_ms, 3),
        "overhead_pct_of_2s_call": round(per_call_ms / 2000.0 * 100, 4),
        "overhead_pct_of_measured_miss": round(per_call_ms / model_ms * 100, 4)
        if model_ms
        else None,
        "spans_exported": exported,
        "target": "< 2%",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--pool",
        choices=["fake", "transformers", "vllm"],
        default="fake",
        help="fake: sleep --delay per call (default); else the real backend",
    )
    ap.add_argument("--delay", type=float, default=2.0, help="fake model call seconds")
    ap.add_argument("--repeats", type=int, default=50, help="cache hits to time")
    ap.add_argument("--miss-repeats", type=int, default=3, help="uncached baseline calls")
    ap.add_argument("--redis-url", default=None, help="time the Redis backend instead")
    ap.add_argument("--paraphrases", default=str(REPO / "evals" / "cache" / "paraphrases.jsonl"))
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument(
        "--trace-delay",
        type=float,
        default=0.2,
        help="model latency per batch in the tracing A/B (s)",
    )
    ap.add_argument("--trace-repeats", type=int, default=15)
    ap.add_argument("--only", default="cache,semantic,tracing")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="crisis-ops-bench-") as d:
        tmp = Path(d)
        if "cache" in parts:
            results["cache"] = bench_cache(args, tmp)
            print(json.dumps({"cache": results["cache"]}, indent=1), flush=True)
        if "semantic" in parts:
            results["semantic"] = bench_semantic(args, tmp)
            print(
                json.dumps({"semantic": results["semantic"]}, indent=1, ensure_ascii=False),
                flush=True,
            )
        if "tracing" in parts:
            miss = results.get("cache", {}).get("baseline_ms") or args.delay * 1000
            results["tracing"] = bench_tracing(args, tmp, miss)
            print(json.dumps({"tracing": results["tracing"]}, indent=1), flush=True)
    print("\nsummary:")
    if "cache" in results:
        c = results["cache"]
        print(
            f"  cache: miss {c['baseline_ms']:.0f} ms vs hit {c['hit_ms_p50']:.2f} ms -> "
            f"{c['speedup']:.0f}x (target >= 100x) [{c['pool']}, {c['backend']}]"
        )
    if "semantic" in results:
        s = results["semantic"]
        print(
            f"  semantic: {s['paraphrase_hits']}/{s['paraphrases']} paraphrases hit "
            f"({s['paraphrase_hit_rate']:.0%}, target >= 70%), {s['wrong_hits']} wrong hits "
            f"on {s['traps']} traps (target 0), threshold {s['threshold']}"
        )
    if "tracing" in results:
        t = results["tracing"]
        print(
            f"  tracing: {t['overhead_per_call_ms']:.3f} ms per call = "
            f"{t['overhead_pct_of_2s_call']:.3f}% of a 2 s call; A/B at "
            f"{t['model_call_ms']:.0f} ms calls: {t['measured_overhead_pct']:+.2f}% "
            f"(target < 2%)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
