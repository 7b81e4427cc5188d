#!/usr/bin/env bash
# keys.sh [DIR]: makes the CURVE keys docker-compose.yml mounts, once, in DIR
# (default deploy/keys, next to this script; git ignores it):
#
#   gateway.key, gateway.pub      the gateway's pair (its .key stays on the gateway)
#   executor.key, executor.pub    the executors' pair (one for the service)
#   client.key, client.pub        for liboffload / Python callers
#   allow/executor.pub            the gateway's --curve-allow directory:
#   allow/client.pub              who may connect (executor: queues io,cpu only)
#
# Keys are made by `offload keygen` inside the offload:local image (build it
# first), owned by uid 10001 (the image's user) with the secrets mode 0600.
# An existing key is never replaced: delete DIR to start over.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/keys}
image=${OFFLOAD_IMAGE:-offload:local}
uid=10001

mkdir -p "$dir/allow"
dir=$(cd "$dir" && pwd)
chown "$uid" "$dir" "$dir/allow" 2>/dev/null || chmod 777 "$dir" "$dir/allow"

todo=()
for name in gateway executor client; do
    [ -f "$dir/$name.key" ] || todo+=("$name")
done
if [ ${#todo[@]} -gt 0 ]; then
    # One container for all of them (each costs seconds on a vfs engine).
    docker run --rm --user "$uid" -v "$dir:/keys" "$image" \
        bash -c 'for n; do offload keygen "/keys/$n" >/dev/null || exit; done' keygen "${todo[@]}"
    for name in "${todo[@]}"; do
        echo "keys: made $dir/$name.key and $name.pub"
    done
fi
# An executor key may register only the queues the compose file's executors
# serve; a client key may connect.
{ cat "$dir/executor.pub"; echo "queues = io,cpu"; } >"$dir/allow/executor.pub"
cp "$dir/client.pub" "$dir/allow/client.pub"
chmod 644 "$dir"/*.pub "$dir"/allow/*.pub
echo "keys: allow list $dir/allow: $(cd "$dir/allow" && echo *.pub)"
