#!/usr/bin/env bash
# steal.sh - DT_STEAL on 2 ranks x 1 worker, paired with the same runs
# without stealing, in alternating order each round (bench/RESULTS.md,
# "Stealing between ranks"):
#   - Cholesky N=2048 B=256 (bench/cluster/apps), tile layout and row-major,
#     against 1 rank x 2 workers;
#   - Task Bench load_imbalance on stencil_1d, width 8 (tb-dtask-cluster),
#     a K sweep: efficiency per K, METG(50%), and the K whose mean task is
#     100 us; StarPU-MPI (tb-starpumpi, 2 ranks x 1 CPU) on the same graphs.
#
#   bench/cluster/steal.sh BINDIR [ROUNDS]     BINDIR: the build directory
#
# Every job runs under flock of the bench lock (one timed job at a time on
# the machine).  Prints one line per job and the medians at the end; the
# raw lines go to BINDIR/steal.log.
set -eu -o pipefail

bindir=${1:?usage: steal.sh BINDIR [ROUNDS]}
rounds=${2:-5}
lock=${BENCH_LOCK:-/work/notes/bench.lock}
[ -w "$(dirname "$lock")" ] || lock=$bindir/bench.lock
to=${STEAL_TIMEOUT:-60}
N=${CLUSTER_N:-2048}
B=${CLUSTER_B:-256}
log=$bindir/steal.log
export STARPU_SILENT=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

unit_c=$("$bindir/bench/taskbench/tb-calib" compute_bound 32768 15 | sed -n 's/.*unit_ns=//p')
k100=$(awk -v u="$unit_c" 'BEGIN { printf "%d", 100000 / u + 0.5 }')
ks=$(awk -v k="$k100" 'BEGIN { printf "%d,%d,%d,%d,%d", 8 * k, 4 * k, 2 * k, k, k / 2 }')
tbargs=(--pattern stencil_1d --kernel load_imbalance --width 8 --k "$ks" --unit-ns "$unit_c" --cores 2
        --target-ms 100 --steps-min 50 --steps-max 2000 --reps 1)

base=(DT_SCHEDULE=locality DT_BIND=cores DT_STATS=0 DT_NESTED=spread)
setcmd() {
    case $1 in
    ch.1x2)  CMD=(env "${base[@]}" DT_NUM_WORKERS=2 "$bindir/bench/cluster/apps" cholesky "$N" "$B" tiles) ;;
    ch.s0)   CMD=(env "${base[@]}" DT_STEAL=0 DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/bench/cluster/apps" cholesky "$N" "$B" tiles) ;;
    ch.s1)   CMD=(env "${base[@]}" DT_STEAL=1 DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/bench/cluster/apps" cholesky "$N" "$B" tiles) ;;
    chr.1x2) CMD=(env "${base[@]}" DT_NUM_WORKERS=2 "$bindir/bench/cluster/apps" cholesky "$N" "$B") ;;
    chr.s0)  CMD=(env "${base[@]}" DT_STEAL=0 DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/bench/cluster/apps" cholesky "$N" "$B") ;;
    chr.s1)  CMD=(env "${base[@]}" DT_STEAL=1 DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/bench/cluster/apps" cholesky "$N" "$B") ;;
    tb.s0)   CMD=(env "${base[@]}" DT_STEAL=0 DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/bench/taskbench/tb-dtask-cluster" "${tbargs[@]}") ;;
    tb.s1)   CMD=(env "${base[@]}" DT_STEAL=1 DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/bench/taskbench/tb-dtask-cluster" "${tbargs[@]}") ;;
    tb.spm)  CMD=(env STARPU_NCPU=1 STARPU_WORKERS_NOBIND=1 mpiexec.openmpi -n 2 -x STARPU_NCPU -x STARPU_WORKERS_NOBIND
                  -x STARPU_SILENT "$bindir/bench/taskbench/tb-starpumpi" "${tbargs[@]}") ;;
    esac
}
configs="ch.1x2 ch.s0 ch.s1 chr.1x2 chr.s0 chr.s1 tb.s0 tb.s1"
[ -x "$bindir/bench/taskbench/tb-starpumpi" ] && configs="$configs tb.spm"

echo "meta date=$(date -u '+%Y-%m-%dT%H:%MZ') commit=$(git rev-parse --short HEAD) unit_c=$unit_c k100=$k100 ks=$ks" > "$log"
for r in $(seq 1 "$rounds"); do
    order=$configs
    [ $((r % 2)) = 0 ] && order=$(echo "$configs" | tr ' ' '\n' | tac | tr '\n' ' ')
    echo "meta round=$r load=$(cut -d' ' -f1 /proc/loadavg)" >> "$log"
    for c in $order; do
        setcmd "$c"
        out=$(flock "$lock" timeout "$to" "${CMD[@]}" 2>&1) || echo "job $c failed: $(tail -2 <<<"$out")" >&2
        grep -E '^(bench=|taskbench )' <<<"$out" | sed "s/^/round=$r cfg=$c /" | tee -a "$log"
    done
done
echo "meta end load=$(cut -d' ' -f1 /proc/loadavg)" >> "$log"

# ---- medians ----------------------------------------------------------------
med() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
                                             else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { awk -v c="cfg=$1" -v k="$2" -v K="${3:-}" '$2 == c {
    ok = K == ""; for (i = 3; i <= NF; i++) { p = index($i, "="); if (p && substr($i, 1, p - 1) == "K" && substr($i, p + 1) == K) ok = 1 }
    if (ok) for (i = 3; i <= NF; i++) { p = index($i, "="); if (p && substr($i, 1, p - 1) == k) print substr($i, p + 1) } }' "$log"; }
echo "Cholesky N=$N B=$B, median time (s) over $rounds rounds:"
for c in ch.1x2 ch.s0 ch.s1 chr.1x2 chr.s0 chr.s1; do echo "  $c $(field $c time | med)  [$(field $c time | paste -sd' ')]"; done
echo "Task Bench load_imbalance stencil_1d width 8 (unit $unit_c ns, K=$k100: 100 us mean task): median efficiency per K"
for c in tb.s0 tb.s1 tb.spm; do
    line="  $c"
    for k in ${ks//,/ }; do line+=" K=$k:$(field $c eff "$k" | med)/$(field $c gran_ns "$k" | med)ns"; done
    echo "$line"
done
