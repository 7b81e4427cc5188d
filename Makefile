# offload -- build, test, run, install. See README.md.
#
#   make            binaries in build/bin, libraries in build/lib
#   make run        install what is missing, build, start gateway + executor
#   make test       install what is missing, build, run every test
#   make k8s        check deploy/k8s, the Grafana dashboard and the Prometheus
#                   config offline (tests/deploy/validate_k8s.sh, validate_obs.sh)
#   make asan       the same tests on an AddressSanitizer + UBSan build
#   make fuzz       libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS each;
#                   make fuzz-build builds them only
#   make bench      the benchmarks (seed scenario, echo vs hello-world, pools,
#                   clients vs Gearman, the FastAPI seed, fairness, multi-host)
#   make install    binaries, offload.h, offload_plugin.h, liboffload (.a,
#                   versioned .so) and offload.pc under $(DESTDIR)$(PREFIX);
#                   make uninstall
#
# A packager may set CFLAGS, CPPFLAGS, LDFLAGS, PREFIX, BINDIR, LIBDIR,
# INCLUDEDIR, PKGCONFIGDIR, DESTDIR and WERROR= (warnings stay warnings).
# What the code needs to build (the C standard, include paths, -pthread,
# warnings) is in FINAL_CFLAGS, which the command line does not replace.

BUILD   ?= build
CC      ?= cc
PKGS     = libzmq libprotobuf-c libmicrohttpd jansson inih gnutls
LIB_PKGS = libzmq libprotobuf-c

CFLAGS  ?= -O2 -g
WERROR  ?= -Werror
WARN     = -Wall -Wextra $(WERROR)
# -fPIC: the same objects go into liboffload.so. -fvisibility=hidden: only
# what a header marks OFFLOAD_API leaves a shared object.
FINAL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -pthread -fPIC -fvisibility=hidden \
               -I$(BUILD)/gen -Iproto -Icommon -Iclient -Iclient/include \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CPPFLAGS) $(CFLAGS)
FINAL_LDFLAGS = $(LDFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
LDLIBS_LIB = $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null) -pthread
LDLIBS_EXEC = $(shell pkg-config --libs $(LIB_PKGS) inih jansson 2>/dev/null) -pthread -ldl
ifdef SAN
FINAL_CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FINAL_LDFLAGS += -fsanitize=address,undefined
endif

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

# liboffload's version (client/include/offload.h) and soname.
VERSION  := $(shell sed -n 's/^\#define OFFLOAD_VERSION "\(.*\)"/\1/p' client/include/offload.h)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))
SONAME    = liboffload.so.$(SOMAJOR)

GEN      = $(BUILD)/gen/offload.pb-c.c $(BUILD)/gen/offload.pb-c.h
COMMON   = $(wildcard common/*.c) proto/codec.c proto/wire.c
GATEWAY  = $(filter-out gateway/main.c,$(wildcard gateway/*.c))
EXECUTOR = $(filter-out executor/main.c,$(wildcard executor/*.c))
CLIENT   = $(filter-out client/main.c,$(wildcard client/*.c))
CLI      = $(wildcard client/cli/*.c)
# The parts of the CLI the unit tests reach (no terminal).
CLI_UNIT = client/cli/top_view.c
UNIT     = $(wildcard tests/unit/*.c)
# The dashboard (GET /ui): its files, compiled into the gateway.
UI_FILES = gateway/ui/index.html gateway/ui/app.js gateway/ui/style.css gateway/ui/favicon.svg
UI_O     = $(BUILD)/obj/gen/ui_assets.o

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# Objects are rebuilt when the flags change (CFLAGS=-O0, WERROR=, SAN=1):
# the flags are kept in a file that changes only when they do.
FLAGS_FILE = $(BUILD)/.flags
$(shell mkdir -p $(BUILD) && echo '$(FINAL_CFLAGS) $(FINAL_LDFLAGS)' | cmp -s - $(FLAGS_FILE) || \
    echo '$(FINAL_CFLAGS) $(FINAL_LDFLAGS)' >$(FLAGS_FILE))
COMMON_O = $(BUILD)/obj/gen/offload.pb-c.o $(call obj,$(COMMON))
# What liboffload holds: the client, the codec, framing and error names.
LIB_O    = $(call obj,$(CLIENT) proto/codec.c proto/wire.c common/errors.c common/keys.c \
                      common/trace.c) \
           $(BUILD)/obj/gen/offload.pb-c.o

BINS = $(BUILD)/bin/offload-gateway $(BUILD)/bin/offload-executor $(BUILD)/bin/offload
LIBS = $(BUILD)/lib/liboffload.a $(BUILD)/lib/liboffload.so $(BUILD)/lib/pkgconfig/offload.pc

.PHONY: all bins deps k8s-deps k8s run test test-deploy unit e2e asan bench clean format install uninstall \
        fuzz fuzz-build fuzz-seeds
PYGEN = $(BUILD)/python/offload_pb2.py

all: $(BINS) $(LIBS) $(BUILD)/bin/unit-tests $(BUILD)/bin/hello-baseline $(PYGEN)

# The three programs only (what deploy/Dockerfile builds).
bins: $(BINS)

# The Python client's protobuf module (client/python/offload finds it here,
# or beside itself once installed).
$(PYGEN): proto/offload.proto
	@mkdir -p $(dir $@)
	protoc --proto_path=proto --python_out=$(dir $@) $<

# One rule makes both files: a grouped target, so make -j runs it once.
$(GEN) &: proto/offload.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(BUILD)/obj/gen/offload.pb-c.o: $(BUILD)/gen/offload.pb-c.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -c $< -o $@

# gateway/ui/* as C arrays (xxd -i: ui_asset_index_html[], ..._len), which
# gateway/http_ui.c serves: no file is read at run time.
$(BUILD)/gen/ui_assets.c: $(UI_FILES) Makefile
	@mkdir -p $(dir $@)
	@{ echo '/* Generated by the Makefile from gateway/ui/ (xxd -i): do not edit. */'; \
	  for f in $(notdir $(UI_FILES)); do (cd gateway/ui && xxd -i $$f) || exit 1; done; } | \
	  sed -e 's/^unsigned char /const unsigned char ui_asset_/' \
	      -e 's/^unsigned int /const unsigned int ui_asset_/' >$@.tmp && mv $@.tmp $@

$(UI_O): $(BUILD)/gen/ui_assets.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -c $< -o $@

# Unit tests reach into every component's modules.
$(BUILD)/obj/tests/%.o: FINAL_CFLAGS += -Igateway -Iexecutor -Iclient/cli

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/offload.pb-c.h $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/bin/offload-gateway: $(call obj,gateway/main.c $(GATEWAY)) $(UI_O) $(COMMON_O)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) $^ -o $@ $(LDLIBS_ALL)

# The executor needs no HTTP (jansson writes its --log-format lines).
# -rdynamic: plugins call the offload_* functions of offload_plugin.h, the
# only ones not hidden.
$(BUILD)/bin/offload-executor: $(call obj,executor/main.c $(EXECUTOR)) $(COMMON_O)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -rdynamic $^ -o $@ $(LDLIBS_EXEC)

# The static library is one relocatable object whose hidden symbols are
# made local, so an application's own parse_ll or wire_send cannot clash
# with ours: only offload_* (OFFLOAD_API) stays global.
$(BUILD)/lib/liboffload.a: $(LIB_O)
	@mkdir -p $(dir $@)
	$(LD) -r $^ -o $(BUILD)/lib/liboffload.o
	objcopy --localize-hidden $(BUILD)/lib/liboffload.o
	rm -f $@ && ar rcs $@ $(BUILD)/lib/liboffload.o && rm -f $(BUILD)/lib/liboffload.o

$(BUILD)/lib/liboffload.so.$(VERSION): $(LIB_O)
	@mkdir -p $(dir $@)
	$(CC) -shared $(FINAL_LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--no-undefined $^ -o $@ \
	    $(LDLIBS_LIB)

$(BUILD)/lib/liboffload.so: $(BUILD)/lib/liboffload.so.$(VERSION)
	ln -sf liboffload.so.$(VERSION) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $@

# offload.pc for programs built against this tree (the rpath finds the
# in-tree shared library at run time):
#   PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --cflags --libs offload
$(BUILD)/lib/pkgconfig/offload.pc: Makefile client/include/offload.h
	@mkdir -p $(dir $@)
	@printf '%s\n' 'libdir=$${pcfiledir}/..' 'includedir=$(CURDIR)/client/include' '' \
	  'Name: offload' 'Description: liboffload, the offload client library' \
	  'Version: $(VERSION)' 'Requires.private: $(LIB_PKGS)' \
	  'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -loffload' 'Libs.private: -pthread' \
	  'Cflags: -I$${includedir}' >$@

# offload.pc for the installed copy.
$(BUILD)/install/offload.pc: Makefile client/include/offload.h
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: offload' 'Description: liboffload, the offload client library' \
	  'Version: $(VERSION)' 'Requires.private: $(LIB_PKGS)' \
	  'Libs: -L$${libdir} -loffload' 'Libs.private: -pthread' \
	  'Cflags: -I$${includedir}' >$@

# The CLI links liboffload, the one parser it needs, jansson (offload
# queues, top) and ncurses (offload top): no libmicrohttpd or inih. Its
# commands in client/cli/ are not liboffload's.
$(BUILD)/bin/offload: $(call obj,client/main.c $(CLI) common/parse.c common/keys.c) \
                      $(BUILD)/lib/liboffload.a
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) $^ -o $@ \
	    $(shell pkg-config --libs $(LIB_PKGS) jansson ncurses 2>/dev/null) -pthread

$(BUILD)/bin/unit-tests: $(call obj,$(UNIT) $(GATEWAY) $(EXECUTOR) $(CLIENT) $(CLI_UNIT)) $(UI_O) $(COMMON_O)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -rdynamic $^ -o $@ $(LDLIBS_ALL) -ldl -lcunit

# The benchmark baseline: a minimal libmicrohttpd hello-world server.
$(BUILD)/bin/hello-baseline: bench/hello.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) bench/hello.c -o $@ $(LDLIBS_ALL)

install: $(BINS) $(LIBS) $(BUILD)/install/offload.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 client/include/offload.h executor/offload_plugin.h $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(BUILD)/lib/liboffload.a $(DESTDIR)$(LIBDIR)
	install -m 755 $(BUILD)/lib/liboffload.so.$(VERSION) $(DESTDIR)$(LIBDIR)
	ln -sf liboffload.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liboffload.so
	install -m 644 $(BUILD)/install/offload.pc $(DESTDIR)$(PKGCONFIGDIR)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BINS))) \
	    $(DESTDIR)$(INCLUDEDIR)/offload.h $(DESTDIR)$(INCLUDEDIR)/offload_plugin.h \
	    $(DESTDIR)$(LIBDIR)/liboffload.a \
	    $(DESTDIR)$(LIBDIR)/liboffload.so $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/liboffload.so.$(VERSION) $(DESTDIR)$(PKGCONFIGDIR)/offload.pc

deps:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory k8s-deps

# The Kubernetes manifest checker's npm packages (tests/deploy/package.json,
# versions pinned by its package-lock.json), installed once into
# $(BUILD)/k8s-validate; validate_k8s.sh then runs offline.
K8S_MODULES = $(BUILD)/k8s-validate/node_modules
k8s-deps: $(K8S_MODULES)/.offload-stamp
$(K8S_MODULES)/.offload-stamp: tests/deploy/package.json tests/deploy/package-lock.json
	@mkdir -p $(BUILD)/k8s-validate
	cp tests/deploy/package.json tests/deploy/package-lock.json $(BUILD)/k8s-validate/
	cd $(BUILD)/k8s-validate && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-local.sh $(BUILD)

unit: all
	$(BUILD)/bin/unit-tests

e2e: all
	OFFLOAD_BIN=$(BUILD)/bin tests/e2e/run.sh

k8s: k8s-deps
	OFFLOAD_K8S_MODULES=$(K8S_MODULES) tests/deploy/validate_k8s.sh
	OFFLOAD_K8S_MODULES=$(K8S_MODULES) tests/deploy/validate_obs.sh

# test-deploy also runs from make test, but only where a Docker engine already
# answers: make test never installs or starts one.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit k8s e2e
	@if timeout 10 docker info >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory test-deploy; \
	else echo "test-deploy: skipped (no Docker engine)"; fi

# The compose stack, for real: see tests/deploy/test_compose.sh. Starts the
# engine (and installs docker.io, docker-compose, debootstrap) when needed.
test-deploy:
	tests/deploy/test_compose.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	OFFLOAD_E2E_SANITIZED=1 OFFLOAD_E2E_TEST_TIMEOUT=$${OFFLOAD_E2E_TEST_TIMEOUT:-360} \
	  $(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit e2e

bench: deps
	@$(MAKE) --no-print-directory all
	OFFLOAD_BIN=$(BUILD)/bin bench/bench.sh

# libFuzzer harnesses, tests/fuzz/fuzz_<name>.c, built by clang apart from
# `all`, each linked with only the modules it fuzzes. make fuzz runs each in
# turn for FUZZ_SECONDS on its seed corpus tests/fuzz/corpus/<name> (read,
# never written); what it finds goes to $(BUILD)/fuzz/corpus-new/<name>, a
# crash's input to $(BUILD)/fuzz/crashes/<name>/ and the output to
# $(BUILD)/fuzz/<name>.log. Any crash, leak or timeout fails it.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_NAMES    = codec wproto params routes parse tokens keys trace log_format
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -I$(BUILD)/gen -Iproto -Icommon -Igateway -Iexecutor \
                $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
FUZZ_PB_LIBS  = $(shell pkg-config --libs libprotobuf-c 2>/dev/null)
fuzz_obj      = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(1))
FUZZ_CODEC_O  = $(BUILD)/fuzz/obj/gen/offload.pb-c.o $(call fuzz_obj,proto/codec.c common/trace.c)
FUZZ_BINS     = $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

$(BUILD)/fuzz/fuzz_codec:  $(FUZZ_CODEC_O)
$(BUILD)/fuzz/fuzz_wproto: $(FUZZ_CODEC_O) $(call fuzz_obj,executor/wproto.c common/text.c)
$(BUILD)/fuzz/fuzz_params: $(FUZZ_CODEC_O) $(call fuzz_obj,gateway/params.c common/text.c)
$(BUILD)/fuzz/fuzz_routes: $(FUZZ_CODEC_O) $(call fuzz_obj,gateway/routes.c common/parse.c)
$(BUILD)/fuzz/fuzz_parse:  $(call fuzz_obj,common/parse.c)
$(BUILD)/fuzz/fuzz_tokens: $(FUZZ_CODEC_O) $(call fuzz_obj,gateway/tokens.c)
$(BUILD)/fuzz/fuzz_keys:   $(FUZZ_CODEC_O) $(call fuzz_obj,common/keys.c)
$(BUILD)/fuzz/fuzz_trace:  $(call fuzz_obj,common/trace.c)
$(BUILD)/fuzz/fuzz_log_format: $(call fuzz_obj,common/log_format.c)
# The libraries a harness needs beyond libprotobuf-c.
$(BUILD)/fuzz/fuzz_tokens: FUZZ_LDLIBS = $(shell pkg-config --libs gnutls 2>/dev/null)
$(BUILD)/fuzz/fuzz_keys:   FUZZ_LDLIBS = $(shell pkg-config --libs libzmq 2>/dev/null)
$(BUILD)/fuzz/fuzz_log_format: FUZZ_LDLIBS = $(shell pkg-config --libs jansson 2>/dev/null)

# The harness objects are kept (not intermediates).
.SECONDARY: $(patsubst %,$(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o,$(FUZZ_NAMES))
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) $^ -o $@ $(if $(filter $(FUZZ_CODEC_O),$^),$(FUZZ_PB_LIBS)) \
	    $(FUZZ_LDLIBS)

# Rebuilt when the fuzz flags change (the file changes only when they do).
$(BUILD)/fuzz/.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' | cmp -s - $@ || echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' >$@
FORCE:

$(BUILD)/fuzz/obj/gen/offload.pb-c.o: $(BUILD)/gen/offload.pb-c.c $(BUILD)/fuzz/.flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.c $(BUILD)/gen/offload.pb-c.h $(BUILD)/fuzz/.flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@failed=; for n in $(FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus-new/$$n $(BUILD)/fuzz/crashes/$$n; \
	    dict=; [ ! -f tests/fuzz/$$n.dict ] || dict=-dict=tests/fuzz/$$n.dict; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	    if $(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/crashes/$$n/ $$dict \
	        $(BUILD)/fuzz/corpus-new/$$n tests/fuzz/corpus/$$n >$(BUILD)/fuzz/$$n.log 2>&1; then \
	        grep -E '^#[0-9]+[[:space:]]+DONE' $(BUILD)/fuzz/$$n.log; \
	    else \
	        tail -n 60 $(BUILD)/fuzz/$$n.log; failed="$$failed $$n"; \
	    fi; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz: FAILED:$$failed (inputs in $(BUILD)/fuzz/crashes/," \
	    "logs in $(BUILD)/fuzz/)"; exit 1; }

# Writes the seed corpus again (tests/fuzz/seeds.c); the result is committed.
$(BUILD)/bin/fuzz-seeds: $(call obj,tests/fuzz/seeds.c proto/codec.c executor/wproto.c \
                             common/text.c common/trace.c) $(BUILD)/obj/gen/offload.pb-c.o
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) $^ -o $@ $(FUZZ_PB_LIBS) $(shell pkg-config --libs libzmq 2>/dev/null)

fuzz-seeds: $(BUILD)/bin/fuzz-seeds
	mkdir -p $(addprefix tests/fuzz/corpus/,$(FUZZ_NAMES))
	$(BUILD)/bin/fuzz-seeds tests/fuzz/corpus

format:
	clang-format -i $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')

clean:
	rm -rf build $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
