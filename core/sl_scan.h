/* sl_scan: TCP scan detection as Zeek's policy/misc/scan.zeek did it (the
 * script's last version, Zeek 6.0; it was removed in 6.1 in favour of an
 * external package, so this is "Zeek's scan policy" as it last shipped).
 *
 * Split in two so that a cluster can run it:
 *
 * 1. Worker side, sl_scan_conn_obs(): given one of Zeek's TCP connection
 *    events (connection_attempt, connection_rejected, connection_reset,
 *    connection_pending) and the connection's endpoint states and history,
 *    decides as the script does whether the connection is a failed one and
 *    who scanned whom (the "reverse" cases where the responder is the
 *    scanner), and yields one observation {ts, scanner, victim, port}.
 *    - attempt: always; reversed when history has 'H'.
 *    - rejected: always; reversed when history has 's'.
 *    - reset / pending: when is_failed_conn() (Sr, or (hR or ShR) with no
 *      data in either direction), else reversed when
 *      is_reverse_failed_conn(); otherwise nothing.
 *
 * 2. Manager side, struct sl_scan_agg: the two SumStats of the script.
 *    - Scan::Address_Scan: key (scanner, port), unique victims; a notice
 *      when the count reaches 25 (addr_scan_threshold) within an epoch.
 *    - Scan::Port_Scan: key (scanner, victim), unique ports; a notice when
 *      it reaches 15 (port_scan_threshold).
 *    Counting is exact (sets of values, the script's unique_max of
 *    threshold + 2 values kept per key). A key crosses at most once per
 *    epoch, as SumStats' threshold tracker allows. The notices carry the
 *    script's text exactly: msg "<scanner> scanned at least <n> unique hosts
 *    on port <p>/tcp in <m>m<s>s" / "<scanner> scanned at least <n> unique
 *    ports of host <victim> in <m>m<s>s" (duration = last - first
 *    observation of the key in the epoch, whole seconds), sub "local" or
 *    "remote" (the scanner, by the is_local predicate), src = scanner, p
 *    (address scan) or dst (port scan), identifier = the scanner's address
 *    as text, ts = the observation that crossed. sl_notice then suppresses
 *    repeats by (note, identifier) for an hour.
 *
 * Epochs: SumStats resets every key each 5 minutes. Here epoch k covers
 * [t0 + k*interval, t0 + (k+1)*interval), t0 being the first packet time
 * (sl_scan_agg_start(), else the first time the aggregator is given). Zeek
 * re-arms its epoch timer from the first packet after it expires, so its
 * boundaries drift by the gap to that packet; a fixed grid is what a
 * manager that never sees packets can reproduce, and it is the same in
 * standalone and cluster.
 *
 * Order: SumStats sees observations in network-time order. A manager that
 * merges several workers feeds them through sl_scan_agg_submit() and
 * releases them with sl_scan_agg_release(watermark), where the watermark is
 * the smallest time every worker has passed; observations are then processed
 * in (ts, arrival) order, which equals what one process would have seen.
 * sl_scan_agg_observe() processes at once (standalone, already in order).
 *
 * Memory: at most max_keys keys live at a time (least recently updated key
 * evicted first, counted) and max_pending observations wait for release
 * (when full the earliest is released early, counted).
 */
#ifndef SL_SCAN_H
#define SL_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_notice.h"

/* Zeek's TCP endpoint states (TCP_INACTIVE ... TCP_RESET, same order). */
enum sl_scan_tcp_state {
    SL_SCAN_TCP_INACTIVE = 0,
    SL_SCAN_TCP_SYN_SENT,
    SL_SCAN_TCP_SYN_ACK_SENT,
    SL_SCAN_TCP_PARTIAL,
    SL_SCAN_TCP_ESTABLISHED,
    SL_SCAN_TCP_CLOSED,
    SL_SCAN_TCP_RESET,
};

/* The Zeek events scan.zeek handles. */
enum sl_scan_event {
    SL_SCAN_EV_ATTEMPT = 0, /* connection_attempt */
    SL_SCAN_EV_REJECTED,    /* connection_rejected */
    SL_SCAN_EV_RESET,       /* connection_reset */
    SL_SCAN_EV_PENDING,     /* connection_pending (still open at the end) */
};

/* A TCP connection at the time of the event. */
struct sl_scan_conn {
    uint8_t orig_h[16], resp_h[16]; /* IPv4 as IPv4-mapped */
    uint16_t orig_p, resp_p;
    enum sl_scan_tcp_state orig_state, resp_state;
    const char *history; /* conn.log's history so far */
};

/* One observation: what a worker ships to the manager. Plain data, fixed
 * layout, so it can be copied onto the wire as is. */
struct sl_scan_obs {
    double ts; /* network time of the event */
    uint8_t scanner[16];
    uint8_t victim[16];
    uint16_t port;  /* the scanned port (TCP) */
    uint8_t proto;  /* 6 */
    uint8_t pad[5]; /* zero */
};

/* Fills *out and returns true when event ev on c is an observation. */
bool sl_scan_conn_obs(enum sl_scan_event ev, const struct sl_scan_conn *c, double ts,
                      struct sl_scan_obs *out);

struct sl_scan_cfg {
    double addr_interval;    /* 300 s */
    double port_interval;    /* 300 s */
    unsigned addr_threshold; /* 25 */
    unsigned port_threshold; /* 15 */
    size_t max_keys;         /* 0 = 1<<18 */
    size_t max_pending;      /* 0 = 1<<16 */
    void *ctx;
    /* Site::is_local_addr (may be NULL: nothing is local) */
    bool (*is_local)(void *ctx, const uint8_t addr[16]);
    /* A crossed threshold: the notice to raise (valid during the call). */
    void (*notice)(void *ctx, const struct sl_notice *n);
};

/* Zeek's defaults. */
void sl_scan_cfg_default(struct sl_scan_cfg *cfg);

struct sl_scan_counters {
    uint64_t observations; /* processed */
    uint64_t notices;      /* thresholds crossed */
    uint64_t epochs;       /* epoch resets */
    uint64_t evicted;      /* keys evicted by max_keys */
    uint64_t forced;       /* released before the watermark (max_pending) */
    uint64_t late;         /* observations older than the current epoch */
};

struct sl_scan_agg;

/* Returns NULL with errno set (EINVAL, ENOMEM). */
struct sl_scan_agg *sl_scan_agg_new(const struct sl_scan_cfg *cfg);
void sl_scan_agg_free(struct sl_scan_agg *a);

/* Anchors the epoch grid at t0 (the first packet time). Only before any
 * time was given; returns 0 or -EBUSY. */
int sl_scan_agg_start(struct sl_scan_agg *a, double t0);

/* Network time moved to `now`: ends epochs that are over. */
void sl_scan_agg_advance(struct sl_scan_agg *a, double now);

/* Processes one observation now (advancing time to o->ts first). */
void sl_scan_agg_observe(struct sl_scan_agg *a, const struct sl_scan_obs *o);

/* Queues an observation for ordered release. Returns 0 or -ENOMEM. */
int sl_scan_agg_submit(struct sl_scan_agg *a, const struct sl_scan_obs *o);

/* Processes queued observations with ts <= watermark in (ts, arrival)
 * order, then advances time to the watermark. */
void sl_scan_agg_release(struct sl_scan_agg *a, double watermark);

/* End of input: processes everything queued. */
void sl_scan_agg_flush(struct sl_scan_agg *a);

size_t sl_scan_agg_keys(const struct sl_scan_agg *a);
size_t sl_scan_agg_pending(const struct sl_scan_agg *a);
const struct sl_scan_counters *sl_scan_agg_counters(const struct sl_scan_agg *a);

#endif
