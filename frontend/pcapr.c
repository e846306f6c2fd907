/* pcapr: see pcapr.h. */
#include "pcapr.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAPR_CMP       64 /* leading bytes compared to match a frame to a record */
#define PCAPR_LOOKAHEAD 8  /* records skipped at most to re-align */

struct fe_pcapr {
    pcap_t *p;
    char *path;
    uint64_t total, consumed, first_ns;
    int linktype;
    unsigned snaplen;
    bool nano, aligned;
};

/* The file's own precision, from its magic (pcapng counts as nanosecond). */
static bool file_is_nano(const char *path)
{
    uint8_t m[4];
    FILE *f = fopen(path, "rb");
    bool nano = false;
    if (f == NULL)
        return false;
    if (fread(m, 1, 4, f) == 4) {
        uint32_t le =
            (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
        nano = le == 0xa1b23c4d || le == 0x4d3cb2a1 || le == 0x0a0d0d0a;
    }
    fclose(f);
    return nano;
}

static pcap_t *open_nano(const char *path, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (p == NULL)
        snprintf(err, errlen, "cannot read pcap %s: %s", path, ebuf);
    return p;
}

struct fe_pcapr *fe_pcapr_open(const char *path, char *err, size_t errlen)
{
    struct fe_pcapr *r = calloc(1, sizeof(*r));
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    if (r == NULL || (r->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* Pass 1: count, as net_pcap will read it (it stops at the first error too). */
    r->p = open_nano(path, err, errlen);
    if (r->p == NULL)
        goto fail;
    r->linktype = pcap_datalink(r->p);
    r->snaplen = (unsigned)pcap_snapshot(r->p);
    while ((rc = pcap_next_ex(r->p, &h, &d)) == 1) {
        if (r->total == 0)
            r->first_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        r->total++;
    }
    if (rc == PCAP_ERROR)
        fprintf(stderr, "frontend-dpdk: warning: %s: %s after %llu records; the rest is ignored\n",
                path, pcap_geterr(r->p), (unsigned long long)r->total);
    pcap_close(r->p);
    /* Pass 2 follows net_pcap. */
    r->p = open_nano(path, err, errlen);
    if (r->p == NULL)
        goto fail;
    r->nano = file_is_nano(path);
    r->aligned = true;
    return r;
fail:
    fe_pcapr_close(r);
    errno = EINVAL;
    return NULL;
}

void fe_pcapr_close(struct fe_pcapr *r)
{
    if (r == NULL)
        return;
    if (r->p != NULL)
        pcap_close(r->p);
    free(r->path);
    free(r);
}

uint64_t fe_pcapr_total(const struct fe_pcapr *r)
{
    return r->total;
}
uint64_t fe_pcapr_consumed(const struct fe_pcapr *r)
{
    return r->consumed;
}
uint64_t fe_pcapr_first_ns(const struct fe_pcapr *r)
{
    return r->first_ns;
}
int fe_pcapr_linktype(const struct fe_pcapr *r)
{
    return r->linktype;
}
bool fe_pcapr_nano(const struct fe_pcapr *r)
{
    return r->nano;
}
unsigned fe_pcapr_snaplen(const struct fe_pcapr *r)
{
    return r->snaplen;
}
bool fe_pcapr_aligned(const struct fe_pcapr *r)
{
    return r->aligned;
}

int fe_pcapr_next(struct fe_pcapr *r, const uint8_t *data, uint32_t head, uint32_t caplen,
                  uint64_t *ts_ns, uint32_t *wire_len, uint64_t *lost)
{
    struct pcap_pkthdr *h;
    const u_char *d;
    uint32_t cmp = head < PCAPR_CMP ? head : PCAPR_CMP;
    *lost = 0;
    if (!r->aligned)
        return -ENOENT;
    for (unsigned skip = 0; skip <= PCAPR_LOOKAHEAD; skip++) {
        if (r->consumed >= r->total || pcap_next_ex(r->p, &h, &d) != 1)
            break;
        r->consumed++;
        if (h->caplen == caplen && memcmp(d, data, cmp) == 0) {
            *ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
            *wire_len = h->len > caplen ? h->len : caplen;
            *lost = skip;
            return 0;
        }
    }
    fprintf(stderr,
            "frontend-dpdk: warning: %s: lost track of the frames net_pcap delivers after "
            "record %llu; using its microsecond timestamps from here\n",
            r->path, (unsigned long long)r->consumed);
    r->aligned = false;
    return -ENOENT;
}
