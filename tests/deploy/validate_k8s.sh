#!/usr/bin/env bash
# Validates deploy/k8s offline (validate_k8s.js beside this: the Kubernetes
# and KEDA schemas of the npm packages in package.json, which `make deps`
# installs into build/k8s-validate), then proves the check bites: each of a
# set of broken copies of deploy/k8s must be rejected with the expected
# message. Prints "N passed, M failed" last; exits 1 if anything failed.
#
#   tests/deploy/validate_k8s.sh [DIR]       (default deploy/k8s)
#
# OFFLOAD_K8S_MODULES: the node_modules directory (default
# build/k8s-validate/node_modules). With kubectl on PATH, each build is also
# rendered by `kubectl kustomize` (offline); without it that step is skipped.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dir=${1:-$top/deploy/k8s}
modules=${OFFLOAD_K8S_MODULES:-$top/build/k8s-validate/node_modules}
passed=0
failed=0

ok() { echo "  ok    $1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  $1"; failed=$((failed + 1)); }

if ! command -v node >/dev/null || [ ! -d "$modules/kubernetes-models" ]; then
    echo "k8s: node or $modules missing: run make deps" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
validate() { node "$here/validate_k8s.js" "$modules" "$1"; }

echo "== validate_k8s"
if out=$(validate "$dir" 2>&1); then
    ok "deploy/k8s is valid: $(tail -n 1 <<<"$out" | sed 's/^k8s: //')"
else
    bad "deploy/k8s is not valid:"
    echo "$out" | sed 's/^/        /'
fi

if command -v kubectl >/dev/null; then
    for k in "$dir" "$dir"/*/; do
        [ -f "$k/kustomization.yaml" ] || continue
        name=$(basename "$k")
        if err=$(kubectl kustomize "$k" 2>&1 >/dev/null); then
            ok "kubectl kustomize $name"
        else
            bad "kubectl kustomize $name: $err"
        fi
    done
else
    echo "  skip  kubectl kustomize (no kubectl)"
fi

# Each broken copy: deploy/k8s with one file changed by a sed script; it
# must be rejected with the expected message.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/offload-k8s.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
broken() { # name file sed-expression expected-message
    local name=$1 file=$2 expr=$3 want=$4
    rm -rf "$tmp/k8s" && cp -r "$dir" "$tmp/k8s"
    sed -i -e "$expr" "$tmp/k8s/$file"
    if cmp -s "$dir/$file" "$tmp/k8s/$file"; then
        bad "rejects $name: the sed script changed nothing in $file"
        return
    fi
    local out
    if out=$(validate "$tmp/k8s" 2>&1); then
        bad "rejects $name: accepted"
    elif ! grep -qF -- "$want" <<<"$out"; then
        bad "rejects $name: rejected, but without '$want':"
        echo "$out" | sed 's/^/        /'
    else
        ok "rejects $name ($(grep -F -- "$want" <<<"$out" | head -n 1 | sed 's/^k8s: //'))"
    fi
}

# The cases, four lines each and a blank line between: a name, a file, a
# sed script for it, the message it must cause.
while IFS= read -r name && IFS= read -r file && IFS= read -r expr && IFS= read -r want; do
    broken "$name" "$file" "$expr" "$want" </dev/null
    IFS= read -r _ || break
done <<'CASES'
a port given as a string
base/gateway.yaml
s/containerPort: 8080/containerPort: "8080"/
must be integer

a misspelt field
base/executor.yaml
s/readinessProbe:/readinesProbe:/
unknown field "readinesProbe"

a misspelt field in a securityContext
base/gateway.yaml
0,/runAsNonRoot: true/s//runAsNonRot: true/
unknown field "runAsNonRot"

a bad memory quantity
base/executor.yaml
s/memory: 1Gi/memory: 1 GiB/
must match format "quantity"

a Deployment without a selector
base/executor.yaml
/^  selector:/,/^      app.kubernetes.io\/name: offload-executor/d
must have required property selector

a selector that misses the pods
base/gateway.yaml
0,/      app.kubernetes.io\/name: offload-gateway/s//      app.kubernetes.io\/name: gateway/
does not match the pod template's labels

a probe on a missing port
base/gateway.yaml
0,/port: http$/s//port: web/
readinessProbe port "web" is no port of the container

a Service targetPort the pods lack
base/gateway.yaml
s/targetPort: executors/targetPort: executor/
targetPort "executor" is no container port

a mount of an undeclared volume
base/executor.yaml
0,/- name: tmp$/s//- name: scratch/
volumeMount "scratch": no such volume

$(VAR) used before VAR is defined
base/executor.yaml
s/\$(CPU_PROCESSES)/$(CPU_PROCS)/
$(CPU_PROCS) is not defined before it

a writable root filesystem
base/executor.yaml
s/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/
readOnlyRootFilesystem is not true

a ScaledObject targetValue as a number
keda/scaledobject.yaml
s/targetValue: "48"/targetValue: 48/
must be string

a ScaledObject aimed at a missing Deployment
keda/scaledobject.yaml
s/^    name: offload-executor$/    name: offload-executors/
scaleTargetRef Deployment/offload-executors is not in this build

an HPA utilization given as a percentage
hpa/hpa.yaml
s/averageUtilization: 70/averageUtilization: 70%/
must be integer

a kustomization naming a missing file
base/kustomization.yaml
s/- executor.yaml/- executors.yaml/
resource executors.yaml: no such file

a manifest no kustomization uses
base/kustomization.yaml
/- executor.yaml/d
in no kustomization.yaml's resources

broken YAML
base/executor.yaml
s/^      containers:/      containers: [/
YAML:

the gateway's readiness on /healthz
base/gateway.yaml
s|path: /readyz|path: /healthz|
the gateway's readinessProbe is GET /healthz: use GET /readyz

the gateway's liveness on /readyz
base/gateway.yaml
0,/path: \/healthz/s||path: /readyz|
the gateway's livenessProbe is GET /readyz: use GET /healthz

executors through a Service that hides not-ready gateways
base/executor.yaml
s|tcp://offload-gateway-internal:5556|tcp://offload-gateway:5556|
OFFLOAD_CONNECT tcp://offload-gateway:5556 through Service offload-gateway, which does not publish not-ready addresses

a metrics-api trigger through a Service that hides not-ready gateways
base/gateway.yaml
s/publishNotReadyAddresses: true/publishNotReadyAddresses: false/
metrics-api reads http://offload-gateway-internal:8080/v1/queues through Service offload-gateway-internal, which does not publish not-ready addresses

a scrape port the pod lacks
base/gateway.yaml
s|prometheus.io/port: "8080"|prometheus.io/port: "9090"|
prometheus.io/port 9090 is no container port of the pod

a prometheus trigger without a query
keda-prometheus/scaledobject.yaml
0,/ query:/s// querry:/
trigger io-busy: prometheus needs serverAddress, query and threshold

a prometheus threshold that is not a number
keda-prometheus/scaledobject.yaml
s/threshold: "48"/threshold: "48 jobs"/
trigger io-busy: threshold "48 jobs" is not a number
CASES

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
