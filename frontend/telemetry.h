/* telemetry: DPDK telemetry commands under /sluice/, readable with
 * dpdk-telemetry.py (socket <runtime dir>/dpdk_telemetry.v2):
 *
 *   /sluice/stats            totals: in, out, drops by reason, in flight,
 *                            imbalance (as text), fragments, ICMP steered
 *   /sluice/workers          arrays indexed by worker-1: live, packets,
 *                            bytes, flows, egress
 *   /sluice/ports            arrays indexed by egress link: port, rate_bps,
 *                            sent, bytes, shaper_drops, tx_drops, queued
 *   /sluice/worker_down,K    mark worker K (1..N) down; replies its state
 *   /sluice/worker_up,K      mark worker K up
 *
 * Callbacks run in DPDK's telemetry thread and only read counters (relaxed
 * loads) or go through workers.c for liveness.
 */
#ifndef FE_TELEMETRY_H
#define FE_TELEMETRY_H

#include "fe.h"

/* Registers the commands for `app` (one app per process). 0 or -errno. */
int fe_telemetry_register(struct fe_app *app);

/* Stops answering (the app is being torn down). */
void fe_telemetry_detach(void);

#endif
