/* lab_fe: start and follow frontend-dpdk. See lab_fe.h. */
#include "lab_fe.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab_plan.h"

/* The frontend's topology: every worker (lb_procs expanded) with its MAC,
 * weight and, live, its output port (1 + fp index; port 0 is the input). */
static int write_fe_ini(const struct lab_ctx *c)
{
    const struct lab_topo *t = c->t;
    FILE *f = fopen(c->fe_ini, "w");
    if (!f)
        return -errno;
    fprintf(f, "# written by sluicectl from %s\n[frontend]\n\n", t->file);
    unsigned nw = lab_topo_n_workers(t);
    for (unsigned k = 0; k < nw; k++) {
        const struct lab_node *w = &t->nodes[lab_topo_worker(t, k)];
        char mac[18];
        fprintf(f, "[%s]\ntype = worker\nmac = %s\n", w->name,
                lab_mac_str(w->mac, mac, sizeof(mac)));
        if (w->weight != 1.0) /* %.17g: the frontend reads back the very same double */
            fprintf(f, "weight = %.17g\n", w->weight);
        if (c->live && w->nic >= 0)
            fprintf(f, "port = %u\n", 1 + lab_plan_fe_port(t, w->nic));
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -errno;
}

struct argbuf {
    char *argv[320];
    int n;
    char store[32768];
    size_t used;
};

static int add(struct argbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(struct argbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->n >= (int)(sizeof(b->argv) / sizeof(b->argv[0])) - 1)
        return -ENOSPC;
    va_start(ap, fmt);
    int n = vsnprintf(b->store + b->used, sizeof(b->store) - b->used, fmt, ap);
    va_end(ap);
    if (n < 0 || b->used + (size_t)n + 1 > sizeof(b->store))
        return -ENOSPC;
    b->argv[b->n++] = b->store + b->used;
    b->argv[b->n] = NULL;
    b->used += (size_t)n + 1;
    return 0;
}

static int fe_args(const struct lab_ctx *c, struct argbuf *b)
{
    const struct lab_topo *t = c->t;
    unsigned ports = c->live ? lab_plan_fe_ports(t) : 0;
    int rc = 0;
    rc |= add(b, "%s", c->fe_bin);
    rc |= add(b, "-l");
    rc |= add(b, "%s", t->fe.lcores[0] ? t->fe.lcores : "0-1");
    rc |= add(b, "--no-huge");
    rc |= add(b, "-m");
    rc |= add(b, "512");
    rc |= add(b, "--no-pci");
    rc |= add(b, "--no-shconf");
    /* --in-memory clashes with --no-huge; a per-lab prefix keeps labs apart */
    rc |= add(b, "--file-prefix");
    rc |= add(b, "sluice-%s", t->name);
    rc |= add(b, "--log-level");
    rc |= add(b, "lib.*:warning");
    rc |= add(b, "--vdev");
    if (c->pcap)
        rc |= add(b, "net_pcap0,rx_pcap=%s", c->pcap);
    else /* sluicectl start: live input from the tap */
        rc |= add(b, "net_af_packet0,iface=in0");
    for (unsigned k = 0; k < ports; k++) {
        rc |= add(b, "--vdev");
        /* qdisc_bypass=0: frames go through the kernel's qdisc (tbf) */
        rc |= add(b,
                  "net_af_packet%u,iface=fp%u,qdisc_bypass=0,blocksz=65536,framesz=16384,"
                  "framecnt=512",
                  k + 1, k);
    }
    rc |= add(b, "--");
    rc |= add(b, "--topology");
    rc |= add(b, "%s", c->fe_ini);
    rc |= add(b, "--workers");
    rc |= add(b, "%u", lab_topo_n_workers(t));
    rc |= add(b, "--hash");
    rc |= add(b, "%s", c->hash ? c->hash : t->fe.hash);
    if (c->pcap) {
        rc |= add(b, "--pace");
        rc |= add(b, "%s", c->speed);
    }
    rc |= add(b, "--stats-interval");
    rc |= add(b, "1");
    if (t->fe.queue_bytes[0]) {
        rc |= add(b, "--queue-bytes");
        rc |= add(b, "%s", t->fe.queue_bytes);
    }
    if (c->live) {
        /* a kernel bridge does the switching: the frontend sends out one port */
        bool direct = t->fe.output == LAB_OUT_DIRECT || t->fe.sw == LAB_SW_BRIDGE;
        rc |= add(b, "--output");
        rc |= add(b, "%s", direct ? "direct" : "switch");
        rc |= add(b, "--in-ports");
        rc |= add(b, "0");
        rc |= add(b, "--ctl");
        rc |= add(b, "%s", c->fe_ctl);
        return rc ? -ENOSPC : 0;
    }
    rc |= add(b, "--write-pcaps");
    rc |= add(b, "%s", c->split_dir);
    /* A link rate means something only against paced time: at topspeed the
     * replay has no time base and every link would overflow. */
    if (strcmp(c->speed, "topspeed") != 0) {
        unsigned nw = lab_topo_n_workers(t);
        for (unsigned k = 0; k < nw; k++) {
            const struct lab_node *w = &t->nodes[lab_topo_worker(t, k)];
            char rate[24];
            if (!w->link_rate)
                continue;
            rc |= add(b, "--link-rate");
            rc |= add(b, "%u=%s", k + 1, lab_rate_str(w->link_rate, rate, sizeof(rate)));
        }
    }
    return rc ? -ENOSPC : 0;
}

int lab_fe_start(struct lab_ctx *c)
{
    struct argbuf *b = calloc(1, sizeof(*b));
    char ns[LAB_NS_NAME_MAX];
    int rc;
    if (!b)
        return -ENOMEM;
    if ((rc = write_fe_ini(c)) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", c->fe_ini, strerror(-rc));
        goto out;
    }
    if ((rc = fe_args(c, b)) < 0) {
        fprintf(stderr, "sluicectl: frontend command line too long\n");
        goto out;
    }
    if (c->live)
        lab_topo_ns_name(c->t, c->t->fe.host_idx, ns, sizeof(ns));
    /* replay reads the JSON lines; `start` leaves them to the log (a pipe
     * would die with sluicectl, and the frontend with it) */
    rc = lab_spawn(c, "frontend", c->live ? ns : NULL, b->argv, c->pcap != NULL, &c->fe);
    c->fe_started = rc == 0;
out:
    free(b);
    return rc;
}

/* JSON lines of the frontend, read as they come (partial lines kept). */
static char line_buf[1 << 20];
static size_t line_len;

bool lab_fe_poll(struct lab_ctx *c)
{
    bool running = lab_proc_running(&c->fe);
    for (;;) {
        struct pollfd pf = {c->fe.out_fd, POLLIN, 0};
        if (c->fe.out_fd < 0 || poll(&pf, 1, 0) <= 0)
            break;
        ssize_t n = read(c->fe.out_fd, line_buf + line_len, sizeof(line_buf) - line_len - 1);
        if (n <= 0) {
            close(c->fe.out_fd);
            c->fe.out_fd = -1;
            break;
        }
        line_len += (size_t)n;
        line_buf[line_len] = '\0';
        char *nl;
        while ((nl = strchr(line_buf, '\n')) != NULL) {
            struct lab_json *j = lab_json_parse(line_buf, (size_t)(nl - line_buf));
            if (j) {
                uint64_t in = lab_json_u64(j, "in.packets");
                double pps = lab_json_num(j, "rx_pps", 0);
                double eta = pps > 0 && c->total_pkts > in ? (double)(c->total_pkts - in) / pps : 0;
                lab_progress(c, "frontend: %llu/%llu packets replayed, %.0f pps, ETA %.0f s",
                             (unsigned long long)in, (unsigned long long)c->total_pkts, pps, eta);
                lab_json_free(c->fe_last);
                c->fe_last = j;
            }
            line_len -= (size_t)(nl + 1 - line_buf);
            memmove(line_buf, nl + 1, line_len + 1);
        }
        if (line_len >= sizeof(line_buf) - 1)
            line_len = 0; /* a line this long is not the frontend's JSON */
    }
    return running;
}

int lab_fe_wait(struct lab_ctx *c)
{
    double t0 = lab_now();
    while (lab_fe_poll(c) && !lab_stop)
        lab_sleep_ms(50);
    lab_fe_poll(c);
    c->fe_secs = lab_now() - t0;
    lab_progress_done(c);
    if (lab_stop)
        return -EINTR;
    char st[64];
    if (!WIFEXITED(c->fe.status) || WEXITSTATUS(c->fe.status) != 0) {
        fprintf(stderr, "sluicectl: frontend-dpdk failed (%s); see %s/logs/frontend.log\n",
                lab_proc_status_str(&c->fe, st, sizeof(st)), c->run.dir);
        return -ECHILD;
    }
    lab_proc_stop(&c->run, &c->fe, 0); /* gone already: journal it */
    if (!c->fe_last || !lab_json_path(c->fe_last, "workers")) {
        fprintf(stderr, "sluicectl: frontend-dpdk printed no summary\n");
        return -EBADMSG;
    }
    return 0;
}

int lab_fe_ctl(const struct lab_ctx *c, const char *cmd, char *reply, size_t len)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(c->fe_ctl) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    memcpy(a.sun_path, c->fe_ctl, strlen(c->fe_ctl) + 1);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    int rc = 0;
    struct timeval tv = {2, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || dprintf(s, "%s\n", cmd) < 0) {
        rc = -errno;
        goto out;
    }
    /* one line, which a long reply (stats) may spread over several reads */
    size_t got = 0;
    while (got < len - 1 && !memchr(reply, '\n', got)) {
        ssize_t n = read(s, reply + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) { /* SO_RCVTIMEO's expiry reads as EAGAIN: say what it is */
            rc = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    reply[got] = '\0';
    reply[strcspn(reply, "\n")] = '\0';
out:
    close(s);
    return rc;
}
