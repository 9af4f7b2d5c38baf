# Task types from signatures (libffi) and the Python binding: overhead against
# plain tasks, tasks/s from Python, the Python tiled matmul against C.
#   make bench-ffi        the measurements of bench/RESULTS.md's ffi section
#   make bench-ffi-quick  each driver on a tiny size, checked (in bench-quick)
BENCH_FFI = $(BUILD)/bench/ffi-overhead $(BUILD)/bench/ffi-matmul-blas

$(BUILD)/bench/ffi-overhead: bench/ffi/overhead.c $(LIBA) | $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) $(DEP_CFLAGS) $< -o $@ $(LINK_DTASK)

$(BUILD)/bench/ffi-matmul-blas: bench/ffi/matmul-blas.c $(LIBA) | $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LINK_DTASK) -lopenblas

.PHONY: bench-ffi bench-ffi-quick
bench-ffi: all $(BENCH_FFI) $(BUILD)/examples/matmul
	BUILD=$(BUILD) bench/ffi/run.sh

bench-ffi-quick: all $(BENCH_FFI)
	BUILD=$(BUILD) bench/ffi/run.sh --quick

bench-quick: bench-ffi-quick
