"""Training data and fitting of the learned injection detector (scripts/train_injection_detector).

Examples come from our own files (`data/injection/*.yaml`, several languages), the product's
own text (`product_text`: knowledge base, scenarios, Greek operational text; benign), and
third-party sets read from `shared_data()` at training time, never
copied: Giskard prompt injections (direct attacks), BIPIA attack instructions (planted
instructions) and sentences of the ERG / NWCG / OpenEM corpora (benign reference text).
Each head is an L2 logistic regression (scikit-learn, training only) on `features.vectorize`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from crisis_mas.paths import REPO_ROOT, shared_data
from crisis_mas.safety.guard.evaluation import strip_markdown
from crisis_mas.safety.guard.features import N_FEATURES, split_units, unit, vectorize

OURS_DIR = Path(__file__).resolve().parent / "data" / "injection"
# Planted-instruction positives for the passage head also include these direct styles.
PLANTABLE_STYLES = {"override", "exfiltration", "forced_output", "fake_authority",
                    "domain_sabotage", "obfuscated"}  # fmt: skip


@dataclass
class Example:
    text: str
    label: int
    head: str  # direct | indirect
    # ours | generated | giskard | bipia | corpora | knowledge | scenarios | repo | mixed
    source: str
    lang: str = "en"
    style: str = ""
    group: str = ""  # corpus file, for cross-source splits
    weight: float = 1.0
    meta: dict = field(default_factory=dict)


def _yaml_examples(name: str, label: int, head: str) -> list[Example]:
    data = yaml.safe_load((OURS_DIR / name).read_text("utf-8"))
    for lang, styles in data.items():
        for style, texts in styles.items():
            bad = [t for t in texts if not isinstance(t, str)]
            if bad:
                raise ValueError(f"{name}: {lang}/{style} has a non-text item: {bad[0]!r}")
    return [
        Example(text, label, head, "ours", lang, style)
        for lang, styles in data.items()
        for style, texts in styles.items()
        for text in texts
    ]


def ours() -> dict[str, list[Example]]:
    """Our hand-written examples: `<set>.yaml` plus any later batches `<set>_<n>.yaml`."""
    out: dict[str, list[Example]] = {}
    for name, label, head in (
        ("direct_attacks", 1, "direct"),
        ("direct_benign", 0, "direct"),
        ("indirect_attacks", 1, "indirect"),
        ("indirect_benign", 0, "indirect"),
    ):
        files = [f"{name}.yaml"] + sorted(p.name for p in OURS_DIR.glob(f"{name}_*.yaml"))
        out[name] = [e for f in files for e in _yaml_examples(f, label, head)]
    return out


def generated(per_lang: int = 60, seed: int = 0) -> list[Example]:
    """Examples combined from `phrases.yaml`, up to `per_lang` attacks and benign texts per
    language: direct attacks (override x payload, prompt requests, personas) and benign
    operational commands and questions; for the passage head, reference sentences and
    operational commands (benign), the ordinary questions and orders addressed to the reading
    AI (planted)."""
    rng = random.Random(seed)
    data = yaml.safe_load((OURS_DIR / "phrases.yaml").read_text("utf-8"))
    out: list[Example] = []
    for lang, p in data.items():
        attacks = [f"{o} {x}" for o in p["override"] for x in p["payload"]]
        attacks += p["exfil"] + p["persona"] + p["exfil2"] + p["jail"]
        attacks += [f"{j}. {x}" for j in p["jail"] for x in p["exfil2"]]
        attacks += p["state"] + p["leak"] + [f"{a}. {b}" for a in p["state"] for b in p["leak"]]
        attacks += [f"{b}. {o} {x}" for b in p["ops"][:2] for o in p["override"][:1]
                    for x in p["payload"][:2]]  # fmt: skip
        benign = p["ops"] + p["general"] + [f"{a}. {b}" for a in p["ops"] for b in p["general"]]
        for texts, label in ((attacks, 1), (benign, 0)):
            rng.shuffle(texts)
            out += [
                Example(t, label, "direct", "generated", lang, weight=0.5) for t in texts[:per_lang]
            ]
        docs = p["doc"] + p["ops"] + [f"{a} {b}" for a in p["doc"] for b in p["doc"] if a != b]
        out += [Example(t, 0, "indirect", "generated", lang, weight=0.5) for t in docs]
        # Inside a retrieved document an ordinary question is an off-task request (BIPIA's
        # "information retrieval" attacks), so the passage head learns them as planted.
        out += [Example(t, 1, "indirect", "generated", lang, weight=0.5) for t in p["general"]]
        planted = [f"{a} {o}." for a in p["ai"] for o in p["order"]] + p["exfil2"]
        out += [Example(t, 1, "indirect", "generated", lang, weight=0.5) for t in planted]
    return out


# Held-out files of rounds 1-3: each judged the model frozen before it was written, and each
# round's misses then shaped the next round, so they are tuned sets; since round 5 they are
# training data (the round-4 file stays out as a tuned check, later files as held-out sets).
PAST_HELDOUT = tuple(
    REPO_ROOT / "evals" / "guard" / f"injection_heldout_2026-12-03{s}.jsonl" for s in ("", "b", "c")
)


def past_heldout(files: Iterable[Path] = PAST_HELDOUT) -> list[Example]:
    """Attacks and look-alikes of the tuned held-out files, each with its head and language."""
    out: list[Example] = []
    for path in files:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                label = 1 if r["label"] == "attack" else 0
                out.append(Example(r["text"], label, r["kind"], "heldout_tuned", r["lang"],
                                   group=path.name))  # fmt: skip
    return out


def giskard() -> list[Example]:
    path = shared_data() / "guard" / "giskard_prompt_injections.csv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        Example(r["prompt"], 1, "direct", "giskard", r.get("language") or "en", r.get("group", ""))
        for r in rows
    ]


def bipia() -> list[Example]:
    data = json.loads((shared_data() / "guard" / "bipia_text_attack_train.json").read_text("utf-8"))
    return [
        Example(t, 1, "indirect", "bipia", "en", cat) for cat, items in data.items() for t in items
    ]


def corpus_sentences(files: Iterable[Path], per_file: int, seed: int = 0) -> list[Example]:
    """Benign reference sentences and adjacent pairs, `per_file` sampled from each file."""
    rng = random.Random(seed)
    out: list[Example] = []
    for path in files:
        text = " ".join(strip_markdown(path.read_text("utf-8")).split())
        units = [u for u in split_units(text) if len(u) >= 20]
        cands = units + [f"{a} {b}" for a, b in zip(units, units[1:], strict=False)]
        rng.shuffle(cands)
        out += [
            Example(c, 0, "indirect", "corpora", "en", group=path.name) for c in cands[:per_file]
        ]
    return out


def mixed(attacks: list[Example], benign: list[Example], n: int, seed: int) -> list[Example]:
    """Attacks wrapped in ordinary text (before or after), and benign texts joined together."""
    rng = random.Random(seed)
    out: list[Example] = []
    if not attacks or not benign:
        return out
    for _ in range(n):
        a, b, c = rng.choice(attacks), rng.choice(benign), rng.choice(benign)
        text = f"{b.text} {a.text}" if rng.random() < 0.5 else f"{a.text} {b.text}"
        out.append(Example(text, 1, a.head, "mixed", a.lang, a.style))
        out.append(Example(f"{b.text} {c.text}", 0, a.head, "mixed", b.lang))
    return out


def as_indirect(examples: list[Example]) -> list[Example]:
    return [
        Example(e.text, e.label, "indirect", e.source, e.lang, e.style, e.group, e.weight)
        for e in examples
    ]


def matrix(texts: list[str]):  # noqa: ANN201 - scipy.sparse.csr_matrix
    """Rows of the whole-text window of each text (all its units), as a CSR matrix."""
    from scipy.sparse import csr_matrix

    indptr, indices, values = [0], [], []
    for t in texts:
        idx, vals = vectorize([unit(u) for u in split_units(t)] or [unit(t)])
        indices.append(idx)
        values.append(vals)
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)),
        shape=(len(texts), N_FEATURES),
    )


LANG_CAP = 8.0


def fit(examples: list[Example], c: float = 4.0) -> tuple[np.ndarray, float]:
    """Weights and bias of one head: class-balanced, each source's weight capped."""
    from sklearn.linear_model import LogisticRegression

    x = matrix([e.text for e in examples])
    y = np.array([e.label for e in examples])
    w = np.array([e.weight for e in examples], dtype=np.float64)
    # Within a language, benign texts weigh (up to LANG_CAP x) as much against its attacks as
    # benign texts do overall, so the script or language of a text (its function words) is
    # not evidence of an attack on its own (round 5: Greek benign text was 1.7x its attacks
    # against 6.6x overall, and Greek articles carried weight towards "attack").
    langs = np.array([e.lang for e in examples])
    ratio = w[y == 0].sum() / max(w[y == 1].sum(), 1e-9)
    for lang in set(langs.tolist()):
        pos, neg = (langs == lang) & (y == 1), (langs == lang) & (y == 0)
        if pos.any() and neg.any():
            need = ratio * w[pos].sum() / w[neg].sum()
            if need > 1.0:
                w[neg] *= min(LANG_CAP, need)
    for label in (0, 1):
        m = y == label
        w[m] *= len(y) / (2.0 * max(1, m.sum()))
    clf = LogisticRegression(C=c, max_iter=3000, solver="liblinear")
    clf.fit(x, y, sample_weight=w)
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0])


def data_sha256(examples: list[Example]) -> str:
    h = hashlib.sha256()
    for e in sorted(examples, key=lambda e: (e.head, e.source, e.text)):
        h.update(f"{e.head}\t{e.label}\t{e.source}\t{e.text}\n".encode())
    return h.hexdigest()
