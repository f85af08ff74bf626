"""Catalogue actions recognised by meaning, for alternatives whose wording no cue matches.

The regex cues (`match_alternative`) recognise the phrasing their authors wrote; another author's
words ("Engine 2 backs in and defends the house") often match none, and the doctrine rules then
have nothing to say. Here an alternative is compared with each catalogue action of the scenario's
crisis families by sentence embedding (the multilingual e5 model shipped for retrieval, so Greek
and English meet in one space): its nearest action is taken only when the cosine similarity clears
`threshold` AND beats the runner-up by `margin`; otherwise nothing (silence is better than a wrong
match). Negated words ("... without waiting for the helicopters") are left out before embedding,
and an action's `exclude` cues still rule it out. Cue matches stay authoritative.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from crisis_mas.embeddings import get_embedder
from crisis_mas.experts.catalogue import (
    CatalogueAction,
    load_catalogue,
    match_alternative,
)
from crisis_mas.experts.textmatch import find, fold, negated
from crisis_mas.scenario import Alternative

# Words of an alternative's id that say nothing about the action (v_, opt_, alt_ prefixes...).
_ID_NOISE = frozenset({"opt", "alt", "action", "option", "choice"})
_WORD = re.compile(r"\S+")


class SemanticMatch(BaseModel):
    """When a nearest catalogue action counts as a match (calibrated on the tuned suites only,
    docs/experts.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(default=0.86, ge=0.0, le=1.0)
    margin: float = Field(default=0.02, ge=0.0, le=1.0)
    # Greek wording against the English catalogue scores lower for the same meaning: of five
    # Greek paraphrases of our own, four reach their action at 0.84-0.86 where their English
    # twins reach 0.90-0.93 (runner-ups drop alike, so the margin still holds; the fifth ranks
    # it second and stays unmatched). Mostly-Greek alternatives need this much less similarity
    # (about half the measured gap, to stay on the side of silence).
    greek_offset: float = Field(default=0.03, ge=0.0, le=0.1)
    # Two alternatives of one scenario this similar to each other are the same action aimed at
    # different targets ("team to the block on X" / "team to the house on Y"); see
    # `share_between_parallel`.
    parallel: float = Field(default=0.95, ge=0.0, le=1.0)

    def threshold_for(self, phrase: str) -> float:
        """The similarity a phrase's nearest action must reach (lower for Greek wording)."""
        letters = [c for c in phrase if c.isalpha()]
        greek = sum(1 for c in letters if "\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1fff")
        return self.threshold - (self.greek_offset if greek * 2 > len(letters) else 0.0)


DEFAULT = SemanticMatch()


def action_text(action: CatalogueAction) -> str:
    """What an action is compared by: its name and its one-line description."""
    return f"{action.name}. {action.description}".strip()


def _ends_in_negation(folded: str) -> bool:
    """Whether a word placed right after this text would be negated."""
    return negated(folded + " x", len(folded) + 1)


def affirmative(text: str) -> str:
    """The text without the words a negation governs ("evacuate without waiting for orders" ->
    "evacuate"), by the same clause-and-window rule as the cues (`textmatch.negated`); the
    negation itself goes too ("without", "instead of", «χωρίς»)."""
    words = [m.group(0) for m in _WORD.finditer(text)]
    folded_words = [fold(w) for w in words]
    starts, ends, pos = [], [], 0
    for fw in folded_words:
        starts.append(pos)
        ends.append(pos + len(fw))
        pos += len(fw) + 1
    folded = " ".join(folded_words)
    governed = [negated(folded, s) for s in starts]
    # A word after which the text turns negative, itself not governed: the negation's last word.
    trigger = [not g and _ends_in_negation(folded[:e]) for g, e in zip(governed, ends, strict=True)]
    keep = []
    for i, w in enumerate(words):
        # The first word of a two-word negation ("instead of", "rather than", "unable to").
        opens = i + 1 < len(words) and trigger[i + 1] and not _ends_in_negation(folded_words[i + 1])
        if not (governed[i] or trigger[i] or opens):
            keep.append(w)
    return " ".join(keep)


def alternative_phrase(alt: Alternative) -> str:
    """An alternative's id words, name and description, with negated words left out."""
    id_words = " ".join(
        w for w in alt.id.split("_") if len(w) > 1 and not w.isdigit() and w not in _ID_NOISE
    )
    return affirmative(f"{id_words}. {alt.name}. {alt.description}")


@cache
def _catalogue_vectors() -> tuple[tuple[str, ...], np.ndarray]:
    """Every catalogue action's id and its vector, embedded once per process."""
    actions = list(load_catalogue().values())
    vecs = get_embedder().encode([action_text(a) for a in actions])
    return tuple(a.id for a in actions), vecs


@lru_cache(maxsize=4096)
def _phrase_vector(phrase: str) -> np.ndarray:
    return get_embedder().encode([phrase])[0]


def ranked_actions(alt: Alternative, families: set[str]) -> list[tuple[str, float]]:
    """The catalogue actions of these families an alternative could carry out, nearest first,
    with their cosine similarity (an action whose `exclude` cues the wording hits is left out)."""
    phrase = alternative_phrase(alt)
    if not phrase.strip(" .") or not families:
        return []
    catalogue = load_catalogue()
    text = fold(f"{alt.name}. {alt.description}")
    ids, vecs = _catalogue_vectors()
    sims = vecs @ _phrase_vector(phrase)
    out = [
        (aid, float(s))
        for aid, s in zip(ids, sims, strict=True)
        if set(catalogue[aid].families) & families
        and not find(text, catalogue[aid].exclude, negation=False)
    ]
    return sorted(out, key=lambda p: (-p[1], p[0]))


def semantic_match(
    alt: Alternative, families: set[str], settings: SemanticMatch = DEFAULT
) -> list[str]:
    """The one nearest action when it is near enough and clearly nearer than the next; else
    none."""
    ranked = ranked_actions(alt, families)
    if not ranked:
        return []
    best, runner_up = ranked[0][1], (ranked[1][1] if len(ranked) > 1 else -1.0)
    threshold = settings.threshold_for(alternative_phrase(alt))
    if best >= threshold and best - runner_up >= settings.margin:
        return [ranked[0][0]]
    return []


def match_by_cue_or_meaning(
    alt: Alternative, families: set[str], settings: SemanticMatch | None = DEFAULT
) -> list[str]:
    """The cue matches when there are any (authoritative); else the semantic match (none when
    `settings` is None)."""
    cued = match_alternative(alt)
    if cued or settings is None:
        return cued
    return semantic_match(alt, families, settings)


def share_between_parallel(
    alts: list[Alternative],
    actions: dict[str, list[str]],
    families: set[str],
    settings: SemanticMatch = DEFAULT,
) -> dict[str, list[str]]:
    """Alternatives that carry out the same action get the same action. An alternative left
    unmatched, whose wording is parallel to a matched sibling's (similarity >= `parallel`) and
    whose own nearest action is one the sibling carries, takes that action. The margin refuses a
    match that is ambiguous between two actions; it is not meant to split one action done at two
    places, and a rule can only tell such alternatives apart by the place, which it does not read.
    Sharing never separates alternatives, it only stops an accidental separation."""
    out = {k: list(v) for k, v in actions.items()}
    for alt in alts:
        if out[alt.id]:
            continue
        ranked = ranked_actions(alt, families)
        if not ranked:
            continue
        nearest, vec = ranked[0][0], _phrase_vector(alternative_phrase(alt))
        for sib in alts:
            if sib.id == alt.id or nearest not in actions[sib.id]:
                continue
            if float(vec @ _phrase_vector(alternative_phrase(sib))) >= settings.parallel:
                out[alt.id] = [nearest]
                break
    return out
