/* lab_deliver: the frames of a pcap that a live lab's kernel links deliver.
 *
 * In live mode the frontend drops, and counts, the frames its kernel ports
 * would lose on the way to the workers (runts, short VLAN tags, frames over
 * the link's MTU or ring slot, snapped records: core/sl_ktx.h). The
 * standalone reference reads every frame of the pcap, so rows that only
 * those frames cause differ between the two sides although nothing went
 * uncounted. lab_deliver_write writes the pcap without them (the same rule,
 * sl_ktx_classify), so that the lab can run a second standalone reference
 * over exactly what the cluster could see, and tell rows explained by
 * counted drops from real differences.
 */
#ifndef LAB_DELIVER_H
#define LAB_DELIVER_H

#include <stdint.h>
#include <stdio.h>

#include "sl_ktx.h"

/* Copies the records of `in` that `link` carries to `out` (same link type,
 * snap length and timestamp precision); counts the left-out ones by
 * verdict in left[] (left[SL_KTX_OK] = records kept). 0 or -errno, with a
 * line on err. */
int lab_deliver_write(const char *in, const char *out, const struct sl_ktx_link *link,
                      uint64_t left[SL_KTX_MAX], FILE *err);

#endif
