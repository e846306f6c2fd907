/* sl_syn: the traffic synthesizer behind sluice-synth, as a library.
 *
 * A generator yields packets one at a time, in timestamp order, from a
 * bounded set of concurrently active flows (each a small state machine that
 * emits its next packet on demand), so memory stays flat however many
 * packets are asked for. Same options, same packets, byte for byte: all
 * randomness comes from the seed (sl_syn_rng), nothing from the clock.
 *
 * Profiles name the kind of traffic (web, dns, scan, fragments, tunnels,
 * vlan, elephants, malformed, synflood, mix); sl_syn_profile_help() says
 * what each holds.
 */
#ifndef SL_SYN_H
#define SL_SYN_H

#include <stdint.h>

/* --sizes: how big data-carrying packets are. */
#define SL_SYN_SIZES_REAL 0  /* as a TCP stack sends: MSS segments, the tail shorter */
#define SL_SYN_SIZES_IMIX -1 /* IP sizes 40/576/1500 in proportion 7:4:1 (simple IMIX) */
/* > 0: every data-carrying packet has this IP size (payload at least 1 byte). */

#define SL_SYN_MAX_ACTIVE 2048 /* flows in progress at once */

struct sl_syn_opts {
    const char *profile;
    uint64_t seed;
    uint64_t packets;     /* packets to emit */
    uint64_t flows;       /* most flows to start; 0 = no bound */
    uint32_t hosts;       /* internal client hosts in the address pool */
    uint64_t duration_us; /* span over which flows start */
    uint64_t start_us;    /* timestamp of the first flow (Unix epoch, microseconds) */
    int sizes;            /* SL_SYN_SIZES_* or an IP size in 28..9000 */
};

/* Defaults sluice-synth uses when an option is not given. */
#define SL_SYN_DEF_PACKETS  10000
#define SL_SYN_DEF_HOSTS    200
#define SL_SYN_DEF_DURATION 60000000ULL         /* 60 s */
#define SL_SYN_DEF_START    1700000000000000ULL /* 2023-11-14 22:13:20 UTC */

struct sl_syn_pkt {
    uint64_t ts_us;      /* Unix epoch, microseconds */
    const uint8_t *data; /* valid until the next sl_syn_next() */
    uint32_t caplen;     /* bytes in data */
    uint32_t len;        /* length on the wire (> caplen for snaplen-cut frames) */
};

struct sl_syn_stats {
    uint64_t packets;
    uint64_t bytes; /* wire bytes */
    uint64_t flows; /* flows started */
    uint64_t active_max;
};

struct sl_syn;

/* A generator for the given options; NULL with errno EINVAL (unknown
 * profile, a value out of range) or ENOMEM. */
struct sl_syn *sl_syn_new(const struct sl_syn_opts *o);

/* Next packet into *p. Returns 0, -ENOENT when done (the packet count was
 * reached, or every flow ended under a --flows bound), or another -errno on
 * an internal error. */
int sl_syn_next(struct sl_syn *s, struct sl_syn_pkt *p);

void sl_syn_get_stats(const struct sl_syn *s, struct sl_syn_stats *st);

void sl_syn_free(struct sl_syn *s);

/* The profiles, for --help: name and a one-line description; i beyond the
 * last returns NULL. */
const char *sl_syn_profile_name(unsigned i);
const char *sl_syn_profile_help(unsigned i);

#endif
