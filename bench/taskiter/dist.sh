#!/usr/bin/env bash
# dist.sh - the distributed dt_taskiter against hand-written MPI: Gauss-Seidel
# heat (N B T, default 2048 128 100) on 2 ranks x 1 worker.
#
#   bench/taskiter/dist.sh BINDIR [N B T]
#
# BENCH_ROUNDS (default 5) rounds; each runs, in an order that rotates per
# round so that load from other users hits all of them: heat-mpi (pipelined
# MPI, bench/taskiter/heat-mpi.c), iter heat taskiter under mpiexec -n 2
# (DT_NUM_WORKERS=1; rank 0's program writes the grid, so the call first
# moves each rank its band), the same placed (each rank's band written there
# first by a task with a node hint, as heat-mpi's ranks do: only halos move
# before the first iteration), and the serial sweep in one process.  Every run checks
# its grid bit for bit, each under BENCH_LOCK (flock; default
# /work/notes/bench.lock, as bench/cluster/run.sh) so that no two benchmark
# jobs of anyone on the machine overlap.  Prints the medians and the throughput ratios.  The
# libdtask time includes what the call does once (waiting for earlier tasks,
# recording, the transfer analysis, the data to the ranks); "+ dt_taskwait"
# adds the results coming back to rank 0.  The MPI time excludes its start
# and its gather.
set -eu -o pipefail
bindir=${1:?usage: dist.sh BINDIR [N B T]}
N=${2:-2048} B=${3:-128} T=${4:-100}
rounds=${BENCH_ROUNDS:-5}
mpiexec=${MPIEXEC:-mpiexec.mpich}
log=$bindir/taskiter-dist.log
lock=${BENCH_LOCK:-/work/notes/bench.lock}
[ -w "$(dirname "$lock")" ] || lock=$bindir/bench.lock
: > "$log"

one() {
    local out
    case $1 in
    mpi) out=$(flock "$lock" "$mpiexec" -n 2 "$bindir/heat-mpi" "$N" "$B" "$T") ;;
    taskiter|placed) out=$(DT_NUM_WORKERS=1 flock "$lock" "$mpiexec" -n 2 "$bindir/iter" heat "$N" "$B" "$T" "$1") ;;
    serial) out=$(DT_NUM_WORKERS=1 flock "$lock" "$bindir/iter" heat "$N" "$B" "$T" serial) ;;
    esac
    echo "$out" >> "$log"
    case $out in *" verified") ;; *) echo "dist.sh: $1 not verified: $out" >&2; exit 1 ;; esac
    echo "$1 $(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')"
    [ "$1" != taskiter ] || echo "gathered $(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\) gather=\([0-9.]*\).*/\1 \2/p' | awk '{ print $1 + $2 }')"
}

modes=(mpi taskiter placed serial)
results=()
for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < 4; k++)); do while read -r line; do results+=("$line"); done < <(one "${modes[(r + k) % 4]}"); done
done
median() { printf '%s\n' "${results[@]}" | awk -v m="$1" '$1 == m { print $2 }' | sort -g |
           awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mpi=$(median mpi) it=$(median taskiter) ser=$(median serial) itg=$(median gathered) pl=$(median placed)
echo "heat N=$N B=$B T=$T, 2 ranks x 1 worker, medians of $rounds rounds ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  serial sweep           $ser s"
echo "  hand-written MPI       $mpi s"
echo "  dt_taskiter (2 ranks)  $it s   throughput vs MPI: $(awk -v a="$mpi" -v b="$it" 'BEGIN { printf "%.2f", a / b }')x, vs serial: $(awk -v a="$ser" -v b="$it" 'BEGIN { printf "%.2f", a / b }')x"
echo "  dt_taskiter, placed    $pl s   (each rank's band initialised there by a task, as heat-mpi does): $(awk -v a="$mpi" -v b="$pl" 'BEGIN { printf "%.2f", a / b }')x"
echo "  ... + dt_taskwait      $itg s   (the results back on rank 0; heat-mpi does not time its gather): $(awk -v a="$mpi" -v b="$itg" 'BEGIN { printf "%.2f", a / b }')x"
