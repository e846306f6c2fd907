/* args: frontend-dpdk's own command line (the part after EAL's `--`) and
 * the frontend part of a topology file, turned into one struct fe_conf.
 *
 * Parsing is pure: it checks syntax and ranges and reads the topology file,
 * but knows nothing about ports. What depends on the ports EAL created
 * (port ids in range, link-rate targets) is checked later by ports.c, still
 * before any packet moves. Errors are one line in `err`.
 *
 * Workers are numbered 1..N everywhere a user sees them (MAC
 * 02:00:00:00:00:01 is worker 1, DIR/worker-1.pcap, `down 1`); internally
 * they are 0..N-1 (sl_rdv ids).
 */
#ifndef FE_ARGS_H
#define FE_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sl_flow.h"
#include "sl_rdv.h"

#define FE_MAX_WORKERS SL_RDV_MAX
#define FE_MAX_PORTS   32 /* RTE_MAX_ETHPORTS in Debian's DPDK 22.11 */
#define FE_MAX_RATES   (FE_MAX_WORKERS + FE_MAX_PORTS)

enum fe_output { FE_OUT_SWITCH = 0, FE_OUT_DIRECT };

/* --link-rate: `RATE` for every egress link, or `ID=RATE` for one. ID is a
 * port id, or a worker number with --write-pcaps (each worker its own link). */
struct fe_rate {
    int id; /* -1: all links */
    uint64_t bps;
};

struct fe_conf {
    unsigned n_workers;
    bool workers_set; /* --workers given (else from topology/MACs, or 8) */
    unsigned n_macs;  /* MACs given by --worker-mac or the topology */
    uint8_t mac[FE_MAX_WORKERS][6];
    int worker_port[FE_MAX_WORKERS];      /* switch output port per worker, -1 = default */
    double weight[FE_MAX_WORKERS];        /* rendezvous weight, 1 by default */
    uint64_t worker_rate[FE_MAX_WORKERS]; /* topology link_rate of its link, 0: none */
    bool down[FE_MAX_WORKERS];            /* --down: start marked down */

    enum sl_hash_mode hash;
    enum fe_output output;

    unsigned n_rates, n_topo_rates; /* rate[0..n_topo_rates) came from the topology */
    struct fe_rate rate[FE_MAX_RATES];
    uint32_t queue_bytes; /* shaper queue per egress link */

    double pace; /* 0: topspeed, else speed factor over pcap time */

    const char *write_pcaps; /* directory, or NULL */
    double stats_interval;   /* seconds, 0: off */
    double run_time;         /* --time: stop after this many seconds, 0: no limit */

    int n_in, n_out; /* -1: default (port 0 in, the others out) */
    uint16_t in_ports[FE_MAX_PORTS], out_ports[FE_MAX_PORTS];

    const char *ctl_path; /* control socket, or NULL */
    bool wait_start;      /* forward only after `start` on the control socket */
    unsigned burst;       /* RX/TX burst size */
    unsigned n_mbufs;     /* 0: computed */

    /* fragment handling (sl_lb) */
    uint64_t frag_hold_ns;
    uint64_t frag_timeout_ns;
    unsigned max_held;
    bool count_flows; /* per-worker distinct-flow estimate (a second hash per packet) */

    char *topology; /* path, or NULL */
};

/* Fills c from the application arguments argv[0..argc) (argv[0] is the
 * program name). Returns 0; 1 when --help was given (usage already printed
 * to stdout); -EINVAL with a one-line message in err. */
int fe_args_parse(struct fe_conf *c, int argc, char **argv, char *err, size_t errlen);

/* Sets one option by its topology key (hash, output, link_rate, queue_bytes,
 * workers, in_ports, out_ports, pace, stats_interval); `where` prefixes the
 * error ("file:line"). 0, -EINVAL with err set, or -ENOENT for another key. */
int fe_args_set_key(struct fe_conf *c, const char *key, const char *val, const char *where,
                    char *err, size_t errlen);

/* Releases what fe_args_parse allocated. */
void fe_conf_free(struct fe_conf *c);

void fe_args_usage(FILE *f, const char *prog);

/* "0,2,5-7" into ids[] (at most max, each < limit). Returns count or -EINVAL. */
int fe_parse_list(const char *s, uint16_t *ids, int max, unsigned limit);

#endif
