/* switch: see switch.h. */
#include "switch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_lcore.h>

#include "shaper.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int egress_of_port(const struct fe_app *app, int port)
{
    for (unsigned j = 0; j < app->n_egress; j++)
        if (app->egress[j].port == port)
            return (int)j;
    return -1;
}

static int map_workers(struct fe_app *app, char *err, size_t errlen)
{
    const struct fe_conf *c = app->conf;
    for (unsigned i = 0; i < app->n_workers; i++) {
        if (c->write_pcaps != NULL) {
            app->worker_egress[i] = (int)i;
        } else if (c->output == FE_OUT_DIRECT) {
            app->worker_egress[i] = 0;
        } else if (c->worker_port[i] >= 0) {
            int e = egress_of_port(app, c->worker_port[i]);
            if (e < 0)
                return fail(err, errlen, "worker %u: port %d is not an output port", i + 1,
                            c->worker_port[i]);
            app->worker_egress[i] = e;
        } else {
            app->worker_egress[i] = (int)(i % app->n_egress);
        }
    }
    return 0;
}

/* Link id of --link-rate ID=RATE: a port id, or a worker number with --write-pcaps. */
static int egress_of_rate_id(const struct fe_app *app, int id)
{
    if (app->conf->write_pcaps != NULL)
        return id >= 1 && (unsigned)id <= app->n_workers ? id - 1 : -1;
    return egress_of_port(app, id);
}

static int apply_rate_list(struct fe_app *app, unsigned from, unsigned to, char *err, size_t errlen)
{
    const struct fe_conf *c = app->conf;
    for (unsigned r = from; r < to; r++) {
        const struct fe_rate *rt = &c->rate[r];
        if (rt->id < 0) {
            for (unsigned j = 0; j < app->n_egress; j++)
                app->egress[j].rate_bps = rt->bps;
            continue;
        }
        int e = egress_of_rate_id(app, rt->id);
        if (e < 0)
            return fail(err, errlen,
                        c->write_pcaps ? "--link-rate %d=...: no worker %d (1..%u)"
                                       : "--link-rate %d=...: port %d is not an output port",
                        rt->id, rt->id, app->n_workers);
        app->egress[e].rate_bps = rt->bps;
    }
    return 0;
}

static int attach_rates(struct fe_app *app, char *err, size_t errlen)
{
    const struct fe_conf *c = app->conf;
    /* [frontend] link_rate, then workers' own link_rate, then the command line */
    int rc = apply_rate_list(app, 0, c->n_topo_rates, err, errlen);
    if (rc < 0)
        return rc;
    bool by_worker[FE_MAX_EGRESS] = {false};
    for (unsigned i = 0; i < app->n_workers; i++) {
        struct fe_egress *eg = &app->egress[app->worker_egress[i]];
        uint64_t r = c->worker_rate[i];
        if (r == 0)
            continue;
        if (by_worker[app->worker_egress[i]] && eg->rate_bps != r)
            return fail(err, errlen,
                        "worker %u: link_rate differs from another worker's on the "
                        "same port",
                        i + 1);
        by_worker[app->worker_egress[i]] = true;
        eg->rate_bps = r;
    }
    rc = apply_rate_list(app, c->n_topo_rates, c->n_rates, err, errlen);
    if (rc < 0)
        return rc;
    for (unsigned j = 0; j < app->n_egress; j++) {
        struct fe_egress *eg = &app->egress[j];
        if (eg->rate_bps == 0)
            continue;
        eg->shaper = fe_shaper_new(eg->rate_bps, c->queue_bytes, (int)rte_socket_id());
        if (eg->shaper == NULL)
            return fail(err, errlen, "cannot shape link %u at %llu bit/s: %s", j,
                        (unsigned long long)eg->rate_bps,
                        errno == ENOMEM ? "out of memory" : "rate not supported by rte_meter");
    }
    return 0;
}

int fe_switch_build(struct fe_app *app, char *err, size_t errlen)
{
    const struct fe_conf *c = app->conf;
    if (c->write_pcaps != NULL)
        app->n_egress = app->n_workers;
    else if (app->n_out == 0)
        return fail(err, errlen,
                    "no output ports: give more ports (--vdev ...), --out-ports, or "
                    "--write-pcaps DIR");
    else
        app->n_egress = c->output == FE_OUT_DIRECT ? 1 : app->n_out;

    app->egress = calloc(app->n_egress, sizeof(*app->egress));
    if (app->egress == NULL)
        return fail(err, errlen, "out of memory");
    for (unsigned j = 0; j < app->n_egress; j++) {
        struct fe_egress *eg = &app->egress[j];
        eg->port = c->write_pcaps ? -1 : app->out_ports[j];
        eg->worker = c->write_pcaps ? (int)j : -1;
        for (unsigned l = 0; l < FE_MAX_LCORES; l++)
            rte_spinlock_init(&eg->txq_lock[l]);
    }
    int rc = map_workers(app, err, errlen);
    if (rc == 0)
        rc = attach_rates(app, err, errlen);
    return rc;
}

void fe_switch_free(struct fe_app *app)
{
    for (unsigned j = 0; app->egress != NULL && j < app->n_egress; j++)
        fe_shaper_free(app->egress[j].shaper);
    free(app->egress);
    app->egress = NULL;
}

unsigned fe_switch_queued_max(const struct fe_app *app)
{
    unsigned n = 0;
    for (unsigned j = 0; j < app->n_egress; j++)
        if (app->egress[j].shaper != NULL)
            n += fe_shaper_max_frames(app->conf->queue_bytes);
    return n;
}
