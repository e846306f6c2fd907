/* sl_node: the roles `sluice-node` runs. Each role is a main-like entry
 * taking the arguments after the role name (argv[0] is the role) and
 * returning the process exit status. sluice-node.c dispatches on a table of
 * them; a new role adds its prototype here and one line to that table. */
#ifndef SL_NODE_H
#define SL_NODE_H

/* One process doing worker + proxy + manager + logger work on a pcap or an
 * interface (cluster/standalone.c). */
int sl_node_standalone(int argc, char **argv);

#endif
