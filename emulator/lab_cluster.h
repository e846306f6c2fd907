/* lab_cluster: the cluster's processes, started and stopped as zeekctl does.
 *
 * Start order: loggers, manager, proxies, workers; each waits until the one
 * before is ready. Ready means, read from the node's own network namespace
 * (/proc/PID/net/tcp): a logger or proxy listens on its port, the manager on
 * its first two ports, a worker has connected to the manager and (live) has
 * its capture socket open. Stop: reverse order, SIGTERM (each node drains:
 * flushes its batches, waits for its acks) with time to finish before the
 * next one is told.
 *
 * Nodes run `sluice-node ROLE --topology RUN/cluster.ini --node NAME
 * --state-dir RUN/state`, loggers (or a logger-less manager) with
 * --log-dir LOGGERS/NAME, workers with -r SPLIT/worker-K.pcap (offline) or
 * -i NIC -f 'ether dst MAC' (live).
 */
#ifndef LAB_CLUSTER_H
#define LAB_CLUSTER_H

#include "lab_ctx.h"

/* Starts every node of c->t in order. 0, or -errno after a line saying
 * which node failed (the ones started stay in c->proc for lab_cluster_stop). */
int lab_cluster_start(struct lab_ctx *c);

/* Starts node `node` with its command line, in its host's namespace (live),
 * journalled (c->run must be open); neither waited for nor added to
 * c->proc. lab_cluster_start uses it, and `sluicectl follow --restart`
 * bringing back a crashed worker. 0, or -errno after a line saying why. */
int lab_cluster_spawn(struct lab_ctx *c, int node, struct lab_proc *p);

/* Stops c->proc in reverse order (grace_ms each before SIGKILL). */
void lab_cluster_stop(struct lab_ctx *c, unsigned grace_ms);

/* The cluster process of node `node`, or NULL. */
struct lab_proc *lab_cluster_proc(struct lab_ctx *c, int node);

/* Reads counter `name` of node from RUN/state/NODE.stats. 0 or -errno. */
int lab_cluster_counter(const struct lab_ctx *c, const char *node, const char *name, uint64_t *v);

/* A worker's packets analysed / dropped by capture, from its NODE.stats
 * (whichever of the usual counter names it writes). 0 or -ENOENT. */
int lab_cluster_packets(const struct lab_ctx *c, const char *node, uint64_t *v);
int lab_cluster_drops(const struct lab_ctx *c, const char *node, uint64_t *v);

#endif
