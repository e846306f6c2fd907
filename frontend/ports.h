/* ports: which EAL ports are inputs and outputs, their queues, the mbuf
 * pool, and following net_pcap input files (pcapr.c).
 *
 * Roles: --in-ports / --out-ports (or the topology), else port 0 is the
 * input and every other port an output (none with --write-pcaps). A port may
 * be both.
 *
 * Queues: each RX queue is polled by exactly one forwarding lcore (per-flow
 * order is kept), queues dealt round-robin over the forwarding lcores. A
 * net_pcap port has one RX queue per rx_pcap= argument and all of them are
 * read, so for a single pcap one forwarding lcore per input port does the
 * work; give the file twice (rx_pcap=F,rx_pcap=F) for two queues. Other
 * ports get as many RX queues as there are forwarding lcores (up to what the
 * device has), spread by RSS with the symmetric 0x6d5a key so both
 * directions of a flow land on one queue. Each forwarding lcore gets its own
 * TX queue on every output port where the device has enough; otherwise
 * lcores share TX queues under a lock.
 */
#ifndef FE_PORTS_H
#define FE_PORTS_H

#include <stddef.h>

#include "fe.h"

/* Before rte_eal_init: every rx_pcap= file named in --vdev arguments must be
 * readable, so a bad path is one clear line rather than EAL's cascade.
 * argv/argc are the whole command line. 0 or -EINVAL with err set. */
int fe_ports_precheck(int argc, char **argv, char *err, size_t errlen);

/* Assigns roles and RX queues (app->inputs), opens pcap followers. Needs
 * app->n_fwd. 0 or -EINVAL with err set. */
int fe_ports_plan(struct fe_app *app, char *err, size_t errlen);

/* Creates the mbuf pool, sized for RX rings, held fragments, shaper queues
 * and bursts in flight (or --mbufs). */
int fe_ports_pool(struct fe_app *app, char *err, size_t errlen);

/* Configures and starts every port in use. */
int fe_ports_start(struct fe_app *app, char *err, size_t errlen);

/* Stops and closes the ports (net_pcap flushes its tx_pcap files here),
 * closes the pcap followers. */
void fe_ports_close(struct fe_app *app);

#endif
