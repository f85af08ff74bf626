"""RAG pieces that need no model: loaders, chunking, BM25, RRF, budget, tool validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crisis_mas.rag.chunking import (
    chunk_document,
    pack_sentences,
    split_sections,
    split_sentences,
)
from crisis_mas.rag.config import ChunkingConfig, RagConfig
from crisis_mas.rag.documents import Document, DocumentError, load_file, split_front_matter
from crisis_mas.rag.lexical import BM25Index, reciprocal_rank_fusion, tokenize
from crisis_mas.rag.retriever import Hit, estimate_tokens, passages_within_budget
from crisis_mas.rag.store import build_faiss_index, choose_index_type
from crisis_mas.rag.tool import (
    SEARCH_CORPUS_TOOL,
    ToolArgumentError,
    openai_tool,
    tool_definition,
    validate_args,
)


def test_front_matter_fields_and_glued_heading(tmp_path: Path) -> None:
    f = tmp_path / "a.md"
    f.write_text(
        "---\nid: wf-1\ntitle: Wildfire evacuation\ndomains: [Fire, civil_protection]\n"
        "sources:\n  - ref: Civil Protection plan\n  - GSCP 2024\n"
        "---# Heading\n\nBody text here.\n",
        encoding="utf-8",
    )
    (doc,) = load_file(f)
    assert doc.id == "wf-1"
    assert doc.title == "Wildfire evacuation"
    assert doc.domains == ["fire", "civil_protection"]
    assert doc.sources == ["Civil Protection plan", "GSCP 2024"]
    assert doc.text.startswith("# Heading")


def test_malformed_front_matter_raises() -> None:
    with pytest.raises(DocumentError, match="front matter"):
        split_front_matter("---\nid: [unclosed\n---\nbody")


def test_jsonl_records_and_bad_line(tmp_path: Path) -> None:
    f = tmp_path / "recs.jsonl"
    f.write_text(
        json.dumps({"id": "r1", "title": "One", "text": "First text.", "domains": ["police"]})
        + "\n"
        + json.dumps({"text": "No id here."})
        + "\n",
        encoding="utf-8",
    )
    docs = load_file(f)
    assert [d.id for d in docs] == ["r1", "recs-2"]
    assert docs[0].domains == ["police"]
    f.write_text('{"text": "ok"}\n{not json}\n', encoding="utf-8")
    with pytest.raises(DocumentError, match="line 2"):
        load_file(f)


def test_unsupported_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "x.docx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DocumentError, match="unsupported"):
        load_file(tmp_path / "x.docx")
    (tmp_path / "y.txt").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(DocumentError, match="binary"):
        load_file(tmp_path / "y.txt")
    (tmp_path / "z.pdf").write_bytes(b"%PDF-1.4 truncated garbage")
    with pytest.raises(DocumentError, match="PDF"):
        load_file(tmp_path / "z.pdf")


def test_sections_follow_heading_paths() -> None:
    text = "# Title\nintro line\n## A\nalpha\n### A1\ndeep\n## B\nbeta\n```\n# not a heading\n```\n"
    secs = split_sections(text)
    assert [s.heading for s in secs] == ["Title", "Title > A", "Title > A > A1", "Title > B"]
    assert "# not a heading" in secs[-1].text


def test_sentence_split_keeps_bullets_apart() -> None:
    s = split_sentences("First one. Second one! Third?\n- bullet item\n- another item\n\nNew para.")
    assert s == [
        "First one.",
        "Second one!",
        "Third?",
        "- bullet item",
        "- another item",
        "New para.",
    ]


def test_packing_overlaps_whole_sentences() -> None:
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(12)]
    chunks = pack_sentences(sentences, max_words=30, overlap_words=10)
    assert len(chunks) > 2
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert len(prev.split()) <= 30
        last = prev.rsplit("Sentence", 1)[-1]
        assert nxt.startswith("Sentence" + last)  # the next chunk repeats the last sentence


def test_long_sentence_is_cut_in_windows() -> None:
    words = " ".join(f"w{i}" for i in range(250))
    chunks = pack_sentences([words], max_words=100, overlap_words=20)
    assert all(len(c.split()) <= 100 for c in chunks)
    assert chunks[0].split()[0] == "w0" and chunks[-1].split()[-1] == "w249"


def test_chunks_never_mix_sections_and_merge_tiny_ones() -> None:
    body = "# Doc\n## Tiny\nJust a line.\n## Big\n" + " ".join(
        f"Fact {i} about cordons and traffic control points." for i in range(40)
    )
    doc = Document(id="d", title="Doc", text=body)
    chunks = chunk_document(doc, ChunkingConfig(max_words=60, overlap_words=15, min_words=10))
    assert chunks[0].text.startswith("Doc > Tiny: Just a line.")  # tiny section folded forward
    assert all(c.heading == "Doc > Big" for c in chunks)
    assert [c.chunk_id for c in chunks] == [f"d#{i}" for i in range(len(chunks))]


def test_rrf_merge_order_and_scores() -> None:
    merged = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    ids = [i for i, _ in merged]
    assert ids[:2] == [1, 3]  # in both lists near the top
    assert set(ids) == {1, 2, 3, 4}
    assert merged[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert reciprocal_rank_fusion([[5, 6], [6, 5]])[0][0] == 5  # ties keep first appearance


def test_bm25_exact_terms_and_filter() -> None:
    idx = BM25Index(
        [10, 11, 12],
        [
            "Chlorine release UN1017 guide 124 isolate 100 metres",
            "Evacuation routes and traffic control points for police",
            "START triage respiratory rate over 30 is immediate",
        ],
    )
    assert idx.search("UN1017 chlorine", 2)[0][0] == 10
    assert idx.search("UN1017 chlorine", 2, allowed=np.array([11, 12])) == []
    assert tokenize("Evacuations of the wounded") == ["evacuation", "wounded"]


def test_budget_keeps_order_and_truncates_oversized_first_hit() -> None:
    def hit(i: int, words: int) -> Hit:
        return Hit(doc_id=f"d{i}", chunk_id=f"d{i}#0", title="t", text="w " * words, score=1.0)

    kept = passages_within_budget([hit(1, 100), hit(2, 200), hit(3, 50)], max_tokens=350)
    assert [h.doc_id for h in kept] == ["d1", "d3"]  # d2 does not fit, d3 still does
    assert sum(estimate_tokens(h.text) for h in kept) <= 350
    (only,) = passages_within_budget([hit(9, 1000)], max_tokens=100)
    assert estimate_tokens(only.text) <= 100 and only.text.endswith("…")
    # A custom tokenizer is honoured; nothing is returned if not even a word fits.
    assert passages_within_budget([hit(1, 10)], 100, count_tokens=lambda t: 1000) == []


def test_tool_definition_shape() -> None:
    d = tool_definition()
    assert d["name"] == "search_corpus"
    props = d["parameters"]["properties"]
    assert props["query"]["maxLength"] == 500 and props["query"]["minLength"] == 1
    assert (props["top_k"]["minimum"], props["top_k"]["maximum"]) == (1, 10)
    assert "hazmat" in props["domain"]["enum"]
    assert openai_tool()["function"] == SEARCH_CORPUS_TOOL


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"top_k": 3}, "query"),
        ({"query": "", "top_k": 3}, "query"),
        ({"query": "   ", "top_k": 3}, "query"),
        ({"query": "x" * 501}, "query"),
        ({"query": "ok", "top_k": 0}, "top_k"),
        ({"query": "ok", "top_k": 11}, "top_k"),
        ({"query": "ok", "top_k": "five"}, "top_k"),
        ({"query": "ok", "top_k": True}, "top_k"),
        ({"query": "ok", "domain": "weather"}, "domain"),
        ({"query": "ok", "extra": 1}, "extra"),
        ("not a dict", "arguments"),
    ],
)
def test_tool_validation_names_the_field(args: object, field: str) -> None:
    with pytest.raises(ToolArgumentError) as info:
        validate_args(args)
    assert info.value.field == field
    assert field in str(info.value)


def test_tool_validation_accepts_good_args() -> None:
    parsed = validate_args({"query": " cordon ", "top_k": 10, "domain": "Police"})
    assert (parsed.query, parsed.top_k, parsed.domain) == ("cordon", 10, "police")


def test_index_type_follows_threshold_and_builds() -> None:
    assert choose_index_type(10, "auto", 100) == "flat"
    assert choose_index_type(100, "auto", 100) == "hnsw"
    assert choose_index_type(10**6, "flat", 100) == "flat"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(100, 150, dtype=np.int64)
    for kind in ("flat", "hnsw"):
        index = build_faiss_index(x, ids, kind)  # type: ignore[arg-type]
        _, found = index.search(x[:1], 1)
        assert found[0][0] == 100


def test_config_domains_for_expert() -> None:
    cfg = RagConfig()
    assert cfg.domains_for(["fire", "hazmat"]) == [
        "fire",
        "hazmat",
        "coordination",
        "civil_protection",
    ]
    assert cfg.domains_for(None) is None
    assert cfg.token_budget == 350
    with pytest.raises(ValueError):
        RagConfig(unknown_field=1)  # type: ignore[call-arg]


def _tiny_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF with the given text lines (Helvetica)."""
    text = " ".join(f"({ln}) Tj 0 -16 Td" for ln in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_loader_reads_pages(tmp_path: Path) -> None:
    f = tmp_path / "sop-flood.pdf"
    f.write_bytes(_tiny_pdf(["Flood SOP.", "Close underpasses when water rises."]))
    (doc,) = load_file(f)
    assert doc.id == "sop-flood"
    assert doc.text.startswith("## Page 1")
    assert "underpasses" in doc.text
    assert chunk_document(doc)[0].heading == "Page 1"
