// The supervision tree, drawn as nested boxes: each supervisor a box
// with its strategy and its children in start order, each worker a box
// with its state; status colours, restart counts, and a flash on the
// processes that just restarted.

export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// restartCounts counts the restarts of each child, by "supervisor pid /
// child id", from the sandbox's restart records.
export function restartCounts(records) {
  const n = new Map();
  for (const r of records || []) {
    if (r.kind !== "restart") continue;
    const k = r.supervisor + "/" + r.child_id;
    n.set(k, (n.get(k) || 0) + 1);
  }
  return n;
}

// drawTree renders tree ({root}) into container. opts: restarts (Map of
// restartCounts), flash (Set of paths that just restarted), selected
// (a path), onSelect(node, path). It returns the number of processes
// drawn and the time it took (ms).
export function drawTree(container, tree, opts) {
  const t0 = performance.now();
  let count = 0;
  container.replaceChildren();
  if (!tree || !tree.root || !tree.root.children || tree.root.children.length === 0) {
    container.append(el("p", { class: "empty", text: "No supervision trees yet: start one with start_supervisor(...)." }));
    return { count: 0, ms: performance.now() - t0 };
  }
  function node(n, path, parentPid) {
    count++;
    const key = parentPid + "/" + n.id;
    const restarts = (opts.restarts && opts.restarts.get(key)) || 0;
    const classes = ["proc", n.type, "status-" + n.status];
    if (opts.flash && opts.flash.has(path)) classes.push("flash");
    if (opts.selected && opts.selected === path) classes.push("selected");
    const head = el("div", { class: "head" },
      el("span", { class: "name", text: n.id || n.pid || "?" }),
      n.pid ? el("span", { class: "pid", text: n.pid }) : null,
      n.type === "supervisor" ? el("span", { class: "strategy", text: n.strategy }) : null,
      restarts ? el("span", { class: "restarts", title: "restarts", text: "↻" + restarts }) : null,
      n.mailbox ? el("span", { class: "mailbox", title: "messages queued", text: "✉" + n.mailbox }) : null,
    );
    const box = el("div", {
      class: classes.join(" "), "data-path": path, "data-id": n.id || "", "data-pid": n.pid || "",
      "data-status": n.status, "data-restarts": String(restarts), tabindex: "0",
      role: "treeitem", "aria-label": `${n.type} ${n.id || n.pid} ${n.status}`,
    }, head);
    if (n.type === "worker" && n.state !== undefined) {
      box.append(el("div", { class: "state", text: n.state }));
    }
    box.addEventListener("click", (e) => { e.stopPropagation(); opts.onSelect && opts.onSelect(n, path); });
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.stopPropagation(); opts.onSelect && opts.onSelect(n, path); }
    });
    if (n.children && n.children.length) {
      const kids = el("div", { class: "children" });
      for (const c of n.children) kids.append(node(c, path ? path + "/" + (c.id || c.pid) : (c.id || c.pid), n.pid));
      box.append(kids);
    }
    return box;
  }
  const forest = el("div", { class: "forest", role: "tree" });
  for (const c of tree.root.children) forest.append(node(c, c.id || c.pid, tree.root.pid));
  container.append(forest);
  const ms = performance.now() - t0;
  return { count, ms };
}

// drawTimeline draws the restarts of the last minutes as marks on a time
// axis, one row per supervisor, with its intensity window (period)
// shaded back from now: more marks in the window than its intensity and
// it gives up.
export function drawTimeline(container, records, tree) {
  container.replaceChildren();
  const recs = (records || []).filter((r) => r.time);
  if (recs.length === 0) {
    container.append(el("p", { class: "empty", text: "No restarts yet." }));
    return;
  }
  const sups = new Map();
  (function walk(n) {
    if (!n) return;
    if (n.type === "supervisor") sups.set(n.pid, n);
    for (const c of n.children || []) walk(c);
  })(tree && tree.root);
  const times = recs.map((r) => Date.parse(r.time));
  const end = Math.max(...times);
  const span = Math.max(10_000, end - Math.min(...times)) * 1.1;
  const start = end - span;
  const rows = [...new Set(recs.map((r) => r.supervisor))];
  const W = 600, rowH = 22, H = rows.length * rowH + 18;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "timeline");
  const x = (t) => 90 + ((t - start) / span) * (W - 100);
  rows.forEach((sup, i) => {
    const y = i * rowH;
    const s = sups.get(sup);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 2); label.setAttribute("y", y + 15);
    label.textContent = s ? `${s.id || sup} ${s.intensity ?? ""}/${s.period ?? ""}s` : sup;
    svg.append(label);
    if (s && s.period) {
      const win = document.createElementNS(ns, "rect");
      win.setAttribute("x", x(end - s.period * 1000)); win.setAttribute("y", y + 3);
      win.setAttribute("width", Math.max(2, x(end) - x(end - s.period * 1000))); win.setAttribute("height", rowH - 6);
      win.setAttribute("class", "window");
      const tip = document.createElementNS(ns, "title");
      tip.textContent = `intensity window: at most ${s.intensity} restarts in ${s.period}s`;
      win.append(tip);
      svg.append(win);
    }
    for (const r of recs.filter((r) => r.supervisor === sup)) {
      const m = document.createElementNS(ns, "circle");
      m.setAttribute("cx", x(Date.parse(r.time))); m.setAttribute("cy", y + rowH / 2);
      m.setAttribute("r", 5);
      m.setAttribute("class", "mark " + r.kind);
      const tip = document.createElementNS(ns, "title");
      tip.textContent = `${r.kind} ${r.child_id || ""} ${r.reason} at ${new Date(r.time).toLocaleTimeString()}`;
      m.append(tip);
      svg.append(m);
    }
  });
  const axis = document.createElementNS(ns, "text");
  axis.setAttribute("x", W - 4); axis.setAttribute("y", H - 3); axis.setAttribute("text-anchor", "end");
  axis.setAttribute("class", "axis");
  axis.textContent = `last ${Math.round(span / 1000)}s`;
  svg.append(axis);
  container.append(svg);
}
