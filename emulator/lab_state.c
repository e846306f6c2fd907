/* lab_state: run directory, lock and crash-safe journal. See lab_state.h. */
#include "lab_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[LAB_ENT_MAX] = {"ns", "link", "qdisc", "proc"};

int lab_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = c;
        if (c == '\0')
            break;
    }
    return 0;
}

int lab_run_default_dir(const char *lab, char *buf, size_t len)
{
    int n;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        n = snprintf(buf, len, "/run/sluice/%s", lab);
    else if (xdg && *xdg)
        n = snprintf(buf, len, "%s/sluice/%s", xdg, lab);
    else
        n = snprintf(buf, len, "/tmp/sluice-%u/%s", (unsigned)geteuid(), lab);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int lab_run_path(const struct lab_run *r, const char *rel, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", r->dir, rel);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t w = write(fd, s, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += w;
        len -= (size_t)w;
    }
    return 0;
}

static int append_line(struct lab_run *r, const char *line)
{
    int rc = write_all(r->journal_fd, line, strlen(line));
    if (rc == 0 && fsync(r->journal_fd) < 0)
        rc = -errno;
    return rc;
}

/* Reads the tag from an existing journal's first line ("tag X\n"). */
static int read_tag(int fd, char *tag, size_t len)
{
    char buf[LAB_TAG_MAX + 8];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return -ENOENT;
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (strncmp(buf, "tag ", 4) != 0 || !nl || (size_t)(nl - buf - 4) >= len)
        return -EINVAL;
    memcpy(tag, buf + 4, (size_t)(nl - buf - 4));
    tag[nl - buf - 4] = '\0';
    return 0;
}

static int new_tag(struct lab_run *r, const char *lab)
{
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
        rnd = (uint32_t)getpid() ^ (uint32_t)time(NULL);
    /* Keep the tag short: it must fit an ifalias and a journal line. */
    int n = snprintf(r->tag, sizeof(r->tag), "sl.%.40s.%08" PRIx32, lab, rnd);
    if (n < 0 || (size_t)n >= sizeof(r->tag))
        return -ENAMETOOLONG;
    char line[LAB_TAG_MAX + 8];
    snprintf(line, sizeof(line), "tag %s\n", r->tag);
    return append_line(r, line);
}

int lab_run_open(struct lab_run *r, const char *dir, const char *lab, bool create)
{
    char path[PATH_MAX + 16];
    int rc;
    memset(r, 0, sizeof(*r));
    r->lock_fd = r->journal_fd = -1;
    if (snprintf(r->dir, sizeof(r->dir), "%s", dir) >= (int)sizeof(r->dir))
        return -ENAMETOOLONG;
    if (create) {
        if ((rc = lab_mkdir_p(dir, 0755)) < 0)
            return rc;
    } else if (access(dir, F_OK) < 0) {
        return -errno;
    }
    snprintf(path, sizeof(path), "%s/lock", dir);
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0)
        return -errno;
    /* A sluicectl killed a moment ago may leave a child that holds the lock
     * for a few milliseconds more: wait a little before calling it busy. */
    for (int tries = 0;; tries++) {
        if (flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK || tries == 100) {
            rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
            goto fail;
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    snprintf(path, sizeof(path), "%s/journal", dir);
    r->journal_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (r->journal_fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = read_tag(r->journal_fd, r->tag, sizeof(r->tag));
    if (rc == -ENOENT)
        rc = new_tag(r, lab);
    if (rc < 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/logs", dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    return 0;
fail:
    lab_run_close(r);
    return rc;
}

void lab_run_close(struct lab_run *r)
{
    if (r->journal_fd >= 0)
        close(r->journal_fd);
    if (r->lock_fd >= 0)
        close(r->lock_fd); /* releases the flock */
    r->journal_fd = r->lock_fd = -1;
}

static bool field_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

static int ent_line(const struct lab_ent *e, char sign, char *buf, size_t len)
{
    if (e->kind >= LAB_ENT_MAX || !field_ok(e->ns) || !field_ok(e->name))
        return -EINVAL;
    int n = snprintf(buf, len, "%c%s %s %s %ld %llu\n", sign, kind_names[e->kind], e->ns, e->name,
                     (long)e->pid, e->start);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int lab_run_record(struct lab_run *r, const struct lab_ent *e)
{
    char line[3 * LAB_NAME_MAX];
    int rc = ent_line(e, '+', line, sizeof(line));
    return rc < 0 ? rc : append_line(r, line);
}

int lab_run_forget(struct lab_run *r, const struct lab_ent *e)
{
    char line[3 * LAB_NAME_MAX];
    int rc = ent_line(e, '-', line, sizeof(line));
    return rc < 0 ? rc : append_line(r, line);
}

static bool ent_same(const struct lab_ent *a, const struct lab_ent *b)
{
    return a->kind == b->kind && a->pid == b->pid && strcmp(a->ns, b->ns) == 0 &&
           strcmp(a->name, b->name) == 0;
}

/* Parses one journal line (without '\n'). Returns 1 for '+', -1 for '-', 0 to skip. */
static int parse_line(const char *line, struct lab_ent *e)
{
    char kind[16];
    long pid;
    memset(e, 0, sizeof(*e));
    if (line[0] != '+' && line[0] != '-')
        return 0;
    if (sscanf(line + 1, "%15s %63s %63s %ld %llu", kind, e->ns, e->name, &pid, &e->start) != 5)
        return 0;
    e->pid = (pid_t)pid;
    for (int k = 0; k < LAB_ENT_MAX; k++) {
        if (strcmp(kind, kind_names[k]) == 0) {
            e->kind = (enum lab_ent_kind)k;
            return line[0] == '+' ? 1 : -1;
        }
    }
    return 0;
}

static int slurp(int fd, char **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
    if (n < 0) {
        free(buf);
        return -errno;
    }
    buf[n] = '\0';
    *out = buf;
    *len = (size_t)n;
    return 0;
}

int lab_run_load(struct lab_run *r, struct lab_ent **out, size_t *n_out)
{
    char *buf = NULL;
    size_t len = 0, n = 0, cap = 16;
    int rc = slurp(r->journal_fd, &buf, &len);
    if (rc < 0)
        return rc;
    struct lab_ent *v = malloc(cap * sizeof(*v));
    if (!v) {
        free(buf);
        return -ENOMEM;
    }
    char *line = buf, *nl;
    /* Only complete lines count: a torn tail was never acted upon. */
    while ((nl = strchr(line, '\n')) != NULL) {
        struct lab_ent e;
        *nl = '\0';
        int sign = parse_line(line, &e);
        line = nl + 1;
        if (sign > 0) {
            if (n == cap) {
                struct lab_ent *nv = realloc(v, 2 * cap * sizeof(*v));
                if (!nv) {
                    rc = -ENOMEM;
                    break;
                }
                v = nv;
                cap *= 2;
            }
            v[n++] = e;
        } else if (sign < 0) {
            for (size_t i = n; i-- > 0;) {
                if (ent_same(&v[i], &e)) {
                    memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
                    n--;
                    break;
                }
            }
        }
    }
    free(buf);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

int lab_run_reset(struct lab_run *r)
{
    if (ftruncate(r->journal_fd, 0) < 0)
        return -errno;
    char line[LAB_TAG_MAX + 8];
    snprintf(line, sizeof(line), "tag %s\n", r->tag);
    return append_line(r, line);
}

unsigned long long lab_proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may hold spaces and parens: fields restart after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return 0;
    char state = 0;
    sscanf(strrchr(buf, ')') + 1, " %c", &state);
    if (state == 'Z' || state == 'X')
        return 0; /* a zombie is gone for our purposes */
    return strtoull(p + 1, NULL, 10);
}

bool lab_ent_proc_alive(const struct lab_ent *e)
{
    return e->kind == LAB_ENT_PROC && e->pid > 0 && e->start != 0 &&
           lab_proc_start_time(e->pid) == e->start;
}
