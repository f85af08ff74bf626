"""Rollout on the live path (`crisis_mas/rollout/live.py` through the real `Assessor.run`, on a
scripted pool): sticky canary routing with the candidate adapter really used, per-arm samples,
automatic rollback on an injected candidate failure, shadow that never changes the decision, and
nothing read or created when no rollout exists."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from evalkit import FakePool, scenario

from crisis_mas.config import AppConfig
from crisis_mas.pool.types import GenerationResult, ModelInfo
from crisis_mas.rollout import live
from crisis_mas.rollout.policy import route
from crisis_mas.rollout.registry import Registry
from crisis_mas.runtime import serving_assessor
from crisis_mas.store import StoreConfig, open_store

CANDIDATE = "fire@v2"


class LoraPool(FakePool):
    """The scripted pool, reporting the adapters it has loaded and recording which each request
    used; answers of `broken` adapters are garbage (an injected candidate failure)."""

    def __init__(
        self, loaded: list[str], broken: tuple[str, ...] = (), loads_candidates: bool = False
    ):
        super().__init__(prefer=0)
        self.loaded, self.broken = loaded, broken
        self.loads_candidates = loads_candidates
        self.gen_adapters: list[str | None] = []
        self.score_adapters: list[str | None] = []

    def generate(self, requests):  # noqa: ANN001, ANN201
        self.gen_adapters += [r.adapter.name if r.adapter else None for r in requests]
        out = super().generate(requests)
        return [
            GenerationResult(request_id=o.request_id, text="<<garbage>>")
            if r.adapter is not None and r.adapter.name in self.broken
            else o
            for r, o in zip(requests, out, strict=True)
        ]

    def score(self, requests):  # noqa: ANN001, ANN201
        # One scoring request per answer (its content-free calibration baseline not counted).
        self.score_adapters += [
            r.adapter.name if r.adapter else None
            for r in requests
            if r.tags.get("kind") != "calibration"
        ]
        return super().score(requests)

    def info(self) -> ModelInfo:
        return ModelInfo(
            base="fake",
            backend="scripted",
            adapters=self.loaded,
            loads_candidates=self.loads_candidates,
        )


def _adapter(root: Path, name: str) -> Path:
    p = root / name
    p.mkdir(parents=True, exist_ok=True)
    (p / "adapter_config.json").write_text("{}")
    return p


def _config(tmp: Path, **rollout: object) -> AppConfig:
    return AppConfig.model_validate(
        {
            "model": {
                "adapters": {"fire": str(_adapter(tmp, "fire-v1"))},
                "adapters_dir": str(tmp / "none"),
            },
            "ops": {"chain": []},
            "rag": {"enabled": False},
            "feedback": {"use_learned": False},  # reliability would open the store otherwise
            "store": {"path": str(tmp / "runs.db")},
            "rollout": {"min_rollback_samples": 3, **rollout},
        }
    )


def _registry(cfg: AppConfig, tmp: Path, mode: str, fraction: float = 0.5) -> Registry:
    reg = Registry(cfg.store, cfg.rollout)
    for tag in ("v1", "v2"):
        reg.register(
            {
                "expert": "fire",
                "base": "fake",
                "path": str(_adapter(tmp, f"fire-{tag}")),
                "data_sha256": tag * 8,
                "training": {"r": 8},
            }
        )
    reg.activate("fire", 1)
    reg.start("fire", 2, mode, fraction)  # type: ignore[arg-type]
    return reg


def test_canary_is_sticky_uses_the_candidate_and_records_each_arm(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "canary", 0.5)
    pool = LoraPool(["fire", CANDIDATE])
    assessor = serving_assessor(cfg, pool=pool)
    s = scenario("evia_wildfire")
    ids = [f"run-{i}" for i in range(12)]
    expected = {i: route(i, "canary", 0.5, salt="fire").serve for i in ids}
    assert set(expected.values()) == {"incumbent", "candidate"}  # both arms are exercised
    for run_id in ids:
        pool.gen_adapters.clear()
        pool.score_adapters.clear()
        report = assessor.run(s, ["fire", "police"], run_id)
        fire = next(a for a in report.assessments if a.expert_id == "fire")
        want = CANDIDATE if expected[run_id] == "candidate" else "fire"
        assert fire.status == "ok" and fire.adapter == want
        # the candidate's LoRA is what the engine was asked for, for generation and scoring
        assert want in pool.gen_adapters and want in pool.score_adapters
        assert ({"fire", CANDIDATE} - {want}).isdisjoint(pool.gen_adapters + pool.score_adapters)
        assert reg.route("fire", run_id)[0].serve == expected[run_id]  # the registry's own rule
    again = assessor.run(s, ["fire", "police"], ids[0])  # the same run id lands on the same arm
    want = CANDIDATE if expected[ids[0]] == "candidate" else "fire"
    assert next(a for a in again.assessments if a.expert_id == "fire").adapter == want

    samples = reg.samples("fire")
    n_cand = sum(v == "candidate" for v in expected.values()) + (want == CANDIDATE)
    assert sum(x.arm == "candidate" for x in samples) == n_cand
    assert sum(x.arm == "incumbent" for x in samples) == len(ids) + 1 - n_cand
    assert not any(x.error for x in samples)
    assert reg.rollout("fire").mode == "canary"  # healthy candidate: no rollback


def test_injected_candidate_failure_rolls_back_through_the_live_path(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "canary", 0.5)
    pool = LoraPool(["fire", CANDIDATE], broken=(CANDIDATE,))
    assessor = serving_assessor(cfg, pool=pool)
    s = scenario("evia_wildfire")
    served_by_candidate = 0
    for i in range(40):
        report = assessor.run(s, ["fire"], f"run-{i}")
        fire = report.assessments[0]
        if fire.adapter == CANDIDATE:
            served_by_candidate += 1
            assert fire.status == "fallback"  # the injected failure reached the report
        if reg.rollout("fire").mode == "off":
            break
    r = reg.rollout("fire")
    assert r.mode == "off" and r.candidate is None and r.note.startswith("automatic rollback")
    assert "error rate 100.0%" in r.note
    assert served_by_candidate == 3  # exactly min_rollback_samples candidate runs
    assert reg.version("fire", 2).status == "rolled_back"
    # after the rollback every run is the incumbent's, and nothing more is recorded
    after = [assessor.run(s, ["fire"], f"after-{i}").assessments[0] for i in range(6)]
    assert {a.adapter for a in after} == {"fire"} and all(a.status == "ok" for a in after)


def test_shadow_never_changes_the_decision_and_records_samples(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "shadow")
    pool = LoraPool(["fire", CANDIDATE])
    # the candidate prefers another alternative: its answer must not leak into the decision
    assessor = serving_assessor(cfg, pool=pool)
    s = scenario("evia_wildfire")
    served = assessor.run(s, ["fire", "police"], "run-1")
    assert CANDIDATE not in pool.gen_adapters  # shadow mode: the incumbent serves the run
    before = served.model_dump_json()
    pool.prefer = 2
    shadow = live.run_shadows(assessor, s, served)
    assert served.model_dump_json() == before
    assert shadow is not None and shadow.run_id == "shadow-run-1"
    assert [(a.expert_id, a.adapter) for a in shadow.assessments] == [("fire", CANDIDATE)]
    assert shadow.assessments[0].recommended != served.assessments[0].recommended
    xs = reg.samples("fire")
    assert sorted(x.arm for x in xs) == ["candidate", "incumbent"]
    assert {x.run_id for x in xs} == {"run-1"}
    cand = next(x for x in xs if x.arm == "candidate")
    assert cand.agrees is False  # compared with the served first choice, and logged as such

    # a broken shadow candidate is rolled back by the same rule, still without touching reports
    pool.prefer, pool.broken = 0, (CANDIDATE,)
    for i in range(3):
        r = assessor.run(s, ["fire"], f"s-{i}")
        assert r.assessments[0].adapter == "fire" and r.assessments[0].status == "ok"
        live.run_shadows(assessor, s, r)
    assert reg.rollout("fire").mode == "off"
    assert reg.rollout("fire").note.startswith("automatic rollback")


def test_candidate_the_pool_has_not_loaded_is_never_used(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "canary", 0.99)
    pool = LoraPool(["fire"])  # e.g. a model pool started without the candidate
    assessor = serving_assessor(cfg, pool=pool)
    s = scenario("evia_wildfire")
    report = assessor.run(s, ["fire"], "run-1")
    assert report.assessments[0].adapter == "fire" and report.assessments[0].status == "ok"
    assert CANDIDATE not in pool.gen_adapters and reg.samples("fire") == []
    reg.rollback("fire")
    reg.start("fire", 2, "shadow")
    assert live.run_shadows(assessor, s, report) is None


def test_a_pool_that_loads_candidates_serves_one_started_after_it_came_up(
    tmp_path: Path,
) -> None:
    """vLLM pools (and the Serve model pool) load a candidate's directory on first use, so a
    rollout started while the server runs needs no restart."""
    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "canary", 0.999)
    pool = LoraPool(["fire"], loads_candidates=True)  # the candidate is not in its list
    report = serving_assessor(cfg, pool=pool).run(scenario("evia_wildfire"), ["fire"], "run-1")
    assert report.assessments[0].adapter == CANDIDATE and CANDIDATE in pool.gen_adapters
    assert [s.arm for s in reg.samples("fire")] == ["candidate"]


def test_async_engine_accepts_candidates_on_disk_and_rejects_other_adapters(
    tmp_path: Path,
) -> None:
    from crisis_mas.pool.backends.vllm_async import AsyncEngine, ModelRejected
    from crisis_mas.pool.types import AdapterRef

    pytest.importorskip("vllm")
    roster = AdapterRef(name="fire", id=1, path=str(_adapter(tmp_path, "fire-v1")))
    engine = AsyncEngine(AppConfig().model, [roster])  # not started: only the adapter bookkeeping
    cand = AdapterRef(name=CANDIDATE, id=1002, path=str(_adapter(tmp_path, "fire-v2")))
    assert engine._lora(cand).lora_name == CANDIDATE
    assert CANDIDATE in engine.info().adapters and engine.info().loads_candidates
    for bad in (
        AdapterRef(name="fire@v9", id=1009, path=str(tmp_path / "missing")),  # not on disk
        AdapterRef(name="stranger", id=7, path=str(_adapter(tmp_path, "x"))),  # not a candidate
    ):
        with pytest.raises(ModelRejected):
            engine._lora(bad)


def test_a_promoted_version_is_served_without_a_restart(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "canary", 0.5)
    pool = LoraPool(["fire"], loads_candidates=True)
    assessor = serving_assessor(cfg, pool=pool)
    s = scenario("evia_wildfire")
    reg.promote("fire", force=True)  # v2 becomes the incumbent; v1 stays in the config
    for i in range(4):  # no canary any more: every run serves v2
        report = assessor.run(s, ["fire"], f"run-{i}")
        assert report.assessments[0].adapter == CANDIDATE
    reg.activate("fire", 1)  # back to the configured files: the configured ref serves again
    assert assessor.run(s, ["fire"], "run-9").assessments[0].adapter == "fire"
    assert assessor.run(s, ["fire"], "eval-x").assessments[0].adapter == "fire"


def test_eval_and_shadow_runs_are_never_routed(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "canary", 0.999)
    pool = LoraPool(["fire", CANDIDATE])
    assessor = serving_assessor(cfg, pool=pool)
    s = scenario("evia_wildfire")
    for run_id in ("eval-e1-evia-0", "shadow-x"):
        assert assessor.run(s, ["fire"], run_id).assessments[0].adapter == "fire"
    assert reg.samples("fire") == []


def test_no_registry_costs_nothing(tmp_path: Path) -> None:
    # Without a store file the rollout lookups read nothing and create nothing.
    bare = _config(tmp_path).model_copy(update={"store": StoreConfig(path=str(tmp_path / "x.db"))})
    assert live.active_candidates(bare) == {} and live.incumbents(bare) == {}
    assert live.candidate_refs(bare, ["fire"]) == [] and not (tmp_path / "x.db").exists()

    cfg = _config(tmp_path)
    store = Path(cfg.store.path)
    pool = LoraPool(["fire", CANDIDATE])
    assessor = serving_assessor(cfg, pool=pool)  # numbers the adapters: the store exists now
    s = scenario("evia_wildfire")
    report = assessor.run(s, ["fire", "police"], "run-1")
    assert pool.generated == 2 and len(pool.score_adapters) == 2  # no extra model call
    assert live.run_shadows(assessor, s, report) is None
    assert live.active_candidates(cfg) == {} and live.candidate_refs(cfg, ["fire"]) == []

    # a store with runs but an empty registry: read, never written to
    from crisis_mas.report.records import run_record

    open_store(cfg.store).runs.save(run_record(report))
    assessor.run(s, ["fire"], "run-2")
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT (SELECT COUNT(*) FROM rollouts), (SELECT COUNT(*) FROM "
            "rollout_samples), (SELECT COUNT(*) FROM adapter_versions)"
        ).fetchone()
    assert rows == (0, 0, 0)
    assert pool.generated == 3


def test_assessor_loads_active_candidates_into_the_pool_it_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _config(tmp_path)
    _registry(cfg, tmp_path, "shadow")
    built: list[list[str]] = []

    def build_pool(model, adapters):  # noqa: ANN001, ANN202 - stands in for the engine
        built.append([a.name for a in adapters])
        return LoraPool([a.name for a in adapters])

    monkeypatch.setattr("crisis_mas.assess.assessor.build_pool", build_pool)
    serving_assessor(cfg, experts=["fire", "police"])
    assert built == [["fire", CANDIDATE]]
    refs = live.candidate_refs(cfg, ["fire", "police"])
    ids = open_store(cfg.store).adapter_ids
    assert [(r.name, r.id) for r in refs] == [(CANDIDATE, ids.id(CANDIDATE))]
    assert ids.id(CANDIDATE) not in {ids.id("fire"), ids.id("police@v2")}
    assert live.candidate_refs(cfg, ["police"]) == []
    (tmp_path / "fire-v2" / "adapter_config.json").unlink()
    # a candidate whose files are missing is not handed to the engine (it would fail the batch)
    assert live.candidate_refs(cfg, ["fire"]) == []
    serving_assessor(cfg, experts=["fire"])
    assert built[-1] == ["fire"]


def test_cli_run_writes_the_report_before_the_shadow_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import yaml
    from typer.testing import CliRunner

    from crisis_mas.cli.main import app

    cfg = _config(tmp_path)
    reg = _registry(cfg, tmp_path, "shadow")
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_defaults=True)))
    out = tmp_path / "out"
    report_at_shadow: list[bool] = []

    class Pool(LoraPool):
        def generate(self, requests):  # noqa: ANN001, ANN201
            if any(
                r.adapter is not None and r.adapter.name == CANDIDATE and not r.sampling.choices
                for r in requests
            ):  # the candidate's answer (not its catalogue choice that follows)
                report_at_shadow.append((out / "report.json").is_file())
            return super().generate(requests)

    pools: list[Pool] = []
    monkeypatch.setattr(
        "crisis_mas.assess.assessor.build_pool",
        lambda model, adapters: pools.append(Pool([a.name for a in adapters])) or pools[-1],
    )
    args = ["run", "evia_wildfire", "--experts", "fire", "--out", str(out), "-c", str(cfg_file)]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)  # stdout holds only the report, even with a shadow run
    assert report["assessments"][0]["adapter"] == "fire"
    assert report_at_shadow == [True]  # the candidate ran after report.json was written
    assert sorted(x.arm for x in reg.samples("fire")) == ["candidate", "incumbent"]
    assert {x.run_id for x in reg.samples("fire")} == {report["run_id"]}
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0 and "shadow fire@v2: ok" in res.output
