/* msg.h - the wire format of the cluster layer's control messages.  Ranks
 * run the same binary on the same architecture, so fields are native; every
 * decoder checks bounds and counts against the received length. */
#ifndef DT_MSG_H
#define DT_MSG_H

#include <stddef.h>
#include <stdint.h>

#define DT_MSG_MAGIC 0x6474736bu   /* "dtsk" */

enum dt__msg_type {
    DT_MSG_OFFLOAD = 1,     /* run this task here */
    DT_MSG_DONE,            /* an offloaded task completed */
    DT_MSG_DATA_REQ,        /* send me these bytes (a given version) */
    DT_MSG_SHUTDOWN
};

typedef struct dt__wire_region {
    uint64_t addr, size, rows, stride;
    uint64_t version;       /* access: the write version it creates (0: none);
                               fetch: the version required */
    uint32_t mode;          /* access: its mode */
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
    /* OFFLOAD, DONE */
    uint64_t task_id;
    /* OFFLOAD */
    uint32_t type_id, type_hash, args_size, nacc, nfetch, label_len;
    const void *args;
    const dt__wire_region *acc, *fetch;   /* not aligned: copy out with memcpy */
    const char *label;
    /* DATA_REQ */
    dt__wire_region region;
    uint32_t tag;
} dt__msg;

/* Decodes buf[0..len).  0, or -1 with *why naming what is wrong. */
int dt__msg_decode(const void *buf, size_t len, dt__msg *m, const char **why);
/* Encoders return a malloc'ed buffer and its length in *len (NULL: no memory). */
void *dt__msg_offload(uint64_t task_id, uint32_t type_id, uint32_t type_hash,
                      const void *args, uint32_t args_size,
                      const dt__wire_region *acc, uint32_t nacc,
                      const dt__wire_region *fetch, uint32_t nfetch,
                      const char *label, size_t *len);
void *dt__msg_done(uint64_t task_id, size_t *len);
void *dt__msg_data_req(const dt__wire_region *r, uint32_t tag, size_t *len);
void *dt__msg_shutdown(size_t *len);
uint32_t dt__hash_name(const char *s);

#endif
