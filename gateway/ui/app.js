// app.js -- the offload dashboard (GET /ui/app.js): reads GET /v1/events
// (Server-Sent Events, one `snapshot` a second) through fetch, so that the
// bearer token goes in the Authorization header (EventSource cannot send
// one), and draws each snapshot: summary tiles, per-queue charts of
// capacity, busy and waiting, rates from the differences of successive
// snapshots' counters, latency percentiles, executors and their pools,
// the recent failures. Fields a gateway does not send yet show "–".
// No library, no other host; text from the server goes in as textContent.
"use strict";

(function () {
  const HISTORY = 120; // points kept for the charts: 2 minutes
  const TOKEN_KEY = "offload.token";
  const STALE_MS = 5000; // no snapshot for this long: reconnect
  const MAX_BUFFER = 8 << 20; // an event larger than this is not ours
  const DASH = "–";

  const $ = (id) => document.getElementById(id);
  const state = {
    prev: null, // the snapshot before
    total: [], // [{ok, err, rej}] jobs/s, oldest first
    queues: new Map(), // name -> {card, fields, canvas, hist: [{cap, busy, wait}]}
    snapshots: 0,
    retryMs: 1000,
    abort: null,
    watchdog: 0,
    colors: null,
  };

  // ---- formatting ------------------------------------------------------

  function num(v) {
    return typeof v === "number" && isFinite(v);
  }
  function fmtInt(v) {
    return num(v) ? Math.round(v).toLocaleString("en-US") : DASH;
  }
  function fmtRate(v) {
    if (!num(v)) return DASH;
    if (v === 0) return "0";
    return v >= 100 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function fmtPct(v) {
    if (!num(v)) return DASH;
    return v === 0 ? "0%" : v < 0.001 ? "<0.1%" : (v * 100).toFixed(1) + "%";
  }
  function fmtUs(v) {
    if (!num(v)) return DASH;
    if (v < 1000) return Math.round(v) + " µs";
    if (v < 1e6) return (v / 1000).toFixed(v < 1e4 ? 2 : 1) + " ms";
    return (v / 1e6).toFixed(2) + " s";
  }
  function fmtBytes(v) {
    if (!num(v)) return DASH;
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (v >= 1024 && i < u.length - 1) {
      v /= 1024;
      i++;
    }
    return (i ? v.toFixed(1) : String(v)) + " " + u[i];
  }
  function fmtDuration(ms) {
    if (!num(ms)) return DASH;
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }
  function fmtTime(ms) {
    if (!num(ms)) return DASH;
    const d = new Date(ms);
    const p = (n, w) => String(n).padStart(w || 2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
  }
  // "last_seen_ms": an age in ms, or (if a gateway sends one) a time since the epoch.
  function fmtSeen(v, now) {
    if (!num(v)) return DASH;
    const age = v > 1e12 ? Math.max(0, now - v) : v;
    return age < 1000 ? age + " ms ago" : (age / 1000).toFixed(1) + " s ago";
  }
  function pct(obj, key) {
    return obj && typeof obj === "object" && num(obj[key]) ? obj[key] : null;
  }

  // ---- DOM helpers -----------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function setText(e, text) {
    const t = String(text);
    if (e.textContent !== t) e.textContent = t;
  }
  function td(row, text, cls) {
    const c = el("td", cls, text);
    row.appendChild(c);
    return c;
  }
  function setConn(s, text) {
    const c = $("conn");
    c.dataset.state = s;
    setText(c, text);
  }

  // ---- charts ------------------------------------------------------------

  function colors() {
    if (!state.colors) {
      const cs = getComputedStyle(document.documentElement);
      const v = (n) => cs.getPropertyValue(n).trim();
      state.colors = {
        ok: v("--ok"), err: v("--err"), rej: v("--rej"), cap: v("--cap"),
        busy: v("--busy"), wait: v("--wait"), grid: v("--grid"), muted: v("--muted"),
      };
    }
    return state.colors;
  }

  // A "nice" top for a y axis: 1, 2 or 5 times a power of ten, >= v.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  // Draws series (each {values, color, fill, step, dash}) over HISTORY
  // points, the newest at the right edge, with a y axis from 0.
  function drawChart(canvas, series) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 300;
    const h = canvas.clientHeight || 80;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext("2d");
    const c = colors();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    let max = 0;
    for (const s of series) for (const v of s.values) if (num(v) && v > max) max = v;
    const top = niceMax(max);
    const left = 34, right = w - 2, y0 = h - 12, y1 = 4;
    const x = (i) => right - (HISTORY - 1 - i) * ((right - left) / (HISTORY - 1));
    const y = (v) => y0 - (v / top) * (y0 - y1);
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = c.muted;
    ctx.strokeStyle = c.grid;
    ctx.lineWidth = 1;
    for (const f of [0, 0.5, 1]) {
      const yy = Math.round(y(top * f)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, yy);
      ctx.lineTo(right, yy);
      ctx.stroke();
      const label = top * f;
      ctx.fillText(label >= 1000 ? (label / 1000).toFixed(label >= 10000 ? 0 : 1) + "k" : String(+label.toFixed(2)), 2, yy + 3);
    }
    ctx.fillText(HISTORY + " s ago", left, h - 1);
    ctx.fillText("now", right - 18, h - 1);
    for (const s of series) {
      const n = s.values.length;
      if (!n) continue;
      const off = HISTORY - n;
      ctx.beginPath();
      let started = false, lastY = 0;
      for (let i = 0; i < n; i++) {
        const v = s.values[i];
        if (!num(v)) continue;
        const xx = x(off + i), yy = y(v);
        if (!started) {
          ctx.moveTo(xx, yy);
          started = true;
        } else if (s.step) {
          ctx.lineTo(xx, lastY);
          ctx.lineTo(xx, yy);
        } else {
          ctx.lineTo(xx, yy);
        }
        lastY = yy;
      }
      if (!started) continue;
      ctx.setLineDash(s.dash || []);
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.5;
      ctx.stroke();
      ctx.setLineDash([]);
      if (s.fill) {
        ctx.lineTo(x(off + n - 1), y0);
        ctx.lineTo(x(off), y0);
        ctx.closePath();
        ctx.globalAlpha = 0.18;
        ctx.fillStyle = s.color;
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.fillStyle = c.muted;
      }
    }
  }

  function push(arr, v) {
    arr.push(v);
    if (arr.length > HISTORY) arr.shift();
  }

  // ---- a snapshot --------------------------------------------------------

  // Counters per second between two snapshots (0 when a counter went back:
  // a queue freed and made again).
  function rate(cur, prev, dt) {
    if (!num(cur) || !num(prev) || !(dt > 0)) return null;
    return cur >= prev ? (cur - prev) / dt : 0;
  }

  function queueCard(name) {
    const card = el("article", "queue");
    card.dataset.queue = name;
    const head = el("header");
    head.appendChild(el("h3", null, name));
    const kind = el("span", "kind", DASH);
    head.appendChild(kind);
    const now = el("span", "now");
    head.appendChild(now);
    card.appendChild(head);
    const canvas = el("canvas");
    canvas.height = 80;
    card.appendChild(canvas);
    const dl = el("dl");
    const fields = {};
    const items = [
      ["capacity", "capacity"], ["busy", "busy"], ["waiting", "waiting"], ["executors", "executors"],
      ["tput", "jobs/s"], ["errs", "errors/s"], ["errrate", "error rate"], ["rejs", "refused/s"],
      ["wait_p50", "wait p50"], ["wait_p90", "wait p90"], ["wait_p99", "wait p99"], ["max_payload", "max payload"],
      ["run_p50", "run p50"], ["run_p90", "run p90"], ["run_p99", "run p99"], ["submitted", "submitted"],
      ["completed", "completed"], ["failed", "failed"], ["timeouts", "timeouts"], ["rejected", "rejected"],
    ];
    for (const [k, label] of items) {
      const d = el("div");
      d.appendChild(el("dt", null, label));
      const dd = el("dd", null, DASH);
      dd.dataset.k = k;
      d.appendChild(dd);
      dl.appendChild(d);
      fields[k] = dd;
    }
    card.appendChild(dl);
    return { card, fields, kind, now, canvas, hist: { cap: [], busy: [], wait: [] } };
  }

  function renderQueues(snap, prev, dt) {
    const box = $("queues");
    const list = (Array.isArray(snap.queues) ? snap.queues : []).filter((q) => q && typeof q.name === "string");
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const prevBy = new Map();
    if (prev && Array.isArray(prev.queues)) for (const q of prev.queues) if (q && q.name) prevBy.set(q.name, q);
    const seen = new Set();
    let order = 0;
    for (const q of list) {
      seen.add(q.name);
      let v = state.queues.get(q.name);
      if (!v) {
        v = queueCard(q.name);
        state.queues.set(q.name, v);
      }
      // In name order: move the card if it is not where it belongs.
      if (box.children[order] !== v.card) box.insertBefore(v.card, box.children[order] || null);
      order++;
      const p = prevBy.get(q.name);
      const ok = p ? rate(q.completed, p.completed, dt) : null;
      const bad = p ? rate((q.failed || 0) + (q.timeouts || 0), (p.failed || 0) + (p.timeouts || 0), dt) : null;
      const rej = p ? rate(q.rejected, p.rejected, dt) : null;
      const f = v.fields;
      setText(v.kind, q.kind || "no executor");
      setText(v.now, fmtInt(q.busy) + " / " + fmtInt(q.capacity) + " busy, " + fmtInt(q.waiting) + " waiting");
      setText(f.capacity, fmtInt(q.capacity));
      setText(f.busy, fmtInt(q.busy));
      setText(f.waiting, fmtInt(q.waiting));
      setText(f.executors, fmtInt(q.executors));
      setText(f.tput, fmtRate(ok));
      setText(f.errs, fmtRate(bad));
      setText(f.errrate, num(ok) && num(bad) ? (ok + bad > 0 ? fmtPct(bad / (ok + bad)) : "0%") : DASH);
      setText(f.rejs, fmtRate(rej));
      for (const k of ["p50", "p90", "p99"]) {
        setText(f["wait_" + k], fmtUs(pct(q.wait_us, k)));
        setText(f["run_" + k], fmtUs(pct(q.run_us, k)));
      }
      setText(f.max_payload, q.max_payload ? fmtBytes(q.max_payload) : DASH);
      for (const k of ["submitted", "completed", "failed", "timeouts", "rejected"]) setText(f[k], fmtInt(q[k]));
      push(v.hist.cap, num(q.capacity) ? q.capacity : null);
      push(v.hist.busy, num(q.busy) ? q.busy : null);
      push(v.hist.wait, num(q.waiting) ? q.waiting : null);
      const c = colors();
      drawChart(v.canvas, [
        { values: v.hist.busy, color: c.busy, fill: true, step: true },
        { values: v.hist.cap, color: c.cap, step: true, dash: [4, 3] },
        { values: v.hist.wait, color: c.wait, step: true },
      ]);
    }
    for (const [name, v] of state.queues) {
      if (!seen.has(name)) {
        v.card.remove();
        state.queues.delete(name);
      }
    }
    const empty = box.querySelector(".empty");
    if (list.length && empty) empty.remove();
    if (!list.length && !empty) box.appendChild(el("p", "empty", "No queue yet."));
  }

  function poolsTable(pools) {
    if (!Array.isArray(pools) || !pools.length) return null;
    const t = el("table", "pools");
    const hr = el("tr");
    for (const h of ["queue", "kind", "size", "alive", "busy", "respawns", "kills", "rss"]) hr.appendChild(el("th", null, h));
    t.appendChild(hr);
    for (const p of pools) {
      const r = el("tr");
      const kills = p && p.kills && typeof p.kills === "object" ? p.kills : null;
      let ksum = null, kdesc = "";
      if (kills) {
        ksum = 0;
        for (const [k, n] of Object.entries(kills)) {
          if (num(n)) ksum += n;
          kdesc += (kdesc ? ", " : "") + k + " " + n;
        }
      }
      td(r, p.queue || DASH);
      td(r, p.kind || DASH);
      td(r, fmtInt(p.size));
      td(r, fmtInt(p.alive));
      td(r, fmtInt(p.busy));
      td(r, fmtInt(p.respawns));
      td(r, fmtInt(ksum)).title = kdesc;
      td(r, num(p.rss_bytes) ? fmtBytes(p.rss_bytes) : DASH);
      t.appendChild(r);
    }
    return t;
  }

  function renderExecutors(snap) {
    const body = $("executors").tBodies[0];
    const list = Array.isArray(snap.executors) ? snap.executors.slice() : [];
    list.sort((a, b) => String(a.id).localeCompare(String(b.id)));
    const rows = [];
    for (const e of list) {
      if (!e) continue;
      const r = el("tr");
      r.dataset.exec = String(e.id);
      td(r, e.id, "mono");
      td(r, e.state || DASH, e.state ? "state-" + e.state : null);
      td(r, Array.isArray(e.queues) ? e.queues.join(", ") : DASH, "mono");
      td(r, fmtSeen(e.last_seen_ms, snap.t), "num");
      const cell = td(r, null);
      const t = poolsTable(e.pools);
      if (t) cell.appendChild(t);
      else setText(cell, Array.isArray(e.pools) ? "no pool stats yet" : DASH);
      rows.push(r);
    }
    if (!rows.length) {
      const r = el("tr", "empty");
      td(r, "No executor registered.").colSpan = 5;
      rows.push(r);
    }
    body.replaceChildren(...rows);
  }

  function renderFailures(snap) {
    const body = $("failures").tBodies[0];
    const list = Array.isArray(snap.failures) ? snap.failures : [];
    const key = list.length ? list.length + ":" + list[0].job_id + ":" + list[0].at_ms : "0";
    if (body.dataset.key === key) return; // unchanged
    body.dataset.key = key;
    const rows = [];
    for (const f of list) {
      if (!f) continue;
      const r = el("tr");
      r.dataset.job = String(f.job_id);
      td(r, fmtTime(f.at_ms), "num");
      td(r, f.job_id, "mono");
      td(r, f.queue, "mono");
      td(r, f.function, "mono");
      td(r, f.error, "err-code");
      td(r, f.executor || DASH, "mono");
      td(r, f.message, "msg");
      rows.push(r);
    }
    if (!rows.length) {
      const r = el("tr", "empty");
      td(r, "No failure.").colSpan = 7;
      rows.push(r);
    }
    body.replaceChildren(...rows);
  }

  function renderGateway(st) {
    const dl = $("gateway");
    const keys = ["id", "uptime_ms", "executors", "jobs_in_flight", "held_bytes", "held_bytes_peak",
      "max_held_bytes", "http_requests", "client_requests", "jobs_failed", "jobs_lost", "jobs_retried",
      "callers_gone", "executors_lost", "http_unauthorized", "loop_turn_max_us", "loop_overrun_turns",
      "event_streams", "event_streams_refused", "event_snapshots_skipped", "event_streams_stalled"];
    if (!dl.children.length) {
      for (const k of keys) {
        const d = el("div");
        d.appendChild(el("dt", null, k));
        const dd = el("dd", null, DASH);
        dd.dataset.k = k;
        d.appendChild(dd);
        dl.appendChild(d);
      }
    }
    for (const dd of dl.querySelectorAll("dd")) {
      const k = dd.dataset.k, v = st[k];
      let text;
      if (v === undefined || v === null) text = DASH;
      else if (k.includes("_bytes")) text = fmtBytes(v);
      else if (k.endsWith("_us")) text = fmtUs(v);
      else if (k === "uptime_ms") text = fmtDuration(v);
      else text = num(v) ? fmtInt(v) : String(v);
      setText(dd, text);
    }
  }

  function sum(list, key) {
    let s = 0;
    for (const q of list) if (q && num(q[key])) s += q[key];
    return s;
  }

  function onSnapshot(snap) {
    if (!snap || typeof snap !== "object") return;
    const prev = state.prev;
    const dt = prev && num(snap.t) && num(prev.t) ? (snap.t - prev.t) / 1000 : 0;
    const st = snap.stats && typeof snap.stats === "object" ? snap.stats : {};
    const ps = prev && prev.stats ? prev.stats : {};
    const qs = Array.isArray(snap.queues) ? snap.queues : [];
    const pq = prev && Array.isArray(prev.queues) ? prev.queues : [];

    setText($("gw-id"), st.id || DASH);
    setText($("uptime"), fmtDuration(st.uptime_ms));
    const ok = prev ? rate(sum(qs, "completed"), sum(pq, "completed"), dt) : null;
    const bad = prev
      ? num(st.jobs_failed) && num(ps.jobs_failed)
        ? rate(st.jobs_failed, ps.jobs_failed, dt)
        : rate(sum(qs, "failed") + sum(qs, "timeouts"), sum(pq, "failed") + sum(pq, "timeouts"), dt)
      : null;
    const rej = prev ? rate(sum(qs, "rejected"), sum(pq, "rejected"), dt) : null;
    setText($("tput"), fmtRate(ok));
    setText($("errs"), fmtRate(bad));
    setText($("errrate"), num(ok) && num(bad) ? (ok + bad > 0 ? fmtPct(bad / (ok + bad)) : "0%") : DASH);
    setText($("httprate"), prev ? fmtRate(rate(st.http_requests, ps.http_requests, dt)) : DASH);
    setText($("inflight"), fmtInt(st.jobs_in_flight));
    setText($("waiting"), fmtInt(sum(qs, "waiting")));
    setText($("nexec"), fmtInt(num(st.executors) ? st.executors : Array.isArray(snap.executors) ? snap.executors.length : null));
    setText($("held"), fmtBytes(st.held_bytes));

    if (prev) {
      push(state.total, { ok, bad, rej });
      const c = colors();
      drawChart($("chart-total"), [
        { values: state.total.map((p) => p.ok), color: c.ok, fill: true },
        { values: state.total.map((p) => p.bad), color: c.err },
        { values: state.total.map((p) => p.rej), color: c.rej, dash: [4, 3] },
      ]);
    }
    renderQueues(snap, prev, dt);
    renderExecutors(snap);
    renderFailures(snap);
    renderGateway(st);
    state.prev = snap;
    state.snapshots++;
    document.body.dataset.snapshots = String(state.snapshots);
  }

  // ---- the stream ------------------------------------------------------

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (e) {
      return "";
    }
  }

  function saveToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage off: the token lives in this page only */
    }
    state.token = t;
  }

  // A token in the address (/ui#token=...) is taken and removed from it:
  // a fragment never reaches the server or its logs.
  function tokenFromHash() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return;
    saveToken(decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function retry(why, afterMs) {
    const ms = afterMs || state.retryMs;
    state.retryMs = Math.min(state.retryMs * 2, 10000);
    setConn("retry", why + ": retrying in " + Math.round(ms / 1000) + " s");
    setTimeout(connect, ms);
  }

  function handleEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (name !== "snapshot" || !data.length) return;
    let snap;
    try {
      snap = JSON.parse(data.join("\n"));
    } catch (e) {
      return;
    }
    clearTimeout(state.watchdog);
    state.watchdog = setTimeout(() => state.abort && state.abort.abort(), STALE_MS);
    state.retryMs = 1000;
    setConn("live", "live");
    onSnapshot(snap);
  }

  async function connect() {
    const headers = { Accept: "text/event-stream" };
    const t = state.token !== undefined ? state.token : token();
    if (t) headers.Authorization = "Bearer " + t;
    const ac = new AbortController();
    state.abort = ac;
    let res;
    try {
      res = await fetch("/v1/events", { headers, cache: "no-store", signal: ac.signal });
    } catch (e) {
      return retry("cannot reach the gateway");
    }
    if (res.status === 401 || res.status === 403) {
      const form = $("token-form");
      form.hidden = false;
      setConn("token", res.status === 401 ? (t ? "token refused" : "token needed") : "token not allowed here");
      return;
    }
    if (!res.ok) {
      let msg = "HTTP " + res.status;
      try {
        const j = await res.json();
        if (j && j.error) msg = j.error;
      } catch (e) {
        /* not JSON */
      }
      const after = parseInt(res.headers.get("Retry-After") || "", 10);
      setConn("refused", msg);
      return retry(msg, num(after) && after > 0 ? after * 1000 : undefined);
    }
    $("token-form").hidden = true;
    setConn("live", "connected");
    state.watchdog = setTimeout(() => ac.abort(), STALE_MS);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          handleEvent(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
        if (buf.length > MAX_BUFFER) {
          ac.abort();
          break;
        }
      }
    } catch (e) {
      /* aborted (stale) or the connection broke */
    }
    clearTimeout(state.watchdog);
    retry("stream ended");
  }

  // The renderer, for tests and the console: render(snapshot) draws one as
  // if it came from the stream (the next real one replaces it).
  window.offloadDashboard = Object.freeze({ render: onSnapshot });

  document.addEventListener("DOMContentLoaded", () => {
    tokenFromHash();
    $("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      saveToken($("token").value.trim());
      $("token").value = "";
      $("token-form").hidden = true;
      setConn("connecting", "connecting…");
      connect();
    });
    window.addEventListener("resize", () => {
      state.colors = null;
    });
    connect();
  });
})();
