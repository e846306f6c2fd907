/* lab_split: what each worker was given, read back from the per-worker
 * pcaps, and the connections that more than one worker saw.
 *
 * A "connection" here is what Zeek keys a conn.log row by: the canonical
 * (both directions alike) 5-tuple of a frame's innermost IP layer; ICMP by
 * (addresses, type, code) as sl_flow keys it. A non-first IP fragment has no
 * ports: it is counted under the connection of its datagram's first fragment
 * (matched by addresses, protocol and IP id across all files), or under the
 * datagram itself when the first fragment never came. Non-IP frames are
 * counted as packets but are no connection. A connection seen by two or more
 * workers is a split connection -- the classic symptom of a broken balancer:
 * each worker logs a partial connection and the cluster's conn.log no
 * longer matches a single box's.
 *
 * The same module writes splits: `sluicectl split` cuts a pcap into
 * per-worker pcaps with a chosen hash, including a deliberately asymmetric
 * one, so the checker itself can be checked.
 */
#ifndef LAB_SPLIT_H
#define LAB_SPLIT_H

#include <stdint.h>
#include <stdio.h>

#define LAB_SPLIT_MAX_WORKERS 256
#define LAB_SPLIT_EXAMPLES    8

struct lab_worker_load {
    uint64_t pkts, bytes, conns;
};

struct lab_split_example {
    char conn[200];    /* "tcp 10.0.0.1:1234 <-> 10.0.0.2:80" */
    char workers[200]; /* "1,4" (worker numbers, 1-based) */
    uint64_t pkts;
};

struct lab_split {
    unsigned n_workers;
    struct lab_worker_load w[LAB_SPLIT_MAX_WORKERS];
    uint64_t pkts, bytes, non_ip, conns, split_conns, unreadable;
    struct lab_split_example ex[LAB_SPLIT_EXAMPLES];
    unsigned n_ex;
};

/* Reads files[0..n) (worker k's pcap is files[k]; NULL or a missing file
 * means that worker got nothing). Returns 0 or -errno (reason on err). */
int lab_split_scan(char *const *files, unsigned n, struct lab_split *s, FILE *err);

/* The split's timeline, as sluice-node worker --timeline reads it: for every
 * packet the workers got, in the order of the original pcap, its time and
 * the worker (0-based) -- so each worker moves its network time at every
 * packet of the input, as one process reading everything would, and timers
 * fire at the same network times as in the standalone run. The frontend's
 * output keeps no such record, so it is rebuilt by matching every frame of
 * `pcap` with the next frame of the per-worker files (same time, length and
 * bytes but the destination MAC). A frame held back and released later (an
 * early fragment) waits in a small window; a frame no worker got (a counted
 * drop) is left out. Returns the number of records, or -errno. */
int64_t lab_split_timeline(const char *pcap, char *const *files, unsigned n, const char *out,
                           FILE *err);

/* Ways to cut a pcap for `sluicectl split`. */
enum lab_split_how {
    LAB_SPLIT_HASH = 0, /* core's symmetric hash + rendezvous, as the frontend does (no
                           fragment table, no ICMP steering: a plain 5-tuple balancer) */
    LAB_SPLIT_ASYM,     /* broken on purpose: the 5-tuple hashed as seen, so the two
                           directions of a connection usually land on different workers */
};

/* Writes DIR/worker-<k>.pcap (k = 1..n_workers) from `pcap`, keeping each
 * frame and its timestamp as is. mode is an sl_flow hash mode name for
 * LAB_SPLIT_HASH. Returns 0 or -errno (reason on err). */
int lab_split_write(const char *pcap, const char *dir, unsigned n_workers, enum lab_split_how how,
                    const char *mode, FILE *err);

#endif
