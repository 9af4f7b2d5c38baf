/* cluster.h - the cluster layer seen from outside lib/cluster/: one call
 * that plugs it into the core (lib/api/init.c makes it before dt_init).
 * Tasks across the ranks of an MPI job: peer-to-peer offload over the
 * common address space, rank 0's data directory, every rank's version
 * cache, and the progress of MPI.  With one rank it only joins the job
 * (or not, without a launcher) and leaves dt__hooks empty. */
#ifndef DT__CLUSTER_H
#define DT__CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include "core/hooks.h"

void dt__cluster_plug(dt__plugin *p);

/* After dt_init: is this rank a helper (DT_HELPERS)?  Then dt_init does not
   return: dt__cluster_serve serves until the application ranks finalise,
   finalises MPI and exits the process. */
bool dt__cluster_helper(void);
_Noreturn void dt__cluster_serve(void);

/* Tests only: sends raw bytes to peer as a control message. */
void dt__cluster_send_raw(int peer, const void *buf, size_t len);

#endif
