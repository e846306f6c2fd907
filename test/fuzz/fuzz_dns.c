/* libFuzzer target for sl_dns (DNS payloads of one connection).
 *
 * Input: one flags byte, then chunks. Flags: bit 0 TCP (the chunks are
 * pieces of each direction's byte stream, split anywhere) else UDP (each
 * chunk one datagram); bit 1 responder port 137/udp (NetBIOS names) or
 * 5353 (multicast) with bit 2, else 53; bit 3 call sl_dns_tcp_closed
 * before the end; bit 4 the tracker flips roles half way. A chunk is a
 * 2-byte big-endian header, top bit "from the originator", low 15 bits the
 * length (cut at the end of the input), then the bytes. Every record the
 * state emits is read field by field, every weird and failure reason read,
 * and the state freed after sl_dns_conn_end, so a leak of pending messages
 * shows. fuzz_mkseed writes seeds in this format. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_dns.h"

static void on_record(void *ctx, const struct sl_log_val *vals)
{
    uint64_t h = 0;

    (void)ctx;
    CHECK(sl_dns_schema.n_fields == SL_DNS_N_FIELDS);
    for (unsigned i = 0; i < SL_DNS_N_FIELDS; i++) {
        const struct sl_log_val *v = &vals[i];
        if (!v->present)
            continue;
        if (v->s)
            h = mix(h, strlen(v->s));
        CHECK(v->n_items == 0 || v->items != NULL);
        for (uint32_t k = 0; k < v->n_items; k++)
            h = mix(h, strlen(v->items[k]));
    }
    CHECK(vals[SL_DNS_UID].present && strcmp(vals[SL_DNS_UID].s, "CfuzzUid") == 0);
    /* answers and TTLs are parallel lists */
    CHECK(vals[SL_DNS_ANSWERS].present == vals[SL_DNS_TTLS].present);
    if (vals[SL_DNS_ANSWERS].present)
        CHECK(vals[SL_DNS_ANSWERS].n_items == vals[SL_DNS_TTLS].n_items);
    sink = mix(sink, h);
}

static void on_weird(void *ctx, double ts, const char *name, const char *addl)
{
    (void)ctx;
    (void)ts;
    CHECK(name && *name);
    sink = mix(sink, strlen(name) ^ (addl ? strlen(addl) << 16 : 0));
}

static void on_confirm(void *ctx, double ts)
{
    (void)ctx;
    sink = mix(sink, (uint64_t)ts);
}

static void on_failed(void *ctx, double ts, const char *reason)
{
    (void)ctx;
    (void)ts;
    sink = mix(sink, reason ? strlen(reason) : 0);
}

static void on_flip(void *ctx, double ts)
{
    (void)ts;
    *(bool *)ctx = !*(bool *)ctx;
}

static void on_history(void *ctx, char letter)
{
    (void)ctx;
    CHECK(letter == 'X');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_dns_conn conn = {
        .orig_h = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 1},
        .resp_h = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 53},
        .orig_p = 40000,
        .uid = "CfuzzUid",
    };
    bool flipped = false;
    struct sl_dns_cbs cbs = {
        .ctx = &flipped,
        .record = on_record,
        .weird = on_weird,
        .confirm = on_confirm,
        .failed = on_failed,
        .flip = on_flip,
        .history = on_history,
    };

    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    conn.proto = (flags & 1) ? 6 : 17;
    conn.resp_p = (flags & 1) ? 53 : (flags & 2) ? 137 : (flags & 4) ? 5353 : 53;
    struct sl_dns_state *s = sl_dns_new(&conn, &cbs);
    CHECK(s != NULL);

    size_t pos = 1;
    double ts = 1.0;
    unsigned n = 0;
    while (pos + 2 <= size) {
        bool is_orig = (data[pos] & 0x80) != 0;
        size_t len = ((size_t)(data[pos] & 0x7f) << 8) | data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        CHECK(sl_dns_deliver(s, is_orig, ts, data + pos, len) == 0);
        pos += len;
        ts += 0.25;
        if ((flags & 16) && ++n == 2)
            sl_dns_flip(s);
    }
    if ((flags & 8) && conn.proto == 6)
        sl_dns_tcp_closed(s, ts);
    const struct sl_dns_counters *c = sl_dns_counters(s);
    uint64_t before = c->records;
    sink = mix(sink, c->msgs ^ c->weirds ^ c->nul_cut ^ c->ans_drop ^ sl_dns_disabled(s));
    sl_dns_conn_end(s, ts + 1);
    CHECK(sl_dns_counters(s)->records >= before);
    sl_dns_free(s);
    return 0;
}
