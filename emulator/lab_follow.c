/* lab_follow: the manager's liveness view relayed to the frontend. See lab_follow.h. */
#include "lab_follow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab_fe.h"
#include "lab_net.h"
#include "lab_plan.h"
#include "lab_view.h"
#include "sl_topo.h"

struct lab_follow {
    struct lab_follow_conf conf;
    struct lab_view *view;
    char manager[SL_TOPO_NAME];
    double since;
    bool silent;     /* the manager's silence has been noted */
    bool fe_failing; /* a frontend call failed and none has worked since */
    unsigned n_workers;
    bool *down; /* [n_workers]: marked down at the frontend */
};

static void note(const struct lab_follow_conf *conf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(const struct lab_follow_conf *conf, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (conf->note)
        conf->note(conf->ctx, line);
}

/* The manager's name and PUB endpoint (cluster.ini), and the namespace of
 * its host, from which that endpoint is reached. */
static struct lab_view *open_view(const struct lab_ctx *c, char *manager, size_t mlen, char *err,
                                  size_t errlen)
{
    char ep[128], ns[LAB_NS_NAME_MAX], path[sizeof(LAB_NETNS_DIR) + LAB_NS_NAME_MAX + 1];
    struct lab_view *v = NULL;
    struct sl_topo *st = sl_topo_load(c->cluster_ini, err, errlen);
    const struct sl_topo_node *m = st ? sl_topo_nth(st, SL_TOPO_MANAGER, 0) : NULL;
    int node = -1;
    for (unsigned i = 0; i < c->t->n_nodes; i++)
        if (c->t->nodes[i].type == LAB_NODE_MANAGER)
            node = (int)i;
    if (st && (!m || node < 0))
        snprintf(err, errlen, "no manager in the cluster's topology");
    else if (m && sl_topo_endpoint(m, 1, ep, sizeof(ep)) != 0)
        snprintf(err, errlen, "manager '%s' has no endpoint", m->name);
    else if (m) {
        lab_topo_ns_name(c->t, c->t->nodes[node].host_idx, ns, sizeof(ns));
        snprintf(path, sizeof(path), "%s/%s", LAB_NETNS_DIR, ns);
        snprintf(manager, mlen, "%s", m->name);
        v = lab_view_open(ep, m->name, path, err, errlen);
    }
    sl_topo_free(st);
    return v;
}

struct lab_follow *lab_follow_open(const struct lab_follow_conf *conf, double since)
{
    char err[512] = "";
    struct lab_follow *f = calloc(1, sizeof(*f));
    unsigned nw = lab_topo_n_workers(conf->c->t);
    if (!f || !(f->down = calloc(nw ? nw : 1, sizeof(*f->down)))) {
        snprintf(err, sizeof(err), "%s", strerror(ENOMEM));
        goto fail;
    }
    f->conf = *conf;
    f->since = since;
    f->n_workers = nw;
    f->view = open_view(conf->c, f->manager, sizeof(f->manager), err, sizeof(err));
    if (!f->view)
        goto fail;
    return f;
fail:
    note(conf, "worker liveness not followed: cannot subscribe to the manager's view (%s)", err);
    if (f)
        free(f->down);
    free(f);
    errno = ENOENT;
    return NULL;
}

/* Notes once when the manager falls silent, and once when it speaks again. */
static void watch_silence(struct lab_follow *f, double now)
{
    double age = lab_view_age(f->view);
    bool silent = now - f->since > LAB_FOLLOW_SILENT && age > LAB_FOLLOW_SILENT;
    if (silent == f->silent)
        return;
    f->silent = silent;
    if (silent)
        note(&f->conf, "no view from manager '%s' %.0f s %s: worker liveness stays as it was%s",
             f->manager, now - f->since, f->conf.when,
             lab_view_have(f->view) ? "" : " (no view ever came)");
    else
        note(&f->conf, "views from manager '%s' again %.1f s %s", f->manager, now - f->since,
             f->conf.when);
}

int lab_follow_step(struct lab_follow *f, int timeout_ms)
{
    if (!f)
        return 0;
    int rc = lab_view_poll(f->view, timeout_ms);
    if (rc < 0)
        return rc;
    double now = lab_now();
    watch_silence(f, now);
    const struct lab_topo *t = f->conf.c->t;
    int calls = 0;
    for (unsigned k = 0; k < f->n_workers; k++) {
        const struct lab_node *w = &t->nodes[lab_topo_worker(t, k)];
        char cmd[32], reply[128];
        int live = lab_view_live(f->view, w->name);
        if (live < 0 || (live == 0) == f->down[k])
            continue;
        bool dead = live == 0;
        snprintf(cmd, sizeof(cmd), "%s %u", dead ? "down" : "up", k + 1);
        calls++;
        int crc = lab_fe_ctl(f->conf.c, cmd, reply, sizeof(reply));
        if (crc < 0) { /* the next step tries again */
            if (!f->fe_failing)
                note(&f->conf,
                     "the frontend did not take '%s' (%s, %.1f s %s): trying again at every step",
                     cmd, strerror(-crc), now - f->since, f->conf.when);
            f->fe_failing = true;
            continue;
        }
        if (f->fe_failing)
            note(&f->conf, "the frontend answers again (%.1f s %s)", now - f->since, f->conf.when);
        f->fe_failing = false;
        f->down[k] = dead;
        if (f->conf.changed)
            f->conf.changed(f->conf.ctx, k, dead);
        note(&f->conf,
             "%s: %s in the view of manager '%s' (epoch %llu, %.1f s %s): frontend told '%s' "
             "(%s); %s",
             w->name, dead ? "down" : "up again", f->manager,
             (unsigned long long)lab_view_epoch(f->view), now - f->since, f->conf.when, cmd, reply,
             dead ? "its flows move to the other workers" : "its flows come back");
    }
    return calls;
}

int lab_follow_live(const struct lab_follow *f, const char *name)
{
    return f ? lab_view_live(f->view, name) : -ENOENT;
}

void lab_follow_close(struct lab_follow *f)
{
    if (!f)
        return;
    const struct lab_view_stats *s = lab_view_stats(f->view);
    note(&f->conf,
         "liveness source: the view of manager '%s', %llu views (last epoch %llu), %llu "
         "repeats, %llu stale, %llu other messages, %llu garbage, %llu failed "
         "handshakes, %llu redials",
         f->manager, (unsigned long long)s->views, (unsigned long long)lab_view_epoch(f->view),
         (unsigned long long)s->repeats, (unsigned long long)s->stale, (unsigned long long)s->other,
         (unsigned long long)s->garbage, (unsigned long long)s->bad_handshakes,
         (unsigned long long)s->redials);
    lab_view_close(f->view);
    free(f->down);
    free(f);
}
