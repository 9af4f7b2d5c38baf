#!/usr/bin/env bash
# lend.sh - DT_LEND (core lending between the ranks of a node) on and off,
# in paired rounds (each round runs every configuration once, in the
# opposite order from the round before):
#   i2.*  bench/cluster/imbalance, 2 ranks, work 1:3 (UNIT2 tasks per unit);
#   i4.*  4 ranks, work 1:2:3:4 (UNIT4), each as imbalance.sh runs them
#         (1 worker a rank, DT_BIND=none): the balanced work (bal), the
#         imbalanced work without lending (l0), with it (l1), with one
#         helper per application rank (h0) and with helpers and lending (h1);
#   ch.*  Cholesky N=2048 B=256 row-major, 2 ranks x 1 worker (dt_main,
#         defaults), DT_LEND=0 and 1.
# Every job holds BENCH_LOCK (default /work/notes/bench.lock) and runs
# under timeout.  Prints "round R CFG TIME" lines, then the medians and
# the medians of the per-round ratios to the l0 (or ch.l0) run.
#
#   bench/cluster/lend.sh BINDIR [ROUNDS] [ITERS] [UNIT4] [UNIT2]
set -u -o pipefail
bindir=${1:?usage: lend.sh BINDIR [ROUNDS] [ITERS] [UNIT4] [UNIT2]}
rounds=${2:-5} iters=${3:-7000} unit4=${4:-100} unit2=${5:-200}
lock=${BENCH_LOCK:-/work/notes/bench.lock}
imb=(env DT_BIND=none DT_NUM_WORKERS=1 DT_SCHEDULE=locality DT_NESTED=spread DT_NESTED_MIN_US=200)
names=(i2.bal i2.l0 i2.l1 i2.h0 i2.h1 i4.bal i4.l0 i4.l1 i4.h0 i4.h1 ch.l0 ch.l1)
setcmd() {
    local w n u
    case $1 in i2.*) w=1,3 n=2 u=$unit2 ;; i4.*) w=1,2,3,4 n=4 u=$unit4 ;; esac
    case $1 in
    i2.bal) CMD=("${imb[@]}" DT_LEND=0 mpiexec.mpich -n 2 "$bindir/imbalance" 2,2 "$u" "$iters") ;;
    i4.bal) CMD=("${imb[@]}" DT_LEND=0 mpiexec.mpich -n 4 "$bindir/imbalance" 2.5,2.5,2.5,2.5 "$u" "$iters") ;;
    i?.l?) CMD=("${imb[@]}" DT_LEND="${1: -1}" mpiexec.mpich -n "$n" "$bindir/imbalance" "$w" "$u" "$iters") ;;
    i?.h?) CMD=("${imb[@]}" DT_LEND="${1: -1}" DT_HELPERS=1 mpiexec.mpich -n $((2 * n)) "$bindir/imbalance" "$w" "$u" "$iters") ;;
    ch.l?) CMD=(env DT_NUM_WORKERS=1 DT_LEND="${1: -1}" mpiexec.mpich -n 2 "$bindir/apps" cholesky 2048 256) ;;
    esac
}
declare -A times
for ((r = 0; r < rounds; r++)); do
    order=("${names[@]}")
    if ((r % 2)); then order=(); for ((i = ${#names[@]} - 1; i >= 0; i--)); do order+=("${names[i]}"); done; fi
    for c in "${order[@]}"; do
        setcmd "$c"
        out=$(flock "$lock" timeout 60 "${CMD[@]}" 2>&1)
        t=$(sed -n 's/.* time=\([0-9.]*\).* verified$/\1/p' <<<"$out")
        if [ -z "$t" ]; then echo "lend.sh: $c failed: $(tail -3 <<<"$out")" >&2; exit 1; fi
        echo "round $r $c $t load=$(cut -d' ' -f1 /proc/loadavg)"
        times[$c]+="$t "
    done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
for c in "${names[@]}"; do
    base=${c%.*}.l0
    ratio=$(paste -d' ' <(tr ' ' '\n' <<<"${times[$c]}" | sed '/^$/d') <(tr ' ' '\n' <<<"${times[$base]}" | sed '/^$/d') |
            awk '{print $1 / $2}' | median)
    echo "median $c $(median <<<"${times[$c]}") s, per-round ratio to $base $ratio"
done
