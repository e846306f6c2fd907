/* nc_ship: log batches to loggers, kept until acknowledged. See
 * node_common.h. */
#include "node_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOGGERS 64

struct flight {
    char bid[SL_WIRE_MAX_NAME + 1]; /* batch identity: node ... */
    uint64_t seq;                   /* ... and seq */
    struct sl_wire_buf msg;
    int logger;
    double sent;
    uint32_t records;
    bool pinned;
};

struct lgr {
    void *sock;
    char name[SL_TOPO_NAME];
    unsigned inflight;
    double last_heard; /* last ack, or when we started waiting on it */
    bool down;
    double down_at;
};

struct nc_ship {
    char node[SL_TOPO_NAME];
    struct nc_ship_cfg cfg;
    struct lgr lg[MAX_LOGGERS];
    unsigned n_lg, rr;
    struct sl_wire_batch *batch;
    double batch_started;
    uint64_t seq_base, next_seq;
    struct flight *fl;
    size_t n_fl, cap_fl;
    struct nc_ship_stats st;
    struct sl_wire_buf tmp;
};

static void cfg_defaults(struct nc_ship_cfg *c)
{
    if (!c->max_records)
        c->max_records = 1000;
    if (!c->max_bytes)
        c->max_bytes = 1u << 20;
    if (!(c->flush_interval > 0))
        c->flush_interval = 1.0;
    if (!c->window)
        c->window = 16;
    if (!(c->resend_after > 0))
        c->resend_after = 2.0;
    if (!(c->failover_after > 0))
        c->failover_after = 10.0;
}

struct nc_ship *nc_ship_new(void *zctx, const struct sl_topo *t, const char *node,
                            const struct nc_ship_cfg *cfg)
{
    struct nc_ship *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->node, sizeof(s->node), "%s", node);
    if (cfg)
        s->cfg = *cfg;
    cfg_defaults(&s->cfg);
    /* Batch identities must differ between incarnations of a node, or a
     * logger would take a restarted node's new batches for repeats. */
    s->seq_base = (uint64_t)nc_wall() << 24;
    s->batch = sl_wire_batch_new();
    if (!s->batch)
        goto fail;
    unsigned nl = sl_topo_count(t, SL_TOPO_LOGGER);
    for (unsigned i = 0; i < (nl ? nl : 1) && i < MAX_LOGGERS; i++) {
        const struct sl_topo_node *n =
            nl ? sl_topo_nth(t, SL_TOPO_LOGGER, i) : sl_topo_nth(t, SL_TOPO_MANAGER, 0);
        char ep[128];
        struct lgr *l = &s->lg[s->n_lg++];
        snprintf(l->name, sizeof(l->name), "%s", n->name);
        l->sock = nc_socket(zctx, ZMQ_DEALER, node);
        if (!l->sock || sl_topo_endpoint(n, nl ? 0 : 2, ep, sizeof(ep)) < 0 ||
            nc_connect(l->sock, ep) < 0)
            goto fail;
        l->last_heard = nc_mono();
    }
    return s;
fail:
    nc_ship_free(s);
    return NULL;
}

void nc_ship_free(struct nc_ship *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n_lg; i++)
        if (s->lg[i].sock)
            zmq_close(s->lg[i].sock);
    for (size_t i = 0; i < s->n_fl; i++)
        sl_wire_buf_free(&s->fl[i].msg);
    free(s->fl);
    sl_wire_batch_free(s->batch);
    sl_wire_buf_free(&s->tmp);
    free(s);
}

static int send_flight(struct nc_ship *s, struct flight *f)
{
    struct lgr *l = &s->lg[f->logger];
    int rc = nc_send(l->sock, NULL, f->msg.data, f->msg.len, ZMQ_DONTWAIT);
    if (rc == -EAGAIN)
        rc = 0; /* queued nowhere yet: the resend timer sends it again */
    f->sent = nc_mono();
    return rc;
}

/* A live logger with room, round robin; -1 when none has room. */
static int pick_logger(struct nc_ship *s)
{
    for (unsigned k = 0; k < s->n_lg; k++) {
        unsigned i = (s->rr + k) % s->n_lg;
        if (!s->lg[i].down && s->lg[i].inflight < s->cfg.window) {
            s->rr = i + 1;
            return (int)i;
        }
    }
    return -1;
}

static int pinned_logger(struct nc_ship *s, const char *bid)
{
    unsigned base = (unsigned)(sl_wire_hash(bid) % s->n_lg);
    for (unsigned k = 0; k < s->n_lg; k++) {
        unsigned i = (base + k) % s->n_lg;
        if (!s->lg[i].down)
            return (int)i;
    }
    return (int)base;
}

static bool all_down(const struct nc_ship *s)
{
    for (unsigned i = 0; i < s->n_lg; i++)
        if (!s->lg[i].down)
            return false;
    return true;
}

static void handle_ack(struct nc_ship *s, unsigned li, const struct sl_wire_ack *a)
{
    for (size_t i = 0; i < s->n_fl; i++) {
        struct flight *f = &s->fl[i];
        if (f->seq != a->seq || strcmp(f->bid, a->origin) != 0)
            continue;
        s->lg[f->logger].inflight--;
        s->st.acked++;
        s->st.acked_records += f->records;
        sl_wire_buf_free(&f->msg);
        s->fl[i] = s->fl[--s->n_fl];
        s->lg[li].last_heard = nc_mono();
        return;
    }
    /* an ack of a resent batch that was acknowledged already */
    s->st.bad_acks++;
    s->lg[li].last_heard = nc_mono();
}

static void read_acks(struct nc_ship *s)
{
    for (unsigned i = 0; i < s->n_lg; i++) {
        for (;;) {
            struct sl_wire_msg m;
            char what[96];
            snprintf(what, sizeof(what), "log acks from %s", s->lg[i].name);
            int rc = nc_recv(s->lg[i].sock, false, &m, NULL, 0, what, NULL);
            if (rc == 0)
                break;
            if (rc < 0)
                continue;
            if (m.type == SL_WIRE_ACK && m.u.ack.of_type == SL_WIRE_LOG) {
                if (s->lg[i].down) {
                    nc_info("logger %s is back", s->lg[i].name);
                    s->lg[i].down = false;
                }
                handle_ack(s, i, &m.u.ack);
            } else {
                nc_err("unexpected %s message from logger %s; ignored", sl_wire_type_name(m.type),
                       s->lg[i].name);
            }
            sl_wire_msg_clear(&m);
        }
    }
}

/* Resends what waited too long; moves the batches of a logger silent for
 * failover_after to the others. */
static int timers(struct nc_ship *s)
{
    double now = nc_mono();
    for (unsigned i = 0; i < s->n_lg; i++) {
        struct lgr *l = &s->lg[i];
        if (l->down && now - l->down_at > 3 * s->cfg.failover_after) {
            l->down = false; /* try it again */
            l->last_heard = now;
        }
        if (!l->down && l->inflight && now - l->last_heard > s->cfg.failover_after && s->n_lg > 1) {
            l->down = true;
            l->down_at = now;
            nc_err("logger %s silent for %.0f s with %u batches unacknowledged: sending them "
                   "to another logger",
                   l->name, now - l->last_heard, l->inflight);
        }
    }
    for (size_t i = 0; i < s->n_fl; i++) {
        struct flight *f = &s->fl[i];
        if (s->lg[f->logger].down && !all_down(s)) {
            int to = f->pinned ? pinned_logger(s, f->bid) : pick_logger(s);
            if (to < 0)
                continue; /* no room now; next round */
            s->lg[f->logger].inflight--;
            f->logger = to;
            if (s->lg[to].inflight++ == 0)
                s->lg[to].last_heard = nc_mono();
            s->st.failovers++;
            int rc = send_flight(s, f);
            if (rc < 0)
                return rc;
        } else if (now - f->sent > s->cfg.resend_after) {
            s->st.resent++;
            int rc = send_flight(s, f);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int nc_ship_pollitems(struct nc_ship *s, zmq_pollitem_t *items, int max)
{
    int n = 0;
    for (unsigned i = 0; i < s->n_lg && n < max; i++)
        items[n++] = (zmq_pollitem_t){.socket = s->lg[i].sock, .events = ZMQ_POLLIN};
    return n;
}

/* Blocks until logger `want` (or, with -1, any logger) has room. */
static int wait_room(struct nc_ship *s, int want)
{
    double t0 = nc_mono();
    s->st.waits++;
    for (;;) {
        if (want >= 0 ? s->lg[want].inflight < s->cfg.window : pick_logger(s) >= 0)
            break;
        zmq_pollitem_t items[MAX_LOGGERS];
        int n = nc_ship_pollitems(s, items, MAX_LOGGERS);
        if (zmq_poll(items, n, 100) < 0 && zmq_errno() != EINTR)
            return -zmq_errno();
        read_acks(s);
        int rc = timers(s);
        if (rc < 0)
            return rc;
        if (nc_stop > 1)
            return -EINTR;
    }
    s->st.wait_s += nc_mono() - t0;
    return 0;
}

static int launch(struct nc_ship *s, const char *bid, uint64_t seq, int logger, bool pinned,
                  uint32_t records)
{
    if (s->n_fl == s->cap_fl) {
        size_t cap = s->cap_fl ? s->cap_fl * 2 : 64;
        struct flight *n = realloc(s->fl, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->fl = n;
        s->cap_fl = cap;
    }
    struct flight *f = &s->fl[s->n_fl++];
    memset(f, 0, sizeof(*f));
    snprintf(f->bid, sizeof(f->bid), "%s", bid);
    f->seq = seq;
    f->msg = s->tmp; /* takes the encoded message */
    memset(&s->tmp, 0, sizeof(s->tmp));
    f->logger = logger;
    f->pinned = pinned;
    f->records = records;
    if (s->lg[logger].inflight++ == 0)
        s->lg[logger].last_heard = nc_mono(); /* silence counts from the first batch out */
    s->st.batches++;
    return send_flight(s, f);
}

int nc_ship_flush(struct nc_ship *s)
{
    uint32_t n = sl_wire_batch_records(s->batch);
    if (!n)
        return 0;
    int li = pick_logger(s);
    if (li < 0) {
        int rc = wait_room(s, -1);
        if (rc < 0)
            return rc;
        li = pick_logger(s);
    }
    uint64_t seq = s->seq_base + ++s->next_seq;
    sl_wire_buf_reset(&s->tmp);
    int rc = sl_wire_batch_finish(s->batch, s->node, seq, &s->tmp);
    if (rc < 0)
        return rc;
    return launch(s, s->node, seq, li, false, n);
}

int nc_ship_write(struct nc_ship *s, const struct sl_log_schema *schema,
                  const struct sl_log_val *vals)
{
    if (sl_wire_batch_records(s->batch) == 0)
        s->batch_started = nc_mono();
    int rc = sl_wire_batch_add(s->batch, schema, vals);
    if (rc < 0)
        return rc;
    s->st.records++;
    if (sl_wire_batch_records(s->batch) >= s->cfg.max_records ||
        sl_wire_batch_bytes(s->batch) >= s->cfg.max_bytes)
        return nc_ship_flush(s);
    return 0;
}

int nc_ship_single(struct nc_ship *s, const char *bid, const struct sl_log_schema *schema,
                   const struct sl_log_val *vals)
{
    if (!sl_wire_name_ok(bid))
        return -EINVAL;
    int li = pinned_logger(s, bid);
    if (s->lg[li].inflight >= s->cfg.window) {
        int rc = wait_room(s, li);
        if (rc < 0)
            return rc;
    }
    struct sl_wire_section sec = {.schema = *schema, .n_records = 1, .vals = vals};
    struct sl_wire_log lg = {.node = bid, .seq = 1, .n_sections = 1, .sections = &sec};
    sl_wire_buf_reset(&s->tmp);
    int rc = sl_wire_enc_log(&s->tmp, &lg);
    if (rc < 0)
        return rc;
    s->st.records++;
    return launch(s, bid, 1, li, true, 1);
}

int nc_ship_service(struct nc_ship *s)
{
    read_acks(s);
    if (sl_wire_batch_records(s->batch) && nc_mono() - s->batch_started >= s->cfg.flush_interval) {
        int rc = nc_ship_flush(s);
        if (rc < 0)
            return rc;
    }
    return timers(s);
}

bool nc_ship_idle(const struct nc_ship *s)
{
    return s->n_fl == 0 && sl_wire_batch_records(s->batch) == 0;
}

int nc_ship_drain(struct nc_ship *s, double timeout)
{
    int rc = nc_ship_flush(s);
    if (rc < 0)
        return rc;
    double t0 = nc_mono();
    while (s->n_fl) {
        if (nc_mono() - t0 > timeout || nc_stop > 1)
            return -ETIMEDOUT;
        zmq_pollitem_t items[MAX_LOGGERS];
        int n = nc_ship_pollitems(s, items, MAX_LOGGERS);
        if (zmq_poll(items, n, 100) < 0 && zmq_errno() != EINTR)
            return -zmq_errno();
        rc = nc_ship_service(s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void nc_ship_stats(const struct nc_ship *s, struct nc_ship_stats *st)
{
    *st = s->st;
    st->in_flight = s->n_fl;
    st->buffered = sl_wire_batch_records(s->batch);
}

void nc_ship_count(const struct nc_ship *s, struct nc_counters *c)
{
    struct nc_ship_stats st;
    nc_ship_stats(s, &st);
    nc_count_set(c, "ship_records", st.records);
    nc_count_set(c, "ship_batches", st.batches);
    nc_count_set(c, "ship_acked", st.acked);
    nc_count_set(c, "ship_acked_records", st.acked_records);
    nc_count_set(c, "ship_resent", st.resent);
    nc_count_set(c, "ship_failovers", st.failovers);
    nc_count_set(c, "ship_waits", st.waits);
    nc_count_set(c, "ship_wait_ms", (uint64_t)(st.wait_s * 1000));
    nc_count_set(c, "ship_in_flight", st.in_flight);
    nc_count_set(c, "ship_buffered", st.buffered);
}
