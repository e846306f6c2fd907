/* node_common: what every cluster daemon shares.
 *
 *  - process plumbing: signal flags, clocks, error lines with the node name;
 *  - ZeroMQ sockets set up one way everywhere: no high-water-mark drops
 *    (queues are bounded by the senders' windows instead), a maximum message
 *    size, a monitor that turns a failed handshake (garbage bytes on the
 *    port) into an error line, and receive helpers that check frame counts
 *    and decode with sl_wire (garbage -> one error line, counted, ignored);
 *  - heartbeats to the manager, with the node's counters, also written to
 *    STATE_DIR/NODE.stats for local-cluster and people;
 *  - the log shipper (nc_ship): batches records per node, sends each batch
 *    to a logger and keeps it until that logger acknowledges it; resends on
 *    a timeout, moves batches to another logger when one stays silent,
 *    blocks (and counts the wait) when its window is full — backpressure,
 *    never a drop;
 *  - the logger core (nc_logger): writes batches with sl_log, exactly once
 *    per (node, seq) across restarts (a journal in the log directory),
 *    rotates, closes.
 */
#ifndef NODE_COMMON_H
#define NODE_COMMON_H

#include <pcap/pcap.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "sl_known.h"
#include "sl_log.h"
#include "sl_notice.h"
#include "sl_ring.h"
#include "sl_scan.h"
#include "sl_topo.h"
#include "sl_wire.h"

/* ------------------------------------------------------------ process */

extern volatile sig_atomic_t nc_stop; /* SIGTERM / SIGINT */
extern volatile sig_atomic_t nc_hup;  /* SIGHUP */
void nc_signals_install(void);

double nc_mono(void); /* monotonic seconds */
double nc_wall(void); /* seconds since the epoch */

/* The node name used in messages ("sluice-node[NAME]"). */
void nc_set_name(const char *name);
const char *nc_name(void);

#if defined(__GNUC__)
#define NC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NC_PRINTF(a, b)
#endif
/* "sluice-node[NAME]: error: ..." / "...: ..." on stderr, one line. */
void nc_err(const char *fmt, ...) NC_PRINTF(1, 2);
void nc_info(const char *fmt, ...) NC_PRINTF(1, 2);

/* Options every daemon takes. */
struct nc_opts {
    const char *topology;
    const char *node;
    const char *state_dir; /* NODE.stats goes here; NULL: nowhere */
    double hb_interval;    /* heartbeat period, default 1 s */
    double flush_interval; /* log batch age limit, default 1 s */
    double dead_after;     /* manager: silence before a node is down, default 5 s */
};
void nc_opts_default(struct nc_opts *o);
/* Consumes a common option at argv[*i] (and its value). Returns 1 when it
 * was one, 0 when not, -1 on a bad value (message printed). */
int nc_opts_parse(struct nc_opts *o, int argc, char **argv, int *i);
extern const char nc_opts_help[];

/* Loads the topology and finds this node, checking its type. NULL after an
 * error line. */
struct sl_topo *nc_load_topology(const struct nc_opts *o, enum sl_topo_type want,
                                 const struct sl_topo_node **self);

/* ------------------------------------------------------------ capture */

/* Live capture that wakes up on its own. libpcap's read timeout is not a
 * bound on an idle interface (1.10 with TPACKET_V3 in immediate mode polls
 * with no timeout, and retries that poll on EINTR), so a loop around a
 * blocking pcap_next_ex would send no heartbeats, flush nothing and never
 * see the stop flag. nc_pcap_live puts an activated handle into
 * non-blocking mode (0, or -errno with err[PCAP_ERRBUF_SIZE] set); then
 * nc_pcap_next returns 1 with a packet, 0 when none came within wait_ms (or a signal
 * arrived: check the stop flag), or pcap_next_ex's negative results. On a
 * file it is pcap_next_ex. */
int nc_pcap_live(pcap_t *p, char *err);
int nc_pcap_next(pcap_t *p, int wait_ms, struct pcap_pkthdr **hdr, const u_char **data);

/* ------------------------------------------------------------ sockets */

/* A socket with the project's options (linger, no HWM drops, max message
 * size, routing id = node name for DEALERs). NULL after an error line. */
void *nc_socket(void *zctx, int type, const char *routing_id);
int nc_bind(void *sock, const char *endpoint);
int nc_connect(void *sock, const char *endpoint);

/* A handshake monitor for a listening socket; poll the returned socket and
 * call nc_monitor_read when it is readable. `what` names it in messages. */
void *nc_monitor(void *zctx, void *sock, const char *what);
void nc_monitor_read(void *mon, const char *what);

/* Sends one frame (optionally preceded by a routing id frame). Retries on
 * EINTR; with ZMQ_DONTWAIT returns -EAGAIN when it would block. */
int nc_send(void *sock, const char *routing_id, const void *data, size_t len, int flags);

/* One received message, decoded. from: the routing id (ROUTER sockets) or
 * "". Returns 1 with *m filled, 0 when nothing was there (non-blocking), or
 * -1 for garbage (error line printed, counted in *garbage, nothing to
 * clear). */
int nc_recv(void *sock, bool router, struct sl_wire_msg *m, char *from, size_t fromlen,
            const char *what, uint64_t *garbage);

/* ------------------------------------------------------------ heartbeats */

struct nc_counters {
    unsigned n;
    struct sl_wire_counter c[64];
};
/* Sets (adds) counter `name`. */
void nc_count_set(struct nc_counters *c, const char *name, uint64_t v);

struct nc_hb;
/* Heartbeats to the manager's PULL (port + 0). */
struct nc_hb *nc_hb_new(void *zctx, const struct sl_topo *t, const struct sl_topo_node *self,
                        const struct nc_opts *o);
/* flush: wait (up to the socket's linger) for what is queued to reach the
 * manager; else drop it (heartbeats only: a later one would say the same). */
void nc_hb_free(struct nc_hb *h, bool flush);
/* The PUSH socket to the manager, for other messages (notices, clocks). */
void *nc_hb_socket(struct nc_hb *h);
/* Sends a heartbeat when due (or now when force), and writes the stats
 * file. Returns 0 or -errno. */
int nc_hb_tick(struct nc_hb *h, const struct nc_counters *c, bool force);

/* Writes STATE_DIR/NODE.stats ("name value" lines) atomically. */
int nc_stats_write(const char *dir, const char *node, const struct nc_counters *c);
/* Reads one counter from such a file. 0 or -errno (-ENOENT: no counter). */
int nc_stats_read(const char *path, const char *name, uint64_t *v);

/* ------------------------------------------------------------ shipper */

struct nc_ship_cfg {
    unsigned max_records; /* per batch, default 1000 (Zeek's write_buffer_size) */
    size_t max_bytes;     /* per batch, default 1 MiB */
    double flush_interval;
    unsigned window;       /* batches in flight per logger, default 16 */
    double resend_after;   /* default 2 s */
    double failover_after; /* default 10 s: then another logger takes its batches */
};

struct nc_ship_stats {
    uint64_t records; /* handed to the shipper */
    uint64_t batches; /* made */
    uint64_t acked;   /* acknowledged */
    uint64_t acked_records;
    uint64_t resent;    /* batches sent again */
    uint64_t failovers; /* batches moved to another logger */
    uint64_t waits;     /* times a full window blocked the caller */
    double wait_s;      /* time spent blocked */
    uint64_t bad_acks;  /* acks for nothing in flight */
    uint64_t in_flight; /* batches not acknowledged yet */
    uint64_t buffered;  /* records not in a batch yet */
};

struct nc_ship;
/* Ships to every logger of t (or the manager's log port when there is
 * none). Returns NULL after an error line. */
struct nc_ship *nc_ship_new(void *zctx, const struct sl_topo *t, const char *node,
                            const struct nc_ship_cfg *cfg);
void nc_ship_free(struct nc_ship *s);
/* Adds one record; ships the batch when it is full (may block). */
int nc_ship_write(struct nc_ship *s, const struct sl_log_schema *schema,
                  const struct sl_log_val *vals);
/* Ships what is buffered now (may block on a full window). */
int nc_ship_flush(struct nc_ship *s);
/* Ships one record as a batch of its own with identity (bid, 1), always to
 * the same logger for the same bid: repeats of it are dropped by that
 * logger's de-duplication (used for known hosts/services). */
int nc_ship_single(struct nc_ship *s, const char *bid, const struct sl_log_schema *schema,
                   const struct sl_log_val *vals);
/* Poll items of the logger sockets: fills up to max, returns how many. */
int nc_ship_pollitems(struct nc_ship *s, zmq_pollitem_t *items, int max);
/* Reads acks (non-blocking) and runs timers: flush by age, resend,
 * failover. Call after each poll. */
int nc_ship_service(struct nc_ship *s);
/* Nothing buffered, nothing in flight. */
bool nc_ship_idle(const struct nc_ship *s);
/* Flushes and waits until every batch is acknowledged or `timeout`
 * seconds passed (stopping early on a second SIGTERM). 0 or -ETIMEDOUT. */
int nc_ship_drain(struct nc_ship *s, double timeout);
void nc_ship_stats(const struct nc_ship *s, struct nc_ship_stats *st);
void nc_ship_count(const struct nc_ship *s, struct nc_counters *c);

/* ------------------------------------------------------------ logger core */

struct nc_logger_stats {
    uint64_t batches;     /* written */
    uint64_t records;     /* written */
    uint64_t dup_batches; /* already written: acknowledged, not written again */
    uint64_t dup_records;
    uint64_t rotations;
    uint64_t errors;  /* write errors */
    uint64_t streams; /* open files */
};

struct nc_logger;
/* Writes into dir (created if needed). Recovers from a previous run in the
 * same dir: reads its journal, cuts off a batch it was killed while
 * writing, and rotates the files it left. rotate_interval 0 = never.
 * Returns NULL after an error line. */
struct nc_logger *nc_logger_new(const char *dir, enum sl_log_format fmt, double rotate_interval);
/* Writes a batch unless (node, seq) was written before. Returns 1 written,
 * 0 duplicate, -errno. After it returns >= 0 the batch is on disk (written
 * out of the process) and may be acknowledged. */
int nc_logger_batch(struct nc_logger *lg, const struct sl_wire_log *b);
/* Rotates every open file now (SIGHUP), or when the interval is over. */
int nc_logger_rotate(struct nc_logger *lg);
void nc_logger_tick(struct nc_logger *lg);
/* Writes #close and closes everything. */
void nc_logger_free(struct nc_logger *lg);
void nc_logger_stats(const struct nc_logger *lg, struct nc_logger_stats *st);
void nc_logger_count(const struct nc_logger *lg, struct nc_counters *c);

/* Handles one message on a logger ROUTER (from: routing id): a LOG batch
 * is written and acknowledged as `node`; anything else is an error line.
 * Used by the logger and by a manager without loggers. */
void nc_logger_serve(struct nc_logger *lg, void *router, const char *node, const char *from,
                     const struct sl_wire_msg *m, uint64_t *garbage);

/* ------------------------------------------------------------ views */

/* The ring view of a topology: its proxies and workers in file order, all
 * live, epoch 0 (what every node starts from), pins applied. 0 or -EINVAL. */
int nc_view_init(const struct sl_topo *t, struct sl_ring_view *v);
/* Applies a manager VIEW message: 1 when newer than v (v updated), 0 when
 * stale. A proxy dead in v stays dead. */
int nc_view_update(struct sl_ring_view *v, const struct sl_wire_control *c);
/* A SUB socket on the manager's view port. */
void *nc_view_socket(void *zctx, const struct sl_topo *t);

#endif
