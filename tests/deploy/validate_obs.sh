#!/usr/bin/env bash
# Validates the observability files offline: the Grafana dashboard
# (deploy/grafana), the KEDA prometheus triggers' queries (deploy/k8s) and
# the scrape config (deploy/prometheus.yml), with validate_obs.js beside
# this; where promtool is installed, also every PromQL expression (as
# recording rules) and the scrape config. Then proves the check bites:
# each of a set of broken copies must be rejected with the expected
# message. Prints "N passed, M failed" last; exits 1 if anything failed.
#
#   tests/deploy/validate_obs.sh
#
# OFFLOAD_K8S_MODULES: the node_modules directory with js-yaml (default
# build/k8s-validate/node_modules, which make deps installs).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
modules=${OFFLOAD_K8S_MODULES:-$top/build/k8s-validate/node_modules}
passed=0
failed=0

ok() { echo "  ok    $1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  $1"; failed=$((failed + 1)); }

if ! command -v node >/dev/null || [ ! -d "$modules/js-yaml" ]; then
    echo "obs: node or $modules missing: run make deps" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/offload-obs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
promtool=$(command -v promtool || true)

# validate ROOT: the checks over the repository at ROOT, promtool's too.
validate() {
    local out="$tmp/out"
    rm -rf "$out" && mkdir -p "$out"
    node "$here/validate_obs.js" "$modules" "$1" "$out" || return 1
    [ -n "$promtool" ] || return 0
    "$promtool" check rules "$out/rules.yml" >"$out/promtool.log" 2>&1 &&
        "$promtool" check config --syntax-only "$out/prometheus.yml" >>"$out/promtool.log" 2>&1 &&
        return 0
    cat "$out/promtool.log"
    # Name the expression promtool refused.
    grep -oE 'offload:expr_[0-9]+' "$out/promtool.log" | sort -u | grep -Fwf - "$out/rules.where"
    return 1
}

echo "== validate_obs"
if out=$(validate "$top" 2>&1); then
    ok "observability files are valid: $(grep '^obs:' <<<"$out" | tail -n 1 | sed 's/^obs: //')"
else
    bad "observability files are not valid:"
    echo "$out" | sed 's/^/        /'
fi
if [ -n "$promtool" ]; then
    ok "promtool: every expression parses, the scrape config is valid"
else
    echo "  skip  promtool (not installed): PromQL and scrape config syntax"
fi

# Each broken copy: the files validate_obs.js reads, with one changed by a
# sed script; it must be rejected with the expected message.
broken() { # name file sed-expression expected-message [needs-promtool]
    local name=$1 file=$2 expr=$3 want=$4
    if [ "${5:-}" = promtool ] && [ -z "$promtool" ]; then
        echo "  skip  rejects $name (no promtool)"
        return
    fi
    rm -rf "$tmp/root" && mkdir -p "$tmp/root/gateway"
    cp -r "$top/docs" "$top/deploy" "$tmp/root/" && cp "$top/gateway/stats.h" "$tmp/root/gateway/"
    local f changed=0
    # file may be a glob (docs/*.md): the script runs on each match.
    # shellcheck disable=SC2086 # the glob is meant
    for f in $(cd "$top" && echo $file); do
        sed -i -e "$expr" "$tmp/root/$f"
        cmp -s "$top/$f" "$tmp/root/$f" || changed=1
    done
    if [ "$changed" = 0 ]; then
        bad "rejects $name: the sed script changed nothing in $file"
        return
    fi
    local out
    if out=$(validate "$tmp/root" 2>&1); then
        bad "rejects $name: accepted"
    elif ! grep -qF -- "$want" <<<"$out"; then
        bad "rejects $name: rejected, but without '$want':"
        echo "$out" | sed 's/^/        /'
    else
        ok "rejects $name ($(grep -F -- "$want" <<<"$out" | head -n 1 | sed 's/^obs: //' | cut -c 1-150))"
    fi
}

# The cases, five lines each and a blank line between: a name, a file, a
# sed script for it, the message it must cause, and "promtool" or "-".
while IFS= read -r name && IFS= read -r file && IFS= read -r expr && IFS= read -r want &&
    IFS= read -r needs; do
    broken "$name" "$file" "$expr" "$want" "$needs" </dev/null
    IFS= read -r _ || break
done <<'CASES'
a misspelt metric in a panel
deploy/grafana/offload-dashboard.json
0,/offload_queue_waiting{/s//offload_queue_wating{/
metric offload_queue_wating is not one the gateway serves
-

a metric in a variable the gateway does not serve
deploy/grafana/offload-dashboard.json
s/label_values(offload_up, instance)/label_values(up, instance)/
variable instance: metric up is not one the gateway serves
-

a panel on another datasource
deploy/grafana/offload-dashboard.json
0,/"uid": "\${DS_PROMETHEUS}"/s//"uid": "prometheus"/
datasource is not {"type":"prometheus","uid":"${DS_PROMETHEUS}"}
-

two panels with one id
deploy/grafana/offload-dashboard.json
0,/"id": 3,/s//"id": 2,/
id missing or not unique
-

two panels in one place
deploy/grafana/offload-dashboard.json
0,/"x": 4,/s//"x": 2,/
overlaps panel
-

a dashboard that is not JSON
deploy/grafana/offload-dashboard.json
0,/"panels": \[/s//"panels": [,/
not JSON
-

no datasource input
deploy/grafana/offload-dashboard.json
s/"name": "DS_PROMETHEUS"/"name": "DS_PROM"/
no __inputs entry DS_PROMETHEUS
-

a KEDA query on a metric the gateway does not serve
deploy/k8s/keda-prometheus/scaledobject.yaml
s/offload_queue_busy/offload_queue_used/
trigger io-busy: metric offload_queue_used is not one the gateway serves
-

a metric no docs/*.md documents
docs/*.md
s/offload_pool_rss_bytes/offload_pool_rss/g
metric offload_pool_rss_bytes is documented in no docs/*.md
-

a scrape config that ignores prometheus.io/path
deploy/prometheus.yml
s/prometheus_io_path]/prometheus_io_metrics_path]/
reads no __meta_kubernetes_pod_annotation_prometheus_io_path
-

a scrape config that keeps every pod
deploy/prometheus.yml
0,/regex: "true"/s//regex: ".*"/
keeps no pods by their prometheus.io/scrape
-

PromQL that does not parse
deploy/grafana/offload-dashboard.json
0,/histogram_quantile(0.5, sum by/s//histogram_quantile(0.5 sum by/
Wait in the gateway (p50, p99)
promtool

a scrape config promtool refuses
deploy/prometheus.yml
s/scrape_interval: 15s/scrape_interval: 15 seconds/
not a valid duration string
promtool
CASES

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
