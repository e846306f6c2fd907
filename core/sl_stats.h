/* sl_stats: stats.log and capture_loss.log as Zeek 8.0's
 * policy/misc/stats.zeek and policy/misc/capture-loss.zeek write them
 * (both loaded by Zeek's local.zeek), from counters the analyzer keeps.
 *
 * Timing follows the scripts, in network time: both schedule their first
 * run from zeek_init, when a trace's network time is still 0, so the first
 * timer fires at the first packet.
 *  - stats: a record at the first packet (counting that packet: give
 *    counters that include it), then one at the first packet at or after
 *    each previous record + report_interval (5 min), and a last one when the
 *    input ends. Per-interval fields are differences from the previous
 *    record; active_* are current values.
 *  - capture_loss: the first timer only re-arms (initial_watch_interval,
 *    1 min, from the first packet); then a record per watch_interval
 *    (15 min), and a last one when the input ends. gaps/acks are the
 *    differences of the ACKs-for-unseen-data and ACK counters;
 *    percent_lost = 100 * gaps / acks (0 without ACKs). A record with
 *    percent_lost >= 10 also raises CaptureLoss::Too_Much_Loss, one with
 *    fewer than 1 ACK CaptureLoss::Too_Little_Traffic (no identifier:
 *    never suppressed), through the notice callback.
 *
 * Honesty: a stats.log field sluice cannot fill is left unset ('-') rather
 * than invented; each group of counters has a has_* flag. The live-capture
 * fields (pkts_dropped, pkts_link, pkt_lag, pkts_filtered) are set only for
 * live capture, as in Zeek. files/dns_requests are Zeek's file-analysis and
 * its own resolver lookups; sluice has neither, so 0 is the true value when
 * the caller says so (has_files/has_dns).
 */
#ifndef SL_STATS_H
#define SL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_log.h"
#include "sl_notice.h"

extern const struct sl_log_schema sl_stats_schema;
extern const struct sl_log_schema sl_capture_loss_schema;

enum sl_stats_field {
    SL_ST_TS = 0,
    SL_ST_PEER,
    SL_ST_MEM,
    SL_ST_PKTS_PROC,
    SL_ST_BYTES_RECV,
    SL_ST_PKTS_DROPPED,
    SL_ST_PKTS_LINK,
    SL_ST_PKT_LAG,
    SL_ST_PKTS_FILTERED,
    SL_ST_EVENTS_PROC,
    SL_ST_EVENTS_QUEUED,
    SL_ST_ACTIVE_TCP_CONNS,
    SL_ST_ACTIVE_UDP_CONNS,
    SL_ST_ACTIVE_ICMP_CONNS,
    SL_ST_TCP_CONNS,
    SL_ST_UDP_CONNS,
    SL_ST_ICMP_CONNS,
    SL_ST_TIMERS,
    SL_ST_ACTIVE_TIMERS,
    SL_ST_FILES,
    SL_ST_ACTIVE_FILES,
    SL_ST_DNS_REQUESTS,
    SL_ST_ACTIVE_DNS_REQUESTS,
    SL_ST_REASSEM_TCP_SIZE,
    SL_ST_REASSEM_FILE_SIZE,
    SL_ST_REASSEM_FRAG_SIZE,
    SL_ST_REASSEM_UNKNOWN_SIZE,
    SL_ST_N_FIELDS
};

enum {
    SL_CL_TS = 0,
    SL_CL_TS_DELTA,
    SL_CL_PEER,
    SL_CL_GAPS,
    SL_CL_ACKS,
    SL_CL_PERCENT_LOST,
    SL_CL_N_FIELDS
};

/* Cumulative counters at one moment (get_net_stats() and friends). */
struct sl_stats_snap {
    uint64_t pkts_recvd; /* packets received (after the BPF filter) */
    uint64_t bytes_recvd;
    uint64_t mem_bytes; /* process memory (max RSS); 0 = read it here */
    bool live;          /* live capture: the drop fields below are valid */
    uint64_t pkts_dropped, pkts_link;
    bool has_filtered;
    uint64_t pkts_filtered;
    double pkt_lag; /* live: wall clock - network time */
    bool has_events;
    uint64_t events_dispatched, events_queued;
    bool has_conns;
    uint64_t active_tcp, active_udp, active_icmp; /* now */
    uint64_t total_tcp, total_udp, total_icmp;    /* cumulative */
    bool has_timers;
    uint64_t timers_total, timers_active;
    bool has_files;
    uint64_t files_total, files_active;
    bool has_dns;
    uint64_t dns_requests, dns_pending;
    bool has_reassem;
    uint64_t reassem_tcp, reassem_file, reassem_frag, reassem_unknown; /* bytes now */
    /* capture loss (get_gap_stats) */
    uint64_t ack_events, gap_events;
};

struct sl_stats_cfg {
    const char *peer;              /* peer_description: "zeek", or the node name */
    double report_interval;        /* 300 */
    double initial_watch_interval; /* 60 */
    double watch_interval;         /* 900 */
    double too_much_loss;          /* 0.1 (a fraction) */
    uint64_t minimum_acks;         /* 1 */
    bool capture_loss;             /* write capture_loss.log */
    void *ctx;
    void (*stats_record)(void *ctx, const struct sl_log_val *vals);
    void (*loss_record)(void *ctx, const struct sl_log_val *vals);
    void (*notice)(void *ctx, const struct sl_notice *n);
};

void sl_stats_cfg_default(struct sl_stats_cfg *cfg);

struct sl_stats;

struct sl_stats *sl_stats_new(const struct sl_stats_cfg *cfg); /* NULL + errno */
void sl_stats_free(struct sl_stats *s);

/* A packet was processed at network time now; snap holds the counters
 * (including this packet). Writes what is due. */
void sl_stats_tick(struct sl_stats *s, double now, const struct sl_stats_snap *snap);

/* Whether sl_stats_tick() at `now` would write anything (so that a caller
 * gathers its counters only then, not for every packet). */
bool sl_stats_due(const struct sl_stats *s, double now);

/* The input ended at network time now: the last records. */
void sl_stats_finish(struct sl_stats *s, double now, const struct sl_stats_snap *snap);

/* Zeek's rendering of a double in TSV (modp_dtoa3 with 6 digits, trailing
 * zeros dropped, ".0" added to whole numbers): 0 -> "0.0", 12.5 -> "12.5". */
char *sl_stats_fmt_double(double d, char *buf, size_t n);

/* Max RSS of this process in bytes (getrusage), 0 if unknown. */
uint64_t sl_stats_rss(void);

#endif
