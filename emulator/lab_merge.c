/* lab_merge: see lab_merge.h. */
#include "lab_merge.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lab_state.h"

struct line {
    double ts;
    size_t seq;
    char *s;
};

struct merged {
    char *header; /* first file's leading '#' lines */
    char *close;  /* the last #close line seen */
    struct line *v;
    size_t n, cap;
};

static double row_ts(const char *s)
{
    if (s[0] == '{') {
        const char *t = strstr(s, "\"ts\":");
        return t ? strtod(t + 5, NULL) : 0;
    }
    return strtod(s, NULL);
}

static int add_line(struct merged *m, const char *s, size_t len)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        struct line *v = realloc(m->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    char *c = strndup(s, len);
    if (!c)
        return -ENOMEM;
    m->v[m->n] = (struct line){row_ts(c), m->n, c};
    m->n++;
    return 0;
}

static int read_one(const char *path, struct merged *m)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char *line = NULL, *hdr = NULL;
    size_t cap = 0, hlen = 0;
    ssize_t n;
    bool first = m->header == NULL;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (line[0] == '#') {
            if (strncmp(line, "#close", 6) == 0) {
                free(m->close);
                m->close = strdup(line);
            } else if (first) {
                char *h = realloc(hdr, hlen + (size_t)n + 2);
                if (!h) {
                    rc = -ENOMEM;
                    break;
                }
                hdr = h;
                memcpy(hdr + hlen, line, (size_t)n);
                hlen += (size_t)n;
                hdr[hlen++] = '\n';
                hdr[hlen] = '\0';
            }
            continue;
        }
        if (n && (rc = add_line(m, line, (size_t)n)) < 0)
            break;
    }
    free(line);
    fclose(f);
    if (first)
        m->header = hdr ? hdr : strdup("");
    else
        free(hdr);
    return rc;
}

static int cmp_line(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int write_merged(const char *path, struct merged *m)
{
    if (m->n)
        qsort(m->v, m->n, sizeof(*m->v), cmp_line);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(m->header ? m->header : "", f);
    for (size_t i = 0; i < m->n; i++) {
        fputs(m->v[i].s, f);
        fputc('\n', f);
    }
    if (m->close) {
        fputs(m->close, f);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -errno;
}

static void merged_free(struct merged *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].s);
    free(m->v);
    free(m->header);
    free(m->close);
    memset(m, 0, sizeof(*m));
}

/* The distinct *.log names in dirs. */
static int names_of(char *const *dirs, unsigned n, char ***out, unsigned *n_out)
{
    char **v = NULL;
    unsigned k = 0;
    for (unsigned d = 0; d < n; d++) {
        DIR *dp = opendir(dirs[d]);
        if (!dp)
            continue; /* a logger that wrote nothing */
        struct dirent *de;
        while ((de = readdir(dp)) != NULL) {
            size_t len = strlen(de->d_name);
            if (len <= 4 || strcmp(de->d_name + len - 4, ".log") != 0)
                continue;
            bool dup = false;
            for (unsigned i = 0; i < k; i++)
                dup |= strcmp(v[i], de->d_name) == 0;
            if (dup)
                continue;
            char **nv = realloc(v, (k + 1) * sizeof(char *));
            if (!nv || !(nv[k] = strdup(de->d_name))) {
                free(nv ? nv : v);
                closedir(dp);
                return -ENOMEM;
            }
            v = nv;
            k++;
        }
        closedir(dp);
    }
    *out = v;
    *n_out = k;
    return 0;
}

int lab_merge_logs(char *const *dirs, unsigned n, const char *out_dir, FILE *err)
{
    char **names;
    unsigned k;
    int rc = lab_mkdir_p(out_dir, 0755);
    if (rc < 0 || (rc = names_of(dirs, n, &names, &k)) < 0) {
        fprintf(err, "sluicectl: merge into %s: %s\n", out_dir, strerror(-rc));
        return rc;
    }
    int written = 0;
    for (unsigned i = 0; i < k && rc == 0; i++) {
        struct merged m = {0};
        char path[4096];
        for (unsigned d = 0; d < n && rc == 0; d++) {
            snprintf(path, sizeof(path), "%s/%s", dirs[d], names[i]);
            rc = read_one(path, &m);
            if (rc == -ENOENT)
                rc = 0;
        }
        snprintf(path, sizeof(path), "%s/%s", out_dir, names[i]);
        if (rc == 0)
            rc = write_merged(path, &m);
        if (rc < 0)
            fprintf(err, "sluicectl: merge %s: %s\n", path, strerror(-rc));
        else
            written++;
        merged_free(&m);
    }
    for (unsigned i = 0; i < k; i++)
        free(names[i]);
    free(names);
    return rc < 0 ? rc : written;
}
