// Operations: adapter rollout status (versions, canary/shadow arms), component health and
// the alerts firing now.

import { get } from "./api.js";
import { card, errorBox, h, table } from "./ui.js";

export async function adaptersView(root) {
  root.replaceChildren(h("p", {}, "loading…"));
  try {
    const { versions, rollouts } = await get("/v1/adapters/rollout");
    const vrows = versions.map((v) => [v.expert, `v${v.version}`, v.status, v.final_loss != null ? v.final_loss.toFixed(3) : "—", (v.registered_at || "").slice(0, 19).replace("T", " ")]);
    const arm = (a) => `n ${a.n} · errors ${(100 * a.error_rate).toFixed(1)}% · HAZMAT ${(100 * a.hazmat_rate).toFixed(1)}%`;
    const rrows = rollouts.map((st) => {
      const r = st.rollout;
      return [
        r.expert,
        r.mode === "canary" ? `canary ${Math.round(100 * r.fraction)}%` : r.mode,
        r.candidate != null ? `v${r.candidate}` : "—",
        r.incumbent != null ? `v${r.incumbent}` : "—",
        `${arm(st.candidate)} / ${arm(st.incumbent)}`,
        `${st.check.action}${st.check.reasons.length ? `: ${st.check.reasons.join("; ")}` : ""}`,
      ];
    });
    root.replaceChildren(
      h("h1", {}, "Adapters"),
      card("Active rollouts", rrows.length
        ? table(["expert", "mode", "candidate", "incumbent", "candidate / incumbent arm", "check"], rrows, { "data-testid": "rollouts" })
        : h("p", { "data-testid": "rollouts" }, "No rollout in progress.")),
      card("Versions", vrows.length
        ? table(["expert", "version", "status", "final loss", "registered"], vrows, { class: "compact", "data-testid": "versions" })
        : h("p", { "data-testid": "versions" }, "No registered adapter versions (the shipped adapters serve).")),
    );
  } catch (err) {
    root.replaceChildren(errorBox(err));
  }
}

export async function healthView(root) {
  root.replaceChildren(h("p", {}, "loading…"));
  let health;
  try {
    const resp = await fetch("/healthz");
    health = await resp.json();
  } catch (err) {
    root.replaceChildren(errorBox(err));
    return;
  }
  let alerts = { alerts: [] };
  try {
    alerts = await get("/v1/alerts");
  } catch (err) {
    alerts = { alerts: [], error: err.message };
  }
  const comps = Object.entries(health.components || {}).map(([name, c]) =>
    h("tr", { "data-testid": "component", "data-status": c.status },
      h("td", {}, name),
      h("td", { class: `st-${c.status}` }, c.status),
      h("td", {}, c.ms != null ? `${Math.round(c.ms)} ms` : ""),
      h("td", { class: "detail" }, typeof c.detail === "string" ? c.detail : JSON.stringify(c.detail || c.error || ""))));
  const arows = alerts.alerts.map((a) =>
    h("tr", { "data-testid": "alert", class: `sev-${a.severity}` },
      h("td", {}, a.severity), h("td", {}, a.rule), h("td", {}, a.message), h("td", {}, String(a.count))));
  root.replaceChildren(
    h("h1", {}, "Health"),
    h("p", { "data-testid": "health-status", class: health.ok ? "ok" : "error" },
      health.ok ? `all components up (replica ${health.replica || "—"}, version ${health.version || "—"})`
        : `down: ${(health.down || []).join(", ")}`),
    card("Components", table(["component", "status", "latency", "detail"], comps, { class: "compact" })),
    card("Alerts", alerts.error ? errorBox({ message: alerts.error }) : null,
      arows.length ? table(["severity", "rule", "message", "count"], arows, { "data-testid": "alerts" })
        : h("p", { "data-testid": "alerts" }, "No alert firing.")),
  );
}

export async function healthDot(dot) {
  try {
    const h = await (await fetch("/healthz")).json();
    dot.className = `dot ${h.ok ? "up" : "down"}`;
    dot.title = h.ok ? "all components up" : `down: ${(h.down || []).join(", ")}`;
  } catch (_) {
    dot.className = "dot down";
  }
}
