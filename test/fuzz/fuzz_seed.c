/* fuzz_seed OUTDIR PCAP...: writes every frame of the pcaps to OUTDIR as a
 * fuzz input (selector byte for its link type, wire length known, then the
 * frame). Frames of link types the decoder does not take are skipped. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_dlts.h"

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

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fuzz_seed OUTDIR PCAP...\n");
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
        struct pcap_pkthdr *h;
        const u_char *d;
        long n = 0;
        while (sel >= 0 && pcap_next_ex(pc, &h, &d) == 1) {
            if (write_one(argv[1], base, n++, sel, d, h->caplen) < 0) {
                pcap_close(pc);
                return 1;
            }
        }
        pcap_close(pc);
        total += n;
    }
    printf("fuzz_seed: %ld frames\n", total);
    return 0;
}
