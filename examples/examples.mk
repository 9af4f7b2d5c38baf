# Examples: small real programs, each verified against a sequential run.
#   make examples         build them into $(BUILD)/examples/
#   make examples-check   run each on a small size with 1 and 2 workers
#   make demo             heat with dt_taskiter across 2 ranks next to hand-written MPI, then Cholesky
EXAMPLES    = cholesky heat jacobi matmul
EXAMPLE_BIN = $(addprefix $(BUILD)/examples/,$(EXAMPLES))
# small sizes: examples-check also runs under the sanitizers
EXAMPLE_ARGS_cholesky = 192 32
EXAMPLE_ARGS_heat     = 200 48 6
EXAMPLE_ARGS_jacobi   = 64 16 3000 10
EXAMPLE_ARGS_matmul   = 160 48
EXAMPLE_TIMEOUT ?= 120
DEMO_ARGS ?= 2048 256

.PHONY: examples examples-check demo
examples: $(EXAMPLE_BIN)

$(BUILD)/examples:
	mkdir -p $@

$(EXAMPLE_BIN): $(BUILD)/examples/%: examples/%.c examples/example.h examples/grid.h $(LIBA) | $(BUILD)/examples
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LINK_DTASK)

examples-check: examples
	@fail=0; for w in 1 2; do \
	$(foreach e,$(EXAMPLES),DT_NUM_WORKERS=$$w timeout $(EXAMPLE_TIMEOUT) \
	  $(BUILD)/examples/$(e) $(EXAMPLE_ARGS_$(e)) \
	  || { echo "example FAILED: $(e) $(EXAMPLE_ARGS_$(e)) with $$w workers"; fail=1; };) \
	done; exit $$fail

DEMO_RANKS ?= 2
MPIEXEC ?= mpiexec.mpich
DEMO_HEAT ?= 2048 128 100
# The headline: an iterative stencil recorded once by dt_taskiter and replayed
# across ranks with precomputed transfers, next to hand-written MPI of the same
# sweep; then a tiled Cholesky offloaded across ranks.  Each run is verified.
demo: $(BUILD)/examples/heat $(BUILD)/bench/heat-mpi $(BUILD)/examples/cholesky
	@echo "demo 1: Gauss-Seidel heat (N B T = $(DEMO_HEAT): 2-D tiles of one row-major grid)" \
	  "with dt_taskiter on $(DEMO_RANKS) ranks x 1 worker, verified against the serial sweep"
	@DT_NUM_WORKERS=1 $(MPIEXEC) -n $(DEMO_RANKS) $(BUILD)/examples/heat $(DEMO_HEAT)
	@echo "demo 1, the same sweep as hand-written pipelined MPI (bench/taskiter/heat-mpi.c):"
	@$(MPIEXEC) -n $(DEMO_RANKS) $(BUILD)/bench/heat-mpi $(DEMO_HEAT)
	@echo "demo 2: tiled Cholesky (N B = $(DEMO_ARGS)) as libdtask tasks with 2-D tile" \
	  "dependencies on one row-major matrix, on $(DEMO_RANKS) MPI ranks, timed against a" \
	  "sequential run and verified"
	@$(MPIEXEC) -n $(DEMO_RANKS) $(BUILD)/examples/cholesky $(DEMO_ARGS)
