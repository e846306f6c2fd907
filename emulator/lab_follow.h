/* lab_follow: worker liveness, from the cluster manager's view to the
 * frontend.
 *
 * The manager decides (cluster/manager.c): a worker whose heartbeats stop
 * for its --dead-after is out of its view, one that speaks again is back in
 * it, and each change goes out at once on the manager's PUB port
 * (lab_view.h). lab_follow subscribes to that view from the manager host's
 * namespace and tells the frontend over its control socket: `down K` for a
 * worker out of the view (only its flows move), `up K` for one back in it
 * (they move back). It reads no heartbeat file: it acts on the manager's
 * word only. A control call that fails (the frontend stopped, busy or
 * restarting) is tried again at every step; the first failure and the
 * first success after it are noted.
 *
 * Used by `sluicectl replay --mode live` for the length of a replay, and by
 * `sluicectl follow`, which `sluicectl start` runs beside a live lab until
 * `stop`. What it does and hears goes to a note callback, one line each:
 * every down and up with the manager's epoch and the frontend's reply, a
 * manager silent for LAB_FOLLOW_SILENT seconds (and heard again), and at
 * close the view's counters (views, repeats, stale, garbage, ...).
 */
#ifndef LAB_FOLLOW_H
#define LAB_FOLLOW_H

#include <stdbool.h>

#include "lab_ctx.h"

/* Seconds without a view from the manager (it publishes one every second)
 * before lab_follow says, once, that it is not hearing the cluster. */
#define LAB_FOLLOW_SILENT 10.0

struct lab_follow_conf {
    const struct lab_ctx *c; /* topology, c->cluster_ini, c->fe_ctl; kept */
    /* How a time is told in the notes: "%.1f s <when>", e.g. "into the replay". */
    const char *when;
    void (*note)(void *ctx, const char *line);
    /* Optional: called right after the frontend accepted `down K` or `up K`
     * (k: 0-based worker index). */
    void (*changed)(void *ctx, unsigned k, bool down);
    void *ctx;
};

struct lab_follow;

/* Subscribes to the manager of c->cluster_ini. Returns NULL (errno set)
 * after a note saying why liveness will not be followed; the other calls
 * take NULL and do nothing then. `since` (lab_now()) is when the times in
 * the notes count from. */
struct lab_follow *lab_follow_open(const struct lab_follow_conf *conf, double since);

/* Waits up to timeout_ms for the manager, then relays what changed.
 * Returns the number of frontend calls made (0 or more), or -errno when
 * polling the view fails. */
int lab_follow_step(struct lab_follow *f, int timeout_ms);

/* Node `name` in the manager's view: 1 live, 0 not, -ENOENT before the
 * first view (or with f NULL). */
int lab_follow_live(const struct lab_follow *f, const char *name);

/* Notes what the view heard (its counters), unsubscribes and frees. */
void lab_follow_close(struct lab_follow *f);

#endif
