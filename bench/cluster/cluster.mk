# Cluster benchmarks: libdtask on 2 MPI ranks against plain MPI, against
# itself on 1 rank, and against StarPU-MPI (bench/cluster/, see run.sh).
#   make bench-cluster         the measurements; rewrites the generated "Cluster"
#                              block of bench/RESULTS.md (part of make bench)
#   make bench-cluster-quick   every driver on tiny sizes, checked by exit status,
#                              never by timing (part of make bench-quick, make test)
# MPICH drivers are built against pkg-config mpich and run with mpiexec.mpich;
# the StarPU-MPI driver with mpicc.openmpi / mpiexec.openmpi, by name, so the
# Debian mpicc/mpiexec alternatives do not matter.  Without starpumpi-1.3 or
# Open MPI the StarPU-MPI driver is left out and run.sh says so.
CL_DIR = $(BUILD)/bench/cluster
CL_STARPU_OK := $(shell pkg-config --exists starpumpi-1.3 && command -v mpicc.openmpi \
                  >/dev/null && command -v mpiexec.openmpi >/dev/null && echo 1)
CL_BINS = $(CL_DIR)/micro $(CL_DIR)/apps $(CL_DIR)/outstanding $(CL_DIR)/nbody $(CL_DIR)/imbalance $(if $(CL_STARPU_OK),$(CL_DIR)/starpu-apps)

.PHONY: bench-cluster bench-cluster-quick
bench: bench-cluster
bench-quick: bench-cluster-quick

$(CL_DIR):
	mkdir -p $@

$(CL_DIR)/common.o: bench/cluster/common.c bench/cluster/common.h | $(CL_DIR)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(CL_DIR)/micro: bench/cluster/micro.c $(LIBA) | $(CL_DIR)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags mpich) $< -o $@ $(LINK_DTASK)

$(CL_DIR)/outstanding: bench/cluster/outstanding.c $(LIBA) | $(CL_DIR)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LINK_DTASK)

$(CL_DIR)/apps: bench/cluster/apps.c bench/cluster/common.h $(CL_DIR)/common.o $(LIBA)
	$(CC) $(CFLAGS_ALL) $< $(CL_DIR)/common.o -o $@ $(LINK_DTASK)

$(CL_DIR)/nbody: bench/cluster/nbody.c bench/cluster/common.h $(CL_DIR)/common.o $(LIBA)
	$(CC) $(CFLAGS_ALL) $< $(CL_DIR)/common.o -o $@ $(LINK_DTASK)

$(CL_DIR)/imbalance: bench/cluster/imbalance.c $(LIBA) | $(CL_DIR)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags mpich) $< -o $@ $(LINK_DTASK)

$(CL_DIR)/starpu-apps: bench/cluster/starpu-apps.c bench/cluster/common.h $(CL_DIR)/common.o
	mpicc.openmpi $(CFLAGS_ALL) $(shell pkg-config --cflags starpumpi-1.3) $< $(CL_DIR)/common.o \
	  -o $@ $(shell pkg-config --libs starpumpi-1.3) -lm

bench-cluster-quick: $(CL_BINS)
	bench/cluster/run.sh --quick $(CL_DIR)
	DT_HELPERS=1 DT_NUM_WORKERS=1 timeout 120 mpiexec.mpich -n 4 $(CL_DIR)/imbalance 1,3 20 2000 | grep -q verified

bench-cluster: all $(CL_BINS)
	CC="$(CC)" bench/cluster/run.sh $(CL_DIR) bench/RESULTS.md
