/* sl_known: known_hosts.log and known_services.log with the rules of Zeek
 * 8.0's policy/protocols/conn/known-hosts.zeek and known-services.zeek
 * (host_tracking = service_tracking = LOCAL_HOSTS, no Broker/storage store).
 *
 * Rules:
 *  - A host is found when connection_established fires with both endpoints
 *    in TCP_ESTABLISHED; each of orig_h and resp_h that is local (the
 *    is_local predicate: Site::is_local_addr) is a candidate. ts = that time.
 *  - A service is looked at on every analyzer confirmation and, unless done,
 *    at connection removal (known_services_done()): the responder must be
 *    local; a connection whose only service is "ftp-data", or only "DNS"
 *    with a silent responder, is skipped; the responder must be active (TCP:
 *    state ESTABLISHED, CLOSED or PARTIAL, or 'h' in the history; UDP: state
 *    UDP_ACTIVE; ICMP and others never). Then the connection is done; the
 *    services are c$service less names starting with "-". With no service
 *    detected the candidate is {""} ("(empty)" in the log) and is committed
 *    5 minutes later (network time; whatever is still waiting at the end of
 *    input is committed then, as Zeek drains its timers); otherwise at once.
 *    Service names are as Zeek's c$service holds them: analyzer names in
 *    upper case ("DNS", "HTTP"), script-added ones as spelled ("ftp-data").
 *  - Known::hosts and Known::services expire 1 day after an entry is
 *    created (&create_expire=1day): an entry older than that is gone, and
 *    the host/service is logged again when seen again.
 *
 * Split for the cluster, as Zeek's scripts do it:
 *  - struct sl_known (worker): the local caches. A candidate already in them
 *    is dropped; otherwise it is added to them and handed to the found
 *    callback, which sends it to the item's owner (standalone: calls the
 *    authority directly).
 *  - struct sl_known_auth (owner): the authoritative sets.
 *    sl_known_auth_insert() returns 1 when the item was newly added, and the
 *    caller logs exactly then. sl_known_auth_host()/_service() wrap it with
 *    the scripts' logic (known_host_add, known_service_add: log only the
 *    service names not known yet for that host and port).
 *  - Ownership: Zeek sends each item to Cluster::publish_hrw(proxy_pool,
 *    key): rendezvous hashing over the live proxies, with key = the host for
 *    hosts and (host, port) for services, so all names of one host:port
 *    meet at one proxy. Here the keys are sl_known_host_hash() and
 *    sl_known_service_hash(), and the owner is
 *    sl_rdv_pick(&live_proxies, hash) (core/sl_rdv: highest random weight;
 *    when a proxy dies only its keys move). Every node computes the same
 *    owner from the same live set, so each item has exactly one deciding
 *    authority and is logged once. When the live set changes, workers call
 *    sl_known_clear_cache() (Zeek's clear_table() on node_up/node_down) so
 *    that candidates are re-sent to their new owners; the new owner must
 *    already hold the items the old one decided (the ring replicates every
 *    insertion to all proxies), else they would be logged again.
 *
 * Memory: each set keeps at most max_items live entries; when full the
 * oldest is evicted (counted). An evicted worker-cache entry costs one more
 * message to the owner, an evicted authority entry can cost a repeated log.
 */
#ifndef SL_KNOWN_H
#define SL_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_log.h"

extern const struct sl_log_schema sl_known_hosts_schema; /* ts host */
extern const struct sl_log_schema
    sl_known_services_schema; /* ts host port_num port_proto service */

enum { SL_KH_TS = 0, SL_KH_HOST, SL_KH_N_FIELDS };
enum { SL_KS_TS = 0, SL_KS_HOST, SL_KS_PORT_NUM, SL_KS_PORT_PROTO, SL_KS_SERVICE, SL_KS_N_FIELDS };

/* Zeek's endpoint states: TCP_INACTIVE..TCP_RESET = 0..6, UDP_INACTIVE = 0,
 * UDP_ACTIVE = 1. */
enum {
    SL_KNOWN_TCP_INACTIVE = 0,
    SL_KNOWN_TCP_SYN_SENT,
    SL_KNOWN_TCP_SYN_ACK_SENT,
    SL_KNOWN_TCP_PARTIAL,
    SL_KNOWN_TCP_ESTABLISHED,
    SL_KNOWN_TCP_CLOSED,
    SL_KNOWN_TCP_RESET,
};
enum { SL_KNOWN_UDP_INACTIVE = 0, SL_KNOWN_UDP_ACTIVE = 1 };

#define SL_KNOWN_MAX_SVC 8  /* service names kept per record */
#define SL_KNOWN_SVC_LEN 32 /* bytes per name, NUL included */

/* Plain data, fixed layout: what travels from a worker to the owner. */
struct sl_known_host {
    double ts;
    uint8_t host[16]; /* IPv4 as IPv4-mapped */
};

struct sl_known_service {
    double ts;
    uint8_t host[16];
    uint16_t port;
    uint8_t proto; /* 6 or 17 */
    uint8_t n_svc;
    char svc[SL_KNOWN_MAX_SVC][SL_KNOWN_SVC_LEN]; /* sorted, unique */
};

/* The connection facts known_services_done() looks at. */
struct sl_known_conn {
    uint8_t resp_h[16];
    uint16_t resp_p;
    uint8_t proto;               /* IP protocol of the connection */
    int resp_state;              /* Zeek endpoint state of the responder (see above) */
    const char *history;         /* conn.log history so far (may be NULL) */
    uint64_t resp_size;          /* c$resp$size: bytes the responder sent */
    const char *const *services; /* c$service */
    unsigned n_services;
};

struct sl_known_cfg {
    double expire;              /* create_expire: 86400 s */
    double defer;               /* commit delay without a service: 300 s */
    bool udp_requires_response; /* Known::service_udp_requires_response: T */
    size_t max_items;           /* per set; 0 = 1<<20 */
    size_t max_deferred;        /* deferred commits kept; 0 = 1<<16 */
    void *ctx;
    bool (*is_local)(void *ctx, const uint8_t addr[16]); /* NULL: none local */
    void (*host_found)(void *ctx, const struct sl_known_host *h);
    void (*service_found)(void *ctx, const struct sl_known_service *s);
};

void sl_known_cfg_default(struct sl_known_cfg *cfg);

struct sl_known_counters {
    uint64_t hosts_found; /* candidates passed on (not in the cache) */
    uint64_t services_found;
    uint64_t evicted;       /* cache entries evicted by max_items */
    uint64_t deferred_drop; /* deferred commits dropped by max_deferred */
    uint64_t svc_truncated; /* service names past SL_KNOWN_MAX_SVC or too long */
};

/* ---- worker ---- */

struct sl_known;

struct sl_known *sl_known_new(const struct sl_known_cfg *cfg); /* NULL + errno */
void sl_known_free(struct sl_known *k);

/* connection_established: orig_state/resp_state are TCP states. */
void sl_known_established(struct sl_known *k, double ts, const uint8_t orig_h[16],
                          const uint8_t resp_h[16], int orig_state, int resp_state);

/* analyzer_confirmation_info for the connection (Zeek runs it on every
 * confirmation, done or not). *done is the connection's
 * known_services_done flag, kept by the caller (initially false). */
void sl_known_confirmed(struct sl_known *k, double ts, const struct sl_known_conn *c, bool *done);

/* connection_state_remove: runs the check unless *done. */
void sl_known_removed(struct sl_known *k, double ts, const struct sl_known_conn *c, bool *done);

/* Network time moved on: commits deferred candidates that are due. */
void sl_known_advance(struct sl_known *k, double now);

/* End of input: commits every deferred candidate now. */
void sl_known_flush(struct sl_known *k);

/* An item some other worker found (it came back down the ring): remember
 * it so it is not reported again. */
void sl_known_learn_host(struct sl_known *k, const struct sl_known_host *h);
void sl_known_learn_service(struct sl_known *k, const struct sl_known_service *s);

/* Forget the caches (the proxy set changed). */
void sl_known_clear_cache(struct sl_known *k);

const struct sl_known_counters *sl_known_counters(const struct sl_known *k);

/* ---- authority ---- */

enum sl_known_kind { SL_KNOWN_K_HOST = 1, SL_KNOWN_K_ROW, SL_KNOWN_K_SVC };

/* An item of an authoritative set: a host, a (host, port) row, or one
 * service name of a row. Zero the struct before filling it. */
struct sl_known_key {
    uint8_t kind;
    uint8_t proto;
    uint16_t port;
    uint8_t addr[16];
    char svc[SL_KNOWN_SVC_LEN];
};

struct sl_known_auth;

struct sl_known_auth *sl_known_auth_new(double expire, size_t max_items);
void sl_known_auth_free(struct sl_known_auth *a);

/* Adds key at time ts (it lives until ts + expire; a SVC key lives as long
 * as its row). Returns 1 newly added, 0 already there, -ENOMEM. */
int sl_known_auth_insert(struct sl_known_auth *a, const struct sl_known_key *key, double ts);
bool sl_known_auth_contains(struct sl_known_auth *a, const struct sl_known_key *key, double ts);

/* known_host_add: true when h is new (log it). */
bool sl_known_auth_host(struct sl_known_auth *a, const struct sl_known_host *h);

/* known_service_add: true when something is to be logged; *out is then the
 * record to log (the names not known yet; possibly none, as Zeek logs a new
 * row with an empty set). */
bool sl_known_auth_service(struct sl_known_auth *a, const struct sl_known_service *s,
                           struct sl_known_service *out);

size_t sl_known_auth_size(const struct sl_known_auth *a);
uint64_t sl_known_auth_evicted(const struct sl_known_auth *a);

/* ---- ownership and records ---- */

uint64_t sl_known_host_hash(const uint8_t host[16]);
uint64_t sl_known_service_hash(const uint8_t host[16], uint16_t port, uint8_t proto);

/* Record builders: vals gets SL_KH_N_FIELDS / SL_KS_N_FIELDS values whose
 * strings live in *buf (keep it while the values are used). */
struct sl_known_recbuf {
    char ts[32], host[48], port[8];
    const char *items[SL_KNOWN_MAX_SVC];
};
void sl_known_host_record(const struct sl_known_host *h, struct sl_log_val *vals,
                          struct sl_known_recbuf *buf);
void sl_known_service_record(const struct sl_known_service *s, struct sl_log_val *vals,
                             struct sl_known_recbuf *buf);

#endif
