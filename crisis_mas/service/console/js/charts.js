// SVG charts built from the report JSON: the ranking of the alternatives and each expert's
// beliefs as a 100% stacked bar (colours as in report.html: Okabe-Ito).

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function clip(text, n) {
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

export function rankingChart(ranking, width = 640) {
  const labelW = 270;
  const rowH = 30;
  const barW = width - labelW - 60;
  const peak = Math.max(...ranking.map((a) => a.score), 1e-9);
  const height = ranking.length * rowH + 8;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", class: "chart ranking-chart",
    "data-testid": "ranking-chart",
  });
  svg.append(s("title", {}, "Final score by alternative"));
  ranking.forEach((a, i) => {
    const y = 4 + i * rowH;
    const w = Math.max(1, (barW * a.score) / peak);
    const g = s("g", { class: "bar", "data-alternative": a.alternative_id });
    g.append(
      s("title", {}, `${a.name} (${a.alternative_id}): score ${a.score.toFixed(3)}, belief ${a.belief.toFixed(3)}, TOPSIS ${a.topsis.toFixed(3)}`),
      s("text", { x: labelW - 8, y: y + 16, "text-anchor": "end", "font-weight": i === 0 ? 600 : 400 }, clip(a.name, 32)),
      s("rect", { x: labelW, y: y + 3, width: w.toFixed(1), height: 18, rx: 3, fill: i === 0 ? PALETTE[0] : "#9aa5b1" }),
      s("text", { x: (labelW + w + 6).toFixed(1), y: y + 16 }, a.score.toFixed(3)),
    );
    svg.append(g);
  });
  return svg;
}

export function beliefBars(assessments, ranking, labels = {}, width = 640) {
  const ids = ranking.map((a) => a.alternative_id);
  const names = Object.fromEntries(ranking.map((a) => [a.alternative_id, a.name]));
  const colour = Object.fromEntries(ids.map((id, k) => [id, PALETTE[k % PALETTE.length]]));
  const rows = assessments.filter((a) => a.beliefs && Object.keys(a.beliefs).length);
  const labelW = 170;
  const rowH = 26;
  const barW = width - labelW - 8;
  const legendTop = rows.length * rowH + 10;
  const height = legendTop + Math.ceil(ids.length / 2) * 20 + 4;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", class: "chart belief-bars",
    "data-testid": "belief-bars",
  });
  svg.append(s("title", {}, "Each expert's belief over the alternatives"));
  rows.forEach((a, n) => {
    const y = 4 + n * rowH;
    const g = s("g", { class: "expert-beliefs", "data-expert": a.expert_id });
    g.append(s("text", { x: labelW - 8, y: y + 14, "text-anchor": "end", "font-style": a.status === "ok" ? "normal" : "italic" }, clip(labels[a.expert_id] || a.expert_id, 22)));
    let x = labelW;
    for (const id of ids) {
      const p = a.beliefs[id] || 0;
      const w = barW * p;
      const seg = s("g", {});
      seg.append(
        s("title", {}, `${a.expert_id}: ${names[id]} ${(100 * p).toFixed(1)}%`),
        s("rect", { x: x.toFixed(1), y, width: w.toFixed(1), height: 18, fill: colour[id] }),
      );
      if (w > 32) seg.append(s("text", { x: (x + w / 2).toFixed(1), y: y + 13, "text-anchor": "middle", fill: "#fff", "font-size": 11 }, `${Math.round(100 * p)}%`));
      g.append(seg);
      x += w;
    }
    svg.append(g);
  });
  ids.forEach((id, k) => {
    const lx = 8 + (k % 2) * (width / 2);
    const ly = legendTop + Math.floor(k / 2) * 20;
    svg.append(
      s("rect", { x: lx, y: ly, width: 12, height: 12, fill: colour[id] }),
      s("text", { x: lx + 18, y: ly + 11, "font-size": 12 }, clip(names[id], 40)),
    );
  });
  return svg;
}
