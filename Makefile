# Simpul: the two commands a newcomer needs are `make demo` and `make test`.
# Each installs what is missing (scripts/setup.sh), configures, builds with -j2, then runs.
JOBS ?= 2
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all setup build test demo package format format-check test-asan test-tsan fuzz bench soak clean

all: build

setup:
	@./scripts/setup.sh

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

# The Debian package (CPack DEB): $(BUILD)/packages/simpul_<version>_amd64.deb and its debug
# symbols (simpul-dbgsym_<version>_amd64.ddeb). tests/package checks it in `make test`.
package: build
	cd $(BUILD) && cpack -G DEB -B packages

# KEEP=1: the demo federation stays up after its run, until Ctrl-C (to open the dashboard).
demo: build
	./$(BUILD)/simpul demo --config-dir config/demo --samples config/demo/complaints.jsonl $(if $(KEEP),--keep-running)

# clang-format 14 with the tree's .clang-format: `format` rewrites, `format-check` (CI) fails on
# any file that is not formatted.
format:
	./scripts/format.sh

format-check:
	./scripts/format.sh --check

# AddressSanitizer + UndefinedBehaviorSanitizer over the whole suite, in its own build tree.
test-asan:
	SIMPUL_IMPORT_ROWS=20000 $(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DSIMPUL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

test-tsan:
	SIMPUL_IMPORT_ROWS=20000 $(MAKE) test BUILD=build-tsan CMAKE_FLAGS="-DSIMPUL_TSAN=ON -DCMAKE_BUILD_TYPE=Debug"

# libFuzzer targets (tests/fuzz) with clang-14, ASan and UBSan: FUZZ_SECONDS each (default 180).
fuzz:
	./scripts/fuzz.sh

# Every benchmark in bench/, then BENCHMARKS.md from the figures they recorded (value, same-run
# reference, ratio, machine, command). About 10 minutes on 2 cores; needs ~9 GB free in /tmp for
# the 1,000,000-complaint store (twice: leaf and parent). Never part of `make test`.
BENCH_OUT = $(abspath $(BUILD))/bench-results.jsonl
bench: build
	rm -f $(BENCH_OUT)
	@date +%s > $(BUILD)/bench-started
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/ingest_bench --simpul ./$(BUILD)/simpul
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/ingest_bench --simpul ./$(BUILD)/simpul --full-text 0
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/federation_bench --simpul ./$(BUILD)/simpul --sync-complaints 20000
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/federation_bench --simpul ./$(BUILD)/simpul --latency-complaints 50 --solo-parent 1 --signatures require
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/import_bench --simpul ./$(BUILD)/simpul --rows 1000000
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/lapor_bench
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/growth_bench --simpul ./$(BUILD)/simpul
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/backup_bench --simpul ./$(BUILD)/simpul
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/storage_bench --complaints 100000
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/storage_bench --complaints 100000 --full-text 0
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/sla_bench --complaints 1000000
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/sql_poll_bench --rows 1000000
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/sql_load_bench --simpul ./$(BUILD)/simpul --rows 1000000
	SIMPUL_BENCH_REPORT=$(BENCH_OUT) ./$(BUILD)/bench/sql_latency_bench --simpul ./$(BUILD)/simpul
	./$(BUILD)/bench/bench_report --in $(BENCH_OUT) --out BENCHMARKS.md --minutes $$(( ($$(date +%s) - $$(cat $(BUILD)/bench-started)) / 60 ))

# Long crash-and-restart soaks (the short versions run in `make test`).
soak: build
	SIMPUL_CRASH_CYCLES=200 SIMPUL_FED_KILL_CYCLES=100 ./$(BUILD)/tests/fault_tests

clean:
	rm -rf build build-asan build-tsan build-fuzz
