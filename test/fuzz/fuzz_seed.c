/* fuzz_seed [--ana] OUTDIR PCAP...: writes every frame of the pcaps to
 * OUTDIR as a fuzz_pkt input (selector byte for its link type, wire length
 * known, then the frame). With --ana, fuzz_ana inputs instead: runs of up
 * to ANA_FRAMES consecutive frames (flags byte for the link type, then the
 * frames as fuzz_runs.h has them). Pcaps of link types the decoder does not take are skipped. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_dlts.h"
#include "fuzz_runs.h"

#define ANA_FRAMES 48
#define ANA_BYTES  15000 /* under run.sh's -max_len for ana */

static int selector(int dlt)
{
    for (int i = 0; i < 15; i++)
        if (fuzz_dlts[i] == dlt)
            return i | 16;
    return -1;
}

static int write_one(const char *dir, const char *base, long n, int sel, const uint8_t *d,
                     uint32_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-%06ld", dir, base, n);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "fuzz_seed: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = fputc(sel, f) == EOF || fwrite(d, 1, len, f) != len;
    if (fclose(f) != 0 || rc) {
        fprintf(stderr, "fuzz_seed: %s: write failed\n", path);
        return -1;
    }
    return 0;
}

/* A run of frames for fuzz_ana, built up in buf. */
struct run {
    uint8_t buf[ANA_BYTES];
    size_t len;
    unsigned frames;
    double last;
};

/* Appends a frame to r, or returns false when it does not fit. */
static bool run_add(struct run *r, double ts, const uint8_t *d, uint32_t len)
{
    if (len > 0xffff || r->len + 3 + len > sizeof(r->buf))
        return false;
    r->buf[r->len++] = r->frames ? fuzz_time_step(r->last, ts) : 0;
    r->buf[r->len++] = (uint8_t)(len >> 8);
    r->buf[r->len++] = (uint8_t)len;
    memcpy(r->buf + r->len, d, len);
    r->len += len;
    r->frames++;
    r->last = ts;
    return true;
}

/* The pcap's frames as fuzz_ana runs; the flags byte is the link type. */
static long seed_ana(const char *dir, const char *base, pcap_t *pc, int sel)
{
    static struct run r;
    struct pcap_pkthdr *h;
    const u_char *d;
    long n = 0;
    r.len = r.frames = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        double ts = (double)h->ts.tv_sec + h->ts.tv_usec / 1e6;
        if (r.frames < ANA_FRAMES && run_add(&r, ts, d, h->caplen))
            continue;
        if (r.frames > 0 && write_one(dir, base, n++, sel & 15, r.buf, (uint32_t)r.len) < 0)
            return -1;
        r.len = r.frames = 0;
        run_add(&r, ts, d, h->caplen); /* a frame too big for any run is left out */
    }
    if (r.frames > 0 && write_one(dir, base, n++, sel & 15, r.buf, (uint32_t)r.len) < 0)
        return -1;
    return n;
}

/* Every frame of the pcap as a fuzz_pkt input. */
static long seed_pkt(const char *dir, const char *base, pcap_t *pc, int sel)
{
    struct pcap_pkthdr *h;
    const u_char *d;
    long n = 0;
    while (pcap_next_ex(pc, &h, &d) == 1)
        if (write_one(dir, base, n++, sel, d, h->caplen) < 0)
            return -1;
    return n;
}

int main(int argc, char **argv)
{
    bool ana = argc > 1 && strcmp(argv[1], "--ana") == 0;
    if (ana) {
        argv++;
        argc--;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: fuzz_seed [--ana] OUTDIR PCAP...\n");
        return 2;
    }
    long total = 0;
    for (int i = 2; i < argc; i++) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *pc = pcap_open_offline(argv[i], err);
        if (!pc) {
            fprintf(stderr, "fuzz_seed: %s\n", err);
            return 1;
        }
        int sel = selector(pcap_datalink(pc));
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        long n = 0;
        if (sel >= 0)
            n = ana ? seed_ana(argv[1], base, pc, sel) : seed_pkt(argv[1], base, pc, sel);
        pcap_close(pc);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("fuzz_seed: %ld %s\n", total, ana ? "runs of frames" : "frames");
    return 0;
}
