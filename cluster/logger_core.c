/* nc_logger: writes log batches exactly once per (node, seq), across
 * restarts.
 *
 * The journal (DIR/.sluice-journal) makes that hold when the logger is
 * killed at any instant. For each batch, before writing:
 *     B <node> <seq> <file>=<size> ...    (sizes of the files it will touch)
 * then the records (written out of the process: fflush), then
 *     C
 * and only then the acknowledgement. On start, a B without its C means the
 * logger died inside that batch: each file is cut back to its recorded size
 * and the batch counts as not written (the sender resends it, as it was never
 * acknowledged). Every B followed by C is a batch already written; a resend
 * of it is acknowledged and dropped.
 *
 * Memory and journal stay bounded: the set of written batches and the
 * journal start afresh every GENERATION seconds, the previous generation
 * kept beside (.sluice-journal.old); a batch is only ever re-sent within
 * seconds (a sender's resend and failover timers), so two generations
 * cover every repeat.
 *
 * Files left by a previous run are rotated away at start (their records
 * stay, under rotated names), so sl_log opens fresh files with headers.
 * Rotated name: <path>.<open time %Y-%m-%d-%H-%M-%S>[-N].log.
 */
#include "node_common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL     ".sluice-journal"
#define JOURNAL_OLD ".sluice-journal.old"
#define GENERATION  3600.0

struct stream {
    char *path;
    struct sl_log_schema schema; /* owned copy */
    struct sl_log_writer *w;
    double opened; /* wall */
};

struct nc_logger {
    char *dir;
    enum sl_log_format fmt;
    double rotate_interval, last_rotate;
    FILE *journal;
    struct sl_wire_seen *seen, *seen_old;
    double gen_started;
    struct stream *st;
    unsigned n_st, cap_st;
    struct nc_logger_stats stats;
};

static void free_schema(struct sl_log_schema *s)
{
    for (unsigned i = 0; i < s->n_fields; i++)
        free((char *)s->fields[i].name);
    free((void *)s->fields);
    free((char *)s->path);
    memset(s, 0, sizeof(*s));
}

static int copy_schema(struct sl_log_schema *dst, const struct sl_log_schema *src)
{
    struct sl_log_field *f = calloc(src->n_fields, sizeof(*f));
    dst->path = strdup(src->path);
    dst->fields = f;
    dst->n_fields = 0;
    if (!f || !dst->path)
        return -ENOMEM;
    for (unsigned i = 0; i < src->n_fields; i++) {
        f[i].type = src->fields[i].type;
        f[i].name = strdup(src->fields[i].name);
        dst->n_fields = i + 1;
        if (!f[i].name)
            return -ENOMEM;
    }
    return 0;
}

static bool same_schema(const struct sl_log_schema *a, const struct sl_log_schema *b)
{
    if (a->n_fields != b->n_fields)
        return false;
    for (unsigned i = 0; i < a->n_fields; i++)
        if (a->fields[i].type != b->fields[i].type ||
            strcmp(a->fields[i].name, b->fields[i].name) != 0)
            return false;
    return true;
}

static int file_name(const struct nc_logger *lg, const char *path, char *buf, size_t n)
{
    int w = snprintf(buf, n, "%s/%s.log", lg->dir, path);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* Renames DIR/<path>.log to its rotated name. */
static int rotate_file(struct nc_logger *lg, const char *path, double opened)
{
    char from[4096], to[4200], stamp[32];
    time_t t = (time_t)opened;
    struct tm tm;
    if (file_name(lg, path, from, sizeof(from)) < 0)
        return -ENAMETOOLONG;
    if (!localtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm))
        snprintf(stamp, sizeof(stamp), "%lld", (long long)t);
    for (unsigned k = 0;; k++) {
        if (k == 0)
            snprintf(to, sizeof(to), "%s/%s.%s.log", lg->dir, path, stamp);
        else
            snprintf(to, sizeof(to), "%s/%s.%s-%u.log", lg->dir, path, stamp, k);
        if (access(to, F_OK) != 0)
            break;
        if (k > 10000)
            return -EEXIST;
    }
    if (rename(from, to) != 0)
        return -errno;
    return 0;
}

/* Reads one journal: batches written go into the seen set; returns the
 * last "B" line without its "C" (malloc'ed) through *open_out. */
static int journal_read(struct nc_logger *lg, const char *name, char **open_out)
{
    char jpath[4096];
    *open_out = NULL;
    snprintf(jpath, sizeof(jpath), "%s/%s", lg->dir, name);
    FILE *f = fopen(jpath, "r");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    char *line = NULL, *open_b = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = 0;
        if (line[0] == 'B' && line[1] == ' ') {
            free(open_b);
            open_b = strdup(line);
        } else if (strcmp(line, "C") == 0 && open_b) {
            char node[SL_WIRE_MAX_NAME + 1];
            unsigned long long seq;
            if (sscanf(open_b, "B %255s %llu", node, &seq) == 2)
                sl_wire_seen_add(lg->seen, node, seq);
            free(open_b);
            open_b = NULL;
        }
    }
    free(line);
    fclose(f);
    *open_out = open_b;
    return 0;
}

static int journal_recover(struct nc_logger *lg)
{
    char *open_b = NULL;
    int rc = journal_read(lg, JOURNAL_OLD, &open_b);
    free(open_b); /* a generation ends between batches */
    open_b = NULL;
    if (rc == 0)
        rc = journal_read(lg, JOURNAL, &open_b);
    if (rc < 0 || !open_b)
        return rc;
    /* died inside a batch: cut every file it touched back */
    char *save = NULL, *tok = strtok_r(open_b, " ", &save);
    unsigned k = 0;
    for (; tok; tok = strtok_r(NULL, " ", &save), k++) {
        char *eq = strrchr(tok, '=');
        if (k < 3 || !eq)
            continue;
        *eq = 0;
        char fpath[4096];
        if (file_name(lg, tok, fpath, sizeof(fpath)) < 0)
            continue;
        long long size = atoll(eq + 1);
        if (truncate(fpath, size) != 0 && errno != ENOENT)
            nc_err("journal recovery: truncate %s: %s", fpath, strerror(errno));
        else
            nc_info("journal recovery: cut %s back to %lld bytes (batch interrupted)", fpath, size);
    }
    free(open_b);
    return 0;
}

/* Rotates away the <path>.log files a previous run left. */
static int rotate_leftovers(struct nc_logger *lg)
{
    DIR *d = opendir(lg->dir);
    if (!d)
        return -errno;
    struct dirent *e;
    char names[256][128];
    unsigned n = 0;
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (len < 5 || len >= 128 || strcmp(e->d_name + len - 4, ".log") != 0)
            continue;
        /* only un-rotated files: <path>.log with no '.' in <path> */
        if (memchr(e->d_name, '.', len - 4))
            continue;
        snprintf(names[n], sizeof(names[n]), "%.*s", (int)(len - 4), e->d_name);
        n++;
    }
    closedir(d);
    for (unsigned i = 0; i < n; i++) {
        char fpath[4096];
        struct stat sb;
        if (file_name(lg, names[i], fpath, sizeof(fpath)) < 0)
            continue;
        double when = stat(fpath, &sb) == 0 ? (double)sb.st_mtime : nc_wall();
        int rc = rotate_file(lg, names[i], when);
        if (rc < 0)
            nc_err("rotating leftover %s: %s", fpath, strerror(-rc));
        else
            nc_info("kept %s from a previous run under a rotated name", fpath);
    }
    return 0;
}

struct nc_logger *nc_logger_new(const char *dir, enum sl_log_format fmt, double rotate_interval)
{
    struct nc_logger *lg = calloc(1, sizeof(*lg));
    if (!lg)
        return NULL;
    lg->dir = strdup(dir);
    lg->fmt = fmt;
    lg->rotate_interval = rotate_interval;
    lg->last_rotate = nc_mono();
    lg->seen = sl_wire_seen_new();
    lg->seen_old = sl_wire_seen_new();
    lg->gen_started = nc_mono();
    if (!lg->dir || !lg->seen || !lg->seen_old)
        goto fail;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        nc_err("mkdir %s: %s", dir, strerror(errno));
        goto fail;
    }
    int rc = journal_recover(lg);
    if (rc == 0)
        rc = rotate_leftovers(lg);
    if (rc < 0) {
        nc_err("log directory %s: %s", dir, strerror(-rc));
        goto fail;
    }
    char jpath[4096];
    snprintf(jpath, sizeof(jpath), "%s/%s", dir, JOURNAL);
    lg->journal = fopen(jpath, "a");
    if (!lg->journal) {
        nc_err("%s: %s", jpath, strerror(errno));
        goto fail;
    }
    return lg;
fail:
    nc_logger_free(lg);
    return NULL;
}

static struct stream *stream_for(struct nc_logger *lg, const struct sl_log_schema *s)
{
    for (unsigned i = 0; i < lg->n_st; i++) {
        struct stream *st = &lg->st[i];
        if (strcmp(st->path, s->path) != 0)
            continue;
        if (st->w && !same_schema(&st->schema, s)) {
            /* another column set for this path: a new file for it */
            nc_info("%s: columns changed, rotating", s->path);
            sl_log_close(st->w, nc_wall());
            st->w = NULL;
            rotate_file(lg, st->path, st->opened);
            lg->stats.rotations++;
        }
        if (!st->w) {
            free_schema(&st->schema);
            if (copy_schema(&st->schema, s) < 0)
                return NULL;
        }
        return st;
    }
    if (lg->n_st == lg->cap_st) {
        unsigned cap = lg->cap_st ? lg->cap_st * 2 : 16;
        struct stream *n = realloc(lg->st, cap * sizeof(*n));
        if (!n)
            return NULL;
        lg->st = n;
        lg->cap_st = cap;
    }
    struct stream *st = &lg->st[lg->n_st];
    memset(st, 0, sizeof(*st));
    st->path = strdup(s->path);
    if (!st->path || copy_schema(&st->schema, s) < 0) {
        free(st->path);
        free_schema(&st->schema);
        return NULL;
    }
    lg->n_st++;
    return st;
}

static long long file_size(struct nc_logger *lg, const char *path)
{
    char f[4096];
    struct stat sb;
    if (file_name(lg, path, f, sizeof(f)) < 0)
        return 0;
    return stat(f, &sb) == 0 ? (long long)sb.st_size : 0;
}

int nc_logger_batch(struct nc_logger *lg, const struct sl_wire_log *b)
{
    if (sl_wire_seen_has(lg->seen, b->node, b->seq) ||
        sl_wire_seen_has(lg->seen_old, b->node, b->seq)) {
        lg->stats.dup_batches++;
        for (uint32_t i = 0; i < b->n_sections; i++)
            lg->stats.dup_records += b->sections[i].n_records;
        return 0;
    }
    struct stream *sts[1024];
    /* open what is needed first, so that recorded sizes include headers */
    for (uint32_t i = 0; i < b->n_sections; i++) {
        sts[i] = stream_for(lg, &b->sections[i].schema);
        if (!sts[i])
            return -ENOMEM;
        if (!sts[i]->w) {
            sts[i]->w = sl_log_open(lg->dir, &sts[i]->schema, lg->fmt, nc_wall());
            sts[i]->opened = nc_wall();
            if (!sts[i]->w) {
                int e = errno;
                nc_err("open %s/%s.log: %s", lg->dir, sts[i]->path, strerror(e));
                lg->stats.errors++;
                return -e;
            }
        }
    }
    fflush(NULL);
    fprintf(lg->journal, "B %s %llu", b->node, (unsigned long long)b->seq);
    for (uint32_t i = 0; i < b->n_sections; i++)
        fprintf(lg->journal, " %s=%lld", sts[i]->path, file_size(lg, sts[i]->path));
    fputc('\n', lg->journal);
    if (fflush(lg->journal) != 0)
        return -EIO;
    uint64_t records = 0;
    for (uint32_t i = 0; i < b->n_sections; i++) {
        const struct sl_wire_section *sec = &b->sections[i];
        for (uint32_t r = 0; r < sec->n_records; r++) {
            int rc = sl_log_write(sts[i]->w, sec->vals + (size_t)r * sec->schema.n_fields);
            if (rc < 0) {
                lg->stats.errors++;
                nc_err("write %s.log: %s", sts[i]->path, strerror(-rc));
                return rc;
            }
            records++;
        }
    }
    /* fflush(NULL): sl_log's FILEs are private; this writes them all out */
    if (fflush(NULL) != 0) {
        lg->stats.errors++;
        return -EIO;
    }
    fputs("C\n", lg->journal);
    if (fflush(lg->journal) != 0)
        return -EIO;
    sl_wire_seen_add(lg->seen, b->node, b->seq);
    lg->stats.batches++;
    lg->stats.records += records;
    return 1;
}

int nc_logger_rotate(struct nc_logger *lg)
{
    int rc = 0;
    for (unsigned i = 0; i < lg->n_st; i++) {
        struct stream *st = &lg->st[i];
        if (!st->w)
            continue;
        sl_log_close(st->w, nc_wall());
        st->w = NULL;
        int r = rotate_file(lg, st->path, st->opened);
        if (r < 0) {
            nc_err("rotate %s: %s", st->path, strerror(-r));
            rc = r;
        }
        lg->stats.rotations++;
    }
    lg->last_rotate = nc_mono();
    return rc;
}

/* A new generation of the written-batch set and of the journal. */
static void new_generation(struct nc_logger *lg)
{
    char from[4096], to[4200];
    struct sl_wire_seen *fresh = sl_wire_seen_new();
    if (!fresh)
        return; /* try again next tick */
    snprintf(from, sizeof(from), "%s/%s", lg->dir, JOURNAL);
    snprintf(to, sizeof(to), "%s/%s", lg->dir, JOURNAL_OLD);
    fclose(lg->journal);
    if (rename(from, to) != 0)
        nc_err("journal: rename %s: %s", from, strerror(errno));
    lg->journal = fopen(from, "a");
    if (!lg->journal) {
        nc_err("journal: %s: %s", from, strerror(errno));
        lg->journal = fopen("/dev/null", "a"); /* batches go on; recovery is weaker */
    }
    sl_wire_seen_free(lg->seen_old);
    lg->seen_old = lg->seen;
    lg->seen = fresh;
    lg->gen_started = nc_mono();
}

void nc_logger_tick(struct nc_logger *lg)
{
    if (nc_mono() - lg->gen_started >= GENERATION)
        new_generation(lg);
    if (lg->rotate_interval > 0 && nc_mono() - lg->last_rotate >= lg->rotate_interval)
        nc_logger_rotate(lg);
}

void nc_logger_free(struct nc_logger *lg)
{
    if (!lg)
        return;
    for (unsigned i = 0; i < lg->n_st; i++) {
        if (lg->st[i].w && sl_log_close(lg->st[i].w, nc_wall()) < 0)
            nc_err("closing %s.log failed", lg->st[i].path);
        free(lg->st[i].path);
        free_schema(&lg->st[i].schema);
    }
    free(lg->st);
    if (lg->journal)
        fclose(lg->journal);
    sl_wire_seen_free(lg->seen);
    sl_wire_seen_free(lg->seen_old);
    free(lg->dir);
    free(lg);
}

void nc_logger_stats(const struct nc_logger *lg, struct nc_logger_stats *st)
{
    *st = lg->stats;
    st->streams = 0;
    for (unsigned i = 0; i < lg->n_st; i++)
        st->streams += lg->st[i].w != NULL;
}

void nc_logger_count(const struct nc_logger *lg, struct nc_counters *c)
{
    struct nc_logger_stats st;
    nc_logger_stats(lg, &st);
    nc_count_set(c, "log_batches", st.batches);
    nc_count_set(c, "log_records", st.records);
    nc_count_set(c, "log_dup_batches", st.dup_batches);
    nc_count_set(c, "log_dup_records", st.dup_records);
    nc_count_set(c, "log_rotations", st.rotations);
    nc_count_set(c, "log_errors", st.errors);
}

void nc_logger_serve(struct nc_logger *lg, void *router, const char *node, const char *from,
                     const struct sl_wire_msg *m, uint64_t *garbage)
{
    if (m->type != SL_WIRE_LOG) {
        nc_err("unexpected %s message from '%s' on the log port; ignored",
               sl_wire_type_name(m->type), from);
        if (garbage)
            (*garbage)++;
        return;
    }
    if (m->u.log.n_sections > 1024) {
        nc_err("log batch from '%s' with %u sections; ignored", from, m->u.log.n_sections);
        return;
    }
    int rc = nc_logger_batch(lg, &m->u.log);
    if (rc < 0)
        return; /* not acknowledged: the sender will try again */
    struct sl_wire_ack a = {
        .node = node, .of_type = SL_WIRE_LOG, .origin = m->u.log.node, .seq = m->u.log.seq};
    struct sl_wire_buf b = {0};
    if (sl_wire_enc_ack(&b, &a) == 0) {
        int r = nc_send(router, from, b.data, b.len, ZMQ_DONTWAIT);
        if (r < 0 && r != -EHOSTUNREACH)
            nc_err("ack to '%s': %s", from, zmq_strerror(-r));
    }
    sl_wire_buf_free(&b);
}
