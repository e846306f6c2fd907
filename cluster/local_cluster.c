/* sluice-node local-cluster: a whole cluster on loopback, for tests and for
 * people who want to see their pcap through one.
 *
 *  1. writes a topology (loggers, manager, proxies, workers on 127.0.0.1,
 *     free ports) into the run directory;
 *  2. splits the pcap between the workers as a perfect balancer would:
 *     sl_lb (the frontend's decision: flow hash, rendezvous pick, fragment
 *     table, ICMP errors to the flow they quote), one pcap per worker with
 *     the original timestamps, in the original order;
 *  3. starts loggers, manager, proxies, workers as separate processes;
 *  4. waits: workers finish their input and exit once everything they sent
 *     is acknowledged; then until the proxies and the manager have settled
 *     (stats files: nothing pending, nothing in flight);
 *  5. stops proxies, manager, loggers in that order (SIGTERM: each drains
 *     and closes), merges the loggers' files into the log directory and
 *     checks the counts: every record shipped acknowledged, every record a
 *     logger wrote in the merged logs.
 * It fails loudly (exit 1, the node and its last log lines) if a process
 * dies unexpectedly or a count does not add up. --kill / --restart inject
 * faults (kill -9 a node after some seconds; restart it) for the tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "node_common.h"
#include "sl_flow.h"
#include "sl_lb.h"
#include "sl_node.h"
#include "sl_pkt.h"
#include "sl_rdv.h"

#define MAX_NODES  (SL_RING_MAX + 64)
#define MAX_FAULTS 16

struct fault {
    char node[SL_TOPO_NAME];
    double at; /* seconds after the workers started */
    bool restart;
    bool done;
};

struct lc {
    unsigned workers, proxies, loggers;
    const char *pcap, *log_dir, *run_dir_opt, *networks, *hash;
    char run_dir[4096], topo_path[4200], state_dir[4200], exe[4096];
    enum sl_log_format fmt;
    bool checksums_off, seeded, private_local, keep;
    uint64_t seed, rate;
    double timeout, hb, dead_after, flush;
    struct fault faults[MAX_FAULTS];
    unsigned n_faults;
    uint64_t split_pkts[SL_RING_MAX], split_total;
};

struct child {
    char name[SL_TOPO_NAME];
    enum sl_topo_type type;
    pid_t pid;
    bool running, exited_ok, killed; /* killed: by a fault, expected */
    int status;
    char log[4300];
    char *argv[40]; /* strdup'ed; kept for a restart */
    int argc;
};

static struct child kids[MAX_NODES];
static unsigned n_kids;
static volatile sig_atomic_t lc_stop;

static void on_stop(int sig)
{
    (void)sig;
    lc_stop = 1;
}

static void lc_err(const char *fmt, ...) NC_PRINTF(1, 2);
static void lc_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sluice-node local-cluster: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void lc_info(const char *fmt, ...) NC_PRINTF(1, 2);
static void lc_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sluice-node local-cluster: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* ------------------------------------------------------------ options */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-node local-cluster --workers N -r PCAP --log-dir DIR [options]\n"
            "Runs loggers, a manager, proxies and N workers as processes on loopback,\n"
            "splits PCAP between the workers as a perfect flow balancer would, and\n"
            "leaves the merged logs in DIR.\n"
            "  --workers N          workers (1..%d)\n"
            "  --proxies P          proxies (default 1)\n"
            "  --loggers L          loggers (default 1; 0: the manager writes the logs)\n"
            "  -r PCAP              the input\n"
            "  --log-dir DIR        merged logs go here\n"
            "  -C                   ignore checksums (zeek -C)\n"
            "  --seed N             deterministic uids\n"
            "  --log-format F       tsv (default) or json\n"
            "  --hash MODE          balancer hash (default sym5; see sl_flow.h)\n"
            "  --networks FILE      local networks (zeekctl networks.cfg)\n"
            "  --no-private-local   private address space is not local by default\n"
            "  --run-dir DIR        topology, worker pcaps, node logs, stats\n"
            "                       (default DIR/.cluster)\n"
            "  --keep               keep the worker pcaps in the run directory\n"
            "  --worker-rate PPS    workers read at most PPS packets/s (for fault tests)\n"
            "  --kill NODE@S        S seconds after the start, freeze NODE (SIGSTOP) for a\n"
            "                       second, then kill -9 it\n"
            "  --restart NODE@S     the same, then start NODE again\n"
            "  --timeout S          give up after S seconds (default 600)\n"
            "  --hb-interval S      heartbeat period (default 0.2)\n"
            "  --dead-after S       a silent node is down after S (default 2)\n",
            SL_RING_MAX);
}

static bool num_arg(const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || *end || !(d >= lo && d <= hi))
        return false;
    *out = d;
    return true;
}

static int parse(int argc, char **argv, struct lc *c)
{
    double d;
    memset(c, 0, sizeof(*c));
    c->proxies = 1;
    c->loggers = 1;
    c->fmt = SL_LOG_TSV;
    c->private_local = true;
    c->timeout = 600;
    c->hb = 0.2;
    c->dead_after = 2.0;
    c->flush = 0.2;
    c->hash = "sym5";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "-C")) {
            c->checksums_off = true;
            continue;
        } else if (!strcmp(a, "--no-private-local")) {
            c->private_local = false;
            continue;
        } else if (!strcmp(a, "--keep")) {
            c->keep = true;
            continue;
        }
        if (!v) {
            lc_err("%s: unknown option or missing value (try --help)", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--workers") && num_arg(v, 1, SL_RING_MAX, &d)) {
            c->workers = (unsigned)d;
        } else if (!strcmp(a, "--proxies") && num_arg(v, 1, SL_RING_MAX, &d)) {
            c->proxies = (unsigned)d;
        } else if (!strcmp(a, "--loggers") && num_arg(v, 0, 32, &d)) {
            c->loggers = (unsigned)d;
        } else if (!strcmp(a, "-r")) {
            c->pcap = v;
        } else if (!strcmp(a, "--log-dir")) {
            c->log_dir = v;
        } else if (!strcmp(a, "--run-dir")) {
            c->run_dir_opt = v;
        } else if (!strcmp(a, "--networks")) {
            c->networks = v;
        } else if (!strcmp(a, "--hash")) {
            enum sl_hash_mode m;
            if (sl_hash_mode_parse(v, &m) < 0)
                return lc_err("--hash %s: unknown mode", v), -1;
            c->hash = v;
        } else if (!strcmp(a, "--seed") && num_arg(v, 0, 1.8e19, &d)) {
            c->seed = strtoull(v, NULL, 10);
            c->seeded = true;
        } else if (!strcmp(a, "--log-format") && (!strcmp(v, "tsv") || !strcmp(v, "json"))) {
            c->fmt = !strcmp(v, "json") ? SL_LOG_JSON : SL_LOG_TSV;
        } else if (!strcmp(a, "--worker-rate") && num_arg(v, 1, 1e9, &d)) {
            c->rate = (uint64_t)d;
        } else if (!strcmp(a, "--timeout") && num_arg(v, 1, 86400, &d)) {
            c->timeout = d;
        } else if (!strcmp(a, "--hb-interval") && num_arg(v, 0.01, 60, &d)) {
            c->hb = d;
        } else if (!strcmp(a, "--dead-after") && num_arg(v, 0.05, 600, &d)) {
            c->dead_after = d;
        } else if ((!strcmp(a, "--kill") || !strcmp(a, "--restart")) && c->n_faults < MAX_FAULTS) {
            struct fault *f = &c->faults[c->n_faults];
            const char *at = strrchr(v, '@');
            if (!at || at == v || (size_t)(at - v) >= sizeof(f->node) ||
                !num_arg(at + 1, 0, 86400, &f->at))
                return lc_err("%s wants NODE@SECONDS, not '%s'", a, v), -1;
            snprintf(f->node, sizeof(f->node), "%.*s", (int)(at - v), v);
            f->restart = !strcmp(a, "--restart");
            c->n_faults++;
        } else {
            lc_err("%s %s: unknown option or bad value (try --help)", a, v);
            return -1;
        }
    }
    if (!c->workers || !c->pcap || !c->log_dir) {
        lc_err("--workers, -r and --log-dir are required (try --help)");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ topology */

static bool port_free(unsigned port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return false;
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

/* The first port the kernel hands out for outgoing connections: a port
 * above it that is free now may be some client's source port by the time a
 * node binds it (every ZeroMQ connection of every test running beside this
 * one takes one). */
static unsigned ephemeral_low(void)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    return lo;
}

/* A run of n free ports on 127.0.0.1, below the ephemeral range when it
 * leaves room for that. */
static unsigned free_ports(unsigned n)
{
    unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    unsigned lo = 10000, span = 30000, eph = ephemeral_low();
    if (eph > lo + n + 2000)
        span = eph - lo - n;
    for (int tries = 0; tries < 200; tries++) {
        unsigned base = lo + (seed + (unsigned)tries * 7919u) % span;
        bool ok = true;
        for (unsigned p = base; p < base + n && ok; p++)
            ok = port_free(p);
        if (ok)
            return base;
    }
    return 0;
}

static int write_topology(struct lc *c)
{
    unsigned listeners = c->loggers + 1 + c->proxies;
    unsigned base = free_ports(3 * listeners);
    if (!base)
        return lc_err("no free run of %u ports on 127.0.0.1", 3 * listeners), -EADDRINUSE;
    FILE *f = fopen(c->topo_path, "w");
    if (!f)
        return lc_err("%s: %s", c->topo_path, strerror(errno)), -errno;
    unsigned k = 0;
    fprintf(f, "# written by sluice-node local-cluster\n");
    for (unsigned i = 0; i < c->loggers; i++, k++)
        fprintf(f, "[logger-%u]\ntype = logger\nhost = localhost\nport = %u\n\n", i + 1,
                base + 3 * k);
    fprintf(f, "[manager]\ntype = manager\nhost = localhost\nport = %u\n\n", base + 3 * k++);
    for (unsigned i = 0; i < c->proxies; i++, k++)
        fprintf(f, "[proxy-%u]\ntype = proxy\nhost = localhost\nport = %u\n\n", i + 1,
                base + 3 * k);
    for (unsigned i = 0; i < c->workers; i++)
        fprintf(f, "[worker-%u]\ntype = worker\nhost = localhost\n\n", i + 1);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* ------------------------------------------------------------ split */

struct held {
    struct pcap_pkthdr h;
    u_char *data;
    int worker; /* -2: not known yet */
};

/* The timeline: for every packet of the input, in order, its time and the
 * worker it went to. A worker reads it next to its pcap and moves its
 * network time at the other workers' packets too (sl_ana_advance), as one
 * process reading everything would: timers (connection timeouts, deferred
 * commits, scan attempts) then fire at the same network times. */
struct tl_rec {
    double ts;
    uint32_t worker;
    uint32_t pad;
};

struct splitter {
    FILE *timeline;
    pcap_dumper_t *out[SL_RING_MAX];
    pcap_t *dead;
    struct held *q; /* FIFO, original order */
    size_t head, n, cap;
    uint64_t *count;
    uint64_t no_worker;
};

static void emit(struct splitter *s, const struct pcap_pkthdr *h, const u_char *d, int w)
{
    if (w < 0) {
        s->no_worker++; /* cannot happen: every worker is live here */
        return;
    }
    pcap_dump((u_char *)s->out[w], h, d);
    s->count[w]++;
    struct tl_rec r = {.ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6,
                       .worker = (uint32_t)w};
    fwrite(&r, sizeof(r), 1, s->timeline);
}

static void flush_ready(struct splitter *s)
{
    while (s->n && s->q[s->head].worker != -2) {
        struct held *e = &s->q[s->head];
        emit(s, &e->h, e->data, e->worker);
        free(e->data);
        s->head++;
        s->n--;
    }
    if (!s->n)
        s->head = 0;
}

static struct held *enqueue(struct splitter *s, const struct pcap_pkthdr *h, const u_char *d, int w)
{
    if (s->head + s->n == s->cap) {
        if (s->head) {
            memmove(s->q, s->q + s->head, s->n * sizeof(*s->q));
            s->head = 0;
        }
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 256;
            struct held *q = realloc(s->q, cap * sizeof(*q));
            if (!q)
                return NULL;
            s->q = q;
            s->cap = cap;
        }
    }
    struct held *e = &s->q[s->head + s->n];
    e->h = *h;
    e->worker = w;
    e->data = malloc(h->caplen ? h->caplen : 1);
    if (!e->data)
        return NULL;
    memcpy(e->data, d, h->caplen);
    s->n++;
    return e;
}

/* Releases held fragments whose worker became known. Cookies are queue
 * offsets from the start of the packet sequence (stable across memmove). */
static void take_released(struct splitter *s, struct sl_lb *lb, uint64_t now, uint64_t base_seq)
{
    struct sl_lb_released r[64];
    unsigned n;
    while ((n = sl_lb_release(lb, now, r, 64)) > 0) {
        for (unsigned i = 0; i < n; i++) {
            uint64_t seq = (uint64_t)(uintptr_t)r[i].cookie;
            size_t idx = s->head + (size_t)(seq - base_seq);
            if (seq >= base_seq && idx < s->head + s->n)
                s->q[idx].worker = r[i].worker;
        }
        if (n < 64)
            break;
    }
}

static int split(struct lc *c)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *in = pcap_open_offline(c->pcap, err);
    if (!in)
        return lc_err("cannot read %s: %s", c->pcap, err), -EIO;
    int dlt = pcap_datalink(in);
    struct splitter s = {.count = c->split_pkts};
    s.dead = pcap_open_dead(dlt, 262144);
    int rc = 0;
    char tl[4300];
    snprintf(tl, sizeof(tl), "%s/timeline", c->run_dir);
    s.timeline = fopen(tl, "wb");
    if (!s.timeline) {
        lc_err("%s: %s", tl, strerror(errno));
        rc = -EIO;
        goto out;
    }
    for (unsigned w = 0; w < c->workers && s.dead; w++) {
        char path[4300];
        snprintf(path, sizeof(path), "%s/worker-%u.pcap", c->run_dir, w + 1);
        s.out[w] = pcap_dump_open(s.dead, path);
        if (!s.out[w]) {
            lc_err("%s: %s", path, pcap_geterr(s.dead));
            rc = -EIO;
            goto out;
        }
    }
    struct sl_rdv rdv;
    sl_rdv_init(&rdv, c->workers);
    struct sl_lb_conf conf = {0};
    sl_hash_mode_parse(c->hash, &conf.mode);
    struct sl_lb *lb = sl_lb_new(&conf, &rdv);
    if (!lb) {
        rc = -ENOMEM;
        goto out;
    }
    /* seq of the packet at s.q[s.head] */
    uint64_t seq = 0, head_seq = 0;
    struct pcap_pkthdr *h;
    const u_char *d;
    int r;
    while ((r = pcap_next_ex(in, &h, &d)) == 1) {
        struct sl_pkt p;
        uint64_t now = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
        sl_pkt_decode(&p, d, h->caplen, dlt);
        head_seq = seq - s.n;
        int w = sl_lb_pick(lb, &p, now, (void *)(uintptr_t)seq, NULL);
        if (w == SL_LB_HELD || s.n) {
            if (!enqueue(&s, h, d, w == SL_LB_HELD ? -2 : w)) {
                rc = -ENOMEM;
                break;
            }
        } else {
            emit(&s, h, d, w);
        }
        seq++;
        c->split_total++;
        head_seq = seq - s.n;
        take_released(&s, lb, now, head_seq);
        flush_ready(&s);
    }
    if (r == PCAP_ERROR) {
        lc_err("%s: %s", c->pcap, pcap_geterr(in));
        rc = -EIO;
    }
    head_seq = seq - s.n;
    take_released(&s, lb, UINT64_MAX, head_seq);
    flush_ready(&s);
    if (s.n) {
        lc_err("splitter: %zu held packets never released", s.n);
        rc = -EIO;
    }
    struct sl_lb_stats st;
    sl_lb_stats(lb, &st);
    sl_lb_free(lb);
    if (s.no_worker) {
        lc_err("splitter: %" PRIu64 " packets found no worker", s.no_worker);
        rc = -EIO;
    }
    lc_info("split %" PRIu64 " packets of %s between %u workers (%s; %" PRIu64
            " fragments by the table, %" PRIu64 " held, %" PRIu64 " orphans, %" PRIu64
            " ICMP errors steered)",
            c->split_total, c->pcap, c->workers, c->hash, st.frag_hits, st.frag_held,
            st.frag_orphans, st.icmp_steered);
out:
    if (s.timeline && fclose(s.timeline) != 0)
        rc = -EIO;
    for (unsigned w = 0; w < c->workers; w++)
        if (s.out[w])
            pcap_dump_close(s.out[w]);
    for (size_t i = 0; i < s.n; i++)
        free(s.q[s.head + i].data);
    free(s.q);
    if (s.dead)
        pcap_close(s.dead);
    pcap_close(in);
    return rc;
}

/* ------------------------------------------------------------ processes */

static void arg(struct child *k, const char *s)
{
    if (k->argc + 1 >= (int)(sizeof(k->argv) / sizeof(k->argv[0])))
        return;
    k->argv[k->argc++] = strdup(s);
    k->argv[k->argc] = NULL;
}

static void argf(struct child *k, const char *fmt, double v)
{
    char b[64];
    snprintf(b, sizeof(b), fmt, v);
    arg(k, b);
}

static struct child *add_child(struct lc *c, const char *role, const char *name,
                               enum sl_topo_type type)
{
    struct child *k = &kids[n_kids++];
    memset(k, 0, sizeof(*k));
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->type = type;
    snprintf(k->log, sizeof(k->log), "%s/%s.log", c->run_dir, name);
    arg(k, "sluice-node");
    arg(k, role);
    arg(k, "--topology");
    arg(k, c->topo_path);
    arg(k, "--node");
    arg(k, name);
    arg(k, "--state-dir");
    arg(k, c->state_dir);
    arg(k, "--hb-interval");
    argf(k, "%g", c->hb);
    arg(k, "--flush-interval");
    argf(k, "%g", c->flush);
    return k;
}

static void analysis_args(struct lc *c, struct child *k)
{
    if (c->networks) {
        arg(k, "--networks");
        arg(k, c->networks);
    }
    if (!c->private_local)
        arg(k, "--no-private-local");
}

static void build_children(struct lc *c)
{
    char name[64], dir[4300];
    const char *fmt = c->fmt == SL_LOG_JSON ? "json" : "tsv";
    for (unsigned i = 0; i < c->loggers; i++) {
        snprintf(name, sizeof(name), "logger-%u", i + 1);
        struct child *k = add_child(c, "logger", name, SL_TOPO_LOGGER);
        snprintf(dir, sizeof(dir), "%s/%s", c->run_dir, name);
        arg(k, "--log-dir");
        arg(k, dir);
        arg(k, "--log-format");
        arg(k, fmt);
        arg(k, "--rotate");
        arg(k, "0");
    }
    struct child *m = add_child(c, "manager", "manager", SL_TOPO_MANAGER);
    arg(m, "--dead-after");
    argf(m, "%g", c->dead_after);
    analysis_args(c, m);
    if (!c->loggers) {
        snprintf(dir, sizeof(dir), "%s/manager-logs", c->run_dir);
        arg(m, "--log-dir");
        arg(m, dir);
        arg(m, "--log-format");
        arg(m, fmt);
        arg(m, "--rotate");
        arg(m, "0");
    }
    for (unsigned i = 0; i < c->proxies; i++) {
        snprintf(name, sizeof(name), "proxy-%u", i + 1);
        add_child(c, "proxy", name, SL_TOPO_PROXY);
    }
    for (unsigned i = 0; i < c->workers; i++) {
        snprintf(name, sizeof(name), "worker-%u", i + 1);
        struct child *k = add_child(c, "worker", name, SL_TOPO_WORKER);
        snprintf(dir, sizeof(dir), "%s/worker-%u.pcap", c->run_dir, i + 1);
        arg(k, "-r");
        arg(k, dir);
        snprintf(dir, sizeof(dir), "%s/timeline", c->run_dir);
        arg(k, "--timeline");
        arg(k, dir);
        analysis_args(c, k);
        if (c->checksums_off)
            arg(k, "-C");
        if (c->seeded) {
            char s[32];
            snprintf(s, sizeof(s), "%" PRIu64, c->seed);
            arg(k, "--seed");
            arg(k, s);
        }
        if (c->rate) {
            arg(k, "--rate");
            argf(k, "%.0f", (double)c->rate);
        }
    }
}

static int spawn(struct lc *c, struct child *k)
{
    pid_t pid = fork();
    if (pid < 0)
        return lc_err("fork: %s", strerror(errno)), -errno;
    if (pid == 0) {
        int fd = open(k->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        signal(SIGINT, SIG_IGN); /* local-cluster stops its nodes itself */
        execv(c->exe, k->argv);
        fprintf(stderr, "exec %s: %s\n", c->exe, strerror(errno));
        _exit(127);
    }
    k->pid = pid;
    k->running = true;
    return 0;
}

static void tail(const struct child *k, int lines)
{
    FILE *f = fopen(k->log, "r");
    if (!f)
        return;
    char *all[64] = {0}, buf[1024];
    int n = 0;
    while (fgets(buf, sizeof(buf), f)) {
        free(all[n % 64]);
        all[n % 64] = strdup(buf);
        n++;
    }
    fclose(f);
    int from = n > lines ? n - lines : 0;
    for (int i = from; i < n; i++)
        if (all[i % 64])
            fprintf(stderr, "    %s: %s", k->name, all[i % 64]);
    for (int i = 0; i < 64; i++)
        free(all[i]);
}

static struct child *find_kid(const char *name)
{
    for (unsigned i = 0; i < n_kids; i++)
        if (!strcmp(kids[i].name, name))
            return &kids[i];
    return NULL;
}

/* Reaps exited children. Returns the first one that died unexpectedly. */
static struct child *reap(void)
{
    struct child *bad = NULL;
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (unsigned i = 0; i < n_kids; i++) {
            struct child *k = &kids[i];
            if (k->pid != pid || !k->running)
                continue;
            k->running = false;
            k->status = st;
            k->exited_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
            if (!k->exited_ok && !k->killed && !bad)
                bad = k;
        }
    }
    return bad;
}

static void kill_all(void)
{
    for (unsigned i = 0; i < n_kids; i++)
        if (kids[i].running)
            kill(kids[i].pid, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    for (unsigned i = 0; i < n_kids; i++)
        kids[i].running = false;
}

static void report_death(const struct child *k)
{
    if (WIFSIGNALED(k->status))
        lc_err("%s died of signal %d; its last lines:", k->name, WTERMSIG(k->status));
    else
        lc_err("%s exited with status %d; its last lines:", k->name, WEXITSTATUS(k->status));
    tail(k, 12);
}

static uint64_t stat_of(struct lc *c, const char *node, const char *name)
{
    char path[4400];
    uint64_t v = UINT64_MAX;
    snprintf(path, sizeof(path), "%s/%s.stats", c->state_dir, node);
    if (nc_stats_read(path, name, &v) < 0)
        return UINT64_MAX;
    return v;
}

/* Proxies and the manager have nothing left to do. */
static bool settled(struct lc *c)
{
    for (unsigned i = 0; i < n_kids; i++) {
        struct child *k = &kids[i];
        if (!k->running)
            continue;
        if (k->type == SL_TOPO_PROXY) {
            if (stat_of(c, k->name, "ring_pending") != 0 ||
                stat_of(c, k->name, "ring_unlogged") != 0 ||
                stat_of(c, k->name, "ship_in_flight") != 0 ||
                stat_of(c, k->name, "ship_buffered") != 0)
                return false;
        } else if (k->type == SL_TOPO_MANAGER) {
            if (stat_of(c, k->name, "notices_pending") != 0 ||
                stat_of(c, k->name, "scan_pending") != 0)
                return false;
        }
    }
    return true;
}

static void apply_faults(struct lc *c, double elapsed)
{
    for (unsigned i = 0; i < c->n_faults; i++) {
        struct fault *f = &c->faults[i];
        if (f->done || elapsed < f->at)
            continue;
        f->done = true;
        struct child *k = find_kid(f->node);
        if (!k || !k->running) {
            lc_info("fault: %s is not running; nothing to kill", f->node);
            continue;
        }
        /* frozen first, so that it dies with work in flight: messages
         * taken in but not handled, batches written but not acknowledged */
        lc_info("fault: freeze %s (pid %d) at %.1f s, kill -9 it a second later%s", k->name,
                (int)k->pid, elapsed, f->restart ? ", then start it again" : "");
        k->killed = true;
        kill(k->pid, SIGSTOP);
        struct timespec fz = {1, 0};
        nanosleep(&fz, NULL);
        kill(k->pid, SIGKILL);
        waitpid(k->pid, &k->status, 0);
        k->running = false;
        if (f->restart) {
            struct timespec ts = {0, 300 * 1000 * 1000};
            nanosleep(&ts, NULL);
            k->killed = false;
            if (spawn(c, k) == 0)
                lc_info("fault: %s started again (pid %d)", k->name, (int)k->pid);
        }
    }
}

static int stop_role(enum sl_topo_type type, double timeout)
{
    for (unsigned i = 0; i < n_kids; i++)
        if (kids[i].type == type && kids[i].running)
            kill(kids[i].pid, SIGTERM);
    double t0 = nc_mono();
    for (;;) {
        bool any = false;
        for (unsigned i = 0; i < n_kids; i++) {
            struct child *k = &kids[i];
            if (k->type != type || !k->running)
                continue;
            if (waitpid(k->pid, &k->status, WNOHANG) == k->pid) {
                k->running = false;
                k->exited_ok = WIFEXITED(k->status) && WEXITSTATUS(k->status) == 0;
                if (!k->exited_ok) {
                    report_death(k);
                    return -1;
                }
            } else {
                any = true;
            }
        }
        if (!any)
            return 0;
        if (nc_mono() - t0 > timeout) {
            lc_err("%ss did not stop within %.0f s", sl_topo_type_name(type), timeout);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Runs the cluster until it drained. 0 or -1. */
static int run(struct lc *c)
{
    double t0 = nc_mono(), settled_since = -1;
    for (unsigned i = 0; i < n_kids; i++) {
        if (spawn(c, &kids[i]) < 0)
            return -1;
        if (kids[i].type != SL_TOPO_WORKER &&
            (i + 1 == n_kids || kids[i + 1].type != kids[i].type)) {
            /* let a role bind before the next one connects (not needed by
             * ZeroMQ, but it keeps the first heartbeats on time) */
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    bool workers_done = false;
    while (!lc_stop) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        double elapsed = nc_mono() - t0;
        apply_faults(c, elapsed);
        struct child *bad = reap();
        if (bad) {
            report_death(bad);
            return -1;
        }
        if (elapsed > c->timeout) {
            lc_err("timeout after %.0f s; node states:", c->timeout);
            for (unsigned i = 0; i < n_kids; i++)
                tail(&kids[i], 3);
            return -1;
        }
        if (!workers_done) {
            workers_done = true;
            for (unsigned i = 0; i < n_kids; i++)
                if (kids[i].type == SL_TOPO_WORKER && kids[i].running)
                    workers_done = false;
            if (workers_done)
                lc_info("all workers done after %.1f s", elapsed);
            continue;
        }
        /* settled twice, a few heartbeats apart: the stats files are fresh */
        if (!settled(c)) {
            settled_since = -1;
            continue;
        }
        if (settled_since < 0)
            settled_since = elapsed;
        if (elapsed - settled_since >= 3 * c->hb)
            break;
    }
    if (lc_stop) {
        lc_err("interrupted");
        return -1;
    }
    double t1 = nc_mono();
    if (stop_role(SL_TOPO_PROXY, 60) < 0)
        return -1;
    double t2 = nc_mono();
    if (stop_role(SL_TOPO_MANAGER, 60) < 0)
        return -1;
    double t3 = nc_mono();
    if (stop_role(SL_TOPO_LOGGER, 60) < 0)
        return -1;
    lc_info("settled after %.1f s; stopped proxies in %.2f s, the manager in %.2f s, loggers in "
            "%.2f s",
            t1 - t0, t2 - t1, t3 - t2, nc_mono() - t3);
    return 0;
}

/* ------------------------------------------------------------ merge */

struct line {
    double ts;
    char *s;
};

static int line_cmp(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return strcmp(x->s, y->s);
}

static double line_ts(const char *s, enum sl_log_format fmt)
{
    if (fmt == SL_LOG_JSON) {
        const char *p = strstr(s, "\"ts\":");
        return p ? strtod(p + 5, NULL) : 0;
    }
    return strtod(s, NULL);
}

struct group {
    char path[128];
    char *files[512];
    unsigned n;
};

/* <path>.log or <path>.<stamp>[-N].log -> path */
static bool log_path_of(const char *fname, char *path, size_t n)
{
    size_t len = strlen(fname);
    if (fname[0] == '.' || len < 5 || strcmp(fname + len - 4, ".log") != 0)
        return false;
    size_t p = strcspn(fname, ".");
    if (p == 0 || p >= n)
        return false;
    snprintf(path, n, "%.*s", (int)p, fname);
    return true;
}

static int merge_group(struct lc *c, const struct group *g, uint64_t *lines_out)
{
    struct line *lines = NULL;
    size_t nl = 0, cap = 0;
    char *header = NULL, *fields = NULL, *types = NULL;
    size_t hlen = 0;
    int rc = 0;
    for (unsigned i = 0; i < g->n && rc == 0; i++) {
        FILE *f = fopen(g->files[i], "r");
        if (!f) {
            rc = -errno;
            break;
        }
        char *l = NULL;
        size_t lcap = 0;
        ssize_t n;
        FILE *h = i == 0 ? open_memstream(&header, &hlen) : NULL;
        while ((n = getline(&l, &lcap, f)) > 0) {
            if (l[0] == '#') {
                if (!strncmp(l, "#fields", 7) || !strncmp(l, "#types", 6)) {
                    char **slot = l[1] == 'f' ? &fields : &types;
                    if (!*slot) {
                        *slot = strdup(l);
                    } else if (strcmp(*slot, l) != 0) {
                        lc_err("%s: columns differ from the other %s files", g->files[i], g->path);
                        rc = -EINVAL;
                    }
                }
                if (h && strncmp(l, "#close", 6) != 0)
                    fputs(l, h);
                continue;
            }
            if (l[n - 1] != '\n') {
                lc_err("%s: last line cut short (a logger died while writing it?)", g->files[i]);
                rc = -EINVAL;
                break;
            }
            if (nl == cap) {
                cap = cap ? cap * 2 : 1024;
                struct line *nn = realloc(lines, cap * sizeof(*nn));
                if (!nn) {
                    rc = -ENOMEM;
                    break;
                }
                lines = nn;
            }
            lines[nl].ts = line_ts(l, c->fmt);
            lines[nl].s = strdup(l);
            nl++;
        }
        free(l);
        if (h)
            fclose(h);
        fclose(f);
    }
    if (rc == 0) {
        qsort(lines, nl, sizeof(*lines), line_cmp);
        char out[4400];
        snprintf(out, sizeof(out), "%s/%s.log", c->log_dir, g->path);
        FILE *o = fopen(out, "w");
        if (!o) {
            lc_err("%s: %s", out, strerror(errno));
            rc = -errno;
        } else {
            if (header && c->fmt == SL_LOG_TSV)
                fputs(header, o);
            for (size_t i = 0; i < nl; i++)
                fputs(lines[i].s, o);
            if (c->fmt == SL_LOG_TSV) {
                char stamp[64];
                time_t t = time(NULL);
                struct tm tm;
                localtime_r(&t, &tm);
                strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm);
                fprintf(o, "#close\t%s\n", stamp);
            }
            if (fclose(o) != 0)
                rc = -EIO;
        }
    }
    *lines_out += nl;
    for (size_t i = 0; i < nl; i++)
        free(lines[i].s);
    free(lines);
    free(header);
    free(fields);
    free(types);
    return rc;
}

static int merge(struct lc *c, uint64_t *lines)
{
    struct group *g = calloc(64, sizeof(*g));
    unsigned ng = 0;
    int rc = 0;
    if (!g)
        return -ENOMEM;
    *lines = 0;
    unsigned ndirs = c->loggers ? c->loggers : 1;
    for (unsigned d = 0; d < ndirs; d++) {
        char dir[4300];
        if (c->loggers)
            snprintf(dir, sizeof(dir), "%s/logger-%u", c->run_dir, d + 1);
        else
            snprintf(dir, sizeof(dir), "%s/manager-logs", c->run_dir);
        DIR *dh = opendir(dir);
        if (!dh)
            continue; /* a logger that got nothing */
        struct dirent *e;
        while ((e = readdir(dh))) {
            char path[128];
            if (!log_path_of(e->d_name, path, sizeof(path)))
                continue;
            unsigned k = 0;
            while (k < ng && strcmp(g[k].path, path) != 0)
                k++;
            if (k == ng) {
                if (ng == 64)
                    continue;
                snprintf(g[ng++].path, sizeof(g[0].path), "%s", path);
            }
            char full[4600];
            snprintf(full, sizeof(full), "%s/%s", dir, e->d_name);
            if (g[k].n < 512)
                g[k].files[g[k].n++] = strdup(full);
        }
        closedir(dh);
    }
    for (unsigned k = 0; k < ng && rc == 0; k++)
        rc = merge_group(c, &g[k], lines);
    for (unsigned k = 0; k < ng; k++)
        for (unsigned i = 0; i < g[k].n; i++)
            free(g[k].files[i]);
    free(g);
    return rc;
}

/* ------------------------------------------------------------ accounting */

static int check_counts(struct lc *c, uint64_t merged_lines)
{
    int bad = 0;
    uint64_t pkts = 0, shipped = 0, acked = 0, written = 0, dups = 0, garbage = 0;
    for (unsigned i = 0; i < n_kids; i++) {
        struct child *k = &kids[i];
        uint64_t v;
        if ((v = stat_of(c, k->name, "garbage")) != UINT64_MAX)
            garbage += v;
        if (k->type == SL_TOPO_WORKER) {
            unsigned w = (unsigned)atoi(k->name + 7) - 1;
            v = stat_of(c, k->name, "packets");
            if (v != c->split_pkts[w]) {
                lc_err("%s analysed %" PRIu64 " packets, its pcap holds %" PRIu64, k->name, v,
                       c->split_pkts[w]);
                bad = 1;
            }
            pkts += v;
            /* left unacknowledged only when no proxy was left to take them */
            if ((v = stat_of(c, k->name, "known_pending")) != 0 && v != UINT64_MAX) {
                lc_err("%s: %" PRIu64 " known-item insertions never acknowledged (no live "
                       "proxy left): their known_* rows are missing",
                       k->name, v);
                bad = 1;
            }
        }
        if (k->type != SL_TOPO_LOGGER && !(k->type == SL_TOPO_MANAGER && !c->loggers)) {
            if (k->killed)
                continue; /* what a killed proxy shipped is accounted by its successor */
            uint64_t r = stat_of(c, k->name, "ship_records");
            uint64_t a = stat_of(c, k->name, "ship_acked_records");
            if (r == UINT64_MAX || a != r) {
                lc_err("%s shipped %" PRIu64 " records, %" PRIu64 " acknowledged", k->name, r, a);
                bad = 1;
            } else {
                shipped += r;
                acked += a;
            }
        }
        if (k->type == SL_TOPO_LOGGER || (k->type == SL_TOPO_MANAGER && !c->loggers)) {
            if ((v = stat_of(c, k->name, "log_errors")) != 0) {
                lc_err("%s: %" PRIu64 " write errors", k->name, v);
                bad = 1;
            }
            written += stat_of(c, k->name, "log_records");
            dups += stat_of(c, k->name, "log_dup_records");
        }
    }
    if (pkts != c->split_total) {
        lc_err("workers analysed %" PRIu64 " packets of %" PRIu64, pkts, c->split_total);
        bad = 1;
    }
    /* a restarted logger counts only since its restart: compare with the
     * merged files only when no logger was restarted */
    bool restarted = false;
    for (unsigned i = 0; i < c->n_faults; i++)
        restarted |=
            find_kid(c->faults[i].node) && find_kid(c->faults[i].node)->type == SL_TOPO_LOGGER;
    if (!restarted && written != merged_lines) {
        lc_err("loggers wrote %" PRIu64 " records, the merged logs hold %" PRIu64, written,
               merged_lines);
        bad = 1;
    }
    lc_info("%" PRIu64 " packets; %" PRIu64 " records shipped, all acknowledged; %" PRIu64
            " in the merged logs (%" PRIu64 " repeats dropped by the loggers); %" PRIu64
            " garbage messages seen",
            pkts, shipped, merged_lines, dups, garbage);
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------ main */

static int prepare_dirs(struct lc *c)
{
    struct stat sb;
    if (stat(c->log_dir, &sb) < 0 && mkdir(c->log_dir, 0755) < 0)
        return lc_err("%s: %s", c->log_dir, strerror(errno)), -1;
    if (c->run_dir_opt)
        snprintf(c->run_dir, sizeof(c->run_dir), "%s", c->run_dir_opt);
    else
        snprintf(c->run_dir, sizeof(c->run_dir), "%s/.cluster", c->log_dir);
    if (mkdir(c->run_dir, 0755) < 0 && errno != EEXIST)
        return lc_err("%s: %s", c->run_dir, strerror(errno)), -1;
    /* a fresh run: nothing of an earlier one may be merged into this one */
    DIR *d = opendir(c->run_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char p[4400];
            snprintf(p, sizeof(p), "%s/%s", c->run_dir, e->d_name);
            if (!strncmp(e->d_name, "logger-", 7) || !strcmp(e->d_name, "manager-logs") ||
                !strcmp(e->d_name, "state")) {
                DIR *sd = opendir(p);
                struct dirent *se;
                while (sd && (se = readdir(sd))) {
                    char q[4700];
                    snprintf(q, sizeof(q), "%s/%s", p, se->d_name);
                    if (se->d_name[0] != '.' || !strcmp(se->d_name, ".sluice-journal"))
                        unlink(q);
                }
                if (sd)
                    closedir(sd);
                rmdir(p);
            } else {
                unlink(p);
            }
        }
        closedir(d);
    }
    snprintf(c->topo_path, sizeof(c->topo_path), "%s/topology.ini", c->run_dir);
    snprintf(c->state_dir, sizeof(c->state_dir), "%s/state", c->run_dir);
    if (mkdir(c->state_dir, 0755) < 0 && errno != EEXIST)
        return lc_err("%s: %s", c->state_dir, strerror(errno)), -1;
    ssize_t n = readlink("/proc/self/exe", c->exe, sizeof(c->exe) - 1);
    if (n <= 0)
        return lc_err("cannot find my own executable"), -1;
    c->exe[n] = 0;
    return 0;
}

int sl_node_local_cluster(int argc, char **argv)
{
    static struct lc c;
    int pr = parse(argc, argv, &c);
    if (pr)
        return pr > 0 ? 0 : 2;
    for (unsigned i = 0; i < c.n_faults; i++) {
        const char *n = c.faults[i].node;
        if (strncmp(n, "logger-", 7) && strcmp(n, "manager") && strncmp(n, "proxy-", 6) &&
            strncmp(n, "worker-", 7))
            return lc_err("--kill/--restart: no node '%s'", n), 2;
    }
    if (prepare_dirs(&c) < 0 || write_topology(&c) < 0 || split(&c) < 0)
        return 1;
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGPIPE, SIG_IGN);
    n_kids = 0;
    build_children(&c);
    lc_info("%u loggers, 1 manager, %u proxies, %u workers; run directory %s", c.loggers, c.proxies,
            c.workers, c.run_dir);
    double t0 = nc_mono();
    int rc = run(&c);
    if (rc < 0) {
        kill_all();
        lc_err("the cluster failed; node logs are in %s", c.run_dir);
        return 1;
    }
    uint64_t lines = 0;
    if (merge(&c, &lines) < 0 || check_counts(&c, lines) < 0) {
        lc_err("counts do not add up; node logs are in %s", c.run_dir);
        return 1;
    }
    if (!c.keep) {
        char p[4400];
        for (unsigned w = 0; w < c.workers; w++) {
            snprintf(p, sizeof(p), "%s/worker-%u.pcap", c.run_dir, w + 1);
            unlink(p);
        }
        snprintf(p, sizeof(p), "%s/timeline", c.run_dir);
        unlink(p);
    }
    lc_info("done in %.1f s; merged logs in %s", nc_mono() - t0, c.log_dir);
    return 0;
}
