/* lab_plan: what a topology becomes, as a list of steps.
 *
 * The live plan is the ordered list of kernel objects `sluicectl up` makes
 * (namespaces, veth pairs, bridges and their ports, static FDB entries, tbf
 * qdiscs, management addresses); `sluicectl check` prints the same list, so
 * what a user reads is what will be built. Names:
 *   namespaces   sl-<lab>-<host> per host, sl-<lab>.mgmt (management switch),
 *                sl-<lab>.sw (the kernel switch, when [frontend] switch = bridge)
 *   frontend     fp<k>: its k-th output port (net_af_packet attaches there);
 *                in0: its input, fed by whatever is sent into tap0 (the tap)
 *   kernel switch up0 (from fp0), br0, sp<k> (towards NIC k)
 *   hosts        the worker NICs as the topology names them; mgmt0 (management)
 *   management   bridge mgmt0 in sl-<lab>.mgmt, port m<h> per host h
 * Link rates are tbf qdiscs on the sending side of each worker link (fp<k>,
 * or sp<k> behind a kernel switch), as a switch port's egress shaper.
 */
#ifndef LAB_PLAN_H
#define LAB_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lab_topo.h"

enum lab_act_kind {
    LAB_ACT_NS = 0, /* ns */
    LAB_ACT_VETH,   /* ns/name (mac) <-> peer_ns/peer (peer_mac) */
    LAB_ACT_BRIDGE, /* ns/name */
    LAB_ACT_PORT,   /* ns: enslave name to bridge `arg`; learning unless arg2 "static" */
    LAB_ACT_FDB,    /* ns: frames to mac leave by port `name` */
    LAB_ACT_TBF,    /* ns/name shaped to rate */
    LAB_ACT_ADDR,   /* ns/name gets address arg */
    LAB_ACT_UP,     /* ns/name up */
    LAB_ACT_MAX
};

#define LAB_NS_NAME_MAX 64

struct lab_act {
    enum lab_act_kind kind;
    char ns[LAB_NS_NAME_MAX];
    char name[LAB_TOPO_IFNAME];
    char mac[18];
    char peer_ns[LAB_NS_NAME_MAX];
    char peer[LAB_TOPO_IFNAME];
    char peer_mac[18];
    char arg[48];
    char arg2[16];
    uint64_t rate;
};

struct lab_plan {
    struct lab_act *act;
    size_t n, cap;
};

/* Builds the live plan of t. Returns 0 or -ENOMEM. */
int lab_plan_live(const struct lab_topo *t, struct lab_plan *p);
void lab_plan_free(struct lab_plan *p);

/* One line describing a step ("veth fp0 (sl-x-tap) <-> eth1 (sl-x-mon) 02:00:..."). */
void lab_act_describe(const struct lab_act *a, char *buf, size_t len);

/* The node start order: loggers, manager, proxies, workers (indexes into
 * t->nodes). Returns how many. */
unsigned lab_plan_start_order(const struct lab_topo *t, int *order);

/* Cluster listen port of node i, as sl_topo derives it: its `port`, else
 * base_port + 3k for the k-th logger/manager/proxy in file order (a manager
 * also uses the next two). 0 for a worker. */
unsigned lab_plan_node_port(const struct lab_topo *t, int node);

/* Where node i is reached: its `address`, else its host's management
 * address in a live lab, else 127.0.0.1 (sl_topo's rule). */
void lab_plan_node_addr(const struct lab_topo *t, int node, bool live, char *buf, size_t len);

/* The frontend output port (fp<k>) that carries worker NIC `nic`. */
unsigned lab_plan_fe_port(const struct lab_topo *t, int nic);
/* Number of frontend output ports in live mode. */
unsigned lab_plan_fe_ports(const struct lab_topo *t);

/* Prints the whole plan for `sluicectl check`. */
void lab_plan_print(const struct lab_topo *t, const struct lab_plan *p, FILE *out);

#endif
