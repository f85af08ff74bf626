"""Greek in the RAG layer without a model: sentence splitting, Greek-aware BM25, the bilingual
glossary, front-matter aliases, and the batched search API (a deterministic fake embedder)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from crisis_mas.rag.chunking import embedding_text, split_sentences
from crisis_mas.rag.config import RagConfig
from crisis_mas.rag.documents import Document, load_file
from crisis_mas.rag.glossary import expand, translations
from crisis_mas.rag.ingest import ingest
from crisis_mas.rag.lexical import BM25Index, tokenize
from crisis_mas.rag.retriever import Retriever, estimate_tokens


def test_greek_sentences_split_on_greek_capitals_and_question_mark() -> None:
    text = (
        "Η διαρροή χλωρίου είναι επικίνδυνη. Όλοι απομακρύνονται! Ποια απόσταση ισχύει; "
        "Είναι 60 μέτρα. «Προσοχή» στον άνεμο."
    )
    assert split_sentences(text) == [
        "Η διαρροή χλωρίου είναι επικίνδυνη.",
        "Όλοι απομακρύνονται!",
        "Ποια απόσταση ισχύει;",
        "Είναι 60 μέτρα.",
        "«Προσοχή» στον άνεμο.",
    ]
    # The Greek question mark (U+037E) ends a sentence as well.
    assert len(split_sentences("Τι κάνουμε\u037e Εκκενώνουμε.")) == 2


def test_greek_tokens_fold_accents_case_and_inflection() -> None:
    assert tokenize("ΔΙΑΡΡΟΉ") == tokenize("διαρροής") == tokenize("διαρροές")
    assert tokenize("χλωρίου") == tokenize("Χλώριο")
    assert tokenize("η και του στην") == []  # Greek stop words
    assert tokenize("evacuations") == ["evacuation"]  # English unchanged


def test_greek_bm25_matches_inflected_forms() -> None:
    # (three documents at least: with two, a term in one of them has a BM25 idf of zero)
    index = BM25Index(
        [1, 2, 3],
        [
            "Εκκένωση οικισμών λόγω πυρκαγιάς",
            "Διαρροή αμμωνίας σε ψυκτική μονάδα",
            "Σεισμός και αυτοψίες κτιρίων",
        ],
    )
    assert index.search("ΠΥΡΚΑΓΙΑ και εκκενώσεις", 2)[0][0] == 1
    assert index.search("διαρροή της αμμωνίας", 2)[0][0] == 2


def test_glossary_translates_both_ways() -> None:
    el = {t.lower() for t in translations("Διαρροή χλωρίου στην πισίνα")}
    assert {"leak", "chlorine", "swimming pool"} <= el
    en = translations("Chlorine leak at the swimming pool")
    assert {"διαρροή", "χλώριο", "πισίνα"} <= set(en)
    assert expand("no glossary word here") == "no glossary word here"


def test_translations_lift_an_english_passage_for_a_greek_question() -> None:
    index = BM25Index(
        [1, 2, 3],
        [
            "Chlorine leak at a swimming pool: isolate 60 m.",
            "Ammonia refrigeration plant.",
            "Earthquake building inspections.",
        ],
    )
    query = "Διαρροή χλωρίου σε πισίνα"
    assert index.search(query, 2) == []  # no shared words
    hits = index.search(query, 2, translated=" ".join(translations(query)))
    assert hits[0][0] == 1


def test_front_matter_aliases_are_searched_and_hashed(tmp_path: Path) -> None:
    f = tmp_path / "a.md"
    f.write_text(
        '---\nid: a\ntitle: Chlorine release\ntitle_el: "Διαρροή χλωρίου"\n'
        "keywords_el: [χλώριο, πισίνα]\n---\n# Chlorine release\n\nIsolate 60 m.\n",
        encoding="utf-8",
    )
    (doc,) = load_file(f)
    assert doc.aliases == ["Διαρροή χλωρίου", "χλώριο", "πισίνα"]
    assert "Διαρροή χλωρίου" in embedding_text(doc.title, "", "x", "; ".join(doc.aliases))
    plain = Document(id="a", title="t", text="x")
    assert plain.content_hash() != plain.model_copy(update={"aliases": ["α"]}).content_hash()


def test_greek_words_cost_more_prompt_tokens() -> None:
    assert estimate_tokens("διαρροή χλωρίου") > estimate_tokens("chlorine leak")


class HashEmbedder:
    """Deterministic bag-of-words vectors; counts how many times it is called."""

    name = "hash-test"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for tok in tokenize(text):
            v[int(hashlib.md5(tok.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.encode(texts, batch_size)


def test_search_many_equals_per_query_search_in_one_embedding_call(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    articles = {
        "fire": ("Wildfire evacuation", "fire", "Evacuate villages early when the fire nears."),
        "chem": ("Chlorine release", "hazmat", "Isolate 60 m around a chlorine leak."),
        "med": ("START triage", "medical", "Respiration, perfusion and mental status."),
        "police": ("Cordons", "police", "The inner cordon protects the scene."),
    }
    for doc_id, (title, domain, body) in articles.items():
        (kb / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: {title}\ndomains: [{domain}]\n---\n# {title}\n\n{body}\n",
            encoding="utf-8",
        )
    emb = HashEmbedder()
    cfg = RagConfig(index_dir=str(tmp_path / "idx"), sources=[str(kb)], guard_passages=False)
    ingest([kb], tmp_path / "idx", cfg, embedder=emb)
    retriever = Retriever.load(tmp_path / "idx", cfg, embedder=emb)
    queries = ["fire evacuation of villages", "Διαρροή χλωρίου", "triage breathing", "cordon"]
    domains = [["fire"], None, ["medical", "coordination"], ["police"]]
    expected = [retriever.search(q, 3, d) for q, d in zip(queries, domains, strict=True)]
    emb.calls = 0
    got = retriever.search_many(queries, 3, domains)
    assert emb.calls == 1
    assert [[h.chunk_id for h in hits] for hits in got] == [
        [h.chunk_id for h in hits] for hits in expected
    ]
    assert [[h.score for h in hits] for hits in got] == [[h.score for h in e] for e in expected]
    # The experts' form: own domains + shared ones, focus first, budget applied; one batch too.
    requests = [
        ("chlorine leak near homes", ["hazmat"], "HAZMAT commander"),
        ("triage", "medical", None),
    ]
    emb.calls = 0
    batched = retriever.search_for_experts(requests)
    assert emb.calls == 1
    single = [retriever.search_for_expert(q, d, focus=f) for q, d, f in requests]
    assert batched == single


def test_thread_chooser_follows_measured_speed() -> None:
    from crisis_mas.embeddings import ThreadChooser

    chooser = ThreadChooser(2, explore=8)
    picks = []
    for i in range(48):
        n = chooser.next()
        picks.append(n)
        quiet = i < 24
        chooser.record(n, (1.0 if n == 2 else 2.0) if quiet else (5.0 if n == 2 else 2.0))
    assert set(picks[:2]) == {1, 2}  # both tried first
    assert picks[4:24].count(2) > 15  # two threads while they are faster
    assert picks[30:].count(1) > 14  # one thread while the machine is busy
    assert ThreadChooser(1).choices == [1]
