/* sl_notice: notice.log records and exact notice suppression, with the
 * semantics of Zeek 8.0's base/frameworks/notice/main.zeek.
 *
 * A notice is raised with sl_notice_raise(). As NOTICE() does, it is first
 * checked against the suppression table; a suppressed notice is counted and
 * dropped. Otherwise apply_policy() fills the defaults (src/dst/p from the
 * conn id when given, proto from the port, actions = {Notice::ACTION_LOG},
 * email_dest = {}, suppress_for = the per-type or default interval,
 * peer_descr as given, remote_location.* unset as no geo data is loaded),
 * the record is emitted, and when the notice has an identifier and a non-zero
 * suppress_for and (note, identifier) is not yet suppressed, the pair is
 * suppressed until ts + suppress_for.
 *
 * Exactness (Zeek is only best-effort here: its table expires entries on a
 * timer, and cluster nodes learn of suppressions after a delay): a notice
 * with time t is suppressed iff an earlier logged notice with the same note
 * and identifier started a suppression ending at u with t < u. Time is the
 * notices' own ts (network time); expiry is checked at each lookup and
 * swept with sl_notice_expire(). Notices without an identifier are never
 * suppressed. The manager of a cluster, the one place notices pass, gets
 * the same result as standalone when it processes notices in ts order.
 *
 * Memory: the table holds at most `max_entries` live suppressions. When it is
 * full (after dropping expired entries) a new suppression is not recorded,
 * the notice itself is still logged, and `table_full` counts it.
 */
#ifndef SL_NOTICE_H
#define SL_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_log.h"

/* notice.log, Zeek 8.0's columns. */
extern const struct sl_log_schema sl_notice_schema;

enum sl_notice_field {
    SL_NOTICE_TS = 0,
    SL_NOTICE_UID,
    SL_NOTICE_ORIG_H,
    SL_NOTICE_ORIG_P,
    SL_NOTICE_RESP_H,
    SL_NOTICE_RESP_P,
    SL_NOTICE_FUID,
    SL_NOTICE_FILE_MIME_TYPE,
    SL_NOTICE_FILE_DESC,
    SL_NOTICE_PROTO,
    SL_NOTICE_NOTE,
    SL_NOTICE_MSG,
    SL_NOTICE_SUB,
    SL_NOTICE_SRC,
    SL_NOTICE_DST,
    SL_NOTICE_P,
    SL_NOTICE_N,
    SL_NOTICE_PEER_DESCR,
    SL_NOTICE_ACTIONS,
    SL_NOTICE_EMAIL_DEST,
    SL_NOTICE_SUPPRESS_FOR,
    SL_NOTICE_RL_COUNTRY_CODE,
    SL_NOTICE_RL_REGION,
    SL_NOTICE_RL_CITY,
    SL_NOTICE_RL_LATITUDE,
    SL_NOTICE_RL_LONGITUDE,
    SL_NOTICE_N_FIELDS
};

/* One notice as a script builds it for NOTICE(). Strings NULL = unset.
 * Addresses are 16 bytes (IPv4-mapped for IPv4). Transport protocols are
 * IP protocol numbers (6 tcp, 17 udp, 1/58 icmp; anything else "unknown"). */
struct sl_notice {
    double ts;        /* network time the notice is raised at */
    const char *note; /* "Scan::Port_Scan" ... (required) */
    const char *msg;
    const char *sub;
    const char *uid;
    bool has_id; /* conn id (id.* columns; fills src/dst/p when unset) */
    uint8_t orig_h[16], resp_h[16];
    uint16_t orig_p, resp_p;
    uint8_t id_proto;
    const char *fuid, *file_mime_type, *file_desc;
    bool has_src, has_dst, has_p, has_n;
    uint8_t src[16], dst[16];
    uint16_t p;
    uint8_t p_proto;
    uint64_t n;
    const char *peer_descr; /* Cluster::node in a cluster; unset standalone */
    const char *identifier; /* NULL: never suppressed */
    bool has_suppress_for;  /* else the per-type or default interval */
    double suppress_for;
};

struct sl_notice_cfg {
    double default_suppression_interval; /* Zeek's default: 3600 s */
    size_t max_entries;                  /* live suppressions kept; 0 = 1<<20 */
    void *ctx;
    /* One notice.log record (SL_NOTICE_N_FIELDS values, valid during the
     * call). May be NULL. */
    void (*record)(void *ctx, const struct sl_log_val *vals);
};

struct sl_notice_counters {
    uint64_t raised;     /* sl_notice_raise() calls */
    uint64_t logged;     /* records emitted */
    uint64_t suppressed; /* dropped by suppression */
    uint64_t table_full; /* suppressions not recorded: table full */
    uint64_t expired;    /* suppressions that ran out */
};

struct sl_notice_ctx;

/* Returns NULL with errno set (ENOMEM, EINVAL for a negative interval). */
struct sl_notice_ctx *sl_notice_new(const struct sl_notice_cfg *cfg);
void sl_notice_free(struct sl_notice_ctx *c);

/* Notice::type_suppression_intervals[note] = interval (0 also covers
 * not_suppressed_types). Returns 0 or -ENOMEM/-EINVAL. */
int sl_notice_set_type_interval(struct sl_notice_ctx *c, const char *note, double interval);

/* NOTICE(). *logged (may be NULL) tells whether a record was emitted.
 * Returns 0, or -EINVAL (no note). */
int sl_notice_raise(struct sl_notice_ctx *c, const struct sl_notice *n, bool *logged);

/* Whether (note, identifier) is suppressed at time t. */
bool sl_notice_is_suppressed(struct sl_notice_ctx *c, const char *note, const char *identifier,
                             double t);

/* Notice::begin_suppression from elsewhere (a suppression some other node
 * decided): suppressed until ts + suppress_for, unless already suppressed.
 * Returns 0, -ENOSPC (table full) or -ENOMEM. */
int sl_notice_suppress(struct sl_notice_ctx *c, const char *note, const char *identifier, double ts,
                       double suppress_for);

/* Drops suppressions that ended at or before `now`. */
void sl_notice_expire(struct sl_notice_ctx *c, double now);

size_t sl_notice_active(const struct sl_notice_ctx *c);
const struct sl_notice_counters *sl_notice_counters(const struct sl_notice_ctx *c);

#endif
