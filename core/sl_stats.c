/* sl_stats: stats.log and capture_loss.log record builders and timers. */
#include "sl_stats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct sl_log_field stats_fields[SL_ST_N_FIELDS] = {
    {"ts", SL_LT_TIME},
    {"peer", SL_LT_STRING},
    {"mem", SL_LT_COUNT},
    {"pkts_proc", SL_LT_COUNT},
    {"bytes_recv", SL_LT_COUNT},
    {"pkts_dropped", SL_LT_COUNT},
    {"pkts_link", SL_LT_COUNT},
    {"pkt_lag", SL_LT_INTERVAL},
    {"pkts_filtered", SL_LT_COUNT},
    {"events_proc", SL_LT_COUNT},
    {"events_queued", SL_LT_COUNT},
    {"active_tcp_conns", SL_LT_COUNT},
    {"active_udp_conns", SL_LT_COUNT},
    {"active_icmp_conns", SL_LT_COUNT},
    {"tcp_conns", SL_LT_COUNT},
    {"udp_conns", SL_LT_COUNT},
    {"icmp_conns", SL_LT_COUNT},
    {"timers", SL_LT_COUNT},
    {"active_timers", SL_LT_COUNT},
    {"files", SL_LT_COUNT},
    {"active_files", SL_LT_COUNT},
    {"dns_requests", SL_LT_COUNT},
    {"active_dns_requests", SL_LT_COUNT},
    {"reassem_tcp_size", SL_LT_COUNT},
    {"reassem_file_size", SL_LT_COUNT},
    {"reassem_frag_size", SL_LT_COUNT},
    {"reassem_unknown_size", SL_LT_COUNT},
};

static const struct sl_log_field loss_fields[SL_CL_N_FIELDS] = {
    {"ts", SL_LT_TIME},    {"ts_delta", SL_LT_INTERVAL}, {"peer", SL_LT_STRING},
    {"gaps", SL_LT_COUNT}, {"acks", SL_LT_COUNT},        {"percent_lost", SL_LT_DOUBLE},
};

const struct sl_log_schema sl_stats_schema = {"stats", SL_ST_N_FIELDS, stats_fields};
const struct sl_log_schema sl_capture_loss_schema = {"capture_loss", SL_CL_N_FIELDS, loss_fields};

struct sl_stats {
    struct sl_stats_cfg cfg;
    char *peer;
    bool st_started;
    double st_due;
    struct sl_stats_snap last; /* the previous record's counters */
    int cl_phase;              /* 0: no packet yet, 1: a measurement is scheduled */
    double cl_due, cl_last_ts;
    uint64_t cl_last_acks, cl_last_gaps;
};

void sl_stats_cfg_default(struct sl_stats_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->peer = "zeek";
    cfg->report_interval = 300.0;
    cfg->initial_watch_interval = 60.0;
    cfg->watch_interval = 900.0;
    cfg->too_much_loss = 0.1;
    cfg->minimum_acks = 1;
    cfg->capture_loss = true;
}

struct sl_stats *sl_stats_new(const struct sl_stats_cfg *cfg)
{
    if (!cfg || !(cfg->report_interval > 0) || !(cfg->initial_watch_interval > 0) ||
        !(cfg->watch_interval > 0)) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_stats *s = calloc(1, sizeof(*s));
    if (!s || !(s->peer = strdup(cfg->peer ? cfg->peer : "zeek"))) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    s->cfg = *cfg;
    s->cfg.peer = s->peer;
    return s;
}

void sl_stats_free(struct sl_stats *s)
{
    if (!s)
        return;
    free(s->peer);
    free(s);
}

char *sl_stats_fmt_double(double d, char *buf, size_t n)
{
    snprintf(buf, n, "%.6f", d);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf) - 1;
        while (e > dot && *e == '0')
            *e-- = 0;
        if (e == dot)
            *e = 0;
    }
    if (isfinite(d) && fabs(d - nearbyint(d)) < 1e-9 && strlen(buf) + 3 <= n)
        strcat(buf, ".0");
    return buf;
}

uint64_t sl_stats_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss < 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}

static uint64_t delta(uint64_t now, uint64_t then)
{
    return now >= then ? now - then : 0;
}

/* check_stats() */
static void stats_record(struct sl_stats *s, double now, const struct sl_stats_snap *c)
{
    char b[SL_ST_N_FIELDS][32];
    struct sl_log_val v[SL_ST_N_FIELDS];
    const struct sl_stats_snap *l = &s->last;

    memset(v, 0, sizeof(v));
#define U(f, x)                                                                                    \
    (snprintf(b[f], 32, "%llu", (unsigned long long)(x)), v[f] = (struct sl_log_val){true, b[f]})
    v[SL_ST_TS] = (struct sl_log_val){true, sl_log_fmt_time(now, b[SL_ST_TS], 32)};
    v[SL_ST_PEER] = (struct sl_log_val){true, s->peer};
    U(SL_ST_MEM, (c->mem_bytes ? c->mem_bytes : sl_stats_rss()) / 1048576u);
    U(SL_ST_PKTS_PROC, delta(c->pkts_recvd, l->pkts_recvd));
    U(SL_ST_BYTES_RECV, delta(c->bytes_recvd, l->bytes_recvd));
    if (c->live) {
        v[SL_ST_PKT_LAG] =
            (struct sl_log_val){true, sl_log_fmt_time(c->pkt_lag, b[SL_ST_PKT_LAG], 32)};
        U(SL_ST_PKTS_DROPPED, delta(c->pkts_dropped, l->pkts_dropped));
        U(SL_ST_PKTS_LINK, delta(c->pkts_link, l->pkts_link));
        if (c->has_filtered)
            U(SL_ST_PKTS_FILTERED, delta(c->pkts_filtered, l->pkts_filtered));
    }
    if (c->has_events) {
        U(SL_ST_EVENTS_PROC, delta(c->events_dispatched, l->events_dispatched));
        U(SL_ST_EVENTS_QUEUED, delta(c->events_queued, l->events_queued));
    }
    if (c->has_conns) {
        U(SL_ST_ACTIVE_TCP_CONNS, c->active_tcp);
        U(SL_ST_ACTIVE_UDP_CONNS, c->active_udp);
        U(SL_ST_ACTIVE_ICMP_CONNS, c->active_icmp);
        U(SL_ST_TCP_CONNS, delta(c->total_tcp, l->total_tcp));
        U(SL_ST_UDP_CONNS, delta(c->total_udp, l->total_udp));
        U(SL_ST_ICMP_CONNS, delta(c->total_icmp, l->total_icmp));
    }
    if (c->has_timers) {
        U(SL_ST_TIMERS, delta(c->timers_total, l->timers_total));
        U(SL_ST_ACTIVE_TIMERS, c->timers_active);
    }
    if (c->has_files) {
        U(SL_ST_FILES, delta(c->files_total, l->files_total));
        U(SL_ST_ACTIVE_FILES, c->files_active);
    }
    if (c->has_dns) {
        U(SL_ST_DNS_REQUESTS, delta(c->dns_requests, l->dns_requests));
        U(SL_ST_ACTIVE_DNS_REQUESTS, c->dns_pending);
    }
    if (c->has_reassem) {
        U(SL_ST_REASSEM_TCP_SIZE, c->reassem_tcp);
        U(SL_ST_REASSEM_FILE_SIZE, c->reassem_file);
        U(SL_ST_REASSEM_FRAG_SIZE, c->reassem_frag);
        U(SL_ST_REASSEM_UNKNOWN_SIZE, c->reassem_unknown);
    }
#undef U
    s->last = *c;
    if (s->cfg.stats_record)
        s->cfg.stats_record(s->cfg.ctx, v);
}

/* CaptureLoss::take_measurement() with last_ts != 0 */
static void loss_record(struct sl_stats *s, double now, const struct sl_stats_snap *c)
{
    char ts[32], dt[32], g[24], a[24], pct[48], msg[160];
    uint64_t acks = delta(c->ack_events, s->cl_last_acks);
    uint64_t gaps = delta(c->gap_events, s->cl_last_gaps);
    double pct_lost = acks == 0 ? 0.0 : 100.0 * (double)gaps / (double)acks;

    if (s->cfg.notice && pct_lost >= s->cfg.too_much_loss * 100) {
        snprintf(msg, sizeof(msg),
                 "The capture loss script detected an estimated loss rate above %.3f%%", pct_lost);
        struct sl_notice n = {
            .ts = now, .note = "CaptureLoss::Too_Much_Loss", .msg = msg, .peer_descr = NULL};
        s->cfg.notice(s->cfg.ctx, &n);
    }
    if (s->cfg.notice && acks < s->cfg.minimum_acks) {
        snprintf(msg, sizeof(msg), "Only observed %llu TCP ACKs and was expecting at least %llu.",
                 (unsigned long long)acks, (unsigned long long)s->cfg.minimum_acks);
        struct sl_notice n = {.ts = now, .note = "CaptureLoss::Too_Little_Traffic", .msg = msg};
        s->cfg.notice(s->cfg.ctx, &n);
    }
    snprintf(g, sizeof(g), "%llu", (unsigned long long)gaps);
    snprintf(a, sizeof(a), "%llu", (unsigned long long)acks);
    struct sl_log_val v[SL_CL_N_FIELDS] = {
        {true, sl_log_fmt_time(now, ts, sizeof(ts))},
        {true, sl_log_fmt_time(now - s->cl_last_ts, dt, sizeof(dt))},
        {true, s->peer},
        {true, g},
        {true, a},
        {true, sl_stats_fmt_double(pct_lost, pct, sizeof(pct))},
    };
    if (s->cfg.loss_record)
        s->cfg.loss_record(s->cfg.ctx, v);
    s->cl_last_ts = now;
    s->cl_last_acks = c->ack_events;
    s->cl_last_gaps = c->gap_events;
}

bool sl_stats_due(const struct sl_stats *s, double now)
{
    if (!s)
        return false;
    if (!s->st_started || now >= s->st_due)
        return true;
    return s->cfg.capture_loss && (s->cl_phase == 0 || (s->cl_phase == 1 && now >= s->cl_due));
}

void sl_stats_tick(struct sl_stats *s, double now, const struct sl_stats_snap *snap)
{
    if (!s || !snap)
        return;
    if (!s->st_started || now >= s->st_due) {
        s->st_started = true;
        stats_record(s, now, snap);
        s->st_due = now + s->cfg.report_interval;
    }
    if (!s->cfg.capture_loss)
        return;
    if (s->cl_phase == 0) {
        /* the zeek_init timer found last_ts == 0: re-arm from now, zeros */
        s->cl_phase = 1;
        s->cl_last_ts = now;
        s->cl_last_acks = s->cl_last_gaps = 0;
        s->cl_due = now + s->cfg.initial_watch_interval;
    } else if (now >= s->cl_due) {
        loss_record(s, now, snap);
        s->cl_due = now + s->cfg.watch_interval;
    }
}

void sl_stats_finish(struct sl_stats *s, double now, const struct sl_stats_snap *snap)
{
    if (!s || !snap)
        return;
    /* Zeek dispatches its pending timers when it terminates */
    stats_record(s, now, snap);
    if (s->cfg.capture_loss && s->cl_phase == 1)
        loss_record(s, now, snap);
    s->cl_phase = 2;
}
