/* sl_log: Zeek's ASCII log writer (TSV with meta header, or JSON lines).
 *
 * The escaping follows Zeek's ODesc/Ascii formatter with LogAscii's defaults
 * (enable_utf_8=T, separator \t, set_separator ",", empty "(empty)", unset
 * "-"): a backslash, the separator and, inside containers, the set
 * separator are written as \xNN (backslash as "\\"); the text between them
 * is kept when it is printable ASCII or valid UTF-8 and hex-escaped
 * otherwise; a value that equals "-" or "(empty)" gets its first byte
 * escaped so it cannot be read back as unset/empty; a line that would start
 * with "#" gets it escaped. JSON follows Zeek's JSON formatter: numbers
 * bare (doubles in shortest round-trip form), bools true/false, strings
 * UTF-8-escaped then JSON-quoted, containers as arrays, unset omitted.
 */
#include "sl_log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEP         '\t'
#define SET_SEP     ','
#define EMPTY_FIELD "(empty)"
#define UNSET_FIELD "-"

/* A byte buffer that either grows (writer) or is fixed (format_line). */
struct lbuf {
    char *p;
    size_t len;
    size_t cap;
    bool fixed;
    bool full; /* a fixed buffer ran out, or an allocation failed */
};

struct sl_log_writer {
    FILE *fp;
    const struct sl_log_schema *schema;
    enum sl_log_format fmt;
    uint64_t count;
    struct lbuf line;
};

static bool lb_reserve(struct lbuf *b, size_t n)
{
    if (b->full)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    if (b->fixed) {
        b->full = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->full = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void lb_add(struct lbuf *b, const void *s, size_t n)
{
    if (!lb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void lb_adds(struct lbuf *b, const char *s)
{
    lb_add(b, s, strlen(s));
}

static void lb_addc(struct lbuf *b, char c)
{
    lb_add(b, &c, 1);
}

static void lb_hex(struct lbuf *b, unsigned char c)
{
    static const char hx[] = "0123456789abcdef";
    char e[4] = {'\\', 'x', hx[c >> 4], hx[c & 15]};
    lb_add(b, e, 4);
}

/* ---- UTF-8 validity as Zeek's escape_utf8 judges it ---- */

/* Length of the sequence a lead byte announces (1..6), as ConvertUTF's
 * trailingBytesForUTF8 table has it. */
static unsigned utf8_seq_len(unsigned char c)
{
    if (c < 0xc0)
        return 1;
    if (c < 0xe0)
        return 2;
    if (c < 0xf0)
        return 3;
    if (c < 0xf8)
        return 4;
    if (c < 0xfc)
        return 5;
    return 6;
}

static bool utf8_legal(const unsigned char *s, unsigned len)
{
    if (len > 4)
        return false;
    if (len >= 2) {
        for (unsigned i = 1; i < len; i++)
            if (s[i] < 0x80 || s[i] > 0xbf)
                return false;
        unsigned char a = s[1];
        switch (s[0]) {
        case 0xe0:
            if (a < 0xa0)
                return false;
            break;
        case 0xed:
            if (a > 0x9f)
                return false;
            break;
        case 0xf0:
            if (a < 0x90)
                return false;
            break;
        case 0xf4:
            if (a > 0x8f)
                return false;
            break;
        default:
            break;
        }
    }
    if (s[0] >= 0x80 && s[0] < 0xc2)
        return false;
    return s[0] <= 0xf4;
}

/* A legal sequence that decodes to a code point Zeek accepts unescaped
 * (no C0/C1 controls, no private use area, no U+FFF0..U+FFFF). */
static bool utf8_ok(const unsigned char *s, unsigned len)
{
    if (!utf8_legal(s, len))
        return false;
    uint32_t cp;
    switch (len) {
    case 1:
        cp = s[0];
        break;
    case 2:
        cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
        break;
    case 3:
        cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
        break;
    default:
        cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
             ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
        break;
    }
    if (cp > 0x10ffff || cp <= 0x1f || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
        return false;
    if ((cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfff0 && cp <= 0xffff))
        return false;
    return true;
}

/* Zeek's escape_utf8(): printable ASCII stays; valid UTF-8 stays unless a
 * bad byte turns up anywhere in the segment, in which case the whole
 * segment is emitted with every non-printable-ASCII byte as \xNN.
 * `keep_ws_ctl` keeps \b \f \n \r \t raw (the JSON policy). */
static void add_utf8_escaped(struct lbuf *b, const unsigned char *s, size_t n, bool keep_ws_ctl)
{
    size_t i;
    bool bad = false;

    for (i = 0; i < n && !bad;) {
        unsigned char c = s[i];
        if ((c >= 32 && c < 127) ||
            (keep_ws_ctl && (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t'))) {
            i++;
            continue;
        }
        unsigned len = utf8_seq_len(c);
        if (i + len > n || !utf8_ok(s + i, len))
            bad = true;
        else
            i += len;
    }
    if (!bad) {
        lb_add(b, s, n);
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        if ((c >= 32 && c < 127) ||
            (keep_ws_ctl && (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')))
            lb_addc(b, (char)c);
        else
            lb_hex(b, c);
    }
}

/* ODesc::AddBytes with escaping on: splits at backslash, the separator and
 * (in containers) the set separator. */
static void add_tsv_escaped(struct lbuf *b, const char *str, size_t n, bool in_container)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c != '\\' && c != SEP && !(in_container && c == SET_SEP))
            continue;
        add_utf8_escaped(b, s + start, i - start, false);
        if (c == '\\')
            lb_add(b, "\\\\", 2);
        else
            lb_hex(b, c);
        start = i + 1;
    }
    add_utf8_escaped(b, s + start, n - start, false);
}

static bool is_stringish(enum sl_log_type t)
{
    return t == SL_LT_STRING || t == SL_LT_ENUM || t == SL_LT_SET_STRING || t == SL_LT_SET_ENUM ||
           t == SL_LT_VEC_STRING;
}

static bool is_container(enum sl_log_type t)
{
    return t >= SL_LT_SET_STRING && t <= SL_LT_VEC_INTERVAL;
}

/* Length of s when it is all printable ASCII with nothing to escape (no
 * backslash; no set separator in a container), else (size_t)-1: such a value
 * is written as it is, and most are. */
static size_t plain_len(const char *s, bool in_container)
{
    size_t i = 0;
    for (;; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            return i;
        if (c < 32 || c >= 127 || c == '\\' || (in_container && c == SET_SEP))
            return (size_t)-1;
    }
}

/* One scalar as Zeek's Ascii formatter describes it. */
static void tsv_scalar(struct lbuf *b, const char *s, bool stringish, bool in_container)
{
    if (s && s[0] && (!stringish || (strcmp(s, UNSET_FIELD) != 0 && strcmp(s, EMPTY_FIELD) != 0))) {
        size_t pl = plain_len(s, in_container);
        if (pl != (size_t)-1) {
            lb_add(b, s, pl);
            return;
        }
    }
    size_t n = s ? strlen(s) : 0;

    if (stringish) {
        if (n == 0) {
            lb_adds(b, EMPTY_FIELD);
            return;
        }
        if (strcmp(s, UNSET_FIELD) == 0 || strcmp(s, EMPTY_FIELD) == 0) {
            lb_hex(b, (unsigned char)s[0]);
            add_tsv_escaped(b, s + 1, n - 1, in_container);
            return;
        }
    }
    add_tsv_escaped(b, s ? s : "", n, in_container);
}

static void tsv_value(struct lbuf *b, enum sl_log_type t, const struct sl_log_val *v)
{
    if (!v->present) {
        lb_adds(b, UNSET_FIELD);
        return;
    }
    if (!is_container(t)) {
        tsv_scalar(b, v->s, is_stringish(t), false);
        return;
    }
    if (v->n_items == 0) {
        lb_adds(b, EMPTY_FIELD);
        return;
    }
    for (uint32_t j = 0; j < v->n_items; j++) {
        if (j)
            lb_addc(b, SET_SEP);
        tsv_scalar(b, v->items ? v->items[j] : NULL, is_stringish(t), true);
    }
}

/* ---- JSON ---- */

static void json_string(struct lbuf *b, const char *str)
{
    static const char hx[] = "0123456789ABCDEF";
    struct lbuf tmp = {0};

    /* Zeek first applies escape_utf8 (bad bytes and odd controls become a
     * literal \xNN), then rapidjson quotes the result. */
    add_utf8_escaped(&tmp, (const unsigned char *)(str ? str : ""), str ? strlen(str) : 0, true);
    if (tmp.full) {
        b->full = true;
        free(tmp.p);
        return;
    }
    lb_addc(b, '"');
    for (size_t i = 0; i < tmp.len; i++) {
        unsigned char c = (unsigned char)tmp.p[i];
        switch (c) {
        case '"':
            lb_add(b, "\\\"", 2);
            break;
        case '\\':
            lb_add(b, "\\\\", 2);
            break;
        case '\b':
            lb_add(b, "\\b", 2);
            break;
        case '\f':
            lb_add(b, "\\f", 2);
            break;
        case '\n':
            lb_add(b, "\\n", 2);
            break;
        case '\r':
            lb_add(b, "\\r", 2);
            break;
        case '\t':
            lb_add(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                char u[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
                lb_add(b, u, 6);
            } else {
                lb_addc(b, (char)c);
            }
        }
    }
    lb_addc(b, '"');
    free(tmp.p);
}

/* rapidjson's Writer::Double: the shortest digits that read back to the
 * same double, laid out by its Prettify rules (fixed notation with ".0" for
 * integers up to 21 digits, 0.000ddd down to 1e-7, exponent otherwise). */
static void json_double(struct lbuf *b, double d)
{
    char digits[40], e[48], out[64];
    int prec, exp10 = 0;

    if (isnan(d) || isinf(d)) {
        lb_adds(b, "null");
        return;
    }
    if (d == 0) {
        lb_adds(b, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    for (prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* e is "-d.ddde+XX": pull out the digits and the exponent. */
    size_t nd = 0;
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    digits[nd] = '\0';
    if (*p == 'e')
        exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';

    int length = (int)nd;
    int k = exp10 - (length - 1); /* value = digits * 10^k */
    int kk = length + k;
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (k >= 0 && kk <= 21) {
        memcpy(out + o, digits, nd);
        o += nd;
        for (int i = 0; i < k; i++)
            out[o++] = '0';
        out[o++] = '.';
        out[o++] = '0';
    } else if (kk > 0 && kk <= 21) {
        memcpy(out + o, digits, (size_t)kk);
        o += (size_t)kk;
        out[o++] = '.';
        memcpy(out + o, digits + kk, nd - (size_t)kk);
        o += nd - (size_t)kk;
    } else if (kk > -6 && kk <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -kk; i++)
            out[o++] = '0';
        memcpy(out + o, digits, nd);
        o += nd;
    } else if (length == 1) {
        out[o++] = digits[0];
        o += (size_t)snprintf(out + o, sizeof(out) - o, "e%d", kk - 1);
    } else {
        out[o++] = digits[0];
        out[o++] = '.';
        memcpy(out + o, digits + 1, nd - 1);
        o += nd - 1;
        o += (size_t)snprintf(out + o, sizeof(out) - o, "e%d", kk - 1);
    }
    lb_add(b, out, o);
}

/* A count/int/port text as a bare JSON number; text that is not an
 * integer is quoted rather than producing invalid JSON. */
static void json_integer(struct lbuf *b, const char *s)
{
    const char *p = s ? s : "";
    if (*p == '-')
        p++;
    bool ok = *p != '\0';
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            ok = false;
    if (ok)
        lb_adds(b, s);
    else
        json_string(b, s);
}

static void json_scalar(struct lbuf *b, enum sl_log_type t, const char *s)
{
    switch (t) {
    case SL_LT_TIME:
    case SL_LT_INTERVAL:
    case SL_LT_DOUBLE:
    case SL_LT_VEC_INTERVAL: {
        char *end;
        double d = strtod(s ? s : "", &end);
        if (!s || end == s)
            json_string(b, s);
        else
            json_double(b, d);
        break;
    }
    case SL_LT_COUNT:
    case SL_LT_INT:
    case SL_LT_PORT:
        json_integer(b, s);
        break;
    case SL_LT_BOOL:
        lb_adds(b, s && strcmp(s, "T") == 0 ? "true" : "false");
        break;
    default:
        json_string(b, s);
        break;
    }
}

static void json_value(struct lbuf *b, enum sl_log_type t, const struct sl_log_val *v)
{
    if (!is_container(t)) {
        json_scalar(b, t, v->s);
        return;
    }
    lb_addc(b, '[');
    for (uint32_t j = 0; j < v->n_items; j++) {
        if (j)
            lb_addc(b, ',');
        json_scalar(b, t, v->items ? v->items[j] : NULL);
    }
    lb_addc(b, ']');
}

static void format_record(struct lbuf *b, const struct sl_log_schema *schema,
                          enum sl_log_format fmt, const struct sl_log_val *vals)
{
    if (fmt == SL_LOG_JSON) {
        bool first = true;
        lb_addc(b, '{');
        for (unsigned i = 0; i < schema->n_fields; i++) {
            if (!vals[i].present)
                continue;
            if (!first)
                lb_addc(b, ',');
            first = false;
            json_string(b, schema->fields[i].name);
            lb_addc(b, ':');
            json_value(b, schema->fields[i].type, &vals[i]);
        }
        lb_addc(b, '}');
        return;
    }

    for (unsigned i = 0; i < schema->n_fields; i++) {
        if (i)
            lb_addc(b, SEP);
        size_t at = b->len;
        tsv_value(b, schema->fields[i].type, &vals[i]);
        /* A data line must not pass for a meta line. */
        if (i == 0 && !b->full && b->len > at && b->p[at] == '#') {
            size_t rest = b->len - at - 1;
            if (lb_reserve(b, 3)) {
                memmove(b->p + at + 4, b->p + at + 1, rest);
                memcpy(b->p + at, "\\x23", 4);
                b->len += 3;
                b->p[b->len] = '\0';
            }
        }
    }
}

int sl_log_format_line(const struct sl_log_schema *schema, enum sl_log_format fmt,
                       const struct sl_log_val *vals, char *buf, size_t n)
{
    struct lbuf b = {.p = buf, .cap = n, .fixed = true};

    if (!schema || !vals || !buf || n == 0)
        return -EINVAL;
    buf[0] = '\0';
    format_record(&b, schema, fmt, vals);
    if (b.full)
        return -ENOSPC;
    return (int)b.len;
}

static const char *type_name(enum sl_log_type t)
{
    static const char *const names[SL_LT_MAX] = {
        [SL_LT_TIME] = "time",
        [SL_LT_INTERVAL] = "interval",
        [SL_LT_COUNT] = "count",
        [SL_LT_INT] = "int",
        [SL_LT_DOUBLE] = "double",
        [SL_LT_BOOL] = "bool",
        [SL_LT_STRING] = "string",
        [SL_LT_ADDR] = "addr",
        [SL_LT_SUBNET] = "subnet",
        [SL_LT_PORT] = "port",
        [SL_LT_ENUM] = "enum",
        [SL_LT_SET_STRING] = "set[string]",
        [SL_LT_SET_ENUM] = "set[enum]",
        [SL_LT_SET_ADDR] = "set[addr]",
        [SL_LT_VEC_STRING] = "vector[string]",
        [SL_LT_VEC_INTERVAL] = "vector[interval]",
    };
    return (unsigned)t < SL_LT_MAX && names[t] ? names[t] : "string";
}

/* Wall-clock stamp of #open/#close: local time, %Y-%m-%d-%H-%M-%S; 0 means now. */
static void meta_time(double t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (tt == 0)
        tt = time(NULL);
    if (!localtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%d-%H-%M-%S", &tm) == 0)
        snprintf(buf, n, "0000-00-00-00-00-00");
}

/* get_escaped_string(s, escape_all=false): whitespace and non-printable
 * bytes as \xNN, backslash doubled. */
static void add_meta_escaped(struct lbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\')
            lb_add(b, "\\\\", 2);
        else if (c <= ' ' || c >= 127)
            lb_hex(b, c);
        else
            lb_addc(b, (char)c);
    }
}

static int write_header(struct sl_log_writer *w, double open_time)
{
    struct lbuf b = {0};
    char ts[64];

    lb_adds(&b, "#separator ");
    lb_hex(&b, SEP);
    lb_adds(&b, "\n#set_separator\t");
    add_meta_escaped(&b, ",");
    lb_adds(&b, "\n#empty_field\t");
    add_meta_escaped(&b, EMPTY_FIELD);
    lb_adds(&b, "\n#unset_field\t");
    add_meta_escaped(&b, UNSET_FIELD);
    lb_adds(&b, "\n#path\t");
    add_meta_escaped(&b, w->schema->path);
    meta_time(open_time, ts, sizeof(ts));
    lb_adds(&b, "\n#open\t");
    lb_adds(&b, ts);
    lb_adds(&b, "\n#fields");
    for (unsigned i = 0; i < w->schema->n_fields; i++) {
        lb_addc(&b, SEP);
        lb_adds(&b, w->schema->fields[i].name);
    }
    lb_adds(&b, "\n#types");
    for (unsigned i = 0; i < w->schema->n_fields; i++) {
        lb_addc(&b, SEP);
        lb_adds(&b, type_name(w->schema->fields[i].type));
    }
    lb_addc(&b, '\n');

    int rc = 0;
    if (b.full)
        rc = -ENOMEM;
    else if (fwrite(b.p, 1, b.len, w->fp) != b.len)
        rc = -EIO;
    free(b.p);
    return rc;
}

struct sl_log_writer *sl_log_open(const char *dir, const struct sl_log_schema *schema,
                                  enum sl_log_format fmt, double open_time)
{
    struct sl_log_writer *w = NULL;
    char *fname = NULL;
    int err = 0;

    if (!dir || !schema || !schema->path || (fmt != SL_LOG_TSV && fmt != SL_LOG_JSON)) {
        errno = EINVAL;
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (!w || asprintf(&fname, "%s/%s.log", dir, schema->path) < 0) {
        err = ENOMEM;
        fname = NULL;
        goto fail;
    }
    w->schema = schema;
    w->fmt = fmt;
    w->fp = fopen(fname, "w");
    if (!w->fp) {
        err = errno;
        goto fail;
    }
    /* Large stdio buffer: logs are written a line at a time. */
    setvbuf(w->fp, NULL, _IOFBF, 1 << 16);
    if (fmt == SL_LOG_TSV) {
        int rc = write_header(w, open_time);
        if (rc < 0) {
            err = -rc;
            goto fail;
        }
    }
    free(fname);
    return w;

fail:
    if (w && w->fp)
        fclose(w->fp);
    free(w);
    free(fname);
    errno = err ? err : EIO;
    return NULL;
}

int sl_log_write(struct sl_log_writer *w, const struct sl_log_val *vals)
{
    if (!w || !vals)
        return -EINVAL;
    w->line.len = 0;
    w->line.full = false;
    format_record(&w->line, w->schema, w->fmt, vals);
    lb_addc(&w->line, '\n');
    if (w->line.full)
        return -ENOMEM;
    if (fwrite(w->line.p, 1, w->line.len, w->fp) != w->line.len)
        return -EIO;
    w->count++;
    return 0;
}

int sl_log_close(struct sl_log_writer *w, double close_time)
{
    int rc = 0;

    if (!w)
        return -EINVAL;
    if (w->fmt == SL_LOG_TSV) {
        char ts[64];
        meta_time(close_time, ts, sizeof(ts));
        if (fprintf(w->fp, "#close\t%s\n", ts) < 0)
            rc = -EIO;
    }
    if (fclose(w->fp) != 0 && rc == 0)
        rc = -errno;
    free(w->line.p);
    free(w);
    return rc;
}

uint64_t sl_log_count(const struct sl_log_writer *w)
{
    return w ? w->count : 0;
}

/* Writes v in decimal at the end of a 20-byte scratch area; returns the start. */
static char *u64_digits(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* "%.6f" of a finite non-negative t below 2^63 whose bits reach no lower than
 * 2^-100 (every time and interval a log holds), done exactly: t = m * 2^e is
 * split into its integer part and a fraction F / 2^k, and the fraction times
 * 10^6 is rounded to nearest, ties to even, as glibc's printf rounds the exact
 * binary value. Anything else returns false and goes to snprintf. */
static bool fmt_fixed6(double t, char *buf, size_t n)
{
    uint64_t bits;
    memcpy(&bits, &t, sizeof(bits));
    unsigned bexp = (unsigned)(bits >> 52) & 0x7ff;
    if (bits >> 63 || bexp == 0x7ff || (bexp == 0 && bits != 0))
        return false; /* negative (or -0), inf, NaN, subnormal */
    uint64_t ip = 0, q = 0;
    if (bexp != 0) {
        uint64_t m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
        int e = (int)bexp - 1075;
        if (e >= 0) {
            if (e > 10)
                return false;
            ip = m << e;
        } else {
            int k = -e;
            if (k > 100)
                return false;
            unsigned __int128 M = m, one = 1;
            ip = (uint64_t)(M >> k);
            unsigned __int128 f = (M - ((unsigned __int128)ip << k)) * 1000000u;
            unsigned __int128 rem = f & ((one << k) - 1), half = one << (k - 1);
            q = (uint64_t)(f >> k);
            if (rem > half || (rem == half && (q & 1)))
                q++;
            if (q == 1000000) {
                q = 0;
                ip++;
            }
        }
    }
    char tmp[24];
    char *d = u64_digits(ip, tmp + sizeof(tmp));
    size_t il = (size_t)(tmp + sizeof(tmp) - d);
    if (il + 8 > n)
        return false;
    memcpy(buf, d, il);
    buf[il] = '.';
    for (int i = 6; i >= 1; i--) {
        buf[il + (size_t)i] = (char)('0' + q % 10);
        q /= 10;
    }
    buf[il + 7] = '\0';
    return true;
}

char *sl_log_fmt_time(double t, char *buf, size_t n)
{
    if (!fmt_fixed6(t, buf, n))
        snprintf(buf, n, "%.6f", t);
    return buf;
}

char *sl_log_fmt_u64(uint64_t v, char *buf, size_t n)
{
    char tmp[24];
    char *d = u64_digits(v, tmp + sizeof(tmp));
    size_t l = (size_t)(tmp + sizeof(tmp) - d);
    if (l + 1 > n) {
        snprintf(buf, n, "%llu", (unsigned long long)v);
        return buf;
    }
    memcpy(buf, d, l);
    buf[l] = '\0';
    return buf;
}
