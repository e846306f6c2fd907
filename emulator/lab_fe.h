/* lab_fe: frontend-dpdk as the lab runs it.
 *
 * Offline: input net_pcap (rx_pcap = the replayed pcap), --write-pcaps
 * SPLIT (one pcap per worker, original timestamps), link rates per worker
 * when the replay is paced. Live: started in the frontend host's namespace,
 * input net_pcap, outputs net_af_packet on fp0..fpK-1 (through the kernel's
 * qdisc, so the tbf link rates apply), --ctl RUN/frontend.ctl for worker
 * down/up. Either way the workers, their MACs, weights and output ports go
 * in RUN/frontend.ini (the frontend's topology keys), and a JSON stats line
 * comes on stdout every second, the summary at exit.
 */
#ifndef LAB_FE_H
#define LAB_FE_H

#include "lab_ctx.h"

/* Starts the frontend (c->pcap as input). 0 or -errno (printed). */
int lab_fe_start(struct lab_ctx *c);

/* Reads what the frontend printed so far (progress line, c->fe_last).
 * Returns true while it runs. */
bool lab_fe_poll(struct lab_ctx *c);

/* Waits for the frontend to finish its input (or lab_stop). 0 when it
 * exited 0 and printed a summary, else -errno (printed). */
int lab_fe_wait(struct lab_ctx *c);

/* Sends one control line ("down 3", "up 3") and reads the reply into
 * reply. 0 or -errno: -ETIMEDOUT when no reply came within 2 s. */
int lab_fe_ctl(const struct lab_ctx *c, const char *cmd, char *reply, size_t len);

#endif
