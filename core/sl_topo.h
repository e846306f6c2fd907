/* sl_topo: a topology file as the cluster nodes read it.
 *
 * The file is INI in the style of zeekctl's node.cfg (syntax: sl_ini.h), one
 * section per node, plus the optional [frontend] and [lab] sections that the
 * frontend and the lab read (emulator/lab_topo.h checks the lab's side in
 * depth; this reader accepts every key they use, checks the values it
 * interprets, and refuses a key nobody uses). Every mistake is one line
 * "FILE:LINE: message"; loading stops at the first.
 *
 *   [logger-1]            [manager]          [proxy-1]          [worker-1]
 *   type = logger         type = manager     type = proxy       type = worker
 *   host = localhost      host = localhost   host = localhost   host = localhost
 *                                                               interface = eth1
 *                                                               mac = 02:00:00:00:00:01
 *                                                               lb_procs = 4
 *                                                               pin_cpus = 2,3,4,5
 *
 * Node keys (all types): type (logger | manager | proxy | worker; required),
 * host, pin_cpus, address (where the node listens and is reached), port (its
 * first listening port; in a worker section `port` is the frontend's output
 * port and means nothing to the cluster). Worker keys: interface, mac,
 * lb_procs (the section stands for N workers named <section>-1 ..
 * <section>-N, with consecutive MACs and the i-th CPU of pin_cpus), lb_method,
 * lb_interfaces, link_rate, proxy (the proxy it attaches to; default: shared
 * evenly, see sl_ring.h), weight.
 * [frontend] keys: type, host, interface, lcores, pin_cpus, mode, hash,
 * output (switch | direct), switch (frontend | bridge), link_rate,
 * queue_bytes, workers, in_ports, out_ports, pace, stats_interval.
 * [lab] keys: name, mode (offline | live), hosts, mgmt_net, mgmt_hosts,
 * base_port.
 *
 * Rules: exactly one manager; a worker needs at least one proxy; names are
 * unique (after lb_procs expansion) and valid sl_wire names of at most 63
 * bytes; worker MACs unique and unicast (default 02:00:00:00:HH:LL with HHLL
 * the worker's number, as frontend-dpdk); at most SL_TOPO_MAX_NODES nodes.
 *
 * Endpoints. A node is reached at `address`; without one: the host's
 * management address in a live lab ([lab] mode = live: mgmt_net + 1 + the
 * host's index in [lab] hosts), the host itself when it is an IPv4 literal,
 * else 127.0.0.1 (localhost, an offline lab, no host). Loggers, the manager
 * and proxies listen from `port`, or from [lab] base_port (default 27760,
 * zeekctl's) + 3 * k for the k-th of them in file order:
 *   logger  port      ROUTER: log batches in, acks out
 *   proxy   port      ROUTER: workers' insertions and the ring
 *   manager port      PULL:   heartbeats, notices, observations
 *           port + 1  PUB:    views, control
 *           port + 2  ROUTER: log batches when there is no logger
 */
#ifndef SL_TOPO_H
#define SL_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_TOPO_MAX_NODES 512
#define SL_TOPO_NAME      64
#define SL_TOPO_BASE_PORT 27760

/* Same numbering as enum sl_wire_role. */
enum sl_topo_type {
    SL_TOPO_LOGGER = 1,
    SL_TOPO_MANAGER,
    SL_TOPO_PROXY,
    SL_TOPO_WORKER,
    SL_TOPO_TYPE_MAX
};

struct sl_topo_node {
    char name[SL_TOPO_NAME];
    enum sl_topo_type type;
    char section[SL_TOPO_NAME]; /* the section it came from */
    unsigned line;              /* of that section's header */
    char host[SL_TOPO_NAME];    /* "" when not given */
    char address[SL_TOPO_NAME]; /* resolved, see above */
    unsigned port;              /* first listening port; 0 for workers */
    int cpu;                    /* CPU to pin to, -1: none */
    /* workers */
    char iface[SL_TOPO_NAME];
    uint8_t mac[6];
    int proxy; /* index in nodes[] of its named proxy, -1: shared evenly */
};

struct sl_topo {
    char file[512];
    unsigned n_nodes;
    struct sl_topo_node *nodes; /* file order; lb_procs expanded in place */
    unsigned base_port;
    bool live; /* [lab] mode = live */
    struct {
        bool present;
        unsigned line;
        char hash[24];   /* "" = the frontend's default */
        char output[16]; /* "switch" | "direct" | "" */
    } frontend;
    struct {
        bool present;
        unsigned line;
        char name[SL_TOPO_NAME];
    } lab;
};

/* Reads and checks a file. NULL with errno set (EINVAL for a mistake) and
 * one line "FILE:LINE: message" (or "FILE: why") in err. */
struct sl_topo *sl_topo_load(const char *path, char *err, size_t errlen);
/* The same from text, `name` standing for the file in messages. */
struct sl_topo *sl_topo_parse(const char *text, size_t len, const char *name, char *err,
                              size_t errlen);
void sl_topo_free(struct sl_topo *t);

const struct sl_topo_node *sl_topo_find(const struct sl_topo *t, const char *name);
unsigned sl_topo_count(const struct sl_topo *t, enum sl_topo_type type);
/* The k-th node of a type (file order), NULL past the end. */
const struct sl_topo_node *sl_topo_nth(const struct sl_topo *t, enum sl_topo_type type, unsigned k);
/* "tcp://ADDRESS:PORT" for connecting to n's port + offset. -ENOSPC, or
 * -EINVAL when n does not listen. */
int sl_topo_endpoint(const struct sl_topo_node *n, unsigned offset, char *buf, size_t len);
/* "tcp://ADDRESS:PORT" (ADDRESS "*" for a host name) to bind n's port + offset. */
int sl_topo_bind_endpoint(const struct sl_topo_node *n, unsigned offset, char *buf, size_t len);

const char *sl_topo_type_name(enum sl_topo_type t);

/* The two value syntaxes every reader of a topology file shares (this one,
 * the lab's and frontend-dpdk's, whose --worker-mac and --link-rate take the
 * same forms), so that one file means the same to all of them. */

/* "aa:bb:cc:dd:ee:ff" (also '-' separated, either case). 0 or -EINVAL. */
int sl_topo_mac_parse(const char *s, uint8_t mac[6]);
/* The MAC of worker number k (1-based, in file order) that gives none:
 * 02:00:00:00:HH:LL with HHLL = k (locally administered), frontend-dpdk's
 * --workers default too. */
void sl_topo_default_mac(unsigned k, uint8_t mac[6]);
/* The MAC of the p-th (0-based) worker of a section with lb_procs whose
 * mac is base: p added to the low three bytes, the OUI kept (a sum past
 * ff:ff:ff wraps; the readers then report the duplicate, if any). */
void sl_topo_mac_nth(const uint8_t base[6], unsigned p, uint8_t out[6]);
/* A link rate in bits/s: a number, then K, M, G or T (powers of 1000, either
 * case), then optionally "bit", "bps" or "b" (any case): "10G", "250M",
 * "1.5Gbps", "100000". 0; -EINVAL for anything else (a sign, spaces, another
 * unit); -ERANGE below 1 kbit/s or above 10 Tbit/s (a typo, surely). */
int sl_topo_rate_parse(const char *s, uint64_t *bps);
/* A worker's rendezvous weight: a number above 0 and at most 1e6 ("1",
 * "2.5", ".5", "1e3"); a sign, spaces, hex, "inf" or "nan" are refused.
 * 0 or -EINVAL. */
#define SL_TOPO_MAX_WEIGHT 1e6
int sl_topo_weight_parse(const char *s, double *w);

#endif
