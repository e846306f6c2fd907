/* lab_view: follow the manager's published view. See lab_view.h. */
#include "lab_view.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "sl_wire.h"

/* Frames read per lab_view_poll: a flood on the port cannot hold the caller
 * (the rest waits for the next call). */
#define LAB_VIEW_BURST 4096

struct lab_view {
    void *zctx, *sub, *mon;
    char manager[SL_WIRE_MAX_NAME + 1];
    char *endpoint, *netns_path;
    /* ZeroMQ gives an endpoint up for good after a protocol error (a failed
     * handshake, a message over the size limit): lab_view dials again */
    bool redial, connected;
    double down_since; /* > 0: disconnected then, not reconnected since */
    double last_redial;
    bool have;
    uint64_t epoch;
    char **names; /* live nodes of the view held */
    uint32_t n_names;
    double last; /* monotonic time of the last VIEW (new or repeat) */
    struct lab_view_stats st;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- namespaces ----------------------------------------------------------- */

/* Moves the calling thread into the namespace at path; *home keeps the way
 * back (-1 when path is NULL: nothing to do). */
static int ns_go(const char *path, int *home)
{
    *home = -1;
    if (!path)
        return 0;
    int h = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (h < 0)
        return -errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? -errno : 0;
    if (fd >= 0 && setns(fd, CLONE_NEWNET) < 0)
        rc = errno == EINVAL ? -ENOTCONN : -errno; /* EINVAL: not a namespace */
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        close(h);
        return rc;
    }
    *home = h;
    return 0;
}

static void ns_back(int home)
{
    if (home < 0)
        return;
    if (setns(home, CLONE_NEWNET) < 0) {
        /* Staying in the lab's namespace would make every later step lie. */
        perror("sluicectl: cannot return to the original network namespace");
        abort();
    }
    close(home);
}

/* ---- sockets ----------------------------------------------------------------- */

static int sockets(struct lab_view *v, const char *endpoint, char *err, size_t errlen)
{
    char mon_ep[64];
    int linger = 0, ivl = 100, ivl_max = 1000;
    int64_t maxmsg = SL_WIRE_MAX_MSG + 4096;
    /* the first socket starts the context's threads: here, in this namespace */
    v->zctx = zmq_ctx_new();
    v->sub = v->zctx ? zmq_socket(v->zctx, ZMQ_SUB) : NULL;
    if (!v->sub)
        goto zerr;
    zmq_setsockopt(v->sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(v->sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    zmq_setsockopt(v->sub, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(v->sub, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
    zmq_setsockopt(v->sub, ZMQ_SUBSCRIBE, "", 0);
    snprintf(mon_ep, sizeof(mon_ep), "inproc://lab-view-%p", (void *)v);
    if (zmq_socket_monitor(v->sub, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED) < 0 ||
        !(v->mon = zmq_socket(v->zctx, ZMQ_PAIR)))
        goto zerr;
    zmq_setsockopt(v->mon, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(v->mon, mon_ep) < 0)
        goto zerr;
    if (zmq_connect(v->sub, endpoint) < 0) {
        snprintf(err, errlen, "connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return -EINVAL;
    }
    return 0;
zerr:
    snprintf(err, errlen, "zeromq: %s", zmq_strerror(zmq_errno()));
    return -EIO;
}

struct lab_view *lab_view_open(const char *endpoint, const char *manager, const char *netns_path,
                               char *err, size_t errlen)
{
    if (!sl_wire_name_ok(manager)) {
        snprintf(err, errlen, "'%s' is not a node name", manager);
        errno = EINVAL;
        return NULL;
    }
    struct lab_view *v = calloc(1, sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(v->manager, sizeof(v->manager), "%s", manager);
    v->last = -INFINITY;
    v->endpoint = strdup(endpoint);
    v->netns_path = netns_path ? strdup(netns_path) : NULL;
    if (!v->endpoint || (netns_path && !v->netns_path)) {
        snprintf(err, errlen, "out of memory");
        lab_view_close(v);
        errno = ENOMEM;
        return NULL;
    }
    int home, rc = ns_go(netns_path, &home);
    if (rc < 0) {
        snprintf(err, errlen, "namespace %s: %s", netns_path, strerror(-rc));
    } else {
        rc = sockets(v, endpoint, err, errlen);
        ns_back(home);
    }
    if (rc < 0) {
        lab_view_close(v);
        errno = -rc;
        return NULL;
    }
    return v;
}

static void forget(struct lab_view *v)
{
    for (uint32_t i = 0; i < v->n_names; i++)
        free(v->names[i]);
    free(v->names);
    v->names = NULL;
    v->n_names = 0;
}

void lab_view_close(struct lab_view *v)
{
    if (!v)
        return;
    if (v->mon)
        zmq_close(v->mon);
    if (v->sub)
        zmq_close(v->sub);
    if (v->zctx)
        zmq_ctx_term(v->zctx);
    forget(v);
    free(v->endpoint);
    free(v->netns_path);
    free(v);
}

/* ---- reading ------------------------------------------------------------------- */

static void read_monitor(struct lab_view *v)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, v->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        uint16_t ev = 0;
        if (zmq_msg_size(&m) >= sizeof(ev))
            memcpy(&ev, zmq_msg_data(&m), sizeof(ev));
        /* the second frame (the endpoint) follows */
        while (zmq_msg_more(&m)) {
            zmq_msg_close(&m);
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, v->mon, 0) < 0)
                break;
        }
        zmq_msg_close(&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            v->st.connects++;
            v->connected = true;
            v->down_since = 0;
        } else if (ev == ZMQ_EVENT_DISCONNECTED) {
            v->st.disconnects++;
            v->connected = false;
            v->down_since = mono();
        } else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                   ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            v->st.bad_handshakes++;
            v->redial = true;
        }
    }
}

/* Dials the endpoint again -- at once after a failed handshake, after 2 s
 * of a disconnection ZeroMQ did not mend itself; at most once a second --
 * from the namespace the endpoint is reached from. */
static void redial(struct lab_view *v)
{
    double now = mono();
    bool due = v->redial || (!v->connected && v->down_since > 0 && now - v->down_since >= 2.0);
    if (!due || now - v->last_redial < 1.0)
        return;
    int home;
    if (ns_go(v->netns_path, &home) < 0)
        return;
    zmq_disconnect(v->sub, v->endpoint); /* ENOENT when ZeroMQ dropped it already */
    if (zmq_connect(v->sub, v->endpoint) == 0) {
        v->redial = false;
        v->st.redials++;
        if (v->down_since > 0)
            v->down_since = now;
    }
    ns_back(home);
    v->last_redial = now;
}

/* Takes the view in c when it is newer. 1 applied, 0 not, -ENOMEM. */
static int apply(struct lab_view *v, const struct sl_wire_control *c)
{
    if (v->have && c->epoch == v->epoch) {
        v->st.repeats++;
        v->last = mono();
        return 0;
    }
    if (v->have && c->epoch < v->epoch) {
        v->st.stale++;
        return 0;
    }
    char **names = calloc(c->n_names ? c->n_names : 1, sizeof(*names));
    if (!names)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->n_names; i++) {
        if (!(names[i] = strdup(c->names[i]))) {
            while (i-- > 0)
                free(names[i]);
            free(names);
            return -ENOMEM;
        }
    }
    forget(v);
    v->names = names;
    v->n_names = c->n_names;
    v->epoch = c->epoch;
    v->have = true;
    v->last = mono();
    v->st.views++;
    return 1;
}

static bool names_ok(const struct sl_wire_control *c)
{
    for (uint32_t i = 0; i < c->n_names; i++)
        if (!sl_wire_name_ok(c->names[i]))
            return false;
    return true;
}

/* One message off the socket: 1 a view applied, 0 read (not applied), -1
 * nothing queued. */
static int recv_one(struct lab_view *v)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, v->sub, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    if (zmq_msg_more(&m)) {
        /* the manager sends one frame per message: drop the whole thing */
        while (zmq_msg_more(&m)) {
            zmq_msg_close(&m);
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, v->sub, 0) < 0)
                break;
        }
        zmq_msg_close(&m);
        v->st.garbage++;
        return 0;
    }
    struct sl_wire_msg w;
    int rc = sl_wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), &w, NULL, 0);
    zmq_msg_close(&m);
    if (rc < 0) {
        v->st.garbage++;
    } else if (w.type != SL_WIRE_CONTROL || w.u.ctl.kind != SL_CTL_VIEW) {
        v->st.other++;
        rc = 0;
    } else if (strcmp(w.u.ctl.node, v->manager) != 0 || !names_ok(&w.u.ctl)) {
        v->st.garbage++;
        rc = 0;
    } else {
        rc = apply(v, &w.u.ctl);
    }
    sl_wire_msg_clear(&w);
    return rc > 0 ? 1 : 0;
}

int lab_view_poll(struct lab_view *v, int timeout_ms)
{
    zmq_pollitem_t it[2] = {{.socket = v->sub, .events = ZMQ_POLLIN},
                            {.socket = v->mon, .events = ZMQ_POLLIN}};
    if (timeout_ms > 0 && zmq_poll(it, 2, timeout_ms) < 0 && zmq_errno() != EINTR)
        return -zmq_errno();
    read_monitor(v);
    redial(v);
    int applied = 0;
    for (unsigned i = 0; i < LAB_VIEW_BURST; i++) {
        int rc = recv_one(v);
        if (rc < 0)
            break;
        applied += rc;
    }
    return applied;
}

/* ---- the view -------------------------------------------------------------------- */

bool lab_view_have(const struct lab_view *v)
{
    return v->have;
}

uint64_t lab_view_epoch(const struct lab_view *v)
{
    return v->epoch;
}

int lab_view_live(const struct lab_view *v, const char *node)
{
    if (!v->have)
        return -ENOENT;
    for (uint32_t i = 0; i < v->n_names; i++)
        if (strcmp(v->names[i], node) == 0)
            return 1;
    return 0;
}

double lab_view_age(const struct lab_view *v)
{
    return v->have ? mono() - v->last : INFINITY;
}

const struct lab_view_stats *lab_view_stats(const struct lab_view *v)
{
    return &v->st;
}
