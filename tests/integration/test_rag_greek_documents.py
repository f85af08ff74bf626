"""Greek documents through the real CLI (`crisis-mas rag ingest/search/build` as subprocesses),
the real multilingual embedder, FAISS and the Greek-aware BM25: a Greek markdown SOP and a Greek
PDF (made here with fpdf2 and an installed Unicode font) are found by a Greek question and by an
English one, among English documents."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import run_cli

ENGLISH = {
    "chlorine-release": (
        "Chlorine gas release",
        "hazmat",
        "Chlorine is a toxic gas heavier than air. Isolate at least 100 metres in all directions "
        "and approach from upwind. Shelter in place when the cloud passes quickly.",
    ),
    "start-triage": (
        "START triage",
        "medical",
        "Walking wounded are tagged green. A casualty breathing more than 30 times per minute "
        "or with capillary refill over two seconds is tagged red.",
    ),
    "police-cordons": (
        "Police cordons",
        "police",
        "The inner cordon protects the hazard zone; the outer cordon keeps the public and the "
        "media away and controls access for responders.",
    ),
}

# Our own SOP texts, written in Greek.
GREEK_MD = """---
id: sop-plimmyra-ypogeia
title: "ΣΕΠ: Πλημμύρα σε υπόγεια και υπόγειες διαβάσεις"
domains: [flood]
---
# ΣΕΠ: Πλημμύρα σε υπόγεια και υπόγειες διαβάσεις

## Άμεσες ενέργειες
Όταν η Πυροσβεστική λαμβάνει κλήση για εγκλωβισμένους σε πλημμυρισμένο υπόγειο, στέλνει ομάδα
με αντλίες και διασώστες νερού. Κανείς δεν κατεβαίνει σε υπόγειο με νερό πάνω από το γόνατο
χωρίς σχοινί ασφαλείας; Όχι: ο κανόνας είναι απόλυτος. Η ΔΕΔΔΗΕ διακόπτει πρώτα το ρεύμα.

## Υπόγειες διαβάσεις
Η Τροχαία κλείνει τις υπόγειες διαβάσεις μόλις το νερό φτάσει τα 15 εκατοστά. Κανένα όχημα δεν
περνά από πλημμυρισμένη διάβαση, γιατί 30 εκατοστά νερού αρκούν για να παρασύρουν αυτοκίνητο.
"""

GREEK_PDF_TITLE = "Σχέδιο αντιμετώπισης σεισμού σε σχολεία"
GREEK_PDF_BODY = [
    "Σχέδιο αντιμετώπισης σεισμού σε σχολικές μονάδες.",
    "Κατά τη διάρκεια της δόνησης οι μαθητές καλύπτονται κάτω από τα θρανία και κρατιούνται "
    "από τα πόδια τους. Μετά τη δόνηση ο διευθυντής οδηγεί όλους στον προκαθορισμένο χώρο "
    "συγκέντρωσης στην αυλή, μακριά από τοίχους και κολόνες.",
    "Ο υπεύθυνος ασφαλείας καταμετρά τους μαθητές με το παρουσιολόγιο και αναφέρει στον δήμο "
    "όσους λείπουν. Το κτίριο δεν ξαναχρησιμοποιείται πριν από την αυτοψία μηχανικού.",
]


def _unicode_font() -> Path:
    """An installed TrueType font with Greek glyphs (DejaVu Sans on Debian)."""
    candidates = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]
    if shutil.which("fc-match"):
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", "DejaVu Sans:lang=el"], capture_output=True, text=True
        ).stdout.strip()
        if out:
            candidates.append(Path(out))
    for c in candidates:
        if c.is_file() and c.suffix.lower() == ".ttf":
            return c
    pytest.skip("no TrueType font with Greek glyphs installed (Debian: fonts-dejavu-core)")


def _write_greek_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(GREEK_PDF_TITLE)
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(_unicode_font()))
    pdf.set_font("DejaVu", size=12)
    for para in GREEK_PDF_BODY:
        pdf.multi_cell(0, 8, para)
        pdf.ln(4)
    pdf.output(str(path))


@pytest.fixture(scope="module")
def greek_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("greek-corpus")
    for doc_id, (title, domain, body) in ENGLISH.items():
        (corpus / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: {title}\ndomains: [{domain}]\n---\n# {title}\n\n{body}\n",
            encoding="utf-8",
        )
    (corpus / "sop-plimmyra-ypogeia.md").write_text(GREEK_MD, encoding="utf-8")
    _write_greek_pdf(corpus / "sxedio-seismou-sxoleia.pdf")
    index = tmp_path_factory.mktemp("greek-index")
    res = run_cli("rag", "ingest", str(corpus), "--index", str(index), timeout=600)
    assert res.returncode == 0, res.stderr
    assert "5 added" in res.stdout and "0 skipped" in res.stdout
    return index


def _top(index: Path, query: str, k: int = 3) -> list[str]:
    res = run_cli("rag", "search", query, "-k", str(k), "--json", "--index", str(index))
    assert res.returncode == 0, res.stderr
    return [h["doc_id"] for h in json.loads(res.stdout)["hits"]]


@pytest.mark.parametrize(
    "query",
    [
        "Ποιος κλείνει τις υπόγειες διαβάσεις όταν πλημμυρίζουν;",
        "Who closes flooded underpasses, and at what water depth?",
        "flooded basement with people trapped: what must rescuers do first?",
    ],
)
def test_greek_markdown_sop_found_in_both_languages(greek_index: Path, query: str) -> None:
    assert _top(greek_index, query)[0] == "sop-plimmyra-ypogeia"


@pytest.mark.parametrize(
    "query",
    [
        "Τι κάνουν οι μαθητές όταν γίνεται σεισμός στο σχολείο;",
        "What do pupils do during an earthquake at school?",
    ],
)
def test_greek_pdf_found_in_both_languages(greek_index: Path, query: str) -> None:
    assert _top(greek_index, query)[0] == "sxedio-seismou-sxoleia"


def test_greek_pdf_text_and_title_survive_extraction(greek_index: Path) -> None:
    res = run_cli(
        "rag", "search", "παρουσιολόγιο", "--mode", "bm25", "--json", "--index", str(greek_index)
    )
    hit = json.loads(res.stdout)["hits"][0]
    assert hit["doc_id"] == "sxedio-seismou-sxoleia"
    assert hit["title"] == GREEK_PDF_TITLE
    assert "παρουσιολόγιο" in hit["text"]


def test_english_question_still_finds_english_passage(greek_index: Path) -> None:
    assert _top(greek_index, "isolation distance for a chlorine gas leak")[0] == "chlorine-release"
    assert _top(greek_index, "Απόσταση απομόνωσης σε διαρροή χλωρίου")[0] == "chlorine-release"


def test_rag_build_builds_then_is_quick_and_current(tmp_path: Path) -> None:
    src = tmp_path / "kb"
    src.mkdir()
    (src / "sop.md").write_text(GREEK_MD, encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"rag:\n  index_dir: {tmp_path / 'idx'}\n  sources: [{src}]\n", "utf-8")
    first = run_cli("rag", "build", "--config", str(cfg), "--json", timeout=600)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["added"] == ["sop-plimmyra-ypogeia"]
    again = run_cli("rag", "build", "--config", str(cfg), "--json", timeout=600)
    report = json.loads(again.stdout)
    assert report["unchanged"] == ["sop-plimmyra-ypogeia"] and report["chunks_embedded"] == 0
    assert report["seconds"] < 1.0
