#!/usr/bin/env bash
# run.sh - Task Bench METG(50%) sweep: libdtask, libgomp, StarPU, hand-written
# MPI and StarPU-MPI on the same task graphs (drivers in bench/taskbench/).
#
#   bench/taskbench/run.sh --quick BINDIR          every driver on tiny graphs
#                                                  (all patterns x kernels), checked
#   bench/taskbench/run.sh BINDIR [RESULTS.md]     the sweep; rewrites the
#                                                  "Task Bench: METG" section and
#                                                  bench/taskbench/metg.png
#
# Every system gets TB_CORES (default 2) cores: DT_NUM_WORKERS / OMP_NUM_THREADS
# / STARPU_NCPU threads, or that many MPI ranks of one thread.  For each
# pattern and system one process sweeps K from large to small (one untimed
# run first, then one timed run per K); the whole sweep runs TB_ROUNDS (3)
# times and each point is the median of its rounds.
# Efficiency = kernel work x single-core ns per unit (tb-calib) / (wall x
# cores); granularity = wall x cores / tasks; METG(50%) = the granularity
# where efficiency crosses 50% (log-interpolated between the two measured
# points around it).
set -eu -o pipefail

quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
bindir=${1:?usage: run.sh [--quick] BINDIR [RESULTS.md]}
results=${2:-bench/RESULTS.md}
here=$(cd "$(dirname "$0")" && pwd)
cores=${TB_CORES:-2}
rounds=${TB_ROUNDS:-3}
if [ $quick = 1 ]; then to=${TB_TIMEOUT:-60}; else to=${TB_TIMEOUT:-900}; fi

export STARPU_SILENT=1
# Open MPI refuses to start as root without these (CI containers run as root)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# drv SYSTEM ARGS... : one driver process (or MPI job) on $cores cores
drv() {
    local sys=$1; shift
    case $sys in
    dtask)     DT_NUM_WORKERS=$cores timeout "$to" "$bindir/tb-dtask" "$@" ;;
    dtask1)    DT_NUM_WORKERS=1 timeout "$to" "$bindir/tb-dtask" "$@" ;;
    # dt_main on $cores ranks of one worker, stealing on (tb-dtask-cluster.c)
    dtaskc)    DT_NUM_WORKERS=1 DT_STEAL=1 timeout "$to" mpiexec.mpich -n "$cores" "$bindir/tb-dtask-cluster" "$@" ;;
    # quick only: across ranks (dt_main, node hints), and replayed by dt_taskiter
    dtask2r)   DT_NUM_WORKERS=1 timeout "$to" mpiexec.mpich -n 2 "$bindir/tb-dtask" "$@" ;;
    iter)      DT_NUM_WORKERS=2 timeout "$to" "$bindir/tb-dtask" --taskiter "$@" ;;
    iter3r)    DT_NUM_WORKERS=1 timeout "$to" mpiexec.mpich -n 3 "$bindir/tb-dtask" --taskiter "$@" ;;
    gomp)      OMP_NUM_THREADS=$cores timeout "$to" "$bindir/tb-omp" "$@" ;;
    starpu)    STARPU_NCPU=$cores timeout "$to" "$bindir/tb-starpu" "$@" ;;
    mpi)       timeout "$to" mpiexec.mpich -n "$cores" "$bindir/tb-mpi" "$@" ;;
    mpi1)      timeout "$to" mpiexec.mpich -n 1 "$bindir/tb-mpi" "$@" ;;
    # each rank's StarPU would bind its worker to the first core: both on core 0
    starpumpi) STARPU_NCPU=1 STARPU_WORKERS_NOBIND=1 timeout "$to" mpiexec.openmpi -n "$cores" \
                   -x STARPU_NCPU -x STARPU_WORKERS_NOBIND -x STARPU_SILENT \
                   "$bindir/tb-starpumpi" "$@" ;;
    *)         echo "run.sh: unknown system $sys" >&2; return 2 ;;
    esac
}

have() { [ -x "$bindir/tb-$1" ]; }

# ---- quick: correctness of every driver, in seconds ----------------------
if [ $quick = 1 ]; then
    fail=0
    # the checker must catch a stale input (exit status 3 from its die())
    rc=0; "$bindir/tb-calib" --selftest 2>/dev/null || rc=$?
    if [ $rc != 3 ]; then
        echo "bench-taskbench-quick: FAILED: the input check did not catch a stale input"
        fail=1
    fi
    # width 7 splits unevenly over 2 ranks; 9 steps cover every fft set and
    # let tree reach the full width
    args="--pattern all --kernel all --width 7 --steps 9 --k 40,1 --reps 1 --check"
    nlines=56   # 8 patterns x (empty + 3 kernels x 2 K)
    systems="dtask dtask1 dtaskc gomp mpi1 mpi dtask2r iter iter3r"
    # --taskiter replays periodic graphs only (not trivial, tree): 6 x 7 graphs
    periodic="no_comm,stencil_1d,nearest,spread,fft,all_to_all"
    if have starpu; then systems="$systems starpu"; else
        echo "bench-taskbench-quick: SKIPPED starpu (install libstarpu-dev)"; fi
    if have starpumpi; then systems="$systems starpumpi"; else
        echo "bench-taskbench-quick: SKIPPED starpumpi (install libstarpu-dev openmpi-bin libopenmpi-dev)"; fi
    ref=""
    for sys in $systems; do
        a=$args want=$ref n=$nlines
        case $sys in iter*)
            a=${args/--pattern all/--pattern $periodic}; n=42
            want=$(printf '%s\n' "$ref" | grep -E "^(${periodic//,/|}) ") ;;
        esac
        if ! out=$(drv "$sys" $a); then
            echo "bench-taskbench-quick: FAILED: $sys (exit status)"; fail=1; continue
        fi
        sums=$(printf '%s\n' "$out" | awk '/^taskbench / { delete f
            for (i = 2; i <= NF; i++) { p = index($i, "="); f[substr($i, 1, p - 1)] = substr($i, p + 1) }
            print f["pattern"], f["kernel"], f["K"], f["checksum"] }')
        if [ "$(printf '%s\n' "$sums" | grep -c .)" != $n ]; then
            echo "bench-taskbench-quick: FAILED: $sys printed $(printf '%s\n' "$sums" | grep -c .) results, expected $n"
            fail=1; continue
        fi
        if [ -z "$ref" ]; then ref=$sums; ref_sys=$sys
        elif [ "$sums" != "$want" ]; then
            echo "bench-taskbench-quick: FAILED: $sys checksums differ from $ref_sys's:"
            diff <(printf '%s\n' "$want") <(printf '%s\n' "$sums") | head -5
            fail=1; continue
        fi
        echo "bench-taskbench-quick: $sys ok ($n graphs, checksums match the sequential reference)"
    done
    [ $fail = 0 ] && echo "bench-taskbench-quick: all passed"
    exit $fail
fi

# ---- the sweep ------------------------------------------------------------
for sys in calib dtask omp starpu mpi starpumpi; do
    if [ ! -x "$bindir/tb-$sys" ]; then
        echo "run.sh: $bindir/tb-$sys missing (StarPU: apt-get install libstarpu-dev;" \
             "StarPU-MPI: also openmpi-bin libopenmpi-dev)" >&2
        exit 1
    fi
done
command -v gnuplot >/dev/null || { echo "run.sh: gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 1; }

systems="dtask gomp starpu mpi"
patterns="trivial no_comm stencil_1d nearest spread fft tree all_to_all"
width=${TB_WIDTH:-8}
k_compute=32768,16384,8192,4096,2048,1024,512,256,128,64,32,16,8,4,2,1
k_memory=4096,2048,1024,512,256,128,64,32,16,8,4,2,1
log=$bindir/taskbench.log
datadir=$bindir/curves
mkdir -p "$datadir"
: > "$log"
rm -f "$datadir"/*.dat
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
date_run=$(date -u '+%Y-%m-%d %H:%M UTC')
t_start=$(date +%s)

unit() { "$bindir/tb-calib" "$@" | sed -n 's/.*unit_ns=//p'; }
unit_c=$(unit compute_bound 32768 15)
unit_m=$(unit memory_bound 4096 15)
# the same with both cores busy: how far 2 x the single-core rate is reachable
unit2() { { unit "$@" & unit "$@"; wait; } | awk '{ s += $1; n++ } END { printf "%.3f", s / n }'; }
unit_c2=$(unit2 compute_bound 32768 15)
unit_m2=$(unit2 memory_bound 4096 15)
echo "run.sh: single-core rates: compute_bound $unit_c ns/iteration, memory_bound $unit_m ns/line" \
     "(two at once: $unit_c2, $unit_m2)"

# sweep ROUND KERNEL K_LIST UNIT PATTERN SYSTEM...: one process per system,
# the order rotating with each call so background load hits every system
# alike.  Round 1 goes down in K until the efficiency drops below 5%; later
# rounds run exactly the K values that round 1 ran for that system.
rot=0
sweep() {
    local round=$1 kernel=$2 ks=$3 u=$4 pattern=$5; shift 5
    local list=("$@") n=$# i sys k stop
    for ((i = 0; i < n; i++)); do
        sys=${list[$(((i + rot) % n))]}
        k=$ks; stop="--stop-below 0.05"
        if [ "$round" -gt 1 ]; then
            stop=""
            k=$(awk -v s="$sys" -v pat="$pattern" -v ker="$kernel" '
                $0 ~ " system=" s " " && $0 ~ " pattern=" pat " " && $0 ~ " kernel=" ker " " {
                    sub(/.* K=/, ""); sub(/ .*/, ""); if (!seen[$0]++) l = l (l ? "," : "") $0 }
                END { print l }' "$log")
        fi
        drv "$sys" --pattern "$pattern" --kernel "$kernel" --k "$k" --width "$width" \
            --unit-ns "$u" --cores "$cores" --target-ms 100 --steps-min 200 --steps-max 4000 \
            --reps 1 $stop | tee -a "$log"
    done
    rot=$((rot + 1))
}
for ((round = 1; round <= rounds; round++)); do
    echo "run.sh: round $round of $rounds"
    for p in $patterns; do
        sweep $round compute_bound "$k_compute" "$unit_c" "$p" $systems
    done
    sweep $round memory_bound "$k_memory" "$unit_m" stencil_1d $systems
    sweep $round load_imbalance "$k_compute" "$unit_c" stencil_1d $systems
    # StarPU-MPI: one row; its runs take seconds each on this machine
    sweep $round compute_bound "$k_compute" "$unit_c" stencil_1d starpumpi
    for sys in $systems; do
        drv "$sys" --pattern all --kernel empty --width "$width" --steps 1000 --reps 1 \
            --cores "$cores" | tee -a "$log"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
minutes=$(( ($(date +%s) - t_start + 59) / 60 ))

# Same graph, same checksum: every system, bit for bit.
bad=$(awk '{ delete f; for (i = 2; i <= NF; i++) { p = index($i, "=");
                 f[substr($i, 1, p - 1)] = substr($i, p + 1) }
             k = f["pattern"] " " f["kernel"] " " f["width"] " " f["steps"] " " f["K"]
             if (k in sum && sum[k] != f["checksum"]) print k ": " who[k] " " sum[k] ", " f["system"] " " f["checksum"]
             sum[k] = f["checksum"]; who[k] = f["system"] }' "$log")
if [ -n "$bad" ]; then
    echo "run.sh: FAILED: checksums differ between systems:"; echo "$bad"; exit 1
fi

# Per system, graph and K: the median of the rounds' times; efficiency and
# granularity from it.  Same key=value lines as the drivers print.
agg=$bindir/taskbench-median.log
awk -v uc="$unit_c" -v um="$unit_m" '
    { delete f; for (i = 2; i <= NF; i++) { p = index($i, "=");
          f[substr($i, 1, p - 1)] = substr($i, p + 1) }
      k = f["system"] " " f["pattern"] " " f["kernel"] " " f["K"]
      if (!(k in n)) { order[++nk] = k; tasks[k] = f["tasks"]; work[k] = f["work"]; c[k] = f["cores"] }
      t[k, ++n[k]] = f["ns"]; all[k] = all[k] (all[k] == "" ? "" : ",") f["ns"] }
    END { for (j = 1; j <= nk; j++) { k = order[j]; m = n[k]
              for (a = 1; a <= m; a++) v[a] = t[k, a]
              for (a = 2; a <= m; a++) for (b = a; b > 1 && v[b - 1] > v[b]; b--) {
                  x = v[b]; v[b] = v[b - 1]; v[b - 1] = x }
              med = m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
              split(k, w, " "); u = w[3] == "memory_bound" ? um : w[3] == "empty" ? 0 : uc
              printf "taskbench system=%s pattern=%s kernel=%s K=%s tasks=%s work=%s cores=%s ns=%.0f runs=%s eff=%.4f gran_ns=%.1f\n",
                  w[1], w[2], w[3], w[4], tasks[k], work[k], c[k], med, all[k],
                  work[k] * u / (med * c[k]), med * c[k] / tasks[k] } }' "$log" > "$agg"

# METG(50%) in microseconds of SYSTEM PATTERN KERNEL
metg() {
    awk -v s="$1" -v pat="$2" -v ker="$3" '
        { delete f; for (i = 2; i <= NF; i++) { p = index($i, "=");
              f[substr($i, 1, p - 1)] = substr($i, p + 1) }
          if (f["system"] != s || f["pattern"] != pat || f["kernel"] != ker) next
          n++; g[n] = f["gran_ns"] / 1000; e[n] = f["eff"]; if (e[n] >= 0.5) a = n }
        END { if (!n) { print "-"; exit }
              if (!a) { printf ">%.3g (never 50%%)\n", g[1]; exit }
              if (a == n) { printf "<=%.3g\n", g[n]; exit }
              lg = log(g[a]) + (0.5 - e[a]) * (log(g[a + 1]) - log(g[a])) / (e[a + 1] - e[a])
              printf "%.3g\n", exp(lg) }' "$agg"
}
num() { printf '%s' "$1" | tr -d '<>=' | sed 's/ .*//'; }
ratio() {
    local a b; a=$(num "$1"); b=$(num "$2")
    case "$1$2" in *'>'*|*'<'*|*-*) echo "-"; return ;; esac
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }'
}
met() { awk -v x="$1" -v t="$2" 'BEGIN { if (x == "-") print "no data"; else print (x <= t) ? "met" : "NOT met" }'; }

# curves for the picture: granularity (us) and efficiency per system/pattern
awk -v dir="$datadir" '$0 ~ /kernel=compute_bound/ {
        delete f; for (i = 2; i <= NF; i++) { p = index($i, "=");
            f[substr($i, 1, p - 1)] = substr($i, p + 1) }
        file = dir "/" f["pattern"] "-" f["system"] ".dat"
        printf "%.6g %.4f\n", f["gran_ns"] / 1000, f["eff"] > file }' "$agg"
gnuplot -e "datadir='$datadir'; out='$here/metg.png'; cores='$cores'; systems='$systems'; patterns='$patterns'" \
    "$here/metg.gp"

table=""
declare -A M
for p in $patterns; do
    for s in $systems; do M[$p,$s]=$(metg "$s" "$p" compute_bound); done
    table+="| $p | ${M[$p,dtask]} | ${M[$p,gomp]} | ${M[$p,starpu]} | ${M[$p,mpi]} | $(ratio "${M[$p,dtask]}" "${M[$p,starpu]}") | $(ratio "${M[$p,dtask]}" "${M[$p,gomp]}") | $(ratio "${M[$p,dtask]}" "${M[$p,mpi]}") |"$'\n'
done
other=""
for k in memory_bound load_imbalance compute_bound; do
    row="| stencil_1d, $k |"
    for s in $systems starpumpi; do
        if [ $k = compute_bound ] && [ $s != starpumpi ]; then row+=" ${M[stencil_1d,$s]} |"
        elif [ $k != compute_bound ] && [ $s = starpumpi ]; then row+=" not run |"
        else row+=" $(metg "$s" stencil_1d "$k") |"; fi
    done
    other+="$row"$'\n'
done
# empty kernel: wall x cores / tasks, in microseconds
empty=""
for p in $patterns; do
    row="| $p |"
    for s in $systems; do
        row+=" $(awk -v s="$s" -v pat="$p" '$0 ~ " system=" s " " && $0 ~ " pattern=" pat " " && / kernel=empty / {
            sub(/.*gran_ns=/, ""); printf "%.3g", $1 / 1000 }' "$agg") |"
    done
    empty+="$row"$'\n'
done

r_st_sp=$(ratio "${M[stencil_1d,dtask]}" "${M[stencil_1d,starpu]}")
r_st_go=$(ratio "${M[stencil_1d,dtask]}" "${M[stencil_1d,gomp]}")
r_tr_go=$(ratio "${M[trivial,dtask]}" "${M[trivial,gomp]}")
r_nc_go=$(ratio "${M[no_comm,dtask]}" "${M[no_comm,gomp]}")
mpi_within=0; mpi_n=0; mpi_rows=""
for p in $patterns; do
    r=$(ratio "${M[$p,dtask]}" "${M[$p,mpi]}"); mpi_rows+="$p $r, "
    mpi_n=$((mpi_n + 1))
    if [ "$(met "$r" 2)" = met ]; then mpi_within=$((mpi_within + 1)); fi
done

hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs${hyper:+ ($hyper guest)}, $(uname -srm)"
libv="libdtask $(git rev-parse --short HEAD 2>/dev/null || echo '(no git)')"
[ -z "$(git status --porcelain -- lib include 2>/dev/null)" ] || libv="$libv + uncommitted changes in lib/ or include/"
versions="$libv; $(${CC:-cc} --version | head -1); StarPU $(pkg-config --modversion starpu-1.3); MPICH $(pkg-config --modversion mpich); Open MPI $(mpiexec.openmpi --version 2>/dev/null | head -1 | sed 's/.* //')"

section=$(cat <<EOF
<!-- BEGIN taskbench-metg: generated by bench/taskbench/run.sh, do not edit by hand -->
## Task Bench: METG

How small can tasks be before the runtime eats the gain?  METG(50%) (Task
Bench, Slaughter et al., SC'20) is the smallest average task granularity
(wall time x cores / tasks) at which a run still reaches 50% of the ideal
throughput.  Smaller is better.

Command: \`make bench-taskbench\` (part of \`make bench\`; bench/taskbench/run.sh).  Date: $date_run; the sweep took $minutes min.
Machine: $machine; $versions.
Load average (1/5/15 min) before: $load_before, after: $load_after.

**METG(50%) in microseconds, compute_bound kernel, width $width, $cores cores per system**
(libdtask: DT_NUM_WORKERS=$cores; libgomp: OMP_NUM_THREADS=$cores; StarPU: STARPU_NCPU=$cores,
lws; MPI: $cores ranks x 1 thread)

| pattern | libdtask | libgomp | StarPU | MPI | dtask/StarPU | dtask/gomp | dtask/MPI |
|---|---|---|---|---|---|---|---|
$table
![efficiency against task granularity](taskbench/metg.png)

Targets (same run):

| target | value | |
|---|---|---|
| stencil_1d: libdtask <= 0.5 x StarPU | ratio $r_st_sp | $(met "$r_st_sp" 0.5) |
| stencil_1d: libdtask <= libgomp | ratio $r_st_go | $(met "$r_st_go" 1) |
| trivial: libdtask <= libgomp | ratio $r_tr_go | $(met "$r_tr_go" 1) |
| no_comm: libdtask <= libgomp | ratio $r_nc_go | $(met "$r_nc_go" 1) |
| libdtask within 2x of hand-written MPI (goal) | $mpi_within of $mpi_n patterns; ratios: ${mpi_rows%, } | $( [ $mpi_within = $mpi_n ] && echo met || echo "NOT met" ) |

Other kernels and StarPU-MPI (METG(50%), microseconds, stencil_1d, width $width;
StarPU-MPI: $cores ranks x STARPU_NCPU=1, Open MPI):

| graph | libdtask | libgomp | StarPU | MPI | StarPU-MPI |
|---|---|---|---|---|---|
$other
Empty kernel, 1000 steps: wall x cores / tasks in microseconds (the
per-task cost of the runtime, the floor of the curves):

| pattern | libdtask | libgomp | StarPU | MPI |
|---|---|---|---|---|
$empty
Method:
- The same graphs everywhere: a width x steps grid; task (t, p) depends on
  the outputs at step t-1 of Task Bench's points for its pattern: trivial
  (none), no_comm (p), stencil_1d (p-1..p+1), nearest (radix 5: p-2..p+2),
  spread (radix 3, period 3: p + i*width/3 (+ t mod 3 for i > 0), mod width),
  fft (p -/+ 2^d and p, d cycling over log2(width) sets), tree (p/2; step t
  has min(width, 2^t) points), all_to_all (every point).  Each output is a
  16-byte record {step, point, value}; each task checks that every input is
  the record of exactly the expected (step, point) (a dependency bug ends the
  run with an error), and its value folds in its inputs' values and the
  kernel's result.  The checksum (sum of all values, 64-bit) must be equal
  bit for bit for every system on every graph; this run compared them.
- Data: one array of width x 2 records, double-buffered by step parity
  (trivial: one record per task, so that it has no dependences at all).
  libdtask: dt_dmalloc, DT_OUT on the task's record and DT_IN on each
  dependency's record; libgomp: depend(out:)/depend(in:) on the same records;
  StarPU: one vector handle per record, STARPU_W/STARPU_R, starpu_task_insert,
  no performance model; MPI: columns in blocks over the ranks, each step
  MPI_Irecv/MPI_Isend of the needed records then the rank's tasks in order
  (the floor: no runtime at all); StarPU-MPI: the same handles registered with
  their owner rank, starpu_mpi_task_insert, STARPU_WORKERS_NOBIND=1 (each
  rank would bind its worker to core 0).  Creation, execution and the final
  wait are all timed; allocation/registration is not.
- Kernels: compute_bound = K dependent multiply-adds ($unit_c ns each on
  one core here); memory_bound = K 64-byte lines written then read in a 16 MiB
  per-thread buffer ($unit_m ns per line); load_imbalance = compute_bound
  with K_task uniform in [0, 2K] (mean K); empty = nothing.  Each kernel
  is fenced (lfence before and after), so that the core cannot overlap a
  task's multiply-add chain with the code around it: a tight loop of tiny
  tasks would otherwise hide its own overhead and beat the single-core rate.
  Two copies of tb-calib at once ran at $unit_c2 ns (compute) and $unit_m2
  ns (memory) per unit each: the cores scale for compute, memory bandwidth
  is shared.
- Sweep: K from 32768 (memory_bound 4096) halving down to 1; per K, steps
  chosen so that a run holds about 100 ms of ideal work on $cores cores
  (200 to 4000 steps).  The whole sweep runs $rounds times (rounds), one
  timed run per point per round, and each point is the median of its
  $rounds runs: a burst of background load hits one round, not the median.
  In round 1 a system's sweep stops after the first efficiency below 5%;
  later rounds run the same K values.  Efficiency = total kernel work
  x single-core unit time / (wall x $cores).  METG(50%) = granularity at
  which efficiency crosses 50%, interpolated (log granularity, linear
  efficiency) between the last point at or above 50% and the next one;
  "<=x" means every point was above 50%.
- libdtask across ranks and with dt_taskiter: \`make bench-taskbench-iter\`
  (bench/taskbench/iter.sh, stencil_1d against MPI; its own section).
- Raw results: $log (every run) and $agg (the medians used here).
<!-- END taskbench-metg -->
EOF
)

if [ ! -f "$results" ]; then
    printf '# libdtask benchmark results\n\n' > "$results"
fi
tmp=$(mktemp)
secfile=$(mktemp)
printf '%s\n' "$section" > "$secfile"
if grep -q '^<!-- BEGIN taskbench-metg' "$results"; then
    awk -v secfile="$secfile" '
        /^<!-- BEGIN taskbench-metg/ { while ((getline l < secfile) > 0) print l; skip = 1; next }
        /^<!-- END taskbench-metg/ { skip = 0; next }
        !skip { print }' "$results" > "$tmp"
else
    { cat "$results"; echo; cat "$secfile"; } > "$tmp"
fi
cat "$tmp" > "$results"
rm -f "$tmp" "$secfile"
echo "run.sh: wrote the Task Bench section of $results and $here/metg.png"
