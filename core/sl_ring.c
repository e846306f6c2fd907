/* sl_ring: proxy ring membership, insertion circuits, exactly-once logging.
 * See sl_ring.h for the protocol. */
#include "sl_ring.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ view */

/* Worker -> proxy: a worker pinned to a live proxy goes there; the others
 * round robin over the proxies; workers whose proxy is dead are then dealt
 * to the least-loaded live proxy. */
static void view_assign(struct sl_ring_view *v)
{
    unsigned load[SL_RING_MAX] = {0};
    bool deferred[SL_RING_MAX] = {false};
    unsigned k = 0, np = v->n_proxies ? v->n_proxies : 1;

    for (unsigned w = 0; w < v->n_workers; w++) {
        int pin = v->pin[w] - 1;
        int base = pin >= 0 ? pin : (int)(k++ % np);
        if (v->n_proxies && v->proxy_live[base]) {
            v->assign[w] = base;
            load[base]++;
        } else {
            v->assign[w] = -1;
            deferred[w] = true;
        }
    }
    for (unsigned w = 0; w < v->n_workers; w++) {
        if (!deferred[w])
            continue;
        int best = -1;
        for (unsigned p = 0; p < v->n_proxies; p++)
            if (v->proxy_live[p] && (best < 0 || load[p] < load[best]))
                best = (int)p;
        v->assign[w] = best;
        if (best >= 0)
            load[best]++;
    }
}

int sl_ring_view_pin(struct sl_ring_view *v, unsigned worker, int proxy)
{
    if (worker >= v->n_workers || proxy < -1 || proxy >= (int)v->n_proxies)
        return -EINVAL;
    v->pin[worker] = proxy + 1;
    view_assign(v);
    return 0;
}

int sl_ring_view_init(struct sl_ring_view *v, unsigned n_proxies, const char *const *proxies,
                      unsigned n_workers, const char *const *workers)
{
    if (!v || n_proxies > SL_RING_MAX || n_workers > SL_RING_MAX || (n_workers && !n_proxies))
        return -EINVAL;
    memset(v, 0, sizeof(*v));
    for (unsigned i = 0; i < n_proxies; i++) {
        if (!proxies || !proxies[i])
            return -EINVAL;
        v->proxy[i] = proxies[i];
        v->proxy_live[i] = true;
    }
    for (unsigned i = 0; i < n_workers; i++) {
        if (!workers || !workers[i])
            return -EINVAL;
        v->worker[i] = workers[i];
        v->worker_live[i] = true;
    }
    v->n_proxies = n_proxies;
    v->n_workers = n_workers;
    if (n_proxies && sl_rdv_init(&v->rdv, n_proxies) < 0)
        return -EINVAL;
    view_assign(v);
    return 0;
}

int sl_ring_proxy_index(const struct sl_ring_view *v, const char *name)
{
    for (unsigned i = 0; name && i < v->n_proxies; i++)
        if (strcmp(v->proxy[i], name) == 0)
            return (int)i;
    return -1;
}

int sl_ring_worker_index(const struct sl_ring_view *v, const char *name)
{
    for (unsigned i = 0; name && i < v->n_workers; i++)
        if (strcmp(v->worker[i], name) == 0)
            return (int)i;
    return -1;
}

int sl_ring_view_set_live(struct sl_ring_view *v, const char *name, bool live)
{
    int i = sl_ring_proxy_index(v, name);
    if (i >= 0) {
        v->proxy_live[i] = live;
        sl_rdv_set_live(&v->rdv, (unsigned)i, live);
        view_assign(v);
        return 0;
    }
    i = sl_ring_worker_index(v, name);
    if (i >= 0) {
        v->worker_live[i] = live;
        return 0;
    }
    return -ENOENT;
}

unsigned sl_ring_live_proxies(const struct sl_ring_view *v)
{
    unsigned n = 0;
    for (unsigned i = 0; i < v->n_proxies; i++)
        n += v->proxy_live[i];
    return n;
}

int sl_ring_successor(const struct sl_ring_view *v, unsigned p)
{
    for (unsigned k = 1; k < v->n_proxies; k++) {
        unsigned q = (p + k) % v->n_proxies;
        if (v->proxy_live[q])
            return (int)q;
    }
    return -1;
}

int sl_ring_assign(const struct sl_ring_view *v, unsigned w)
{
    return w < v->n_workers ? v->assign[w] : -1;
}

static uint64_t element_hash(const char *set, const char *key)
{
    uint64_t h = sl_wire_hash(set);
    h ^= sl_wire_hash(key) * 0x9e3779b97f4a7c15ull;
    return h;
}

int sl_ring_owner(const struct sl_ring_view *v, const char *set, const char *key)
{
    if (!v->n_proxies)
        return -1;
    return sl_rdv_pick(&v->rdv, element_hash(set, key));
}

/* ------------------------------------------------------------------ helpers */

/* Deep copy of an insertion (its own arena) via the wire format itself. */
static int clone_known(const struct sl_wire_known *k, struct sl_wire_msg *out)
{
    struct sl_wire_buf b = {0};
    int rc = sl_wire_enc_known(&b, k);
    if (rc == 0)
        rc = sl_wire_decode(b.data, b.len, out, NULL, 0);
    sl_wire_buf_free(&b);
    if (rc < 0)
        sl_wire_msg_clear(out);
    return rc == -EBADMSG ? -EINVAL : rc;
}

struct hent {
    double ts;
    void *ptr;
    uint64_t gen;
};

struct heap {
    struct hent *a;
    size_t n, cap;
};

static int heap_push(struct heap *h, double ts, void *ptr, uint64_t gen)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct hent *a = realloc(h->a, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && h->a[(i - 1) / 2].ts > ts) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = (struct hent){ts, ptr, gen};
    return 0;
}

static void heap_pop(struct heap *h)
{
    struct hent last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->a[c + 1].ts < h->a[c].ts)
            c++;
        if (h->a[c].ts >= last.ts)
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n)
        h->a[i] = last;
}

/* ------------------------------------------------------------------ proxy */

/* One insertion as a proxy keeps it. Every proxy keeps all of them, so an
 * element's new owner can replay its whole history. */
struct ins {
    struct sl_wire_msg m;
    bool released; /* handed to the log op by this proxy */
};

struct item {
    uint64_t h;
    char *set, *key;
    struct ins *ins;
    uint32_t n_ins, cap_ins;
    bool owned; /* this proxy owns it under the current view */
};

/* Release queue entry: insertion idx of item it. */
struct rel {
    struct item *it;
    uint32_t idx;
};

/* A circuit entered here and not back yet. */
struct pend {
    struct sl_wire_msg m;
    double sent;
    uint64_t gen;
    bool used;
    int next; /* hash chain */
};

struct sl_ring_proxy {
    struct sl_ring_view v;
    unsigned me;
    struct sl_ring_ops ops;
    double resend_after;
    struct sl_wire_seen *seen;

    struct item **items; /* open addressing by (set, key) */
    size_t items_cap;

    struct pend *pend; /* slots, free ones chained through next */
    size_t pend_cap;
    int pend_free;
    int *pend_bucket;
    size_t pend_nb;
    struct heap pend_heap; /* (ts, slot, gen), lazily pruned */

    struct rel *rel; /* min-heap by (ts, origin, seq) */
    size_t n_rel, cap_rel;
    double released_ts; /* ts of the last insertion released */

    double wclock[SL_RING_MAX];
    double pclock[SL_RING_MAX];
    uint64_t pclock_epoch[SL_RING_MAX];
    bool pclock_valid[SL_RING_MAX];
    double announced;
    bool announced_valid;
    struct sl_ring_stats st;
};

static const char *me_name(const struct sl_ring_proxy *p)
{
    return p->v.proxy[p->me];
}

static struct item **item_slot(struct item **t, size_t cap, uint64_t h, const char *set,
                               const char *key)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!t[i] || (t[i]->h == h && strcmp(t[i]->set, set) == 0 && strcmp(t[i]->key, key) == 0))
            return &t[i];
}

static int items_grow(struct sl_ring_proxy *p)
{
    size_t cap = p->items_cap ? p->items_cap * 2 : 256;
    struct item **t = calloc(cap, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < p->items_cap; i++) {
        struct item *it = p->items[i];
        if (it)
            *item_slot(t, cap, it->h, it->set, it->key) = it;
    }
    free(p->items);
    p->items = t;
    p->items_cap = cap;
    return 0;
}

static uint64_t pend_hash(const char *origin, uint64_t seq)
{
    return sl_wire_hash(origin) ^ (seq * 0x9e3779b97f4a7c15ull);
}

static int pend_find(const struct sl_ring_proxy *p, const char *origin, uint64_t seq)
{
    if (!p->pend_nb)
        return -1;
    int i = p->pend_bucket[pend_hash(origin, seq) % p->pend_nb];
    for (; i >= 0; i = p->pend[i].next) {
        const struct sl_wire_known *k = &p->pend[i].m.u.known;
        if (k->seq == seq && strcmp(k->origin, origin) == 0)
            return i;
    }
    return -1;
}

static int pend_rehash(struct sl_ring_proxy *p, size_t nb)
{
    int *b = malloc(nb * sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < nb; i++)
        b[i] = -1;
    for (size_t i = 0; i < p->pend_cap; i++) {
        if (!p->pend[i].used)
            continue;
        const struct sl_wire_known *k = &p->pend[i].m.u.known;
        size_t bi = pend_hash(k->origin, k->seq) % nb;
        p->pend[i].next = b[bi];
        b[bi] = (int)i;
    }
    free(p->pend_bucket);
    p->pend_bucket = b;
    p->pend_nb = nb;
    return 0;
}

static int pend_alloc(struct sl_ring_proxy *p)
{
    if (p->pend_free < 0) {
        size_t cap = p->pend_cap ? p->pend_cap * 2 : 64;
        if (cap > INT32_MAX)
            return -ENOMEM;
        struct pend *n = realloc(p->pend, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        memset(n + p->pend_cap, 0, (cap - p->pend_cap) * sizeof(*n));
        for (size_t i = cap; i-- > p->pend_cap;) {
            n[i].next = p->pend_free;
            p->pend_free = (int)i;
        }
        p->pend = n;
        p->pend_cap = cap;
        if (pend_rehash(p, cap) < 0)
            return -ENOMEM;
    }
    int i = p->pend_free;
    p->pend_free = p->pend[i].next;
    return i;
}

static void pend_link(struct sl_ring_proxy *p, int i)
{
    const struct sl_wire_known *k = &p->pend[i].m.u.known;
    size_t bi = pend_hash(k->origin, k->seq) % p->pend_nb;
    p->pend[i].next = p->pend_bucket[bi];
    p->pend_bucket[bi] = i;
}

static void pend_remove(struct sl_ring_proxy *p, int i)
{
    const struct sl_wire_known *k = &p->pend[i].m.u.known;
    int *link = &p->pend_bucket[pend_hash(k->origin, k->seq) % p->pend_nb];
    while (*link != i)
        link = &p->pend[*link].next;
    *link = p->pend[i].next;
    sl_wire_msg_clear(&p->pend[i].m);
    p->pend[i].used = false;
    p->pend[i].gen++;
    p->pend[i].next = p->pend_free;
    p->pend_free = i;
    p->st.pending--;
}

static double pend_min_ts(struct sl_ring_proxy *p)
{
    while (p->pend_heap.n) {
        struct hent *top = &p->pend_heap.a[0];
        struct pend *pe = &p->pend[(size_t)top->ptr];
        if (pe->used && pe->gen == top->gen)
            return top->ts;
        heap_pop(&p->pend_heap);
    }
    return INFINITY;
}

/* ---- release queue: (ts, origin, seq) order, the same on every proxy ---- */

static const struct sl_wire_known *rel_k(const struct rel *r)
{
    return &r->it->ins[r->idx].m.u.known;
}

static bool rel_less(const struct rel *a, const struct rel *b)
{
    const struct sl_wire_known *x = rel_k(a), *y = rel_k(b);
    if (x->ts != y->ts)
        return x->ts < y->ts;
    int c = strcmp(x->origin, y->origin);
    return c ? c < 0 : x->seq < y->seq;
}

static int rel_push(struct sl_ring_proxy *p, struct item *it, uint32_t idx)
{
    if (p->n_rel == p->cap_rel) {
        size_t cap = p->cap_rel ? p->cap_rel * 2 : 64;
        struct rel *n = realloc(p->rel, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        p->rel = n;
        p->cap_rel = cap;
    }
    struct rel r = {it, idx};
    size_t i = p->n_rel++;
    while (i > 0 && rel_less(&r, &p->rel[(i - 1) / 2])) {
        p->rel[i] = p->rel[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    p->rel[i] = r;
    return 0;
}

static void rel_pop(struct sl_ring_proxy *p)
{
    struct rel last = p->rel[--p->n_rel];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= p->n_rel)
            break;
        if (c + 1 < p->n_rel && rel_less(&p->rel[c + 1], &p->rel[c]))
            c++;
        if (!rel_less(&p->rel[c], &last))
            break;
        p->rel[i] = p->rel[c];
        i = c;
    }
    if (p->n_rel)
        p->rel[i] = last;
}

/* This proxy's clock: nothing earlier than this can still come through it. */
static double my_clock(struct sl_ring_proxy *p)
{
    double c = pend_min_ts(p);
    for (unsigned w = 0; w < p->v.n_workers; w++)
        if (p->v.worker_live[w] && p->v.assign[w] == (int)p->me && p->wclock[w] < c)
            c = p->wclock[w];
    return c;
}

static double global_clock(struct sl_ring_proxy *p)
{
    double g = my_clock(p);
    p->st.clock = g;
    for (unsigned q = 0; q < p->v.n_proxies; q++) {
        if (q == p->me || !p->v.proxy_live[q])
            continue;
        if (!p->pclock_valid[q] || p->pclock_epoch[q] != p->v.epoch)
            g = -INFINITY;
        else if (p->pclock[q] < g)
            g = p->pclock[q];
    }
    p->st.global_clock = g;
    return g;
}

static bool owns(const struct sl_ring_proxy *p, const struct item *it)
{
    return sl_ring_owner(&p->v, it->set, it->key) == (int)p->me;
}

/* Hands the owned insertions that nothing earlier can precede any more to
 * the log op, in (ts, origin, seq) order. */
static int try_log(struct sl_ring_proxy *p)
{
    double g = global_clock(p);
    while (p->n_rel && rel_k(&p->rel[0])->ts < g) {
        struct rel r = p->rel[0];
        rel_pop(p);
        struct ins *in = &r.it->ins[r.idx];
        if (in->released || !r.it->owned)
            continue;
        int rc = p->ops.log(p->ops.ctx, &in->m.u.known);
        if (rc < 0) {
            rel_push(p, r.it, r.idx);
            return rc;
        }
        in->released = true;
        if (in->m.u.known.ts > p->released_ts)
            p->released_ts = in->m.u.known.ts;
        p->st.logged++;
    }
    return 0;
}

static int announce_clock(struct sl_ring_proxy *p, bool force)
{
    double c = my_clock(p);
    if (!force && p->announced_valid && c == p->announced)
        return 0;
    p->announced = c;
    p->announced_valid = true;
    int succ = sl_ring_successor(&p->v, p->me);
    if (succ < 0)
        return 0;
    struct sl_wire_clock ck = {.node = me_name(p), .epoch = p->v.epoch, .ts = c};
    return p->ops.clock(p->ops.ctx, (unsigned)succ, &ck);
}

/* Afterwards: tell the ring if our clock moved, log what became safe. */
static int settle(struct sl_ring_proxy *p, int rc, bool force)
{
    int r2 = announce_clock(p, force);
    int r3 = try_log(p);
    return rc < 0 ? rc : r2 < 0 ? r2 : r3;
}

static int send_down(struct sl_ring_proxy *p, const struct sl_wire_known *k)
{
    struct sl_wire_known d = *k;
    d.flags |= SL_WIRE_KF_DOWN;
    d.epoch = p->v.epoch;
    for (unsigned w = 0; w < p->v.n_workers; w++) {
        if (!p->v.worker_live[w] || p->v.assign[w] != (int)p->me ||
            strcmp(p->v.worker[w], k->origin) == 0)
            continue;
        int rc = p->ops.down(p->ops.ctx, w, &d);
        if (rc < 0)
            return rc;
        p->st.down++;
    }
    return 0;
}

static struct item *item_get(struct sl_ring_proxy *p, const char *set, const char *key)
{
    if ((p->st.elements + 1) * 4 > p->items_cap * 3 && items_grow(p) < 0)
        return NULL;
    uint64_t h = element_hash(set, key);
    struct item **slot = item_slot(p->items, p->items_cap, h, set, key);
    if (*slot)
        return *slot;
    struct item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->set = strdup(set);
    it->key = strdup(key);
    if (!it->set || !it->key) {
        free(it->set);
        free(it->key);
        free(it);
        return NULL;
    }
    it->h = h;
    it->owned = owns(p, it);
    *slot = it;
    p->st.elements++;
    return it;
}

/* Applies an insertion once per (origin, seq): keeps it in its element's
 * history, sends it down, queues it for release when the element is ours. */
static int apply(struct sl_ring_proxy *p, const struct sl_wire_known *k)
{
    int r = sl_wire_seen_add(p->seen, k->origin, k->seq);
    if (r < 0)
        return r;
    if (r == 0) {
        p->st.dup++;
        return 0;
    }
    p->st.applied++;
    struct item *it = item_get(p, k->set, k->key);
    if (!it)
        return -ENOMEM;
    if (it->n_ins == it->cap_ins) {
        uint32_t cap = it->cap_ins ? it->cap_ins * 2 : 2;
        struct ins *n = realloc(it->ins, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        it->ins = n;
        it->cap_ins = cap;
    }
    struct ins *in = &it->ins[it->n_ins];
    memset(in, 0, sizeof(*in));
    struct sl_wire_known c = *k;
    c.flags &= ~(uint32_t)SL_WIRE_KF_DOWN;
    int rc = clone_known(&c, &in->m);
    if (rc < 0)
        return rc;
    it->n_ins++;
    rc = send_down(p, k);
    if (rc < 0 || !it->owned)
        return rc;
    if (k->ts < p->released_ts)
        p->st.late++; /* a later insertion of ours was released already */
    return rel_push(p, it, it->n_ins - 1);
}

static int forward(struct sl_ring_proxy *p, const struct sl_wire_known *k, uint32_t hops)
{
    int succ = sl_ring_successor(&p->v, p->me);
    if (succ < 0)
        return 0;
    struct sl_wire_known f = *k;
    f.hops = hops;
    f.flags &= ~(uint32_t)SL_WIRE_KF_DOWN;
    int rc = p->ops.forward(p->ops.ctx, (unsigned)succ, &f);
    if (rc == 0)
        p->st.forwarded++;
    return rc;
}

static int complete(struct sl_ring_proxy *p, const char *origin, uint64_t seq)
{
    int i = pend_find(p, origin, seq);
    if (i < 0)
        return 0; /* a second copy of a re-sent circuit */
    pend_remove(p, i);
    p->st.circuits++;
    return p->ops.ack(p->ops.ctx, origin, seq);
}

struct sl_ring_proxy *sl_ring_proxy_new(const struct sl_ring_view *v, unsigned me,
                                        const struct sl_ring_ops *ops, double resend_after)
{
    if (!v || !ops || me >= v->n_proxies || !ops->forward || !ops->down || !ops->ack || !ops->log ||
        !ops->clock) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_ring_proxy *p = calloc(1, sizeof(*p));
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    p->v = *v;
    p->me = me;
    p->ops = *ops;
    p->resend_after = resend_after > 0 ? resend_after : 1.0;
    p->pend_free = -1;
    p->released_ts = -INFINITY;
    p->seen = sl_wire_seen_new();
    if (!p->seen || items_grow(p) < 0) {
        sl_ring_proxy_free(p);
        errno = ENOMEM;
        return NULL;
    }
    for (unsigned i = 0; i < SL_RING_MAX; i++)
        p->wclock[i] = -INFINITY;
    return p;
}

void sl_ring_proxy_free(struct sl_ring_proxy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->items_cap; i++) {
        struct item *it = p->items[i];
        if (!it)
            continue;
        for (uint32_t k = 0; k < it->n_ins; k++)
            sl_wire_msg_clear(&it->ins[k].m);
        free(it->ins);
        free(it->set);
        free(it->key);
        free(it);
    }
    for (size_t i = 0; i < p->pend_cap; i++)
        if (p->pend[i].used)
            sl_wire_msg_clear(&p->pend[i].m);
    free(p->items);
    free(p->pend);
    free(p->pend_bucket);
    free(p->pend_heap.a);
    free(p->rel);
    sl_wire_seen_free(p->seen);
    free(p);
}

int sl_ring_proxy_insert(struct sl_ring_proxy *p, const struct sl_wire_known *k, double now)
{
    if (pend_find(p, k->origin, k->seq) >= 0) {
        p->st.dup++;
        return 0;
    }
    struct sl_wire_known c = *k;
    c.entry = me_name(p);
    c.hops = 0;
    c.flags = 0;
    c.epoch = p->v.epoch;
    int i = pend_alloc(p);
    if (i < 0)
        return i;
    int rc = clone_known(&c, &p->pend[i].m);
    if (rc < 0) {
        p->pend[i].next = p->pend_free;
        p->pend_free = i;
        return rc;
    }
    p->pend[i].used = true;
    p->pend[i].sent = now;
    pend_link(p, i);
    p->st.pending++;
    rc = heap_push(&p->pend_heap, c.ts, (void *)(size_t)i, p->pend[i].gen);
    if (rc == 0)
        rc = apply(p, &c);
    if (rc == 0) {
        if (sl_ring_successor(&p->v, p->me) < 0)
            rc = complete(p, c.origin, c.seq); /* alone: the circuit is this proxy */
        else
            rc = forward(p, &c, 1);
    }
    return settle(p, rc, false);
}

int sl_ring_proxy_ring(struct sl_ring_proxy *p, const struct sl_wire_known *k, double now)
{
    (void)now;
    if (strcmp(k->entry, me_name(p)) == 0)
        return settle(p, complete(p, k->origin, k->seq), false);
    int e = sl_ring_proxy_index(&p->v, k->entry);
    if (e < 0 || !p->v.proxy_live[e]) {
        /* its worker re-sends it through its new proxy */
        p->st.dropped_dead_entry++;
        return 0;
    }
    if (k->hops > 2 * p->v.n_proxies) {
        p->st.dropped_hops++;
        return 0;
    }
    int rc = apply(p, k);
    if (rc == 0)
        rc = forward(p, k, k->hops + 1);
    return settle(p, rc, false);
}

int sl_ring_proxy_worker_clock(struct sl_ring_proxy *p, const struct sl_wire_clock *c)
{
    int w = sl_ring_worker_index(&p->v, c->node);
    if (w < 0)
        return -ENOENT;
    if (c->ts > p->wclock[w])
        p->wclock[w] = c->ts;
    return settle(p, 0, false);
}

int sl_ring_proxy_ring_clock(struct sl_ring_proxy *p, const struct sl_wire_clock *c)
{
    if (strcmp(c->node, me_name(p)) == 0)
        return 0; /* went all the way round */
    int q = sl_ring_proxy_index(&p->v, c->node);
    if (q < 0)
        return -ENOENT;
    if (!p->v.proxy_live[q])
        return 0; /* nobody would stop it */
    if (c->epoch == p->v.epoch) {
        p->pclock[q] = c->ts;
        p->pclock_epoch[q] = c->epoch;
        p->pclock_valid[q] = true;
    } else {
        p->st.stale_clock++;
    }
    int rc = 0;
    int succ = sl_ring_successor(&p->v, p->me);
    if (succ >= 0 && succ != q)
        rc = p->ops.clock(p->ops.ctx, (unsigned)succ, c);
    return settle(p, rc, false);
}

static int resend(struct sl_ring_proxy *p, double now, bool all)
{
    bool alone = sl_ring_successor(&p->v, p->me) < 0;
    for (size_t i = 0; i < p->pend_cap; i++) {
        struct pend *pe = &p->pend[i];
        if (!pe->used || (!all && now - pe->sent < p->resend_after))
            continue;
        pe->sent = now;
        p->st.resent++;
        int rc;
        if (alone) {
            struct sl_wire_known *k = &pe->m.u.known;
            char origin[SL_WIRE_MAX_NAME + 1];
            snprintf(origin, sizeof(origin), "%s", k->origin);
            rc = complete(p, origin, k->seq);
        } else {
            pe->m.u.known.epoch = p->v.epoch;
            rc = forward(p, &pe->m.u.known, 1);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sl_ring_proxy_set_view(struct sl_ring_proxy *p, const struct sl_ring_view *v, double now)
{
    if (v->n_proxies != p->v.n_proxies || v->n_workers != p->v.n_workers)
        return -EINVAL;
    /* Worker clocks stay: a clock only grows, so an old one is still a
     * lower bound, and a worker never heard of stays at -inf until it
     * attaches here. Proxy clocks of the old epoch are not: they covered
     * other workers. */
    p->v = *v;
    for (unsigned q = 0; q < v->n_proxies; q++)
        p->pclock_valid[q] = false;
    /* elements that became ours: replay their whole history in order */
    for (size_t i = 0; i < p->items_cap; i++) {
        struct item *it = p->items[i];
        if (!it)
            continue;
        bool now_owned = owns(p, it);
        if (now_owned && !it->owned) {
            for (uint32_t k = 0; k < it->n_ins; k++) {
                it->ins[k].released = false;
                int rc = rel_push(p, it, k);
                if (rc < 0)
                    return rc;
            }
            p->st.taken_over++;
        }
        it->owned = now_owned;
    }
    int rc = resend(p, now, true);
    return settle(p, rc, true);
}

int sl_ring_proxy_tick(struct sl_ring_proxy *p, double now)
{
    return settle(p, resend(p, now, false), true);
}

void sl_ring_proxy_stats(const struct sl_ring_proxy *p, struct sl_ring_stats *st)
{
    *st = p->st;
    st->unlogged = 0;
    for (size_t i = 0; i < p->items_cap; i++) {
        const struct item *it = p->items[i];
        if (!it || !it->owned)
            continue;
        for (uint32_t k = 0; k < it->n_ins; k++)
            st->unlogged += !it->ins[k].released;
    }
}

/* ----------------------------------------------------------------- worker */

struct wpend {
    struct sl_wire_msg m;
    uint64_t seq;
    bool acked;
};

struct sl_ring_worker {
    struct sl_ring_view v;
    unsigned me;
    int proxy;
    struct sl_ring_wops ops;
    uint64_t next_seq, sent, unacked;
    struct wpend *q; /* by seq, ascending; [head, n) live */
    size_t head, n, cap;
};

struct sl_ring_worker *sl_ring_worker_new(const struct sl_ring_view *v, unsigned me,
                                          const struct sl_ring_wops *ops)
{
    if (!v || !ops || !ops->attach || !ops->send || me >= v->n_workers) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_ring_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    w->v = *v;
    w->me = me;
    w->ops = *ops;
    w->proxy = sl_ring_assign(v, me);
    return w;
}

void sl_ring_worker_free(struct sl_ring_worker *w)
{
    if (!w)
        return;
    for (size_t i = w->head; i < w->n; i++)
        sl_wire_msg_clear(&w->q[i].m);
    free(w->q);
    free(w);
}

int sl_ring_worker_proxy(const struct sl_ring_worker *w)
{
    return w->proxy;
}

int sl_ring_worker_start(struct sl_ring_worker *w)
{
    return w->proxy < 0 ? 0 : w->ops.attach(w->ops.ctx, (unsigned)w->proxy);
}

int sl_ring_worker_insert(struct sl_ring_worker *w, const char *set, const char *key, double ts,
                          const struct sl_wire_section *rec)
{
    if (w->n == w->cap) {
        if (w->head > 0) {
            memmove(w->q, w->q + w->head, (w->n - w->head) * sizeof(*w->q));
            w->n -= w->head;
            w->head = 0;
        }
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 64;
            struct wpend *q = realloc(w->q, cap * sizeof(*q));
            if (!q)
                return -ENOMEM;
            w->q = q;
            w->cap = cap;
        }
    }
    struct sl_wire_known k = {
        .set = set,
        .key = key,
        .origin = w->v.worker[w->me],
        .seq = w->next_seq + 1,
        .entry = "",
        .epoch = w->v.epoch,
        .ts = ts,
        .rec = *rec,
    };
    struct wpend *pe = &w->q[w->n];
    int rc = clone_known(&k, &pe->m);
    if (rc < 0)
        return rc;
    pe->seq = ++w->next_seq;
    pe->acked = false;
    w->n++;
    w->unacked++;
    w->sent++;
    return w->proxy < 0 ? 0 : w->ops.send(w->ops.ctx, (unsigned)w->proxy, &pe->m.u.known);
}

void sl_ring_worker_ack(struct sl_ring_worker *w, uint64_t seq)
{
    size_t lo = w->head, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->q[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == w->n || w->q[lo].seq != seq || w->q[lo].acked)
        return;
    w->q[lo].acked = true;
    sl_wire_msg_clear(&w->q[lo].m);
    w->unacked--;
    while (w->head < w->n && w->q[w->head].acked)
        w->head++;
    if (w->head == w->n)
        w->head = w->n = 0;
}

int sl_ring_worker_resend(struct sl_ring_worker *w)
{
    if (w->proxy < 0)
        return 0;
    for (size_t i = w->head; i < w->n; i++) {
        if (w->q[i].acked)
            continue;
        int rc = w->ops.send(w->ops.ctx, (unsigned)w->proxy, &w->q[i].m.u.known);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sl_ring_worker_set_view(struct sl_ring_worker *w, const struct sl_ring_view *v)
{
    if (v->n_workers != w->v.n_workers || v->n_proxies != w->v.n_proxies)
        return -EINVAL;
    w->v = *v;
    int np = sl_ring_assign(v, w->me);
    if (np == w->proxy)
        return 0;
    w->proxy = np;
    if (np < 0)
        return 0;
    int rc = w->ops.attach(w->ops.ctx, (unsigned)np);
    return rc < 0 ? rc : sl_ring_worker_resend(w);
}

uint64_t sl_ring_worker_pending(const struct sl_ring_worker *w)
{
    return w->unacked;
}

uint64_t sl_ring_worker_sent(const struct sl_ring_worker *w)
{
    return w->sent;
}
