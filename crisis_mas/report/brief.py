"""The commander's brief: what the first page of a report says, in plain language, computed once
from a `Report` for every renderer (Markdown, HTML, the console).

The recommended action by its name, why (two sentences), confidence in words, one merged action
list grouped by the service that owns each action (with who proposed it), key risks, dissent,
and what the system could not verify (fallback and failed experts, guard / HAZMAT / grounding
flags, warnings, notices). Sources are listed once each. The arithmetic stays in the appendix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crisis_mas.experts.assessment import Assessment
from crisis_mas.report.i18n import role_of, service_of, short_of, strings
from crisis_mas.report.model import Report

FlagKind = str  # "guard" | "hazmat" | "grounding"


@dataclass
class Item:
    """One line of a merged list (an action, a risk) and the experts who gave it."""

    text: str
    experts: list[str] = field(default_factory=list)
    source: str | None = None  # a catalogue action's doctrine source, when it has one


@dataclass
class Source:
    """A knowledge-base document cited by the experts, listed once."""

    number: int
    doc_id: str
    title: str
    chunks: list[str]
    experts: list[str]


@dataclass
class Brief:
    lang: str
    title: str
    meta: str
    notices: list[str]
    recommended_id: str | None
    recommended_name: str
    why: list[str]
    confidence_level: str  # high | moderate | low
    confidence: str
    actions: list[tuple[str, list[Item]]]  # (service, its actions)
    risks: list[Item]
    dissent: list[str]
    unverified: list[str]
    sources: list[Source]
    shown: list[Assessment]  # assessments with something to show (appendix detail)
    hidden: list[str]  # experts without a usable answer


_KEY = re.compile(r"[^\w]+", re.UNICODE)


def _norm(text: str) -> str:
    return _KEY.sub(" ", text.casefold()).strip()


def first_sentence(text: str, limit: int = 220) -> str:
    """The first sentence of a free text, cut at `limit` characters."""
    text = " ".join(text.split())
    m = re.search(r"(?<=[.!;·])\s", text)
    out = text[: m.start()] if m else text
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def flag_kind(flag: dict[str, Any]) -> FlagKind:
    """Which check raised a flag: the HAZMAT tables, grounding (citations/passages), or the
    safety guard (injection, PII, unsafe advice, markup...)."""
    kind = str(flag.get("type", "")).lower()
    if "hazmat" in kind:
        return "hazmat"
    if any(w in kind for w in ("ground", "citation", "cite", "unsupported", "source")):
        return "grounding"
    return "guard"


def usable(a: Assessment) -> bool:
    """An assessment with model content to show (a fallback may still carry a parsed answer)."""
    return a.status != "failed" and bool(a.rationale or a.immediate_actions or a.key_concerns)


def _merge(pairs: list[tuple[str, str, str | None]]) -> list[Item]:
    """(text, expert, source) -> items, same text (case/punctuation folded) merged; the most
    shared first, then each expert's first item before anyone's second."""
    items: dict[str, Item] = {}
    rank: dict[str, int] = {}
    position: dict[str, int] = {}
    for text, expert, source in pairs:
        key = _norm(text)
        if not key:
            continue
        position[expert] = position.get(expert, -1) + 1
        item = items.setdefault(key, Item(text=text.strip(), source=source))
        rank[key] = min(rank.get(key, position[expert]), position[expert])
        if expert not in item.experts:
            item.experts.append(expert)
    order = sorted(items, key=lambda k: (-len(items[k].experts), rank[k]))
    return [items[k] for k in order]


def _catalogue_actions(a: Assessment) -> list[tuple[str, str | None, str | None]]:
    """(text, owner service, source) of an assessment's catalogue actions, if it has any."""
    out = []
    for act in getattr(a, "actions", None) or []:
        get = act.get if isinstance(act, dict) else lambda k, o=act: getattr(o, k, None)
        text = get("text") or get("name") or get("title")
        if text:
            owner = get("owner") or get("service") or get("owner_service")
            out.append((str(text), owner and str(owner), get("source") and str(get("source"))))
    return out


def _summary(r: Report, name: str) -> list[tuple[str, str]] | None:
    """(text, expert) of the report's grounded summary items (`summary.actions` or
    `.concerns`), or None when the report carries no summary (older reports): then each
    expert's own lists are used."""
    summary = getattr(r, "summary", None)
    items = getattr(summary, name, None) or []
    if not items and not getattr(summary, "withheld", 0):
        return None
    return [(i.text, i.expert_id) for i in items]


def _actions(r: Report, shown: list[Assessment], lang: str) -> list[tuple[str, list[Item]]]:
    by_service: dict[str, list[tuple[str, str, str | None]]] = {}
    grounded = _summary(r, "actions")
    if grounded is not None and not any(_catalogue_actions(a) for a in shown):
        for text, expert in grounded:
            by_service.setdefault(service_of(expert, lang), []).append((text, expert, None))
        return [(service, _merge(pairs)) for service, pairs in by_service.items()]
    for a in shown:
        catalogue = _catalogue_actions(a)
        if catalogue:
            for text, owner, source in catalogue:
                service = owner or service_of(a.expert_id, lang)
                by_service.setdefault(service, []).append((text, a.expert_id, source))
            continue
        service = service_of(a.expert_id, lang)
        for text in a.immediate_actions:
            by_service.setdefault(service, []).append((text, a.expert_id, None))
    return [(service, _merge(pairs)) for service, pairs in by_service.items()]


def _confidence(r: Report, t: dict[str, str]) -> tuple[str, str]:
    d = r.decision
    answered = [a for a in r.assessments if a.status == "ok"]
    n, missing = len(r.assessments), len(r.assessments) - len(answered)
    if not d.ranking:
        return "low", t["conf_low"].format(reason=t["conf_reason_split"])
    top = d.ranking[0].score
    lead = (top - d.ranking[1].score) / top if len(d.ranking) > 1 and top > 0 else 1.0
    sharp = sum(a.confidence for a in answered) / len(answered) if answered else 0.0
    reasons = []
    if d.consensus < 0.6:
        reasons.append(t["conf_reason_split"])
    if lead < 0.15:
        reasons.append(t["conf_reason_close"])
    if sharp < 0.15:
        reasons.append(t["conf_reason_flat"])
    if missing:
        reasons.append(t["conf_reason_missing"].format(k=missing, n=n))
    low = lead < 0.05 or d.consensus < 0.4 or sharp < 0.1 or missing * 2 >= n
    if not reasons:
        return "high", t["conf_high"]
    level = "low" if low else "moderate"
    return level, t[f"conf_{level}"].format(reason=t["sep"].join(reasons))


def _why(r: Report, shown: list[Assessment], lang: str, t: dict[str, str]) -> list[str]:
    d = r.decision
    top = d.ranking[0]
    roles = {a.expert_id: role_of(a.expert_id, lang) for a in r.assessments}
    n = len(r.assessments)
    second = d.ranking[1].name if len(d.ranking) > 1 else ""
    if d.overrides_unanimous:
        unanimous = next((x.name for x in d.ranking if len(x.first_choice_of) == n), "")
        first = t["why_override"].format(unanimous=unanimous)
    elif top.first_choice_of:
        backers = ", ".join(short_of(e, lang) for e in top.first_choice_of)
        key = "why_backed" if second else "why_backed_alone"
        first = t[key].format(backers=backers, k=len(top.first_choice_of), n=n, second=second)
    else:
        first = t["why_unbacked"].format(second=second)
    weights = {w.expert_id: w.weight for w in d.weights}
    backers = sorted(
        (a for a in shown if a.expert_id in top.first_choice_of and a.rationale),
        key=lambda a: -weights.get(a.expert_id, 0.0),
    )
    if backers:
        a = backers[0]
        second_sentence = t["why_reason"].format(
            who=roles[a.expert_id], text=first_sentence(a.rationale)
        )
    else:
        concerns = [c for a in shown for c in a.key_concerns]
        second_sentence = t["why_concern"].format(text=concerns[0]) if concerns else ""
    return [s for s in (first, second_sentence) if s]


def _dissent(r: Report, lang: str, t: dict[str, str]) -> list[str]:
    d = r.decision
    names = {x.alternative_id: x.name for x in d.ranking}
    out = []
    for a in r.assessments:
        if a.status != "ok" or not a.recommended or a.recommended == d.recommended:
            continue
        line = t["prefers"].format(
            who=role_of(a.expert_id, lang), choice=names.get(a.recommended, a.recommended)
        )
        out.append(line + (f": {first_sentence(a.rationale)}" if a.rationale else "."))
    for c in d.conflicts:
        out.append(
            t["disagree_pair"].format(
                a=role_of(c.experts[0], lang),
                b=role_of(c.experts[1], lang),
                ca=names.get(c.choices[0], c.choices[0]),
                cb=names.get(c.choices[1], c.choices[1]),
            )
        )
    return out


def _unverified(r: Report, lang: str, t: dict[str, str]) -> list[str]:
    kinds = {"guard": t["flag_guard"], "hazmat": t["flag_hazmat"], "grounding": t["flag_grounding"]}
    out = []
    for a in r.assessments:
        who = role_of(a.expert_id, lang)
        if a.status == "fallback":
            reason = (a.fallback_reason or "").split(";")[0]
            out.append(t["fallback_line"].format(who=who, reason=reason))
        elif a.status == "failed":
            out.append(t["failed_line"].format(who=who, reason=first_sentence(a.error or "")))
        groups: dict[tuple[str, str], list[str]] = {}
        for f in a.flags:
            reason = str(f.get("reason") or f.get("type", ""))
            found = groups.setdefault((flag_kind(f), str(f.get("type", ""))), [])
            # Several flags of one type: name their items ('nine', 'Rouses'), not every reason.
            label = f"'{f['item']}'" if f.get("item") and len(a.flags) > 1 else reason
            if label not in found:
                found.append(label)
        for (kind, type_), reasons in groups.items():
            if len(reasons) == 1:
                out.append(t["flag_line"].format(who=who, kind=kinds[kind], reason=reasons[0]))
            else:  # one line per check and flag type, with a few examples
                sep = ", " if all(r.startswith("'") for r in reasons) else t["sep"]
                examples = sep.join(reasons[:6]) + ("…" if len(reasons) > 6 else "")
                out.append(
                    t["flag_many"].format(
                        who=who, kind=kinds[kind], n=len(reasons), type=type_, examples=examples
                    )
                )
    withheld = getattr(getattr(r, "summary", None), "withheld", 0)
    if withheld:
        out.append(t["withheld_line"].format(n=withheld))
    out += [t["warning_line"].format(text=w) for w in r.warnings]
    return out


def _sources(r: Report, shown: list[Assessment]) -> list[Source]:
    docs: dict[str, Source] = {}
    for c in getattr(r, "sources", None) or []:  # the report's own list, once each, in order
        docs.setdefault(c.doc_id, Source(len(docs) + 1, c.doc_id, c.title, [], []))
    for a in shown:
        for c in a.citations:
            s = docs.setdefault(c.doc_id, Source(len(docs) + 1, c.doc_id, c.title, [], []))
            if c.chunk_id not in s.chunks:
                s.chunks.append(c.chunk_id)
            if a.expert_id not in s.experts:
                s.experts.append(a.expert_id)
    return list(docs.values())


def notices(r: Report, t: dict[str, str]) -> list[str]:
    """Run-level notices: those the report carries (status, demonstration model), else one
    for the embedded demonstration model."""
    out: list[str] = []
    for name in ("notices", "notice"):
        value = getattr(r, name, None)
        if isinstance(value, str) and value:
            out.append(value)
        elif isinstance(value, list):
            out += [str(getattr(v, "message", v)) for v in value if v]
    status = getattr(r, "status", None)
    if status in ("degraded", "failed"):
        reason = getattr(r, "status_reason", None) or ""
        out.insert(0, t[f"status_{status}_run"].format(reason=reason).rstrip(": "))
    if not getattr(r, "notice", None) and r.model.base.startswith("embedded:"):
        out.append(t["demo_model"])
    return out


def build_brief(r: Report, lang: str = "en") -> Brief:
    t = strings(lang)
    shown = [a for a in r.assessments if usable(a)]
    hidden = [role_of(a.expert_id, lang) for a in r.assessments if not usable(a)]
    d = r.decision
    top = d.ranking[0] if d.ranking else None
    level, conf = _confidence(r, t)
    concerns = _summary(r, "concerns")
    if concerns is None:
        concerns = [(c, a.expert_id) for a in shown for c in a.key_concerns]
    pairs = [(c, e, None) for c, e in concerns]
    return Brief(
        lang=lang,
        title=t["title"].format(scenario=r.scenario_name),
        meta=t["meta"].format(
            run_id=r.run_id,
            created=r.created_at[:16].replace("T", " "),
            scenario_id=r.scenario_id,
            type=r.scenario_type,
            model=r.model.base,
        ),
        notices=notices(r, t),
        recommended_id=d.recommended,
        recommended_name=top.name if top else t["no_recommendation"],
        why=_why(r, shown, lang, t) if top else [],
        confidence_level=level,
        confidence=conf,
        actions=_actions(r, shown, lang),
        risks=_merge(pairs)[:6],
        dissent=_dissent(r, lang, t),
        unverified=_unverified(r, lang, t),
        sources=_sources(r, shown),
        shown=shown,
        hidden=hidden,
    )
