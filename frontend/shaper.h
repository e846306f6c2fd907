/* shaper: a rate-limited egress link with a bounded queue, as a switch
 * port is.
 *
 * Frames enter a FIFO bounded by `queue_bytes` (and a descriptor count);
 * a frame that does not fit is dropped and counted, as a real port drops
 * when its buffer is full. The FIFO drains at the link rate: DPDK's
 * rte_meter srTCM (CIR = rate, CBS = one maximal frame, EBS = 0) says when
 * the head frame may leave — green means the link had time to send it.
 *
 * Time is the caller's: frame time (pcap timestamps) in offline replay, so
 * the same pcap gives the same drops at any --pace, or the wall clock for
 * live input. Sizes are Ethernet L1 bytes (fe_l1_bytes). Not thread-safe:
 * a link shared by several lcores is used under its lock.
 */
#ifndef FE_SHAPER_H
#define FE_SHAPER_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_spinlock.h>

struct fe_shaper;

/* NULL with errno set (EINVAL for a rate rte_meter refuses). */
struct fe_shaper *fe_shaper_new(uint64_t rate_bps, uint32_t queue_bytes, int socket);
void fe_shaper_free(struct fe_shaper *s);

/* Descriptors a queue holds at most (for sizing the mbuf pool). */
unsigned fe_shaper_max_frames(uint32_t queue_bytes);

rte_spinlock_t *fe_shaper_lock(struct fe_shaper *s);

/* Moves the frames that have left the link by now_ns into out (at most
 * max), oldest first. Returns how many. */
unsigned fe_shaper_dequeue(struct fe_shaper *s, uint64_t now_ns, struct rte_mbuf **out,
                           unsigned max);

/* Queues m of `l1` bytes. 0, or -ENOBUFS when it does not fit (the caller
 * drops and counts it). */
int fe_shaper_enqueue(struct fe_shaper *s, struct rte_mbuf *m, uint32_t l1);

/* Takes up to max queued frames regardless of the rate (end of input: the
 * link would send them after the last arrival). Returns how many. */
unsigned fe_shaper_flush(struct fe_shaper *s, struct rte_mbuf **out, unsigned max);

/* Frames and bytes queued now (a racy read is fine for statistics). */
unsigned fe_shaper_queued(const struct fe_shaper *s);

#endif
