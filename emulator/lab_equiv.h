/* lab_equiv: is a cluster's merged log directory equivalent to a
 * standalone run's? (DESIGN.md promise 2)
 *
 * Every Zeek log (*.log, TSV with its #fields/#types header, or JSON lines)
 * present on either side is compared as a multiset of rows, order
 * insensitive, after normalising each row:
 *   - uid-like columns (uid, fuid, uids, fuids, conn_uids) are dropped: uids
 *     are random per process and differ by design;
 *   - columns naming the node that wrote a row (peer, peer_descr) are
 *     dropped: a cluster has many nodes, standalone one;
 *   - tunnel_parents (a set of conn uids) is rewritten to the parents'
 *     5-tuples, looked up in the same side's conn.log; a parent without a
 *     conn.log row is an IP tunnel (IP-in-IP, GRE), compared by number only;
 *   - set-valued columns are sorted (Zeek prints sets in hash order).
 * Logs that are per node by nature (stats, capture_loss, reporter,
 * loaded_scripts, packet_filter, cluster, broker, print) are not compared,
 * nor are notice.log rows about a node's own capture (CaptureLoss::*, raised
 * per node and per measuring interval, as Zeek does in a cluster).
 * weird.log is a superset check: Zeek de-duplicates weirds per node, so a
 * cluster may log more of them, never fewer (test/e2e/logdiff.py's --superset
 * weird; the rest matches its rules too). A log missing on one side counts as
 * empty there.
 */
#ifndef LAB_EQUIV_H
#define LAB_EQUIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LAB_EQUIV_EXAMPLES 5

struct lab_equiv_log {
    char path[64];           /* "conn" */
    uint64_t rows_a, rows_b; /* rows on each side (a = cluster, b = standalone) */
    uint64_t only_a, only_b; /* rows (with multiplicity) found on one side only */
    char *ex_a[LAB_EQUIV_EXAMPLES], *ex_b[LAB_EQUIV_EXAMPLES]; /* normalised rows */
    unsigned n_ex_a, n_ex_b;
    char fields[1024];  /* the compared columns, tab separated */
    bool fields_differ; /* the sides' columns differ (compared on the common ones) */
    bool superset;      /* rows only in a are allowed (weird.log) */
};

struct lab_equiv {
    struct lab_equiv_log *logs;
    unsigned n;
    bool equivalent;
};

/* Leave out time and interval columns (ts, duration, rtt ...), and mask the
 * elapsed times Zeek writes into texts ("in 0m2s" in a Scan notice's msg):
 * for a live capture, which stamps packets when they arrive, against a
 * pcap's times. */
#define LAB_EQUIV_NO_TIME 0x1

/* Compares dir_a with dir_b. Returns 0 (verdict in *e) or -errno with a
 * one-line reason on err (e.g. an unreadable or malformed log). */
int lab_equiv_compare(const char *dir_a, const char *dir_b, unsigned flags, struct lab_equiv *e,
                      FILE *err);
void lab_equiv_free(struct lab_equiv *e);

/* Split connections read from the logs (when no per-worker capture is at
 * hand, e.g. live mode): 5-tuples (either direction) with more conn.log rows
 * in dir_a than in dir_b, and at least two in dir_a -- each worker that saw
 * part of a connection logs it. Returns the count (examples, "tcp
 * 10.0.0.1:1234 <-> 10.0.0.2:80", in ex[0..n_ex)), or -errno. */
int lab_equiv_split_conns(const char *dir_a, const char *dir_b, char ex[][200], unsigned max_ex,
                          unsigned *n_ex, FILE *err);

/* Prints the verdict as text: one line per log, examples of differing rows. */
void lab_equiv_print(const struct lab_equiv *e, const char *name_a, const char *name_b, FILE *out);

#endif
