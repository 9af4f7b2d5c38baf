#!/usr/bin/env bash
# iter.sh - Task Bench stencil_1d METG(50%) with the graph replayed by
# dt_taskiter (tb-dtask --taskiter), against hand-written MPI in the same run.
#
#   bench/taskbench/iter.sh BINDIR         (make bench-taskbench-iter)
#
# Configurations, 2 cores each (efficiency and granularity count 2 cores):
#   mpi 2x1            tb-mpi, 2 ranks x 1 thread: the floor
#   taskiter 2x1       tb-dtask --taskiter, 2 ranks x 1 worker (dt_main, node
#                      hints by column block, as tb-mpi's owners)
#   taskiter 2x1 pw    the same with DT_PROGRESS=workers (no progress thread)
#   created 2x1        tb-dtask, the same tasks created and offloaded one by one
#   taskiter 1x2       tb-dtask --taskiter, 1 rank x 2 workers
#   created 1x2        tb-dtask, 1 rank x 2 workers (the Task Bench section's row)
# As run.sh: K halves from 32768; per K about 100 ms of ideal work (200-4000
# steps); round 1 stops a configuration after its first efficiency below 5%,
# rounds 2.. (TB_ROUNDS, default 3) run the same K; the configurations rotate
# each round; every point is the median of its rounds.  METG(50%) is the
# granularity where the efficiency crosses 50% (log-interpolated).  Each
# process runs under flock TB_LOCK (default /work/notes/bench.lock) so that no
# two timed jobs on the machine overlap.  Prints a Markdown section to paste;
# the raw lines are in BINDIR/taskbench-iter.log.
set -eu -o pipefail
bindir=${1:?usage: iter.sh BINDIR}
rounds=${TB_ROUNDS:-3}
width=${TB_WIDTH:-8}
to=${TB_TIMEOUT:-120}
lock=${TB_LOCK:-/work/notes/bench.lock}
[ -w "$(dirname "$lock")" ] || lock=$bindir/bench.lock
log=$bindir/taskbench-iter.log
: > "$log"
labels=("mpi 2x1" "taskiter 2x1" "taskiter 2x1 pw" "created 2x1" "taskiter 1x2" "created 1x2")

# cfg INDEX ARGS...: one process of configuration INDEX under the lock
cfg() {
    local i=$1; shift
    case $i in
    0) flock "$lock" timeout "$to" mpiexec.mpich -n 2 "$bindir/tb-mpi" "$@" ;;
    1) DT_NUM_WORKERS=1 flock "$lock" timeout "$to" mpiexec.mpich -n 2 "$bindir/tb-dtask" --taskiter "$@" ;;
    2) DT_PROGRESS=workers DT_NUM_WORKERS=1 flock "$lock" timeout "$to" mpiexec.mpich -n 2 \
           "$bindir/tb-dtask" --taskiter "$@" ;;
    3) DT_NUM_WORKERS=1 flock "$lock" timeout "$to" mpiexec.mpich -n 2 "$bindir/tb-dtask" "$@" ;;
    4) DT_NUM_WORKERS=2 flock "$lock" timeout "$to" "$bindir/tb-dtask" --taskiter "$@" ;;
    5) DT_NUM_WORKERS=2 flock "$lock" timeout "$to" "$bindir/tb-dtask" "$@" ;;
    esac | sed "s/ system=[^ ]* / system=c$i /"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
date_run=$(date -u '+%Y-%m-%d %H:%M UTC')
unit=$(flock "$lock" "$bindir/tb-calib" compute_bound 32768 15 | sed -n 's/.*unit_ns=//p')
ks=32768,16384,8192,4096,2048,1024,512,256,128,64,32,16,8,4,2,1
n=${#labels[@]}
for ((round = 1; round <= rounds; round++)); do
    echo "iter.sh: round $round of $rounds" >&2
    for ((j = 0; j < n; j++)); do
        i=$(((j + round) % n)) k=$ks stop="--stop-below 0.05"
        if [ "$round" -gt 1 ]; then
            stop=""
            k=$(awk -v s="system=c$i" '$0 ~ " " s " " && / kernel=compute_bound / {
                    sub(/.* K=/, ""); sub(/ .*/, ""); if (!seen[$0]++) l = l (l ? "," : "") $0 }
                END { print l }' "$log")
        fi
        cfg "$i" --pattern stencil_1d --kernel compute_bound --k "$k" --width "$width" \
            --unit-ns "$unit" --cores 2 --target-ms 100 --steps-min 200 --steps-max 4000 \
            --reps 1 $stop >> "$log"
        cfg "$i" --pattern stencil_1d --kernel empty --width "$width" --steps 1000 --reps 1 \
            --cores 2 >> "$log"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# the same graph gives the same checksum in every configuration
bad=$(awk '{ delete f; for (i = 2; i <= NF; i++) { p = index($i, "="); f[substr($i, 1, p - 1)] = substr($i, p + 1) }
             k = f["kernel"] " " f["steps"] " " f["K"]
             if (k in sum && sum[k] != f["checksum"]) print k ": " who[k] " " sum[k] ", " f["system"] " " f["checksum"]
             sum[k] = f["checksum"]; who[k] = f["system"] }' "$log")
if [ -n "$bad" ]; then echo "iter.sh: FAILED: checksums differ:"; echo "$bad"; exit 1; fi

# per configuration and K: median ns over the rounds, efficiency, granularity
agg=$(awk -v u="$unit" '
    { delete f; for (i = 2; i <= NF; i++) { p = index($i, "="); f[substr($i, 1, p - 1)] = substr($i, p + 1) }
      k = f["system"] " " f["kernel"] " " f["K"]
      if (!(k in n)) { order[++nk] = k; tasks[k] = f["tasks"]; work[k] = f["work"] }
      t[k, ++n[k]] = f["ns"] }
    END { for (j = 1; j <= nk; j++) { k = order[j]; m = n[k]
              for (a = 1; a <= m; a++) v[a] = t[k, a]
              for (a = 2; a <= m; a++) for (b = a; b > 1 && v[b - 1] > v[b]; b--) { x = v[b]; v[b] = v[b - 1]; v[b - 1] = x }
              med = m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
              split(k, w, " ")
              printf "%s %s %s %.4f %.1f\n", w[1], w[2], w[3], w[2] == "empty" ? 0 : work[k] * u / (med * 2), med * 2 / tasks[k] } }' "$log")
metg() {
    printf '%s\n' "$agg" | awk -v s="c$1" '$1 == s && $2 == "compute_bound" {
            n++; g[n] = $5 / 1000; e[n] = $4; if (e[n] >= 0.5) a = n }
        END { if (!n) { print "-"; exit }
              if (!a) { printf ">%.3g\n", g[1]; exit }
              if (a == n) { printf "<=%.3g\n", g[n]; exit }
              lg = log(g[a]) + (0.5 - e[a]) * (log(g[a + 1]) - log(g[a])) / (e[a + 1] - e[a])
              printf "%.3g\n", exp(lg) }'
}
m0=$(metg 0)
hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs${hyper:+ ($hyper guest)}, $(uname -srm)"
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- lib include 2>/dev/null)" ] || rev="$rev + uncommitted changes in lib/ or include/"

echo "Command: \`make bench-taskbench-iter\` (\`bench/taskbench/iter.sh build/bench/taskbench\`), $date_run, libdtask $rev."
echo "Machine: $machine.  Load average (1/5/15 min) before: $load_before, after: $load_after."
echo "stencil_1d, width $width, compute_bound ($unit ns per iteration on one core), 2 cores per"
echo "configuration, medians of $rounds rounds; every run's checksum equal to every other's."
echo
echo "| configuration | METG(50%) us | / MPI's | empty kernel: wall x 2 / tasks, us |"
echo "|---|---|---|---|"
for ((i = 0; i < n; i++)); do
    m=$(metg "$i")
    r=$(awk -v a="$m" -v b="$m0" 'BEGIN { if (a ~ /[<>-]/ || b ~ /[<>-]/) print "-"; else printf "%.2f", a / b }')
    e=$(printf '%s\n' "$agg" | awk -v s="c$i" '$1 == s && $2 == "empty" { printf "%.3g", $5 / 1000 }')
    echo "| ${labels[$i]} | $m | $r | $e |"
done
echo
echo "Efficiency per K (median of the rounds; - : not run, the sweep had stopped):"
echo
printf '| K |'; for ((i = 0; i < n; i++)); do printf ' %s |' "${labels[$i]}"; done; echo
printf '|---|'; for ((i = 0; i < n; i++)); do printf -- '---|'; done; echo
for k in ${ks//,/ }; do
    row=$(printf '%s\n' "$agg" | awk -v k="$k" -v n="$n" '$2 == "compute_bound" && $3 == k { e[substr($1, 2)] = $4 }
        END { for (i = 0; i < n; i++) printf " %s |", (i in e) ? e[i] : "-" }')
    case $row in *[0-9]*) echo "| $k |$row" ;; esac
done
