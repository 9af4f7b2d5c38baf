#!/usr/bin/env bash
# nbody.sh - DT_NESTED on the n-body (bench/cluster/nbody.c): 1 rank x 2
# workers against 2 ranks x 1 worker with nested tasks kept local and
# spread, in paired rounds (each round runs the three once, in the opposite
# order from the round before, so that load from other users hits all of
# them).  Every job holds BENCH_LOCK (default /work/notes/bench.lock) and
# runs under timeout.  Prints every time, then medians and ratios.
#
#   bench/cluster/nbody.sh BINDIR [ROUNDS] [NP BS STEPS]
set -u -o pipefail
bindir=${1:?usage: nbody.sh BINDIR [ROUNDS] [NP BS STEPS]}
rounds=${2:-9} np=${3:-6144} bs=${4:-512} steps=${5:-3}
lock=${BENCH_LOCK:-/work/notes/bench.lock}
common=(DT_SCHEDULE=locality DT_BIND=cores DT_AGGREGATE=1 DT_PROGRESS=thread DT_NAMESPACE=1 DT_EAGER=1 DT_DOORBELL=1)
names=(1x2 2x1-local 2x1-spread)
run() {
    case $1 in
    1x2) env "${common[@]}" DT_NUM_WORKERS=2 "$bindir/nbody" "$np" "$bs" "$steps" ;;
    2x1-local) env "${common[@]}" DT_NUM_WORKERS=1 DT_NESTED=local mpiexec.mpich -n 2 "$bindir/nbody" "$np" "$bs" "$steps" ;;
    2x1-spread) env "${common[@]}" DT_NUM_WORKERS=1 DT_NESTED=spread mpiexec.mpich -n 2 "$bindir/nbody" "$np" "$bs" "$steps" ;;
    esac
}
declare -A times
for ((r = 0; r < rounds; r++)); do
    order=("${names[@]}")
    ((r % 2)) && order=("${names[2]}" "${names[1]}" "${names[0]}")
    for c in "${order[@]}"; do
        out=$(flock "$lock" timeout 300 bash -c "$(declare -f run); $(declare -p common bindir np bs steps); run $c" 2>&1)
        t=$(sed -n 's/.* time=\([0-9.]*\) verified$/\1/p' <<<"$out")
        if [ -z "$t" ]; then echo "nbody.sh: $c failed: $out" >&2; exit 1; fi
        echo "round $r $c $t"
        times[$c]+="$t "
    done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
m=()
for c in "${names[@]}"; do m[${#m[@]}]=$(median <<<"${times[$c]}"); echo "median $c ${m[-1]} s"; done
awk -v a="${m[0]}" -v b="${m[1]}" -v c="${m[2]}" 'BEGIN {
    printf "speed of 2x1 relative to 1x2 (median 1x2 / median 2x1): local %.2fx, spread %.2fx\n", a / b, a / c }'
