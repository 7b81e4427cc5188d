# shellcheck shell=bash disable=SC2034
# A small network of its own, built with network namespaces, for the
# multi-host test (tests/e2e/test_multihost.sh) and bench (bench/multihost.sh):
# one namespace for the gateway, holding a bridge, and one per executor host,
# each joined to the bridge by a veth pair. Nothing is created in, or
# changed about, the namespace the caller runs in: each veth pair is made
# inside the gateway's namespace with its other end created directly in the
# host's, and the addresses (10.77.0.0/24) exist only inside these
# namespaces.
#
#   net_can               0 when this shell may make namespaces (root, ip, a
#                         kernel that lets it); else 1 with NET_WHY set
#   net_up HOSTS          the gateway's namespace and HOSTS host namespaces;
#                         sets NET_GW (its name), NET_GW_ADDR (10.77.0.1),
#                         NET_HOST[i] (names, 1..HOSTS), NET_ADDR[i], NET_IF
#                         (each host's end: veth0) and NET_PORT[i] (its
#                         bridge port in the gateway's namespace: hI)
#   net_down              deletes every namespace net_up made (their veths
#                         and the bridge go with them); safe to call twice
#   in_ns NS CMD...       runs CMD in namespace NS
#
# Names carry the caller's pid (ofl<PID>-gw, ofl<PID>-h1, ...), so two runs
# never share one.

NET_PREFIX="ofl$$"
NET_GW=""
NET_GW_ADDR=10.77.0.1
NET_IF=veth0
NET_MADE=()
declare -a NET_HOST NET_ADDR NET_PORT

in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

net_can() {
    NET_WHY=""
    if [ "$(id -u)" != 0 ]; then
        NET_WHY="not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    elif ! command -v ip >/dev/null; then
        NET_WHY="no 'ip' command (apt-get install iproute2)"
    elif ! ip netns add "$NET_PREFIX-probe" 2>/dev/null; then
        NET_WHY="'ip netns add' failed: this kernel or sandbox does not let us make a namespace"
    else
        ip netns del "$NET_PREFIX-probe" 2>/dev/null
        return 0
    fi
    return 1
}

# net_ns NAME: adds a namespace with its loopback up, remembered for net_down.
net_ns() {
    ip netns add "$1" || return 1
    NET_MADE+=("$1")
    ip -n "$1" link set lo up
}

net_up() {
    local hosts=$1 i h
    NET_GW="$NET_PREFIX-gw"
    net_ns "$NET_GW" || return 1
    ip -n "$NET_GW" link add br0 type bridge || return 1
    ip -n "$NET_GW" addr add "$NET_GW_ADDR/24" dev br0 || return 1
    ip -n "$NET_GW" link set br0 up || return 1
    for ((i = 1; i <= hosts; i++)); do
        h="$NET_PREFIX-h$i"
        net_ns "$h" || return 1
        NET_HOST[i]=$h
        NET_PORT[i]="h$i"
        NET_ADDR[i]="10.77.0.$((10 + i))"
        # Both ends are made where they live: hI in the gateway's namespace,
        # veth0 straight in the host's.
        ip -n "$NET_GW" link add "h$i" type veth peer name "$NET_IF" netns "$h" || return 1
        ip -n "$NET_GW" link set "h$i" master br0 || return 1
        ip -n "$NET_GW" link set "h$i" up || return 1
        ip -n "$h" addr add "${NET_ADDR[i]}/24" dev "$NET_IF" || return 1
        ip -n "$h" link set "$NET_IF" up || return 1
    done
}

net_down() {
    local ns
    for ns in "${NET_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    NET_MADE=()
}
