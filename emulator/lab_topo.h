/* lab_topo: a lab topology file (topologies/<name>.ini), read and checked.
 *
 * The format is zeekctl's node.cfg (a section per node with type, host,
 * interface, lb_procs, pin_cpus) plus what a lab needs: a worker's `mac`,
 * `link_rate` and `proxy`, a [frontend] section and a [lab] section.
 * topologies/README.md documents every key; this reader is the lab's
 * (sluicectl's) view of it: it checks what a lab needs (hosts, links,
 * rates, MACs, reachability) and says every mistake as one line
 * "FILE:LINE: message", collecting all of them rather than stopping at the
 * first. A worker section with lb_procs = N expands to N workers named
 * <section>-1 .. <section>-N (as zeekctl names them).
 */
#ifndef LAB_TOPO_H
#define LAB_TOPO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LAB_TOPO_MAX_HOSTS 32
#define LAB_TOPO_MAX_NODES 256
#define LAB_TOPO_NAME      48 /* node / host / lab names, incl. NUL */
/* The name under which `sluicectl start` journals and lists its liveness
 * follower (lab_follow.h): no node may take it. */
#define LAB_TOPO_LIVENESS "liveness"
#define LAB_TOPO_IFNAME   16 /* IFNAMSIZ */

enum lab_node_type {
    LAB_NODE_LOGGER = 0, /* start order: loggers, manager, proxies, workers, frontend */
    LAB_NODE_MANAGER,
    LAB_NODE_PROXY,
    LAB_NODE_WORKER,
    LAB_NODE_FRONTEND,
    LAB_NODE_TYPE_MAX
};

enum lab_mode { LAB_MODE_OFFLINE = 0, LAB_MODE_LIVE };
enum lab_output { LAB_OUT_SWITCH = 0, LAB_OUT_DIRECT };
enum lab_switch { LAB_SW_FRONTEND = 0, LAB_SW_BRIDGE };

struct lab_node {
    char name[LAB_TOPO_NAME];
    enum lab_node_type type;
    char host[LAB_TOPO_NAME];
    int host_idx;
    int line; /* line of its section header */
    /* workers */
    char iface[LAB_TOPO_IFNAME]; /* the NIC it sniffs */
    uint8_t mac[6];              /* its MAC: the frontend rewrites to it */
    uint64_t link_rate;          /* bits/s of its NIC's link, 0 = unshaped */
    char pin_cpus[64];
    char address[LAB_TOPO_NAME]; /* `address` key, "" = derived (see lab_plan_node_addr) */
    unsigned port;               /* `port` key of a listening node, 0 = derived */
    double weight;               /* worker `weight` key (the frontend's), 1 by default */
    int proxy;                   /* node index of its named proxy, -1: shared evenly */
    int nic;                     /* index into lab_topo.nics */
};

/* One worker NIC: what the frontend's switch stage (or the bridge) sends to. */
struct lab_nic {
    int host_idx;
    char iface[LAB_TOPO_IFNAME];
    uint64_t link_rate;
    unsigned n_workers;
    uint8_t mac[6]; /* the worker's MAC when it is alone on the NIC */
};

struct lab_topo {
    char file[PATH_MAX];
    char name[LAB_TOPO_NAME];
    enum lab_mode mode;
    uint32_t mgmt_net; /* host order */
    unsigned mgmt_prefix;
    unsigned base_port;
    char hosts[LAB_TOPO_MAX_HOSTS][LAB_TOPO_NAME];
    bool host_mgmt[LAB_TOPO_MAX_HOSTS]; /* on the management network */
    unsigned n_hosts;
    struct {
        int host_idx;
        char host[LAB_TOPO_NAME];
        char lcores[64];
        char hash[24];
        enum lab_output output;
        enum lab_switch sw;
        uint64_t link_rate;
        char queue_bytes[24];
        int line;
    } fe;
    struct lab_node nodes[LAB_TOPO_MAX_NODES];
    unsigned n_nodes;
    struct lab_nic nics[LAB_TOPO_MAX_NODES];
    unsigned n_nics;
};

/* Reads and checks `path`. Every mistake is printed to `err` as
 * "FILE:LINE: message". Returns the number of mistakes (0: usable), or
 * -errno when the file cannot be read at all (also printed). */
int lab_topo_load(const char *path, struct lab_topo *t, FILE *err);

/* Rates and MACs are read with sl_topo_rate_parse and sl_topo_mac_parse
 * (core/sl_topo.h), as the cluster and frontend-dpdk read them. */

/* "10G", "250M", "1.5G" ... into buf. */
const char *lab_rate_str(uint64_t bps, char *buf, size_t len);
const char *lab_mac_str(const uint8_t mac[6], char *buf, size_t len); /* 18 bytes */

const char *lab_node_type_name(enum lab_node_type t);

/* Number of workers, and the index of worker k (0-based, in file order) in
 * nodes[], -1 past the end. */
unsigned lab_topo_n_workers(const struct lab_topo *t);
int lab_topo_worker(const struct lab_topo *t, unsigned k);

/* Management address of host h: mgmt_net + 1 + h, e.g. 198.18.0.1. */
void lab_topo_host_addr(const struct lab_topo *t, int host_idx, char *buf, size_t len);

/* Live-mode names: namespace of host h ("sl-<lab>-<host>"), of the
 * management network ("sl-<lab>.mgmt") and of the kernel switch ("sl-<lab>.sw"). */
void lab_topo_ns_name(const struct lab_topo *t, int host_idx, char *buf, size_t len);
void lab_topo_mgmt_ns(const struct lab_topo *t, char *buf, size_t len);
void lab_topo_switch_ns(const struct lab_topo *t, char *buf, size_t len);

#endif
