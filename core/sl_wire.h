/* sl_wire: the messages cluster nodes exchange, as msgpack (msgpack-c).
 *
 * One message is one ZeroMQ frame:
 *
 *   byte 0   SL_WIRE_VERSION
 *   byte 1   enum sl_wire_type
 *   byte 2.. one msgpack array, the body of that type (below)
 *
 * Messages describe themselves: a log batch carries each stream's path and
 * field names/types next to its records, so a logger writes streams it has
 * never heard of and a restarted logger needs no handshake. Records travel as
 * the rendered text of struct sl_log_val (nil = unset, str = scalar, array of
 * str = container), exactly what sl_log writes.
 *
 * Bodies (msgpack; u = uint, f = float64, s = str):
 *   LOG       [node s, seq u, [section...]]
 *             section = [path s, [[name s, type u]...], [[val...]...]]
 *   KNOWN     [set s, key s, origin s, seq u, entry s, epoch u, hops u, ts f,
 *              flags u, section-with-one-record]
 *   SCAN      [node s, seq u, ts f, kind u, scanner s, victim s, port u, proto u]
 *   NOTICE    [node s, seq u, ts f, note s, identifier s|nil, suppress_for f,
 *              section-with-one-record]
 *   HEARTBEAT [node s, role u, seq u, wall f, {name s: value u}]
 *   CONTROL   [kind u, node s, epoch u, [name s...]]
 *   ACK       [node s, type u, origin s, seq u]
 *   CLOCK     [node s, epoch u, ts f]
 *
 * Decoding checks everything: version, type, the msgpack structure (with a
 * bounds-checked walk before msgpack-c builds objects, so a forged length
 * cannot make it allocate gigabytes), every field's msgpack type, names and
 * paths (printable, no spaces; paths may not leave the log directory), field
 * types, value shapes against the schema, and that nothing trails. Garbage
 * gives -EBADMSG and a one-line reason, never a crash.
 */
#ifndef SL_WIRE_H
#define SL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_known.h"
#include "sl_log.h"
#include "sl_notice.h"
#include "sl_scan.h"

#define SL_WIRE_VERSION    1
#define SL_WIRE_MAX_NAME   255         /* node, set, key, path, note, field names */
#define SL_WIRE_MAX_FIELDS 256         /* fields of one stream */
#define SL_WIRE_MAX_MSG    (16u << 20) /* a message larger than this is refused */

enum sl_wire_type {
    SL_WIRE_LOG = 1,   /* batch of log records, acknowledged by the logger */
    SL_WIRE_KNOWN,     /* insertion into a synchronised set (known hosts/services) */
    SL_WIRE_SCAN,      /* scan observation, for the manager's aggregation */
    SL_WIRE_NOTICE,    /* notice raised on a node, for the manager's suppression */
    SL_WIRE_HEARTBEAT, /* liveness + counters, node -> manager */
    SL_WIRE_CONTROL,   /* membership, attach, done, shutdown */
    SL_WIRE_ACK,       /* receipt of a LOG batch or settling of a KNOWN insertion */
    SL_WIRE_CLOCK,     /* event-time watermark: no later message has ts < this */
    SL_WIRE_TYPE_MAX
};

/* Node roles, as carried in heartbeats (same order as sl_topo's types). */
enum sl_wire_role {
    SL_ROLE_LOGGER = 1,
    SL_ROLE_MANAGER,
    SL_ROLE_PROXY,
    SL_ROLE_WORKER,
    SL_ROLE_FRONTEND,
    SL_ROLE_MAX
};

enum sl_wire_ctl {
    SL_CTL_VIEW = 1, /* manager: live nodes at `epoch` (names) */
    SL_CTL_ATTACH,   /* worker -> proxy: I am yours at `epoch` */
    SL_CTL_DONE,     /* worker -> manager/proxy: input finished, all sent */
    SL_CTL_SHUTDOWN, /* manager -> all: drain and exit */
    SL_CTL_MAX
};

/* KNOWN flags */
#define SL_WIRE_KF_DOWN 0x1 /* proxy -> worker: learn this item, do not forward */

/* One stream's records. Encoding reads schema + vals; decoding fills them
 * with pointers into the message. vals holds n_records * schema.n_fields. */
struct sl_wire_section {
    struct sl_log_schema schema;
    uint32_t n_records;
    const struct sl_log_val *vals;
};

struct sl_wire_log {
    const char *node;
    uint64_t seq; /* per node, from 1; (node, seq) identifies the batch */
    uint32_t n_sections;
    const struct sl_wire_section *sections;
};

struct sl_wire_known {
    const char *set;    /* "hosts", "services" */
    const char *key;    /* the set element, rendered */
    const char *origin; /* node that first inserted it ... */
    uint64_t seq;       /* ... and its sequence: (origin, seq) identifies the insertion */
    const char *entry;  /* proxy that took it from the origin ("" until then) */
    uint64_t epoch;     /* membership epoch the sender acted on */
    uint32_t hops;
    double ts;                  /* network time the origin saw it */
    uint32_t flags;             /* SL_WIRE_KF_* */
    struct sl_wire_section rec; /* the log record, n_records == 1 */
};

struct sl_wire_scan {
    const char *node;
    uint64_t seq;
    double ts;
    uint8_t kind; /* module-defined observation kind */
    const char *scanner;
    const char *victim;
    uint16_t port;
    uint8_t proto;
};

struct sl_wire_notice {
    const char *node;
    uint64_t seq;
    double ts;
    const char *note;
    const char *identifier; /* NULL: no suppression */
    double suppress_for;
    /* The notice itself, n_records == 1: the cluster sends the notice as it
     * was raised (cluster/codec.c), so that the manager applies the notice
     * policy and suppression in one place. */
    struct sl_wire_section rec;
};

struct sl_wire_counter {
    const char *name;
    uint64_t value;
};

struct sl_wire_heartbeat {
    const char *node;
    uint8_t role; /* enum sl_wire_role */
    uint64_t seq;
    double wall;
    uint32_t n_counters;
    const struct sl_wire_counter *counters;
};

struct sl_wire_control {
    uint8_t kind; /* enum sl_wire_ctl */
    const char *node;
    uint64_t epoch;
    uint32_t n_names;
    const char *const *names;
};

struct sl_wire_ack {
    const char *node;   /* who acknowledges */
    uint8_t of_type;    /* SL_WIRE_LOG or SL_WIRE_KNOWN */
    const char *origin; /* identity of what is acknowledged */
    uint64_t seq;
};

struct sl_wire_clock {
    const char *node;
    uint64_t epoch;
    double ts; /* INFINITY: input finished */
};

struct sl_wire_msg {
    uint8_t version;
    uint8_t type; /* enum sl_wire_type */
    union {
        struct sl_wire_log log;
        struct sl_wire_known known;
        struct sl_wire_scan scan;
        struct sl_wire_notice notice;
        struct sl_wire_heartbeat hb;
        struct sl_wire_control ctl;
        struct sl_wire_ack ack;
        struct sl_wire_clock clock;
    } u;
    void *arena_; /* owns every string and array above */
};

/* A growable byte buffer messages are encoded into. Zero-initialise it;
 * sl_wire_buf_free releases it. Encoders append. */
struct sl_wire_buf {
    char *data;
    size_t len;
    size_t cap;
};
void sl_wire_buf_reset(struct sl_wire_buf *b);
void sl_wire_buf_free(struct sl_wire_buf *b);

/* Encoders: append one whole message to b. Return 0 or -errno (-EINVAL for a
 * name that decoding would refuse, or a record that does not fit its schema). */
int sl_wire_enc_log(struct sl_wire_buf *b, const struct sl_wire_log *m);
int sl_wire_enc_known(struct sl_wire_buf *b, const struct sl_wire_known *m);
int sl_wire_enc_scan(struct sl_wire_buf *b, const struct sl_wire_scan *m);
int sl_wire_enc_notice(struct sl_wire_buf *b, const struct sl_wire_notice *m);
int sl_wire_enc_heartbeat(struct sl_wire_buf *b, const struct sl_wire_heartbeat *m);
int sl_wire_enc_control(struct sl_wire_buf *b, const struct sl_wire_control *m);
int sl_wire_enc_ack(struct sl_wire_buf *b, const struct sl_wire_ack *m);
int sl_wire_enc_clock(struct sl_wire_buf *b, const struct sl_wire_clock *m);

/* Decodes one message. On success *m points into its own arena: release it
 * with sl_wire_msg_clear. Returns 0, -EBADMSG with a one-line reason in err
 * (when errlen > 0), or -ENOMEM. *m is always safe to clear afterwards. */
int sl_wire_decode(const void *data, size_t len, struct sl_wire_msg *m, char *err, size_t errlen);
void sl_wire_msg_clear(struct sl_wire_msg *m);

/* Printable name of a message type ("log", "known", ...; "?" when unknown). */
const char *sl_wire_type_name(unsigned type);
const char *sl_wire_role_name(unsigned role);
/* "logger" ... -> role; 0 when unknown. */
unsigned sl_wire_role_parse(const char *s);

/* True when s is acceptable as a node/set/key/note name: 1..SL_WIRE_MAX_NAME
 * printable ASCII bytes, no space. */
bool sl_wire_name_ok(const char *s);

/* Builds LOG batches record by record. Records are packed as they are added
 * (the caller's strings may be freed right after), grouped by schema
 * (compared by pointer: one schema object per stream). */
struct sl_wire_batch;
struct sl_wire_batch *sl_wire_batch_new(void);
void sl_wire_batch_free(struct sl_wire_batch *bt);
/* Adds one record of schema s. Returns 0 or -errno (-EINVAL: values do not
 * fit the schema). */
int sl_wire_batch_add(struct sl_wire_batch *bt, const struct sl_log_schema *s,
                      const struct sl_log_val *vals);
uint32_t sl_wire_batch_records(const struct sl_wire_batch *bt);
size_t sl_wire_batch_bytes(const struct sl_wire_batch *bt);
/* Appends the LOG message (node, seq) holding everything added since the
 * last finish to out, and empties the batch. Returns 0 or -errno. */
int sl_wire_batch_finish(struct sl_wire_batch *bt, const char *node, uint64_t seq,
                         struct sl_wire_buf *out);

/* A set of (node, seq) identities, for de-duplication (loggers: batches
 * already written; proxies: insertions already applied). */
struct sl_wire_seen;
struct sl_wire_seen *sl_wire_seen_new(void);
void sl_wire_seen_free(struct sl_wire_seen *s);
/* 1 when added, 0 when it was already there, -ENOMEM. */
int sl_wire_seen_add(struct sl_wire_seen *s, const char *node, uint64_t seq);
bool sl_wire_seen_has(const struct sl_wire_seen *s, const char *node, uint64_t seq);
size_t sl_wire_seen_count(const struct sl_wire_seen *s);

/* FNV-1a 64 of a string: stable across nodes and runs (ownership, logger pick). */
uint64_t sl_wire_hash(const char *s);

/* ---------------------------------------------------------- module payloads
 * The structs of sl_notice, sl_scan and sl_known as messages and back: text
 * in, text out, every field as a log would show it. */

/* Addresses travel as text (IPv4 as a dotted quad). 0 or -EINVAL. */
int sl_wire_addr_parse(const char *s, uint8_t out[16]);

/* A notice as raised (struct sl_notice) travels as one record of this
 * schema, so the manager runs it through sl_notice itself. */
extern const struct sl_log_schema sl_wire_notice_schema;
#define SL_WIRE_NOTICE_FIELDS 21
struct sl_wire_notice_buf {
    char ts[32], orig_h[48], resp_h[48], src[48], dst[48], num[6][24], sup[32];
};
void sl_wire_notice_to_vals(const struct sl_notice *n, struct sl_log_val *vals,
                            struct sl_wire_notice_buf *b);
/* Strings of *n point into vals. 0 or -EINVAL. */
int sl_wire_notice_from_vals(const struct sl_wire_section *rec, struct sl_notice *n);

/* Scan observations. */
int sl_wire_scan_encode(const struct sl_scan_obs *o, const char *node, uint64_t seq,
                        struct sl_wire_buf *b);
int sl_wire_scan_decode(const struct sl_wire_scan *m, struct sl_scan_obs *o);

/* Known items: set "hosts" / "services"; key = address, or
 * "address/port/proto" (a service row: Zeek's HRW key). The record is the
 * known_hosts / known_services record; the ts travels exactly in k->ts. */
int sl_wire_known_host_key(const struct sl_known_host *h, char *key, size_t n);
int sl_wire_known_service_key(const struct sl_known_service *s, char *key, size_t n);
int sl_wire_known_host(const struct sl_wire_known *k, struct sl_known_host *h);
int sl_wire_known_service(const struct sl_wire_known *k, struct sl_known_service *s);

#endif
