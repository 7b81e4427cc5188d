#!/usr/bin/env bash
# Installs the Debian packages offload needs to build, test and benchmark,
# only those that are missing. Runs apt-get as root, or through sudo.
# `deps.sh deploy`: instead, what make test-deploy needs (the Docker engine,
# docker-compose, debootstrap for deploy/base-image.sh).
set -euo pipefail

if [ "${1:-}" = deploy ]; then
    pkgs=(docker.io docker-compose debootstrap)
else
pkgs=(build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libzmq3-dev
      libmicrohttpd-dev libgnutls28-dev openssl libjansson-dev libinih-dev libcunit1-dev uthash-dev
      apache2-utils curl jq procps python3 python3-zmq valgrind iproute2 nftables prometheus
      protobuf-compiler python3-protobuf python3-pytest python3-pip python3-setuptools
      python3-fastapi python3-uvicorn python3-uvloop python3-httptools
      gearman-job-server libgearman-dev clang libclang-rt-14-dev libncurses-dev tmux xxd
      chromium chromium-driver)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
# Node.js and npm for tests/deploy/validate_k8s.sh (make k8s-deps installs
# its npm packages); Debian's, unless the machine already has them.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
