#!/usr/bin/env bash
# run.sh - cluster benchmarks of libdtask (drivers in bench/cluster/).
#
#   bench/cluster/run.sh --quick BINDIR          every driver on tiny sizes, checked
#                                                by exit status only (make bench-cluster-quick)
#   bench/cluster/run.sh BINDIR [RESULTS.md]     the measurements; rewrites the generated
#                                                "Cluster" block of RESULTS.md
#   bench/cluster/run.sh --report BINDIR [RESULTS.md]   only rewrites the block from
#                                                the last run's BINDIR/cluster.log
#
# Full run: CLUSTER_ROUNDS (default 7) rounds; each round runs every
# configuration once, in the opposite order from the round before, so that
# load from other users hits all of them.  Every timed job holds
# BENCH_LOCK (flock; default /work/notes/bench.lock) so that no two
# benchmark jobs overlap, and runs under `timeout` (a hang is a failure).
# Tables give medians over the rounds.  MPICH things run with mpiexec.mpich
# and StarPU-MPI with mpiexec.openmpi, by name: the mpiexec alternative does
# not matter.
set -u -o pipefail

quick=0 report=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
if [ "${1:-}" = --report ]; then report=1; shift; fi
bindir=${1:?usage: run.sh [--quick|--report] BINDIR [RESULTS.md]}
results=${2:-bench/RESULTS.md}
here=$(cd "$(dirname "$0")" && pwd)

export STARPU_SILENT=1
# Open MPI refuses to start as root without these (CI containers run as root)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
have_starpu=0
[ -x "$bindir/starpu-apps" ] && have_starpu=1

# dtask ENV... -- ARGS... : a libdtask job; "mpi2" as first ARG: on 2 MPICH ranks.
# Every DT_ knob is set explicitly so that the caller's environment cannot leak in.
dtask() {
    local envs=() d
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    for d in DT_SCHEDULE=locality DT_BIND=cores DT_STATS=1 DT_AGGREGATE=1 DT_PROGRESS=thread DT_NAMESPACE=1 DT_EAGER=1 DT_DOORBELL=1; do
        [[ " ${envs[*]} " == *" ${d%%=*}="* ]] || envs+=("$d")
    done
    if [ "$1" = mpi2 ]; then
        shift
        CMD=(env "${envs[@]}" DT_NUM_WORKERS=1 mpiexec.mpich -n 2 "$bindir/$@")
    else
        CMD=(env "${envs[@]}" DT_NUM_WORKERS=2 "$bindir/$@")
    fi
}

starpu() {
    CMD=(env STARPU_NCPU=1 mpiexec.openmpi -n 2 -x STARPU_NCPU -x STARPU_SILENT
         "$bindir/starpu-apps" "$@")
}

# ---- quick: every driver on tiny sizes; exit status only, never timing --------------
if [ $quick = 1 ]; then
    to=${CLUSTER_TIMEOUT:-60}
    fail=0
    # check WANT_STATUS WORD: runs CMD; WORD ("verified" or "FAILED") must be printed
    check() {
        local want=$1 word=$2 out rc=0
        out=$(timeout "$to" "${CMD[@]}" 2>&1) || rc=$?
        if [ "$rc" != "$want" ] || ! grep -q " $word\$" <<<"$out"; then
            echo "bench-cluster-quick: FAILED (status $rc, wanted $want and '$word'): ${CMD[*]}"
            printf '%s\n' "$out" | tail -5
            fail=1
        else
            echo "bench-cluster-quick: ok: ${CMD[*]:1}"
        fi
    }
    dtask -- mpi2 micro rtt 200 2; check 0 verified
    dtask DT_PROGRESS=workers DT_AGGREGATE=0 -- mpi2 micro rtt 100 1; check 0 verified
    dtask DT_NAMESPACE=0 -- mpi2 micro rtt 100 1; check 0 verified
    dtask DT_NAMESPACE=0 -- mpi2 micro busy 50 1; check 0 verified
    dtask -- mpi2 micro bw 16 4 2; check 0 verified
    dtask DT_PROGRESS=workers -- mpi2 micro bw 8 4 1; check 0 verified
    dtask -- outstanding 20000; check 0 verified
    dtask -- mpi2 outstanding 20000; check 0 verified
    for app in matmul cholesky; do
        dtask -- apps $app 256 64; check 0 verified
        dtask -- mpi2 apps $app 256 64; check 0 verified
        dtask -- apps $app 256 64 tiles; check 0 verified
        dtask -- mpi2 apps $app 300 64 tiles; check 0 verified
        dtask -- mpi2 apps $app 256 64 tiles skip; check 1 FAILED
        dtask DT_PROGRESS=workers DT_AGGREGATE=0 -- mpi2 apps $app 256 64; check 0 verified
        dtask DT_SCHEDULE=balance -- mpi2 apps $app 256 64; check 0 verified
        # the checks must catch a missing task
        dtask -- mpi2 apps $app 256 64 skip; check 1 FAILED
        if [ $have_starpu = 1 ]; then
            starpu $app 256 64; check 0 verified
            starpu $app 300 64 tiles; check 0 verified
        fi
    done
    [ $have_starpu = 1 ] || echo "bench-cluster-quick: StarPU-MPI driver not built (no starpumpi-1.3 / Open MPI)"
    exit $fail
fi

# ---- full run -----------------------------------------------------------------------
rounds=${CLUSTER_ROUNDS:-7}
reps=${CLUSTER_REPS:-5}            # in-process repetitions of the micro-benchmarks
rtt_n=${CLUSTER_RTT_TASKS:-2000}
busy_n=${CLUSTER_BUSY_TASKS:-200}
bw_mib=${CLUSTER_BW_MIB:-512}
bw_blocks=${CLUSTER_BW_BLOCKS:-8}
N=${CLUSTER_N:-2048}
B=${CLUSTER_B:-256}
to=${CLUSTER_TIMEOUT:-900}
lock=${BENCH_LOCK:-/work/notes/bench.lock}
[ -w "$(dirname "$lock")" ] || lock=$bindir/bench.lock
log=$bindir/cluster.log

# configuration name -> CMD
setcmd() {
    case $1 in
    rtt.on)      dtask -- mpi2 micro rtt "$rtt_n" "$reps" ;;
    rtt.agg0)    dtask DT_AGGREGATE=0 -- mpi2 micro rtt "$rtt_n" "$reps" ;;
    rtt.workers) dtask DT_PROGRESS=workers -- mpi2 micro rtt "$rtt_n" "$reps" ;;
    rtt.ns0)     dtask DT_NAMESPACE=0 -- mpi2 micro rtt "$rtt_n" "$reps" ;;
    busy.on)     dtask DT_NAMESPACE=0 -- mpi2 micro busy "$busy_n" "$reps" ;;
    busy.bell0)  dtask DT_NAMESPACE=0 DT_DOORBELL=0 -- mpi2 micro busy "$busy_n" "$reps" ;;
    bw.on)       dtask -- mpi2 micro bw "$bw_mib" "$bw_blocks" "$reps" ;;
    bw.agg0)     dtask DT_AGGREGATE=0 -- mpi2 micro bw "$bw_mib" "$bw_blocks" "$reps" ;;
    bw.workers)  dtask DT_PROGRESS=workers -- mpi2 micro bw "$bw_mib" "$bw_blocks" "$reps" ;;
    bw.ns0)      dtask DT_NAMESPACE=0 -- mpi2 micro bw "$bw_mib" "$bw_blocks" "$reps" ;;
    mm.1x2|ch.1x2)   dtask -- apps "$(app "$1")" "$N" "$B" tiles ;;
    mm.on|ch.on)     dtask -- mpi2 apps "$(app "$1")" "$N" "$B" tiles ;;
    mm.agg0|ch.agg0) dtask DT_AGGREGATE=0 -- mpi2 apps "$(app "$1")" "$N" "$B" tiles ;;
    mm.workers|ch.workers) dtask DT_PROGRESS=workers -- mpi2 apps "$(app "$1")" "$N" "$B" tiles ;;
    mm.ns0|ch.ns0)   dtask DT_NAMESPACE=0 -- mpi2 apps "$(app "$1")" "$N" "$B" tiles ;;
    mm.eager0|ch.eager0) dtask DT_EAGER=0 -- mpi2 apps "$(app "$1")" "$N" "$B" tiles ;;
    mm.bell0|ch.bell0) dtask DT_DOORBELL=0 -- mpi2 apps "$(app "$1")" "$N" "$B" tiles ;;
    ch.rr)       dtask DT_SCHEDULE=round-robin -- mpi2 apps cholesky "$N" "$B" tiles ;;
    mm.bal|ch.bal) dtask DT_SCHEDULE=balance -- mpi2 apps "$(app "$1")" "$N" "$B" tiles ;;
    mm.starpu|ch.starpu)   starpu "$(app "$1")" "$N" "$B" tiles ;;
    mm.r1x2|ch.r1x2) dtask -- apps "$(app "$1")" "$N" "$B" ;;
    mm.ron|ch.ron)   dtask -- mpi2 apps "$(app "$1")" "$N" "$B" ;;
    ch.rbal)         dtask DT_SCHEDULE=balance -- mpi2 apps cholesky "$N" "$B" ;;
    esac
}
app() { case $1 in mm.*) echo matmul ;; *) echo cholesky ;; esac; }

configs="rtt.on rtt.agg0 rtt.workers rtt.ns0 busy.on busy.bell0 bw.on bw.agg0 bw.workers bw.ns0"
configs="$configs mm.1x2 mm.on mm.agg0 mm.workers mm.ns0 mm.eager0 mm.bell0 mm.bal mm.r1x2 mm.ron"
[ $have_starpu = 1 ] && configs="$configs mm.starpu"
configs="$configs ch.1x2 ch.on ch.agg0 ch.workers ch.ns0 ch.eager0 ch.bell0 ch.rr ch.bal ch.r1x2 ch.ron ch.rbal"
[ $have_starpu = 1 ] && configs="$configs ch.starpu"
rev() { local out=""; for c in $1; do out="$c $out"; done; echo "$out"; }

# The log holds everything the report needs: "meta" lines (parameters, the
# library commit, the load at each round) and every job's output, each line
# prefixed with round=, cfg= and rc=.
load1() { cut -d' ' -f1 /proc/loadavg; }
if [ $report = 0 ]; then
    # the library the drivers were just linked with (make bench-cluster builds it first)
    commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
    dirty=0
    git -C "$here" diff --quiet HEAD -- lib include 2>/dev/null || dirty=1
    {
        echo "meta commit=$commit dirty=$dirty date=$(date -u '+%Y-%m-%dT%H:%MZ')"
        echo "meta rounds=$rounds reps=$reps rtt_n=$rtt_n busy_n=$busy_n bw_mib=$bw_mib bw_blocks=$bw_blocks N=$N B=$B to=$to"
    } > "$log"
    for r in $(seq 1 "$rounds"); do
        if [ $((r % 2)) = 1 ]; then order=$configs; else order=$(rev "$configs"); fi
        echo "meta load=$(load1)" >> "$log"
        for c in $order; do
            setcmd "$c"
            rc=0
            out=$(flock "$lock" timeout "$to" "${CMD[@]}" 2>&1) || rc=$?
            printf '%s\n' "$out" | sed "s/^/round=$r cfg=$c rc=$rc /" >> "$log"
            echo "round $r $c: $(grep -m1 '^bench=' <<<"$out")"
        done
    done
    echo "meta load=$(load1)" >> "$log"
fi
[ -s "$log" ] || { echo "run.sh: no $log to report" >&2; exit 1; }
meta() { awk -v k="$1" '$1 == "meta" { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$log"; }
for k in commit dirty date rounds reps rtt_n busy_n bw_mib bw_blocks N B to; do eval "$k=\$(meta $k)"; done
[ "$dirty" = 1 ] && commit="$commit + uncommitted changes in lib/ or include/"
loads=$(meta load | paste -sd' ')
# failed jobs: a non-zero status, or no "verified" line
failed=$(awk '$1 ~ /^round=/ { k = $1 " " $2; rc[k] = $3; if ($NF == "verified") ok[k] = 1 }
    END { for (k in rc) if (rc[k] != "rc=0" || !(k in ok)) printf " %s", k }' "$log")

# ---- tables ---------------------------------------------------------------------------
# vals CFG KEY: every value of KEY on the result lines of CFG (checked runs only)
vals() {
    awk -v c="cfg=$1" -v k="$2" '$2 == c && $4 ~ /^bench=/ && $NF == "verified" {
        for (i = 4; i <= NF; i++) { p = index($i, "=");
            if (p && substr($i, 1, p - 1) == k) print substr($i, p + 1) } }' "$log"
}
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() { vals "$1" "$2" | median; }
# paired NUM DEN KEY: median over the rounds of NUM's KEY / DEN's KEY in the same round
paired() {
    awk -v a="cfg=$1" -v b="cfg=$2" -v k="$3" '$4 ~ /^bench=/ && $NF == "verified" && ($2 == a || $2 == b) {
        v = ""; for (i = 4; i <= NF; i++) { p = index($i, "=");
            if (p && substr($i, 1, p - 1) == k) v = substr($i, p + 1) }
        if (v == "") next; if ($2 == a) x[$1] = v; else y[$1] = v }
        END { for (r in x) if ((r in y) && y[r] != 0) print x[r] / y[r] }' "$log" | median
}
all() { vals "$1" "$2" | paste -sd' '; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { if (x == "nan" || x == "") print "-"; else printf f, x }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "nan"; else print a / b }'; }
met() { awk -v x="$1" -v t="$2" 'BEGIN { if (x == "nan") print "no data"; else print (x >= t) ? "met" : "**NOT met**" }'; }

for c in $configs; do
    case $c in
    rtt.*|busy.*) eval "t_${c/./_}=$(med "$c" dtask_us) m_${c/./_}=$(med "$c" mpi_rtt_us) r_${c/./_}=$(med "$c" ratio)" ;;
    bw.*)  eval "t_${c/./_}=$(med "$c" dtask_mibs) m_${c/./_}=$(med "$c" mpi_stream_mibs) r_${c/./_}=$(med "$c" ratio)"
           eval "w_${c/./_}=$(med "$c" mpi_window_mibs) p_${c/./_}=$(med "$c" mpi_pingpong_mibs)" ;;
    *)     eval "t_${c/./_}=$(med "$c" time) g_${c/./_}=$(med "$c" gflops)" ;;
    esac
done
for a in mm ch; do
    eval "t1=\$t_${a}_1x2 t2=\$t_${a}_on"
    eval "q_$a=$(div "$t1" "$t2") qp_$a=$(paired "$a.1x2" "$a.on" time)"   # throughput 2x1 / 1x2
    if [ $have_starpu = 1 ]; then
        eval "ts=\$t_${a}_starpu"
        eval "s_$a=$(div "$ts" "$t2") sp_$a=$(paired "$a.starpu" "$a.on" time)"   # dtask / StarPU-MPI
    fi
done
# effect of turning an optimisation off: off / on (times: > 1 means the optimisation helps;
# bandwidth: < 1 means it helps)
# eff OFF_CFG ON_CFG KEY OFF_MEDIAN ON_MEDIAN: ratio of the medians (median of per-round ratios)
eff() { echo "$(fmt "$(div "$4" "$5")" "%.2f") ($(fmt "$(paired "$1" "$2" "$3")" "%.2f"))"; }
# verdict RATIO PAIRED TARGET
verdict() {
    local a b
    a=$(met "$1" "$3"); b=$(met "$2" "$3")
    if [ "$a" = "$b" ]; then echo "$a"; else echo "$a (per-round ratios: $b)"; fi
}
q_rr=$(div "$t_ch_1x2" "$t_ch_rr"); qp_rr=$(paired ch.1x2 ch.rr time)
q_mm_bal=$(div "$t_mm_1x2" "$t_mm_bal"); qp_mm_bal=$(paired mm.1x2 mm.bal time)
q_ch_bal=$(div "$t_ch_1x2" "$t_ch_bal"); qp_ch_bal=$(paired ch.1x2 ch.bal time)
q_mm_rows=$(div "$t_mm_r1x2" "$t_mm_ron"); qp_mm_rows=$(paired mm.r1x2 mm.ron time)
q_ch_rows=$(div "$t_ch_r1x2" "$t_ch_ron"); qp_ch_rows=$(paired ch.r1x2 ch.ron time)
q_ch_rbal=$(div "$t_ch_r1x2" "$t_ch_rbal"); qp_ch_rbal=$(paired ch.r1x2 ch.rbal time)

# the DT_STATS lines of the last round, one table row per rank
stats_rows() {
    awk -v r="round=$rounds" '$1 == r && /dtask stats:/ {
        c = $2; sub(/^cfg=/, "", c); line = $0; sub(/.*dtask stats: /, "", line)
        n = split(line, w, /[^0-9]+/); k = 0
        for (i = 1; i <= n; i++) if (w[i] != "") v[++k] = w[i]
        # rank, offloaded, placed early, nested, ran here, control, MPI, fetches, bytes, avoided
        printf "| %s | %s | %s (%s) | %s | %s | %s (%s saved) | %s (%s bytes) | %s |\n",
            c, v[1], v[2], v[3], v[5], v[6], v[7], v[6] - v[7], v[8], v[9], v[10] }' "$log"
}

hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs${hyper:+ ($hyper guest)}, Linux $(uname -r) $(uname -m)"
versions="$(${CC:-cc} --version | head -1); MPICH $(pkg-config --modversion mpich)"
[ $have_starpu = 1 ] && versions="$versions; StarPU $(pkg-config --modversion starpumpi-1.3) with Open MPI $(mpiexec.openmpi --version 2>/dev/null | head -1 | sed 's/.* //')"
[ -n "$failed" ] && fail_line="**Failed runs:**$failed (see $log)." || fail_line="Every run exited 0 and printed \`verified\`."

nt=$(( (N + B - 1) / B ))
section=$(cat <<EOF
<!-- BEGIN cluster: generated by bench/cluster/run.sh, do not edit by hand -->
## Cluster

Command: \`make bench-cluster\` (\`bench/cluster/run.sh $bindir $results\`).  Date (start of the run): $date.
Machine: $machine; $versions.
libdtask: commit $commit (HEAD when the run started; the drivers link build/libdtask.a built just before).
1-minute load average at the start of each round and at the end: $loads
(other engineers were building and testing on the same 2 cores: expect noise).

Method: $rounds rounds; each round runs every configuration once as its own job, in
the reverse order of the round before (A, B, ... then ..., B, A), every job under
\`flock $lock\` and \`timeout $to\`.  Tables: medians over the rounds (all values in
$log).  2x1 = \`mpiexec.mpich -n 2\`, DT_NUM_WORKERS=1 (the main thread of each rank is
its worker; each rank also has its progress thread unless DT_PROGRESS=workers);
1x2 = plain run, DT_NUM_WORKERS=2.  DT_SCHEDULE=locality, DT_BIND=cores.  $fail_line

### Micro-benchmarks (bench/cluster/micro.c, 2 ranks x 1 worker)

MPI references are measured in the same job, before and after the libdtask part
(MPI initialised by the driver, $reps repetitions each side); the libdtask figure is
the median of $reps repetitions after one warm-up; ratios are per job, then the median.

| benchmark | libdtask | MPI in the same job | ratio | target | |
|---|---|---|---|---|---|
| round trip: chain of $rtt_n empty tasks on rank 1 (attr.node=1, DT_INOUT on 8 B of dt_dmalloc), DT_NAMESPACE=0: each task is placed when its predecessor's completion reached rank 0 | $(fmt "$t_rtt_ns0" "%.1f") µs/task | $(fmt "$m_rtt_ns0" "%.2f") µs per 8-byte MPI_Send/MPI_Recv round trip | $(fmt "$r_rtt_ns0" "%.0f")x | none set | |
| the same chain with the namespace (default): placed on rank 1 at creation, dependencies resolved there, completions streamed back | $(fmt "$t_rtt_on" "%.2f") µs/task | $(fmt "$m_rtt_on" "%.2f") µs | $(fmt "$r_rtt_on" "%.1f")x | | |
| 1 MiB fetches: $bw_mib x (writer on rank 1 DT_OUT, reader on rank 0 DT_IN), $bw_blocks blocks | $(fmt "$t_bw_on" "%.0f") MiB/s | $(fmt "$m_bw_on" "%.0f") MiB/s MPI_Send/MPI_Recv 1 MiB stream (ping-pong $(fmt "$p_bw_on" "%.0f"), Isend/Irecv $bw_blocks in flight $(fmt "$w_bw_on" "%.0f")) | $(fmt "$r_bw_on" "%.2f") | >= 0.80 of MPI_Send/Recv | $(met "$r_bw_on" 0.8) |

Per-job values: round trip libdtask [$(all rtt.ns0 dtask_us)] µs, MPI [$(all rtt.ns0 mpi_rtt_us)] µs; chain with the namespace [$(all rtt.on dtask_us)] µs;
bandwidth libdtask [$(all bw.on dtask_mibs)] MiB/s, MPI stream [$(all bw.on mpi_stream_mibs)] MiB/s.

### Tiled matmul and Cholesky, N=$N, B=$B (bench/cluster/apps.c, starpu-apps.c)

Matrices in tile layout (\`apps ... tiles\`: each B x B tile contiguous, one plain
range per access, as tile algorithms store them), unless a row says "row-major": then
a tile is a 2-D region of B rows of N doubles (the layout of examples/), which costs
the runtime a tree search per row in its dependency and data maps and a strided
MPI datatype per transfer.
Time from the first task creation until the result is back on rank 0, one run per
job; checked on rank 0 (sampled entries bit-exact against the naive product /
L L^T sampled, plus a Freivalds product test within rounding bounds).
Throughput ratio = time(1 rank x 2 workers) / time(2 ranks x 1 worker): the ratio of the
medians, and in parentheses the median of the per-round ratios (each round's two jobs
ran minutes apart at most, so this one cancels slow changes in the load).

| workload | tasks | libdtask 1x2 | libdtask 2x1 | ratio 2x1 / 1x2 | target | | StarPU-MPI 2x1 | libdtask / StarPU-MPI throughput |
|---|---|---|---|---|---|---|---|---|
| matmul | $((nt * nt * nt)) | $(fmt "$t_mm_1x2" "%.3f") s ($(fmt "$g_mm_1x2" "%.2f") GFlop/s) | $(fmt "$t_mm_on" "%.3f") s ($(fmt "$g_mm_on" "%.2f") GFlop/s) | $(fmt "$q_mm" "%.2f") ($(fmt "$qp_mm" "%.2f")) | >= 0.85 | $(verdict "$q_mm" "$qp_mm" 0.85) | $( [ $have_starpu = 1 ] && echo "$(fmt "$t_mm_starpu" "%.3f") s ($(fmt "$g_mm_starpu" "%.2f") GFlop/s)" || echo "not built") | $( [ $have_starpu = 1 ] && echo "$(fmt "$s_mm" "%.2f") ($(fmt "$sp_mm" "%.2f"))" || echo -) |
| Cholesky | $((nt + nt * (nt - 1) + nt * (nt - 1) * (nt - 2) / 6)) | $(fmt "$t_ch_1x2" "%.3f") s ($(fmt "$g_ch_1x2" "%.2f") GFlop/s) | $(fmt "$t_ch_on" "%.3f") s ($(fmt "$g_ch_on" "%.2f") GFlop/s) | $(fmt "$q_ch" "%.2f") ($(fmt "$qp_ch" "%.2f")) | >= 0.85 | $(verdict "$q_ch" "$qp_ch" 0.85) | $( [ $have_starpu = 1 ] && echo "$(fmt "$t_ch_starpu" "%.3f") s ($(fmt "$g_ch_starpu" "%.2f") GFlop/s)" || echo "not built") | $( [ $have_starpu = 1 ] && echo "$(fmt "$s_ch" "%.2f") ($(fmt "$sp_ch" "%.2f"))" || echo -) |
| Cholesky, DT_SCHEDULE=round-robin on 2x1 (placement diagnostic: tasks alternate between the ranks) | | | $(fmt "$t_ch_rr" "%.3f") s ($(fmt "$g_ch_rr" "%.2f") GFlop/s) | $(fmt "$q_rr" "%.2f") ($(fmt "$qp_rr" "%.2f")) | | | | |
| matmul, DT_SCHEDULE=balance on 2x1 (a ready task waits on rank 0 until a rank has a free worker or fewer than 2 tasks in flight per worker; highest priority first) | | | $(fmt "$t_mm_bal" "%.3f") s ($(fmt "$g_mm_bal" "%.2f") GFlop/s) | $(fmt "$q_mm_bal" "%.2f") ($(fmt "$qp_mm_bal" "%.2f")) | >= 0.85 | $(verdict "$q_mm_bal" "$qp_mm_bal" 0.85) | | |
| Cholesky, DT_SCHEDULE=balance on 2x1 | | | $(fmt "$t_ch_bal" "%.3f") s ($(fmt "$g_ch_bal" "%.2f") GFlop/s) | $(fmt "$q_ch_bal" "%.2f") ($(fmt "$qp_ch_bal" "%.2f")) | >= 0.85 | $(verdict "$q_ch_bal" "$qp_ch_bal" 0.85) | | |
| matmul, row-major | | $(fmt "$t_mm_r1x2" "%.3f") s ($(fmt "$g_mm_r1x2" "%.2f") GFlop/s) | $(fmt "$t_mm_ron" "%.3f") s ($(fmt "$g_mm_ron" "%.2f") GFlop/s) | $(fmt "$q_mm_rows" "%.2f") ($(fmt "$qp_mm_rows" "%.2f")) | >= 0.85 | $(verdict "$q_mm_rows" "$qp_mm_rows" 0.85) | | |
| Cholesky, row-major | | $(fmt "$t_ch_r1x2" "%.3f") s ($(fmt "$g_ch_r1x2" "%.2f") GFlop/s) | $(fmt "$t_ch_ron" "%.3f") s ($(fmt "$g_ch_ron" "%.2f") GFlop/s) | $(fmt "$q_ch_rows" "%.2f") ($(fmt "$qp_ch_rows" "%.2f")) | >= 0.85 | $(verdict "$q_ch_rows" "$qp_ch_rows" 0.85) | | |
| Cholesky, row-major, DT_SCHEDULE=balance on 2x1 | | | $(fmt "$t_ch_rbal" "%.3f") s ($(fmt "$g_ch_rbal" "%.2f") GFlop/s) | $(fmt "$q_ch_rbal" "%.2f") ($(fmt "$qp_ch_rbal" "%.2f")) | >= 0.85 | $(verdict "$q_ch_rbal" "$qp_ch_rbal" 0.85) | | |

Per-job times (s): matmul 1x2 [$(all mm.1x2 time)], 2x1 [$(all mm.on time)], StarPU-MPI [$(all mm.starpu time)];
Cholesky 1x2 [$(all ch.1x2 time)], 2x1 [$(all ch.on time)], StarPU-MPI [$(all ch.starpu time)], 2x1 round-robin [$(all ch.rr time)], 2x1 balance: matmul [$(all mm.bal time)], Cholesky [$(all ch.bal time)];
row-major: matmul 1x2 [$(all mm.r1x2 time)], 2x1 [$(all mm.ron time)], Cholesky 1x2 [$(all ch.r1x2 time)], 2x1 [$(all ch.ron time)], 2x1 balance [$(all ch.rbal time)].

StarPU-MPI: same kernels (bench/cluster/common.c), tiles in the same tile layout, inputs, priorities and
checks; \`mpiexec.openmpi -n 2\`, STARPU_NCPU=1 (one CPU worker per rank; Open MPI
binds rank r to core r), scheduler prio, one matrix handle per tile,
starpu_mpi_task_insert.  Data: matmul A and B owned by rank 0 (as libdtask's start
there), C in blocks of tile rows; Cholesky 1-D column-cyclic, each tile generated by its
owner (libdtask starts with the whole matrix on rank 0 and must ship it).  Its time
includes gathering the result tiles on rank 0.

### Each optimisation on and off (2 ranks x 1 worker, same rounds)

Default = DT_AGGREGATE=1, DT_PROGRESS=thread, DT_NAMESPACE=1, DT_EAGER=1, DT_DOORBELL=1.  Effect = off / on: ratio of the medians
(median of the per-round ratios); for times > 1 means the optimisation helps, for
bandwidth < 1 means it helps.  The progress thread is on by default, so the
"on" column of that row is the thread and "off" is DT_PROGRESS=workers.

| optimisation | round trip µs/task (on / off / effect) | 1 MiB fetch MiB/s (on / off / effect) | matmul s (on / off / effect) | Cholesky s (on / off / effect) |
|---|---|---|---|---|
| DT_AGGREGATE=1 vs 0 (coalesce control messages to a rank) | $(fmt "$t_rtt_on" "%.1f") / $(fmt "$t_rtt_agg0" "%.1f") / $(eff rtt.agg0 rtt.on dtask_us "$t_rtt_agg0" "$t_rtt_on") | $(fmt "$t_bw_on" "%.0f") / $(fmt "$t_bw_agg0" "%.0f") / $(eff bw.agg0 bw.on dtask_mibs "$t_bw_agg0" "$t_bw_on") | $(fmt "$t_mm_on" "%.3f") / $(fmt "$t_mm_agg0" "%.3f") / $(eff mm.agg0 mm.on time "$t_mm_agg0" "$t_mm_on") | $(fmt "$t_ch_on" "%.3f") / $(fmt "$t_ch_agg0" "%.3f") / $(eff ch.agg0 ch.on time "$t_ch_agg0" "$t_ch_on") |
| DT_PROGRESS=thread vs workers (workers drive MPI between tasks and while waiting, plus a progress thread for when all are busy, vs workers alone) | $(fmt "$t_rtt_on" "%.1f") / $(fmt "$t_rtt_workers" "%.1f") / $(eff rtt.workers rtt.on dtask_us "$t_rtt_workers" "$t_rtt_on") | $(fmt "$t_bw_on" "%.0f") / $(fmt "$t_bw_workers" "%.0f") / $(eff bw.workers bw.on dtask_mibs "$t_bw_workers" "$t_bw_on") | $(fmt "$t_mm_on" "%.3f") / $(fmt "$t_mm_workers" "%.3f") / $(eff mm.workers mm.on time "$t_mm_workers" "$t_mm_on") | $(fmt "$t_ch_on" "%.3f") / $(fmt "$t_ch_workers" "%.3f") / $(eff ch.workers ch.on time "$t_ch_workers" "$t_ch_on") |
| DT_DOORBELL=1 vs 0 (a rank that sends to another rank of its node wakes that rank's napping progress thread) | $(fmt "$t_busy_on" "%.1f") / $(fmt "$t_busy_bell0" "%.1f") / $(eff busy.bell0 busy.on dtask_us "$t_busy_bell0" "$t_busy_on"): chain of $busy_n tasks on rank 1 while rank 0's worker computes, DT_NAMESPACE=0 (each link placed by rank 0's progress thread) | - | $(fmt "$t_mm_on" "%.3f") / $(fmt "$t_mm_bell0" "%.3f") / $(eff mm.bell0 mm.on time "$t_mm_bell0" "$t_mm_on") | $(fmt "$t_ch_on" "%.3f") / $(fmt "$t_ch_bell0" "%.3f") / $(eff ch.bell0 ch.on time "$t_ch_bell0" "$t_ch_on") |
| DT_EAGER=1 vs 0 (bytes rank 0 holds sent with the offloaded task, unasked, vs requested by the target) | - (no data) | - (the reader is on rank 0) | $(fmt "$t_mm_on" "%.3f") / $(fmt "$t_mm_eager0" "%.3f") / $(eff mm.eager0 mm.on time "$t_mm_eager0" "$t_mm_on") | $(fmt "$t_ch_on" "%.3f") / $(fmt "$t_ch_eager0" "%.3f") / $(eff ch.eager0 ch.on time "$t_ch_eager0" "$t_ch_on") |
| write versions (WriteID: fetches avoided) | always on (no switch): counts below | | | |
| DT_NAMESPACE=1 vs 0 (tasks whose predecessors are all on one rank placed there early; dependencies among them resolved there) | $(fmt "$t_rtt_on" "%.1f") / $(fmt "$t_rtt_ns0" "%.1f") / $(eff rtt.ns0 rtt.on dtask_us "$t_rtt_ns0" "$t_rtt_on") | $(fmt "$t_bw_on" "%.0f") / $(fmt "$t_bw_ns0" "%.0f") / $(eff bw.ns0 bw.on dtask_mibs "$t_bw_ns0" "$t_bw_on") | $(fmt "$t_mm_on" "%.3f") / $(fmt "$t_mm_ns0" "%.3f") / $(eff mm.ns0 mm.on time "$t_mm_ns0" "$t_mm_on") | $(fmt "$t_ch_on" "%.3f") / $(fmt "$t_ch_ns0" "%.3f") / $(eff ch.ns0 ch.on time "$t_ch_ns0" "$t_ch_on") |

DT_STATS lines of round $rounds (\`saved\` = control messages that did not need an MPI
message of their own thanks to aggregation; the last column counts the byte-range
pieces a task or a request needed that the rank already held in the right write
version, so no fetch was made for them):

| job | rank | offloaded (placed early) | ran here | control messages | MPI messages for them | fetches | pieces already held in their latest version (not fetched) |
|---|---|---|---|---|---|---|---|
$(stats_rows)
<!-- END cluster -->
EOF
)

[ -f "$results" ] || printf '# libdtask benchmark results\n\n' > "$results"
tmp=$(mktemp)
secfile=$(mktemp)
printf '%s\n' "$section" > "$secfile"
if grep -q '^<!-- BEGIN cluster:' "$results"; then
    awk -v secfile="$secfile" '
        /^<!-- BEGIN cluster:/ { while ((getline l < secfile) > 0) print l; skip = 1; next }
        /^<!-- END cluster -->/ { skip = 0; next }
        !skip { print }' "$results" > "$tmp"
else
    { cat "$results"; echo; cat "$secfile"; } > "$tmp"
fi
cat "$tmp" > "$results"
rm -f "$tmp" "$secfile"
echo "run.sh: wrote the cluster section of $results (log: $log)"
[ -z "$failed" ]
