/* sl_conn: connection tracking with Zeek 8's semantics.
 *
 * This is Zeek's session layer in C: the connection table keyed by the
 * canonical 5-tuple (src/session/Manager.cc, IPBasedConnKey), the TCP
 * endpoint state machine, history and sequence-number byte counting
 * (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc,
 * src/analyzer/protocol/tcp/TCP_Endpoint.cc), the reassembler's content-gap
 * accounting (TCP_Reassembler.cc, Reassem.cc), UDP, ICMP and
 * unknown-IP-protocol sessions, the connection-size counters (ConnSize),
 * role flipping (likely_server_ports, SYN-ACK first, "^"), connection reuse,
 * and the timers that remove a connection (inactivity, attempt, SYN/close
 * expiry), all driven by packet time. conn.log records are filled as
 * scripts/base/protocols/conn/main.zeek fills them (conn_state decision,
 * duration-gated byte counts, ...).
 *
 * The caller (sl_ana) decodes packets and checks checksums; this module
 * gets each packet's identity and transport fields. Everything that Zeek
 * would raise as an event comes back through struct sl_conn_ops.
 *
 * Time: sl_conn_advance() moves network time forward (never back) and
 * fires due timers, at most 300 per call as Zeek's max_timer_expires; call
 * it with each packet's timestamp before handing the packet over.
 * sl_conn_finish() ends the input the way Zeek terminates: pending attempt
 * timers fire, then every remaining connection is removed in key order.
 *
 * Memory is bounded: cfg.max_conns caps the table; a new connection beyond
 * it evicts the least recently active one (removed and logged as on a
 * timeout, counted in stats.evicted).
 *
 * Not thread-safe: one table per analysis thread.
 */
#ifndef SL_CONN_H
#define SL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_log.h"
#include "sl_net.h"
#include "sl_pkt.h"
#include "sl_uid.h"

/* Transport, as Zeek's transport_proto enum. */
enum sl_trans {
    SL_TRANS_UNKNOWN = 0, /* "unknown_transport": any other IP protocol */
    SL_TRANS_TCP,
    SL_TRANS_UDP,
    SL_TRANS_ICMP, /* ICMP and ICMPv6 */
};

/* TCP endpoint states (TCP_Endpoint.h); UDP/ICMP use INACTIVE/ACTIVE. */
enum sl_endp_state {
    SL_TCPS_INACTIVE = 0,
    SL_TCPS_SYN_SENT,
    SL_TCPS_SYN_ACK_SENT,
    SL_TCPS_PARTIAL,
    SL_TCPS_ESTABLISHED,
    SL_TCPS_CLOSED,
    SL_TCPS_RESET,
};
#define SL_UDPS_INACTIVE 0
#define SL_UDPS_ACTIVE   1

/* A packet's identity as the session layer keys it. For ICMP, sport is the
 * type and dport the counterpart type (or the code when the message has no
 * counterpart, one_way set: such keys are not made direction-independent). */
struct sl_conn_id {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    uint8_t ip_proto;
    uint8_t trans; /* enum sl_trans */
    bool one_way;
};

/* The encapsulation a packet arrived in (Zeek's EncapsulationStack):
 * outermost first, each level a tunnel type (enum sl_encap) and the uid
 * Zeek gives it (the outer UDP connection's uid, or an IP tunnel's). */
struct sl_conn_encap {
    uint8_t depth;
    struct {
        uint8_t type;
        char uid[SL_UID_LEN];
    } e[SL_PKT_MAX_IP];
};

#define SL_CONN_MAX_PARENTS  8
#define SL_CONN_MAX_SERVICES 4
#define SL_CONN_MOD_SLOTS    8

/* The public part of a connection. Modules may read every field and use
 * mod[] (their slot, given by sl_ana) for their own per-connection state. */
struct sl_conn {
    uint8_t orig_h[16];
    uint8_t resp_h[16];
    uint16_t orig_p;
    uint16_t resp_p;
    uint8_t ip_proto;
    uint8_t trans; /* enum sl_trans */
    char uid[SL_UID_LEN];
    double start_time;
    double last_time;
    /* ConnSize: packets and IP bytes per direction (after any flip). */
    uint64_t orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes;
    uint64_t missed_bytes;
    uint8_t n_service;
    const char *service[SL_CONN_MAX_SERVICES]; /* static strings, e.g. "dns" */
    uint8_t n_parents;
    char parents[SL_CONN_MAX_PARENTS][SL_UID_LEN]; /* tunnel_parents */
    void *mod[SL_CONN_MOD_SLOTS];
    uint32_t want;     /* SL_CONN_WANT_* bits set by modules at conn_new */
    uint32_t ana_bits; /* sl_ana's own per-connection flags */
    void *ana_state;   /* sl_ana's own per-connection state (freed by it) */
};

#define SL_CONN_WANT_STREAM 0x1 /* deliver the in-order TCP byte stream (tcp_data) */

/* Why a connection left the table. */
enum sl_conn_why {
    SL_CONN_WHY_TIMER = 0, /* inactivity, attempt, close/reset delay, expiry */
    SL_CONN_WHY_REUSE,     /* a new SYN took over its 5-tuple */
    SL_CONN_WHY_EVICT,     /* the table was full */
    SL_CONN_WHY_END,       /* end of input */
};

/* Zeek's TCP connection events that modules (scan, known) act on. */
enum sl_conn_event {
    SL_CONN_EV_ATTEMPT = 0,   /* connection_attempt: SYN unanswered for 5 s */
    SL_CONN_EV_REJECTED,      /* connection_rejected: SYN answered by RST */
    SL_CONN_EV_RESET,         /* connection_reset */
    SL_CONN_EV_PENDING,       /* connection_pending: still open at the end of input */
    SL_CONN_EV_FINISHED,      /* connection_finished: both sides closed */
    SL_CONN_EV_HALF_FINISHED, /* connection_half_finished: one side closed, the other silent */
    SL_CONN_EV_PARTIAL,       /* partial_connection: both sides seen without a SYN */
};

/* Events. Any pointer may be NULL. The connection is valid during the call;
 * `removed` is the last call for it (its record can be built there). */
struct sl_conn_ops {
    void *ctx;
    void (*conn_new)(void *ctx, struct sl_conn *c);
    void (*established)(void *ctx, struct sl_conn *c);
    void (*flipped)(void *ctx, struct sl_conn *c);
    void (*removed)(void *ctx, struct sl_conn *c, enum sl_conn_why why);
    /* A weird tied to the connection (Zeek's conn_weird); source may be "". */
    void (*weird)(void *ctx, struct sl_conn *c, const char *name, const char *addl,
                  const char *source);
    /* In-order TCP payload of one direction (when want & SL_CONN_WANT_STREAM). */
    void (*tcp_data)(void *ctx, struct sl_conn *c, bool is_orig, const uint8_t *data, uint32_t len);
    /* An endpoint closed (FIN/RST processed; Zeek's ConnectionClosed). */
    void (*tcp_closed)(void *ctx, struct sl_conn *c, bool is_orig);
    /* A TCP connection event (enum sl_conn_event). */
    void (*event)(void *ctx, struct sl_conn *c, enum sl_conn_event ev);
};

struct sl_conn_cfg {
    uint64_t max_conns;     /* 0 = unlimited */
    struct sl_uid_gen *uid; /* uids for new connections */
};

struct sl_conn_stats {
    uint64_t active;
    uint64_t total;
    uint64_t evicted;
    uint64_t reused;
    uint64_t max_active;
    /* Zeek's get_gap_stats(): ACKs of established connections' data and
     * those that acknowledged bytes never seen (capture loss). */
    uint64_t ack_events, ack_bytes, gap_events, gap_bytes;
};

/* One TCP segment (the packet's TCP header and what follows). */
struct sl_conn_tcp {
    uint32_t seq, ack;
    uint16_t win;
    uint8_t flags;   /* SL_TCP_* */
    uint32_t len;    /* payload length the IP header implies */
    uint32_t caplen; /* payload bytes captured (may be < len) */
    const uint8_t *data;
    const uint8_t *opt; /* TCP options */
    uint32_t opt_len;
};

struct sl_conn_tab;

struct sl_conn_tab *sl_conn_tab_new(const struct sl_conn_cfg *cfg, const struct sl_conn_ops *ops);
void sl_conn_tab_free(struct sl_conn_tab *t);

/* Moves network time to max(now, ts) and fires due timers. */
void sl_conn_advance(struct sl_conn_tab *t, double ts);
double sl_conn_now(const struct sl_conn_tab *t);

/* The connection for a packet: found (with reuse detection for a TCP SYN,
 * and the encapsulation check), or created (roles flipped as Zeek decides
 * from `tcp` flags and likely server ports). *is_orig tells the packet's
 * direction. `tcp` is required for TCP, NULL otherwise. `encap` may be NULL
 * for a packet outside any tunnel. Returns NULL on allocation failure. */
struct sl_conn *sl_conn_get(struct sl_conn_tab *t, const struct sl_conn_id *id,
                            const struct sl_conn_tcp *tcp, const struct sl_conn_encap *encap,
                            bool *is_orig);

/* Per-protocol packet processing, after sl_conn_get. `ip_len` is the IP
 * packet's total length (ConnSize's ip bytes). */
void sl_conn_tcp_packet(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig,
                        const struct sl_conn_tcp *s, uint32_t ip_len);
/* A TCP segment that failed its checksum: history C/c, not analysed. */
void sl_conn_tcp_bad_checksum(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig);
/* UDP datagram (history, size). ulen is the UDP header's length field.
 * The packet is counted with sl_conn_count() once its payload went through
 * the application analyzers (which may flip the roles first). */
void sl_conn_udp_packet(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig, uint32_t ulen);
/* ConnSize: one packet of ip_len IP bytes in direction is_orig. */
void sl_conn_count(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig, uint32_t ip_len);
/* An application analyzer's session timer (Zeek's DNS_Analyzer on UDP):
 * every `timeout` seconds the connection is removed if idle for at least
 * timeout - 1 s; at the end of input it is removed before the others. */
void sl_conn_set_analyzer_expire(struct sl_conn_tab *t, struct sl_conn *c, double timeout);
void sl_conn_udp_bad_checksum(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig);
/* ICMP message: len is the ICMP length the IP header implies (header
 * included); counted says whether the whole message was captured (Zeek
 * counts the packet in ConnSize only then). */
void sl_conn_icmp_packet(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig, int32_t len,
                         bool counted, uint32_t ip_len);
/* Any other IP protocol. */
void sl_conn_other_packet(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig, uint32_t ip_len);

/* Swaps the roles (Conn::FlipRoles), e.g. for an analyzer that finds the
 * originator answered. Appends '^' to the history. */
void sl_conn_flip(struct sl_conn_tab *t, struct sl_conn *c);
/* Conn::CheckHistory for a module's letter (once per connection per mask). */
void sl_conn_check_history(struct sl_conn *c, uint32_t mask, char letter);
/* Adds a service name (a static string) unless present; removes one. */
void sl_conn_add_service(struct sl_conn *c, const char *name);
void sl_conn_del_service(struct sl_conn *c, const char *name);

/* State queries. */
const char *sl_conn_history(const struct sl_conn *c);
enum sl_endp_state sl_conn_endp_state(const struct sl_conn *c, bool orig);
uint64_t sl_conn_endp_size(const struct sl_conn *c, bool orig); /* endpoint$size */
/* TCPSessionAdapter::IsPartial(): a side began without a SYN. Zeek's HTTP,
 * POP3, IMAP, ... analyzers ignore the stream of a partial connection. */
bool sl_conn_tcp_is_partial(const struct sl_conn *c);
const char *sl_conn_state_str(const struct sl_conn *c); /* conn_state */
const char *sl_conn_trans_name(uint8_t trans);          /* "tcp", ... */

/* Ends the input: fires attempt timers, removes everything in key order. */
void sl_conn_finish(struct sl_conn_tab *t);

void sl_conn_get_stats(const struct sl_conn_tab *t, struct sl_conn_stats *s);

/* ---- conn.log ---- */

extern const struct sl_log_schema sl_conn_schema;
#define SL_CONN_N_FIELDS 22

/* A conn.log record with its text buffers. */
struct sl_conn_rec {
    struct sl_log_val v[SL_CONN_N_FIELDS];
    char ts[32], orig_h[48], orig_p[8], resp_h[48], resp_p[8], service[64], duration[32];
    char orig_bytes[24], resp_bytes[24], missed[24], history[256];
    char orig_pkts[24], orig_ip_bytes[24], resp_pkts[24], resp_ip_bytes[24], ip_proto[8];
    const char *parents[SL_CONN_MAX_PARENTS];
};

/* Fills r as Zeek's set_conn() at connection removal. `local` may be NULL
 * (then local_orig/local_resp stay unset, as with an empty Site::local_nets). */
void sl_conn_record(const struct sl_conn *c, const struct sl_net *local, struct sl_conn_rec *r);

#endif
