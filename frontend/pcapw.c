/* pcapw: see pcapw.h. */
#include "pcapw.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_spinlock.h>

#include "fe.h"

struct fe_pcapw_file {
    pcap_dumper_t *d;
    rte_spinlock_t lock;
    char path[4096];
};

struct fe_pcapw {
    unsigned n;
    bool nano, locked;
    struct fe_pcapw_file *f;
};

struct fe_pcapw *fe_pcapw_open(const char *dir, unsigned n, bool nano, unsigned snaplen,
                               bool locked, char *err, size_t errlen)
{
    struct fe_pcapw *pw = calloc(1, sizeof(*pw));
    pcap_t *dead = NULL;
    if (pw == NULL || (pw->f = calloc(n, sizeof(*pw->f))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    pw->n = n;
    pw->nano = nano;
    pw->locked = locked;
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "--write-pcaps: cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    dead = pcap_open_dead_with_tstamp_precision(
        DLT_EN10MB, (int)snaplen, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    if (dead == NULL) {
        snprintf(err, errlen, "--write-pcaps: libpcap refused a writer");
        goto fail;
    }
    for (unsigned i = 0; i < n; i++) {
        struct fe_pcapw_file *f = &pw->f[i];
        rte_spinlock_init(&f->lock);
        snprintf(f->path, sizeof(f->path), "%s/worker-%u.pcap", dir, i + 1);
        f->d = pcap_dump_open(dead, f->path);
        if (f->d == NULL) {
            snprintf(err, errlen, "--write-pcaps: %s", pcap_geterr(dead));
            goto fail;
        }
    }
    pcap_close(dead);
    return pw;
fail:
    if (dead != NULL)
        pcap_close(dead);
    fe_pcapw_close(pw, NULL, 0);
    errno = EINVAL;
    return NULL;
}

void fe_pcapw_write(struct fe_pcapw *pw, unsigned w, struct rte_mbuf **m, unsigned n,
                    uint8_t *scratch)
{
    struct fe_pcapw_file *f = &pw->f[w];
    if (pw->locked)
        rte_spinlock_lock(&f->lock);
    for (unsigned i = 0; i < n; i++) {
        const struct fe_meta *meta = fe_meta(m[i]);
        struct pcap_pkthdr h;
        uint32_t cap = rte_pktmbuf_pkt_len(m[i]);
        if (cap > FE_SCRATCH)
            cap = FE_SCRATCH;
        const uint8_t *d = rte_pktmbuf_read(m[i], 0, cap, scratch);
        uint64_t frac = meta->ts_ns % 1000000000u;
        h.ts.tv_sec = (time_t)(meta->ts_ns / 1000000000u);
        /* libpcap takes tv_usec as nanoseconds in a nanosecond dumper */
        h.ts.tv_usec = (suseconds_t)(pw->nano ? frac : frac / 1000u);
        h.caplen = cap;
        h.len = meta->wire_len > cap ? meta->wire_len : cap;
        pcap_dump((u_char *)f->d, &h, d);
    }
    if (pw->locked)
        rte_spinlock_unlock(&f->lock);
}

int fe_pcapw_close(struct fe_pcapw *pw, char *err, size_t errlen)
{
    int rc = 0;
    if (pw == NULL)
        return 0;
    for (unsigned i = 0; pw->f != NULL && i < pw->n; i++) {
        struct fe_pcapw_file *f = &pw->f[i];
        if (f->d == NULL)
            continue;
        FILE *fp = pcap_dump_file(f->d);
        if ((pcap_dump_flush(f->d) != 0 || ferror(fp)) && rc == 0) {
            rc = -EIO;
            if (err != NULL)
                snprintf(err, errlen, "writing %s failed", f->path);
        }
        pcap_dump_close(f->d);
    }
    free(pw->f);
    free(pw);
    return rc;
}
