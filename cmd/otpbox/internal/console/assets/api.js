// The node's HTTP API, with the token the user gave, and its event
// streams read with fetch (EventSource cannot send a token).

const TOKEN = "otpbox.token";
const VIEWER = "otpbox.viewer";

export class Unauthorized extends Error {}

export class Problem extends Error {
  constructor(p, status) {
    super(p.detail || p.title || `HTTP ${status}`);
    this.problem = p;
    this.status = status;
  }
}

export function token() { return sessionStorage.getItem(TOKEN) || ""; }
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN, t); else sessionStorage.removeItem(TOKEN);
}

export function viewer() {
  let v = localStorage.getItem(VIEWER);
  if (!v) {
    v = "guest-" + Math.random().toString(36).slice(2, 6);
    localStorage.setItem(VIEWER, v);
  }
  return v;
}
export function setViewer(v) { localStorage.setItem(VIEWER, v); }

function headers(extra) {
  const h = { "Accept": "application/json", "X-Otpbox-Viewer": viewer(), ...extra };
  const t = token();
  if (t) h["Authorization"] = "Bearer " + t;
  return h;
}

// call sends one API request and returns the decoded answer (null for
// 204); a problem is thrown as a Problem, 401 as Unauthorized.
export async function call(method, path, body) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, init);
  if (resp.status === 401) throw new Unauthorized("this node needs a token");
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!resp.ok) throw new Problem(data || {}, resp.status);
  return data;
}

export const get = (p) => call("GET", p);
export const post = (p, b) => call("POST", p, b === undefined ? {} : b);
export const del = (p) => call("DELETE", p);

export const enc = encodeURIComponent;

// stream reads an event stream at path until stop() is called, giving
// each event to onEvent; it reconnects with Last-Event-ID after a drop
// (onState tells "live", "reconnecting" or an error).
export function stream(path, onEvent, onState) {
  let last = "";
  let stopped = false;
  let ctrl = null;
  let wait = 500;
  async function once() {
    ctrl = new AbortController();
    const h = headers({ "Accept": "text/event-stream" });
    if (last) h["Last-Event-ID"] = last;
    const resp = await fetch(path, { headers: h, signal: ctrl.signal });
    if (resp.status === 401) throw new Unauthorized("this node needs a token");
    if (!resp.ok) {
      let p = {};
      try { p = await resp.json(); } catch {}
      throw new Problem(p, resp.status);
    }
    onState && onState("live");
    wait = 500;
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    let ev = { id: "", type: "", data: "" };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        if (line === "") {
          if (ev.data) {
            if (ev.id) last = ev.id;
            let data = null;
            try { data = JSON.parse(ev.data); } catch {}
            if (data) onEvent(ev.type || data.type, data);
          }
          ev = { id: "", type: "", data: "" };
        } else if (line.startsWith(":")) {
          // a comment: the node is alive
        } else {
          const c = line.indexOf(":");
          const field = c < 0 ? line : line.slice(0, c);
          const val = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
          if (field === "id") ev.id = val;
          else if (field === "event") ev.type = val;
          else if (field === "data") ev.data += (ev.data ? "\n" : "") + val;
        }
      }
    }
  }
  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (e) {
        if (stopped) return;
        if (e instanceof Unauthorized || (e instanceof Problem && e.status < 500 && e.status !== 429)) {
          onState && onState(e);
          return;
        }
      }
      if (stopped) return;
      onState && onState("reconnecting");
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 8000);
    }
  })();
  return () => { stopped = true; if (ctrl) ctrl.abort(); };
}
