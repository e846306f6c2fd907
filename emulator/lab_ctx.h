/* lab_ctx: what one sluicectl run of the lab's processes shares: the
 * topology, the run directory, the binaries, the files handed to the nodes
 * and the processes started. Used by replay (lab_replay), by start / stop /
 * status (lab_ctl), and by the modules that start the cluster (lab_cluster)
 * and the frontend (lab_fe).
 */
#ifndef LAB_CTX_H
#define LAB_CTX_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "lab_json.h"
#include "lab_proc.h"
#include "lab_state.h"
#include "lab_topo.h"

#define LAB_MAX_PROCS (LAB_TOPO_MAX_NODES + 4)
#define LAB_PATH      (PATH_MAX + 64)

struct lab_ctx {
    struct lab_topo *t;
    struct lab_run run;
    bool run_open;
    bool live;         /* nodes in the namespaces, capturing live */
    bool tty;          /* progress lines on stderr */
    bool append_logs;  /* spawned processes add to their log (restarts) */
    const char *pcap;  /* the frontend's input (replay), or NULL: live from in0 (start) */
    const char *speed; /* --pace */
    const char *hash;  /* --hash override, or NULL */
    char node_bin[PATH_MAX], fe_bin[PATH_MAX];
    char cluster_ini[LAB_PATH]; /* the topology the nodes read (RUN/cluster.ini) */
    char fe_ini[LAB_PATH];      /* the frontend's topology (RUN/frontend.ini) */
    char fe_ctl[LAB_PATH];      /* the frontend's control socket */
    char state_dir[LAB_PATH];   /* RUN/state: NODE.stats counters */
    char loggers_dir[LAB_PATH]; /* one log directory per logger (or the manager) */
    char split_dir[LAB_PATH];   /* offline: the per-worker pcaps */
    char timeline[LAB_PATH];    /* offline: the split's timeline ("" = none) */
    unsigned base_port;

    struct lab_proc proc[LAB_MAX_PROCS]; /* cluster nodes, in start order */
    int proc_node[LAB_MAX_PROCS];        /* their node index */
    unsigned n_proc;
    struct lab_proc fe;
    bool fe_started;
    struct lab_proc follow; /* start: `sluicectl follow` (lab_follow.h) */
    bool follow_started;
    struct lab_json *fe_last; /* the frontend's last JSON line (its summary at exit) */
    uint64_t total_pkts;      /* for the progress line's ETA */
    double fe_secs;           /* how long the frontend ran */
};

/* Set by SIGINT/SIGTERM while a lab command runs. */
extern volatile sig_atomic_t lab_stop;
void lab_signals_install(void);

double lab_now(void);
void lab_sleep_ms(unsigned ms);

/* A progress line on stderr (only on a terminal), and its end. */
void lab_progress(const struct lab_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lab_progress_done(const struct lab_ctx *c);

/* frontend-dpdk / sluice-node: bin_dir, else the build tree next to
 * sluicectl (<build>/<sub>/<name>), else $PATH. 0 or -ENOENT (printed). */
int lab_find_bin(const char *bin_dir, const char *sub, const char *name, char *buf, size_t len);

/* Starts a process of the lab (journalled); prints why on failure. */
int lab_spawn(struct lab_ctx *c, const char *node, const char *ns, char **argv, bool capture,
              struct lab_proc *p);

/* --workers N: keeps the first N workers of t (file order). 0 or -EINVAL. */
int lab_keep_workers(struct lab_topo *t, unsigned n);

/* A base port whose range is free on 127.0.0.1, from t->base_port up. */
unsigned lab_pick_base_port(const struct lab_topo *t);

/* Writes c->cluster_ini: t resolved (lb_procs expanded, --workers applied,
 * mode live/offline as c->live, c->base_port). 0 or -errno. */
int lab_write_cluster_ini(const struct lab_ctx *c);

/* Packets in a pcap (0 when unreadable). */
uint64_t lab_count_pcap(const char *path);

/* 1-based number of worker node `node` (its place among the workers). */
int lab_worker_number(const struct lab_topo *t, int node);

#endif
