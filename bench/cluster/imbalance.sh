#!/usr/bin/env bash
# imbalance.sh - helper ranks (DT_HELPERS) on an imbalanced MPI + libdtask
# program (bench/cluster/imbalance.c: independent compute-bound tasks of
# ITERS rounds each, application rank g running W_g * UNIT of them).  Two
# scenarios, each in three configurations, in paired rounds (each round
# runs every configuration once, in the opposite order from the round
# before, so that load from other users hits all of them):
#   4 ranks, work 1:2:3:4   balanced (2.5 each, 4 ranks), no helpers
#                           (4 ranks), DT_HELPERS=1 (8 ranks), and the
#                           balanced work with DT_HELPERS=1 (8 ranks)
#   2 ranks, work 1:3       the same on 2 (and 4) ranks, 2 each when balanced
# (With other users' processes on the cores, a job of more processes gets
# a larger share of them: the balanced run with helpers has as many.)
# Every rank has one worker and no binding (DT_BIND=none: with more
# processes than cores the kernel places them).  Every job holds BENCH_LOCK
# (default /work/notes/bench.lock) and runs under timeout.  A first job on
# 1 rank times one task.  Prints every time, then medians and ratios.
#
#   bench/cluster/imbalance.sh BINDIR [ROUNDS] [ITERS] [UNIT4] [UNIT2]
set -u -o pipefail
bindir=${1:?usage: imbalance.sh BINDIR [ROUNDS] [ITERS] [UNIT4] [UNIT2]}
rounds=${2:-5} iters=${3:-7000} unit4=${4:-100} unit2=${5:-200}
lock=${BENCH_LOCK:-/work/notes/bench.lock}
common=(DT_BIND=none DT_NUM_WORKERS=1 DT_SCHEDULE=locality DT_AGGREGATE=1 DT_PROGRESS=thread DT_DOORBELL=1
        DT_NESTED=spread DT_NESTED_MIN_US=200)
names=(4-balanced 4-none 4-helpers 4-balanced-helpers 2-balanced 2-none 2-helpers 2-balanced-helpers)
run() {
    local b=(env "${common[@]}")
    case $1 in
    one) "${b[@]}" DT_HELPERS=0 mpiexec.mpich -n 1 "$bindir/imbalance" 1 "$unit2" "$iters" ;;
    4-balanced) "${b[@]}" DT_HELPERS=0 mpiexec.mpich -n 4 "$bindir/imbalance" 2.5,2.5,2.5,2.5 "$unit4" "$iters" ;;
    4-none) "${b[@]}" DT_HELPERS=0 mpiexec.mpich -n 4 "$bindir/imbalance" 1,2,3,4 "$unit4" "$iters" ;;
    4-helpers) "${b[@]}" DT_HELPERS=1 mpiexec.mpich -n 8 "$bindir/imbalance" 1,2,3,4 "$unit4" "$iters" ;;
    4-balanced-helpers) "${b[@]}" DT_HELPERS=1 mpiexec.mpich -n 8 "$bindir/imbalance" 2.5,2.5,2.5,2.5 "$unit4" "$iters" ;;
    2-balanced) "${b[@]}" DT_HELPERS=0 mpiexec.mpich -n 2 "$bindir/imbalance" 2,2 "$unit2" "$iters" ;;
    2-none) "${b[@]}" DT_HELPERS=0 mpiexec.mpich -n 2 "$bindir/imbalance" 1,3 "$unit2" "$iters" ;;
    2-helpers) "${b[@]}" DT_HELPERS=1 mpiexec.mpich -n 4 "$bindir/imbalance" 1,3 "$unit2" "$iters" ;;
    2-balanced-helpers) "${b[@]}" DT_HELPERS=1 mpiexec.mpich -n 4 "$bindir/imbalance" 2,2 "$unit2" "$iters" ;;
    esac
}
one() {
    local out t
    out=$(flock "$lock" timeout 120 bash -c "$(declare -f run); $(declare -p common bindir iters unit4 unit2); run $1" 2>&1)
    t=$(sed -n 's/.* time=\([0-9.]*\) verified$/\1/p' <<<"$out")
    if [ -z "$t" ]; then echo "imbalance.sh: $1 failed: $out" >&2; exit 1; fi
    echo "$t"
}
t=$(one one) || exit 1
echo "one task on 1 rank x 1 worker: $(awk -v t="$t" -v n="$unit2" 'BEGIN {printf "%.2f", 1000 * t / n}') ms ($unit2 tasks in $t s)"
declare -A times
for ((r = 0; r < rounds; r++)); do
    order=("${names[@]}")
    if ((r % 2)); then order=(); for ((i = ${#names[@]} - 1; i >= 0; i--)); do order+=("${names[i]}"); done; fi
    for c in "${order[@]}"; do
        t=$(one "$c") || exit 1
        echo "round $r $c $t"
        times[$c]+="$t "
    done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A med
for c in "${names[@]}"; do med[$c]=$(median <<<"${times[$c]}"); echo "median $c ${med[$c]} s"; done
for s in 4 2; do
    awk -v b="${med[$s-balanced]}" -v n="${med[$s-none]}" -v h="${med[$s-helpers]}" -v bh="${med[$s-balanced-helpers]}" \
        -v s="$s" 'BEGIN {
        printf "%s ranks: time / balanced run: no helpers %.2fx, DT_HELPERS=1 %.2fx; ", s, n / b, h / b
        printf "DT_HELPERS=1 / balanced with DT_HELPERS=1 (as many processes): %.2fx\n", h / bh }'
done
