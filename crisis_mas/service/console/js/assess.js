// Assess: pick a bundled scenario, or paste / upload one (JSON or YAML); its validation errors
// by field; then watch every expert live (server-sent events) and read the decision.

import { get, post, stream } from "./api.js";
import { loadRun, renderRun } from "./run.js";
import { card, clear, errorBox, flagChip, h, table } from "./ui.js";

const STAGES = {
  selected: "experts selected",
  retrieving: "retrieving passages",
  generating: "experts answering",
  scoring: "scoring the answers",
  deciding: "combining the assessments",
  decision: "decided",
};

// Each flag type once, with how often it was raised.
function counted(flags) {
  const n = new Map();
  for (const f of flags) n.set(f, (n.get(f) || 0) + 1);
  return [...n.entries()];
}

function progressTable(rows) {
  return table(
    ["expert", "stage", "passages", "tokens", "first choice", "flags"],
    Object.values(rows).map((r) =>
      h("tr", { "data-testid": "expert-row", "data-expert": r.expert, "data-stage": r.stage, "data-status": r.status || "" },
        h("td", {}, r.expert),
        h("td", { class: r.status ? `st-${r.status}` : "" }, r.stageText),
        h("td", {}, r.passages ?? ""),
        h("td", {}, r.tokens || ""),
        h("td", {}, r.choice || ""),
        h("td", {}, counted(r.flags || []).map(([f, n]) => [flagChip(f), n > 1 ? `×${n}` : ""])))),
    { class: "progress", "data-testid": "progress" },
  );
}

export async function assessView(root) {
  const picker = h("select", { id: "bundled", "data-testid": "bundled" }, h("option", { value: "" }, "— bundled scenario —"));
  const text = h("textarea", { id: "scenario-text", rows: 8, spellcheck: "false", placeholder: "Paste a scenario (JSON or YAML), pick a bundled one, or upload a file" });
  const upload = h("input", { type: "file", id: "scenario-file", accept: ".json,.yaml,.yml" });
  const experts = h("input", { id: "experts", placeholder: "experts (optional): fire,police,medical" });
  const checkOut = h("div", { id: "validation", "data-testid": "validation" });
  const live = h("div", { id: "live" });
  const result = h("div", { id: "result" });
  const runBtn = h("button", { type: "button", id: "run", class: "primary" }, "Assess");
  const cancelBtn = h("button", { type: "button", id: "cancel", hidden: true }, "Cancel");
  let controller = null;
  let jobId = null;

  try {
    const { scenarios } = await get("/v1/scenarios");
    for (const s of scenarios) picker.append(h("option", { value: s.name }, `${s.name} — ${s.title}`));
  } catch (err) {
    checkOut.replaceChildren(errorBox(err));
  }
  picker.addEventListener("change", async () => {
    if (!picker.value) return;
    const data = await get(`/v1/scenarios/${encodeURIComponent(picker.value)}`);
    text.value = JSON.stringify(data, null, 2);
    checkOut.replaceChildren();
  });
  upload.addEventListener("change", async () => {
    const f = upload.files[0];
    if (f) {
      text.value = await f.text();
      picker.value = "";
      await validate();
    }
  });

  async function validate() {
    const check = await post("/v1/scenarios/validate", { text: text.value });
    const rows = [
      ...check.errors.map((e) => h("tr", { class: "err", "data-testid": "field-error", "data-field": e.field }, h("td", {}, "error"), h("td", { class: "mono" }, e.field), h("td", {}, e.message))),
      ...check.warnings.map((w) => h("tr", { class: "warn", "data-testid": "field-warning", "data-field": w.field }, h("td", {}, "warning"), h("td", { class: "mono" }, w.field), h("td", {}, w.message))),
    ];
    clear(checkOut,
      h("p", { class: check.valid ? "ok" : "error", "data-testid": "validity" },
        check.valid ? `valid scenario ${check.scenario_id}` : `invalid: ${check.errors.length} error(s)`),
      rows.length ? table(["", "field", "problem"], rows, { class: "compact" }) : null);
    return check;
  }

  async function assess() {
    result.replaceChildren();
    live.replaceChildren();
    const check = await validate();
    if (!check.valid) return;
    const body = { scenario: check.scenario };
    const ids = experts.value.split(",").map((x) => x.trim()).filter(Boolean);
    if (ids.length) body.experts = ids;
    const names = Object.fromEntries((check.scenario.available_actions || []).map((a) => [a.id, a.name]));
    const rows = {};
    const stageLine = h("p", { class: "stage", "data-testid": "run-stage" }, "submitting…");
    const grid = h("div", {});
    live.replaceChildren(card("Experts, live", stageLine, grid));
    const redraw = () => grid.replaceChildren(progressTable(rows));
    const row = (id) => (rows[id] ||= { expert: id, stage: "waiting", stageText: "waiting" });
    const set = (r, stage, text) => Object.assign(r, { stage, stageText: text });
    let report = null;
    controller = new AbortController();
    runBtn.disabled = true;
    cancelBtn.hidden = false;
    try {
      const started = await stream("/v1/assessments?mode=stream", body, (name, data) => {
        if (name === "status") stageLine.textContent = `job ${data.job_id.slice(0, 8)}: ${data.status}`;
        else if (name === "progress") {
          const d = data.detail || {};
          if (!data.expert) {
            stageLine.textContent = STAGES[data.stage] || data.stage;
            if (data.stage === "selected") for (const e of d.experts || []) row(e);
            if (["retrieving", "generating", "scoring"].includes(data.stage)) {
              for (const r of Object.values(rows)) if (!r.status) set(r, data.stage, `${data.stage}…`);
            }
          } else {
            const r = row(data.expert);
            if (data.stage === "retrieved") { r.passages = d.passages; set(r, "retrieved", "passages retrieved"); }
            if (data.stage === "generated") {
              r.tokens = `${d.prompt_tokens}+${d.completion_tokens}`;
              r.flags = (d.flags || []).filter(Boolean);
              set(r, "generated", d.error ? `error: ${d.error}` : `answered (${d.completion_tokens} tokens)`);
            }
            if (data.stage === "done") {
              r.status = d.status;
              r.choice = names[d.recommended] || d.recommended || "";
              r.flags = [...(r.flags || []), ...(d.flags || []).filter((f) => f && !(r.flags || []).includes(f))];
              set(r, "done", d.status === "ok" ? "done" : d.status === "fallback" ? "fallback (doctrine prior)" : "failed");
            }
          }
          redraw();
        } else if (name === "report") report = data;
        else if (name === "error") stageLine.replaceChildren(errorBox({ message: data.error.message }));
        else if (name === "cancelled") stageLine.textContent = "cancelled";
      }, controller.signal);
      jobId = started.headers.get("x-crisis-mas-job");
      await started.done;
    } catch (err) {
      if (err.name !== "AbortError") live.append(errorBox(err));
    } finally {
      runBtn.disabled = false;
      cancelBtn.hidden = true;
      controller = null;
    }
    if (report) {
      const { brief } = await loadRun(report.run_id);
      result.replaceChildren(renderRun(report, brief));
    }
  }

  runBtn.addEventListener("click", () => assess().catch((err) => live.replaceChildren(errorBox(err))));
  cancelBtn.addEventListener("click", async () => {
    if (jobId) await post(`/v1/jobs/${jobId}/cancel`).catch(() => {});
  });
  const validateBtn = h("button", { type: "button", id: "validate", onclick: () => validate().catch((err) => checkOut.replaceChildren(errorBox(err))) }, "Validate");

  root.replaceChildren(
    h("h1", {}, "Assess a scenario"),
    card(null, h("div", { class: "row" }, picker, h("label", { class: "upload" }, "or upload ", upload)),
      text, h("div", { class: "row" }, experts, validateBtn, runBtn, cancelBtn), checkOut),
    live,
    result,
  );
}
