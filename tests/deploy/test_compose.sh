#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through check and wait_until
# test_compose.sh: deploy/docker-compose.yml for real (make test-deploy).
#
# Starts the Docker engine if none answers (and stops it again at the end),
# installs docker.io, docker-compose and debootstrap when missing (as root;
# otherwise it says "skipped"), makes the base image (deploy/base-image.sh),
# builds the offload image from this tree, makes CURVE keys in a temporary
# directory (deploy/keys.sh), and brings the stack up as its own compose
# project with three executors on random loopback ports. Then:
#
#   - /v1/queues: three executors, capacity summed (io 3 x 20, cpu 3 x 1);
#     containers healthy; uid 10001; a keyed `offload call` from outside
#     compose works and an unkeyed one is refused (exit 9);
#   - the seed's ab command scaled down (-n 200 -c 50 on /test/sync, a 3 s
#     blocking sleep): no failures, within 3x of ab's floor (4 rounds x 3 s);
#   - `docker kill` of one executor under load with retries: every job
#     answers 200; `up --scale executor=3` brings the fleet back (docker
#     treats kill as a manual stop, so no restart policy applies to it);
#   - the executor process killed inside its container (a crash): every
#     job answers 200 and the restart policy brings it back by itself;
#   - `docker-compose stop executor` during a 15 s job: the job answers
#     200 and every executor exits 0, not 137 (stop_grace_period > drain);
#   - `down -v`: no container, network or volume of the project is left.
#
# Everything it made (the project's containers, networks, volumes, the key
# directory) is removed on exit, also on failure or Ctrl-C; the images are
# kept (offload:local, the build cache). Logs stay in the printed directory
# when a check fails.
#
#   tests/deploy/test_compose.sh          (or: make test-deploy)
#
# Environment: OFFLOAD_IMAGE (the image to build, default offload:local).

image=${OFFLOAD_IMAGE:-offload:local}
# shellcheck disable=SC2034 # read by lib.sh: this test runs no local binary
E2E_NO_BINS=1
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/../e2e/lib.sh"

COMPOSE_FILE_PATH="$REPO_ROOT/deploy/docker-compose.yml"
PROJECT="offload-test-$$"
KEYS_TMP=""
DOCKERD_PID=""
STACK_UP=0
IO_THREADS=20
CPU_PROCESSES=1
EXECUTORS=3

skip() {
    echo "test-deploy: skipped ($1)"
    trap - EXIT
    rm -rf "$E2E_TMP"
    exit 0
}

elapsed() {
    echo "$(($(now_ms) / 1000 - START_S))s"
}
START_S=$(($(now_ms) / 1000))

dc() {
    docker-compose -p "$PROJECT" -f "$COMPOSE_FILE_PATH" "$@"
}

# Tears down what the test made; safe to run twice.
teardown() {
    if [ "$STACK_UP" = 1 ]; then
        if [ "$FAILED" -gt 0 ]; then
            dc logs --no-color >"$E2E_TMP/compose.log" 2>&1
            dc ps >>"$E2E_TMP/compose.log" 2>&1
        fi
        timeout 120 docker-compose -p "$PROJECT" -f "$COMPOSE_FILE_PATH" \
            down -v --remove-orphans -t 10 >>"$E2E_TMP/down.log" 2>&1
        STACK_UP=0
    fi
    if [ -n "$KEYS_TMP" ]; then
        rm -rf "$KEYS_TMP"
        KEYS_TMP=""
    fi
    if [ -n "$DOCKERD_PID" ]; then
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        wait_until 30 all_gone "$DOCKERD_PID" || kill -KILL "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
        DOCKERD_PID=""
        echo "test-deploy: stopped the Docker engine this test started"
    fi
}
trap 'teardown; cleanup' EXIT

# ---- tools and engine -------------------------------------------------------

missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || skip "${missing[*]} missing; run as root to install them"
    "$REPO_ROOT/scripts/deps.sh" deploy || abort "install ${missing[*]}"
fi
for tool in ab curl jq; do
    command -v "$tool" >/dev/null || skip "$tool missing: make deps"
done

engine_up() {
    timeout 10 docker info >/dev/null 2>&1
}
if ! engine_up; then
    [ "$(id -u)" -eq 0 ] || skip "no Docker engine, and only root can start one"
    echo "test-deploy: starting dockerd --storage-driver=vfs --iptables=false"
    dockerd --storage-driver=vfs --iptables=false >"$E2E_TMP/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    wait_until 60 engine_up || {
        tail -n 20 "$E2E_TMP/dockerd.log" >&2
        abort "dockerd answers docker info"
    }
fi
check "Docker engine answers" engine_up

# ---- images and keys ----------------------------------------------------------

"$REPO_ROOT/deploy/base-image.sh" >"$E2E_TMP/base-image.log" 2>&1 || {
    tail -n 20 "$E2E_TMP/base-image.log" >&2
    abort "deploy/base-image.sh"
}
check "docker-compose config accepts the compose file" \
    docker-compose -f "$COMPOSE_FILE_PATH" config -q
old_image=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null)
build_start=$(now_ms)
if ! timeout 900 docker build --network host -f "$REPO_ROOT/deploy/Dockerfile" -t "$image" \
    "$REPO_ROOT" >"$E2E_TMP/build.log" 2>&1; then
    tail -n 30 "$E2E_TMP/build.log" >&2
    abort "docker build $image"
fi
echo "  ..    built $image in $((($(now_ms) - build_start) / 1000)) s," \
    "$(($(docker image inspect -f '{{.Size}}' "$image") / 1000000)) MB"
# The build stage stays as an untagged image (the next build's cache): keep
# the newest, remove the older ones so repeated runs do not pile them up.
docker images -q --no-trunc -f dangling=true -f label=org.offload.stage=build |
    tail -n +2 | xargs -r docker rmi >/dev/null 2>&1
# The image this build replaced under the same tag, unless something uses it.
if [ -n "$old_image" ] && [ "$old_image" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker rmi "$old_image" >/dev/null 2>&1
fi
check "the image runs as user offload" \
    test "$(docker image inspect -f '{{.Config.User}}' "$image")" = offload

KEYS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/offload-deploy-keys.XXXXXX")
OFFLOAD_IMAGE=$image "$REPO_ROOT/deploy/keys.sh" "$KEYS_TMP/keys" >"$E2E_TMP/keys.log" 2>&1 ||
    abort "deploy/keys.sh"

# ---- the stack ---------------------------------------------------------------

export OFFLOAD_IMAGE=$image OFFLOAD_KEYS="$KEYS_TMP/keys"
export OFFLOAD_HTTP_PUBLISH=127.0.0.1: OFFLOAD_CLIENTS_PUBLISH=127.0.0.1:
export OFFLOAD_IO_THREADS=$IO_THREADS OFFLOAD_CPU_PROCESSES=$CPU_PROCESSES

echo "  ..    up -d --scale executor=$EXECUTORS ($(elapsed))"
STACK_UP=1
timeout 300 docker-compose -p "$PROJECT" -f "$COMPOSE_FILE_PATH" \
    up -d --scale executor=$EXECUTORS >"$E2E_TMP/up.log" 2>&1 || {
    tail -n 20 "$E2E_TMP/up.log" >&2
    abort "docker-compose up -d --scale executor=$EXECUTORS"
}
GW_HTTP=$(dc port gateway 8080 2>/dev/null)
GW_CLIENTS=$(dc port gateway 5555 2>/dev/null)
GW_URL="http://$GW_HTTP"
check "HTTP published on loopback" test "${GW_HTTP%:*}" = 127.0.0.1
check "clients port published on loopback" test "${GW_CLIENTS%:*}" = 127.0.0.1

# Container ids of the project's executors (compose's labels name them the
# same in docker-compose 1.29 and docker compose).
executor_ids() {
    docker ps -q --no-trunc -f "label=com.docker.compose.project=$PROJECT" \
        -f label=com.docker.compose.service=executor "$@"
}
gateway_id() {
    docker ps -q --no-trunc -f "label=com.docker.compose.project=$PROJECT" \
        -f label=com.docker.compose.service=gateway
}
# fleet_is N: /v1/queues has N executors on io and cpu, with their summed
# capacity.
fleet_is() {
    queue_is io executors "$1" && queue_is io capacity $(($1 * IO_THREADS)) &&
        queue_is cpu executors "$1" && queue_is cpu capacity $(($1 * CPU_PROCESSES))
}
all_healthy() {
    local id n=0
    for id in $(gateway_id) $(executor_ids); do
        [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] || return 1
        n=$((n + 1))
    done
    [ "$n" -eq $((EXECUTORS + 1)) ]
}

wait_until 90 fleet_is $EXECUTORS
check_eq "/v1/queues: io served by $EXECUTORS executors" $EXECUTORS "$(queue_field io executors)"
check_eq "/v1/queues: io capacity summed" $((EXECUTORS * IO_THREADS)) "$(queue_field io capacity)"
check_eq "/v1/queues: cpu capacity summed" $((EXECUTORS * CPU_PROCESSES)) "$(queue_field cpu capacity)"
check_eq "/v1/stats: $EXECUTORS executors" $EXECUTORS "$(stat_field executors)"
# Executors' checks run every 10 s: the first ones may take ~10 s.
check "every container healthy (gateway /healthz, executors' link)" wait_until 90 all_healthy
check_eq "processes run as uid 10001" 10001 "$(docker exec "$(gateway_id)" id -u)"

# liboffload callers outside compose: the client key is admitted, a caller
# without keys is refused. The CLI runs from the image on the host network.
cli() {
    timeout 30 docker run --rm --network host --user 10001 -v "$KEYS_TMP/keys:/keys:ro" "$image" \
        offload "$@"
}
check_eq "keyed offload call through the clients port" hello \
    "$(cli call --gateway "tcp://$GW_CLIENTS" --curve-key /keys/client.key \
        --curve-server /keys/gateway.pub io echo hello 2>>"$E2E_TMP/cli.log")"
cli call --gateway "tcp://$GW_CLIENTS" --timeout-ms 3000 io echo hello >>"$E2E_TMP/cli.log" 2>&1
check_eq "an unkeyed offload call is refused (exit 9)" 9 "$?"

# ---- the seed's ab, scaled down --------------------------------------------

echo "  ..    ab -n 200 -c 50 /test/sync ($(elapsed))"
completed0=$(queue_field io completed)
timeout 120 ab -n 200 -c 50 -H 'accept: application/json' -H 'x-data-origin: source' \
    "$GW_URL/test/sync" >"$E2E_TMP/ab.txt" 2>&1
check_eq "ab: 200 complete" 200 "$(ab_field "$E2E_TMP/ab.txt" 'Complete requests')"
check_eq "ab: 0 failed" 0 "$(ab_field "$E2E_TMP/ab.txt" 'Failed requests')"
check_eq "ab: 0 non-2xx" 0 "$(ab_field "$E2E_TMP/ab.txt" 'Non-2xx responses')"
ab_s=$(ab_field "$E2E_TMP/ab.txt" 'Time taken for tests')
# 200 requests 50 at a time on >= 50 slots: 4 rounds of 3 s, 12 s at best
# (less would mean the jobs did not sleep), and within 3x of that.
ab_ms=$(to_ms "$ab_s")
check "ab: ${ab_s} s, from the 12 s floor to 3x it" test "$ab_ms" -ge 11900 -a "$ab_ms" -le 36000
check_eq "the fleet ran the 200 jobs" 200 $(($(queue_field io completed) - completed0))

# ---- docker kill under load --------------------------------------------------

# loss_load_start NAME TITLE PICK: takes executors_lost and jobs_retried,
# prints TITLE, starts load NAME, 150 jobs of 3 s (retries=2), 60 at a
# time: every slot of the fleet is busy; once io runs 50 of them, sets
# victim to the executor PICK (head: the first, tail: the last) of
# executor_ids. loss_load_end NAME WHEN: after the victim's loss, every job
# of NAME was answered 200 and the gateway lost an executor and retried.
loss_load_start() {
    lost0=$(stat_field executors_lost)
    retried0=$(stat_field jobs_retried)
    echo "  ..    $2 ($(elapsed))"
    load_bg "$1" 150 60 POST "/v1/jobs/io/sleep?retries=2" --data-binary 3000
    wait_until 30 queue_ge io busy 50
    victim=$(executor_ids | "$3" -n 1)
}
loss_load_end() {
    check "load with retries finished" load_wait 120 "$1"
    check_eq "after $2: 150 of 150 jobs answered 200" 150 "$(load_count "$1" code 200)"
    check "the gateway lost the executor" stat_ge executors_lost $((lost0 + 1))
    check "its jobs were retried" stat_ge jobs_retried $((retried0 + 1))
}

loss_load_start kill "docker kill of one executor under load" head
docker kill "$victim" >/dev/null
loss_load_end kill "docker kill"
dc up -d --scale executor=$EXECUTORS >>"$E2E_TMP/up.log" 2>&1
check "up --scale executor=$EXECUTORS: the fleet is back" wait_until 60 fleet_is $EXECUTORS

# ---- a crash: the executor process killed inside its container --------------

loss_load_start crash "an executor process crashes under load" tail
restarts0=$(docker inspect -f '{{.RestartCount}}' "$victim")
init_pid=$(docker inspect -f '{{.State.Pid}}' "$victim")
# The container's init (docker's --init) runs offload-executor as its child.
exec_pid=$(ps -o pid= --ppid "$init_pid" | head -n 1)
check "found the executor process in its container" test -n "$exec_pid"
[ -n "$exec_pid" ] && kill -KILL "$exec_pid"
loss_load_end crash "the crash"
restarted() {
    [ "$(docker inspect -f '{{.RestartCount}}' "$victim")" -gt "$restarts0" ]
}
check "the restart policy restarted the container" wait_until 60 restarted
check "the fleet is back by itself" wait_until 60 fleet_is $EXECUTORS

# ---- docker-compose stop during a 15 s job -------------------------------------

echo "  ..    docker-compose stop executor during a 15 s job ($(elapsed))"
http_bg long POST "/v1/jobs/io/sleep" --data-binary 15000
wait_until 30 queue_ge io busy 1
stop_start=$(now_ms)
dc stop executor >>"$E2E_TMP/stop.log" 2>&1
stop_ms=$(($(now_ms) - stop_start))
http_wait long 60
check_eq "the 15 s job answered 200 through the stop" 200 "$HTTP_STATUS"
check "it ran its 15 s (${HTTP_MS} ms)" test "$HTTP_MS" -ge 14500
codes=$(for id in $(executor_ids -a); do docker inspect -f '{{.State.ExitCode}}' "$id"; done |
    sort | uniq -c | xargs)
check_eq "every executor exited 0 (none killed: 137)" "$EXECUTORS 0" "$codes"
check "stop waited for the drain, under the 40 s grace period (${stop_ms} ms)" \
    test "$stop_ms" -lt 40000

# ---- teardown ------------------------------------------------------------------

echo "  ..    down -v ($(elapsed))"
teardown
left() {
    docker ps -aq -f "label=com.docker.compose.project=$PROJECT"
    docker network ls -q -f "label=com.docker.compose.project=$PROJECT"
    docker volume ls -q -f "label=com.docker.compose.project=$PROJECT"
}
check_eq "no container, network or volume of $PROJECT left" "" "$(left)"
echo "test-deploy: $(elapsed)"
finish
