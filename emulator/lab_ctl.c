/* lab_ctl: start / stop / status / netstats. See lab_ctl.h. */
#include "lab_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lab_cluster.h"
#include "lab_ctx.h"
#include "lab_fe.h"

/* Loads the topology and opens the run directory of a live lab. */
static int open_lab(struct lab_ctx *c, const char *topology, const struct lab_replay_opts *o,
                    bool need_up)
{
    char dir[PATH_MAX];
    int rc;
    if (lab_topo_load(topology, c->t, stderr) != 0)
        return 2;
    if (o->run_dir)
        snprintf(dir, sizeof(dir), "%s", o->run_dir);
    else if (lab_run_default_dir(c->t->name, dir, sizeof(dir)) < 0)
        return 1;
    if ((rc = lab_run_open(&c->run, dir, c->t->name, need_up)) < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", dir,
                rc == -EBUSY    ? "in use by another sluicectl"
                : rc == -ENOENT ? "no such lab run (run 'sluicectl up')"
                                : strerror(-rc));
        return 1;
    }
    c->run_open = true;
    c->live = true;
    c->tty = isatty(STDERR_FILENO) && !o->quiet;
    snprintf(c->cluster_ini, sizeof(c->cluster_ini), "%s/cluster.ini", c->run.dir);
    snprintf(c->fe_ini, sizeof(c->fe_ini), "%s/frontend.ini", c->run.dir);
    snprintf(c->fe_ctl, sizeof(c->fe_ctl), "%s/frontend.ctl", c->run.dir);
    snprintf(c->state_dir, sizeof(c->state_dir), "%s/state", c->run.dir);
    snprintf(c->loggers_dir, sizeof(c->loggers_dir), "%s/%s", o->out, "loggers");
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
    if (c->fe_started)
        lab_proc_stop(&c->run, &c->fe, 5000);
    lab_cluster_stop(c, 5000);
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
    if (lab_cluster_start(c) < 0 || lab_fe_start(c) < 0) {
        stop_started(c);
        goto out;
    }
    /* The frontend has no pcap to finish: give it a moment to fail loudly. */
    lab_sleep_ms(1500);
    if (!lab_proc_running(&c->fe)) {
        fprintf(stderr, "sluicectl: the frontend stopped at once; see %s/logs/frontend.log\n",
                c->run.dir);
        stop_started(c);
        goto out;
    }
    printf("lab %s started: %u nodes and the frontend; send traffic into tap0 in namespace "
           "sl-%s-%s; logs go to %s\n",
           c->t->name, c->n_proc, c->t->name, c->t->fe.host, c->loggers_dir);
    ret = 0;
out:
    ctl_close(c, ents);
    return ret;
}

int lab_ctl_stop(const char *topology, const struct lab_replay_opts *o)
{
    struct lab_ctx *c;
    struct lab_ent *ents = NULL;
    size_t n, n_ns, n_proc;
    int ret = ctl_open(topology, o, false, &c, &ents, &n, &n_ns, &n_proc);
    if (ret != 0)
        goto out;
    /* reverse start order: the frontend (started last) first */
    for (size_t i = n; i-- > 0;) {
        if (ents[i].kind != LAB_ENT_PROC)
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
out:
    ctl_close(c, ents);
    return ret;
}
