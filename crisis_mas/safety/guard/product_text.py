"""The product's own benign text for the learned injection detector: our knowledge base, the
scenarios (as the experts' prompt renders them), the bilingual RAG questions, the grounding
lexicon's Greek names, and Greek operational text written for the detector (round 5).

A Greek-first product must never refuse its own Greek documents, scenarios and questions, so
the Greek share of the benign data has to match the Greek share of the attacks; texts are
tagged with their script's language ("el" when Greek letters dominate) so `training.fit`
balances them per language. Parts of each source are kept out of training as checks.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from crisis_mas.paths import REPO_ROOT
from crisis_mas.safety.guard.evaluation import strip_markdown
from crisis_mas.safety.guard.features import split_units
from crisis_mas.safety.guard.training import OURS_DIR, Example

KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
# Scenarios trained on: the bundled ones and the first counterfactual suite. The dated
# held-back / held-out counterfactual suites are never trained on (false-positive checks).
SCENARIO_DIRS = (
    REPO_ROOT / "scenarios",
    REPO_ROOT / "evals" / "suites" / "counterfactual" / "scenarios",
)
HELDOUT_SCENARIO_GLOB = "evals/suites/counterfactual_*_20*/scenarios"
RAG_QUESTIONS = REPO_ROOT / "evals" / "rag" / "kb_qa_bilingual.jsonl"  # frozen, not held out
RAG_QUESTIONS_HELDOUT = REPO_ROOT / "evals" / "rag" / "kb_qa_bilingual_heldout_2026-12-03.jsonl"
LEXICON = REPO_ROOT / "crisis_mas" / "safety" / "data" / "lexicon_gr.yaml"
GREEK_FILE = OURS_DIR / "greek_benign.yaml"
GREEK_TEMPLATES = OURS_DIR / "greek_templates.yaml"
CHECK_EVERY = 4  # positions 3, 7, 11, ... of each Greek list are the check set


def lang_of(text: str) -> str:
    """'el' when at least 30% of the letters are Greek, else 'en' (our other benign texts)."""
    letters = [c for c in text if c.isalpha()]
    greek = sum("\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1fff" for c in letters)
    return "el" if letters and greek >= 0.3 * len(letters) else "en"


# ---- knowledge base ----------------------------------------------------------------------------
def knowledge_files() -> list[Path]:
    """The repo's own knowledge base (the RAG's default corpus), in a fixed order."""
    return sorted(p for p in KNOWLEDGE_DIR.glob("*.md") if p.name != "README.md")


def heldout_knowledge_files() -> set[str]:
    """Every third file of the knowledge base is kept out of training (false-positive check)."""
    return {p.name for i, p in enumerate(knowledge_files()) if i % 3 == 2}


def _front_matter(text: str) -> dict:
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    meta = yaml.safe_load(text[4:end]) if end > 0 else None
    return meta if isinstance(meta, dict) else {}


def knowledge_sentences(files: Iterable[Path]) -> list[Example]:
    """Sentences and adjacent pairs of knowledge-base files, and their Greek/English titles and
    keywords from the front matter (benign passage text)."""
    out: list[Example] = []
    for path in files:
        raw = path.read_text("utf-8")
        text = " ".join(strip_markdown(raw).split())
        units = [u for u in split_units(text) if len(u) >= 12]
        cands = units + [f"{a} {b}" for a, b in zip(units, units[1:], strict=False)]
        meta = _front_matter(raw)
        for key in ("title", "title_el", "title_en"):
            if isinstance(meta.get(key), str):
                cands.append(meta[key])
        for key in ("keywords_el", "keywords_en"):
            if isinstance(meta.get(key), list):
                cands.append(", ".join(str(k) for k in meta[key]))
        out += [Example(c, 0, "indirect", "knowledge", lang_of(c), group=path.name) for c in cands]
    return out


# ---- scenarios -----------------------------------------------------------------------------------
def scenario_files(dirs: Iterable[Path] = SCENARIO_DIRS) -> list[Path]:
    return [p for d in dirs for p in sorted(Path(d).glob("*.json"))]


def heldout_scenario_files() -> list[Path]:
    """Scenarios of the dated counterfactual suites (never trained on)."""
    return [p for d in sorted(REPO_ROOT.glob(HELDOUT_SCENARIO_GLOB)) for p in scenario_files([d])]


def _strings(obj: object) -> Iterator[str]:
    if isinstance(obj, str):
        if obj.strip():
            yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _lines(obj: object) -> Iterator[str]:
    """Fields as the prompt renders them: "key: value" ("infrastructure damage: no")."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, bool):
                v = "yes" if v else "no"
            if isinstance(v, str | int | float) and len(str(v)) < 120:
                yield f"{str(k).replace('_', ' ')}: {v}"
            elif isinstance(v, list) and v and all(isinstance(x, str) for x in v):
                yield f"{str(k).replace('_', ' ')}: " + "; ".join(v)
                yield from _lines(v)
            else:
                yield from _lines(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _lines(v)


def _alternative_rows(data: dict) -> Iterator[str]:
    """Alternatives as the prompt lists them: "- id: name. description (risk 0.35, ...)"."""
    for a in data.get("available_actions") or []:
        if not isinstance(a, dict):
            continue
        extra = []
        if isinstance(a.get("risk_level"), int | float):
            extra.append(f"risk {a['risk_level']:.2f}")
        if a.get("estimated_duration"):
            extra.append(f"duration {a['estimated_duration']}")
        tail = f" ({', '.join(extra)})" if extra else ""
        yield f"- {a.get('id', '')}: {a.get('name', '')}. {a.get('description', '')}{tail}"


def scenario_texts(files: Iterable[Path] | None = None) -> list[Example]:
    """Every string field of the scenarios (names, ids, descriptions, resources, factors, any
    length: the HTTP API checks each field alone), every field as the experts' prompt renders
    it ("key: value"), and every alternative as the prompt lists it."""
    out: list[Example] = []
    seen: set[str] = set()
    for path in scenario_files() if files is None else files:
        data = json.loads(path.read_text("utf-8"))
        texts = set(_strings(data)) | set(_lines(data)) | set(_alternative_rows(data))
        out += [
            Example(t, 0, "direct", "scenarios", lang_of(t), group=path.name)
            for t in sorted(texts - seen)
        ]
        seen |= texts
    return out


# ---- bilingual RAG questions and the lexicon -----------------------------------------------------
def rag_questions(path: Path = RAG_QUESTIONS) -> list[Example]:
    """The Greek and English questions of a bilingual RAG question set (what operators ask)."""
    out: list[Example] = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip().startswith("{"):
            continue
        row = json.loads(line)
        for key in ("question_el", "question_en"):
            if row.get(key):
                text = row[key]
                out.append(Example(text, 0, "direct", "repo", lang_of(text), group=row["id"]))
    return out


def _lexicon_names(section: str) -> list[str]:
    data = yaml.safe_load(LEXICON.read_text("utf-8"))
    names = [n for entry in data[section]["entries"] for n in entry if isinstance(n, str)]
    return [n for n in dict.fromkeys(names) if lang_of(n) == "el"]


def lexicon_names() -> list[Example]:
    """Greek-script names of places, services and resources (scenario fields name them)."""
    out: list[Example] = []
    for section in ("places", "agencies", "resources"):
        out += [
            Example(n, 0, "direct", "repo", "el", group=section, weight=0.5)
            for n in _lexicon_names(section)
        ]
    return out


# ---- Greek operational text written for the detector -----------------------------------------
def greek_benign(split: str = "train") -> list[Example]:
    """Our Greek benign texts (`greek_benign.yaml`), head as filed; `split` "train" or "check"
    (every CHECK_EVERY-th text of each list, never trained on)."""
    if split not in ("train", "check"):
        raise ValueError(f"split must be train or check, not {split!r}")
    data = yaml.safe_load(GREEK_FILE.read_text("utf-8"))
    out: list[Example] = []
    for key, styles in data.items():
        head = key.split("_")[0]  # "indirect", "indirect_2", ... (later batches)
        for style, texts in styles.items():
            for i, t in enumerate(texts):
                if not isinstance(t, str):
                    raise ValueError(f"{GREEK_FILE.name}: {key}/{style} has a non-text item")
                held = i % CHECK_EVERY == CHECK_EVERY - 1
                if held == (split == "check"):
                    out.append(Example(t, 0, head, "ours", "el", style))
    return out


def greek_generated(per_head: int = 160, seed: int = 0) -> list[Example]:
    """Greek operational sentences from our templates, filled with the lexicon's Greek names."""
    rng = random.Random(seed)
    data = yaml.safe_load(GREEK_TEMPLATES.read_text("utf-8"))
    places = _lexicon_names("places")
    services = [s for s in _lexicon_names("agencies") if len(s) > 3]
    resources = data["resources"] + [r for r in _lexicon_names("resources") if len(r) > 4]
    out: list[Example] = []
    for head in ("indirect", "direct"):
        templates = data[head]
        for k in range(per_head):
            t = templates[k % len(templates)]
            r1, r2 = rng.sample(resources, 2)
            text = t.format(
                place=rng.choice(places),
                service=rng.choice(services),
                resource=r1,
                resource2=r2,
                n=rng.randint(2, 40),
                n2=rng.randint(1, 12),
                n3=rng.choice(("150", "300", "450", "800", "1.200")),
                n4=rng.choice(("100", "300", "800", "1.600")),
                time=f"{rng.randint(0, 23):02d}:{rng.choice((0, 15, 30, 45)):02d}",
            )
            out.append(Example(text, 0, head, "generated", "el", "greek_templates", weight=0.5))
    return out
