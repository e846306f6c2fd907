/* sl_ana_mods: the glue between sl_ana's plugin hooks and the DNS, known,
 * scan, notice and stats modules. */
#include "sl_ana_mods.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_dns.h"
#include "sl_stats.h"

#define HIST_UNKNOWN_PKT 0x400 /* Zeek's session/Session.h */
#define NOTICE_SWEEP     60.0

struct mods {
    struct sl_ana *a;
    struct sl_ana_mods_cfg cfg;
    int slot;
    bool self_flip;
    bool started;
    struct sl_known *known;
    struct sl_known_auth *auth;
    struct sl_scan_agg *scan;
    struct sl_notice_ctx *notice;
    struct sl_stats *stats;
    double last_sweep;
    uint64_t active[4], total[4]; /* by enum sl_trans */
};

/* Per-connection state (DNS connections only). */
struct cstate {
    struct mods *m;
    struct sl_conn *c;
    struct sl_dns_state *dns;
    bool known_done;
};

static bool is_local(void *ctx, const uint8_t addr[16])
{
    const struct sl_net *n = sl_ana_local(((struct mods *)ctx)->a);
    return n && sl_net_contains(n, addr);
}

/* ---- notices ---- */

static void notice_record(void *ctx, const struct sl_log_val *vals)
{
    sl_ana_write(((struct mods *)ctx)->a, &sl_notice_schema, vals);
}

static void raise_notice(void *ctx, const struct sl_notice *n)
{
    struct mods *m = ctx;
    struct sl_notice copy = *n;
    if (!copy.peer_descr)
        copy.peer_descr = m->cfg.notice_peer;
    if (m->cfg.notice)
        m->cfg.notice(m->cfg.ctx, &copy);
    else if (m->notice)
        sl_notice_raise(m->notice, &copy, NULL);
}

/* ---- known ---- */

static void host_found(void *ctx, const struct sl_known_host *h)
{
    struct mods *m = ctx;
    if (m->cfg.host_found) {
        m->cfg.host_found(m->cfg.ctx, h);
        return;
    }
    if (!sl_known_auth_host(m->auth, h))
        return;
    struct sl_log_val v[SL_KH_N_FIELDS];
    struct sl_known_recbuf b;
    sl_known_host_record(h, v, &b);
    sl_ana_write(m->a, &sl_known_hosts_schema, v);
}

static void service_found(void *ctx, const struct sl_known_service *s)
{
    struct mods *m = ctx;
    if (m->cfg.service_found) {
        m->cfg.service_found(m->cfg.ctx, s);
        return;
    }
    struct sl_known_service out;
    if (!sl_known_auth_service(m->auth, s, &out))
        return;
    struct sl_log_val v[SL_KS_N_FIELDS];
    struct sl_known_recbuf b;
    sl_known_service_record(&out, v, &b);
    sl_ana_write(m->a, &sl_known_services_schema, v);
}

/* c$service as Zeek holds it: analyzer names upper-case ("DNS"; conn.log
 * shows them lower-cased), script-added names as spelled. */
struct svcnames {
    char buf[SL_CONN_MAX_SERVICES][SL_KNOWN_SVC_LEN];
    const char *p[SL_CONN_MAX_SERVICES];
};

static void known_conn(const struct sl_conn *c, struct sl_known_conn *kc, struct svcnames *sn)
{
    memset(kc, 0, sizeof(*kc));
    memcpy(kc->resp_h, c->resp_h, 16);
    kc->resp_p = c->resp_p;
    kc->proto = c->trans == SL_TRANS_TCP ? 6 : c->trans == SL_TRANS_UDP ? 17 : c->ip_proto;
    kc->resp_state = sl_conn_endp_state(c, false);
    kc->history = sl_conn_history(c);
    kc->resp_size = sl_conn_endp_size(c, false);
    unsigned n = c->n_service < SL_CONN_MAX_SERVICES ? c->n_service : SL_CONN_MAX_SERVICES;
    for (unsigned i = 0; i < n; i++) {
        const char *s = c->service[i] ? c->service[i] : "";
        bool script_added = strcmp(s, "ftp-data") == 0;
        size_t k = 0;
        for (; s[k] && k + 1 < SL_KNOWN_SVC_LEN; k++)
            sn->buf[i][k] = script_added ? s[k] : (char)toupper((unsigned char)s[k]);
        sn->buf[i][k] = 0;
        sn->p[i] = sn->buf[i];
    }
    kc->services = sn->p;
    kc->n_services = n;
}

/* ---- DNS callbacks (ctx = struct cstate) ---- */

static void dns_record(void *ctx, const struct sl_log_val *vals)
{
    sl_ana_write(((struct cstate *)ctx)->m->a, &sl_dns_schema, vals);
}

static void dns_weird(void *ctx, double ts, const char *name, const char *addl)
{
    struct cstate *cs = ctx;
    (void)ts;
    sl_ana_conn_weird(cs->m->a, cs->c, name, addl ? addl : "", "DNS");
}

static void dns_confirm(void *ctx, double ts)
{
    struct cstate *cs = ctx;
    sl_conn_add_service(cs->c, "dns");
    if (cs->m->known) {
        /* analyzer_confirmation_info at priority -5 */
        struct sl_known_conn kc;
        struct svcnames sn;
        known_conn(cs->c, &kc, &sn);
        sl_known_confirmed(cs->m->known, ts, &kc, &cs->known_done);
    }
}

static void dns_failed(void *ctx, double ts, const char *reason)
{
    struct cstate *cs = ctx;
    (void)ts;
    (void)reason;
    sl_conn_del_service(cs->c, "dns");
}

static void dns_flip(void *ctx, double ts)
{
    struct cstate *cs = ctx;
    (void)ts;
    cs->m->self_flip = true;
    sl_conn_flip(sl_ana_conns(cs->m->a), cs->c);
    cs->m->self_flip = false;
}

static void dns_history(void *ctx, char letter)
{
    sl_conn_check_history(((struct cstate *)ctx)->c, HIST_UNKNOWN_PKT, letter);
}

/* ---- scan: scan.zeek's event handlers ---- */

static void on_conn_event(void *ctx, struct sl_ana *a, struct sl_conn *c, enum sl_conn_event ev)
{
    struct mods *m = ctx;
    enum sl_scan_event sev;
    switch (ev) {
    case SL_CONN_EV_ATTEMPT:
        sev = SL_SCAN_EV_ATTEMPT;
        break;
    case SL_CONN_EV_REJECTED:
        sev = SL_SCAN_EV_REJECTED;
        break;
    case SL_CONN_EV_RESET:
        sev = SL_SCAN_EV_RESET;
        break;
    case SL_CONN_EV_PENDING:
        sev = SL_SCAN_EV_PENDING;
        break;
    default:
        return;
    }
    if (!m->cfg.scan || c->trans != SL_TRANS_TCP)
        return;
    struct sl_scan_conn sc = {.orig_p = c->orig_p,
                              .resp_p = c->resp_p,
                              .orig_state = (enum sl_scan_tcp_state)sl_conn_endp_state(c, true),
                              .resp_state = (enum sl_scan_tcp_state)sl_conn_endp_state(c, false),
                              .history = sl_conn_history(c)};
    memcpy(sc.orig_h, c->orig_h, 16);
    memcpy(sc.resp_h, c->resp_h, 16);
    struct sl_scan_obs o;
    if (!sl_scan_conn_obs(sev, &sc, sl_ana_now(a), &o))
        return;
    if (m->cfg.scan_obs)
        m->cfg.scan_obs(m->cfg.ctx, &o);
    else if (m->scan)
        sl_scan_agg_observe(m->scan, &o);
}

/* ---- plugin hooks ---- */

static void on_conn_new(void *ctx, struct sl_ana *a, struct sl_conn *c)
{
    struct mods *m = ctx;
    (void)a;
    if (c->trans < 4) {
        m->active[c->trans]++;
        m->total[c->trans]++;
    }
    if (!m->cfg.dns || (c->trans != SL_TRANS_TCP && c->trans != SL_TRANS_UDP))
        return;
    uint8_t proto = c->trans == SL_TRANS_TCP ? 6 : 17;
    if (!sl_dns_port(proto, c->resp_p))
        return;
    struct cstate *cs = calloc(1, sizeof(*cs));
    if (!cs)
        return;
    struct sl_dns_conn dc = {.orig_p = c->orig_p, .resp_p = c->resp_p, .proto = proto};
    memcpy(dc.orig_h, c->orig_h, 16);
    memcpy(dc.resp_h, c->resp_h, 16);
    snprintf(dc.uid, sizeof(dc.uid), "%s", c->uid);
    struct sl_dns_cbs cb = {cs,         dns_record, dns_weird,  dns_confirm,
                            dns_failed, dns_flip,   dns_history};
    cs->m = m;
    cs->c = c;
    cs->dns = sl_dns_new(&dc, &cb);
    if (!cs->dns) {
        free(cs);
        return;
    }
    c->mod[m->slot] = cs;
    if (proto == 6)
        c->want |= SL_CONN_WANT_STREAM;
}

static void on_established(void *ctx, struct sl_ana *a, struct sl_conn *c)
{
    struct mods *m = ctx;
    if (m->known)
        sl_known_established(m->known, sl_ana_now(a), c->orig_h, c->resp_h,
                             sl_conn_endp_state(c, true), sl_conn_endp_state(c, false));
}

static void on_flipped(void *ctx, struct sl_ana *a, struct sl_conn *c)
{
    struct mods *m = ctx;
    struct cstate *cs = c->mod[m->slot];
    (void)a;
    if (cs && !m->self_flip)
        sl_dns_flip(cs->dns);
}

static void on_removed(void *ctx, struct sl_ana *a, struct sl_conn *c,
                       const struct sl_conn_rec *rec)
{
    struct mods *m = ctx;
    struct cstate *cs = c->mod[m->slot];
    double now = sl_ana_now(a);
    (void)rec;
    if (c->trans < 4 && m->active[c->trans])
        m->active[c->trans]--;
    if (cs) {
        /* finalize_dns is a removal hook: it runs before conn.log's write */
        sl_dns_conn_end(cs->dns, now);
    }
    if (m->known) {
        struct sl_known_conn kc;
        struct svcnames sn;
        bool done = cs && cs->known_done;
        known_conn(c, &kc, &sn);
        sl_known_removed(m->known, now, &kc, &done);
    }
    if (cs) {
        sl_dns_free(cs->dns);
        free(cs);
        c->mod[m->slot] = NULL;
    }
}

static void on_udp(void *ctx, struct sl_ana *a, struct sl_conn *c, bool is_orig, const uint8_t *d,
                   uint32_t n)
{
    struct cstate *cs = c->mod[((struct mods *)ctx)->slot];
    if (cs)
        sl_dns_deliver(cs->dns, is_orig, sl_ana_now(a), d, n);
}

static void on_tcp_data(void *ctx, struct sl_ana *a, struct sl_conn *c, bool is_orig,
                        const uint8_t *d, uint32_t n)
{
    on_udp(ctx, a, c, is_orig, d, n); /* sl_dns frames TCP itself */
}

static void on_tcp_closed(void *ctx, struct sl_ana *a, struct sl_conn *c, bool is_orig)
{
    struct cstate *cs = c->mod[((struct mods *)ctx)->slot];
    (void)is_orig;
    if (cs)
        sl_dns_tcp_closed(cs->dns, sl_ana_now(a));
}

static void snapshot(struct mods *m, struct sl_stats_snap *s)
{
    struct sl_ana_stats st;
    sl_ana_get_stats(m->a, &st);
    memset(s, 0, sizeof(*s));
    s->pkts_recvd = st.packets;
    s->bytes_recvd = st.bytes;
    s->mem_bytes = sl_stats_rss();
    uint64_t recvd;
    if (m->cfg.live_stats && m->cfg.live_stats(m->cfg.ctx, &recvd, &s->pkts_dropped, &s->pkts_link))
        s->live = true;
    s->has_conns = true;
    s->active_tcp = m->active[SL_TRANS_TCP];
    s->active_udp = m->active[SL_TRANS_UDP];
    s->active_icmp = m->active[SL_TRANS_ICMP];
    s->total_tcp = m->total[SL_TRANS_TCP];
    s->total_udp = m->total[SL_TRANS_UDP];
    s->total_icmp = m->total[SL_TRANS_ICMP];
    /* sluice analyses no files and makes no DNS lookups of its own */
    s->has_files = s->has_dns = true;
    s->ack_events = st.conns.ack_events;
    s->gap_events = st.conns.gap_events;
}

static void on_tick(void *ctx, struct sl_ana *a, double now)
{
    struct mods *m = ctx;
    (void)a;
    if (!m->started) {
        /* the scan epochs start at the first packet, as SumStats' do */
        m->started = true;
        if (m->scan)
            sl_scan_agg_start(m->scan, now);
    }
    if (m->known)
        sl_known_advance(m->known, now);
    if (m->scan)
        sl_scan_agg_advance(m->scan, now);
    if (m->notice && now - m->last_sweep >= NOTICE_SWEEP) {
        sl_notice_expire(m->notice, now);
        m->last_sweep = now;
    }
    if (m->stats && sl_stats_due(m->stats, now)) {
        struct sl_stats_snap s;
        snapshot(m, &s);
        sl_stats_tick(m->stats, now, &s);
    }
}

static void on_finish(void *ctx, struct sl_ana *a, double now)
{
    struct mods *m = ctx;
    (void)a;
    if (m->known)
        sl_known_flush(m->known);
    if (m->scan)
        sl_scan_agg_flush(m->scan);
    if (m->stats) {
        struct sl_stats_snap s;
        snapshot(m, &s);
        sl_stats_finish(m->stats, now, &s);
    }
}

/* ---- attach / detach ---- */

void sl_ana_mods_cfg_default(struct sl_ana_mods_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->dns = cfg->known = cfg->scan = cfg->stats = true;
}

static void stats_record(void *ctx, const struct sl_log_val *vals)
{
    sl_ana_write(((struct mods *)ctx)->a, &sl_stats_schema, vals);
}

static void loss_record(void *ctx, const struct sl_log_val *vals)
{
    sl_ana_write(((struct mods *)ctx)->a, &sl_capture_loss_schema, vals);
}

void sl_ana_mods_detach(void *state)
{
    struct mods *m = state;
    if (!m)
        return;
    sl_known_free(m->known);
    sl_known_auth_free(m->auth);
    sl_scan_agg_free(m->scan);
    sl_notice_free(m->notice);
    sl_stats_free(m->stats);
    free(m);
}

static int build(struct mods *m)
{
    if (m->cfg.known) {
        struct sl_known_cfg kc;
        sl_known_cfg_default(&kc);
        kc.ctx = m;
        kc.is_local = is_local;
        kc.host_found = host_found;
        kc.service_found = service_found;
        if (!(m->known = sl_known_new(&kc)))
            return -errno;
        if (!m->cfg.host_found || !m->cfg.service_found)
            if (!(m->auth = sl_known_auth_new(kc.expire, 0)))
                return -errno;
    }
    if (!m->cfg.notice) {
        struct sl_notice_cfg nc = {3600.0, 0, m, notice_record};
        if (!(m->notice = sl_notice_new(&nc)))
            return -errno;
    }
    if (m->cfg.scan && !m->cfg.scan_obs) {
        struct sl_scan_cfg sc;
        sl_scan_cfg_default(&sc);
        sc.ctx = m;
        sc.is_local = is_local;
        sc.notice = raise_notice;
        if (!(m->scan = sl_scan_agg_new(&sc)))
            return -errno;
    }
    if (m->cfg.stats) {
        struct sl_stats_cfg st;
        sl_stats_cfg_default(&st);
        st.peer = sl_ana_peer(m->a);
        st.ctx = m;
        st.stats_record = stats_record;
        st.loss_record = loss_record;
        st.notice = raise_notice;
        if (!(m->stats = sl_stats_new(&st)))
            return -errno;
    }
    return 0;
}

int sl_ana_mods_attach_cfg(struct sl_ana *a, const struct sl_ana_mods_cfg *cfg, void **state)
{
    if (!a || !cfg || !state)
        return -EINVAL;
    struct mods *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->a = a;
    m->cfg = *cfg;
    int rc = build(m);
    if (rc < 0)
        goto fail;
    struct sl_ana_plugin p = {
        .name = "zeek",
        .ctx = m,
        .conn_new = on_conn_new,
        .conn_established = on_established,
        .conn_flipped = on_flipped,
        .conn_removed = on_removed,
        .udp_payload = on_udp,
        .tcp_data = on_tcp_data,
        .tcp_closed = on_tcp_closed,
        .tick = on_tick,
        .finish = on_finish,
        .conn_event = on_conn_event,
    };
    rc = sl_ana_add_plugin(a, &p);
    if (rc < 0)
        goto fail;
    m->slot = rc;
    *state = m;
    return 0;
fail:
    sl_ana_mods_detach(m);
    return rc;
}

int sl_ana_mods_attach(struct sl_ana *a, void **state)
{
    struct sl_ana_mods_cfg cfg;
    sl_ana_mods_cfg_default(&cfg);
    return sl_ana_mods_attach_cfg(a, &cfg, state);
}

struct sl_known *sl_ana_mods_known(void *state)
{
    return state ? ((struct mods *)state)->known : NULL;
}
