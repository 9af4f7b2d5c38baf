#!/usr/bin/env bash
# pertask.sh - what a replayed task costs against a created one, on one rank
# and across ranks (bench/taskiter/iter.c `tasks`).
#
#   bench/taskiter/pertask.sh BINDIR          (make bench-taskiter-pertask)
#
# N (BENCH_TASKS_N, 1000) tasks per iteration, each DT_INOUT on its own
# counter; across R ranks task i has node hint i * R / N; "cross": each task
# also reads its partner's counter (i + N/2), a rank away for R = 2 and 4.
# taskiter: the N tasks recorded once and replayed; loop: created N at a time.
# Every figure is a marginal cost: two runs that differ only in the number
# of iterations (T1, T2), differenced and divided by the tasks added, so
# that start-up, recording, the transfer analysis and the data sent before
# and after cancel out.
#   - 1 rank, 1 and 2 workers: instructions (valgrind --tool=callgrind, every
#     thread counted), T 20 and 40;
#   - wall time, 1 rank (1 and 2 workers) and 2 and 4 ranks of 1 worker:
#     BENCH_ROUNDS (5) rounds, each runs every configuration at both T in an
#     order that rotates per round; per configuration the difference of the
#     median times at T2 and T1: taskiter T 100 and 300 (20 and 60 with
#     edges between ranks); loop T 20 and 60 on one rank, 5 and 15 across
#     ranks.  Each job under flock
#     BENCH_LOCK (/work/notes/bench.lock).
# Every run checks its counters.  Prints a Markdown section to paste; raw
# lines in BINDIR/pertask.log.
set -eu -o pipefail
bindir=${1:?usage: pertask.sh BINDIR}
iter=$bindir/iter
n=${BENCH_TASKS_N:-1000}
rounds=${BENCH_ROUNDS:-5}
lock=${BENCH_LOCK:-/work/notes/bench.lock}
[ -w "$(dirname "$lock")" ] || lock=$bindir/bench.lock
to=${BENCH_TIMEOUT:-120}
log=$bindir/pertask.log
: > "$log"

# configurations: label, ranks, workers, edges, extra environment
cfgs=("1 rank x 1 worker|1|1|none|" "1 rank x 2 workers|1|2|none|"
      "2 ranks x 1 worker|2|1|none|" "2 ranks x 1 worker|2|1|cross|"
      "2 ranks x 1 worker, DT_PROGRESS=workers|2|1|cross|DT_PROGRESS=workers"
      "4 ranks x 1 worker|4|1|none|" "4 ranks x 1 worker|4|1|cross|")
iters() {   # iters MODE RANKS EDGES: T1 T2
    case $1,$2,$3 in taskiter,*,none) echo 100 300 ;; taskiter,*) echo 20 60 ;; loop,1,*) echo 20 60 ;; *) echo 5 15 ;; esac
}
# one CFG MODE T: a run, its line tagged with the configuration's number
one() {
    local c=$1 mode=$2 t=$3 label ranks workers edges envs out e=""
    IFS='|' read -r label ranks workers edges envs <<< "${cfgs[$c]}"
    [ "$edges" = cross ] && e=cross
    if [ "$ranks" = 1 ]; then
        out=$(env $envs DT_NUM_WORKERS="$workers" flock "$lock" timeout "$to" "$iter" tasks "$n" "$t" "$mode" $e)
    else
        out=$(env $envs DT_NUM_WORKERS="$workers" flock "$lock" timeout "$to" mpiexec.mpich -n "$ranks" \
                  "$iter" tasks "$n" "$t" "$mode" $e)
    fi
    case $out in *" verified") ;; *) echo "pertask.sh: cfg $c $mode T=$t: $out" >&2; exit 1 ;; esac
    echo "cfg=$c $out" >> "$log"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
date_run=$(date -u '+%Y-%m-%d %H:%M UTC')
nc=${#cfgs[@]}
for ((r = 0; r < rounds; r++)); do
    echo "pertask.sh: round $((r + 1)) of $rounds" >&2
    for ((j = 0; j < nc; j++)); do
        c=$(((j + r) % nc))
        IFS='|' read -r _ ranks _ edges _ <<< "${cfgs[$c]}"
        for mode in taskiter loop; do
            for t in $(iters $mode "$ranks" "$edges"); do one "$c" "$mode" "$t"; done
        done
    done
done

# instructions, 1 rank: T 20 and 40, differenced
cg() {   # cg WORKERS MODE T
    DT_NUM_WORKERS=$1 flock "$lock" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$iter" tasks "$n" "$3" "$2" 2>&1 | sed -n 's/.*Collected : *//p'
}
declare -A IR
for w in 1 2; do
    for mode in taskiter loop; do
        a=$(cg "$w" "$mode" 20) b=$(cg "$w" "$mode" 40)
        IR[$w,$mode]=$(awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN { printf "%.0f", (b - a) / (n * 20) }')
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# marginal wall ns per task of configuration C, MODE (RANKS, EDGES): medians at T2 and T1
marg() {
    local t1 t2
    read -r t1 t2 <<< "$(iters "$2" "$3" "$4")"
    awk -v c="cfg=$1" -v m="mode=$2" -v t1="T=$t1" -v t2="T=$t2" -v n="$n" -v d=$((t2 - t1)) '
        $1 == c && $3 == m { s = $0; sub(/.*seconds=/, "", s); sub(/ .*/, "", s)
            for (i = 1; i <= NF; i++) { if ($i == t1) a[++na] = s; if ($i == t2) b[++nb] = s } }
        function med(v, k,   i, j, x) { for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
                x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
            return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
        END { printf "%.0f", (med(b, nb) - med(a, na)) * 1e9 / (n * d) }' "$log"
}
hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs${hyper:+ ($hyper guest)}, $(uname -srm)"
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- lib include 2>/dev/null)" ] || rev="$rev + uncommitted changes in lib/ or include/"

echo "Command: \`make bench-taskiter-pertask\` (\`bench/taskiter/pertask.sh build/bench\`), $date_run, libdtask $rev."
echo "Machine: $machine.  Load average (1/5/15 min) before: $load_before, after: $load_after."
echo "$n tasks per iteration, empty bodies; marginal cost per task (two iteration counts differenced)."
echo
echo "| 1 rank, instructions per task (callgrind) | replayed (taskiter) | created (loop) | replayed / created |"
echo "|---|---|---|---|"
for w in 1 2; do
    echo "| $w worker$([ $w = 2 ] && echo s) | ${IR[$w,taskiter]} | ${IR[$w,loop]} | $(awk -v a="${IR[$w,taskiter]}" -v b="${IR[$w,loop]}" 'BEGIN { printf "%.3f", a / b }') |"
done
echo
echo "| wall ns per task, median of $rounds rounds | edges between ranks | replayed (taskiter) | created (loop) | replayed / created |"
echo "|---|---|---|---|---|"
for ((c = 0; c < nc; c++)); do
    IFS='|' read -r label ranks workers edges envs <<< "${cfgs[$c]}"
    a=$(marg "$c" taskiter "$ranks" "$edges") b=$(marg "$c" loop "$ranks" "$edges")
    case $edges in cross) ed="every task (reads its partner's counter)" ;;
                   *) [ "$ranks" = 1 ] && ed="-" || ed="none" ;; esac
    echo "| $label | $ed | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }') |"
done
