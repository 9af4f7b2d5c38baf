# Examples: small real programs, each verified against a sequential run.
#   make examples         build them into $(BUILD)/examples/
#   make examples-check   run each on a small size with 1 and 2 workers
#   make demo             the tiled Cholesky on a size that takes a few seconds
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

$(EXAMPLE_BIN): $(BUILD)/examples/%: examples/%.c examples/example.h $(LIBA) | $(BUILD)/examples
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LINK_DTASK)

examples-check: examples
	@fail=0; for w in 1 2; do \
	$(foreach e,$(EXAMPLES),DT_NUM_WORKERS=$$w timeout $(EXAMPLE_TIMEOUT) \
	  $(BUILD)/examples/$(e) $(EXAMPLE_ARGS_$(e)) \
	  || { echo "example FAILED: $(e) $(EXAMPLE_ARGS_$(e)) with $$w workers"; fail=1; };) \
	done; exit $$fail

DEMO_RANKS ?= 2
MPIEXEC ?= mpiexec.mpich
demo: $(BUILD)/examples/cholesky
	@echo "demo: tiled Cholesky (N B = $(DEMO_ARGS)) as libdtask tasks with 2-D tile" \
	  "dependencies on one row-major matrix, on $(DEMO_RANKS) MPI ranks ($(MPIEXEC) -n $(DEMO_RANKS))," \
	  "timed against a sequential run and verified; then the same on 1 rank"
	@$(MPIEXEC) -n $(DEMO_RANKS) $(BUILD)/examples/cholesky $(DEMO_ARGS)
	@$(BUILD)/examples/cholesky $(DEMO_ARGS)
