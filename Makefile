# The two commands of the README: `make play` and `make test`.
BUILD ?= build
# Quiet the nested makes of `cmake --build`.
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test play stop bench format format-check clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# A local cluster of two servers and the game (scripts/play.sh).
play: build
	@bash scripts/play.sh

stop:
	@bash scripts/play.sh stop

bench: build
	@$(BUILD)/bin/actor-bench

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

format-check:
	@git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

clean:
	@rm -rf $(BUILD) build-tsan build-asan run
