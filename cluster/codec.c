/* Cluster codecs: the structs of sl_notice, sl_scan and sl_known as sl_wire
 * messages and back. Text in, text out: every field a log would show. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_common.h"
#include "sl_pkt.h"

int nc_addr_parse(const char *s, uint8_t out[16])
{
    struct in_addr a4;
    if (!s)
        return -EINVAL;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(out, pfx, 12);
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
}

static const struct sl_log_field notice_fields[NC_NOTICE_FIELDS] = {
    {"ts", SL_LT_TIME},          {"note", SL_LT_STRING},       {"msg", SL_LT_STRING},
    {"sub", SL_LT_STRING},       {"uid", SL_LT_STRING},        {"id.orig_h", SL_LT_ADDR},
    {"id.orig_p", SL_LT_COUNT},  {"id.resp_h", SL_LT_ADDR},    {"id.resp_p", SL_LT_COUNT},
    {"id.proto", SL_LT_COUNT},   {"fuid", SL_LT_STRING},       {"file_mime_type", SL_LT_STRING},
    {"file_desc", SL_LT_STRING}, {"src", SL_LT_ADDR},          {"dst", SL_LT_ADDR},
    {"p", SL_LT_COUNT},          {"p_proto", SL_LT_COUNT},     {"n", SL_LT_COUNT},
    {"peer_descr", SL_LT_STRING}, {"identifier", SL_LT_STRING}, {"suppress_for", SL_LT_INTERVAL},
};
const struct sl_log_schema nc_notice_schema = {"notice_raise", NC_NOTICE_FIELDS, notice_fields};

static struct sl_log_val str_val(const char *s)
{
    return (struct sl_log_val){.present = s != NULL, .s = s};
}

void nc_notice_to_vals(const struct sl_notice *n, struct sl_log_val *v, struct nc_notice_buf *b)
{
    memset(v, 0, NC_NOTICE_FIELDS * sizeof(*v));
    v[0] = str_val(sl_log_fmt_time(n->ts, b->ts, sizeof(b->ts)));
    v[1] = str_val(n->note);
    v[2] = str_val(n->msg);
    v[3] = str_val(n->sub);
    v[4] = str_val(n->uid);
    if (n->has_id) {
        v[5] = str_val(sl_pkt_addr_str(n->orig_h, b->orig_h, sizeof(b->orig_h)));
        v[6] = str_val(sl_log_fmt_u64(n->orig_p, b->num[0], sizeof(b->num[0])));
        v[7] = str_val(sl_pkt_addr_str(n->resp_h, b->resp_h, sizeof(b->resp_h)));
        v[8] = str_val(sl_log_fmt_u64(n->resp_p, b->num[1], sizeof(b->num[1])));
        v[9] = str_val(sl_log_fmt_u64(n->id_proto, b->num[2], sizeof(b->num[2])));
    }
    v[10] = str_val(n->fuid);
    v[11] = str_val(n->file_mime_type);
    v[12] = str_val(n->file_desc);
    if (n->has_src)
        v[13] = str_val(sl_pkt_addr_str(n->src, b->src, sizeof(b->src)));
    if (n->has_dst)
        v[14] = str_val(sl_pkt_addr_str(n->dst, b->dst, sizeof(b->dst)));
    if (n->has_p) {
        v[15] = str_val(sl_log_fmt_u64(n->p, b->num[3], sizeof(b->num[3])));
        v[16] = str_val(sl_log_fmt_u64(n->p_proto, b->num[4], sizeof(b->num[4])));
    }
    if (n->has_n)
        v[17] = str_val(sl_log_fmt_u64(n->n, b->num[5], sizeof(b->num[5])));
    v[18] = str_val(n->peer_descr);
    v[19] = str_val(n->identifier);
    if (n->has_suppress_for) {
        snprintf(b->sup, sizeof(b->sup), "%.17g", n->suppress_for);
        v[20] = str_val(b->sup);
    }
}

static int num_field(const struct sl_log_val *v, uint64_t max, uint64_t *out)
{
    char *end;
    if (!v->present || !v->s || !*v->s)
        return -EINVAL;
    errno = 0;
    unsigned long long x = strtoull(v->s, &end, 10);
    if (errno || *end || x > max || v->s[0] == '-')
        return -EINVAL;
    *out = x;
    return 0;
}

int nc_notice_from_vals(const struct sl_wire_section *rec, struct sl_notice *n)
{
    const struct sl_log_schema *s = &rec->schema;
    if (rec->n_records != 1 || strcmp(s->path, nc_notice_schema.path) != 0 ||
        s->n_fields != NC_NOTICE_FIELDS)
        return -EINVAL;
    for (unsigned i = 0; i < NC_NOTICE_FIELDS; i++)
        if (strcmp(s->fields[i].name, notice_fields[i].name) != 0)
            return -EINVAL;
    const struct sl_log_val *v = rec->vals;
    uint64_t x;
    char *end;
    memset(n, 0, sizeof(*n));
    if (!v[0].present || !v[1].present)
        return -EINVAL;
    n->ts = strtod(v[0].s, &end);
    if (*end)
        return -EINVAL;
    n->note = v[1].s;
    n->msg = v[2].present ? v[2].s : NULL;
    n->sub = v[3].present ? v[3].s : NULL;
    n->uid = v[4].present ? v[4].s : NULL;
    if (v[5].present) {
        n->has_id = true;
        if (nc_addr_parse(v[5].s, n->orig_h) < 0 || nc_addr_parse(v[7].s, n->resp_h) < 0)
            return -EINVAL;
        if (num_field(&v[6], 65535, &x) < 0)
            return -EINVAL;
        n->orig_p = (uint16_t)x;
        if (num_field(&v[8], 65535, &x) < 0)
            return -EINVAL;
        n->resp_p = (uint16_t)x;
        if (num_field(&v[9], 255, &x) < 0)
            return -EINVAL;
        n->id_proto = (uint8_t)x;
    }
    n->fuid = v[10].present ? v[10].s : NULL;
    n->file_mime_type = v[11].present ? v[11].s : NULL;
    n->file_desc = v[12].present ? v[12].s : NULL;
    if ((n->has_src = v[13].present) && nc_addr_parse(v[13].s, n->src) < 0)
        return -EINVAL;
    if ((n->has_dst = v[14].present) && nc_addr_parse(v[14].s, n->dst) < 0)
        return -EINVAL;
    if ((n->has_p = v[15].present)) {
        if (num_field(&v[15], 65535, &x) < 0)
            return -EINVAL;
        n->p = (uint16_t)x;
        if (num_field(&v[16], 255, &x) < 0)
            return -EINVAL;
        n->p_proto = (uint8_t)x;
    }
    if ((n->has_n = v[17].present) && num_field(&v[17], UINT64_MAX, &n->n) < 0)
        return -EINVAL;
    n->peer_descr = v[18].present ? v[18].s : NULL;
    n->identifier = v[19].present ? v[19].s : NULL;
    if ((n->has_suppress_for = v[20].present)) {
        n->suppress_for = strtod(v[20].s, &end);
        if (*end)
            return -EINVAL;
    }
    return 0;
}

int nc_scan_to_wire(const struct sl_scan_obs *o, const char *node, uint64_t seq,
                    struct sl_wire_buf *b)
{
    char sc[48], vi[48];
    struct sl_wire_scan m = {.node = node, .seq = seq, .ts = o->ts, .kind = 0,
                             .scanner = sl_pkt_addr_str(o->scanner, sc, sizeof(sc)),
                             .victim = sl_pkt_addr_str(o->victim, vi, sizeof(vi)),
                             .port = o->port, .proto = o->proto};
    return sl_wire_enc_scan(b, &m);
}

int nc_scan_from_wire(const struct sl_wire_scan *m, struct sl_scan_obs *o)
{
    memset(o, 0, sizeof(*o));
    o->ts = m->ts;
    o->port = m->port;
    o->proto = m->proto;
    if (nc_addr_parse(m->scanner, o->scanner) < 0 || nc_addr_parse(m->victim, o->victim) < 0)
        return -EINVAL;
    return 0;
}

int nc_known_host_key(const struct sl_known_host *h, char *key, size_t n)
{
    if (n < 48)
        return -ENOSPC;
    sl_pkt_addr_str(h->host, key, n);
    return 0;
}

int nc_known_service_key(const struct sl_known_service *s, char *key, size_t n)
{
    char a[48];
    int w = snprintf(key, n, "%s/%u/%u", sl_pkt_addr_str(s->host, a, sizeof(a)), s->port,
                     s->proto);
    return w < 0 || (size_t)w >= n ? -ENOSPC : 0;
}

static bool rec_is(const struct sl_wire_known *k, const struct sl_log_schema *want)
{
    const struct sl_log_schema *s = &k->rec.schema;
    if (k->rec.n_records != 1 || strcmp(s->path, want->path) != 0 ||
        s->n_fields != want->n_fields)
        return false;
    for (unsigned i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, want->fields[i].name) != 0)
            return false;
    return true;
}

int nc_known_host_from(const struct sl_wire_known *k, struct sl_known_host *h)
{
    memset(h, 0, sizeof(*h));
    if (!rec_is(k, &sl_known_hosts_schema) || !k->rec.vals[SL_KH_HOST].present)
        return -EINVAL;
    h->ts = k->ts;
    return nc_addr_parse(k->rec.vals[SL_KH_HOST].s, h->host);
}

int nc_known_service_from(const struct sl_wire_known *k, struct sl_known_service *s)
{
    memset(s, 0, sizeof(*s));
    if (!rec_is(k, &sl_known_services_schema))
        return -EINVAL;
    const struct sl_log_val *v = k->rec.vals;
    uint64_t port;
    if (!v[SL_KS_HOST].present || nc_addr_parse(v[SL_KS_HOST].s, s->host) < 0 ||
        num_field(&v[SL_KS_PORT_NUM], 65535, &port) < 0 || !v[SL_KS_PORT_PROTO].present)
        return -EINVAL;
    s->ts = k->ts;
    s->port = (uint16_t)port;
    const char *pr = v[SL_KS_PORT_PROTO].s;
    s->proto = strcmp(pr, "tcp") == 0 ? 6 : strcmp(pr, "udp") == 0 ? 17 : 0;
    const struct sl_log_val *svc = &v[SL_KS_SERVICE];
    if (svc->present) {
        for (uint32_t i = 0; i < svc->n_items && i < SL_KNOWN_MAX_SVC; i++) {
            if (strlen(svc->items[i]) >= SL_KNOWN_SVC_LEN)
                return -EINVAL;
            snprintf(s->svc[i], SL_KNOWN_SVC_LEN, "%s", svc->items[i]);
            s->n_svc++;
        }
    }
    return 0;
}
