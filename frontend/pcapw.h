/* pcapw: --write-pcaps DIR, one pcap per worker (DIR/worker-K.pcap, K =
 * 1..N), Ethernet link type.
 *
 * Each record carries the frame's original timestamp and wire length from
 * its struct fe_meta (pcapr.c took them from the input pcap), not the time
 * of writing as net_pcap's TX would. Files are written in microsecond
 * precision unless an input had nanosecond timestamps. A file shared by
 * several forwarding lcores is written under its lock.
 */
#ifndef FE_PCAPW_H
#define FE_PCAPW_H

#include <stdbool.h>
#include <stddef.h>

#include <rte_mbuf.h>

struct fe_pcapw;

/* Creates DIR if needed and opens n files. NULL with one line in err. */
struct fe_pcapw *fe_pcapw_open(const char *dir, unsigned n, bool nano, unsigned snaplen,
                               bool locked, char *err, size_t errlen);

/* Writes m[0..n) to worker `w`'s file; `scratch` (FE_SCRATCH bytes) is used
 * for multi-segment frames. Does not free the mbufs. */
void fe_pcapw_write(struct fe_pcapw *pw, unsigned w, struct rte_mbuf **m, unsigned n,
                    uint8_t *scratch);

/* Flushes and closes every file. 0, or -EIO with the first failing file in err. */
int fe_pcapw_close(struct fe_pcapw *pw, char *err, size_t errlen);

#endif
