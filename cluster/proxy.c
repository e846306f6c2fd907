/* sluice-node proxy: one member of the proxy ring (core/sl_ring.h).
 *
 * Sockets: a ROUTER on its port takes its workers' insertions and clocks
 * and its predecessor's ring traffic (the routing id says who: workers and
 * proxies connect with their node names); a DEALER to each other proxy
 * carries ring traffic to the successor; a SUB on the manager's view port
 * brings membership; a PUSH to the manager carries heartbeats; the log
 * shipper sends known_hosts / known_services rows to the loggers.
 *
 * Logging: the elements this proxy owns are released to sl_known's
 * authority in order (sl_ring); each row it decides to log is shipped as a
 * batch of its own named "known/SET/KEY/ROW" (ROW = 1 for the element's
 * first row ...), so that a row logged again after an ownership change is
 * dropped by the logger.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_common.h"
#include "sl_node.h"

struct rowcount {
    char *key; /* set '/' key */
    uint32_t n;
};

struct px {
    struct nc_opts o;
    struct sl_topo *t;
    const struct sl_topo_node *self;
    void *zctx, *router, *mon, *sub;
    void *dealer[SL_RING_MAX];
    struct nc_hb *hb;
    struct nc_ship *ship;
    struct sl_ring_view view;
    int me;
    struct sl_ring_proxy *ring;
    struct sl_known_auth *auth;
    struct rowcount *rows; /* open addressing */
    size_t rows_cap, rows_n;
    struct sl_wire_buf buf;
    uint64_t garbage, unroutable, rows_logged, bad_items, attaches;
    int fatal;
};

/* ------------------------------------------------------------ ring ops */

static int send_to_proxy(struct px *p, unsigned to, const struct sl_wire_buf *b)
{
    if (!p->dealer[to]) {
        char ep[128];
        const struct sl_topo_node *n = sl_topo_find(p->t, p->view.proxy[to]);
        p->dealer[to] = nc_socket(p->zctx, ZMQ_DEALER, p->self->name);
        if (!p->dealer[to] || sl_topo_endpoint(n, 0, ep, sizeof(ep)) < 0 ||
            nc_connect(p->dealer[to], ep) < 0)
            return -EIO;
    }
    int rc = nc_send(p->dealer[to], NULL, b->data, b->len, ZMQ_DONTWAIT);
    return rc == -EAGAIN ? 0 : rc; /* an unreachable successor: the re-send timer covers it */
}

static int send_to_worker(struct px *p, const char *worker, const struct sl_wire_buf *b)
{
    int rc = nc_send(p->router, worker, b->data, b->len, ZMQ_DONTWAIT);
    if (rc == -EHOSTUNREACH || rc == -EAGAIN) {
        /* not connected (now): it re-sends what it misses */
        p->unroutable++;
        return 0;
    }
    return rc;
}

static int op_forward(void *ctx, unsigned to, const struct sl_wire_known *k)
{
    struct px *p = ctx;
    sl_wire_buf_reset(&p->buf);
    int rc = sl_wire_enc_known(&p->buf, k);
    return rc < 0 ? rc : send_to_proxy(p, to, &p->buf);
}

static int op_down(void *ctx, unsigned w, const struct sl_wire_known *k)
{
    struct px *p = ctx;
    sl_wire_buf_reset(&p->buf);
    int rc = sl_wire_enc_known(&p->buf, k);
    return rc < 0 ? rc : send_to_worker(p, p->view.worker[w], &p->buf);
}

static int op_ack(void *ctx, const char *origin, uint64_t seq)
{
    struct px *p = ctx;
    struct sl_wire_ack a = {
        .node = p->self->name, .of_type = SL_WIRE_KNOWN, .origin = origin, .seq = seq};
    sl_wire_buf_reset(&p->buf);
    int rc = sl_wire_enc_ack(&p->buf, &a);
    return rc < 0 ? rc : send_to_worker(p, origin, &p->buf);
}

static int op_clock(void *ctx, unsigned to, const struct sl_wire_clock *c)
{
    struct px *p = ctx;
    sl_wire_buf_reset(&p->buf);
    int rc = sl_wire_enc_clock(&p->buf, c);
    return rc < 0 ? rc : send_to_proxy(p, to, &p->buf);
}

/* The row number of the next row of element id (1, 2, ...). */
static uint32_t next_row(struct px *p, const char *id)
{
    if ((p->rows_n + 1) * 4 > p->rows_cap * 3) {
        size_t cap = p->rows_cap ? p->rows_cap * 2 : 1024;
        struct rowcount *t = calloc(cap, sizeof(*t));
        if (!t)
            return 0;
        for (size_t i = 0; i < p->rows_cap; i++) {
            if (!p->rows[i].key)
                continue;
            size_t j = sl_wire_hash(p->rows[i].key) & (cap - 1);
            while (t[j].key)
                j = (j + 1) & (cap - 1);
            t[j] = p->rows[i];
        }
        free(p->rows);
        p->rows = t;
        p->rows_cap = cap;
    }
    size_t j = sl_wire_hash(id) & (p->rows_cap - 1);
    while (p->rows[j].key && strcmp(p->rows[j].key, id) != 0)
        j = (j + 1) & (p->rows_cap - 1);
    if (!p->rows[j].key) {
        p->rows[j].key = strdup(id);
        if (!p->rows[j].key)
            return 0;
        p->rows_n++;
    }
    return ++p->rows[j].n;
}

static int log_row(struct px *p, const struct sl_wire_known *k, const struct sl_log_schema *s,
                   const struct sl_log_val *vals)
{
    char id[2 * SL_WIRE_MAX_NAME + 8], bid[2 * SL_WIRE_MAX_NAME + 32];
    snprintf(id, sizeof(id), "%s/%s", k->set, k->key);
    uint32_t row = next_row(p, id);
    int w = snprintf(bid, sizeof(bid), "known/%s/%u", id, row);
    if (!row || w < 0 || (size_t)w >= sizeof(bid) || !sl_wire_name_ok(bid)) {
        /* a key too long for a batch name: still logged, without the
         * protection against a repeat after a failover */
        snprintf(bid, sizeof(bid), "known/%016llx/%u", (unsigned long long)sl_wire_hash(id), row);
    }
    p->rows_logged++;
    return nc_ship_single(p->ship, bid, s, vals);
}

static int op_log(void *ctx, const struct sl_wire_known *k)
{
    struct px *p = ctx;
    struct sl_log_val vals[SL_KS_N_FIELDS];
    struct sl_known_recbuf rb;
    if (strcmp(k->set, "hosts") == 0) {
        struct sl_known_host h;
        if (sl_wire_known_host(k, &h) < 0)
            goto bad;
        if (!sl_known_auth_host(p->auth, &h))
            return 0;
        sl_known_host_record(&h, vals, &rb);
        return log_row(p, k, &sl_known_hosts_schema, vals);
    }
    if (strcmp(k->set, "services") == 0) {
        struct sl_known_service s, out;
        if (sl_wire_known_service(k, &s) < 0)
            goto bad;
        if (!sl_known_auth_service(p->auth, &s, &out))
            return 0;
        sl_known_service_record(&out, vals, &rb);
        return log_row(p, k, &sl_known_services_schema, vals);
    }
bad:
    nc_err("insertion %s/%s from %s does not parse as a known item; not logged", k->set, k->key,
           k->origin);
    p->bad_items++;
    return 0;
}

/* ------------------------------------------------------------ messages */

static void on_router(struct px *p, const char *from, const struct sl_wire_msg *m, double now)
{
    int w = sl_ring_worker_index(&p->view, from);
    int q = sl_ring_proxy_index(&p->view, from);
    int rc = 0;
    if (w >= 0 && m->type == SL_WIRE_KNOWN && !*m->u.known.entry &&
        strcmp(m->u.known.origin, from) == 0) {
        rc = sl_ring_proxy_insert(p->ring, &m->u.known, now);
    } else if (w >= 0 && m->type == SL_WIRE_CLOCK && strcmp(m->u.clock.node, from) == 0) {
        rc = sl_ring_proxy_worker_clock(p->ring, &m->u.clock);
    } else if (w >= 0 && m->type == SL_WIRE_CONTROL && m->u.ctl.kind == SL_CTL_ATTACH) {
        p->attaches++;
        nc_info("worker %s attached (its view: epoch %llu)", from,
                (unsigned long long)m->u.ctl.epoch);
    } else if (q >= 0 && m->type == SL_WIRE_KNOWN && *m->u.known.entry) {
        rc = sl_ring_proxy_ring(p->ring, &m->u.known, now);
    } else if (q >= 0 && m->type == SL_WIRE_CLOCK) {
        rc = sl_ring_proxy_ring_clock(p->ring, &m->u.clock);
    } else {
        nc_err("unexpected %s message from '%s' on the proxy port; ignored",
               sl_wire_type_name(m->type), from);
        p->garbage++;
        return;
    }
    if (rc == -ENOENT) {
        nc_err("%s message from '%s' names a node this topology lacks; ignored",
               sl_wire_type_name(m->type), from);
        p->garbage++;
    } else if (rc < 0) {
        nc_err("ring: %s", strerror(-rc));
        p->fatal = rc;
    }
}

static void drain_router(struct px *p)
{
    for (;;) {
        struct sl_wire_msg m;
        char from[128];
        int rc = nc_recv(p->router, true, &m, from, sizeof(from), "the proxy port", &p->garbage);
        if (rc == 0)
            return;
        if (rc < 0)
            continue;
        on_router(p, from, &m, nc_mono());
        sl_wire_msg_clear(&m);
    }
}

static void drain_sub(struct px *p)
{
    for (;;) {
        struct sl_wire_msg m;
        int rc = nc_recv(p->sub, false, &m, NULL, 0, "the view subscription", &p->garbage);
        if (rc == 0)
            return;
        if (rc < 0)
            continue;
        if (m.type == SL_WIRE_CONTROL && m.u.ctl.kind == SL_CTL_VIEW) {
            bool me_was_live = p->view.proxy_live[p->me];
            if (nc_view_update(&p->view, &m.u.ctl) > 0) {
                if (!p->view.proxy_live[p->me] && me_was_live)
                    nc_err("the manager declared this proxy down (epoch %llu); it no longer "
                           "takes part in the ring",
                           (unsigned long long)p->view.epoch);
                for (unsigned i = 0; i < p->view.n_proxies; i++) {
                    if (!p->view.proxy_live[i] && p->dealer[i]) {
                        int zero = 0; /* what waits for a dead proxy is re-sent elsewhere */
                        zmq_setsockopt(p->dealer[i], ZMQ_LINGER, &zero, sizeof(zero));
                        zmq_close(p->dealer[i]);
                        p->dealer[i] = NULL;
                    }
                }
                int rc2 = sl_ring_proxy_set_view(p->ring, &p->view, nc_mono());
                if (rc2 < 0)
                    p->fatal = rc2;
            }
        }
        sl_wire_msg_clear(&m);
    }
}

static void counters(struct px *p, struct nc_counters *c)
{
    struct sl_ring_stats st;
    sl_ring_proxy_stats(p->ring, &st);
    nc_count_set(c, "epoch", p->view.epoch);
    nc_count_set(c, "ring_applied", st.applied);
    nc_count_set(c, "ring_dup", st.dup);
    nc_count_set(c, "ring_forwarded", st.forwarded);
    nc_count_set(c, "ring_circuits", st.circuits);
    nc_count_set(c, "ring_resent", st.resent);
    nc_count_set(c, "ring_released", st.logged);
    nc_count_set(c, "ring_taken_over", st.taken_over);
    nc_count_set(c, "ring_down", st.down);
    nc_count_set(c, "ring_late", st.late);
    nc_count_set(c, "ring_elements", st.elements);
    nc_count_set(c, "ring_pending", st.pending);
    nc_count_set(c, "ring_unlogged", st.unlogged);
    nc_count_set(c, "ring_dropped", st.dropped_dead_entry + st.dropped_hops);
    nc_count_set(c, "rows_logged", p->rows_logged);
    nc_count_set(c, "bad_items", p->bad_items);
    nc_count_set(c, "unroutable", p->unroutable);
    nc_count_set(c, "garbage", p->garbage);
    nc_ship_count(p->ship, c);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sluice-node proxy --topology FILE --node NAME [options]\n%s", nc_opts_help);
}

int sl_node_proxy(int argc, char **argv)
{
    struct px p;
    memset(&p, 0, sizeof(p));
    nc_opts_default(&p.o);
    for (int i = 1; i < argc; i++) {
        int r = nc_opts_parse(&p.o, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r == 0 && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
            usage(stdout);
            return 0;
        }
        if (r == 0) {
            fprintf(stderr, "sluice-node proxy: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    p.t = nc_load_topology(&p.o, SL_TOPO_PROXY, &p.self);
    if (!p.t)
        return 1;
    nc_signals_install();
    p.zctx = zmq_ctx_new();
    int status = 1;
    char ep[128];
    static const struct sl_ring_ops ops0 = {NULL, op_forward, op_down, op_ack, op_log, op_clock};
    struct sl_ring_ops ops = ops0;
    ops.ctx = &p;
    struct nc_ship_cfg sc = {.flush_interval = p.o.flush_interval};

    if (nc_view_init(p.t, &p.view) < 0)
        goto out;
    p.me = sl_ring_proxy_index(&p.view, p.self->name);
    p.router = nc_socket(p.zctx, ZMQ_ROUTER, p.self->name);
    if (!p.router || sl_topo_bind_endpoint(p.self, 0, ep, sizeof(ep)) < 0 ||
        nc_bind(p.router, ep) < 0)
        goto out;
    p.mon = nc_monitor(p.zctx, p.router, "the proxy port");
    p.sub = nc_view_socket(p.zctx, p.t);
    p.hb = nc_hb_new(p.zctx, p.t, p.self, &p.o);
    p.ship = nc_ship_new(p.zctx, p.t, p.self->name, &sc);
    p.auth = sl_known_auth_new(86400, 0);
    p.ring = sl_ring_proxy_new(&p.view, (unsigned)p.me, &ops, 2.0);
    if (!p.mon || !p.sub || !p.hb || !p.ship || !p.auth || !p.ring)
        goto out;
    nc_info("proxy up on %s (%u proxies, %u workers)", ep, p.view.n_proxies, p.view.n_workers);

    struct nc_counters c = {0};
    double last_tick = 0;
    while (!nc_stop && !p.fatal) {
        zmq_pollitem_t items[70];
        int n = 0;
        items[n++] = (zmq_pollitem_t){.socket = p.router, .events = ZMQ_POLLIN};
        items[n++] = (zmq_pollitem_t){.socket = p.mon, .events = ZMQ_POLLIN};
        items[n++] = (zmq_pollitem_t){.socket = p.sub, .events = ZMQ_POLLIN};
        n += nc_ship_pollitems(p.ship, items + n, 64);
        if (zmq_poll(items, n, 50) < 0 && zmq_errno() != EINTR) {
            nc_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
            goto out;
        }
        if (items[1].revents & ZMQ_POLLIN)
            nc_monitor_read(p.mon, "the proxy port");
        drain_sub(&p);
        drain_router(&p);
        if (nc_ship_service(p.ship) < 0)
            nc_err("log shipping failed");
        double now = nc_mono();
        if (now - last_tick >= 0.1) {
            last_tick = now;
            int rc = sl_ring_proxy_tick(p.ring, now);
            if (rc < 0)
                p.fatal = rc;
        }
        counters(&p, &c);
        nc_hb_tick(p.hb, &c, false);
    }
    if (p.fatal) {
        nc_err("stopping: %s", strerror(-p.fatal));
        goto out;
    }
    int drained = nc_ship_drain(p.ship, 30);
    if (drained < 0)
        nc_err("known rows not acknowledged by a logger within 30 s");
    counters(&p, &c);
    nc_hb_tick(p.hb, &c, true);
    nc_info("proxy done: %llu rows logged, %llu garbage messages",
            (unsigned long long)p.rows_logged, (unsigned long long)p.garbage);
    status = drained < 0 ? 1 : 0;
out:
    sl_ring_proxy_free(p.ring);
    sl_known_auth_free(p.auth);
    nc_ship_free(p.ship);
    nc_hb_free(p.hb, false);
    for (unsigned i = 0; i < SL_RING_MAX; i++) {
        if (p.dealer[i]) {
            int zero = 0; /* ring traffic left for a stopped peer is moot */
            zmq_setsockopt(p.dealer[i], ZMQ_LINGER, &zero, sizeof(zero));
            zmq_close(p.dealer[i]);
        }
    }
    void *socks[] = {p.mon, p.sub, p.router};
    for (size_t i = 0; i < 3; i++)
        if (socks[i])
            zmq_close(socks[i]);
    for (size_t i = 0; i < p.rows_cap; i++)
        free(p.rows[i].key);
    free(p.rows);
    sl_wire_buf_free(&p.buf);
    zmq_ctx_term(p.zctx);
    sl_topo_free(p.t);
    return status;
}
