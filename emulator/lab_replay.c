/* lab_replay: sluicectl replay. See lab_replay.h. */
#include "lab_replay.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab_cluster.h"
#include "lab_ctx.h"
#include "lab_deliver.h"
#include "lab_equiv.h"
#include "lab_fe.h"
#include "lab_follow.h"
#include "lab_live.h"
#include "lab_merge.h"
#include "lab_net.h"
#include "lab_plan.h"
#include "lab_report.h"
#include "lab_split.h"
#include "sl_flow.h"

struct replay {
    const struct lab_replay_opts *o;
    struct lab_ctx c;
    char out[PATH_MAX], cluster_dir[LAB_PATH], standalone_dir[LAB_PATH];
    char delivered_dir[LAB_PATH]; /* live: the reference over the delivered frames */
    struct lab_proc sa;
    bool sa_started;
    bool brought_up; /* live: this replay ran `up`, so it runs `down` */
    struct lab_report *rep;
    double t0;
    /* --kill-worker and the liveness relay */
    int kill_node;
    bool killed;
    double kill_at;
    bool marked_down[LAB_SPLIT_MAX_WORKERS];
    struct lab_follow *follow; /* the manager's liveness view relayed (live) */
    /* the frontend's counters just after `down K`: to K, and to all */
    bool went_down[LAB_SPLIT_MAX_WORKERS];
    uint64_t sent_at_down[LAB_SPLIT_MAX_WORKERS];
    uint64_t all_at_down[LAB_SPLIT_MAX_WORKERS];
};

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

/* ---- the standalone reference ------------------------------------------ */

static int start_standalone(struct replay *r)
{
    char *argv[] = {r->c.node_bin, "standalone",      "-r", (char *)r->c.pcap, "-C",
                    "--log-dir",   r->standalone_dir, NULL};
    int rc = lab_spawn(&r->c, "standalone", NULL, argv, false, &r->sa);
    r->sa_started = rc == 0;
    return rc;
}

static int wait_standalone(struct replay *r)
{
    char st[64];
    while (lab_proc_running(&r->sa) && !lab_stop)
        lab_sleep_ms(50);
    if (lab_stop)
        return -EINTR;
    if (!WIFEXITED(r->sa.status) || WEXITSTATUS(r->sa.status) != 0) {
        fprintf(stderr,
                "sluicectl: the standalone reference failed (%s); see "
                "%s/logs/%s.log\n",
                lab_proc_status_str(&r->sa, st, sizeof(st)), r->c.run.dir, r->sa.node);
        return -ECHILD;
    }
    lab_proc_stop(&r->c.run, &r->sa, 0);
    return 0;
}

/* ---- --kill-worker and worker liveness ---------------------------------- */

static void maybe_kill(struct replay *r, double since)
{
    if (r->kill_node < 0 || r->killed || lab_now() - since < r->o->kill_after)
        return;
    struct lab_proc *p = lab_cluster_proc(&r->c, r->kill_node);
    r->killed = true;
    r->kill_at = lab_now();
    if (p && lab_proc_running(p)) {
        kill(p->pid, SIGKILL);
        lab_report_event(r->rep, "%s killed with SIGKILL %.2f s into the replay",
                         r->c.t->nodes[r->kill_node].name, r->kill_at - since);
    }
}

/* Right after `down K`: what the frontend had sent to K and to everyone, so
 * the report can show that K got nothing more and the others took over. */
static int counters_at_down(struct replay *r, unsigned k)
{
    size_t len = 1 << 18;
    char *buf = malloc(len);
    struct lab_json *j = NULL;
    int rc = -EBADMSG;
    if (buf && lab_fe_ctl(&r->c, "stats", buf, len) == 0 &&
        (j = lab_json_parse(buf, strlen(buf))) != NULL) {
        const struct lab_json *ws = lab_json_path(j, "workers");
        unsigned nw = lab_topo_n_workers(r->c.t);
        r->sent_at_down[k] = lab_json_u64(lab_json_at(ws, k), "packets");
        r->all_at_down[k] = 0;
        for (unsigned i = 0; i < nw; i++)
            r->all_at_down[k] += lab_json_u64(lab_json_at(ws, i), "packets");
        rc = lab_json_at(ws, k) ? 0 : -EBADMSG;
    }
    lab_json_free(j);
    free(buf);
    return rc;
}

static void follow_note(void *ctx, const char *line)
{
    struct replay *r = ctx;
    lab_report_event(r->rep, "%s", line);
}

/* After `down K` the report needs what the frontend had sent by then. */
static void follow_changed(void *ctx, unsigned k, bool down)
{
    struct replay *r = ctx;
    if (k >= LAB_SPLIT_MAX_WORKERS)
        return;
    r->marked_down[k] = down;
    if (down && !r->went_down[k])
        r->went_down[k] = counters_at_down(r, k) == 0;
}

/* Worker liveness as the cluster decides it, for the length of the replay
 * (lab_follow.h). */
static void open_follow(struct replay *r, double since)
{
    struct lab_follow_conf fc = {.c = &r->c,
                                 .when = "into the replay",
                                 .note = follow_note,
                                 .changed = follow_changed,
                                 .ctx = r};
    r->follow = lab_follow_open(&fc, since);
}

/* ---- the replay, offline and live ---------------------------------------- */

/* The workers' shared timeline (see lab_split_timeline), in the run dir. */
static int make_timeline(struct replay *r)
{
    char *files[LAB_SPLIT_MAX_WORKERS] = {0};
    unsigned nw = lab_topo_n_workers(r->c.t);
    int64_t rc = 0;
    snprintf(r->c.timeline, sizeof(r->c.timeline), "%s/timeline", r->c.run.dir);
    for (unsigned k = 0; k < nw && rc == 0; k++)
        if (asprintf(&files[k], "%s/worker-%u.pcap", r->c.split_dir, k + 1) < 0)
            rc = -ENOMEM;
    lab_progress(&r->c, "matching the split against %s for the workers' timeline", r->c.pcap);
    if (rc == 0)
        rc = lab_split_timeline(r->c.pcap, files, nw, r->c.timeline, stderr);
    lab_progress_done(&r->c);
    for (unsigned k = 0; k < nw; k++)
        free(files[k]);
    if (rc < 0)
        fprintf(stderr, "sluicectl: timeline %s: %s\n", r->c.timeline, strerror((int)-rc));
    return rc < 0 ? (int)rc : 0;
}

static int run_offline(struct replay *r)
{
    int rc;
    if (!r->o->split_input) {
        if ((rc = lab_fe_start(&r->c)) < 0 || (rc = lab_fe_wait(&r->c)) < 0)
            return rc;
        r->rep->replay_s = r->c.fe_secs;
    }
    if ((rc = make_timeline(r)) < 0)
        return rc;
    if ((rc = lab_cluster_start(&r->c)) < 0)
        return rc;
    double t0 = lab_now();
    for (;;) { /* workers end at the end of their pcap */
        unsigned running = 0, total = 0;
        maybe_kill(r, t0);
        for (unsigned k = 0; k < r->c.n_proc; k++) {
            if (r->c.t->nodes[r->c.proc_node[k]].type != LAB_NODE_WORKER)
                continue;
            total++;
            running += lab_proc_running(&r->c.proc[k]);
        }
        if (!running || lab_stop)
            break;
        lab_progress(&r->c, "cluster: %u/%u workers still reading, %.0f s", running, total,
                     lab_now() - t0);
        lab_sleep_ms(100);
    }
    lab_progress_done(&r->c);
    if (r->kill_node >= 0 && r->killed)
        lab_report_event(r->rep, "offline mode: the frontend had written every pcap before the "
                                 "kill, so no flow moved; the packets the worker had not read "
                                 "are counted below");
    return lab_stop ? -EINTR : 0;
}

/* Sum of rx_packets over the worker NICs (live): settles once the drain is over. */
static uint64_t nic_rx_total(struct replay *r)
{
    uint64_t sum = 0;
    char ns[LAB_NS_NAME_MAX];
    for (unsigned k = 0; k < r->c.t->n_nics; k++) {
        lab_topo_ns_name(r->c.t, r->c.t->nics[k].host_idx, ns, sizeof(ns));
        struct lab_nl *nl = lab_nl_open(ns);
        struct lab_link_stats st;
        if (nl && lab_link_stats(nl, r->c.t->nics[k].iface, &st) == 0)
            sum += st.rx_packets;
        lab_nl_close(nl);
    }
    return sum;
}

static int run_live(struct replay *r)
{
    int rc;
    if ((rc = lab_cluster_start(&r->c)) < 0)
        return rc;
    if ((rc = lab_fe_start(&r->c)) < 0)
        return rc;
    double t0 = lab_now();
    open_follow(r, t0);
    while (lab_fe_poll(&r->c) && !lab_stop) {
        maybe_kill(r, t0);
        lab_follow_step(r->follow, 0);
        lab_sleep_ms(100);
    }
    lab_follow_close(r->follow);
    r->follow = NULL;
    double replay_s = lab_now() - t0; /* lab_fe_wait only sees the end of it */
    if ((rc = lab_fe_wait(&r->c)) < 0)
        return rc;
    r->rep->replay_s = replay_s;
    /* Drain: the frames are on the wire or in the workers' capture buffers;
     * wait until the NICs are quiet, then two heartbeats more. */
    uint64_t last = nic_rx_total(r);
    for (int quiet = 0, i = 0; quiet < 5 && i < 200 && !lab_stop; i++) {
        lab_sleep_ms(100);
        uint64_t now = nic_rx_total(r);
        quiet = now == last ? quiet + 1 : 0;
        last = now;
        lab_progress(&r->c, "draining: %llu frames on the worker NICs", (unsigned long long)now);
    }
    lab_sleep_ms(2000);
    lab_progress_done(&r->c);
    return lab_stop ? -EINTR : 0;
}

/* ---- report ---------------------------------------------------------------- */

static void report_frontend(struct replay *r)
{
    const struct lab_json *s = r->c.fe_last;
    struct lab_report *rep = r->rep;
    if (!s)
        return;
    /* every reason the frontend names (frontend/stats.c), "total" aside */
    const struct lab_json *drops = lab_json_path(s, "drops");
    for (size_t i = 0; drops && drops->type == LJ_OBJ && i < drops->n; i++) {
        uint64_t n = lab_json_u64(drops->kids[i], "");
        if (n && strcmp(drops->keys[i], "total") != 0)
            lab_report_drop(rep, "frontend", "", drops->keys[i], n);
    }
    /* frames lost before the frontend saw them: records net_pcap never
     * delivered, a port's imissed, an AF_PACKET ring's kernel drops */
    uint64_t missed = lab_json_u64(s, "rx_missed");
    if (missed)
        lab_report_drop(rep, "input", "", "rx_missed", missed);
    lab_report_acct(rep, "pcap -> frontend input", rep->pcap_pkts, lab_json_u64(s, "in.packets"),
                    missed);
    lab_report_acct(rep, "frontend (in = out + drops)", lab_json_u64(s, "in.packets"),
                    lab_json_u64(s, "out.packets"), lab_json_u64(s, "drops.total"));
}

/* Per worker: name, MAC, and what the frontend says it sent. */
static void report_worker_table(struct replay *r)
{
    struct lab_report *rep = r->rep;
    const struct lab_json *ws = lab_json_path(r->c.fe_last, "workers");
    rep->n_workers = lab_topo_n_workers(r->c.t);
    for (unsigned k = 0; k < rep->n_workers; k++) {
        int node = lab_topo_worker(r->c.t, k);
        const struct lab_node *n = &r->c.t->nodes[node];
        struct lab_report_worker *w = &rep->w[k];
        snprintf(w->name, sizeof(w->name), "%s", n->name);
        lab_mac_str(n->mac, w->mac, sizeof(w->mac));
        w->killed = node == r->kill_node && r->killed;
        const struct lab_json *fw = lab_json_at(ws, k);
        w->pkts = lab_json_u64(fw, "packets");
        w->bytes = lab_json_u64(fw, "bytes");
        w->conns = lab_json_u64(fw, "flows");
    }
    uint64_t all = 0;
    for (unsigned k = 0; k < rep->n_workers; k++)
        all += rep->w[k].pkts;
    for (unsigned k = 0; k < rep->n_workers && k < LAB_SPLIT_MAX_WORKERS; k++) {
        if (!r->went_down[k] || !r->marked_down[k] || rep->w[k].pkts < r->sent_at_down[k] ||
            all < r->all_at_down[k])
            continue;
        uint64_t to_k = rep->w[k].pkts - r->sent_at_down[k];
        uint64_t others = all - r->all_at_down[k] - to_k;
        lab_report_event(rep,
                         "after %s was marked down the frontend sent it %llu packets and the "
                         "other workers %llu",
                         rep->w[k].name, (unsigned long long)to_k, (unsigned long long)others);
    }
}

/* Offline: what each worker really got, from its pcap. */
static int report_split_files(struct replay *r, struct lab_split *sp)
{
    struct lab_report *rep = r->rep;
    char *files[LAB_SPLIT_MAX_WORKERS] = {0};
    unsigned nw = rep->n_workers;
    for (unsigned k = 0; k < nw; k++)
        if (asprintf(&files[k], "%s/worker-%u.pcap", r->c.split_dir, k + 1) < 0)
            files[k] = NULL;
    int rc = lab_split_scan(files, nw, sp, stderr);
    for (unsigned k = 0; k < nw; k++)
        free(files[k]);
    if (rc < 0)
        return rc;
    const struct lab_json *ws = lab_json_path(r->c.fe_last, "workers");
    uint64_t sum = 0;
    for (unsigned k = 0; k < nw; k++) {
        struct lab_report_worker *w = &rep->w[k];
        if (ws) {
            char stage[96];
            snprintf(stage, sizeof(stage), "frontend -> %s's pcap", w->name);
            lab_report_acct(rep, stage, w->pkts, sp->w[k].pkts, 0);
        }
        w->pkts = sp->w[k].pkts;
        w->bytes = sp->w[k].bytes;
        w->conns = sp->w[k].conns;
        sum += sp->w[k].pkts;
    }
    if (r->o->split_input)
        lab_report_acct(rep, "pcap -> per-worker pcaps (--split-input)", rep->pcap_pkts, sum, 0);
    if (sp->unreadable)
        lab_report_event(rep, "%llu per-worker pcap(s) could not be read to the end",
                         (unsigned long long)sp->unreadable);
    rep->split_known = true;
    rep->split_conns = sp->split_conns;
    rep->conns = sp->conns;
    rep->n_ex = sp->n_ex;
    memcpy(rep->ex, sp->ex, sizeof(sp->ex));
    return 0;
}

/* stats.log: packets each worker analysed and its capture drops, summed
 * over the node's rows (peer = node name). */
static int read_stats(struct replay *r, uint64_t *proc, uint64_t *drop)
{
    char path[LAB_PATH + 32], line[8192];
    snprintf(path, sizeof(path), "%s/stats.log", r->cluster_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    int i_peer = -1, i_proc = -1, i_drop = -1;
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
            if (i_drop >= 0 && i_drop < n && strcmp(col[i_drop], "-") != 0)
                drop[w] += strtoull(col[i_drop], NULL, 10);
        }
    }
    fclose(f);
    return 0;
}

/* Live: per worker NIC, the link's drops (tbf, veth) and what arrived. */
static void report_links(struct replay *r, uint64_t *nic_rx, uint64_t *nic_drop)
{
    const struct lab_topo *t = r->c.t;
    char ns[LAB_NS_NAME_MAX], link[LAB_TOPO_IFNAME];
    bool bridge = t->fe.output == LAB_OUT_SWITCH && t->fe.sw == LAB_SW_BRIDGE;
    for (unsigned k = 0; k < t->n_nics; k++) {
        struct lab_link_stats nic = {0}, tx = {0};
        lab_topo_ns_name(t, t->nics[k].host_idx, ns, sizeof(ns));
        struct lab_nl *nl = lab_nl_open(ns);
        if (nl)
            lab_link_stats(nl, t->nics[k].iface, &nic);
        lab_nl_close(nl);
        /* the sending side of the link carries the tbf */
        if (bridge) {
            lab_topo_switch_ns(t, ns, sizeof(ns));
            snprintf(link, sizeof(link), "sp%u", k);
        } else {
            lab_topo_ns_name(t, t->fe.host_idx, ns, sizeof(ns));
            snprintf(link, sizeof(link), "fp%u", lab_plan_fe_port(t, (int)k));
        }
        nl = lab_nl_open(ns);
        if (nl)
            lab_link_stats(nl, link, &tx);
        lab_nl_close(nl);
        char where[128]; /* interface name @ host name */
        snprintf(where, sizeof(where), "%s@%s", t->nics[k].iface, t->hosts[t->nics[k].host_idx]);
        /* A veth pair: what the sending end failed to hand over (its
         * tx_dropped; the NIC's rx_dropped counts the same frames again)
         * never reached rx_packets. The rest of the NIC's rx_dropped are
         * frames the receiving stack discarded after the captures saw them
         * (a VLAN with no interface, an unknown protocol): no link loss. */
        if (tx.qdisc_drops)
            lab_report_drop(r->rep, "link", where, "tbf (link rate)", tx.qdisc_drops);
        if (tx.tx_dropped)
            lab_report_drop(r->rep, "link", where, "veth transmit", tx.tx_dropped);
        if (nic.rx_dropped > tx.tx_dropped)
            lab_report_event(r->rep,
                             "%s: %llu frames discarded by the receiving stack after the "
                             "capture (rx_dropped; not a loss)",
                             where, (unsigned long long)(nic.rx_dropped - tx.tx_dropped));
        nic_rx[k] = nic.rx_packets;
        nic_drop[k] = tx.qdisc_drops + tx.tx_dropped;
    }
}

/* Live: frames the frontend handed to worker w's link -- the packets it
 * balanced to w less those the link did not send (its kernel checks,
 * tx_full; the summary's workers[].dropped). */
static uint64_t fe_worker_sent(const struct replay *r, unsigned w)
{
    const struct lab_json *fw = lab_json_at(lab_json_path(r->c.fe_last, "workers"), w);
    uint64_t d = lab_json_u64(fw, "dropped");
    return r->rep->w[w].pkts > d ? r->rep->w[w].pkts - d : 0;
}

/* Frames the frontend dropped at output port `port` that carried no worker
 * MAC (shorter than one, on a link several workers share): in some
 * worker's packets, in no worker's `dropped`. */
static uint64_t fe_port_unattributed(const struct replay *r, unsigned port)
{
    const struct lab_json *links = lab_json_path(r->c.fe_last, "links");
    for (size_t i = 0; links && i < links->n; i++) {
        const struct lab_json *l = lab_json_at(links, i);
        if (lab_json_get(l, "port") && lab_json_u64(l, "port") == port)
            return lab_json_u64(l, "unattributed");
    }
    return 0;
}

/* Live, per NIC: what the frontend handed to the link to it = what arrived
 * + link drops. Frames without a worker MAC dropped at a port feeding
 * several NICs belong to none of them: then one line for all of them.
 * by_nic[k]: NIC k's workers share it and cannot be accounted one by one
 * (link drops, or such frames at its port). */
static void report_link_acct(struct replay *r, const uint64_t *nic_rx, const uint64_t *nic_drop,
                             bool *by_nic)
{
    const struct lab_topo *t = r->c.t;
    uint64_t all_sent = 0, all_rx = 0, all_drop = 0, unattr_shared = 0;
    bool shared_port = lab_plan_fe_ports(t) == 1 && t->n_nics > 1;
    for (unsigned k = 0; k < t->n_nics; k++) {
        uint64_t sent = 0, unattr = fe_port_unattributed(r, 1 + lab_plan_fe_port(t, (int)k));
        for (unsigned w = 0; w < r->rep->n_workers; w++)
            if (t->nodes[lab_topo_worker(t, w)].nic == (int)k)
                sent += fe_worker_sent(r, w);
        by_nic[k] = t->nics[k].n_workers > 1 && (nic_drop[k] || unattr);
        if (shared_port)
            unattr_shared = unattr;
        else
            sent = sent > unattr ? sent - unattr : 0;
        all_sent += sent;
        all_rx += nic_rx[k];
        all_drop += nic_drop[k];
        if (shared_port && unattr)
            continue;
        char stage[96];
        snprintf(stage, sizeof(stage), "link to %s@%s", t->nics[k].iface,
                 t->hosts[t->nics[k].host_idx]);
        lab_report_acct(r->rep, stage, sent, nic_rx[k], nic_drop[k]);
    }
    if (shared_port && unattr_shared) {
        all_sent = all_sent > unattr_shared ? all_sent - unattr_shared : 0;
        lab_report_acct(r->rep, "links to every worker NIC", all_sent, all_rx, all_drop);
    }
}

/* Live: a shared NIC whose frames cannot be split by worker: what arrived
 * = what its workers analysed + their capture drops. */
static void report_nic_capture(struct replay *r, const uint64_t *nic_rx, const uint64_t *proc,
                               const uint64_t *drop, const bool *by_nic)
{
    const struct lab_topo *t = r->c.t;
    for (unsigned k = 0; k < t->n_nics; k++) {
        uint64_t p = 0, d = 0;
        if (!by_nic[k])
            continue;
        for (unsigned w = 0; w < r->rep->n_workers; w++)
            if (t->nodes[lab_topo_worker(t, w)].nic == (int)k) {
                p += proc[w];
                d += drop[w];
            }
        char stage[96];
        snprintf(stage, sizeof(stage), "%s@%s captures (%u workers)", t->nics[k].iface,
                 t->hosts[t->nics[k].host_idx], t->nics[k].n_workers);
        lab_report_acct(r->rep, stage, nic_rx[k], p, d);
    }
}

static void report_capture(struct replay *r)
{
    struct lab_report *rep = r->rep;
    uint64_t proc[LAB_SPLIT_MAX_WORKERS] = {0}, drop[LAB_SPLIT_MAX_WORKERS] = {0};
    uint64_t nic_rx[LAB_TOPO_MAX_NODES] = {0}, nic_drop[LAB_TOPO_MAX_NODES] = {0};
    bool have_stats = read_stats(r, proc, drop) == 0;
    bool have[LAB_SPLIT_MAX_WORKERS] = {0};
    for (unsigned w = 0; w < rep->n_workers; w++) {
        /* the node's own counters at its last heartbeat (forced at exit)
         * stand in for stats.log rows that were not written */
        uint64_t hb = 0, hd = 0;
        const char *name = rep->w[w].name;
        have[w] = have_stats;
        if (lab_cluster_packets(&r->c, name, &hb) == 0) {
            have[w] = true;
            if (hb > proc[w])
                proc[w] = hb;
            if (lab_cluster_drops(&r->c, name, &hd) == 0 && hd > drop[w])
                drop[w] = hd;
        }
    }
    if (!have_stats)
        lab_report_event(rep, "no stats.log from the cluster: capture counts from the "
                              "workers' last heartbeats");
    bool by_nic[LAB_TOPO_MAX_NODES] = {false};
    if (r->c.live) {
        report_links(r, nic_rx, nic_drop);
        report_link_acct(r, nic_rx, nic_drop, by_nic);
        report_nic_capture(r, nic_rx, proc, drop, by_nic);
    }
    for (unsigned w = 0; w < rep->n_workers; w++) {
        const struct lab_node *n = &r->c.t->nodes[lab_topo_worker(r->c.t, w)];
        uint64_t in = r->c.live ? fe_worker_sent(r, w) : rep->w[w].pkts;
        if (r->c.live && n->nic >= 0 && r->c.t->nics[n->nic].n_workers == 1)
            in = nic_rx[n->nic]; /* its own NIC: what arrived is what it could see */
        else if (r->c.live && n->nic >= 0 && by_nic[n->nic]) {
            if (drop[w])
                lab_report_drop(rep, "capture", rep->w[w].name, "libpcap/kernel", drop[w]);
            continue; /* accounted per NIC (report_nic_capture) */
        }
        char stage[96];
        if (rep->w[w].killed) {
            /* its stats.log rows may never have been written: its last
             * heartbeat's counters are the best word on what it analysed */
            uint64_t hb = 0;
            if (lab_cluster_packets(&r->c, n->name, &hb) == 0 && hb > proc[w])
                proc[w] = hb;
            uint64_t lost = in > proc[w] ? in - proc[w] : 0;
            lab_report_drop(rep, "worker", rep->w[w].name, "killed", lost);
            lab_report_event(rep,
                             "loss window of %s: %llu packets sent to it, %llu analysed "
                             "before it died, %llu lost",
                             rep->w[w].name, (unsigned long long)in, (unsigned long long)proc[w],
                             (unsigned long long)lost);
            snprintf(stage, sizeof(stage), "%s capture (killed)", rep->w[w].name);
            lab_report_acct(rep, stage, in, proc[w], lost);
            continue;
        }
        if (drop[w])
            lab_report_drop(rep, "capture", rep->w[w].name, "libpcap/kernel", drop[w]);
        snprintf(stage, sizeof(stage), "%s capture (in -> analysed)%s", rep->w[w].name,
                 have[w] ? "" : ": NO COUNTERS");
        /* no counters at all: nothing shows the packets arrived, so they
         * are not accounted for */
        lab_report_acct(rep, stage, in, have[w] ? proc[w] : 0, have[w] ? drop[w] : 0);
    }
}

static int merge_logs(struct replay *r)
{
    char *dirs[LAB_TOPO_MAX_NODES] = {0};
    unsigned nd = 0;
    bool loggers = false;
    for (unsigned i = 0; i < r->c.t->n_nodes; i++)
        loggers |= r->c.t->nodes[i].type == LAB_NODE_LOGGER;
    for (unsigned i = 0; i < r->c.t->n_nodes; i++) {
        const struct lab_node *n = &r->c.t->nodes[i];
        if (n->type != (loggers ? LAB_NODE_LOGGER : LAB_NODE_MANAGER))
            continue;
        if (asprintf(&dirs[nd], "%s/%s", r->c.loggers_dir, n->name) < 0)
            break;
        nd++;
    }
    int rc = lab_merge_logs(dirs, nd, r->cluster_dir, stderr);
    for (unsigned i = 0; i < nd; i++)
        free(dirs[i]);
    return rc < 0 ? rc : 0;
}

/* ---- live: the reference over the frames the kernel links deliver -------- */

/* The kernel links' limits in the frontend's summary: -ENOENT without one,
 * -EINVAL when they differ (no one rule then for the whole pcap). */
static int fe_kernel_link(const struct lab_json *s, struct sl_ktx_link *l)
{
    const struct lab_json *links = lab_json_path(s, "links");
    bool found = false;
    for (size_t i = 0; links && i < links->n; i++) {
        const struct lab_json *k = lab_json_at(links, i);
        const struct lab_json *kernel = lab_json_get(k, "kernel");
        if (!kernel || kernel->type != LJ_BOOL || !kernel->b)
            continue;
        struct sl_ktx_link x = {(uint32_t)lab_json_u64(k, "mtu"),
                                (uint32_t)lab_json_u64(k, "room")};
        if (found && (x.mtu != l->mtu || x.room != l->room))
            return -EINVAL;
        *l = x;
        found = true;
    }
    return found ? 0 : -ENOENT;
}

/* When the frontend dropped frames its kernel links would lose (sl_ktx.h),
 * the cluster never could see them, but the standalone run over the pcap
 * did. Writes OUT/delivered.pcap without them (the same rule, the links'
 * limits from the summary), checks that it leaves out exactly what the
 * frontend counted, reason by reason, runs the standalone reference over
 * it into OUT/standalone-delivered, and compares the two standalone runs:
 * the rows the left-out frames alone account for (rep->explained). 0 when
 * that reference is ready; otherwise the verdict stays against the run over
 * every frame (an event says why when the frames do not add up). */
static int delivered_reference(struct replay *r, unsigned flags)
{
    const struct lab_json *s = r->c.fe_last;
    struct lab_report *rep = r->rep;
    uint64_t counted[SL_KTX_MAX] = {0}, left[SL_KTX_MAX], total = 0;
    char pcap[PATH_MAX + 32], why[sizeof(rep->left_out_why)] = "";
    struct sl_ktx_link link;
    size_t used = 0;
    bool same = true;
    for (int v = SL_KTX_RUNT; v < SL_KTX_MAX; v++) {
        char path[64];
        snprintf(path, sizeof(path), "drops.%s", sl_ktx_name((enum sl_ktx_verdict)v));
        total += counted[v] = lab_json_u64(s, path);
    }
    if (total == 0)
        return -ENOENT;
    if (fe_kernel_link(s, &link) < 0) {
        lab_report_event(rep, "the frontend's kernel links differ in MTU or ring slot: which "
                              "frames they dropped cannot be told from the pcap, so the "
                              "reference is the standalone run over every frame");
        return -EINVAL;
    }
    snprintf(pcap, sizeof(pcap), "%s/delivered.pcap", r->out);
    if (lab_deliver_write(r->c.pcap, pcap, &link, left, stderr) < 0)
        return -EIO;
    for (int v = SL_KTX_RUNT; v < SL_KTX_MAX; v++) {
        same &= left[v] == counted[v];
        if (counted[v] && used < sizeof(why))
            used += (size_t)snprintf(why + used, sizeof(why) - used, "%s%s %llu", used ? ", " : "",
                                     sl_ktx_name((enum sl_ktx_verdict)v),
                                     (unsigned long long)counted[v]);
    }
    if (!same) {
        lab_report_event(
            rep,
            "the frontend counted %s dropped before the workers, but the pcap holds "
            "%llu runt, %llu vlan_runt, %llu oversize, %llu snapped frames: the "
            "reference is the standalone run over every frame",
            why, (unsigned long long)left[SL_KTX_RUNT], (unsigned long long)left[SL_KTX_VLAN_RUNT],
            (unsigned long long)left[SL_KTX_OVERSIZE], (unsigned long long)left[SL_KTX_SNAPPED]);
        return -EINVAL;
    }
    char *argv[] = {r->c.node_bin, "standalone",     "-r", pcap, "-C",
                    "--log-dir",   r->delivered_dir, NULL};
    lab_progress(&r->c, "standalone reference over the %llu delivered frames",
                 (unsigned long long)left[SL_KTX_OK]);
    int rc = lab_mkdir_p(r->delivered_dir, 0755);
    if (rc == 0)
        rc = lab_spawn(&r->c, "standalone-delivered", NULL, argv, false, &r->sa);
    r->sa_started = rc == 0;
    if (rc == 0)
        rc = wait_standalone(r);
    lab_progress_done(&r->c);
    if (rc < 0 ||
        lab_equiv_compare(r->standalone_dir, r->delivered_dir, flags, &rep->explained, stderr) < 0)
        return rc < 0 ? rc : -EIO;
    rep->explained_done = true;
    rep->left_out = total;
    snprintf(rep->left_out_why, sizeof(rep->left_out_why), "%s", why);
    return 0;
}

static int finish(struct replay *r)
{
    struct lab_report *rep = r->rep;
    int rc = merge_logs(r);
    if (rc < 0)
        return rc;
    report_frontend(r);
    report_worker_table(r);
    if (!r->c.live) {
        struct lab_split *sp = calloc(1, sizeof(*sp));
        if (!sp)
            return -ENOMEM;
        rc = report_split_files(r, sp);
        free(sp);
        if (rc < 0)
            return rc;
    } else {
        char ex[LAB_SPLIT_EXAMPLES][200];
        unsigned n_ex = 0;
        int split = lab_equiv_split_conns(r->cluster_dir, r->standalone_dir, ex, LAB_SPLIT_EXAMPLES,
                                          &n_ex, stderr);
        rep->split_conns = split > 0 ? (uint64_t)split : 0;
        for (unsigned i = 0; i < n_ex; i++) {
            snprintf(rep->ex[i].conn, sizeof(rep->ex[i].conn), "%s", ex[i]);
            snprintf(rep->ex[i].workers, sizeof(rep->ex[i].workers), "several");
        }
        rep->n_ex = n_ex;
    }
    report_capture(r);
    lab_report_notices(rep, r->cluster_dir);
    unsigned flags = r->c.live ? LAB_EQUIV_NO_TIME : 0;
    if (r->c.live)
        lab_report_event(rep, "live mode: time and interval columns (ts, duration, rtt) not "
                              "compared, nor elapsed times in texts ('in 0m2s') -- the "
                              "workers stamp packets as they arrive, the standalone run "
                              "reads the pcap's times");
    const char *ref = r->standalone_dir;
    if (r->c.live && delivered_reference(r, flags) == 0) {
        ref = r->delivered_dir;
        uint64_t rows = 0;
        for (unsigned i = 0; i < rep->explained.n; i++)
            rows += rep->explained.logs[i].only_a + rep->explained.logs[i].only_b;
        lab_report_event(rep,
                         "live mode: verdict against a standalone run over the frames the "
                         "kernel links deliver; %llu frames counted as dropped before the "
                         "workers (%s) explain %llu rows of the run over every frame",
                         (unsigned long long)rep->left_out, rep->left_out_why,
                         (unsigned long long)rows);
    }
    if (lab_equiv_compare(r->cluster_dir, ref, flags, &rep->eq, stderr) == 0)
        rep->eq_done = true;
    lab_report_finish(rep);
    rep->wall_s = lab_now() - r->t0;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/report.json", r->out);
    if ((rc = lab_report_write_json(rep, path)) < 0)
        fprintf(stderr, "sluicectl: %s: %s\n", path, strerror(-rc));
    snprintf(path, sizeof(path), "%s/report.html", r->out);
    if ((rc = lab_report_write_html(rep, path)) < 0)
        fprintf(stderr, "sluicectl: %s: %s\n", path, strerror(-rc));
    lab_report_print(rep, stdout);
    printf("report: %s/report.json, %s/report.html; logs: %s, %s\n", r->out, r->out, r->cluster_dir,
           r->standalone_dir);
    return 0;
}

/* ---- setup ------------------------------------------------------------------ */

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

static int out_dirs(struct replay *r)
{
    const struct lab_replay_opts *o = r->o;
    struct lab_ctx *c = &r->c;
    snprintf(r->out, sizeof(r->out), "%s", o->out);
    int rc = lab_mkdir_p(r->out, 0755);
    if (rc < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", r->out, strerror(-rc));
        return rc;
    }
    snprintf(r->cluster_dir, sizeof(r->cluster_dir), "%s/cluster", r->out);
    snprintf(r->standalone_dir, sizeof(r->standalone_dir), "%s/standalone", r->out);
    snprintf(r->delivered_dir, sizeof(r->delivered_dir), "%s/standalone-delivered", r->out);
    snprintf(c->loggers_dir, sizeof(c->loggers_dir), "%s/loggers", r->out);
    if (o->split_input)
        snprintf(c->split_dir, sizeof(c->split_dir), "%s", o->split_input);
    else
        snprintf(c->split_dir, sizeof(c->split_dir), "%s/split", r->out);
    /* a stale earlier run's output must not be mistaken for this one's */
    if (rm_tree(r->cluster_dir) < 0 || rm_tree(r->standalone_dir) < 0 ||
        rm_tree(r->delivered_dir) < 0 || rm_tree(c->loggers_dir) < 0 ||
        (!o->split_input && rm_tree(c->split_dir) < 0)) {
        fprintf(stderr, "sluicectl: cannot clear the output directory %s\n", r->out);
        return -EIO;
    }
    if ((rc = lab_mkdir_p(r->standalone_dir, 0755)) < 0 ||
        (rc = lab_mkdir_p(c->loggers_dir, 0755)) < 0 || (rc = lab_mkdir_p(c->split_dir, 0755)) < 0)
        return rc;
    return 0;
}

static int open_run(struct replay *r)
{
    struct lab_ctx *c = &r->c;
    char dir[PATH_MAX];
    int rc;
    if (r->o->run_dir)
        snprintf(dir, sizeof(dir), "%s", r->o->run_dir);
    else if ((rc = lab_run_default_dir(c->t->name, dir, sizeof(dir))) < 0)
        return rc;
    if ((rc = lab_run_open(&c->run, dir, c->t->name, true)) < 0) {
        fprintf(stderr, "sluicectl: run directory %s: %s\n", dir,
                rc == -EBUSY ? "in use by another sluicectl" : strerror(-rc));
        return rc;
    }
    c->run_open = true;
    struct lab_ent *ents;
    size_t n, n_ns = 0, n_other = 0;
    if ((rc = lab_run_load(&c->run, &ents, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (ents[i].kind == LAB_ENT_NS)
            n_ns++;
        else if (ents[i].kind == LAB_ENT_PROC)
            n_other++;
    }
    free(ents);
    if (n_other) {
        fprintf(stderr,
                "sluicectl: %s lists processes of an earlier run: run 'sluicectl down' "
                "(or stop) first\n",
                dir);
        return -EEXIST;
    }
    if (!r->o->live && n_ns) {
        fprintf(stderr, "sluicectl: lab %s is up (live); an offline replay needs it down\n",
                c->t->name);
        return -EEXIST;
    }
    snprintf(c->cluster_ini, sizeof(c->cluster_ini), "%s/cluster.ini", c->run.dir);
    snprintf(c->fe_ini, sizeof(c->fe_ini), "%s/frontend.ini", c->run.dir);
    snprintf(c->fe_ctl, sizeof(c->fe_ctl), "%s/frontend.ctl", c->run.dir);
    snprintf(c->state_dir, sizeof(c->state_dir), "%s/state", c->run.dir);
    rm_tree(c->state_dir);
    if ((rc = lab_mkdir_p(c->state_dir, 0755)) < 0)
        return rc;
    if (r->o->live && !n_ns) {
        struct lab_plan p;
        if ((rc = lab_plan_live(c->t, &p)) < 0)
            return rc;
        lab_progress(c, "bringing lab %s up (%zu steps)", c->t->name, p.n);
        rc = lab_live_up(&p, &c->run, stderr);
        lab_plan_free(&p);
        lab_progress_done(c);
        if (rc < 0)
            return rc;
        r->brought_up = true;
    }
    return 0;
}

static int setup(struct replay *r, const char *topology, const char *pcap)
{
    const struct lab_replay_opts *o = r->o;
    struct lab_ctx *c = &r->c;
    enum sl_hash_mode hm;
    int rc;
    if (lab_topo_load(topology, c->t, stderr) != 0 || lab_keep_workers(c->t, o->workers) < 0)
        return 2;
    if (o->hash && sl_hash_mode_parse(o->hash, &hm) < 0) {
        fprintf(stderr,
                "sluicectl: --hash %s: sym5, sym3, sym2, inner-sym5, inner-sym3, "
                "inner-sym2 or toeplitz\n",
                o->hash);
        return 2;
    }
    r->kill_node = -1;
    for (unsigned i = 0; o->kill_worker[0] && i < c->t->n_nodes; i++)
        if (c->t->nodes[i].type == LAB_NODE_WORKER &&
            strcmp(c->t->nodes[i].name, o->kill_worker) == 0)
            r->kill_node = (int)i;
    if (o->kill_worker[0] && r->kill_node < 0) {
        fprintf(stderr, "sluicectl: --kill-worker: no worker '%s'\n", o->kill_worker);
        return 2;
    }
    if (access(pcap, R_OK) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", pcap, strerror(errno));
        return 2;
    }
    if (o->live && o->split_input) {
        fprintf(stderr, "sluicectl: --split-input is for offline mode\n");
        return 2;
    }
    if (o->live && geteuid() != 0) {
        fprintf(stderr, "sluicectl: replay --mode live needs root (namespaces, links)\n");
        return 77;
    }
    c->live = o->live;
    c->pcap = pcap;
    c->speed = o->speed;
    c->hash = o->hash;
    c->tty = isatty(STDERR_FILENO) && !o->quiet;
    if (lab_find_bin(o->bin_dir, "cluster", "sluice-node", c->node_bin, sizeof(c->node_bin)) < 0 ||
        (!o->split_input &&
         lab_find_bin(o->bin_dir, "frontend", "frontend-dpdk", c->fe_bin, sizeof(c->fe_bin)) < 0))
        return 1;
    if (out_dirs(r) < 0 || open_run(r) < 0)
        return 1;
    c->base_port = o->live ? c->t->base_port : lab_pick_base_port(c->t);
    c->t->base_port = c->base_port;
    if ((rc = lab_write_cluster_ini(c)) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", c->cluster_ini, strerror(-rc));
        return 1;
    }
    return 0;
}

static void fill_report_head(struct replay *r, const char *topology, const char *pcap)
{
    struct lab_report *rep = r->rep;
    snprintf(rep->topology, sizeof(rep->topology), "%.255s", topology);
    snprintf(rep->pcap, sizeof(rep->pcap), "%.255s", pcap);
    snprintf(rep->mode, sizeof(rep->mode), "%s", r->o->live ? "live" : "offline");
    snprintf(rep->hash, sizeof(rep->hash), "%s", r->o->hash ? r->o->hash : r->c.t->fe.hash);
    snprintf(rep->speed, sizeof(rep->speed), "%s", r->o->speed);
    snprintf(rep->out_dir, sizeof(rep->out_dir), "%.255s", r->out);
    rep->pcap_pkts = lab_count_pcap(pcap);
    r->c.total_pkts = rep->pcap_pkts;
    if (r->o->split_input)
        lab_report_event(rep, "per-worker pcaps taken from %s, not from the frontend",
                         r->o->split_input);
    else if (!r->o->live && strcmp(r->o->speed, "topspeed") == 0)
        lab_report_event(rep, "link rates not applied: at topspeed an offline replay has no "
                              "time base");
}

static void cleanup(struct replay *r)
{
    struct lab_ctx *c = &r->c;
    if (c->run_open) {
        if (r->sa_started && lab_proc_running(&r->sa))
            lab_proc_stop(&c->run, &r->sa, 5000);
        if (c->fe_started && lab_proc_running(&c->fe))
            lab_proc_stop(&c->run, &c->fe, 10000);
        lab_cluster_stop(c, 15000);
        if (r->brought_up) {
            FILE *devnull = fopen("/dev/null", "w");
            int left = lab_live_down(&c->run, devnull ? devnull : stderr);
            if (devnull)
                fclose(devnull);
            if (left)
                fprintf(stderr,
                        "sluicectl: %d things of lab %s could not be removed: run "
                        "'sluicectl down'\n",
                        left, c->t->name);
        }
        lab_run_close(&c->run);
    }
    lab_follow_close(r->follow);
    lab_json_free(c->fe_last);
    if (r->rep && r->rep->eq_done)
        lab_equiv_free(&r->rep->eq);
    if (r->rep && r->rep->explained_done)
        lab_equiv_free(&r->rep->explained);
    free(r->rep);
    free(c->t);
}

int lab_replay_main(const char *topology, const char *pcap, const struct lab_replay_opts *o)
{
    struct replay *r = calloc(1, sizeof(*r));
    if (!r)
        return 1;
    r->o = o;
    r->t0 = lab_now();
    r->c.t = calloc(1, sizeof(*r->c.t));
    r->rep = calloc(1, sizeof(*r->rep));
    int ret = 1, rc;
    if (!r->c.t || !r->rep)
        goto out;
    lab_signals_install();
    if ((ret = setup(r, topology, pcap)) != 0)
        goto out;
    ret = 1;
    fill_report_head(r, topology, pcap);
    if (start_standalone(r) < 0)
        goto out;
    rc = r->c.live ? run_live(r) : run_offline(r);
    if (rc < 0)
        goto out;
    lab_cluster_stop(&r->c, 15000);
    if (wait_standalone(r) < 0)
        goto out;
    int failed = 0;
    for (unsigned k = 0; k < r->c.n_proc; k++) {
        struct lab_proc *p = &r->c.proc[k];
        char st[64];
        if (r->c.proc_node[k] == r->kill_node)
            continue;
        if (p->exited && (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0)) {
            lab_report_event(r->rep, "%s ended badly (%s); see %s/logs/%s.log", p->node,
                             lab_proc_status_str(p, st, sizeof(st)), r->c.run.dir, p->node);
            failed++;
        }
    }
    if (finish(r) < 0)
        goto out;
    ret = lab_report_ok(r->rep) && !failed ? 0 : 1;
out:
    if (lab_stop)
        fprintf(stderr, "sluicectl: interrupted; stopping what was started\n");
    cleanup(r);
    free(r);
    return ret;
}
