// validate_k8s.js MODULES DIR: checks the Kubernetes manifests under DIR
// (deploy/k8s) offline, and exits 1 on any error. Run by validate_k8s.sh,
// which says what MODULES is (the npm packages of package.json beside this).
//
// Each directory with a kustomization.yaml is a build: its resources (files,
// or directories with their own kustomization.yaml) are read like kustomize
// reads them, and every object in them is checked
//   - against its kind's schema (Kubernetes 1.x OpenAPI, KEDA's CRDs, as
//     compiled by kubernetes-models): types, required fields, enums, formats
//     such as quantities;
//   - for fields the schema does not know (a typo such as `readinesProbe`),
//     which the API server rejects under kubectl's strict field validation;
//   - and, across one build, for what the API server would accept but would
//     not work: selectors that match no pod template, a Service port or a
//     probe naming a container port that does not exist, an autoscaler or a
//     ScaledObject aimed at a missing Deployment, a mount of an undeclared
//     volume, $(VAR) before VAR is defined, a container that may run as root
//     or write its root filesystem, two objects with one kind and name, a
//     prometheus.io/port annotation naming no container port, a KEDA
//     trigger missing what its scaler needs;
//   - and offload's own rules: the gateway's readiness is GET /readyz and
//     its liveness GET /healthz; the Service executors connect to, and the
//     one a metrics-api trigger reads, publish not-ready addresses (a
//     gateway with no executor is not ready: through a Service that hides
//     it, no executor could ever reach it).
// Every .yaml file under DIR must belong to some build.
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const [modules, rootArg] = process.argv.slice(2);
if (!modules || !rootArg) {
    console.error("usage: validate_k8s.js MODULES DIR");
    process.exit(2);
}
const root = path.resolve(rootArg);
const req = createRequire(path.join(path.resolve(modules), "x.js"));
const yaml = req("js-yaml");

// ajv's English messages, as kubernetes-models words them.
const i18n = createRequire(req.resolve("@kubernetes-models/validate"))("ajv-i18n");

let errors = 0;
const said = new Set(); // a base's error is told once, not once per build
function fail(where, msg) {
    const line = `k8s: ${where}: ${msg}`;
    if (said.has(line)) return;
    said.add(line);
    console.log(line);
    errors++;
}

// apiVersion -> the module path of its models.
function modelPath(apiVersion, kind) {
    if (apiVersion === "v1") return `kubernetes-models/v1/${kind}`;
    if (/^[a-z0-9.]+\.k8s\.io\/|^(apps|autoscaling|batch|policy)\//.test(apiVersion))
        return `kubernetes-models/${apiVersion}/${kind}`;
    if (/^(keda\.sh|eventing\.keda\.sh)\//.test(apiVersion))
        return `@kubernetes-models/keda/${apiVersion}/${kind}`;
    return null;
}

// The compiled validation function of a kind (the model's _schemas module).
const validators = new Map();
function validatorFor(apiVersion, kind) {
    const key = `${apiVersion}/${kind}`;
    if (validators.has(key)) return validators.get(key);
    let fn = null;
    const mp = modelPath(apiVersion, kind);
    if (mp) {
        try {
            const file = req.resolve(mp);
            const m = /require\("((?:\.\.\/)+_schemas\/\w+\.js)"\)/.exec(
                fs.readFileSync(file, "utf8"));
            if (m) fn = req(path.resolve(path.dirname(file), m[1])).validate;
        } catch (e) {
            fn = null;
        }
    }
    validators.set(key, fn);
    return fn;
}

// A copy of value whose objects record which keys the validator looked at.
// A compiled schema reads every property it defines (data.x, even when
// absent) and enumerates the keys of maps (labels, env-like maps): an own
// key of an object it read but never asked about is unknown to the schema.
// An object it never looked into has no schema (free-form): not judged.
function tracked(value, at, records) {
    if (Array.isArray(value)) return value.map((v, i) => tracked(v, `${at}[${i}]`, records));
    if (value === null || typeof value !== "object") return value;
    const target = {};
    for (const [k, v] of Object.entries(value)) target[k] = tracked(v, `${at}.${k}`, records);
    const rec = { at, keys: Object.keys(value), read: new Set(), enumerated: false };
    records.push(rec);
    return new Proxy(target, {
        get(t, k, r) {
            if (typeof k === "string") rec.read.add(k);
            return Reflect.get(t, k, r);
        },
        has(t, k) {
            if (typeof k === "string") rec.read.add(k);
            return Reflect.has(t, k);
        },
        ownKeys(t) {
            rec.enumerated = true;
            return Reflect.ownKeys(t);
        },
    });
}

function checkSchema(doc, where) {
    const fn = validatorFor(doc.apiVersion, doc.kind);
    if (!fn) {
        fail(where, `no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`);
        return;
    }
    const records = [];
    const ok = fn(tracked(doc, doc.kind, records));
    if (!ok) {
        const errs = fn.errors || [];
        i18n.en(errs);
        for (const e of errs) fail(where, `${e.instancePath || "/"} ${e.message || e.keyword}`);
        return; // the validator stopped early: unknown keys are not all known
    }
    for (const rec of records) {
        if (rec.enumerated || rec.read.size === 0) continue;
        for (const k of rec.keys)
            if (!rec.read.has(k)) fail(where, `${rec.at}: unknown field "${k}"`);
    }
}

// The fields of a kustomization.yaml this repository uses or may use.
const KUSTOMIZATION_FIELDS = new Set([
    "apiVersion", "kind", "resources", "labels", "commonLabels", "commonAnnotations",
    "images", "namespace", "namePrefix", "nameSuffix", "patches", "replicas",
    "configMapGenerator", "secretGenerator", "generatorOptions", "components",
]);

function readYaml(file) {
    try {
        return yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d != null);
    } catch (e) {
        fail(path.relative(root, file) || file, `YAML: ${e.message.split("\n")[0]}`);
        return [];
    }
}

// A build's objects: [{doc, where}], and the files it read into `used`.
function build(dir, used, seen = new Set()) {
    const kfile = path.join(dir, "kustomization.yaml");
    const rel = (f) => path.relative(root, f) || ".";
    if (seen.has(dir)) {
        fail(rel(kfile), "resources form a cycle");
        return [];
    }
    seen.add(dir);
    used.add(kfile);
    const [k] = readYaml(kfile);
    if (!k) return [];
    if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization")
        fail(rel(kfile), "not a kustomize.config.k8s.io/v1beta1 Kustomization");
    for (const f of Object.keys(k))
        if (!KUSTOMIZATION_FIELDS.has(f)) fail(rel(kfile), `unknown field "${f}"`);
    let objs = [];
    for (const r of k.resources || []) {
        const p = path.resolve(dir, r);
        if (fs.existsSync(path.join(p, "kustomization.yaml"))) {
            objs = objs.concat(build(p, used, seen));
        } else if (fs.existsSync(p) && fs.statSync(p).isFile()) {
            used.add(p);
            readYaml(p).forEach((doc, i) => objs.push({ doc, where: `${rel(p)}#${i + 1}` }));
        } else {
            fail(rel(kfile), `resource ${r}: no such file or kustomization`);
        }
    }
    for (const img of k.images || []) {
        for (const o of objs) {
            const spec = podSpec(o.doc);
            for (const c of spec ? containersOf(spec) : [])
                if (c.image === img.name)
                    c.image = `${img.newName || img.name}${img.newTag ? ":" + img.newTag : ""}`;
        }
    }
    return objs;
}

function podSpec(doc) {
    if (!doc || !doc.spec) return null;
    if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(doc.kind))
        return doc.spec.template && doc.spec.template.spec;
    if (doc.kind === "Pod") return doc.spec;
    return null;
}
function containersOf(spec) {
    return [...(spec.initContainers || []), ...(spec.containers || [])];
}
function matches(selector, labels) {
    return Object.entries(selector || {}).every(([k, v]) => (labels || {})[k] === v);
}

// What the API server accepts but would not work, within one build.
function checkBuild(name, objs) {
    const byKey = new Map();
    for (const { doc, where } of objs) {
        const key = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
        if (byKey.has(key)) fail(where, `${key} also in ${byKey.get(key).where}`);
        byKey.set(key, { doc, where });
    }
    const deployments = objs.filter((o) => o.doc.kind === "Deployment");
    for (const { doc, where } of objs) {
        const spec = podSpec(doc);
        if (spec) {
            const tmplLabels = doc.spec.template.metadata && doc.spec.template.metadata.labels;
            const sel = doc.spec.selector && doc.spec.selector.matchLabels;
            if (doc.kind !== "Pod" && (!sel || !matches(sel, tmplLabels)))
                fail(where, "spec.selector.matchLabels does not match the pod template's labels");
            const volumes = new Set((spec.volumes || []).map((v) => v.name));
            const psc = spec.securityContext || {};
            for (const c of containersOf(spec)) {
                const cw = `${where} container ${c.name}`;
                const ports = new Set((c.ports || []).map((p) => p.name).filter(Boolean));
                const nums = new Set((c.ports || []).map((p) => p.containerPort));
                for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
                    const p = c[probe] && (c[probe].httpGet || c[probe].tcpSocket);
                    if (p && typeof p.port === "string" && !ports.has(p.port))
                        fail(cw, `${probe} port "${p.port}" is no port of the container`);
                    if (p && typeof p.port === "number" && !nums.has(p.port))
                        fail(cw, `${probe} port ${p.port} is no port of the container`);
                }
                for (const m of c.volumeMounts || [])
                    if (!volumes.has(m.name)) fail(cw, `volumeMount "${m.name}": no such volume`);
                const defined = new Set();
                for (const e of c.env || []) {
                    for (const [, ref] of String(e.value || "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
                        if (!defined.has(ref)) fail(cw, `env ${e.name}: $(${ref}) is not defined before it`);
                    defined.add(e.name);
                }
                const sc = c.securityContext || {};
                if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true)
                    fail(cw, "runAsNonRoot is not true");
                if (!(sc.runAsUser ?? psc.runAsUser))
                    fail(cw, "no runAsUser (the image's user is uid 10001)");
                if (sc.readOnlyRootFilesystem !== true)
                    fail(cw, "readOnlyRootFilesystem is not true");
                if (sc.allowPrivilegeEscalation !== false)
                    fail(cw, "allowPrivilegeEscalation is not false");
            }
        }
        if (doc.kind === "Service") {
            const sel = doc.spec && doc.spec.selector;
            const target = deployments.find((d) => matches(sel, d.doc.spec.template.metadata.labels));
            if (!sel || !target) {
                fail(where, "spec.selector matches no Deployment's pods in this build");
                continue;
            }
            const cs = podSpec(target.doc).containers || [];
            const names = new Set(cs.flatMap((c) => (c.ports || []).map((p) => p.name)));
            for (const p of doc.spec.ports || [])
                if (typeof p.targetPort === "string" && !names.has(p.targetPort))
                    fail(where, `port ${p.name}: targetPort "${p.targetPort}" is no container port of ${target.doc.metadata.name}`);
        }
        if (doc.kind === "ScaledObject" || doc.kind === "HorizontalPodAutoscaler") {
            const ref = (doc.spec && doc.spec.scaleTargetRef) || {};
            const kind = ref.kind || "Deployment";
            if (!byKey.has(`${kind}/${ref.name}`))
                fail(where, `scaleTargetRef ${kind}/${ref.name} is not in this build`);
        }
        if (doc.kind === "ScaledObject") {
            for (const t of (doc.spec && doc.spec.triggers) || []) {
                const md = t.metadata || {};
                if (t.type === "metrics-api") {
                    if (!md.url || !md.valueLocation || md.targetValue === undefined)
                        fail(where, `trigger ${t.name}: metrics-api needs url, valueLocation and targetValue`);
                    else if (Number.isNaN(Number(md.targetValue)))
                        fail(where, `trigger ${t.name}: targetValue "${md.targetValue}" is not a number`);
                    else
                        reachesNotReady(where, `trigger ${t.name}: metrics-api reads ${md.url}`, md.url);
                } else if (t.type === "prometheus") {
                    if (!md.serverAddress || !md.query || md.threshold === undefined)
                        fail(where, `trigger ${t.name}: prometheus needs serverAddress, query and threshold`);
                    else if (!/^https?:\/\/[^/\s]+/.test(md.serverAddress))
                        fail(where, `trigger ${t.name}: serverAddress "${md.serverAddress}" is no http(s) URL`);
                    for (const k of ["threshold", "activationThreshold"])
                        if (md[k] !== undefined && Number.isNaN(Number(md[k])))
                            fail(where, `trigger ${t.name}: ${k} "${md[k]}" is not a number`);
                }
            }
        }
        const annotations = (spec && doc.spec.template.metadata && doc.spec.template.metadata.annotations) || {};
        const scrapePort = annotations["prometheus.io/port"];
        if (spec && scrapePort !== undefined) {
            const nums = new Set(containersOf(spec).flatMap((c) => (c.ports || []).map((p) => String(p.containerPort))));
            if (!nums.has(String(scrapePort)))
                fail(where, `prometheus.io/port ${scrapePort} is no container port of the pod`);
        }
        for (const c of spec ? containersOf(spec) : []) {
            const cmd = (c.command || [])[0];
            const cw = `${where} container ${c.name}`;
            if (cmd === "offload-gateway") {
                const path = (p) => p && p.httpGet && p.httpGet.path;
                if (path(c.readinessProbe) !== "/readyz")
                    fail(cw, `the gateway's readinessProbe is ${path(c.readinessProbe) ? "GET " + path(c.readinessProbe) : "not an httpGet"}: use GET /readyz (ready while every queue is served)`);
                if (path(c.livenessProbe) !== "/healthz")
                    fail(cw, `the gateway's livenessProbe is ${path(c.livenessProbe) ? "GET " + path(c.livenessProbe) : "not an httpGet"}: use GET /healthz (a gateway without executors is alive)`);
            }
            if (cmd === "offload-executor") {
                const env = (c.env || []).find((e) => e.name === "OFFLOAD_CONNECT");
                for (const ep of env && env.value ? env.value.split(",") : [])
                    reachesNotReady(cw, `OFFLOAD_CONNECT ${ep}`, ep);
            }
        }
    }

    // what (a tcp:// or http:// address) names a Service of this build that
    // selects the gateway's pods: it must publish not-ready addresses.
    function reachesNotReady(where, what, address) {
        const m = /^[a-z+]+:\/\/([a-z0-9-]+)(?:\.[a-z0-9.-]*)?(?::\d+)?(?:\/|$)/.exec(String(address));
        const svc = m && byKey.get(`Service/${m[1]}`);
        if (!svc) return; // not a Service of this build: not ours to judge
        const port = /:(\d+)(?:\/|$)/.exec(String(address).replace(/^[a-z+]+:\/\//, ""));
        if (port && !(svc.doc.spec.ports || []).some((p) => p.port === Number(port[1])))
            fail(where, `${what}: Service ${m[1]} has no port ${port[1]}`);
        const gw = deployments.find((d) =>
            matches(svc.doc.spec.selector, d.doc.spec.template.metadata.labels) &&
            containersOf(podSpec(d.doc)).some((c) => (c.command || [])[0] === "offload-gateway"));
        if (gw && svc.doc.spec.publishNotReadyAddresses !== true)
            fail(where, `${what} through Service ${m[1]}, which does not publish not-ready addresses: a gateway is ready only once executors reach it (publishNotReadyAddresses: true)`);
    }
    console.log(`k8s: build ${name}: ${objs.length} objects (${objs.map((o) => o.doc.kind).join(", ")})`);
}

// Every directory of root with a kustomization.yaml is a build.
const all = [];
(function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(e.name)) all.push(p);
    }
})(root);
const used = new Set();
const checked = new Set();
for (const kfile of all.filter((f) => path.basename(f) === "kustomization.yaml").sort()) {
    const dir = path.dirname(kfile);
    const objs = build(dir, used);
    for (const { doc, where } of objs) {
        if (checked.has(where)) continue; // a base read by several builds
        checked.add(where);
        if (!doc.apiVersion || !doc.kind) fail(where, "no apiVersion or kind");
        else checkSchema(doc, where);
    }
    checkBuild(path.relative(root, dir) || ".", objs);
}
for (const f of all)
    if (!used.has(f)) fail(path.relative(root, f), "in no kustomization.yaml's resources");

console.log(errors ? `k8s: ${errors} errors` : `k8s: ${checked.size} objects valid`);
process.exit(errors ? 1 : 0);
