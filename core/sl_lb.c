/* The balancer decision: flow hash, rendezvous, fragment table, held early
 * fragments, ICMP error steering. */
#include "sl_lb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4 /* slots per bucket: a colliding datagram evicts the oldest */

#define DEF_SLOTS   65536u
#define DEF_TIMEOUT (300ull * 1000000000ull)
#define DEF_HOLD    (100ull * 1000000ull)
#define DEF_HELD    4096u

enum slot_state {
    S_EMPTY = 0,
    S_KNOWN,   /* first fragment seen: h is its flow hash */
    S_PENDING, /* only later fragments seen: they wait in the held list */
    S_ORPHAN,  /* first fragment overdue: h is the 3-tuple hash used instead */
};

struct frag_key {
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;
    uint8_t proto;
    uint8_t version;
    uint8_t pad[2];
};

struct frag_slot {
    struct frag_key k;
    uint8_t state;
    uint8_t pad[3];
    int32_t held_head, held_tail; /* S_PENDING: held entries, arrival order */
    uint64_t ts;                  /* packet time of the last use */
    uint64_t h;
};

enum held_state { H_FREE = 0, H_WAITING, H_READY };

struct held {
    void *cookie;
    uint64_t t;  /* arrival (packet time) */
    uint64_t h3; /* hash used if it ends up orphaned */
    uint64_t h;  /* H_READY: hash to pick with */
    int32_t slot;
    int32_t next_slot;          /* H_WAITING: next in the slot's list */
    int32_t prev_age, next_age; /* H_WAITING: age list; H_FREE: free list (next_age) */
    int32_t next_ready;
    uint8_t state;
    uint8_t why;
};

struct sl_lb {
    struct sl_lb_conf conf;
    const struct sl_rdv *rdv;
    const struct sl_rdv_table *rdv_table; /* or NULL */
    bool use_table; /* sym3/sym2 over the outer layer need no fragment table */
    unsigned bucket_mask;
    struct frag_slot *slots;
    /* Per slot: a tag of its key's hash, 0 while the slot is empty. A
     * bucket's tags share a cache line, so a lookup reads one line and then
     * only the slot whose tag matches, not all WAYS slots (a DRAM miss each
     * once the table outgrows the caches). */
    uint32_t *tags;
    struct held *held;
    int32_t free_head;
    int32_t age_head, age_tail;
    int32_t ready_head, ready_tail;
    uint64_t last_h; /* the hash the last sl_lb_pick chose by */
    struct sl_lb_stats st;
};

struct sl_lb *sl_lb_new(const struct sl_lb_conf *conf, const struct sl_rdv *rdv)
{
    if (!conf || !rdv || (unsigned)conf->mode >= SL_HASH_MAX) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_lb *lb = calloc(1, sizeof(*lb));
    if (!lb)
        return NULL;
    lb->conf = *conf;
    lb->rdv = rdv;
    if (!lb->conf.frag_slots)
        lb->conf.frag_slots = DEF_SLOTS;
    if (!lb->conf.frag_timeout_ns)
        lb->conf.frag_timeout_ns = DEF_TIMEOUT;
    if (!lb->conf.hold_ns)
        lb->conf.hold_ns = DEF_HOLD;
    if (!lb->conf.max_held)
        lb->conf.max_held = DEF_HELD;

    unsigned n = WAYS;
    while (n < lb->conf.frag_slots && n < (1u << 30))
        n <<= 1;
    lb->conf.frag_slots = n;
    lb->bucket_mask = n / WAYS - 1;
    lb->use_table = conf->mode != SL_HASH_SYM3 && conf->mode != SL_HASH_SYM2;

    lb->slots = calloc(n, sizeof(*lb->slots));
    lb->tags = calloc(n, sizeof(*lb->tags));
    lb->held = calloc(lb->conf.max_held, sizeof(*lb->held));
    if (!lb->slots || !lb->tags || !lb->held)
        goto fail;
    for (unsigned i = 0; i < lb->conf.max_held; i++)
        lb->held[i].next_age = (i + 1 < lb->conf.max_held) ? (int32_t)i + 1 : -1;
    lb->free_head = 0;
    lb->age_head = lb->age_tail = -1;
    lb->ready_head = lb->ready_tail = -1;
    return lb;
fail:
    sl_lb_free(lb);
    errno = ENOMEM;
    return NULL;
}

void sl_lb_free(struct sl_lb *lb)
{
    if (!lb)
        return;
    free(lb->slots);
    free(lb->tags);
    free(lb->held);
    free(lb);
}

void sl_lb_set_table(struct sl_lb *lb, const struct sl_rdv_table *t)
{
    lb->rdv_table = t;
}

static inline int rdv_pick(const struct sl_lb *lb, uint64_t h)
{
    return lb->rdv_table ? sl_rdv_table_pick(lb->rdv_table, h) : sl_rdv_pick(lb->rdv, h);
}

void sl_lb_stats(const struct sl_lb *lb, struct sl_lb_stats *st)
{
    *st = lb->st;
}

/* --- held entries ---------------------------------------------------------- */

static void age_unlink(struct sl_lb *lb, int32_t i)
{
    struct held *e = &lb->held[i];
    if (e->prev_age >= 0)
        lb->held[e->prev_age].next_age = e->next_age;
    else
        lb->age_head = e->next_age;
    if (e->next_age >= 0)
        lb->held[e->next_age].prev_age = e->prev_age;
    else
        lb->age_tail = e->prev_age;
}

static void ready_push(struct sl_lb *lb, int32_t i, uint64_t h, enum sl_lb_reason why)
{
    struct held *e = &lb->held[i];
    e->state = H_READY;
    e->h = h;
    e->why = (uint8_t)why;
    e->slot = -1;
    e->next_ready = -1;
    if (lb->ready_tail >= 0)
        lb->held[lb->ready_tail].next_ready = i;
    else
        lb->ready_head = i;
    lb->ready_tail = i;
}

/* Moves every fragment waiting on slot s to the ready queue, in arrival
 * order, to be released with hash h. */
static void slot_flush(struct sl_lb *lb, struct frag_slot *s, uint64_t h, enum sl_lb_reason why)
{
    for (int32_t i = s->held_head; i >= 0;) {
        int32_t next = lb->held[i].next_slot;
        age_unlink(lb, i);
        ready_push(lb, i, why == SL_LB_FRAG_ORPHAN ? lb->held[i].h3 : h, why);
        if (why == SL_LB_FRAG_ORPHAN) {
            lb->st.frag_orphans++;
            lb->st.frag_held_orphaned++;
        } else {
            lb->st.frag_released++;
        }
        i = next;
    }
    s->held_head = s->held_tail = -1;
}

static bool hold(struct sl_lb *lb, struct frag_slot *s, int32_t slot_idx, void *cookie,
                 uint64_t now, uint64_t h3)
{
    int32_t i = lb->free_head;
    if (i < 0)
        return false;
    struct held *e = &lb->held[i];
    lb->free_head = e->next_age;
    *e = (struct held){.cookie = cookie,
                       .t = now,
                       .h3 = h3,
                       .slot = slot_idx,
                       .next_slot = -1,
                       .prev_age = lb->age_tail,
                       .next_age = -1,
                       .state = H_WAITING};
    if (lb->age_tail >= 0)
        lb->held[lb->age_tail].next_age = i;
    else
        lb->age_head = i;
    lb->age_tail = i;
    if (s->held_tail >= 0)
        lb->held[s->held_tail].next_slot = i;
    else
        s->held_head = i;
    s->held_tail = i;
    lb->st.frag_held++;
    lb->st.held_now++;
    return true;
}

/* --- fragment table -------------------------------------------------------- */

static void frag_key_of(struct frag_key *k, const struct sl_pkt_ip *ip)
{
    memset(k, 0, sizeof(*k));
    memcpy(k->src, ip->src, 16);
    memcpy(k->dst, ip->dst, 16);
    k->id = ip->frag_id;
    k->proto = ip->proto;
    k->version = ip->version;
}

/* The key's hash: its low bits pick the bucket, its high half is the tag. */
static uint64_t key_hash(const struct frag_key *k)
{
    uint64_t w[5];
    memcpy(w, k, sizeof(w));
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 5; i++) {
        __uint128_t r = (__uint128_t)(x ^ w[i]) * 0xa0761d6478bd642fULL;
        x = (uint64_t)r ^ (uint64_t)(r >> 64);
    }
    return x;
}

static bool expired(const struct sl_lb *lb, const struct frag_slot *s, uint64_t now)
{
    /* Waiting fragments are timed by hold_ns in sl_lb_release instead. */
    return s->state != S_PENDING && now > s->ts && now - s->ts > lb->conf.frag_timeout_ns;
}

static void slot_clear(struct sl_lb *lb, struct frag_slot *s)
{
    if (s->state == S_PENDING)
        slot_flush(lb, s, 0, SL_LB_FRAG_ORPHAN);
    s->state = S_EMPTY;
    lb->tags[s - lb->slots] = 0;
}

/* Gives slot s (empty) to key k. */
static struct frag_slot *slot_claim(struct sl_lb *lb, struct frag_slot *s, const struct frag_key *k,
                                    uint32_t tag, uint64_t now)
{
    s->k = *k;
    s->held_head = s->held_tail = -1;
    s->ts = now;
    lb->tags[s - lb->slots] = tag;
    return s;
}

/* A full bucket b: its expired ways are cleared (and counted), the first of
 * them taken; else its least recently used way is evicted. */
static struct frag_slot *slot_victim(struct sl_lb *lb, struct frag_slot *b, uint64_t now)
{
    struct frag_slot *victim = NULL;
    for (int i = 0; i < WAYS; i++) {
        struct frag_slot *s = &b[i];
        if (expired(lb, s, now)) {
            lb->st.frag_expired++;
            slot_clear(lb, s);
            if (!victim || victim->state != S_EMPTY)
                victim = s;
        } else if (!victim || (victim->state != S_EMPTY && s->ts < victim->ts)) {
            victim = s;
        }
    }
    if (victim->state != S_EMPTY) {
        lb->st.frag_evicted++;
        slot_clear(lb, victim);
    }
    return victim;
}

/* Finds the slot of k; with `create`, claims one (an empty way, else an
 * expired one, else the least recently used, evicted and counted). NULL when
 * absent. A slot found past its time is cleared and counted as expired. */
static struct frag_slot *slot_get(struct sl_lb *lb, const struct frag_key *k, uint64_t now,
                                  bool create)
{
    uint64_t x = key_hash(k);
    size_t base = (size_t)(x & lb->bucket_mask) * WAYS;
    uint32_t tag = (uint32_t)(x >> 32) | 1;
    const uint32_t *tg = &lb->tags[base];
    struct frag_slot *b = &lb->slots[base];
    struct frag_slot *empty = NULL;
    for (int i = 0; i < WAYS; i++) {
        if (tg[i] == tag && memcmp(&b[i].k, k, sizeof(*k)) == 0) {
            if (!expired(lb, &b[i], now))
                return &b[i];
            lb->st.frag_expired++;
            slot_clear(lb, &b[i]);
            return create ? slot_claim(lb, &b[i], k, tag, now) : NULL;
        }
        if (tg[i] == 0 && !empty)
            empty = &b[i];
    }
    if (!create)
        return NULL;
    return slot_claim(lb, empty ? empty : slot_victim(lb, b, now), k, tag, now);
}

/* --- prefetch hint ---------------------------------------------------------- */

static uint32_t rd16(const uint8_t *b)
{
    return (uint32_t)b[0] << 8 | b[1];
}

/* The key frag_key_of makes of a fragment that follows an Ethernet header
 * directly; false for any other frame. Only a hint's input: a frame read
 * otherwise than the decoder reads it costs one useless prefetch. */
static bool wire_frag_key(const uint8_t *d, uint32_t len, struct frag_key *k)
{
    const uint8_t *h = d + 14;
    if (len < 14 + 20)
        return false;
    memset(k, 0, sizeof(*k));
    if (rd16(d + 12) == 0x0800 && (h[0] >> 4) == 4) {
        if (!(rd16(h + 6) & 0x3fff))
            return false;
        sl_pkt_addr_from_v4(k->src, h + 12);
        sl_pkt_addr_from_v4(k->dst, h + 16);
        k->id = rd16(h + 4);
        k->proto = h[9];
        k->version = 4;
        return true;
    }
    if (rd16(d + 12) == 0x86dd && len >= 14 + 48 && (h[0] >> 4) == 6 && h[6] == 44) {
        const uint8_t *x = h + 40;
        /* an atomic fragment is whole; a first fragment followed by more
         * extension headers is keyed by the last one's next header */
        if (!(rd16(x + 2) & 0xfff9) || (!(rd16(x + 2) & 0xfff8) && sl_pkt_ip6_ext(x[0])))
            return false;
        memcpy(k->src, h + 8, 16);
        memcpy(k->dst, h + 24, 16);
        k->id = rd16(x + 4) << 16 | rd16(x + 6);
        k->proto = x[0];
        k->version = 6;
        return true;
    }
    return false;
}

long sl_lb_prefetch(const struct sl_lb *lb, const uint8_t *frame, uint32_t len)
{
    struct frag_key k;
    if (!lb || !frame || !lb->use_table || !wire_frag_key(frame, len, &k))
        return -1;
    uint64_t x = key_hash(&k);
    size_t bucket = (size_t)(x & lb->bucket_mask), base = bucket * WAYS;
    /* the tag line, and every line of every way, since which way matches
     * is not known yet */
    __builtin_prefetch(&lb->tags[base]);
    uintptr_t end = (uintptr_t)&lb->slots[base + WAYS];
    for (uintptr_t a = (uintptr_t)&lb->slots[base] & ~(uintptr_t)63; a < end; a += 64)
        __builtin_prefetch((const void *)a);
    return (long)bucket;
}

long sl_lb_frag_bucket(const struct sl_lb *lb, const struct sl_pkt *p)
{
    if (!lb || !p || !lb->use_table)
        return -1;
    const struct sl_pkt_ip *ip = sl_hash_pick_layer(p, lb->conf.mode);
    if (!ip)
        return -1;
    for (const struct sl_pkt_ip *l = p->ip; l <= ip; l++) {
        if (!(l->flags & SL_IPF_FRAG))
            continue;
        /* a later fragment is the last layer; a first one is noted at any */
        if (!(l->flags & SL_IPF_FIRST_FRAG) && l != &p->ip[p->n_ip - 1])
            continue;
        struct frag_key k;
        frag_key_of(&k, l);
        return (long)(key_hash(&k) & lb->bucket_mask);
    }
    return -1;
}

/* --- the decision ---------------------------------------------------------- */

static int finish(struct sl_lb *lb, uint64_t h, enum sl_lb_reason why, enum sl_lb_reason *out)
{
    lb->last_h = h;
    int w = rdv_pick(lb, h);
    if (out)
        *out = w < 0 ? SL_LB_NO_WORKER : why;
    return w;
}

/* A non-first fragment at layer f: its first fragment's choice, or hold. */
static int pick_fragment(struct sl_lb *lb, const struct sl_pkt_ip *f, uint64_t now, void *cookie,
                         enum sl_lb_reason *why)
{
    /* Its own hash has ports zero: the 3-tuple (or the mode's narrower
     * tuple), the fallback when the first fragment never shows. */
    uint64_t h3 = sl_hash_layer(f, lb->conf.mode);
    struct frag_key k;
    frag_key_of(&k, f);
    struct frag_slot *s = slot_get(lb, &k, now, false);
    if (s && s->state == S_KNOWN) {
        s->ts = now;
        lb->st.frag_hits++;
        return finish(lb, s->h, SL_LB_FRAG_HIT, why);
    }
    if (s && s->state == S_ORPHAN) {
        s->ts = now;
        lb->st.frag_orphans++;
        return finish(lb, s->h, SL_LB_FRAG_ORPHAN, why);
    }
    if (lb->free_head >= 0) {
        if (!s) {
            s = slot_get(lb, &k, now, true);
            s->state = S_PENDING;
        }
        int32_t idx = (int32_t)(s - lb->slots);
        if (hold(lb, s, idx, cookie, now, h3)) {
            if (why)
                *why = SL_LB_FRAG_HELD;
            return SL_LB_HELD;
        }
    }
    lb->st.frag_orphans++;
    return finish(lb, h3, SL_LB_FRAG_ORPHAN, why);
}

/* Remembers h for every first-fragment layer at or above the hashed one, so
 * their later fragments follow, and frees the fragments waiting for it. */
static void note_first_fragments(struct sl_lb *lb, const struct sl_pkt *p, unsigned upto,
                                 uint64_t h, uint64_t now)
{
    for (unsigned j = 0; j <= upto; j++) {
        const struct sl_pkt_ip *ip = &p->ip[j];
        if ((ip->flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG)) != (SL_IPF_FRAG | SL_IPF_FIRST_FRAG))
            continue;
        struct frag_key k;
        frag_key_of(&k, ip);
        struct frag_slot *s = slot_get(lb, &k, now, true);
        if (s->state == S_PENDING)
            slot_flush(lb, s, h, SL_LB_FRAG_RELEASED);
        s->state = S_KNOWN;
        s->h = h;
        s->ts = now;
        lb->st.frag_inserted++;
    }
}

int sl_lb_pick(struct sl_lb *lb, const struct sl_pkt *p, uint64_t now_ns, void *cookie,
               enum sl_lb_reason *why)
{
    const enum sl_hash_mode m = lb->conf.mode;
    const struct sl_pkt_ip *ip = sl_hash_pick_layer(p, m);
    if (!ip)
        return finish(lb, sl_hash_pkt_l2(p), SL_LB_NON_IP, why);
    const unsigned upto = (unsigned)(ip - p->ip);

    /* Decoding stops at a non-first fragment, so only the last layer can be
     * one; it matters when it is the hashed layer or above it. */
    if (lb->use_table && upto == p->n_ip - 1u &&
        (ip->flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG)) == SL_IPF_FRAG)
        return pick_fragment(lb, ip, now_ns, cookie, why);

    uint64_t h;
    enum sl_lb_reason r = SL_LB_FLOW;
    if (ip->flags & SL_IPF_ICMP_ERR) {
        h = sl_hash_quoted(&ip->quoted, m);
        r = SL_LB_ICMP_ERR;
        lb->st.icmp_steered++;
    } else {
        h = sl_hash_layer(ip, m);
    }
    if (lb->use_table)
        note_first_fragments(lb, p, upto, h, now_ns);
    return finish(lb, h, r, why);
}

int sl_lb_pick_flow(struct sl_lb *lb, uint64_t h)
{
    return finish(lb, h, SL_LB_FLOW, NULL);
}

uint64_t sl_lb_last_hash(const struct sl_lb *lb)
{
    return lb->last_h;
}

unsigned sl_lb_release(struct sl_lb *lb, uint64_t now_ns, struct sl_lb_released *out, unsigned max)
{
    /* Overdue waiters orphan their whole datagram: its later fragments then
     * go straight to the same 3-tuple worker instead of waiting again. */
    while (lb->age_head >= 0) {
        struct held *e = &lb->held[lb->age_head];
        bool due = now_ns == UINT64_MAX || (now_ns >= e->t && now_ns - e->t >= lb->conf.hold_ns);
        if (!due)
            break;
        struct frag_slot *s = &lb->slots[e->slot];
        uint64_t h3 = e->h3;
        slot_flush(lb, s, 0, SL_LB_FRAG_ORPHAN);
        s->state = S_ORPHAN;
        s->h = h3;
        s->ts = now_ns == UINT64_MAX ? e->t : now_ns;
    }

    unsigned n = 0;
    while (n < max && lb->ready_head >= 0) {
        int32_t i = lb->ready_head;
        struct held *e = &lb->held[i];
        lb->ready_head = e->next_ready;
        if (lb->ready_head < 0)
            lb->ready_tail = -1;
        out[n].cookie = e->cookie;
        out[n].why = (enum sl_lb_reason)e->why;
        out[n].worker = rdv_pick(lb, e->h);
        n++;
        e->state = H_FREE;
        e->next_age = lb->free_head;
        lb->free_head = i;
        lb->st.held_now--;
    }
    return n;
}
