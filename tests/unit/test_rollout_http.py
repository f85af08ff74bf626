"""Rollout over HTTP (the Serve app's controls), shadow samples and eval attachment."""

from __future__ import annotations

from pathlib import Path

import typer
from evalkit import make_report, scenario
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_rollout import CFG, _eval, _info, _samples
from typer.testing import CliRunner

from crisis_mas.config import AppConfig
from crisis_mas.rollout.registry import Registry
from crisis_mas.rollout.shadow import candidate_ref, shadow_samples
from crisis_mas.service.routers.rollout import rollout_router
from crisis_mas.store import open_store


def test_rollout_router(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    reg = Registry(db, CFG)
    reg.register(_info("a"))
    reg.register(_info("b"))
    reg.activate("fire", 1)
    reg.start("fire", 2, "canary", 0.3)
    app = FastAPI()
    app.include_router(rollout_router(AppConfig.model_validate({"store": {"path": str(db)}})))
    c = TestClient(app)
    body = c.get("/v1/adapters/rollout").json()
    assert body["rollouts"][0]["rollout"]["candidate"] == 2 and len(body["versions"]) == 2
    held = c.post("/v1/adapters/fire/promote")
    assert held.status_code == 409 and held.json()["action"] == "hold"
    assert c.post("/v1/adapters/fire/rollback").status_code == 200
    again = c.post("/v1/adapters/fire/rollback")
    assert again.status_code == 409 and again.json()["error"]["param"] == "expert"
    assert reg.active_paths() == {"fire": "/adapters/fire-a"}


def test_shadow_samples_and_candidate_identity(tmp_path: Path) -> None:
    s = scenario("elefsina_ammonia")
    a, b = s.alternative_ids[0], s.alternative_ids[1]
    inc = make_report(s, a, run_id="run-1", firsts={"fire": a, "police": a})
    sh = make_report(s, b, run_id="shadow", firsts={"fire": b, "police": a})
    fi, fc = shadow_samples(inc, sh, "fire")
    assert fi.arm == "incumbent" and fc.arm == "candidate" and fc.run_id == "run-1"
    assert fc.agrees is False and shadow_samples(inc, sh, "police")[1].agrees is True
    assert shadow_samples(inc, sh, "medical") is None
    ref = candidate_ref("fire", 3, "/p", tmp_path / "runs.db")
    assert ref.name == "fire@v3" and ref.id == open_store(tmp_path / "runs.db").adapter_ids.id(
        "fire@v3"
    )
    # another expert's candidate of the same version gets its own id (vLLM needs them distinct)
    assert candidate_ref("police", 3, "/q", tmp_path / "runs.db").id != ref.id


def test_attach_eval_then_promote(tmp_path: Path) -> None:
    from crisis_mas.cli.rollout import adapters_attach_eval

    db = tmp_path / "runs.db"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {{path: {db}}}\n")
    store = open_store(db).evals
    store.save(_eval("base", False).to_record())
    store.save(_eval("cand", True).to_record())
    reg = Registry(db, CFG)
    reg.register(_info("a"))
    reg.register(_info("b"))
    reg.activate("fire", 1)
    reg.start("fire", 2, "canary", 0.5)
    for smp in _samples("incumbent", 25) + _samples("candidate", 25):
        reg.record("fire", smp)
    app = typer.Typer()
    app.command()(adapters_attach_eval)
    out = CliRunner().invoke(app, ["fire", "2", "cand", "--against", "base", "-c", str(cfg)])
    assert out.exit_code == 0 and "better" in out.stdout
    assert "cand" in reg.version("fire", 2).evals
    assert reg.promote("fire").action == "promote" and reg.rollout("fire").incumbent == 2
    missing = CliRunner().invoke(app, ["fire", "2", "nope", "--against", "base", "-c", str(cfg)])
    assert missing.exit_code == 2


def test_routes_and_record_many_for_a_run(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "runs.db", CFG)
    reg.register(_info("a"))
    reg.register(_info("b"))
    reg.activate("fire", 1)
    reg.start("fire", 2, "shadow")
    rts = reg.routes("run-9", ["fire", "police"])
    assert rts["fire"].shadow and rts["fire"].serve == "incumbent"
    assert rts["police"].serve == "incumbent" and not rts["police"].shadow
    reg.record_many({"fire": _samples("candidate", 3), "police": _samples("incumbent", 2)})
    assert len(reg.samples("fire")) == 3


def test_run_shadow_never_touches_the_served_report(tmp_path: Path) -> None:
    from evalkit import FakePool, fake_config

    from crisis_mas.assess import Assessor
    from crisis_mas.rollout.shadow import run_shadow

    class SeesAdapters(FakePool):
        def __init__(self) -> None:
            super().__init__(prefer=0)
            self.adapters: list[str | None] = []

        def generate(self, requests):  # noqa: ANN001, ANN201
            self.adapters += [r.adapter.name if r.adapter else None for r in requests]
            return super().generate(requests)

    reg = Registry(tmp_path / "runs.db", CFG)
    reg.register(_info("a"))
    reg.register(_info("b"))
    reg.activate("fire", 1)
    reg.start("fire", 2, "shadow")
    s = scenario("elefsina_ammonia")
    pool = SeesAdapters()
    assessor = Assessor(fake_config(str(tmp_path / "runs.db")), pool=pool)
    served = assessor.run(s, ["fire", "police"], "run-1")
    before = served.model_dump_json()
    shadow = run_shadow(assessor, s, served, {"fire": (2, "/adapters/fire-b")}, reg)
    assert served.model_dump_json() == before  # the served decision is untouched
    assert shadow is not None and shadow.run_id == "shadow-run-1"
    assert [a.expert_id for a in shadow.assessments] == ["fire"]
    assert shadow.assessments[0].adapter == "fire@v2" and "fire@v2" in pool.adapters
    xs = reg.samples("fire")
    assert sorted(x.arm for x in xs) == ["candidate", "incumbent"]
    assert all(x.run_id == "run-1" for x in xs)
    assert run_shadow(assessor, s, served, {"medical": (1, "/m")}, reg) is None
