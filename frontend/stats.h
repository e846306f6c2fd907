/* stats: gathers the forwarding lcores' counters into one snapshot and
 * prints it as JSON (one line): every --stats-interval seconds
 * ("type":"interval"), as the reply to the control socket's `stats`, and at
 * exit ("type":"summary"). Telemetry (telemetry.c) reads the same snapshot.
 *
 * Accounting: in = out + drops (by reason) + in_flight, where in_flight is
 * what sits in fragment hold and shaper queues at that instant; the summary
 * is taken after the drain, so there in_flight is 0 and "balanced" is true.
 *
 * Per-worker "flows" is a HyperLogLog estimate (about 3% error) of distinct
 * flow hashes, merged over lcores; 0 with --no-flow-count.
 */
#ifndef FE_STATS_H
#define FE_STATS_H

#include <stdio.h>

#include "fe.h"

struct fe_snap_input {
    struct fe_in_stats s; /* summed over lcores; weirds merged by name */
};

struct fe_snap {
    double elapsed_s;
    uint64_t in_pkts, in_bytes, out_pkts, out_bytes;
    uint64_t drops[FE_DROP_MAX], drops_total;
    uint64_t held, queued, in_flight;
    uint64_t rx_missed; /* frames the ports or net_pcap lost before us (not in `in`) */
    /* per input port (as app->in_ports): imissed + rx_nombuf, and for
     * net_af_packet the kernel's RX ring drops (PACKET_STATISTICS) */
    uint64_t port_missed[FE_MAX_PORTS];
    struct sl_lb_stats lb;
    double imbalance;    /* max/mean packets over workers, 0 when nothing was sent */
    double interval_pps; /* set by the caller for interval lines: input rate since the last */
    unsigned n_inputs, n_workers, n_egress;
    struct fe_snap_input *in;
    struct fe_w_stats *w;
    double *flows;
    bool *live;
    struct fe_e_stats *e;
    uint64_t *e_shaper_drops, *e_shaper_drop_bytes, *e_queued;
};

/* Fills a snapshot (allocating its arrays). 0 or -ENOMEM. */
int fe_stats_collect(struct fe_app *app, struct fe_snap *s);
void fe_stats_release(struct fe_snap *s);

/* One JSON object on one line (with '\n'). kind: "interval" or "summary". */
void fe_stats_json(struct fe_app *app, const struct fe_snap *s, const char *kind, FILE *f);

/* The worker table as one JSON line: index, MAC, live, egress port. */
void fe_stats_workers_json(struct fe_app *app, FILE *f);

#endif
