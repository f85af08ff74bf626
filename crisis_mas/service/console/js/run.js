// One run: the decision in plain words (the report's brief), the ranking chart and each
// expert's belief bars, dissent and conflicts, every assessment with its flags and citations
// (a citation opens the cited passage), the report files, and the operator's feedback.

import { get, getText, post } from "./api.js";
import { beliefBars, rankingChart } from "./charts.js";
import { card, errorBox, flagChip, h, pct, table, when } from "./ui.js";

export async function loadRun(runId, lang = "en") {
  const [report, brief] = await Promise.all([
    get(`/v1/runs/${encodeURIComponent(runId)}`),
    get(`/v1/runs/${encodeURIComponent(runId)}/brief?lang=${lang}`),
  ]);
  return { report, brief };
}

export async function showPassage(citation) {
  const dlg = document.getElementById("passage");
  document.getElementById("passage-title").textContent = citation.title;
  document.getElementById("passage-id").textContent = citation.chunk_id;
  document.getElementById("passage-heading").textContent = "";
  document.getElementById("passage-text").textContent = "loading…";
  document.getElementById("passage-source").textContent = "";
  dlg.showModal();
  try {
    const p = await get(`/v1/passages/${encodeURIComponent(citation.chunk_id)}`);
    document.getElementById("passage-heading").textContent = p.heading || "";
    document.getElementById("passage-text").textContent = p.text;
    document.getElementById("passage-source").textContent = p.source ? `source: ${p.source}` : "";
  } catch (err) {
    document.getElementById("passage-text").textContent = err.message;
  }
}

function roleOf(brief, expertId) {
  return (brief.roles && brief.roles[expertId]) || expertId;
}

function decisionCard(report, brief) {
  const conf = brief.confidence.split(":");
  return h(
    "section",
    { class: "card decision", "data-testid": "decision" },
    h("h2", {}, "Recommended action"),
    h("div", { class: "rec-name", "data-testid": "recommended" }, brief.recommended_name),
    h("div", { class: "muted mono" }, brief.recommended_id || ""),
    h("p", {}, h("strong", {}, "Why. "), brief.why.join(" ")),
    h("p", {}, h("strong", {}, "Confidence: "),
      h("span", { class: `badge ${brief.confidence_level}` }, conf[0]), " ", conf.slice(1).join(":").trim()),
    brief.notices.map((n) => h("div", { class: "notice" }, n)),
    h("p", { class: "muted" }, brief.meta),
  );
}

function chartsCard(report) {
  const labels = Object.fromEntries(report.assessments.map((a) => [a.expert_id, a.expert_id]));
  const d = report.decision;
  if (!d.ranking.length) return card("Ranking and beliefs", h("p", {}, "No alternative could be ranked (no expert answered)."));
  return card(
    "Ranking and beliefs",
    rankingChart(d.ranking),
    h("h3", {}, "Each expert's beliefs"),
    beliefBars(report.assessments, d.ranking, labels),
    h("p", { class: "muted" },
      `Consensus ${d.consensus.toFixed(2)} · conflict mass ${d.conflict_mass.toFixed(2)} · ${d.method} rule`),
  );
}

function dissentCard(report, brief) {
  const d = report.decision;
  const conflicts = d.conflicts.map((c) =>
    h("li", {}, `${c.experts[0]} (${c.choices[0]}) vs ${c.experts[1]} (${c.choices[1]}): divergence ${c.divergence.toFixed(3)}`));
  return h(
    "section",
    { class: "card", "data-testid": "dissent" },
    h("h2", {}, "Dissent and conflicts"),
    brief.dissent.length ? h("ul", {}, brief.dissent.map((x) => h("li", {}, x)))
      : h("p", {}, "None: every expert who answered put the recommended action first."),
    conflicts.length ? h("ul", { class: "conflicts" }, conflicts) : null,
  );
}

function briefCard(brief) {
  const actions = brief.actions.map(([service, items]) => [
    h("h3", {}, service),
    h("ul", {}, items.map((i) => h("li", {}, i.text, h("span", { class: "muted" }, ` — ${i.experts.join(", ")}`)))),
  ]);
  return h(
    "div",
    { class: "grid2" },
    card("Actions by service", actions.length ? actions : h("p", {}, "No usable actions.")),
    h("div", {},
      card("Key risks", h("ul", {}, brief.risks.map((i) => h("li", {}, i.text, h("span", { class: "muted" }, ` — ${i.experts.join(", ")}`))))),
      h("section", { class: "card", "data-testid": "unverified" }, h("h2", {}, "What the system could not verify"),
        brief.unverified.length ? h("ul", {}, brief.unverified.map((x) => h("li", {}, x))) : h("p", {}, "Nothing flagged."))),
  );
}

// Each cited document once, with one link per cited passage (it opens the passage's text).
function citations(list) {
  const docs = new Map();
  for (const c of list) {
    if (!docs.has(c.doc_id)) docs.set(c.doc_id, { title: c.title, chunks: [] });
    docs.get(c.doc_id).chunks.push(c);
  }
  return h("div", { class: "citations", "data-testid": "citations" }, h("strong", {}, "Sources"),
    h("ul", {}, [...docs.values()].map((d) => h("li", {}, d.title, " ",
      d.chunks.map((c) => h("button", {
        class: "link citation", type: "button", "data-chunk": c.chunk_id, title: c.chunk_id,
        onclick: () => showPassage(c),
      }, `passage ${c.chunk_id.split("#").pop()}`))))));
}

export function assessmentCard(a) {
  const flags = a.flags || [];
  return h(
    "article",
    { class: `card assessment status-${a.status}`, "data-testid": "assessment", "data-expert": a.expert_id },
    h("h3", {}, a.expert_name, " ", h("code", {}, a.expert_id), " ",
      h("span", { class: `badge st-${a.status}` }, a.status)),
    h("p", { class: "muted" },
      `first choice ${a.recommended || "—"} · confidence ${a.confidence.toFixed(2)} · adapter ${a.adapter || "none"} · ${a.tokens.prompt}+${a.tokens.completion} tokens`),
    flags.length || a.hazmat_requeried
      ? h("div", { class: "flags", "data-testid": "flags" }, flags.map(flagChip),
          a.hazmat_requeried ? h("span", { class: "chip flag-hazmat" }, "HAZMAT: re-asked with the correction") : null)
      : null,
    a.fallback_reason ? h("p", { class: "fallback" }, a.fallback_reason) : null,
    a.error ? h("p", { class: "error" }, a.error) : null,
    a.rationale ? h("p", {}, h("strong", {}, "Rationale. "), a.rationale) : null,
    a.key_concerns.length ? [h("strong", {}, "Key concerns"), h("ul", {}, a.key_concerns.map((c) => h("li", {}, c)))] : null,
    a.immediate_actions.length ? [h("strong", {}, "Immediate actions"), h("ul", {}, a.immediate_actions.map((c) => h("li", {}, c)))] : null,
    a.citations.length ? citations(a.citations) : null,
  );
}

function feedbackCard(report) {
  const status = h("span", { class: "muted", "data-testid": "feedback-status" });
  const outcome = h("select", { name: "outcome", "data-testid": "feedback-outcome" },
    report.decision.ranking.map((a) => h("option", { value: a.alternative_id }, a.name)));
  const rating = h("select", { name: "rating" }, [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, String(n))));
  const note = h("input", { name: "note", placeholder: "note (optional)", maxlength: 500 });
  const form = h("form", {
    class: "row", "data-testid": "feedback-form",
    onsubmit: async (ev) => {
      ev.preventDefault();
      status.textContent = "saving…";
      try {
        const body = { outcome: outcome.value, rating: Number(rating.value) };
        if (note.value) body.note = note.value;
        const fb = await post(`/v1/runs/${encodeURIComponent(report.run_id)}/feedback`, body);
        status.textContent = `recorded: ${fb.outcome} (rating ${fb.rating ?? "—"})`;
      } catch (err) {
        status.textContent = `not recorded: ${err.message}`;
      }
    },
  }, h("label", {}, "What was done: ", outcome), h("label", {}, "rating ", rating), note,
  h("button", { type: "submit" }, "Record feedback"), status);
  return card("Operator feedback", h("p", { class: "muted" }, "What the incident commander actually did; it drives each expert's learned reliability."), form);
}

function filesCard(report) {
  const open = async (format, lang) => {
    const text = await getText(`/v1/runs/${encodeURIComponent(report.run_id)}/report?format=${format}&lang=${lang}`);
    const type = format === "html" ? "text/html" : "text/markdown";
    window.open(URL.createObjectURL(new Blob([text], { type })), "_blank");
  };
  return card("Report",
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => open("html", "en") }, "report.html"),
      h("button", { type: "button", onclick: () => open("html", "el") }, "report.html (Ελληνικά)"),
      h("button", { type: "button", onclick: () => open("md", "en") }, "report.md")));
}

export function renderRun(report, brief) {
  const ranking = table(
    ["#", "alternative", "score", "belief", "TOPSIS", "first choice of"],
    report.decision.ranking.map((a, i) => [String(i + 1), a.name, a.score.toFixed(3), pct(a.belief), a.topsis.toFixed(3), a.first_choice_of.join(", ") || "—"]),
    { class: "compact" },
  );
  return h(
    "div",
    { class: "run", "data-run": report.run_id },
    h("h1", {}, report.scenario_name),
    h("p", { class: "muted" }, `run ${report.run_id} · ${when(report.created_at)} · ${report.model.base}`),
    decisionCard(report, brief),
    chartsCard(report),
    dissentCard(report, brief),
    briefCard(brief),
    card("Assessments", report.assessments.map(assessmentCard)),
    feedbackCard(report),
    filesCard(report),
    h("details", {}, h("summary", {}, "Ranking table"), ranking),
  );
}

export async function runView(root, runId) {
  root.replaceChildren(h("p", {}, "loading…"));
  try {
    const { report, brief } = await loadRun(runId);
    root.replaceChildren(renderRun(report, brief));
  } catch (err) {
    root.replaceChildren(errorBox(err));
  }
}
