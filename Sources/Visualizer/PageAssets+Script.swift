extension PageAssets {
    /// The page's logic: applies the feed's updates (the first whole, then
    /// changes) to its maps and redraws only the boxes that changed, so
    /// that focus and scroll stay put. Text is set with textContent, never
    /// as HTML (labels and names are the users').
    static let js = #"""
    "use strict";
    const nodes = new Map(), services = new Map(), tasks = new Map();
    const columns = new Map(), boxes = new Map();
    let offset = 0, index = 0;
    const $ = (id) => document.getElementById(id);
    const board = $("board"), totals = $("totals"), status = $("status"), stackSelect = $("stack"), serviceSelect = $("service");

    function el(tag, cls, text) {
      const e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    }

    function filters() {
      const p = new URLSearchParams(location.hash.slice(1));
      return { stack: p.get("stack") || "", service: p.get("service") || "" };
    }

    function hue(name) {
      let h = 0;
      for (const c of name) h = (h * 31 + c.codePointAt(0)) >>> 0;
      return (h * 137) % 360;
    }

    function memory(bytes) {
      if (!bytes) return "–";
      const gib = bytes / 1073741824;
      return gib >= 1 ? gib.toFixed(1) + " GiB" : Math.round(bytes / 1048576) + " MiB";
    }

    function age(since) {
      const s = Math.max(0, Math.round((Date.now() + offset - since) / 1000));
      if (s < 60) return s + " s";
      if (s < 3600) return Math.floor(s / 60) + " min";
      if (s < 86400) return Math.floor(s / 3600) + " h";
      return Math.floor(s / 86400) + " d";
    }

    function taskName(t) {
      const s = services.get(t.serviceID);
      const name = s ? s.name : t.serviceID.slice(0, 12);
      return t.slot ? name + "." + t.slot : (t.nodeID ? name + "." + t.nodeID.slice(0, 12) : name);
    }

    function shown(t, f) {
      const s = services.get(t.serviceID);
      if (f.service && (!s || s.name !== f.service)) return false;
      if (f.stack && (!s || s.stack !== f.stack)) return false;
      return true;
    }

    function apply(u) {
      if (u.full) { nodes.clear(); services.clear(); tasks.clear(); }
      offset = u.now - Date.now();
      index = u.index;
      for (const n of u.nodes) nodes.set(n.id, n);
      for (const s of u.services) services.set(s.id, s);
      for (const t of u.tasks) tasks.set(t.id, t);
      for (const id of u.removedNodes) nodes.delete(id);
      for (const id of u.removedServices) services.delete(id);
      for (const id of u.removedTasks) tasks.delete(id);
      render();
    }

    function column(key, node) {
      let c = columns.get(key);
      if (!c) {
        const section = el("section", "node");
        const head = el("div", "head");
        const list = el("ul", "tasks");
        section.append(head, list);
        c = { section, head, list, sig: "" };
        columns.set(key, c);
      }
      const sig = node ? JSON.stringify(node) : "pending";
      if (sig !== c.sig) {
        c.sig = sig;
        c.head.replaceChildren();
        const h = el("h2");
        h.id = "h-" + (key || "pending");
        c.section.setAttribute("aria-labelledby", h.id);
        if (!node) {
          c.section.className = "node pending";
          c.section.dataset.column = "pending";
          h.append("Pending");
          c.head.append(h, el("p", "", "Tasks no node has taken yet, with the scheduler's reason."));
        } else {
          c.section.className = "node" + (node.state === "down" ? " down" : "");
          c.section.dataset.column = "node";
          c.section.dataset.nodeId = node.id;
          c.section.dataset.hostname = node.hostname;
          const dot = el("span", "dot");
          dot.dataset.state = node.state;
          dot.setAttribute("role", "img");
          dot.setAttribute("aria-label", "Status " + node.state);
          h.append(dot, node.hostname);
          if (node.leader) {
            const star = el("span", "leader", "★");
            star.setAttribute("role", "img");
            star.setAttribute("aria-label", "Leader");
            star.title = "Leader";
            h.append(star);
          }
          const facts = el("dl", "facts");
          for (const [k, v] of [["Role", node.role + (node.leader ? " (leader)" : "")], ["Availability", node.availability],
                                ["Status", node.state], ["CPUs", String(node.cpus)], ["Memory", memory(node.memoryBytes)]]) {
            facts.append(el("dt", "", k), el("dd", "", v));
          }
          c.head.append(h, facts);
          const keys = Object.keys(node.labels).sort();
          if (keys.length) {
            const labels = el("ul", "labels");
            labels.setAttribute("aria-label", "Labels");
            for (const k of keys) labels.append(el("li", "", node.labels[k] ? k + "=" + node.labels[k] : k));
            c.head.append(labels);
          }
        }
      }
      return c;
    }

    function box(t) {
      let b = boxes.get(t.id);
      if (!b) {
        const li = el("li", "task");
        li.tabIndex = 0;
        li.dataset.taskId = t.id;
        b = { li, sig: "" };
        boxes.set(t.id, b);
      }
      const s = services.get(t.serviceID);
      const name = taskName(t);
      const sig = JSON.stringify(t) + name;
      if (sig !== b.sig) {
        b.sig = sig;
        const li = b.li;
        li.dataset.service = s ? s.name : "";
        li.dataset.state = t.state;
        li.style.setProperty("--hue", hue(s ? s.name : t.serviceID));
        const time = el("time", "age", age(t.since));
        time.dateTime = new Date(t.since).toISOString();
        time.dataset.since = t.since;
        const line = el("span", "line");
        line.append(el("span", "state", t.state), " ", time);
        li.replaceChildren(el("span", "name", name), el("span", "image", t.image), line);
        const reason = t.err || (t.state === "pending" || t.state === "new" || t.state === "failed" || t.state === "rejected" ? t.message : "");
        if (reason) li.append(el("p", "reason", reason));
        li.setAttribute("aria-label", name + ", " + t.image + ", " + t.state + (reason ? ", " + reason : ""));
      }
      return b.li;
    }

    function place(parent, children) {
      let prev = null;
      for (const child of children) {
        const want = prev ? prev.nextSibling : parent.firstChild;
        if (child !== want) parent.insertBefore(child, want);
        prev = child;
      }
      let extra = prev ? prev.nextSibling : parent.firstChild;
      while (extra) { const next = extra.nextSibling; extra.remove(); extra = next; }
    }

    function options(select, values, current, all) {
      const want = [""].concat(values);
      const have = Array.from(select.options).map((o) => o.value);
      if (want.join("\n") !== have.join("\n")) {
        select.replaceChildren(...want.map((v) => { const o = el("option", "", v || all); o.value = v; return o; }));
      }
      select.value = want.includes(current) ? current : "";
    }

    function render() {
      const f = filters();
      const all = Array.from(services.values());
      options(stackSelect, [...new Set(all.map((s) => s.stack).filter(Boolean))].sort(), f.stack, "All stacks");
      options(serviceSelect, all.filter((s) => !f.stack || s.stack === f.stack).map((s) => s.name).sort(), f.service, "All services");

      const groups = new Map();
      let running = 0, pending = 0, count = 0;
      for (const t of tasks.values()) {
        if (!shown(t, f)) continue;
        const key = t.nodeID && nodes.has(t.nodeID) ? t.nodeID : "";
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(t);
        count++;
        if (t.state === "running") running++;
        if (key === "") pending++;
      }
      const order = (a, b) => (taskName(a) < taskName(b) ? -1 : taskName(a) > taskName(b) ? 1 : 0);
      const sections = [];
      const used = new Set();
      if (groups.has("")) {
        const c = column("", null);
        place(c.list, groups.get("").sort(order).map(box));
        sections.push(c.section);
        used.add("");
      }
      const sorted = Array.from(nodes.values()).sort((a, b) =>
        (a.role === b.role ? 0 : a.role === "manager" ? -1 : 1) || (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
      let ready = 0;
      for (const n of sorted) {
        if (n.state === "ready") ready++;
        const c = column(n.id, n);
        place(c.list, (groups.get(n.id) || []).sort(order).map(box));
        sections.push(c.section);
        used.add(n.id);
      }
      place(board, sections);
      for (const key of columns.keys()) if (!used.has(key)) columns.delete(key);
      for (const [id, b] of boxes) if (!b.li.isConnected) boxes.delete(id);
      totals.textContent = nodes.size + " nodes (" + ready + " ready) · " + services.size + " services · " + count + " tasks (" +
        running + " running, " + pending + " pending)" + (f.stack || f.service ? " · filtered" : "");
      document.body.dataset.index = index;
    }

    function ages() {
      for (const t of board.querySelectorAll("time.age")) t.textContent = age(Number(t.dataset.since));
    }

    function filterChanged() {
      const p = new URLSearchParams();
      const stack = stackSelect.value, service = serviceSelect.value;
      if (stack) p.set("stack", stack);
      if (service) p.set("service", service);
      history.replaceState(null, "", p.toString() ? "#" + p : location.pathname);
      render();
    }

    stackSelect.addEventListener("change", () => { serviceSelect.value = ""; filterChanged(); });
    serviceSelect.addEventListener("change", filterChanged);
    window.addEventListener("hashchange", render);
    setInterval(ages, 1000);

    const feed = new EventSource("events");
    feed.onopen = () => { status.textContent = "Live"; status.className = "status live"; };
    feed.onerror = () => { status.textContent = "Reconnecting…"; status.className = "status lost"; };
    feed.onmessage = (e) => apply(JSON.parse(e.data));

    """#
}
