/* sluice-node worker: the standalone analysis (sl_ana + sl_ana_mods) on a
 * capture, with its outputs sent into the cluster instead of files:
 *
 *   log records            -> the loggers (nc_ship: batches, acknowledged)
 *   known hosts/services   -> its proxy, as ring insertions (sl_ring)
 *   scan observations,
 *   notices, clocks, done  -> the manager (one PUSH socket, so in order)
 *   heartbeats             -> the manager
 *   views                  <- the manager (re-attach on a proxy change)
 *   acks, known items      <- its proxy
 *
 * Clocks. After its messages a worker tells each receiver how far its
 * network time went: the manager gets the network time itself (notices and
 * observations carry the time they are raised at); the proxy gets it minus
 * sl_known's 5-minute deferral, because a service committed late keeps the
 * time it was seen at. Both are lower bounds of what can still come, which
 * is what the ordered processing downstream needs (sl_ring.h, manager.c).
 * An item learned from the ring is put into the local caches only once this
 * worker's own deferred sightings cannot be earlier, so that it never hides
 * an earlier sighting of our own.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node_common.h"
#include "sl_ana.h"
#include "sl_ana_mods.h"
#include "sl_net.h"
#include "sl_node.h"

#define KNOWN_LAG 300.0 /* sl_known's deferral of services without a name */

/* sl_ana_advance(a, ts): network time moves to ts without a packet (one
 * another worker took), running what sl_ana_packet runs before analysing a
 * packet (connection timers, fragment expiry, module ticks). Asked of
 * sl_ana; declared weak so the worker builds before it lands. Until then the
 * worker advances the connection table alone (sl_conn_advance, what
 * sl_ana_packet does first): connection timers, and so the events they
 * raise, keep their network times; fragment expiry and module ticks wait for
 * the worker's next packet (that moves when a deferred item is sent, not
 * what it holds). */
extern void sl_ana_advance(struct sl_ana *a, double ts) __attribute__((weak));

static void advance(struct sl_ana *a, double ts)
{
    if (sl_ana_advance)
        sl_ana_advance(a, ts);
    else
        sl_conn_advance(sl_ana_conns(a), ts);
}

/* One timeline record (local_cluster.c writes them). */
struct tl_rec {
    double ts;
    uint32_t worker;
    uint32_t pad;
};
#define RESEND_AFTER 5.0 /* unacknowledged insertions are sent again */
#define LIVE_WAIT_MS 50  /* longest a live capture waits before the periodic work */

struct down {
    double ts;
    bool svc;
    union {
        struct sl_known_host h;
        struct sl_known_service s;
    } u;
};

struct wk {
    struct nc_opts o;
    const char *read, *iface, *filter, *networks, *timeline;
    bool ignore_checksums, private_local, seeded;
    uint64_t seed, max_conns, rate;
    int snaplen;

    struct sl_topo *t;
    const struct sl_topo_node *self;
    void *zctx, *sub, *push;
    void *dealer[SL_RING_MAX];
    struct nc_hb *hb;
    struct nc_ship *ship;
    struct sl_ring_view view;
    int me;
    struct sl_ring_worker *rw;
    struct sl_net *net;
    struct sl_ana *ana;
    void *mods;

    double now;                  /* network time */
    double sent_mgr, sent_proxy; /* clocks sent */
    double last_ack_progress;
    uint64_t last_pending;
    uint64_t obs_seq, notice_seq;
    struct down *dq; /* min-heap by ts */
    size_t ndq, capdq;
    struct sl_wire_buf buf;
    uint64_t garbage, obs_sent, notices_sent, learned, write_errors, send_errors;
    uint64_t pkts;
    int fatal;
};

/* ------------------------------------------------------------ sending */

static void *proxy_sock(struct wk *w, unsigned p)
{
    if (!w->dealer[p]) {
        char ep[128];
        const struct sl_topo_node *n = sl_topo_find(w->t, w->view.proxy[p]);
        w->dealer[p] = nc_socket(w->zctx, ZMQ_DEALER, w->self->name);
        if (w->dealer[p] &&
            (sl_topo_endpoint(n, 0, ep, sizeof(ep)) < 0 || nc_connect(w->dealer[p], ep) < 0)) {
            zmq_close(w->dealer[p]);
            w->dealer[p] = NULL;
        }
    }
    return w->dealer[p];
}

static int send_buf(struct wk *w, void *sock)
{
    int rc = sock ? nc_send(sock, NULL, w->buf.data, w->buf.len, ZMQ_DONTWAIT) : -EIO;
    if (rc == -EAGAIN)
        rc = 0; /* queued nowhere: re-sent later (insertions) or superseded (clocks) */
    if (rc < 0)
        w->send_errors++;
    return rc;
}

static int op_attach(void *ctx, unsigned to)
{
    struct wk *w = ctx;
    struct sl_wire_control c = {
        .kind = SL_CTL_ATTACH, .node = w->self->name, .epoch = w->view.epoch};
    sl_wire_buf_reset(&w->buf);
    int rc = sl_wire_enc_control(&w->buf, &c);
    w->sent_proxy = -INFINITY; /* the new proxy needs our clock */
    return rc < 0 ? rc : send_buf(w, proxy_sock(w, to));
}

static int op_send(void *ctx, unsigned to, const struct sl_wire_known *k)
{
    struct wk *w = ctx;
    sl_wire_buf_reset(&w->buf);
    int rc = sl_wire_enc_known(&w->buf, k);
    return rc < 0 ? rc : send_buf(w, proxy_sock(w, to));
}

static void send_clocks(struct wk *w, bool force)
{
    double cm = w->now, cp = w->now - KNOWN_LAG;
    if (force || cm > w->sent_mgr) {
        struct sl_wire_clock c = {.node = w->self->name, .epoch = w->view.epoch, .ts = cm};
        sl_wire_buf_reset(&w->buf);
        if (sl_wire_enc_clock(&w->buf, &c) == 0 && send_buf(w, w->push) == 0)
            w->sent_mgr = cm;
    }
    int p = sl_ring_worker_proxy(w->rw);
    if (p >= 0 && (force || cp > w->sent_proxy)) {
        struct sl_wire_clock c = {.node = w->self->name, .epoch = w->view.epoch, .ts = cp};
        sl_wire_buf_reset(&w->buf);
        if (sl_wire_enc_clock(&w->buf, &c) == 0 && send_buf(w, proxy_sock(w, (unsigned)p)) == 0)
            w->sent_proxy = cp;
    }
}

/* ------------------------------------------------------------ analysis sinks */

static int out_write(void *ctx, const struct sl_log_schema *schema, const struct sl_log_val *vals)
{
    struct wk *w = ctx;
    int rc = nc_ship_write(w->ship, schema, vals);
    if (rc < 0)
        w->write_errors++;
    return rc;
}

static void insert(struct wk *w, const char *set, const char *key, double ts,
                   const struct sl_log_schema *s, const struct sl_log_val *vals)
{
    struct sl_wire_section rec = {.schema = *s, .n_records = 1, .vals = vals};
    int rc = sl_ring_worker_insert(w->rw, set, key, ts, &rec);
    if (rc < 0) {
        nc_err("known %s %s: %s", set, key, strerror(-rc));
        w->fatal = rc;
    }
}

static void on_host(void *ctx, const struct sl_known_host *h)
{
    struct wk *w = ctx;
    char key[64];
    struct sl_log_val v[SL_KH_N_FIELDS];
    struct sl_known_recbuf b;
    sl_wire_known_host_key(h, key, sizeof(key));
    sl_known_host_record(h, v, &b);
    insert(w, "hosts", key, h->ts, &sl_known_hosts_schema, v);
}

static void on_service(void *ctx, const struct sl_known_service *s)
{
    struct wk *w = ctx;
    char key[96];
    struct sl_log_val v[SL_KS_N_FIELDS];
    struct sl_known_recbuf b;
    sl_wire_known_service_key(s, key, sizeof(key));
    sl_known_service_record(s, v, &b);
    insert(w, "services", key, s->ts, &sl_known_services_schema, v);
}

static void on_obs(void *ctx, const struct sl_scan_obs *o)
{
    struct wk *w = ctx;
    sl_wire_buf_reset(&w->buf);
    if (sl_wire_scan_encode(o, w->self->name, ++w->obs_seq, &w->buf) == 0 &&
        send_buf(w, w->push) == 0)
        w->obs_sent++;
}

static void on_notice(void *ctx, const struct sl_notice *n)
{
    struct wk *w = ctx;
    struct sl_log_val v[SL_WIRE_NOTICE_FIELDS];
    struct sl_wire_notice_buf b;
    sl_wire_notice_to_vals(n, v, &b);
    struct sl_wire_notice m = {.node = w->self->name,
                               .seq = ++w->notice_seq,
                               .ts = n->ts,
                               .note = n->note,
                               .identifier = n->identifier,
                               .suppress_for = n->has_suppress_for ? n->suppress_for : 0,
                               .rec = {.schema = sl_wire_notice_schema, .n_records = 1, .vals = v}};
    sl_wire_buf_reset(&w->buf);
    int rc = sl_wire_enc_notice(&w->buf, &m);
    if (rc < 0)
        nc_err("notice %s: cannot encode (%s); dropped", n->note, strerror(-rc));
    else if (send_buf(w, w->push) == 0)
        w->notices_sent++;
}

/* ------------------------------------------------------------ receiving */

static bool dq_less(const struct down *a, const struct down *b)
{
    return a->ts < b->ts;
}

static void dq_push(struct wk *w, const struct down *d)
{
    if (w->ndq == w->capdq) {
        size_t cap = w->capdq ? w->capdq * 2 : 64;
        struct down *n = realloc(w->dq, cap * sizeof(*n));
        if (!n)
            return; /* the cache only saves messages: losing a hint is harmless */
        w->dq = n;
        w->capdq = cap;
    }
    size_t i = w->ndq++;
    while (i > 0 && dq_less(d, &w->dq[(i - 1) / 2])) {
        w->dq[i] = w->dq[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->dq[i] = *d;
}

static void dq_pop(struct wk *w)
{
    struct down last = w->dq[--w->ndq];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->ndq)
            break;
        if (c + 1 < w->ndq && dq_less(&w->dq[c + 1], &w->dq[c]))
            c++;
        if (!dq_less(&w->dq[c], &last))
            break;
        w->dq[i] = w->dq[c];
        i = c;
    }
    if (w->ndq)
        w->dq[i] = last;
}

/* Items from the ring go into the caches once no deferred sighting of ours
 * can be earlier. */
static void learn_due(struct wk *w, bool all)
{
    struct sl_known *k = sl_ana_mods_known(w->mods);
    while (w->ndq && (all || w->dq[0].ts <= w->now - KNOWN_LAG)) {
        if (k && w->dq[0].svc)
            sl_known_learn_service(k, &w->dq[0].u.s);
        else if (k)
            sl_known_learn_host(k, &w->dq[0].u.h);
        w->learned++;
        dq_pop(w);
    }
}

static void on_proxy_msg(struct wk *w, const struct sl_wire_msg *m)
{
    if (m->type == SL_WIRE_ACK && m->u.ack.of_type == SL_WIRE_KNOWN &&
        strcmp(m->u.ack.origin, w->self->name) == 0) {
        sl_ring_worker_ack(w->rw, m->u.ack.seq);
        return;
    }
    if (m->type == SL_WIRE_KNOWN && (m->u.known.flags & SL_WIRE_KF_DOWN)) {
        struct down d = {.ts = m->u.known.ts};
        int rc;
        if (strcmp(m->u.known.set, "hosts") == 0) {
            rc = sl_wire_known_host(&m->u.known, &d.u.h);
        } else {
            d.svc = true;
            rc = sl_wire_known_service(&m->u.known, &d.u.s);
        }
        if (rc == 0)
            dq_push(w, &d);
        return;
    }
    nc_err("unexpected %s message from a proxy; ignored", sl_wire_type_name(m->type));
    w->garbage++;
}

static void on_view(struct wk *w, const struct sl_wire_msg *m)
{
    if (m->type != SL_WIRE_CONTROL || m->u.ctl.kind != SL_CTL_VIEW) {
        nc_err("unexpected %s message on the view subscription; ignored",
               sl_wire_type_name(m->type));
        w->garbage++;
        return;
    }
    int before = sl_ring_worker_proxy(w->rw);
    if (nc_view_update(&w->view, &m->u.ctl) <= 0)
        return;
    int rc = sl_ring_worker_set_view(w->rw, &w->view);
    if (rc < 0) {
        w->fatal = rc;
        return;
    }
    int after = sl_ring_worker_proxy(w->rw);
    if (after != before) {
        nc_info("view epoch %llu: attached to %s, %llu insertions re-sent",
                (unsigned long long)w->view.epoch, after >= 0 ? w->view.proxy[after] : "(none)",
                (unsigned long long)sl_ring_worker_pending(w->rw));
        send_clocks(w, true);
    }
}

static void poll_sockets(struct wk *w, long timeout_ms)
{
    zmq_pollitem_t items[SL_RING_MAX + 70];
    int n = 0;
    items[n++] = (zmq_pollitem_t){.socket = w->sub, .events = ZMQ_POLLIN};
    int first_dealer = n;
    int which[SL_RING_MAX];
    for (unsigned i = 0; i < w->view.n_proxies; i++) {
        if (w->dealer[i]) {
            which[n - first_dealer] = (int)i;
            items[n++] = (zmq_pollitem_t){.socket = w->dealer[i], .events = ZMQ_POLLIN};
        }
    }
    int ship_first = n;
    n += nc_ship_pollitems(w->ship, items + n, 64);
    if (zmq_poll(items, n, timeout_ms) < 0 && zmq_errno() != EINTR)
        return;
    (void)ship_first;
    for (;;) {
        struct sl_wire_msg m;
        int rc = nc_recv(w->sub, false, &m, NULL, 0, "the view subscription", &w->garbage);
        if (rc == 0)
            break;
        if (rc > 0) {
            on_view(w, &m);
            sl_wire_msg_clear(&m);
        }
    }
    for (int i = first_dealer; i < ship_first; i++) {
        for (;;) {
            struct sl_wire_msg m;
            char what[96];
            snprintf(what, sizeof(what), "the link to %s", w->view.proxy[which[i - first_dealer]]);
            int rc = nc_recv(items[i].socket, false, &m, NULL, 0, what, &w->garbage);
            if (rc == 0)
                break;
            if (rc > 0) {
                on_proxy_msg(w, &m);
                sl_wire_msg_clear(&m);
            }
        }
    }
    if (nc_ship_service(w->ship) < 0)
        w->write_errors++;
}

static void counters(struct wk *w, struct nc_counters *c)
{
    struct sl_ana_stats st;
    sl_ana_get_stats(w->ana, &st);
    nc_count_set(c, "packets", st.packets);
    nc_count_set(c, "bytes", st.bytes);
    nc_count_set(c, "conn_records", st.conn_records);
    nc_count_set(c, "weirds", st.weirds);
    nc_count_set(c, "known_sent", sl_ring_worker_sent(w->rw));
    nc_count_set(c, "known_pending", sl_ring_worker_pending(w->rw));
    nc_count_set(c, "known_learned", w->learned);
    nc_count_set(c, "scan_observations", w->obs_sent);
    nc_count_set(c, "notices", w->notices_sent);
    nc_count_set(c, "garbage", w->garbage);
    nc_count_set(c, "write_errors", w->write_errors + st.write_errors);
    nc_count_set(c, "send_errors", w->send_errors);
    nc_ship_count(w->ship, c);
}

/* Everything periodic: sockets, clocks, resends, heartbeats. */
static void service(struct wk *w, long timeout_ms, struct nc_counters *c)
{
    poll_sockets(w, timeout_ms);
    learn_due(w, false);
    send_clocks(w, false);
    uint64_t pending = sl_ring_worker_pending(w->rw);
    double mono = nc_mono();
    if (pending < w->last_pending || pending == 0)
        w->last_ack_progress = mono;
    w->last_pending = pending;
    if (pending && mono - w->last_ack_progress > RESEND_AFTER) {
        sl_ring_worker_resend(w->rw); /* an ack lost with a dying proxy */
        send_clocks(w, true);
        w->last_ack_progress = mono;
    }
    counters(w, c);
    nc_hb_tick(w->hb, c, false);
}

/* ------------------------------------------------------------ setup */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-node worker --topology FILE --node NAME (-r PCAP | -i IFACE) [options]\n"
            "  -r PCAP              read a pcap/pcapng file\n"
            "  -i IFACE             capture live (default: the topology's interface)\n"
            "  -f FILTER            BPF filter (default with -i and [frontend] output = direct:\n"
            "                       'ether dst <this worker's MAC>')\n"
            "  -C                   ignore checksums (zeek -C)\n"
            "  --seed N             deterministic uids\n"
            "  --networks FILE      local networks (zeekctl networks.cfg)\n"
            "  --no-private-local   private address space is not local by default\n"
            "  --max-conns N        flow-table limit (default 1000000)\n"
            "  --snaplen N          live snapshot length (default 65535)\n"
            "  --rate PPS           read a file at most PPS packets per second (tests)\n"
            "  --timeline FILE      the split's timeline (local-cluster): network time also\n"
            "                       moves at the packets other workers got\n"
            "%s",
            nc_opts_help);
}

static int parse(int argc, char **argv, struct wk *w)
{
    nc_opts_default(&w->o);
    w->private_local = true;
    w->max_conns = 1000000;
    w->snaplen = 65535;
    for (int i = 1; i < argc; i++) {
        int r = nc_opts_parse(&w->o, argc, argv, &i);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "-C") || !strcmp(a, "--no-checksums")) {
            w->ignore_checksums = true;
        } else if (!strcmp(a, "--no-private-local")) {
            w->private_local = false;
        } else if (!v) {
            fprintf(stderr, "sluice-node worker: unknown option '%s' or missing value\n", a);
            usage(stderr);
            return -1;
        } else if (!strcmp(a, "-r") || !strcmp(a, "--read")) {
            w->read = argv[++i];
        } else if (!strcmp(a, "-i") || !strcmp(a, "--interface")) {
            w->iface = argv[++i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--filter")) {
            w->filter = argv[++i];
        } else if (!strcmp(a, "--networks")) {
            w->networks = argv[++i];
        } else if (!strcmp(a, "--timeline")) {
            w->timeline = argv[++i];
        } else if (!strcmp(a, "--seed")) {
            w->seed = strtoull(argv[++i], &end, 10);
            w->seeded = true;
        } else if (!strcmp(a, "--max-conns")) {
            w->max_conns = strtoull(argv[++i], &end, 10);
        } else if (!strcmp(a, "--rate")) {
            w->rate = strtoull(argv[++i], &end, 10);
        } else if (!strcmp(a, "--snaplen")) {
            w->snaplen = (int)strtol(argv[++i], &end, 10);
        } else {
            fprintf(stderr, "sluice-node worker: unknown option '%s'\n", a);
            usage(stderr);
            return -1;
        }
        if (end && *end) {
            fprintf(stderr, "sluice-node worker: %s wants a number, not '%s'\n", a, v);
            return -1;
        }
    }
    return 0;
}

static pcap_t *open_source(struct wk *w)
{
    char err[PCAP_ERRBUF_SIZE] = "", filt[64];
    pcap_t *p;
    const char *iface = w->iface;
    if (!w->read && !iface && w->self->iface[0])
        iface = w->self->iface;
    if (w->read) {
        p = pcap_open_offline(w->read, err);
    } else if (iface) {
        p = pcap_create(iface, err);
        if (p) {
            pcap_set_snaplen(p, w->snaplen);
            pcap_set_promisc(p, 1);
            pcap_set_timeout(p, 50);
            pcap_set_immediate_mode(p, 1);
            pcap_set_buffer_size(p, 64 << 20);
            if (pcap_activate(p) < 0) {
                snprintf(err, sizeof(err), "%s", pcap_geterr(p));
                pcap_close(p);
                p = NULL;
            }
        }
        if (!w->filter && strcmp(w->t->frontend.output, "direct") == 0) {
            const uint8_t *m = w->self->mac;
            snprintf(filt, sizeof(filt), "ether dst %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
                     m[2], m[3], m[4], m[5]);
            w->filter = filt;
        }
    } else {
        nc_err("no input: give -r PCAP or -i IFACE (or an interface in the topology)");
        return NULL;
    }
    if (!p) {
        nc_err("cannot open %s: %s", w->read ? w->read : iface, err);
        return NULL;
    }
    if (w->filter) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, w->filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
            pcap_setfilter(p, &prog) < 0) {
            nc_err("bad filter '%s': %s", w->filter, pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
        pcap_freecode(&prog);
        nc_info("capture filter: %s", w->filter);
        if (w->filter == filt)
            w->filter = NULL;
    }
    if (!w->read && nc_pcap_live(p, err) < 0) {
        nc_err("cannot capture on %s: %s", iface, err);
        pcap_close(p);
        return NULL;
    }
    return p;
}

static int setup(struct wk *w)
{
    char err[512];
    static const struct sl_ring_wops wops0 = {NULL, op_attach, op_send};
    struct sl_ring_wops wops = wops0;
    wops.ctx = w;
    if (nc_view_init(w->t, &w->view) < 0)
        return -EINVAL;
    w->me = sl_ring_worker_index(&w->view, w->self->name);
    w->rw = sl_ring_worker_new(&w->view, (unsigned)w->me, &wops);
    w->sub = nc_view_socket(w->zctx, w->t);
    w->hb = nc_hb_new(w->zctx, w->t, w->self, &w->o);
    struct nc_ship_cfg sc = {.flush_interval = w->o.flush_interval};
    w->ship = nc_ship_new(w->zctx, w->t, w->self->name, &sc);
    if (!w->rw || !w->sub || !w->hb || !w->ship)
        return -EIO;
    w->push = nc_hb_socket(w->hb);
    w->net = sl_net_new(w->private_local);
    if (!w->net)
        return -ENOMEM;
    if (w->networks && sl_net_load(w->net, w->networks, err, sizeof(err)) < 0) {
        nc_err("%s", err);
        return -EINVAL;
    }
    struct sl_ana_output out = {.ctx = w, .write = out_write};
    struct sl_ana_cfg cfg = {
        .ignore_checksums = w->ignore_checksums,
        .max_conns = w->max_conns,
        .local = w->net,
        .seeded = w->seeded,
        .seed = w->seed,
        .uid_salt = (uint64_t)w->me + 1,
        .peer = w->self->name,
    };
    w->ana = sl_ana_new(&cfg, &out);
    if (!w->ana)
        return -errno;
    struct sl_ana_mods_cfg mc;
    sl_ana_mods_cfg_default(&mc);
    mc.notice_peer = w->self->name;
    mc.ctx = w;
    mc.host_found = on_host;
    mc.service_found = on_service;
    mc.scan_obs = on_obs;
    mc.notice = on_notice;
    int rc = sl_ana_mods_attach_cfg(w->ana, &mc, &w->mods);
    if (rc < 0)
        return rc;
    return sl_ring_worker_start(w->rw);
}

static void pace(struct wk *w, double t0)
{
    if (!w->rate || w->pkts % 64)
        return;
    double due = t0 + (double)w->pkts / (double)w->rate;
    double now = nc_mono();
    if (due > now) {
        struct timespec ts = {.tv_sec = (time_t)(due - now),
                              .tv_nsec = (long)((due - now - (time_t)(due - now)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* With a timeline: moves network time over the other workers' packets up
 * to our next one; false when the timeline says we have no more. */
static bool timeline_next(struct wk *w, FILE *tl, double *ts)
{
    struct tl_rec r;
    while (fread(&r, sizeof(r), 1, tl) == 1) {
        if (r.worker == (uint32_t)w->me) {
            *ts = r.ts;
            return true;
        }
        if (r.ts > w->now) {
            advance(w->ana, r.ts);
            w->now = sl_ana_now(w->ana);
        }
    }
    return false;
}

static int capture(struct wk *w, pcap_t *p, struct nc_counters *c)
{
    int dlt = pcap_datalink(p);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    double t0 = nc_mono(), last_service = t0;
    int r;
    FILE *tl = NULL;
    if (w->timeline && !(tl = fopen(w->timeline, "rb"))) {
        nc_err("%s: %s", w->timeline, strerror(errno));
        return -errno;
    }
    /* Live, packets may trickle in too slowly for a service every 64. */
    unsigned every = w->read ? 63 : 0;
    while (!nc_stop && !w->fatal &&
           (r = nc_pcap_next(p, LIVE_WAIT_MS, &hdr, &data)) != PCAP_ERROR_BREAK) {
        if (r == 0) { /* nothing for a while, or a signal */
            service(w, 0, c);
            continue;
        }
        if (r < 0) {
            nc_err("%s: %s", w->read ? w->read : "capture", pcap_geterr(p));
            if (tl)
                fclose(tl);
            return -EIO;
        }
        double ts = (double)hdr->ts.tv_sec + (double)hdr->ts.tv_usec / 1e6, tts = 0;
        if (tl && (!timeline_next(w, tl, &tts) || tts != ts)) {
            nc_err("the timeline and %s disagree at packet %" PRIu64, w->read, w->pkts + 1);
            fclose(tl);
            return -EINVAL;
        }
        sl_ana_packet(w->ana, ts, data, hdr->caplen, hdr->len, dlt);
        double now = sl_ana_now(w->ana);
        if (now > w->now)
            w->now = now;
        w->pkts++;
        if (w->pkts == 1)
            send_clocks(w, true); /* the manager anchors scan epochs at the first packet */
        pace(w, t0);
        if ((w->pkts & every) == 0) {
            double m = nc_mono();
            if (m - last_service >= 0.02) {
                last_service = m;
                service(w, 0, c);
            }
        }
    }
    if (tl) {
        double tts;
        bool more = timeline_next(w, tl, &tts); /* also moves time to the end */
        fclose(tl);
        if (more && !nc_stop) {
            nc_err("the timeline has packets for this worker that %s lacks", w->read);
            return -EINVAL;
        }
    }
    return 0;
}

/* Whether finish still waits for the ring: insertions unacknowledged, and a
 * live proxy to acknowledge them (with none, nothing ever will). */
static bool ring_waits(const struct wk *w)
{
    return sl_ring_worker_pending(w->rw) && sl_ring_worker_proxy(w->rw) >= 0;
}

/* End of input: last records, clocks to infinity, then wait until every
 * batch and insertion is acknowledged (insertions only while a proxy is
 * live; those left are counted in known_pending). */
static int finish(struct wk *w, struct nc_counters *c)
{
    sl_ana_finish(w->ana);
    learn_due(w, true);
    int rc = nc_ship_flush(w->ship);
    w->now = INFINITY;
    send_clocks(w, true);
    struct sl_wire_control done = {
        .kind = SL_CTL_DONE, .node = w->self->name, .epoch = w->view.epoch};
    sl_wire_buf_reset(&w->buf);
    if (sl_wire_enc_control(&w->buf, &done) == 0)
        send_buf(w, w->push);
    double t0 = nc_mono();
    while (rc == 0 && !w->fatal && nc_stop < 2 && (!nc_ship_idle(w->ship) || ring_waits(w))) {
        if (nc_mono() - t0 > 300) {
            nc_err("not everything acknowledged after 300 s: %llu insertions pending, "
                   "log batches in flight",
                   (unsigned long long)sl_ring_worker_pending(w->rw));
            return -ETIMEDOUT;
        }
        service(w, 50, c);
    }
    if (sl_ring_worker_pending(w->rw) && sl_ring_worker_proxy(w->rw) < 0)
        nc_err("no live proxy left (a proxy declared down does not come back): %llu "
               "known-item insertions never acknowledged; their rows are lost "
               "(known_pending)",
               (unsigned long long)sl_ring_worker_pending(w->rw));
    counters(w, c);
    nc_hb_tick(w->hb, c, true);
    return rc < 0 ? rc : w->fatal;
}

int sl_node_worker(int argc, char **argv)
{
    struct wk w;
    memset(&w, 0, sizeof(w));
    int pr = parse(argc, argv, &w);
    if (pr)
        return pr > 0 ? 0 : 2;
    w.t = nc_load_topology(&w.o, SL_TOPO_WORKER, &w.self);
    if (!w.t)
        return 1;
    if (w.read && w.iface) {
        nc_err("give -r or -i, not both");
        sl_topo_free(w.t);
        return 2;
    }
    nc_signals_install();
    w.zctx = zmq_ctx_new();
    w.now = -INFINITY;
    w.sent_mgr = w.sent_proxy = -INFINITY;
    w.last_ack_progress = nc_mono();
    int status = 1;
    pcap_t *p = NULL;
    struct nc_counters c = {0};
    if (setup(&w) < 0 || !(p = open_source(&w)))
        goto out;
    nc_info("worker up: %s, proxy %s", w.read ? w.read : "live capture",
            sl_ring_worker_proxy(w.rw) >= 0 ? w.view.proxy[sl_ring_worker_proxy(w.rw)] : "-");
    int rc = capture(&w, p, &c);
    if (rc == 0)
        rc = finish(&w, &c);
    struct sl_ana_stats st;
    sl_ana_get_stats(w.ana, &st);
    struct nc_ship_stats ss;
    nc_ship_stats(w.ship, &ss);
    nc_info("worker done: %" PRIu64 " packets, %" PRIu64 " records shipped (%" PRIu64
            " acknowledged), %" PRIu64 " known items sent, %" PRIu64 " garbage messages",
            st.packets, ss.records, ss.acked_records, sl_ring_worker_sent(w.rw), w.garbage);
    status = rc < 0 || w.write_errors || st.write_errors ? 1 : 0;
out:
    if (p)
        pcap_close(p);
    if (w.mods)
        sl_ana_mods_detach(w.mods);
    sl_ana_free(w.ana);
    sl_net_free(w.net);
    sl_ring_worker_free(w.rw);
    nc_ship_free(w.ship);
    nc_hb_free(w.hb, true);
    for (unsigned i = 0; i < SL_RING_MAX; i++)
        if (w.dealer[i])
            zmq_close(w.dealer[i]);
    if (w.sub)
        zmq_close(w.sub);
    free(w.dq);
    sl_wire_buf_free(&w.buf);
    zmq_ctx_term(w.zctx);
    sl_topo_free(w.t);
    return status;
}
