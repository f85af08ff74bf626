"""Build crisis_mas/safety/data/common_words.txt: the words the grounding check treats as
ordinary vocabulary (never a place, service or unit name), for a capitalised word at the start
of a sentence ("Evacuate", "Smoke") as much as anywhere else.

A word qualifies when our own texts use it in lower case: the knowledge base, the bundled
scenarios, the roster, the prompt templates, the adapters' training answers and the bilingual
glossary. Proper names are written capitalised there, so they never enter the list.

    .venv/bin/python scripts/build_grounding_vocab.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from crisis_mas.safety.text import fold

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crisis_mas" / "safety" / "data" / "common_words.txt"
SOURCES = [
    "knowledge/*.md",
    "scenarios/*.json",
    "crisis_mas/experts/roster/*.yaml",
    "crisis_mas/experts/prompts.yaml",
    "crisis_mas/experts/training/*.jsonl",
    "crisis_mas/rag/data/glossary_el_en.txt",
]
# Ordinary English words our texts may happen not to contain in lower case.
EXTRA = """a about above across after again against all almost along also although always am
among an and another any anyone anything are around as at away back be because been before
being below between both but by can cannot could do does doing done down during each early
either else enough even ever every everyone everything few first for from further get gets give
go going good great had has have having he her here hers him his how however if in into is it
its itself just keep kept last least less let like little long lot low made make many may me
might more most much must my near need needs never new next no nor not now of off often on once
one only onto or other others our out over own per perhaps please put quickly rather really
right same second see seen several shall she should since so some someone something soon still
such take than that the their them then there these they this those though through throughout
thus to today together tomorrow tonight too toward towards under until up upon us use used very
via was we well were what whatever when where whether which while who whole whom whose why will
with within without would yet you your sulfur sulphur"""
_WORD = re.compile(r"[^\W\d_]+")
# Identifiers are not prose: URLs, paths, `code`, file names and slugs ("ekab-greek-ems").
_NOT_PROSE = re.compile(
    r"`[^`]*`|\S*[/_]\S*|\S+\.(?:md|json|yaml|pdf|html?)\b|\b[a-z0-9]+(?:-[a-z0-9]+){2,}\b"
)


def main() -> None:
    words: set[str] = {fold(w) for w in EXTRA.split()}
    for pattern in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".jsonl":  # the chat messages' contents, escapes decoded
                text = "\n".join(
                    m["content"] for line in text.splitlines() for m in json.loads(line)["messages"]
                )
            for w in _WORD.findall(_NOT_PROSE.sub(" ", text)):
                if w[0].islower() and len(w) > 1:
                    words.add(fold(w))
    OUT.write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
