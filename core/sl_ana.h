/* sl_ana: what a worker does with each packet it sniffs.
 *
 * sl_ana takes raw frames, decodes them (sl_pkt), checks IP/TCP/UDP/ICMP
 * checksums, reassembles IP fragments, follows tunnels (an outer UDP
 * connection for VXLAN/GENEVE/GTP/Teredo/AYIYA/GRE-over-UDP, an IP tunnel
 * uid for IP-in-IP/GRE/ERSPAN, both becoming the inner connections'
 * tunnel_parents), drives the connection table (sl_conn) and produces log
 * records: conn.log at each connection's removal and weird.log through
 * Zeek's weird framework (per-name actions, per-originator/per-connection
 * de-duplication, the 10-minute repeat suppression).
 *
 * Records leave through struct sl_ana_output, one callback per record, so
 * the standalone node writes files while a cluster worker ships them.
 *
 * Protocol modules (dns, known hosts/services, scan, stats...) plug in with
 * struct sl_ana_plugin: they hear of new, established, flipped and removed
 * connections, UDP payload, the in-order TCP stream, TCP closes and weirds,
 * get a per-connection slot (conn->mod[slot]) and write their own records
 * through sl_ana_write().
 *
 * Single-threaded: one sl_ana per analysis thread.
 */
#ifndef SL_ANA_H
#define SL_ANA_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_conn.h"
#include "sl_log.h"
#include "sl_net.h"

struct sl_ana;

/* Where records go. `write` gets one record of `schema` (values live only
 * for the call) and returns 0 or -errno (counted as a write error). */
struct sl_ana_output {
    void *ctx;
    int (*write)(void *ctx, const struct sl_log_schema *schema, const struct sl_log_val *vals);
};

/* A weird as the weird framework sees it, before de-duplication. `c` is set
 * for connection weirds; src/dst for flow weirds; neither for net weirds. */
struct sl_ana_weird {
    double ts;
    const struct sl_conn *c;
    const uint8_t *src, *dst;
    const char *name;
    const char *addl;   /* "" when none */
    const char *source; /* "" when none */
    bool notice;        /* the action raises a notice (Weird::Activity) */
};

/* A protocol module. Every hook may be NULL. `slot` (given back by
 * sl_ana_add_plugin) indexes conn->mod[] for the module's state. */
struct sl_ana_plugin {
    const char *name;
    void *ctx;
    void (*conn_new)(void *ctx, struct sl_ana *a, struct sl_conn *c);
    void (*conn_established)(void *ctx, struct sl_ana *a, struct sl_conn *c);
    void (*conn_flipped)(void *ctx, struct sl_ana *a, struct sl_conn *c);
    /* The connection is being removed; rec is its final conn.log record
     * (written to conn.log right after all plugins ran). Free mod[slot]. */
    void (*conn_removed)(void *ctx, struct sl_ana *a, struct sl_conn *c,
                         const struct sl_conn_rec *rec);
    /* A UDP datagram's payload (checksum good), both directions. */
    void (*udp_payload)(void *ctx, struct sl_ana *a, struct sl_conn *c, bool is_orig,
                        const uint8_t *data, uint32_t len);
    /* In-order TCP payload; only for connections whose conn->want has
     * SL_CONN_WANT_STREAM (set it in conn_new). */
    void (*tcp_data)(void *ctx, struct sl_ana *a, struct sl_conn *c, bool is_orig,
                     const uint8_t *data, uint32_t len);
    void (*tcp_closed)(void *ctx, struct sl_ana *a, struct sl_conn *c, bool is_orig);
    /* Every weird that passes the framework (logged or noticed). */
    void (*weird)(void *ctx, struct sl_ana *a, const struct sl_ana_weird *w);
    /* Network time moved to `now` (once per packet, before it is analysed). */
    void (*tick)(void *ctx, struct sl_ana *a, double now);
    /* End of input, after every connection was removed. */
    void (*finish)(void *ctx, struct sl_ana *a, double now);
    /* A TCP connection event (attempt, rejected, reset, pending, ...). */
    void (*conn_event)(void *ctx, struct sl_ana *a, struct sl_conn *c, enum sl_conn_event ev);
};

/* How a module joins an analyzer: attach registers its plugin(s) with
 * sl_ana_add_plugin() and returns its state in *state (0 or -errno);
 * detach frees that state after sl_ana_finish(). Node programs keep a table
 * of these (cluster/standalone.c's `modules`). */
struct sl_ana_module {
    const char *name;
    int (*attach)(struct sl_ana *a, void **state);
    void (*detach)(void *state);
};

struct sl_ana_cfg {
    bool ignore_checksums;      /* zeek -C */
    uint64_t max_conns;         /* flow-table limit, 0 = unlimited */
    const struct sl_net *local; /* Site::local_nets; NULL = none */
    bool seeded;                /* deterministic uids from `seed` */
    uint64_t seed;
    uint64_t uid_salt; /* separates nodes sharing a seed */
    const char *peer;  /* weird.log's peer, "zeek" when NULL */
};

struct sl_ana_stats {
    uint64_t packets;      /* frames given to sl_ana_packet */
    uint64_t bytes;        /* their captured bytes */
    uint64_t non_ip;       /* frames without an IP layer */
    uint64_t dropped;      /* frames not analysed (decode weirds, bad IP checksum, ...) */
    uint64_t fragments;    /* IP fragments seen */
    uint64_t reassembled;  /* datagrams rebuilt from fragments */
    uint64_t weirds;       /* weird.log records */
    uint64_t conn_records; /* conn.log records */
    uint64_t write_errors;
    struct sl_conn_stats conns;
};

/* Returns NULL with errno set. cfg and out are copied; cfg->local must
 * outlive the analyzer. */
struct sl_ana *sl_ana_new(const struct sl_ana_cfg *cfg, const struct sl_ana_output *out);
void sl_ana_free(struct sl_ana *a);

/* Registers a module (before the first packet). Returns its slot
 * (0..SL_CONN_MOD_SLOTS-1) or -ENOSPC. */
int sl_ana_add_plugin(struct sl_ana *a, const struct sl_ana_plugin *p);

/* Analyses one frame of link type dlt (libpcap DLT), captured at ts
 * (seconds), caplen bytes present of wirelen on the wire (0 = unknown). */
void sl_ana_packet(struct sl_ana *a, double ts, const uint8_t *frame, uint32_t caplen,
                   uint32_t wirelen, int dlt);

/* End of input: removes every connection as Zeek does at termination. */
void sl_ana_finish(struct sl_ana *a);

/* For modules: the current network time, a record to write, a weird to
 * raise (c may be NULL; source may be NULL), the connection table. */
double sl_ana_now(const struct sl_ana *a);
int sl_ana_write(struct sl_ana *a, const struct sl_log_schema *schema,
                 const struct sl_log_val *vals);
void sl_ana_conn_weird(struct sl_ana *a, struct sl_conn *c, const char *name, const char *addl,
                       const char *source);
struct sl_conn_tab *sl_ana_conns(struct sl_ana *a);
const struct sl_net *sl_ana_local(const struct sl_ana *a);
const char *sl_ana_peer(const struct sl_ana *a);

void sl_ana_get_stats(const struct sl_ana *a, struct sl_ana_stats *st);

/* weird.log, Zeek 8's columns. */
extern const struct sl_log_schema sl_weird_schema;

#endif
