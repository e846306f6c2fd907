/* fwd: the forwarding lcores' burst loop.
 *
 * Per burst from each of its RX queues: stamp each frame (fe_meta), pace
 * it (--pace), decode it, ask sl_lb for the worker, rewrite the destination
 * MAC and append it to that worker's egress link buffer; then flush the link
 * buffers (through the shaper where the link has a rate) and hand back
 * fragments sl_lb held. Frames leave in arrival order per link; per-flow
 * order is kept because a flow's frames come from one RX queue.
 *
 * End of input: a queue that follows a pcap (pcapr.c) is finished when every
 * record of the file was delivered or counted lost — a count taken at
 * start-up, so the moment is deterministic. If net_pcap stops delivering
 * short of that for FE_EOF_STALL_S seconds, the rest is counted lost and the
 * queue is finished anyway. Live ports and infinite_rx pcaps never finish;
 * SIGINT/SIGTERM, --time or the control socket's `stop` end the run. An lcore
 * whose queues are all finished drains: every held fragment is released
 * (sl_lb_release at UINT64_MAX), link buffers and shaper queues are flushed,
 * and it returns.
 */
#ifndef FE_FWD_H
#define FE_FWD_H

#include <stddef.h>

#include "fe.h"

#define FE_EOF_STALL_S 2

/* Creates one struct fe_lcore per EAL worker lcore (app->n_fwd of them must
 * already be counted) and deals the inputs to them. 0 or -errno, err set. */
int fe_fwd_setup(struct fe_app *app, char *err, size_t errlen);

/* The lcore entry point (rte_eal_remote_launch); arg is its struct fe_lcore. */
int fe_fwd_main(void *arg);

void fe_fwd_free(struct fe_app *app);

#endif
