"""Inline SVG charts for `report.html` (no scripts, no network): the ranking of the
alternatives and each expert's beliefs as a 100% stacked bar."""

from __future__ import annotations

from html import escape

from crisis_mas.report.model import Report

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
FONT = "font-family='system-ui, sans-serif' font-size='13'"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def ranking_svg(r: Report, title: str, width: int = 720) -> str:
    """One bar per alternative, longest = highest final score; the recommended one in colour.
    Under each bar, thin bars show its belief and TOPSIS shares."""
    ranking = r.decision.ranking
    if not ranking:
        return ""
    label_w, row_h, top = 280, 40, 8
    bar_w = width - label_w - 70
    peak = max(a.score for a in ranking) or 1.0
    total_topsis = sum(a.topsis for a in ranking) or 1.0
    peak_b = max(max(a.belief for a in ranking), max(a.topsis / total_topsis for a in ranking))
    rows = []
    for i, a in enumerate(ranking):
        y = top + i * row_h
        colour = PALETTE[0] if i == 0 else "#9aa5b1"
        w = max(1.0, bar_w * a.score / peak)
        wb = max(1.0, bar_w * a.belief / (peak_b or 1.0))
        wt = max(1.0, bar_w * (a.topsis / total_topsis) / (peak_b or 1.0))
        weight = " font-weight='600'" if i == 0 else ""
        rows.append(
            f"<g><title>{escape(a.name)} ({escape(a.alternative_id)}): score {a.score:.3f}, "
            f"belief {a.belief:.3f}, TOPSIS {a.topsis:.3f}</title>"
            f"<text x='{label_w - 8}' y='{y + 16}' text-anchor='end'{weight}>"
            f"{escape(_clip(a.name, 38))}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='18' rx='3' "
            f"fill='{colour}'/>"
            f"<rect x='{label_w}' y='{y + 24}' width='{wb:.1f}' height='4' fill='#56B4E9'/>"
            f"<rect x='{label_w}' y='{y + 30}' width='{wt:.1f}' height='4' fill='#E69F00'/>"
            f"<text x='{label_w + w + 6:.1f}' y='{y + 16}'>{a.score:.3f}</text></g>"
        )
    height = top + len(ranking) * row_h + 26
    legend_y = height - 10
    legend = (
        f"<rect x='{label_w}' y='{legend_y - 8}' width='12' height='4' fill='#56B4E9'/>"
        f"<text x='{label_w + 16}' y='{legend_y - 3}' font-size='11'>belief</text>"
        f"<rect x='{label_w + 70}' y='{legend_y - 8}' width='12' height='4' fill='#E69F00'/>"
        f"<text x='{label_w + 86}' y='{legend_y - 3}' font-size='11'>TOPSIS share</text>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' viewBox='0 0 {width} {height}' "
        f"width='100%' style='max-width:{width}px' {FONT} class='chart chart-ranking'>"
        f"<title>{escape(title)}</title>{''.join(rows)}{legend}</svg>"
    )


def beliefs_svg(r: Report, labels: dict[str, str], title: str, width: int = 720) -> str:
    """One 100% stacked bar per expert, a segment per alternative (colours as in the legend)."""
    ids = [a.alternative_id for a in r.decision.ranking]
    names = {a.alternative_id: a.name for a in r.decision.ranking}
    experts = [a for a in r.assessments if a.beliefs]
    if not ids or not experts:
        return ""
    colour = {i: PALETTE[k % len(PALETTE)] for k, i in enumerate(ids)}
    label_w, row_h, top = 200, 28, 6
    bar_w = width - label_w - 10
    rows = []
    for n, a in enumerate(experts):
        y = top + n * row_h
        x = float(label_w)
        style = "" if a.status == "ok" else " font-style='italic' fill='#6b7280'"
        rows.append(
            f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end'{style}>"
            f"{escape(_clip(labels.get(a.expert_id, a.expert_id), 26))}</text>"
        )
        for i in ids:
            p = a.beliefs.get(i, 0.0)
            w = bar_w * p
            text = (
                f"<text x='{x + w / 2:.1f}' y='{y + 15}' text-anchor='middle' fill='#fff' "
                f"font-size='11'>{100 * p:.0f}%</text>"
                if w > 34
                else ""
            )
            rows.append(
                f"<g><title>{escape(a.expert_id)}: {escape(names[i])} {100 * p:.1f}%</title>"
                f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='20' fill='{colour[i]}'/>"
                f"{text}</g>"
            )
            x += w
    legend_top = top + len(experts) * row_h + 8
    legend = []
    for k, i in enumerate(ids):
        col, row = k % 2, k // 2
        lx, ly = 10 + col * (width // 2), legend_top + row * 20
        legend.append(
            f"<rect x='{lx}' y='{ly}' width='12' height='12' fill='{colour[i]}'/>"
            f"<text x='{lx + 18}' y='{ly + 11}' font-size='12'>{escape(_clip(names[i], 44))}</text>"
        )
    height = legend_top + ((len(ids) + 1) // 2) * 20 + 6
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' viewBox='0 0 {width} {height}' "
        f"width='100%' style='max-width:{width}px' {FONT} class='chart chart-beliefs'>"
        f"<title>{escape(title)}</title>{''.join(rows)}{''.join(legend)}</svg>"
    )
