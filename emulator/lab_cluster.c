/* lab_cluster: start/stop the cluster nodes. See lab_cluster.h. */
#include "lab_cluster.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab_plan.h"

/* True when /proc/PID/net/tcp{,6} shows a socket in `state` (hex: "0A"
 * LISTEN, "01" ESTABLISHED) whose local (or, !local, remote) port is `port`.
 * /proc/PID/net is the process's own namespace, so this works in a lab host. */
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

/* True when the process holds a packet socket (its live capture is open):
 * an inode of /proc/PID/net/packet among its file descriptors. */
static bool has_packet_socket(pid_t pid)
{
    char path[64], line[512], link[64];
    unsigned long inodes[64];
    unsigned n = 0;
    snprintf(path, sizeof(path), "/proc/%ld/net/packet", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    while (n < 64 && fgets(line, sizeof(line), f)) {
        unsigned long ino;
        /* sk RefCnt Type Proto Iface R Rmem User Inode */
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %lu", &ino) == 1)
            inodes[n++] = ino;
    }
    fclose(f);
    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        char fd[PATH_MAX];
        unsigned long ino;
        snprintf(fd, sizeof(fd), "%s/%s", path, de->d_name);
        ssize_t l = readlink(fd, link, sizeof(link) - 1);
        if (l <= 0)
            continue;
        link[l] = '\0';
        if (sscanf(link, "socket:[%lu]", &ino) != 1)
            continue;
        for (unsigned i = 0; i < n && !found; i++)
            found = inodes[i] == ino;
    }
    closedir(d);
    return found;
}

static int manager_port(const struct lab_topo *t)
{
    for (unsigned i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].type == LAB_NODE_MANAGER)
            return (int)lab_plan_node_port(t, (int)i);
    return -1;
}

static int wait_ready(struct lab_ctx *c, struct lab_proc *p, int node, unsigned timeout_ms)
{
    const struct lab_node *n = &c->t->nodes[node];
    unsigned port = n->type == LAB_NODE_WORKER ? 0 : lab_plan_node_port(c->t, node);
    int mgr = manager_port(c->t);
    for (unsigned waited = 0;; waited += 20) {
        char st[64];
        if (!lab_proc_running(p)) {
            /* an offline worker may read a small pcap to its end before we look */
            if (n->type == LAB_NODE_WORKER && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
                return 0;
            fprintf(stderr, "sluicectl: %s %s died while starting (%s); see %s/logs/%s.log\n",
                    lab_node_type_name(n->type), n->name, lab_proc_status_str(p, st, sizeof(st)),
                    c->run.dir, n->name);
            return -ECHILD;
        }
        bool ready;
        if (n->type == LAB_NODE_WORKER)
            ready = has_socket(p->pid, (unsigned)mgr, "01", false) &&
                    (!c->live || has_packet_socket(p->pid));
        else if (n->type == LAB_NODE_MANAGER)
            ready =
                has_socket(p->pid, port, "0A", true) && has_socket(p->pid, port + 1, "0A", true);
        else
            ready = has_socket(p->pid, port, "0A", true);
        if (ready)
            return 0;
        if (waited >= timeout_ms || lab_stop) {
            fprintf(stderr, "sluicectl: %s %s not ready after %u ms; see %s/logs/%s.log\n",
                    lab_node_type_name(n->type), n->name, waited, c->run.dir, n->name);
            return -ETIMEDOUT;
        }
        lab_sleep_ms(20);
    }
}

static bool has_loggers(const struct lab_topo *t)
{
    for (unsigned i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].type == LAB_NODE_LOGGER)
            return true;
    return false;
}

/* argv of node `node`; strings it builds go to bufs. */
static int node_argv(const struct lab_ctx *c, int node, char **argv, char bufs[][LAB_PATH])
{
    const struct lab_node *n = &c->t->nodes[node];
    int a = 0;
    argv[a++] = (char *)c->node_bin;
    argv[a++] = (char *)lab_node_type_name(n->type);
    argv[a++] = "--topology";
    argv[a++] = (char *)c->cluster_ini;
    argv[a++] = "--node";
    argv[a++] = (char *)n->name;
    argv[a++] = "--state-dir";
    argv[a++] = (char *)c->state_dir;
    if (n->type == LAB_NODE_LOGGER || (n->type == LAB_NODE_MANAGER && !has_loggers(c->t))) {
        if (snprintf(bufs[0], LAB_PATH, "%s/%s", c->loggers_dir, n->name) >= LAB_PATH)
            return -ENAMETOOLONG;
        argv[a++] = "--log-dir";
        argv[a++] = bufs[0];
        /* one file per stream for the whole run: the lab merges them */
        argv[a++] = "--rotate";
        argv[a++] = "0";
    }
    if (n->type == LAB_NODE_WORKER) {
        char mac[18];
        lab_mac_str(n->mac, mac, sizeof(mac));
        if (c->live) {
            argv[a++] = "-i";
            argv[a++] = (char *)n->iface;
            snprintf(bufs[1], LAB_PATH, "ether dst %s", mac);
            argv[a++] = "-f";
            argv[a++] = bufs[1];
        } else {
            if (snprintf(bufs[1], LAB_PATH, "%s/worker-%d.pcap", c->split_dir,
                         lab_worker_number(c->t, node)) >= LAB_PATH)
                return -ENAMETOOLONG;
            argv[a++] = "-r";
            argv[a++] = bufs[1];
            if (c->timeline[0]) {
                argv[a++] = "--timeline";
                argv[a++] = (char *)c->timeline;
            }
        }
        argv[a++] = "-C";
    }
    argv[a] = NULL;
    return 0;
}

int lab_cluster_spawn(struct lab_ctx *c, int node, struct lab_proc *p)
{
    char bufs[2][LAB_PATH], ns[LAB_NS_NAME_MAX];
    char *argv[24];
    const struct lab_node *nd = &c->t->nodes[node];
    int rc = node_argv(c, node, argv, bufs);
    if (rc < 0)
        return rc;
    if (c->live)
        lab_topo_ns_name(c->t, nd->host_idx, ns, sizeof(ns));
    return lab_spawn(c, nd->name, c->live ? ns : NULL, argv, false, p);
}

int lab_cluster_start(struct lab_ctx *c)
{
    int order[LAB_TOPO_MAX_NODES];
    unsigned n = lab_plan_start_order(c->t, order);
    for (unsigned k = 0; k < n; k++) {
        if (lab_stop)
            return -EINTR;
        int node = order[k];
        const struct lab_node *nd = &c->t->nodes[node];
        lab_progress(c, "starting %s %s (%u/%u)", lab_node_type_name(nd->type), nd->name, k + 1, n);
        struct lab_proc *p = &c->proc[c->n_proc];
        int rc = lab_cluster_spawn(c, node, p);
        if (rc < 0)
            return rc;
        c->proc_node[c->n_proc++] = node;
        if ((rc = wait_ready(c, p, node, 20000)) < 0)
            return rc;
    }
    lab_progress_done(c);
    return 0;
}

void lab_cluster_stop(struct lab_ctx *c, unsigned grace_ms)
{
    /* Tier by tier in reverse start order -- workers, proxies, manager,
     * loggers -- each tier told at once and given grace_ms to drain. */
    for (int type = LAB_NODE_WORKER; type >= LAB_NODE_LOGGER; type--) {
        for (unsigned k = c->n_proc; k-- > 0;) {
            struct lab_proc *p = &c->proc[k];
            if (p->pid > 0 && (int)c->t->nodes[c->proc_node[k]].type == type &&
                lab_proc_running(p)) {
                lab_progress(c, "stopping %s", p->node);
                lab_proc_term(p);
            }
        }
        for (unsigned k = c->n_proc; k-- > 0;) {
            struct lab_proc *p = &c->proc[k];
            if (p->pid > 0 && (int)c->t->nodes[c->proc_node[k]].type == type)
                lab_proc_stop(&c->run, p, grace_ms);
        }
    }
    lab_progress_done(c);
}

struct lab_proc *lab_cluster_proc(struct lab_ctx *c, int node)
{
    for (unsigned k = 0; k < c->n_proc; k++)
        if (c->proc_node[k] == node)
            return &c->proc[k];
    return NULL;
}

int lab_cluster_counter(const struct lab_ctx *c, const char *node, const char *name, uint64_t *v)
{
    char path[LAB_PATH + 80], line[256];
    snprintf(path, sizeof(path), "%s/%s.stats", c->state_dir, node);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    int rc = -ENOENT;
    size_t len = strlen(name);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, len) == 0 && line[len] == ' ') {
            *v = strtoull(line + len + 1, NULL, 10);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int first_counter(const struct lab_ctx *c, const char *node, const char *const *names,
                         uint64_t *v)
{
    for (; *names; names++)
        if (lab_cluster_counter(c, node, *names, v) == 0)
            return 0;
    return -ENOENT;
}

int lab_cluster_packets(const struct lab_ctx *c, const char *node, uint64_t *v)
{
    static const char *const names[] = {"pkts_proc", "packets", "pkts_recvd", NULL};
    return first_counter(c, node, names, v);
}

int lab_cluster_drops(const struct lab_ctx *c, const char *node, uint64_t *v)
{
    static const char *const names[] = {"pkts_dropped", "dropped", NULL};
    return first_counter(c, node, names, v);
}
