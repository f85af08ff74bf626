"""Rollout: sticky canary routing, shadow never serves, rollback on an injected failure, promotion
blocked by a safety regression, the registry and the adapters command functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from evalkit import make_report, scenario
from typer.testing import CliRunner

from crisis_mas.errors import InputError
from crisis_mas.evals import EvalRun, compare_runs, load_suite, score_report
from crisis_mas.rollout.policy import (
    ArmStats,
    RolloutConfig,
    Sample,
    arm_stats,
    bucket,
    check_promotion,
    check_rollback,
    route,
)
from crisis_mas.rollout.registry import Registry, samples_from_report

CFG = RolloutConfig(min_samples_per_arm=20, min_rollback_samples=10)
HZ = {"type": "hazmat_contradiction", "reason": "IDLH"}


def _samples(
    arm: str, n: int, errors: int = 0, hazmat: int = 0, ms: float = 1000.0
) -> list[Sample]:
    return [
        Sample(run_id=f"{arm}{i}", arm=arm, error=i < errors, hazmat=i < hazmat, latency_ms=ms)  # type: ignore[arg-type]
        for i in range(n)
    ]


def _eval(label: str, good: bool, hz: bool = False) -> EvalRun:
    scores = []
    for x in load_suite("bundled"):
        bad = [a for a in x.scenario.alternative_ids if a not in x.labels.acceptable][0]
        flags = {"fire": [HZ]} if hz else None
        r = make_report(x.scenario, x.labels.acceptable[0] if good else bad, flags=flags)
        scores.append(score_report(r, x.labels))
    return EvalRun(eval_id=label, created_at="t", suite="bundled", config=label, scores=scores)


def test_canary_is_sticky_and_near_the_fraction() -> None:
    assert bucket("run-1", "fire") == bucket("run-1", "fire")
    ids = [f"20261123-{i:06d}" for i in range(4000)]
    share = sum(route(i, "canary", 0.1, "fire").serve == "candidate" for i in ids) / len(ids)
    assert 0.08 < share < 0.12
    assert all(route(i, "canary", 0.1, "fire") == route(i, "canary", 0.1, "fire") for i in ids[:50])
    assert route("x", "shadow", 0.5).serve == "incumbent" and route("x", "shadow", 0.5).shadow
    assert route("x", "off", 0.99).serve == "incumbent"


def test_rollback_on_injected_failure_hazmat_and_latency() -> None:
    inc = arm_stats(_samples("incumbent", 30), "incumbent")
    assert (
        check_rollback(inc, arm_stats(_samples("candidate", 30), "candidate"), CFG).action
        == "continue"
    )
    failing = arm_stats(_samples("candidate", 20, errors=3), "candidate")
    v = check_rollback(inc, failing, CFG)
    assert v.action == "rollback" and "error rate 15.0%" in v.reasons[0]
    v = check_rollback(inc, arm_stats(_samples("candidate", 20, hazmat=1), "candidate"), CFG)
    assert v.action == "rollback" and "HAZMAT" in v.reasons[0]
    v = check_rollback(inc, arm_stats(_samples("candidate", 20, ms=1300.0), "candidate"), CFG)
    assert v.action == "rollback" and "p95 latency" in v.reasons[0]
    few = check_rollback(inc, arm_stats(_samples("candidate", 5, errors=5), "candidate"), CFG)
    assert few.action == "continue"


def test_promotion_gates() -> None:
    inc = arm_stats(_samples("incumbent", 30), "incumbent")
    cand = arm_stats(_samples("candidate", 30), "candidate")
    better = compare_runs(_eval("v1", False), _eval("v2", True))
    assert check_promotion(inc, cand, better, CFG).action == "promote"
    # blocked by a safety regression in the eval, even with a significant quality gain
    unsafe = compare_runs(_eval("v1", False), _eval("v2", True, hz=True))
    assert unsafe.significant and unsafe.safety_regression
    v = check_promotion(inc, cand, unsafe, CFG)
    assert v.action == "hold" and any("safety regression" in r for r in v.reasons)
    # no gain, too few samples, too slow, no eval
    same = compare_runs(_eval("v1", True), _eval("v2", True))
    assert any(
        "no significant quality gain" in r for r in check_promotion(inc, cand, same, CFG).reasons
    )
    few = arm_stats(_samples("candidate", 12), "candidate")
    assert any("need 20" in r for r in check_promotion(inc, few, better, CFG).reasons)
    slow = arm_stats(_samples("candidate", 30, ms=1150.0), "candidate")
    assert any("p95 latency" in r for r in check_promotion(inc, slow, better, CFG).reasons)
    assert any("no paired eval" in r for r in check_promotion(inc, cand, None, CFG).reasons)
    none = ArmStats(n=0, error_rate=0, hazmat_rate=0, p95_latency_ms=None)
    assert check_promotion(none, none, better, CFG).action == "hold"


def _info(version_tag: str) -> dict:
    return {
        "expert": "fire",
        "base": "embedded:smollm2-135m-instruct",
        "path": f"/adapters/fire-{version_tag}",
        "data_sha256": version_tag * 8,
        "training": {"r": 8, "steps": 24},
        "prompt_version": 1,
        "final_loss": 1.9,
    }


def test_registry_shadow_canary_auto_rollback_and_promotion(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "runs.db", CFG)
    v1 = reg.register(_info("a"))
    assert reg.register(_info("a")).version == v1.version == 1  # idempotent
    v2 = reg.register(_info("b"))
    assert v2.version == 2 and v2.data_sha256 == "b" * 8 and v2.training["steps"] == 24
    with pytest.raises(InputError, match="no active version"):
        reg.start("fire", 2, "shadow")
    reg.activate("fire", 1)

    reg.start("fire", 2, "shadow")
    rt, serving, shadow = reg.route("fire", "run-1")
    assert rt.serve == "incumbent" and serving == 1 and shadow == 2  # shadow never serves

    reg.start("fire", 2, "canary", 0.5)
    arms = {reg.route("fire", f"r{i}")[1] for i in range(40)}
    assert arms == {1, 2}
    # injected failure: the candidate arm fails a third of its runs -> automatic rollback
    for s in _samples("incumbent", 15) + _samples("candidate", 15, errors=5):
        reg.record("fire", s)
    assert reg.status("fire").check.action == "rollback"
    v = reg.auto_check("fire")
    assert v.action == "rollback"
    r = reg.rollout("fire")
    assert r.candidate is None and r.mode == "off" and "automatic rollback" in r.note
    assert reg.version("fire", 2).status == "rolled_back"
    assert reg.route("fire", "r1")[1] == 1

    # a v3 with a safety regression in its eval is held; with a clean eval it is promoted
    v3 = reg.register(_info("c"))
    reg.start("fire", v3.version, "canary", 0.5)
    for s in _samples("incumbent", 25) + _samples("candidate", 25):
        reg.record("fire", s)
    unsafe = compare_runs(_eval("v1", False), _eval("v3", True, hz=True))
    reg.attach_eval("fire", 3, "comparison", unsafe.model_dump())
    held = reg.promote("fire")
    assert held.action == "hold" and reg.rollout("fire").incumbent == 1
    safe = compare_runs(_eval("v1", False), _eval("v3", True))
    reg.attach_eval("fire", 3, "comparison", safe.model_dump())
    assert reg.promote("fire").action == "promote"
    assert reg.rollout("fire").incumbent == 3 and reg.version("fire", 1).status == "retired"
    assert reg.version("fire", 3).status == "active"


def test_samples_from_report() -> None:
    s = scenario("elefsina_ammonia")
    r = make_report(s, s.alternative_ids[0], flags={"fire": [HZ]}, statuses={"police": "fallback"})
    got = samples_from_report(r, {"fire": "candidate"})
    assert got["fire"].arm == "candidate" and got["fire"].hazmat and not got["fire"].error
    assert got["police"].arm == "incumbent" and got["police"].error


def test_adapters_command_functions(tmp_path: Path) -> None:
    from crisis_mas.cli.rollout import (
        adapters_promote,
        adapters_register,
        adapters_rollback,
        adapters_start,
        adapters_status,
    )

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {{path: {tmp_path / 'runs.db'}}}\n")
    app = typer.Typer()
    for name, fn in {
        "register": adapters_register,
        "start": adapters_start,
        "status": adapters_status,
        "promote": adapters_promote,
        "rollback": adapters_rollback,
    }.items():
        app.command(name)(fn)
    run = CliRunner().invoke
    c = ["-c", str(cfg)]
    fire = Path(__file__).resolve().parents[2] / "adapters" / "smollm2-135m-instruct" / "fire"
    out = run(app, ["register", str(fire), "--activate", *c])
    assert out.exit_code == 0 and "fire v1" in out.stdout
    reg = Registry(tmp_path / "runs.db")
    reg.register({**_info("z"), "path": "/elsewhere"})
    assert (
        run(app, ["start", "fire", "2", "--mode", "canary", "--fraction", "0.2", *c]).exit_code == 0
    )
    status = json.loads(run(app, ["status", "--json", *c]).stdout)
    assert status["rollouts"][0]["rollout"]["candidate"] == 2
    held = run(app, ["promote", "fire", *c])
    assert held.exit_code == 1 and "hold" in held.stdout
    assert run(app, ["rollback", "fire", *c]).exit_code == 0
    again = run(app, ["rollback", "fire", *c])
    assert again.exit_code == 2 and "no candidate" in again.output
    bad = run(app, ["register", str(tmp_path), *c])
    assert bad.exit_code == 2 and "not an adapter directory" in bad.output
