// Run history (the run store the CLI shares), the job list with cancel, and two runs side by
// side.

import { get, post } from "./api.js";
import { rankingChart } from "./charts.js";
import { loadRun } from "./run.js";
import { card, errorBox, h, table, when } from "./ui.js";

export async function runsView(root) {
  root.replaceChildren(h("p", {}, "loading…"));
  let runs;
  let jobs;
  try {
    [{ runs }, { jobs }] = await Promise.all([get("/v1/runs?limit=100"), get("/v1/jobs?limit=20")]);
  } catch (err) {
    root.replaceChildren(errorBox(err));
    return;
  }
  const picked = [];
  const compareBtn = h("button", { type: "button", id: "compare", disabled: true }, "Compare the two selected");
  const boxes = runs.map((r) => {
    const box = h("input", { type: "checkbox", value: r.run_id, "data-testid": "pick-run" });
    box.addEventListener("change", () => {
      if (box.checked) picked.push(r.run_id);
      else picked.splice(picked.indexOf(r.run_id), 1);
      while (picked.length > 2) {
        const old = picked.shift();
        boxes.find((b) => b.value === old).checked = false;
      }
      compareBtn.disabled = picked.length !== 2;
    });
    return box;
  });
  compareBtn.addEventListener("click", () => { location.hash = `#/compare/${picked[0]}/${picked[1]}`; });
  const rows = runs.map((r, i) =>
    h("tr", { "data-testid": "run-row", "data-run": r.run_id },
      h("td", {}, boxes[i]),
      h("td", { class: "mono" }, h("a", { href: `#/runs/${r.run_id}` }, r.run_id)),
      h("td", {}, when(r.created_at)),
      h("td", {}, r.scenario_id),
      h("td", {}, r.recommended || "—"),
      h("td", {}, r.experts.join(", "))));
  const jobRows = jobs.map((j) =>
    h("tr", { "data-testid": "job-row", "data-job": j.job_id },
      h("td", { class: "mono" }, j.job_id.slice(0, 12)),
      h("td", {}, j.status),
      h("td", {}, j.scenario_id),
      h("td", {}, j.run_id ? h("a", { href: `#/runs/${j.run_id}` }, j.run_id) : "—"),
      h("td", {}, ["queued", "running"].includes(j.status)
        ? h("button", { type: "button", onclick: async () => { await post(`/v1/jobs/${j.job_id}/cancel`).catch(() => {}); runsView(root); } }, "Cancel")
        : (j.error || ""))));
  root.replaceChildren(
    h("h1", {}, "Runs"),
    card(`History (${runs.length})`, h("div", { class: "row" }, compareBtn),
      runs.length ? table(["", "run id", "created", "scenario", "recommended", "experts"], rows, { class: "runs", "data-testid": "runs" })
        : h("p", {}, "No runs yet.")),
    card("Jobs", jobs.length ? table(["job", "status", "scenario", "run", ""], jobRows, { class: "compact" }) : h("p", {}, "No jobs.")),
  );
}

function side(report, brief) {
  const firsts = report.assessments.map((a) => [a.expert_id, a.status, a.recommended || "—", a.confidence.toFixed(2)]);
  return h("div", { class: "side", "data-testid": "compare-side", "data-run": report.run_id },
    h("h2", {}, report.scenario_name),
    h("p", { class: "muted mono" }, `${report.run_id} · ${when(report.created_at)}`),
    h("div", { class: "rec-name" }, brief.recommended_name),
    h("p", {}, h("span", { class: `badge ${brief.confidence_level}` }, brief.confidence.split(":")[0])),
    rankingChart(report.decision.ranking, 460),
    table(["expert", "status", "first choice", "conf."], firsts, { class: "compact" }),
    h("p", { class: "muted" }, `consensus ${report.decision.consensus.toFixed(2)}`));
}

export async function compareView(root, a, b) {
  root.replaceChildren(h("p", {}, "loading…"));
  try {
    const [ra, rb] = await Promise.all([loadRun(a), loadRun(b)]);
    const same = ra.report.decision.recommended === rb.report.decision.recommended;
    root.replaceChildren(
      h("h1", {}, "Two runs side by side"),
      h("p", { "data-testid": "compare-verdict", class: same ? "ok" : "warn" },
        same ? "Both runs recommend the same action." : "The runs recommend different actions."),
      h("div", { class: "compare" }, side(ra.report, ra.brief), side(rb.report, rb.brief)),
    );
  } catch (err) {
    root.replaceChildren(errorBox(err));
  }
}
