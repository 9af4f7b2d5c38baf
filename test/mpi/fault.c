/* fault.c - failures in a job end it with a message naming the rank and the
 * task, never with a hang.  `fault type|msg|unasked|death`, under mpiexec -n 2.
 *   type:  rank 0 offloads a task of a type rank 1 never registered
 *   msg:   rank 0 sends rank 1 a control message with a bad header
 *   unasked: rank 0 sends rank 1 a well-formed task saying that a third
 *          rank (here rank 1 itself) sends its data unasked
 *   death: the task offloaded to rank 1 kills its process (_exit: no trace)
 *   segv:  the task offloaded to rank 1 dereferences NULL
 *   exit:  the task offloaded to rank 1 calls exit(4)
 *   stolen: (run with DT_STEAL=1 DT_SCHEDULE=local) tasks placed on rank 0,
 *          which rank 1 steals; a task that finds itself on rank 1 kills
 *          its process: the victim (rank 0) must not wait for it forever
 * segv and exit must leave our line naming rank 1, the task and the event. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>
#include "dtask.h"
#include "cluster/cluster.h"
#include "cluster/msg.h"

static dt_type_t T_work, T_die, T_only0, T_segv, T_exit, T_stolen;
static const char *mode;

static void work_fn(void *p) { (void)p; }
static void die_fn(void *p) { (void)p; _exit(3); }
static void only0_fn(void *p) { (void)p; }
/* a store to a page with no access (a NULL store would be caught by UBSan
   before it faults) */
static void segv_fn(void *p)
{
    (void)p;
    volatile char *q = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q != MAP_FAILED) *q = 1;
}
static void exit_fn(void *p) { (void)p; exit(4); }
/* long enough for rank 1 to find rank 0's queue full (DT_STEAL_MIN_US=0) */
static void stolen_fn(void *p)
{
    (void)p;
    if (dt_rank() == 1) _exit(3);
    struct timespec ts = { 0, 2000000 };
    nanosleep(&ts, NULL);
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long *x = dt_dmalloc(64);
    dt_access_t acc = { DT_INOUT, x, 8, 0, 0 };
    dt_task_attr_t on1 = { 0, 1, "victim", 0 };
    if (!strcmp(mode, "type")) {
        dt_task_create(T_only0, NULL, 0, &acc, 1, &on1);
    } else if (!strcmp(mode, "msg")) {
        static const char garbage[] = "this is not a dtask message at all";
        dt__cluster_send_raw(1, garbage, sizeof garbage);
        dt_task_create(T_work, NULL, 0, &acc, 1, &on1);
    } else if (!strcmp(mode, "unasked")) {
        dt__wire_region a = { (uintptr_t)x, 8, 1, 8, 0, DT_INOUT, -1 };
        dt__wire_region f = { (uintptr_t)x, 8, 1, 8, 0x100, DT__MSG_TAG_PUSH0, 1 };
        dt__msg m = { .type = DT__MSG_OFFLOAD, .task_id = 1, .type_id = (uint32_t)T_work,
                      .type_hash = dt__hash_name("work"), .nacc = 1, .nfetch = 1, .acc = &a, .fetch = &f,
                      .label = "forged" };
        size_t len;
        void *b = dt__msg_offload(&m, &len);
        dt__cluster_send_raw(1, b, len);
        free(b);
        dt_task_create(T_work, NULL, 0, &acc, 1, &on1);
    } else if (!strcmp(mode, "segv")) {
        dt_task_create(T_segv, NULL, 0, &acc, 1, &on1);
    } else if (!strcmp(mode, "exit")) {
        dt_task_create(T_exit, NULL, 0, &acc, 1, &on1);
    } else if (!strcmp(mode, "stolen")) {
        long *y = dt_dmalloc(64 * 64);
        for (int i = 0; i < 64; i++) {
            dt_access_t own = { DT_INOUT, y + 8 * i, 8, 0, 0 };
            dt_task_create(T_stolen, NULL, 0, &own, 1, NULL);
        }
    } else {
        dt_task_create(T_die, NULL, 0, &acc, 1, &on1);
    }
    dt_taskwait();
    fprintf(stderr, "fault: the job survived '%s'\n", mode);
    return 0;
}

int main(int argc, char **argv)
{
    mode = argc > 1 ? argv[1] : "";
    dt_type_register("work", work_fn, &T_work);
    dt_type_register("die", die_fn, &T_die);
    dt_type_register("segv", segv_fn, &T_segv);
    dt_type_register("exit", exit_fn, &T_exit);
    dt_type_register("stolen", stolen_fn, &T_stolen);
    /* the launcher tells each process its rank before MPI does */
    const char *rank = getenv("PMI_RANK");
    if (!rank || !strcmp(rank, "0")) dt_type_register("only-on-rank-0", only0_fn, &T_only0);
    return dt_main(argc, argv, app) != 0;
}
