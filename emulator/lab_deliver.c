/* lab_deliver: see lab_deliver.h. */
#include "lab_deliver.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <string.h>

/* The file's own precision (a nanosecond pcap's magic), so that the copy
 * keeps its timestamps to the digit. */
static int file_precision(const char *path)
{
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    if (f) {
        if (fread(m, 1, 4, f) != 4)
            memset(m, 0, sizeof(m));
        fclose(f);
    }
    bool nano = (m[0] == 0x4d && m[1] == 0x3c && m[2] == 0xb2 && m[3] == 0xa1) ||
                (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0x3c && m[3] == 0x4d);
    return nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO;
}

int lab_deliver_write(const char *in, const char *out, const struct sl_ktx_link *link,
                      uint64_t left[SL_KTX_MAX], FILE *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    int prec = file_precision(in), rc = 0;
    pcap_t *dead = NULL;
    pcap_dumper_t *d = NULL;
    memset(left, 0, sizeof(uint64_t) * SL_KTX_MAX);
    pcap_t *p = pcap_open_offline_with_tstamp_precision(in, (u_int)prec, eb);
    if (!p) {
        fprintf(err, "sluicectl: %s: %s\n", in, eb);
        return -EIO;
    }
    dead = pcap_open_dead_with_tstamp_precision(pcap_datalink(p), pcap_snapshot(p), (u_int)prec);
    if (!dead || !(d = pcap_dump_open(dead, out))) {
        fprintf(err, "sluicectl: %s: %s\n", out, dead ? pcap_geterr(dead) : "out of memory");
        rc = -EIO;
        goto out;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int n;
    while ((n = pcap_next_ex(p, &h, &data)) == 1) {
        /* sl_ktx reads the EtherType only of a frame of 14 bytes or more */
        enum sl_ktx_verdict v = sl_ktx_classify(link, data, h->caplen, h->len);
        left[v]++;
        if (v == SL_KTX_OK)
            pcap_dump((u_char *)d, h, data);
    }
    if (n == -1) {
        fprintf(err, "sluicectl: %s: %s\n", in, pcap_geterr(p));
        rc = -EIO;
    }
    if (pcap_dump_flush(d) < 0) {
        fprintf(err, "sluicectl: %s: write failed\n", out);
        rc = -EIO;
    }
out:
    if (d)
        pcap_dump_close(d);
    if (dead)
        pcap_close(dead);
    pcap_close(p);
    return rc;
}
