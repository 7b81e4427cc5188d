// validate_obs.js MODULES ROOT [OUT]: checks the observability files of the
// repository at ROOT offline, and exits 1 on any error. Run by
// validate_obs.sh, which says what MODULES is (js-yaml, from the npm
// packages validate_k8s.sh uses).
//
//   deploy/grafana/offload-dashboard.json  a Grafana dashboard (schemaVersion
//       36..39) for import: a ${DS_PROMETHEUS} datasource input every panel
//       and variable uses; panels with unique ids on the 24-column grid,
//       none overlapping; every target a refId and an expr;
//   deploy/k8s/**/*.yaml  the queries of KEDA prometheus triggers;
//   deploy/prometheus.yml  scrape configs; a job that keeps the pods the
//       manifests annotate (prometheus.io/scrape, /port, /path), reading
//       exactly those annotations;
// and in every PromQL expression (panels, variables, triggers) only metric
// names of the gateway's GET /metrics (the interface below, and
// offload_<counter>_total for every counter of gateway/stats.h), each one
// documented in docs/*.md (a histogram's _bucket, _sum and _count by its
// family's name).
//
// With OUT, writes there what promtool can check further: OUT/rules.yml
// (every expression as a recording rule, Grafana's variables replaced)
// and OUT/prometheus.yml (the scrape config with Kubernetes discovery
// replaced by a static target: Debian's promtool has no Kubernetes
// discovery).
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const [modules, rootArg, out] = process.argv.slice(2);
if (!modules || !rootArg) {
    console.error("usage: validate_obs.js MODULES ROOT [OUT]");
    process.exit(2);
}
const root = path.resolve(rootArg);
const yaml = createRequire(path.join(path.resolve(modules), "x.js"))("js-yaml");

let errors = 0;
function fail(where, msg) {
    console.log(`obs: ${where}: ${msg}`);
    errors++;
}
const read = (rel) => fs.readFileSync(path.join(root, rel), "utf8");

// The metric names of GET /metrics (the interface issue 17 fixed for every
// part that renders or reads them), besides offload_<counter>_total.
const INTERFACE = [
    "offload_jobs_total", "offload_queue_waiting", "offload_queue_capacity", "offload_queue_busy",
    "offload_job_wait_seconds_bucket", "offload_job_wait_seconds_sum", "offload_job_wait_seconds_count",
    "offload_job_run_seconds_bucket", "offload_job_run_seconds_sum", "offload_job_run_seconds_count",
    "offload_executors", "offload_http_requests_total", "offload_refusals_total",
    "offload_frames_dropped_total", "offload_pool_workers", "offload_pool_respawns_total",
    "offload_pool_kills_total", "offload_pool_rss_bytes", "process_resident_memory_bytes",
    "process_open_fds", "process_max_fds", "process_cpu_seconds_total",
    "process_start_time_seconds", "offload_up", "offload_build_info",
];
const known = new Set(INTERFACE);
for (const [, name] of read("gateway/stats.h").matchAll(/^\s*X\((\w+),/gm))
    known.add(`offload_${name}_total`);

// Every `name` in backticks in docs/*.md.
const documented = new Set();
for (const f of fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")))
    for (const [, name] of read(`docs/${f}`).matchAll(/`((?:offload|process)_[a-z0-9_]+)/g))
        documented.add(name);
const family = (n) => n.replace(/_(bucket|sum|count)$/, "");

const KEYWORDS = new Set(["bool", "offset", "and", "or", "unless", "inf", "nan", "Inf", "NaN"]);
// The metric names an expression reads: identifiers outside strings, label
// matchers, ranges and grouping clauses, not called as functions.
function metricNames(expr) {
    const e = expr
        .replace(/"(?:[^"\\]|\\.)*"/g, '""')
        .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?/g, " ")
        .replace(/\{[^}]*\}/g, " ")
        .replace(/\[[^\]]*\]/g, " ")
        .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
    const names = [];
    for (const m of e.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
        const before = e[m.index - 1] || " ";
        if (/[0-9.]/.test(before) || KEYWORDS.has(m[0])) continue; // 1e3, 0.5
        if (/^\s*\(/.test(e.slice(m.index + m[0].length))) continue; // a function
        names.push(m[0]);
    }
    return names;
}

const rules = []; // [name, expr] for promtool
function checkExpr(where, expr) {
    if (typeof expr !== "string" || !expr.trim()) {
        fail(where, "no expression");
        return;
    }
    const names = metricNames(expr);
    if (!names.length) fail(where, `"${expr}" reads no metric`);
    for (const n of names) {
        if (!known.has(n)) fail(where, `metric ${n} is not one the gateway serves`);
        else if (!documented.has(n) && !documented.has(family(n)))
            fail(where, `metric ${n} is documented in no docs/*.md`);
    }
    rules.push([where, expr]);
}

// ---- the dashboard ------------------------------------------------------
const DASH = "deploy/grafana/offload-dashboard.json";
const PANEL_TYPES = new Set(["row", "timeseries", "stat", "gauge", "bargauge", "table", "text"]);
let dash = null;
try {
    dash = JSON.parse(read(DASH));
} catch (e) {
    fail(DASH, `not JSON: ${e.message}`);
}
if (dash) {
    const ds = (where, d) => {
        if (!d || d.type !== "prometheus" || d.uid !== "${DS_PROMETHEUS}")
            fail(where, 'datasource is not {"type":"prometheus","uid":"${DS_PROMETHEUS}"}');
    };
    if (!(dash.schemaVersion >= 36 && dash.schemaVersion <= 39))
        fail(DASH, `schemaVersion ${dash.schemaVersion} (36..39 expected)`);
    for (const k of ["title", "uid"])
        if (typeof dash[k] !== "string" || !dash[k]) fail(DASH, `no ${k}`);
    if (dash.id !== null) fail(DASH, "id must be null in a dashboard for import");
    const input = (dash.__inputs || []).find((i) => i.name === "DS_PROMETHEUS");
    if (!input || input.type !== "datasource" || input.pluginId !== "prometheus")
        fail(DASH, "no __inputs entry DS_PROMETHEUS (a prometheus datasource)");
    if (!dash.time || !dash.templating || !Array.isArray(dash.templating.list))
        fail(DASH, "no time or templating.list");
    for (const v of (dash.templating && dash.templating.list) || []) {
        const where = `${DASH} variable ${v.name}`;
        if (v.type !== "query") continue;
        ds(where, v.datasource);
        const q = typeof v.query === "string" ? v.query : v.query && v.query.query;
        const m = /^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/.exec(q || "");
        if (!m) fail(where, `query "${q}" is not label_values(EXPR, LABEL)`);
        else checkExpr(where, m[1]);
    }
    const ids = new Set();
    const cells = new Map(); // "x,y" -> panel title
    const panels = [];
    for (const p of dash.panels || []) {
        panels.push(p);
        for (const q of p.panels || []) panels.push(q); // a collapsed row's
    }
    if (!panels.length) fail(DASH, "no panels");
    for (const p of panels) {
        const where = `${DASH} panel ${p.id} "${p.title}"`;
        if (!Number.isInteger(p.id) || ids.has(p.id)) fail(where, "id missing or not unique");
        ids.add(p.id);
        if (!PANEL_TYPES.has(p.type)) fail(where, `type "${p.type}" unknown`);
        if (typeof p.title !== "string" || !p.title) fail(where, "no title");
        const g = p.gridPos || {};
        if (![g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n) && n >= 0) || g.w < 1 ||
            g.h < 1 || g.x + g.w > 24) {
            fail(where, `gridPos ${JSON.stringify(g)} is not on the 24-column grid`);
            continue;
        }
        for (let x = g.x; x < g.x + g.w; x++)
            for (let y = g.y; y < g.y + g.h; y++) {
                const at = `${x},${y}`;
                if (cells.has(at)) fail(where, `overlaps panel "${cells.get(at)}" at ${at}`);
                cells.set(at, p.title);
            }
        if (p.type === "row" || p.type === "text") continue;
        ds(where, p.datasource);
        const refs = new Set();
        if (!Array.isArray(p.targets) || !p.targets.length) fail(where, "no targets");
        for (const t of p.targets || []) {
            if (!t.refId || refs.has(t.refId)) fail(where, `refId ${t.refId} missing or twice`);
            refs.add(t.refId);
            if (t.datasource) ds(`${where} target ${t.refId}`, t.datasource);
            checkExpr(`${where} target ${t.refId}`, t.expr);
        }
    }
}

// ---- KEDA prometheus triggers -------------------------------------------
(function walk(dir) {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(rel);
        if (!/\.ya?ml$/.test(e.name)) continue;
        let docs = [];
        try {
            docs = yaml.loadAll(read(rel)).filter(Boolean);
        } catch (err) {
            fail(rel, `YAML: ${err.message.split("\n")[0]}`);
        }
        for (const d of docs) {
            if (d.kind !== "ScaledObject") continue;
            for (const t of (d.spec && d.spec.triggers) || [])
                if (t.type === "prometheus")
                    checkExpr(`${rel} trigger ${t.name}`, t.metadata && t.metadata.query);
        }
    }
})("deploy/k8s");

// ---- the scrape config ----------------------------------------------------
const PROM = "deploy/prometheus.yml";
let prom = null;
try {
    prom = yaml.load(read(PROM));
} catch (e) {
    fail(PROM, `YAML: ${e.message.split("\n")[0]}`);
}
if (prom) {
    const jobs = prom.scrape_configs || [];
    if (!jobs.length) fail(PROM, "no scrape_configs");
    // The annotations the manifests put on pod templates.
    const annotated = new Set();
    (function walk(dir) {
        for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const rel = `${dir}/${e.name}`;
            if (e.isDirectory()) walk(rel);
            else if (/\.ya?ml$/.test(e.name))
                for (const d of yaml.loadAll(read(rel)).filter(Boolean)) {
                    const a = d.spec && d.spec.template && d.spec.template.metadata &&
                        d.spec.template.metadata.annotations;
                    for (const k of Object.keys(a || {})) if (k.startsWith("prometheus.io/")) annotated.add(k);
                }
        }
    })("deploy/k8s");
    const meta = (a) => `__meta_kubernetes_pod_annotation_${a.replace(/[^A-Za-z0-9]/g, "_")}`;
    const pods = jobs.filter((j) => (j.kubernetes_sd_configs || []).some((s) => s.role === "pod"));
    if (!pods.length) fail(PROM, "no job discovers pods (kubernetes_sd_configs role: pod)");
    for (const j of pods) {
        const where = `${PROM} job ${j.job_name}`;
        const sources = new Set((j.relabel_configs || []).flatMap((r) => r.source_labels || []));
        const keep = (j.relabel_configs || []).some((r) => r.action === "keep" &&
            (r.source_labels || []).includes(meta("prometheus.io/scrape")) && r.regex === "true");
        if (!keep) fail(where, `keeps no pods by their prometheus.io/scrape: "true" annotation`);
        for (const a of annotated)
            if (!sources.has(meta(a))) fail(where, `reads no ${meta(a)}: the manifests' ${a} is ignored`);
        for (const s of sources)
            if (s.startsWith("__meta_kubernetes_pod_annotation_prometheus_io_") &&
                ![...annotated].some((a) => meta(a) === s))
                fail(where, `reads ${s}, which no manifest sets`);
    }
    if (out) {
        const copy = JSON.parse(JSON.stringify(prom));
        for (const j of copy.scrape_configs || [])
            if (j.kubernetes_sd_configs) {
                delete j.kubernetes_sd_configs;
                j.static_configs = [{ targets: ["pod.invalid:8080"] }];
            }
        fs.writeFileSync(path.join(out, "prometheus.yml"), yaml.dump(copy));
    }
}

if (out) {
    const vars = (e) => e.replace(/\$__rate_interval|\$\{__rate_interval\}/g, "1m")
        .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, ".*");
    const group = { name: "offload-exprs", rules: rules.map(([, e], i) => ({ record: `offload:expr_${i}`, expr: vars(e) })) };
    fs.writeFileSync(path.join(out, "rules.yml"), yaml.dump({ groups: [group] }));
    fs.writeFileSync(path.join(out, "rules.where"), rules.map(([w], i) => `offload:expr_${i} ${w}`).join("\n") + "\n");
}

console.log(errors ? `obs: ${errors} errors` : `obs: ${rules.length} expressions valid`);
process.exit(errors ? 1 : 0);
