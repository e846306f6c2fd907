/* lab_report: what a replay found, for a person and for CI.
 *
 * Three renderings of one struct lab_report:
 *   - text on the terminal (lab_report_print),
 *   - OUT/report.json: top level `equivalent` (bool), `split_connections`
 *     (count), `accounted` (bool), `ok` (the exit verdict); then `workers`
 *     (packets, bytes, connections each), `imbalance` (max/mean packets),
 *     `drops` (stage, reason, count), `accounting` (per stage: in, out,
 *     dropped, ok), `split_examples`, `notices`, `events` (e.g. a killed
 *     worker and the loss window it caused) and `equivalence` (per log: rows
 *     on each side, rows only in the cluster, only in standalone, examples);
 *     `reference` ("all frames", or "delivered frames" when live-mode drops
 *     counted before the workers left frames out of the standalone
 *     reference: then also `left_out_frames` and
 *     `explained_by_counted_drops`, per log the rows of the standalone run
 *     over every frame that those frames alone account for),
 *   - OUT/report.html: the same, readable, with an inline SVG bar chart of
 *     per-worker load; no script, no external asset.
 */
#ifndef LAB_REPORT_H
#define LAB_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lab_equiv.h"
#include "lab_split.h"

#define LAB_REPORT_MAX       64
#define LAB_REPORT_MAX_NOTES 20

struct lab_report_drop {
    char stage[32];  /* "frontend", "link", "capture", ... */
    char where[48];  /* "fp3", "worker-2", "" */
    char reason[48]; /* "shaper", "no_worker", "tbf", "kernel", ... */
    uint64_t n;
};

struct lab_report_acct {
    char stage[64];
    uint64_t in, out, dropped;
    bool ok; /* in == out + dropped */
};

struct lab_report_worker {
    char name[48];
    char mac[18];
    uint64_t pkts, bytes, conns;
    bool killed;
};

struct lab_report {
    char topology[256], pcap[256], mode[16], hash[24], speed[24], out_dir[256];
    double wall_s, replay_s;
    uint64_t pcap_pkts;

    unsigned n_workers;
    struct lab_report_worker w[LAB_SPLIT_MAX_WORKERS];
    double imbalance;

    struct lab_report_drop drop[LAB_REPORT_MAX];
    unsigned n_drop;
    struct lab_report_acct acct[LAB_REPORT_MAX];
    unsigned n_acct;

    uint64_t split_conns, conns;
    bool split_known; /* false when no per-worker view exists (live mode) */
    struct lab_split_example ex[LAB_SPLIT_EXAMPLES];
    unsigned n_ex;

    char notes[LAB_REPORT_MAX_NOTES][256]; /* notice.log: note, msg */
    unsigned n_notes;
    uint64_t notices;

    char events[LAB_REPORT_MAX][256];
    unsigned n_events;

    struct lab_equiv eq;
    bool eq_done;
    bool accounted; /* every accounting stage balances */

    /* Live mode, when the frontend counted frames its kernel links would
     * lose (lab_deliver.h): eq then compares the cluster with a standalone
     * run over the frames the links delivered, and `explained` compares the
     * standalone run over every frame (a) with that one (b): the rows the
     * left-out frames alone account for. */
    bool explained_done;
    struct lab_equiv explained;
    uint64_t left_out;      /* frames left out of the reference */
    char left_out_why[160]; /* "runt 133, vlan_runt 170, snapped 129" */
};

/* Adds a drop / an accounting line / an event (silently full after MAX). */
void lab_report_drop(struct lab_report *r, const char *stage, const char *where, const char *reason,
                     uint64_t n);
void lab_report_acct(struct lab_report *r, const char *stage, uint64_t in, uint64_t out,
                     uint64_t dropped);
void __attribute__((format(printf, 2, 3)))
lab_report_event(struct lab_report *r, const char *fmt, ...);

/* Fills imbalance (max/mean of packets over the workers). */
void lab_report_finish(struct lab_report *r);

/* Reads notice.log (TSV or JSON) in dir: count and the first notes. */
int lab_report_notices(struct lab_report *r, const char *dir);

/* The exit verdict: equivalent, accounted and no split connection. */
bool lab_report_ok(const struct lab_report *r);

void lab_report_print(const struct lab_report *r, FILE *out);
int lab_report_write_json(const struct lab_report *r, const char *path);
int lab_report_write_html(const struct lab_report *r, const char *path);

#endif
