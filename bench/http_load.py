"""HTTP load benchmark of the Serve app: assessments and chat completions at concurrency 1, 4, 16.

For each workload and level it sends a bounded number of requests with that many in flight and
reports throughput (requests/min, completion tokens/s), p50/p95 latency, and the ratios
throughput@16 / throughput@1 (continuous batching: target >= 3x) and p95@16 / p95@1 (target
<= 6x). Runs on loopback, against a server it starts (`crisis-mas serve --config ...`, response
cache off so every request reaches the model) or an existing one (`--url`).

    .venv/bin/python bench/http_load.py          # starts deploy/serve-embedded-cpu.yaml
    .venv/bin/python bench/http_load.py --url http://127.0.0.1:8000 --kinds chat
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
CLI = str(REPO / ".venv" / "bin" / "crisis-mas")
SCENARIOS = ["evia_wildfire", "elefsina_ammonia", "karditsa_flood"]
EXPERTS = ["fire", "police", "medical"]
TOPICS = [
    "a wildfire approaching a village",
    "a chlorine leak at a water plant",
    "a flash flood",
    "a ferry fire at sea",
    "an earthquake in an old town",
    "a heatwave in a city",
    "an ammonia release at a port",
    "a train collision in a tunnel",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config: Path, port: int, log: Path) -> subprocess.Popen:
    """`crisis-mas serve` with the given deploy file, response cache off (so nothing is cached)."""
    data = yaml.safe_load(config.read_text())
    app = data["applications"][0]["args"]
    app["crisis_mas"] = json.loads(json.dumps(app.get("crisis_mas") or {}))  # unalias
    app["crisis_mas"].setdefault("ops", {})["cache"] = {"enabled": False}
    api = app.setdefault("api", {})
    api["rate_limit"] = {"enabled": False}
    # Overload is the point here: a level's whole queue must finish, not hit a serving deadline.
    api.update(model_timeout_s=1800, assessment_timeout_s=3600)
    data.setdefault("http_options", {})["request_timeout_s"] = 3700
    tmp = Path(tempfile.mkdtemp(prefix="crisis-mas-bench-")) / "serve.yaml"
    tmp.write_text(yaml.safe_dump(data))
    out = log.open("w")
    proc = subprocess.Popen(
        [CLI, "serve", "--config", str(tmp), "--port", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        start_new_session=True,
    )
    deadline = time.monotonic() + 900
    while "serving on" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)
            sys.exit(f"server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(2)
    return proc


def _scenario(i: int) -> dict[str, Any]:
    name = SCENARIOS[i % len(SCENARIOS)]
    return json.loads((REPO / "scenarios" / f"{name}.json").read_text())


def one_assessment(http: httpx.Client, i: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = http.post("/v1/assessments", json={"scenario": _scenario(i), "experts": EXPERTS})
    r.raise_for_status()
    tokens = sum(a["tokens"]["completion"] for a in r.json()["assessments"])
    return time.perf_counter() - t0, tokens


def one_chat(http: httpx.Client, i: int, max_tokens: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = http.post(
        "/v1/chat/completions",
        json={
            "model": EXPERTS[i % len(EXPERTS)],
            "max_tokens": max_tokens,
            "messages": [
                {
                    "role": "user",
                    "content": "List the first three actions of your service at "
                    f"{TOPICS[i % len(TOPICS)]}.",
                }
            ],
        },
    )
    r.raise_for_status()
    return time.perf_counter() - t0, r.json()["usage"]["completion_tokens"]


def run_level(fn: Any, concurrency: int, n: int) -> dict[str, Any]:
    """n requests with `concurrency` in flight; wall time from first send to last answer."""
    lat: list[float] = []
    toks: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            s, t = fn(i)
        except httpx.HTTPError as err:  # counted, not fatal: the level's numbers say so
            with lock:
                errors.append(str(err).splitlines()[0][:200])
            return
        with lock:
            lat.append(s)
            toks.append(t)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(work, range(n)))
    wall = time.perf_counter() - t0
    lat.sort()
    lat = lat or [float("nan")]
    return {
        "concurrency": concurrency,
        "requests": n,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": round(wall, 1),
        "requests_per_min": round(60 * (n - len(errors)) / wall, 2),
        "tokens_per_s": round(sum(toks) / wall, 1),
        "completion_tokens": sum(toks),
        "p50_s": round(statistics.median(lat), 2),
        "p95_s": round(lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="an already running server (default: start one)")
    ap.add_argument("--config", type=Path, default=REPO / "deploy" / "serve-embedded-cpu.yaml")
    ap.add_argument("--levels", default="1,4,16")
    ap.add_argument("--kinds", default="chat,assessment")
    ap.add_argument("--chat-requests", default="6,12,32", help="requests per level")
    ap.add_argument("--assessment-requests", default="2,4,16", help="requests per level")
    ap.add_argument("--chat-max-tokens", type=int, default=64)
    ap.add_argument("--json-out", type=Path, default=None)
    args = ap.parse_args()

    levels = [int(x) for x in args.levels.split(",")]
    counts = {
        "chat": [int(x) for x in args.chat_requests.split(",")],
        "assessment": [int(x) for x in args.assessment_requests.split(",")],
    }
    proc = None
    url = args.url
    if url is None:
        port = _free_port()
        log = Path(tempfile.gettempdir()) / "crisis-mas-bench-serve.log"
        print(f"starting crisis-mas serve on 127.0.0.1:{port} (log {log}) ...", flush=True)
        t = time.perf_counter()
        proc = start_server(args.config, port, log)
        print(f"serving after {time.perf_counter() - t:.0f} s", flush=True)
        url = f"http://127.0.0.1:{port}"
    token = os.environ.get("CRISIS_MAS_API_TOKEN")
    headers = {"authorization": f"Bearer {token}"} if token else {}
    results: dict[str, Any] = {"url": url, "levels": levels, "workloads": {}}
    try:
        with httpx.Client(
            base_url=url, headers=headers, timeout=1800, limits=httpx.Limits(max_connections=64)
        ) as http:
            fns = {
                "chat": lambda i: one_chat(http, i, args.chat_max_tokens),
                "assessment": lambda i: one_assessment(http, i),
            }
            for kind in args.kinds.split(","):
                fns[kind](10_000)  # warm-up (not measured): first-call compilation, KB load
                rows = []
                for level, n in zip(levels, counts[kind], strict=True):
                    row = run_level(fns[kind], level, max(n, level))
                    rows.append(row)
                    if row["errors"]:
                        print(f"  {row['errors']} failed: {row['first_error']}", flush=True)
                    print(
                        f"{kind:10s} c={level:<3d} n={row['requests']:<3d} "
                        f"{row['requests_per_min']:8.2f} req/min {row['tokens_per_s']:7.1f} tok/s "
                        f"p50 {row['p50_s']:7.2f} s  p95 {row['p95_s']:7.2f} s",
                        flush=True,
                    )
                first, last = rows[0], rows[-1]
                summary = {
                    "rows": rows,
                    "throughput_ratio": round(
                        last["requests_per_min"] / first["requests_per_min"], 2
                    ),
                    "tokens_ratio": round(last["tokens_per_s"] / first["tokens_per_s"], 2),
                    "p95_ratio": round(last["p95_s"] / first["p95_s"], 2),
                }
                results["workloads"][kind] = summary
                print(
                    f"{kind:10s} throughput@{last['concurrency']}/@{first['concurrency']} = "
                    f"{summary['throughput_ratio']}x (target >= 3x), tokens/s ratio "
                    f"{summary['tokens_ratio']}x, p95 ratio {summary['p95_ratio']}x "
                    f"(target <= 6x)",
                    flush=True,
                )
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
