/* lab_state: a lab's run directory and the journal of what the lab created.
 *
 * Every namespace, link, qdisc and process the lab makes is written to the
 * journal (RUN/journal, one line per entry, fsync'ed) BEFORE it is made, so
 * that `sluicectl down` can undo a run that crashed or was killed with -9 at
 * any point. `down` undoes only what the journal names, and only after it has
 * checked that the thing found is still the lab's own: a namespace carries
 * the run's tag (its loopback's ifalias), a process its recorded start time.
 *
 * The run directory holds:
 *   lock      flock'ed by the sluicectl that works on the lab (one at a time)
 *   journal   "+kind fields..." when planned, "-kind key" when undone
 *   logs/     stdout and stderr of every node process
 * Its default place is /run/sluice/<lab> for root, $XDG_RUNTIME_DIR/sluice/<lab>
 * or /tmp/sluice-<uid>/<lab> otherwise; --run-dir overrides it.
 */
#ifndef LAB_STATE_H
#define LAB_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LAB_TAG_MAX  64
#define LAB_NAME_MAX 64

enum lab_ent_kind {
    LAB_ENT_NS = 0, /* a network namespace: name, tag */
    LAB_ENT_LINK,   /* a link: ns, name (also its veth peer, which dies with it) */
    LAB_ENT_QDISC,  /* a root qdisc: ns, link name */
    LAB_ENT_PROC,   /* a process: pid, start time, node name, ns ("-" for none) */
    LAB_ENT_MAX
};

struct lab_ent {
    enum lab_ent_kind kind;
    char ns[LAB_NAME_MAX];   /* NS: the namespace's name; others: where it lives, "-" = none */
    char name[LAB_NAME_MAX]; /* LINK/QDISC: link name; PROC: node name */
    pid_t pid;
    unsigned long long start; /* PROC: start time in clock ticks after boot (/proc/PID/stat) */
};

struct lab_run {
    char dir[PATH_MAX];
    char tag[LAB_TAG_MAX]; /* "sl.<lab>.<hex>": identifies what this run made */
    int lock_fd;
    int journal_fd;
};

/* Default run directory for lab `lab` into buf. Returns 0 or -ENAMETOOLONG. */
int lab_run_default_dir(const char *lab, char *buf, size_t len);

/* Opens (creating when `create`) the run directory and takes its lock.
 * -EBUSY when another sluicectl holds it, -ENOENT when it does not exist and
 * !create. A new journal gets a fresh tag; an existing one keeps its tag. */
int lab_run_open(struct lab_run *r, const char *dir, const char *lab, bool create);
void lab_run_close(struct lab_run *r);

/* Appends "+entry" and fsyncs: call it before creating the thing. */
int lab_run_record(struct lab_run *r, const struct lab_ent *e);
/* Appends "-entry": the thing is gone (or was never made). */
int lab_run_forget(struct lab_run *r, const struct lab_ent *e);

/* The entries recorded and not forgotten, in the order they were recorded.
 * *out is malloc'ed (free it). A torn last line (crash mid-write) is ignored. */
int lab_run_load(struct lab_run *r, struct lab_ent **out, size_t *n);

/* Empties the journal once everything in it is undone (keeps the tag). */
int lab_run_reset(struct lab_run *r);

/* Path of a file in the run directory. Returns 0 or -ENAMETOOLONG. */
int lab_run_path(const struct lab_run *r, const char *rel, char *buf, size_t len);

/* Start time of process pid (field 22 of /proc/PID/stat), 0 when it is gone. */
unsigned long long lab_proc_start_time(pid_t pid);

/* True when pid still is the process recorded in e (same start time). */
bool lab_ent_proc_alive(const struct lab_ent *e);

/* mkdir -p. Returns 0 or -errno. */
int lab_mkdir_p(const char *path, mode_t mode);

#endif
