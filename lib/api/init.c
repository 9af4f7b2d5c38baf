/* init.c - dt_init: the one place that knows which plug-ins are linked in.
 * It hands the cluster layer's entry points to the core (core/hooks.h), so
 * that the core never calls the cluster layer by name. */
#include "cluster/cluster.h"
#include "core/runtime.h"

#define DT_EXPORT __attribute__((visibility("default")))

DT_EXPORT int dt_init(int *argc, char ***argv)
{
    dt__cluster_plug(&dt__plug);
    return dt__runtime_init(argc, argv);
}
