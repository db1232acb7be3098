// The console: a view per route (#/ sandboxes, #/s/ID a sandbox,
// #/cluster the cluster and this node), each live through the event
// streams.

import * as api from "./api.js";
import { el, drawTree, drawTimeline, restartCounts } from "./tree.js";

const main = document.getElementById("main");
let leave = () => {}; // stops the current view's streams and timers

// ---- login and viewer ----

function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("token").focus();
}

document.getElementById("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  api.setToken(document.getElementById("token").value.trim());
  try {
    await api.get("/v1/sandboxes");
    document.getElementById("login").hidden = true;
    document.getElementById("logout").hidden = !api.token();
    route();
  } catch (err) {
    showLogin(err instanceof api.Unauthorized ? "That token is not accepted." : err.message);
  }
});

document.getElementById("logout").addEventListener("click", () => {
  api.setToken("");
  document.getElementById("logout").hidden = true;
  route();
});

const viewerInput = document.getElementById("viewer");
viewerInput.value = api.viewer();
viewerInput.addEventListener("change", () => {
  if (viewerInput.value.trim()) api.setViewer(viewerInput.value.trim());
  route(); // watchers see the new name
});

// failed shows an error in a view, or the login when it is the token.
function failed(err, where) {
  if (err instanceof api.Unauthorized) {
    showLogin();
    return;
  }
  (where || main).prepend(el("p", { class: "error", role: "alert", text: err.message }));
}

// ---- routing ----

function route() {
  leave();
  leave = () => {};
  document.getElementById("logout").hidden = !api.token();
  const h = location.hash || "#/";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", h === a.getAttribute("href") || (h.startsWith("#/s/") && a.id === "nav-sandboxes"));
  if (h.startsWith("#/s/")) return sandboxView(decodeURIComponent(h.slice(4)));
  if (h === "#/cluster") return clusterView();
  return sandboxesView();
}
window.addEventListener("hashchange", route);

// ---- the sandboxes ----

async function sandboxesView() {
  const filter = el("input", { id: "filter", placeholder: "filter by id, node or state", "aria-label": "filter" });
  const newID = el("input", { id: "new-id", placeholder: "new sandbox id", "aria-label": "new sandbox id", maxlength: "128" });
  const body = el("tbody");
  const view = el("section", { class: "sandboxes" },
    el("div", { class: "toolbar" },
      el("form", { id: "create-form", onsubmit: async (e) => {
        e.preventDefault();
        const id = newID.value.trim();
        if (!id) return;
        try {
          await api.post("/v1/sandboxes", { id });
          location.hash = "#/s/" + api.enc(id);
        } catch (err) { failed(err, view); }
      } }, newID, el("button", { type: "submit", id: "create", text: "Create" })),
      filter),
    el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["ID", "State", "Node", "Executions", "Created", ""].map((t) => el("th", { text: t })))),
      body));
  main.replaceChildren(view);
  let rows = [];
  function draw() {
    const f = filter.value.trim().toLowerCase();
    body.replaceChildren(...rows
      .filter((s) => !f || [s.id, s.node, s.state].some((v) => (v || "").toLowerCase().includes(f)))
      .map((s) => el("tr", { "data-id": s.id },
        el("td", {}, el("a", { href: "#/s/" + api.enc(s.id), text: s.id })),
        el("td", { class: "state-" + s.state, text: s.state }),
        el("td", { text: s.node }),
        el("td", { text: s.executions ? String(s.executions) : "" }),
        el("td", { text: s.created_at ? new Date(s.created_at).toLocaleString() : "" }),
        el("td", {}, el("button", { class: "danger small", text: "Delete", onclick: async () => {
          if (!confirm(`Delete sandbox ${s.id} and its journal?`)) return;
          try { await api.del("/v1/sandboxes/" + api.enc(s.id)); load(); } catch (err) { failed(err, view); }
        } })))));
    if (body.children.length === 0) body.append(el("tr", {}, el("td", { colspan: "6", class: "empty", text: rows.length ? "No sandbox matches." : "No sandboxes yet: create one above." })));
  }
  filter.addEventListener("input", draw);
  async function load() {
    try {
      rows = (await api.get("/v1/sandboxes")).sandboxes || [];
      rows.sort((a, b) => a.id.localeCompare(b.id));
      draw();
    } catch (err) { failed(err, view); }
  }
  await load();
  // The node's stream says when its sandboxes change.
  let pending = null;
  const stop = api.stream("/v1/events", (type) => {
    if (type === "sandbox" && !pending) pending = setTimeout(() => { pending = null; load(); }, 200);
  });
  leave = () => { stop(); clearTimeout(pending); };
}

// ---- a sandbox ----

function sandboxView(id) {
  const path = "/v1/sandboxes/" + api.enc(id);
  const state = { tree: null, records: [], flash: new Set(), selected: null, history: [], at: -1, mark: null };
  const status = el("span", { class: "stream", id: "stream-state", text: "connecting…" });
  const viewers = el("ul", { class: "viewers", id: "viewers" });
  const output = el("div", { class: "output", id: "output", "aria-live": "polite" });
  const treeBox = el("div", { class: "tree", id: "tree" });
  const details = el("div", { class: "details", id: "details" }, el("p", { class: "empty", text: "Click a process for its state, mailbox and messages." }));
  const timeline = el("div", { id: "timeline" });
  const editorHost = el("div", { class: "editor" });
  const runButton = el("button", { id: "run", class: "primary", text: "Run", title: "Ctrl/Cmd-Enter" });
  const histList = el("select", { id: "history", "aria-label": "history" }, el("option", { text: "history…", value: "" }));
  const view = el("section", { class: "sandbox" },
    el("div", { class: "title" }, el("h1", { text: id }), status, el("span", { class: "spacer" }), el("span", { text: "watching: " }), viewers),
    el("div", { class: "columns" },
      el("div", { class: "left" },
        editorHost,
        el("div", { class: "toolbar" }, runButton, histList, el("span", { class: "hint", text: "Ctrl/Cmd-Enter runs · Alt-↑/↓ history" })),
        output),
      el("div", { class: "right" },
        el("h2", { text: "Supervision tree" }), treeBox,
        el("h2", { text: "Process" }), details,
        el("h2", { text: "Restarts" }), timeline)));
  main.replaceChildren(view);

  const editor = CodeMirror(editorHost, {
    mode: "python", lineNumbers: true, matchBrackets: true, indentUnit: 4, viewportMargin: Infinity,
    value: "", extraKeys: {
      "Ctrl-Enter": () => run(), "Cmd-Enter": () => run(),
      "Alt-Up": () => recall(-1), "Alt-Down": () => recall(1),
      Tab: (cm) => cm.replaceSelection("    "),
    },
  });
  window.editor = editor; // for tests and the curious
  window.__otpboxRedraw = () => redraw() || window.__otpboxTreeDraw;
  editor.on("change", () => { if (state.mark) { state.mark.clear(); state.mark = null; } editor.clearGutter && 0; });

  function recall(d) {
    if (!state.history.length) return;
    state.at = Math.max(0, Math.min(state.history.length - 1, (state.at < 0 ? state.history.length : state.at) + d));
    editor.setValue(state.history[state.at]);
  }
  histList.addEventListener("change", () => {
    if (histList.value !== "") editor.setValue(state.history[Number(histList.value)]);
    histList.value = "";
  });
  function remember(code) {
    state.history.push(code);
    state.at = -1;
    histList.append(el("option", { value: String(state.history.length - 1), text: code.split("\n")[0].slice(0, 60) }));
  }

  const mine = new Set(); // codes of our own executions in flight, not to show twice
  async function run() {
    const code = editor.getValue();
    if (!code.trim()) return;
    remember(code);
    runButton.disabled = true;
    mine.add(code);
    try {
      const res = await api.post(path + "/exec", { code });
      entry({ code, value: res.value, output: res.output, steps: res.steps, duration_us: res.duration_us, by: api.viewer() }, true);
    } catch (err) {
      if (err instanceof api.Unauthorized) return showLogin();
      const p = err.problem || { detail: err.message };
      const [line, col] = position(p);
      entry({ code, error: { kind: (p.type || "").replace("urn:otpbox:problem:", ""), detail: p.detail, line, col, backtrace: p.backtrace, limit: p.limit }, by: api.viewer() }, true);
      markError(p);
    } finally {
      runButton.disabled = false;
    }
  }
  runButton.addEventListener("click", run);

  // position is where a problem is in the code: its line and column, or
  // the innermost frame of the code in its backtrace.
  function position(p) {
    if (p.line) return [p.line, p.col];
    const m = p.backtrace ? [...p.backtrace.matchAll(/<sandbox>:(\d+):(\d+)/g)].pop() : null;
    return m ? [Number(m[1]), Number(m[2])] : [0, 0];
  }

  // markError marks the failing line (and column) in the editor.
  function markError(p) {
    const [line, col] = position(p);
    if (!line) return;
    const from = { line: line - 1, ch: Math.max(0, (col || 1) - 1) };
    const to = { line: line - 1, ch: editor.getLine(line - 1) ? editor.getLine(line - 1).length : from.ch + 1 };
    state.mark = editor.markText(from, to, { className: "cm-error-mark", attributes: { title: p.detail || "" } });
  }

  // entry adds an execution to the output, newest last.
  function entry(e, own) {
    const cls = ["entry", e.error ? "failed" : "ok", own ? "own" : "other"].join(" ");
    const who = e.by ? el("span", { class: "by", text: e.by }) : null;
    const code = el("pre", { class: "code", text: e.code });
    const box = el("div", { class: cls, "data-by": e.by || "" }, el("div", { class: "meta" }, who,
      e.error ? el("span", { class: "kind", text: e.error.kind }) : el("span", { class: "steps", text: `${e.steps || 0} steps · ${e.duration_us || 0} µs` })), code);
    if (e.output) box.append(el("pre", { class: "printed", text: e.output }));
    if (e.error) {
      const where = e.error.line ? ` (line ${e.error.line}, col ${e.error.col})` : "";
      box.append(el("pre", { class: "error", text: e.error.detail + where }));
      if (e.error.backtrace) box.append(el("details", {}, el("summary", { text: "backtrace" }), el("pre", { class: "backtrace", text: e.error.backtrace })));
    } else if (e.value) {
      box.append(el("pre", { class: "value", text: e.value }));
    }
    output.append(box);
    output.scrollTop = output.scrollHeight;
  }

  function redraw() {
    const r = drawTree(treeBox, state.tree, {
      restarts: restartCounts(state.records), flash: state.flash, selected: state.selected,
      onSelect: (n, p) => { state.selected = p; redraw(); showDetails(p); },
    });
    window.__otpboxTreeDraw = r; // the last drawing's processes and time, for the benchmark
    drawTimeline(timeline, state.records, state.tree);
  }

  async function showDetails(p) {
    details.replaceChildren(el("p", { class: "empty", text: "…" }));
    let info;
    try {
      info = await api.get(path + "/process?path=" + api.enc(p));
    } catch (err) {
      details.replaceChildren(el("p", { class: "empty", text: err.status === 404 ? `${p} is not running.` : err.message }),
        actions({ path: p }, true));
      return;
    }
    const rows = [["pid", info.pid], ["path", info.path], ["type", info.type], ["status", info.status]];
    if (info.type === "supervisor") rows.push(["strategy", info.strategy], ["children", info.children]);
    else rows.push(["state", info.state]);
    rows.push(["mailbox", info.mailbox], ["restarts", (info.restarts || []).length]);
    const msgs = (info.messages || []).slice(-10).reverse();
    details.replaceChildren(
      el("table", { class: "kv", id: "process-info" }, rows.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { "data-key": k, text: v ?? "" })))),
      actions(info, false),
      msgs.length ? el("div", {}, el("h3", { text: "Recent messages" }),
        el("ul", { class: "messages" }, msgs.map((m) => el("li", {}, el("span", { class: "kind", text: m.kind }), " ", m.value)))) : null);
  }

  function actions(info, gone) {
    const act = (action) => async () => {
      const body = { action, path: info.path };
      try {
        await api.post(path + "/process", body);
      } catch (err) {
        if (err instanceof api.Unauthorized) return showLogin();
        details.prepend(el("p", { class: "error", role: "alert", text: err.message }));
      }
    };
    const b = (action, text, cls) => el("button", { class: cls || "", "data-action": action, text, onclick: act(action) });
    if (gone) return el("div", { class: "actions" }, b("restart", "Restart child"));
    return el("div", { class: "actions" },
      b("kill", "Kill", "danger"), b("crash", "Crash", "danger"),
      info.supervisor !== undefined && info.path && info.path.includes("/") ? b("terminate", "Terminate child") : null,
      info.path && info.path.includes("/") ? b("restart", "Restart child") : null);
  }

  function presence(list) {
    viewers.replaceChildren(...(list || []).map((v) => el("li", { title: "via " + v.node, text: v.name })));
  }

  const stop = api.stream(path + "/events?name=" + api.enc(api.viewer()), (type, e) => {
    switch (type) {
      case "hello":
        state.tree = e.tree; state.records = e.restarts || [];
        presence(e.viewers); redraw();
        break;
      case "exec":
        if (mine.has(e.code) && e.by === api.viewer()) { mine.delete(e.code); break; }
        entry(e, false);
        break;
      case "tree":
        if (e.change === "restarted" || e.change === "gave_up" || e.change === "auto_shutdown") {
          state.records.push({ kind: e.change === "restarted" ? "restart" : e.change, supervisor: e.supervisor, child_id: e.child_id, reason: e.reason, time: e.time, path: e.path });
          // A restart's path is its supervisor's: the child is under it.
          const p = e.change === "restarted" ? (e.path ? e.path + "/" : "") + e.child_id : e.path;
          state.flash.add(p);
          setTimeout(() => { state.flash.delete(p); redraw(); }, 1500);
        }
        break;
      case "snapshot":
        state.tree = e.tree; redraw();
        if (state.selected) showDetails(state.selected);
        break;
      case "presence":
        presence(e.viewers);
        break;
      case "gap":
        output.append(el("p", { class: "gap", text: e.missed < 0 ? "Some events were missed." : `${e.missed} events were missed.` }));
        break;
      case "passivated":
        status.textContent = "passivated (its next execution wakes it)";
        break;
      case "activated":
        status.textContent = "live";
        break;
      case "restarted":
        state.records = []; output.append(el("p", { class: "gap", text: "The sandbox was restarted: a fresh session." }));
        break;
      case "terminated":
        status.textContent = "deleted";
        runButton.disabled = true;
        break;
    }
  }, (s) => {
    if (s === "live") status.textContent = "live";
    else if (s === "reconnecting") status.textContent = "reconnecting…";
    else if (s instanceof api.Unauthorized) showLogin();
    else if (s instanceof Error) { status.textContent = s.status === 404 ? "no such sandbox" : s.message; runButton.disabled = s.status === 404; }
  });
  leave = () => { stop(); delete window.editor; delete window.__otpboxRedraw; };
  editor.focus();
}

// ---- the cluster and this node ----

function clusterView() {
  const members = el("tbody");
  const nodeBox = el("div", { class: "node-figures", id: "node-figures" });
  const log = el("ul", { class: "events", id: "events" });
  const view = el("section", { class: "cluster" },
    el("div", { class: "toolbar" }, el("h1", { text: "Cluster" }), el("span", { class: "spacer" }),
      el("button", { id: "rebalance", text: "Rebalance", onclick: async () => {
        try { const r = await api.post("/v1/cluster/rebalance"); note(`rebalance: ${(r.moves || []).length} moved${r.skipped ? " (" + r.skipped + ")" : ""}`); } catch (err) { failed(err, view); }
      } })),
    el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["Member", "Health", "Sandboxes", "Load", "Memory", "Breakers", ""].map((t) => el("th", { text: t })))),
      members),
    el("div", { class: "columns" },
      el("div", {}, el("h2", { text: "This node" }), nodeBox),
      el("div", {}, el("h2", { text: "Events" }), log)));
  main.replaceChildren(view);
  function note(text) {
    log.prepend(el("li", {}, el("time", { text: new Date().toLocaleTimeString() }), " ", text));
    while (log.children.length > 100) log.lastChild.remove();
  }
  const bar = (frac, label) => el("div", { class: "bar", title: label },
    el("div", { class: "fill" + (frac > 0.85 ? " hot" : ""), style: `width:${Math.round(Math.min(1, frac || 0) * 100)}%` }), el("span", { text: label }));
  async function load() {
    try {
      const [nodes, mem, cache, status, load] = await Promise.all([
        api.get("/v1/cluster/nodes"), api.get("/v1/memory").catch(() => null),
        api.get("/v1/cache/stats").catch(() => null), api.get("/v1/cluster/status").catch(() => null),
        api.get("/v1/cluster/load").catch(() => null)]);
      members.replaceChildren(...(nodes.nodes || []).map((n) => el("tr", { "data-node": n.name },
        el("td", {}, n.name, n.self ? el("span", { class: "self", text: " (this node)" }) : null),
        el("td", { class: "health-" + n.health, text: n.health + (n.load && n.load.draining ? " · draining" : "") }),
        el("td", { text: n.load ? `${n.load.sandboxes || 0} active, ${n.load.passivated || 0} passivated` : "" }),
        el("td", {}, bar(n.capacity && n.capacity.slots ? (n.load.sandboxes || 0) / n.capacity.slots : n.load && n.load.cpu, `${n.load ? n.load.sandboxes : 0} / ${n.capacity ? n.capacity.slots : "?"}`)),
        el("td", {}, bar(n.load && n.load.memory, n.load ? Math.round((n.load.memory || 0) * 100) + "%" : "")),
        el("td", { text: (n.breakers || []).filter((b) => b.state !== "closed").map((b) => `${b.name}: ${b.state}`).join(", ") || "closed" }),
        el("td", {}, n.self ? null : el("button", { class: "small", text: "Drain", onclick: async () => {
          if (!confirm(`Move every sandbox off ${n.name}?`)) return;
          try { const r = await api.post("/v1/cluster/nodes/" + api.enc(n.name) + "/drain"); note(`${n.name} drained: ${r.moved} moved`); load(); } catch (err) { failed(err, view); }
        } })))));
      for (const w of nodes.warnings || []) note("warning: " + w);
      const rows = [];
      if (mem) rows.push(["memory", bar(mem.utilization, `${(mem.used / 2 ** 20).toFixed(0)} MiB of ${(mem.limit / 2 ** 20).toFixed(0)} MiB (${mem.limit_source})`)],
        ["heap", `${(mem.heap / 2 ** 20).toFixed(1)} MiB · ${mem.goroutines} goroutines · ${mem.gc_cycles} GCs`],
        ["optimizer", `${mem.optimizations} passes; last: ${(mem.last_actions || []).slice(-1).map((a) => a.kind + " " + a.detail).join("") || "none"}`]);
      if (cache) {
        rows.push(["cache", `${cache.total_requests} lookups · ${(100 * (cache.hit_rate || 0)).toFixed(1)}% hits`]);
        for (const [t, s] of Object.entries(cache.tiers || {})) rows.push([t, bar(s.hit_rate, `${(100 * (s.hit_rate || 0)).toFixed(1)}% hits · ${s.entries} entries${s.degraded ? " · degraded" : ""}`)]);
      }
      if (status) rows.push(["cluster", `${status.active_nodes}/${status.total_nodes} nodes · ${(100 * (status.current_utilization || 0)).toFixed(0)}% used · sandboxes ${status.sandboxes ? status.sandboxes.active + " active, " + status.sandboxes.passivated + " passivated" : ""}`],
        ["scaling", status.auto_scaling_enabled ? `auto · ${(status.pending_operations || []).length} pending · last ${status.last_scale_action || "none"}` : "off"]);
      if (load) rows.push(["balancer", `${load.strategy} · spread ${(100 * (load.spread || 0)).toFixed(0)}% (rebalances past ${(100 * (load.threshold || 0)).toFixed(0)}%)`]);
      nodeBox.replaceChildren(el("table", { class: "kv" }, rows.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", {}, v)))));
    } catch (err) { failed(err, view); }
  }
  load();
  let pending = null;
  const stop = api.stream("/v1/events", (type, e) => {
    if (type === "hello") return;
    const what = {
      member: () => `${e.node} ${e.change} (${e.health})${e.reason ? ": " + e.reason : ""}`,
      placement: () => `${e.sandbox} placed on ${e.node}`,
      sandbox: () => `${e.sandbox} ${e.change} on ${e.node}`,
      drain: () => `${e.node} drained: ${e.moved} moved`,
      memory: () => `memory ${e.kind}: ${e.detail}`,
      scaling: () => `scaling ${e.change}`,
      rebalance: () => "rebalanced",
      gap: () => "some events were missed",
    }[type];
    note(what ? what() : type);
    if (!pending) pending = setTimeout(() => { pending = null; load(); }, 300);
  });
  const timer = setInterval(load, 5000); // load figures move without events
  leave = () => { stop(); clearInterval(timer); clearTimeout(pending); };
}

route();
