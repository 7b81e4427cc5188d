# offload -- build, test, run. See README.md.
#
#   make            binaries in build/bin, library in build/lib
#   make run        install what is missing, build, start gateway + executor
#   make test       install what is missing, build, run every test
#   make asan       the same tests on an AddressSanitizer + UBSan build
#   make bench      the benchmarks (seed scenario, echo vs hello-world)

BUILD   ?= build
CC      ?= cc
PKGS     = libzmq libprotobuf-c libmicrohttpd jansson inih
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
           -I$(BUILD)/gen -Iproto -Icommon -Iclient \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
ifdef SAN
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

GEN      = $(BUILD)/gen/offload.pb-c.c
COMMON   = $(wildcard common/*.c) proto/codec.c proto/wire.c
GATEWAY  = $(filter-out gateway/main.c,$(wildcard gateway/*.c))
EXECUTOR = $(filter-out executor/main.c,$(wildcard executor/*.c))
CLIENT   = $(filter-out client/main.c,$(wildcard client/*.c))
UNIT     = $(wildcard tests/unit/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_O = $(BUILD)/obj/gen/offload.pb-c.o $(call obj,$(COMMON))

BINS = $(BUILD)/bin/offload-gateway $(BUILD)/bin/offload-executor
ifneq ($(wildcard client/main.c),)
BINS += $(BUILD)/bin/offload
endif
LIBS = $(if $(CLIENT),$(BUILD)/lib/liboffload.a $(BUILD)/lib/pkgconfig/offload.pc)

.PHONY: all deps run test unit e2e asan bench clean format
all: $(BINS) $(LIBS) $(BUILD)/bin/unit-tests $(BUILD)/bin/hello-baseline

$(BUILD)/gen/offload.pb-c.c $(BUILD)/gen/offload.pb-c.h: proto/offload.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(BUILD)/obj/gen/offload.pb-c.o: $(BUILD)/gen/offload.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Unit tests reach into every component's modules.
$(BUILD)/obj/tests/%.o: CFLAGS += -Igateway -Iexecutor

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/offload.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/bin/offload-gateway: $(call obj,gateway/main.c $(GATEWAY)) $(COMMON_O)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/offload-executor: $(call obj,executor/main.c $(EXECUTOR)) $(COMMON_O)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/lib/liboffload.a: $(call obj,$(CLIENT)) $(COMMON_O)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# pkg-config file for programs built against this tree's liboffload:
#   PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --cflags --libs offload
$(BUILD)/lib/pkgconfig/offload.pc: Makefile client/offload.h
	@mkdir -p $(dir $@)
	@printf '%s\n' 'libdir=$${pcfiledir}/..' 'includedir=$(CURDIR)/client' '' \
	  'Name: offload' 'Description: liboffload, the offload client library' \
	  "Version: $$(sed -n 's/^#define OFFLOAD_VERSION \"\(.*\)\"/\1/p' client/offload.h)" \
	  'Requires: libzmq libprotobuf-c' \
	  'Libs: -L$${libdir} -loffload -pthread' \
	  'Cflags: -I$${includedir}' >$@

$(BUILD)/bin/offload: $(call obj,client/main.c) $(BUILD)/lib/liboffload.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/unit-tests: $(call obj,$(UNIT) $(GATEWAY) $(EXECUTOR) $(CLIENT)) $(COMMON_O)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcunit

# The benchmark baseline: a minimal libmicrohttpd hello-world server.
$(BUILD)/bin/hello-baseline: bench/hello.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@ $(LDLIBS)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-local.sh $(BUILD)

unit: all
	$(BUILD)/bin/unit-tests

e2e: all
	OFFLOAD_BIN=$(BUILD)/bin tests/e2e/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit e2e

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	OFFLOAD_E2E_SANITIZED=1 \
	  $(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit e2e

bench: deps
	@$(MAKE) --no-print-directory all
	OFFLOAD_BIN=$(BUILD)/bin bench/bench.sh

format:
	clang-format -i $(wildcard */*.c */*.h tests/*/*.c)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
