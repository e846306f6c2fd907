/* sl_dns: DNS analysis with the semantics of Zeek 8.0's DNS analyzer
 * (src/analyzer/protocol/dns/DNS.cc) and base/protocols/dns/main.zeek.
 *
 * One struct sl_dns_state per connection that carries DNS (UDP or TCP). The
 * caller feeds it payload: a whole datagram per call for UDP, the in-order
 * reassembled byte stream of one direction for TCP (any split: the 2-byte
 * length framing is undone here, messages may span calls). The state parses
 * each message with a bounds-checked cursor, pairs requests and replies by
 * transaction id the way main.zeek does (a fast-path pending query, then
 * per-id FIFO queues of unmatched queries and of unmatched replies, each
 * capped at 50 ids / 50 messages per id as max_pending_query_ids and
 * max_pending_msgs), and emits a dns.log record through a callback:
 *   - when a message completes a pair (the second of request/reply seen);
 *   - from sl_dns_conn_end() for everything still unmatched (main.zeek's
 *     finalize_dns at connection removal), and when a pending table
 *     overflows its cap.
 * Fields are filled as main.zeek fills them: query/qclass/qtype/RD/TC/Z from
 * the request (the query name lower-cased, NetBIOS names decoded on 137/udp);
 * rcode/rejected from the reply header; AA/RA/rtt and answers/TTLs only from
 * answer-section RRs of a reply (so a reply without answers leaves RA F and
 * rtt unset, as in Zeek's baselines). Answer text per RR type is main.zeek's:
 * A/AAAA/A6 the address, NS/CNAME/PTR/MX/SRV/SOA the (mname/target) name,
 * TXT/SPF "TXT <len> <string>" joined by spaces, NAPTR, RRSIG, DNSKEY, NSEC,
 * NSEC3, NSEC3PARAM, DS, BIND9 signing, SSHFP, LOC as the script formats them,
 * anything else "<unknown type=N>". Authority and additional sections are not
 * parsed (Zeek's dns_skip_all_auth/addl default to T).
 *
 * Names are rendered as Zeek's ExtractName does: labels joined by '.', no
 * trailing dot, compression pointers followed only backwards (a forward or
 * self pointer is a weird), at most 20 pointers deep, 512 bytes at most. Raw
 * bytes are kept; the log writer (sl_log) escapes non-printables. One
 * limitation: sl_log_val strings are C strings, so a name or TXT string with
 * a NUL byte is cut at the NUL (counted in nul_cut).
 *
 * Malformed input never crashes: it yields Zeek's weird names
 * (DNS_truncated_len_lt_hdr_len, DNS_truncated_quest_too_short,
 * DNS_truncated_ans_too_short, DNS_truncated_RR_rdlength_lt_len,
 * DNS_RR_length_mismatch, DNS_RR_bad_length, DNS_label_forward_compress_offset,
 * DNS_label_len_gt_pkt, DNS_label_too_long, DNS_label_len_gt_name_len,
 * DNS_NAME_too_long, DNS_max_compression_chain_depth_exceeded,
 * DNS_zero_rdlength, DNS_unknown_opcode, DNS_Conn_count_too_large,
 * DNS_RR_unknown_type, DNS_TXT_char_str_past_rdlen, EDNS_*, DNSSEC_*, ...)
 * through the weird callback, with Zeek's "addl" text where Zeek gives one.
 * Zeek 8 has no dns_unmatched_msg/dns_unmatched_reply weirds: unmatched
 * messages are simply logged at connection end, and so they are here.
 *
 * Analyzer life cycle as Zeek's DPD: the first message whose question and
 * answer sections parse confirms the analyzer (confirm callback: add "dns"
 * to the connection's services); a protocol violation (more than 25
 * questions, a short NAPTR) disables it while the connection has carried at
 * most 10 KiB (DPD::ignore_violations_after), reported through `failed`
 * (remove "dns" from services); a disabled state ignores further payload.
 *
 * Not thread-safe; one state belongs to one connection of one worker.
 */
#ifndef SL_DNS_H
#define SL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_log.h"

/* dns.log, Zeek 8.0's default columns. */
extern const struct sl_log_schema sl_dns_schema;

enum sl_dns_field {
    SL_DNS_TS = 0,
    SL_DNS_UID,
    SL_DNS_ORIG_H,
    SL_DNS_ORIG_P,
    SL_DNS_RESP_H,
    SL_DNS_RESP_P,
    SL_DNS_PROTO,
    SL_DNS_TRANS_ID,
    SL_DNS_RTT,
    SL_DNS_QUERY,
    SL_DNS_QCLASS,
    SL_DNS_QCLASS_NAME,
    SL_DNS_QTYPE,
    SL_DNS_QTYPE_NAME,
    SL_DNS_RCODE,
    SL_DNS_RCODE_NAME,
    SL_DNS_AA,
    SL_DNS_TC,
    SL_DNS_RD,
    SL_DNS_RA,
    SL_DNS_Z,
    SL_DNS_ANSWERS,
    SL_DNS_TTLS,
    SL_DNS_REJECTED,
    SL_DNS_N_FIELDS
};

/* The connection as Zeek's conn_id shows it. Addresses are 16 bytes,
 * IPv4 as IPv4-mapped IPv6 (the sl_pkt convention). proto is 6 or 17. */
struct sl_dns_conn {
    uint8_t orig_h[16];
    uint8_t resp_h[16];
    uint16_t orig_p;
    uint16_t resp_p;
    uint8_t proto;
    char uid[24]; /* NUL-terminated */
};

struct sl_dns_cbs {
    void *ctx;
    /* One dns.log record, SL_DNS_N_FIELDS values in sl_dns_schema order.
     * The values live only for the duration of the call. */
    void (*record)(void *ctx, const struct sl_log_val *vals);
    /* A weird for this connection; addl may be NULL. Zeek's source is "DNS". */
    void (*weird)(void *ctx, double ts, const char *name, const char *addl);
    /* Analyzer confirmed (once): the connection's service gains "dns". */
    void (*confirm)(void *ctx, double ts);
    /* Analyzer disabled after a violation: the service loses "dns". */
    void (*failed)(void *ctx, double ts, const char *reason);
    /* The first message seen from the originator was a reply: Zeek flips
     * the connection's roles (not for a multicast responder). The state has
     * already swapped its own endpoints; the caller flips its connection, and
     * from then on passes is_orig relative to the new roles. */
    void (*flip)(void *ctx, double ts);
    /* A letter for conn.log's history: 'X' for each message with a
     * non-query opcode; the caller applies Zeek's
     * CheckHistory(HIST_UNKNOWN_PKT = 0x400, 'X'), which adds it once. */
    void (*history)(void *ctx, char letter);
};

/* Counters of one state (summed by callers for stats). */
struct sl_dns_counters {
    uint64_t msgs;     /* messages parsed (header present) */
    uint64_t records;  /* dns.log records emitted */
    uint64_t weirds;   /* weirds reported */
    uint64_t nul_cut;  /* strings cut at a NUL byte */
    uint64_t ans_drop; /* answers dropped by the per-state memory cap */
};

struct sl_dns_state;

/* A state for one connection; cbs is copied, record/weird may be NULL.
 * Returns NULL with errno set (EINVAL, ENOMEM). */
struct sl_dns_state *sl_dns_new(const struct sl_dns_conn *conn, const struct sl_dns_cbs *cbs);

/* Payload from one direction at time ts. UDP: one datagram's payload. TCP:
 * the next in-order bytes of that direction's stream (any split). Returns
 * 0, or -EINVAL for bad arguments. Malformed DNS is not an error (weirds). */
int sl_dns_deliver(struct sl_dns_state *s, bool is_orig, double ts, const uint8_t *data,
                   size_t len);

/* The connection's roles were flipped by someone else (the connection
 * tracker): swap the endpoints the state records carry. Not for the state's
 * own flips (those it did already before calling cbs.flip). */
void sl_dns_flip(struct sl_dns_state *s);

/* TCP only: an endpoint closed (where Zeek's TCP adapter calls
 * ConnectionClosed: a FIN or RST that closes an endpoint). As Zeek, a
 * partially buffered message of either direction is parsed as it is. */
void sl_dns_tcp_closed(struct sl_dns_state *s, double ts);

/* The connection is being removed: logs every unmatched query and reply
 * (main.zeek's finalize_dns). Safe to call once; later payload is ignored. */
void sl_dns_conn_end(struct sl_dns_state *s, double ts);

/* True once sl_dns_deliver() has been told to stop (violation). */
bool sl_dns_disabled(const struct sl_dns_state *s);

const struct sl_dns_counters *sl_dns_counters(const struct sl_dns_state *s);

/* Frees the state without logging anything still pending. NULL is fine. */
void sl_dns_free(struct sl_dns_state *s);

/* Zeek's name tables (consts.zeek), with their defaults for unknown values
 * ("query-N", "qclass-N", "rcode-N"). buf needs 24 bytes; returns a static
 * string or buf. */
const char *sl_dns_qtype_name(unsigned qtype, char *buf, size_t n);
const char *sl_dns_qclass_name(unsigned qclass, char *buf, size_t n);
const char *sl_dns_rcode_name(unsigned rcode, char *buf, size_t n);

/* True for the ports main.zeek registers the DNS analyzer on:
 * 53/udp, 53/tcp, 137/udp, 5353/udp, 5355/udp. */
bool sl_dns_port(uint8_t proto, uint16_t port);

#endif
