"""LoRA training sets: sources render to the committed JSONL, with valid answers and no leakage."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from crisis_mas.experts.profiles import load_profiles
from crisis_mas.experts.prompting import system_prompt, templates
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_training_sets.py"
MIN_EXAMPLES = {"fire": 16, "police": 16, "medical": 16}
MIN_OTHER = 10


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_training_sets", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


build = _load_script()
SOURCES = sorted(build.SRC_DIR.glob("*.yaml"))
JSONL = sorted(build.TRAINING_DIR.glob("*.jsonl"))


@cache
def _examples(path: Path) -> list[dict]:
    return build.load_examples(path)


def test_every_expert_has_a_training_set() -> None:
    experts = set(load_profiles())
    assert {p.stem for p in SOURCES} == experts
    assert {p.stem for p in JSONL} == experts


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_enough_examples(path: Path) -> None:
    assert len(_examples(path)) >= MIN_EXAMPLES.get(path.stem, MIN_OTHER)


def test_committed_jsonl_is_up_to_date(tmp_path: Path) -> None:
    """Re-render into a temp dir and compare byte for byte with the committed files."""
    written = build.build(build.SRC_DIR, tmp_path)
    assert written
    for fresh in written:
        committed = build.TRAINING_DIR / fresh.name
        assert committed.read_bytes() == fresh.read_bytes(), f"{fresh.name} is stale: run {SCRIPT}"
    assert build.stale() == []


def _alternative_ids(user: str) -> list[str]:
    block = user.split("ALTERNATIVES:\n", 1)[1]
    return [m.group(1) for m in re.finditer(r"^- ([a-z0-9_]+): ", block, re.M)]


@pytest.mark.parametrize("path", JSONL, ids=[p.stem for p in JSONL])
def test_records_are_chat_triples_with_a_valid_recommendation(path: Path) -> None:
    profile = load_profiles()[path.stem]
    prefix = templates()["recommend_prefix"]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(_examples(build.SRC_DIR / f"{path.stem}.yaml"))
    for line in lines:
        record = json.loads(line)
        assert list(record) == ["messages"]
        msgs = record["messages"]
        assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
        assert all(set(m) == {"role", "content"} for m in msgs)
        assert msgs[0]["content"] == system_prompt(profile)
        answer = msgs[2]["content"]
        last = answer.splitlines()[-1]
        assert last.startswith(prefix)
        assert last[len(prefix) :] in _alternative_ids(msgs[1]["content"])
        assert answer.startswith("Rationale: ") and "Key concerns:\n- " in answer


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_answers_are_short(path: Path) -> None:
    """The model is tiny and generates at most ~160 tokens: keep answers compact."""
    for ex in _examples(path):
        a = ex["answer"]
        assert 1 <= a["rationale"].count(". ") + 1 <= 3, a["rationale"]
        assert len(a["key_concerns"]) == 3 and len(a["immediate_actions"]) == 3
        for item in a["key_concerns"] + a["immediate_actions"]:
            assert len(item.split()) <= 15, item
        assert 3 <= len(ex["scenario"]["available_actions"]) <= 5


def test_no_overlap_with_bundled_scenarios() -> None:
    """Training scenarios must differ from the bundled ones so evaluations are not leaked."""
    bundled = [load_scenario(p) for p in bundled_scenarios_dir().glob("*.json")]
    b_ids = {s.id for s in bundled}
    b_names = {s.name.lower() for s in bundled}
    b_alts = {a for s in bundled for a in s.alternative_ids}
    for path in SOURCES:
        for ex in _examples(path):
            s = ex["scenario"]
            assert s["id"] not in b_ids and s["name"].lower() not in b_names
            assert not {a["id"] for a in s["available_actions"]} & b_alts, s["id"]


def test_shared_scenarios_are_consistent_and_experts_sometimes_disagree() -> None:
    seen: dict[str, dict] = {}
    picks: dict[str, set[str]] = defaultdict(set)
    for path in SOURCES:
        for ex in _examples(path):
            sid = ex["scenario"]["id"]
            assert seen.setdefault(sid, ex["scenario"]) == ex["scenario"], f"{sid} differs"
            picks[sid].add(ex["answer"]["recommended"])
    assert sum(1 for p in picks.values() if len(p) > 1) >= 5


def test_invalid_recommendation_is_rejected() -> None:
    ex = _examples(SOURCES[0])[0]
    bad = {"scenario": ex["scenario"], "answer": dict(ex["answer"], recommended="action_nope")}
    profile = load_profiles()[SOURCES[0].stem]
    with pytest.raises(build.TrainingSetError, match="action_nope"):
        build.render_example(profile, bad, "test[0]")
    empty = {"scenario": ex["scenario"], "answer": dict(ex["answer"], key_concerns=[])}
    with pytest.raises(build.TrainingSetError, match="key_concerns"):
        build.render_example(profile, empty, "test[0]")


def test_training_prompts_carry_the_retrieved_passages_like_runtime_prompts() -> None:
    """Every example has a passage snapshot, and the rendered user prompt contains it."""
    snapshot = build.load_passages()
    for path in SOURCES:
        lists = snapshot[path.stem]
        assert len(lists) == len(_examples(path))
        assert all(lists), f"{path.stem}: an example got no passages"
        rows = [json.loads(line) for line in (build.TRAINING_DIR / f"{path.stem}.jsonl").open()]
        for row, passages in zip(rows, lists, strict=True):
            user = row["messages"][1]["content"]
            assert "REFERENCES:" in user
            assert passages[0]["text"] in user


def test_a_stale_passage_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    path = SOURCES[0]
    lists = build.load_passages()[path.stem]
    with pytest.raises(build.TrainingSetError, match="--refresh-passages"):
        build.render_source(path, load_profiles(), lists[:-1])
