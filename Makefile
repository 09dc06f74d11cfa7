# The two commands of the README: `make play` and `make test`.
BUILD ?= build
# Quiet the nested makes of `cmake --build`.
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps compat-deps configure build test play-build play cluster \
	stop status bench fuzz format format-check clean

all: build

deps:
	@bash scripts/install-deps.sh

# Node.js and the Redis client libraries of the compatibility tests.
compat-deps:
	@bash scripts/install-deps.sh --compat

# Warnings are errors for us and in CI (CMUD_WERROR), not in a user's own
# cmake build with another compiler. Debug info is line tables only (-g1):
# backtraces and sanitizer reports keep file:line, and a full build takes
# 360 s instead of 516 s (docs/PERFORMANCE.md). For locals in gdb:
# make CMAKE_FLAGS=-DCMAKE_BUILD_TYPE=Debug.
DEV_FLAGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMUD_WERROR=ON \
	"-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
configure: deps
	@cmake -S . -B $(BUILD) $(DEV_FLAGS) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build compat-deps
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Only what playing needs: the server and the game (not the tests and
# benchmarks). Configures once; later calls only let the build catch up.
play-build: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || $(MAKE) configure
	@cmake --build $(BUILD) -j $(JOBS) --target cmud-server cmud cmud-cli

# A local cluster of two servers (scripts/play.sh): `cluster` starts what is
# not running, `play` also opens the game on it, `stop` stops it.
play: play-build
	@bash scripts/play.sh play

cluster: play-build
	@bash scripts/play.sh cluster

stop:
	@bash scripts/play.sh stop

status:
	@bash scripts/play.sh status

bench: build
	@$(BUILD)/bin/actor-bench

# Fuzzes each harness (libFuzzer, clang, ASan + UBSan) for FUZZ_SECONDS on
# top of its seed corpus in tests/fuzz/corpus; a finding fails it.
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/install-deps.sh --fuzz
	@CXX=clang++ cmake -S . -B build-fuzz $(DEV_FLAGS) \
		-DCMUD_FUZZ=ON -DCMUD_FUZZ_SECONDS=$(FUZZ_SECONDS) \
		-DCMUD_BUILD_BENCH=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_resp fuzz_sync \
		fuzz_cluster_port fuzz_acl
	@cd build-fuzz && { ctest -V -j $(JOBS) -L '^fuzz$$' >fuzz.log 2>&1; \
		rc=$$?; grep -E 'fuzz:|stat::|tests passed' fuzz.log; \
		[ $$rc -eq 0 ] || tail -n 80 fuzz.log; exit $$rc; }

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

format-check:
	@git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

clean:
	@rm -rf $(BUILD) build-release build-tsan build-asan build-fuzz run
