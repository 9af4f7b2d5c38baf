/* msg.h - the wire format of the cluster layer's control messages.  Ranks
 * run the same binary on the same architecture, so fields are native; every
 * decoder checks bounds and counts against the received length. */
#ifndef DT__MSG_H
#define DT__MSG_H

#include <stddef.h>
#include <stdint.h>

#define DT__MSG_MAGIC 0x6474736bu   /* "dtsk" */

enum dt__msg_type {
    DT__MSG_OFFLOAD = 1,     /* run this task here */
    DT__MSG_DONE,            /* an offloaded task completed */
    DT__MSG_DATA_REQ,        /* send me these bytes (a given version) */
    DT__MSG_SHUTDOWN,
    DT__MSG_PUSH,            /* run this task here: a nested task, its data
                               comes with it and its writes go back */
    DT__MSG_ITER,            /* take part in rank 0's dt_taskiter */
    DT__MSG_STEAL,           /* an idle rank asks for tasks (steal.c) */
    DT__MSG_STEAL_REPLY      /* how many tasks went to the thief */
};

/* Header flags of OFFLOAD and PUSH (no other message has flags). */
#define DT__MSG_F_PINNED 1u  /* a node hint or a steal put it there: never stolen */
#define DT__MSG_F_STOLEN 2u  /* relayed to an idle rank that asked (steal.c) */

/* MPI tags of data messages.  Pulls (a rank asks for bytes) and write-backs
 * of pushed tasks use tags chosen by the receiving rank; the data pushed with
 * a task uses tags chosen by the sender: two ranges, so they never match each
 * other's receives. */
#define DT__MSG_TAG_PULL0 16u
#define DT__MSG_TAG_PUSH0 (DT__MSG_TAG_PULL0 + (1u << 20))
#define DT__MSG_TAG_END (DT__MSG_TAG_PUSH0 + (1u << 20))
/* The distributed taskiter's transfers: every rank numbers them the same
 * way from the recorded graph (taskiter/dist.c), so no message names them. */
#define DT__MSG_TAG_ITER0 DT__MSG_TAG_END
#define DT__MSG_TAG_ITER_N (1u << 23)

typedef struct dt__wire_region {
    uint64_t addr, size, rows, stride;
    uint64_t version;       /* access: the write version it creates (0: none);
                               fetch: the version required (PUSH: the version
                               the bytes are in, 0 if none is known) */
    uint32_t mode;          /* access: its mode; PUSH's fetch and back lists:
                               the MPI tag the bytes travel with */
    int32_t source;         /* fetch: the rank to get it from, -1 if held here */
} dt__wire_region;

typedef struct dt__msg_header {
    uint32_t magic;
    uint16_t type;
    uint16_t flags;
    uint32_t length;        /* payload bytes after the header */
    uint32_t pad;
} dt__msg_header;

typedef struct dt__msg {
    int type;
    /* OFFLOAD, PUSH, DONE */
    uint64_t task_id;
    /* OFFLOAD, PUSH.  fetch: OFFLOAD, what to fetch and from where; PUSH,
     * the regions whose bytes come with the task.  back (PUSH only): the
     * regions to send back to the sender when the task completes. */
    uint32_t type_id, type_hash, args_size, nacc, nfetch, nback, label_len;
    int32_t priority;       /* the task's: the target's queues honour it too */
    const void *args;
    const dt__wire_region *acc, *fetch, *back;   /* not aligned: copy out with memcpy */
    const char *label;
    /* DATA_REQ */
    dt__wire_region region;
    uint32_t tag;
    /* ITER (and type_id, type_hash, args_size, args) */
    int64_t iter_max, iter_every;
    uint32_t iter_flags;
    /* OFFLOAD, PUSH: DT__MSG_F_* */
    uint16_t flags;
    /* STEAL: 1 if a lifeline request (remember me), else 0; STEAL_REPLY: the
       number of tasks given.  Both: the thief's round, echoed back. */
    uint32_t steal_n, steal_round;
} dt__msg;

/* Decodes buf[0..len).  0, or -1 with *why naming what is wrong. */
int dt__msg_decode(const void *buf, size_t len, dt__msg *m, const char **why);
/* Encoders return a malloc'ed buffer and its length in *len (NULL: no memory). */
/* OFFLOAD or PUSH (m->type) from the fields of m; label_len is ignored
 * (the label is m->label, NUL-terminated or NULL, cut at 255 bytes). */
void *dt__msg_offload(const dt__msg *m, size_t *len);
void *dt__msg_done(uint64_t task_id, size_t *len);
void *dt__msg_data_req(const dt__wire_region *r, uint32_t tag, size_t *len);
void *dt__msg_shutdown(size_t *len);
/* ITER from type_id, type_hash, args_size, args, iter_max, iter_every, iter_flags */
void *dt__msg_iter(const dt__msg *m, size_t *len);
/* STEAL (type DT__MSG_STEAL: n is the lifeline flag) or STEAL_REPLY (n: tasks given) */
void *dt__msg_steal(int type, uint32_t n, uint32_t round, size_t *len);
uint32_t dt__hash_name(const char *s);

#endif
