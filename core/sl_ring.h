/* sl_ring: the proxy ring that synchronises "known" sets, as pure logic (no
 * sockets, no clocks of its own), so that the daemons and the unit tests run
 * the same code.
 *
 * Membership (struct sl_ring_view). Proxies form a ring in topology order;
 * a proxy's successor is the next live one. Workers are shared between live
 * proxies as evenly as possible: worker i belongs to proxy i mod P (unless
 * the topology pins it to a proxy); the
 * workers of a dead proxy go, in worker order, to the least-loaded live proxy
 * (first in ring order on a tie), so a death moves only the dead proxy's
 * workers and loads still differ by at most one.
 *
 * Insertion (what a worker sends when it sees a new element). The worker
 * gives it an identity (origin = worker name, seq) and keeps it until its
 * proxy acknowledges it. Its proxy becomes the insertion's "entry": it
 * applies it and forwards it to its successor; every proxy applies it (once
 * per (origin, seq)) and forwards it, until it is back at the entry. Then the
 * circuit is complete: every live proxy has it, and the entry acknowledges
 * the worker. Each proxy, applying an insertion, sends it down to its
 * workers (but the origin); a worker adds it to its local cache once its own
 * clock has passed the insertion's ts (so that it never hides an earlier
 * sighting of its own) and stops reporting it.
 *
 * Deciding once, in order. Each element has one owner, by rendezvous
 * (sl_rdv) of its set and key over the live proxies; only the owner decides
 * what to log (the daemon runs sl_known's authority: a host is logged when it
 * is new, a service row with the names not known yet). Workers race, so the
 * owner hands the insertions of its elements to that authority in
 * (ts, origin, seq) order, and only once nothing earlier can still arrive:
 * every worker reports an event-time clock (no later insertion from it has a
 * smaller ts), an entry proxy holds its own clock below its unfinished
 * circuits, and proxies pass their clocks around the ring tagged with the
 * membership epoch. An insertion is released when the minimum clock of all
 * live proxies (same epoch) is past its ts. The authority thus sees what a
 * single process would have seen, and logs the same rows.
 *
 * Healing. When the view changes (a proxy died): the ring closes around it;
 * its workers are re-assigned and re-send everything unacknowledged; every
 * entry re-sends its unfinished circuits; elements the dead proxy owned get
 * a new owner, which holds their whole history (every proxy keeps every
 * insertion) and replays it, in order, to its authority. Rows the dead proxy
 * had logged come out again, identical: the daemons give each row an
 * identity made of the element and its row number (the k-th row logged for
 * it), and the logger's (node, seq) de-duplication drops the repeat.
 * A proxy that dies stays out of the ring; it may not rejoin within a run
 * (it would start with empty histories).
 */
#ifndef SL_RING_H
#define SL_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_rdv.h"
#include "sl_wire.h"

#define SL_RING_MAX 256 /* proxies, and workers, at most */

struct sl_ring_view {
    unsigned n_proxies, n_workers;
    const char *proxy[SL_RING_MAX];  /* names, in ring order; not owned */
    const char *worker[SL_RING_MAX]; /* names; not owned */
    bool proxy_live[SL_RING_MAX];
    bool worker_live[SL_RING_MAX];
    int assign[SL_RING_MAX]; /* worker -> proxy, kept current by the setters */
    int pin[SL_RING_MAX];    /* worker -> 1 + the proxy it is pinned to; 0: none */
    uint64_t epoch;          /* membership version (the manager's) */
    struct sl_rdv rdv;       /* over proxies, live flags mirrored */
};

/* Everything live, epoch 0. Names must stay valid while the view is used.
 * Returns 0 or -EINVAL (0 proxies with workers, too many, a missing name). */
int sl_ring_view_init(struct sl_ring_view *v, unsigned n_proxies, const char *const *proxies,
                      unsigned n_workers, const char *const *workers);
/* Marks a node (proxy or worker, by name) live or dead. -ENOENT if unknown. */
int sl_ring_view_set_live(struct sl_ring_view *v, const char *name, bool live);
/* Pins worker w to proxy p (topology `proxy = NAME`; -1 unpins): it goes
 * there while p is live. 0 or -EINVAL. */
int sl_ring_view_pin(struct sl_ring_view *v, unsigned worker, int proxy);
int sl_ring_proxy_index(const struct sl_ring_view *v, const char *name);  /* -1: none */
int sl_ring_worker_index(const struct sl_ring_view *v, const char *name); /* -1: none */
unsigned sl_ring_live_proxies(const struct sl_ring_view *v);
/* The next live proxy after p in ring order; -1 when p is the only live one
 * (or none is live). */
int sl_ring_successor(const struct sl_ring_view *v, unsigned p);
/* Worker w's proxy; -1 when no proxy is live. */
int sl_ring_assign(const struct sl_ring_view *v, unsigned w);
/* The live proxy that logs element (set, key); -1 when none is live. */
int sl_ring_owner(const struct sl_ring_view *v, const char *set, const char *key);

/* ------------------------------------------------------------------ proxy */

/* What a proxy does; the daemon sends messages, the unit tests queue them.
 * An op returning < 0 fails the event that called it (which then returns it). */
struct sl_ring_ops {
    void *ctx;
    /* Pass an insertion to proxy `to` (the successor). */
    int (*forward)(void *ctx, unsigned to, const struct sl_wire_known *k);
    /* Send an element down to worker `w` (flags has SL_WIRE_KF_DOWN). */
    int (*down)(void *ctx, unsigned w, const struct sl_wire_known *k);
    /* The insertion (origin, seq) completed its circuit: acknowledge it. */
    int (*ack)(void *ctx, const char *origin, uint64_t seq);
    /* An insertion of an element owned here, released in (ts, origin, seq)
     * order. After an ownership change the element's history is released
     * again from its start (see above). */
    int (*log)(void *ctx, const struct sl_wire_known *k);
    /* Pass a proxy clock to proxy `to`. */
    int (*clock)(void *ctx, unsigned to, const struct sl_wire_clock *c);
};

struct sl_ring_proxy;

/* Proxy `me` of view v (copied), with ops (copied). `resend_after` seconds:
 * an unfinished circuit is forwarded again after that long (lost in a dying
 * proxy). Returns NULL with errno set. */
struct sl_ring_proxy *sl_ring_proxy_new(const struct sl_ring_view *v, unsigned me,
                                        const struct sl_ring_ops *ops, double resend_after);
void sl_ring_proxy_free(struct sl_ring_proxy *p);

/* A new view (membership changed): the ring closes, clocks of other proxies
 * are forgotten until they speak in the new epoch, unfinished circuits are
 * re-sent, ownership is recomputed. */
int sl_ring_proxy_set_view(struct sl_ring_proxy *p, const struct sl_ring_view *v, double now);
/* An insertion from a worker (this proxy becomes its entry). */
int sl_ring_proxy_insert(struct sl_ring_proxy *p, const struct sl_wire_known *k, double now);
/* An insertion from the predecessor. */
int sl_ring_proxy_ring(struct sl_ring_proxy *p, const struct sl_wire_known *k, double now);
/* Worker clock: no later insertion from worker `w` (by name) has ts < c->ts. */
int sl_ring_proxy_worker_clock(struct sl_ring_proxy *p, const struct sl_wire_clock *c);
/* A proxy clock from the predecessor. */
int sl_ring_proxy_ring_clock(struct sl_ring_proxy *p, const struct sl_wire_clock *c);
/* Periodic: re-sends circuits older than resend_after, re-announces the
 * clock. */
int sl_ring_proxy_tick(struct sl_ring_proxy *p, double now);

struct sl_ring_stats {
    uint64_t applied;            /* insertions applied (new (origin, seq)) */
    uint64_t dup;                /* insertions seen again (re-sends, other circuits) */
    uint64_t forwarded;          /* insertions passed on */
    uint64_t circuits;           /* circuits completed here (acks sent) */
    uint64_t resent;             /* circuits forwarded again */
    uint64_t logged;             /* insertions released to the log op */
    uint64_t taken_over;         /* elements this proxy became the owner of */
    uint64_t down;               /* elements sent down to workers */
    uint64_t dropped_dead_entry; /* circuits of a dead entry, dropped */
    uint64_t dropped_hops;       /* circuits over the hop limit, dropped */
    uint64_t late;               /* an owned insertion older than one released already */
    uint64_t stale_clock;        /* clocks of another epoch, ignored */
    uint64_t elements;           /* distinct (set, key) held */
    uint64_t pending;            /* circuits entered here, unfinished */
    uint64_t unlogged;           /* owned insertions not released yet */
    double clock;                /* this proxy's clock (min of its workers and circuits) */
    double global_clock;         /* minimum over the live proxies */
};
void sl_ring_proxy_stats(const struct sl_ring_proxy *p, struct sl_ring_stats *st);

/* ----------------------------------------------------------------- worker */

struct sl_ring_wops {
    void *ctx;
    /* Send to proxy `to`: an ATTACH first after a change, then insertions. */
    int (*attach)(void *ctx, unsigned to);
    int (*send)(void *ctx, unsigned to, const struct sl_wire_known *k);
};

struct sl_ring_worker;

struct sl_ring_worker *sl_ring_worker_new(const struct sl_ring_view *v, unsigned me,
                                          const struct sl_ring_wops *ops);
void sl_ring_worker_free(struct sl_ring_worker *w);
/* The proxy this worker talks to now (-1: none live). */
int sl_ring_worker_proxy(const struct sl_ring_worker *w);
/* Attaches to its proxy (call once at start). */
int sl_ring_worker_start(struct sl_ring_worker *w);
/* A new element seen here (sl_known's caches already dropped repeats):
 * numbered, sent to the proxy and kept until acknowledged. rec holds one
 * record. Returns 0 or -errno. */
int sl_ring_worker_insert(struct sl_ring_worker *w, const char *set, const char *key, double ts,
                          const struct sl_wire_section *rec);
/* The proxy acknowledged (origin me, seq). */
void sl_ring_worker_ack(struct sl_ring_worker *w, uint64_t seq);
/* New view: if this worker's proxy changed, attach to the new one and
 * re-send every unacknowledged insertion. */
int sl_ring_worker_set_view(struct sl_ring_worker *w, const struct sl_ring_view *v);
/* Re-sends every unacknowledged insertion to the current proxy. */
int sl_ring_worker_resend(struct sl_ring_worker *w);
uint64_t sl_ring_worker_pending(const struct sl_ring_worker *w);
uint64_t sl_ring_worker_sent(const struct sl_ring_worker *w);

#endif
