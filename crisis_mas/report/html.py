"""`report.html`: the same report as `report.md`, as one self-contained page (inline CSS and SVG
charts, no scripts, nothing fetched), laid out so the first screen answers "what do we do, why,
how sure, who does what"."""

from __future__ import annotations

from html import escape

from crisis_mas.report.brief import Brief, Item, build_brief
from crisis_mas.report.charts import beliefs_svg, ranking_svg
from crisis_mas.report.i18n import role_of, short_of, strings
from crisis_mas.report.markdown import belief_weight
from crisis_mas.report.model import Report

CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;
margin:0;background:#f5f7fa}
main{max-width:1100px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}
h3{font-size:15px;margin:14px 0 6px}
.meta{color:#616e7c;font-size:13px;margin:0 0 12px}
.notice{background:#fff4e5;border:1px solid #f0b429;border-radius:6px;padding:8px 12px;
margin:10px 0}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:14px 18px;margin:12px 0}
.card h2{margin-top:0}
.decision{border-left:6px solid #0072B2}
.decision .name{font-size:24px;font-weight:700;margin:2px 0 6px}
.decision .id{color:#616e7c;font-size:12px;font-family:ui-monospace,monospace}
.badge{display:inline-block;border-radius:12px;padding:1px 10px;font-weight:600;font-size:13px}
.badge.high{background:#e3f9e5;color:#05400a}.badge.moderate{background:#fff3c4;color:#513c06}
.badge.low{background:#ffe3e3;color:#610404}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 18px}
@media (max-width:820px){.grid{grid-template-columns:1fr}}
ul{margin:4px 0 8px;padding-left:20px}li{margin:2px 0}
.who{color:#616e7c;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.appendix{margin-top:28px;border-top:2px solid #cbd2d9}
.fallback{color:#616e7c;font-style:italic}
footer{color:#616e7c;font-size:12px;margin-top:24px}
"""


def _who(experts: list[str], lang: str) -> str:
    return ", ".join(role_of(e, lang) for e in experts)


def _items(items: list[Item], lang: str, label: str) -> str:
    lis = []
    for i in items:
        src = f"; {escape(i.source)}" if i.source else ""
        lis.append(
            f"<li>{escape(i.text)} <span class='who'>— {escape(label)} "
            f"{escape(_who(i.experts, lang))}{src}</span></li>"
        )
    return "<ul>" + "".join(lis) + "</ul>"


def _list(lines: list[str], empty: str) -> str:
    if not lines:
        return f"<p>{escape(empty)}</p>"
    return "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>"


def first_page(r: Report, b: Brief) -> str:
    t = strings(b.lang)
    parts = [f"<h1>{escape(b.title)}</h1><p class='meta'>{escape(b.meta)}</p>"]
    parts += [
        f"<div class='notice' role='note'><strong>{escape(t['notice'])}:</strong> {escape(n)}</div>"
        for n in b.notices
    ]
    rid = f"<div class='id'>{escape(b.recommended_id)}</div>" if b.recommended_id else ""
    parts.append(
        f"<section class='card decision' id='recommendation'><h2>{escape(t['recommended'])}</h2>"
        f"<div class='name'>{escape(b.recommended_name)}</div>{rid}"
        f"<p><strong>{escape(t['why'])}.</strong> {escape(' '.join(b.why))}</p>"
        f"<p><strong>{escape(t['confidence'])}:</strong> "
        f"<span class='badge {b.confidence_level}'>{escape(b.confidence.split(':')[0])}</span> — "
        f"{escape(b.confidence.partition(':')[2].strip())}</p></section>"
    )
    actions = (
        "".join(
            f"<h3>{escape(service)}</h3>{_items(items, b.lang, t['proposed_by'])}"
            for service, items in b.actions
        )
        or f"<p>{escape(t['actions_none'])}</p>"
    )
    risks = (
        _items(b.risks, b.lang, t["raised_by"]) if b.risks else f"<p>{escape(t['risks_none'])}</p>"
    )
    parts.append(
        "<div class='grid'>"
        f"<section class='card' id='actions'><h2>{escape(t['actions'])}</h2>{actions}</section>"
        f"<div><section class='card' id='risks'><h2>{escape(t['risks'])}</h2>{risks}</section>"
        f"<section class='card' id='dissent'><h2>{escape(t['dissent'])}</h2>"
        f"{_list(b.dissent, t['dissent_none'])}</section>"
        f"<section class='card' id='unverified'><h2>{escape(t['unverified'])}</h2>"
        f"{_list(b.unverified, t['unverified_none'])}</section></div></div>"
    )
    parts.append(
        f"<section class='card' id='ranking'><h2>{escape(t['ranking'])}</h2>"
        f"{ranking_svg(r, t['chart_ranking'])}</section>"
    )
    sources = "".join(
        f"<li>{escape(s.title)} <code>{escape(s.doc_id)}</code> <span class='who'>— "
        f"{escape(t['read_by'])} {escape(_who(s.experts, b.lang))}</span></li>"
        for s in b.sources
    )
    parts.append(
        f"<section class='card' id='sources'><h2>{escape(t['sources'])}</h2>"
        + (f"<ol>{sources}</ol>" if sources else f"<p>{escape(t['sources_none'])}</p>")
        + "</section>"
    )
    return "".join(parts)


def _table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    def cell(tag: str, i: int, v: str) -> str:
        cls = " class='num'" if i in numeric else ""
        return f"<{tag}{cls}>{escape(v)}</{tag}>"

    h = "".join(cell("th", i, v) for i, v in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def appendix(r: Report, b: Brief) -> str:
    t, d = strings(b.lang), r.decision
    out = [f"<section class='appendix' id='appendix'><h1>{escape(t['appendix'])}</h1>"]
    head = [t[c] for c in ("col_rank", "col_alternative", "col_score", "col_belief")]
    head += [t["col_topsis"], t["col_first"]]
    rows = [
        [
            str(i),
            f"{a.name} ({a.alternative_id})",
            f"{a.score:.3f}",
            f"{a.belief:.3f}",
            f"{a.topsis:.3f}",
            ", ".join(a.first_choice_of) or "—",
        ]
        for i, a in enumerate(d.ranking, 1)
    ]
    out.append(f"<h2>{escape(t['ranking'])}</h2>{_table(head, rows, {0, 2, 3, 4})}")
    labels = {a.expert_id: short_of(a.expert_id, b.lang) for a in r.assessments}
    out.append(f"<h2>{escape(t['beliefs'])}</h2>{beliefs_svg(r, labels, t['chart_beliefs'])}")
    bw = belief_weight(r)
    out.append(
        f"<h2>{escape(t['combination'])}</h2><p>"
        + escape(
            t["combination_text"].format(
                method=d.method, conflict=d.conflict_mass, consensus=d.consensus, bw=bw, tw=1 - bw
            )
        )
        + "</p><p>"
        + escape(
            f"{t['criteria_weights']}: "
            + ", ".join(f"{c} {w:.2f}" for c, w in d.criteria_weights.items())
        )
        + "</p>"
    )
    if d.conflicts:
        rows = [
            [
                f"{c.experts[0]} ({c.choices[0]})",
                f"{c.experts[1]} ({c.choices[1]})",
                f"{c.divergence:.3f}",
            ]
            for c in d.conflicts
        ]
        out.append(f"<h3>{escape(t['conflicts'])}</h3>{_table(['', '', 'JSD'], rows, {2})}")
    head = [t["col_expert"], t["col_reliability"], t["col_relevance"], t["col_weight"]]
    rows = [
        [w.expert_id, f"{w.reliability:.2f}", f"{w.relevance:.2f}", f"{w.weight:.2f}", w.note or ""]
        for w in d.weights
    ]
    out.append(f"<h3>{escape(t['weights'])}</h3>{_table([*head, t['col_note']], rows, {1, 2, 3})}")
    out.append(f"<h2>{escape(t['assessments'])}</h2>")
    for a in b.shown:
        label = "" if a.status == "ok" else f" — {t['status_' + a.status]}"
        line = t["first_choice_line"].format(
            choice=a.recommended,
            confidence=a.confidence,
            prompt=a.tokens.prompt,
            completion=a.tokens.completion,
            seconds=a.latency_ms / 1000,
            cached=t["cached"] if a.cached else "",
        )
        body = [
            f"<h3 id='expert-{escape(a.expert_id)}'>{escape(role_of(a.expert_id, b.lang))} "
            f"<code>{escape(a.expert_id)}</code>{escape(label)}</h3><p>{escape(line)}</p>"
        ]
        if a.rationale:
            body.append(f"<p><strong>{escape(t['rationale'])}.</strong> {escape(a.rationale)}</p>")
        for key, items in (("concerns", a.key_concerns), ("immediate", a.immediate_actions)):
            if items:
                body.append(f"<strong>{escape(t[key])}</strong>{_list(items, '')}")
        if a.flags:
            flags = [f"{f.get('type')}: {f.get('reason', '')}" for f in a.flags]
            body.append(f"<strong>{escape(t['flags'])}</strong>{_list(flags, '')}")
        out.append("".join(body))
    if b.hidden:
        out.append(
            f"<p class='fallback'>{escape(t['not_shown'].format(experts=', '.join(b.hidden)))}</p>"
        )
    timings = [f"{k}: {v:.0f} ms" for k, v in r.timings.items()]
    out.append(f"<h2>{escape(t['timings'])}</h2>{_list(timings, '')}</section>")
    return "".join(out)


def to_html(r: Report, lang: str = "en") -> str:
    """The whole report as one HTML page: first page, then the appendix."""
    b = build_brief(r, lang)
    t = strings(lang)
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(b.title)}</title><style>{CSS}</style></head><body><main>"
        f"{first_page(r, b)}{appendix(r, b)}"
        f"<footer>{escape(t['generated_by'])}</footer></main></body></html>\n"
    )
