"""The Serve ingress (`create_api` around an `ApiState`, with the stand-in model-pool handle of
test_serve_api.py): the feedback and rollout routes behind the same middleware, served runs
feeding drift, canary over HTTP, and shadow runs on the background worker — skipped, not piled
up, when one is already running, and never delaying or changing the response."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from test_serve_api import StandInHandle, _scenario, _settings

from crisis_mas.middleware.metrics import REGISTRY
from crisis_mas.pool.types import ModelInfo
from crisis_mas.report.model import Report
from crisis_mas.rollout.registry import Registry
from crisis_mas.service.api import ApiState, create_api
from crisis_mas.service.deployments import RemotePool

CANDIDATE = "fire@v2"


def _app(
    tmp: Path, handle: StandInHandle | None = None, token: str | None = None
) -> tuple[TestClient, StandInHandle, ApiState]:
    settings = _settings(tmp)
    handle = handle or StandInHandle()
    info = ModelInfo(
        base=settings.crisis_mas.model.base, backend="vllm", adapters=["fire", CANDIDATE]
    )
    state = ApiState(settings, RemotePool(handle, info, 30), "ingress-1", token)
    return TestClient(create_api(state)), handle, state


def _rollout(tmp: Path, mode: str, fraction: float | None = None) -> Registry:
    reg = Registry(tmp / "runs.db")
    v2 = tmp / "adapters" / "fire-v2"
    v2.mkdir(parents=True, exist_ok=True)
    (v2 / "adapter_config.json").write_text("{}")
    for tag, path in (("v1", tmp / "adapters" / "fire"), ("v2", v2)):
        reg.register({"expert": "fire", "base": "b", "path": str(path), "data_sha256": tag})
    reg.activate("fire", 1)
    reg.start("fire", 2, mode, fraction)  # type: ignore[arg-type]
    return reg


def _skipped() -> float:
    return REGISTRY.get_sample_value("crisis_mas_shadow_runs_total", {"outcome": "skipped"}) or 0


def _assess(client: TestClient, experts: list[str] | None = None) -> Report:
    r = client.post(
        "/v1/assessments", json={"scenario": _scenario(), "experts": experts or ["fire", "police"]}
    )
    assert r.status_code == 200, r.text
    return Report.model_validate(r.json())


def test_feedback_and_rollout_routes_behind_the_middleware(tmp_path: Path) -> None:
    client, _, state = _app(tmp_path, token="s3cret")
    auth = {"authorization": "Bearer s3cret"}
    with client:
        for method, path in (
            ("post", "/v1/runs/x/feedback"),
            ("get", "/v1/experts/reliability"),
            ("get", "/v1/adapters/rollout"),
            ("post", "/v1/adapters/fire/rollback"),
        ):
            assert getattr(client, method)(path).status_code == 401  # the token guards them too
        r = client.post(
            "/v1/assessments",
            json={"scenario": _scenario(), "experts": ["fire", "police"]},
            headers=auth,
        )
        run = Report.model_validate(r.json())
        # served runs feed the drift monitor like CLI runs (persist_run)
        from crisis_mas.monitor.drift import recent_texts

        assert len(recent_texts(tmp_path / "runs.db")) == 1

        alt = run.decision.ranking[-1].alternative_id
        fb = client.post(f"/v1/runs/{run.run_id}/feedback", json={"outcome": alt}, headers=auth)
        assert fb.status_code == 201 and fb.json()["outcome"] == alt
        missing = client.post("/v1/runs/nope/feedback", json={"outcome": alt}, headers=auth)
        assert missing.status_code == 404 and missing.json()["error"]["param"] == "run_id"
        bad = client.post(
            f"/v1/runs/{run.run_id}/feedback", json={"outcome": "teleport"}, headers=auth
        )
        assert bad.status_code == 422 and bad.json()["error"]["param"] == "outcome"
        rating = client.post(
            f"/v1/runs/{run.run_id}/feedback", json={"outcome": alt, "rating": 9}, headers=auth
        )
        assert rating.status_code == 422 and "rating" in rating.json()["error"]["message"]
        rel = client.get("/v1/experts/reliability?crisis_type=wildfire", headers=auth)
        assert rel.status_code == 200
        fire = next(x for x in rel.json()["reliability"] if x["expert_id"] == "fire")
        assert fire["outcomes"] == 1

        assert client.get("/v1/adapters/rollout", headers=auth).json() == {
            "versions": [],
            "rollouts": [],
        }
        _rollout(tmp_path, "canary", 0.2)
        body = client.get("/v1/adapters/rollout", headers=auth).json()
        assert body["rollouts"][0]["rollout"]["mode"] == "canary"
        held = client.post("/v1/adapters/fire/promote", headers=auth)
        assert held.status_code == 409 and held.json()["action"] == "hold"
        assert client.post("/v1/adapters/fire/rollback", headers=auth).status_code == 200
        again = client.post("/v1/adapters/police/rollback", headers=auth)
        assert again.status_code == 409 and again.json()["error"]["param"] == "expert"

        paths = client.get("/openapi.json").json()["paths"]
        for p in (
            "/v1/runs/{run_id}/feedback",
            "/v1/experts/reliability",
            "/v1/adapters/rollout",
            "/v1/adapters/{expert}/promote",
            "/v1/adapters/{expert}/rollback",
        ):
            assert p in paths
    state.close()


def test_canary_over_http_serves_the_candidate_for_its_runs(tmp_path: Path) -> None:
    reg = _rollout(tmp_path, "canary", 0.5)
    client, handle, state = _app(tmp_path)
    seen: set[str | None] = set()
    with client:
        for _ in range(40):  # run ids are random: stop once both arms served (p(fail) ~ 1e-12)
            seen.add(_assess(client).assessments[0].adapter)
            if len(seen) == 2:
                break
    state.close()
    assert seen == {"fire", CANDIDATE}
    assert CANDIDATE in {r.adapter.name for r in handle.seen if r.adapter}
    assert {x.arm for x in reg.samples("fire")} == {"incumbent", "candidate"}


class BlockingHandle(StandInHandle):
    """Stand-in replica whose candidate rows wait for `release` (a slow shadow run)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.in_shadow = threading.Event()

    def _generate(self, requests: list, timeout_s: float) -> Any:
        if any(r.adapter is not None and r.adapter.name == CANDIDATE for r in requests):
            self.in_shadow.set()
            assert self.release.wait(30)
        return super()._generate(requests, timeout_s)


def test_shadow_runs_after_the_response_and_is_skipped_while_busy(tmp_path: Path) -> None:
    reg = _rollout(tmp_path, "shadow")
    handle = BlockingHandle()
    client, _, state = _app(tmp_path, handle)
    skipped = _skipped()
    with client:
        first = _assess(client)
        assert handle.in_shadow.wait(10)  # the shadow started, after the response was sent
        # while it runs, users are answered at once, and no second shadow piles up
        second = _assess(client)
        third = _assess(client)
        assert _skipped() == skipped + 2
        handle.release.set()
        assert state.shadow_idle(10)
        metrics = client.get("/metrics").text
        assert 'crisis_mas_shadow_runs_total{outcome="skipped"}' in metrics
    state.close()
    for r in (first, second, third):  # the served decisions only ever used the incumbent
        assert r.assessments[0].adapter == "fire" and r.assessments[0].status == "ok"
    xs = reg.samples("fire")
    assert sorted(x.arm for x in xs) == ["candidate", "incumbent"]  # one shadow, one pair
    assert {x.run_id for x in xs} == {first.run_id}
    assert [r.run_id for r in state.runs.list(limit=10)].count(first.run_id) == 1
    assert not any(r.run_id.startswith("shadow-") for r in state.runs.list(limit=10))


def test_shadow_waits_for_user_requests_in_flight(tmp_path: Path) -> None:
    from crisis_mas.scenario import Scenario

    reg = _rollout(tmp_path, "shadow")
    client, _, state = _app(tmp_path)
    scen = Scenario.model_validate(_scenario())
    with client:
        report = _assess(client)
        assert state.shadow_idle(10) and len(reg.samples("fire")) == 2
        with state._user_request():  # a user request stays in flight: the shadow waits ...
            state.shadow_wait_s = 5
            assert state.schedule_shadow(scen, report) == "queued"
            assert not state.shadow_idle(0.5)
        assert state.shadow_idle(10) and len(reg.samples("fire")) == 4  # ... then runs
        skipped = _skipped()
        with state._user_request():  # ... or gives up after shadow_wait_s
            state.shadow_wait_s = 0.3
            assert state.schedule_shadow(scen, report) == "queued"
            assert state.shadow_idle(5)
        assert _skipped() == skipped + 1 and len(reg.samples("fire")) == 4
    state.close()
