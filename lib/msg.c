/* msg.c - encoding and bounds-checked decoding of control messages. */
#include <stdlib.h>
#include <string.h>
#include "msg.h"

#define MAX_ACC (1u << 20)
#define MAX_ARGS (1u << 30)

uint32_t dt__hash_name(const char *s)
{
    uint32_t h = 2166136261u;       /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void *start(int type, size_t payload, size_t *len)
{
    *len = sizeof(dt__msg_header) + payload;
    char *b = malloc(*len ? *len : 1);
    if (!b) return NULL;
    dt__msg_header h = { DT_MSG_MAGIC, (uint16_t)type, 0, (uint32_t)payload, 0 };
    memcpy(b, &h, sizeof h);
    return b;
}

void *dt__msg_offload(uint64_t task_id, uint32_t type_id, uint32_t type_hash,
                      const void *args, uint32_t args_size,
                      const dt__wire_region *acc, uint32_t nacc,
                      const dt__wire_region *fetch, uint32_t nfetch,
                      const char *label, size_t *len)
{
    uint32_t label_len = label ? (uint32_t)strnlen(label, 255) : 0;
    size_t payload = 8 + 6 * 4 + args_size + sizeof(dt__wire_region) * ((size_t)nacc + nfetch) + label_len;
    char *b = start(DT_MSG_OFFLOAD, payload, len), *p;
    if (!b) return NULL;
    p = b + sizeof(dt__msg_header);
    uint32_t f[6] = { type_id, type_hash, args_size, nacc, nfetch, label_len };
    memcpy(p, &task_id, 8); p += 8;
    memcpy(p, f, sizeof f); p += sizeof f;
    if (args_size) { memcpy(p, args, args_size); p += args_size; }
    if (nacc) { memcpy(p, acc, sizeof *acc * nacc); p += sizeof *acc * nacc; }
    if (nfetch) { memcpy(p, fetch, sizeof *fetch * nfetch); p += sizeof *fetch * nfetch; }
    if (label_len) memcpy(p, label, label_len);
    return b;
}

void *dt__msg_done(uint64_t task_id, size_t *len)
{
    char *b = start(DT_MSG_DONE, 8, len);
    if (b) memcpy(b + sizeof(dt__msg_header), &task_id, 8);
    return b;
}

void *dt__msg_data_req(const dt__wire_region *r, uint32_t tag, size_t *len)
{
    char *b = start(DT_MSG_DATA_REQ, sizeof *r + 4, len);
    if (b) {
        memcpy(b + sizeof(dt__msg_header), r, sizeof *r);
        memcpy(b + sizeof(dt__msg_header) + sizeof *r, &tag, 4);
    }
    return b;
}

void *dt__msg_shutdown(size_t *len) { return start(DT_MSG_SHUTDOWN, 0, len); }

/* A region is sane when its rows do not wrap the address space. */
static int region_ok(const dt__wire_region *r)
{
    if (r->rows == 0 || r->size == 0) return r->size == 0;
    if (r->rows > 1 && r->stride < r->size) return 0;
    uint64_t span;
    if (__builtin_mul_overflow(r->rows - 1, r->stride, &span)) return 0;
    if (__builtin_add_overflow(span, r->size, &span)) return 0;
    return r->addr + span >= r->addr;
}

#define FAIL(msg) do { *why = (msg); return -1; } while (0)

int dt__msg_decode(const void *buf, size_t len, dt__msg *m, const char **why)
{
    const char *b = buf;
    dt__msg_header h;
    memset(m, 0, sizeof *m);
    if (len < sizeof h) FAIL("shorter than a header");
    memcpy(&h, b, sizeof h);
    if (h.magic != DT_MSG_MAGIC) FAIL("bad magic");
    if (h.length != len - sizeof h) FAIL("length field does not match the message size");
    const char *p = b + sizeof h, *end = b + len;
    m->type = h.type;
    switch (h.type) {
    case DT_MSG_OFFLOAD: {
        uint32_t f[6];
        if ((size_t)(end - p) < 8 + sizeof f) FAIL("truncated offload header");
        memcpy(&m->task_id, p, 8); p += 8;
        memcpy(f, p, sizeof f); p += sizeof f;
        m->type_id = f[0]; m->type_hash = f[1]; m->args_size = f[2];
        m->nacc = f[3]; m->nfetch = f[4]; m->label_len = f[5];
        if (m->args_size > MAX_ARGS || m->nacc > MAX_ACC || m->nfetch > MAX_ACC || m->label_len > 255)
            FAIL("offload counts out of range");
        size_t need = (size_t)m->args_size + sizeof(dt__wire_region) * ((size_t)m->nacc + m->nfetch) + m->label_len;
        if ((size_t)(end - p) != need) FAIL("offload payload size does not match its counts");
        m->args = p; p += m->args_size;
        m->acc = (const dt__wire_region *)p; p += sizeof(dt__wire_region) * m->nacc;
        m->fetch = (const dt__wire_region *)p; p += sizeof(dt__wire_region) * m->nfetch;
        m->label = p;
        for (uint32_t i = 0; i < m->nacc + m->nfetch; i++) {
            dt__wire_region r;
            memcpy(&r, (const char *)m->acc + sizeof r * i, sizeof r);
            if (!region_ok(&r)) FAIL("region wraps the address space");
        }
        return 0;
    }
    case DT_MSG_DONE:
        if (end - p != 8) FAIL("done message of the wrong size");
        memcpy(&m->task_id, p, 8);
        return 0;
    case DT_MSG_DATA_REQ:
        if ((size_t)(end - p) != sizeof m->region + 4) FAIL("data request of the wrong size");
        memcpy(&m->region, p, sizeof m->region);
        memcpy(&m->tag, p + sizeof m->region, 4);
        if (!region_ok(&m->region) || m->region.size == 0) FAIL("bad data request region");
        return 0;
    case DT_MSG_SHUTDOWN:
        if (p != end) FAIL("shutdown with a payload");
        return 0;
    default:
        FAIL("unknown message type");
    }
}
