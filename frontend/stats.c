/* stats: see stats.h. */
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "shaper.h"
#include "workers.h"

const char *fe_drop_name(enum fe_drop d)
{
    static const char *const names[FE_DROP_MAX] = {"no_worker", "shaper",   "tx_full", "runt",
                                                   "vlan_runt", "oversize", "snapped"};
    return d < FE_DROP_MAX ? names[d] : "?";
}

static void add_weird(struct fe_in_stats *to, const char *name, uint64_t n)
{
    for (unsigned k = 0; k < FE_MAX_WEIRDS; k++) {
        if (to->weirds[k].name == NULL) {
            to->weirds[k].name = name;
            to->weirds[k].n = n;
            return;
        }
        if (strcmp(to->weirds[k].name, name) == 0) {
            to->weirds[k].n += n;
            return;
        }
    }
    to->weird_other += n;
}

static void sum_input(struct fe_in_stats *to, struct fe_in_stats *from)
{
    to->pkts += FE_GET(from->pkts);
    to->bytes += FE_GET(from->bytes);
    to->non_ip += FE_GET(from->non_ip);
    to->weird += FE_GET(from->weird);
    to->frag += FE_GET(from->frag);
    to->frag_first += FE_GET(from->frag_first);
    to->frag_hit += FE_GET(from->frag_hit);
    to->frag_held += FE_GET(from->frag_held);
    to->frag_released += FE_GET(from->frag_released);
    to->frag_orphan += FE_GET(from->frag_orphan);
    to->icmp_steered += FE_GET(from->icmp_steered);
    to->lost += FE_GET(from->lost);
    to->weird_other += FE_GET(from->weird_other);
    for (unsigned k = 0; k < FE_MAX_WEIRDS; k++) {
        const char *name = __atomic_load_n(&from->weirds[k].name, __ATOMIC_ACQUIRE);
        if (name == NULL)
            break;
        add_weird(to, name, FE_GET(from->weirds[k].n));
    }
}

/* HyperLogLog estimate over the max of every lcore's registers. */
static double hll_estimate(struct fe_app *app, unsigned w)
{
    const unsigned m = 1u << FE_HLL_BITS;
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned r = 0; r < m; r++) {
        uint8_t v = 0;
        for (unsigned l = 0; l < app->n_fwd; l++) {
            uint8_t x = FE_GET(app->fwd[l]->hll[fe_hll_reg(w, r)]);
            if (x > v)
                v = x;
        }
        sum += ldexp(1.0, -(int)v);
        zeros += v == 0;
    }
    double alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0)
        e = m * log((double)m / zeros);
    return e;
}

static int alloc_snap(struct fe_snap *s, unsigned ni, unsigned nw, unsigned ne)
{
    s->in = calloc(ni ? ni : 1, sizeof(*s->in));
    s->w = calloc(nw, sizeof(*s->w));
    s->flows = calloc(nw, sizeof(*s->flows));
    s->live = calloc(nw, sizeof(*s->live));
    s->e = calloc(ne ? ne : 1, sizeof(*s->e));
    s->e_shaper_drops = calloc(ne ? ne : 1, sizeof(uint64_t));
    s->e_shaper_drop_bytes = calloc(ne ? ne : 1, sizeof(uint64_t));
    s->e_queued = calloc(ne ? ne : 1, sizeof(uint64_t));
    if (!s->in || !s->w || !s->flows || !s->live || !s->e || !s->e_shaper_drops ||
        !s->e_shaper_drop_bytes || !s->e_queued)
        return -ENOMEM;
    return 0;
}

static void sum_lb(struct sl_lb_stats *to, const struct sl_lb_stats *from)
{
    to->frag_inserted += FE_GET(from->frag_inserted);
    to->frag_hits += FE_GET(from->frag_hits);
    to->frag_held += FE_GET(from->frag_held);
    to->frag_released += FE_GET(from->frag_released);
    to->frag_orphans += FE_GET(from->frag_orphans);
    to->frag_evicted += FE_GET(from->frag_evicted);
    to->frag_expired += FE_GET(from->frag_expired);
    to->icmp_steered += FE_GET(from->icmp_steered);
    to->frag_held_orphaned += FE_GET(from->frag_held_orphaned);
    to->held_now += FE_GET(from->held_now);
}

/* The counters hold pointers (weird names) too: copy words without aliasing trouble. */
typedef uint64_t __attribute__((may_alias)) u64_alias;
_Static_assert(sizeof(struct fe_lcore_stats) % sizeof(uint64_t) == 0, "word copy");

/* One lcore's counters at a moment when it is between loop iterations (see
 * fe_lcore.snap_req). A finished lcore is read directly. An lcore that does
 * not answer in 100 ms (stuck in a long burst) is read as it is, which may
 * not balance. With one forwarding lcore the shaper queues come from the
 * same moment, so interval snapshots balance exactly; with several, frames
 * move between lcores through shared links and only the final summary (all
 * lcores finished) balances exactly. */
static void copy_lcore(struct fe_app *app, struct fe_lcore *lc, struct fe_lcore_stats *dst)
{
    bool done = false;
    if (!__atomic_load_n(&lc->finished, __ATOMIC_ACQUIRE)) {
        uint64_t req = __atomic_load_n(&lc->snap_req, __ATOMIC_RELAXED) + 1;
        __atomic_store_n(&lc->snap_req, req, __ATOMIC_RELEASE);
        uint64_t deadline = rte_rdtsc() + app->tsc_hz / 10;
        while (rte_rdtsc() < deadline && !__atomic_load_n(&lc->finished, __ATOMIC_ACQUIRE)) {
            if (__atomic_load_n(&lc->snap_done, __ATOMIC_ACQUIRE) == req) {
                done = true;
                break;
            }
            rte_delay_us_sleep(20);
        }
    }
    const u64_alias *a = (const u64_alias *)(done ? lc->snap : lc->st);
    u64_alias *b = (u64_alias *)dst;
    for (size_t i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
        b[i] = __atomic_load_n(&a[i], __ATOMIC_RELAXED);
    if (!done)
        for (unsigned e = 0; e < app->n_egress; e++)
            dst->e[e].queued = app->egress[e].shaper ? fe_shaper_queued(app->egress[e].shaper) : 0;
}

static void collect_lcores(struct fe_app *app, struct fe_snap *s)
{
    struct fe_lcore_stats *st = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*st));
    if (st == NULL)
        return;
    for (unsigned l = 0; l < app->n_fwd; l++) {
        copy_lcore(app, app->fwd[l], st);
        /* a shared link's queue: take the last lcore's view, not a sum */
        for (unsigned e = 0; e < app->n_egress; e++)
            s->e_queued[e] = st->e[e].queued;
        for (unsigned d = 0; d < FE_DROP_MAX; d++)
            s->drops[d] += FE_GET(st->drops[d]);
        s->held += FE_GET(st->held);
        sum_lb(&s->lb, &st->lb);
        for (unsigned i = 0; i < app->n_inputs; i++)
            sum_input(&s->in[i].s, &st->in[i]);
        for (unsigned w = 0; w < app->n_workers; w++) {
            s->w[w].pkts += FE_GET(st->w[w].pkts);
            s->w[w].bytes += FE_GET(st->w[w].bytes);
            s->w[w].dropped += FE_GET(st->w[w].dropped);
        }
        for (unsigned e = 0; e < app->n_egress; e++) {
            s->e[e].pkts += st->e[e].pkts;
            s->e[e].bytes += st->e[e].bytes;
            s->e[e].tx_drops += st->e[e].tx_drops;
            s->e[e].refused += st->e[e].refused;
            s->e[e].unattributed += st->e[e].unattributed;
            s->e_shaper_drops[e] += st->e[e].shaper_drops;
            s->e_shaper_drop_bytes[e] += st->e[e].shaper_drop_bytes;
        }
    }
    free(st);
}

/* Frames the kernel had no room for in an AF_PACKET input's RX ring, per
 * port. DPDK 22.11's net_af_packet leaves imissed at 0: only the kernel
 * counts these (PACKET_STATISTICS, zeroed by each read, so they add up
 * here). The sockets are this process's own: found in /proc/self/fd, matched
 * to the port by interface index (ports.c found them at start). Called
 * under app->stats_lock. */
static void poll_socket_missed(struct fe_app *app)
{
    bool any = false;
    for (unsigned p = 0; p < app->n_in; p++)
        any |= app->in_ifindex[app->in_ports[p]] > 0;
    DIR *d = any ? opendir("/proc/self/fd") : NULL;
    if (d == NULL)
        return;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        int dom = 0;
        socklen_t len = sizeof(dom);
        if (*end != '\0' || end == de->d_name || fd < 0 || fd == dirfd(d) ||
            getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) < 0 || dom != AF_PACKET)
            continue;
        struct sockaddr_ll sll;
        socklen_t sl = sizeof(sll);
        memset(&sll, 0, sizeof(sll));
        if (getsockname((int)fd, (struct sockaddr *)&sll, &sl) < 0 || sll.sll_ifindex <= 0)
            continue;
        for (unsigned p = 0; p < FE_MAX_PORTS; p++) {
            struct tpacket_stats_v3 st;
            socklen_t stl = sizeof(st);
            if (app->in_ifindex[p] != (unsigned)sll.sll_ifindex)
                continue;
            memset(&st, 0, sizeof(st));
            if (getsockopt((int)fd, SOL_PACKET, PACKET_STATISTICS, &st, &stl) == 0)
                app->in_sock_missed[p] += st.tp_drops;
            break;
        }
    }
    closedir(d);
}

int fe_stats_collect(struct fe_app *app, struct fe_snap *s)
{
    memset(s, 0, sizeof(*s));
    s->n_inputs = app->n_inputs;
    s->n_workers = app->n_workers;
    s->n_egress = app->n_egress;
    if (alloc_snap(s, app->n_inputs, app->n_workers, app->n_egress) < 0) {
        fe_stats_release(s);
        return -ENOMEM;
    }
    s->elapsed_s = app->start_tsc ? (double)(rte_rdtsc() - app->start_tsc) / app->tsc_hz : 0;
    rte_spinlock_lock(&app->stats_lock);
    collect_lcores(app, s);
    poll_socket_missed(app);
    for (unsigned p = 0; p < app->n_in; p++)
        s->port_missed[p] = app->in_sock_missed[app->in_ports[p]];
    rte_spinlock_unlock(&app->stats_lock);
    for (unsigned e = 0; e < app->n_egress; e++) {
        s->queued += s->e_queued[e];
        s->out_pkts += s->e[e].pkts;
        s->out_bytes += s->e[e].bytes;
    }
    for (unsigned i = 0; i < app->n_inputs; i++) {
        s->in_pkts += s->in[i].s.pkts;
        s->in_bytes += s->in[i].s.bytes;
        s->rx_missed += s->in[i].s.lost;
    }
    for (unsigned p = 0; p < app->n_in; p++) {
        struct rte_eth_stats es;
        bool from_pcap = false;
        for (unsigned i = 0; i < app->n_inputs; i++)
            from_pcap |= app->inputs[i].port == app->in_ports[p] && app->inputs[i].pcapr;
        if (!from_pcap && rte_eth_stats_get(app->in_ports[p], &es) == 0)
            s->port_missed[p] += es.imissed + es.rx_nombuf;
        s->rx_missed += s->port_missed[p];
    }
    for (unsigned d = 0; d < FE_DROP_MAX; d++)
        s->drops_total += s->drops[d];
    s->in_flight = s->held + s->queued;
    uint64_t max = 0, sum = 0;
    for (unsigned w = 0; w < app->n_workers; w++) {
        s->live[w] = fe_workers_live(app, w);
        if (app->conf->count_flows)
            s->flows[w] = hll_estimate(app, w);
        max = s->w[w].pkts > max ? s->w[w].pkts : max;
        sum += s->w[w].pkts;
    }
    s->imbalance = sum ? (double)max / ((double)sum / app->n_workers) : 0;
    return 0;
}

void fe_stats_release(struct fe_snap *s)
{
    free(s->in);
    free(s->w);
    free(s->flows);
    free(s->live);
    free(s->e);
    free(s->e_shaper_drops);
    free(s->e_shaper_drop_bytes);
    free(s->e_queued);
    memset(s, 0, sizeof(*s));
}

/* Names here are identifiers and port names; escape anyway. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

#define U(x) ((unsigned long long)(x))

static void json_inputs(struct fe_app *app, const struct fe_snap *s, FILE *f)
{
    fputs(",\"inputs\":[", f);
    for (unsigned i = 0; i < s->n_inputs; i++) {
        const struct fe_in_stats *in = &s->in[i].s;
        const struct fe_input *ip = &app->inputs[i];
        fprintf(f, "%s{\"port\":%u,\"queue\":%u,\"name\":", i ? "," : "", ip->port, ip->queue);
        json_str(f, ip->name);
        fprintf(f,
                ",\"packets\":%llu,\"bytes\":%llu,\"lost\":%llu,\"non_ip\":%llu,"
                "\"fragments\":%llu,\"frag_first\":%llu,\"frag_hit\":%llu,\"frag_held\":%llu,"
                "\"frag_released\":%llu,\"frag_orphans\":%llu,\"icmp_steered\":%llu,"
                "\"weird\":%llu,\"weirds\":{",
                U(in->pkts), U(in->bytes), U(in->lost), U(in->non_ip), U(in->frag),
                U(in->frag_first), U(in->frag_hit), U(in->frag_held), U(in->frag_released),
                U(in->frag_orphan), U(in->icmp_steered), U(in->weird));
        unsigned k = 0;
        for (; k < FE_MAX_WEIRDS && in->weirds[k].name; k++) {
            fputs(k ? "," : "", f);
            json_str(f, in->weirds[k].name);
            fprintf(f, ":%llu", U(in->weirds[k].n));
        }
        if (in->weird_other)
            fprintf(f, "%s\"other\":%llu", k ? "," : "", U(in->weird_other));
        fputs("}}", f);
    }
    fputc(']', f);
}

static void json_workers(struct fe_app *app, const struct fe_snap *s, FILE *f)
{
    char mac[18];
    fputs(",\"workers\":[", f);
    for (unsigned w = 0; w < s->n_workers; w++) {
        const struct fe_egress *eg = &app->egress[app->worker_egress[w]];
        fprintf(f, "%s{\"worker\":%u,\"mac\":\"%s\",\"live\":%s,\"egress\":%d,", w ? "," : "",
                w + 1, fe_mac_str(app->mac[w], mac), s->live[w] ? "true" : "false",
                app->worker_egress[w]);
        if (eg->port >= 0)
            fprintf(f, "\"port\":%d,", eg->port);
        fprintf(f, "\"packets\":%llu,\"bytes\":%llu,\"dropped\":%llu,\"flows\":%.0f}",
                U(s->w[w].pkts), U(s->w[w].bytes), U(s->w[w].dropped), s->flows[w]);
    }
    fputc(']', f);
}

static void json_egress(struct fe_app *app, const struct fe_snap *s, FILE *f)
{
    fputs(",\"links\":[", f);
    for (unsigned e = 0; e < s->n_egress; e++) {
        const struct fe_egress *eg = &app->egress[e];
        fprintf(f, "%s{\"egress\":%u,", e ? "," : "", e);
        if (eg->port >= 0) {
            char name[RTE_ETH_NAME_MAX_LEN] = "";
            rte_eth_dev_get_name_by_port((uint16_t)eg->port, name);
            fprintf(f, "\"port\":%d,\"name\":", eg->port);
            json_str(f, name);
            fputc(',', f);
        } else {
            fprintf(f, "\"worker\":%d,", eg->worker + 1);
        }
        fprintf(f,
                "\"rate_bps\":%llu,\"sent\":%llu,\"bytes\":%llu,\"shaper_drops\":%llu,"
                "\"shaper_drop_bytes\":%llu,\"tx_drops\":%llu,\"queued\":%llu",
                U(eg->rate_bps), U(s->e[e].pkts), U(s->e[e].bytes), U(s->e_shaper_drops[e]),
                U(s->e_shaper_drop_bytes[e]), U(s->e[e].tx_drops), U(s->e_queued[e]));
        if (eg->kernel)
            fprintf(f,
                    ",\"kernel\":true,\"mtu\":%u,\"room\":%u,\"refused\":%llu,"
                    "\"unattributed\":%llu",
                    eg->ktx.mtu, eg->ktx.room, U(s->e[e].refused), U(s->e[e].unattributed));
        fputc('}', f);
    }
    fputc(']', f);
}

void fe_stats_json(struct fe_app *app, const struct fe_snap *s, const char *kind, FILE *f)
{
    const struct fe_conf *c = app->conf;
    fprintf(f,
            "{\"type\":\"%s\",\"elapsed_s\":%.3f,\"hash\":\"%s\",\"output\":\"%s\","
            "\"n_workers\":%u,\"forwarding_lcores\":%u",
            kind, s->elapsed_s, sl_hash_mode_name(c->hash),
            c->write_pcaps               ? "pcaps"
            : c->output == FE_OUT_DIRECT ? "direct"
                                         : "switch",
            s->n_workers, app->n_fwd);
    fprintf(f,
            ",\"in\":{\"packets\":%llu,\"bytes\":%llu},\"out\":{\"packets\":%llu,"
            "\"bytes\":%llu},\"drops\":{\"total\":%llu",
            U(s->in_pkts), U(s->in_bytes), U(s->out_pkts), U(s->out_bytes), U(s->drops_total));
    for (unsigned d = 0; d < FE_DROP_MAX; d++)
        fprintf(f, ",\"%s\":%llu", fe_drop_name(d), U(s->drops[d]));
    fprintf(f, "},\"in_flight\":{\"held_fragments\":%llu,\"queued\":%llu},\"balanced\":%s",
            U(s->held), U(s->queued),
            s->in_pkts == s->out_pkts + s->drops_total + s->in_flight ? "true" : "false");
    fprintf(f, ",\"rx_missed\":%llu,\"rx_missed_ports\":[", U(s->rx_missed));
    for (unsigned p = 0; p < app->n_in; p++) {
        char name[RTE_ETH_NAME_MAX_LEN] = "";
        rte_eth_dev_get_name_by_port(app->in_ports[p], name);
        fprintf(f, "%s{\"port\":%u,\"name\":", p ? "," : "", app->in_ports[p]);
        json_str(f, name);
        fprintf(f, ",\"missed\":%llu}", U(s->port_missed[p]));
    }
    fprintf(f, "],\"imbalance\":%.4f", s->imbalance);
    fprintf(f,
            ",\"fragments\":{\"inserted\":%llu,\"hits\":%llu,\"held\":%llu,\"released\":%llu,"
            "\"orphans\":%llu,\"evicted\":%llu,\"expired\":%llu},\"icmp_steered\":%llu",
            U(s->lb.frag_inserted), U(s->lb.frag_hits), U(s->lb.frag_held), U(s->lb.frag_released),
            U(s->lb.frag_orphans), U(s->lb.frag_evicted), U(s->lb.frag_expired),
            U(s->lb.icmp_steered));
    if (s->elapsed_s > 0)
        fprintf(f, ",\"rx_pps\":%.0f", (double)s->in_pkts / s->elapsed_s);
    if (s->interval_pps > 0)
        fprintf(f, ",\"interval_pps\":%.0f", s->interval_pps);
    json_inputs(app, s, f);
    json_workers(app, s, f);
    json_egress(app, s, f);
    fputs("}\n", f);
    fflush(f);
}

void fe_stats_workers_json(struct fe_app *app, FILE *f)
{
    char mac[18];
    fputs("{\"workers\":[", f);
    for (unsigned w = 0; w < app->n_workers; w++) {
        const struct fe_egress *eg = &app->egress[app->worker_egress[w]];
        fprintf(f, "%s{\"worker\":%u,\"mac\":\"%s\",\"live\":%s,\"egress\":%d,\"port\":%d}",
                w ? "," : "", w + 1, fe_mac_str(app->mac[w], mac),
                fe_workers_live(app, w) ? "true" : "false", app->worker_egress[w], eg->port);
    }
    fputs("]}\n", f);
    fflush(f);
}
