/* node_common: process plumbing, sockets, heartbeats. The shipper and the
 * logger core are in ship.c and logger_core.c. */
#include "node_common.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t nc_stop;
volatile sig_atomic_t nc_hup;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        nc_hup = 1;
    else
        nc_stop++;
}

void nc_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int nc_pcap_live(pcap_t *p, char *err)
{
    if (pcap_setnonblock(p, 1, err) < 0)
        return -EIO;
    if (pcap_get_selectable_fd(p) < 0) {
        snprintf(err, PCAP_ERRBUF_SIZE, "no descriptor to poll");
        return -ENOTSUP;
    }
    return 0;
}

int nc_pcap_next(pcap_t *p, int wait_ms, struct pcap_pkthdr **hdr, const u_char **data)
{
    int r = pcap_next_ex(p, hdr, data);
    if (r != 0)
        return r;
    int fd = pcap_get_selectable_fd(p);
    if (fd < 0)
        return 0;
    /* Readable also when a ring block is handed over by its retire timer,
     * so a packet waits at most that long plus nothing. */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, wait_ms) <= 0)
        return 0; /* timeout, or EINTR: the caller looks at its flags */
    return pcap_next_ex(p, hdr, data);
}

double nc_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double nc_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char node_name[SL_TOPO_NAME] = "?";

void nc_set_name(const char *name)
{
    snprintf(node_name, sizeof(node_name), "%s", name);
}

const char *nc_name(void)
{
    return node_name;
}

static void vline(const char *kind, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "sluice-node[%s]: %s", node_name, kind);
    if (n < 0 || (size_t)n >= sizeof(buf))
        n = 0;
    vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    /* one line, whatever the message contained */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s\n", buf);
}

void nc_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("error: ", fmt, ap);
    va_end(ap);
}

void nc_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("", fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ options */

const char nc_opts_help[] =
    "  --topology FILE      topology (node.cfg-style INI, see core/sl_topo.h)\n"
    "  --node NAME          this node's name in the topology\n"
    "  --state-dir DIR      write DIR/NAME.stats (counters) at each heartbeat\n"
    "  --hb-interval S      heartbeat period in seconds (default 1)\n"
    "  --flush-interval S   ship a log batch at least this often (default 1)\n"
    "  --dead-after S       manager: a node silent this long is down (default 5)\n";

void nc_opts_default(struct nc_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->hb_interval = 1.0;
    o->flush_interval = 1.0;
    o->dead_after = 5.0;
}

static int opt_seconds(const char *opt, const char *v, double *out)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || *end || !(d > 0) || d > 86400) {
        fprintf(stderr, "sluice-node: %s wants seconds > 0, got '%s'\n", opt, v ? v : "");
        return -1;
    }
    *out = d;
    return 1;
}

int nc_opts_parse(struct nc_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    static const char *const names[] = {"--topology",    "--node",           "--state-dir",
                                        "--hb-interval", "--flush-interval", "--dead-after"};
    int which = -1;
    for (int k = 0; k < 6; k++)
        if (strcmp(a, names[k]) == 0)
            which = k;
    if (which < 0)
        return 0;
    if (!v) {
        fprintf(stderr, "sluice-node: %s needs a value\n", a);
        return -1;
    }
    (*i)++;
    switch (which) {
    case 0:
        o->topology = v;
        return 1;
    case 1:
        o->node = v;
        return 1;
    case 2:
        o->state_dir = v;
        return 1;
    case 3:
        return opt_seconds(a, v, &o->hb_interval);
    case 4:
        return opt_seconds(a, v, &o->flush_interval);
    default:
        return opt_seconds(a, v, &o->dead_after);
    }
}

struct sl_topo *nc_load_topology(const struct nc_opts *o, enum sl_topo_type want,
                                 const struct sl_topo_node **self)
{
    char err[512];
    if (!o->topology || !o->node) {
        fprintf(stderr, "sluice-node %s: --topology and --node are required\n",
                sl_topo_type_name(want));
        return NULL;
    }
    nc_set_name(o->node);
    struct sl_topo *t = sl_topo_load(o->topology, err, sizeof(err));
    if (!t) {
        nc_err("%s", err);
        return NULL;
    }
    *self = sl_topo_find(t, o->node);
    if (!*self || (*self)->type != want) {
        nc_err("%s: no %s named '%s'", o->topology, sl_topo_type_name(want), o->node);
        sl_topo_free(t);
        return NULL;
    }
    return t;
}

/* ------------------------------------------------------------ sockets */

void *nc_socket(void *zctx, int type, const char *routing_id)
{
    void *s = zmq_socket(zctx, type);
    if (!s) {
        nc_err("zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    int zero = 0, linger = 2000, one = 1;
    int64_t maxmsg = SL_WIRE_MAX_MSG + 4096;
    /* HWM 0: ZeroMQ never drops; the senders' windows bound the queues */
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    if (routing_id && (type == ZMQ_DEALER || type == ZMQ_ROUTER))
        zmq_setsockopt(s, ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
    if (type == ZMQ_ROUTER) {
        /* a restarted peer with the same name takes its name back */
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof(one));
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    }
    if (type == ZMQ_SUB)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    int ivl = 100, ivl_max = 1000;
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
    return s;
}

int nc_bind(void *sock, const char *endpoint)
{
    if (zmq_bind(sock, endpoint) != 0) {
        int e = zmq_errno();
        nc_err("bind %s: %s", endpoint, zmq_strerror(e));
        return -e;
    }
    return 0;
}

int nc_connect(void *sock, const char *endpoint)
{
    if (zmq_connect(sock, endpoint) != 0) {
        int e = zmq_errno();
        nc_err("connect %s: %s", endpoint, zmq_strerror(e));
        return -e;
    }
    return 0;
}

void *nc_monitor(void *zctx, void *sock, const char *what)
{
    static unsigned seq;
    char ep[64];
    snprintf(ep, sizeof(ep), "inproc://nc-monitor-%u", seq++);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(sock, ep, events) != 0) {
        nc_err("monitor for %s: %s", what, zmq_strerror(zmq_errno()));
        return NULL;
    }
    void *m = zmq_socket(zctx, ZMQ_PAIR);
    if (!m || zmq_connect(m, ep) != 0) {
        nc_err("monitor for %s: %s", what, zmq_strerror(zmq_errno()));
        if (m)
            zmq_close(m);
        return NULL;
    }
    int linger = 0;
    zmq_setsockopt(m, ZMQ_LINGER, &linger, sizeof(linger));
    return m;
}

void nc_monitor_read(void *mon, const char *what)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
        }
        zmq_msg_close(&ev);
        zmq_msg_init(&addr);
        int more = 0;
        size_t ml = sizeof(more);
        zmq_getsockopt(mon, ZMQ_RCVMORE, &more, &ml);
        char a[128] = "";
        if (more && zmq_msg_recv(&addr, mon, 0) >= 0)
            snprintf(a, sizeof(a), "%.*s", (int)zmq_msg_size(&addr), (char *)zmq_msg_data(&addr));
        zmq_msg_close(&addr);
        const char *why = event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error"
                          : event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH   ? "authentication"
                                                                       : "no detail";
        nc_err("garbage on %s (%s): ZeroMQ handshake failed (%s, code %u); peer dropped", what, a,
               why, (unsigned)value);
    }
}

int nc_send(void *sock, const char *routing_id, const void *data, size_t len, int flags)
{
    bool id_sent = routing_id == NULL;
    for (;;) {
        int rc = 0;
        if (!id_sent) /* once only: a retry must not repeat the frame it already queued */
            id_sent =
                (rc = zmq_send(sock, routing_id, strlen(routing_id), ZMQ_SNDMORE | flags)) >= 0;
        if (rc >= 0)
            rc = zmq_send(sock, data, len, flags);
        if (rc >= 0)
            return 0;
        int e = zmq_errno();
        /* A signal (the stop signal too) interrupted the send: try again,
         * unless stopping and the send could block (a peer may be gone). A
         * non-blocking send returns at once either way; failing it on the
         * stop signal made a proxy exit 1 as it was being stopped. */
        if (e == EINTR && (!nc_stop || (flags & ZMQ_DONTWAIT)))
            continue;
        return -e;
    }
}

/* Receives every part of one message; returns parts (0: none ready). */
static int recv_parts(void *sock, zmq_msg_t *parts, int max, int *n_total)
{
    int n = 0;
    *n_total = 0;
    for (;;) {
        zmq_msg_t tmp;
        zmq_msg_t *m = n < max ? &parts[n] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(m);
            if (*n_total == 0)
                return e == EAGAIN || e == EINTR ? 0 : -e;
            break; /* cannot happen: parts arrive together */
        }
        (*n_total)++;
        int more = zmq_msg_more(m);
        if (n < max)
            n++;
        else
            zmq_msg_close(&tmp);
        if (!more)
            break;
    }
    return n;
}

/* Error lines about garbage are rate-limited: a flood must not drown the
 * node's stderr, but the first ones are always there. */
static bool garbage_line_ok(void)
{
    static double window;
    static unsigned in_window, suppressed;
    double now = nc_mono();
    if (now - window > 1.0) {
        if (suppressed)
            nc_err("%u more garbage messages in the last second (not shown)", suppressed);
        window = now;
        in_window = suppressed = 0;
    }
    if (++in_window <= 20)
        return true;
    suppressed++;
    return false;
}

static void printable(char *dst, size_t n, const void *src, size_t len)
{
    const unsigned char *s = src;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < n; i++) {
        if (s[i] > ' ' && s[i] < 127)
            dst[o++] = (char)s[i];
        else
            o += (size_t)snprintf(dst + o, n - o, "\\x%02x", s[i]);
    }
    dst[o] = 0;
}

int nc_recv(void *sock, bool router, struct sl_wire_msg *m, char *from, size_t fromlen,
            const char *what, uint64_t *garbage)
{
    zmq_msg_t parts[2];
    int total;
    int n = recv_parts(sock, parts, 2, &total);
    if (fromlen > SL_TOPO_NAME + 8)
        fromlen = SL_TOPO_NAME + 8; /* node names fit; a garbage id is cut */
    if (n <= 0)
        return n < 0 ? -1 : 0;
    int want = router ? 2 : 1;
    int rc = 1;
    if (from && fromlen)
        from[0] = 0;
    if (router && from && fromlen)
        printable(from, fromlen, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]));
    if (total != want) {
        if (garbage_line_ok())
            nc_err("garbage on %s from '%s': %d frames, expected %d; ignored", what,
                   router ? from : "?", router ? total - 1 : total, 1);
        rc = -1;
    } else {
        char err[200];
        zmq_msg_t *body = &parts[want - 1];
        if (sl_wire_decode(zmq_msg_data(body), zmq_msg_size(body), m, err, sizeof(err)) < 0) {
            sl_wire_msg_clear(m);
            if (garbage_line_ok())
                nc_err("garbage on %s from '%s' (%zu bytes): %s; ignored", what,
                       router ? from : "?", zmq_msg_size(body), err);
            rc = -1;
        }
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    if (rc < 0 && garbage)
        (*garbage)++;
    return rc;
}

/* ------------------------------------------------------------ counters */

void nc_count_set(struct nc_counters *c, const char *name, uint64_t v)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (strcmp(c->c[i].name, name) == 0) {
            c->c[i].value = v;
            return;
        }
    }
    if (c->n < sizeof(c->c) / sizeof(c->c[0]))
        c->c[c->n++] = (struct sl_wire_counter){name, v};
}

int nc_stats_write(const char *dir, const char *node, const struct nc_counters *c)
{
    char path[4096], tmp[4200];
    if (!dir)
        return 0;
    snprintf(path, sizeof(path), "%s/%s.stats", dir, node);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    for (unsigned i = 0; i < c->n; i++)
        fprintf(f, "%s %llu\n", c->c[i].name, (unsigned long long)c->c[i].value);
    if (fclose(f) != 0)
        return -EIO;
    return rename(tmp, path) == 0 ? 0 : -errno;
}

int nc_stats_read(const char *path, const char *name, uint64_t *v)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[256];
    int rc = -ENOENT;
    size_t nl = strlen(name);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, nl) == 0 && line[nl] == ' ') {
            *v = strtoull(line + nl + 1, NULL, 10);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------ heartbeats */

struct nc_hb {
    void *push;
    char node[SL_TOPO_NAME];
    uint8_t role;
    const char *state_dir;
    double interval, last;
    uint64_t seq;
    struct sl_wire_buf buf;
};

struct nc_hb *nc_hb_new(void *zctx, const struct sl_topo *t, const struct sl_topo_node *self,
                        const struct nc_opts *o)
{
    struct nc_hb *h = calloc(1, sizeof(*h));
    char ep[128];
    const struct sl_topo_node *mgr = sl_topo_nth(t, SL_TOPO_MANAGER, 0);
    if (!h)
        return NULL;
    snprintf(h->node, sizeof(h->node), "%s", self->name);
    h->role = (uint8_t)self->type;
    h->state_dir = o->state_dir;
    h->interval = o->hb_interval;
    h->last = -1e9;
    h->push = nc_socket(zctx, ZMQ_PUSH, NULL);
    if (!h->push || sl_topo_endpoint(mgr, 0, ep, sizeof(ep)) < 0 || nc_connect(h->push, ep) < 0) {
        nc_hb_free(h, false);
        return NULL;
    }
    return h;
}

void nc_hb_free(struct nc_hb *h, bool flush)
{
    if (!h)
        return;
    if (h->push && !flush) {
        int zero = 0;
        zmq_setsockopt(h->push, ZMQ_LINGER, &zero, sizeof(zero));
    }
    if (h->push)
        zmq_close(h->push);
    sl_wire_buf_free(&h->buf);
    free(h);
}

void *nc_hb_socket(struct nc_hb *h)
{
    return h->push;
}

int nc_hb_tick(struct nc_hb *h, const struct nc_counters *c, bool force)
{
    double now = nc_mono();
    if (!force && now - h->last < h->interval)
        return 0;
    h->last = now;
    struct sl_wire_heartbeat hb = {.node = h->node,
                                   .role = h->role,
                                   .seq = ++h->seq,
                                   .wall = nc_wall(),
                                   .n_counters = c->n,
                                   .counters = c->c};
    sl_wire_buf_reset(&h->buf);
    int rc = sl_wire_enc_heartbeat(&h->buf, &hb);
    if (rc == 0)
        rc = nc_send(h->push, NULL, h->buf.data, h->buf.len, ZMQ_DONTWAIT);
    if (rc == -EAGAIN)
        rc = 0; /* manager not there yet: the next one will do */
    int rs = nc_stats_write(h->state_dir, h->node, c);
    return rc < 0 ? rc : rs;
}

/* ------------------------------------------------------------ views */

int nc_view_init(const struct sl_topo *t, struct sl_ring_view *v)
{
    const char *proxies[SL_RING_MAX] = {0}, *workers[SL_RING_MAX] = {0};
    unsigned np = 0, nw = 0;
    for (unsigned i = 0; i < t->n_nodes; i++) {
        const struct sl_topo_node *n = &t->nodes[i];
        if (n->type == SL_TOPO_PROXY && np < SL_RING_MAX)
            proxies[np++] = n->name;
        else if (n->type == SL_TOPO_WORKER && nw < SL_RING_MAX)
            workers[nw++] = n->name;
    }
    int rc = sl_ring_view_init(v, np, proxies, nw, workers);
    if (rc < 0)
        return rc;
    for (unsigned w = 0; w < nw; w++) {
        const struct sl_topo_node *n = sl_topo_find(t, workers[w]);
        if (n->proxy >= 0)
            sl_ring_view_pin(v, w, sl_ring_proxy_index(v, t->nodes[n->proxy].name));
    }
    return 0;
}

int nc_view_update(struct sl_ring_view *v, const struct sl_wire_control *c)
{
    if (c->kind != SL_CTL_VIEW || c->epoch <= v->epoch)
        return 0;
    for (unsigned i = 0; i < v->n_proxies + v->n_workers; i++) {
        bool is_proxy = i < v->n_proxies;
        const char *name = is_proxy ? v->proxy[i] : v->worker[i - v->n_proxies];
        bool live = false;
        for (uint32_t k = 0; k < c->n_names && !live; k++)
            live = strcmp(c->names[k], name) == 0;
        if (is_proxy && !v->proxy_live[i])
            continue; /* a dead proxy does not come back */
        sl_ring_view_set_live(v, name, live);
    }
    v->epoch = c->epoch;
    return 1;
}

void *nc_view_socket(void *zctx, const struct sl_topo *t)
{
    char ep[128];
    void *s = nc_socket(zctx, ZMQ_SUB, NULL);
    if (s && (sl_topo_endpoint(sl_topo_nth(t, SL_TOPO_MANAGER, 0), 1, ep, sizeof(ep)) < 0 ||
              nc_connect(s, ep) < 0)) {
        zmq_close(s);
        return NULL;
    }
    return s;
}
