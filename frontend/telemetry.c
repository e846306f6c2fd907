/* telemetry: see telemetry.h. */
#include "telemetry.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_telemetry.h>

#include "stats.h"
#include "workers.h"

/* Telemetry callbacks carry no user pointer in DPDK 22.11. A callback holds
 * the read lock while it uses the app, so detaching waits for it. */
static struct fe_app *tel_app;
static pthread_rwlock_t tel_lock = PTHREAD_RWLOCK_INITIALIZER;

static struct fe_app *app_get(void)
{
    pthread_rwlock_rdlock(&tel_lock);
    return tel_app;
}

static int app_put(int rc)
{
    pthread_rwlock_unlock(&tel_lock);
    return rc;
}

static int cmd_stats_locked(struct fe_app *app, const char *cmd, const char *params,
                            struct rte_tel_data *d)
{
    struct fe_snap s;
    char buf[32];
    (void)cmd;
    (void)params;
    if (app == NULL || fe_stats_collect(app, &s) < 0)
        return -EAGAIN;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "in_packets", s.in_pkts);
    rte_tel_data_add_dict_u64(d, "in_bytes", s.in_bytes);
    rte_tel_data_add_dict_u64(d, "out_packets", s.out_pkts);
    rte_tel_data_add_dict_u64(d, "out_bytes", s.out_bytes);
    rte_tel_data_add_dict_u64(d, "drops", s.drops_total);
    for (unsigned r = 0; r < FE_DROP_MAX; r++) {
        char name[40];
        snprintf(name, sizeof(name), "drops_%s", fe_drop_name(r));
        rte_tel_data_add_dict_u64(d, name, s.drops[r]);
    }
    rte_tel_data_add_dict_u64(d, "held_fragments", s.held);
    rte_tel_data_add_dict_u64(d, "queued", s.queued);
    rte_tel_data_add_dict_u64(d, "rx_missed", s.rx_missed);
    rte_tel_data_add_dict_u64(d, "frag_inserted", s.lb.frag_inserted);
    rte_tel_data_add_dict_u64(d, "frag_hits", s.lb.frag_hits);
    rte_tel_data_add_dict_u64(d, "frag_orphans", s.lb.frag_orphans);
    rte_tel_data_add_dict_u64(d, "icmp_steered", s.lb.icmp_steered);
    snprintf(buf, sizeof(buf), "%.4f", s.imbalance);
    rte_tel_data_add_dict_string(d, "imbalance", buf);
    fe_stats_release(&s);
    return 0;
}

/* Adds name -> array of n u64 taken from get(i). */
static int add_array(struct rte_tel_data *d, const char *name, unsigned n,
                     uint64_t (*get)(const struct fe_snap *, struct fe_app *, unsigned),
                     const struct fe_snap *s, struct fe_app *app)
{
    struct rte_tel_data *a = rte_tel_data_alloc();
    if (a == NULL)
        return -ENOMEM;
    rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
    for (unsigned i = 0; i < n; i++)
        rte_tel_data_add_array_u64(a, get(s, app, i));
    if (rte_tel_data_add_dict_container(d, name, a, 0) < 0) {
        rte_tel_data_free(a);
        return -ENOSPC;
    }
    return 0;
}

static uint64_t w_live(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->live[i];
}
static uint64_t w_pkts(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->w[i].pkts;
}
static uint64_t w_bytes(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->w[i].bytes;
}
static uint64_t w_flows(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return (uint64_t)s->flows[i];
}
static uint64_t w_egress(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)s;
    return (uint64_t)a->worker_egress[i];
}

static int cmd_workers_locked(struct fe_app *app, const char *cmd, const char *params,
                              struct rte_tel_data *d)
{
    struct fe_snap s;
    (void)cmd;
    (void)params;
    if (app == NULL || fe_stats_collect(app, &s) < 0)
        return -EAGAIN;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "n_workers", app->n_workers);
    add_array(d, "live", app->n_workers, w_live, &s, app);
    add_array(d, "packets", app->n_workers, w_pkts, &s, app);
    add_array(d, "bytes", app->n_workers, w_bytes, &s, app);
    add_array(d, "flows", app->n_workers, w_flows, &s, app);
    add_array(d, "egress", app->n_workers, w_egress, &s, app);
    fe_stats_release(&s);
    return 0;
}

static uint64_t e_port(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)s;
    return (uint64_t)(int64_t)a->egress[i].port;
}
static uint64_t e_rate(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)s;
    return a->egress[i].rate_bps;
}
static uint64_t e_sent(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->e[i].pkts;
}
static uint64_t e_bytes(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->e[i].bytes;
}
static uint64_t e_shaped(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->e_shaper_drops[i];
}
static uint64_t e_txd(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->e[i].tx_drops;
}
static uint64_t e_queued(const struct fe_snap *s, struct fe_app *a, unsigned i)
{
    (void)a;
    return s->e_queued[i];
}

static int cmd_ports_locked(struct fe_app *app, const char *cmd, const char *params,
                            struct rte_tel_data *d)
{
    struct fe_snap s;
    (void)cmd;
    (void)params;
    if (app == NULL || fe_stats_collect(app, &s) < 0)
        return -EAGAIN;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "n_links", app->n_egress);
    add_array(d, "port", app->n_egress, e_port, &s, app);
    add_array(d, "rate_bps", app->n_egress, e_rate, &s, app);
    add_array(d, "sent", app->n_egress, e_sent, &s, app);
    add_array(d, "bytes", app->n_egress, e_bytes, &s, app);
    add_array(d, "shaper_drops", app->n_egress, e_shaped, &s, app);
    add_array(d, "tx_drops", app->n_egress, e_txd, &s, app);
    add_array(d, "queued", app->n_egress, e_queued, &s, app);
    fe_stats_release(&s);
    return 0;
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
    return app_put(cmd_stats_locked(app_get(), cmd, params, d));
}

static int cmd_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
    return app_put(cmd_workers_locked(app_get(), cmd, params, d));
}

static int cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
    return app_put(cmd_ports_locked(app_get(), cmd, params, d));
}

static int set_live_locked(struct fe_app *app, const char *params, struct rte_tel_data *d,
                           bool live)
{
    char *end;
    if (app == NULL || params == NULL || *params == '\0')
        return -EINVAL;
    unsigned long k = strtoul(params, &end, 10);
    if (*end != '\0' || k < 1 || k > app->n_workers)
        return -EINVAL;
    if (fe_workers_set_live(app, (unsigned)(k - 1), live) < 0)
        return -EINVAL;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "worker", k);
    rte_tel_data_add_dict_u64(d, "live", fe_workers_live(app, (unsigned)(k - 1)));
    return 0;
}

static int set_live(const char *params, struct rte_tel_data *d, bool live)
{
    return app_put(set_live_locked(app_get(), params, d, live));
}

static int cmd_down(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd;
    return set_live(params, d, false);
}

static int cmd_up(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd;
    return set_live(params, d, true);
}

int fe_telemetry_register(struct fe_app *app)
{
    pthread_rwlock_wrlock(&tel_lock);
    tel_app = app;
    pthread_rwlock_unlock(&tel_lock);
    int rc = rte_telemetry_register_cmd("/sluice/stats", cmd_stats,
                                        "Frontend totals: in, out, drops by reason. No params");
    rc |= rte_telemetry_register_cmd("/sluice/workers", cmd_workers,
                                     "Per worker: live, packets, bytes, flows, egress. No params");
    rc |= rte_telemetry_register_cmd("/sluice/ports", cmd_ports,
                                     "Per egress link: port, rate, sent, drops. No params");
    rc |= rte_telemetry_register_cmd("/sluice/worker_down", cmd_down,
                                     "Mark a worker down. Parameters: int worker (1..N)");
    rc |= rte_telemetry_register_cmd("/sluice/worker_up", cmd_up,
                                     "Mark a worker up. Parameters: int worker (1..N)");
    return rc ? -EINVAL : 0;
}

void fe_telemetry_detach(void)
{
    pthread_rwlock_wrlock(&tel_lock);
    tel_app = NULL;
    pthread_rwlock_unlock(&tel_lock);
}
