#!/usr/bin/env bash
# run-core.sh - core runtime benchmarks, libdtask vs libgomp (bench/core.c).
#
#   bench/run-core.sh --quick BINDIR          tiny sizes, checks only (make bench-quick)
#   bench/run-core.sh BINDIR [RESULTS.md]     full run; rewrites the generated
#                                             "Core runtime vs libgomp" section
#
# Full run: BENCH_ROUNDS (default 5) rounds; each round runs every timed
# benchmark once per system, interleaved (the order alternates per round), so
# load from other users hits both.  Each process prints the median of
# BENCH_REPS (default 5) in-process runs; the table takes the median of those
# per-process medians.  Both runtimes get 2 threads (the main thread is one of
# them) except the dependency-engine benchmark (1 thread); binding and wait
# policies stay at their defaults.
set -eu -o pipefail

quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
bindir=${1:?usage: run-core.sh [--quick] BINDIR [RESULTS.md]}
results=${2:-bench/RESULTS.md}
dtask=$bindir/core-dtask
gomp=$bindir/core-gomp
# a hang is a failure; tiny sizes take well under a second
if [ $quick = 1 ]; then timeout_s=${BENCH_TIMEOUT:-60}; else timeout_s=${BENCH_TIMEOUT:-600}; fi

# run SYSTEM THREADS ARGS... : one driver process, its output on stdout
run() {
    local sys=$1 threads=$2; shift 2
    if [ "$sys" = dtask ]; then
        DT_NUM_WORKERS=$threads timeout "$timeout_s" "$dtask" "$@"
    else
        OMP_NUM_THREADS=$threads timeout "$timeout_s" "$gomp" "$@"
    fi
}

# field LOG BENCH SYSTEM KEY : every value of KEY on matching lines
field() {
    awk -v b="$2" -v s="$3" -v k="$4" '
        { delete f; for (i = 1; i <= NF; i++) { p = index($i, "=");
              if (p) f[substr($i, 1, p - 1)] = substr($i, p + 1) }
          if (f["bench"] == b && f["system"] == s && (k in f)) print f[k] }' "$1"
}

median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

if [ $quick = 1 ]; then
    # Not timed: each driver checks its own result (tasks run, final
    # counters) and exits non-zero on a mismatch; here we also require its
    # result line.
    fail=0
    check() {
        local sys=$1 threads=$2 bench=$3; shift 3
        local out
        if ! out=$(run "$sys" "$threads" "$bench" "$@"); then
            echo "bench-quick: FAILED: $sys $bench $* (exit status)"; fail=1; return
        fi
        if ! grep -q "^bench=$bench system=$sys .*runs=" <<<"$out"; then
            echo "bench-quick: FAILED: $sys $bench $*: no result line"; fail=1; return
        fi
        echo "bench-quick: ok: $sys $bench $*"
    }
    for sys in dtask gomp; do
        check "$sys" 2 spawn 20000 2
        check "$sys" 2 chain 10000 2
        check "$sys" 1 frag 10000 2
        check "$sys" 2 rss 20000
    done
    exit $fail
fi

rounds=${BENCH_ROUNDS:-5}
reps=${BENCH_REPS:-5}
n_spawn=${BENCH_N_SPAWN:-1000000}
n_chain=${BENCH_N_CHAIN:-200000}
n_frag=${BENCH_N_FRAG:-200000}
n_rss=${BENCH_N_RSS:-10000000}
n_leak=${BENCH_N_LEAK:-20000}
log=$bindir/core.log
: > "$log"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="dtask gomp"; else order="gomp dtask"; fi
    for sys in $order; do
        run "$sys" 2 spawn "$n_spawn" "$reps" | tee -a "$log"
        run "$sys" 2 chain "$n_chain" "$reps" | tee -a "$log"
        run "$sys" 1 frag "$n_frag" "$reps" | tee -a "$log"
    done
done
for sys in dtask gomp; do
    run "$sys" 2 rss "$n_rss" | tee -a "$log"
done

leak_log=$bindir/core-valgrind.log
leak_cmd="DT_NUM_WORKERS=2 valgrind --leak-check=full --error-exitcode=1 $dtask rss $n_leak"
if command -v valgrind >/dev/null; then
    if DT_NUM_WORKERS=2 valgrind --leak-check=full --error-exitcode=1 \
            "$dtask" rss "$n_leak" >"$leak_log" 2>&1; then leak_rc=0; else leak_rc=$?; fi
    leak_summary=$(grep -E 'no leaks are possible|definitely lost:|ERROR SUMMARY' "$leak_log" |
                   sed 's/^==[0-9]*== *//' | paste -sd';' | sed 's/;/; /g')
else
    leak_rc=none
    leak_summary="valgrind not installed"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

med() { field "$log" "$1" "$2" "$3" | median; }
all() { field "$log" "$1" "$2" "$3" | paste -sd' '; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN {
    ok = (op == "<=") ? x <= t : x >= t; print ok ? "met" : "NOT met" }'; }

s_d=$(med spawn dtask median_ns_per_task); s_g=$(med spawn gomp median_ns_per_task)
c_d=$(med chain dtask median_ns_per_task); c_g=$(med chain gomp median_ns_per_task)
f_d=$(med frag dtask median_ns_per_task); f_g=$(med frag gomp median_ns_per_task)
fa_d=$(med frag dtask median_accesses_per_s); fa_g=$(med frag gomp median_accesses_per_s)
s_r=$(ratio "$s_d" "$s_g"); c_r=$(ratio "$c_d" "$c_g")

rss_at() { # SYSTEM TASKS_DONE KEY
    awk -v s="$1" -v t="$2" -v k="$3" '$1 == "bench=rss" && $2 == "system=" s &&
        $0 ~ " tasks_done=" t " " { for (i = 1; i <= NF; i++)
            if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$log"; }
r1_d=$(rss_at dtask $((n_rss / 100)) peak_rss_kib); r2_d=$(rss_at dtask $((n_rss / 10)) peak_rss_kib)
r3_d=$(rss_at dtask "$n_rss" peak_rss_kib)
r1_g=$(rss_at gomp $((n_rss / 100)) peak_rss_kib); r2_g=$(rss_at gomp $((n_rss / 10)) peak_rss_kib)
r3_g=$(rss_at gomp "$n_rss" peak_rss_kib)
c_rss() { echo "$(rss_at "$1" $((n_rss / 100)) rss_kib) / $(rss_at "$1" $((n_rss / 10)) rss_kib) / $(rss_at "$1" "$n_rss" rss_kib)"; }
rss_ns_d=$(field "$log" rss dtask ns_per_task); rss_ns_g=$(field "$log" rss gomp ns_per_task)
# Flat: peak RSS grows by less than 1 byte per task from N/100 to N tasks
# (9.4 MiB at 10^7; leaking one small record per task would exceed it).  Some growth is expected:
# the peak follows the most tasks ever alive at once (at most one taskwait
# window, 10^4 tasks), which timing decides, not the task count.
growth() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {
    printf "%+d KiB (%.3f bytes/task)", b - a, (b - a) * 1024 / (n - n / 100) }'; }
flat=$(awk -v a="$r1_d" -v b="$r3_d" -v n="$n_rss" 'BEGIN {
    print ((b - a) * 1024 < n - n / 100) ? "met" : "NOT met" }')
if [ "$leak_rc" = 0 ]; then leak_met=met; else leak_met="NOT met"; fi

hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs${hyper:+ ($hyper guest)}, $(uname -srm)"
gccv=$(${CC:-cc} --version | head -1)
# which library was measured: the commit, and whether lib/ had local edits
librev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- lib include 2>/dev/null)" ]; then
    librev="$librev + uncommitted lib/ edits"
fi

section=$(cat <<EOF
<!-- BEGIN core-vs-libgomp: generated by bench/run-core.sh, do not edit by hand -->
## Core runtime vs libgomp

Command: \`make bench\` (its core part: \`bench/run-core.sh $bindir $results\`, drivers from bench/core.c).  Date: $(date -u '+%Y-%m-%d %H:%M UTC').
Machine: $machine; compiler: $gccv (libgomp from the same gcc).
libdtask: git $librev.
Load average (1/5/15 min) before: $load_before, after: $load_after.

Method: one source, two programs (core-dtask linked with libdtask.a; core-gomp
built with \`-fopenmp\` only).  2 threads each (DT_NUM_WORKERS=2 /
OMP_NUM_THREADS=2; the main thread is one of them), default binding and wait
policy; the dependency-engine benchmark uses 1 thread.  Each process does one
untimed warm-up run and $reps timed runs and prints their median; $rounds processes
per system, interleaved (dtask, gomp, gomp, dtask, ...); the table gives the
median of the per-process medians (all of them listed below).  Times are per
task, creation + final taskwait included.  Every run checks its result.

| benchmark | libdtask | libgomp | ratio dtask/gomp | target | |
|---|---|---|---|---|---|
| 1. $n_spawn independent empty tasks, one taskwait | $s_d ns/task | $s_g ns/task | $s_r | <= 0.5 | $(met "$s_r" "<=" 0.5) |
| 2. chain of $n_chain tasks, inout on one 8-byte region | $c_d ns/task | $c_g ns/task | $c_r | <= 0.5 | $(met "$c_r" "<=" 0.5) |
| 3. dependency engine, 1 thread, $n_frag tasks fragmenting 1 MiB | $(awk -v x="$fa_d" 'BEGIN { printf "%.3g", x }') accesses/s ($f_d ns/task) | $(awk -v x="$fa_g" 'BEGIN { printf "%.3g", x }') accesses/s ($f_g ns/task), **not equivalent** (see below) | - | >= 2e6 accesses/s | $(met "$fa_d" ">=" 2000000) |
| 4. $n_rss tasks, peak RSS flat | peak $r1_d / $r2_d / $r3_d KiB at $((n_rss / 100)) / $((n_rss / 10)) / $n_rss tasks: $(growth "$r1_d" "$r3_d" "$n_rss"); current $(c_rss dtask) KiB | peak $r1_g / $r2_g / $r3_g KiB: $(growth "$r1_g" "$r3_g" "$n_rss"); current $(c_rss gomp) KiB | - | < 1 byte/task growth of the peak | $flat |
| 4b. valgrind, $n_leak tasks | exit status $leak_rc: $leak_summary | - | - | no definite leak | $leak_met |

Per-process medians (ns/task): spawn dtask [$(all spawn dtask median_ns_per_task)] gomp
[$(all spawn gomp median_ns_per_task)]; chain dtask [$(all chain dtask median_ns_per_task)] gomp
[$(all chain gomp median_ns_per_task)]; frag dtask [$(all frag dtask median_ns_per_task)] gomp
[$(all frag gomp median_ns_per_task)].  rss run: dtask $rss_ns_d ns/task, gomp $rss_ns_g ns/task.

Workloads:
1. \`dt_task_create\` with no accesses / \`#pragma omp task\` inside \`omp single\`,
   then one \`dt_taskwait\` / \`#pragma omp taskwait\`.  The body only counts itself.
   libgomp runs a task inline in its creator once more than 64 per thread are
   queued; libdtask runs tasks in the creator when too many are queued.
2. Each task \`DT_INOUT\` / \`depend(inout: x)\` on one \`long\` and increments it;
   the final value must equal the number of tasks.
3. A 1 MiB region from \`dt_dmalloc\`; each task has 1-4 accesses (mode in, out or
   inout, size 64 B-4 KiB, byte offset, all uniform; a task's own accesses do
   not overlap each other), pre-generated from a fixed seed; a taskwait every
   4096 tasks.  Rate = accesses / (creation + execution + release time).
   libgomp context: the same stream as \`depend(iterator(...), in/out/inout: *start)\`:
   it matches start addresses only, so it neither splits ranges nor orders
   partially overlapping pieces; it is not the same work.
4. Task i does inout on counter i mod 64 (64-byte spaced), a taskwait every
   10^4 tasks; \`getrusage\` ru_maxrss (peak) and /proc/self/statm (current)
   after N/100, N/10 and N tasks.  Flat means growth below 1 byte per task
   (leaking one small record per task would exceed it many times over).  The
   peak still moves a little: it follows the most tasks alive at once (at most
   one taskwait window, 10^4 tasks), which timing decides.  Leak check:
   \`$leak_cmd\` (log in $leak_log).
<!-- END core-vs-libgomp -->
EOF
)

if [ ! -f "$results" ]; then
    printf '# libdtask benchmark results\n\n' > "$results"
fi
tmp=$(mktemp)
secfile=$(mktemp)
printf '%s\n' "$section" > "$secfile"
if grep -q '^<!-- BEGIN core-vs-libgomp' "$results"; then
    awk -v secfile="$secfile" '
        /^<!-- BEGIN core-vs-libgomp/ { while ((getline l < secfile) > 0) print l; skip = 1; next }
        /^<!-- END core-vs-libgomp/ { skip = 0; next }
        !skip { print }' "$results" > "$tmp"
else
    cat "$results" "$secfile" > "$tmp"
fi
cat "$tmp" > "$results"
rm -f "$tmp" "$secfile"
echo "run-core.sh: wrote the core section of $results"
