/* init.c - dt_init: the one place that knows which plug-ins are linked in.
 * It hands the cluster layer's entry points to the core (core/hooks.h), so
 * that the core never calls the cluster layer by name. */
#include <pthread.h>
#include "cluster/cluster.h"
#include "core/hooks.h"
#include "core/runtime.h"
#include "taskiter/taskiter.h"

#define DT__EXPORT __attribute__((visibility("default")))

static void plug(void)
{
    dt__cluster_plug(&dt__plug);
    dt__hooks.replayed = dt__taskiter_completed;
    dt__hooks.iter_serve = dt__iter_dist_serve;
}

DT__EXPORT int dt_init(int *argc, char ***argv)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, plug);
    int r = dt__runtime_init(argc, argv);
    /* a helper rank (DT_HELPERS) never returns to the program */
    if (r == DT_OK && dt__cluster_helper()) dt__cluster_serve();
    return r;
}
