/* lab_view: the cluster manager's view of its nodes, as the lab follows it.
 *
 * Liveness is the manager's call (cluster/manager.c): every node heartbeats
 * to it, a node silent for the manager's --dead-after is down, a worker that
 * speaks again is up. Each change bumps the membership epoch, and the view
 * (sl_wire CONTROL of kind SL_CTL_VIEW: the manager's name, the epoch and
 * the names of the live nodes) goes out on the manager's PUB port (port + 1)
 * at once, and again every heartbeat interval. lab_view subscribes to that
 * port and keeps the newest view, so the lab acts on exactly what the
 * cluster decided -- the same view the proxies and workers heal the ring
 * from -- and reads no heartbeat file.
 *
 * Bad input is counted, never fatal: a frame that does not decode, a
 * message of several frames, a VIEW that names another manager or a node
 * name that sl_wire refuses is `garbage`; a well-formed message of another
 * kind (SHUTDOWN) is `other`; a view older than the one held is `stale`
 * (the same epoch again is a `repeat`: the manager's periodic resend). A
 * peer on the port that is not a ZeroMQ publisher (a failed handshake) is
 * counted in `bad_handshakes`. ZeroMQ reconnects on its own after a lost
 * connection, so a dead manager shows as a view that stops coming
 * (lab_view_age), not as an error; after a protocol error (a failed
 * handshake, a frame over SL_WIRE_MAX_MSG) it gives the endpoint up, so
 * lab_view dials it again (`redials`), and a manager that comes up there
 * later is heard.
 * A restarted manager counts its epochs from 0 again: its views are stale
 * to a lab_view that saw the old one (open a new lab_view then).
 */
#ifndef LAB_VIEW_H
#define LAB_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lab_view_stats {
    uint64_t views;          /* views applied (newer than the one held) */
    uint64_t repeats;        /* the held epoch again */
    uint64_t stale;          /* older epochs */
    uint64_t other;          /* well-formed, not a VIEW */
    uint64_t garbage;        /* see above */
    uint64_t bad_handshakes; /* peers that are not ZeroMQ publishers */
    uint64_t connects;       /* handshakes that succeeded */
    uint64_t disconnects;
    uint64_t redials; /* connections made again by lab_view (see above) */
};

struct lab_view;

/* Subscribes to `endpoint` ("tcp://198.18.0.2:27761"), accepting views of
 * the manager named `manager`. netns_path (a /run/netns/NAME file, or NULL
 * for the caller's namespace) is where the endpoint is reached from: the
 * ZeroMQ context and its I/O thread are made there (a thread keeps the
 * namespace it was born in, and every connect and reconnect happens on the
 * I/O thread), then the calling thread goes back to its own namespace.
 * Returns NULL with errno set and one line in err. */
struct lab_view *lab_view_open(const char *endpoint, const char *manager, const char *netns_path,
                               char *err, size_t errlen);
void lab_view_close(struct lab_view *v);

/* Waits up to timeout_ms (0: not at all) for traffic, then reads all that
 * is queued. Returns the number of views applied (0 or more), or -errno
 * when polling itself fails. */
int lab_view_poll(struct lab_view *v, int timeout_ms);

/* True once a view has been applied. */
bool lab_view_have(const struct lab_view *v);
/* Epoch of the view held (meaningful when lab_view_have). */
uint64_t lab_view_epoch(const struct lab_view *v);
/* 1 when `node` is live in the view held, 0 when it is not, -ENOENT when no
 * view has come yet. */
int lab_view_live(const struct lab_view *v, const char *node);
/* Seconds since the last VIEW from the manager (a repeat counts: it says
 * the manager is alive); INFINITY before the first. */
double lab_view_age(const struct lab_view *v);

const struct lab_view_stats *lab_view_stats(const struct lab_view *v);

#endif
