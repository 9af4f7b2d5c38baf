#!/usr/bin/env bash
# run.sh - task types from signatures (libffi) and the Python binding.
#
#   BUILD=build bench/ffi/run.sh --quick   every driver on a tiny size, checked
#   BUILD=build bench/ffi/run.sh           the measurements of bench/RESULTS.md
#                                          ("Native functions and Python"), on stdout
#
# Full run, all on 2 workers (DT_NUM_WORKERS=2, one OpenBLAS thread per task):
#  1. instructions per call added by an ffi type (callgrind, if installed)
#  2. ns per call and per task, ffi vs plain, in alternating paired rounds
#  3. tasks/s created from Python, native and Python task bodies
#  4. tiled matmul at 256 x 256 tiles: python/examples/matmul.py (cblas_dgemm
#     through libffi) vs bench/ffi/matmul-blas.c (cblas_dgemm in a plain C
#     task) vs examples/matmul.c (its own C loop), MATMUL_ROUNDS alternating
#     rounds (default 5)
set -eu -o pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH} DTASK_LIBRARY=$PWD/$B/libdtask.so
export OPENBLAS_NUM_THREADS=1 DT_NUM_WORKERS=${DT_NUM_WORKERS:-2}
T="timeout ${BENCH_TIMEOUT:-600}"

if [ "${1:-}" = --quick ]; then
    $T "$B/bench/ffi-overhead" call 100000 3
    $T "$B/bench/ffi-overhead" tasks 20000 3 | tail -1
    $T "$PY" bench/ffi/pytasks.py 2000 1
    $T "$B/bench/ffi-matmul-blas" 256 64
    $T "$PY" python/examples/matmul.py 256 64
    exit 0
fi

median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v valgrind >/dev/null; then
    n=200000
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$B/bench/ffi-overhead" call $n 1 >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk -v n=$n '
        /overhead.c:calls_plain / { gsub(",", "", $1); p = $1 }
        /overhead.c:calls_ffi / { gsub(",", "", $1); f = $1 }
        END { printf "callgrind: instructions per call: plain %.1f, ffi %.1f, ffi - plain %.1f\n", p / n, f / n, (f - p) / n }'
    rm -f "$out"
fi
$T "$B/bench/ffi-overhead" call 2000000 21
$T "$B/bench/ffi-overhead" tasks 200000 11 | tail -1
$T "$PY" bench/ffi/pytasks.py 20000 5

rounds=${MATMUL_ROUNDS:-5}
N=${MATMUL_N:-2048} NC=${MATMUL_N_C:-1024}
py=() cb=() pyc=() cc=()
for r in $(seq "$rounds"); do
    a=$($T "$PY" python/examples/matmul.py "$N" 256); echo "$a"
    b=$($T "$B/bench/ffi-matmul-blas" "$N" 256); echo "$b"
    c=$($T "$PY" python/examples/matmul.py "$NC" 256); echo "$c"
    d=$($T "$B/examples/matmul" "$NC" 256); echo "$d"
    py+=("$(echo "$a" | sed -n 's/.*: \([0-9.]*\) s,.*/\1/p')")
    cb+=("$(echo "$b" | sed -n 's/.*: \([0-9.]*\) s,.*/\1/p')")
    pyc+=("$(echo "$c" | sed -n 's/.*: \([0-9.]*\) s,.*/\1/p')")
    cc+=("$(echo "$d" | sed -n 's/.*tasked=\([0-9.]*\)s.*/\1/p')")
done
mp=$(printf '%s\n' "${py[@]}" | median) mc=$(printf '%s\n' "${cb[@]}" | median)
mpc=$(printf '%s\n' "${pyc[@]}" | median) mcc=$(printf '%s\n' "${cc[@]}" | median)
pair=$(for i in "${!py[@]}"; do echo "${py[$i]} ${cb[$i]}" | awk '{ printf "%.3f\n", $1 / $2 }'; done)
echo "matmul N=$N B=256, medians of $rounds: python+ffi dgemm $mp s, C task + dgemm $mc s, ratio $(echo "$mp $mc" | awk '{ printf "%.3f", $1 / $2 }');" \
     "per-round ratios $(echo $pair), median $(echo "$pair" | median)"
echo "matmul N=$NC B=256, medians of $rounds: python+ffi dgemm $mpc s, examples/matmul.c $mcc s, ratio $(echo "$mpc $mcc" | awk '{ printf "%.3f", $1 / $2 }')"
