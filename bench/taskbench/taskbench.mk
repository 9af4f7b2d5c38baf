# Task Bench: METG(50%) of libdtask, libgomp, StarPU, hand-written MPI and
# StarPU-MPI on the same task graphs (bench/taskbench/, see run.sh).
#   make bench-taskbench         the sweep; rewrites the "Task Bench: METG"
#                                section of bench/RESULTS.md and
#                                bench/taskbench/metg.png (part of make bench)
#   make bench-taskbench-quick   every driver on tiny graphs, checksums
#                                checked (part of make bench-quick, make test)
#   make bench-taskbench-iter    stencil_1d METG(50%) with the graph replayed
#                                by dt_taskiter on 2 ranks and 1 rank against
#                                hand-written MPI (iter.sh; prints a section)
# MPICH things are built and run with MPICH by name (pkg-config mpich,
# mpiexec.mpich) and StarPU-MPI with Open MPI's (mpicc.openmpi,
# mpiexec.openmpi): Debian's mpicc/mpiexec alternatives do not matter.
TB_DIR = $(BUILD)/bench/taskbench
TB_HDR = bench/taskbench/tb.h
TB_OBJ = $(TB_DIR)/tb.o
TB_STARPU_OK := $(shell pkg-config --exists starpu-1.3 && echo 1)
TB_STARPUMPI_OK := $(shell pkg-config --exists starpumpi-1.3 && command -v mpicc.openmpi \
                     >/dev/null && command -v mpiexec.openmpi >/dev/null && echo 1)
TB_BINS = $(TB_DIR)/tb-calib $(TB_DIR)/tb-dtask $(TB_DIR)/tb-dtask-cluster $(TB_DIR)/tb-omp $(TB_DIR)/tb-mpi \
          $(if $(TB_STARPU_OK),$(TB_DIR)/tb-starpu) $(if $(TB_STARPUMPI_OK),$(TB_DIR)/tb-starpumpi)

.PHONY: bench-taskbench bench-taskbench-quick bench-taskbench-iter
bench: bench-taskbench
bench-quick: bench-taskbench-quick

$(TB_DIR):
	mkdir -p $@

$(TB_OBJ): bench/taskbench/tb.c $(TB_HDR) | $(TB_DIR)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(TB_DIR)/tb-calib: bench/taskbench/tb-calib.c $(TB_OBJ) $(TB_HDR)
	$(CC) $(CFLAGS_ALL) $< $(TB_OBJ) -o $@

$(TB_DIR)/tb-dtask: bench/taskbench/tb-dtask.c $(TB_OBJ) $(TB_HDR) $(LIBA)
	$(CC) $(CFLAGS_ALL) $< $(TB_OBJ) -o $@ $(LINK_DTASK)

$(TB_DIR)/tb-dtask-cluster: bench/taskbench/tb-dtask-cluster.c $(TB_OBJ) $(TB_HDR) $(LIBA)
	$(CC) $(CFLAGS_ALL) $< $(TB_OBJ) -o $@ $(LINK_DTASK)

$(TB_DIR)/tb-omp: bench/taskbench/tb-omp.c $(TB_OBJ) $(TB_HDR)
	$(CC) $(CFLAGS_ALL) -fopenmp $< $(TB_OBJ) -o $@

$(TB_DIR)/tb-mpi: bench/taskbench/tb-mpi.c $(TB_OBJ) $(TB_HDR)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags mpich) $< $(TB_OBJ) -o $@ \
	  $(shell pkg-config --libs mpich)

$(TB_DIR)/tb-starpu: bench/taskbench/tb-starpu.c $(TB_OBJ) $(TB_HDR)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags starpu-1.3) $< $(TB_OBJ) -o $@ \
	  $(shell pkg-config --libs starpu-1.3)

$(TB_DIR)/tb-starpumpi: bench/taskbench/tb-starpu.c $(TB_OBJ) $(TB_HDR)
	mpicc.openmpi $(CFLAGS_ALL) -DTB_STARPU_MPI $(shell pkg-config --cflags starpumpi-1.3) \
	  $< $(TB_OBJ) -o $@ $(shell pkg-config --libs starpumpi-1.3)

bench-taskbench-quick: $(TB_BINS)
	bench/taskbench/run.sh --quick $(TB_DIR)

bench-taskbench: all $(TB_BINS)
	bench/taskbench/run.sh $(TB_DIR) bench/RESULTS.md

bench-taskbench-iter: $(TB_DIR)/tb-calib $(TB_DIR)/tb-dtask $(TB_DIR)/tb-mpi
	bench/taskbench/iter.sh $(TB_DIR)
