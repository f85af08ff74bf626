"""Two ingress processes (the real FastAPI service in two interpreters, as on two nodes) share one
PostgreSQL store: each serves the runs and async jobs the other one stored."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crisis_mas.scenario import bundled_scenarios_dir

APP = Path(__file__).resolve().parents[1] / "support" / "ingress_app.py"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ingresses(pg_database: str, tmp_path: Path) -> Iterator[list[str]]:
    procs, urls = [], []
    for name in ("node-a", "node-b"):
        port = _port()
        env = {**os.environ, "CRISIS_MAS_HOME": str(tmp_path / name)}  # nothing local shared
        log = (tmp_path / f"{name}.log").open("w")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(APP), pg_database, str(port), name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120
        for url, p in zip(urls, procs, strict=True):
            while True:
                assert p.poll() is None, (tmp_path / "node-a.log").read_text()[-3000:]
                try:
                    if httpx.get(f"{url}/v1/runs", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "ingress did not come up"
                time.sleep(0.3)
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_two_ingresses_see_each_others_runs_and_jobs(ingresses: list[str]) -> None:
    a, b = ingresses
    scenario = json.loads((bundled_scenarios_dir() / "evia_wildfire.json").read_text())
    body = {"scenario": scenario, "experts": ["fire", "police"]}
    ra = httpx.post(f"{a}/v1/assessments", json=body, timeout=60)
    rb = httpx.post(f"{b}/v1/assessments", json=body, timeout=60)
    assert ra.status_code == rb.status_code == 200, (ra.text, rb.text)
    assert ra.headers["x-crisis-mas-replica"] == "node-a"
    assert rb.headers["x-crisis-mas-replica"] == "node-b"
    ids = {ra.json()["run_id"], rb.json()["run_id"]}
    for url in (a, b):
        listed = {r["run_id"] for r in httpx.get(f"{url}/v1/runs", timeout=10).json()["runs"]}
        assert ids <= listed
    assert httpx.get(f"{b}/v1/runs/{ra.json()['run_id']}", timeout=10).json() == ra.json()
    assert httpx.get(f"{a}/v1/runs/{rb.json()['run_id']}", timeout=10).json() == rb.json()

    # an async job accepted by one node is answered by the other, report included
    job = httpx.post(f"{a}/v1/assessments", params={"mode": "async"}, json=body, timeout=30)
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]
    deadline = time.monotonic() + 60
    while (seen := httpx.get(f"{b}/v1/jobs/{job_id}", timeout=10).json())["status"] != "succeeded":
        assert seen["status"] in ("queued", "running"), seen
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert seen["report"]["run_id"] == seen["run_id"]
