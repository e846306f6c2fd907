/* lab_ctx: helpers shared by the lab's commands. See lab_ctx.h. */
#include "lab_ctx.h"

#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t lab_stop;

static void on_signal(int sig)
{
    (void)sig;
    lab_stop = 1;
}

void lab_signals_install(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

double lab_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lab_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void lab_progress(const struct lab_ctx *c, const char *fmt, ...)
{
    if (!c->tty)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r\033[K%s", buf);
    fflush(stderr);
}

void lab_progress_done(const struct lab_ctx *c)
{
    if (c->tty)
        fprintf(stderr, "\r\033[K");
}

int lab_find_bin(const char *bin_dir, const char *sub, const char *name, char *buf, size_t len)
{
    char self[PATH_MAX];
    if (bin_dir && bin_dir[0] && snprintf(buf, len, "%s/%s", bin_dir, name) < (int)len &&
        access(buf, X_OK) == 0)
        return 0;
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

int lab_spawn(struct lab_ctx *c, const char *node, const char *ns, char **argv, bool capture,
              struct lab_proc *p)
{
    struct lab_spawn s = {
        .node = node, .ns = ns, .argv = argv, .capture_stdout = capture, .append = c->append_logs};
    int rc = lab_proc_spawn(&c->run, &s, p);
    if (rc < 0)
        fprintf(stderr, "sluicectl: cannot start %s (%s): %s\n", node, argv[0], strerror(-rc));
    return rc;
}

int lab_keep_workers(struct lab_topo *t, unsigned n)
{
    unsigned have = lab_topo_n_workers(t);
    if (n > have) {
        fprintf(stderr, "sluicectl: --workers %u, but the topology has %u\n", n, have);
        return -EINVAL;
    }
    if (!n || n == have)
        return 0;
    int remap[LAB_TOPO_MAX_NODES];
    unsigned out = 0, seen = 0;
    for (unsigned i = 0; i < t->n_nodes; i++) {
        if (t->nodes[i].type == LAB_NODE_WORKER && seen++ >= n) {
            remap[i] = -1;
            continue;
        }
        remap[i] = (int)out;
        t->nodes[out++] = t->nodes[i];
    }
    t->n_nodes = out;
    /* t->nics stays whole: NIC k keeps its place (fp<k>) as `up` made it */
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
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

unsigned lab_pick_base_port(const struct lab_topo *t)
{
    unsigned listeners = 0;
    for (unsigned i = 0; i < t->n_nodes; i++)
        listeners += t->nodes[i].type != LAB_NODE_WORKER;
    /* Other labs and tests may run on this machine: find a free range. */
    for (unsigned base = t->base_port; base + 3 * listeners < 65000; base += 100) {
        bool ok = true;
        for (unsigned p = base; p < base + 3 * listeners && ok; p++)
            ok = port_free(p);
        if (ok)
            return base;
    }
    return t->base_port;
}

int lab_write_cluster_ini(const struct lab_ctx *c)
{
    const struct lab_topo *t = c->t;
    char mac[18];
    FILE *f = fopen(c->cluster_ini, "w");
    if (!f)
        return -errno;
    fprintf(f, "# written by sluicectl from %s\n[lab]\nname = %s\nmode = %s\nhosts =", t->file,
            t->name, c->live ? "live" : "offline");
    for (unsigned h = 0; h < t->n_hosts; h++)
        fprintf(f, "%s %s", h ? "," : "", t->hosts[h]);
    char net[20];
    uint32_t m = t->mgmt_net;
    snprintf(net, sizeof(net), "%u.%u.%u.%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255);
    fprintf(f,
            "\nmgmt_net = %s/%u\nbase_port = %u\n\n[frontend]\nhost = %s\nhash = %s\n"
            "output = %s\n\n",
            net, t->mgmt_prefix, c->base_port, t->fe.host, c->hash ? c->hash : t->fe.hash,
            t->fe.output == LAB_OUT_DIRECT ? "direct" : "switch");
    for (unsigned i = 0; i < t->n_nodes; i++) {
        const struct lab_node *n = &t->nodes[i];
        fprintf(f, "[%s]\ntype = %s\nhost = %s\n", n->name, lab_node_type_name(n->type), n->host);
        if (n->address[0])
            fprintf(f, "address = %s\n", n->address);
        if (n->port)
            fprintf(f, "port = %u\n", n->port);
        if (n->pin_cpus[0])
            fprintf(f, "pin_cpus = %s\n", n->pin_cpus);
        if (n->type == LAB_NODE_WORKER) {
            fprintf(f, "interface = %s\nmac = %s\n", n->iface,
                    lab_mac_str(n->mac, mac, sizeof(mac)));
            if (n->proxy >= 0)
                fprintf(f, "proxy = %s\n", t->nodes[n->proxy].name);
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -errno;
}

uint64_t lab_count_pcap(const char *path)
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

int lab_worker_number(const struct lab_topo *t, int node)
{
    int k = 0;
    for (int i = 0; i < node; i++)
        k += t->nodes[i].type == LAB_NODE_WORKER;
    return k + 1;
}
