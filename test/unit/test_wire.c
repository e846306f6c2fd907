/* sl_wire: round trips of every message type, the batch builder, and
 * rejection of garbage (never a crash: run it under ASan). */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_wire.h"

static const struct sl_log_field conn_f[] = {{"ts", SL_LT_TIME},
                                             {"id.orig_h", SL_LT_ADDR},
                                             {"service", SL_LT_STRING},
                                             {"tunnel_parents", SL_LT_SET_STRING},
                                             {"history", SL_LT_STRING}};
static const struct sl_log_schema conn_s = {"conn", 5, conn_f};
static const struct sl_log_field dns_f[] = {{"ts", SL_LT_TIME}, {"answers", SL_LT_VEC_STRING}};
static const struct sl_log_schema dns_s = {"dns", 2, dns_f};

static void decode_ok(const struct sl_wire_buf *b, struct sl_wire_msg *m, unsigned type)
{
    char err[160];
    int rc = sl_wire_decode(b->data, b->len, m, err, sizeof(err));
    ck_assert_msg(rc == 0, "decode failed: %s", err);
    ck_assert_uint_eq(m->version, SL_WIRE_VERSION);
    ck_assert_uint_eq(m->type, type);
}

START_TEST(batch_round_trip)
{
    struct sl_wire_batch *bt = sl_wire_batch_new();
    ck_assert_ptr_nonnull(bt);
    const char *parents[] = {"CHhAvVGS1DHFjwGM9", "C4J4Th3PJpwUYZZ6gc"};
    struct sl_log_val r1[5] = {{.present = true, .s = "1.000001"},
                               {.present = true, .s = "10.0.0.1"},
                               {.present = false},
                               {.present = true, .items = parents, .n_items = 2},
                               {.present = true, .s = "tab\there \xe2\x82\xac"}};
    struct sl_log_val r2[5] = {{.present = true, .s = "2.5"},
                               {.present = true, .s = "::1"},
                               {.present = true, .s = ""},
                               {.present = true, .items = NULL, .n_items = 0},
                               {.present = false}};
    const char *ans[] = {"1.2.3.4"};
    struct sl_log_val d1[2] = {{.present = true, .s = "3.0"},
                               {.present = true, .items = ans, .n_items = 1}};
    ck_assert_int_eq(sl_wire_batch_add(bt, &conn_s, r1), 0);
    ck_assert_int_eq(sl_wire_batch_add(bt, &dns_s, d1), 0);
    ck_assert_int_eq(sl_wire_batch_add(bt, &conn_s, r2), 0);
    ck_assert_uint_eq(sl_wire_batch_records(bt), 3);
    ck_assert_uint_gt(sl_wire_batch_bytes(bt), 0);

    struct sl_wire_buf b = {0};
    ck_assert_int_eq(sl_wire_batch_finish(bt, "worker-1", 42, &b), 0);
    ck_assert_uint_eq(sl_wire_batch_records(bt), 0);

    struct sl_wire_msg m;
    decode_ok(&b, &m, SL_WIRE_LOG);
    ck_assert_str_eq(m.u.log.node, "worker-1");
    ck_assert_uint_eq(m.u.log.seq, 42);
    ck_assert_uint_eq(m.u.log.n_sections, 2);
    const struct sl_wire_section *c = &m.u.log.sections[0];
    ck_assert_str_eq(c->schema.path, "conn");
    ck_assert_uint_eq(c->schema.n_fields, 5);
    ck_assert_str_eq(c->schema.fields[1].name, "id.orig_h");
    ck_assert_int_eq(c->schema.fields[3].type, SL_LT_SET_STRING);
    ck_assert_uint_eq(c->n_records, 2);
    ck_assert_str_eq(c->vals[0].s, "1.000001");
    ck_assert(!c->vals[2].present);
    ck_assert_uint_eq(c->vals[3].n_items, 2);
    ck_assert_str_eq(c->vals[3].items[1], "C4J4Th3PJpwUYZZ6gc");
    ck_assert_str_eq(c->vals[4].s, "tab\there \xe2\x82\xac");
    ck_assert(c->vals[5 + 2].present);
    ck_assert_str_eq(c->vals[5 + 2].s, "");
    ck_assert(c->vals[5 + 3].present);
    ck_assert_uint_eq(c->vals[5 + 3].n_items, 0);
    ck_assert(!c->vals[5 + 4].present);
    ck_assert_str_eq(m.u.log.sections[1].schema.path, "dns");
    ck_assert_str_eq(m.u.log.sections[1].vals[1].items[0], "1.2.3.4");

    /* the same lines come out of sl_log either way */
    char l1[512], l2[512];
    ck_assert_int_gt(sl_log_format_line(&conn_s, SL_LOG_TSV, r1, l1, sizeof(l1)), 0);
    ck_assert_int_gt(sl_log_format_line(&c->schema, SL_LOG_TSV, c->vals, l2, sizeof(l2)), 0);
    ck_assert_str_eq(l1, l2);
    sl_wire_msg_clear(&m);

    /* an emptied batch is reusable; empty sections are left out */
    sl_wire_buf_reset(&b);
    ck_assert_int_eq(sl_wire_batch_add(bt, &dns_s, d1), 0);
    ck_assert_int_eq(sl_wire_batch_finish(bt, "worker-1", 43, &b), 0);
    decode_ok(&b, &m, SL_WIRE_LOG);
    ck_assert_uint_eq(m.u.log.n_sections, 1);
    ck_assert_str_eq(m.u.log.sections[0].schema.path, "dns");
    sl_wire_msg_clear(&m);

    /* a record not fitting its schema is refused, the batch unchanged */
    struct sl_log_val bad[2] = {{.present = true, .s = NULL}, {.present = false}};
    ck_assert_int_eq(sl_wire_batch_add(bt, &dns_s, bad), -EINVAL);
    ck_assert_uint_eq(sl_wire_batch_records(bt), 0);
    static const struct sl_log_schema evil = {"../etc/passwd", 2, dns_f};
    ck_assert_int_eq(sl_wire_batch_add(bt, &evil, d1), -EINVAL);
    sl_wire_buf_free(&b);
    sl_wire_batch_free(bt);
}
END_TEST

static const struct sl_log_field kh_f[] = {{"ts", SL_LT_TIME}, {"host", SL_LT_ADDR}};
static const struct sl_log_schema kh_s = {"known_hosts", 2, kh_f};

START_TEST(other_types_round_trip)
{
    struct sl_wire_buf b = {0};
    struct sl_wire_msg m;
    struct sl_log_val kv[2] = {{.present = true, .s = "5.000000"},
                               {.present = true, .s = "192.168.1.1"}};
    struct sl_wire_section rec = {.schema = kh_s, .n_records = 1, .vals = kv};

    struct sl_wire_known k = {.set = "hosts",
                              .key = "192.168.1.1",
                              .origin = "w-1",
                              .seq = 7,
                              .entry = "",
                              .epoch = 3,
                              .hops = 2,
                              .ts = 5.0,
                              .flags = 1,
                              .rec = rec};
    ck_assert_int_eq(sl_wire_enc_known(&b, &k), 0);
    decode_ok(&b, &m, SL_WIRE_KNOWN);
    ck_assert_str_eq(m.u.known.key, "192.168.1.1");
    ck_assert_str_eq(m.u.known.entry, "");
    ck_assert_uint_eq(m.u.known.seq, 7);
    ck_assert_uint_eq(m.u.known.epoch, 3);
    ck_assert_uint_eq(m.u.known.hops, 2);
    ck_assert(m.u.known.ts == 5.0);
    ck_assert_uint_eq(m.u.known.flags, 1);
    ck_assert_str_eq(m.u.known.rec.schema.path, "known_hosts");
    ck_assert_str_eq(m.u.known.rec.vals[1].s, "192.168.1.1");
    sl_wire_msg_clear(&m);

    sl_wire_buf_reset(&b);
    struct sl_wire_scan sc = {.node = "w-2",
                              .seq = 9,
                              .ts = 1.5,
                              .kind = 1,
                              .scanner = "1.1.1.1",
                              .victim = "2.2.2.2",
                              .port = 22,
                              .proto = 6};
    ck_assert_int_eq(sl_wire_enc_scan(&b, &sc), 0);
    decode_ok(&b, &m, SL_WIRE_SCAN);
    ck_assert_str_eq(m.u.scan.victim, "2.2.2.2");
    ck_assert_uint_eq(m.u.scan.port, 22);
    ck_assert_uint_eq(m.u.scan.proto, 6);
    ck_assert_uint_eq(m.u.scan.kind, 1);
    sl_wire_msg_clear(&m);

    sl_wire_buf_reset(&b);
    struct sl_wire_notice no = {.node = "manager",
                                .seq = 1,
                                .ts = 9.25,
                                .note = "Scan::Port_Scan",
                                .identifier = "1.1.1.1 with spaces",
                                .suppress_for = 3600,
                                .rec = rec};
    ck_assert_int_eq(sl_wire_enc_notice(&b, &no), 0);
    decode_ok(&b, &m, SL_WIRE_NOTICE);
    ck_assert_str_eq(m.u.notice.identifier, "1.1.1.1 with spaces");
    ck_assert(m.u.notice.suppress_for == 3600);
    sl_wire_msg_clear(&m);
    sl_wire_buf_reset(&b);
    no.identifier = NULL;
    ck_assert_int_eq(sl_wire_enc_notice(&b, &no), 0);
    decode_ok(&b, &m, SL_WIRE_NOTICE);
    ck_assert_ptr_null(m.u.notice.identifier);
    sl_wire_msg_clear(&m);

    sl_wire_buf_reset(&b);
    struct sl_wire_counter cs[2] = {{"packets", 100}, {"batches_acked", UINT64_MAX}};
    struct sl_wire_heartbeat hb = {.node = "worker-3",
                                   .role = SL_ROLE_WORKER,
                                   .seq = 4,
                                   .wall = 1e9,
                                   .n_counters = 2,
                                   .counters = cs};
    ck_assert_int_eq(sl_wire_enc_heartbeat(&b, &hb), 0);
    decode_ok(&b, &m, SL_WIRE_HEARTBEAT);
    ck_assert_uint_eq(m.u.hb.role, SL_ROLE_WORKER);
    ck_assert_uint_eq(m.u.hb.n_counters, 2);
    ck_assert_str_eq(m.u.hb.counters[1].name, "batches_acked");
    ck_assert_uint_eq(m.u.hb.counters[1].value, UINT64_MAX);
    sl_wire_msg_clear(&m);

    sl_wire_buf_reset(&b);
    const char *names[] = {"proxy-1", "worker-1"};
    struct sl_wire_control ct = {
        .kind = SL_CTL_VIEW, .node = "manager", .epoch = 12, .n_names = 2, .names = names};
    ck_assert_int_eq(sl_wire_enc_control(&b, &ct), 0);
    decode_ok(&b, &m, SL_WIRE_CONTROL);
    ck_assert_uint_eq(m.u.ctl.kind, SL_CTL_VIEW);
    ck_assert_uint_eq(m.u.ctl.epoch, 12);
    ck_assert_str_eq(m.u.ctl.names[1], "worker-1");
    sl_wire_msg_clear(&m);

    sl_wire_buf_reset(&b);
    struct sl_wire_ack ak = {
        .node = "logger-1", .of_type = SL_WIRE_LOG, .origin = "worker-1", .seq = 1234567890123ull};
    ck_assert_int_eq(sl_wire_enc_ack(&b, &ak), 0);
    decode_ok(&b, &m, SL_WIRE_ACK);
    ck_assert_uint_eq(m.u.ack.seq, 1234567890123ull);
    ck_assert_uint_eq(m.u.ack.of_type, SL_WIRE_LOG);
    sl_wire_msg_clear(&m);

    sl_wire_buf_reset(&b);
    struct sl_wire_clock ck = {.node = "proxy-2", .epoch = 1, .ts = INFINITY};
    ck_assert_int_eq(sl_wire_enc_clock(&b, &ck), 0);
    decode_ok(&b, &m, SL_WIRE_CLOCK);
    ck_assert(isinf(m.u.clock.ts) && m.u.clock.ts > 0);
    sl_wire_msg_clear(&m);
    sl_wire_buf_free(&b);
}
END_TEST

START_TEST(encoder_refuses_bad_names)
{
    struct sl_wire_buf b = {0};
    struct sl_wire_ack ak = {.node = "has space", .of_type = SL_WIRE_LOG, .origin = "x", .seq = 1};
    ck_assert_int_eq(sl_wire_enc_ack(&b, &ak), -EINVAL);
    ck_assert_uint_eq(b.len, 0); /* nothing half-written */
    ak.node = "";
    ck_assert_int_eq(sl_wire_enc_ack(&b, &ak), -EINVAL);
    ak.node = NULL;
    ck_assert_int_eq(sl_wire_enc_ack(&b, &ak), -EINVAL);
    struct sl_wire_control ct = {.kind = 99, .node = "m"};
    ck_assert_int_eq(sl_wire_enc_control(&b, &ct), -EINVAL);
    ck_assert_uint_eq(b.len, 0);
    sl_wire_buf_free(&b);
    ck_assert(sl_wire_name_ok("worker-1"));
    ck_assert(!sl_wire_name_ok("a\tb"));
    ck_assert(!sl_wire_name_ok("\xc3\xa9"));
}
END_TEST

/* Expects -EBADMSG with a message containing `why`. */
static void reject(const void *data, size_t len, const char *why)
{
    struct sl_wire_msg m;
    char err[200];
    int rc = sl_wire_decode(data, len, &m, err, sizeof(err));
    ck_assert_msg(rc == -EBADMSG, "accepted (rc %d), expected: %s", rc, why);
    ck_assert_msg(strstr(err, why) != NULL, "error '%s' does not say '%s'", err, why);
    sl_wire_msg_clear(&m);
}

START_TEST(decoder_rejects_garbage)
{
    reject("", 0, "too short");
    reject("\x02\x01\x90", 3, "wire version 2");
    reject("\x01\x00\x90", 3, "unknown message type 0");
    reject("\x01\x63\x90", 3, "unknown message type 99");
    /* an array claiming 4 billion elements: refused before any allocation */
    reject("\x01\x01\xdd\xff\xff\xff\xff\xc0", 8, "count exceeds");
    reject("\x01\x01\xdf\xff\xff\xff\xff\xc0", 8, "count exceeds");
    reject("\x01\x01\xdb\xff\xff\xff\xff"
           "abc",
           10, "truncated");
    reject("\x01\x01\xc1", 3, "0xc1");
    reject("\x01\x01\xc4\x01\x00", 5, "bin/ext");
    reject("\x01\x07\x94\xa1x\x01\xa1y\x01\xc0", 10, "trailing");
    /* ack of a type never acknowledged */
    reject("\x01\x07\x94\xa1x\x03\xa1y\x01", 9, "never acknowledged");
    /* ack with a string where the seq goes */
    reject("\x01\x07\x94\xa1x\x01\xa1y\xa1z", 10, "ack seq");
    /* nesting bomb */
    char deep[64];
    deep[0] = 1;
    deep[1] = SL_WIRE_ACK;
    memset(deep + 2, 0x91, 40);
    deep[42] = (char)0xc0;
    reject(deep, 43, "too deep");

    /* well-formed msgpack, wrong content: build with the encoder, then edit */
    struct sl_wire_buf b = {0};
    struct sl_log_val kv[2] = {{.present = true, .s = "5.0"}, {.present = true, .s = "h"}};
    struct sl_wire_log lg = {
        .node = "w", .seq = 1, .n_sections = 1, .sections = &(struct sl_wire_section){kh_s, 1, kv}};
    ck_assert_int_eq(sl_wire_enc_log(&b, &lg), 0);
    char *p = memmem(b.data, b.len, "known_hosts", 11);
    ck_assert_ptr_nonnull(p);
    memcpy(p, "../../x/etc", 11);
    reject(b.data, b.len, "not a plain file name");
    memcpy(p, "known_hosts", 11);
    p = memmem(b.data, b.len, "5.0", 3);
    p[1] = 0; /* NUL inside a value */
    reject(b.data, b.len, "NUL");
    p[1] = '.';
    /* field type out of range: the type byte follows the field name "ts" */
    p = memmem(b.data, b.len, "\xa2ts", 3);
    ck_assert_ptr_nonnull(p);
    p[3] = 0x7f;
    reject(b.data, b.len, "field type");
    p[3] = SL_LT_TIME;
    /* a record with a value short: change the record array header 0x92 to 0x91 */
    p = memmem(b.data, b.len,
               "\x91\x92\xa3"
               "5.0",
               6);
    ck_assert_ptr_nonnull(p);
    p[1] = (char)0x91;
    reject(b.data, b.len, "");
    sl_wire_buf_free(&b);

    /* a scalar where a container belongs */
    struct sl_log_val dv[2] = {{.present = true, .s = "1"},
                               {.present = true, .items = (const char *[]){"a"}, .n_items = 1}};
    struct sl_wire_log lg2 = {.node = "w",
                              .seq = 1,
                              .n_sections = 1,
                              .sections = &(struct sl_wire_section){dns_s, 1, dv}};
    ck_assert_int_eq(sl_wire_enc_log(&b, &lg2), 0);
    p = memmem(b.data, b.len,
               "\x91\xa1"
               "a",
               3);
    ck_assert_ptr_nonnull(p);
    p[0] = (char)0xc3; /* true in place of the array: 1 byte shorter... */
    p[1] = (char)0xc0; /* ...so pad with nils to keep it parseable */
    p[2] = (char)0xc0;
    reject(b.data, b.len, "");
    sl_wire_buf_free(&b);
}
END_TEST

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Regression (found by test/fuzz/fuzz_wire): msgpack-c gives an empty str a
 * NULL pointer, which the decoder passed to memcpy. */
START_TEST(empty_strings)
{
    /* CLOCK ["", 122, 0]: an empty node name is refused, not copied from NULL */
    reject("\x01\x08\x93\xa0\x7a\x00", 6, "not a valid name");

    /* an empty string value is legal and decodes as "" */
    struct sl_wire_buf b = {0};
    struct sl_wire_msg m;
    struct sl_log_val v[5] = {{.present = true, .s = "1.0"},
                              {.present = true, .s = "10.0.0.1"},
                              {.present = true, .s = ""},
                              {.present = true, .n_items = 0},
                              {.present = true, .s = ""}};
    struct sl_wire_log lg = {.node = "w",
                             .seq = 1,
                             .n_sections = 1,
                             .sections = &(struct sl_wire_section){conn_s, 1, v}};
    ck_assert_int_eq(sl_wire_enc_log(&b, &lg), 0);
    decode_ok(&b, &m, SL_WIRE_LOG);
    ck_assert_uint_eq(m.u.log.n_sections, 1);
    ck_assert_str_eq(m.u.log.sections[0].vals[2].s, "");
    ck_assert_str_eq(m.u.log.sections[0].vals[4].s, "");
    sl_wire_msg_clear(&m);
    sl_wire_buf_free(&b);
}
END_TEST

/* Truncations, bit flips and random bytes: every outcome is 0 or -EBADMSG. */
START_TEST(decoder_survives_fuzz)
{
    struct sl_wire_batch *bt = sl_wire_batch_new();
    const char *parents[] = {"a", "b"};
    struct sl_log_val r1[5] = {{.present = true, .s = "1.0"},
                               {.present = true, .s = "10.0.0.1"},
                               {.present = false},
                               {.present = true, .items = parents, .n_items = 2},
                               {.present = true, .s = "ShAdDaFf"}};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(sl_wire_batch_add(bt, &conn_s, r1), 0);
    struct sl_wire_buf b = {0};
    ck_assert_int_eq(sl_wire_batch_finish(bt, "worker-1", 1, &b), 0);
    sl_wire_batch_free(bt);

    struct sl_wire_msg m;
    char err[200];
    for (size_t n = 0; n < b.len; n++) {
        int rc = sl_wire_decode(b.data, n, &m, err, sizeof(err));
        ck_assert_int_eq(rc, -EBADMSG);
        ck_assert_uint_gt(strlen(err), 0);
        sl_wire_msg_clear(&m);
    }
    unsigned seed = 12345;
    char *copy = malloc(b.len);
    unsigned accepted = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(copy, b.data, b.len);
        int flips = 1 + (int)(lcg(&seed) % 4);
        for (int f = 0; f < flips; f++)
            copy[lcg(&seed) % b.len] ^= (char)(1u << (lcg(&seed) % 8));
        int rc = sl_wire_decode(copy, b.len, &m, err, sizeof(err));
        ck_assert(rc == 0 || rc == -EBADMSG);
        accepted += rc == 0;
        sl_wire_msg_clear(&m);
    }
    ck_assert_uint_lt(accepted, 20000);
    uint8_t rnd[512];
    for (int i = 0; i < 20000; i++) {
        size_t n = lcg(&seed) % sizeof(rnd);
        for (size_t k = 0; k < n; k++)
            rnd[k] = (uint8_t)lcg(&seed);
        if (n >= 2 && (i & 1)) {
            rnd[0] = SL_WIRE_VERSION; /* get past the header half the time */
            rnd[1] = (uint8_t)(1 + lcg(&seed) % (SL_WIRE_TYPE_MAX - 1));
        }
        int rc = sl_wire_decode(rnd, n, &m, err, sizeof(err));
        ck_assert(rc == 0 || rc == -EBADMSG);
        sl_wire_msg_clear(&m);
    }
    free(copy);
    sl_wire_buf_free(&b);
}
END_TEST

START_TEST(seen_set)
{
    struct sl_wire_seen *s = sl_wire_seen_new();
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sl_wire_seen_add(s, "w1", 1), 1);
    ck_assert_int_eq(sl_wire_seen_add(s, "w1", 1), 0);
    ck_assert_int_eq(sl_wire_seen_add(s, "w2", 1), 1);
    ck_assert(sl_wire_seen_has(s, "w1", 1));
    ck_assert(!sl_wire_seen_has(s, "w1", 2));
    char node[32];
    for (unsigned i = 0; i < 20000; i++) {
        snprintf(node, sizeof(node), "n%u", i % 37);
        ck_assert_int_ge(sl_wire_seen_add(s, node, i), 0);
    }
    ck_assert_uint_eq(sl_wire_seen_count(s), 20002);
    for (unsigned i = 0; i < 20000; i++) {
        snprintf(node, sizeof(node), "n%u", i % 37);
        ck_assert(sl_wire_seen_has(s, node, i));
        snprintf(node, sizeof(node), "n%u", (i + 1) % 37);
        ck_assert(!sl_wire_seen_has(s, node, i));
    }
    sl_wire_seen_free(s);
    ck_assert_uint_ne(sl_wire_hash("a"), sl_wire_hash("b"));
    ck_assert_str_eq(sl_wire_role_name(sl_wire_role_parse("proxy")), "proxy");
    ck_assert_uint_eq(sl_wire_role_parse("toaster"), 0);
}
END_TEST

/* ---- module payloads: what a worker raises is what the manager sees ---- */

static char lines[2][1024];
static int nline;

static void keep_line(void *ctx, const struct sl_log_val *vals)
{
    (void)ctx;
    ck_assert_int_gt(
        sl_log_format_line(&sl_notice_schema, SL_LOG_TSV, vals, lines[nline], sizeof(lines[0])), 0);
    nline++;
}

static void v4(uint8_t a[16], uint8_t x, uint8_t y)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[13] = 1;
    a[14] = x;
    a[15] = y;
}

START_TEST(notice_round_trip)
{
    struct sl_notice n = {.ts = 1700000012.345678,
                          .note = "Scan::Port_Scan",
                          .msg =
                              "10.1.0.5 scanned at least 15 unique ports of host 10.1.0.9 in 0m3s",
                          .sub = "local",
                          .uid = "CabcDEF12",
                          .has_id = true,
                          .orig_p = 4444,
                          .resp_p = 22,
                          .id_proto = 6,
                          .fuid = NULL,
                          .has_src = true,
                          .has_dst = true,
                          .has_p = true,
                          .p = 22,
                          .p_proto = 6,
                          .has_n = true,
                          .n = 15,
                          .peer_descr = "worker-2",
                          .identifier = "10.1.0.5",
                          .has_suppress_for = true,
                          .suppress_for = 1800};
    v4(n.orig_h, 0, 5);
    v4(n.resp_h, 0, 9);
    v4(n.src, 0, 5);
    memset(n.dst, 0, 16);
    n.dst[0] = 0x20; /* an IPv6 destination */
    n.dst[1] = 0x01;
    n.dst[15] = 9;

    struct sl_log_val vals[SL_WIRE_NOTICE_FIELDS];
    struct sl_wire_notice_buf nb;
    sl_wire_notice_to_vals(&n, vals, &nb);
    struct sl_wire_notice m = {.node = "worker-2",
                               .seq = 3,
                               .ts = n.ts,
                               .note = n.note,
                               .identifier = n.identifier,
                               .suppress_for = 1800,
                               .rec = {sl_wire_notice_schema, 1, vals}};
    struct sl_wire_buf b = {0};
    ck_assert_int_eq(sl_wire_enc_notice(&b, &m), 0);
    struct sl_wire_msg msg;
    decode_ok(&b, &msg, SL_WIRE_NOTICE);
    struct sl_notice back;
    ck_assert_int_eq(sl_wire_notice_from_vals(&msg.u.notice.rec, &back), 0);
    ck_assert(back.ts == n.ts);
    ck_assert_str_eq(back.msg, n.msg);
    ck_assert_int_eq(memcmp(back.dst, n.dst, 16), 0);
    ck_assert_uint_eq(back.n, 15);
    ck_assert_ptr_null(back.fuid);

    /* through sl_notice, both give the same notice.log line */
    struct sl_notice_cfg cfg = {.default_suppression_interval = 3600, .record = keep_line};
    struct sl_notice_ctx *c1 = sl_notice_new(&cfg), *c2 = sl_notice_new(&cfg);
    nline = 0;
    ck_assert_int_eq(sl_notice_raise(c1, &n, NULL), 0);
    ck_assert_int_eq(sl_notice_raise(c2, &back, NULL), 0);
    ck_assert_int_eq(nline, 2);
    ck_assert_str_eq(lines[0], lines[1]);
    /* and the decoded one is suppressed like the original would be */
    bool logged = true;
    ck_assert_int_eq(sl_notice_raise(c2, &back, &logged), 0);
    ck_assert(!logged);
    sl_notice_free(c1);
    sl_notice_free(c2);
    sl_wire_msg_clear(&msg);

    /* a notice record that does not parse is refused */
    vals[6].s = "not a port";
    sl_wire_buf_reset(&b);
    ck_assert_int_eq(sl_wire_enc_notice(&b, &m), 0);
    decode_ok(&b, &msg, SL_WIRE_NOTICE);
    ck_assert_int_eq(sl_wire_notice_from_vals(&msg.u.notice.rec, &back), -EINVAL);
    sl_wire_msg_clear(&msg);
    sl_wire_buf_free(&b);
}
END_TEST

START_TEST(scan_and_known_round_trip)
{
    struct sl_wire_buf b = {0};
    struct sl_wire_msg msg;
    struct sl_scan_obs o = {.ts = 1700000001.25, .port = 445, .proto = 6}, o2;
    v4(o.scanner, 7, 7);
    memset(o.victim, 0, 16);
    o.victim[0] = 0xfe;
    o.victim[1] = 0x80;
    o.victim[15] = 1;
    ck_assert_int_eq(sl_wire_scan_encode(&o, "worker-1", 1, &b), 0);
    decode_ok(&b, &msg, SL_WIRE_SCAN);
    ck_assert_int_eq(sl_wire_scan_decode(&msg.u.scan, &o2), 0);
    ck_assert_int_eq(memcmp(&o, &o2, sizeof(o)), 0);
    sl_wire_msg_clear(&msg);

    struct sl_known_service s = {.ts = 1700000002.000001, .port = 53, .proto = 17, .n_svc = 2}, s2;
    v4(s.host, 254, 83);
    strcpy(s.svc[0], "DNS");
    strcpy(s.svc[1], "");
    struct sl_log_val v[SL_KS_N_FIELDS];
    struct sl_known_recbuf rb;
    char key[96];
    sl_known_service_record(&s, v, &rb);
    ck_assert_int_eq(sl_wire_known_service_key(&s, key, sizeof(key)), 0);
    ck_assert_str_eq(key, "10.1.254.83/53/17");
    struct sl_wire_known k = {.set = "services",
                              .key = key,
                              .origin = "worker-1",
                              .seq = 9,
                              .ts = s.ts,
                              .rec = {sl_known_services_schema, 1, v}};
    sl_wire_buf_reset(&b);
    ck_assert_int_eq(sl_wire_enc_known(&b, &k), 0);
    decode_ok(&b, &msg, SL_WIRE_KNOWN);
    ck_assert_int_eq(sl_wire_known_service(&msg.u.known, &s2), 0);
    ck_assert(s2.ts == s.ts); /* exact, not the rendered %.6f */
    ck_assert_int_eq(memcmp(s2.host, s.host, 16), 0);
    ck_assert_uint_eq(s2.port, 53);
    ck_assert_uint_eq(s2.proto, 17);
    ck_assert_uint_eq(s2.n_svc, 2);
    ck_assert_str_eq(s2.svc[0], "DNS");
    ck_assert_str_eq(s2.svc[1], "");
    struct sl_known_host h;
    ck_assert_int_eq(sl_wire_known_host(&msg.u.known, &h), -EINVAL); /* not a host record */
    sl_wire_msg_clear(&msg);

    struct sl_known_host kh = {.ts = 5.5}, kh2;
    memset(kh.host, 0, 16);
    kh.host[0] = 0x20;
    kh.host[15] = 1;
    struct sl_log_val hv[SL_KH_N_FIELDS];
    sl_known_host_record(&kh, hv, &rb);
    ck_assert_int_eq(sl_wire_known_host_key(&kh, key, sizeof(key)), 0);
    struct sl_wire_known kk = {.set = "hosts",
                               .key = key,
                               .origin = "w",
                               .seq = 1,
                               .ts = 5.5,
                               .rec = {sl_known_hosts_schema, 1, hv}};
    sl_wire_buf_reset(&b);
    ck_assert_int_eq(sl_wire_enc_known(&b, &kk), 0);
    decode_ok(&b, &msg, SL_WIRE_KNOWN);
    ck_assert_int_eq(sl_wire_known_host(&msg.u.known, &kh2), 0);
    ck_assert_int_eq(memcmp(&kh, &kh2, sizeof(kh)), 0);
    sl_wire_msg_clear(&msg);
    sl_wire_buf_free(&b);

    uint8_t a[16];
    ck_assert_int_eq(sl_wire_addr_parse("10.0.0.1", a), 0);
    ck_assert_uint_eq(a[11], 0xff);
    ck_assert_int_eq(sl_wire_addr_parse("::1", a), 0);
    ck_assert_int_eq(sl_wire_addr_parse("10.0.0.256", a), -EINVAL);
    ck_assert_int_eq(sl_wire_addr_parse("", a), -EINVAL);
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, batch_round_trip);
    tcase_add_test(tc, other_types_round_trip);
    tcase_add_test(tc, encoder_refuses_bad_names);
    tcase_add_test(tc, decoder_rejects_garbage);
    tcase_add_test(tc, empty_strings);
    tcase_add_test(tc, decoder_survives_fuzz);
    tcase_add_test(tc, seen_set);
    tcase_add_test(tc, notice_round_trip);
    tcase_add_test(tc, scan_and_known_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
