"""A five-expert assessment end to end, against the engine's lower bound for the same work.

    flock /tmp/crisis-mas-cpu.lock .venv/bin/python bench/assessment.py \
        [--scenario evia_wildfire] [--repeats 3] [--config FILE] [--json-out FILE]

What runs, in one process and one engine:
  * `Assessor.run` on the bundled scenario, its experts selected automatically (evia_wildfire:
    civil_protection, coast_guard, fire, medical, police), the response cache off, the rest of
    the configured chain on (trace, metrics, guards, HAZMAT), retrieval and scoring included.
    One untimed warm-up run first (engine start, adapters, knowledge-base index, first-call
    kernels); then each timed run gets a fresh scenario id, which opens the user message, so
    vLLM's prefix cache keeps only what real use keeps (each expert's system prompt) and does
    not hide the scenario prefill. The id is not part of the retrieval query.
  * The bound: the exact generation requests that run sent to the engine (its first, all-expert
    batch: messages with retrieved passages, adapters, assistant prefix, sampling), sent once
    more straight to the engine with no middleware, no retrieval and no scoring, each request
    capped at the number of tokens it generated in the run (`ignore_eos`, no stop strings): one
    batched prefill of every expert's prompt plus the decode up to the longest answer. Its
    scenario id is swapped for another fresh one of the same form, so its prefix-cache state
    matches the run's. A prefill-only call (1 token each, a third fresh id) splits the bound.
Printed per timed run and as the median: the report's stage timings, total / bound, tokens/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

STAGES = ("retrieval_ms", "generate_ms", "score_ms", "aggregate_ms", "total_ms")


def _recording_pool(inner: Any) -> Any:
    """`inner` behind a pass-through that records what reaches the engine (below the chain)."""
    from crisis_mas.pool.base import ModelPool

    class RecordingPool(ModelPool):
        def __init__(self) -> None:
            self.inner = inner
            self.calls: list[dict[str, Any]] = []

        def generate(self, requests):  # noqa: ANN001, ANN201
            t0 = time.perf_counter()
            results = inner.generate(requests)
            self.calls.append(
                dict(
                    kind="generate",
                    requests=requests,
                    results=results,
                    seconds=time.perf_counter() - t0,
                )
            )
            return results

        def score(self, requests):  # noqa: ANN001, ANN201
            t0 = time.perf_counter()
            results = inner.score(requests)
            self.calls.append(
                dict(
                    kind="score",
                    requests=requests,
                    results=results,
                    seconds=time.perf_counter() - t0,
                )
            )
            return results

        def info(self):  # noqa: ANN201
            return inner.info()

        def start(self) -> None:
            inner.start()

        def health(self) -> dict:
            return inner.health()

        def close(self) -> None:
            inner.close()

        def __getattr__(self, name: str) -> Any:  # pool methods added later pass through too
            return getattr(inner, name)

    return RecordingPool()


def _swap_id(requests: list[Any], old: str, new: str, **sampling: Any) -> list[Any]:
    """Copies of `requests` with the scenario id `old` replaced by `new` in every message."""
    out = []
    for r in requests:
        msgs = [m.model_copy(update={"content": m.content.replace(old, new)}) for m in r.messages]
        s = r.sampling.model_copy(update=sampling)
        out.append(r.model_copy(update={"messages": msgs, "sampling": s, "tags": {}}))
    return out


def _bound(pool: Any, requests: list[Any], results: list[Any], sid: str, i: int) -> dict:
    """One batched generate of the run's own requests (own token counts), then prefill only."""
    run_id, lens = _fresh_id(sid, "r", i), [max(1, r.completion_tokens) for r in results]
    same = [
        _swap_id([q], run_id, _fresh_id(sid, "b", i), max_tokens=n, ignore_eos=True, stop=[])[0]
        for q, n in zip(requests, lens, strict=True)
    ]
    t0 = time.perf_counter()
    got = pool.generate(same)
    bound_s = time.perf_counter() - t0
    prefill = _swap_id(
        requests, run_id, _fresh_id(sid, "p", i), max_tokens=1, ignore_eos=True, stop=[]
    )
    t0 = time.perf_counter()
    pre = pool.generate(prefill)
    prefill_s = time.perf_counter() - t0
    return dict(
        bound_s=bound_s,
        bound_prefill_s=prefill_s,
        bound_decode_s=bound_s - prefill_s,
        bound_completion_tokens=sum(r.completion_tokens for r in got),
        bound_longest_answer=max(lens),
        bound_prompt_tokens=sum(r.prompt_tokens for r in got),
        bound_prefill_prompt_tokens=sum(r.prompt_tokens for r in pre),
    )


def _fresh_id(sid: str, kind: str, i: int) -> str:
    """Same-form ids for the run (r), its bound (b) and prefill-only call (p): equal lengths."""
    return f"{sid}-{kind}{i:03d}"


def _run(assessor: Any, rec: Any, scen: Any, sid: str, i: int) -> dict:
    rec.calls.clear()
    fresh = scen.model_copy(update={"id": _fresh_id(sid, "r", i)})
    t0 = time.perf_counter()
    report = assessor.run(fresh)
    wall = time.perf_counter() - t0
    gens = [c for c in rec.calls if c["kind"] == "generate"]
    scores = [c for c in rec.calls if c["kind"] == "score"]
    first = gens[0]
    row = dict(
        scenario_id=fresh.id,
        wall_s=wall,
        timings_ms=dict(report.timings),
        experts=[a.expert_id for a in report.assessments],
        statuses=[a.status for a in report.assessments],
        recommended=report.decision.recommended,
        generate_calls=len(gens),
        generate_engine_s=sum(c["seconds"] for c in gens),
        score_calls=len(scores),
        score_engine_s=sum(c["seconds"] for c in scores),
        score_continuations=sum(len(q.continuations) for c in scores for q in c["requests"]),
        prompt_tokens=sum(r.prompt_tokens for c in gens for r in c["results"]),
        completion_tokens=sum(r.completion_tokens for c in gens for r in c["results"]),
        first_batch_prompt_tokens=sum(r.prompt_tokens for r in first["results"]),
        first_batch_completion=[r.completion_tokens for r in first["results"]],
        calls=[_call_row(c) for c in rec.calls],
    )
    return dict(row, _first=first)


def _call_row(call: dict) -> dict:
    """One engine call of a run: its kind, what its requests were for, size, time, tokens."""
    return dict(
        kind=call["kind"],
        purpose=",".join(sorted({q.tags.get("kind", "?") for q in call["requests"]})),
        requests=len(call["requests"]),
        seconds=round(call["seconds"], 3),
        prompt_tokens=sum(r.prompt_tokens for r in call["results"]),
    )


def _print_run(name: str, r: dict) -> None:
    t = r["timings_ms"]
    stages = "  ".join(f"{k.removesuffix('_ms')} {t[k] / 1000:6.2f}" for k in STAGES if k in t)
    extra = [k for k in t if k not in STAGES]
    if extra:  # stages added to the report later are shown too
        stages += "  " + "  ".join(f"{k.removesuffix('_ms')} {t[k] / 1000:.2f}" for k in extra)
    print(
        f"{name:8} {stages}  | bound {r['bound_s']:6.2f} (prefill {r['bound_prefill_s']:.2f})"
        f"  ratio {r['ratio']:.2f}x  | gen calls {r['generate_calls']}, score calls "
        f"{r['score_calls']}, statuses {','.join(sorted(set(r['statuses'])))}"
    )
    print(
        "         engine calls: "
        + "; ".join(
            f"{c['kind']}[{c['purpose']} x{c['requests']}] {c['seconds']:.2f}s"
            f" {c['prompt_tokens']} prompt tok"
            for c in r["calls"]
        )
    )


def summarize(runs: list[dict], scenario: str, startup: float) -> dict:
    """Medians over the timed runs: stage seconds, the bound, their ratio, tokens/s."""

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    med = {k: statistics.median(r["timings_ms"].get(k, 0.0) for r in runs) for k in STAGES}
    bound, prefill = median("bound_s"), median("bound_prefill_s")
    total_s, gen_s = med["total_ms"] / 1000, med["generate_ms"] / 1000
    return dict(
        scenario=scenario,
        experts=runs[0]["experts"],
        repeats=len(runs),
        engine_startup_s=startup,
        median_stage_s={k.removesuffix("_ms"): v / 1000 for k, v in med.items()},
        median_wall_s=median("wall_s"),
        median_bound_s=bound,
        median_bound_prefill_s=prefill,
        median_bound_decode_s=bound - prefill,
        ratio_total_to_bound=median("ratio"),
        score_share_of_generation=med["score_ms"] / med["generate_ms"] if gen_s else None,
        assessment_tok_s=median("completion_tokens") / total_s,
        generation_stage_tok_s=median("completion_tokens") / gen_s if gen_s else None,
        bound_tok_s=median("bound_completion_tokens") / bound,
        bound_prefill_prompt_tokens=median("bound_prefill_prompt_tokens"),
        bound_prefill_tok_s=median("bound_prefill_prompt_tokens") / prefill,
    )


def print_summary(s: dict) -> None:
    print(
        f"\nscenario {s['scenario']}, experts {s['experts']}, median of {s['repeats']} "
        f"warm runs, response cache off, fresh scenario id per run"
    )
    print("stage seconds: " + "  ".join(f"{k} {v:.2f}" for k, v in s["median_stage_s"].items()))
    print(
        f"engine lower bound: {s['median_bound_s']:.2f}s (prefill of "
        f"{s['bound_prefill_prompt_tokens']:.0f} prompt tokens {s['median_bound_prefill_s']:.2f}s,"
        f" decode to the longest answer {s['median_bound_decode_s']:.2f}s)"
    )
    print(f"ratio total / bound: {s['ratio_total_to_bound']:.2f}x (target <= 1.3x)")
    if s["score_share_of_generation"] is not None:
        print(f"scoring / generation: {s['score_share_of_generation']:.0%} (target <= 10%)")
    print(
        f"tokens/s (generated): whole assessment {s['assessment_tok_s']:.1f}, "
        f"generation stage {s['generation_stage_tok_s'] or 0:.1f}, bound "
        f"{s['bound_tok_s']:.1f}; bound prefill {s['bound_prefill_tok_s']:.0f} prompt tok/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenario", default="evia_wildfire")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs (after one warm-up)")
    ap.add_argument("--config", type=Path, default=None, help="AppConfig YAML (default: embedded)")
    ap.add_argument("--json-out", type=Path, default=None)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    from crisis_mas.assess import Assessor
    from crisis_mas.config import load_config
    from crisis_mas.experts.profiles import load_profiles
    from crisis_mas.pool.factory import build_pool, expert_adapters
    from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

    cfg = load_config(args.config)
    cache = cfg.ops.cache.model_copy(update={"enabled": False})
    cfg = cfg.model_copy(update={"ops": cfg.ops.model_copy(update={"cache": cache})})
    scen = load_scenario(bundled_scenarios_dir() / f"{args.scenario}.json")
    sid = scen.id
    # The pool the Assessor would build (every roster expert's adapter), recorded underneath.
    adapters = expert_adapters(cfg.model, list(load_profiles()))
    inner = build_pool(cfg.model, list(adapters.values()))
    rec = _recording_pool(inner)
    t0 = time.perf_counter()
    inner.start()
    startup = time.perf_counter() - t0
    assessor = Assessor(cfg, pool=rec)
    try:
        warm = _run(assessor, rec, scen, sid, 0)
        warm.pop("_first")
        print(
            f"engine start-up {startup:.1f}s; warm-up run {warm['wall_s']:.1f}s "
            f"(not counted; stages {warm['timings_ms']})"
        )
        runs = []
        for i in range(1, args.repeats + 1):
            r = _run(assessor, rec, scen, sid, i)
            first = r.pop("_first")
            r.update(_bound(inner, first["requests"], first["results"], sid, i))
            r["ratio"] = r["timings_ms"]["total_ms"] / 1000 / r["bound_s"]
            runs.append(r)
            _print_run(f"run {i}", r)
    finally:
        assessor.close()

    summary = summarize(runs, args.scenario, startup)
    print_summary(summary)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        out = dict(summary, warmup=warm, runs=runs)
        args.json_out.write_text(json.dumps(out, indent=2, default=str))
        print(f"json: {args.json_out}")


if __name__ == "__main__":
    main()
