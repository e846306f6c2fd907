/* libFuzzer target for sl_wire_decode (cluster messages read from sockets).
 *
 * Input: one message, as one ZeroMQ frame would carry it. Every decoded
 * field is read (strings to their NUL, every record value against its
 * schema), and an accepted message must survive a round trip: its
 * re-encoding decodes again and re-encodes to the same bytes, so the
 * decoder accepts nothing the encoder would refuse or encode differently. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_wire.h"

/* A double's bits: a cast of NaN or infinity to an integer is undefined. */
static uint64_t dbl(double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    return v;
}

static uint64_t str(const char *s)
{
    CHECK(s != NULL);
    return strlen(s);
}

static uint64_t touch_section(const struct sl_wire_section *sec)
{
    const struct sl_log_schema *sc = &sec->schema;
    uint64_t h = str(sc->path);

    CHECK(sc->n_fields <= SL_WIRE_MAX_FIELDS);
    for (unsigned f = 0; f < sc->n_fields; f++) {
        CHECK(sl_wire_name_ok(sc->fields[f].name));
        CHECK((unsigned)sc->fields[f].type < SL_LT_MAX);
        h = mix(h, str(sc->fields[f].name) << 8 | sc->fields[f].type);
    }
    for (uint64_t i = 0; i < (uint64_t)sec->n_records * sc->n_fields; i++) {
        const struct sl_log_val *v = &sec->vals[i];
        h = mix(h, v->present);
        if (!v->present)
            continue;
        if (v->s)
            h = mix(h, str(v->s));
        for (uint32_t k = 0; k < v->n_items; k++)
            h = mix(h, str(v->items[k]));
    }
    return h;
}

static uint64_t touch(const struct sl_wire_msg *m)
{
    uint64_t h = mix(m->version, m->type);

    CHECK(m->version == SL_WIRE_VERSION);
    h = mix(h, str(sl_wire_type_name(m->type)));
    switch (m->type) {
    case SL_WIRE_LOG:
        h = mix(h, str(m->u.log.node) ^ m->u.log.seq);
        for (uint32_t i = 0; i < m->u.log.n_sections; i++)
            h = mix(h, touch_section(&m->u.log.sections[i]));
        break;
    case SL_WIRE_KNOWN: {
        const struct sl_wire_known *k = &m->u.known;
        h = mix(h, str(k->set) ^ str(k->key) ^ str(k->origin) ^ str(k->entry));
        h = mix(h, k->seq ^ k->epoch ^ k->hops ^ k->flags ^ dbl(k->ts));
        CHECK(k->rec.n_records == 1);
        h = mix(h, touch_section(&k->rec));
        break;
    }
    case SL_WIRE_SCAN: {
        const struct sl_wire_scan *s = &m->u.scan;
        h = mix(h, str(s->node) ^ str(s->scanner) ^ str(s->victim));
        h = mix(h, s->seq ^ s->kind ^ s->port ^ s->proto ^ dbl(s->ts));
        break;
    }
    case SL_WIRE_NOTICE: {
        const struct sl_wire_notice *n = &m->u.notice;
        h = mix(h, str(n->node) ^ str(n->note) ^ (n->identifier ? str(n->identifier) : 0));
        h = mix(h, n->seq ^ dbl(n->ts) ^ dbl(n->suppress_for));
        CHECK(n->rec.n_records == 1);
        h = mix(h, touch_section(&n->rec));
        break;
    }
    case SL_WIRE_HEARTBEAT:
        h = mix(h, str(m->u.hb.node) ^ m->u.hb.role ^ m->u.hb.seq ^ dbl(m->u.hb.wall));
        h = mix(h, str(sl_wire_role_name(m->u.hb.role)));
        for (uint32_t i = 0; i < m->u.hb.n_counters; i++)
            h = mix(h, str(m->u.hb.counters[i].name) ^ m->u.hb.counters[i].value);
        break;
    case SL_WIRE_CONTROL:
        h = mix(h, str(m->u.ctl.node) ^ m->u.ctl.kind ^ m->u.ctl.epoch);
        for (uint32_t i = 0; i < m->u.ctl.n_names; i++)
            h = mix(h, str(m->u.ctl.names[i]));
        break;
    case SL_WIRE_ACK:
        h = mix(h, str(m->u.ack.node) ^ str(m->u.ack.origin) ^ m->u.ack.of_type ^ m->u.ack.seq);
        break;
    case SL_WIRE_CLOCK:
        h = mix(h, str(m->u.clock.node) ^ m->u.clock.epoch ^ dbl(m->u.clock.ts));
        break;
    default:
        CHECK(0); /* decode accepted a type it does not know */
    }
    return h;
}

static int encode(struct sl_wire_buf *b, const struct sl_wire_msg *m)
{
    switch (m->type) {
    case SL_WIRE_LOG:
        return sl_wire_enc_log(b, &m->u.log);
    case SL_WIRE_KNOWN:
        return sl_wire_enc_known(b, &m->u.known);
    case SL_WIRE_SCAN:
        return sl_wire_enc_scan(b, &m->u.scan);
    case SL_WIRE_NOTICE:
        return sl_wire_enc_notice(b, &m->u.notice);
    case SL_WIRE_HEARTBEAT:
        return sl_wire_enc_heartbeat(b, &m->u.hb);
    case SL_WIRE_CONTROL:
        return sl_wire_enc_control(b, &m->u.ctl);
    case SL_WIRE_ACK:
        return sl_wire_enc_ack(b, &m->u.ack);
    case SL_WIRE_CLOCK:
        return sl_wire_enc_clock(b, &m->u.clock);
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_wire_msg m, m2;
    struct sl_wire_buf b1 = {0}, b2 = {0};
    char err[128];

    memset(&m, 0, sizeof(m));
    memset(&m2, 0, sizeof(m2));
    int rc = sl_wire_decode(data, size, &m, err, sizeof(err));
    if (rc < 0) {
        CHECK(memchr(err, 0, sizeof(err)) != NULL);
        sink = mix(sink, strlen(err));
        goto out;
    }
    sink = mix(sink, touch(&m));
    CHECK(encode(&b1, &m) == 0);
    CHECK(sl_wire_decode(b1.data, b1.len, &m2, err, sizeof(err)) == 0);
    CHECK(m2.type == m.type);
    CHECK(encode(&b2, &m2) == 0);
    CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
out:
    sl_wire_msg_clear(&m);
    sl_wire_msg_clear(&m2);
    sl_wire_buf_free(&b1);
    sl_wire_buf_free(&b2);
    return 0;
}
