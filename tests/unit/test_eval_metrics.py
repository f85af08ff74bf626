"""Eval metrics, labels, paired comparison and the eval store, on known inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalkit import make_report, scenario

from crisis_mas.errors import InputError
from crisis_mas.evals import EvalRun, compare_runs, load_suite, score_report, suite_metrics
from crisis_mas.evals.labels import Fact
from crisis_mas.evals.metrics import percentile
from crisis_mas.scenario import bundled_scenarios_dir
from crisis_mas.store import open_store

SUITE = {x.scenario.id: x for x in load_suite("bundled")}
HZ = {"type": "hazmat_contradiction", "reason": "IDLH 30 ppm vs 300 ppm"}


def test_every_bundled_scenario_is_labelled_with_known_ids() -> None:
    files = sorted(p.name for p in bundled_scenarios_dir().glob("*.json"))
    assert sorted(x.labels.scenario for x in SUITE.values()) == files
    for x in SUITE.values():
        assert x.labels.unacceptable, f"{x.scenario.id} needs at least one unacceptable choice"
        assert all(len(u.reason) > 20 for u in x.labels.unacceptable)
    facts = {f.name: f.value for f in SUITE["hazmat_001"].labels.facts}
    assert facts == {"ammonia IDLH": "300", "ammonia ERG guide": "125", "ammonia UN number": "1005"}
    facts = {f.name: f.value for f in SUITE["hazmat_002"].labels.facts}
    assert facts["chlorine IDLH"] == "10" and facts["chlorine ERG guide"] == "124"


def test_suite_rejects_unknown_alternative(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        "scenario: karditsa_flood.json\nscenario_id: flood_001\nacceptable: [action_nope]\n"
    )
    with pytest.raises(InputError, match="unknown alternative 'action_nope'"):
        load_suite(tmp_path)
    with pytest.raises(InputError, match="eval suite not found"):
        load_suite("no-such-suite")


def test_fact_checks_compare_numbers() -> None:
    idlh, erg, un = SUITE["hazmat_001"].labels.facts
    assert idlh.wrong_values("Ammonia IDLH is 30 ppm, so evacuate.") == ["30"]
    assert idlh.wrong_values("IDLH 300 ppm; IDLH of 300.0 ppm") == []
    assert erg.wrong_values("Follow ERG Guide 124 for this gas.") == ["124"]
    assert erg.wrong_values("ERG guide 125") == []
    assert un.wrong_values("UN1005 anhydrous ammonia, not UN 1017") == ["1017"]
    with pytest.raises(ValueError, match="capturing group"):
        Fact(name="x", pattern="IDLH", value="1")


def test_score_report_on_known_inputs() -> None:
    s = scenario("elefsina_ammonia")
    ok = make_report(s, "action_shelter_in_place_downwind", rationale="IDLH is 300 ppm; ERG 125.")
    sc = score_report(ok, SUITE[s.id].labels, 0.2, 0.6)
    assert sc.top1_acceptable and not sc.unacceptable_chosen and sc.quality == 1.0
    assert sc.n_valid == 2 and sc.n_hazmat_contradictions == 0 and sc.fact_errors == []
    assert sc.prompt_tokens == 200 and sc.completion_tokens == 100
    assert sc.cost_usd == pytest.approx((200 * 0.2 + 100 * 0.6) / 1000)

    bad = make_report(
        s,
        "action_evacuate_downwind_sector",
        flags={"fire": [HZ, {"type": "pii", "reason": "phone"}]},
        statuses={"police": "fallback"},
        rationale="IDLH is 30 ppm.",
    )
    sc = score_report(bad, SUITE[s.id].labels)
    assert sc.unacceptable_chosen and not sc.top1_acceptable and sc.quality == -1.0
    assert "IDLH" in (sc.unacceptable_reason or "")
    assert sc.n_valid == 1 and sc.n_hazmat_contradictions == 1 and sc.n_guard_flags == 1
    assert sc.fact_errors == ["ammonia IDLH: 30 (expert fire)", "ammonia IDLH: 30 (expert police)"]

    neutral = make_report(s, "action_transfer_to_standby_tank")
    assert score_report(neutral, SUITE[s.id].labels).quality == 0.0


def test_suite_metrics_aggregate() -> None:
    s = scenario("elefsina_ammonia")
    lab = SUITE[s.id].labels
    scores = [
        score_report(make_report(s, "action_shelter_in_place_downwind", total_ms=100.0), lab),
        score_report(
            make_report(s, "action_evacuate_downwind_sector", flags={"fire": [HZ]}, total_ms=300.0),
            lab,
        ),
        score_report(make_report(s, "action_water_curtain_knockdown", total_ms=200.0), lab),
        score_report(make_report(s, "action_transfer_to_standby_tank", total_ms=900.0), lab),
    ]
    m = suite_metrics(scores)
    assert m.n_runs == 4
    assert m.top1_acceptable_rate == 0.5 and m.unacceptable_chosen_rate == 0.25
    assert m.hazmat_contradiction_rate == 0.125  # 1 of 8 assessments
    assert m.schema_valid_rate == 1.0
    assert m.latency_p50_ms == 200.0 and m.latency_p95_ms == 900.0
    assert m.prompt_tokens == 800 and m.completion_tokens == 400
    assert suite_metrics([]).top1_acceptable_rate == 0.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5


def _eval(label: str, picks: dict[str, str], hz: bool = False) -> EvalRun:
    scores = []
    for sid, alt in picks.items():
        x = SUITE[sid]
        flags = {"fire": [HZ]} if hz else None
        r = make_report(x.scenario, alt, run_id=f"{label}-{sid}", flags=flags)
        scores.append(score_report(r, x.labels))
    return EvalRun(
        eval_id=label,
        created_at="2026-11-23T10:00:00",
        suite="bundled",
        config=label,
        scores=scores,
    )


def _picks(kind: str) -> dict[str, str]:
    """Per scenario, an acceptable, neutral-or-unacceptable pick."""
    out = {}
    for sid, x in SUITE.items():
        if kind == "good":
            out[sid] = x.labels.acceptable[0]
        else:
            bad = [a for a in x.scenario.alternative_ids if a not in x.labels.acceptable]
            out[sid] = bad[0]
    return out


def test_paired_comparison_verdicts() -> None:
    good, bad = _eval("v2", _picks("good")), _eval("v1", _picks("bad"))
    c = compare_runs(bad, good)
    assert c.n_pairs == 8 and c.mean_diff > 0 and c.ci_low > 0
    assert c.significant and c.p_wilcoxon is not None and c.p_wilcoxon < 0.05
    assert c.verdict.startswith("v2 is better than v1")
    assert not c.safety_regression

    same = compare_runs(good, _eval("v3", _picks("good")))
    assert not same.significant and same.mean_diff == 0 and same.p_wilcoxon == 1.0
    assert same.verdict.startswith("no significant difference")
    twice = compare_runs(good, good.model_copy(update={"eval_id": "e2"}))
    assert "between v2@e2 and v2@v2" in twice.verdict  # same config: eval ids name the runs

    worse = compare_runs(good, bad)
    assert worse.significant and "worse" in worse.verdict and worse.safety_regression
    assert "SAFETY REGRESSION" in worse.verdict

    hz = compare_runs(good, _eval("hz", _picks("good"), hz=True))
    assert hz.safety_regression and "hazmat_contradiction_rate" in hz.verdict


def test_eval_store_round_trip_and_reference(tmp_path: Path) -> None:
    store = open_store(tmp_path / "runs.db").evals
    run = _eval("e1", _picks("good"))
    store.save(run.to_record())
    got = EvalRun.from_record(store.get("e1"))
    assert got == run and got.metrics.top1_acceptable_rate == 1.0
    assert store.reference("bundled") is None
    store.set_reference("bundled", "e1")
    assert store.reference("bundled").eval_id == "e1"
    assert [r.eval_id for r in store.list("bundled")] == ["e1"]
