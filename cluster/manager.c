/* sluice-node manager: the cluster's choke point.
 *
 *  - Liveness: every node heartbeats to the manager's PULL port; a node
 *    silent for --dead-after seconds is down, a down worker or logger that
 *    speaks again is up. Each change bumps the membership epoch; the view
 *    (epoch + live node names) is published on the PUB port at every change
 *    and every heartbeat interval, for the proxies and workers (the ring's
 *    healing) and the frontend (its liveness control). A proxy that was down
 *    stays out (sl_ring.h).
 *  - Notices and scan observations from the workers are processed in
 *    network-time order: each worker sends an event-time clock after its
 *    messages on the same socket, and the manager releases what is older
 *    than the smallest clock of the live workers. Scan observations go
 *    through sl_scan's aggregator (raising each scan notice once
 *    cluster-wide), notices through sl_notice (exact suppression by
 *    (note, identifier)); notice.log records go to the loggers.
 *  - With no logger in the topology the manager takes the log batches
 *    itself on port + 2 and writes them (nc_logger).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_common.h"
#include "sl_net.h"
#include "sl_node.h"

struct nstate {
    const struct sl_topo_node *n;
    double last; /* monotonic time of the last heartbeat (or of our start) */
    bool seen;   /* heartbeat ever */
    bool live;
    bool banned; /* a proxy that was down: may not rejoin */
    bool warned;
    bool done;    /* worker: input finished */
    double clock; /* worker: event-time clock */
    double first; /* worker: first clock (its first packet) */
    uint64_t hb_seq;
};

struct qnotice {
    double ts;
    uint64_t arrival;
    struct sl_wire_msg m;
};

struct mgr {
    struct nc_opts o;
    const char *log_dir, *networks;
    enum sl_log_format fmt;
    bool private_local;
    double rotate;

    struct sl_topo *t;
    const struct sl_topo_node *self;
    void *zctx, *pull, *pub, *logr, *mon_pull, *mon_pub, *mon_log;
    struct nc_ship *ship;
    struct nc_logger *lg;
    uint64_t local_seq_base, local_seq;

    struct nstate *ns;
    unsigned nn;
    uint64_t epoch;
    bool view_dirty;
    double last_view;

    struct sl_net *net;
    struct sl_scan_agg *scan;
    bool scan_started;
    struct sl_notice_ctx *notice;
    struct qnotice *q; /* min-heap by (ts, arrival) */
    size_t nq, capq;
    uint64_t arrivals;
    double max_ts; /* largest event time seen */

    uint64_t garbage, hb_in, clocks_in, obs_in, notices_in, notice_errors, write_errors;
    struct sl_wire_buf buf;
    int failed;
};

/* ------------------------------------------------------------ records out */

static void write_record(struct mgr *m, const struct sl_log_schema *s, const struct sl_log_val *v)
{
    int rc;
    if (m->lg) {
        struct sl_wire_section sec = {.schema = *s, .n_records = 1, .vals = v};
        struct sl_wire_log b = {.node = m->self->name,
                                .seq = m->local_seq_base + ++m->local_seq,
                                .n_sections = 1,
                                .sections = &sec};
        rc = nc_logger_batch(m->lg, &b);
    } else {
        rc = nc_ship_write(m->ship, s, v);
    }
    if (rc < 0) {
        m->write_errors++;
        nc_err("writing a %s record: %s", s->path, strerror(-rc));
    }
}

static void on_notice_record(void *ctx, const struct sl_log_val *vals)
{
    write_record(ctx, &sl_notice_schema, vals);
}

static void on_scan_notice(void *ctx, const struct sl_notice *n)
{
    struct mgr *m = ctx;
    if (sl_notice_raise(m->notice, n, NULL) < 0)
        m->notice_errors++;
}

static bool is_local(void *ctx, const uint8_t addr[16])
{
    struct mgr *m = ctx;
    return sl_net_contains(m->net, addr);
}

/* ------------------------------------------------------------ notice queue */

static bool q_less(const struct qnotice *a, const struct qnotice *b)
{
    return a->ts != b->ts ? a->ts < b->ts : a->arrival < b->arrival;
}

static int q_push(struct mgr *m, struct sl_wire_msg *msg)
{
    if (m->nq == m->capq) {
        size_t cap = m->capq ? m->capq * 2 : 64;
        struct qnotice *n = realloc(m->q, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        m->q = n;
        m->capq = cap;
    }
    struct qnotice e = {.ts = msg->u.notice.ts, .arrival = m->arrivals++, .m = *msg};
    memset(msg, 0, sizeof(*msg)); /* the queue owns it now */
    size_t i = m->nq++;
    while (i > 0 && q_less(&e, &m->q[(i - 1) / 2])) {
        m->q[i] = m->q[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->q[i] = e;
    return 0;
}

static void q_pop(struct mgr *m, struct qnotice *out)
{
    *out = m->q[0];
    struct qnotice last = m->q[--m->nq];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m->nq)
            break;
        if (c + 1 < m->nq && q_less(&m->q[c + 1], &m->q[c]))
            c++;
        if (!q_less(&m->q[c], &last))
            break;
        m->q[i] = m->q[c];
        i = c;
    }
    if (m->nq)
        m->q[i] = last;
}

static void raise_queued(struct mgr *m, struct qnotice *e)
{
    struct sl_notice n;
    if (sl_wire_notice_from_vals(&e->m.u.notice.rec, &n) < 0) {
        nc_err("notice from %s does not parse; dropped", e->m.u.notice.node);
        m->notice_errors++;
    } else if (sl_notice_raise(m->notice, &n, NULL) < 0) {
        m->notice_errors++;
    }
    sl_wire_msg_clear(&e->m);
}

/* ------------------------------------------------------------ ordering */

/* Smallest clock of the live workers: nothing older can still come. */
static double watermark(const struct mgr *m)
{
    double wm = INFINITY;
    for (unsigned i = 0; i < m->nn; i++) {
        const struct nstate *s = &m->ns[i];
        if (s->n->type != SL_TOPO_WORKER || !s->live || s->done)
            continue;
        if (s->clock < wm)
            wm = s->clock;
    }
    return wm;
}

static void release(struct mgr *m, bool all)
{
    double wm = all ? INFINITY : watermark(m);
    if (wm == -INFINITY)
        return;
    if (!m->scan_started) {
        /* the epoch grid starts at the first packet of the whole input */
        double t0 = INFINITY;
        for (unsigned i = 0; i < m->nn; i++)
            if (m->ns[i].n->type == SL_TOPO_WORKER && m->ns[i].first < t0)
                t0 = m->ns[i].first;
        if (t0 < INFINITY)
            sl_scan_agg_start(m->scan, t0);
        m->scan_started = true;
    }
    /* a clock c means "nothing earlier than c": release what is strictly older */
    double upto = isinf(wm) ? m->max_ts : nextafter(wm, -INFINITY);
    while (m->nq && (all || m->q[0].ts <= upto)) {
        struct qnotice e;
        q_pop(m, &e);
        raise_queued(m, &e);
    }
    if (all)
        sl_scan_agg_flush(m->scan);
    else if (upto > -INFINITY)
        sl_scan_agg_release(m->scan, upto);
}

/* ------------------------------------------------------------ membership */

static struct nstate *find(struct mgr *m, const char *name)
{
    for (unsigned i = 0; i < m->nn; i++)
        if (strcmp(m->ns[i].n->name, name) == 0)
            return &m->ns[i];
    return NULL;
}

static void set_live(struct mgr *m, struct nstate *s, bool live)
{
    if (s->live == live)
        return;
    if (live && s->banned) {
        if (!s->warned)
            nc_err("proxy %s speaks again, but a proxy that was down may not rejoin the ring; "
                   "ignored",
                   s->n->name);
        s->warned = true;
        return;
    }
    s->live = live;
    if (!live && s->n->type == SL_TOPO_PROXY)
        s->banned = true;
    m->epoch++;
    m->view_dirty = true;
    nc_info("%s %s %s (epoch %llu)", sl_topo_type_name(s->n->type), s->n->name,
            live ? "up" : "down", (unsigned long long)m->epoch);
}

static void check_liveness(struct mgr *m)
{
    double now = nc_mono();
    for (unsigned i = 0; i < m->nn; i++) {
        struct nstate *s = &m->ns[i];
        if (s->n == m->self || !s->live)
            continue;
        /* a worker that finished and left is not a failure: it said so */
        if (now - s->last > m->o.dead_after) {
            if (!s->done)
                nc_info("%s silent for %.1f s", s->n->name, now - s->last);
            set_live(m, s, false);
        }
    }
}

static void publish_view(struct mgr *m)
{
    double now = nc_mono();
    if (!m->view_dirty && now - m->last_view < m->o.hb_interval)
        return;
    const char **names = calloc(m->nn, sizeof(*names));
    if (!names)
        return;
    uint32_t n = 0;
    for (unsigned i = 0; i < m->nn; i++)
        if (m->ns[i].live)
            names[n++] = m->ns[i].n->name;
    struct sl_wire_control c = {.kind = SL_CTL_VIEW,
                                .node = m->self->name,
                                .epoch = m->epoch,
                                .n_names = n,
                                .names = names};
    sl_wire_buf_reset(&m->buf);
    if (sl_wire_enc_control(&m->buf, &c) == 0)
        nc_send(m->pub, NULL, m->buf.data, m->buf.len, ZMQ_DONTWAIT);
    free(names);
    m->view_dirty = false;
    m->last_view = now;
}

/* ------------------------------------------------------------ messages */

static void handle(struct mgr *m, struct sl_wire_msg *msg)
{
    struct nstate *s;
    switch (msg->type) {
    case SL_WIRE_HEARTBEAT:
        s = find(m, msg->u.hb.node);
        if (!s || (unsigned)s->n->type != msg->u.hb.role) {
            nc_err("heartbeat from '%s' (%s), not a node of this topology; ignored", msg->u.hb.node,
                   sl_wire_role_name(msg->u.hb.role));
            m->garbage++;
            return;
        }
        m->hb_in++;
        s->last = nc_mono();
        s->hb_seq = msg->u.hb.seq;
        if (!s->live)
            set_live(m, s, true);
        s->seen = true;
        return;
    case SL_WIRE_CLOCK:
        s = find(m, msg->u.clock.node);
        if (!s || s->n->type != SL_TOPO_WORKER) {
            nc_err("clock from '%s', not a worker; ignored", msg->u.clock.node);
            m->garbage++;
            return;
        }
        m->clocks_in++;
        if (s->first == INFINITY && isfinite(msg->u.clock.ts))
            s->first = msg->u.clock.ts;
        if (msg->u.clock.ts > s->clock)
            s->clock = msg->u.clock.ts;
        if (isfinite(msg->u.clock.ts) && msg->u.clock.ts > m->max_ts)
            m->max_ts = msg->u.clock.ts;
        return;
    case SL_WIRE_SCAN: {
        struct sl_scan_obs o;
        if (sl_wire_scan_decode(&msg->u.scan, &o) < 0) {
            nc_err("scan observation from '%s' with bad addresses; ignored", msg->u.scan.node);
            m->garbage++;
            return;
        }
        m->obs_in++;
        if (o.ts > m->max_ts)
            m->max_ts = o.ts;
        if (sl_scan_agg_submit(m->scan, &o) < 0)
            nc_err("scan queue: out of memory");
        return;
    }
    case SL_WIRE_NOTICE:
        m->notices_in++;
        if (msg->u.notice.ts > m->max_ts)
            m->max_ts = msg->u.notice.ts;
        if (q_push(m, msg) < 0)
            nc_err("notice queue: out of memory");
        return;
    case SL_WIRE_CONTROL:
        if (msg->u.ctl.kind == SL_CTL_DONE && (s = find(m, msg->u.ctl.node)) &&
            s->n->type == SL_TOPO_WORKER) {
            s->done = true;
            s->clock = INFINITY;
            nc_info("worker %s finished its input", s->n->name);
            return;
        }
        break;
    default:
        break;
    }
    nc_err("unexpected %s message on the manager port; ignored", sl_wire_type_name(msg->type));
    m->garbage++;
}

static void drain_pull(struct mgr *m)
{
    for (;;) {
        struct sl_wire_msg msg;
        int rc = nc_recv(m->pull, false, &msg, NULL, 0, "the manager port", &m->garbage);
        if (rc == 0)
            return;
        if (rc < 0)
            continue;
        handle(m, &msg);
        sl_wire_msg_clear(&msg);
    }
}

static void drain_logr(struct mgr *m)
{
    for (;;) {
        struct sl_wire_msg msg;
        char from[128];
        int rc = nc_recv(m->logr, true, &msg, from, sizeof(from), "the log port", &m->garbage);
        if (rc == 0)
            return;
        if (rc < 0)
            continue;
        nc_logger_serve(m->lg, m->logr, m->self->name, from, &msg, &m->garbage);
        sl_wire_msg_clear(&msg);
    }
}

static void counters(struct mgr *m, struct nc_counters *c)
{
    unsigned live = 0, workers_done = 0;
    for (unsigned i = 0; i < m->nn; i++) {
        live += m->ns[i].live;
        workers_done += m->ns[i].n->type == SL_TOPO_WORKER && m->ns[i].done;
    }
    const struct sl_notice_counters *nc = sl_notice_counters(m->notice);
    const struct sl_scan_counters *sc = sl_scan_agg_counters(m->scan);
    nc_count_set(c, "epoch", m->epoch);
    nc_count_set(c, "nodes_live", live);
    nc_count_set(c, "workers_done", workers_done);
    nc_count_set(c, "heartbeats", m->hb_in);
    nc_count_set(c, "clocks", m->clocks_in);
    nc_count_set(c, "scan_observations", m->obs_in);
    nc_count_set(c, "scan_processed", sc->observations);
    nc_count_set(c, "scan_pending", sl_scan_agg_pending(m->scan));
    nc_count_set(c, "scan_notices", sc->notices);
    nc_count_set(c, "notices_received", m->notices_in);
    nc_count_set(c, "notices_pending", m->nq);
    nc_count_set(c, "notices_logged", nc->logged);
    nc_count_set(c, "notices_suppressed", nc->suppressed);
    nc_count_set(c, "notice_errors", m->notice_errors);
    nc_count_set(c, "write_errors", m->write_errors);
    nc_count_set(c, "garbage", m->garbage);
    if (m->ship)
        nc_ship_count(m->ship, c);
    if (m->lg)
        nc_logger_count(m->lg, c);
}

/* ------------------------------------------------------------ setup */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-node manager --topology FILE --node NAME [options]\n"
            "  --log-dir DIR        logs, when the topology has no logger (default .)\n"
            "  --log-format F       tsv (default) or json (same)\n"
            "  --rotate S           rotation of those logs (default 3600; 0: never)\n"
            "  --networks FILE      local networks (zeekctl networks.cfg), for scan notices\n"
            "  --no-private-local   private address space is not local by default\n"
            "%s",
            nc_opts_help);
}

static int parse(int argc, char **argv, struct mgr *m)
{
    nc_opts_default(&m->o);
    m->log_dir = ".";
    m->fmt = SL_LOG_TSV;
    m->private_local = true;
    m->rotate = 3600;
    for (int i = 1; i < argc; i++) {
        int r = nc_opts_parse(&m->o, argc, argv, &i);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--no-private-local") == 0) {
            m->private_local = false;
        } else if (strcmp(a, "--log-dir") == 0 && v) {
            m->log_dir = argv[++i];
        } else if (strcmp(a, "--networks") == 0 && v) {
            m->networks = argv[++i];
        } else if (strcmp(a, "--log-format") == 0 && v &&
                   (!strcmp(v, "tsv") || !strcmp(v, "json"))) {
            m->fmt = strcmp(argv[++i], "json") == 0 ? SL_LOG_JSON : SL_LOG_TSV;
        } else if (strcmp(a, "--rotate") == 0 && v) {
            char *end;
            m->rotate = strtod(argv[++i], &end);
            if (*end || m->rotate < 0)
                return fprintf(stderr, "sluice-node manager: --rotate wants seconds\n"), -1;
        } else {
            fprintf(stderr, "sluice-node manager: bad option '%s'\n", a);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static int setup(struct mgr *m)
{
    char ep[128], err[512];
    m->net = sl_net_new(m->private_local);
    if (!m->net)
        return -ENOMEM;
    if (m->networks && sl_net_load(m->net, m->networks, err, sizeof(err)) < 0) {
        nc_err("%s", err);
        return -EINVAL;
    }
    struct sl_notice_cfg ncfg = {
        .default_suppression_interval = 3600, .ctx = m, .record = on_notice_record};
    m->notice = sl_notice_new(&ncfg);
    struct sl_scan_cfg scfg;
    sl_scan_cfg_default(&scfg);
    scfg.ctx = m;
    scfg.is_local = is_local;
    scfg.notice = on_scan_notice;
    m->scan = sl_scan_agg_new(&scfg);
    if (!m->notice || !m->scan)
        return -ENOMEM;

    m->nn = m->t->n_nodes;
    m->ns = calloc(m->nn, sizeof(*m->ns));
    if (!m->ns)
        return -ENOMEM;
    double now = nc_mono();
    for (unsigned i = 0; i < m->nn; i++) {
        /* epoch 0: everyone live, the view every node starts from */
        m->ns[i] = (struct nstate){
            .n = &m->t->nodes[i], .last = now, .live = true, .clock = -INFINITY, .first = INFINITY};
    }
    m->max_ts = -INFINITY;

    m->pull = nc_socket(m->zctx, ZMQ_PULL, NULL);
    m->pub = nc_socket(m->zctx, ZMQ_PUB, NULL);
    if (!m->pull || !m->pub || sl_topo_bind_endpoint(m->self, 0, ep, sizeof(ep)) < 0 ||
        nc_bind(m->pull, ep) < 0 || sl_topo_bind_endpoint(m->self, 1, ep, sizeof(ep)) < 0 ||
        nc_bind(m->pub, ep) < 0)
        return -EIO;
    m->mon_pull = nc_monitor(m->zctx, m->pull, "the manager port");
    m->mon_pub = nc_monitor(m->zctx, m->pub, "the view port");
    if (!m->mon_pull || !m->mon_pub)
        return -EIO;
    if (sl_topo_count(m->t, SL_TOPO_LOGGER) == 0) {
        m->logr = nc_socket(m->zctx, ZMQ_ROUTER, m->self->name);
        if (!m->logr || sl_topo_bind_endpoint(m->self, 2, ep, sizeof(ep)) < 0 ||
            nc_bind(m->logr, ep) < 0)
            return -EIO;
        m->mon_log = nc_monitor(m->zctx, m->logr, "the log port");
        m->lg = nc_logger_new(m->log_dir, m->fmt, m->rotate);
        m->local_seq_base = (uint64_t)nc_wall() << 24;
        if (!m->mon_log || !m->lg)
            return -EIO;
    } else {
        struct nc_ship_cfg sc = {.flush_interval = m->o.flush_interval};
        m->ship = nc_ship_new(m->zctx, m->t, m->self->name, &sc);
        if (!m->ship)
            return -EIO;
    }
    return 0;
}

static void teardown(struct mgr *m)
{
    nc_ship_free(m->ship);
    nc_logger_free(m->lg);
    void *socks[] = {m->mon_pull, m->mon_pub, m->mon_log, m->pull, m->pub, m->logr};
    for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++)
        if (socks[i])
            zmq_close(socks[i]);
    for (size_t i = 0; i < m->nq; i++)
        sl_wire_msg_clear(&m->q[i].m);
    free(m->q);
    free(m->ns);
    sl_scan_agg_free(m->scan);
    sl_notice_free(m->notice);
    sl_net_free(m->net);
    sl_wire_buf_free(&m->buf);
}

static int loop(struct mgr *m)
{
    struct nc_counters c = {0};
    double last_stats = -1e9;
    while (!nc_stop) {
        zmq_pollitem_t items[72];
        int n = 0;
        items[n++] = (zmq_pollitem_t){.socket = m->pull, .events = ZMQ_POLLIN};
        items[n++] = (zmq_pollitem_t){.socket = m->mon_pull, .events = ZMQ_POLLIN};
        items[n++] = (zmq_pollitem_t){.socket = m->mon_pub, .events = ZMQ_POLLIN};
        if (m->logr) {
            items[n++] = (zmq_pollitem_t){.socket = m->logr, .events = ZMQ_POLLIN};
            items[n++] = (zmq_pollitem_t){.socket = m->mon_log, .events = ZMQ_POLLIN};
        }
        if (m->ship)
            n += nc_ship_pollitems(m->ship, items + n, 64);
        if (zmq_poll(items, n, 50) < 0 && zmq_errno() != EINTR) {
            nc_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
            return 1;
        }
        if (items[1].revents & ZMQ_POLLIN)
            nc_monitor_read(m->mon_pull, "the manager port");
        if (items[2].revents & ZMQ_POLLIN)
            nc_monitor_read(m->mon_pub, "the view port");
        if (m->logr && (items[4].revents & ZMQ_POLLIN))
            nc_monitor_read(m->mon_log, "the log port");
        drain_pull(m);
        if (m->logr)
            drain_logr(m);
        /* liveness only after everything queued was read: a backlog is not
         * silence */
        check_liveness(m);
        publish_view(m);
        release(m, false);
        if (m->ship && nc_ship_service(m->ship) < 0)
            m->write_errors++;
        if (m->lg) {
            if (nc_hup) {
                nc_hup = 0;
                nc_logger_rotate(m->lg);
            }
            nc_logger_tick(m->lg);
        }
        if (nc_mono() - last_stats >= m->o.hb_interval) {
            last_stats = nc_mono();
            counters(m, &c);
            nc_stats_write(m->o.state_dir, m->self->name, &c);
        }
    }
    /* stopping: take what already arrived, release everything in order */
    drain_pull(m);
    if (m->logr)
        drain_logr(m);
    release(m, true);
    if (m->ship && nc_ship_drain(m->ship, 30) < 0) {
        nc_err("notice.log records not acknowledged by a logger within 30 s");
        m->write_errors++;
    }
    counters(m, &c);
    nc_stats_write(m->o.state_dir, m->self->name, &c);
    const struct sl_notice_counters *nc = sl_notice_counters(m->notice);
    nc_info("manager done: %llu notices logged, %llu suppressed, %llu scan observations, "
            "%llu garbage messages",
            (unsigned long long)nc->logged, (unsigned long long)nc->suppressed,
            (unsigned long long)m->obs_in, (unsigned long long)m->garbage);
    return m->write_errors || m->notice_errors ? 1 : 0;
}

int sl_node_manager(int argc, char **argv)
{
    struct mgr m;
    memset(&m, 0, sizeof(m));
    int pr = parse(argc, argv, &m);
    if (pr)
        return pr > 0 ? 0 : 2;
    m.t = nc_load_topology(&m.o, SL_TOPO_MANAGER, &m.self);
    if (!m.t)
        return 1;
    nc_signals_install();
    m.zctx = zmq_ctx_new();
    int status = 1;
    if (setup(&m) == 0) {
        char ep[128];
        sl_topo_endpoint(m.self, 0, ep, sizeof(ep));
        nc_info("manager up on %s (%u nodes, %s)", ep, m.t->n_nodes,
                m.lg ? "writing the logs itself" : "logs go to the loggers");
        status = loop(&m);
    }
    teardown(&m);
    zmq_ctx_term(m.zctx);
    sl_topo_free(m.t);
    return status;
}
