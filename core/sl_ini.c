/* sl_ini: see sl_ini.h. */
#include "sl_ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SL_INI_MAX_LINE 4096
#define SL_INI_MAX_FILE (16u << 20) /* a topology is small; refuse anything absurd */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Trims blanks on both ends of s[0..*n) in place; returns the new start. */
static char *trim(char *s, size_t *n)
{
    size_t a = 0, b = *n;
    while (a < b && isspace((unsigned char)s[a]))
        a++;
    while (b > a && isspace((unsigned char)s[b - 1]))
        b--;
    s[b] = '\0';
    *n = b - a;
    return s + a;
}

static bool valid_key(const char *k)
{
    if (*k == '\0')
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-' && *k != '.')
            return false;
    return true;
}

static int add_section(struct sl_ini *ini, const char *name, unsigned line)
{
    struct sl_ini_sec *s = realloc(ini->sec, (ini->n_sec + 1) * sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    ini->sec = s;
    s = &ini->sec[ini->n_sec];
    memset(s, 0, sizeof(*s));
    s->name = strdup(name);
    if (s->name == NULL)
        return -ENOMEM;
    s->line = line;
    ini->n_sec++;
    return 0;
}

static int add_kv(struct sl_ini_sec *s, const char *key, const char *val, unsigned line)
{
    struct sl_ini_kv *kv = realloc(s->kv, (s->n_kv + 1) * sizeof(*kv));
    if (kv == NULL)
        return -ENOMEM;
    s->kv = kv;
    kv = &s->kv[s->n_kv];
    kv->key = strdup(key);
    kv->val = strdup(val);
    kv->line = line;
    s->n_kv++; /* counted even on failure so sl_ini_free releases what was set */
    if (kv->key == NULL || kv->val == NULL)
        return -ENOMEM;
    return 0;
}

/* Parses one line (NUL-terminated, no newline). Returns 0 or -errno with err set. */
static int parse_line(struct sl_ini *ini, char *buf, size_t n, unsigned line, char *err,
                      size_t errlen)
{
    char *s = trim(buf, &n);
    if (n == 0 || s[0] == '#' || s[0] == ';')
        return 0;
    if (s[0] == '[') {
        if (s[n - 1] != ']') {
            set_err(err, errlen, "%s:%u: section header without closing ']'", ini->path, line);
            return -EINVAL;
        }
        size_t m = n - 2;
        char *name = trim(s + 1, &m);
        if (!valid_key(name)) {
            set_err(err, errlen, "%s:%u: bad section name '%s'", ini->path, line, name);
            return -EINVAL;
        }
        const struct sl_ini_sec *dup = sl_ini_section(ini, name);
        if (dup != NULL) {
            set_err(err, errlen, "%s:%u: duplicate section [%s] (first at line %u)", ini->path,
                    line, name, dup->line);
            return -EINVAL;
        }
        return add_section(ini, name, line);
    }
    char *eq = memchr(s, '=', n);
    if (eq == NULL) {
        set_err(err, errlen, "%s:%u: expected 'key = value' or '[section]'", ini->path, line);
        return -EINVAL;
    }
    size_t kn = (size_t)(eq - s), vn = n - kn - 1;
    char *key = trim(s, &kn);
    char *val = trim(eq + 1, &vn);
    if (!valid_key(key)) {
        set_err(err, errlen, "%s:%u: bad key '%s'", ini->path, line, key);
        return -EINVAL;
    }
    if (ini->n_sec == 0) {
        set_err(err, errlen, "%s:%u: '%s' before any [section]", ini->path, line, key);
        return -EINVAL;
    }
    struct sl_ini_sec *sec = &ini->sec[ini->n_sec - 1];
    const struct sl_ini_kv *dup = sl_ini_find(sec, key);
    if (dup != NULL) {
        set_err(err, errlen, "%s:%u: duplicate key '%s' in [%s] (first at line %u)", ini->path,
                line, key, sec->name, dup->line);
        return -EINVAL;
    }
    return add_kv(sec, key, val, line);
}

struct sl_ini *sl_ini_parse(const char *text, size_t len, const char *name, char *err,
                            size_t errlen)
{
    char buf[SL_INI_MAX_LINE];
    struct sl_ini *ini = calloc(1, sizeof(*ini));
    int rc = -ENOMEM;
    if (ini == NULL || (ini->path = strdup(name ? name : "-")) == NULL) {
        set_err(err, errlen, "%s: out of memory", name ? name : "-");
        goto fail;
    }
    size_t pos = 0;
    unsigned line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        line++;
        if (n >= sizeof(buf)) {
            set_err(err, errlen, "%s:%u: line longer than %d bytes", ini->path, line,
                    SL_INI_MAX_LINE - 1);
            rc = -EINVAL;
            goto fail;
        }
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        if (memchr(buf, '\0', n) != NULL) {
            set_err(err, errlen, "%s:%u: NUL byte in line", ini->path, line);
            rc = -EINVAL;
            goto fail;
        }
        pos += n + (nl ? 1 : 0);
        if (n > 0 && buf[n - 1] == '\r') /* CRLF files */
            buf[--n] = '\0';
        rc = parse_line(ini, buf, n, line, err, errlen);
        if (rc < 0) {
            if (rc == -ENOMEM)
                set_err(err, errlen, "%s: out of memory", ini->path);
            goto fail;
        }
    }
    return ini;
fail:
    sl_ini_free(ini);
    errno = -rc;
    return NULL;
}

struct sl_ini *sl_ini_load(const char *path, char *err, size_t errlen)
{
    struct sl_ini *ini = NULL;
    char *text = NULL;
    int e = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        e = errno;
        set_err(err, errlen, "%s: %s", path, strerror(e));
        goto out;
    }
    size_t cap = 4096, len = 0;
    text = malloc(cap);
    while (text != NULL) {
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        if (cap >= SL_INI_MAX_FILE) {
            e = EFBIG;
            set_err(err, errlen, "%s: file larger than %u bytes", path, SL_INI_MAX_FILE);
            goto out;
        }
        char *t = realloc(text, cap * 2);
        if (t == NULL)
            break;
        text = t;
        cap *= 2;
    }
    if (text == NULL) {
        e = ENOMEM;
        set_err(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (ferror(f)) {
        e = EIO;
        set_err(err, errlen, "%s: read error", path);
        goto out;
    }
    ini = sl_ini_parse(text, len, path, err, errlen);
    if (ini == NULL)
        e = errno;
out:
    if (f != NULL)
        fclose(f);
    free(text);
    if (ini == NULL)
        errno = e ? e : EINVAL;
    return ini;
}

void sl_ini_free(struct sl_ini *ini)
{
    if (ini == NULL)
        return;
    for (unsigned i = 0; i < ini->n_sec; i++) {
        struct sl_ini_sec *s = &ini->sec[i];
        for (unsigned j = 0; j < s->n_kv; j++) {
            free(s->kv[j].key);
            free(s->kv[j].val);
        }
        free(s->kv);
        free(s->name);
    }
    free(ini->sec);
    free(ini->path);
    free(ini);
}

const struct sl_ini_sec *sl_ini_section(const struct sl_ini *ini, const char *name)
{
    for (unsigned i = 0; ini != NULL && i < ini->n_sec; i++)
        if (strcmp(ini->sec[i].name, name) == 0)
            return &ini->sec[i];
    return NULL;
}

const struct sl_ini_kv *sl_ini_find(const struct sl_ini_sec *s, const char *key)
{
    for (unsigned i = 0; s != NULL && i < s->n_kv; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return &s->kv[i];
    return NULL;
}

const char *sl_ini_get(const struct sl_ini_sec *s, const char *key)
{
    const struct sl_ini_kv *kv = sl_ini_find(s, key);
    return kv ? kv->val : NULL;
}
