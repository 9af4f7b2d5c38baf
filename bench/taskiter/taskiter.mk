# dt_taskiter on one rank: Gauss-Seidel heat against the serial sweep, and the
# cost of a replayed task against a created one (bench/taskiter/run.sh).
#   make bench-taskiter        full run; rewrites the "taskiter" section of
#                              bench/RESULTS.md (part of make bench)
#   make bench-taskiter-quick  tiny sizes, results checked (part of make bench-quick)
#   make bench-taskiter-dist   heat on 2 ranks: the distributed dt_taskiter
#                              against hand-written MPI (bench/taskiter/dist.sh)
#   make bench-taskiter-pertask  ns (and instructions) per replayed task against
#                              per created task, 1 rank and 2 and 4 ranks
#                              (bench/taskiter/pertask.sh; prints a section)
.PHONY: bench-taskiter bench-taskiter-quick bench-taskiter-dist bench-taskiter-pertask
bench: bench-taskiter
bench-quick: bench-taskiter-quick

$(BUILD)/bench/iter: bench/taskiter/iter.c $(LIBA) | $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LINK_DTASK)

bench-taskiter: $(BUILD)/bench/iter
	CC="$(CC)" bench/taskiter/run.sh $(BUILD)/bench bench/RESULTS.md

bench-taskiter-quick: $(BUILD)/bench/iter
	bench/taskiter/run.sh --quick $(BUILD)/bench

$(BUILD)/bench/heat-mpi: bench/taskiter/heat-mpi.c | $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags mpich) $< -o $@ $(shell pkg-config --libs mpich)

bench-taskiter-dist: $(BUILD)/bench/iter $(BUILD)/bench/heat-mpi
	bench/taskiter/dist.sh $(BUILD)/bench

bench-taskiter-pertask: $(BUILD)/bench/iter
	bench/taskiter/pertask.sh $(BUILD)/bench
