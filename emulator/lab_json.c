/* lab_json: see lab_json.h. */
#include "lab_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static struct lab_json *parse_value(struct cur *c, int depth);

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Appends code point u as UTF-8. out has room (checked by the caller). */
static size_t put_utf8(char *out, unsigned u)
{
    if (u < 0x80) {
        out[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        out[0] = (char)(0xc0 | u >> 6);
        out[1] = (char)(0x80 | (u & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | u >> 12);
    out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
    out[2] = (char)(0x80 | (u & 0x3f));
    return 3;
}

static char *parse_string(struct cur *c)
{
    if (c->p >= c->end || *c->p != '"')
        return NULL;
    c->p++;
    /* unescaped text is never longer than the escaped text (\uXXXX -> <= 3 bytes) */
    const char *q = c->p;
    while (q < c->end && *q != '"')
        q += (*q == '\\' && q + 1 < c->end) ? 2 : 1;
    if (q >= c->end)
        return NULL;
    char *out = malloc((size_t)(q - c->p) + 1), *o = out;
    if (!out)
        return NULL;
    while (c->p < q) {
        char ch = *c->p++;
        if (ch != '\\') {
            *o++ = ch;
            continue;
        }
        ch = *c->p++;
        switch (ch) {
        case 'n':
            *o++ = '\n';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'u': {
            unsigned u = 0;
            for (int i = 0; i < 4; i++) {
                int h = c->p < q ? hexval(*c->p++) : -1;
                if (h < 0) {
                    free(out);
                    return NULL;
                }
                u = u << 4 | (unsigned)h;
            }
            o += put_utf8(o, u);
            break;
        }
        default:
            *o++ = ch; /* \" \\ \/ */
        }
    }
    *o = '\0';
    c->p = q + 1;
    return out;
}

static struct lab_json *node(enum lab_json_type t)
{
    struct lab_json *j = calloc(1, sizeof(*j));
    if (j)
        j->type = t;
    return j;
}

static int add_kid(struct lab_json *j, char *key, struct lab_json *kid)
{
    struct lab_json **k = realloc(j->kids, (j->n + 1) * sizeof(*k));
    if (!k)
        return -ENOMEM;
    j->kids = k;
    if (j->type == LJ_OBJ) {
        char **ks = realloc(j->keys, (j->n + 1) * sizeof(*ks));
        if (!ks)
            return -ENOMEM;
        j->keys = ks;
        ks[j->n] = key;
    }
    k[j->n++] = kid;
    return 0;
}

static struct lab_json *parse_container(struct cur *c, int depth, bool obj)
{
    struct lab_json *j = node(obj ? LJ_OBJ : LJ_ARR);
    if (!j)
        return NULL;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == (obj ? '}' : ']')) {
        c->p++;
        return j;
    }
    for (;;) {
        char *key = NULL;
        ws(c);
        if (obj) {
            if (!(key = parse_string(c)))
                goto fail;
            ws(c);
            if (c->p >= c->end || *c->p != ':') {
                free(key);
                goto fail;
            }
            c->p++;
        }
        struct lab_json *kid = parse_value(c, depth + 1);
        if (!kid || add_kid(j, key, kid) < 0) {
            free(key);
            lab_json_free(kid);
            goto fail;
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == (obj ? '}' : ']')) {
            c->p++;
            return j;
        }
        goto fail;
    }
fail:
    lab_json_free(j);
    return NULL;
}

static bool word(struct cur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

static struct lab_json *parse_value(struct cur *c, int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    ws(c);
    if (c->p >= c->end)
        return NULL;
    struct lab_json *j;
    switch (*c->p) {
    case '{':
        return parse_container(c, depth, true);
    case '[':
        return parse_container(c, depth, false);
    case '"': {
        char *s = parse_string(c);
        if (!s || !(j = node(LJ_STR))) {
            free(s);
            return NULL;
        }
        j->str = s;
        return j;
    }
    case 't':
    case 'f':
        if (!word(c, "true") && !word(c, "false"))
            return NULL;
        if ((j = node(LJ_BOOL)))
            j->b = c->p[-1] == 'e' && c->p[-2] == 'u';
        return j;
    case 'n':
        return word(c, "null") ? node(LJ_NULL) : NULL;
    default: {
        char buf[64];
        size_t n = 0;
        while (c->p + n < c->end && n < sizeof(buf) - 1 && strchr("+-.eE0123456789", c->p[n]))
            n++;
        if (n == 0)
            return NULL;
        memcpy(buf, c->p, n);
        buf[n] = '\0';
        char *e;
        double v = strtod(buf, &e);
        if (*e || !isfinite(v))
            return NULL;
        c->p += n;
        if ((j = node(LJ_NUM)))
            j->num = v;
        return j;
    }
    }
}

struct lab_json *lab_json_parse(const char *text, size_t len)
{
    struct cur c = {text, text + len};
    struct lab_json *j = parse_value(&c, 0);
    ws(&c);
    if (j && c.p != c.end) {
        lab_json_free(j);
        return NULL;
    }
    return j;
}

void lab_json_free(struct lab_json *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        lab_json_free(j->kids[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->kids);
    free(j->keys);
    free(j->str);
    free(j);
}

const struct lab_json *lab_json_get(const struct lab_json *j, const char *key)
{
    if (!j || j->type != LJ_OBJ)
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->keys[i], key) == 0)
            return j->kids[i];
    return NULL;
}

const struct lab_json *lab_json_at(const struct lab_json *j, size_t i)
{
    if (!j || (j->type != LJ_ARR && j->type != LJ_OBJ) || i >= j->n)
        return NULL;
    return j->kids[i];
}

const struct lab_json *lab_json_path(const struct lab_json *j, const char *path)
{
    char key[128];
    while (j && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        j = lab_json_get(j, key);
        path += n;
        if (*path == '.')
            path++;
    }
    return j;
}

double lab_json_num(const struct lab_json *j, const char *path, double def)
{
    const struct lab_json *v = lab_json_path(j, path);
    return v && v->type == LJ_NUM ? v->num : def;
}

uint64_t lab_json_u64(const struct lab_json *j, const char *path)
{
    double v = lab_json_num(j, path, 0);
    return v > 0 ? (uint64_t)(v + 0.5) : 0;
}

const char *lab_json_str(const struct lab_json *j, const char *path, const char *def)
{
    const struct lab_json *v = lab_json_path(j, path);
    return v && v->type == LJ_STR ? v->str : def;
}

void lab_json_write_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}
