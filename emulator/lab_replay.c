/* lab_replay: sluicectl replay. See lab_replay.h. */
#include "lab_replay.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
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

#include "lab_equiv.h"
#include "lab_json.h"
#include "lab_live.h"
#include "lab_merge.h"
#include "lab_plan.h"
#include "lab_proc.h"
#include "lab_report.h"
#include "lab_split.h"
#include "lab_state.h"
#include "lab_topo.h"
#include "sl_flow.h"

#define MAX_PROCS (LAB_TOPO_MAX_NODES + 4)

struct replay {
    const struct lab_replay_opts *o;
    struct lab_topo *t;
    struct lab_run run;
    bool run_open;
    char out[PATH_MAX], split_dir[PATH_MAX + 16], cluster_dir[PATH_MAX + 16];
    char standalone_dir[PATH_MAX + 16], loggers_dir[PATH_MAX + 16], cluster_ini[PATH_MAX + 32];
    char fe_bin[PATH_MAX], node_bin[PATH_MAX];
    const char *pcap;
    struct lab_proc proc[MAX_PROCS];
    int proc_node[MAX_PROCS]; /* node index, -1 = other */
    unsigned n_proc;
    struct lab_proc fe, sa;
    bool fe_started, sa_started;
    struct lab_json *fe_summary;
    struct lab_report *rep;
    bool tty;
    unsigned base_port;
    double t0;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void lab_replay_opts_init(struct lab_replay_opts *o, const char *self)
{
    memset(o, 0, sizeof(*o));
    o->self = self;
    o->speed = "topspeed";
    o->out = "sluice-out";
}

static int parse_speed(const char *s)
{
    if (strcmp(s, "topspeed") == 0)
        return 0;
    char *end;
    double v = strtod(s, &end);
    return v > 0 && v <= 1e6 && (strcmp(end, "x") == 0 || *end == '\0') ? 0 : -EINVAL;
}

int lab_replay_opt(struct lab_replay_opts *o, int idx, const char *arg)
{
    char *end;
    switch (idx) {
    case 0:
        snprintf(o->bin_dir, sizeof(o->bin_dir), "%s", arg);
        return 0;
    case 1:
        if (strcmp(arg, "offline") && strcmp(arg, "live"))
            return -EINVAL;
        o->live = strcmp(arg, "live") == 0;
        return 0;
    case 2:
        o->speed = arg;
        return parse_speed(arg);
    case 3:
        o->hash = arg;
        return 0;
    case 4: {
        long v = strtol(arg, &end, 10);
        if (*end || v < 1 || v > LAB_TOPO_MAX_NODES)
            return -EINVAL;
        o->workers = (unsigned)v;
        return 0;
    }
    case 5:
        o->out = arg;
        return 0;
    case 6: {
        const char *at = strchr(arg, '@');
        if (!at || at == arg || (size_t)(at - arg) >= sizeof(o->kill_worker))
            return -EINVAL;
        o->kill_after = strtod(at + 1, &end);
        if (*end || o->kill_after < 0)
            return -EINVAL;
        snprintf(o->kill_worker, sizeof(o->kill_worker), "%.*s", (int)(at - arg), arg);
        return 0;
    }
    case 7:
        o->split_input = arg;
        return 0;
    case 8:
        o->quiet = true;
        return 0;
    default:
        return -EINVAL;
    }
}

/* ---- setup ------------------------------------------------------------- */

/* frontend-dpdk and sluice-node: --bin-dir, else the build tree next to us
 * (build/emulator/sluicectl -> build/frontend, build/cluster), else $PATH. */
static int find_bin(const struct lab_replay_opts *o, const char *sub, const char *name, char *buf,
                    size_t len)
{
    char self[PATH_MAX];
    if (o->bin_dir[0]) {
        if (snprintf(buf, len, "%s/%s", o->bin_dir, name) < (int)len && access(buf, X_OK) == 0)
            return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *dir = dirname(dirname(self));
        if (snprintf(buf, len, "%s/%s/%s", dir, sub, name) < (int)len && access(buf, X_OK) == 0)
            return 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path; p && *p;) {
        size_t l = strcspn(p, ":");
        if (snprintf(buf, len, "%.*s/%s", (int)l, p, name) < (int)len && l &&
            access(buf, X_OK) == 0)
            return 0;
        p += l + (p[l] == ':');
    }
    fprintf(stderr, "sluicectl: cannot find %s (build it, or give --bin-dir)\n", name);
    return -ENOENT;
}

/* --workers N: keep the first N workers (file order), drop the rest. */
static int keep_workers(struct lab_topo *t, unsigned n)
{
    unsigned have = lab_topo_n_workers(t);
    if (!n || n >= have) {
        if (n > have) {
            fprintf(stderr, "sluicectl: --workers %u, but the topology has %u\n", n, have);
            return -EINVAL;
        }
        return 0;
    }
    int remap[LAB_TOPO_MAX_NODES];
    unsigned out = 0, seen = 0;
    for (unsigned i = 0; i < t->n_nodes; i++) {
        bool worker = t->nodes[i].type == LAB_NODE_WORKER;
        if (worker && seen++ >= n) {
            remap[i] = -1;
            continue;
        }
        remap[i] = (int)out;
        t->nodes[out++] = t->nodes[i];
    }
    t->n_nodes = out;
    for (unsigned i = 0; i < out; i++)
        if (t->nodes[i].proxy >= 0)
            t->nodes[i].proxy = remap[t->nodes[i].proxy];
    return 0;
}

static bool port_free(unsigned port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

/* Offline runs share the machine with other labs and tests: pick a base port
 * whose whole range is free (explicit `port` keys are taken as given). */
static unsigned pick_base_port(const struct lab_topo *t)
{
    unsigned listeners = 0;
    for (unsigned i = 0; i < t->n_nodes; i++)
        listeners += t->nodes[i].type != LAB_NODE_WORKER;
    for (unsigned base = t->base_port; base + 3 * listeners < 65000; base += 100) {
        bool ok = true;
        for (unsigned p = base; p < base + 3 * listeners && ok; p++)
            ok = port_free(p);
        if (ok)
            return base;
    }
    return t->base_port;
}

/* The topology the cluster nodes read: the user's, resolved (lb_procs
 * expanded, --workers applied, the replay's mode and base port). */
static int write_cluster_ini(struct replay *r)
{
    const struct lab_topo *t = r->t;
    char mac[18];
    FILE *f = fopen(r->cluster_ini, "w");
    if (!f)
        return -errno;
    fprintf(f, "# written by sluicectl replay from %s\n[lab]\nname = %s\nmode = %s\nhosts =",
            t->file, t->name, r->o->live ? "live" : "offline");
    for (unsigned h = 0; h < t->n_hosts; h++)
        fprintf(f, "%s %s", h ? "," : "", t->hosts[h]);
    fprintf(f, "\nbase_port = %u\n\n[frontend]\nhost = %s\nhash = %s\noutput = %s\n\n",
            r->base_port, t->fe.host, r->o->hash ? r->o->hash : t->fe.hash,
            t->fe.output == LAB_OUT_DIRECT ? "direct" : "switch");
    for (unsigned i = 0; i < t->n_nodes; i++) {
        const struct lab_node *n = &t->nodes[i];
        fprintf(f, "[%s]\ntype = %s\nhost = %s\n", n->name, lab_node_type_name(n->type), n->host);
        if (n->address[0])
            fprintf(f, "address = %s\n", n->address);
        if (n->port)
            fprintf(f, "port = %u\n", n->port);
        if (n->type == LAB_NODE_WORKER) {
            fprintf(f, "interface = %s\nmac = %s\n", n->iface, lab_mac_str(n->mac, mac, sizeof(mac)));
            if (n->proxy >= 0)
                fprintf(f, "proxy = %s\n", t->nodes[n->proxy].name);
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -errno;
}

static uint64_t count_pcap(const char *path)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, eb);
    if (!p)
        return 0;
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t n = 0;
    while (pcap_next_ex(p, &h, &d) == 1)
        n++;
    pcap_close(p);
    return n;
}

/* ---- processes --------------------------------------------------------- */

static void progress(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct replay *r, const char *fmt, ...)
{
    if (!r->tty || r->o->quiet)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r\033[K%s", buf);
    fflush(stderr);
}

static void progress_done(struct replay *r)
{
    if (r->tty && !r->o->quiet)
        fprintf(stderr, "\r\033[K");
}

static int spawn(struct replay *r, const char *node, const char *ns, char **argv, bool capture,
                 struct lab_proc *p)
{
    struct lab_spawn s = {.node = node, .ns = ns, .argv = argv, .capture_stdout = capture};
    int rc = lab_proc_spawn(&r->run, &s, p);
    if (rc < 0)
        fprintf(stderr, "sluicectl: cannot start %s (%s): %s\n", node, argv[0], strerror(-rc));
    return rc;
}

/* True when /proc/PID/net/tcp{,6} shows a socket in `state` (hex, "0A" =
 * LISTEN, "01" = ESTABLISHED) with local (or remote, when !local) port. It
 * reads the process's own namespace, so it works inside a lab host too. */
static bool has_socket(pid_t pid, unsigned port, const char *state, bool local)
{
    static const char *const files[] = {"tcp", "tcp6"};
    for (int k = 0; k < 2; k++) {
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%ld/net/%s", (long)pid, files[k]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        bool found = false;
        while (!found && fgets(line, sizeof(line), f)) {
            char la[64], ra[64], st[8];
            if (sscanf(line, " %*d: %63s %63s %7s", la, ra, st) != 3)
                continue;
            const char *a = local ? la : ra, *colon = strrchr(a, ':');
            if (colon && strtoul(colon + 1, NULL, 16) == port && strcmp(st, state) == 0)
                found = true;
        }
        fclose(f);
        if (found)
            return true;
    }
    return false;
}

/* Ready: a listening node listens on its port(s); a worker has connected to
 * the manager. Fails when the process dies first or after timeout_ms. */
static int wait_ready(struct replay *r, struct lab_proc *p, int node, unsigned timeout_ms)
{
    const struct lab_node *n = &r->t->nodes[node];
    unsigned port = 0, mgr_port = 0;
    for (unsigned i = 0; i < r->t->n_nodes; i++)
        if (r->t->nodes[i].type == LAB_NODE_MANAGER)
            mgr_port = lab_plan_node_port(r->t, (int)i);
    if (n->type != LAB_NODE_WORKER)
        port = lab_plan_node_port(r->t, node);
    for (unsigned waited = 0;; waited += 20) {
        if (!lab_proc_running(p)) {
            char st[64];
            /* a worker may read a small pcap to its end before we look */
            if (n->type == LAB_NODE_WORKER && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
                return 0;
            fprintf(stderr, "sluicectl: %s %s died while starting (%s); see %s/logs/%s.log\n",
                    lab_node_type_name(n->type), n->name, lab_proc_status_str(p, st, sizeof(st)),
                    r->run.dir, n->name);
            return -ECHILD;
        }
        bool ready;
        if (n->type == LAB_NODE_WORKER)
            ready = has_socket(p->pid, mgr_port, "01", false);
        else if (n->type == LAB_NODE_MANAGER)
            ready = has_socket(p->pid, port, "0A", true) && has_socket(p->pid, port + 1, "0A", true);
        else
            ready = has_socket(p->pid, port, "0A", true);
        if (ready)
            return 0;
        if (waited >= timeout_ms) {
            fprintf(stderr, "sluicectl: %s %s not ready after %u ms; see %s/logs/%s.log\n",
                    lab_node_type_name(n->type), n->name, timeout_ms, r->run.dir, n->name);
            return -ETIMEDOUT;
        }
        sleep_ms(20);
    }
}

static int worker_number(const struct lab_topo *t, int node)
{
    int k = 0;
    for (int i = 0; i < node; i++)
        k += t->nodes[i].type == LAB_NODE_WORKER;
    return k + 1;
}

/* argv of a cluster node. */
static void node_argv(struct replay *r, int node, char **argv, char bufs[][PATH_MAX + 64])
{
    const struct lab_node *n = &r->t->nodes[node];
    int a = 0;
    argv[a++] = r->node_bin;
    argv[a++] = (char *)lab_node_type_name(n->type);
    argv[a++] = "--topology";
    argv[a++] = r->cluster_ini;
    argv[a++] = "--node";
    argv[a++] = (char *)n->name;
    if (n->type == LAB_NODE_LOGGER) {
        snprintf(bufs[0], PATH_MAX + 64, "%s/%s", r->loggers_dir, n->name);
        argv[a++] = "--log-dir";
        argv[a++] = bufs[0];
    }
    if (n->type == LAB_NODE_MANAGER) {
        bool loggers = false;
        for (unsigned i = 0; i < r->t->n_nodes; i++)
            loggers |= r->t->nodes[i].type == LAB_NODE_LOGGER;
        if (!loggers) { /* the manager takes the logs itself */
            snprintf(bufs[0], PATH_MAX + 64, "%s/%s", r->loggers_dir, n->name);
            argv[a++] = "--log-dir";
            argv[a++] = bufs[0];
        }
    }
    if (n->type == LAB_NODE_WORKER) {
        const char *mac = bufs[2];
        lab_mac_str(n->mac, bufs[2], 18);
        if (r->o->live) {
            argv[a++] = "-i";
            argv[a++] = (char *)n->iface;
            snprintf(bufs[1], PATH_MAX + 64, "ether dst %s", mac);
            argv[a++] = "-f";
            argv[a++] = bufs[1];
        } else {
            snprintf(bufs[1], PATH_MAX + 64, "%s/worker-%d.pcap", r->split_dir,
                     worker_number(r->t, node));
            argv[a++] = "-r";
            argv[a++] = bufs[1];
        }
        argv[a++] = "-C";
    }
    argv[a] = NULL;
}

static int start_cluster(struct replay *r)
{
    int order[LAB_TOPO_MAX_NODES];
    unsigned n = lab_plan_start_order(r->t, order);
    char bufs[3][PATH_MAX + 64];
    char ns[LAB_NS_NAME_MAX];
    for (unsigned k = 0; k < n && !g_stop; k++) {
        int node = order[k];
        const struct lab_node *nd = &r->t->nodes[node];
        char *argv[24];
        node_argv(r, node, argv, bufs);
        if (r->o->live)
            lab_topo_ns_name(r->t, nd->host_idx, ns, sizeof(ns));
        progress(r, "starting %s %s (%u/%u)", lab_node_type_name(nd->type), nd->name, k + 1, n);
        struct lab_proc *p = &r->proc[r->n_proc];
        if (spawn(r, nd->name, r->o->live ? ns : NULL, argv, false, p) < 0)
            return -1;
        r->proc_node[r->n_proc++] = node;
        if (wait_ready(r, p, node, 20000) < 0)
            return -1;
    }
    return g_stop ? -EINTR : 0;
}

/* Stops the cluster in reverse start order: each gets SIGTERM (drain, flush,
 * exit) and time to do it before the next. */
static void stop_cluster(struct replay *r)
{
    for (unsigned k = r->n_proc; k-- > 0;) {
        struct lab_proc *p = &r->proc[k];
        if (lab_proc_running(p))
            progress(r, "stopping %s", p->node);
        lab_proc_stop(&r->run, p, 15000);
    }
    progress_done(r);
}

/* ---- frontend ---------------------------------------------------------- */

static int frontend_argv(struct replay *r, char **argv, char *store, size_t store_len)
{
    const struct lab_topo *t = r->t;
    int a = 0;
    size_t o = 0;
#define KEEP(...)                                                                                  \
    ({                                                                                             \
        char *s_ = store + o;                                                                      \
        int n_ = snprintf(s_, o < store_len ? store_len - o : 0, __VA_ARGS__);                     \
        o += (size_t)n_ + 1;                                                                       \
        if (o > store_len)                                                                         \
            return -ENOSPC;                                                                        \
        s_;                                                                                        \
    })
    argv[a++] = r->fe_bin;
    argv[a++] = "-l";
    argv[a++] = (char *)(t->fe.lcores[0] ? t->fe.lcores : "0-1");
    argv[a++] = "--no-huge";
    argv[a++] = "-m";
    argv[a++] = "512";
    argv[a++] = "--no-pci";
    /* --in-memory clashes with --no-huge; a per-lab prefix keeps two labs'
     * DPDK runtime directories apart */
    argv[a++] = "--file-prefix";
    argv[a++] = KEEP("sluice-%s", t->name);
    argv[a++] = "--log-level";
    argv[a++] = "lib.*:warning";
    argv[a++] = "--vdev";
    argv[a++] = KEEP("net_pcap0,rx_pcap=%s", r->pcap);
    argv[a++] = "--";
    unsigned nw = lab_topo_n_workers(t);
    argv[a++] = "--workers";
    argv[a++] = KEEP("%u", nw);
    char *macs = store + o, mac[18];
    size_t ml = 0;
    for (unsigned k = 0; k < nw; k++) {
        const struct lab_node *w = &t->nodes[lab_topo_worker(t, k)];
        ml += (size_t)snprintf(macs + ml, store_len - o - ml, "%s%s", k ? "," : "",
                               lab_mac_str(w->mac, mac, sizeof(mac)));
        if (o + ml + 1 >= store_len)
            return -ENOSPC;
    }
    o += ml + 1;
    argv[a++] = "--worker-mac";
    argv[a++] = macs;
    argv[a++] = "--hash";
    argv[a++] = (char *)(r->o->hash ? r->o->hash : t->fe.hash);
    argv[a++] = "--pace";
    argv[a++] = (char *)r->o->speed;
    argv[a++] = "--stats-interval";
    argv[a++] = "1";
    argv[a++] = "--write-pcaps";
    argv[a++] = r->split_dir;
    if (t->fe.queue_bytes[0]) {
        argv[a++] = "--queue-bytes";
        argv[a++] = (char *)t->fe.queue_bytes;
    }
    /* A link rate means something only against paced time: at topspeed the
     * replay has no time base and every link would overflow. */
    if (strcmp(r->o->speed, "topspeed") != 0) {
        for (unsigned k = 0; k < nw && a < 200; k++) {
            const struct lab_node *w = &t->nodes[lab_topo_worker(t, k)];
            char rate[24];
            if (!w->link_rate)
                continue;
            argv[a++] = "--link-rate";
            argv[a++] = KEEP("%u=%s", k + 1, lab_rate_str(w->link_rate, rate, sizeof(rate)));
        }
    }
    argv[a] = NULL;
#undef KEEP
    return 0;
}

/* Reads the frontend's JSON lines as they come; keeps the last one. */
static void read_fe_output(struct replay *r, char *buf, size_t *len, size_t cap)
{
    for (;;) {
        struct pollfd pf = {r->fe.out_fd, POLLIN, 0};
        if (r->fe.out_fd < 0 || poll(&pf, 1, 0) <= 0)
            return;
        ssize_t n = read(r->fe.out_fd, buf + *len, cap - *len - 1);
        if (n <= 0) {
            close(r->fe.out_fd);
            r->fe.out_fd = -1;
            return;
        }
        *len += (size_t)n;
        buf[*len] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            struct lab_json *j = lab_json_parse(buf, (size_t)(nl - buf));
            if (j) {
                uint64_t in = lab_json_u64(j, "in.packets");
                double pps = lab_json_num(j, "rx_pps", 0);
                uint64_t total = r->rep->pcap_pkts;
                double eta = pps > 0 && total > in ? (double)(total - in) / pps : 0;
                progress(r, "frontend: %llu/%llu packets replayed, %.0f pps, ETA %.0f s",
                         (unsigned long long)in, (unsigned long long)total, pps, eta);
                lab_json_free(r->fe_summary);
                r->fe_summary = j;
            }
            *len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, *len + 1);
        }
        if (*len >= cap - 1)
            *len = 0; /* a line longer than the buffer is not ours to parse */
    }
}

static int run_frontend(struct replay *r)
{
    char *argv[256], store[16384];
    if (frontend_argv(r, argv, store, sizeof(store)) < 0) {
        fprintf(stderr, "sluicectl: frontend command line too long\n");
        return -ENOSPC;
    }
    if (spawn(r, "frontend", NULL, argv, true, &r->fe) < 0)
        return -1;
    r->fe_started = true;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    double t0 = now_s();
    while (lab_proc_running(&r->fe) && !g_stop) {
        read_fe_output(r, buf, &len, cap);
        sleep_ms(50);
    }
    read_fe_output(r, buf, &len, cap);
    free(buf);
    r->rep->replay_s = now_s() - t0;
    progress_done(r);
    if (g_stop)
        return -EINTR;
    char st[64];
    if (!WIFEXITED(r->fe.status) || WEXITSTATUS(r->fe.status) != 0) {
        fprintf(stderr, "sluicectl: frontend-dpdk failed (%s); see %s/logs/frontend.log\n",
                lab_proc_status_str(&r->fe, st, sizeof(st)), r->run.dir);
        return -1;
    }
    lab_proc_stop(&r->run, &r->fe, 0); /* already gone: journal it */
    if (!r->fe_summary) {
        fprintf(stderr, "sluicectl: frontend-dpdk printed no summary\n");
        return -1;
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------ */

static int start_standalone(struct replay *r)
{
    char *argv[] = {r->node_bin, "standalone", "-r", (char *)r->pcap, "-C",
                    "--log-dir", r->standalone_dir, NULL};
    int rc = spawn(r, "standalone", NULL, argv, false, &r->sa);
    r->sa_started = rc == 0;
    return rc;
}

/* Waits for the workers to finish their input (offline: end of their
 * pcap), honouring --kill-worker. */
static int wait_workers(struct replay *r)
{
    double t0 = now_s();
    bool killed = !r->o->kill_worker[0];
    for (;;) {
        unsigned running = 0, total = 0;
        for (unsigned k = 0; k < r->n_proc; k++) {
            if (r->t->nodes[r->proc_node[k]].type != LAB_NODE_WORKER)
                continue;
            total++;
            running += lab_proc_running(&r->proc[k]);
        }
        if (!killed && now_s() - t0 >= r->o->kill_after) {
            for (unsigned k = 0; k < r->n_proc; k++) {
                if (strcmp(r->proc[k].node, r->o->kill_worker) == 0 &&
                    lab_proc_running(&r->proc[k])) {
                    kill(r->proc[k].pid, SIGKILL);
                    lab_report_event(r->rep, "worker %s killed (SIGKILL) %.2f s into the replay",
                                     r->o->kill_worker, now_s() - t0);
                }
            }
            killed = true;
        }
        if (!running || g_stop)
            break;
        progress(r, "cluster: %u/%u workers still reading, %.0f s", running, total, now_s() - t0);
        sleep_ms(100);
    }
    progress_done(r);
    return g_stop ? -EINTR : 0;
}

static int node_failed(struct replay *r)
{
    int bad = 0;
    for (unsigned k = 0; k < r->n_proc; k++) {
        struct lab_proc *p = &r->proc[k];
        char st[64];
        lab_proc_running(p);
        if (p->exited && (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0) &&
            strcmp(p->node, r->o->kill_worker) != 0) {
            fprintf(stderr, "sluicectl: %s ended badly (%s); see %s/logs/%s.log\n", p->node,
                    lab_proc_status_str(p, st, sizeof(st)), r->run.dir, p->node);
            bad++;
        }
    }
    return bad;
}

static void report_frontend(struct replay *r)
{
    const struct lab_json *s = r->fe_summary;
    struct lab_report *rep = r->rep;
    if (!s)
        return;
    static const char *const reasons[] = {"no_worker", "shaper", "tx_full", "runt"};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "drops.%s", reasons[i]);
        uint64_t n = lab_json_u64(s, path);
        if (n)
            lab_report_drop(rep, "frontend", "", reasons[i], n);
    }
    uint64_t in = lab_json_u64(s, "in.packets"), out = lab_json_u64(s, "out.packets");
    uint64_t dropped = lab_json_u64(s, "drops.total");
    lab_report_acct(rep, "frontend (in = out + drops)", in, out, dropped);
    lab_report_acct(rep, "pcap -> frontend input", rep->pcap_pkts, in, 0);
}

static void report_workers(struct replay *r, const struct lab_split *sp)
{
    struct lab_report *rep = r->rep;
    const struct lab_json *ws = lab_json_path(r->fe_summary, "workers");
    rep->n_workers = lab_topo_n_workers(r->t);
    for (unsigned k = 0; k < rep->n_workers; k++) {
        const struct lab_node *n = &r->t->nodes[lab_topo_worker(r->t, k)];
        struct lab_report_worker *w = &rep->w[k];
        snprintf(w->name, sizeof(w->name), "%s", n->name);
        lab_mac_str(n->mac, w->mac, sizeof(w->mac));
        w->killed = strcmp(n->name, r->o->kill_worker) == 0;
        w->pkts = sp->w[k].pkts;
        w->bytes = sp->w[k].bytes;
        w->conns = sp->w[k].conns;
        const struct lab_json *fw = lab_json_at(ws, k);
        if (fw) {
            char stage[64];
            snprintf(stage, sizeof(stage), "link to %s (frontend -> pcap)", n->name);
            lab_report_acct(rep, stage, lab_json_u64(fw, "packets"), sp->w[k].pkts, 0);
        }
    }
    uint64_t sum = 0;
    for (unsigned k = 0; k < rep->n_workers; k++)
        sum += sp->w[k].pkts;
    if (r->o->split_input)
        lab_report_acct(rep, "pcap -> per-worker pcaps (--split-input)", rep->pcap_pkts, sum, 0);
    rep->split_known = true;
    rep->split_conns = sp->split_conns;
    rep->conns = sp->conns;
    rep->n_ex = sp->n_ex;
    memcpy(rep->ex, sp->ex, sizeof(sp->ex));
}

/* stats.log rows per node: packets processed and dropped by capture. */
static void report_capture(struct replay *r, const struct lab_split *sp)
{
    char path[PATH_MAX + 32], line[8192];
    snprintf(path, sizeof(path), "%s/stats.log", r->cluster_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        lab_report_event(r->rep, "no stats.log from the cluster: per-worker capture "
                                 "accounting not available");
        return;
    }
    int i_peer = -1, i_proc = -1, i_drop = -1;
    uint64_t proc[LAB_SPLIT_MAX_WORKERS] = {0}, drop[LAB_SPLIT_MAX_WORKERS] = {0};
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *col[64];
        int n = 0;
        bool fields = strncmp(line, "#fields\t", 8) == 0;
        if (line[0] == '#' && !fields)
            continue;
        for (char *s = fields ? line + 8 : line; n < 64;) {
            col[n++] = s;
            char *tab = strchr(s, '\t');
            if (!tab)
                break;
            *tab = '\0';
            s = tab + 1;
        }
        if (fields) {
            for (int k = 0; k < n; k++) {
                i_peer = strcmp(col[k], "peer") == 0 ? k : i_peer;
                i_proc = strcmp(col[k], "pkts_proc") == 0 ? k : i_proc;
                i_drop = strcmp(col[k], "pkts_dropped") == 0 ? k : i_drop;
            }
            continue;
        }
        if (i_peer < 0 || i_proc < 0 || i_peer >= n || i_proc >= n)
            continue;
        for (unsigned w = 0; w < r->rep->n_workers; w++) {
            if (strcmp(col[i_peer], r->rep->w[w].name) != 0)
                continue;
            proc[w] += strtoull(col[i_proc], NULL, 10);
            if (i_drop >= 0 && i_drop < n)
                drop[w] += strtoull(col[i_drop], NULL, 10);
        }
    }
    fclose(f);
    for (unsigned w = 0; w < r->rep->n_workers; w++) {
        char stage[64];
        if (r->rep->w[w].killed) {
            uint64_t lost = sp->w[w].pkts > proc[w] ? sp->w[w].pkts - proc[w] : 0;
            lab_report_drop(r->rep, "worker", r->rep->w[w].name, "killed", lost);
            lab_report_event(r->rep, "%s processed %llu of its %llu packets before it was "
                                     "killed: %llu lost",
                             r->rep->w[w].name, (unsigned long long)proc[w],
                             (unsigned long long)sp->w[w].pkts, (unsigned long long)lost);
            continue;
        }
        if (drop[w])
            lab_report_drop(r->rep, "capture", r->rep->w[w].name, "pcap", drop[w]);
        snprintf(stage, sizeof(stage), "%s capture (pcap -> analysis)", r->rep->w[w].name);
        lab_report_acct(r->rep, stage, sp->w[w].pkts, proc[w], drop[w]);
    }
}

static int finish(struct replay *r)
{
    struct lab_report *rep = r->rep;
    char *dirs[LAB_TOPO_MAX_NODES] = {0};
    unsigned nd = 0;
    for (unsigned i = 0; i < r->t->n_nodes; i++) {
        const struct lab_node *n = &r->t->nodes[i];
        if (n->type != LAB_NODE_LOGGER && n->type != LAB_NODE_MANAGER)
            continue;
        if (asprintf(&dirs[nd], "%s/%s", r->loggers_dir, n->name) < 0)
            return -ENOMEM;
        nd++;
    }
    int rc = lab_merge_logs(dirs, nd, r->cluster_dir, stderr);
    for (unsigned i = 0; i < nd; i++)
        free(dirs[i]);
    if (rc < 0)
        return rc;
    char *files[LAB_SPLIT_MAX_WORKERS];
    unsigned nw = lab_topo_n_workers(r->t);
    struct lab_split *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return -ENOMEM;
    for (unsigned k = 0; k < nw; k++)
        if (asprintf(&files[k], "%s/worker-%u.pcap", r->split_dir, k + 1) < 0)
            files[k] = NULL;
    rc = lab_split_scan(files, nw, sp, stderr);
    for (unsigned k = 0; k < nw; k++)
        free(files[k]);
    if (rc == 0) {
        report_frontend(r);
        report_workers(r, sp);
        report_capture(r, sp);
    }
    free(sp);
    if (rc < 0)
        return rc;
    lab_report_notices(rep, r->cluster_dir);
    if (lab_equiv_compare(r->cluster_dir, r->standalone_dir, &rep->eq, stderr) == 0)
        rep->eq_done = true;
    lab_report_finish(rep);
    rep->wall_s = now_s() - r->t0;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/report.json", r->out);
    if ((rc = lab_report_write_json(rep, path)) < 0)
        fprintf(stderr, "sluicectl: %s: %s\n", path, strerror(-rc));
    snprintf(path, sizeof(path), "%s/report.html", r->out);
    if ((rc = lab_report_write_html(rep, path)) < 0)
        fprintf(stderr, "sluicectl: %s: %s\n", path, strerror(-rc));
    lab_report_print(rep, stdout);
    printf("report: %s/report.json, %s/report.html; logs: %s, %s\n", r->out, r->out,
           r->cluster_dir, r->standalone_dir);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -r of a directory the lab writes (cluster/, standalone/, ...). */
static int rm_tree(const char *dir)
{
    if (access(dir, F_OK) < 0)
        return 0;
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

static int setup(struct replay *r, const char *topology, const char *pcap)
{
    const struct lab_replay_opts *o = r->o;
    int rc;
    if (lab_topo_load(topology, r->t, stderr) != 0)
        return 2;
    if (keep_workers(r->t, o->workers) < 0)
        return 2;
    enum sl_hash_mode hm;
    if (o->hash && sl_hash_mode_parse(o->hash, &hm) < 0) {
        fprintf(stderr, "sluicectl: --hash %s: sym5, sym3, sym2, inner-sym5, inner-sym3, "
                        "inner-sym2 or toeplitz\n",
                o->hash);
        return 2;
    }
    if (access(pcap, R_OK) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", pcap, strerror(errno));
        return 2;
    }
    if (o->live) {
        fprintf(stderr, "sluicectl: replay --mode live: not in this build yet\n");
        return 2;
    }
    if (find_bin(o, "cluster", "sluice-node", r->node_bin, sizeof(r->node_bin)) < 0 ||
        (!o->split_input &&
         find_bin(o, "frontend", "frontend-dpdk", r->fe_bin, sizeof(r->fe_bin)) < 0))
        return 1;
    snprintf(r->out, sizeof(r->out), "%s", o->out);
    if ((rc = lab_mkdir_p(r->out, 0755)) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", r->out, strerror(-rc));
        return 1;
    }
    snprintf(r->cluster_dir, sizeof(r->cluster_dir), "%s/cluster", r->out);
    snprintf(r->standalone_dir, sizeof(r->standalone_dir), "%s/standalone", r->out);
    snprintf(r->loggers_dir, sizeof(r->loggers_dir), "%s/loggers", r->out);
    if (o->split_input)
        snprintf(r->split_dir, sizeof(r->split_dir), "%s", o->split_input);
    else
        snprintf(r->split_dir, sizeof(r->split_dir), "%s/split", r->out);
    /* a stale earlier run's output must not be mistaken for this one's */
    if (rm_tree(r->cluster_dir) < 0 || rm_tree(r->standalone_dir) < 0 ||
        rm_tree(r->loggers_dir) < 0 || (!o->split_input && rm_tree(r->split_dir) < 0)) {
        fprintf(stderr, "sluicectl: cannot clear the output directory %s\n", r->out);
        return 1;
    }
    if (lab_mkdir_p(r->standalone_dir, 0755) < 0 || lab_mkdir_p(r->loggers_dir, 0755) < 0 ||
        lab_mkdir_p(r->split_dir, 0755) < 0)
        return 1;
    char dir[PATH_MAX];
    if (o->run_dir)
        snprintf(dir, sizeof(dir), "%s", o->run_dir);
    else if (lab_run_default_dir(r->t->name, dir, sizeof(dir)) < 0)
        return 1;
    if ((rc = lab_run_open(&r->run, dir, r->t->name, true)) < 0) {
        fprintf(stderr, "sluicectl: run directory %s: %s\n", dir,
                rc == -EBUSY ? "in use by another sluicectl" : strerror(-rc));
        return 1;
    }
    r->run_open = true;
    struct lab_ent *ents;
    size_t n;
    if (lab_run_load(&r->run, &ents, &n) == 0) {
        free(ents);
        if (n) {
            fprintf(stderr, "sluicectl: %s lists processes or links of an earlier run: run "
                            "'sluicectl down' first\n",
                    dir);
            return 1;
        }
    }
    snprintf(r->cluster_ini, sizeof(r->cluster_ini), "%s/cluster.ini", r->run.dir);
    r->base_port = o->live ? r->t->base_port : pick_base_port(r->t);
    r->t->base_port = r->base_port;
    if ((rc = write_cluster_ini(r)) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", r->cluster_ini, strerror(-rc));
        return 1;
    }
    r->pcap = pcap;
    return 0;
}

static void fill_report_head(struct replay *r, const char *topology, const char *pcap)
{
    struct lab_report *rep = r->rep;
    snprintf(rep->topology, sizeof(rep->topology), "%.255s", topology);
    snprintf(rep->pcap, sizeof(rep->pcap), "%.255s", pcap);
    snprintf(rep->mode, sizeof(rep->mode), "%s", r->o->live ? "live" : "offline");
    snprintf(rep->hash, sizeof(rep->hash), "%s", r->o->hash ? r->o->hash : r->t->fe.hash);
    snprintf(rep->speed, sizeof(rep->speed), "%s", r->o->speed);
    snprintf(rep->out_dir, sizeof(rep->out_dir), "%.255s", r->out);
    rep->pcap_pkts = count_pcap(pcap);
    if (r->o->split_input)
        lab_report_event(rep, "per-worker pcaps taken from %s, not from the frontend",
                         r->o->split_input);
    if (strcmp(r->o->speed, "topspeed") == 0)
        lab_report_event(rep, "link rates not applied: at topspeed a replay has no time base");
}

static void cleanup(struct replay *r)
{
    if (r->sa_started && lab_proc_running(&r->sa))
        lab_proc_stop(&r->run, &r->sa, 5000);
    if (r->fe_started && lab_proc_running(&r->fe))
        lab_proc_stop(&r->run, &r->fe, 5000);
    stop_cluster(r);
    lab_json_free(r->fe_summary);
    if (r->rep) {
        if (r->rep->eq_done)
            lab_equiv_free(&r->rep->eq);
        free(r->rep);
    }
    if (r->run_open)
        lab_run_close(&r->run);
    free(r->t);
}

int lab_replay_main(const char *topology, const char *pcap, const struct lab_replay_opts *o)
{
    struct replay *r = calloc(1, sizeof(*r));
    if (!r)
        return 1;
    r->o = o;
    r->t0 = now_s();
    r->tty = isatty(STDERR_FILENO);
    r->t = calloc(1, sizeof(*r->t));
    r->rep = calloc(1, sizeof(*r->rep));
    int ret = 1;
    if (!r->t || !r->rep)
        goto out;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((ret = setup(r, topology, pcap)) != 0)
        goto out;
    ret = 1;
    fill_report_head(r, topology, pcap);
    if (start_standalone(r) < 0)
        goto out;
    if (!o->split_input && run_frontend(r) < 0)
        goto out;
    if (start_cluster(r) < 0 || wait_workers(r) < 0)
        goto out;
    stop_cluster(r);
    if (lab_proc_wait(&r->sa, 0) < 0 || g_stop)
        goto out;
    char st[64];
    if (!WIFEXITED(r->sa.status) || WEXITSTATUS(r->sa.status) != 0) {
        fprintf(stderr, "sluicectl: the standalone reference failed (%s); see %s/logs/"
                        "standalone.log\n",
                lab_proc_status_str(&r->sa, st, sizeof(st)), r->run.dir);
        goto out;
    }
    lab_proc_stop(&r->run, &r->sa, 0);
    int failed = node_failed(r);
    if (failed)
        lab_report_event(r->rep, "%d cluster process%s ended badly (see the run directory's "
                                 "logs)",
                         failed, failed == 1 ? "" : "es");
    if (finish(r) < 0)
        goto out;
    ret = lab_report_ok(r->rep) && !failed ? 0 : 1;
out:
    if (g_stop)
        fprintf(stderr, "sluicectl: interrupted; stopping what was started\n");
    cleanup(r);
    free(r);
    return ret;
}
