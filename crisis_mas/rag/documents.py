"""Documents and their loaders: markdown with YAML front matter, plain text, PDF and JSONL.

Every loader returns `Document`s with a stable id (front matter `id`, JSONL `id`, or the file
stem) so that re-ingesting can compare content hashes per document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".jsonl")

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|(?=\S))", re.DOTALL)
_ID_SAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


class DocumentError(ValueError):
    """A file that cannot be read as a document; ingestion skips it with a warning."""


class Document(BaseModel):
    """One retrievable document before chunking."""

    id: str
    title: str
    text: str
    domains: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    # Where it came from: a file path (plus `:line` for JSONL records).
    path: str = ""
    # Markdown headings in `text` are meaningful to the chunker.
    markdown: bool = True
    # The title and keywords in the other language (front matter `title_el`/`keywords_el` on an
    # English article, `title_en`/`keywords_en` on a Greek one), searched with every chunk.
    aliases: list[str] = Field(default_factory=list)

    def content_hash(self) -> str:
        """Hash of everything that ends up in the index, so any edit triggers a re-embed."""
        h = hashlib.sha256()
        for part in (self.id, self.title, "\x1f".join(self.domains), "\x1f".join(self.sources)):
            h.update(part.encode("utf-8"))
            h.update(b"\x1e")
        if self.aliases:  # absent aliases leave the hash as it always was
            h.update(("\x1f".join(self.aliases)).encode("utf-8") + b"\x1d")
        h.update(self.text.encode("utf-8"))
        return h.hexdigest()

    @property
    def source(self) -> str:
        """One line naming the origin, shown beside each hit."""
        return "; ".join(self.sources) if self.sources else self.path


def slug(text: str) -> str:
    """A file-name-safe id fragment."""
    return _ID_SAFE.sub("-", text.strip()).strip("-").lower() or "doc"


def _str_list(value: Any) -> list[str]:
    """Front matter lists may hold strings or mappings (e.g. `{type, ref}`); keep readable text."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    out: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                text = item.get("ref") or item.get("title") or item.get("url") or item.get("name")
                out.append(str(text) if text else json.dumps(item, ensure_ascii=False))
            elif item is not None:
                out.append(str(item))
    return out


def _domains(value: Any) -> list[str]:
    return [d.strip().lower() for d in _str_list(value) if d.strip()]


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split `---\\nYAML\\n---` from the body; malformed YAML raises DocumentError."""
    text = text.lstrip("\ufeff")
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0] if str(err) else "invalid YAML"
        raise DocumentError(f"malformed front matter: {first}") from None
    if not isinstance(meta, dict):
        raise DocumentError("front matter is not a mapping")
    return meta, text[m.end() :]


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        m = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if m:
            return m.group(1).strip()
    return None


def _aliases(meta: dict[str, Any]) -> list[str]:
    """Other-language title and keywords from front matter, in that order, without repeats."""
    out: list[str] = []
    for key in ("title_el", "title_en", "keywords_el", "keywords_en"):
        for item in _str_list(meta.get(key)):
            item = " ".join(item.split())
            if item and item not in out:
                out.append(item)
    return out


def load_markdown(path: Path) -> list[Document]:
    """Markdown with optional YAML front matter `id, title, domains[], sources[]`, and
    `title_el, keywords_el[]` (or `title_en, keywords_en[]` on a Greek document)."""
    meta, body = split_front_matter(_read_text(path))
    title = meta.get("title") or meta.get("condition") or _first_heading(body) or path.stem
    sources = _str_list(meta.get("sources", meta.get("source")))
    if not sources and meta.get("url"):
        sources = [str(meta["url"])]
    doc = Document(
        id=str(meta.get("id") or path.stem),
        title=str(title).strip(),
        text=body.strip(),
        domains=_domains(meta.get("domains", meta.get("domain"))),
        sources=sources,
        path=str(path),
        markdown=True,
        aliases=_aliases(meta),
    )
    _require_text(doc, path)
    return [doc]


def load_text(path: Path) -> list[Document]:
    """Plain text: one document named after the file."""
    body = _read_text(path).strip()
    title = next((ln.strip() for ln in body.splitlines() if ln.strip()), path.stem)[:120]
    doc = Document(id=path.stem, title=title, text=body, path=str(path), markdown=False)
    _require_text(doc, path)
    return [doc]


def load_pdf(path: Path) -> list[Document]:
    """PDF via pypdf: the text of all pages, one document; pages become `## Page N` sections."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or None
    except Exception as err:  # pypdf raises many types on broken files
        raise DocumentError(f"unreadable PDF: {type(err).__name__}: {err}") from None
    body = "\n\n".join(f"## Page {i}\n\n{t}" for i, t in enumerate(pages, 1) if t)
    doc = Document(
        id=path.stem,
        title=str(meta_title or path.stem),
        text=body,
        path=str(path),
        markdown=True,
    )
    _require_text(doc, path)
    return [doc]


def load_jsonl(path: Path) -> list[Document]:
    """JSONL: one `{id?, title?, text, domains?, source?}` object per line."""
    docs: list[Document] = []
    for lineno, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise DocumentError(f"line {lineno}: invalid JSON ({err.msg})") from None
        if not isinstance(rec, dict):
            raise DocumentError(f"line {lineno}: expected an object")
        text = rec.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DocumentError(f"line {lineno}: missing 'text'")
        doc_id = str(rec.get("id") or f"{path.stem}-{lineno}")
        docs.append(
            Document(
                id=doc_id,
                title=str(rec.get("title") or doc_id),
                text=text.strip(),
                domains=_domains(rec.get("domains", rec.get("domain"))),
                sources=_str_list(rec.get("sources", rec.get("source"))),
                path=f"{path}:{lineno}",
                markdown=bool(rec.get("markdown", False)),
            )
        )
    if not docs:
        raise DocumentError("no records")
    return docs


LOADERS = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".pdf": load_pdf,
    ".jsonl": load_jsonl,
}


def load_file(path: Path) -> list[Document]:
    """Load one file by suffix; raises DocumentError with a readable reason."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise DocumentError(f"unsupported file type '{path.suffix or path.name}'")
    return loader(path)


# Folder scans skip these: they describe a folder (e.g. how to write KB articles), they are not
# reference material. Naming one explicitly still ingests it.
SKIPPED_NAMES = frozenset({"readme.md", "readme.txt", "contributing.md", "license.md"})


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Supported files under the given files/folders, in a stable order (hidden files and
    folder READMEs skipped)."""
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if any(part.startswith(".") for part in rel) or f.name.lower() in SKIPPED_NAMES:
                    continue
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield f
        else:
            yield p


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DocumentError(f"cannot read: {err.strerror or err}") from None
    if b"\x00" in data[:4096]:
        raise DocumentError("binary content, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError("not valid UTF-8 text") from None


def _require_text(doc: Document, path: Path) -> None:
    if not doc.text.strip():
        raise DocumentError("no text")
