// The HTTP API from the browser: bearer token (kept in this tab's sessionStorage), JSON calls
// that turn the server's error object into an ApiError, and server-sent events over fetch
// (EventSource cannot send an Authorization header).

const TOKEN_KEY = "crisis-mas-token";

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.type = err.type;
    this.param = err.param;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

function headers(extra = {}) {
  const h = { ...extra };
  if (token()) h.authorization = `Bearer ${token()}`;
  return h;
}

async function check(resp) {
  if (resp.ok) return resp;
  let body = null;
  try {
    body = await resp.json();
  } catch (_) {
    body = null;
  }
  if (resp.status === 401) onUnauthorized();
  throw new ApiError(resp.status, body);
}

export async function get(path) {
  const resp = await check(await fetch(path, { headers: headers() }));
  return resp.json();
}

export async function getText(path) {
  const resp = await check(await fetch(path, { headers: headers() }));
  return resp.text();
}

export async function post(path, body) {
  const resp = await check(
    await fetch(path, {
      method: "POST",
      headers: headers({ "content-type": "application/json" }),
      body: JSON.stringify(body ?? {}),
    }),
  );
  return resp.status === 204 ? null : resp.json();
}

// POST (or GET) a streaming endpoint and call onEvent(name, data) per server-sent event.
// Returns {headers, done}: headers as soon as the response starts, done when the stream ends.
export async function stream(path, body, onEvent, signal) {
  const init = body === undefined
    ? { headers: headers(), signal }
    : {
        method: "POST",
        headers: headers({ "content-type": "application/json" }),
        body: JSON.stringify(body),
        signal,
      };
  const resp = await check(await fetch(path, init));
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    let buffer = "";
    let name = "message";
    let data = [];
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
        else if (line === "" && data.length) {
          const text = data.join("\n");
          if (text !== "[DONE]") onEvent(name, JSON.parse(text));
          name = "message";
          data = [];
        }
      }
    }
  })();
  return { headers: resp.headers, done };
}
