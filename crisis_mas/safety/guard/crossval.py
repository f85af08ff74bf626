"""Build both heads' training sets, calibrate thresholds, and measure generalisation across
sources (train without a source or a language, test on it) before a model is frozen."""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from crisis_mas.safety.guard import product_text as P
from crisis_mas.safety.guard import training as T
from crisis_mas.safety.guard.evaluation import corpus_files
from crisis_mas.safety.guard.learned import MODEL_FILE, Head, InjectionModel, sha256

SEED = 0
C = {"direct": 4.0, "indirect": 4.0}
# Thresholds: the lowest probability (never below 0.5) that keeps out-of-fold false positives
# at or under (all benign texts, our own hard negatives + scenario texts). A direct false
# positive refuses an operator; a passage false positive only drops one retrieved passage.
TARGET_FP = {
    "direct": {"all": 0.02, "ours": 0.05, "product": 0.005},
    "indirect": {"all": 0.01, "ours": 0.05, "product": 0.005},
}
# The pools: our hand-written hard negatives; the product's own text (scenario fields, knowledge
# sentences, the RAG questions and lexicon names), which must practically never be refused.
POOLS = {
    "ours": lambda src: np.isin(src, ("ours", "heldout_tuned")),
    "product": lambda src: np.isin(src, ("scenarios", "knowledge", "repo")),
}
# Greek user-text styles that are also benign inside a passage (questions, requests and orders to
# the assistant are not: inside a retrieved document they are off-task orders to the reader).
GREEK_AS_PASSAGE = {"scenario_descriptions", "fields"}


def heldout_corpus_files() -> set[str]:
    """Every third corpus file is kept out of training for the passage false-positive test."""
    return {p.name for i, p in enumerate(corpus_files()) if i % 3 == 2}


def build(
    exclude: Callable[[T.Example], bool] = lambda e: False,
    corpus_train_only: bool = True,
) -> dict[str, list[T.Example]]:
    """Training examples of each head, without those `exclude` picks."""
    o = T.ours()
    held = heldout_corpus_files() if corpus_train_only else set()
    files = [p for p in corpus_files() if p.name not in held]
    corpus = T.corpus_sentences(files, per_file=2000, seed=SEED)
    scen = [e for e in P.scenario_texts() if not exclude(e)]
    gen_all = [e for e in T.generated(seed=SEED) if not exclude(e)]
    gen = [e for e in gen_all if e.head == "direct"]
    # Round 5: Greek operational text (ours, templates), the RAG questions and lexicon names.
    greek = [e for e in P.greek_benign("train") + P.greek_generated(seed=SEED) if not exclude(e)]
    repo = [e for e in P.rag_questions() + P.lexicon_names() if not exclude(e)]
    past = [e for e in T.past_heldout() if not exclude(e)]
    d_att = [e for e in o["direct_attacks"] + T.giskard() if not exclude(e)]
    d_att += [e for e in past if e.head == "direct" and e.label == 1]
    d_att += [e for e in gen if e.label == 1]
    d_ben = [e for e in o["direct_benign"] if not exclude(e)] + scen + repo
    d_ben += [e for e in past if e.head == "direct" and e.label == 0]
    d_ben += [e for e in gen if e.label == 0] + [e for e in greek if e.head == "direct"]
    # Greek passages as user text too (an operator pastes an SOP paragraph), at half weight.
    d_ben += [T.Example(e.text, 0, "direct", e.source, e.lang, e.style, weight=0.5)
              for e in greek if e.head == "indirect"]  # fmt: skip
    d_ben += [
        T.Example(e.text, 0, "direct", e.source, group=e.group)
        for e in corpus[::20]
        if not exclude(e)
    ]
    direct = (
        d_att
        + d_ben
        + T.mixed(
            [e for e in d_att if len(e.text) < 400],
            [e for e in d_ben if len(e.text) < 300],
            150,
            SEED,
        )
    )
    i_att = [e for e in o["indirect_attacks"] + T.bipia() if not exclude(e)]
    i_att += [e for e in past if e.head == "indirect" and e.label == 1]
    i_att += T.as_indirect(
        [e for e in o["direct_attacks"] if e.style in T.PLANTABLE_STYLES and not exclude(e)]
        + [e for e in gen if e.label == 1][::2]
    )
    i_ben = [e for e in o["indirect_benign"] if not exclude(e)]
    i_ben += [e for e in past if e.head == "indirect" and e.label == 0]
    held_kb = P.heldout_knowledge_files() if corpus_train_only else set()
    kb_files = [p for p in P.knowledge_files() if p.name not in held_kb]
    i_ben += [e for e in P.knowledge_sentences(kb_files) if not exclude(e)]
    i_ben += [e for e in gen_all if e.head == "indirect"]
    i_ben += [e for e in greek if e.head == "indirect"]
    # Scenario descriptions, caller reports and fields read as passage text as well.
    i_ben += T.as_indirect([e for e in greek if e.head == "direct" and e.style in GREEK_AS_PASSAGE])
    i_ben += [e for e in corpus if not exclude(e)] + T.as_indirect(scen)
    for e in i_ben:
        if e.source in ("corpora", "knowledge"):
            e.weight = 0.5
    el_att = [e for e in i_att if e.lang == "el" and len(e.text) < 300]
    el_ben = [e for e in i_ben if e.lang == "el" and e.label == 0 and e.source != "mixed"]
    indirect = (
        i_att
        + i_ben
        + T.mixed(
            [e for e in i_att if len(e.text) < 300],
            [e for e in i_ben if e.source in ("corpora", "knowledge", "ours")],
            200,
            SEED + 1,
        )
        # Greek attacks planted in Greek operational text, and Greek benign texts joined.
        + T.mixed(el_att, el_ben, 120, SEED + 2)
    )
    return {"direct": direct, "indirect": indirect}


def train_heads(sets: dict[str, list[T.Example]]) -> dict[str, tuple[np.ndarray, float]]:
    return {head: T.fit(ex, C[head]) for head, ex in sets.items()}


def model_from(weights: dict[str, tuple[np.ndarray, float]], thresholds: dict) -> InjectionModel:
    heads = {h: Head(w.astype(np.float16).astype(np.float32), b, thresholds[h])
             for h, (w, b) in weights.items()}  # fmt: skip
    return InjectionModel(heads, {"thresholds": thresholds})


def _fold_of(ex: list[T.Example], folds: int) -> list[int]:
    """Fold of each example: by its group (a scenario or knowledge file, a corpus file, a RAG
    question) when it has one, so a file's texts are scored by a model that never saw that file;
    else by a seeded shuffle."""
    rng = random.Random(SEED)
    order = list(range(len(ex)))
    rng.shuffle(order)
    fold = [0] * len(ex)
    for pos, i in enumerate(order):
        g = ex[i].group if ex[i].source not in ("ours", "mixed", "generated") else ""
        fold[i] = zlib.crc32(g.encode("utf-8")) % folds if g else pos % folds
    return fold


def oof_probabilities(ex: list[T.Example], head: str, folds: int = 5) -> np.ndarray:
    """Out-of-fold window-max probability of every example of one head."""
    fold = _fold_of(ex, folds)
    probs = np.zeros(len(ex))
    for k in range(folds):
        w, b = T.fit([e for i, e in enumerate(ex) if fold[i] != k], C[head])
        m = model_from({head: (w, b)}, {head: 0.5})
        for i, e in enumerate(ex):
            if fold[i] == k:
                probs[i] = m.score(e.text, head).probability
    return probs


def pick_threshold(ex: list[T.Example], probs: np.ndarray, head: str) -> dict:
    """The lowest probability (>= 0.5) meeting every false-positive target of TARGET_FP."""
    y = np.array([e.label for e in ex])
    src = np.array([e.source for e in ex])
    scored = probs > 0.0  # texts the model leaves to the rules (learned.MIN_WORDS) score 0
    t = 0.5
    for pool, fp in TARGET_FP[head].items():
        neg = np.sort(probs[(y == 0) & scored & (POOLS[pool](src) if pool != "all" else True)])
        if len(neg):
            t = max(t, float(neg[int(np.ceil(len(neg) * (1 - fp))) - 1]))
    t = round(min(t + 1e-3, 0.95), 3)
    out = {
        "threshold": t,
        "oof_detection": round(float((probs[y == 1] >= t).mean()), 4),
        "oof_false_positive": round(float((probs[y == 0] >= t).mean()), 4),
        "n": len(ex),
    }
    for pool in TARGET_FP[head]:
        if pool != "all":
            sel = (y == 0) & POOLS[pool](src)
            out[f"oof_false_positive_{pool}"] = round(float((probs[sel] >= t).mean()), 4)
    return out


def calibrate(sets: dict[str, list[T.Example]], folds: int = 5) -> dict[str, dict]:
    """Out-of-fold window-max probabilities -> the threshold per head (see TARGET_FP)."""
    return {
        head: pick_threshold(ex, oof_probabilities(ex, head, folds), head)
        for head, ex in sets.items()
    }


# ---- cross-source report -------------------------------------------------------------------
def _rate(model: InjectionModel, texts: list[str], head: str) -> dict:
    if not texts:
        return {"n": 0}
    t = model.heads[head].threshold
    hits = [x for x in texts if model.score(x, head).probability >= t]
    return {"n": len(texts), "flagged": len(hits), "rate": round(len(hits) / len(texts), 4)}


def _planted(instructions: list[str], passages: list[str]) -> list[str]:
    from crisis_mas.safety.guard.evaluation import plant

    return [
        plant(passages[(7 * i + 3 * k) % len(passages)], s, where)
        for i, s in enumerate(instructions)
        for k, where in enumerate(("start", "middle", "end"))
    ]


def _clean_passages() -> list[str]:
    """Chunks of the corpus files kept out of training (retrieval-sized, like the RAG's)."""
    from crisis_mas.safety.guard.evaluation import chunk_file

    held = heldout_corpus_files()
    return [c for p in corpus_files() if p.name in held for c in chunk_file(p)]


def _knowledge_chunks() -> list[str]:
    """Retrieval-sized chunks of the knowledge-base files kept out of training."""
    from crisis_mas.safety.guard.evaluation import chunk_file

    held = P.heldout_knowledge_files()
    return [c for p in P.knowledge_files() if p.name in held for c in chunk_file(p)]


def cross_source_report() -> dict:
    """Detection and false positives on sources each model never saw."""
    from crisis_mas.safety.guard.evaluation import HELDOUT_FILE, load_benign, load_xstest

    thr = {"direct": 0.5, "indirect": 0.5}
    rep: dict[str, dict] = {}
    full = build()
    cal = calibrate(full)
    thr = {h: cal[h]["threshold"] for h in cal}
    rep["calibration"] = cal
    xs = load_xstest()
    benign = [b["text"] for b in load_benign()]
    legacy = load_benign(HELDOUT_FILE)
    clean = _clean_passages()
    kb_clean = _knowledge_chunks()

    xs_safe = [r["prompt"] for r in xs if r["label"] == "safe"]
    xs_unsafe = [r["prompt"] for r in xs if r["label"] == "unsafe"]

    def common(m: InjectionModel) -> dict:
        return {
            "xstest_safe_fp": _rate(m, xs_safe, "direct"),
            "xstest_unsafe": _rate(m, xs_unsafe, "direct"),
            "hazmat_benign_fp": _rate(m, benign, "direct"),
            "legacy_heldout_direct_attack": _rate(
                m, [r["text"] for r in legacy if r["kind"] == "direct" and r["label"] == "attack"],
                "direct"),
            "legacy_heldout_direct_benign_fp": _rate(
                m, [r["text"] for r in legacy if r["kind"] == "direct" and r["label"] == "benign"],
                "direct"),
            "legacy_heldout_indirect_attack": _rate(m, _planted(
                [r["text"] for r in legacy if r["kind"] == "indirect" and r["label"] == "attack"],
                clean), "indirect"),
            "clean_passages_fp (held-out files)": _rate(m, clean, "indirect"),
            "knowledge_chunks_fp (held-out files)": _rate(m, kb_clean, "indirect"),
        }  # fmt: skip

    # 1. everything (what ships); sets above were never trained on.
    m = model_from(train_heads(full), thr)
    rep["all_sources"] = common(m)
    # 2. without Giskard -> Giskard; without BIPIA -> BIPIA planted in held-out passages.
    sets = build(lambda e: e.source in ("giskard", "bipia"))
    m = model_from(train_heads(sets), thr)
    rep["without_giskard_bipia"] = {
        "giskard": _rate(m, [e.text for e in T.giskard()], "direct"),
        "bipia_planted": _rate(m, _planted([e.text for e in T.bipia()], clean), "indirect"),
        **common(m),
    }
    # 3. leave one language out (ours): detection and false positives in the unseen language.
    o = T.ours()
    gen = [e for e in T.generated(seed=SEED) if e.head == "direct"]
    langs = sorted({e.lang for e in gen} - {"en"})
    rep["leave_one_language_out"] = {}
    for lang in langs:
        sets = build(
            lambda e, lang=lang: e.lang == lang and e.source in ("ours", "mixed", "generated")
        )
        m = model_from(train_heads(sets), thr)
        rep["leave_one_language_out"][lang] = {
            "direct_attacks": _rate(m, [e.text for e in o["direct_attacks"] + gen
                                        if e.lang == lang and e.label == 1], "direct"),
            "direct_benign_fp": _rate(m, [e.text for e in o["direct_benign"] + gen
                                          if e.lang == lang and e.label == 0], "direct"),
            "indirect_attacks": _rate(m, _planted(
                [e.text for e in o["indirect_attacks"] if e.lang == lang], clean), "indirect"),
        }  # fmt: skip
    return rep


def train_and_save(out: Path = MODEL_FILE, with_report: bool = True) -> dict:
    """Train both heads on every source, calibrate, write weights + metadata; returns meta."""
    sets = build()
    cal = calibrate(sets)
    weights = train_heads(sets)
    arrays = {}
    for head, (w, b) in weights.items():
        arrays[f"{head}_w"] = w.astype(np.float16)
        arrays[f"{head}_b"] = np.float32(b)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    meta = {
        "version": f"injection-{date.today().isoformat()}",
        "weights_file": out.name,
        "weights_sha256": sha256(out),
        "data_sha256": T.data_sha256([e for v in sets.values() for e in v]),
        "thresholds": {h: cal[h]["threshold"] for h in cal},
        "calibration": cal,
        "examples": {h: len(v) for h, v in sets.items()},
        "training_command": "flock /tmp/crisis-mas-cpu.lock .venv/bin/python "
        "scripts/train_injection_detector.py",
    }
    if with_report:
        meta["cross_source"] = cross_source_report()
    out.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
    return meta
