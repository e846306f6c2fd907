/* pcapr: follows the pcap file a net_pcap input reads, record by record.
 *
 * DPDK 22.11's net_pcap hands out frames without what the offline mode needs:
 * its RX timestamp dynfield has microseconds only (a nanosecond capture
 * loses digits), the original wire length (pcap `len`) is dropped, and at
 * end of file it just returns empty bursts forever. So frontend-dpdk opens
 * the same file itself with libpcap: at start-up it counts the records (the
 * deterministic end-of-input test: an input is finished when every record
 * was delivered or accounted for) and notes the link type, the first
 * timestamp and the precision; while forwarding, each delivered frame is
 * matched to the next record (same captured length, same first bytes) to
 * take its exact timestamp and wire length.
 *
 * net_pcap can lose a record (no mbuf, a jumbo frame it cannot chain): the
 * next frame then does not match; the reader skips ahead up to a few records
 * to find it and counts the skipped ones as lost. If it cannot re-align it
 * gives up (fe_pcapr_next returns -ENOENT from then on) and the caller falls
 * back to the dynfield timestamp and an idle timeout for end of input.
 */
#ifndef FE_PCAPR_H
#define FE_PCAPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fe_pcapr;

/* Opens and counts `path`. NULL with errno set and one line in err when the
 * file cannot be read. */
struct fe_pcapr *fe_pcapr_open(const char *path, char *err, size_t errlen);
void fe_pcapr_close(struct fe_pcapr *r);

uint64_t fe_pcapr_total(const struct fe_pcapr *r);    /* records in the file */
uint64_t fe_pcapr_consumed(const struct fe_pcapr *r); /* matched + lost so far */
uint64_t fe_pcapr_first_ns(const struct fe_pcapr *r); /* first record's time, 0 if empty */
int fe_pcapr_linktype(const struct fe_pcapr *r);      /* DLT_* */
bool fe_pcapr_nano(const struct fe_pcapr *r);         /* file has nanosecond timestamps */
unsigned fe_pcapr_snaplen(const struct fe_pcapr *r);
bool fe_pcapr_aligned(const struct fe_pcapr *r); /* still following the file */

/* Matches the next delivered frame (its first `head` bytes at data, captured
 * length caplen). 0 with *ts_ns / *wire_len set; *lost records skipped.
 * -ENOENT when the reader lost track (see above). */
int fe_pcapr_next(struct fe_pcapr *r, const uint8_t *data, uint32_t head, uint32_t caplen,
                  uint64_t *ts_ns, uint32_t *wire_len, uint64_t *lost);

#endif
