# Multi-rank tests: real ranks under MPICH's mpiexec, each bounded by a
# timeout (a hang fails).  MPIR_CVAR_NOLOCAL=1 makes MPICH see every rank on
# a node of its own (helpers then serve application ranks of other nodes).  The fault tests must end the job with the expected
# message and a non-zero status.
MPIEXEC   ?= mpiexec.mpich
MPI_TESTS  = offload fault spmd namespace nested stats ffi spread iter helpers steal overlap lend
MPI_BIN    = $(addprefix $(BUILD)/test/mpi-,$(MPI_TESTS))
MPI_TIMEOUT ?= 120
MPI_RANKS  ?= 2 3 4
MPI_POLICIES ?= locality balance round-robin local
# The randomized oracle across ranks (test/oracle.c --cluster): every seed on
# every rank count, the policies in turn, then one seed under other settings,
# then ORACLE_MPI_2D_SEED with 90% of the regions 2-D on 2 to 4 ranks: read by
# CMA (cma.c) between the ranks of the node, and through MPI (DT_CMA=0, or
# every rank a node of its own).
ORACLE_MPI_SEEDS ?= 1 2 3
ORACLE_MPI_2D_SEED ?= 6
ORACLE_MPI_TASKS ?= 5000
ORACLE_MPI_CONFIGS ?= "DT_PROGRESS=workers DT_AGGREGATE=0" "DT_NUM_WORKERS=2" "DT_EAGER=0" "DT_NESTED=local" "DT_NESTED_MIN_US=0" "DT_LEND=1"
# mpi-steal (uneven queues) on every rank count: DT_STEAL=0, then 1 with no
# minimum task length and no cost check (must steal, must keep nothing),
# then 1 as by default (victims weigh a relay: correct, counts agree).
# DT_STEAL=1 with no minimum task length (the oracle's tasks are short): the
# oracle with its node hints and without (--no-hints), on every rank count;
# then one seed under other settings
ORACLE_STEAL_SEEDS ?= 1 2
ORACLE_STEAL_CONFIGS ?= "DT_NUM_WORKERS=2" "DT_NESTED=local" "DT_PROGRESS=workers DT_AGGREGATE=0" "DT_SCHEDULE=balance"
# DT_NESTED=spread with one worker a rank and no minimum task length (the
# most spreading: the oracle's tasks are short): its seeds
ORACLE_SPREAD_SEEDS ?= 4 5

$(BUILD)/test/mpi-%: test/mpi/%.c test/mpi/check.h $(LIBA) | $(BUILD)/test
	$(CC) $(CFLAGS_ALL) $(DEP_CFLAGS) $< -o $@ $(LINK_DTASK)

.PHONY: test-mpi test-mpi-run
# The runs' output is also kept in $(BUILD)/test-mpi.log; a failure is
# repeated at the end, with what it printed, then listed, where a CI log's
# tail shows it.
test-mpi: $(MPI_BIN) $(ORACLE) $(BUILD)/examples/heat $(BUILD)/examples/jacobi
	@{ $(MAKE) --no-print-directory test-mpi-run 2>&1; echo "test-mpi status $$?"; } | tee $(BUILD)/test-mpi.log; \
	rc=$$(sed -n 's/^test-mpi status //p' $(BUILD)/test-mpi.log); \
	if [ "$$rc" != 0 ]; then echo "test-mpi: what failed (all of it in $(BUILD)/test-mpi.log):"; \
	  grep -B4 -A5 'test-mpi FAILED' $(BUILD)/test-mpi.log | cut -c1-300; echo "test-mpi: failed:"; \
	  grep -h 'test-mpi FAILED' $(BUILD)/test-mpi.log | cut -c1-300; fi; exit $$rc

test-mpi-run: $(MPI_BIN) $(ORACLE) $(BUILD)/examples/heat $(BUILD)/examples/jacobi
	@fail=0; for n in $(MPI_RANKS); do for p in $(MPI_POLICIES); do \
	  DT_SCHEDULE=$$p timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-offload \
	    || { echo "test-mpi FAILED: offload, $$n ranks, DT_SCHEDULE=$$p"; fail=1; }; done; done; \
	timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(BUILD)/test/mpi-spmd || { echo "test-mpi FAILED: spmd"; fail=1; }; \
	for n in $(MPI_RANKS); do DT_NUM_WORKERS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-ffi \
	  || { echo "test-mpi FAILED: ffi, $$n ranks"; fail=1; }; done; \
	for n in $(MPI_RANKS); do for cfg in "DT_NUM_WORKERS=1" "DT_NUM_WORKERS=2" "DT_NAMESPACE=0 DT_NUM_WORKERS=2" \
	    "DT_PROGRESS=workers DT_NUM_WORKERS=2"; do \
	  out=$$(env $$cfg DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-namespace 2>&1); rc=$$?; \
	  early=$$(printf '%s\n' "$$out" | sed -n 's/.*rank 0: offloaded [0-9]* (placed early \([0-9]*\),.*/\1/p'); \
	  case "$$cfg" in *NAMESPACE=0*) want=0;; *) want=1;; esac; \
	  if [ $$rc -ne 0 ] || [ -z "$$early" ] || { [ $$want = 1 ] && [ "$$early" -lt 100 ]; } || \
	     { [ $$want = 0 ] && [ "$$early" -ne 0 ]; }; then \
	    echo "test-mpi FAILED: namespace, $$n ranks, $$cfg (status $$rc, placed early '$$early')"; \
	    printf '%s\n' "$$out" | tail -5; fail=1; \
	  else echo "namespace, $$n ranks, $$cfg: ok ($$early tasks placed early)"; fi; done; done; \
	for n in $(MPI_RANKS); do for cfg in "DT_NUM_WORKERS=1" "DT_NUM_WORKERS=2" "DT_PROGRESS=workers DT_AGGREGATE=0"; do \
	  env $$cfg timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-nested \
	    || { echo "test-mpi FAILED: nested, $$n ranks, $$cfg"; fail=1; }; done; done; \
	for cfg in "DT_PROGRESS=workers" "DT_AGGREGATE=0" "DT_PROGRESS=workers DT_AGGREGATE=0" "DT_EAGER=0"; do \
	  env $$cfg timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 3 $(BUILD)/test/mpi-offload \
	    || { echo "test-mpi FAILED: offload, 3 ranks, $$cfg"; fail=1; }; done; \
	timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 1 env DT_PROGRESS=workers $(BUILD)/test/mpi-offload : -n 2 $(BUILD)/test/mpi-offload \
	  || { echo "test-mpi FAILED: offload, 3 ranks, DT_PROGRESS=workers on rank 0 only (no doorbells)"; fail=1; }; \
	for opt in "DT_EAGER:regions sent unasked with their task" "DT_DOORBELL:doorbells rung"; do \
	  var=$${opt%%:*}; what=$${opt#*:}; for e in 1 0; do \
	  out=$$(env $$var=$$e DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(BUILD)/test/mpi-offload 2>&1); rc=$$?; \
	  n=$$(printf '%s\n' "$$out" | sed -n "s/.*rank 0: .*$$what \([0-9]*\).*/\1/p"); \
	  if [ $$rc -ne 0 ] || [ -z "$$n" ] || { [ $$e = 1 ] && [ "$$n" -eq 0 ]; } || { [ $$e = 0 ] && [ "$$n" -ne 0 ]; }; then \
	    echo "test-mpi FAILED: offload, $$var=$$e (status $$rc, $$what '$$n')"; fail=1; \
	  else echo "offload, $$var=$$e: ok ($$what $$n)"; fi; done; done; \
	out=$$(DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(BUILD)/test/mpi-stats 2>&1); rc=$$?; \
	r0=$$(printf '%s\n' "$$out" | sed -n 's/.*rank 0: .*ran here \([0-9]*\).*/\1/p'); \
	r1=$$(printf '%s\n' "$$out" | sed -n 's/.*rank 1: .*ran here \([0-9]*\).*/\1/p'); \
	if [ $$rc -ne 0 ] || [ "$$r0" != 60 ] || [ "$$r1" != 40 ]; then \
	  echo "test-mpi FAILED: stats (status $$rc, ran here: rank 0 '$$r0', rank 1 '$$r1', want 60 and 40)"; \
	  printf '%s\n' "$$out" | tail -5; fail=1; else echo "stats: each rank counts the tasks it ran"; fi; \
	for n in $(MPI_RANKS); do for cfg in "DT_NUM_WORKERS=1" "DT_NUM_WORKERS=2" "DT_NESTED=local DT_NUM_WORKERS=1" \
	    "DT_PROGRESS=workers DT_NUM_WORKERS=1"; do \
	  out=$$(env $$cfg DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-spread 2>&1); rc=$$?; \
	  sp=$$(printf '%s\n' "$$out" | sed -n 's/.*nested tasks spread \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  case "$$cfg" in *local*) want=0;; *) want=1;; esac; \
	  left=$$(printf '%s\n' "$$out" | grep -c 'load left [1-9-]'); \
	  if [ $$rc -ne 0 ] || [ $$left -ne 0 ] || { [ $$want = 1 ] && [ "$$sp" -eq 0 ]; } || \
	     { [ $$want = 0 ] && [ "$$sp" -ne 0 ]; }; then \
	    echo "test-mpi FAILED: spread, $$n ranks, $$cfg (status $$rc, nested tasks spread $$sp, load words left over $$left)"; \
	    printf '%s\n' "$$out" | tail -5; fail=1; \
	  else echo "spread, $$n ranks, $$cfg: ok ($$sp nested tasks spread)"; fi; done; done; \
	for n in $(MPI_RANKS); do for mode in flat nested; do for st in 0 1 cost; do \
	  case $$st in cost) set -- DT_STEAL=1;; *) set -- DT_STEAL=$$st DT_STEAL_MIN_US=0;; esac; \
	  out=$$(env "$$@" DT_NESTED=local DT_NUM_WORKERS=1 DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n \
	    $(BUILD)/test/mpi-steal $$mode 2>&1); rc=$$?; \
	  stolen=$$(printf '%s\n' "$$out" | sed -n 's/.*tasks stolen \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  given=$$(printf '%s\n' "$$out" | sed -n 's/.*given to thieves \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  kept=$$(printf '%s\n' "$$out" | sed -n 's/.*sooner here than by a relay \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  if [ $$rc -ne 0 ] || [ "$$stolen" != "$$given" ] || { [ $$st = 1 ] && [ "$$stolen" -eq 0 ]; } || \
	     { [ $$st = 1 ] && [ "$$kept" -ne 0 ]; } || \
	     { [ $$st = 0 ] && [ "$$stolen" -ne 0 ]; }; then \
	    echo "test-mpi FAILED: steal $$mode, $$n ranks, $$* (status $$rc, stolen $$stolen, given $$given)"; \
	    printf '%s\n' "$$out" | tail -5; fail=1; \
	  else echo "steal $$mode, $$n ranks, $$*: ok ($$stolen tasks stolen, $$kept kept as sooner on the victim)"; fi; done; done; done; \
	for n in $(MPI_RANKS); do for s in $(ORACLE_STEAL_SEEDS); do for h in "" --no-hints; do \
	  out=$$(DT_STEAL=1 DT_STEAL_MIN_US=0 DT_NUM_WORKERS=1 DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(ORACLE) --cluster $$h \
	    --seed $$s --tasks $(ORACLE_MPI_TASKS) 2>&1); rc=$$?; \
	  stolen=$$(printf '%s\n' "$$out" | sed -n 's/.*tasks stolen \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  given=$$(printf '%s\n' "$$out" | sed -n 's/.*given to thieves \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  if [ $$rc -ne 0 ] || [ "$$stolen" != "$$given" ] || { [ -n "$$h" ] && [ "$$stolen" -eq 0 ]; }; then \
	    echo "test-mpi FAILED: oracle --cluster $$h --seed $$s, $$n ranks, DT_STEAL=1 (status $$rc, stolen $$stolen, given $$given)"; \
	    printf '%s\n' "$$out" | grep -v '^dtask stats' | tail -30; fail=1; fi; done; done; done; \
	s=$(firstword $(ORACLE_STEAL_SEEDS)); for cfg in $(ORACLE_STEAL_CONFIGS); do for h in "" --no-hints; do \
	  env $$cfg DT_STEAL=1 DT_STEAL_MIN_US=0 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 3 $(ORACLE) --cluster $$h --seed $$s --tasks $(ORACLE_MPI_TASKS) \
	    || { echo "test-mpi FAILED: oracle --cluster $$h --seed $$s, 3 ranks, DT_STEAL=1 $$cfg"; fail=1; }; done; done; \
	for f in "type:does not know" "msg:malformed message from rank 0" "unasked:sends its data unasked" "death:" \
	    "segv:dtask: rank 1: task 'victim' (type segv) died of SIGSEGV" \
	    "exit:dtask: rank 1: task 'victim' (type exit) called exit(4) inside the task"; do \
	  mode=$${f%%:*}; want=$${f#*:}; \
	  out=$$(timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(BUILD)/test/mpi-fault $$mode 2>&1); rc=$$?; \
	  if [ $$rc -eq 0 ] || [ $$rc -eq 124 ] || { [ -n "$$want" ] && ! printf '%s' "$$out" | grep -q "$$want"; }; then \
	    echo "test-mpi FAILED: fault '$$mode' (status $$rc, want a clean abort saying '$$want'):"; \
	    printf '%s\n' "$$out" | tail -5; fail=1; \
	  else echo "fault '$$mode': the job ended (status $$rc)"; fi; done; \
	out=$$(DT_STEAL=1 DT_STEAL_MIN_US=0 DT_SCHEDULE=local timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(BUILD)/test/mpi-fault stolen 2>&1); rc=$$?; \
	if [ $$rc -eq 0 ] || [ $$rc -eq 124 ]; then \
	  echo "test-mpi FAILED: fault 'stolen' (status $$rc, want the job to end when the thief dies):"; \
	  printf '%s\n' "$$out" | tail -5; fail=1; \
	else echo "fault 'stolen': the job ended (status $$rc)"; fi; \
	for f in "death:" "segv:dtask: rank 1: task 'victim' (type segv) died of SIGSEGV"; do \
	  mode=$${f%%:*}; want=$${f#*:}; \
	  out=$$(DT_LEND=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(BUILD)/test/mpi-fault $$mode 2>&1); rc=$$?; \
	  if [ $$rc -eq 0 ] || [ $$rc -eq 124 ] || { [ -n "$$want" ] && ! printf '%s' "$$out" | grep -q "$$want"; }; then \
	    echo "test-mpi FAILED: fault '$$mode' with DT_LEND=1 (status $$rc, want a clean abort saying '$$want'):"; \
	    printf '%s\n' "$$out" | tail -5; fail=1; \
	  else echo "fault '$$mode' with DT_LEND=1: the job ended (status $$rc)"; fi; done; \
	for n in $(MPI_RANKS); do for cfg in "DT_NUM_WORKERS=1" "DT_NUM_WORKERS=2" "DT_EAGER=0 DT_NUM_WORKERS=1"; do \
	  env $$cfg timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-overlap \
	    || { echo "test-mpi FAILED: overlap, $$n ranks, $$cfg"; fail=1; }; done; done; \
	for n in $(MPI_RANKS); do for cfg in "DT_NUM_WORKERS=1" "DT_NUM_WORKERS=2" "DT_PROGRESS=workers DT_NUM_WORKERS=1"; do \
	  env $$cfg timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-iter \
	    || { echo "test-mpi FAILED: iter, $$n ranks, $$cfg"; fail=1; }; \
	  env $$cfg timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-iter random \
	    || { echo "test-mpi FAILED: iter random, $$n ranks, $$cfg"; fail=1; }; done; done; \
	for n in 2 3; do c=""; for t in 4 40; do \
	  out=$$(DT_STATS=1 DT_NUM_WORKERS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-iter stats $$t 2>&1); rc=$$?; \
	  c="$$c $$(printf '%s\n' "$$out" | sed -n 's/.*rank 0: .*control messages \([0-9]*\) in.*/\1/p')"; \
	  [ $$rc -eq 0 ] || { echo "test-mpi FAILED: iter stats $$t, $$n ranks (status $$rc)"; fail=1; }; done; \
	  set -- $$c; if [ $$# -ne 2 ] || [ "$$1" != "$$2" ]; then \
	    echo "test-mpi FAILED: iter, $$n ranks: rank 0's control messages for 4 and 40 iterations:$$c (want equal)"; fail=1; \
	  else echo "iter, $$n ranks: $$1 control messages from rank 0 for 4 or 40 iterations (none per iteration)"; fi; done; \
	for n in 2 3; do c=""; for k in 1 3; do \
	  out=$$(DT_STATS=1 DT_NUM_WORKERS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-iter moves $$k 2>&1); rc=$$?; \
	  c="$$c $$(printf '%s\n' "$$out" | sed -n 's/.*taskiter data moved before first iterations \([0-9]*\) bytes.*/\1/p')"; \
	  [ $$rc -eq 0 ] || { echo "test-mpi FAILED: iter moves $$k, $$n ranks (status $$rc)"; fail=1; }; done; \
	  set -- $$c; if [ $$# -ne 2 ] || [ "$$1" = 0 ] || [ $$(($$2 * 2)) -ge $$(($$1 * 3)) ]; then \
	    echo "test-mpi FAILED: iter, $$n ranks: bytes moved before 1 and 3 taskiters in a row:$$c (want the later ones to move only the halos)"; fail=1; \
	  else echo "iter, $$n ranks: $$1 and $$2 bytes moved before 1 and 3 taskiters in a row (the later ones: only halos)"; fi; done; \
	i=0; for n in $(MPI_RANKS); do for s in $(ORACLE_MPI_SEEDS); do \
	  p=$$(echo $(MPI_POLICIES) | cut -d' ' -f$$((i % $(words $(MPI_POLICIES)) + 1))); i=$$((i + 1)); \
	  DT_SCHEDULE=$$p timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(ORACLE) --cluster --seed $$s --tasks $(ORACLE_MPI_TASKS) \
	    || { echo "test-mpi FAILED: oracle --cluster --seed $$s, $$n ranks, DT_SCHEDULE=$$p"; fail=1; }; done; done; \
	for n in $(MPI_RANKS); do for s in $(ORACLE_SPREAD_SEEDS); do \
	  out=$$(DT_NESTED=spread DT_NESTED_MIN_US=0 DT_NUM_WORKERS=1 DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(ORACLE) --cluster \
	    --seed $$s --tasks $(ORACLE_MPI_TASKS) 2>&1); rc=$$?; \
	  sp=$$(printf '%s\n' "$$out" | sed -n 's/.*nested tasks spread \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  left=$$(printf '%s\n' "$$out" | grep -c 'load left [1-9-]'); \
	  if [ $$rc -ne 0 ] || [ "$$sp" -eq 0 ] || [ $$left -ne 0 ]; then \
	    echo "test-mpi FAILED: oracle --cluster --seed $$s, $$n ranks, DT_NESTED=spread (status $$rc, spread $$sp)"; \
	    printf '%s\n' "$$out" | tail -5; fail=1; fi; done; done; \
	s=$(firstword $(ORACLE_MPI_SEEDS)); for cfg in $(ORACLE_MPI_CONFIGS); do \
	  env $$cfg timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(ORACLE) --cluster --seed $$s --tasks $(ORACLE_MPI_TASKS) \
	    || { echo "test-mpi FAILED: oracle --cluster --seed $$s, 2 ranks, $$cfg"; fail=1; }; done; \
	for n in 2 3; do $(foreach e,heat jacobi, \
	  timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/examples/$(e) $(EXAMPLE_ARGS_$(e)) \
	    || { echo "test-mpi FAILED: $(e) (heat: distributed dt_taskiter; jacobi, with a reduction: the plain loop), $$n ranks"; fail=1; };) done; \
	for run in "4 1 DT_NUM_WORKERS=1" "4 1 DT_NESTED_MIN_US=0 DT_NESTED=local DT_NUM_WORKERS=2" "6 2 DT_NUM_WORKERS=1" \
	    "8 1 DT_PROGRESS=workers DT_NUM_WORKERS=1" "2 0 DT_NUM_WORKERS=1" \
	    "4 1 MPIR_CVAR_NOLOCAL=1 DT_NUM_WORKERS=1" "4 1 DT_STEAL=1 DT_NUM_WORKERS=1" "6 2 DT_STEAL=1 DT_NUM_WORKERS=1"; do \
	  set -- $$run; n=$$1; k=$$2; shift 2; \
	  env DT_HELPERS=$$k "$$@" timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-helpers \
	    || { echo "test-mpi FAILED: helpers, $$n ranks, DT_HELPERS=$$k $$*"; fail=1; }; done; \
	out=$$(DT_HELPERS=1 DT_STEAL=1 DT_STEAL_MIN_US=0 DT_NUM_WORKERS=2 DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 4 \
	  $(BUILD)/test/mpi-helpers 2>&1); rc=$$?; \
	stolen=$$(printf '%s\n' "$$out" | sed -n 's/.*tasks stolen \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	if [ $$rc -ne 0 ] || [ $$stolen -eq 0 ]; then \
	  echo "test-mpi FAILED: helpers with stealing between application ranks of 2 workers (status $$rc, stolen $$stolen)"; \
	  printf '%s\n' "$$out" | tail -5; fail=1; \
	else echo "helpers with stealing, 4 ranks, 2 workers: ok ($$stolen tasks stolen)"; fi; \
	for bad in "3 DT_HELPERS=1 refused" "2 DT_HELPERS=x refused" "2 DT_HELPERS=-1 refused" "2 DT_HELPERS=64 refused" \
	    "2 DT_HELPERS=1 refused-main"; do set -- $$bad; \
	  env $$2 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$1 $(BUILD)/test/mpi-helpers $$3 \
	    || { echo "test-mpi FAILED: helpers $$3, $$1 ranks, $$2 (want DT_ECONFIG from every rank)"; fail=1; }; done; \
	timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 env DT_HELPERS=1 $(BUILD)/test/mpi-helpers refused : \
	  -n 2 env DT_HELPERS=0 $(BUILD)/test/mpi-helpers refused \
	  || { echo "test-mpi FAILED: helpers refused, ranks that disagree on DT_HELPERS"; fail=1; }; \
	timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 3 $(BUILD)/test/mpi-helpers after-main \
	  || { echo "test-mpi FAILED: helpers after-main (dt_main's serving ranks must return from it)"; fail=1; }; \
	DT_HELPERS=1 $(BUILD)/test/mpi-helpers refused || { echo "test-mpi FAILED: helpers refused, DT_HELPERS=1 without a launcher"; fail=1; }; \
	out=$$(DT_HELPERS=1 DT_NESTED_MIN_US=0 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n 2 $(BUILD)/test/mpi-helpers segv 2>&1); rc=$$?; \
	if [ $$rc -eq 0 ] || [ $$rc -eq 124 ] || ! printf '%s' "$$out" | grep -q "dtask: rank 1: task 'victim' (type segv) died of SIGSEGV"; then \
	  echo "test-mpi FAILED: helpers segv (status $$rc, want the job ended by helper rank 1's message)"; printf '%s\n' "$$out" | tail -5; fail=1; \
	else echo "helpers segv: the job ended (status $$rc)"; fi; \
	for c in "imbalanced 300 2 0" "imbalanced 300 4 0" "main 200 2 1" "main 200 3 2"; do set -- $$c; for L in 1 0; do \
	  out=$$(DT_LEND=$$L DT_STATS=1 DT_NUM_WORKERS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$3 $(BUILD)/test/mpi-lend $$1 $$2 2>&1); rc=$$?; \
	  g=$$(printf '%s\n' "$$out" | sed -n "s/.*rank $$4: cores lent .*tasks run by guests \([0-9]*\).*/\1/p"); \
	  if [ $$rc -ne 0 ] || [ -z "$$g" ] || { [ $$L = 1 ] && [ "$$g" -eq 0 ]; } || { [ $$L = 0 ] && [ "$$g" -ne 0 ]; }; then \
	    echo "test-mpi FAILED: lend $$1, $$3 ranks, DT_LEND=$$L (status $$rc, tasks run by rank $$4's guests '$$g')"; \
	    printf '%s\n' "$$out" | tail -5; fail=1; \
	  else echo "lend $$1, $$3 ranks, DT_LEND=$$L: ok (rank $$4's guests ran $$g tasks)"; fi; done; done; \
	for n in 2 4; do \
	  out=$$(DT_LEND=1 DT_STATS=1 DT_NUM_WORKERS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-lend phase 300 2>&1); rc=$$?; \
	  rec=$$(printf '%s\n' "$$out" | sed -n 's/.*cores lent .*reclaims \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  if [ $$rc -ne 0 ] || [ "$$rec" -eq 0 ]; then \
	    echo "test-mpi FAILED: lend phase, $$n ranks (status $$rc, reclaims $$rec)"; printf '%s\n' "$$out" | tail -5; fail=1; \
	  else echo "lend phase, $$n ranks: ok ($$rec reclaims)"; fi; done; \
	for run in "4 DT_HELPERS=1" "2 DT_NUM_WORKERS=2" "2 DT_BIND=none"; do set -- $$run; n=$$1; shift; \
	  env DT_LEND=1 "$$@" timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(BUILD)/test/mpi-lend imbalanced 200 \
	    || { echo "test-mpi FAILED: lend imbalanced, $$n ranks, DT_LEND=1 $$*"; fail=1; }; done; \
	s=$(ORACLE_MPI_2D_SEED); for run in "2 DT_CMA=1" "3 DT_CMA=1" "4 DT_CMA=1 DT_STEAL=1 DT_STEAL_MIN_US=0" \
	    "2 DT_CMA=0" "2 DT_CMA=1 MPIR_CVAR_NOLOCAL=1"; do set -- $$run; n=$$1; shift; \
	  out=$$(env "$$@" DT_STATS=1 timeout $(MPI_TIMEOUT) $(MPIEXEC) -n $$n $(ORACLE) --cluster --seed $$s \
	    --tasks $(ORACLE_MPI_TASKS) --2d 900 2>&1); rc=$$?; \
	  cma=$$(printf '%s\n' "$$out" | sed -n 's/.*by CMA \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  peers=$$(printf '%s\n' "$$out" | sed -n 's/.*ranks it may read \([0-9]*\).*/\1/p' | awk '{s += $$1} END {print s + 0}'); \
	  case "$$*" in *CMA=0*|*NOLOCAL*) want=0;; *) want=1;; esac; \
	  if [ $$want = 1 ] && [ "$$peers" -eq 0 ] && [ $$rc -eq 0 ]; then \
	    echo "oracle --2d 900, $$n ranks, $$*: ok, through MPI (this system lets no rank read another's memory)"; continue; fi; \
	  if [ $$rc -ne 0 ] || { [ $$want = 1 ] && [ "$$cma" -eq 0 ]; } || { [ $$want = 0 ] && [ "$$cma$$peers" != 00 ]; }; then \
	    echo "test-mpi FAILED: oracle --cluster --seed $$s --2d 900, $$n ranks, $$* (status $$rc, read by CMA $$cma, ranks readable $$peers)"; \
	    printf '%s\n' "$$out" | grep -v '^dtask stats' | tail -30; fail=1; \
	  else echo "oracle --2d 900, $$n ranks, $$*: ok ($$cma regions read by CMA)"; fi; done; \
	exit $$fail
