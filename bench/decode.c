/* bench/decode: decode + sym5 hash + rendezvous pick over 8 workers, one
 * core, packets held in memory.
 *
 *   decode [--packed | --slot BYTES] FILE.pcap [PASSES]
 *
 * Loads the whole pcap, repeats it in memory until at least 2 million
 * packets are there (in 2 MB pages, laid out as a DPDK mbuf pool holds them,
 * or back to back with --packed, or one per BYTES-sized slot with --slot),
 * then times (best of PASSES, default 5):
 *   reference  a pass that reads a word from each line of each packet's
 *              first 128 bytes (the part a header parser touches): the
 *              memory cost with no parsing, measured in the same run so the
 *              ratio holds on a noisy machine;
 *   decode     sl_pkt_decode only;
 *   +hash      and sl_hash_pkt(sym5);
 *   full       and sl_rdv_pick over 8 workers: the figure on the last line,
 *              "decode: <X> ns/packet, <Y> Mpps";
 *   hot        full over the first 4096 packets only, again and again: the
 *              same work with the packets in cache (compute cost alone).
 * Every in-memory pass prefetches the headers of the packet PF_AHEAD ahead,
 * as a DPDK burst loop does.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "sl_flow.h"
#include "sl_pkt.h"
#include "sl_rdv.h"

#define MIN_PACKETS 2000000u
#define WORKERS     8
#define HOT_PACKETS 4096u /* ~2.5 MB of the mix: fits L2/L3 */

struct trace {
    uint8_t *arena;
    size_t used, cap;
    uint64_t *off; /* packet i: arena + off[i], len[i] bytes */
    uint32_t *len;
    size_t n, ncap;
    int dlt;
    size_t map_arena, map_idx; /* mmap sizes once placed (0 while malloc'd) */
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

static int add_packet(struct trace *t, const uint8_t *d, uint32_t len)
{
    size_t ncap = t->ncap;
    if (grow((void **)&t->arena, &t->cap, t->used + len, 1) ||
        grow((void **)&t->off, &ncap, t->n + 1, sizeof(*t->off)) ||
        (ncap != t->ncap && grow((void **)&t->len, &t->ncap, ncap, sizeof(*t->len))))
        return -ENOMEM;
    memcpy(t->arena + t->used, d, len);
    t->off[t->n] = t->used;
    t->len[t->n] = len;
    t->used += len;
    t->n++;
    return 0;
}

/* Anonymous memory asking for 2 MB pages, as DPDK keeps packets in huge
 * pages: with 4 KB pages a 1.2 GB trace costs a TLB miss every few packets
 * (a two-level page walk in a VM), which no packet code can hide. */
static void *huge_alloc(size_t *size)
{
    const size_t huge = 2u << 20;
    *size = (*size + huge - 1) & ~(huge - 1);
    void *p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, *size, MADV_HUGEPAGE); /* best effort: THP may be off */
    return p;
}

/* Packet layout. By default as in a pool made by rte_pktmbuf_pool_create()
 * with RTE_MBUF_DEFAULT_BUF_SIZE: each object is a 64 B mempool header, the
 * 128 B struct rte_mbuf and a 2176 B buffer whose first 128 B are headroom,
 * so packets lie 2368 B apart and each starts 320 B into its object. The
 * stride matters: at a power of two (--slot 2048) every packet's first line
 * falls in the same few cache sets, which then evict each other (and the
 * parser's own data), doubling the in-memory figure; DPDK's object sizes
 * are not powers of two, and the mempool pads them to spread objects over
 * memory channels for that reason. --packed puts packets back to back as in
 * the file, where the hardware prefetcher streams every payload byte too and
 * memory bandwidth sets the pace. */
#define MBUF_OBJ      2368u /* 64 + 128 + 2176 */
#define MBUF_DATA_OFF 320u  /* 64 + 128 + 128 */
#define MBUF_ROOM     2048u /* data room after the headroom */
static size_t slot_bytes = MBUF_OBJ, data_off = MBUF_DATA_OFF, slot_room = MBUF_ROOM;

/* Bytes a packet of len bytes takes: whole objects (a longer frame would be
 * chained over several mbufs), or just its bytes when packed. */
static size_t slot_size(size_t len)
{
    if (slot_bytes <= 1)
        return len;
    size_t objs = len > slot_room ? (len + slot_room - 1) / slot_room : 1;
    return objs * slot_bytes;
}

/* Lays the trace out again in huge pages, repeated until it holds at least
 * MIN_PACKETS (real copies, so the working set is a 2M-packet capture's). */
static int place(struct trace *t)
{
    size_t n = t->n > MIN_PACKETS ? t->n : MIN_PACKETS, bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += slot_size(t->len[i % t->n]);
    size_t abytes = bytes ? bytes : 1, ibytes = n * (sizeof(uint64_t) + sizeof(uint32_t));
    uint8_t *arena = huge_alloc(&abytes);
    uint8_t *idx = huge_alloc(&ibytes);
    if (!arena || !idx)
        return -ENOMEM;
    uint64_t *off = (uint64_t *)idx;
    uint32_t *len = (uint32_t *)(idx + n * sizeof(uint64_t));
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = i % t->n;
        memcpy(arena + used + data_off, t->arena + t->off[j], t->len[j]);
        off[i] = used + data_off;
        len[i] = t->len[j];
        used += slot_size(t->len[j]);
    }
    free(t->arena);
    free(t->off);
    free(t->len);
    t->arena = arena;
    t->off = off;
    t->len = len;
    t->n = n;
    t->used = used;
    t->map_arena = abytes;
    t->map_idx = ibytes;
    return 0;
}

static int load(struct trace *t, const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) {
        fprintf(stderr, "decode: %s\n", err);
        return -1;
    }
    t->dlt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
        if (add_packet(t, d, h->caplen)) {
            fprintf(stderr, "decode: out of memory at packet %zu\n", t->n);
            pcap_close(pc);
            return -1;
        }
    }
    if (rc == -1)
        fprintf(stderr, "decode: %s: %s (using the %zu packets read)\n", path, pcap_geterr(pc),
                t->n);
    pcap_close(pc);
    if (t->n == 0) {
        fprintf(stderr, "decode: %s: no packets\n", path);
        return -1;
    }
    if (place(t)) {
        fprintf(stderr, "decode: out of memory placing %zu packets\n", t->n);
        return -1;
    }
    return 0;
}

/* AnonHugePages of this process, in MB (-1 when unknown). */
static long huge_mb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

enum stage { REF, DECODE, HASH, FULL };

/* Packets ahead whose headers are prefetched, as a DPDK burst loop
 * prefetches the next mbufs' data: every pass does it, the reference too. */
#ifndef PF_AHEAD
#define PF_AHEAD 16
#endif
#ifndef PF_LINES
#define PF_LINES 2
#endif

static inline void prefetch_pkt(const struct trace *t, size_t i)
{
    if (i + PF_AHEAD < t->n) {
        const uint8_t *d = t->arena + t->off[i + PF_AHEAD];
        for (int l = 0; l < PF_LINES; l++)
            __builtin_prefetch(d + 64 * l);
    }
}

/* One timed pass; returns ns/packet. `sink` defeats dead-code elimination. */
static double run_pass(const struct trace *t, enum stage st, const struct sl_rdv *r,
                       uint64_t *counts, uint64_t *sink)
{
    struct sl_pkt p;
    uint64_t acc = 0;
    double t0 = now_ns();
    switch (st) {
    case REF:
        for (size_t i = 0; i < t->n; i++) {
            prefetch_pkt(t, i);
            /* one word from each of the (at most two) lines holding the
             * first 128 bytes: no loop whose length varies with the packet,
             * whose mispredictions would be counted as memory cost */
            const uint8_t *d = t->arena + t->off[i];
            uint32_t len = t->len[i];
            uint64_t w0 = 0, w1 = 0;
            if (len >= 8)
                memcpy(&w0, d, 8);
            if (len >= 72)
                memcpy(&w1, d + 64, 8);
            acc += len ^ w0 ^ w1;
        }
        break;
    case DECODE:
        for (size_t i = 0; i < t->n; i++) {
            prefetch_pkt(t, i);
            sl_pkt_decode(&p, t->arena + t->off[i], t->len[i], t->dlt);
            acc += p.n_ip;
        }
        break;
    case HASH:
        for (size_t i = 0; i < t->n; i++) {
            prefetch_pkt(t, i);
            sl_pkt_decode(&p, t->arena + t->off[i], t->len[i], t->dlt);
            acc += sl_hash_pkt(&p, SL_HASH_SYM5);
        }
        break;
    case FULL:
        for (size_t i = 0; i < t->n; i++) {
            prefetch_pkt(t, i);
            sl_pkt_decode(&p, t->arena + t->off[i], t->len[i], t->dlt);
            int w = sl_rdv_pick(r, sl_hash_pkt(&p, SL_HASH_SYM5));
            counts[w]++;
        }
        break;
    }
    double dt = now_ns() - t0;
    *sink += acc;
    return dt / (double)t->n;
}

/* decode + hash + pick over the first `k` packets again and again (they stay
 * in cache): the compute cost alone, to set against the full figure. */
static double run_hot(const struct trace *t, size_t k, const struct sl_rdv *r, uint64_t *sink)
{
    struct sl_pkt p;
    uint64_t acc = 0;
    size_t reps = (t->n + k - 1) / k;
    double t0 = now_ns();
    for (size_t rep = 0; rep < reps; rep++)
        for (size_t i = 0; i < k; i++) {
            sl_pkt_decode(&p, t->arena + t->off[i], t->len[i], t->dlt);
            acc += (uint64_t)sl_rdv_pick(r, sl_hash_pkt(&p, SL_HASH_SYM5));
        }
    double dt = now_ns() - t0;
    *sink += acc;
    return dt / (double)(reps * k);
}

static double best_of(const struct trace *t, enum stage st, const struct sl_rdv *r, int passes,
                      uint64_t *counts, uint64_t *sink)
{
    double best = 1e30;
    for (int i = 0; i < passes; i++) {
        memset(counts, 0, WORKERS * sizeof(*counts));
        double v = run_pass(t, st, r, counts, sink);
        best = v < best ? v : best;
    }
    return best;
}

static void pin_to_current_cpu(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0) {
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof(set), &set); /* best effort */
    }
}

int main(int argc, char **argv)
{
    int argi = 1;
    if (argi < argc && strcmp(argv[argi], "--packed") == 0) {
        slot_bytes = 1;
        data_off = 0;
        argi++;
    } else if (argi + 1 < argc && strcmp(argv[argi], "--slot") == 0) {
        char *end;
        unsigned long v = strtoul(argv[argi + 1], &end, 10);
        if (*end != '\0' || v < 64 || v > 65536) {
            fprintf(stderr, "decode: --slot BYTES must be 64..65536\n");
            return 2;
        }
        slot_bytes = slot_room = v;
        data_off = 0;
        argi += 2;
    }
    if (argc - argi < 1 || argc - argi > 2) {
        fprintf(stderr, "usage: decode [--packed | --slot BYTES] FILE.pcap [PASSES]\n");
        return 2;
    }
    int passes = argc - argi == 2 ? atoi(argv[argi + 1]) : 5;
    if (passes < 1 || passes > 100) {
        fprintf(stderr, "decode: PASSES must be 1..100\n");
        return 2;
    }
    struct trace t = {0};
    if (load(&t, argv[argi]))
        return 1;
    pin_to_current_cpu();

    struct sl_rdv r;
    sl_rdv_init(&r, WORKERS);
    uint64_t counts[WORKERS] = {0}, sink = 0;

    /* warm-up pass: page in the arena, train the branch predictors */
    run_pass(&t, FULL, &r, counts, &sink);

    double ref = best_of(&t, REF, &r, passes, counts, &sink);
    double dec = best_of(&t, DECODE, &r, passes, counts, &sink);
    double hash = best_of(&t, HASH, &r, passes, counts, &sink);
    double full = best_of(&t, FULL, &r, passes, counts, &sink);
    size_t hot_n = t.n < HOT_PACKETS ? t.n : HOT_PACKETS;
    double hot = 1e30;
    for (int i = 0; i < passes; i++) {
        double v = run_hot(&t, hot_n, &r, &sink);
        hot = v < hot ? v : hot;
    }

    char layout[64];
    if (slot_bytes <= 1)
        snprintf(layout, sizeof(layout), "packed");
    else if (data_off == MBUF_DATA_OFF)
        snprintf(layout, sizeof(layout), "in mbuf-pool objects %zu B apart", slot_bytes);
    else
        snprintf(layout, sizeof(layout), "one per %zu B slot", slot_bytes);
    printf("packets: %zu in memory, %s (%.0f MB, %ld MB of it in 2 MB pages), link type %d, "
           "best of %d passes, sink %llx\n",
           t.n, layout, t.used / 1e6, huge_mb(), t.dlt, passes, (unsigned long long)(sink & 0xff));
    printf("reference (touch the lines of the first 128 B/packet): %.1f ns/packet\n", ref);
    printf("decode only: %.1f ns/packet\n", dec);
    printf("decode + sym5 hash: %.1f ns/packet\n", hash);
    printf("decode + hash + pick, first %zu packets in cache: %.1f ns/packet\n", hot_n, hot);
    double mean = (double)t.n / WORKERS, max = 0;
    printf("workers:");
    for (int w = 0; w < WORKERS; w++) {
        printf(" %llu", (unsigned long long)counts[w]);
        max = counts[w] > max ? (double)counts[w] : max;
    }
    printf(" (max/mean %.3f)\n", max / mean);
    printf("ratio to reference: %.2f x\n", full / ref);
    printf("decode: %.1f ns/packet, %.2f Mpps\n", full, 1e3 / full);
    munmap(t.arena, t.map_arena);
    munmap(t.off, t.map_idx);
    return 0;
}
