/* sl_node: the roles `sluice-node` runs. Each role is a main-like entry
 * taking the arguments after the role name (argv[0] is the role) and
 * returning the process exit status. sluice-node.c dispatches on a table of
 * them; a new role adds its prototype here and one line to that table. */
#ifndef SL_NODE_H
#define SL_NODE_H

/* One process doing worker + proxy + manager + logger work on a pcap or an
 * interface (cluster/standalone.c). */
int sl_node_standalone(int argc, char **argv);

/* The cluster daemons and the local cluster (cluster/logger.c, manager.c,
 * proxy.c, worker.c, local_cluster.c; see cluster/node_common.h). */
int sl_node_logger(int argc, char **argv);
int sl_node_manager(int argc, char **argv);
int sl_node_proxy(int argc, char **argv);
int sl_node_worker(int argc, char **argv);
int sl_node_local_cluster(int argc, char **argv);

#endif
