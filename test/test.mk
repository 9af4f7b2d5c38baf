# Tests: Check unit tests (test/test-*.c, one file per area) and the randomized
# oracle (test/oracle.c).  Every test binary runs under `timeout`: a hang fails.
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)
TEST_TIMEOUT ?= 300
UNIT_SRC  = $(wildcard test/test-*.c)
UNIT_BIN  = $(patsubst test/%.c,$(BUILD)/test/%,$(UNIT_SRC))
ORACLE    = $(BUILD)/test/oracle
# oracle sweep: seeds x workers; ORACLE_TASKS tasks per run; then the
# ORACLE_2D_SEEDS with 90% of the regions 2-D (rectangles of several strides)
ORACLE_SEEDS   ?= 1 2 3 4 5
ORACLE_2D_SEEDS ?= 6 7
ORACLE_WORKERS ?= 1 2
ORACLE_TASKS   ?= 20000
# iterative mode: ORACLE_ITER_TASKS tasks per iteration, ORACLE_ITERS iterations,
# run sequentially, as a plain loop and as dt_taskiter
ORACLE_ITER_TASKS ?= 400
ORACLE_ITERS      ?= 12

$(BUILD)/test:
	mkdir -p $@

$(BUILD)/test/test-%: test/test-%.c test/test_util.h $(LIBA) | $(BUILD)/test
	$(CC) $(CFLAGS_ALL) $(DEP_CFLAGS) $(CHECK_CFLAGS) $< -o $@ $(LINK_DTASK) $(CHECK_LIBS)

$(ORACLE): test/oracle.c $(LIBA) | $(BUILD)/test
	$(CC) $(CFLAGS_ALL) $(DEP_CFLAGS) $< -o $@ $(LINK_DTASK)

.PHONY: test-unit test-oracle
test-unit: $(UNIT_BIN)
	@fail=0; total=0; bad=0; for t in $(UNIT_BIN); do \
	  echo "== $$t"; out=$$(DT_NUM_WORKERS=2 timeout $(TEST_TIMEOUT) $$t 2>&1) || fail=1; printf '%s\n' "$$out"; \
	  n=$$(printf '%s\n' "$$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p'); \
	  if [ -n "$$n" ]; then set -- $$n; total=$$((total + $$1)); bad=$$((bad + $$2 + $$3)); else bad=$$((bad + 1)); fi; \
	done; \
	echo "unit tests: $$((total - bad)) passed, $$bad failed"; exit $$fail

test-oracle: $(ORACLE)
	@fail=0; for w in $(ORACLE_WORKERS); do for s in $(ORACLE_SEEDS); do \
	  DT_NUM_WORKERS=$$w timeout $(TEST_TIMEOUT) $(ORACLE) --seed $$s --tasks $(ORACLE_TASKS) \
	    || { echo "oracle FAILED: seed $$s workers $$w"; fail=1; }; \
	  DT_NUM_WORKERS=$$w timeout $(TEST_TIMEOUT) $(ORACLE) --seed $$s --tasks $(ORACLE_ITER_TASKS) \
	    --iter $(ORACLE_ITERS) || { echo "oracle --iter FAILED: seed $$s workers $$w"; fail=1; }; \
	done; done; \
	for w in $(ORACLE_WORKERS); do for s in $(ORACLE_2D_SEEDS); do \
	  DT_NUM_WORKERS=$$w timeout $(TEST_TIMEOUT) $(ORACLE) --seed $$s --tasks $(ORACLE_TASKS) --2d 900 \
	    || { echo "oracle FAILED: seed $$s workers $$w --2d 900"; fail=1; }; done; done; exit $$fail

# The control-message decoder, fuzzed on its own (libFuzzer, clang).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
$(BUILD)/test/fuzz-msg: test/fuzz/fuzz-msg.c lib/cluster/msg.c lib/cluster/msg.h | $(BUILD)/test
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -Ilib -Iinclude test/fuzz/fuzz-msg.c lib/cluster/msg.c -o $@

.PHONY: fuzz
fuzz: $(BUILD)/test/fuzz-msg
	mkdir -p $(BUILD)/test/fuzz-corpus
	$(BUILD)/test/fuzz-msg -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	  $(BUILD)/test/fuzz-corpus 2>&1 | tail -4

include test/mpi/mpi.mk

# make install to two temporary prefixes, then build against the second;
# the README's quick start with stand-ins for apt-get, sudo and make
.PHONY: test-install
test-install: all
	timeout $(TEST_TIMEOUT) test/install/install.sh $(BUILD)
	timeout $(TEST_TIMEOUT) test/install/quickstart.sh

# The Python binding (python/): pytest with Debian's python3 (its numpy), on
# 1 and 2 ranks, against this build's libdtask.so.
PYTHON ?= /usr/bin/python3
.PHONY: test-python
test-python: $(LIBSO)
	cd python/tests && DTASK_LIBRARY=$(abspath $(LIBSO)) timeout $(TEST_TIMEOUT) $(PYTHON) -m pytest -q -p no:cacheprovider

test: all test-unit test-oracle fuzz test-mpi test-install examples-check test-python bench-quick
	@echo "make test: all passed"

# The suite under sanitizers, each in its own build tree.
# UCX (under MPICH) patches the memory allocator, which TSan cannot follow:
# UCX_MEM_EVENTS=no turns that off.  MPICH and UCX are not instrumented:
# TSan sees the memcpy calls they make into message buffers but not the
# atomics that order them (a CI run reported such a pair inside UCX's
# ucp_eager_only_handler), so TSan checks only accesses made by our code
# (ignore_noninstrumented_modules=1); the locks they take still count.  Leaks inside hwloc/MPICH/UCX are listed
# in test/lsan.supp.
SAN_ENV = UCX_MEM_EVENTS=no LSAN_OPTIONS=suppressions=$(CURDIR)/test/lsan.supp
test-sanitize:
	$(SAN_ENV) $(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  OPT=-O1 ORACLE_TASKS=5000 ORACLE_ITER_TASKS=300 ORACLE_ITERS=10 test-unit test-oracle examples-check
	@# under mpiexec, UCX's transport plugins are unloaded before LSan reports
	@# what they keep, so leaks are checked in the single-process runs above
	$(SAN_ENV) ASAN_OPTIONS=detect_leaks=0 $(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  OPT=-O1 MPI_RANKS=2 MPI_POLICIES=locality test-mpi
	$(SAN_ENV) TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1" $(MAKE) BUILD=build/tsan SAN="-fsanitize=thread" OPT=-O1 \
	  ORACLE_TASKS=3000 ORACLE_ITER_TASKS=200 ORACLE_ITERS=10 MPI_RANKS=2 MPI_POLICIES=locality test-unit test-oracle test-mpi examples-check
