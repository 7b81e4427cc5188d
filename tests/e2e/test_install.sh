#!/usr/bin/env bash
# make install into a temporary DESTDIR, as a packager runs it: what goes
# where, an offload.pc that points at the installed paths, a program built
# with pkg-config against the installed copy (shared and static) that runs
# against a real gateway, liboffload exporting only offload_* symbols (an
# application's own parse_ll or wire_send does not clash), the CLI linking
# only what it uses, and make uninstall taking it all away.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

build=$(cd "$OFFLOAD_BIN/.." && pwd)
root="$E2E_TMP/root"
prefix=/usr/local
make_args=(-C "$REPO_ROOT" --no-print-directory "BUILD=$build" "PREFIX=$prefix" "DESTDIR=$root")
SAN_FLAGS=""
if [ -n "${OFFLOAD_E2E_SANITIZED:-}" ]; then
    make_args+=(SAN=1) # the same flags, or make would rebuild the tree without them
    SAN_FLAGS="-fsanitize=address,undefined"
fi
unset MAKEFLAGS MFLAGS MAKELEVEL # a make of our own, not a sub-make of make test

make "${make_args[@]}" install >"$E2E_TMP/install.log" 2>&1
check_eq "make install DESTDIR=... PREFIX=$prefix succeeds" 0 "$?" || cat "$E2E_TMP/install.log" >&2
for f in bin/offload-gateway bin/offload-executor bin/offload include/offload.h \
    include/offload_plugin.h \
    lib/liboffload.a lib/liboffload.so.0.2.0 lib/pkgconfig/offload.pc; do
    check "installs $prefix/$f" test -f "$root$prefix/$f"
done
check_eq "liboffload.so -> liboffload.so.0" liboffload.so.0 "$(readlink "$root$prefix/lib/liboffload.so")"
check_eq "liboffload.so.0 -> liboffload.so.0.2.0" liboffload.so.0.2.0 \
    "$(readlink "$root$prefix/lib/liboffload.so.0")"
check "the shared library's soname is liboffload.so.0" \
    sh -c "readelf -d '$root$prefix/lib/liboffload.so.0.2.0' | grep -q 'SONAME.*\[liboffload.so.0\]'"

export PKG_CONFIG_PATH="$root$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
check_eq "offload.pc points at the installed libdir" "$prefix/lib" \
    "$(PKG_CONFIG_SYSROOT_DIR='' pkg-config --variable=libdir offload)"
check_eq "offload.pc points at the installed includedir" "$prefix/include" \
    "$(PKG_CONFIG_SYSROOT_DIR='' pkg-config --variable=includedir offload)"
check_eq "offload.pc has the library's version" 0.2.0 "$(pkg-config --modversion offload)"

# Exported symbols: the public API only.
others=$(nm -D --defined-only "$root$prefix/lib/liboffload.so" | awk '{print $3}' |
    grep -v '^offload_[a-z]' | tr '\n' ' ')
check_eq "liboffload.so exports only offload_* symbols" "" "$others"
others=$(nm -g --defined-only "$root$prefix/lib/liboffload.a" | awk 'NF == 3 {print $3}' |
    grep -v '^offload_[a-z]' | tr '\n' ' ')
check_eq "liboffload.a defines only offload_* globally" "" "$others"
check "the API is there (offload_call)" \
    sh -c "nm -D --defined-only '$root$prefix/lib/liboffload.so' | grep -q ' T offload_call$'"

# The CLI: libzmq, protobuf-c, jansson (offload queues) and ncurses
# (offload top), nothing else of the gateway's.
needed=$(readelf -d "$root$prefix/bin/offload" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
check "the CLI does not link libmicrohttpd or inih ($needed)" \
    sh -c "! echo '$needed' | grep -Eq 'microhttpd|inih'"
needed=$(readelf -d "$root$prefix/bin/offload-executor" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
# The executor: no HTTP (jansson writes its --log-format lines).
check "the executor does not link libmicrohttpd or gnutls ($needed)" \
    sh -c "! echo '$needed' | grep -Eq 'microhttpd|gnutls'"

# A program against the installed copy, run against a real gateway.
start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 || abort "executor starts"
cat >"$E2E_TMP/app.c" <<'C'
#include <offload.h>
#include <stdio.h>

/* Names liboffload uses inside: an application may have its own. */
int parse_ll(const char *s, long long *out) { (void)s; *out = 42; return 0; }
int wire_send(void) { return 7; }

int main(int argc, char **argv)
{
    offload_client *c = offload_connect(argv[1]);
    if (!c || c->err)
        return 3;
    offload_result *r;
    offload_call_options opts = {.timeout_ms = 5000};
    int status = 2;
    if (offload_call(c, "io", "echo", "installed", 9, &opts, &r) == 0) {
        status = r->code == OFFLOAD_OK ? 0 : 1;
        fwrite(r->payload, 1, r->len, stdout);
        offload_result_free(r);
    }
    offload_free(c);
    long long v;
    parse_ll("1", &v);
    return status || v != 42 || wire_send() != 7;
}
C
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "$E2E_TMP/app.c" -o "$E2E_TMP/app-shared" \
    $(pkg-config --cflags --libs offload) $SAN_FLAGS 2>"$E2E_TMP/cc-shared.err"
check_eq "a program builds with pkg-config against the installed shared library" 0 "$?" ||
    cat "$E2E_TMP/cc-shared.err" >&2
check "it needs liboffload.so.0" \
    sh -c "readelf -d '$E2E_TMP/app-shared' | grep -q 'NEEDED.*\[liboffload.so.0\]'"
check_eq "it runs against the gateway (its own parse_ll and wire_send intact)" installed \
    "$(LD_LIBRARY_PATH="$root$prefix/lib" "$E2E_TMP/app-shared" "$GW_CLIENTS")"

# Static liboffload, with its dependencies shared (Debian's libzmq.pc
# --static names a libprotokit.a that no package ships).
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "$E2E_TMP/app.c" -o "$E2E_TMP/app-static" \
    $(pkg-config --cflags offload) "$root$prefix/lib/liboffload.a" \
    $(pkg-config --libs libzmq libprotobuf-c) -pthread $SAN_FLAGS 2>"$E2E_TMP/cc-static.err"
check_eq "the same program links liboffload.a statically, no clash" 0 "$?" ||
    cat "$E2E_TMP/cc-static.err" >&2
check "it does not need liboffload.so" \
    sh -c "! readelf -d '$E2E_TMP/app-static' | grep -q 'NEEDED.*liboffload'"
check_eq "it runs against the gateway" installed "$("$E2E_TMP/app-static" "$GW_CLIENTS")"

# A plugin built against the installed header, loaded by the installed
# executor.
cc -shared -fPIC -I"$root$prefix/include" "$REPO_ROOT/examples/plugin/example_plugin.c" \
    -o "$E2E_TMP/plugin.so" 2>"$E2E_TMP/cc-plugin.err"
check_eq "the example plugin builds against the installed offload_plugin.h" 0 "$?" ||
    cat "$E2E_TMP/cc-plugin.err" >&2
start_process installed-executor "$E2E_TMP/installed-executor.log" \
    "$root$prefix/bin/offload-executor" --connect "$GW_EXECUTORS" --queue plug=threads:1 \
    --plugin "$E2E_TMP/plugin.so" && installed_ex=$STARTED_PID
http POST /v1/jobs/plug/upper --data-binary installed
check_eq "the installed executor runs it" "200 INSTALLED" "$HTTP_STATUS $(cat "$HTTP_BODY")"
[ -n "${installed_ex:-}" ] && stop_process "$installed_ex"

make "${make_args[@]}" uninstall >>"$E2E_TMP/install.log" 2>&1
check_eq "make uninstall succeeds" 0 "$?"
check_eq "and leaves no file behind" "" "$(find "$root" -type f -o -type l)"

finish
