/* launcher.c - a job started by another MPI's launcher.  Open MPI's mpiexec
 * (or a PMIx launcher) starting a program built with MPICH gives each process
 * MPICH's view of a job of one process: every process then silently ran the
 * whole program alone.  Its environment says otherwise; dt_init refuses. */
#include <stdio.h>
#include <stdlib.h>
#include "cluster/internal.h"

/* The job size (or a rank above 0, which implies one) that a foreign
 * launcher announces, with the variable that says it. */
static long foreign_size(const char **var, const char **val)
{
    /* Open MPI's mpiexec sets the first; a PMIx launcher (srun) the second */
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    long n = v ? strtol(v, NULL, 10) : 0;
    if (n > 1) {
        *var = "OMPI_COMM_WORLD_SIZE";
        *val = v;
        return n;
    }
    v = getenv("PMIX_RANK");
    n = v ? strtol(v, NULL, 10) : 0;
    if (n > 0) {
        *var = "PMIX_RANK";
        *val = v;
        return n + 1;
    }
    return 1;
}

int dt__cluster_check_launcher(int nranks)
{
    const char *var = NULL, *val = NULL;
    if (nranks != 1 || foreign_size(&var, &val) <= 1) return DT_OK;
    /* always said, like a bad DT_* value: the job would be wrong otherwise */
    fprintf(stderr, "dtask: dt_init: started by another MPI's launcher (%s=%s: a job of several "
            "processes) while MPICH, which libdtask uses, sees a job of 1 process; start the "
            "program with MPICH's launcher, mpiexec.mpich\n", var, val);
    return DT_ECONFIG;
}
