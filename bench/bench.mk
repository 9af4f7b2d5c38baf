# Benchmarks against peers; results go to bench/RESULTS.md.
#   make bench         core runtime vs libgomp, full sizes; rewrites the
#                      "Core runtime vs libgomp" section of bench/RESULTS.md
#   make bench-quick   every driver on a tiny size, checked (part of make test)
# bench/core.c is built twice: against libdtask, and with -fopenmp alone.
BENCH_CORE = $(BUILD)/bench/core-dtask $(BUILD)/bench/core-gomp

.PHONY: bench bench-quick
$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/core-dtask: bench/core.c $(LIBA) | $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LINK_DTASK)

$(BUILD)/bench/core-gomp: bench/core.c | $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) -fopenmp $< -o $@

# bench/regions.c: heat's graph with 2-D regions against plain ranges
$(BUILD)/bench/regions: bench/regions.c $(LIBA) | $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LINK_DTASK)

bench: all $(BENCH_CORE)
	CC="$(CC)" bench/run-core.sh $(BUILD)/bench bench/RESULTS.md

bench-quick: $(BENCH_CORE) $(BUILD)/bench/regions
	bench/run-core.sh --quick $(BUILD)/bench
	DT_NUM_WORKERS=2 $(BUILD)/bench/regions rows 16 2 1
	DT_NUM_WORKERS=2 $(BUILD)/bench/regions tiles 16 2 1
include bench/taskbench/taskbench.mk
include bench/cluster/cluster.mk
include bench/ffi/ffi.mk
include bench/taskiter/taskiter.mk
