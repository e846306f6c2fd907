/* lab_proc: the lab's processes: started under the journal, stopped, listed.
 *
 * A node process is forked, put in its own process group, moved into its
 * host's namespace (live mode), with stdout/stderr going to
 * RUN/logs/<node>.log. The child waits on a pipe until the parent has
 * journalled its pid and start time, and only then execs: a sluicectl killed
 * between fork and journal leaves a child that exits on its own instead of an
 * untracked process.
 */
#ifndef LAB_PROC_H
#define LAB_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lab_state.h"

struct lab_proc {
    char node[LAB_NAME_MAX];
    char ns[LAB_NAME_MAX]; /* "-" = the caller's namespace */
    pid_t pid;
    unsigned long long start;
    int status;   /* waitpid status once reaped */
    bool exited;  /* reaped */
    int out_fd;   /* read end of its stdout when capture_stdout, else -1 */
    bool termed;  /* SIGTERM sent (lab_proc_term) */
    bool stopped; /* lab_proc_stop done: reaped and journalled as gone */
};

struct lab_spawn {
    const char *node;     /* name used in the journal and the log file name */
    const char *ns;       /* namespace to run in, NULL = here */
    char *const *argv;    /* argv[0] is the program path */
    bool capture_stdout;  /* stdout to a pipe (out_fd) instead of the log file */
    const char *log_name; /* log file (default <node>.log) */
    bool append;          /* add to the log file: a restart keeps its predecessor's lines */
};

/* Starts a process. Returns 0 and fills *p, or -errno. */
int lab_proc_spawn(struct lab_run *run, const struct lab_spawn *s, struct lab_proc *p);

/* Non-blocking check: true while it runs; reaps it (sets exited/status) otherwise. */
bool lab_proc_running(struct lab_proc *p);

/* Waits up to timeout_ms (0 = forever) for it to exit. 0, or -ETIMEDOUT. */
int lab_proc_wait(struct lab_proc *p, unsigned timeout_ms);

/* SIGTERM to its process group, once; lab_proc_stop then only waits. Lets
 * a caller tell several processes at once and wait for them together. */
void lab_proc_term(struct lab_proc *p);

/* SIGTERM (unless lab_proc_term sent it), then SIGKILL after grace_ms, to its process group; reaps
 * it when it is our child; journals that it is gone. */
int lab_proc_stop(struct lab_run *run, struct lab_proc *p, unsigned grace_ms);

/* The same for a journal entry of an earlier sluicectl (not our child):
 * acts only when the pid still has the recorded start time. Returns 1 when
 * it signalled, 0 when the process was already gone. */
int lab_proc_stop_ent(const struct lab_ent *e, unsigned grace_ms);

/* "exited 0", "exited 3", "killed by SIGKILL" for a reaped process. */
const char *lab_proc_status_str(const struct lab_proc *p, char *buf, size_t len);

#endif
