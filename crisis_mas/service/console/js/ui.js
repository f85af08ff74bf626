// DOM helpers. Everything shown comes from text nodes (model output is untrusted): no innerHTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

export function table(head, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => (r instanceof Node ? r : h("tr", {}, r.map((c) => h("td", {}, c)))))),
  );
}

export function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, err.message || String(err));
}

export function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}

export function when(iso) {
  return (iso || "").replace("T", " ").slice(0, 19);
}

// Flags by the check that raised them (the report's own grouping).
export function flagKind(flag) {
  const t = String(flag.type || flag || "").toLowerCase();
  if (t.includes("hazmat")) return "hazmat";
  if (["ground", "citation", "cite", "unsupported", "source"].some((w) => t.includes(w))) {
    return "grounding";
  }
  return "guard";
}

export function flagChip(flag) {
  const type = typeof flag === "string" ? flag : flag.type;
  const kind = flagKind(flag);
  const title = typeof flag === "string" ? type : `${type}: ${flag.reason || ""}`;
  return h("span", { class: `chip flag-${kind}`, title, dataset: { kind } }, `${kind}: ${type}`);
}
