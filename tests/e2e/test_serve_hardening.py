"""`crisis-mas serve` for real, hardened (issue 12): nothing listens beyond loopback, the
bad-input corpus is answered fast with the error object, and a model-pool replica killed in the
middle of an assessment costs a retry on the other replica or a clear 503 with the run stored as
failed, never a lost run.

One server for the module: the embedded model on vLLM's CPU engine, two model-pool replicas on
half a CPU each, a small KV cache, retrieval off (the corpus never reaches it), a bearer token.
Only the processes this module started are checked and stopped; never `ray stop`.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from badinputs import check_http, corpus, patched_scenario, run_http_case
from serve_process import Server, process_family, running_serve

from crisis_mas.service.network import listeners

pytestmark = pytest.mark.slow

START_DEADLINE_S = 900


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, isolated_home: Path) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hardened")
    args = {
        "model_pool": {"num_replicas": 2, "num_cpus": 0.5, "max_ongoing_requests": 64},
        "ingress": {"num_cpus": 0.25},
        "api": {"max_body_bytes": 262_144, "model_timeout_s": 300, "assessment_timeout_s": 600},
        "crisis_mas": {
            "model": {"kv_cache_memory_bytes": 128 * 1024 * 1024, "sampling": {"max_tokens": 48}},
            "rag": {"enabled": False},
        },
    }
    with running_serve(tmp, args, isolated_home, START_DEADLINE_S) as srv:
        yield srv


def test_every_listening_socket_is_on_loopback(server: Server) -> None:
    found = listeners(server.proc.pid)
    table = "\n".join(sorted(str(lis) for lis in found))
    print(f"\nlistening sockets of `crisis-mas serve` and its descendants:\n{table}")
    names = {lis.name for lis in found}
    # the whole cluster is there: control store, raylet, agents, Serve, both engines' replicas
    assert {"gcs_server", "raylet"} <= names, table
    assert any(n.startswith("ray::ServeReplica") for n in names), table
    assert any(lis.port == server.port and lis.address == "127.0.0.1" for lis in found), table
    exposed = [str(lis) for lis in found if not lis.loopback]
    assert exposed == [], table
    assert "beyond loopback" not in server.log.read_text()


def test_bad_input_corpus_on_the_real_server(server: Server) -> None:
    cases = corpus()["http"]
    problems, times = [], []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for case in cases:
            out = run_http_case(client, case, server.token)
            times.append((out.seconds, case["id"]))
            problems += check_http(case, out)
            if out.seconds >= 1.0:
                problems.append(f"{case['id']}: answered in {out.seconds:.2f} s")
        ok = client.get("/v1/runs", headers=server.headers())
    slowest = max(times)
    print(f"\n{len(cases)} HTTP cases: max {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    assert problems == []
    assert ok.status_code == 200  # the server took no harm
    assert "Traceback" not in server.log.read_text()


def _model_pool_replicas(server: Server) -> list[psutil.Process]:
    return [
        p
        for p in process_family(server.proc.pid)
        if p.is_running() and p.name().startswith("ray::ServeReplica:crisis-mas:ModelPool")
    ]


def _busiest(procs: list[psutil.Process], window_s: float = 0.5) -> tuple[psutil.Process, float]:
    """The replica whose process tree (the replica and its vLLM worker processes) used the most
    CPU over `window_s`, and that load in percent."""
    trees = {p.pid: process_family(p.pid) for p in procs}
    for tree in trees.values():
        for q in tree:
            q.cpu_percent(None)
    time.sleep(window_s)
    loads = []
    for p in procs:
        load = 0.0
        for q in trees[p.pid]:
            with contextlib.suppress(psutil.NoSuchProcess):
                load += q.cpu_percent(None)
        loads.append((load, p))
    load, proc = max(loads, key=lambda x: x[0])
    return proc, load


def test_model_pool_replica_killed_mid_assessment(server: Server) -> None:
    replicas = _model_pool_replicas(server)
    assert len(replicas) == 2, [p.name() for p in replicas]
    scenario = patched_scenario(None)
    answer: dict[str, httpx.Response] = {}

    def assess() -> None:
        answer["r"] = httpx.post(
            f"{server.url}/v1/assessments",
            headers=server.headers(),
            json={"scenario": scenario, "experts": ["fire", "police", "medical"]},
            timeout=900,
        )

    worker = threading.Thread(target=assess)
    worker.start()
    victim, load = None, 0.0
    deadline = time.monotonic() + 300
    while worker.is_alive() and time.monotonic() < deadline:
        victim, load = _busiest(replicas)
        if load > 40:  # this replica is generating the assessment's batch
            break
    if not worker.is_alive():
        r = answer.get("r")
        pytest.fail(f"the assessment ended before a replica got busy: {r and r.text[:300]}")
    assert victim is not None
    orphans = process_family(victim.pid)[1:]  # its vLLM worker processes
    print(f"\nkilling {victim.name()} (pid {victim.pid}, {load:.0f}% CPU) mid-assessment")
    victim.kill()
    worker.join(900)
    _, left = psutil.wait_procs(orphans, timeout=60)
    assert not left, f"the killed replica's engine processes stayed: {[p.pid for p in left]}"
    r = answer["r"]
    print(f"answer: HTTP {r.status_code} {r.text[:300]}")
    assert r.status_code in (200, 503), r.text
    if r.status_code == 200:  # retried on the surviving replica
        report = r.json()
        served_by = r.headers["x-crisis-mas-model-replicas"].split(",")
        assert report["status"] in ("ok", "degraded")
        assert all(a["status"] in ("ok", "fallback") for a in report["assessments"])
        run_id = report["run_id"]
        print(f"retried: served by {served_by}")
    else:  # a clear 503, and the run stored as failed
        err = r.json()["error"]
        assert "stored as failed" in err["message"], err
        run_id = err["message"].split("(run ")[1].split(" ")[0]
    stored = httpx.get(f"{server.url}/v1/runs/{run_id}", headers=server.headers(), timeout=60)
    assert stored.status_code == 200, stored.text
    assert stored.json()["status"] == ("failed" if r.status_code == 503 else report["status"])
    # Serve replaces the killed replica; the service keeps answering meanwhile
    health = httpx.get(f"{server.url}/healthz", timeout=60)
    assert health.status_code in (200, 503)
    deadline = time.monotonic() + 600
    while len(_model_pool_replicas(server)) < 2 and time.monotonic() < deadline:
        time.sleep(5)
    assert len(_model_pool_replicas(server)) == 2


def test_shutdown_leaves_no_process(server: Server) -> None:
    family = process_family(server.proc.pid)
    server.proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=120)
    assert not alive, [(p.pid, p.name()) for p in alive]
    assert server.proc.wait(5) == 0, server.log.read_text()[-2000:]
    print(json.dumps({"log_tail": server.log.read_text()[-400:]}))
