"""Shadow-rollout overhead on the user's latency, on the real embedded model.

One vLLM CPU `AsyncLLM` engine (exactly the Serve model pool's engine: every roster adapter plus
the candidate, `AsyncEngine`) runs in this process behind the Serve ingress code: `ApiState` +
`create_api`, called through FastAPI's TestClient (no Ray, no socket). The candidate is the
shipped fire adapter registered a second time (a copy in a temp dir, so it gets its own version,
LoRA id 1002 and name `fire@v2`): the shadow does the same work a real candidate would.

Each pair sends the same scenario twice, sequentially, alternating which arm goes first:
  (a) no rollout  — the registry has no active candidate (one SELECT on the request path);
  (b) shadow      — fire v2 in shadow mode: after the report is returned, the ingress's shadow
                    worker runs the candidate beside it and records the paired samples.
The user-visible latency is the time until `POST /v1/assessments` returns the report. With
`--gap drain` (default: the single-operator pattern) the next request waits until the shadow
finished; with `--gap S` it is sent S seconds after the previous answer, so a shadow may still be
running (contention) or be skipped (one already queued/running); a shadow that finishes after
the next pair switched the rollout off records no samples.

    flock /tmp/crisis-mas-cpu.lock .venv/bin/python bench/shadow.py -n 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import ModelInfo

REPO = Path(__file__).resolve().parent.parent


class LoopPool(ModelPool):
    """A sync `ModelPool` over an `AsyncEngine` on its own event loop thread: what the Serve
    model-pool replica does, minus Ray (concurrent callers are continuously batched)."""

    def __init__(self, engine: Any, timeout_s: float = 1800):
        self.engine, self.timeout_s = engine, timeout_s
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def generate(self, requests):  # noqa: ANN001, ANN201
        return self._run(self.engine.generate(requests, self.timeout_s)) if requests else []

    def score(self, requests):  # noqa: ANN001, ANN201
        return self._run(self.engine.score(requests, self.timeout_s)) if requests else []

    def info(self) -> ModelInfo:
        return self.engine.info()

    def close(self) -> None:
        self.engine.shutdown()
        self.loop.call_soon_threadsafe(self.loop.stop)


def _pct(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (as the rollout policy and the eval metrics compute it)."""
    s = sorted(xs)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=5, help="measured requests per arm")
    ap.add_argument("--scenario", default="evia_wildfire")
    ap.add_argument("--experts", default="fire,police")
    ap.add_argument("--gap", default="drain", help="'drain' or seconds between requests")
    ap.add_argument("--deploy", type=Path, default=REPO / "deploy" / "serve-embedded-cpu.yaml")
    args = ap.parse_args()
    experts = args.experts.split(",")
    if "fire" not in experts:
        sys.exit("--experts must include fire (the shadowed expert)")

    from fastapi.testclient import TestClient

    from crisis_mas.middleware.metrics import REGISTRY
    from crisis_mas.pool.adapters import read_info
    from crisis_mas.pool.backends.vllm_async import AsyncEngine
    from crisis_mas.rollout.registry import Registry
    from crisis_mas.rollout.shadow import candidate_ref
    from crisis_mas.service.api import ApiState, create_api
    from crisis_mas.service.config import ServeAppConfig
    from crisis_mas.service.deployments import roster_adapters

    tmp = Path(tempfile.mkdtemp(prefix="crisis-mas-shadow-bench-"))
    data = yaml.safe_load(args.deploy.read_text())
    app_cfg = json.loads(json.dumps(data["crisis_mas"]))
    app_cfg.setdefault("ops", {})["cache"] = {"enabled": False}  # every request hits the model
    app_cfg["store"] = {"path": str(tmp / "runs.db")}
    settings = ServeAppConfig.model_validate(
        {"api": {"rate_limit": {"enabled": False}}, "crisis_mas": app_cfg}
    )
    cfg = settings.crisis_mas

    # the registry: shipped fire adapter = v1 (active); the same weights copied = v2 (candidate)
    incumbents = roster_adapters(cfg.model)
    fire_dir = Path(next(a.path for a in incumbents if a.name == "fire"))
    cand_dir = tmp / "fire-candidate"
    shutil.copytree(fire_dir, cand_dir)
    reg = Registry(cfg.store.path, cfg.rollout)
    reg.activate("fire", reg.register_dir(fire_dir).version)
    info = read_info(cand_dir)
    assert info is not None
    v2 = reg.register({**info.model_dump(mode="json", exclude={"stale"}), "path": str(cand_dir)})
    cand = candidate_ref("fire", v2.version, str(cand_dir))

    t0 = time.perf_counter()
    engine = AsyncEngine(cfg.model, [*incumbents, cand])
    engine.start()
    names = [a.name for a in engine.adapters.values()]
    print(f"engine up in {time.perf_counter() - t0:.1f}s; adapters {names}", flush=True)
    pool = LoopPool(engine)
    state = ApiState(settings, pool, "bench", None)
    scenario = json.loads((REPO / "scenarios" / f"{args.scenario}.json").read_text())

    def counter(outcome: str) -> float:
        v = REGISTRY.get_sample_value("crisis_mas_shadow_runs_total", {"outcome": outcome})
        return v or 0.0

    lat: dict[str, list[float]] = {"none": [], "shadow": []}
    statuses: list[str] = []
    shadow_wait: list[float] = []
    with TestClient(create_api(state)) as client:

        def assess(arm: str, measured: bool) -> None:
            if arm == "shadow" and reg.rollout("fire").mode != "shadow":
                reg.start("fire", v2.version, "shadow")
            if arm == "none" and reg.rollout("fire").candidate is not None:
                reg.rollback("fire", "bench: arm without rollout")
            t = time.perf_counter()
            r = client.post("/v1/assessments", json={"scenario": scenario, "experts": experts})
            s = time.perf_counter() - t
            r.raise_for_status()
            statuses.extend(a["status"] for a in r.json()["assessments"])
            if measured:
                lat[arm].append(s)
            print(f"  {arm:6s} {s:6.1f}s  {'' if measured else '(warm-up)'}", flush=True)
            if args.gap == "drain":
                t = time.perf_counter()
                state.shadow_idle()
                if arm == "shadow":
                    shadow_wait.append(time.perf_counter() - t)
            else:
                time.sleep(float(args.gap))

        assess("none", False)  # warm-up: engine caches, the knowledge base, the candidate LoRA
        assess("shadow", False)
        state.shadow_idle()
        ran0, skipped0, failed0 = counter("ran"), counter("skipped"), counter("failed")
        for i in range(args.n):
            for arm in ("none", "shadow") if i % 2 == 0 else ("shadow", "none"):
                assess(arm, True)
        state.shadow_idle()
        ran = counter("ran") - ran0
        skipped = counter("skipped") - skipped0
        failed = counter("failed") - failed0
    state.close()
    pool.close()

    with sqlite3.connect(cfg.store.path) as db:  # every window (the arms toggle the rollout)
        samples = dict(db.execute("SELECT arm, COUNT(*) FROM rollout_samples GROUP BY arm"))
    print()
    print(
        f"scenario {args.scenario}, experts {experts}, n={args.n} per arm, gap={args.gap}, "
        f"order alternating per pair, response cache off"
    )
    for arm, xs in lat.items():
        print(
            f"{arm:7s} p50 {statistics.median(xs):6.2f}s  p95 {_pct(xs, 0.95):6.2f}s  "
            f"mean {statistics.mean(xs):6.2f}s"
        )
    p50 = statistics.median(lat["shadow"]) / statistics.median(lat["none"])
    p95 = _pct(lat["shadow"], 0.95) / _pct(lat["none"], 0.95)
    print(f"ratio shadow/none: p50 {p50:.3f}x, p95 {p95:.3f}x (target <= 1.05x)")
    print(
        f"shadows (measured part): ran {ran:.0f}, skipped {skipped:.0f}, failed {failed:.0f}"
        + (
            f"; background shadow time per run p50 {statistics.median(shadow_wait):.1f}s"
            if shadow_wait
            else ""
        )
    )
    print(
        f"registry samples recorded: incumbent {samples.get('incumbent', 0)}, "
        f"candidate {samples.get('candidate', 0)}"
    )
    print(f"assessment statuses: {dict((s, statuses.count(s)) for s in set(statuses))}")


if __name__ == "__main__":
    main()
