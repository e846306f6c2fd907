/* lab_proc: spawn, watch and stop the lab's processes. See lab_proc.h. */
#include "lab_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab_net.h"

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* In the child: wait for the parent's go, set up, exec. Never returns. */
static void child(struct lab_run *run, const struct lab_spawn *s, int go_fd, int out_pipe)
{
    char go;
    char path[PATH_MAX + 64];
    setpgid(0, 0);
    /* Dies with its parent only while unjournalled: EOF here means the
     * parent is gone before recording us, so nobody could stop us later. */
    if (read(go_fd, &go, 1) != 1)
        _exit(126);
    close(go_fd);
    if (s->ns && lab_ns_enter(s->ns) < 0) {
        fprintf(stderr, "sluicectl: %s: cannot enter namespace %s\n", s->node, s->ns);
        _exit(126);
    }
    snprintf(path, sizeof(path), "%s/logs/%s", run->dir, s->log_name ? s->log_name : s->node);
    if (!s->log_name)
        strncat(path, ".log", sizeof(path) - strlen(path) - 1);
    int fd = open(path, O_WRONLY | O_CREAT | (s->append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        if (out_pipe < 0)
            dup2(fd, STDOUT_FILENO);
    }
    if (out_pipe >= 0)
        dup2(out_pipe, STDOUT_FILENO);
    /* the log starts with the command, so a failure can be rerun by hand */
    fprintf(stderr, "# sluicectl started:");
    for (char *const *a = s->argv; *a; a++)
        fprintf(stderr, " %s", *a);
    fprintf(stderr, "%s%s%s\n", s->ns ? "  (in network namespace " : "", s->ns ? s->ns : "",
            s->ns ? ")" : "");
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0)
        dup2(nul, STDIN_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execv(s->argv[0], s->argv);
    fprintf(stderr, "sluicectl: exec %s: %s\n", s->argv[0], strerror(errno));
    _exit(127);
}

int lab_proc_spawn(struct lab_run *run, const struct lab_spawn *s, struct lab_proc *p)
{
    int go[2], out[2] = {-1, -1};
    memset(p, 0, sizeof(*p));
    p->out_fd = -1;
    snprintf(p->node, sizeof(p->node), "%s", s->node);
    snprintf(p->ns, sizeof(p->ns), "%s", s->ns ? s->ns : "-");
    if (pipe2(go, O_CLOEXEC) < 0)
        return -errno;
    if (s->capture_stdout && pipe2(out, O_CLOEXEC) < 0) {
        int e = errno;
        close(go[0]);
        close(go[1]);
        return -e;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(go[0]);
        close(go[1]);
        if (out[0] >= 0) {
            close(out[0]);
            close(out[1]);
        }
        return -e;
    }
    if (pid == 0) {
        close(go[1]);
        if (out[0] >= 0)
            close(out[0]);
        child(run, s, go[0], out[1]);
    }
    close(go[0]);
    if (out[1] >= 0)
        close(out[1]);
    setpgid(pid, pid); /* also here: no race with a kill of the group */
    p->pid = pid;
    /* The child is blocked in read() and has not exec'ed: its start time is
     * final, so record it now. */
    p->start = lab_proc_start_time(pid);
    struct lab_ent e = {.kind = LAB_ENT_PROC, .pid = pid, .start = p->start};
    snprintf(e.ns, sizeof(e.ns), "%s", p->ns);
    snprintf(e.name, sizeof(e.name), "%s", p->node);
    int rc = p->start ? lab_run_record(run, &e) : -ESRCH;
    if (rc < 0 || write(go[1], "g", 1) != 1) {
        close(go[1]); /* child reads EOF and exits */
        if (out[0] >= 0)
            close(out[0]);
        waitpid(pid, NULL, 0);
        if (rc == 0)
            lab_run_forget(run, &e);
        return rc < 0 ? rc : -EPIPE;
    }
    close(go[1]);
    p->out_fd = out[0];
    return 0;
}

bool lab_proc_running(struct lab_proc *p)
{
    if (p->exited || p->pid <= 0)
        return false;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->exited = true;
        p->status = st;
        return false;
    }
    if (r < 0 && errno == ECHILD) {
        /* not our child (an earlier sluicectl's): ask /proc */
        if (lab_proc_start_time(p->pid) == p->start)
            return true;
        p->exited = true;
        p->status = 0;
        return false;
    }
    return true;
}

int lab_proc_wait(struct lab_proc *p, unsigned timeout_ms)
{
    for (unsigned waited = 0; lab_proc_running(p); waited += 10) {
        if (timeout_ms && waited >= timeout_ms)
            return -ETIMEDOUT;
        sleep_ms(10);
    }
    return 0;
}

static int stop_pid(pid_t pid, unsigned long long start, unsigned grace_ms, struct lab_proc *own)
{
    if (lab_proc_start_time(pid) != start)
        return 0;
    /* Its own group: helpers it started (a DPDK secondary, a shell) go too.
     * Once only: a second SIGTERM tells a cluster node to stop draining. */
    if (!own || !own->termed) {
        if (kill(-pid, SIGTERM) < 0)
            kill(pid, SIGTERM);
    }
    for (unsigned waited = 0; waited < grace_ms; waited += 10) {
        if (own ? !lab_proc_running(own) : lab_proc_start_time(pid) != start)
            return 1;
        sleep_ms(10);
    }
    if (kill(-pid, SIGKILL) < 0)
        kill(pid, SIGKILL);
    for (unsigned waited = 0; waited < 2000; waited += 10) {
        if (own ? !lab_proc_running(own) : lab_proc_start_time(pid) != start)
            return 1;
        sleep_ms(10);
    }
    return -ETIMEDOUT;
}

void lab_proc_term(struct lab_proc *p)
{
    if (p->termed || !lab_proc_running(p))
        return;
    if (kill(-p->pid, SIGTERM) < 0)
        kill(p->pid, SIGTERM);
    p->termed = true;
}

int lab_proc_stop(struct lab_run *run, struct lab_proc *p, unsigned grace_ms)
{
    int rc = 0;
    if (p->stopped)
        return 0; /* done before: its pid may belong to someone else by now */
    if (lab_proc_running(p))
        rc = stop_pid(p->pid, p->start, grace_ms, p);
    else
        kill(-p->pid, SIGKILL); /* the leader is gone; anything left in its group goes */
    if (rc < 0)
        return rc;
    struct lab_ent e = {.kind = LAB_ENT_PROC, .pid = p->pid, .start = p->start};
    snprintf(e.ns, sizeof(e.ns), "%s", p->ns);
    snprintf(e.name, sizeof(e.name), "%s", p->node);
    if (p->out_fd >= 0) {
        close(p->out_fd);
        p->out_fd = -1;
    }
    p->stopped = true;
    return lab_run_forget(run, &e);
}

int lab_proc_stop_ent(const struct lab_ent *e, unsigned grace_ms)
{
    if (!lab_ent_proc_alive(e))
        return 0;
    return stop_pid(e->pid, e->start, grace_ms, NULL);
}

const char *lab_proc_status_str(const struct lab_proc *p, char *buf, size_t len)
{
    if (!p->exited)
        snprintf(buf, len, "running");
    else if (WIFEXITED(p->status))
        snprintf(buf, len, "exited %d", WEXITSTATUS(p->status));
    else if (WIFSIGNALED(p->status))
        snprintf(buf, len, "killed by %s", sigabbrev_np(WTERMSIG(p->status)) ?: "signal");
    else
        snprintf(buf, len, "stopped");
    return buf;
}
