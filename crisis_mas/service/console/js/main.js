// The console's entry point: hash routes to views, the token prompt, the health dot.

import { get, setToken, whenUnauthorized } from "./api.js";
import { assessView } from "./assess.js";
import { adaptersView, healthDot, healthView } from "./ops.js";
import { runView } from "./run.js";
import { compareView, runsView } from "./runs.js";

const view = document.getElementById("view");
const tokenPanel = document.getElementById("token-panel");

function route() {
  const parts = (location.hash || "#/assess").slice(2).split("/");
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.view === parts[0]);
  }
  view.dataset.view = parts[0];
  if (parts[0] === "runs" && parts[1]) return runView(view, parts[1]);
  if (parts[0] === "runs") return runsView(view);
  if (parts[0] === "compare") return compareView(view, parts[1], parts[2]);
  if (parts[0] === "adapters") return adaptersView(view);
  if (parts[0] === "health") return healthView(view);
  return assessView(view);
}

whenUnauthorized(() => {
  tokenPanel.hidden = false;
});

document.getElementById("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  setToken(document.getElementById("token-input").value.trim());
  tokenPanel.hidden = true;
  route();
});

async function start() {
  try {
    await get("/v1/models"); // 401 here shows the token prompt
  } catch (_) {
    /* shown by whenUnauthorized, or by the view itself */
  }
  window.addEventListener("hashchange", route);
  healthDot(document.getElementById("health-dot"));
  setInterval(() => healthDot(document.getElementById("health-dot")), 30000);
  await route();
  document.body.dataset.ready = "1";
}

start();
