/* msg.c - encoding and bounds-checked decoding of control messages. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/msg.h"

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
    dt__msg_header h = { DT__MSG_MAGIC, (uint16_t)type, 0, (uint32_t)payload, 0 };
    memcpy(b, &h, sizeof h);
    return b;
}

void *dt__msg_offload(const dt__msg *m, size_t *len)
{
    uint32_t label_len = m->label ? (uint32_t)strnlen(m->label, 255) : 0;
    size_t nreg = (size_t)m->nacc + m->nfetch + m->nback;
    size_t payload = 8 + 8 * 4 + m->args_size + sizeof(dt__wire_region) * nreg + label_len;
    char *b = start(m->type, payload, len), *p;
    if (!b) return NULL;
    p = b + sizeof(dt__msg_header);
    uint32_t f[8] = { m->type_id, m->type_hash, m->args_size, m->nacc, m->nfetch, m->nback, label_len,
                      (uint32_t)m->priority };
    memcpy(p, &m->task_id, 8); p += 8;
    memcpy(p, f, sizeof f); p += sizeof f;
    if (m->args_size) { memcpy(p, m->args, m->args_size); p += m->args_size; }
    if (m->nacc) { memcpy(p, m->acc, sizeof *m->acc * m->nacc); p += sizeof *m->acc * m->nacc; }
    if (m->nfetch) { memcpy(p, m->fetch, sizeof *m->fetch * m->nfetch); p += sizeof *m->fetch * m->nfetch; }
    if (m->nback) { memcpy(p, m->back, sizeof *m->back * m->nback); p += sizeof *m->back * m->nback; }
    if (label_len) memcpy(p, m->label, label_len);
    memcpy(b + offsetof(dt__msg_header, flags), &m->flags, sizeof m->flags);
    return b;
}

void *dt__msg_done(uint64_t task_id, size_t *len)
{
    char *b = start(DT__MSG_DONE, 8, len);
    if (b) memcpy(b + sizeof(dt__msg_header), &task_id, 8);
    return b;
}

void *dt__msg_data_req(const dt__wire_region *r, uint32_t tag, size_t *len)
{
    char *b = start(DT__MSG_DATA_REQ, sizeof *r + 4, len);
    if (b) {
        memcpy(b + sizeof(dt__msg_header), r, sizeof *r);
        memcpy(b + sizeof(dt__msg_header) + sizeof *r, &tag, 4);
    }
    return b;
}

void *dt__msg_steal(int type, uint32_t n, uint32_t round, size_t *len)
{
    char *b = start(type, 8, len);
    if (b) {
        memcpy(b + sizeof(dt__msg_header), &n, 4);
        memcpy(b + sizeof(dt__msg_header) + 4, &round, 4);
    }
    return b;
}

void *dt__msg_shutdown(size_t *len) { return start(DT__MSG_SHUTDOWN, 0, len); }

void *dt__msg_iter(const dt__msg *m, size_t *len)
{
    char *b = start(DT__MSG_ITER, 4 * 4 + 2 * 8 + (size_t)m->args_size, len), *p;
    if (!b) return NULL;
    p = b + sizeof(dt__msg_header);
    uint32_t f[4] = { m->type_id, m->type_hash, m->args_size, m->iter_flags };
    memcpy(p, f, sizeof f); p += sizeof f;
    memcpy(p, &m->iter_max, 8); p += 8;
    memcpy(p, &m->iter_every, 8); p += 8;
    if (m->args_size) memcpy(p, m->args, m->args_size);
    return b;
}

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
    if (h.magic != DT__MSG_MAGIC) FAIL("bad magic");
    if (h.length != len - sizeof h) FAIL("length field does not match the message size");
    const char *p = b + sizeof h, *end = b + len;
    m->type = h.type;
    m->flags = h.flags;
    if (h.flags && h.type != DT__MSG_OFFLOAD && h.type != DT__MSG_PUSH) FAIL("flags on a message that has none");
    if (h.flags & ~(DT__MSG_F_PINNED | DT__MSG_F_STOLEN)) FAIL("unknown task flags");
    switch (h.type) {
    case DT__MSG_OFFLOAD:
    case DT__MSG_PUSH: {
        uint32_t f[8];
        if ((size_t)(end - p) < 8 + sizeof f) FAIL("truncated offload header");
        memcpy(&m->task_id, p, 8); p += 8;
        memcpy(f, p, sizeof f); p += sizeof f;
        m->type_id = f[0]; m->type_hash = f[1]; m->args_size = f[2];
        m->nacc = f[3]; m->nfetch = f[4]; m->nback = f[5]; m->label_len = f[6];
        m->priority = (int32_t)f[7];
        if (m->args_size > MAX_ARGS || m->nacc > MAX_ACC || m->nfetch > MAX_ACC || m->nback > MAX_ACC ||
            m->label_len > 255)
            FAIL("offload counts out of range");
        if (h.type == DT__MSG_OFFLOAD && m->nback) FAIL("offload with regions to send back");
        size_t nreg = (size_t)m->nacc + m->nfetch + m->nback;
        size_t need = (size_t)m->args_size + sizeof(dt__wire_region) * nreg + m->label_len;
        if ((size_t)(end - p) != need) FAIL("offload payload size does not match its counts");
        m->args = p; p += m->args_size;
        m->acc = (const dt__wire_region *)p; p += sizeof(dt__wire_region) * m->nacc;
        m->fetch = (const dt__wire_region *)p; p += sizeof(dt__wire_region) * m->nfetch;
        m->back = (const dt__wire_region *)p; p += sizeof(dt__wire_region) * m->nback;
        m->label = p;
        for (size_t i = 0; i < nreg; i++) {
            dt__wire_region r;
            memcpy(&r, (const char *)m->acc + sizeof r * i, sizeof r);
            if (!region_ok(&r)) FAIL("region wraps the address space");
            /* pushed and sent-back regions carry the tag their bytes travel with */
            /* an offload's fetch list: 0 (ask the source), or the tag the
               sender sends the bytes with unasked */
            if (h.type == DT__MSG_OFFLOAD && i >= m->nacc && r.mode &&
                (r.mode < DT__MSG_TAG_PUSH0 || r.mode >= DT__MSG_TAG_END))
                FAIL("data tag out of range");
            if (h.type == DT__MSG_PUSH && i >= m->nacc) {
                uint64_t lo = i < (size_t)m->nacc + m->nfetch ? DT__MSG_TAG_PUSH0 : DT__MSG_TAG_PULL0;
                if (r.mode < lo || r.mode >= lo + (1u << 20)) FAIL("data tag out of range");
                if (!r.size) FAIL("empty region to transfer");
            }
        }
        return 0;
    }
    case DT__MSG_DONE:
        if (end - p != 8) FAIL("done message of the wrong size");
        memcpy(&m->task_id, p, 8);
        return 0;
    case DT__MSG_DATA_REQ:
        if ((size_t)(end - p) != sizeof m->region + 4) FAIL("data request of the wrong size");
        memcpy(&m->region, p, sizeof m->region);
        memcpy(&m->tag, p + sizeof m->region, 4);
        if (!region_ok(&m->region) || m->region.size == 0) FAIL("bad data request region");
        return 0;
    case DT__MSG_ITER: {
        uint32_t f[4];
        if ((size_t)(end - p) < sizeof f + 16) FAIL("truncated taskiter message");
        memcpy(f, p, sizeof f); p += sizeof f;
        memcpy(&m->iter_max, p, 8); p += 8;
        memcpy(&m->iter_every, p, 8); p += 8;
        m->type_id = f[0]; m->type_hash = f[1]; m->args_size = f[2]; m->iter_flags = f[3];
        if ((size_t)(end - p) != m->args_size) FAIL("taskiter payload size does not match its args size");
        if (m->iter_max < 1 || m->iter_every < 1 || m->iter_flags > 1) FAIL("bad taskiter counts");
        m->args = p;
        return 0;
    }
    case DT__MSG_STEAL:
    case DT__MSG_STEAL_REPLY:
        if (end - p != 8) FAIL("steal message of the wrong size");
        memcpy(&m->steal_n, p, 4);
        memcpy(&m->steal_round, p + 4, 4);
        if (h.type == DT__MSG_STEAL && m->steal_n > 1) FAIL("bad steal request kind");
        return 0;
    case DT__MSG_SHUTDOWN:
        if (p != end) FAIL("shutdown with a payload");
        return 0;
    default:
        FAIL("unknown message type");
    }
}
