/* switch: the L2 switch stage, i.e. which egress link carries a worker's
 * frames, and the link rates on those links.
 *
 *   --output switch   one egress link per output port; each worker MAC is
 *                     learned statically on a port (topology `port =`, else
 *                     workers dealt round-robin over the output ports), so
 *                     several workers may share a port as on a commodity
 *                     switch
 *   --output direct   one egress link, the first output port: every frame
 *                     goes there and each worker filters on its MAC
 *   --write-pcaps     one egress link per worker (its NIC), written to
 *                     DIR/worker-K.pcap
 * Link rates (--link-rate) attach a shaper to egress links.
 */
#ifndef FE_SWITCH_H
#define FE_SWITCH_H

#include <stddef.h>

#include "fe.h"

/* Builds app->egress and app->worker_egress from the configuration and the
 * output ports. Needs app->n_fwd (shared links get locks). 0, or -EINVAL
 * with one line in err (a worker on a port that is not an output, a rate
 * for an unknown link, no output at all). */
int fe_switch_build(struct fe_app *app, char *err, size_t errlen);

void fe_switch_free(struct fe_app *app);

/* Shaper queue descriptors over all links (for sizing the mbuf pool). */
unsigned fe_switch_queued_max(const struct fe_app *app);

#endif
