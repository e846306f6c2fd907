/* sl_wire: cluster messages as msgpack. See sl_wire.h for the layout. */
#include "sl_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_pkt.h"

/* msgpack-c materialises every element as a msgpack_object; bounding the
 * element count bounds what a hostile message can make it allocate. */
#define MAX_ELEMENTS (1u << 20)
#define MAX_DEPTH    16

/* ---------------------------------------------------------------- buffers */

void sl_wire_buf_reset(struct sl_wire_buf *b)
{
    b->len = 0;
}

void sl_wire_buf_free(struct sl_wire_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int buf_append(struct sl_wire_buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d)
            return -ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int pk_write(void *data, const char *buf, size_t len)
{
    return buf_append(data, buf, len);
}

/* msgpack_pack_* return the callback's result; keep the first error. */
struct enc {
    msgpack_packer pk;
    struct sl_wire_buf *b;
    size_t start;
    int rc;
};

static void enc_init(struct enc *e, struct sl_wire_buf *b, uint8_t type)
{
    uint8_t hdr[2] = {SL_WIRE_VERSION, type};
    e->b = b;
    e->start = b->len;
    msgpack_packer_init(&e->pk, b, pk_write);
    e->rc = buf_append(b, hdr, sizeof(hdr));
}

static void chk(struct enc *e, int rc)
{
    if (rc && !e->rc)
        e->rc = rc < 0 ? rc : -ENOMEM;
}

static void enc_str(struct enc *e, const char *s)
{
    size_t n = strlen(s);
    chk(e, msgpack_pack_str(&e->pk, n));
    chk(e, msgpack_pack_str_body(&e->pk, s, n));
}

static void enc_array(struct enc *e, size_t n)
{
    chk(e, msgpack_pack_array(&e->pk, n));
}

static void enc_u64(struct enc *e, uint64_t v)
{
    chk(e, msgpack_pack_uint64(&e->pk, v));
}

static void enc_f64(struct enc *e, double v)
{
    chk(e, msgpack_pack_double(&e->pk, v));
}

static void enc_name(struct enc *e, const char *s)
{
    if (!s || !sl_wire_name_ok(s)) {
        chk(e, -EINVAL);
        return;
    }
    enc_str(e, s);
}

/* Empty strings are allowed where a name may be absent (KNOWN's entry). */
static void enc_opt_name(struct enc *e, const char *s)
{
    if (s && *s)
        enc_name(e, s);
    else
        enc_str(e, "");
}

static int enc_done(struct enc *e)
{
    if (e->rc)
        e->b->len = e->start;
    else if (e->b->len - e->start > SL_WIRE_MAX_MSG)
        e->rc = -EMSGSIZE;
    return e->rc;
}

static bool is_container(enum sl_log_type t)
{
    return t >= SL_LT_SET_STRING && t < SL_LT_MAX;
}

static bool path_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static int schema_ok(const struct sl_log_schema *s)
{
    if (!s || !s->path || !path_ok(s->path) || s->n_fields == 0 ||
        s->n_fields > SL_WIRE_MAX_FIELDS || !s->fields)
        return -EINVAL;
    for (unsigned i = 0; i < s->n_fields; i++)
        if (!s->fields[i].name || !sl_wire_name_ok(s->fields[i].name) ||
            (unsigned)s->fields[i].type >= SL_LT_MAX)
            return -EINVAL;
    return 0;
}

static void enc_record(struct enc *e, const struct sl_log_schema *s, const struct sl_log_val *v)
{
    enc_array(e, s->n_fields);
    for (unsigned i = 0; i < s->n_fields; i++) {
        if (!v[i].present) {
            chk(e, msgpack_pack_nil(&e->pk));
        } else if (is_container(s->fields[i].type)) {
            if (v[i].n_items && !v[i].items) {
                chk(e, -EINVAL);
                return;
            }
            enc_array(e, v[i].n_items);
            for (uint32_t k = 0; k < v[i].n_items; k++) {
                if (!v[i].items[k]) {
                    chk(e, -EINVAL);
                    return;
                }
                enc_str(e, v[i].items[k]);
            }
        } else {
            if (!v[i].s) {
                chk(e, -EINVAL);
                return;
            }
            enc_str(e, v[i].s);
        }
    }
}

static void enc_schema(struct enc *e, const struct sl_log_schema *s)
{
    enc_str(e, s->path);
    enc_array(e, s->n_fields);
    for (unsigned i = 0; i < s->n_fields; i++) {
        enc_array(e, 2);
        enc_str(e, s->fields[i].name);
        enc_u64(e, (uint64_t)s->fields[i].type);
    }
}

static void enc_section(struct enc *e, const struct sl_wire_section *sec)
{
    int rc = schema_ok(&sec->schema);
    if (rc || (sec->n_records && !sec->vals)) {
        chk(e, -EINVAL);
        return;
    }
    enc_array(e, 3);
    enc_schema(e, &sec->schema);
    enc_array(e, sec->n_records);
    for (uint32_t r = 0; r < sec->n_records && !e->rc; r++)
        enc_record(e, &sec->schema, sec->vals + (size_t)r * sec->schema.n_fields);
}

/* ---------------------------------------------------------------- encoders */

int sl_wire_enc_log(struct sl_wire_buf *b, const struct sl_wire_log *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_LOG);
    enc_array(&e, 3);
    enc_name(&e, m->node);
    enc_u64(&e, m->seq);
    if (m->n_sections && !m->sections)
        chk(&e, -EINVAL);
    enc_array(&e, m->n_sections);
    for (uint32_t i = 0; i < m->n_sections && !e.rc; i++)
        enc_section(&e, &m->sections[i]);
    return enc_done(&e);
}

int sl_wire_enc_known(struct sl_wire_buf *b, const struct sl_wire_known *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_KNOWN);
    enc_array(&e, 10);
    enc_name(&e, m->set);
    enc_name(&e, m->key);
    enc_name(&e, m->origin);
    enc_u64(&e, m->seq);
    enc_opt_name(&e, m->entry);
    enc_u64(&e, m->epoch);
    enc_u64(&e, m->hops);
    enc_f64(&e, m->ts);
    enc_u64(&e, m->flags);
    if (m->rec.n_records != 1)
        chk(&e, -EINVAL);
    enc_section(&e, &m->rec);
    return enc_done(&e);
}

int sl_wire_enc_scan(struct sl_wire_buf *b, const struct sl_wire_scan *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_SCAN);
    enc_array(&e, 8);
    enc_name(&e, m->node);
    enc_u64(&e, m->seq);
    enc_f64(&e, m->ts);
    enc_u64(&e, m->kind);
    enc_name(&e, m->scanner);
    enc_name(&e, m->victim);
    enc_u64(&e, m->port);
    enc_u64(&e, m->proto);
    return enc_done(&e);
}

int sl_wire_enc_notice(struct sl_wire_buf *b, const struct sl_wire_notice *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_NOTICE);
    enc_array(&e, 7);
    enc_name(&e, m->node);
    enc_u64(&e, m->seq);
    enc_f64(&e, m->ts);
    enc_name(&e, m->note);
    if (m->identifier) {
        /* identifiers are free text (Zeek builds them with cat()) */
        if (strlen(m->identifier) > 4096)
            chk(&e, -EINVAL);
        enc_str(&e, m->identifier);
    } else {
        chk(&e, msgpack_pack_nil(&e.pk));
    }
    enc_f64(&e, m->suppress_for);
    if (m->rec.n_records != 1)
        chk(&e, -EINVAL);
    enc_section(&e, &m->rec);
    return enc_done(&e);
}

int sl_wire_enc_heartbeat(struct sl_wire_buf *b, const struct sl_wire_heartbeat *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_HEARTBEAT);
    enc_array(&e, 5);
    enc_name(&e, m->node);
    enc_u64(&e, m->role);
    enc_u64(&e, m->seq);
    enc_f64(&e, m->wall);
    if (m->n_counters && !m->counters)
        chk(&e, -EINVAL);
    chk(&e, msgpack_pack_map(&e.pk, m->n_counters));
    for (uint32_t i = 0; i < m->n_counters && !e.rc; i++) {
        enc_name(&e, m->counters[i].name);
        enc_u64(&e, m->counters[i].value);
    }
    return enc_done(&e);
}

int sl_wire_enc_control(struct sl_wire_buf *b, const struct sl_wire_control *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_CONTROL);
    if (m->kind == 0 || m->kind >= SL_CTL_MAX)
        chk(&e, -EINVAL);
    enc_array(&e, 4);
    enc_u64(&e, m->kind);
    enc_name(&e, m->node);
    enc_u64(&e, m->epoch);
    if (m->n_names && !m->names)
        chk(&e, -EINVAL);
    enc_array(&e, m->n_names);
    for (uint32_t i = 0; i < m->n_names && !e.rc; i++)
        enc_name(&e, m->names[i]);
    return enc_done(&e);
}

int sl_wire_enc_ack(struct sl_wire_buf *b, const struct sl_wire_ack *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_ACK);
    enc_array(&e, 4);
    enc_name(&e, m->node);
    enc_u64(&e, m->of_type);
    enc_name(&e, m->origin);
    enc_u64(&e, m->seq);
    return enc_done(&e);
}

int sl_wire_enc_clock(struct sl_wire_buf *b, const struct sl_wire_clock *m)
{
    struct enc e;
    enc_init(&e, b, SL_WIRE_CLOCK);
    enc_array(&e, 3);
    enc_name(&e, m->node);
    enc_u64(&e, m->epoch);
    enc_f64(&e, m->ts);
    return enc_done(&e);
}

/* ---------------------------------------------------------------- names */

bool sl_wire_name_ok(const char *s)
{
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c <= ' ' || c >= 127 || n >= SL_WIRE_MAX_NAME)
            return false;
    }
    return n > 0;
}

const char *sl_wire_type_name(unsigned type)
{
    static const char *const names[SL_WIRE_TYPE_MAX] = {
        [SL_WIRE_LOG] = "log",
        [SL_WIRE_KNOWN] = "known",
        [SL_WIRE_SCAN] = "scan",
        [SL_WIRE_NOTICE] = "notice",
        [SL_WIRE_HEARTBEAT] = "heartbeat",
        [SL_WIRE_CONTROL] = "control",
        [SL_WIRE_ACK] = "ack",
        [SL_WIRE_CLOCK] = "clock",
    };
    return type < SL_WIRE_TYPE_MAX && names[type] ? names[type] : "?";
}

static const char *const role_names[SL_ROLE_MAX] = {
    [SL_ROLE_LOGGER] = "logger", [SL_ROLE_MANAGER] = "manager",   [SL_ROLE_PROXY] = "proxy",
    [SL_ROLE_WORKER] = "worker", [SL_ROLE_FRONTEND] = "frontend",
};

const char *sl_wire_role_name(unsigned role)
{
    return role < SL_ROLE_MAX && role_names[role] ? role_names[role] : "?";
}

unsigned sl_wire_role_parse(const char *s)
{
    for (unsigned i = 1; i < SL_ROLE_MAX; i++)
        if (s && strcmp(s, role_names[i]) == 0)
            return i;
    return 0;
}

uint64_t sl_wire_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---------------------------------------------------------------- structure walk */

struct walk {
    const uint8_t *p;
    size_t len, pos;
    size_t elements;
    const char *why;
};

static bool need(struct walk *w, size_t n)
{
    if (n > w->len - w->pos) {
        w->why = "truncated msgpack";
        return false;
    }
    return true;
}

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads a length of n bytes after the type byte; checks it fits. */
static bool take_len(struct walk *w, unsigned n, uint64_t *out)
{
    if (!need(w, n))
        return false;
    *out = be(w->p + w->pos, n);
    w->pos += n;
    return true;
}

/* Validates one msgpack object at w->pos: every length inside the buffer,
 * every container count possible in the bytes left, bounded depth, no bin
 * or ext (never sent), bounded element total. */
static bool walk_obj(struct walk *w, unsigned depth)
{
    uint64_t n = 0;
    bool is_map = false;

    if (depth > MAX_DEPTH) {
        w->why = "msgpack nested too deep";
        return false;
    }
    if (++w->elements > MAX_ELEMENTS) {
        w->why = "too many msgpack elements";
        return false;
    }
    if (!need(w, 1))
        return false;
    uint8_t t = w->p[w->pos++];
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return true;
    if (t >= 0xa0 && t <= 0xbf)
        return need(w, t & 0x1f) && (w->pos += t & 0x1f, true);
    switch (t) {
    case 0xca:
        return need(w, 4) && (w->pos += 4, true);
    case 0xcb:
        return need(w, 8) && (w->pos += 8, true);
    case 0xcc:
    case 0xd0:
        return need(w, 1) && (w->pos += 1, true);
    case 0xcd:
    case 0xd1:
        return need(w, 2) && (w->pos += 2, true);
    case 0xce:
    case 0xd2:
        return need(w, 4) && (w->pos += 4, true);
    case 0xcf:
    case 0xd3:
        return need(w, 8) && (w->pos += 8, true);
    case 0xd9:
    case 0xda:
    case 0xdb: {
        unsigned k = t == 0xd9 ? 1 : t == 0xda ? 2 : 4;
        return take_len(w, k, &n) && need(w, n) && (w->pos += n, true);
    }
    case 0xdc:
    case 0xdd:
        if (!take_len(w, t == 0xdc ? 2 : 4, &n))
            return false;
        break;
    case 0xde:
    case 0xdf:
        if (!take_len(w, t == 0xde ? 2 : 4, &n))
            return false;
        is_map = true;
        break;
    default:
        if (t >= 0x90 && t <= 0x9f) {
            n = t & 0x0f;
        } else if (t >= 0x80 && t <= 0x8f) {
            n = t & 0x0f;
            is_map = true;
        } else {
            w->why = t == 0xc1 ? "invalid msgpack byte 0xc1" : "unexpected msgpack bin/ext";
            return false;
        }
    }
    if (is_map)
        n *= 2;
    if (n > w->len - w->pos) {
        w->why = "msgpack container count exceeds message";
        return false;
    }
    for (uint64_t i = 0; i < n; i++)
        if (!walk_obj(w, depth + 1))
            return false;
    return true;
}

/* ---------------------------------------------------------------- arena */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct arena {
    struct chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 8192 ? n : 8192;
        struct chunk *c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

static void arena_free(struct arena *a)
{
    while (a && a->head) {
        struct chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
}

/* ---------------------------------------------------------------- decoding */

struct dec {
    struct arena *a;
    char *err;
    size_t errlen;
    int rc;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static bool
fail(struct dec *d, const char *fmt, ...)
{
    if (d->rc == 0) {
        d->rc = -EBADMSG;
        if (d->err && d->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(d->err, d->errlen, fmt, ap);
            va_end(ap);
        }
    }
    return false;
}

static bool nomem(struct dec *d)
{
    if (d->rc == 0) {
        d->rc = -ENOMEM;
        if (d->err && d->errlen)
            snprintf(d->err, d->errlen, "out of memory");
    }
    return false;
}

static void *dalloc(struct dec *d, size_t n)
{
    void *p = arena_alloc(d->a, n ? n : 1);
    if (!p)
        nomem(d);
    return p;
}

static bool arr(struct dec *d, const msgpack_object *o, uint32_t min, uint32_t max,
                const char *what)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail(d, "%s: expected an array", what);
    if (o->via.array.size < min || o->via.array.size > max)
        return fail(d, "%s: %u elements, expected %u..%u", what, o->via.array.size, min, max);
    return true;
}

/* A C string copy of a msgpack str; no NUL inside. */
static bool str(struct dec *d, const msgpack_object *o, const char **out, const char *what)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return fail(d, "%s: expected a string", what);
    uint32_t n = o->via.str.size;
    if (n && memchr(o->via.str.ptr, 0, n))
        return fail(d, "%s: NUL byte in string", what);
    char *s = dalloc(d, (size_t)n + 1);
    if (!s)
        return false;
    if (n) /* msgpack-c leaves ptr NULL for "" and memcpy's source may not be NULL */
        memcpy(s, o->via.str.ptr, n);
    s[n] = 0;
    *out = s;
    return true;
}

static bool name(struct dec *d, const msgpack_object *o, const char **out, const char *what)
{
    if (!str(d, o, out, what))
        return false;
    if (!sl_wire_name_ok(*out))
        return fail(d, "%s: not a valid name", what);
    return true;
}

static bool u64(struct dec *d, const msgpack_object *o, uint64_t max, uint64_t *out,
                const char *what)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fail(d, "%s: expected an unsigned integer", what);
    if (o->via.u64 > max)
        return fail(d, "%s: %llu out of range", what, (unsigned long long)o->via.u64);
    *out = o->via.u64;
    return true;
}

static bool f64(struct dec *d, const msgpack_object *o, double *out, const char *what)
{
    if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        *out = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *out = (double)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = (double)o->via.i64;
    else
        return fail(d, "%s: expected a number", what);
    if (isnan(*out))
        return fail(d, "%s: NaN", what);
    return true;
}

static bool dec_value(struct dec *d, const msgpack_object *o, enum sl_log_type t,
                      struct sl_log_val *v, const char *field)
{
    memset(v, 0, sizeof(*v));
    if (o->type == MSGPACK_OBJECT_NIL)
        return true;
    v->present = true;
    if (!is_container(t))
        return str(d, o, &v->s, field);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail(d, "field %s: container expected", field);
    uint32_t n = o->via.array.size;
    const char **items = dalloc(d, sizeof(*items) * (n ? n : 1));
    if (!items)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!str(d, &o->via.array.ptr[i], &items[i], field))
            return false;
    v->items = items;
    v->n_items = n;
    return true;
}

static bool dec_schema(struct dec *d, const msgpack_object *path, const msgpack_object *fields,
                       struct sl_log_schema *s)
{
    if (!str(d, path, &s->path, "stream path"))
        return false;
    if (!path_ok(s->path))
        return fail(d, "stream path: not a plain file name");
    if (!arr(d, fields, 1, SL_WIRE_MAX_FIELDS, "stream fields"))
        return false;
    uint32_t n = fields->via.array.size;
    struct sl_log_field *f = dalloc(d, sizeof(*f) * n);
    if (!f)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *fo = &fields->via.array.ptr[i];
        uint64_t t = 0;
        if (!arr(d, fo, 2, 2, "field") ||
            !name(d, &fo->via.array.ptr[0], &f[i].name, "field name") ||
            !u64(d, &fo->via.array.ptr[1], SL_LT_MAX - 1, &t, "field type"))
            return false;
        f[i].type = (enum sl_log_type)t;
    }
    s->n_fields = n;
    s->fields = f;
    return true;
}

static bool dec_section(struct dec *d, const msgpack_object *o, struct sl_wire_section *sec,
                        uint32_t max_records)
{
    if (!arr(d, o, 3, 3, "section") ||
        !dec_schema(d, &o->via.array.ptr[0], &o->via.array.ptr[1], &sec->schema))
        return false;
    const msgpack_object *recs = &o->via.array.ptr[2];
    if (!arr(d, recs, 0, max_records, "records"))
        return false;
    unsigned nf = sec->schema.n_fields;
    uint32_t nr = recs->via.array.size;
    struct sl_log_val *vals = dalloc(d, sizeof(*vals) * nf * (nr ? nr : 1));
    if (!vals)
        return false;
    for (uint32_t r = 0; r < nr; r++) {
        const msgpack_object *ro = &recs->via.array.ptr[r];
        if (ro->type != MSGPACK_OBJECT_ARRAY || ro->via.array.size != nf)
            return fail(d, "%s record %u: %u values, schema has %u", sec->schema.path, r,
                        ro->type == MSGPACK_OBJECT_ARRAY ? ro->via.array.size : 0, nf);
        for (unsigned i = 0; i < nf; i++)
            if (!dec_value(d, &ro->via.array.ptr[i], sec->schema.fields[i].type,
                           &vals[(size_t)r * nf + i], sec->schema.fields[i].name))
                return false;
    }
    sec->n_records = nr;
    sec->vals = vals;
    return true;
}

#define EL(i) (&body->via.array.ptr[i])

static bool dec_log(struct dec *d, const msgpack_object *body, struct sl_wire_log *m)
{
    uint64_t seq = 0;
    if (!arr(d, body, 3, 3, "log") || !name(d, EL(0), &m->node, "log node") ||
        !u64(d, EL(1), UINT64_MAX, &seq, "log seq") || !arr(d, EL(2), 0, 1024, "log sections"))
        return false;
    m->seq = seq;
    uint32_t n = EL(2)->via.array.size;
    struct sl_wire_section *secs = dalloc(d, sizeof(*secs) * (n ? n : 1));
    if (!secs)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!dec_section(d, &EL(2)->via.array.ptr[i], &secs[i], UINT32_MAX))
            return false;
    m->n_sections = n;
    m->sections = secs;
    return true;
}

static bool dec_known(struct dec *d, const msgpack_object *body, struct sl_wire_known *m)
{
    uint64_t hops = 0, flags = 0;
    if (!arr(d, body, 10, 10, "known") || !name(d, EL(0), &m->set, "known set") ||
        !name(d, EL(1), &m->key, "known key") || !name(d, EL(2), &m->origin, "known origin") ||
        !u64(d, EL(3), UINT64_MAX, &m->seq, "known seq") ||
        !str(d, EL(4), &m->entry, "known entry") ||
        (*m->entry && !sl_wire_name_ok(m->entry) && !fail(d, "known entry: not a valid name")) ||
        !u64(d, EL(5), UINT64_MAX, &m->epoch, "known epoch") ||
        !u64(d, EL(6), UINT32_MAX, &hops, "known hops") || !f64(d, EL(7), &m->ts, "known ts") ||
        !u64(d, EL(8), UINT32_MAX, &flags, "known flags") || !dec_section(d, EL(9), &m->rec, 1))
        return false;
    if (m->rec.n_records != 1)
        return fail(d, "known: record missing");
    m->hops = (uint32_t)hops;
    m->flags = (uint32_t)flags;
    return true;
}

static bool dec_scan(struct dec *d, const msgpack_object *body, struct sl_wire_scan *m)
{
    uint64_t kind = 0, port = 0, proto = 0;
    if (!arr(d, body, 8, 8, "scan") || !name(d, EL(0), &m->node, "scan node") ||
        !u64(d, EL(1), UINT64_MAX, &m->seq, "scan seq") || !f64(d, EL(2), &m->ts, "scan ts") ||
        !u64(d, EL(3), 255, &kind, "scan kind") || !name(d, EL(4), &m->scanner, "scan scanner") ||
        !name(d, EL(5), &m->victim, "scan victim") || !u64(d, EL(6), 65535, &port, "scan port") ||
        !u64(d, EL(7), 255, &proto, "scan proto"))
        return false;
    m->kind = (uint8_t)kind;
    m->port = (uint16_t)port;
    m->proto = (uint8_t)proto;
    return true;
}

static bool dec_notice(struct dec *d, const msgpack_object *body, struct sl_wire_notice *m)
{
    if (!arr(d, body, 7, 7, "notice") || !name(d, EL(0), &m->node, "notice node") ||
        !u64(d, EL(1), UINT64_MAX, &m->seq, "notice seq") || !f64(d, EL(2), &m->ts, "notice ts") ||
        !name(d, EL(3), &m->note, "notice note"))
        return false;
    m->identifier = NULL;
    if (EL(4)->type != MSGPACK_OBJECT_NIL && !str(d, EL(4), &m->identifier, "notice identifier"))
        return false;
    if (!f64(d, EL(5), &m->suppress_for, "notice suppress_for") ||
        !dec_section(d, EL(6), &m->rec, 1))
        return false;
    if (m->rec.n_records != 1)
        return fail(d, "notice: record missing");
    return true;
}

static bool dec_heartbeat(struct dec *d, const msgpack_object *body, struct sl_wire_heartbeat *m)
{
    uint64_t role = 0;
    if (!arr(d, body, 5, 5, "heartbeat") || !name(d, EL(0), &m->node, "heartbeat node") ||
        !u64(d, EL(1), SL_ROLE_MAX - 1, &role, "heartbeat role") ||
        !u64(d, EL(2), UINT64_MAX, &m->seq, "heartbeat seq") ||
        !f64(d, EL(3), &m->wall, "heartbeat wall"))
        return false;
    if (role == 0)
        return fail(d, "heartbeat role: 0");
    m->role = (uint8_t)role;
    if (EL(4)->type != MSGPACK_OBJECT_MAP)
        return fail(d, "heartbeat counters: expected a map");
    uint32_t n = EL(4)->via.map.size;
    struct sl_wire_counter *c = dalloc(d, sizeof(*c) * (n ? n : 1));
    if (!c)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &EL(4)->via.map.ptr[i];
        if (!name(d, &kv->key, &c[i].name, "counter name") ||
            !u64(d, &kv->val, UINT64_MAX, &c[i].value, "counter value"))
            return false;
    }
    m->n_counters = n;
    m->counters = c;
    return true;
}

static bool dec_control(struct dec *d, const msgpack_object *body, struct sl_wire_control *m)
{
    uint64_t kind = 0;
    if (!arr(d, body, 4, 4, "control") || !u64(d, EL(0), SL_CTL_MAX - 1, &kind, "control kind"))
        return false;
    if (kind == 0)
        return fail(d, "control kind: 0");
    m->kind = (uint8_t)kind;
    if (!name(d, EL(1), &m->node, "control node") ||
        !u64(d, EL(2), UINT64_MAX, &m->epoch, "control epoch") ||
        !arr(d, EL(3), 0, 65536, "control names"))
        return false;
    uint32_t n = EL(3)->via.array.size;
    const char **names = dalloc(d, sizeof(*names) * (n ? n : 1));
    if (!names)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!name(d, &EL(3)->via.array.ptr[i], &names[i], "control name"))
            return false;
    m->n_names = n;
    m->names = names;
    return true;
}

static bool dec_ack(struct dec *d, const msgpack_object *body, struct sl_wire_ack *m)
{
    uint64_t t = 0;
    if (!arr(d, body, 4, 4, "ack") || !name(d, EL(0), &m->node, "ack node") ||
        !u64(d, EL(1), SL_WIRE_TYPE_MAX - 1, &t, "ack type") ||
        !name(d, EL(2), &m->origin, "ack origin") || !u64(d, EL(3), UINT64_MAX, &m->seq, "ack seq"))
        return false;
    if (t != SL_WIRE_LOG && t != SL_WIRE_KNOWN)
        return fail(d, "ack type: %s is never acknowledged", sl_wire_type_name((unsigned)t));
    m->of_type = (uint8_t)t;
    return true;
}

static bool dec_clock(struct dec *d, const msgpack_object *body, struct sl_wire_clock *m)
{
    return arr(d, body, 3, 3, "clock") && name(d, EL(0), &m->node, "clock node") &&
           u64(d, EL(1), UINT64_MAX, &m->epoch, "clock epoch") && f64(d, EL(2), &m->ts, "clock ts");
}

#undef EL

static bool dec_body(struct dec *d, struct sl_wire_msg *m, const msgpack_object *body)
{
    switch (m->type) {
    case SL_WIRE_LOG:
        return dec_log(d, body, &m->u.log);
    case SL_WIRE_KNOWN:
        return dec_known(d, body, &m->u.known);
    case SL_WIRE_SCAN:
        return dec_scan(d, body, &m->u.scan);
    case SL_WIRE_NOTICE:
        return dec_notice(d, body, &m->u.notice);
    case SL_WIRE_HEARTBEAT:
        return dec_heartbeat(d, body, &m->u.hb);
    case SL_WIRE_CONTROL:
        return dec_control(d, body, &m->u.ctl);
    case SL_WIRE_ACK:
        return dec_ack(d, body, &m->u.ack);
    case SL_WIRE_CLOCK:
        return dec_clock(d, body, &m->u.clock);
    }
    return fail(d, "unknown message type %u", m->type);
}

int sl_wire_decode(const void *data, size_t len, struct sl_wire_msg *m, char *err, size_t errlen)
{
    struct arena *a = calloc(1, sizeof(*a));
    struct dec d = {.a = a, .err = err, .errlen = errlen};
    const uint8_t *p = data;

    memset(m, 0, sizeof(*m));
    if (err && errlen)
        err[0] = 0;
    if (!a)
        return nomem(&d), d.rc;
    m->arena_ = a;
    if (!p || len < 3)
        return fail(&d, "message too short (%zu bytes)", len), d.rc;
    if (len > SL_WIRE_MAX_MSG)
        return fail(&d, "message too long (%zu bytes)", len), d.rc;
    if (p[0] != SL_WIRE_VERSION)
        return fail(&d, "wire version %u, expected %u", p[0], SL_WIRE_VERSION), d.rc;
    m->version = p[0];
    m->type = p[1];
    if (m->type == 0 || m->type >= SL_WIRE_TYPE_MAX)
        return fail(&d, "unknown message type %u", m->type), d.rc;

    struct walk w = {.p = p + 2, .len = len - 2};
    if (!walk_obj(&w, 0))
        return fail(&d, "%s body: %s", sl_wire_type_name(m->type), w.why), d.rc;
    if (w.pos != w.len)
        return fail(&d, "%zu trailing bytes after the %s body", w.len - w.pos,
                    sl_wire_type_name(m->type)),
               d.rc;

    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    msgpack_unpack_return r = msgpack_unpack_next(&up, (const char *)p + 2, len - 2, &off);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        nomem(&d);
    else if (r != MSGPACK_UNPACK_SUCCESS || off != len - 2)
        fail(&d, "%s body: msgpack did not parse", sl_wire_type_name(m->type));
    else
        dec_body(&d, m, &up.data);
    msgpack_unpacked_destroy(&up);
    return d.rc;
}

void sl_wire_msg_clear(struct sl_wire_msg *m)
{
    if (!m)
        return;
    arena_free(m->arena_);
    free(m->arena_);
    memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------------- batches */

struct bsec {
    const struct sl_log_schema *schema;
    struct sl_wire_buf recs; /* packed records */
    uint32_t n;
};

struct sl_wire_batch {
    struct bsec *secs;
    unsigned n_secs, cap;
    uint32_t records;
    size_t bytes;
};

struct sl_wire_batch *sl_wire_batch_new(void)
{
    return calloc(1, sizeof(struct sl_wire_batch));
}

void sl_wire_batch_free(struct sl_wire_batch *bt)
{
    if (!bt)
        return;
    for (unsigned i = 0; i < bt->n_secs; i++)
        sl_wire_buf_free(&bt->secs[i].recs);
    free(bt->secs);
    free(bt);
}

static struct bsec *batch_section(struct sl_wire_batch *bt, const struct sl_log_schema *s)
{
    for (unsigned i = 0; i < bt->n_secs; i++)
        if (bt->secs[i].schema == s)
            return &bt->secs[i];
    if (schema_ok(s))
        return NULL;
    if (bt->n_secs == bt->cap) {
        unsigned cap = bt->cap ? bt->cap * 2 : 8;
        struct bsec *n = realloc(bt->secs, sizeof(*n) * cap);
        if (!n)
            return NULL;
        bt->secs = n;
        bt->cap = cap;
    }
    struct bsec *sec = &bt->secs[bt->n_secs++];
    memset(sec, 0, sizeof(*sec));
    sec->schema = s;
    return sec;
}

int sl_wire_batch_add(struct sl_wire_batch *bt, const struct sl_log_schema *s,
                      const struct sl_log_val *vals)
{
    if (!bt || !s || !vals)
        return -EINVAL;
    struct bsec *sec = batch_section(bt, s);
    if (!sec)
        return schema_ok(s) ? -EINVAL : -ENOMEM;
    size_t before = sec->recs.len;
    struct enc e = {.b = &sec->recs, .start = before};
    msgpack_packer_init(&e.pk, &sec->recs, pk_write);
    enc_record(&e, s, vals);
    if (e.rc) {
        sec->recs.len = before;
        return e.rc;
    }
    sec->n++;
    bt->records++;
    bt->bytes += sec->recs.len - before;
    return 0;
}

uint32_t sl_wire_batch_records(const struct sl_wire_batch *bt)
{
    return bt ? bt->records : 0;
}

size_t sl_wire_batch_bytes(const struct sl_wire_batch *bt)
{
    return bt ? bt->bytes : 0;
}

int sl_wire_batch_finish(struct sl_wire_batch *bt, const char *node, uint64_t seq,
                         struct sl_wire_buf *out)
{
    struct enc e;
    unsigned used = 0;

    for (unsigned i = 0; i < bt->n_secs; i++)
        used += bt->secs[i].n > 0;
    enc_init(&e, out, SL_WIRE_LOG);
    enc_array(&e, 3);
    enc_name(&e, node);
    enc_u64(&e, seq);
    enc_array(&e, used);
    for (unsigned i = 0; i < bt->n_secs && !e.rc; i++) {
        struct bsec *sec = &bt->secs[i];
        if (!sec->n)
            continue;
        enc_array(&e, 3);
        enc_schema(&e, sec->schema);
        enc_array(&e, sec->n);
        chk(&e, buf_append(out, sec->recs.data, sec->recs.len));
    }
    int rc = enc_done(&e);
    if (rc == 0) {
        for (unsigned i = 0; i < bt->n_secs; i++) {
            bt->secs[i].n = 0;
            bt->secs[i].recs.len = 0;
        }
        bt->records = 0;
        bt->bytes = 0;
    }
    return rc;
}

/* ---------------------------------------------------------------- seen set */

struct seen_ent {
    uint64_t h; /* 0: empty slot */
    uint64_t seq;
    char *node;
};

struct sl_wire_seen {
    struct seen_ent *t;
    size_t cap, n;
};

struct sl_wire_seen *sl_wire_seen_new(void)
{
    struct sl_wire_seen *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cap = 256;
    s->t = calloc(s->cap, sizeof(*s->t));
    if (!s->t) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

void sl_wire_seen_free(struct sl_wire_seen *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->t[i].node);
    free(s->t);
    free(s);
}

static uint64_t seen_hash(const char *node, uint64_t seq)
{
    uint64_t h = sl_wire_hash(node) ^ (seq * 0x9e3779b97f4a7c15ull);
    h ^= h >> 31;
    return h ? h : 1;
}

static struct seen_ent *seen_slot(struct seen_ent *t, size_t cap, uint64_t h, const char *node,
                                  uint64_t seq)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!t[i].h || (t[i].h == h && t[i].seq == seq && strcmp(t[i].node, node) == 0))
            return &t[i];
}

static int seen_grow(struct sl_wire_seen *s)
{
    size_t cap = s->cap * 2;
    struct seen_ent *t = calloc(cap, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->t[i].h)
            *seen_slot(t, cap, s->t[i].h, s->t[i].node, s->t[i].seq) = s->t[i];
    free(s->t);
    s->t = t;
    s->cap = cap;
    return 0;
}

int sl_wire_seen_add(struct sl_wire_seen *s, const char *node, uint64_t seq)
{
    if ((s->n + 1) * 4 > s->cap * 3 && seen_grow(s) < 0)
        return -ENOMEM;
    uint64_t h = seen_hash(node, seq);
    struct seen_ent *e = seen_slot(s->t, s->cap, h, node, seq);
    if (e->h)
        return 0;
    char *copy = strdup(node);
    if (!copy)
        return -ENOMEM;
    e->h = h;
    e->seq = seq;
    e->node = copy;
    s->n++;
    return 1;
}

bool sl_wire_seen_has(const struct sl_wire_seen *s, const char *node, uint64_t seq)
{
    return seen_slot(s->t, s->cap, seen_hash(node, seq), node, seq)->h != 0;
}

size_t sl_wire_seen_count(const struct sl_wire_seen *s)
{
    return s->n;
}

/* ---------------------------------------------------------------- module payloads */

int sl_wire_addr_parse(const char *s, uint8_t out[16])
{
    struct in_addr a4;
    if (!s)
        return -EINVAL;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(out, pfx, 12);
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
}

static const struct sl_log_field notice_fields[SL_WIRE_NOTICE_FIELDS] = {
    {"ts", SL_LT_TIME},           {"note", SL_LT_STRING},       {"msg", SL_LT_STRING},
    {"sub", SL_LT_STRING},        {"uid", SL_LT_STRING},        {"id.orig_h", SL_LT_ADDR},
    {"id.orig_p", SL_LT_COUNT},   {"id.resp_h", SL_LT_ADDR},    {"id.resp_p", SL_LT_COUNT},
    {"id.proto", SL_LT_COUNT},    {"fuid", SL_LT_STRING},       {"file_mime_type", SL_LT_STRING},
    {"file_desc", SL_LT_STRING},  {"src", SL_LT_ADDR},          {"dst", SL_LT_ADDR},
    {"p", SL_LT_COUNT},           {"p_proto", SL_LT_COUNT},     {"n", SL_LT_COUNT},
    {"peer_descr", SL_LT_STRING}, {"identifier", SL_LT_STRING}, {"suppress_for", SL_LT_INTERVAL},
};
const struct sl_log_schema sl_wire_notice_schema = {"notice_raise", SL_WIRE_NOTICE_FIELDS,
                                                    notice_fields};

static struct sl_log_val str_val(const char *s)
{
    return (struct sl_log_val){.present = s != NULL, .s = s};
}

void sl_wire_notice_to_vals(const struct sl_notice *n, struct sl_log_val *v,
                            struct sl_wire_notice_buf *b)
{
    memset(v, 0, SL_WIRE_NOTICE_FIELDS * sizeof(*v));
    v[0] = str_val(sl_log_fmt_time(n->ts, b->ts, sizeof(b->ts)));
    v[1] = str_val(n->note);
    v[2] = str_val(n->msg);
    v[3] = str_val(n->sub);
    v[4] = str_val(n->uid);
    if (n->has_id) {
        v[5] = str_val(sl_pkt_addr_str(n->orig_h, b->orig_h, sizeof(b->orig_h)));
        v[6] = str_val(sl_log_fmt_u64(n->orig_p, b->num[0], sizeof(b->num[0])));
        v[7] = str_val(sl_pkt_addr_str(n->resp_h, b->resp_h, sizeof(b->resp_h)));
        v[8] = str_val(sl_log_fmt_u64(n->resp_p, b->num[1], sizeof(b->num[1])));
        v[9] = str_val(sl_log_fmt_u64(n->id_proto, b->num[2], sizeof(b->num[2])));
    }
    v[10] = str_val(n->fuid);
    v[11] = str_val(n->file_mime_type);
    v[12] = str_val(n->file_desc);
    if (n->has_src)
        v[13] = str_val(sl_pkt_addr_str(n->src, b->src, sizeof(b->src)));
    if (n->has_dst)
        v[14] = str_val(sl_pkt_addr_str(n->dst, b->dst, sizeof(b->dst)));
    if (n->has_p) {
        v[15] = str_val(sl_log_fmt_u64(n->p, b->num[3], sizeof(b->num[3])));
        v[16] = str_val(sl_log_fmt_u64(n->p_proto, b->num[4], sizeof(b->num[4])));
    }
    if (n->has_n)
        v[17] = str_val(sl_log_fmt_u64(n->n, b->num[5], sizeof(b->num[5])));
    v[18] = str_val(n->peer_descr);
    v[19] = str_val(n->identifier);
    if (n->has_suppress_for) {
        snprintf(b->sup, sizeof(b->sup), "%.17g", n->suppress_for);
        v[20] = str_val(b->sup);
    }
}

static int num_field(const struct sl_log_val *v, uint64_t max, uint64_t *out)
{
    char *end;
    if (!v->present || !v->s || !*v->s)
        return -EINVAL;
    errno = 0;
    unsigned long long x = strtoull(v->s, &end, 10);
    if (errno || *end || x > max || v->s[0] == '-')
        return -EINVAL;
    *out = x;
    return 0;
}

int sl_wire_notice_from_vals(const struct sl_wire_section *rec, struct sl_notice *n)
{
    const struct sl_log_schema *s = &rec->schema;
    if (rec->n_records != 1 || strcmp(s->path, sl_wire_notice_schema.path) != 0 ||
        s->n_fields != SL_WIRE_NOTICE_FIELDS)
        return -EINVAL;
    for (unsigned i = 0; i < SL_WIRE_NOTICE_FIELDS; i++)
        if (strcmp(s->fields[i].name, notice_fields[i].name) != 0)
            return -EINVAL;
    const struct sl_log_val *v = rec->vals;
    uint64_t x;
    char *end;
    memset(n, 0, sizeof(*n));
    if (!v[0].present || !v[1].present)
        return -EINVAL;
    n->ts = strtod(v[0].s, &end);
    if (*end)
        return -EINVAL;
    n->note = v[1].s;
    n->msg = v[2].present ? v[2].s : NULL;
    n->sub = v[3].present ? v[3].s : NULL;
    n->uid = v[4].present ? v[4].s : NULL;
    if (v[5].present) {
        n->has_id = true;
        if (sl_wire_addr_parse(v[5].s, n->orig_h) < 0 || sl_wire_addr_parse(v[7].s, n->resp_h) < 0)
            return -EINVAL;
        if (num_field(&v[6], 65535, &x) < 0)
            return -EINVAL;
        n->orig_p = (uint16_t)x;
        if (num_field(&v[8], 65535, &x) < 0)
            return -EINVAL;
        n->resp_p = (uint16_t)x;
        if (num_field(&v[9], 255, &x) < 0)
            return -EINVAL;
        n->id_proto = (uint8_t)x;
    }
    n->fuid = v[10].present ? v[10].s : NULL;
    n->file_mime_type = v[11].present ? v[11].s : NULL;
    n->file_desc = v[12].present ? v[12].s : NULL;
    if ((n->has_src = v[13].present) && sl_wire_addr_parse(v[13].s, n->src) < 0)
        return -EINVAL;
    if ((n->has_dst = v[14].present) && sl_wire_addr_parse(v[14].s, n->dst) < 0)
        return -EINVAL;
    if ((n->has_p = v[15].present)) {
        if (num_field(&v[15], 65535, &x) < 0)
            return -EINVAL;
        n->p = (uint16_t)x;
        if (num_field(&v[16], 255, &x) < 0)
            return -EINVAL;
        n->p_proto = (uint8_t)x;
    }
    if ((n->has_n = v[17].present) && num_field(&v[17], UINT64_MAX, &n->n) < 0)
        return -EINVAL;
    n->peer_descr = v[18].present ? v[18].s : NULL;
    n->identifier = v[19].present ? v[19].s : NULL;
    if ((n->has_suppress_for = v[20].present)) {
        n->suppress_for = strtod(v[20].s, &end);
        if (*end)
            return -EINVAL;
    }
    return 0;
}

int sl_wire_scan_encode(const struct sl_scan_obs *o, const char *node, uint64_t seq,
                        struct sl_wire_buf *b)
{
    char sc[48], vi[48];
    struct sl_wire_scan m = {.node = node,
                             .seq = seq,
                             .ts = o->ts,
                             .kind = 0,
                             .scanner = sl_pkt_addr_str(o->scanner, sc, sizeof(sc)),
                             .victim = sl_pkt_addr_str(o->victim, vi, sizeof(vi)),
                             .port = o->port,
                             .proto = o->proto};
    return sl_wire_enc_scan(b, &m);
}

int sl_wire_scan_decode(const struct sl_wire_scan *m, struct sl_scan_obs *o)
{
    memset(o, 0, sizeof(*o));
    o->ts = m->ts;
    o->port = m->port;
    o->proto = m->proto;
    if (sl_wire_addr_parse(m->scanner, o->scanner) < 0 ||
        sl_wire_addr_parse(m->victim, o->victim) < 0)
        return -EINVAL;
    return 0;
}

int sl_wire_known_host_key(const struct sl_known_host *h, char *key, size_t n)
{
    if (n < 48)
        return -ENOSPC;
    sl_pkt_addr_str(h->host, key, n);
    return 0;
}

int sl_wire_known_service_key(const struct sl_known_service *s, char *key, size_t n)
{
    char a[48];
    int w = snprintf(key, n, "%s/%u/%u", sl_pkt_addr_str(s->host, a, sizeof(a)), s->port, s->proto);
    return w < 0 || (size_t)w >= n ? -ENOSPC : 0;
}

static bool rec_is(const struct sl_wire_known *k, const struct sl_log_schema *want)
{
    const struct sl_log_schema *s = &k->rec.schema;
    if (k->rec.n_records != 1 || strcmp(s->path, want->path) != 0 || s->n_fields != want->n_fields)
        return false;
    for (unsigned i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, want->fields[i].name) != 0)
            return false;
    return true;
}

int sl_wire_known_host(const struct sl_wire_known *k, struct sl_known_host *h)
{
    memset(h, 0, sizeof(*h));
    if (!rec_is(k, &sl_known_hosts_schema) || !k->rec.vals[SL_KH_HOST].present)
        return -EINVAL;
    h->ts = k->ts;
    return sl_wire_addr_parse(k->rec.vals[SL_KH_HOST].s, h->host);
}

int sl_wire_known_service(const struct sl_wire_known *k, struct sl_known_service *s)
{
    memset(s, 0, sizeof(*s));
    if (!rec_is(k, &sl_known_services_schema))
        return -EINVAL;
    const struct sl_log_val *v = k->rec.vals;
    uint64_t port;
    if (!v[SL_KS_HOST].present || sl_wire_addr_parse(v[SL_KS_HOST].s, s->host) < 0 ||
        num_field(&v[SL_KS_PORT_NUM], 65535, &port) < 0 || !v[SL_KS_PORT_PROTO].present)
        return -EINVAL;
    s->ts = k->ts;
    s->port = (uint16_t)port;
    const char *pr = v[SL_KS_PORT_PROTO].s;
    s->proto = strcmp(pr, "tcp") == 0 ? 6 : strcmp(pr, "udp") == 0 ? 17 : 0;
    const struct sl_log_val *svc = &v[SL_KS_SERVICE];
    if (svc->present) {
        for (uint32_t i = 0; i < svc->n_items && i < SL_KNOWN_MAX_SVC; i++) {
            if (strlen(svc->items[i]) >= SL_KNOWN_SVC_LEN)
                return -EINVAL;
            snprintf(s->svc[i], SL_KNOWN_SVC_LEN, "%s", svc->items[i]);
            s->n_svc++;
        }
    }
    return 0;
}
