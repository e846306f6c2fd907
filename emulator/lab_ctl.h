/* lab_ctl: zeekctl's start / stop / status / netstats for a live lab.
 *
 *   start     the cluster in the lab's namespaces (loggers, manager,
 *             proxies, workers sniffing their NICs, each waiting for the one
 *             before), then the frontend reading the tap (send traffic into
 *             tap0 in the frontend host), then `sluicectl follow`, which
 *             marks workers down and up at the frontend as the manager's
 *             view says. sluicectl returns; the processes stay, journalled
 *             in the run directory.
 *   stop      the frontend, then workers, proxies, manager, loggers, each
 *             with SIGTERM (drain, flush) and time to finish.
 *   status    node, type, host, pid, state (running / stopped / crashed),
 *             packets, drops; the follower's row while it is journalled.
 *   netstats  per worker, as zeekctl: "NODE: TIME recvd=N dropped=M link=L".
 * Counters come from RUN/state/NODE.stats, written at each heartbeat.
 */
#ifndef LAB_CTL_H
#define LAB_CTL_H

#include "lab_replay.h"

int lab_ctl_start(const char *topology, const struct lab_replay_opts *o);
/* Relays worker liveness from the manager's view to the frontend
 * (lab_follow.h) until SIGTERM or SIGINT: what start runs beside the lab.
 * One timestamped line per event on stdout. */
int lab_ctl_follow(const char *topology, const struct lab_replay_opts *o);
int lab_ctl_stop(const char *topology, const struct lab_replay_opts *o);
int lab_ctl_status(const char *topology, const struct lab_replay_opts *o, bool netstats);

#endif
