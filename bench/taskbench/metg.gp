# metg.gp - efficiency against task granularity, one panel per pattern, one
# curve per system.  Called by run.sh with datadir, out, systems, patterns.
set terminal pngcairo size 1600,820 font ",10" noenhanced
set output out
set multiplot layout 2,4 title "Task Bench, compute_bound kernel: efficiency against task granularity (" . cores . " cores)"
set logscale x
set xrange [0.01:1000]
set format x "%g"
set xlabel "task granularity (us) = wall x cores / tasks"
set ylabel "efficiency"
set yrange [0:1.1]
set grid
set key top left
label(s) = s eq "dtask" ? "libdtask" : s eq "gomp" ? "libgomp" : s eq "starpu" ? "StarPU" : s eq "mpi" ? "MPI (floor)" : s
do for [p in patterns] {
    set title p
    plot for [s in systems] sprintf("%s/%s-%s.dat", datadir, p, s) using 1:2 \
         with linespoints pointtype 7 pointsize 0.6 title label(s), \
         0.5 with lines dashtype 2 linecolor "gray" notitle
}
unset multiplot
