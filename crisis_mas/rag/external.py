"""The external evaluation corpus: third-party material nobody here wrote, read in place from
`../shared/data` (never copied into the repo).

Document ids: the front matter `id` of the openem and NWCG markdown files, and one document per
ERG orange guide, `erg-guide-NNN` (plus `erg-orange-guides-intro` for the how-to-use pages).
"""

from __future__ import annotations

import re
from pathlib import Path

from crisis_mas.rag.documents import Document, DocumentError, load_markdown

ERG_GUIDES_FILE = Path("erg") / "ERG_Guides_Cleaned.txt"
CORPUS_DOMAINS = {"openem": ["medical"], "nwcg": ["fire"]}
ERG_DOMAINS = ["hazmat"]

# Section names of an orange guide page, and the sub-sections inside them.
_ERG_SECTIONS = {
    "POTENTIAL HAZARDS",
    "HEALTH",
    "FIRE OR EXPLOSION",
    "PUBLIC SAFETY",
    "PROTECTIVE CLOTHING",
    "EVACUATION",
    "EMERGENCY RESPONSE",
    "FIRE",
    "SPILL OR LEAK",
    "FIRST AID",
    "GENERAL FIRST AID",
    "NOTES",
}
_ERG_TOP = {"POTENTIAL HAZARDS", "PUBLIC SAFETY", "EMERGENCY RESPONSE", "GENERAL FIRST AID"}
_ERG_SUB = re.compile(
    r"^(Small Fire|Large Fire|Small Spill|Large Spill|Spill|Fire|Immediate precautionary measure"
    r"|Fire Involving .{0,60}|CARGO Fire|TIRE or VEHICLE Fire)$"
)
_GUIDE_MARK = re.compile(r"^GUIDE\s*\n\s*(\d{3})\s*$", re.MULTILINE)


def _erg_markdown(body: str) -> str:
    """Turn a guide page's bare section lines into markdown headings for the chunker."""
    out: list[str] = []
    for line in body.splitlines():
        s = line.strip()
        if s == "Guides (orange section)":
            continue
        if s in _ERG_SECTIONS:
            out.append(("## " if s in _ERG_TOP else "### ") + s.title())
        elif _ERG_SUB.match(s):
            out.append("#### " + s)
        else:
            out.append(line)
    return "\n".join(out).strip()


def split_erg_guides(path: Path) -> list[Document]:
    """One document per orange guide; blank guides are dropped, and a guide number that appears
    again later (the worked example on the how-to-use page) stays with the intro."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DocumentError(f"cannot read ERG guides: {err}") from None
    marks = list(_GUIDE_MARK.finditer(text))
    if not marks:
        raise DocumentError("no 'GUIDE NNN' markers found")
    last_start: dict[str, int] = {}
    for m in marks:
        last_start[m.group(1)] = m.start()
    intro_parts = [text[: marks[0].start()]]
    docs: list[Document] = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        number = m.group(1)
        body = text[m.end() : end]
        if last_start[number] != m.start():
            intro_parts.append(body)
            continue
        if "Intentionally left blank" in body and len(body.split()) < 40:
            continue
        line = text.count("\n", 0, m.start()) + 1
        docs.append(
            Document(
                id=f"erg-guide-{number}",
                title=f"ERG 2024 Orange Guide {number}",
                text=_erg_markdown(body),
                domains=list(ERG_DOMAINS),
                sources=[f"Emergency Response Guidebook 2024 (US DOT/PHMSA), Guide {number}"],
                path=f"{path.resolve()}:{line}",
                markdown=True,
            )
        )
    intro = "\n".join(intro_parts)
    docs.insert(
        0,
        Document(
            id="erg-orange-guides-intro",
            title="ERG 2024: How to use the orange guides, general first aid",
            text=_erg_markdown(intro),
            domains=list(ERG_DOMAINS),
            sources=["Emergency Response Guidebook 2024 (US DOT/PHMSA)"],
            path=f"{path.resolve()}:1",
            markdown=True,
        ),
    )
    return docs


def external_sources(data_dir: Path) -> list[Path]:
    """The files and folders the external corpus is read from (for ingest scopes)."""
    return [data_dir / "corpora" / name for name in CORPUS_DOMAINS] + [data_dir / ERG_GUIDES_FILE]


def external_documents(data_dir: Path) -> tuple[list[Document], list[str]]:
    """All external documents with domains assigned per corpus, and warnings for bad files."""
    docs: list[Document] = []
    warnings: list[str] = []
    for name, domains in CORPUS_DOMAINS.items():
        folder = data_dir / "corpora" / name
        if not folder.is_dir():
            warnings.append(f"{folder}: not found")
            continue
        for f in sorted(folder.glob("*.md")):
            try:
                for d in load_markdown(f):
                    d.domains = d.domains or list(domains)
                    d.path = str(f.resolve())
                    docs.append(d)
            except DocumentError as err:
                warnings.append(f"{f}: {err}")
    erg = data_dir / ERG_GUIDES_FILE
    if erg.is_file():
        try:
            docs.extend(split_erg_guides(erg))
        except DocumentError as err:
            warnings.append(f"{erg}: {err}")
    else:
        warnings.append(f"{erg}: not found")
    return docs, warnings
