/* lab_equiv: order-insensitive comparison of two Zeek log directories.
 * See lab_equiv.h. */
#include "lab_equiv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Dropped columns: random per process, or the writing node's name. */
static const char *const drop_cols[] = {"uid",       "fuid", "uids",       "fuids",
                                        "conn_uids", "peer", "peer_descr", NULL};
/* Logs that describe a node, not the traffic. */
static const char *const skip_logs[] = {"stats",          "capture_loss",  "reporter",
                                        "loaded_scripts", "packet_filter", "cluster",
                                        "broker",         "print",         NULL};
/* JSON columns that are a time or an interval. */
static const char *const json_clocks[] = {"ts", "duration", "rtt", "ts_delta", NULL};
/* JSON arrays whose order means something (vectors); other arrays are sets. */
static const char *const json_vectors[] = {"answers", "TTLs", NULL};

static bool in_list(const char *s, const char *const *l)
{
    for (; *l; l++)
        if (strcmp(s, *l) == 0)
            return true;
    return false;
}

/* ---- growable string ---------------------------------------------------- */

struct sbuf {
    char *s;
    size_t n, cap;
};

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *v = realloc(b->s, cap);
        if (!v)
            return -ENOMEM;
        b->s = v;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

static int sb_str(struct sbuf *b, const char *s)
{
    return sb_add(b, s, strlen(s));
}

/* ---- uid -> 5-tuple map (open addressing) -------------------------------- */

struct uidmap {
    char **key, **val;
    size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int um_grow(struct uidmap *m);

static int um_put(struct uidmap *m, const char *k, const char *v)
{
    if ((m->n + 1) * 2 > m->cap && um_grow(m) < 0)
        return -ENOMEM;
    size_t i = str_hash(k) & (m->cap - 1);
    while (m->key[i] && strcmp(m->key[i], k) != 0)
        i = (i + 1) & (m->cap - 1);
    if (m->key[i])
        return 0;
    m->key[i] = strdup(k);
    m->val[i] = strdup(v);
    if (!m->key[i] || !m->val[i])
        return -ENOMEM;
    m->n++;
    return 0;
}

static int um_grow(struct uidmap *m)
{
    struct uidmap nm = {0};
    nm.cap = m->cap ? 2 * m->cap : 1024;
    nm.key = calloc(nm.cap, sizeof(char *));
    nm.val = calloc(nm.cap, sizeof(char *));
    if (!nm.key || !nm.val) {
        free(nm.key);
        free(nm.val);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->key[i])
            continue;
        size_t j = str_hash(m->key[i]) & (nm.cap - 1);
        while (nm.key[j])
            j = (j + 1) & (nm.cap - 1);
        nm.key[j] = m->key[i];
        nm.val[j] = m->val[i];
        nm.n++;
    }
    free(m->key);
    free(m->val);
    *m = nm;
    return 0;
}

static const char *um_get(const struct uidmap *m, const char *k)
{
    if (!m->cap)
        return NULL;
    size_t i = str_hash(k) & (m->cap - 1);
    while (m->key[i]) {
        if (strcmp(m->key[i], k) == 0)
            return m->val[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static void um_free(struct uidmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->key[i]);
        free(m->val[i]);
    }
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof(*m));
}

/* ---- one log file, parsed into fields + cells ---------------------------- */

#define MAX_COLS 256

struct cell {
    const char *name;
    char *val;  /* NULL: unset / absent */
    bool set;   /* a set (sorted on normalisation) */
    bool clock; /* a time or interval: when the packets were seen */
};

struct row {
    struct cell c[MAX_COLS];
    unsigned n;
};

struct logfile {
    char *text;   /* the whole file, split in place */
    char **lines; /* data lines */
    size_t n_lines;
    bool json;
    char sep, set_sep[8], unset[16], empty[16];
    char *fields[MAX_COLS], *types[MAX_COLS];
    unsigned nf, nt;
};

static void lf_free(struct logfile *f)
{
    free(f->text);
    free(f->lines);
    memset(f, 0, sizeof(*f));
}

/* "\x09" -> tab; other text as is. */
static void unescape_sep(const char *s, char *out, size_t len)
{
    size_t o = 0;
    while (*s && o + 1 < len) {
        unsigned v;
        if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
            out[o++] = (char)v;
            s += 4;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
}

static unsigned split(char *s, char sep, char **out, unsigned max)
{
    unsigned n = 0;
    for (;;) {
        if (n < max)
            out[n] = s;
        n++;
        char *e = strchr(s, sep);
        if (!e)
            break;
        *e = '\0';
        s = e + 1;
    }
    return n;
}

static int header_line(struct logfile *f, char *line)
{
    char *sp = line + strcspn(line, " \t");
    char *val = *sp ? sp + 1 : sp;
    *sp = '\0';
    if (strcmp(line, "#separator") == 0) {
        char b[8];
        unescape_sep(val, b, sizeof(b));
        f->sep = b[0] ? b[0] : '\t';
    } else if (strcmp(line, "#set_separator") == 0) {
        snprintf(f->set_sep, sizeof(f->set_sep), "%s", val);
    } else if (strcmp(line, "#unset_field") == 0) {
        snprintf(f->unset, sizeof(f->unset), "%s", val);
    } else if (strcmp(line, "#empty_field") == 0) {
        snprintf(f->empty, sizeof(f->empty), "%s", val);
    } else if (strcmp(line, "#fields") == 0) {
        f->nf = split(val, f->sep, f->fields, MAX_COLS);
        if (f->nf > MAX_COLS)
            return -E2BIG;
    } else if (strcmp(line, "#types") == 0) {
        f->nt = split(val, f->sep, f->types, MAX_COLS);
        if (f->nt > MAX_COLS)
            return -E2BIG;
    }
    return 0;
}

static int lf_load(const char *path, struct logfile *f)
{
    memset(f, 0, sizeof(*f));
    f->sep = '\t';
    snprintf(f->set_sep, sizeof(f->set_sep), ",");
    snprintf(f->unset, sizeof(f->unset), "-");
    snprintf(f->empty, sizeof(f->empty), "(empty)");
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -errno;
    struct sbuf b = {0};
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        if ((rc = sb_add(&b, chunk, n)) < 0)
            break;
    fclose(fp);
    if (rc < 0) {
        free(b.s);
        return rc;
    }
    if (!b.s && sb_str(&b, "") < 0)
        return -ENOMEM;
    f->text = b.s;
    size_t cap = 1024;
    f->lines = malloc(cap * sizeof(char *));
    if (!f->lines)
        return -ENOMEM;
    char *line = f->text;
    while (*line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (line[0] == '#') {
            if ((rc = header_line(f, line)) < 0)
                return rc;
        } else if (line[0]) {
            if (line[0] == '{')
                f->json = true;
            if (f->n_lines == cap) {
                char **v = realloc(f->lines, 2 * cap * sizeof(char *));
                if (!v)
                    return -ENOMEM;
                f->lines = v;
                cap *= 2;
            }
            f->lines[f->n_lines++] = line;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    if (!f->json && f->n_lines && !f->nf)
        return -EBADMSG; /* TSV rows without a #fields header */
    return 0;
}

/* ---- JSON lines: a small scanner for Zeek's flat objects ----------------- */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* Skips a JSON string starting at p ('"'); returns past its closing quote. */
static const char *json_skip_str(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_skip_scalar(const char *p)
{
    if (*p == '"')
        return json_skip_str(p);
    while (*p && *p != ',' && *p != ']' && *p != '}' && *p != ' ')
        p++;
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An array value: its elements, sorted unless `keep_order`, joined by ','. */
static const char *json_array(const char *p, bool keep_order, char **out)
{
    char *el[1024];
    unsigned n = 0;
    struct sbuf b = {0};
    p = json_ws(p + 1);
    while (*p && *p != ']') {
        const char *e = json_skip_scalar(p);
        if (!e || e == p || n == 1024)
            goto fail;
        if (!(el[n] = strndup(p, (size_t)(e - p))))
            goto fail;
        n++;
        p = json_ws(e);
        if (*p == ',')
            p = json_ws(p + 1);
    }
    if (*p != ']')
        goto fail;
    if (!keep_order && n)
        qsort(el, n, sizeof(el[0]), cmp_str);
    sb_str(&b, "[");
    for (unsigned i = 0; i < n; i++) {
        if (i)
            sb_str(&b, ",");
        sb_str(&b, el[i]);
        free(el[i]);
    }
    if (sb_str(&b, "]") < 0)
        goto fail_nofree;
    *out = b.s;
    return p + 1;
fail:
    for (unsigned i = 0; i < n; i++)
        free(el[i]);
fail_nofree:
    free(b.s);
    return NULL;
}

static void row_free(struct row *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        free(r->c[i].val);
        free((char *)r->c[i].name);
    }
    r->n = 0;
}

static int json_row(const char *line, struct row *r)
{
    const char *p = json_ws(line);
    r->n = 0;
    if (*p != '{')
        return -EBADMSG;
    p = json_ws(p + 1);
    while (*p && *p != '}') {
        if (*p != '"' || r->n == MAX_COLS)
            return -EBADMSG;
        const char *ke = json_skip_str(p);
        if (!ke)
            return -EBADMSG;
        char *name = strndup(p + 1, (size_t)(ke - p - 2));
        p = json_ws(ke);
        if (!name || *p != ':') {
            free(name);
            return -EBADMSG;
        }
        p = json_ws(p + 1);
        char *val = NULL;
        if (*p == '[') {
            p = json_array(p, in_list(name, json_vectors), &val);
        } else {
            const char *e = json_skip_scalar(p);
            if (e && e > p)
                val = strndup(p, (size_t)(e - p));
            p = e;
        }
        r->c[r->n].name = name;
        r->c[r->n].val = val;
        r->c[r->n].set = false;
        /* JSON has no types: Zeek's time/interval columns by name */
        r->c[r->n].clock = in_list(name, json_clocks);
        r->n++;
        if (!p || !val)
            return -EBADMSG;
        p = json_ws(p);
        if (*p == ',')
            p = json_ws(p + 1);
    }
    return *p == '}' ? 0 : -EBADMSG;
}

static int tsv_row(const struct logfile *f, char *line, struct row *r)
{
    char *cells[MAX_COLS];
    unsigned n = split(line, f->sep, cells, MAX_COLS);
    r->n = 0;
    if (n != f->nf)
        return -EBADMSG;
    for (unsigned i = 0; i < n; i++) {
        r->c[i].name = strdup(f->fields[i]);
        r->c[i].val = strcmp(cells[i], f->unset) == 0 ? NULL : strdup(cells[i]);
        r->c[i].set = i < f->nt && strncmp(f->types[i], "set[", 4) == 0;
        r->c[i].clock =
            i < f->nt && (strcmp(f->types[i], "time") == 0 || strcmp(f->types[i], "interval") == 0);
        r->n++;
        if (!r->c[i].name)
            return -ENOMEM;
    }
    return 0;
}

/* ---- normalisation ------------------------------------------------------- */

static const char *cell(const struct row *r, const char *name)
{
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->c[i].name, name) == 0)
            return r->c[i].val;
    return NULL;
}

static char *strip_quotes(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        snprintf(buf, len, "%.*s", (int)(n - 2), s + 1);
    else
        snprintf(buf, len, "%s", s);
    return buf;
}

/* conn.log: uid -> "orig_h:orig_p>resp_h:resp_p/proto" */
static int conn_tuples(const char *dir, struct uidmap *m, FILE *err)
{
    char path[4096];
    struct logfile f;
    struct row r = {0};
    snprintf(path, sizeof(path), "%s/conn.log", dir);
    int rc = lf_load(path, &f);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0) {
        fprintf(err, "%s: %s\n", path, strerror(-rc));
        lf_free(&f);
        return rc;
    }
    for (size_t i = 0; i < f.n_lines && rc == 0; i++) {
        rc = f.json ? json_row(f.lines[i], &r) : tsv_row(&f, f.lines[i], &r);
        if (rc == 0) {
            char u[128], a[64], b[64], p[16], t[256];
            const char *uid = cell(&r, "uid"), *oh = cell(&r, "id.orig_h"),
                       *op = cell(&r, "id.orig_p"), *rh = cell(&r, "id.resp_h"),
                       *rp = cell(&r, "id.resp_p"), *pr = cell(&r, "proto");
            if (uid && oh && op && rh && rp && pr) {
                snprintf(t, sizeof(t), "%s:%s>%s:%s/%s", strip_quotes(oh, a, sizeof(a)), op,
                         strip_quotes(rh, b, sizeof(b)), rp, strip_quotes(pr, p, sizeof(p)));
                rc = um_put(m, strip_quotes(uid, u, sizeof(u)), t);
            }
        } else {
            fprintf(err, "%s: malformed row %zu\n", path, i + 1);
        }
        row_free(&r);
    }
    lf_free(&f);
    return rc;
}

/* A set's elements (text, separated by sep) mapped and sorted, joined by sep. */
static char *norm_set(const char *val, const char *sep, bool tunnel, const struct uidmap *m)
{
    char *copy = strdup(val), *el[1024];
    unsigned n = 0;
    struct sbuf b = {0};
    if (!copy)
        return NULL;
    bool json = copy[0] == '[';
    char *s = json ? copy + 1 : copy;
    if (json && *s && s[strlen(s) - 1] == ']')
        s[strlen(s) - 1] = '\0';
    const char *sp = json ? "," : sep;
    for (char *tok = *s ? s : NULL; tok && n < 1024;) {
        char *e = strstr(tok, sp);
        if (e)
            *e = '\0';
        el[n++] = tok;
        tok = e ? e + strlen(sp) : NULL;
    }
    char tmp[128];
    const char *mapped[1024];
    for (unsigned i = 0; i < n; i++) {
        const char *t = tunnel ? um_get(m, strip_quotes(el[i], tmp, sizeof(tmp))) : NULL;
        /* IP tunnels (IP-in-IP, GRE) have a uid but no conn.log row: only
         * their number can be compared */
        mapped[i] = t ? t : tunnel ? "(an IP tunnel)" : el[i];
    }
    if (n)
        qsort(mapped, n, sizeof(mapped[0]), cmp_str);
    if (json)
        sb_str(&b, "[");
    for (unsigned i = 0; i < n; i++) {
        if (i)
            sb_str(&b, sp);
        sb_str(&b, mapped[i]);
    }
    if (json)
        sb_str(&b, "]");
    if (!b.s)
        sb_str(&b, "");
    free(copy);
    return b.s;
}

/* A copy of v with each elapsed time Zeek writes into a text ("in 2m13s",
 * Scan's and others' messages) replaced by "?m?s": with LAB_EQUIV_NO_TIME
 * such a text carries the live capture's clock too. NULL when none (or out
 * of memory: then the value is compared as it is). */
static char *mask_durations(const char *v)
{
    char *out = NULL;
    for (size_t i = 0; v[i]; i++) {
        if (!isdigit((unsigned char)v[i]) || (i && isalnum((unsigned char)v[i - 1])))
            continue;
        size_t j = i;
        while (isdigit((unsigned char)v[j]))
            j++;
        if (v[j] != 'm' || !isdigit((unsigned char)v[j + 1]))
            continue;
        size_t k = j + 1;
        while (isdigit((unsigned char)v[k]))
            k++;
        if (v[k] != 's' || isalnum((unsigned char)v[k + 1]))
            continue;
        if (!out && !(out = strdup(v)))
            return NULL;
        /* out is v with earlier masks, which never change its length */
        memset(out + i, '?', j - i);
        memset(out + j + 1, '?', k - j - 1);
        i = k;
    }
    return out;
}

/* The normalised text of a row: "name=value" for every kept column. */
static char *norm_row(struct row *r, const struct logfile *f, const struct uidmap *m,
                      unsigned flags)
{
    struct sbuf b = {0};
    for (unsigned i = 0; i < r->n; i++) {
        struct cell *c = &r->c[i];
        if (in_list(c->name, drop_cols) || (c->clock && (flags & LAB_EQUIV_NO_TIME)))
            continue;
        const char *v = c->val ? c->val : f->unset;
        char *nv = NULL;
        bool tunnel = strcmp(c->name, "tunnel_parents") == 0;
        if (c->val && (c->set || tunnel || (f->json && c->val[0] == '[')) &&
            strcmp(c->val, f->empty) != 0) {
            nv = norm_set(c->val, f->set_sep, tunnel, m);
            if (!nv)
                goto fail;
            v = nv;
        } else if (c->val && (flags & LAB_EQUIV_NO_TIME) && (nv = mask_durations(c->val))) {
            v = nv;
        }
        int rc = 0;
        if (b.n)
            rc |= sb_str(&b, "\t");
        rc |= sb_str(&b, c->name);
        rc |= sb_str(&b, "=");
        rc |= sb_str(&b, v);
        free(nv);
        if (rc)
            goto fail;
    }
    if (!b.s && sb_str(&b, "") < 0)
        return NULL;
    return b.s;
fail:
    free(b.s);
    return NULL;
}

struct rowset {
    char **v;
    size_t n;
    char fields[1024];
};

static void rs_free(struct rowset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Loads DIR/<path>.log as sorted normalised rows; a missing file is empty. */
static int load_rows(const char *dir, const char *path, const struct uidmap *m, unsigned flags,
                     struct rowset *s, FILE *err)
{
    char file[4096];
    struct logfile f;
    struct row *r = calloc(1, sizeof(*r));
    memset(s, 0, sizeof(*s));
    if (!r)
        return -ENOMEM;
    snprintf(file, sizeof(file), "%s/%s.log", dir, path);
    int rc = lf_load(file, &f);
    if (rc == -ENOENT) {
        lf_free(&f);
        free(r);
        return 0;
    }
    if (rc < 0) {
        fprintf(err, "%s: %s\n", file,
                rc == -EBADMSG ? "rows without a #fields header" : strerror(-rc));
        goto out;
    }
    for (unsigned i = 0, o = 0; i < f.nf; i++) {
        if (in_list(f.fields[i], drop_cols))
            continue;
        o += (unsigned)snprintf(s->fields + o, o < sizeof(s->fields) ? sizeof(s->fields) - o : 0,
                                "%s%s", o ? "\t" : "", f.fields[i]);
        if (o >= sizeof(s->fields))
            break;
    }
    s->v = malloc((f.n_lines ? f.n_lines : 1) * sizeof(char *));
    if (!s->v) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < f.n_lines; i++) {
        rc = f.json ? json_row(f.lines[i], r) : tsv_row(&f, f.lines[i], r);
        if (rc < 0) {
            fprintf(err, "%s: row %zu does not match the #fields header\n", file, i + 1);
            row_free(r);
            goto out;
        }
        const char *note = strcmp(path, "notice") == 0 ? cell(r, "note") : NULL;
        if (note && strstr(note, "CaptureLoss::") == note + (note[0] == '"')) {
            row_free(r); /* about the node, not the traffic */
            continue;
        }
        char *t = norm_row(r, &f, m, flags);
        row_free(r);
        if (!t) {
            rc = -ENOMEM;
            goto out;
        }
        s->v[s->n++] = t;
    }
    if (s->n)
        qsort(s->v, s->n, sizeof(char *), cmp_str);
out:
    lf_free(&f);
    free(r);
    return rc;
}

static void diff_rows(const struct rowset *a, const struct rowset *b, struct lab_equiv_log *l)
{
    size_t i = 0, j = 0;
    l->rows_a = a->n;
    l->rows_b = b->n;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
        if (c == 0) {
            i++, j++;
        } else if (c < 0) {
            if (l->n_ex_a < LAB_EQUIV_EXAMPLES)
                l->ex_a[l->n_ex_a++] = strdup(a->v[i]);
            l->only_a++, i++;
        } else {
            if (l->n_ex_b < LAB_EQUIV_EXAMPLES)
                l->ex_b[l->n_ex_b++] = strdup(b->v[j]);
            l->only_b++, j++;
        }
    }
}

/* Adds the log paths found in dir (without ".log") to names. */
static int list_logs(const char *dir, char ***names, unsigned *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || strcmp(de->d_name + len - 4, ".log") != 0 || len - 4 >= 64)
            continue;
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(len - 4), de->d_name);
        if (in_list(name, skip_logs))
            continue;
        bool dup = false;
        for (unsigned i = 0; i < *n; i++)
            dup |= strcmp((*names)[i], name) == 0;
        if (dup)
            continue;
        char **v = realloc(*names, (*n + 1) * sizeof(char *));
        if (!v) {
            closedir(d);
            return -ENOMEM;
        }
        *names = v;
        if (!(v[*n] = strdup(name))) {
            closedir(d);
            return -ENOMEM;
        }
        (*n)++;
    }
    closedir(d);
    return 0;
}

int lab_equiv_compare(const char *dir_a, const char *dir_b, unsigned flags, struct lab_equiv *e,
                      FILE *err)
{
    struct uidmap ma = {0}, mb = {0};
    char **names = NULL;
    unsigned n = 0;
    int rc;
    memset(e, 0, sizeof(*e));
    if ((rc = list_logs(dir_a, &names, &n)) < 0 || (rc = list_logs(dir_b, &names, &n)) < 0) {
        fprintf(err, "sluicectl: cannot list logs in %s or %s: %s\n", dir_a, dir_b, strerror(-rc));
        goto out;
    }
    if (n)
        qsort(names, n, sizeof(char *), cmp_str);
    if ((rc = conn_tuples(dir_a, &ma, err)) < 0 || (rc = conn_tuples(dir_b, &mb, err)) < 0)
        goto out;
    e->logs = calloc(n ? n : 1, sizeof(*e->logs));
    if (!e->logs) {
        rc = -ENOMEM;
        goto out;
    }
    e->equivalent = true;
    for (unsigned i = 0; i < n; i++) {
        struct rowset a, b;
        struct lab_equiv_log *l = &e->logs[e->n++];
        snprintf(l->path, sizeof(l->path), "%s", names[i]);
        if ((rc = load_rows(dir_a, names[i], &ma, flags, &a, err)) < 0)
            goto out;
        if ((rc = load_rows(dir_b, names[i], &mb, flags, &b, err)) < 0) {
            rs_free(&a);
            goto out;
        }
        snprintf(l->fields, sizeof(l->fields), "%s", a.fields[0] ? a.fields : b.fields);
        l->fields_differ = a.fields[0] && b.fields[0] && strcmp(a.fields, b.fields) != 0;
        diff_rows(&a, &b, l);
        /* weird.log: Zeek de-duplicates weirds per node (weird_ignore,
         * LOG_ONCE, LOG_PER_ORIG), so each worker logs its own first one:
         * the cluster may hold more rows, never fewer */
        l->superset = strcmp(l->path, "weird") == 0;
        if ((l->only_a && !l->superset) || l->only_b || l->fields_differ)
            e->equivalent = false;
        rs_free(&a);
        rs_free(&b);
    }
    rc = 0;
out:
    for (unsigned i = 0; i < n; i++)
        free(names[i]);
    free(names);
    um_free(&ma);
    um_free(&mb);
    return rc;
}

void lab_equiv_free(struct lab_equiv *e)
{
    for (unsigned i = 0; i < e->n; i++) {
        for (unsigned k = 0; k < e->logs[i].n_ex_a; k++)
            free(e->logs[i].ex_a[k]);
        for (unsigned k = 0; k < e->logs[i].n_ex_b; k++)
            free(e->logs[i].ex_b[k]);
    }
    free(e->logs);
    memset(e, 0, sizeof(*e));
}

void lab_equiv_print(const struct lab_equiv *e, const char *name_a, const char *name_b, FILE *out)
{
    fprintf(out, "equivalence (%s vs %s, rows without uid, order-insensitive): %s\n", name_a,
            name_b, e->equivalent ? "EQUIVALENT" : "DIFFERENT");
    for (unsigned i = 0; i < e->n; i++) {
        const struct lab_equiv_log *l = &e->logs[i];
        fprintf(out, "  %-16s %8llu rows vs %8llu  only in %s: %llu, only in %s: %llu%s%s\n",
                l->path, (unsigned long long)l->rows_a, (unsigned long long)l->rows_b, name_a,
                (unsigned long long)l->only_a, name_b, (unsigned long long)l->only_b,
                l->fields_differ ? "  (columns differ)" : "",
                l->superset && l->only_a && !l->only_b ? "  (per-node de-duplication: ok)" : "");
        for (unsigned k = 0; k < l->n_ex_a; k++)
            fprintf(out, "      only in %s: %s\n", name_a, l->ex_a[k]);
        for (unsigned k = 0; k < l->n_ex_b; k++)
            fprintf(out, "      only in %s: %s\n", name_b, l->ex_b[k]);
    }
}

/* conn.log rows keyed by "proto a:p <-> b:q" with the smaller endpoint
 * first, sorted. */
static int conn_keys(const char *dir, struct rowset *s, FILE *err)
{
    char path[4096];
    struct logfile f;
    struct row *r = calloc(1, sizeof(*r));
    memset(s, 0, sizeof(*s));
    if (!r)
        return -ENOMEM;
    snprintf(path, sizeof(path), "%s/conn.log", dir);
    int rc = lf_load(path, &f);
    if (rc == -ENOENT) {
        rc = 0;
        goto out;
    }
    if (rc < 0 || !(s->v = malloc((f.n_lines ? f.n_lines : 1) * sizeof(char *)))) {
        fprintf(err, "%s: %s\n", path, strerror(rc < 0 ? -rc : ENOMEM));
        rc = rc < 0 ? rc : -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < f.n_lines; i++) {
        if ((f.json ? json_row(f.lines[i], r) : tsv_row(&f, f.lines[i], r)) < 0) {
            row_free(r);
            continue;
        }
        char a[128], b[128], pr[16], q1[64], q2[64];
        const char *oh = cell(r, "id.orig_h"), *op = cell(r, "id.orig_p"),
                   *rh = cell(r, "id.resp_h"), *rp = cell(r, "id.resp_p"), *p = cell(r, "proto");
        if (oh && op && rh && rp && p) {
            snprintf(a, sizeof(a), "%s:%s", strip_quotes(oh, q1, sizeof(q1)), op);
            snprintf(b, sizeof(b), "%s:%s", strip_quotes(rh, q2, sizeof(q2)), rp);
            bool swap = strcmp(a, b) > 0;
            if (asprintf(&s->v[s->n], "%s %s <-> %s", strip_quotes(p, pr, sizeof(pr)), swap ? b : a,
                         swap ? a : b) >= 0)
                s->n++;
        }
        row_free(r);
    }
    if (s->n)
        qsort(s->v, s->n, sizeof(char *), cmp_str);
out:
    lf_free(&f);
    free(r);
    return rc;
}

int lab_equiv_split_conns(const char *dir_a, const char *dir_b, char ex[][200], unsigned max_ex,
                          unsigned *n_ex, FILE *err)
{
    struct rowset a, b;
    int rc = conn_keys(dir_a, &a, err);
    if (rc < 0)
        return rc;
    if ((rc = conn_keys(dir_b, &b, err)) < 0) {
        rs_free(&a);
        return rc;
    }
    int split = 0;
    size_t i = 0, j = 0;
    *n_ex = 0;
    while (i < a.n) {
        size_t ca = 1, cb = 0;
        while (i + ca < a.n && strcmp(a.v[i + ca], a.v[i]) == 0)
            ca++;
        while (j < b.n && strcmp(b.v[j], a.v[i]) < 0)
            j++;
        while (j + cb < b.n && strcmp(b.v[j + cb], a.v[i]) == 0)
            cb++;
        if (ca >= 2 && ca > cb) {
            split++;
            if (*n_ex < max_ex)
                snprintf(ex[(*n_ex)++], 200, "%s", a.v[i]);
        }
        i += ca;
    }
    rs_free(&a);
    rs_free(&b);
    return split;
}
