/* bench/decode: decode + sym5 hash + rendezvous pick over 8 workers, one
 * core, packets held in memory.
 *
 *   decode [--packed] FILE.pcap [PASSES]
 *
 * Loads the whole pcap, repeats it in memory until at least 2 million
 * packets are there (in 2 MB pages, each packet in its own 2 KB slot as in
 * mbufs, or back to back with --packed), then times (best of PASSES,
 * default 5):
 *   reference  a pass that reads each packet's first 128 bytes (the part a
 *              header parser touches) and folds them: memory and loop cost
 *              with no parsing, measured in the same run so the ratio holds
 *              on a noisy machine;
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

/* Packet layout: by default each packet starts its own 2 KB slot, as each
 * sits in its own mbuf (2 KB data room) in a DPDK application; --packed puts
 * them back to back as in the file, where the hardware prefetcher then
 * streams every payload byte too and memory bandwidth sets the pace. */
#define MBUF_SLOT 2048u
static size_t slot_bytes = MBUF_SLOT;
#define SLOT(x) (((size_t)(x) + slot_bytes - 1) / slot_bytes * slot_bytes)

/* Lays the trace out again in huge pages, repeated until it holds at least
 * MIN_PACKETS (real copies, so the working set is a 2M-packet capture's). */
static int place(struct trace *t)
{
    size_t n = t->n > MIN_PACKETS ? t->n : MIN_PACKETS, bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += SLOT(t->len[i % t->n]);
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
        memcpy(arena + used, t->arena + t->off[j], t->len[j]);
        off[i] = used;
        len[i] = t->len[j];
        used += SLOT(t->len[j]);
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
            /* read and fold the first 128 bytes, a word at a time */
            const uint8_t *d = t->arena + t->off[i];
            uint32_t words = (t->len[i] < 128 ? t->len[i] : 128) / 8;
            uint64_t x = t->len[i];
            for (uint32_t k = 0; k < words; k++) {
                uint64_t w;
                memcpy(&w, d + 8 * k, 8);
                x ^= w;
            }
            acc += x;
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
        argi++;
    }
    if (argc - argi < 1 || argc - argi > 2) {
        fprintf(stderr, "usage: decode [--packed] FILE.pcap [PASSES]\n");
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

    printf("packets: %zu in memory, %s (%.0f MB, %ld MB of it in 2 MB pages), link type %d, "
           "best of %d passes, sink %llx\n",
           t.n, slot_bytes > 1 ? "one per 2 KB slot like mbufs" : "packed", t.used / 1e6, huge_mb(),
           t.dlt, passes, (unsigned long long)(sink & 0xff));
    printf("reference (read+fold 128 B/packet): %.1f ns/packet\n", ref);
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
