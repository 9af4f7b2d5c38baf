/* test-msg.c - the cluster layer's message codec: round trips, and every
 * malformed or truncated message is refused with a reason. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/msg.h"
#include "test_util.h"

static dt__wire_region reg(uint64_t addr, uint64_t size, uint64_t rows, uint64_t stride)
{
    dt__wire_region r = { addr, size, rows, stride, 7, 3, -1 };
    return r;
}

/* An OFFLOAD (or PUSH) message of one task with these accesses and lists. */
static void *task_msg(int type, const dt__wire_region *acc, uint32_t nacc, const dt__wire_region *fetch,
                      uint32_t nfetch, const dt__wire_region *back, uint32_t nback, size_t *len)
{
    dt__msg m = { .type = type, .task_id = 1, .nacc = nacc, .nfetch = nfetch, .nback = nback,
                  .acc = acc, .fetch = fetch, .back = back };
    return dt__msg_offload(&m, len);
}

START_TEST(offload_round_trip)
{
    dt__wire_region acc[2] = { reg(0x1000, 64, 1, 64), reg(0x2000, 8, 4, 32) };
    dt__wire_region fetch[2] = { reg(0x1000, 64, 1, 64), reg(0x2000, 8, 4, 32) };
    fetch[0].source = 2;
    fetch[0].mode = 0;                          /* the target asks rank 2 for it */
    fetch[1].source = 0;
    fetch[1].mode = DT__MSG_TAG_PUSH0 + 9;       /* the sender sends it unasked */
    char args[5] = "abcd";
    size_t len;
    dt__msg in = { .type = DT__MSG_OFFLOAD, .task_id = 42, .type_id = 3, .type_hash = dt__hash_name("gemm"),
                   .args_size = 5, .nacc = 2, .nfetch = 2, .priority = -7, .args = args, .acc = acc,
                   .fetch = fetch, .label = "lbl" };
    void *b = dt__msg_offload(&in, &len);
    ck_assert_ptr_nonnull(b);
    dt__msg m;
    const char *why = NULL;
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), 0);
    ck_assert_int_eq(m.type, DT__MSG_OFFLOAD);
    ck_assert_uint_eq(m.task_id, 42);
    ck_assert_uint_eq(m.type_id, 3);
    ck_assert_uint_eq(m.type_hash, dt__hash_name("gemm"));
    ck_assert_uint_eq(m.args_size, 5);
    ck_assert_mem_eq(m.args, "abcd", 5);
    ck_assert_uint_eq(m.nacc, 2);
    ck_assert_uint_eq(m.nfetch, 2);
    ck_assert_uint_eq(m.nback, 0);
    ck_assert_int_eq(m.priority, -7);
    dt__wire_region r;
    memcpy(&r, m.acc + 1, sizeof r);
    ck_assert_uint_eq(r.rows, 4);
    memcpy(&r, m.fetch, sizeof r);
    ck_assert_int_eq(r.source, 2);
    memcpy(&r, m.fetch + 1, sizeof r);
    ck_assert_uint_eq(r.mode, DT__MSG_TAG_PUSH0 + 9);
    ck_assert_uint_eq(m.label_len, 3);
    ck_assert_mem_eq(m.label, "lbl", 3);
    /* every strict prefix is refused */
    for (size_t cut = 0; cut < len; cut++) ck_assert_int_eq(dt__msg_decode(b, cut, &m, &why), -1);
    free(b);
    /* bytes sent unasked with a tag outside the senders' range */
    fetch[1].mode = DT__MSG_TAG_PULL0;
    b = dt__msg_offload(&in, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "data tag out of range");
    free(b);
}
END_TEST

START_TEST(push_round_trip)
{
    /* a nested task: its input comes with it (sender's tags), its output
       goes back (receiver's tags) */
    dt__wire_region acc[1] = { reg(0x1000, 64, 2, 128) };
    dt__wire_region in[1] = { reg(0x1000, 64, 2, 128) }, back[2] = { reg(0x1000, 64, 1, 64), reg(0x1080, 64, 1, 64) };
    in[0].mode = DT__MSG_TAG_PUSH0 + 5;
    back[0].mode = DT__MSG_TAG_PULL0;
    back[1].mode = DT__MSG_TAG_PUSH0 - 1;
    size_t len;
    void *b = task_msg(DT__MSG_PUSH, acc, 1, in, 1, back, 2, &len);
    dt__msg m;
    const char *why = NULL;
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), 0);
    ck_assert_int_eq(m.type, DT__MSG_PUSH);
    ck_assert_uint_eq(m.nfetch, 1);
    ck_assert_uint_eq(m.nback, 2);
    dt__wire_region r;
    memcpy(&r, m.back + 1, sizeof r);
    ck_assert_uint_eq(r.addr, 0x1080);
    ck_assert_uint_eq(r.mode, DT__MSG_TAG_PUSH0 - 1);
    memcpy(&r, m.fetch, sizeof r);
    ck_assert_uint_eq(r.rows, 2);
    for (size_t cut = 0; cut < len; cut++) ck_assert_int_eq(dt__msg_decode(b, cut, &m, &why), -1);
    free(b);
    /* tags outside their range would be refused by MPI or match other data */
    in[0].mode = DT__MSG_TAG_PULL0;                  /* a pushed region with a receiver's tag */
    b = task_msg(DT__MSG_PUSH, acc, 1, in, 1, back, 2, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "data tag out of range");
    free(b);
    in[0].mode = DT__MSG_TAG_PUSH0;
    back[1].mode = DT__MSG_TAG_PUSH0;                /* a write-back with a sender's tag */
    b = task_msg(DT__MSG_PUSH, acc, 1, in, 1, back, 2, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    free(b);
    back[1] = reg(0x1000, 0, 1, 0);                 /* nothing to send */
    back[1].mode = DT__MSG_TAG_PULL0;
    b = task_msg(DT__MSG_PUSH, acc, 1, in, 1, back, 2, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "empty region to transfer");
    free(b);
    /* only a pushed task sends anything back */
    back[1] = reg(0x1080, 64, 1, 64);
    back[1].mode = DT__MSG_TAG_PULL0;
    b = task_msg(DT__MSG_OFFLOAD, acc, 1, in, 1, back, 2, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "offload with regions to send back");
    free(b);
}
END_TEST

START_TEST(small_messages_round_trip)
{
    size_t len;
    dt__msg m;
    const char *why;
    void *b = dt__msg_done(99, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), 0);
    ck_assert_int_eq(m.type, DT__MSG_DONE);
    ck_assert_uint_eq(m.task_id, 99);
    free(b);
    dt__wire_region r = reg(0x4000, 16, 2, 64);
    b = dt__msg_data_req(&r, 1234, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), 0);
    ck_assert_int_eq(m.type, DT__MSG_DATA_REQ);
    ck_assert_uint_eq(m.tag, 1234);
    ck_assert_uint_eq(m.region.stride, 64);
    free(b);
    b = dt__msg_shutdown(&len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), 0);
    ck_assert_int_eq(m.type, DT__MSG_SHUTDOWN);
    free(b);
}
END_TEST

START_TEST(malformed_messages_refused)
{
    size_t len;
    dt__msg m;
    const char *why = NULL;
    char *b = dt__msg_done(1, &len);
    dt__msg_header h;
    memcpy(&h, b, sizeof h);

    h.magic ^= 1;                                   /* bad magic */
    memcpy(b, &h, sizeof h);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "bad magic");
    h.magic ^= 1;

    h.length += 1;                                  /* length field lies */
    memcpy(b, &h, sizeof h);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    h.length -= 1;

    h.type = 77;                                    /* unknown type */
    memcpy(b, &h, sizeof h);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "unknown message type");
    free(b);

    /* an offload whose counts do not match its payload */
    dt__wire_region acc = reg(0x1000, 8, 1, 8);
    b = task_msg(DT__MSG_OFFLOAD, &acc, 1, NULL, 0, NULL, 0, &len);
    uint32_t nacc = 5;
    memcpy(b + sizeof(dt__msg_header) + 8 + 12, &nacc, 4);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    free(b);

    /* a region that wraps the address space */
    acc = reg(UINT64_MAX - 4, 8, 1, 8);
    b = task_msg(DT__MSG_OFFLOAD, &acc, 1, NULL, 0, NULL, 0, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "region wraps the address space");
    free(b);

    /* a data request for nothing, or with rows overlapping */
    dt__wire_region r = reg(0x1000, 0, 1, 0);
    b = dt__msg_data_req(&r, 1, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    free(b);
    r = reg(0x1000, 64, 2, 32);
    b = dt__msg_data_req(&r, 1, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    free(b);
}
END_TEST

/* DT_STEAL: the task flags ride in the header of OFFLOAD and PUSH only;
 * STEAL and STEAL_REPLY carry a count (or the lifeline flag) and a round. */
/* A steal message of `type` built and decoded back, fields and no flags
 * checked; the caller frees it. */
static void *steal_roundtrip(int type, uint32_t n, uint32_t round, size_t *len)
{
    void *b = dt__msg_steal(type, n, round, len);
    dt__msg m;
    const char *why = NULL;
    ck_assert_int_eq(dt__msg_decode(b, *len, &m, &why), 0);
    ck_assert_int_eq(m.type, type);
    ck_assert_uint_eq(m.steal_n, n);
    ck_assert_uint_eq(m.steal_round, round);
    ck_assert_uint_eq(m.flags, 0);
    return b;
}

START_TEST(steal_messages)
{
    dt__wire_region acc[1] = { reg(0x1000, 64, 1, 64) };
    size_t len;
    dt__msg in = { .type = DT__MSG_PUSH, .task_id = 5, .nacc = 1, .acc = acc,
                   .flags = DT__MSG_F_PINNED | DT__MSG_F_STOLEN };
    void *b = dt__msg_offload(&in, &len);
    dt__msg m;
    const char *why = NULL;
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), 0);
    ck_assert_uint_eq(m.flags, DT__MSG_F_PINNED | DT__MSG_F_STOLEN);
    free(b);
    in.flags = 4;
    b = dt__msg_offload(&in, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "unknown task flags");
    free(b);
    b = steal_roundtrip(DT__MSG_STEAL, 1, 77, &len);
    for (size_t cut = 0; cut < len; cut++) ck_assert_int_eq(dt__msg_decode(b, cut, &m, &why), -1);
    /* flags on a message that has none */
    ((dt__msg_header *)b)->flags = DT__MSG_F_PINNED;
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "flags on a message that has none");
    free(b);
    b = dt__msg_steal(DT__MSG_STEAL, 2, 0, &len);       /* neither random (0) nor lifeline (1) */
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "bad steal request kind");
    free(b);
    free(steal_roundtrip(DT__MSG_STEAL_REPLY, 9, 3, &len));
    /* a steal message with a payload of the wrong size */
    char big[sizeof(dt__msg_header) + 12] = { 0 };
    dt__msg_header h = { DT__MSG_MAGIC, DT__MSG_STEAL, 0, 12, 0 };
    memcpy(big, &h, sizeof h);
    ck_assert_int_eq(dt__msg_decode(big, sizeof big, &m, &why), -1);
    ck_assert_str_eq(why, "steal message of the wrong size");
}
END_TEST

START_TEST(iter_message)
{
    size_t len;
    dt__msg m;
    const char *why = NULL;
    char args[3] = "xy";
    dt__msg in = { .type = DT__MSG_ITER, .type_id = 4, .type_hash = dt__hash_name("sweep"), .args_size = 3,
                   .args = args, .iter_max = 100, .iter_every = 10, .iter_flags = 1 };
    char *b = dt__msg_iter(&in, &len);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), 0);
    ck_assert_int_eq(m.type, DT__MSG_ITER);
    ck_assert_uint_eq(m.type_id, 4);
    ck_assert_uint_eq(m.type_hash, dt__hash_name("sweep"));
    ck_assert_uint_eq(m.args_size, 3);
    ck_assert_mem_eq(m.args, "xy", 3);
    ck_assert_int_eq(m.iter_max, 100);
    ck_assert_int_eq(m.iter_every, 10);
    ck_assert_uint_eq(m.iter_flags, 1);
    /* cut short: the header's length still matches, the fields do not */
    size_t hl = sizeof(dt__msg_header);
    dt__msg_header h;
    memcpy(&h, b, sizeof h);
    h.length = 20;
    memcpy(b, &h, sizeof h);
    ck_assert_int_eq(dt__msg_decode(b, hl + 20, &m, &why), -1);
    ck_assert_str_eq(why, "truncated taskiter message");
    h.length = (uint32_t)(len - hl);
    memcpy(b, &h, sizeof h);
    /* args size that does not match the payload */
    uint32_t bad = 4;
    memcpy(b + hl + 8, &bad, 4);
    ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
    ck_assert_str_eq(why, "taskiter payload size does not match its args size");
    free(b);
    /* no iterations, a round of none, unknown flags */
    for (int k = 0; k < 3; k++) {
        dt__msg x = in;
        if (k == 0) x.iter_max = 0;
        if (k == 1) x.iter_every = -1;
        if (k == 2) x.iter_flags = 2;
        b = dt__msg_iter(&x, &len);
        ck_assert_int_eq(dt__msg_decode(b, len, &m, &why), -1);
        ck_assert_str_eq(why, "bad taskiter counts");
        free(b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, offload_round_trip);
    tcase_add_test(tc, push_round_trip);
    tcase_add_test(tc, small_messages_round_trip);
    tcase_add_test(tc, malformed_messages_refused);
    tcase_add_test(tc, iter_message);
    tcase_add_test(tc, steal_messages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
