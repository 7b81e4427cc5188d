#!/usr/bin/env bash
# base-image.sh [IMAGE]: makes sure the Docker base image deploy/Dockerfile
# builds FROM exists (default debian:bookworm-slim). No image registry is
# needed: when the engine does not have the image, it is built here with
# debootstrap from Debian's package archive (about a minute) and imported.
#
#   deploy/base-image.sh                 # then: docker build --network host ...
#
# Environment: OFFLOAD_DEBIAN_MIRROR (default: the first deb.debian.org-style
# URI in /etc/apt/sources.list.d/debian.sources, else http://deb.debian.org/debian).
set -euo pipefail

image=${1:-debian:bookworm-slim}
suite=${image#*:}
suite=${suite%-slim}

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base-image: $image is present"
    exit 0
fi

for tool in debootstrap docker; do
    command -v "$tool" >/dev/null || {
        echo "base-image: $tool not found (apt-get install debootstrap docker.io)" >&2
        exit 1
    }
done

mirror=${OFFLOAD_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources |
        head -n 1)
fi
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d "${TMPDIR:-/tmp}/offload-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

echo "base-image: building $image with debootstrap ($suite from $mirror)"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -n 20 "$root.log" >&2
    rm -f "$root.log"
    echo "base-image: debootstrap failed" >&2
    exit 1
}
rm -f "$root.log"
# Slim like the official image: no package lists, docs or caches.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
# mktemp made the root directory 0700: every user must be able to enter /.
chmod 755 "$root"
tar -C "$root" -c . | docker import --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
echo "base-image: $image imported ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
