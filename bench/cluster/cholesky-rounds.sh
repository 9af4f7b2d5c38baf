#!/usr/bin/env bash
# cholesky-rounds.sh - Cholesky 2 ranks x 1 worker against 1 rank x 2 workers,
# cold and warm (apps ... warm), row-major and tile layout, with the placement
# policies and stealing, in rounds; prints medians and throughput ratios.
#
#   bench/cluster/cholesky-rounds.sh BINDIR [ROUNDS]      (BINDIR: build/bench/cluster)
#
# The two layouts of a configuration run back to back (the host's speed
# drifts by the minute).  Every job holds BENCH_LOCK (default /work/notes/bench.lock) and runs under
# timeout; CFGS selects configurations (default: 1x2 2x1.loc 2x1.bal
# 2x1.loc.steal 2x1.bal.steal; a suffix .nocma sets DT_CMA=0), N and T the
# size and tile (2048, 256), WARMTH the runs (default: cold warm).
set -u -o pipefail
bindir=${1:?usage: cholesky-rounds.sh BINDIR [ROUNDS]}
rounds=${2:-3}
lock=${BENCH_LOCK:-/work/notes/bench.lock}
N=${N:-2048} T=${T:-256}
E="DT_AGGREGATE=1 DT_NAMESPACE=1 DT_EAGER=1 DT_DOORBELL=1 DT_BIND=cores DT_PROGRESS=thread"
read -ra cfgs <<< "${CFGS:-1x2 2x1.loc 2x1.bal 2x1.loc.steal 2x1.bal.steal}"
log=$(mktemp)
for r in $(seq "$rounds"); do
  for w in ${WARMTH:-cold warm}; do for c in "${cfgs[@]}"; do for lay in rows tiles; do
    args=(cholesky "$N" "$T")
    [ "$lay" = tiles ] && args+=(tiles)
    [ "$w" = warm ] && args+=(warm)
    s=locality; [[ $c == *bal* ]] && s=balance
    st=0; [[ $c == *steal* ]] && st=1
    cma=1; [[ $c == *nocma* ]] && cma=0
    if [ "$c" = 1x2 ]; then cmd=(env $E DT_SCHEDULE=$s DT_NUM_WORKERS=2 "$bindir/apps" "${args[@]}")
    else cmd=(env $E DT_SCHEDULE=$s DT_STEAL=$st DT_CMA=$cma DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/apps" "${args[@]}"); fi
    t=$(flock "$lock" timeout 120 "${cmd[@]}" 2>&1 | grep -o "time=[0-9.]*" | cut -d= -f2)
    echo "$r $w $lay $c ${t:-FAILED}" | tee -a "$log"
  done; done; done
done
awk '{ k = $2 " " $3; v[k " " $4] = v[k " " $4] " " $5; keys[k] = 1; cf[$4] = 1 }
     function med(s,   a, n, i, j, x) { n = split(s, a, " ")
         for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
         return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
     END { for (k in keys) { b = med(v[k " 1x2"]); line = k " 1x2 " b;
             for (c in cf) if (c != "1x2" && (k " " c) in v) line = line sprintf("  %s %.3f (%.2f)", c, med(v[k " " c]), b / med(v[k " " c]));
             print line } }' "$log" | sort
rm -f "$log"
