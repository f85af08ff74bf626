"""Chunking that follows headings, then sentences, with a sentence-aligned overlap.

Sections (markdown headings) are never mixed in one chunk, so a hit cites one coherent part of a
document; inside a section, whole sentences are packed up to `max_words` and the last sentences
of a chunk (up to `overlap_words`) start the next one so facts on a boundary stay retrievable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crisis_mas.rag.config import ChunkingConfig
from crisis_mas.rag.documents import Document

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A sentence ends at . ! ? or the Greek question mark ";" (U+037E, which NFC writes as ";"),
# optionally followed by quotes/brackets, before whitespace and an upper-case Latin or Greek
# letter (accented capitals included), a digit, a quote or a bullet; bullets and blank lines
# always end a unit.
_SENTENCE_END = re.compile(
    r"(?<=[.!?;\u037e])[\"'»”’)\]]*\s+"
    r"(?=[A-Z0-9\"'«“(\[•\-*\u0386\u0388-\u038f\u0391-\u03a9])"
)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


@dataclass(frozen=True)
class Section:
    """A heading path (e.g. "Triage > START") and the text under it."""

    heading: str
    text: str


@dataclass(frozen=True)
class Chunk:
    """One indexed unit: `ordinal` is its position in the document."""

    doc_id: str
    ordinal: int
    heading: str
    text: str

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.ordinal}"


def split_sections(text: str, markdown: bool = True) -> list[Section]:
    """Split on markdown headings (keeping the heading path); plain text is one section."""
    if not markdown:
        return [Section("", text.strip())] if text.strip() else []
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    buf: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body:
            sections.append(Section(" > ".join(h for _, h in path), body))
        buf.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if m:
            flush()
            level = len(m.group(1))
            path = [(lv, h) for lv, h in path if lv < level]
            path.append((level, m.group(2).strip()))
        else:
            buf.append(line)
    flush()
    return sections


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a block of text, whitespace-normalised."""
    units: list[str] = []
    para: list[str] = []

    def flush_para() -> None:
        if para:
            joined = " ".join(para)
            units.extend(s.strip() for s in _SENTENCE_END.split(joined) if s.strip())
            para.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush_para()
        elif _BULLET.match(line) or stripped.startswith("|"):
            # List items and table rows are units of their own.
            flush_para()
            units.extend(s.strip() for s in _SENTENCE_END.split(stripped) if s.strip())
        else:
            para.append(stripped)
    flush_para()
    return [re.sub(r"\s+", " ", u) for u in units]


def _words(s: str) -> int:
    return len(s.split())


def _split_long(sentence: str, max_words: int, overlap: int) -> list[str]:
    """A sentence longer than a chunk is cut into word windows (with overlap)."""
    words = sentence.split()
    step = max(1, max_words - min(overlap, max_words // 2))
    out: list[str] = []
    start = 0
    while True:
        out.append(" ".join(words[start : start + max_words]))
        if start + max_words >= len(words):
            return out
        start += step


def pack_sentences(sentences: list[str], max_words: int, overlap_words: int) -> list[str]:
    """Greedy packing of whole sentences; each new chunk repeats the previous chunk's tail."""
    units: list[str] = []
    for s in sentences:
        units.extend(_split_long(s, max_words, overlap_words) if _words(s) > max_words else [s])
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    fresh = 0  # sentences in `current` that are not overlap from the previous chunk
    for u in units:
        n = _words(u)
        if current and count + n > max_words and fresh:
            chunks.append(" ".join(current))
            tail: list[str] = []
            tail_words = 0
            for prev in reversed(current):
                w = _words(prev)
                if tail_words + w > overlap_words or tail_words + w + n > max_words:
                    break
                tail.insert(0, prev)
                tail_words += w
            current, count, fresh = tail, tail_words, 0
        current.append(u)
        count += n
        fresh += 1
    if current and fresh:
        chunks.append(" ".join(current))
    return chunks


def merge_small_sections(sections: list[Section], min_words: int, max_words: int) -> list[Section]:
    """Fold tiny sections (a heading with a line or two) into the next one of the same doc."""
    out: list[Section] = []
    carry: Section | None = None
    for sec in sections:
        if carry is not None:
            merged_text = (
                f"{carry.heading}: {carry.text}\n\n{sec.text}"
                if carry.heading
                else (f"{carry.text}\n\n{sec.text}")
            )
            sec = Section(sec.heading or carry.heading, merged_text)
            carry = None
        if _words(sec.text) < min_words:
            carry = sec
        else:
            out.append(sec)
    if carry is not None:
        if out and _words(out[-1].text) + _words(carry.text) <= max_words:
            last = out.pop()
            extra = f"{carry.heading}: {carry.text}" if carry.heading else carry.text
            out.append(Section(last.heading, f"{last.text}\n\n{extra}"))
        else:
            out.append(carry)
    return out


def chunk_document(doc: Document, cfg: ChunkingConfig | None = None) -> list[Chunk]:
    """Chunks of one document in order; ordinals are stable for unchanged documents."""
    cfg = cfg or ChunkingConfig()
    sections = merge_small_sections(
        split_sections(doc.text, doc.markdown), cfg.min_words, cfg.max_words
    )
    chunks: list[Chunk] = []
    for sec in sections:
        for text in pack_sentences(split_sentences(sec.text), cfg.max_words, cfg.overlap_words):
            chunks.append(Chunk(doc.id, len(chunks), sec.heading, text))
    return chunks


def embedding_text(title: str, heading: str, text: str, aliases: str = "") -> str:
    """What gets embedded and BM25-indexed: the title and heading path give the chunk context;
    `aliases` (the document's title and keywords in the other language, from its front matter)
    let a question in that language find it."""
    head = title if not heading or heading == title else f"{title} — {heading}"
    if aliases:
        head = f"{head} ({aliases})"
    return f"{head}\n{text}"
