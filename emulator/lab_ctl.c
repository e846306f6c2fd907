/* lab_ctl: start / stop / status / netstats. See lab_ctl.h. */
#include "lab_ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab_cluster.h"
#include "lab_ctx.h"
#include "lab_fe.h"
#include "lab_follow.h"

/* Loads the topology; dir gets the lab's run directory. 0, or the exit status. */
static int lab_dir(struct lab_ctx *c, const char *topology, const struct lab_replay_opts *o,
                   char *dir, size_t len)
{
    if (lab_topo_load(topology, c->t, stderr) != 0)
        return 2;
    if (o->run_dir)
        snprintf(dir, len, "%s", o->run_dir);
    else if (lab_run_default_dir(c->t->name, dir, len) < 0)
        return 1;
    return 0;
}

/* The files of run directory dir that the commands hand out or read. */
static void lab_paths(struct lab_ctx *c, const char *dir, const struct lab_replay_opts *o)
{
    c->live = true;
    c->tty = isatty(STDERR_FILENO) && !o->quiet;
    snprintf(c->cluster_ini, sizeof(c->cluster_ini), "%s/cluster.ini", dir);
    snprintf(c->fe_ini, sizeof(c->fe_ini), "%s/frontend.ini", dir);
    snprintf(c->fe_ctl, sizeof(c->fe_ctl), "%s/frontend.ctl", dir);
    snprintf(c->state_dir, sizeof(c->state_dir), "%s/state", dir);
    snprintf(c->loggers_dir, sizeof(c->loggers_dir), "%s/%s", o->out, "loggers");
}

/* Loads the topology and opens the run directory of a live lab. */
static int open_lab(struct lab_ctx *c, const char *topology, const struct lab_replay_opts *o,
                    bool need_up)
{
    char dir[PATH_MAX];
    int rc = lab_dir(c, topology, o, dir, sizeof(dir));
    if (rc != 0)
        return rc;
    if ((rc = lab_run_open(&c->run, dir, c->t->name, need_up)) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", dir,
                rc == -EBUSY    ? "in use by another sluicectl"
                : rc == -ENOENT ? "no such lab run (run 'sluicectl up')"
                                : strerror(-rc));
        return 1;
    }
    c->run_open = true;
    lab_paths(c, c->run.dir, o);
    return 0;
}

static void close_lab(struct lab_ctx *c)
{
    if (c->run_open)
        lab_run_close(&c->run);
    lab_json_free(c->fe_last);
}

static int journal(struct lab_ctx *c, struct lab_ent **ents, size_t *n, size_t *n_ns,
                   size_t *n_proc)
{
    int rc = lab_run_load(&c->run, ents, n);
    *n_ns = *n_proc = 0;
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        *n_ns += (*ents)[i].kind == LAB_ENT_NS;
        *n_proc += (*ents)[i].kind == LAB_ENT_PROC;
    }
    return rc;
}

/* What every command starts with: the topology, the run directory and its
 * journal. Returns 0, or the exit status the command returns; *cp is set
 * either way and goes to ctl_close. */
static int ctl_open(const char *topology, const struct lab_replay_opts *o, bool for_start,
                    struct lab_ctx **cp, struct lab_ent **ents, size_t *n, size_t *n_ns,
                    size_t *n_proc)
{
    struct lab_ctx *c = calloc(1, sizeof(*c));
    *cp = c;
    if (!c || !(c->t = calloc(1, sizeof(*c->t))))
        return 1;
    int ret = open_lab(c, topology, o, for_start);
    if (ret != 0)
        return ret;
    return journal(c, ents, n, n_ns, n_proc) < 0 ? 1 : 0;
}

static void ctl_close(struct lab_ctx *c, struct lab_ent *ents)
{
    free(ents);
    if (c) {
        close_lab(c);
        free(c->t);
    }
    free(c);
}

/* A failed start leaves nothing behind: the frontend too goes, and out of
 * the journal -- else status calls it crashed and the next start is refused. */
static void stop_started(struct lab_ctx *c)
{
    if (c->follow_started)
        lab_proc_stop(&c->run, &c->follow, 5000);
    if (c->fe_started)
        lab_proc_stop(&c->run, &c->fe, 5000);
    lab_cluster_stop(c, 5000);
}

/* `sluicectl follow TOPOLOGY --run-dir RUN`, this very program, journalled
 * as LAB_TOPO_LIVENESS: it outlives this sluicectl, as the nodes do. */
static int start_follow(struct lab_ctx *c, const char *topology, const struct lab_replay_opts *o)
{
    char self[PATH_MAX], topo[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0 || !realpath(topology, topo)) {
        int e = errno;
        fprintf(stderr, "sluicectl: cannot start the liveness follower: %s\n", strerror(e));
        return -e;
    }
    self[n] = '\0';
    char *argv[9] = {self, "follow", topo, "--run-dir", c->run.dir};
    int a = 5;
    if (o->bin_dir[0]) {
        argv[a++] = "--bin-dir";
        argv[a++] = (char *)o->bin_dir;
    }
    if (o->restart)
        argv[a++] = "--restart";
    argv[a] = NULL;
    int rc = lab_spawn(c, LAB_TOPO_LIVENESS, NULL, argv, false, &c->follow);
    c->follow_started = rc == 0;
    return rc;
}

int lab_ctl_start(const char *topology, const struct lab_replay_opts *o)
{
    struct lab_ctx *c;
    struct lab_ent *ents = NULL;
    size_t n, n_ns, n_proc;
    lab_signals_install();
    int ret = ctl_open(topology, o, true, &c, &ents, &n, &n_ns, &n_proc);
    if (ret != 0)
        goto out;
    ret = 1;
    if (!n_ns) {
        fprintf(stderr, "sluicectl: lab %s is not up: run 'sluicectl up %s' first\n", c->t->name,
                topology);
        goto out;
    }
    if (n_proc) {
        fprintf(stderr, "sluicectl: lab %s already runs processes: 'sluicectl stop' first\n",
                c->t->name);
        goto out;
    }
    c->hash = o->hash;
    c->base_port = c->t->base_port;
    if (lab_find_bin(o->bin_dir, "cluster", "sluice-node", c->node_bin, sizeof(c->node_bin)) < 0 ||
        lab_find_bin(o->bin_dir, "frontend", "frontend-dpdk", c->fe_bin, sizeof(c->fe_bin)) < 0)
        goto out;
    if (lab_mkdir_p(c->state_dir, 0755) < 0 || lab_mkdir_p(c->loggers_dir, 0755) < 0 ||
        lab_write_cluster_ini(c) < 0)
        goto out;
    if (lab_cluster_start(c) < 0 || lab_fe_start(c) < 0 || start_follow(c, topology, o) < 0) {
        stop_started(c);
        goto out;
    }
    /* The frontend has no pcap to finish: give it a moment to fail loudly. */
    lab_sleep_ms(1500);
    bool fe_up = lab_proc_running(&c->fe), follow_up = lab_proc_running(&c->follow);
    if (!fe_up || !follow_up) {
        fprintf(stderr, "sluicectl: the %s stopped at once; see %s/logs/%s.log\n",
                !fe_up ? "frontend" : "liveness follower", c->run.dir,
                !fe_up ? "frontend" : LAB_TOPO_LIVENESS);
        stop_started(c);
        goto out;
    }
    printf("lab %s started: %u nodes and the frontend; send traffic into tap0 in namespace "
           "sl-%s-%s; logs go to %s; worker liveness follows manager's view (%s/logs/%s.log)\n",
           c->t->name, c->n_proc, c->t->name, c->t->fe.host, c->loggers_dir, c->run.dir,
           LAB_TOPO_LIVENESS);
    ret = 0;
out:
    ctl_close(c, ents);
    return ret;
}

/* Stop order: the follower, the frontend, then workers, proxies, manager,
 * loggers (zeekctl's), then anything else journalled. */
#define STOP_TIERS (2 + LAB_NODE_WORKER + 1)

static int stop_tier(const struct lab_topo *t, const char *name)
{
    if (strcmp(name, LAB_TOPO_LIVENESS) == 0)
        return 0;
    if (strcmp(name, "frontend") == 0)
        return 1;
    for (unsigned i = 0; i < t->n_nodes; i++)
        if (strcmp(t->nodes[i].name, name) == 0 && t->nodes[i].type <= LAB_NODE_WORKER)
            return 2 + LAB_NODE_WORKER - (int)t->nodes[i].type;
    return STOP_TIERS;
}

int lab_ctl_stop(const char *topology, const struct lab_replay_opts *o)
{
    struct lab_ctx *c;
    struct lab_ent *ents = NULL;
    size_t n, n_ns, n_proc;
    int ret = ctl_open(topology, o, false, &c, &ents, &n, &n_ns, &n_proc);
    if (ret != 0)
        goto out;
    /* reverse start order, by role: a worker restarted by `follow
     * --restart` is journalled after the frontend but stops with the workers */
    for (int tier = 0; tier <= STOP_TIERS; tier++) {
        for (size_t i = n; i-- > 0;) {
            if (ents[i].kind != LAB_ENT_PROC || stop_tier(c->t, ents[i].name) != tier)
                continue;
            int rc = lab_proc_stop_ent(&ents[i], 15000);
            if (rc < 0) {
                fprintf(stderr, "sluicectl: %s (pid %ld) would not stop\n", ents[i].name,
                        (long)ents[i].pid);
                ret = 1;
                continue;
            }
            printf("%-16s %s\n", ents[i].name, rc ? "stopped" : "was not running (crashed)");
            lab_run_forget(&c->run, &ents[i]);
        }
    }
out:
    ctl_close(c, ents);
    return ret;
}

static const struct lab_ent *find_proc(const struct lab_ent *e, size_t n, const char *node)
{
    for (size_t i = n; i-- > 0;)
        if (e[i].kind == LAB_ENT_PROC && strcmp(e[i].name, node) == 0)
            return &e[i];
    return NULL;
}

/* A line of `follow`, timestamped, on stdout; on stderr while ctx points to
 * a false `opened` (lab_follow_open says why it cannot follow). */
static void follow_note(void *ctx, const char *line)
{
    FILE *out = ctx && !*(const bool *)ctx ? stderr : stdout;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    fprintf(out, "%s %s\n", ts, line);
    fflush(out);
}

static void follow_notef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void follow_notef(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    follow_note(NULL, line);
}

/* --restart: a crashed worker is started again once the manager has
 * dropped it from its view -- its flows have moved to the others by then,
 * as they have by the time zeekctl cron comes round -- and a crashed logger
 * as soon as it is seen gone (no view shows a logger: its process is looked
 * at every LAB_RESTART_GAP seconds); the workers re-send the batches it did
 * not acknowledge and the new one keeps its predecessor's files. Neither
 * sooner than LAB_RESTART_GAP seconds after its last restart. When a worker
 * heartbeats again the manager takes it back and the frontend is told
 * `up K`. Not a proxy the manager declared down (it leaves the ring for
 * good) nor the manager (a new one would begin its epochs anew). */
#define LAB_RESTART_GAP 5.0

struct keeper {
    const char *dir;
    double last[LAB_TOPO_MAX_NODES]; /* restarted, or (a logger) looked at */
    unsigned restarts[LAB_TOPO_MAX_NODES];
};

static bool restart_due(const struct lab_ctx *c, const struct lab_follow *f, const struct keeper *k,
                        unsigned node, double now)
{
    if (now - k->last[node] < LAB_RESTART_GAP)
        return false;
    switch (c->t->nodes[node].type) {
    case LAB_NODE_WORKER:
        return lab_follow_live(f, c->t->nodes[node].name) == 0;
    case LAB_NODE_LOGGER:
        return true;
    default:
        return false;
    }
}

static void restart_one(struct lab_ctx *c, struct keeper *k, unsigned i, const struct lab_ent *e)
{
    const char *name = c->t->nodes[i].name;
    const char *why =
        c->t->nodes[i].type == LAB_NODE_WORKER ? " and out of the manager's view" : "";
    long old = (long)e->pid;
    struct lab_proc p;
    lab_run_forget(&c->run, e);
    if (lab_cluster_spawn(c, (int)i, &p) == 0)
        follow_notef("%s: crashed (pid %ld gone)%s; started again as pid %ld (restart %u)", name,
                     old, why, (long)p.pid, ++k->restarts[i]);
    else
        follow_notef("%s: crashed (pid %ld gone); could not be started again", name, old);
}

static void restart_crashed(struct lab_ctx *c, const struct lab_follow *f, struct keeper *k)
{
    double now = lab_now();
    bool due = false;
    for (unsigned i = 0; i < c->t->n_nodes; i++)
        due |= restart_due(c, f, k, i, now);
    /* the journal only when a node may need it: status and stop take its lock */
    if (!due || lab_run_open(&c->run, k->dir, c->t->name, false) < 0)
        return; /* busy: the next step tries again */
    struct lab_ent *ents = NULL;
    size_t n = 0;
    if (lab_run_load(&c->run, &ents, &n) < 0)
        n = 0;
    for (unsigned i = 0; i < c->t->n_nodes; i++) {
        if (!restart_due(c, f, k, i, now))
            continue;
        k->last[i] = now;
        const struct lab_ent *e = find_proc(ents, n, c->t->nodes[i].name);
        /* not journalled: stopped, or never started; alive: frozen, or well */
        if (e && !lab_ent_proc_alive(e))
            restart_one(c, k, i, e);
    }
    free(ents);
    lab_run_close(&c->run);
}

int lab_ctl_follow(const char *topology, const struct lab_replay_opts *o)
{
    char dir[PATH_MAX];
    struct stat st;
    struct lab_ctx *c = calloc(1, sizeof(*c));
    int ret = 1;
    if (!c || !(c->t = calloc(1, sizeof(*c->t))))
        goto out;
    /* No lock on the run directory: start holds it while it starts this,
     * and status and stop take it while this runs. */
    if ((ret = lab_dir(c, topology, o, dir, sizeof(dir))) != 0)
        goto out;
    ret = 1;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sluicectl: %s: no such lab run (run 'sluicectl up')\n", dir);
        goto out;
    }
    lab_paths(c, dir, o);
    c->append_logs = true; /* a node restarted here keeps its predecessor's log */
    if (o->restart &&
        lab_find_bin(o->bin_dir, "cluster", "sluice-node", c->node_bin, sizeof(c->node_bin)) < 0)
        goto out;
    lab_signals_install();
    bool opened = false;
    struct lab_follow_conf fc = {
        .c = c, .when = "after start", .note = follow_note, .ctx = &opened};
    struct lab_follow *f = lab_follow_open(&fc, lab_now());
    if (!f)
        goto out;
    opened = true;
    follow_notef(
        "following the manager's view of the lab's workers, telling the frontend%s",
        o->restart ? "; restarting crashed workers once out of the view, and crashed loggers" : "");
    ret = 0;
    struct keeper k = {.dir = dir};
    while (!lab_stop) {
        int rc = lab_follow_step(f, 500);
        if (o->restart)
            restart_crashed(c, f, &k);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ; /* the workers restarted here, when they exit */
        if (rc < 0 && rc != -EINTR) {
            fprintf(stderr, "sluicectl: follow: polling the manager's view: %s\n", strerror(-rc));
            ret = 1;
            break;
        }
    }
    lab_follow_close(f);
out:
    if (c)
        free(c->t);
    free(c);
    return ret;
}

int lab_ctl_status(const char *topology, const struct lab_replay_opts *o, bool netstats)
{
    struct lab_ctx *c;
    struct lab_ent *ents = NULL;
    size_t n = 0, n_ns, n_proc;
    int ret = ctl_open(topology, o, false, &c, &ents, &n, &n_ns, &n_proc);
    if (ret != 0)
        goto out;
    if (!netstats)
        printf("%-16s %-9s %-10s %8s %-8s %12s %10s\n", "node", "type", "host", "pid", "state",
               "packets", "drops");
    for (unsigned i = 0; i <= c->t->n_nodes; i++) {
        bool fe = i == c->t->n_nodes;
        const char *name = fe ? "frontend" : c->t->nodes[i].name;
        const char *type = fe ? "frontend" : lab_node_type_name(c->t->nodes[i].type);
        const char *host = fe ? c->t->fe.host : c->t->nodes[i].host;
        const struct lab_ent *e = find_proc(ents, n, name);
        const char *state = !e ? "stopped" : lab_ent_proc_alive(e) ? "running" : "crashed";
        uint64_t pk = 0, dr = 0, ln = 0, missed = 0;
        bool have = lab_cluster_packets(c, name, &pk) == 0;
        lab_cluster_drops(c, name, &dr);
        if (lab_cluster_counter(c, name, "pkts_link", &ln) < 0)
            ln = 0;
        if (fe && e && lab_ent_proc_alive(e)) {
            char reply[1 << 16];
            struct lab_json *j = NULL;
            if (lab_fe_ctl(c, "stats", reply, sizeof(reply)) == 0 &&
                (j = lab_json_parse(reply, strlen(reply))) != NULL) {
                pk = lab_json_u64(j, "in.packets");
                /* as a worker's drops include its kernel's: what the
                 * frontend dropped, and what was lost before it saw it (its
                 * AF_PACKET ring's kernel drops, rx_missed) */
                missed = lab_json_u64(j, "rx_missed");
                dr = lab_json_u64(j, "drops.total") + missed;
                have = true;
            }
            lab_json_free(j);
        }
        if (netstats && fe) {
            /* the frontend's capture: frames read from the tap, frames the
             * kernel had no room for in its ring */
            if (have)
                printf("%16s: %.6f recvd=%llu dropped=%llu link=%llu\n", name, (double)time(NULL),
                       (unsigned long long)pk, (unsigned long long)missed,
                       (unsigned long long)(pk + missed));
            continue;
        }
        if (netstats) {
            if (c->t->nodes[i].type != LAB_NODE_WORKER)
                continue;
            char path[LAB_PATH + 80];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s.stats", c->state_dir, name);
            double when = stat(path, &st) == 0 ? (double)st.st_mtime : 0;
            printf("%16s: %.6f recvd=%llu dropped=%llu link=%llu\n", name, when,
                   (unsigned long long)pk, (unsigned long long)dr,
                   (unsigned long long)(ln ? ln : pk + dr));
            continue;
        }
        char pid[16] = "-", pks[24] = "-", drs[24] = "-";
        if (e)
            snprintf(pid, sizeof(pid), "%ld", (long)e->pid);
        if (have) {
            snprintf(pks, sizeof(pks), "%llu", (unsigned long long)pk);
            snprintf(drs, sizeof(drs), "%llu", (unsigned long long)dr);
        }
        printf("%-16s %-9s %-10s %8s %-8s %12s %10s\n", name, type, host, pid, state, pks, drs);
        if (e && !lab_ent_proc_alive(e))
            ret = 1; /* zeekctl status: a crashed node is worth an exit status */
    }
    /* the liveness follower, listed while start's processes are journalled */
    const struct lab_ent *e = netstats ? NULL : find_proc(ents, n, LAB_TOPO_LIVENESS);
    if (e) {
        char pid[16];
        snprintf(pid, sizeof(pid), "%ld", (long)e->pid);
        bool alive = lab_ent_proc_alive(e);
        printf("%-16s %-9s %-10s %8s %-8s %12s %10s\n", LAB_TOPO_LIVENESS, "follower", "-", pid,
               alive ? "running" : "crashed", "-", "-");
        ret = alive ? ret : 1;
    }
out:
    ctl_close(c, ents);
    return ret;
}
