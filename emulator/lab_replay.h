/* lab_replay: `sluicectl replay TOPOLOGY PCAP`: the lab's main job.
 *
 * Offline mode (no root): frontend-dpdk reads PCAP with net_pcap and writes
 * one pcap per worker (--write-pcaps, original timestamps); the cluster
 * (loggers, manager, proxies, then workers, each started once the one before
 * is ready) reads those files and talks over 127.0.0.1; a standalone
 * reference run reads PCAP itself. Live mode (root) uses the namespaces of
 * `sluicectl up` (brought up if needed): workers sniff their veth NICs with
 * libpcap and BPF 'ether dst MAC', the frontend sends through net_af_packet,
 * and worker liveness follows the manager's view (lab_view.h): a worker the
 * manager drops for missed heartbeats is marked down at the frontend
 * (`down K`, only its flows move), one it takes back is marked up again.
 *
 * Then: wait for the drain, stop in reverse order, collect the merged logs
 * into OUT/cluster/ and the standalone's into OUT/standalone/, compare them
 * (lab_equiv), and write the report (lab_report): OUT/report.json,
 * OUT/report.html and a text summary on stdout. Exit status 0 only when the
 * logs are equivalent and every packet is accounted for.
 */
#ifndef LAB_REPLAY_H
#define LAB_REPLAY_H

#include <limits.h>
#include <stdbool.h>

struct lab_replay_opts {
    const char *self;    /* argv[0], to find the sibling binaries */
    const char *run_dir; /* --run-dir */
    char bin_dir[PATH_MAX];
    bool live;            /* --mode live */
    const char *speed;    /* --speed, frontend-dpdk's --pace syntax */
    const char *hash;     /* --hash */
    unsigned workers;     /* --workers, 0 = all */
    const char *out;      /* --out */
    char kill_worker[64]; /* --kill-worker NAME@SECONDS */
    double kill_after;
    const char *split_input; /* --split-input DIR */
    bool quiet;
    bool no_time; /* logdiff --no-time */
    bool restart; /* start / follow --restart */
};

void lab_replay_opts_init(struct lab_replay_opts *o, const char *self);

/* Sets option `idx` (0 = --bin-dir, 1 --mode, 2 --speed, 3 --hash,
 * 4 --workers, 5 --out, 6 --kill-worker, 7 --split-input, 8 --quiet).
 * 0 or -EINVAL. */
int lab_replay_opt(struct lab_replay_opts *o, int idx, const char *arg);

/* Runs the replay; returns the process exit status. */
int lab_replay_main(const char *topology, const char *pcap, const struct lab_replay_opts *o);

#endif
