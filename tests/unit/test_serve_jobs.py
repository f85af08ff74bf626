"""Assessment jobs over a real socket: live progress as server-sent events (before the report),
replay for late subscribers, the job list, cancel, and jobs held by another replica.

Real app, `Assessor.run`, chain, stores; the model-pool replica is the stand-in (slowed down so
the events can be watched arriving while the run is still going).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standin_app import LiveServer, StandInHandle, serve

from crisis_mas.report.model import Report
from crisis_mas.scenario import bundled_scenarios_dir


def _scenario() -> dict:
    return json.loads((bundled_scenarios_dir() / "evia_wildfire.json").read_text())


def _events(response: httpx.Response) -> Iterator[tuple[str, dict, float]]:
    """(event name, data, arrival time) of each server-sent event."""
    name, data = "message", []
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif not line and data:
            yield name, json.loads("\n".join(data)), time.monotonic()
            name, data = "message", []


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    srv = serve(tmp_path, StandInHandle(delay_s=0.4))
    yield srv
    srv.stop()


def test_stream_mode_sends_every_stage_before_the_report(live: LiveServer) -> None:
    with httpx.stream(
        "POST",
        f"{live.url}/v1/assessments?mode=stream",
        json={"scenario": _scenario(), "experts": ["fire", "police"]},
        timeout=60,
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        job_id = r.headers["x-crisis-mas-job"]
        events = list(_events(r))
    names = [n for n, _, _ in events]
    assert names[:2] == ["status", "status"] and names[-1] == "report"
    assert [e["status"] for n, e, _ in events[:2]] == ["queued", "running"]
    progress = [e for n, e, _ in events if n == "progress"]
    stages = [(e["stage"], e["expert"]) for e in progress]
    assert stages[0] == ("selected", None) and stages[-1] == ("decision", None)
    for expert in ("fire", "police"):
        for stage in ("retrieved", "generated", "done"):
            assert (stage, expert) in stages
    generated = [e for e in progress if e["stage"] == "generated"]
    assert all(e["detail"]["completion_tokens"] == 30 for e in generated)
    done = {e["expert"]: e["detail"] for e in progress if e["stage"] == "done"}
    assert done["fire"]["status"] == "ok" and done["fire"]["recommended"]
    report = Report.model_validate(events[-1][1])
    assert report.decision.recommended == progress[-1]["detail"]["recommended"]
    # the first progress event arrived well before the report (two model calls of 0.4 s each)
    first_progress = next(t for n, _, t in events if n == "progress")
    assert events[-1][2] - first_progress > 0.5
    job = httpx.get(f"{live.url}/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["run_id"] == report.run_id


def test_late_subscriber_replays_the_history(live: LiveServer) -> None:
    r = httpx.post(f"{live.url}/v1/assessments?mode=async", json={"scenario": _scenario()})
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["events_url"] == f"/v1/jobs/{accepted['job_id']}/events"
    deadline = time.monotonic() + 30
    while httpx.get(f"{live.url}{accepted['status_url']}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with httpx.stream("GET", f"{live.url}{accepted['events_url']}", timeout=30) as r:
        events = list(_events(r))
    names = [n for n, _, _ in events]
    assert names[0] == "status" and names[-1] == "report" and "progress" in names


def test_job_list_and_cancel(live: LiveServer) -> None:
    live.handle.delay_s = 1.5
    job_id = httpx.post(
        f"{live.url}/v1/assessments?mode=async", json={"scenario": _scenario()}
    ).json()["job_id"]
    with httpx.stream("GET", f"{live.url}/v1/jobs/{job_id}/events", timeout=30) as r:
        events = _events(r)
        for name, data, _ in events:
            if name == "progress" and data["stage"] == "generating":
                c = httpx.post(f"{live.url}/v1/jobs/{job_id}/cancel")
                assert c.status_code == 200 and c.json()["status"] == "cancelled", c.text
        last = name, data
    assert last[0] == "cancelled"
    listed = httpx.get(f"{live.url}/v1/jobs").json()["jobs"]
    assert listed[0]["job_id"] == job_id and listed[0]["status"] == "cancelled"
    assert httpx.get(f"{live.url}/v1/jobs?status=cancelled").json()["jobs"][0]["job_id"] == job_id
    assert httpx.get(f"{live.url}/v1/jobs?status=succeeded").json()["jobs"] == []
    again = httpx.post(f"{live.url}/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]["message"]
    time.sleep(2 * live.handle.delay_s)  # the worker notices at its next model call
    assert httpx.get(f"{live.url}/v1/jobs/{job_id}").json()["status"] == "cancelled"
    assert live.state.runs.list(limit=10) == []  # nothing half-done was saved


def test_unknown_job_and_a_job_from_another_replica(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/v1/jobs/nope/events").status_code == 404
    assert httpx.post(f"{live.url}/v1/jobs/nope/cancel").status_code == 404
    bad = httpx.get(f"{live.url}/v1/jobs?status=lost")
    assert bad.status_code == 422 and "status" in bad.json()["error"]["message"]
    # a job that another ingress replica ran: its status and stored report, from the stores
    report = Report.model_validate(
        httpx.post(f"{live.url}/v1/assessments", json={"scenario": _scenario()}).json()
    )
    jobs = live.state.jobs
    other = jobs.create("ingress-2", report.scenario_id)
    jobs.update(other.job_id, "succeeded", run_id=report.run_id)
    with httpx.stream("GET", f"{live.url}/v1/jobs/{other.job_id}/events", timeout=30) as r:
        events = list(_events(r))
    assert [n for n, _, _ in events] == ["report"]
    assert events[0][1]["run_id"] == report.run_id
