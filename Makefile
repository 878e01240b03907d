# bootviewfs: plain GNU make. `make help` lists the targets.
#
#   make            build build/bootviewfs
#   make check      install missing deps, build, run every test
#   make check SAN=address,undefined   the same under sanitizers
#   make tsan       the concurrency tests under ThreadSanitizer (part of plain make check)
#   make demo       mount a small urunc-style image and show the artifacts
#   make install    PREFIX=/usr/local DESTDIR= (the mount helper goes to SBINDIR=/sbin)
#   make shim       build/bvshim, the Go shim client of examples/shim (containerd's client)
#   make fuzz       FUZZ_SECONDS=60 FUZZ_TARGETS="fs open xfs export mounts state" (clang)
#   V=1             show the commands

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PKG_CONFIG ?= pkg-config

PKGS      := fuse3 devmapper jansson blkid
TEST_PKGS := check

ifeq ($(V),1)
Q :=
else
Q := @
endif

# A missing library is a set-up problem, not a compile error: say how to fix it. Only goals
# that compile right here need the libraries at parse time: demo and check install what is
# missing first and then run $(MAKE) again, which checks afresh (a fresh machine has no
# pkg-config either: that is "all missing", quietly).
NOLIB_GOALS := deps help clean demo check uninstall format
PKG_MISSING := $(shell for p in $(PKGS); do $(PKG_CONFIG) --exists $$p 2>/dev/null || echo $$p; done)
# The second make of demo and check, in a dry run (make -n demo), comes before anything
# was installed: it would stop here though the real run would not.
AFTER_INSTALL_DRY := $(and $(BV_AFTER_INSTALL),$(findstring n,$(firstword -$(MAKEFLAGS))))
ifneq ($(PKG_MISSING),)
ifneq ($(filter-out $(NOLIB_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(AFTER_INSTALL_DRY),)
$(error missing libraries: $(PKG_MISSING). Run: sudo scripts/install-deps.sh (or: make deps; make demo and make check install them themselves))
endif
endif
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wvla -Wpointer-arith -Wno-unused-parameter
WERROR ?= -Werror
OPT ?= -O2 -g
CFLAGS ?=
CPPFLAGS += -I. -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DBV_VERSION='"$(VERSION)"'
ALL_CFLAGS = -std=gnu11 $(OPT) $(WARN) $(WERROR) $(SANFLAGS) -pthread \
             $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
# libdevmapper is dlopen'ed by blockio/dm.c on first use (its dependencies slow every exec).
LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out devmapper,$(PKGS)) 2>/dev/null) -pthread

VERSION := 0.1.0

# One build directory per sanitizer set (build/san-address-undefined, build/san-thread):
# ThreadSanitizer cannot link with ASan objects, and neither must reuse the other's.
comma := ,
ifneq ($(SAN),)
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
BUILD := build/san-$(subst $(comma),-,$(SAN))
endif

# The layers, bottom up: util/ (bytes, checksums, logging), blockio/ (sources, cache,
# device-mapper, mounts JSON), fs/<format>/ (one reader per on-disk format), fs/ (the
# filesystem-neutral interface over them), fs/fuse/ (the FUSE adapter), state/ (per-view
# state), cmd/ (the program). The library is everything but the adapter and the program;
# the sandbox is in it too, for its unit tests.
LIB_SRCS  := $(wildcard util/*.c blockio/*.c fs/*.c fs/*/*.c state/*.c) cmd/daemon/sandbox.c
LIB_SRCS  := $(filter-out fs/fuse/%,$(LIB_SRCS))
BIN_SRCS  := $(wildcard fs/fuse/*.c cmd/*.c) $(filter-out cmd/daemon/sandbox.c,$(wildcard cmd/daemon/*.c))
TEST_SRCS := $(wildcard tests/check_*.c) tests/testutil.c tests/sha256.c
TOOL_SRCS := tests/dumptree.c tests/sha256.c

# The fuzz targets (tests/fuzz/fuzz_T.c); make check replays their corpora.
FUZZ_ALL     := fs open xfs export mounts state
FUZZ_REPLAYS  = $(FUZZ_ALL:%=$(BUILD)/fuzz/replay_%)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
BIN_OBJS  := $(BIN_SRCS:%.c=$(BUILD)/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libbootviewfs.a
BIN       := $(BUILD)/bootviewfs
TESTBIN   := $(BUILD)/tests/check_all
DUMPTREE  := $(BUILD)/tests/dumptree

.PHONY: shim all check unit-check integration-check corpus tsan deps demo bench install uninstall clean format fuzz fuzz-save fuzz-replay help

all: $(BIN)

help:
	@sed -n '1,11p' Makefile

deps:
	scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BIN_OBJS) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(BIN_OBJS) $(LIB) $(LIBS)

$(TESTBIN): $(TEST_OBJS) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(TEST_OBJS) $(LIB) $(LIBS) \
	    $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

# Only the suites that run threads, for make tsan: no need to build every suite under TSan.
THREADS_TESTBIN := $(BUILD)/tests/check_threads
THREADS_TEST_OBJS := $(addprefix $(BUILD)/tests/,check_concurrency.o check_cache.o testutil.o)
$(THREADS_TESTBIN): $(THREADS_TEST_OBJS) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(THREADS_TEST_OBJS) $(LIB) $(LIBS) \
	    $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

$(DUMPTREE): $(TOOL_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(TOOL_SRCS:%.c=$(BUILD)/%.o) $(LIB) $(LIBS)

# The shim client: Go, on containerd's client library as Debian packages it
# (golang-github-containerd-containerd-dev), built offline in GOPATH mode, static. It does
# not change with SAN, so the sanitizer pass reuses it.
GO   ?= go
SHIM := build/bvshim
GO_ENV := GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$(CURDIR)/build/go-cache \
          GOFLAGS=-trimpath CGO_ENABLED=0
$(SHIM): $(wildcard examples/shim/*.go)
	@mkdir -p $(dir $@)
	@echo "  GO      $@"
	$(Q)cd examples/shim && $(GO_ENV) $(GO) vet . && $(GO_ENV) $(GO) build -o $(CURDIR)/$@ .

shim: $(SHIM)

$(BUILD)/tests/%.o: CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null)

# `make check` works on a fresh machine: install what is missing first.
# The plain pass ends with the ThreadSanitizer pass (make tsan, under a minute); a SAN=
# pass does not (sanitizers do not mix, and one race pass is enough).
check:
	@scripts/install-deps.sh --if-missing
	$(Q)$(MAKE) --no-print-directory BV_AFTER_INSTALL=1 unit-check integration-check $(if $(SAN),,tsan)

# ThreadSanitizer over the tests that share one filesystem between threads: the Check
# suites concurrency and cache (16 threads on one opened filesystem, on one cache) and
# tests/integration/fuse_concurrency.sh (16 readers on a daemon with 16 FUSE workers,
# stopped while reading), everything built -fsanitize=thread in build/san-thread. The
# first report fails it (halt_on_error). Check's timeouts x10: TSan runs 5-15 times slower.
TSAN_BUILD := build/san-thread
tsan:
	$(Q)$(MAKE) --no-print-directory SAN=thread $(TSAN_BUILD)/bootviewfs $(TSAN_BUILD)/tests/check_threads
	@echo "== ThreadSanitizer: Check suites concurrency and cache, fuse_concurrency.sh"
	$(Q)TSAN_OPTIONS=halt_on_error=1 CK_FORK=yes CK_TIMEOUT_MULTIPLIER=10 $(TSAN_BUILD)/tests/check_threads
	$(Q)BUILD=$(TSAN_BUILD) bash tests/integration/fuse_concurrency.sh || [ $$? -eq 77 ]

# The e2fsprogs corpus (231 mostly corrupt images): ../shared/corpus/e2fsprogs beside the
# checkout when it is there, else fetched once from Debian's e2fsprogs source package into
# build/corpus/e2fsprogs (for every SAN). No network: the fetch says why and the corpus
# tests SKIP quoting it. CORPUS_SUITE=sid fetches a newer e2fsprogs than the release's.
CORPUS_SHARED := $(wildcard $(abspath $(CURDIR)/../shared/corpus/e2fsprogs))
corpus:
ifeq ($(CORPUS_SHARED)$(BV_CORPUS),)
	-$(Q)BV_CORPUS_SUITE=$(CORPUS_SUITE) scripts/fetch-corpus.sh build/corpus/e2fsprogs
endif

unit-check: $(BIN) $(TESTBIN) $(DUMPTREE) $(FUZZ_REPLAYS) corpus
	@echo "== unit tests"
	$(Q)CK_FORK=yes $(TESTBIN)
	@echo "== fuzz corpora replayed"
	$(Q)BUILD=$(BUILD) scripts/fuzz.sh replay $(FUZZ_ALL)

integration-check: $(BIN) $(DUMPTREE) $(SHIM) corpus
	@echo "== integration tests"
	$(Q)BUILD=$(BUILD) SHIM=$(CURDIR)/$(SHIM) tests/run-integration.sh

demo:
	@scripts/install-deps.sh --if-missing
	$(Q)$(MAKE) --no-print-directory BV_AFTER_INSTALL=1 all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

bench: $(BIN)
	$(Q)BUILD=$(BUILD) scripts/bench.sh

# mount(8) looks for mount.fuse.bootviewfs only in /sbin (and runs helpers with PATH
# cleared), whatever PREFIX is: the helper goes there, an absolute link to the binary.
SBINDIR ?= /sbin
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/bootviewfs
	ln -sf $(PREFIX)/bin/bootviewfs $(DESTDIR)$(SBINDIR)/mount.fuse.bootviewfs
	if [ -f docs/bootviewfs.1 ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 && \
	    install -m 0644 docs/bootviewfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/bootviewfs $(DESTDIR)$(SBINDIR)/mount.fuse.bootviewfs \
	      $(DESTDIR)$(PREFIX)/share/man/man1/bootviewfs.1

# Fuzzing (docs/testing.md): one libFuzzer target per entry point an image or a state
# directory reaches, tests/fuzz/fuzz_T.c for T in FUZZ_TARGETS, built with clang under ASan
# and UBSan into build/fuzz/. `make fuzz` runs each for FUZZ_SECONDS (60) from its committed
# corpus (tests/fuzz/corpus/T.tar.xz); FUZZ_TARGETS="xfs fs" picks some. `make fuzz-save`
# folds what the runs found back into the committed corpora, minimised. `make check`
# replays every committed corpus through tests/fuzz/replay.c, built like the other tests
# (no clang needed; under sanitizers in the SAN= pass).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fs open xfs export mounts state
FUZZ_COMMON := tests/fuzz/walk.c tests/fuzz/squeeze.c
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_COMMON) $(LIB_SRCS) $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) \
	    $(shell $(PKG_CONFIG) --cflags $(PKGS)) -o $@ $< $(FUZZ_COMMON) $(LIB_SRCS) $(LIBS)

FUZZ_REPLAY_COMMON := $(addprefix $(BUILD)/tests/fuzz/,replay.o walk.o squeeze.o)
.SECONDARY: $(FUZZ_ALL:%=$(BUILD)/tests/fuzz/fuzz_%.o) $(FUZZ_REPLAY_COMMON)
$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_REPLAY_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(FUZZ_REPLAY_COMMON) $(LIB) $(LIBS)

fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%) corpus
	$(Q)scripts/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-save: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	$(Q)scripts/fuzz.sh save $(FUZZ_TARGETS)

fuzz-replay: $(FUZZ_REPLAYS)
	$(Q)BUILD=$(BUILD) scripts/fuzz.sh replay $(FUZZ_ALL)

format:
	clang-format -i $(LIB_SRCS) $(BIN_SRCS) $(TEST_SRCS) $(wildcard tests/fuzz/*.c) $(wildcard */*.h */*/*.h)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
