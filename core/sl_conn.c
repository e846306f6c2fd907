/* sl_conn: connection tracking with Zeek 8's semantics. See sl_conn.h.
 *
 * Layout: the table (hash + LRU list + timer lanes and heap) first, then the TCP
 * endpoint machine and reassembler, UDP/ICMP/other, and conn.log records.
 * Function and variable names follow Zeek's where they mirror a Zeek
 * function, so the two can be read side by side.
 */
#include "sl_conn.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* The link word stays readable; the rest of a kept object is off limits. */
#define POOL_POISON(p, n)                                                                          \
    ASAN_POISON_MEMORY_REGION((char *)(p) + sizeof(void *), (n) - sizeof(void *))
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POOL_POISON(p, n)   ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define KEYLEN 38 /* Zeek's PackedConnTuple: ip1, ip2, port1, port2 (network order), proto */
/* Sized for a busy link's working set up front, not grown through every
 * doubling from a handful (1 MiB of slots). */
#define TAB_INITIAL_SLOTS 65536

/* init-bare.zeek defaults. */
#define TCP_SYN_TIMEOUT                         5.0
#define TCP_SESSION_TIMER                       6.0
#define TCP_CONNECTION_LINGER                   5.0
#define TCP_ATTEMPT_DELAY                       5.0
#define TCP_CLOSE_DELAY                         5.0
#define TCP_INACTIVITY_TIMEOUT                  300.0
#define UDP_INACTIVITY_TIMEOUT                  60.0
#define ICMP_INACTIVITY_TIMEOUT                 60.0
#define UNKNOWN_IP_INACTIVITY_TIMEOUT           60.0
#define TCP_STORM_THRESH                        1000
#define TCP_STORM_INTERARRIVAL                  1.0
#define TCP_MAX_INITIAL_WINDOW                  16384
#define TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS     16384
#define TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS (10 * 1024 * 1024)
#define TOO_LARGE_SEQ_DELTA                     1048576
#define MAX_TIMER_EXPIRES                       300
#define HIST_MAX                                1024
#define STREAM_COPY_MAX                         (256ull << 20) /* out-of-order payload kept for modules */

/* TCP_Endpoint::HistoryMasks */
#define HIST_SYN_PKT        0x1
#define HIST_FIN_PKT        0x2
#define HIST_RST_PKT        0x4
#define HIST_FIN_RST_PKT    0x8
#define HIST_DATA_PKT       0x10
#define HIST_ACK_PKT        0x20
#define HIST_MULTI_FLAG_PKT 0x40
/* UDP.cc */
#define HIST_ORIG_DATA_PKT 0x1
#define HIST_RESP_DATA_PKT 0x2

enum timer_kind {
    TK_INACT,
    TK_ATTEMPT,
    TK_EXPIRE0,
    TK_EXPIRE1,
    TK_EXPIRE2,
    TK_DELETE,
    TK_AEXP, /* an application analyzer's session timer (DNS over UDP) */
    TK_N
};

struct conn;
struct ctimer;

/* A heap entry: the timer's key, copied, and the timer. seq is the arming
 * order shifted left, with the timer's kind in the low bits. */
#define SEQ_KIND_BITS 3
#define SEQ_KIND_MASK ((1u << SEQ_KIND_BITS) - 1)

struct hent {
    double t;
    uint64_t seq;
    struct ctimer *x;
};
_Static_assert(TK_N <= 1 << SEQ_KIND_BITS, "a timer kind must fit in SEQ_KIND_BITS");

/* A connection's timer slot; its key (time, seq) lives in the heap or lane
 * entry, and its connection is found from its address (conn_of_timer). */
struct ctimer {
    uint64_t pos; /* index in the heap, or position in its lane */
    int8_t where; /* -1 when not armed, a lane, or WHERE_HEAP */
    uint8_t kind;
};

/* A lane: a FIFO ring of timers armed a fixed delay after a base that does
 * not go back, live between the absolute positions head and tail. */
#define N_LANES    12
#define WHERE_HEAP N_LANES
enum { BASE_NOW, BASE_LAST, BASE_PKT };

struct lane {
    struct hent *buf;
    size_t cap; /* power of two */
    uint64_t head, tail;
    uint64_t pf_far, pf_near; /* prefetched up to (prefetch_lane) */
    double delay;
    uint8_t cls;
};

/* A reassembler block: [seq, upper) relative sequence space. data is a copy
 * kept only for undelivered bytes of a stream somebody wants. */
struct blk {
    uint64_t seq, upper;
    uint8_t *data;
};

struct reasm {
    uint64_t last_reassem_seq, trim_seq;
    uint64_t *copied; /* the table's count of bytes held in block copies */
    struct blk *b;
    uint32_t head, n, cap; /* live blocks are b[head .. head+n) */
    uint64_t data_size;
    bool skip_deliveries, did_EOF, had_gap;
};

struct tcp_endp {
    uint8_t state, prev_state;
    bool did_close, is_orig;
    struct tcp_endp *peer;
    int64_t start_seq;
    uint32_t last_seq, ack_seq, seq_wraps, ack_wraps;
    uint32_t window, window_ack_seq, window_seq;
    int window_scale;
    uint64_t FIN_seq;
    int FIN_cnt, RST_cnt;
    uint64_t hist_last_SYN, hist_last_FIN, hist_last_RST;
    uint32_t chk_cnt, chk_thresh, rxmt_cnt, rxmt_thresh, win0_cnt, win0_thresh, gap_cnt, gap_thresh;
    double start_time, last_time;
    struct reasm r;
};

/* The flags come first, to share a cache line with ep[0]'s state. */
struct tcp {
    struct tcp_endp *orig, *resp;
    bool is_active, close_deferred, deferred_gen_event, seen_first_ACK, is_partial;
    uint8_t first_packet_seen;
    struct tcp_endp ep[2];
};

struct conn {
    struct sl_conn pub;
    uint8_t key[KEYLEN];
    uint64_t hash;
    struct conn *lru_prev, *lru_next;
    struct tcp *tcp; /* next to the timers: a firing timer looks at both */
    struct ctimer tm[TK_N];
    double inactivity_timeout;
    double aexp_timeout;
    uint32_t hist_seen;
    bool did_weird;
    bool has_encap;
    uint8_t tunnel_changes;
    uint16_t hist_len, hist_cap;
    char *hist;
    char hist_inline[24];
    int64_t req_len, rep_len; /* UDP/ICMP sizes, -1 = inactive */
    uint32_t req_chk_cnt, req_chk_thresh, rep_chk_cnt, rep_chk_thresh;
    struct sl_conn_encap encap;
};

/* A free list of fixed-size objects carved from slabs (see pool_get). */
struct pooled {
    struct pooled *next;
};

struct pool {
    struct pooled *free;
    char *fresh, *fresh_end; /* never used yet, in the newest slab */
    void **slabs;
    size_t n_slabs, cap_slabs, size;
};

struct slot {
    uint64_t hash;
    struct conn *c;
};

struct sl_conn_tab {
    struct sl_conn_cfg cfg;
    struct sl_conn_ops ops;
    double now;    /* network time: never goes back */
    double pkt_ts; /* the current packet's timestamp */
    uint64_t timer_seq;
    struct slot *slots;
    size_t nslots;                    /* power of two */
    struct conn *lru_head, *lru_tail; /* least recently active first */
    struct hent *heap;
    size_t heap_n, heap_cap;
    struct lane lanes[N_LANES];
    int n_lanes;
    struct sl_conn_stats st;
    bool terminating;
    bool draining; /* sl_conn_finish removing every connection */
    double due_lb; /* no armed timer is due before this */
    uint64_t copied;
    struct pool conn_pool, tcp_pool;
};

static inline struct conn *priv(struct sl_conn *c)
{
    return (struct conn *)c;
}
static inline const struct conn *cpriv(const struct sl_conn *c)
{
    return (const struct conn *)c;
}

static void conn_remove(struct sl_conn_tab *t, struct conn *c, enum sl_conn_why why);
static void conn_event(struct sl_conn_tab *t, struct conn *c, enum sl_conn_event ev);

/* ------------------------------------------------------------------ */
/* Keys and the hash table                                             */

/* Fixed-size compares as word loads: the library calls showed in profiles. */
static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline bool addr_eq(const uint8_t *a, const uint8_t *b)
{
    return ((ld64(a) ^ ld64(b)) | (ld64(a + 8) ^ ld64(b + 8))) == 0;
}

/* memcmp(a, b, 16)'s sign. */
static inline int addr_cmp(const uint8_t *a, const uint8_t *b)
{
    uint64_t x = be64toh(ld64(a)), y = be64toh(ld64(b));
    if (x == y) {
        x = be64toh(ld64(a + 8));
        y = be64toh(ld64(b + 8));
    }
    return x < y ? -1 : x > y;
}

static inline bool key_eq(const uint8_t *a, const uint8_t *b)
{
    _Static_assert(KEYLEN > 32 && KEYLEN <= 40, "key_eq reads the key as five words");
    return ((ld64(a) ^ ld64(b)) | (ld64(a + 8) ^ ld64(b + 8)) | (ld64(a + 16) ^ ld64(b + 16)) |
            (ld64(a + 24) ^ ld64(b + 24)) | (ld64(a + KEYLEN - 8) ^ ld64(b + KEYLEN - 8))) == 0;
}

static bool canon_lt(const uint8_t *a1, uint16_t p1, const uint8_t *a2, uint16_t p2)
{
    int r = addr_cmp(a1, a2);
    /* Zeek compares the ports as stored, in network byte order. */
    return r < 0 || (r == 0 && htobe16(p1) < htobe16(p2));
}

static void make_key(uint8_t key[KEYLEN], const struct sl_conn_id *id)
{
    const uint8_t *a1 = id->src, *a2 = id->dst;
    uint16_t p1 = id->sport, p2 = id->dport;

    if (!id->one_way && !canon_lt(id->src, id->sport, id->dst, id->dport)) {
        a1 = id->dst;
        a2 = id->src;
        p1 = id->dport;
        p2 = id->sport;
    }
    memcpy(key, a1, 16);
    memcpy(key + 16, a2, 16);
    key[32] = (uint8_t)(p1 >> 8);
    key[33] = (uint8_t)p1;
    key[34] = (uint8_t)(p2 >> 8);
    key[35] = (uint8_t)p2;
    key[36] = id->ip_proto; /* a little-endian uint16 */
    key[37] = 0;
}

static uint64_t key_hash(const uint8_t *k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < KEYLEN; i += 8) {
        uint64_t w = 0;
        memcpy(&w, k + i, (size_t)(KEYLEN - i < 8 ? KEYLEN - i : 8));
        h ^= w;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return h;
}

/* Open addressing with linear probing; each slot keeps its connection's hash
 * so that a probe compares keys only on a full hash match, without touching
 * the connections it passes. */
/* Zeroed memory for the big arrays (slots, slabs); large ones are mapped
 * directly, on a 2 MiB boundary. `huge` marks them for transparent huge pages:
 * the slots are probed at random for every packet, and with 4 KiB pages most
 * probes also missed the TLB. (Slabs are not marked: faulting in hundreds of
 * huge pages cost more in kernel compaction than the TLB saved.) */
#define BIG_ALIGN ((size_t)2 << 20)

static void *big_alloc(size_t n, bool huge)
{
    if (n < BIG_ALIGN)
        return calloc(1, n);
    size_t len = n + BIG_ALIGN;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    char *p = (char *)(((uintptr_t)m + BIG_ALIGN - 1) & ~(uintptr_t)(BIG_ALIGN - 1));
    if (p > m)
        munmap(m, (size_t)(p - m));
    size_t tail = (size_t)(m + len - (p + n));
    if (tail)
        munmap(p + n, tail);
    if (huge)
        (void)madvise(p, n, MADV_HUGEPAGE); /* a hint: without it, plain pages */
    return p;
}

static void big_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n < BIG_ALIGN)
        free(p);
    else
        munmap(p, n);
}

static int tab_grow(struct sl_conn_tab *t)
{
    size_t n = t->nslots ? t->nslots * 2 : TAB_INITIAL_SLOTS;
    struct slot *s = big_alloc(n * sizeof(*s), true);
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < t->nslots; i++) {
        struct slot e = t->slots[i];
        if (!e.c)
            continue;
        size_t j = e.hash & (n - 1);
        while (s[j].c)
            j = (j + 1) & (n - 1);
        s[j] = e;
    }
    big_free(t->slots, t->nslots * sizeof(*t->slots));
    t->slots = s;
    t->nslots = n;
    return 0;
}

static struct conn *tab_find(struct sl_conn_tab *t, const uint8_t *key, uint64_t h)
{
    size_t mask = t->nslots - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        const struct slot *e = &t->slots[j];
        if (!e->c)
            return NULL;
        if (e->hash == h && key_eq(e->c->key, key))
            return e->c;
    }
}

static int tab_insert(struct sl_conn_tab *t, struct conn *c)
{
    if ((t->st.active + 1) * 2 > t->nslots && tab_grow(t) < 0)
        return -ENOMEM;
    size_t j = c->hash & (t->nslots - 1);
    while (t->slots[j].c)
        j = (j + 1) & (t->nslots - 1);
    t->slots[j] = (struct slot){c->hash, c};
    return 0;
}

/* Linear probing deletion with backward shift (no tombstones). */
static void tab_delete(struct sl_conn_tab *t, struct conn *c)
{
    size_t mask = t->nslots - 1;
    size_t i = c->hash & mask;
    while (t->slots[i].c != c)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; t->slots[j].c; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        /* Move slots[j] into the hole at i if its home is not in (i, j]. */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = (struct slot){0, NULL};
}

static void lru_unlink(struct sl_conn_tab *t, struct conn *c)
{
    if (c->lru_prev)
        c->lru_prev->lru_next = c->lru_next;
    else
        t->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->lru_prev = c->lru_prev;
    else
        t->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

static void lru_push(struct sl_conn_tab *t, struct conn *c)
{
    c->lru_prev = t->lru_tail;
    c->lru_next = NULL;
    if (t->lru_tail)
        t->lru_tail->lru_next = c;
    else
        t->lru_head = c;
    t->lru_tail = c;
}

static void lru_touch(struct sl_conn_tab *t, struct conn *c)
{
    if (t->lru_tail == c)
        return;
    lru_unlink(t, c);
    lru_push(t, c);
}

/* ------------------------------------------------------------------ */
/* Timers: ordered by (time, insertion order)                          */

/* Most timers are armed a fixed delay after the current time, so those of
 * one delay come due in the order they were armed: each such "lane" is a FIFO
 * ring, O(1) to arm, cancel (the slot is cleared) and pop. A timer that would
 * land before its lane's last one goes to a 4-ary heap instead. The next timer
 * is the least of the lanes' heads and the heap's top by (time, seq), which is
 * exactly the order of one heap holding them all. The heap keeps each key
 * inline, so sifting compares contiguous entries; only the back-pointer to the
 * entry's index is written out to the timer. */
#define HEAP_D 4

static inline bool hent_before(const struct hent *a, const struct hent *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static inline void heap_put(struct sl_conn_tab *t, size_t i, const struct hent *e)
{
    t->heap[i] = *e;
    e->x->pos = i;
}

static void heap_up(struct sl_conn_tab *t, size_t i)
{
    struct hent e = t->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / HEAP_D;
        if (!hent_before(&e, &t->heap[p]))
            break;
        heap_put(t, i, &t->heap[p]);
        i = p;
    }
    heap_put(t, i, &e);
}

static void heap_down(struct sl_conn_tab *t, size_t i)
{
    struct hent e = t->heap[i];
    size_t n = t->heap_n;
    for (;;) {
        size_t c0 = HEAP_D * i + 1;
        if (c0 >= n)
            break;
        size_t end = c0 + HEAP_D < n ? c0 + HEAP_D : n, m = c0;
        for (size_t c = c0 + 1; c < end; c++)
            if (hent_before(&t->heap[c], &t->heap[m]))
                m = c;
        if (!hent_before(&t->heap[m], &e))
            break;
        heap_put(t, i, &t->heap[m]);
        i = m;
    }
    heap_put(t, i, &e);
}

static void heap_remove(struct sl_conn_tab *t, size_t i)
{
    t->heap_n--;
    if (i == t->heap_n)
        return;
    struct hent last = t->heap[t->heap_n];
    t->heap[i] = last;
    /* The moved entry goes up or down, never both. */
    if (i > 0 && hent_before(&last, &t->heap[(i - 1) / HEAP_D]))
        heap_up(t, i);
    else
        heap_down(t, i);
}

static int heap_push(struct sl_conn_tab *t, const struct hent *e)
{
    if (t->heap_n == t->heap_cap) {
        size_t cap = t->heap_cap ? t->heap_cap * 2 : 4096;
        struct hent *h = realloc(t->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        t->heap = h;
        t->heap_cap = cap;
    }
    t->heap[t->heap_n] = *e;
    e->x->where = WHERE_HEAP;
    e->x->pos = t->heap_n++;
    heap_up(t, t->heap_n - 1);
    return 0;
}

static inline struct hent *lane_at(struct lane *l, uint64_t pos)
{
    return &l->buf[pos & (l->cap - 1)];
}

static int lane_grow(struct lane *l)
{
    size_t cap = l->cap ? l->cap * 2 : 1024;
    struct hent *b = malloc(cap * sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (uint64_t p = l->head; p != l->tail; p++)
        b[p & (cap - 1)] = *lane_at(l, p);
    free(l->buf);
    l->buf = b;
    l->cap = cap;
    return 0;
}

/* The lane of timers armed `delay` after a base of class `cls`, or NULL. */
static struct lane *lane_for(struct sl_conn_tab *t, uint8_t cls, double delay)
{
    for (int i = 0; i < t->n_lanes; i++)
        if (t->lanes[i].cls == cls && t->lanes[i].delay == delay)
            return &t->lanes[i];
    if (t->n_lanes == N_LANES)
        return NULL;
    struct lane *l = &t->lanes[t->n_lanes++];
    l->cls = cls;
    l->delay = delay;
    return l;
}

static int lane_push(struct lane *l, const struct hent *e, int8_t id)
{
    if (l->tail - l->head == l->cap && lane_grow(l) < 0)
        return -ENOMEM;
    *lane_at(l, l->tail) = *e;
    e->x->where = id;
    e->x->pos = l->tail++;
    return 0;
}

/* The first live entry of a lane (cleared slots at the head are dropped). */
static struct hent *lane_head(struct lane *l)
{
    while (l->head != l->tail) {
        struct hent *e = lane_at(l, l->head);
        if (e->x)
            return e;
        l->head++;
    }
    return NULL;
}

static void timer_cancel(struct sl_conn_tab *t, struct ctimer *x)
{
    if (x->where < 0)
        return;
    if (x->where == WHERE_HEAP)
        heap_remove(t, (size_t)x->pos);
    else
        lane_at(&t->lanes[x->where], x->pos)->x = NULL;
    x->where = -1;
}

/* Arms timer `kind` at when = base + delay; `cls` names the base (BASE_*). */
static void timer_arm(struct sl_conn_tab *t, struct conn *c, int kind, double when, uint8_t cls,
                      double delay)
{
    struct ctimer *x = &c->tm[kind];
    timer_cancel(t, x);
    x->kind = (uint8_t)kind;
    if (when < t->due_lb)
        t->due_lb = when;
    /* The low bits carry the kind, so the entry alone locates the connection. */
    struct hent e = {when, t->timer_seq++ << SEQ_KIND_BITS | (uint64_t)kind, x};
    struct lane *l = lane_for(t, cls, delay);
    if (l && (l->head == l->tail || lane_at(l, l->tail - 1)->t <= when) &&
        lane_push(l, &e, (int8_t)(l - t->lanes)) == 0)
        return;
    (void)heap_push(t, &e); /* on failure the connection still ends: evicted or at the end */
}

/* The next timer due, or NULL; *lane is where it is (-1: the heap). */
static struct hent *timer_next(struct sl_conn_tab *t, int *lane)
{
    struct hent *best = t->heap_n ? &t->heap[0] : NULL;
    *lane = -1;
    for (int i = 0; i < t->n_lanes; i++) {
        struct hent *e = lane_head(&t->lanes[i]);
        if (e && (!best || hent_before(e, best))) {
            best = e;
            *lane = i;
        }
    }
    return best;
}

static inline void prefetch_bytes(const void *p, size_t n)
{
    for (size_t o = 0; o < n + 63; o += 64)
        __builtin_prefetch((const char *)p + o);
}

/* Zeek may run several ExpireTimer chains at once; three slots hold them. */
static void arm_expire(struct sl_conn_tab *t, struct conn *c, double when, uint8_t cls,
                       double delay)
{
    for (int k = TK_EXPIRE0; k <= TK_EXPIRE2; k++)
        if (c->tm[k].where < 0) {
            timer_arm(t, c, k, when, cls, delay);
            return;
        }
    timer_arm(t, c, TK_EXPIRE2, when, cls, delay);
}

static void cancel_analyzer_timers(struct sl_conn_tab *t, struct conn *c)
{
    for (int k = TK_ATTEMPT; k < TK_N; k++)
        timer_cancel(t, &c->tm[k]);
}

/* Session::SetInactivityTimeout */
static void set_inactivity_timeout(struct sl_conn_tab *t, struct conn *c, double timeout)
{
    if (timeout == c->inactivity_timeout)
        return;
    timer_cancel(t, &c->tm[TK_INACT]);
    if (timeout > 0)
        timer_arm(t, c, TK_INACT, c->pub.last_time + timeout, BASE_LAST, timeout);
    c->inactivity_timeout = timeout;
}

/* ------------------------------------------------------------------ */
/* History and weirds                                                  */

static void add_history(struct conn *c, char code)
{
    if (c->hist_len + 1 >= c->hist_cap) {
        if (c->hist_cap >= HIST_MAX)
            return;
        uint16_t cap = (uint16_t)(c->hist_cap * 2);
        char *h = malloc(cap);
        if (!h)
            return;
        memcpy(h, c->hist, c->hist_len);
        if (c->hist != c->hist_inline)
            free(c->hist);
        c->hist = h;
        c->hist_cap = cap;
    }
    c->hist[c->hist_len++] = code;
    c->hist[c->hist_len] = '\0';
}

/* Conn::CheckHistory: true when the code was already seen. */
static bool check_history(struct conn *c, uint32_t mask, char code)
{
    if ((c->hist_seen & mask) == 0) {
        c->hist_seen |= mask;
        add_history(c, code);
        return false;
    }
    return true;
}

/* Session::ScaledHistoryEntry with base 10: the letter at 1, 10, 100, ... */
static bool scaled_history(struct conn *c, char code, uint32_t *counter, uint32_t *thresh)
{
    if (++*counter == *thresh) {
        add_history(c, code);
        uint32_t nt = *thresh * 10;
        if (nt <= *thresh)
            *counter = 0;
        else
            *thresh = nt;
        return true;
    }
    return false;
}

static void weird(struct sl_conn_tab *t, struct conn *c, const char *name, const char *addl,
                  const char *source)
{
    c->did_weird = true;
    if (t->ops.weird)
        t->ops.weird(t->ops.ctx, &c->pub, name, addl ? addl : "", source ? source : "");
}

/* ------------------------------------------------------------------ */
/* Connection life cycle                                               */

/* likely_server_ports with Zeek 8's default script set loaded. */
static bool likely_server_port(uint8_t trans, uint16_t p)
{
    static const uint16_t tcp_ports[] = {
        21,   22,   25,   79,   80,   81,   88,   135,  139,  143,  389,  443,  445,  502,   563,
        585,  587,  614,  631,  636,  989,  990,  992,  993,  995,  1080, 1883, 2811, 3128,  3268,
        3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000, 53,
    };
    static const uint16_t udp_ports[] = {
        53,   67,   88,   123,  137,  161,  162,  389,  443,  514,  1812,
        2123, 2152, 3389, 3544, 4789, 5060, 5072, 5353, 5355, 6081, 20000,
    };
    const uint16_t *v;
    size_t n;
    if (trans == SL_TRANS_TCP) {
        v = tcp_ports;
        n = sizeof(tcp_ports) / sizeof(tcp_ports[0]);
    } else if (trans == SL_TRANS_UDP) {
        v = udp_ports;
        n = sizeof(udp_ports) / sizeof(udp_ports[0]);
    } else {
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (v[i] == p)
            return true;
    return false;
}

static bool is_broadcast(const uint8_t a[16])
{
    return sl_pkt_addr_is_v4(a) && a[12] == 0xff && a[13] == 0xff && a[14] == 0xff && a[15] == 0xff;
}

/* TCPAnalyzer::WantConnection / UDPAnalyzer::WantConnection. */
static bool want_flip(const struct sl_conn_id *id, const struct sl_conn_tcp *tcp)
{
    if (id->trans == SL_TRANS_UDP)
        return likely_server_port(SL_TRANS_UDP, id->sport) &&
               !likely_server_port(SL_TRANS_UDP, id->dport);
    if (id->trans != SL_TRANS_TCP || !tcp)
        return false;
    uint8_t f = tcp->flags;
    if (!(f & SL_TCP_SYN) || (f & SL_TCP_ACK)) {
        if (likely_server_port(SL_TRANS_TCP, id->sport)) {
            if (likely_server_port(SL_TRANS_TCP, id->dport))
                return !(f & SL_TCP_SYN) && id->sport < id->dport;
            return true;
        }
    }
    return false;
}

static void tcp_init(struct sl_conn_tab *t, struct conn *c)
{
    struct tcp *p = c->tcp;
    for (int i = 0; i < 2; i++) {
        struct tcp_endp *e = &p->ep[i];
        e->is_orig = i == 0;
        e->peer = &p->ep[1 - i];
        e->chk_thresh = e->rxmt_thresh = e->win0_thresh = e->gap_thresh = 1;
        e->r.last_reassem_seq = e->r.trim_seq = 1;
        e->r.copied = &t->copied;
    }
    p->orig = &p->ep[0];
    p->resp = &p->ep[1];
    p->is_active = true;
}

static void tcp_flip_endpoints(struct tcp *p)
{
    struct tcp_endp *tmp = p->resp;
    p->resp = p->orig;
    p->orig = tmp;
    p->orig->is_orig = !p->orig->is_orig;
    p->resp->is_orig = !p->resp->is_orig;
    p->first_packet_seen =
        (uint8_t)(((p->first_packet_seen & 1) ? 2 : 0) | ((p->first_packet_seen & 2) ? 1 : 0));
    p->is_partial = false;
}

/* Conn::FlipRoles. `notify` is false for the flip of a connection being
 * created (modules hear of it afterwards, already flipped). */
static void flip_roles(struct sl_conn_tab *t, struct conn *c, bool notify)
{
    struct sl_conn *s = &c->pub;
    uint8_t a[16];
    memcpy(a, s->orig_h, 16);
    memcpy(s->orig_h, s->resp_h, 16);
    memcpy(s->resp_h, a, 16);
    uint16_t p = s->orig_p;
    s->orig_p = s->resp_p;
    s->resp_p = p;
    if (c->tcp)
        tcp_flip_endpoints(c->tcp);
    uint64_t x = s->orig_pkts;
    s->orig_pkts = s->resp_pkts;
    s->resp_pkts = x;
    x = s->orig_ip_bytes;
    s->orig_ip_bytes = s->resp_ip_bytes;
    s->resp_ip_bytes = x;
    add_history(c, '^');
    if (notify && t->ops.flipped)
        t->ops.flipped(t->ops.ctx, s);
}

void sl_conn_flip(struct sl_conn_tab *t, struct sl_conn *c)
{
    flip_roles(t, priv(c), true);
}

static void blk_data_free(struct reasm *r, struct blk *b)
{
    if (b->data) {
        *r->copied -= b->upper - b->seq;
        free(b->data);
        b->data = NULL;
    }
}

/* Connections and TCP states come from slabs and go back to a free list for
 * reuse: a busy link creates and removes them at a high rate, and the
 * allocator's bookkeeping (and freeing each one at exit) showed in profiles.
 * A slab is big enough to be fresh zeroed pages from the kernel, so its
 * objects are handed out in turn without another pass to zero them. Under
 * ASan an object on the free list is poisoned, so a use after removal is
 * still caught. */
#define POOL_SLAB_BYTES BIG_ALIGN

static void pool_put(struct pool *p, void *obj)
{
    struct pooled *o = obj;
    o->next = p->free;
    p->free = o;
    POOL_POISON(o, p->size);
}

static int pool_refill(struct pool *p)
{
    if (p->n_slabs == p->cap_slabs) {
        size_t cap = p->cap_slabs ? p->cap_slabs * 2 : 64;
        void **v = realloc(p->slabs, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->slabs = v;
        p->cap_slabs = cap;
    }
    size_t per = POOL_SLAB_BYTES / p->size;
    char *slab = big_alloc(POOL_SLAB_BYTES, false);
    if (!slab)
        return -ENOMEM;
    p->slabs[p->n_slabs++] = slab;
    p->fresh = slab;
    p->fresh_end = slab + per * p->size;
    return 0;
}

/* A zeroed object, or NULL. */
static void *pool_get(struct pool *p)
{
    struct pooled *o = p->free;
    if (o) {
        POOL_UNPOISON(o, p->size);
        p->free = o->next;
        memset(o, 0, p->size);
        return o;
    }
    if (p->fresh == p->fresh_end && pool_refill(p) < 0)
        return NULL;
    void *r = p->fresh;
    p->fresh += p->size;
    return r;
}

static void pool_free_all(struct pool *p)
{
    for (size_t i = 0; i < p->n_slabs; i++) {
        POOL_UNPOISON(p->slabs[i], (POOL_SLAB_BYTES / p->size) * p->size);
        big_free(p->slabs[i], POOL_SLAB_BYTES);
    }
    free(p->slabs);
    memset(p, 0, sizeof(*p));
}

static void free_conn(struct sl_conn_tab *t, struct conn *c)
{
    if (c->tcp) {
        for (int i = 0; i < 2; i++) {
            struct reasm *r = &c->tcp->ep[i].r;
            for (uint32_t k = 0; k < r->n; k++)
                blk_data_free(r, &r->b[r->head + k]);
            free(r->b);
        }
        pool_put(&t->tcp_pool, c->tcp);
    }
    if (c->hist != c->hist_inline)
        free(c->hist);
    pool_put(&t->conn_pool, c);
}

static void add_parent(struct conn *c, const char *uid)
{
    struct sl_conn *s = &c->pub;
    for (unsigned i = 0; i < s->n_parents; i++)
        if (strcmp(s->parents[i], uid) == 0)
            return;
    if (s->n_parents < SL_CONN_MAX_PARENTS)
        snprintf(s->parents[s->n_parents++], SL_UID_LEN, "%s", uid);
}

static bool encap_equal(const struct sl_conn_encap *a, const struct sl_conn_encap *b)
{
    if (a->depth != b->depth)
        return false;
    for (unsigned i = 0; i < a->depth; i++)
        if (a->e[i].type != b->e[i].type || strcmp(a->e[i].uid, b->e[i].uid) != 0)
            return false;
    return true;
}

/* Conn::CheckEncapsulation + conn/main.zeek's tunnel_changed handler. */
static void check_encapsulation(struct conn *c, const struct sl_conn_encap *e)
{
    bool has = e && e->depth > 0;
    if (c->has_encap && has) {
        if (!encap_equal(&c->encap, e)) {
            /* Tunnel::max_changes_per_connection (5) caps tunnel_changed. */
            if (c->tunnel_changes < 5) {
                c->tunnel_changes++;
                add_parent(c, e->e[e->depth - 1].uid);
            }
            c->encap = *e;
        }
    } else if (c->has_encap) {
        c->has_encap = false;
    } else if (has) {
        add_parent(c, e->e[e->depth - 1].uid);
        c->encap = *e;
        c->has_encap = true;
    }
}

static struct conn *new_conn(struct sl_conn_tab *t, const struct sl_conn_id *id, const uint8_t *key,
                             uint64_t h, const struct sl_conn_tcp *tcp,
                             const struct sl_conn_encap *encap)
{
    if (t->cfg.max_conns && t->st.active >= t->cfg.max_conns && t->lru_head) {
        t->st.evicted++;
        conn_remove(t, t->lru_head, SL_CONN_WHY_EVICT);
    }
    struct conn *c = pool_get(&t->conn_pool);
    if (!c)
        return NULL;
    if (id->trans == SL_TRANS_TCP) {
        c->tcp = pool_get(&t->tcp_pool);
        if (!c->tcp) {
            pool_put(&t->conn_pool, c);
            return NULL;
        }
        tcp_init(t, c);
    }
    memcpy(c->key, key, KEYLEN);
    c->hash = h;
    c->hist = c->hist_inline;
    c->hist_cap = sizeof(c->hist_inline);
    c->req_len = c->rep_len = -1;
    c->req_chk_thresh = c->rep_chk_thresh = 1;
    for (int k = 0; k < TK_N; k++)
        c->tm[k] = (struct ctimer){.pos = 0, .where = -1, .kind = (uint8_t)k};

    struct sl_conn *s = &c->pub;
    memcpy(s->orig_h, id->src, 16);
    memcpy(s->resp_h, id->dst, 16);
    s->orig_p = id->sport;
    s->resp_p = id->dport;
    s->ip_proto = id->ip_proto;
    s->trans = id->trans;
    s->start_time = s->last_time = t->pkt_ts;
    if (t->cfg.uid)
        sl_uid_make(t->cfg.uid, 'C', s->uid, sizeof(s->uid));
    else
        snprintf(s->uid, sizeof(s->uid), "C%llu", (unsigned long long)t->st.total + 1);

    if (tab_insert(t, c) < 0) {
        free_conn(t, c);
        return NULL;
    }
    lru_push(t, c);
    t->st.active++;
    t->st.total++;
    if (t->st.active > t->st.max_active)
        t->st.max_active = t->st.active;

    if (encap && encap->depth > 0) {
        c->encap = *encap;
        c->has_encap = true;
        add_parent(c, encap->e[encap->depth - 1].uid);
    }

    /* Timers the session adapters start with. */
    switch (s->trans) {
    case SL_TRANS_TCP:
        arm_expire(t, c, t->now + TCP_SYN_TIMEOUT, BASE_NOW, TCP_SYN_TIMEOUT);
        set_inactivity_timeout(t, c, UDP_INACTIVITY_TIMEOUT); /* as Zeek's TCPAnalyzer */
        break;
    case SL_TRANS_UDP:
        set_inactivity_timeout(t, c, UDP_INACTIVITY_TIMEOUT);
        break;
    case SL_TRANS_ICMP:
        set_inactivity_timeout(t, c, ICMP_INACTIVITY_TIMEOUT);
        break;
    default:
        set_inactivity_timeout(t, c, UNKNOWN_IP_INACTIVITY_TIMEOUT);
        break;
    }

    if (want_flip(id, tcp) && !is_broadcast(id->dst))
        flip_roles(t, c, false);
    if (t->ops.conn_new)
        t->ops.conn_new(t->ops.ctx, s);
    return c;
}

static void conn_remove(struct sl_conn_tab *t, struct conn *c, enum sl_conn_why why)
{
    /* TCPSessionAdapter::Done at termination. */
    if (t->terminating && c->tcp && c->tcp->is_active &&
        !(c->tcp->orig->did_close && c->tcp->resp->did_close))
        conn_event(t, c, SL_CONN_EV_PENDING);
    for (int k = 0; k < TK_N; k++)
        timer_cancel(t, &c->tm[k]);
    if (!t->draining) {
        tab_delete(t, c);
        lru_unlink(t, c);
    }
    t->st.active--;
    if (t->ops.removed)
        t->ops.removed(t->ops.ctx, &c->pub, why);
    free_conn(t, c);
}

static bool tcp_is_reuse(struct sl_conn_tab *t, struct conn *c, const struct sl_conn_tcp *s);

struct sl_conn *sl_conn_get(struct sl_conn_tab *t, const struct sl_conn_id *id,
                            const struct sl_conn_tcp *tcp, const struct sl_conn_encap *encap,
                            bool *is_orig)
{
    uint8_t key[KEYLEN];
    make_key(key, id);
    uint64_t h = key_hash(key);
    struct conn *c = tab_find(t, key, h);

    if (!c) {
        c = new_conn(t, id, key, h, tcp, encap);
    } else if (c->tcp && tcp && tcp_is_reuse(t, c, tcp)) {
        t->st.reused++;
        conn_remove(t, c, SL_CONN_WHY_REUSE);
        c = new_conn(t, id, key, h, tcp, encap);
    } else {
        check_encapsulation(c, encap);
    }
    if (!c)
        return NULL;
    lru_touch(t, c);
    *is_orig = addr_eq(id->src, c->pub.orig_h) && id->sport == c->pub.orig_p;
    return &c->pub;
}

/* ------------------------------------------------------------------ */
/* TCP: endpoint helpers                                               */

static inline int32_t seq_delta(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static inline uint64_t full_seq(uint32_t seq, uint32_t wraps)
{
    return ((uint64_t)wraps << 32) + seq;
}

static inline uint64_t rel_seq_space(const struct tcp_endp *e, uint32_t seq, uint32_t wraps)
{
    return full_seq(seq, wraps) - (uint64_t)e->start_seq;
}

static void update_last_seq_raw(struct tcp_endp *e, uint32_t seq)
{
    if (seq < e->last_seq)
        ++e->seq_wraps;
    e->last_seq = seq;
}

static void update_ack_seq_raw(struct tcp_endp *e, uint32_t seq)
{
    if (seq < e->ack_seq)
        ++e->ack_wraps;
    e->ack_seq = seq;
}

static bool no_data_acked(const struct tcp_endp *e)
{
    uint64_t ack = full_seq(e->ack_seq, e->ack_wraps);
    uint64_t start = (uint64_t)e->start_seq;
    return ack == start || ack == start + 1;
}

/* TCP_Endpoint::Size */
static uint64_t endp_size(const struct tcp_endp *e)
{
    if (e->prev_state == SL_TCPS_SYN_SENT && e->state == SL_TCPS_RESET &&
        e->peer->state == SL_TCPS_INACTIVE && !no_data_acked(e))
        return 0;
    uint64_t last = full_seq(e->last_seq, e->seq_wraps);
    uint64_t ack = full_seq(e->ack_seq, e->ack_wraps);
    uint64_t size = (last > ack ? last : ack) - (uint64_t)e->start_seq;
    if (size != 0)
        --size;
    if (e->FIN_cnt > 0 && size != 0)
        --size;
    return size;
}

static bool is_handshake(uint8_t s)
{
    return s == SL_TCPS_INACTIVE || s == SL_TCPS_SYN_SENT || s == SL_TCPS_SYN_ACK_SENT;
}

/* TCP_Endpoint::SetState */
static void set_state(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e, uint8_t ns)
{
    if (ns == e->state)
        return;
    if (!is_handshake(ns) && is_handshake(e->state) && is_handshake(e->peer->state))
        set_inactivity_timeout(t, c, TCP_INACTIVITY_TIMEOUT);
    e->prev_state = e->state;
    e->state = ns;
}

/* TCP_Endpoint::CheckHistory: the first A or D after a lone SYN-ACK flips
 * the connection ("^h"). */
static bool endp_check_history(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                               uint32_t mask, char code)
{
    if ((code == 'A' || code == 'D') && c->hist_len == 1 && c->hist[0] == 'H') {
        flip_roles(t, c, true);
        c->hist_len = 0;
        add_history(c, '^');
        add_history(c, 'h');
        c->tcp->first_packet_seen |= 1;
    }
    if (!e->is_orig) {
        mask <<= 16;
        code = (char)(code - 'A' + 'a');
    }
    return check_history(c, mask, code);
}

static void endp_add_history(struct conn *c, const struct tcp_endp *e, char code)
{
    add_history(c, e->is_orig ? code : (char)(code - 'A' + 'a'));
}

/* ------------------------------------------------------------------ */
/* TCP reassembler (content gaps, in-order delivery)                  */

static struct blk *rb(struct reasm *r, uint32_t i)
{
    return &r->b[r->head + i];
}

static int blk_insert_at(struct reasm *r, uint32_t pos, uint64_t seq, uint64_t upper,
                         const uint8_t *data, bool keep)
{
    if (r->head + r->n == r->cap) {
        if (r->head > 0 && r->head >= r->n) {
            memmove(r->b, r->b + r->head, r->n * sizeof(*r->b));
            r->head = 0;
        } else {
            uint32_t cap = r->cap ? r->cap * 2 : 8;
            struct blk *nb = realloc(r->b, cap * sizeof(*nb));
            if (!nb)
                return -ENOMEM;
            r->b = nb;
            r->cap = cap;
        }
    }
    struct blk *base = r->b + r->head;
    memmove(base + pos + 1, base + pos, (r->n - pos) * sizeof(*base));
    base[pos].seq = seq;
    base[pos].upper = upper;
    base[pos].data = NULL;
    /* Copies of out-of-order payload for stream consumers, within a global
     * budget (beyond it they miss those bytes; accounting is unaffected). */
    if (keep && data && *r->copied + (upper - seq) <= STREAM_COPY_MAX) {
        base[pos].data = malloc(upper - seq);
        if (base[pos].data) {
            memcpy(base[pos].data, data, upper - seq);
            *r->copied += upper - seq;
        }
    }
    r->n++;
    r->data_size += upper - seq;
    return 0;
}

/* DataBlockList::Insert: adds the parts of [seq, upper) no block covers. */
static void blk_insert(struct reasm *r, uint64_t seq, uint64_t upper, const uint8_t *data,
                       bool keep)
{
    uint32_t lo = 0, hi = r->n;
    /* First block whose upper > seq. */
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (rb(r, mid)->upper <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t i = lo;
    while (seq < upper) {
        if (i >= r->n || upper <= rb(r, i)->seq) {
            blk_insert_at(r, i, seq, upper, data, keep);
            return;
        }
        struct blk *b = rb(r, i);
        if (seq < b->seq) {
            uint64_t pre = b->seq - seq;
            if (blk_insert_at(r, i, seq, b->seq, data, keep) < 0)
                return;
            i++;
            data = data ? data + pre : NULL;
            seq += pre;
            b = rb(r, i);
        }
        /* Skip what b already holds. */
        uint64_t skip = (b->upper < upper ? b->upper : upper) - seq;
        data = data ? data + skip : NULL;
        seq += skip;
        i++;
    }
}

static void blk_pop_front(struct reasm *r)
{
    struct blk *b = rb(r, 0);
    r->data_size -= b->upper - b->seq;
    blk_data_free(r, b);
    r->head++;
    r->n--;
    if (r->n == 0)
        r->head = 0;
}

static void blk_clear(struct reasm *r)
{
    while (r->n)
        blk_pop_front(r);
}

static struct tcp_endp *rendp(struct conn *c, struct reasm *r)
{
    struct tcp *p = c->tcp;
    return r == &p->ep[0].r ? &p->ep[0] : &p->ep[1];
}

static void deliver(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e, const uint8_t *data,
                    uint64_t len)
{
    if (!data || !len || !t->ops.tcp_data || !(c->pub.want & SL_CONN_WANT_STREAM))
        return;
    t->ops.tcp_data(t->ops.ctx, &c->pub, e->is_orig, data, (uint32_t)len);
}

/* TCP_Reassembler::BlockInserted, from the block holding last_reassem_seq:
 * delivers every block that continues the stream. `cur` is the packet's
 * payload for blocks that were not copied. */
static void block_inserted(struct sl_conn_tab *t, struct conn *c, struct reasm *r, uint64_t cur_seq,
                           const uint8_t *cur, uint64_t cur_len)
{
    struct tcp_endp *e = rendp(c, r);
    for (uint32_t i = 0; i < r->n; i++) {
        struct blk *b = rb(r, i);
        if (b->upper <= r->last_reassem_seq)
            continue;
        if (b->seq != r->last_reassem_seq)
            break;
        uint64_t len = b->upper - b->seq;
        const uint8_t *d = b->data;
        if (!d && cur && b->seq >= cur_seq && b->upper <= cur_seq + cur_len)
            d = cur + (b->seq - cur_seq);
        r->last_reassem_seq += len;
        if (!r->skip_deliveries)
            deliver(t, c, e, d, len);
        blk_data_free(r, b);
        /* Delivered data is kept only as ranges until acked; contiguous
         * ranges are merged so a one-sided capture costs O(holes). */
        struct blk *prev = i ? rb(r, i - 1) : NULL;
        if (prev && !prev->data && prev->upper == b->seq) {
            prev->upper = b->upper;
            struct blk *base = r->b + r->head;
            memmove(base + i, base + i + 1, (r->n - i - 1) * sizeof(*base));
            r->n--;
            i--;
        }
    }
    /* Trim delivered data right away when nothing was acked yet and the
     * endpoint has sent more than an initial window. */
    if (no_data_acked(e) && endp_size(e) > TCP_MAX_INITIAL_WINDOW) {
        while (r->n && rb(r, 0)->upper <= r->last_reassem_seq)
            blk_pop_front(r);
        if (r->last_reassem_seq > r->trim_seq)
            r->trim_seq = r->last_reassem_seq;
    }
}

static bool established_or_cleanly_closing(const struct tcp_endp *a)
{
    const struct tcp_endp *b = a->peer;
    bool ca = a->state == SL_TCPS_ESTABLISHED ||
              (a->state == SL_TCPS_CLOSED && a->prev_state == SL_TCPS_ESTABLISHED);
    bool cb = b->state == SL_TCPS_ESTABLISHED ||
              (b->state == SL_TCPS_CLOSED && b->prev_state == SL_TCPS_ESTABLISHED);
    return ca && cb;
}

/* TCP_Reassembler::Gap */
static void reasm_gap(struct conn *c, struct tcp_endp *e, uint64_t len)
{
    if (established_or_cleanly_closing(e)) {
        scaled_history(c, e->is_orig ? 'G' : 'g', &e->gap_cnt, &e->gap_thresh);
        c->pub.missed_bytes += len; /* conn/main.zeek's content_gap handler */
    }
    e->r.had_gap = true;
}

/* TCP_Reassembler::Undelivered */
static void reasm_undelivered(struct sl_conn_tab *t, struct conn *c, struct reasm *r,
                              uint64_t up_to_seq)
{
    struct tcp_endp *e = rendp(c, r);
    if (up_to_seq <= 2 && c->tcp->is_partial)
        return;
    if (!r->skip_deliveries) {
        for (uint32_t i = 0; i < r->n; i++) {
            struct blk *b = rb(r, i);
            if (b->seq < r->last_reassem_seq)
                continue;
            if (b->seq >= up_to_seq)
                break;
            uint64_t gap_len = b->seq - r->last_reassem_seq;
            reasm_gap(c, e, gap_len);
            r->last_reassem_seq += gap_len;
            block_inserted(t, c, r, 0, NULL, 0);
            i = (uint32_t)-1; /* Zeek restarts from the first block */
        }
        if (up_to_seq > r->last_reassem_seq)
            reasm_gap(c, e, up_to_seq - r->last_reassem_seq);
    }
    if (up_to_seq > r->last_reassem_seq)
        r->last_reassem_seq = up_to_seq;
}

/* DataBlockList::Trim via Reassembler::TrimToSeq. Returns the bytes it
 * found missing (Zeek's gap statistics). */
static uint64_t reasm_trim(struct sl_conn_tab *t, struct conn *c, struct reasm *r, uint64_t seq)
{
    uint64_t num_missing = 0;
    if (r->n) {
        if (rb(r, 0)->seq > r->last_reassem_seq)
            num_missing += rb(r, 0)->seq - r->last_reassem_seq;
    } else if (seq > r->last_reassem_seq) {
        num_missing += seq - r->last_reassem_seq;
    }
    if (seq > r->last_reassem_seq)
        reasm_undelivered(t, c, r, seq);
    while (r->n && rb(r, 0)->upper <= seq) {
        uint64_t up = rb(r, 0)->upper;
        if (r->n > 1 && rb(r, 1)->seq <= seq) {
            if (up != rb(r, 1)->seq)
                num_missing += rb(r, 1)->seq - up;
        } else if (up != seq && up != seq - 1) {
            num_missing += seq - up;
        }
        blk_pop_front(r);
    }
    /* A merged range acked in part keeps only its unacked tail. */
    if (r->n && rb(r, 0)->seq < seq && !rb(r, 0)->data && rb(r, 0)->upper <= r->last_reassem_seq) {
        r->data_size -= seq - rb(r, 0)->seq;
        rb(r, 0)->seq = seq;
    }
    if (r->n && rb(r, 0)->seq == r->last_reassem_seq)
        block_inserted(t, c, r, 0, NULL, 0);
    if (seq > r->trim_seq)
        r->trim_seq = seq;
    return num_missing;
}

/* TCP_Reassembler::DataPending */
static bool reasm_data_pending(const struct tcp_endp *e)
{
    const struct reasm *r = &e->r;
    if (r->skip_deliveries)
        return false;
    uint64_t delivered = (uint64_t)e->start_seq + r->last_reassem_seq;
    uint64_t last = full_seq(e->last_seq, e->seq_wraps);
    if (last < delivered)
        return false;
    if (delivered != last - 1 && delivered != last)
        return true;
    if (e->state != SL_TCPS_RESET && e->peer->r.n > 0)
        return true;
    return false;
}

static void connection_closed(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                              struct tcp_endp *peer, bool gen_event);

/* TCP_Reassembler::CheckEOF + TCPSessionAdapter::EndpointEOF */
static void reasm_check_eof(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e)
{
    struct reasm *r = &e->r;
    if (r->did_EOF)
        return;
    if (!(e->FIN_cnt > 0 || e->state == SL_TCPS_CLOSED || e->state == SL_TCPS_RESET))
        return;
    if (reasm_data_pending(e))
        return;
    r->did_EOF = true;
    struct tcp *p = c->tcp;
    if (p->close_deferred) {
        if (reasm_data_pending(e) && p->orig->did_close && p->resp->did_close)
            weird(t, c, "pending_data_when_closed", NULL, "TCP");
        connection_closed(t, c, e, e->peer, p->deferred_gen_event);
        p->close_deferred = false;
    }
}

/* TCP_Reassembler::AckReceived */
static void reasm_ack_received(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                               uint64_t seq)
{
    struct reasm *r = &e->r;
    if (e->FIN_cnt > 0 && seq >= e->FIN_seq)
        seq = e->FIN_seq - 1;
    if (seq <= r->trim_seq)
        return;
    bool test_active = !r->skip_deliveries && e->state == SL_TCPS_ESTABLISHED &&
                       e->peer->state == SL_TCPS_ESTABLISHED;
    uint64_t missing = reasm_trim(t, c, r, seq);
    if (test_active) {
        t->st.ack_events++;
        t->st.ack_bytes += seq - r->trim_seq; /* after the trim, as Zeek counts it */
        if (missing > 0) {
            t->st.gap_events++;
            t->st.gap_bytes += missing;
        }
    }
    reasm_check_eof(t, c, e);
}

/* TCP_Reassembler::DataSent */
static void reasm_data_sent(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e, uint64_t seq,
                            uint64_t len, const uint8_t *data)
{
    struct reasm *r = &e->r;
    uint64_t ack = rel_seq_space(e, e->ack_seq, e->ack_wraps);
    uint64_t upper = seq + len;

    if (r->skip_deliveries)
        return;
    if (seq < ack) {
        if (upper <= ack)
            return;
        uint64_t acked = ack - seq;
        seq += acked;
        data += acked;
        len -= acked;
    }
    /* Reassembler::NewBlock */
    if (len && upper > r->trim_seq) {
        if (seq < r->trim_seq) {
            uint64_t old = r->trim_seq - seq;
            data += old;
            seq += old;
            len -= old;
        }
        bool keep = (c->pub.want & SL_CONN_WANT_STREAM) && seq > r->last_reassem_seq;
        blk_insert(r, seq, seq + len, data, keep);
        if (seq <= r->last_reassem_seq && seq + len > r->last_reassem_seq)
            block_inserted(t, c, r, seq, data, len);
    }
    uint64_t undelivered = r->n ? rb(r, r->n - 1)->upper - r->last_reassem_seq : 0;
    if (no_data_acked(e) && r->n && undelivered > TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS) {
        weird(t, c, "above_hole_data_without_any_acks", NULL, "TCP");
        blk_clear(r);
        r->skip_deliveries = true;
    }
    if (r->data_size > TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS) {
        weird(t, c, "excessive_data_without_further_acks", NULL, "TCP");
        blk_clear(r);
        r->skip_deliveries = true;
    }
}

/* ------------------------------------------------------------------ */
/* TCP: the session adapter                                            */

/* TCPSessionAdapter::ConnectionClosed */
static void connection_closed(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                              struct tcp_endp *peer, bool gen_event)
{
    struct tcp *p = c->tcp;
    if (t->ops.tcp_closed) /* the application analyzers hear of every call */
        t->ops.tcp_closed(t->ops.ctx, &c->pub, e->is_orig);
    if (reasm_data_pending(e)) {
        p->close_deferred = true;
        if (!p->deferred_gen_event)
            p->deferred_gen_event = gen_event;
        return;
    }
    p->close_deferred = false;
    if (e->did_close)
        return;
    e->did_close = true;

    bool complete = e->state == SL_TCPS_RESET || peer->did_close || peer->state == SL_TCPS_INACTIVE;
    if (complete) {
        if (e->prev_state != SL_TCPS_INACTIVE || peer->state != SL_TCPS_INACTIVE) {
            if (p->deferred_gen_event) {
                gen_event = true;
                p->deferred_gen_event = false;
            }
            if (gen_event) { /* ConnectionFinished */
                conn_event(t, c,
                           peer->state == SL_TCPS_INACTIVE ? SL_CONN_EV_HALF_FINISHED
                                                           : SL_CONN_EV_FINISHED);
                p->is_active = false;
            }
        }
        cancel_analyzer_timers(t, c);
        timer_arm(t, c, TK_DELETE, c->pub.last_time + TCP_CLOSE_DELAY, BASE_LAST, TCP_CLOSE_DELAY);
    } else if (e->prev_state != SL_TCPS_INACTIVE) {
        arm_expire(t, c, c->pub.last_time + TCP_SESSION_TIMER, BASE_LAST, TCP_SESSION_TIMER);
    }
    /* A first close from an endpoint never seen before would start
     * PartialCloseTimer, but only when connection_partial_close has a
     * handler, which Zeek's default scripts lack. */
}

static void conn_event(struct sl_conn_tab *t, struct conn *c, enum sl_conn_event ev)
{
    if (t->ops.event)
        t->ops.event(t->ops.ctx, &c->pub, ev);
}

static void connection_reset(struct sl_conn_tab *t, struct conn *c)
{
    conn_event(t, c, SL_CONN_EV_RESET);
    c->tcp->is_active = false;
}

static int get_segment_len(int payload_len, uint8_t f)
{
    int seg_len = payload_len;
    if (f & SL_TCP_SYN)
        ++seg_len;
    if (f & SL_TCP_FIN)
        ++seg_len;
    if (f & SL_TCP_RST)
        seg_len -= payload_len;
    return seg_len;
}

static void init_endpoint(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e, uint8_t f,
                          uint32_t first_seg_seq, uint32_t last_seq)
{
    bool syn = f & SL_TCP_SYN;
    switch (e->state) {
    case SL_TCPS_INACTIVE:
        if (syn) {
            e->ack_seq = first_seg_seq;
            e->start_seq = first_seg_seq;
        } else {
            /* A partial connection: number as though a SYN had been seen. */
            e->ack_seq = first_seg_seq - 1;
            e->start_seq = (uint32_t)(first_seg_seq - 1);
            last_seq = first_seg_seq;
        }
        e->last_seq = last_seq;
        e->start_time = t->pkt_ts;
        break;
    case SL_TCPS_SYN_SENT:
    case SL_TCPS_SYN_ACK_SENT:
        if (syn && first_seg_seq != (uint32_t)e->start_seq) {
            weird(t, c, "SYN_seq_jump", NULL, "");
            e->start_seq = first_seg_seq;
            e->ack_seq = first_seg_seq;
            e->last_seq = last_seq;
        }
        break;
    case SL_TCPS_ESTABLISHED:
    case SL_TCPS_PARTIAL:
        if (syn) {
            if (endp_size(e) > 0)
                weird(t, c, "SYN_inside_connection", NULL, "");
            if (first_seg_seq != (uint32_t)e->start_seq)
                weird(t, c, "SYN_seq_jump", NULL, "");
            e->start_seq = first_seg_seq;
            e->ack_seq = first_seg_seq;
            e->last_seq = last_seq;
        }
        break;
    case SL_TCPS_RESET:
        if (syn && e->prev_state == SL_TCPS_INACTIVE) {
            e->start_seq = first_seg_seq;
            e->ack_seq = first_seg_seq;
            e->last_seq = last_seq;
        }
        break;
    default:
        break;
    }
}

static uint64_t get_relative_seq(const struct tcp_endp *e, uint32_t cur_base, uint32_t last,
                                 uint32_t wraps, bool *underflow)
{
    int32_t delta = seq_delta(cur_base, last);
    if (delta < 0) {
        if (wraps && cur_base > last)
            --wraps;
    } else if (delta > 0) {
        if (cur_base < last)
            ++wraps;
    }
    if (wraps == 0) {
        delta = seq_delta(cur_base, (uint32_t)e->start_seq);
        if (underflow && delta < 0)
            *underflow = true;
        return (uint64_t)(int64_t)delta;
    }
    return rel_seq_space(e, cur_base, wraps);
}

static void update_history(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e, uint8_t f,
                           uint64_t rel_seq, int len)
{
    int bits = !!(f & SL_TCP_SYN) + !!(f & SL_TCP_FIN) + !!(f & SL_TCP_RST);
    if (bits > 1) {
        if ((f & SL_TCP_FIN) && (f & SL_TCP_RST))
            endp_check_history(t, c, e, HIST_FIN_RST_PKT, 'I');
        else
            endp_check_history(t, c, e, HIST_MULTI_FLAG_PKT, 'Q');
    } else if (bits == 1) {
        if (f & SL_TCP_SYN) {
            char code = (f & SL_TCP_ACK) ? 'H' : 'S';
            if (endp_check_history(t, c, e, HIST_SYN_PKT, code) && rel_seq != e->hist_last_SYN)
                endp_add_history(c, e, code);
            e->hist_last_SYN = rel_seq;
        }
        if (f & SL_TCP_FIN) {
            /* A FIN's sequence number comes after its data. */
            if (endp_check_history(t, c, e, HIST_FIN_PKT, 'F') &&
                rel_seq + (uint64_t)len != e->hist_last_FIN)
                endp_add_history(c, e, 'F');
            e->hist_last_FIN = rel_seq + (uint64_t)len;
        }
        if (f & SL_TCP_RST) {
            if (endp_check_history(t, c, e, HIST_RST_PKT, 'R') && rel_seq != e->hist_last_RST)
                endp_add_history(c, e, 'R');
            e->hist_last_RST = rel_seq;
        }
    } else {
        if (len)
            endp_check_history(t, c, e, HIST_DATA_PKT, 'D');
        else if (f & SL_TCP_ACK)
            endp_check_history(t, c, e, HIST_ACK_PKT, 'A');
    }
}

static void update_window(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                          unsigned window, uint32_t base_seq, uint32_t ack_seq, uint8_t f)
{
    int scale = e->window_scale;
    window = window << scale;
    if (window == 0 && !(f & SL_TCP_RST) && e->peer->state != SL_TCPS_CLOSED &&
        e->state != SL_TCPS_RESET)
        scaled_history(c, e->is_orig ? 'W' : 'w', &e->win0_cnt, &e->win0_thresh);

    if (!(f & (SL_TCP_SYN | SL_TCP_FIN | SL_TCP_RST)) && e->state != SL_TCPS_CLOSED &&
        e->state != SL_TCPS_RESET) {
        if (seq_delta(base_seq, e->window_seq) >= 0 && seq_delta(ack_seq, e->window_ack_seq) >= 0) {
            uint32_t new_edge = ack_seq + window;
            uint32_t old_edge = e->window_ack_seq + e->window;
            int32_t advance = seq_delta(new_edge, old_edge);
            if (advance < 0 && (-(int64_t)advance) >= (1 << scale))
                weird(t, c, "window_recision", NULL, "");
            e->window = window;
            e->window_ack_seq = ack_seq;
            e->window_seq = base_seq;
        }
    }
}

/* The window scale option of a SYN, -1 when absent. */
static int syn_window_scale(const struct sl_conn_tcp *s)
{
    const uint8_t *o = s->opt, *end = s->opt + s->opt_len;
    int scale = -1;
    while (o && o < end) {
        unsigned opt = o[0];
        if (opt == 0)
            break;
        if (opt == 1) {
            ++o;
            continue;
        }
        if (o + 1 >= end)
            break;
        unsigned len = o[1];
        if (len == 0 || o + len > end)
            break;
        if (opt == 3 && len >= 3)
            scale = o[2];
        o += len;
    }
    return scale;
}

static void init_window(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e, uint8_t f,
                        int scale, uint32_t base_seq, uint32_t ack_seq)
{
    if (scale < 0) {
        e->window_scale = 0;
        if (f & SL_TCP_ACK)
            e->peer->window_scale = 0;
        return;
    }
    if (scale > 14) {
        if (!c->did_weird) {
            char buf[16];
            snprintf(buf, sizeof(buf), "%d", scale);
            weird(t, c, "TCP_scale_range", buf, "TCP");
        }
        scale = 14;
    }
    e->window_scale = scale;
    e->window_seq = base_seq;
    e->window_ack_seq = ack_seq;
    e->peer->window_seq = ack_seq;
    e->peer->window_ack_seq = base_seq;
}

static void init_peer(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *peer,
                      struct tcp_endp *e, uint8_t f, uint32_t ack_seq)
{
    if (!(f & (SL_TCP_SYN | SL_TCP_FIN | SL_TCP_RST))) {
        if ((e->state == SL_TCPS_SYN_SENT || e->state == SL_TCPS_SYN_ACK_SENT ||
             e->state == SL_TCPS_ESTABLISHED) &&
            !c->did_weird)
            weird(t, c, "possible_split_routing", NULL, "");
    }
    peer->start_seq = (uint32_t)(ack_seq - 1);
    peer->ack_seq = ack_seq - 1;
    peer->last_seq = ack_seq - 1;
}

static void update_ack_seq(struct tcp_endp *e, uint32_t ack_seq)
{
    int32_t delta_ack = seq_delta(ack_seq, e->ack_seq);
    if (ack_seq == 0 && delta_ack > TOO_LARGE_SEQ_DELTA)
        return; /* more likely a broken ack than a wrap landing on 0 */
    if (delta_ack > 0)
        update_ack_seq_raw(e, ack_seq);
}

static int32_t update_last_seq(struct conn *c, struct tcp_endp *e, uint32_t last_seq, uint8_t f,
                               int len)
{
    int32_t delta_last = seq_delta(last_seq, e->last_seq);
    if ((f & (SL_TCP_SYN | SL_TCP_RST)) &&
        (delta_last > TOO_LARGE_SEQ_DELTA || delta_last < -TOO_LARGE_SEQ_DELTA))
        ; /* don't trust outlandish SYN/RST sequence numbers */
    else if ((f & SL_TCP_FIN) && e->last_seq == (uint32_t)(e->start_seq + 1))
        update_last_seq_raw(e, last_seq); /* > 2 GB connections seen only at SYN and FIN */
    else if (e->state == SL_TCPS_RESET)
        ; /* don't trust anything after a RST */
    else if (delta_last > 0)
        update_last_seq_raw(e, last_seq);
    else if (delta_last <= 0 && len > 0)
        scaled_history(c, e->is_orig ? 'T' : 't', &e->rxmt_cnt, &e->rxmt_thresh);
    return delta_last;
}

static void set_partial_status(struct tcp *p, uint8_t f, bool is_orig)
{
    if (is_orig) {
        if (!(p->first_packet_seen & 1))
            p->is_partial = !(f & SL_TCP_SYN) || (f & SL_TCP_ACK);
    } else {
        if (!(p->first_packet_seen & 2) && !p->is_partial)
            p->is_partial = !(f & SL_TCP_SYN);
    }
}

static void update_inactive_state(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                                  struct tcp_endp *peer, uint32_t base_seq, uint32_t ack_seq,
                                  int len, bool is_orig, uint8_t f, bool *do_close, bool *gen_event)
{
    struct tcp *p = c->tcp;
    if (f & SL_TCP_SYN) {
        if (is_orig) {
            if (f & SL_TCP_ACK) {
                weird(t, c, "connection_originator_SYN_ack", NULL, "TCP");
                set_state(t, c, e, SL_TCPS_SYN_ACK_SENT);
            } else {
                set_state(t, c, e, SL_TCPS_SYN_SENT);
            }
            timer_arm(t, c, TK_ATTEMPT, t->pkt_ts + TCP_ATTEMPT_DELAY, BASE_PKT, TCP_ATTEMPT_DELAY);
        } else {
            if (f & SL_TCP_ACK) {
                if (peer->state != SL_TCPS_INACTIVE && peer->state != SL_TCPS_PARTIAL) {
                    uint32_t lo = (uint32_t)peer->start_seq, hi = peer->last_seq;
                    bool between = lo <= hi ? (ack_seq >= lo && ack_seq <= hi)
                                            : (ack_seq >= lo || ack_seq <= hi);
                    if (!between)
                        weird(t, c, "bad_SYN_ack", NULL, "TCP");
                }
            } else if (peer->state == SL_TCPS_SYN_ACK_SENT && base_seq == (uint32_t)e->start_seq) {
                /* A SYN/SYN-ACK reversal: flip and establish. */
                p->is_partial = false;
                flip_roles(t, c, true);
                set_state(t, c, peer, SL_TCPS_ESTABLISHED);
                p->first_packet_seen |= 1;
            } else {
                weird(t, c, "simultaneous_open", NULL, "TCP");
            }
            if (peer->state == SL_TCPS_SYN_SENT)
                set_state(t, c, peer, SL_TCPS_ESTABLISHED);
            else if (peer->state == SL_TCPS_INACTIVE)
                weird(t, c, "unsolicited_SYN_response", NULL, "TCP");
            set_state(t, c, e, SL_TCPS_ESTABLISHED);
            if (peer->state != SL_TCPS_PARTIAL && t->ops.established)
                t->ops.established(t->ops.ctx, &c->pub);
        }
    }
    if (f & SL_TCP_FIN) {
        set_state(t, c, e, SL_TCPS_CLOSED);
        *do_close = *gen_event = true;
        if (peer->state != SL_TCPS_PARTIAL && !(f & SL_TCP_SYN))
            weird(t, c, "spontaneous_FIN", NULL, "TCP");
    }
    if (f & SL_TCP_RST) {
        set_state(t, c, e, SL_TCPS_RESET);
        bool is_reject = false;
        if (is_orig) {
            /* A SYN-ACK seen but no SYN: a reverse scan, treated as a reject. */
            if (peer->state == SL_TCPS_ESTABLISHED)
                is_reject = true;
        } else if (peer->state == SL_TCPS_SYN_SENT || peer->state == SL_TCPS_SYN_ACK_SENT) {
            is_reject = true;
        }
        *do_close = true;
        *gen_event = !is_reject;
        if (is_reject)
            conn_event(t, c, SL_CONN_EV_REJECTED);
        else if (peer->state == SL_TCPS_INACTIVE)
            weird(t, c, "spontaneous_RST", NULL, "TCP");
    }
    if (e->state == SL_TCPS_INACTIVE) {
        if (!is_orig && len == 0 && p->orig->state == SL_TCPS_SYN_SENT)
            ; /* an ack of the SYN ahead of the SYN-ACK: not yet partial */
        else if ((f & SL_TCP_ACK) && peer->state == SL_TCPS_ESTABLISHED) {
            /* The SYN was missed but SYN-ACK and ACK seen: established. */
            set_state(t, c, e, SL_TCPS_ESTABLISHED);
            p->is_partial = false;
            p->first_packet_seen |= is_orig ? 1 : 2;
        } else {
            set_state(t, c, e, SL_TCPS_PARTIAL);
            if (peer->state == SL_TCPS_PARTIAL)
                conn_event(t, c, SL_CONN_EV_PARTIAL);
        }
    }
}

static void update_syn_sent_state(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                                  struct tcp_endp *peer, int len, bool is_orig, uint8_t f,
                                  bool *do_close, bool *gen_event)
{
    if (f & SL_TCP_SYN) {
        if (is_orig) {
            if ((f & SL_TCP_ACK) && !(f & (SL_TCP_FIN | SL_TCP_RST)) &&
                e->state != SL_TCPS_SYN_ACK_SENT)
                weird(t, c, "repeated_SYN_with_ack", NULL, "TCP");
        } else if (!(f & SL_TCP_ACK) && e->state != SL_TCPS_SYN_SENT) {
            weird(t, c, "repeated_SYN_reply_wo_ack", NULL, "TCP");
        }
    }
    if (f & SL_TCP_FIN) {
        if (peer->state == SL_TCPS_INACTIVE || peer->state == SL_TCPS_SYN_SENT)
            weird(t, c, "inappropriate_FIN", NULL, "TCP");
        set_state(t, c, e, SL_TCPS_CLOSED);
        *do_close = *gen_event = true;
    }
    if (f & SL_TCP_RST) {
        set_state(t, c, e, SL_TCPS_RESET);
        connection_reset(t, c);
        *do_close = true;
    } else if (len > 0) {
        weird(t, c, "data_before_established", NULL, "TCP");
    }
}

static void update_established_state(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                                     struct tcp_endp *peer, uint8_t f, bool *do_close,
                                     bool *gen_event)
{
    if ((f & SL_TCP_SYN) && e->state == SL_TCPS_PARTIAL && peer->state == SL_TCPS_INACTIVE &&
        !(f & SL_TCP_ACK)) {
        weird(t, c, "SYN_after_partial", NULL, "TCP");
        set_state(t, c, e, SL_TCPS_SYN_SENT);
    }
    if ((f & SL_TCP_FIN) && !(f & SL_TCP_RST)) {
        set_state(t, c, e, SL_TCPS_CLOSED);
        if (peer->state == SL_TCPS_RESET && peer->prev_state == SL_TCPS_CLOSED)
            set_state(t, c, peer, SL_TCPS_CLOSED); /* FIN then RST: a normal close */
        *do_close = *gen_event = true;
    }
    if (f & SL_TCP_RST) {
        set_state(t, c, e, SL_TCPS_RESET);
        *do_close = true;
        if (peer->state != SL_TCPS_RESET || peer->prev_state != SL_TCPS_ESTABLISHED)
            connection_reset(t, c);
    }
}

static void update_closed_state(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                                int32_t delta_last, uint8_t f, bool *do_close)
{
    if (f & SL_TCP_SYN)
        weird(t, c, "SYN_after_close", NULL, "TCP");
    if ((f & SL_TCP_FIN) && delta_last > 0)
        weird(t, c, "FIN_advanced_last_seq", NULL, "TCP");
    if ((f & SL_TCP_RST) && e->peer->state != SL_TCPS_CLOSED) {
        set_state(t, c, e, SL_TCPS_RESET);
        if (!e->did_close)
            *do_close = true; /* RST after FIN */
        /* ResetTimer is only armed when connection_reset has a handler,
         * which Zeek's default scripts lack. */
    }
}

static void update_reset_state(struct sl_conn_tab *t, struct conn *c, int len, uint8_t f)
{
    if (f & SL_TCP_SYN)
        weird(t, c, "SYN_after_reset", NULL, "TCP");
    if (f & SL_TCP_FIN)
        weird(t, c, "FIN_after_reset", NULL, "TCP");
    if (len > 0 && !(f & SL_TCP_RST))
        weird(t, c, "data_after_reset", NULL, "TCP");
}

static void update_state_machine(struct sl_conn_tab *t, struct conn *c, struct tcp_endp *e,
                                 struct tcp_endp *peer, uint32_t base_seq, uint32_t ack_seq,
                                 int len, int32_t delta_last, bool is_orig, uint8_t f,
                                 bool *do_close, bool *gen_event)
{
    *do_close = *gen_event = false;
    switch (e->state) {
    case SL_TCPS_INACTIVE:
        update_inactive_state(t, c, e, peer, base_seq, ack_seq, len, is_orig, f, do_close,
                              gen_event);
        break;
    case SL_TCPS_SYN_SENT:
    case SL_TCPS_SYN_ACK_SENT:
        update_syn_sent_state(t, c, e, peer, len, is_orig, f, do_close, gen_event);
        break;
    case SL_TCPS_ESTABLISHED:
    case SL_TCPS_PARTIAL:
        update_established_state(t, c, e, peer, f, do_close, gen_event);
        break;
    case SL_TCPS_CLOSED:
        update_closed_state(t, c, e, delta_last, f, do_close);
        break;
    case SL_TCPS_RESET:
        update_reset_state(t, c, len, f);
        break;
    }
}

/* TCPSessionAdapter::IsReuse */
static bool tcp_is_reuse(struct sl_conn_tab *t, struct conn *c, const struct sl_conn_tcp *s)
{
    struct tcp *p = c->tcp;
    struct tcp_endp *conn_orig = p->orig;
    if (!(s->flags & SL_TCP_SYN))
        return false;
    if (s->flags & SL_TCP_ACK) {
        if (p->orig->state != SL_TCPS_INACTIVE)
            return false;
        conn_orig = p->resp;
    }
    bool closed = p->orig->did_close || p->resp->did_close;
    if (!closed) {
        if (s->seq == (uint32_t)conn_orig->start_seq)
            return false;
        if (!(s->flags & SL_TCP_ACK) && conn_orig->state == SL_TCPS_SYN_ACK_SENT &&
            p->resp->state == SL_TCPS_INACTIVE && s->seq == (uint32_t)p->resp->start_seq)
            return false;
        weird(t, c,
              conn_orig->state == SL_TCPS_SYN_SENT ? "SYN_seq_jump" : "active_connection_reuse",
              NULL, "TCP");
    } else if (((p->orig->state != SL_TCPS_INACTIVE && !p->orig->did_close) ||
                (p->resp->state != SL_TCPS_INACTIVE && !p->resp->did_close)) &&
               p->orig->state != SL_TCPS_RESET && p->resp->state != SL_TCPS_RESET) {
        weird(t, c, "active_connection_reuse", NULL, "TCP");
    } else if (t->pkt_ts - c->pub.last_time < TCP_CONNECTION_LINGER &&
               p->orig->state != SL_TCPS_RESET && p->resp->state != SL_TCPS_RESET) {
        weird(t, c, "premature_connection_reuse", NULL, "TCP");
    }
    return true;
}

void sl_conn_tcp_packet(struct sl_conn_tab *t, struct sl_conn *pc, bool is_orig,
                        const struct sl_conn_tcp *s, uint32_t ip_len)
{
    struct conn *c = priv(pc);
    struct tcp *p = c->tcp;
    if (!p)
        return;
    uint8_t f = s->flags;
    uint32_t base_seq = s->seq, ack_seq = s->ack;
    int len = (int)s->len;
    struct tcp_endp *e = is_orig ? p->orig : p->resp;
    struct tcp_endp *peer = e->peer;
    struct tcp_endp *orig_before = p->orig;

    set_partial_status(p, f, e->is_orig);
    int seg_len = get_segment_len(len, f);
    uint32_t seq_one_past_segment = base_seq + (uint32_t)seg_len;
    init_endpoint(t, c, e, f, base_seq, seq_one_past_segment);

    bool seq_underflow = false;
    uint64_t rel_seq = get_relative_seq(e, base_seq, e->last_seq, e->seq_wraps, &seq_underflow);
    if (seq_underflow && !(f & SL_TCP_RST))
        weird(t, c, "TCP_seq_underflow_or_misorder", NULL, "TCP");

    update_history(t, c, e, f, rel_seq, len);
    update_window(t, c, e, s->win, base_seq, ack_seq, f);

    if (!p->orig->did_close || !p->resp->did_close)
        c->pub.last_time = t->pkt_ts;

    if (f & SL_TCP_SYN) {
        if (f & SL_TCP_RST)
            weird(t, c, "TCP_christmas", "", "TCP");
        if (f & SL_TCP_URG)
            weird(t, c, "baroque_SYN", "", "TCP");
        if (len > 0)
            weird(t, c, "SYN_with_data", "", "TCP");
        init_window(t, c, e, f, syn_window_scale(s), base_seq, ack_seq);
    }
    if (f & SL_TCP_FIN) {
        ++e->FIN_cnt;
        if (e->FIN_cnt >= TCP_STORM_THRESH && t->pkt_ts < e->last_time + TCP_STORM_INTERARRIVAL)
            weird(t, c, "FIN_storm", NULL, "TCP");
        e->FIN_seq = rel_seq + (uint64_t)(int64_t)seg_len;
    }
    if (f & SL_TCP_RST) {
        ++e->RST_cnt;
        if (e->RST_cnt >= TCP_STORM_THRESH && t->pkt_ts < e->last_time + TCP_STORM_INTERARRIVAL)
            weird(t, c, "RST_storm", NULL, "TCP");
    }

    uint64_t rel_ack = 0;
    if (f & SL_TCP_ACK) {
        if (is_orig && !p->seen_first_ACK &&
            (e->state == SL_TCPS_ESTABLISHED || e->state == SL_TCPS_SYN_SENT))
            p->seen_first_ACK = true;
        if (peer->state == SL_TCPS_INACTIVE) {
            rel_ack = 1;
            init_peer(t, c, peer, e, f, ack_seq);
        } else {
            bool ack_underflow = false;
            rel_ack =
                get_relative_seq(peer, ack_seq, peer->ack_seq, peer->ack_wraps, &ack_underflow);
            if (ack_underflow) {
                rel_ack = 0;
                weird(t, c, "TCP_ack_underflow_or_misorder", NULL, "TCP");
            } else if (!(f & SL_TCP_RST)) {
                update_ack_seq(peer, ack_seq);
            }
        }
    }

    int32_t delta_last = update_last_seq(c, e, seq_one_past_segment, f, len);
    e->last_time = t->pkt_ts;

    bool do_close, gen_event;
    update_state_machine(t, c, e, peer, base_seq, ack_seq, len, delta_last, is_orig, f, &do_close,
                         &gen_event);

    /* After the state machine, so a gap revealed by the ack of a FIN or RST
     * can be told to come at the very end. */
    if (f & SL_TCP_ACK)
        reasm_ack_received(t, c, peer, rel_ack);

    /* CheckPIA_FirstPacket */
    if (is_orig)
        p->first_packet_seen |= 1;
    else
        p->first_packet_seen |= 2;

    uint64_t rel_data_seq = (f & SL_TCP_SYN) ? rel_seq + 1 : rel_seq;
    if (len > 0 && !(f & SL_TCP_RST) && !seq_underflow) {
        if (s->caplen >= (uint32_t)len)
            reasm_data_sent(t, c, e, rel_data_seq, (uint64_t)len, s->data);
        else
            weird(t, c, "truncated_tcp_payload", NULL, "TCP");
    }
    reasm_check_eof(t, c, e);
    if (do_close)
        connection_closed(t, c, e, peer, gen_event);

    /* ConnSize, told the direction after any flip during processing. */
    bool now_orig = p->orig != orig_before ? !is_orig : is_orig;
    if (now_orig) {
        c->pub.orig_pkts++;
        c->pub.orig_ip_bytes += ip_len;
    } else {
        c->pub.resp_pkts++;
        c->pub.resp_ip_bytes += ip_len;
    }
}

void sl_conn_tcp_bad_checksum(struct sl_conn_tab *t, struct sl_conn *pc, bool is_orig)
{
    struct conn *c = priv(pc);
    if (!c->tcp)
        return;
    struct tcp_endp *e = is_orig ? c->tcp->orig : c->tcp->resp;
    weird(t, c, "bad_TCP_checksum", NULL, "TCP");
    scaled_history(c, e->is_orig ? 'C' : 'c', &e->chk_cnt, &e->chk_thresh);
}

/* ------------------------------------------------------------------ */
/* UDP, ICMP, other                                                    */

static void update_length(int64_t *stat, int64_t len)
{
    if (*stat < 0)
        *stat = len;
    else
        *stat += len;
}

void sl_conn_udp_packet(struct sl_conn_tab *t, struct sl_conn *pc, bool is_orig, uint32_t ulen)
{
    struct conn *c = priv(pc);
    c->pub.last_time = t->pkt_ts;
    int64_t payload = (int64_t)ulen - 8;
    if (is_orig) {
        check_history(c, HIST_ORIG_DATA_PKT, 'D');
        update_length(&c->req_len, payload);
    } else {
        check_history(c, HIST_RESP_DATA_PKT, 'd');
        update_length(&c->rep_len, payload);
    }
}

void sl_conn_count(struct sl_conn_tab *t, struct sl_conn *c, bool is_orig, uint32_t ip_len)
{
    (void)t;
    if (is_orig) {
        c->orig_pkts++;
        c->orig_ip_bytes += ip_len;
    } else {
        c->resp_pkts++;
        c->resp_ip_bytes += ip_len;
    }
}

void sl_conn_set_analyzer_expire(struct sl_conn_tab *t, struct sl_conn *pc, double timeout)
{
    struct conn *c = priv(pc);
    c->aexp_timeout = timeout;
    timer_arm(t, c, TK_AEXP, t->now + timeout, BASE_NOW, timeout);
}

void sl_conn_udp_bad_checksum(struct sl_conn_tab *t, struct sl_conn *pc, bool is_orig)
{
    struct conn *c = priv(pc);
    weird(t, c, "bad_UDP_checksum", NULL, "UDP");
    if (is_orig)
        scaled_history(c, 'C', &c->req_chk_cnt, &c->req_chk_thresh);
    else
        scaled_history(c, 'c', &c->rep_chk_cnt, &c->rep_chk_thresh);
}

void sl_conn_icmp_packet(struct sl_conn_tab *t, struct sl_conn *pc, bool is_orig, int32_t len,
                         bool counted, uint32_t ip_len)
{
    struct conn *c = priv(pc);
    c->pub.last_time = t->pkt_ts;
    update_length(is_orig ? &c->req_len : &c->rep_len, (int64_t)len - 8);
    if (!counted)
        return;
    if (is_orig) {
        c->pub.orig_pkts++;
        c->pub.orig_ip_bytes += ip_len;
    } else {
        c->pub.resp_pkts++;
        c->pub.resp_ip_bytes += ip_len;
    }
}

void sl_conn_other_packet(struct sl_conn_tab *t, struct sl_conn *pc, bool is_orig, uint32_t ip_len)
{
    struct conn *c = priv(pc);
    c->pub.last_time = t->pkt_ts;
    if (is_orig) {
        c->pub.orig_pkts++;
        c->pub.orig_ip_bytes += ip_len;
    } else {
        c->pub.resp_pkts++;
        c->pub.resp_ip_bytes += ip_len;
    }
}

/* ------------------------------------------------------------------ */
/* Timers firing                                                       */

static struct conn *conn_of_timer(struct ctimer *x)
{
    return (struct conn *)((char *)(x - x->kind) - offsetof(struct conn, tm));
}

/* The same from a heap or lane entry, without reading the connection. */
static struct conn *hent_conn(const struct hent *e)
{
    struct ctimer *x = e->x - (e->seq & SEQ_KIND_MASK);
    return (struct conn *)((char *)x - offsetof(struct conn, tm));
}

static void expire_timer(struct sl_conn_tab *t, struct conn *c, int kind, double now)
{
    struct tcp *p = c->tcp;
    if (!p || !p->is_active)
        return;
    if (c->pub.last_time + TCP_CONNECTION_LINGER < now) {
        struct tcp_endp *o = p->orig, *r = p->resp;
        if (o->did_close || r->did_close) {
            if ((o->did_close && r->did_close) || o->state == SL_TCPS_RESET ||
                r->state == SL_TCPS_RESET || o->state == SL_TCPS_INACTIVE ||
                r->state == SL_TCPS_INACTIVE) {
                p->is_active = false;
                conn_remove(t, c, SL_CONN_WHY_TIMER);
                return;
            }
        }
        if (r->state == SL_TCPS_INACTIVE && o->state == SL_TCPS_INACTIVE) {
            conn_remove(t, c, SL_CONN_WHY_TIMER);
            return;
        }
    }
    timer_arm(t, c, kind, now + TCP_SESSION_TIMER, BASE_NOW, TCP_SESSION_TIMER);
}

static void fire(struct sl_conn_tab *t, struct ctimer *x, double now, bool is_expire)
{
    int kind = x->kind;
    struct conn *c = conn_of_timer(x);
    switch (kind) {
    case TK_INACT:
        if (is_expire)
            return;
        if (c->pub.last_time + c->inactivity_timeout <= now)
            conn_remove(t, c, SL_CONN_WHY_TIMER);
        else
            timer_arm(t, c, TK_INACT, c->pub.last_time + c->inactivity_timeout, BASE_LAST,
                      c->inactivity_timeout);
        break;
    case TK_ATTEMPT: {
        struct tcp *p = c->tcp;
        if (!p || !p->is_active)
            return;
        if ((p->orig->state == SL_TCPS_SYN_SENT || p->orig->state == SL_TCPS_SYN_ACK_SENT) &&
            p->resp->state == SL_TCPS_INACTIVE) {
            conn_event(t, c, SL_CONN_EV_ATTEMPT);
            p->is_active = false;
            conn_remove(t, c, SL_CONN_WHY_TIMER);
        }
        break;
    }
    case TK_DELETE:
        if (is_expire)
            return;
        conn_remove(t, c, SL_CONN_WHY_TIMER);
        break;
    case TK_AEXP:
        /* DNS_Analyzer::ExpireTimer: a second of slack for the usual
         * request/reply pair; always ends the connection at termination. */
        if (now - c->pub.last_time >= c->aexp_timeout - 1.0 || t->terminating)
            conn_remove(t, c, SL_CONN_WHY_TIMER);
        else
            timer_arm(t, c, TK_AEXP, now + c->aexp_timeout, BASE_NOW, c->aexp_timeout);
        break;
    default:
        if (is_expire)
            return;
        expire_timer(t, c, kind, now);
        break;
    }
}

/* Timers fire into connections scattered in memory: the connections of
 * timers a little further down the lane are fetched ahead, their TCP states
 * once the connection is there. */
#define PF_FAR  8
#define PF_NEAR 4

static void prefetch_lane(struct lane *l)
{
    /* Cursors, not fixed offsets: the head may jump over cleared slots. */
    if (l->pf_far < l->head)
        l->pf_far = l->head;
    for (; l->pf_far < l->tail && l->pf_far <= l->head + PF_FAR; l->pf_far++) {
        const struct hent *e = lane_at(l, l->pf_far);
        if (e->x) {
            /* What a timer looks at first: the times, its slot, the TCP state. */
            struct conn *c = hent_conn(e);
            __builtin_prefetch(&c->pub.last_time);
            __builtin_prefetch(e->x);
            __builtin_prefetch(&c->tcp);
        }
    }
    if (l->pf_near < l->head)
        l->pf_near = l->head;
    for (; l->pf_near < l->tail && l->pf_near <= l->head + PF_NEAR; l->pf_near++) {
        const struct hent *e = lane_at(l, l->pf_near);
        struct tcp *p = e->x ? hent_conn(e)->tcp : NULL;
        if (p) {
            __builtin_prefetch(p);
            __builtin_prefetch(&p->ep[1].did_close);
        }
    }
}

static struct ctimer *timer_pop(struct sl_conn_tab *t, struct hent *e)
{
    struct ctimer *x = e->x;
    timer_cancel(t, x);
    return x;
}

void sl_conn_advance(struct sl_conn_tab *t, double ts)
{
    t->pkt_ts = ts;
    if (ts > t->now)
        t->now = ts;
    /* Most packets find no timer due: due_lb says so without a look. */
    if (t->now < t->due_lb)
        return;
    struct hent *e;
    int lane;
    for (int n = 0; (e = timer_next(t, &lane)) && e->t <= t->now; n++) {
        if (n == MAX_TIMER_EXPIRES)
            break;
        if (lane >= 0)
            prefetch_lane(&t->lanes[lane]);
        fire(t, timer_pop(t, e), t->now, false);
    }
    t->due_lb = e ? e->t : INFINITY;
}

double sl_conn_now(const struct sl_conn_tab *t)
{
    return t->now;
}

/* A connection's key for sorting: all of it as big-endian words (the last
 * one zero-padded), so comparisons do not reach into the connections. */
#define SKEY_WORDS ((KEYLEN + 7) / 8)

struct skey {
    uint64_t k[SKEY_WORDS];
    struct conn *c;
};

static void skey_make(struct skey *s, struct conn *c)
{
    uint8_t b[SKEY_WORDS * 8] = {0};
    memcpy(b, c->key, KEYLEN);
    for (int i = 0; i < SKEY_WORDS; i++) {
        uint64_t v;
        memcpy(&v, b + 8 * i, sizeof(v));
        s->k[i] = be64toh(v);
    }
    s->c = c;
}

static int skey_cmp(const void *a, const void *b)
{
    const struct skey *x = a, *y = b;
    for (int i = 0; i < SKEY_WORDS; i++)
        if (x->k[i] != y->k[i])
            return x->k[i] < y->k[i] ? -1 : 1;
    return 0;
}

static int hent_cmp(const void *a, const void *b)
{
    const struct hent *x = a, *y = b;
    return hent_before(x, y) ? -1 : hent_before(y, x) ? 1 : 0;
}

/* Timers that act when expired at termination: the others do nothing then. */
static bool acts_on_expire(int kind)
{
    return kind == TK_ATTEMPT || kind == TK_AEXP;
}

/* Collects the armed timers of kinds that act on expiry into v (of cap
 * entries) and disarms all timers; returns how many it kept. */
static size_t take_acting(struct sl_conn_tab *t, struct hent *v, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < t->heap_n; i++) {
        if (acts_on_expire(t->heap[i].x->kind) && n < cap)
            v[n++] = t->heap[i];
        t->heap[i].x->where = -1;
    }
    t->heap_n = 0;
    for (int i = 0; i < t->n_lanes; i++) {
        struct lane *l = &t->lanes[i];
        for (uint64_t p = l->head; p != l->tail; p++) {
            struct hent *e = lane_at(l, p);
            if (!e->x)
                continue;
            if (acts_on_expire(e->x->kind) && n < cap)
                v[n++] = *e;
            e->x->where = -1;
        }
        l->head = l->tail;
    }
    return n;
}

/* timer_mgr->Expire(): every pending timer is dispatched in (time, insertion)
 * order, but only those that act on expiry do anything, and nothing armed
 * before termination is re-armed by them (AEXP ends its connection then). So
 * the acting ones are sorted once and run in that order; the rest are dropped
 * unseen. A timer an acting one cancels (its connection went) is skipped. */
static void expire_all(struct sl_conn_tab *t)
{
    size_t cap = t->heap_n;
    for (int i = 0; i < t->n_lanes; i++)
        cap += t->lanes[i].tail - t->lanes[i].head;
    struct hent *v = cap ? malloc(cap * sizeof(*v)) : NULL;
    if (v) {
        size_t n = take_acting(t, v, cap);
        if (n > 1)
            qsort(v, n, sizeof(*v), hent_cmp);
        /* Sorted is a valid heap; a cancel (conn_remove) keeps it one. */
        free(t->heap);
        t->heap = v;
        t->heap_cap = cap;
        t->heap_n = n;
        for (size_t i = 0; i < n; i++) {
            v[i].x->where = WHERE_HEAP;
            v[i].x->pos = i;
        }
    }
    /* Without memory for the sort, one at a time as they come. */
    struct hent *e;
    int lane;
    while ((e = timer_next(t, &lane)))
        fire(t, timer_pop(t, e), t->now, true);
}

void sl_conn_finish(struct sl_conn_tab *t)
{
    t->terminating = true;
    expire_all(t);

    /* session_mgr->Drain() in key order, as Zeek does under a seed. */
    size_t n = t->st.active, k = 0;
    struct skey *v = n ? malloc(n * sizeof(*v)) : NULL;
    if (n && !v) {
        while (t->lru_head)
            conn_remove(t, t->lru_head, SL_CONN_WHY_END);
        return;
    }
    /* From the slots rather than the LRU list: independent loads, not a chain. */
    for (size_t i = 0; i < t->nslots && k < n; i++) {
        if (i + PF_FAR < t->nslots && t->slots[i + PF_FAR].c)
            __builtin_prefetch(t->slots[i + PF_FAR].c->key);
        if (t->slots[i].c)
            skey_make(&v[k++], t->slots[i].c);
    }
    if (k > 1)
        qsort(v, k, sizeof(*v), skey_cmp);
    /* Every connection goes: the table and the LRU list are cleared at once
     * instead of one connection at a time (nothing looks them up meanwhile). */
    t->draining = true;
    t->lru_head = t->lru_tail = NULL;
    for (size_t i = 0; i < k; i++) {
        if (i + PF_FAR < k)
            prefetch_bytes(v[i + PF_FAR].c, sizeof(struct conn));
        if (i + PF_NEAR < k && v[i + PF_NEAR].c->tcp)
            prefetch_bytes(v[i + PF_NEAR].c->tcp, sizeof(struct tcp));
        conn_remove(t, v[i].c, SL_CONN_WHY_END);
    }
    memset(t->slots, 0, t->nslots * sizeof(*t->slots));
    t->draining = false;
    free(v);
}

/* ------------------------------------------------------------------ */
/* Table                                                               */

struct sl_conn_tab *sl_conn_tab_new(const struct sl_conn_cfg *cfg, const struct sl_conn_ops *ops)
{
    struct sl_conn_tab *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (cfg)
        t->cfg = *cfg;
    if (ops)
        t->ops = *ops;
    t->due_lb = INFINITY;
    t->conn_pool.size = sizeof(struct conn);
    t->tcp_pool.size = sizeof(struct tcp);
    if (tab_grow(t) < 0) {
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    return t;
}

void sl_conn_tab_free(struct sl_conn_tab *t)
{
    if (!t)
        return;
    while (t->lru_head) {
        struct conn *c = t->lru_head;
        lru_unlink(t, c);
        free_conn(t, c);
    }
    pool_free_all(&t->conn_pool);
    pool_free_all(&t->tcp_pool);
    big_free(t->slots, t->nslots * sizeof(*t->slots));
    free(t->heap);
    for (int i = 0; i < t->n_lanes; i++)
        free(t->lanes[i].buf);
    free(t);
}

void sl_conn_get_stats(const struct sl_conn_tab *t, struct sl_conn_stats *s)
{
    *s = t->st;
}

/* ------------------------------------------------------------------ */
/* Queries and module helpers                                          */

void sl_conn_check_history(struct sl_conn *c, uint32_t mask, char letter)
{
    check_history(priv(c), mask, letter);
}

void sl_conn_add_service(struct sl_conn *c, const char *name)
{
    for (unsigned i = 0; i < c->n_service; i++)
        if (strcmp(c->service[i], name) == 0)
            return;
    if (c->n_service < SL_CONN_MAX_SERVICES)
        c->service[c->n_service++] = name;
}

void sl_conn_del_service(struct sl_conn *c, const char *name)
{
    for (unsigned i = 0; i < c->n_service; i++)
        if (strcmp(c->service[i], name) == 0) {
            memmove(&c->service[i], &c->service[i + 1],
                    (c->n_service - i - 1) * sizeof(c->service[0]));
            c->n_service--;
            return;
        }
}

bool sl_conn_tcp_is_partial(const struct sl_conn *c)
{
    return cpriv(c)->tcp && cpriv(c)->tcp->is_partial;
}

const char *sl_conn_history(const struct sl_conn *c)
{
    return cpriv(c)->hist;
}

enum sl_endp_state sl_conn_endp_state(const struct sl_conn *pc, bool orig)
{
    const struct conn *c = cpriv(pc);
    if (c->tcp)
        return (enum sl_endp_state)(orig ? c->tcp->orig->state : c->tcp->resp->state);
    if (pc->trans == SL_TRANS_UDP || pc->trans == SL_TRANS_ICMP)
        return (enum sl_endp_state)((orig ? c->req_len : c->rep_len) >= 0 ? SL_UDPS_ACTIVE
                                                                          : SL_UDPS_INACTIVE);
    return SL_TCPS_INACTIVE;
}

uint64_t sl_conn_endp_size(const struct sl_conn *pc, bool orig)
{
    const struct conn *c = cpriv(pc);
    if (c->tcp)
        return endp_size(orig ? c->tcp->orig : c->tcp->resp);
    if (pc->trans == SL_TRANS_UDP || pc->trans == SL_TRANS_ICMP) {
        int64_t v = orig ? c->req_len : c->rep_len;
        return v < 0 ? 0 : (uint64_t)v;
    }
    return 0;
}

/* The conn_state decision of conn/main.zeek. */
static bool rstos0_history(const char *h)
{
    /* /\^?S[^HAFGIQ]*R.* / anchored at both ends, i.e. the whole history. */
    if (*h == '^')
        h++;
    if (*h != 'S')
        return false;
    for (h++; *h; h++) {
        if (*h == 'R')
            return true;
        if (strchr("HAFGIQ", *h))
            return false;
    }
    return false;
}

const char *sl_conn_state_str(const struct sl_conn *pc)
{
    const struct conn *c = cpriv(pc);
    if (pc->trans == SL_TRANS_UDP) {
        bool os = c->req_len >= 0, rs = c->rep_len >= 0;
        if (os)
            return rs ? "SF" : "S0";
        return rs ? "SHR" : "OTH";
    }
    if (!c->tcp)
        return "OTH";
    uint8_t os = c->tcp->orig->state, rs = c->tcp->resp->state;
    bool o_inactive = os == SL_TCPS_INACTIVE || os == SL_TCPS_PARTIAL;
    bool r_inactive = rs == SL_TCPS_INACTIVE || rs == SL_TCPS_PARTIAL;
    if (rs == SL_TCPS_RESET) {
        if (os == SL_TCPS_SYN_SENT || os == SL_TCPS_SYN_ACK_SENT ||
            (os == SL_TCPS_RESET && endp_size(c->tcp->orig) == 0 && endp_size(c->tcp->resp) == 0))
            return "REJ";
        if (o_inactive)
            return "RSTRH";
        return "RSTR";
    }
    if (os == SL_TCPS_RESET) {
        if (r_inactive)
            return rstos0_history(c->hist) ? "RSTOS0" : "OTH";
        return "RSTO";
    }
    if (rs == SL_TCPS_CLOSED && os == SL_TCPS_CLOSED)
        return "SF";
    if (os == SL_TCPS_CLOSED)
        return r_inactive ? "SH" : "S2";
    if (rs == SL_TCPS_CLOSED)
        return o_inactive ? "SHR" : "S3";
    if (os == SL_TCPS_SYN_SENT && rs == SL_TCPS_INACTIVE)
        return "S0";
    if (os == SL_TCPS_ESTABLISHED && rs == SL_TCPS_ESTABLISHED)
        return "S1";
    return "OTH";
}

const char *sl_conn_trans_name(uint8_t trans)
{
    switch (trans) {
    case SL_TRANS_TCP:
        return "tcp";
    case SL_TRANS_UDP:
        return "udp";
    case SL_TRANS_ICMP:
        return "icmp";
    default:
        return "unknown_transport";
    }
}

/* ------------------------------------------------------------------ */
/* conn.log                                                            */

static const struct sl_log_field conn_fields[SL_CONN_N_FIELDS] = {
    {"ts", SL_LT_TIME},
    {"uid", SL_LT_STRING},
    {"id.orig_h", SL_LT_ADDR},
    {"id.orig_p", SL_LT_PORT},
    {"id.resp_h", SL_LT_ADDR},
    {"id.resp_p", SL_LT_PORT},
    {"proto", SL_LT_ENUM},
    {"service", SL_LT_STRING},
    {"duration", SL_LT_INTERVAL},
    {"orig_bytes", SL_LT_COUNT},
    {"resp_bytes", SL_LT_COUNT},
    {"conn_state", SL_LT_STRING},
    {"local_orig", SL_LT_BOOL},
    {"local_resp", SL_LT_BOOL},
    {"missed_bytes", SL_LT_COUNT},
    {"history", SL_LT_STRING},
    {"orig_pkts", SL_LT_COUNT},
    {"orig_ip_bytes", SL_LT_COUNT},
    {"resp_pkts", SL_LT_COUNT},
    {"resp_ip_bytes", SL_LT_COUNT},
    {"tunnel_parents", SL_LT_SET_STRING},
    {"ip_proto", SL_LT_COUNT},
};

const struct sl_log_schema sl_conn_schema = {"conn", SL_CONN_N_FIELDS, conn_fields};

static void val(struct sl_log_val *v, const char *s)
{
    v->present = true;
    v->s = s;
}

/* sl_pkt_addr_str, with IPv4 (the common case) written here: inet_ntop's
 * dotted quad is formatted through printf. */
static const char *addr_str(const uint8_t a[16], char *buf, size_t n)
{
    if (n < 16 || !sl_pkt_addr_is_v4(a))
        return sl_pkt_addr_str(a, buf, n);
    char *o = buf;
    for (int i = 12; i < 16; i++) {
        unsigned b = a[i];
        if (b >= 100)
            *o++ = (char)('0' + b / 100);
        if (b >= 10)
            *o++ = (char)('0' + b / 10 % 10);
        *o++ = (char)('0' + b % 10);
        *o++ = i < 15 ? '.' : '\0';
    }
    return buf;
}

void sl_conn_record(const struct sl_conn *c, const struct sl_net *local, struct sl_conn_rec *r)
{
    struct sl_log_val *v = r->v;
    memset(v, 0, sizeof(r->v));

    sl_log_fmt_time(c->start_time, r->ts, sizeof(r->ts));
    val(&v[0], r->ts);
    val(&v[1], c->uid);
    val(&v[2], addr_str(c->orig_h, r->orig_h, sizeof(r->orig_h)));
    val(&v[3], sl_log_fmt_u64(c->orig_p, r->orig_p, sizeof(r->orig_p)));
    val(&v[4], addr_str(c->resp_h, r->resp_h, sizeof(r->resp_h)));
    val(&v[5], sl_log_fmt_u64(c->resp_p, r->resp_p, sizeof(r->resp_p)));
    val(&v[6], sl_conn_trans_name(c->trans));

    if (c->n_service) {
        size_t o = 0;
        r->service[0] = '\0';
        for (unsigned i = 0; i < c->n_service && o < sizeof(r->service); i++)
            o += (size_t)snprintf(r->service + o, sizeof(r->service) - o, "%s%s", i ? "," : "",
                                  c->service[i]);
        val(&v[7], r->service);
    }

    double duration = c->last_time - c->start_time;
    if (duration > 0) {
        sl_log_fmt_time(duration, r->duration, sizeof(r->duration));
        val(&v[8], r->duration);
        val(&v[9],
            sl_log_fmt_u64(sl_conn_endp_size(c, true), r->orig_bytes, sizeof(r->orig_bytes)));
        val(&v[10],
            sl_log_fmt_u64(sl_conn_endp_size(c, false), r->resp_bytes, sizeof(r->resp_bytes)));
    }
    val(&v[11], sl_conn_state_str(c));
    if (local && sl_net_count(local) > 0) {
        val(&v[12], sl_net_contains(local, c->orig_h) ? "T" : "F");
        val(&v[13], sl_net_contains(local, c->resp_h) ? "T" : "F");
    }
    val(&v[14], sl_log_fmt_u64(c->missed_bytes, r->missed, sizeof(r->missed)));
    const char *h = sl_conn_history(c);
    if (h[0]) {
        size_t l = strlen(h);
        if (l >= sizeof(r->history))
            l = sizeof(r->history) - 1;
        memcpy(r->history, h, l);
        r->history[l] = '\0';
        val(&v[15], r->history);
    }
    val(&v[16], sl_log_fmt_u64(c->orig_pkts, r->orig_pkts, sizeof(r->orig_pkts)));
    val(&v[17], sl_log_fmt_u64(c->orig_ip_bytes, r->orig_ip_bytes, sizeof(r->orig_ip_bytes)));
    val(&v[18], sl_log_fmt_u64(c->resp_pkts, r->resp_pkts, sizeof(r->resp_pkts)));
    val(&v[19], sl_log_fmt_u64(c->resp_ip_bytes, r->resp_ip_bytes, sizeof(r->resp_ip_bytes)));
    if (c->n_parents) {
        for (unsigned i = 0; i < c->n_parents; i++)
            r->parents[i] = c->parents[i];
        v[20].present = true;
        v[20].items = r->parents;
        v[20].n_items = c->n_parents;
    }
    val(&v[21], sl_log_fmt_u64(c->ip_proto, r->ip_proto, sizeof(r->ip_proto)));
}
