"""`report.md`: the commander's first page in plain language, then the appendix with the
arithmetic (ranking, beliefs, combination rule, weights) and each expert's full assessment."""

from __future__ import annotations

from crisis_mas.report.brief import Brief, Item, build_brief
from crisis_mas.report.i18n import role_of, strings
from crisis_mas.report.model import Report


def _who(experts: list[str], lang: str) -> str:
    return ", ".join(role_of(e, lang) for e in experts)


def _item(item: Item, lang: str, label: str) -> str:
    src = f"; {item.source}" if item.source else ""
    return f"- {item.text} — *{label} {_who(item.experts, lang)}{src}*"


def first_page(b: Brief) -> list[str]:
    """The plain-language page: everything a commander needs before the appendix."""
    t = strings(b.lang)
    out = [f"# {b.title}", "", f"*{b.meta}*", ""]
    out += [f"> **{t['notice']}:** {n}" for n in b.notices]
    if b.notices:
        out.append("")
    out += [f"## {t['recommended']}", "", f"**{b.recommended_name}**"]
    if b.recommended_id:
        out[-1] += f" (`{b.recommended_id}`)"
    out += ["", f"**{t['why']}.** " + " ".join(b.why), ""]
    out += [f"**{t['confidence']}.** {b.confidence}", ""]
    out += [f"## {t['actions']}", ""]
    if not b.actions:
        out += [t["actions_none"], ""]
    for service, items in b.actions:
        out += [f"### {service}", ""] + [_item(i, b.lang, t["proposed_by"]) for i in items] + [""]
    out += [f"## {t['risks']}", ""]
    out += [_item(i, b.lang, t["raised_by"]) for i in b.risks] or [t["risks_none"]]
    out += ["", f"## {t['dissent']}", ""]
    out += [f"- {d}" for d in b.dissent] or [t["dissent_none"]]
    out += ["", f"## {t['unverified']}", ""]
    out += [f"- {u}" for u in b.unverified] or [t["unverified_none"]]
    out += ["", f"## {t['sources']}", ""]
    out += [
        f"{s.number}. {s.title} (`{s.doc_id}`) — {t['read_by']} {_who(s.experts, b.lang)}"
        for s in b.sources
    ] or [t["sources_none"]]
    return [*out, ""]


def appendix(r: Report, b: Brief) -> list[str]:
    """The arithmetic and each expert's assessment in full (experts without an answer: one
    line, no empty sections)."""
    t, d = strings(b.lang), r.decision
    out = ["---", "", f"# {t['appendix']}", "", f"## {t['ranking']}", ""]
    cols = ("col_rank", "col_alternative", "col_score", "col_belief", "col_topsis", "col_first")
    out += ["| " + " | ".join(t[c] for c in cols) + " |", "|---:|---|---:|---:|---:|---|"]
    for i, alt in enumerate(d.ranking, 1):
        out.append(
            f"| {i} | {alt.name} (`{alt.alternative_id}`) | {alt.score:.3f} | {alt.belief:.3f} "
            f"| {alt.topsis:.3f} | {', '.join(alt.first_choice_of) or '—'} |"
        )
    ids = [alt.alternative_id for alt in d.ranking]
    out += ["", f"## {t['beliefs']}", ""]
    out += ["| " + t["col_expert"] + " | " + t["col_status"] + " | " + " | ".join(ids) + " |"]
    out.append("|---|---|" + "---:|" * len(ids))
    for a in r.assessments:
        cells = [f"{100 * a.beliefs.get(i, 0.0):.1f}%" for i in ids]
        out.append(f"| {a.expert_id} | {t['status_' + a.status]} | " + " | ".join(cells) + " |")
    bw = belief_weight(r)
    out += ["", f"## {t['combination']}", ""]
    out.append(
        t["combination_text"].format(
            method=d.method, conflict=d.conflict_mass, consensus=d.consensus, bw=bw, tw=1 - bw
        )
    )
    out += [
        "",
        f"{t['criteria_weights']}: "
        + ", ".join(f"{c} {w:.2f}" for c, w in d.criteria_weights.items()),
    ]
    if d.conflicts:
        out += [
            "",
            f"{t['conflicts']}: "
            + "; ".join(
                f"{c.experts[0]} ({c.choices[0]}) / {c.experts[1]} ({c.choices[1]}) "
                f"{c.divergence:.3f}"
                for c in d.conflicts
            ),
        ]
    out += ["", f"### {t['weights']}", ""]
    out += [
        f"| {t['col_expert']} | {t['col_reliability']} | {t['col_relevance']} | "
        f"{t['col_weight']} | {t['col_note']} |",
        "|---|---:|---:|---:|---|",
    ]
    out += [
        f"| {w.expert_id} | {w.reliability:.2f} | {w.relevance:.2f} | {w.weight:.2f} | "
        f"{w.note or ''} |"
        for w in d.weights
    ]
    out += ["", f"## {t['assessments']}", ""]
    for a in b.shown:
        label = "" if a.status == "ok" else f" — {t['status_' + a.status]}"
        out += [f"### {role_of(a.expert_id, b.lang)} (`{a.expert_id}`){label}", ""]
        out.append(
            t["first_choice_line"].format(
                choice=f"`{a.recommended}`",
                confidence=a.confidence,
                prompt=a.tokens.prompt,
                completion=a.tokens.completion,
                seconds=a.latency_ms / 1000,
                cached=t["cached"] if a.cached else "",
            )
        )
        if a.rationale:
            out += ["", f"**{t['rationale']}.** {a.rationale}"]
        for key, items in (("concerns", a.key_concerns), ("immediate", a.immediate_actions)):
            if items:
                out += ["", f"**{t[key]}.**"] + [f"- {x}" for x in items]
        if a.flags:
            out += ["", f"**{t['flags']}.**"]
            out += [f"- {f.get('type')}: {f.get('reason', '')}" for f in a.flags]
        out.append("")
    if b.hidden:
        out += [t["not_shown"].format(experts=", ".join(b.hidden)), ""]
    out += [f"## {t['timings']}", ""] + [f"- {k}: {v:.0f} ms" for k, v in r.timings.items()]
    return [*out, "", f"*{t['generated_by']}*"]


def belief_weight(r: Report) -> float:
    """The belief share of the final score, recovered from the ranking (score = w * belief +
    (1 - w) * TOPSIS share); 0.5 when it cannot be recovered."""
    d = r.decision
    total = sum(a.topsis for a in d.ranking)
    for alt in d.ranking:
        share = alt.topsis / total if total else 0.0
        if abs(alt.belief - share) > 1e-6:
            return round((alt.score - share) / (alt.belief - share), 2)
    return 0.5


def to_markdown(r: Report, lang: str = "en") -> str:
    """The whole report as Markdown: first page, then the appendix."""
    b = build_brief(r, lang)
    return "\n".join(first_page(b) + appendix(r, b)) + "\n"
