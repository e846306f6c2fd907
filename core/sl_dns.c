/* sl_dns: DNS parser and dns.log builder with Zeek 8.0's semantics.
 *
 * The parser mirrors the structure of Zeek's DNS_Interpreter on purpose:
 * the same (data, len) cursor discipline, the same order of checks and the
 * same places where it stops, because each of those decides which weird is
 * raised and which answers reach the log. Every read is bounded by `len`,
 * the bytes left in the message after `data`; compression pointers may only
 * point before the pointer itself and the recursion is given exactly the
 * bytes between target and pointer, so no read leaves the message and no
 * pointer chain can loop.
 */
#include "sl_dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN            12
#define NAME_BUF           513         /* Zeek's u_char name[513] */
#define MAX_QUERIES        25          /* dns_max_queries */
#define MAX_COMPRESS_DEPTH 20          /* dns_max_compression_chain_depth */
#define MAX_PENDING_IDS    50          /* DNS::max_pending_query_ids */
#define MAX_PENDING_MSGS   50          /* DNS::max_pending_msgs */
#define VIOLATION_SIZE_MAX (10 * 1024) /* DPD::ignore_violations_after */
#define NETBIOS_PORT       137
#define STATE_ANSWER_BYTES (1u << 20) /* memory cap on answer text per state */

enum {
    T_A = 1,
    T_NS = 2,
    T_CNAME = 5,
    T_SOA = 6,
    T_WKS = 11,
    T_PTR = 12,
    T_HINFO = 13,
    T_MX = 15,
    T_TXT = 16,
    T_AAAA = 28,
    T_LOC = 29,
    T_NBS = 32,
    T_SRV = 33,
    T_NAPTR = 35,
    T_A6 = 38,
    T_EDNS = 41,
    T_DS = 43,
    T_SSHFP = 44,
    T_RRSIG = 46,
    T_NSEC = 47,
    T_DNSKEY = 48,
    T_NSEC3 = 50,
    T_NSEC3PARAM = 51,
    T_SVCB = 64,
    T_HTTPS = 65,
    T_SPF = 99,
    T_TKEY = 249,
    T_TSIG = 250,
    T_CAA = 257,
    T_BINDS = 65534
};

/* ---- schema ---- */

static const struct sl_log_field dns_fields[SL_DNS_N_FIELDS] = {
    {"ts", SL_LT_TIME},           {"uid", SL_LT_STRING},
    {"id.orig_h", SL_LT_ADDR},    {"id.orig_p", SL_LT_PORT},
    {"id.resp_h", SL_LT_ADDR},    {"id.resp_p", SL_LT_PORT},
    {"proto", SL_LT_ENUM},        {"trans_id", SL_LT_COUNT},
    {"rtt", SL_LT_INTERVAL},      {"query", SL_LT_STRING},
    {"qclass", SL_LT_COUNT},      {"qclass_name", SL_LT_STRING},
    {"qtype", SL_LT_COUNT},       {"qtype_name", SL_LT_STRING},
    {"rcode", SL_LT_COUNT},       {"rcode_name", SL_LT_STRING},
    {"AA", SL_LT_BOOL},           {"TC", SL_LT_BOOL},
    {"RD", SL_LT_BOOL},           {"RA", SL_LT_BOOL},
    {"Z", SL_LT_COUNT},           {"answers", SL_LT_VEC_STRING},
    {"TTLs", SL_LT_VEC_INTERVAL}, {"rejected", SL_LT_BOOL},
};

const struct sl_log_schema sl_dns_schema = {"dns", SL_DNS_N_FIELDS, dns_fields};

/* ---- consts.zeek tables ---- */

struct code_name {
    unsigned code;
    const char *name;
};

static const struct code_name qtypes[] = {
    {1, "A"},           {2, "NS"},       {3, "MD"},         {4, "MF"},       {5, "CNAME"},
    {6, "SOA"},         {7, "MB"},       {8, "MG"},         {9, "MR"},       {10, "NULL"},
    {11, "WKS"},        {12, "PTR"},     {13, "HINFO"},     {14, "MINFO"},   {15, "MX"},
    {16, "TXT"},        {17, "RP"},      {18, "AFSDB"},     {19, "X25"},     {20, "ISDN"},
    {21, "RT"},         {22, "NSAP"},    {23, "NSAP-PTR"},  {24, "SIG"},     {25, "KEY"},
    {26, "PX"},         {27, "GPOS"},    {28, "AAAA"},      {29, "LOC"},     {30, "NXT"},
    {31, "EID"},        {32, "NIMLOC"},  {33, "SRV"},       {34, "ATMA"},    {35, "NAPTR"},
    {36, "KX"},         {37, "CERT"},    {38, "A6"},        {39, "DNAME"},   {40, "SINK"},
    {41, "OPT"},        {42, "APL"},     {43, "DS"},        {44, "SSHFP"},   {45, "IPSECKEY"},
    {46, "RRSIG"},      {47, "NSEC"},    {48, "DNSKEY"},    {49, "DHCID"},   {50, "NSEC3"},
    {51, "NSEC3PARAM"}, {52, "TLSA"},    {53, "SMIMEA"},    {55, "HIP"},     {56, "NINFO"},
    {57, "RKEY"},       {58, "TALINK"},  {59, "CDS"},       {60, "CDNSKEY"}, {61, "OPENPGPKEY"},
    {62, "CSYNC"},      {63, "ZONEMD"},  {64, "SVCB"},      {65, "HTTPS"},   {99, "SPF"},
    {100, "UINFO"},     {101, "UID"},    {102, "GID"},      {103, "UNSPEC"}, {104, "NID"},
    {105, "L32"},       {106, "L64"},    {107, "LP"},       {108, "EUI48"},  {109, "EUI64"},
    {249, "TKEY"},      {250, "TSIG"},   {251, "IXFR"},     {252, "AXFR"},   {253, "MAILB"},
    {254, "MAILA"},     {255, "*"},      {256, "URI"},      {257, "CAA"},    {32768, "TA"},
    {32769, "DLV"},     {65281, "WINS"}, {65282, "WINS-R"}, {65422, "XPF"},  {65521, "INTEGRITY"},
};

static const struct code_name rcodes[] = {
    {0, "NOERROR"},        {1, "FORMERR"},        {2, "SERVFAIL"},       {3, "NXDOMAIN"},
    {4, "NOTIMP"},         {5, "REFUSED"},        {6, "YXDOMAIN"},       {7, "YXRRSET"},
    {8, "NXRRSet"},        {9, "NOTAUTH"},        {10, "NOTZONE"},       {11, "unassigned-11"},
    {12, "unassigned-12"}, {13, "unassigned-13"}, {14, "unassigned-14"}, {15, "unassigned-15"},
    {16, "BADVERS"},       {17, "BADKEY"},        {18, "BADTIME"},       {19, "BADMODE"},
    {20, "BADNAME"},       {21, "BADALG"},        {22, "BADTRUNC"},      {23, "BADCOOKIE"},
    {3842, "BADSIG"},
};

static const struct code_name qclasses[] = {
    {1, "C_INTERNET"}, {2, "C_CSNET"},  {3, "C_CHAOS"},
    {4, "C_HESIOD"},   {254, "C_NONE"}, {255, "C_ANY"},
};

static const char *lookup(const struct code_name *t, size_t n, unsigned code, const char *dflt,
                          char *buf, size_t bn)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].name;
    snprintf(buf, bn, "%s-%u", dflt, code);
    return buf;
}

const char *sl_dns_qtype_name(unsigned qtype, char *buf, size_t n)
{
    return lookup(qtypes, sizeof(qtypes) / sizeof(qtypes[0]), qtype, "query", buf, n);
}

const char *sl_dns_qclass_name(unsigned qclass, char *buf, size_t n)
{
    return lookup(qclasses, sizeof(qclasses) / sizeof(qclasses[0]), qclass, "qclass", buf, n);
}

const char *sl_dns_rcode_name(unsigned rcode, char *buf, size_t n)
{
    return lookup(rcodes, sizeof(rcodes) / sizeof(rcodes[0]), rcode, "rcode", buf, n);
}

bool sl_dns_port(uint8_t proto, uint16_t port)
{
    if (proto == 6)
        return port == 53;
    if (proto == 17)
        return port == 53 || port == 137 || port == 5353 || port == 5355;
    return false;
}

/* ---- DNS::Info and the pending tables ---- */

struct info {
    unsigned refs;
    double ts;
    uint8_t orig_h[16], resp_h[16];
    uint16_t orig_p, resp_p;
    uint16_t trans_id;
    bool has_rtt, has_query, has_qclass, has_qtype, has_rcode, nbstat;
    bool AA, TC, RD, RA, rejected, saw_query, saw_reply;
    uint8_t Z;
    uint16_t qclass, qtype, rcode;
    double rtt;
    char *query;
    char **answers;
    uint32_t *ttls;
    uint32_t n_ans, cap_ans;
};

/* One table[count] of Queue::Queue, kept in insertion order of its ids
 * (Zeek iterates its tables in hash order; insertion order is our stand-in
 * where main.zeek picks "an arbitrary" entry or logs them all). */
struct fifo {
    uint16_t id;
    struct info **v;
    uint32_t head, n, cap;
};

struct ptable {
    struct fifo *e;
    uint32_t n, cap;
};

/* Contents_DNS: one per direction for TCP. */
enum { LEN_HI = 0, LEN_LO, MSG_BUF };

struct tcpbuf {
    bool orig; /* the role this side has now (swapped by a flip) */
    int state;
    int msg_size;
    int buf_n;
    int buf_len;
    uint8_t *buf;
};

struct sl_dns_state {
    struct sl_dns_conn conn;
    struct sl_dns_cbs cb;
    struct sl_dns_counters ctr;
    bool tcp, is_netbios, first_message, confirmed, disabled, disable_pending, ended;
    uint64_t bytes;
    size_t ans_bytes;
    double now;
    const char *fail_reason;
    struct info *cur;           /* c$dns */
    struct info *pending_query; /* c$dns_state$pending_query */
    struct ptable pq, pr;       /* pending_queries, pending_replies */
    struct tcpbuf *side[2];     /* [0] resp, [1] orig, as the roles are now */
    struct tcpbuf tb[2];
};

static struct info *info_ref(struct info *i)
{
    if (i)
        i->refs++;
    return i;
}

static void info_unref(struct sl_dns_state *s, struct info *i)
{
    if (!i || --i->refs)
        return;
    for (uint32_t k = 0; k < i->n_ans; k++) {
        size_t l = strlen(i->answers[k]) + 1;
        s->ans_bytes = s->ans_bytes >= l ? s->ans_bytes - l : 0;
        free(i->answers[k]);
    }
    free(i->answers);
    free(i->ttls);
    free(i->query);
    free(i);
}

static struct fifo *pt_find(struct ptable *t, uint16_t id)
{
    for (uint32_t k = 0; k < t->n; k++)
        if (t->e[k].id == id)
            return &t->e[k];
    return NULL;
}

static void pt_delete(struct sl_dns_state *s, struct ptable *t, struct fifo *f)
{
    for (uint32_t k = 0; k < f->n; k++)
        info_unref(s, f->v[(f->head + k) % f->cap]);
    free(f->v);
    uint32_t idx = (uint32_t)(f - t->e);
    memmove(&t->e[idx], &t->e[idx + 1], (t->n - idx - 1) * sizeof(*f));
    t->n--;
}

static int fifo_put(struct fifo *f, struct info *i)
{
    if (f->n == f->cap) {
        uint32_t cap = f->cap ? f->cap * 2 : 4;
        struct info **v = malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (uint32_t k = 0; k < f->n; k++)
            v[k] = f->v[(f->head + k) % f->cap];
        free(f->v);
        f->v = v;
        f->cap = cap;
        f->head = 0;
    }
    f->v[(f->head + f->n) % f->cap] = info_ref(i);
    f->n++;
    return 0;
}

/* ---- helpers ---- */

static void weird(struct sl_dns_state *s, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void weird(struct sl_dns_state *s, const char *name, const char *fmt, ...)
{
    char addl[96];
    s->ctr.weirds++;
    if (!s->cb.weird)
        return;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(addl, sizeof(addl), fmt, ap);
        va_end(ap);
    }
    s->cb.weird(s->cb.ctx, s->now, name, fmt ? addl : NULL);
}

static void violation(struct sl_dns_state *s, const char *reason)
{
    /* dpd.zeek: the analyzer is removed unless the connection already
     * carried more than ignore_violations_after bytes. */
    if (s->bytes > VIOLATION_SIZE_MAX || s->disable_pending)
        return;
    s->disable_pending = true;
    s->fail_reason = reason;
}

static bool is_multicast(const uint8_t a[16])
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, v4, 12) == 0)
        return (a[12] & 0xf0) == 0xe0;
    return a[0] == 0xff;
}

static void fmt_addr(const uint8_t a[16], char *buf, size_t n)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, v4, 12) == 0)
        snprintf(buf, n, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    else if (!inet_ntop(AF_INET6, a, buf, (socklen_t)n))
        snprintf(buf, n, "::");
}

/* Copies n bytes into a new C string, cut at a NUL (sl_log takes C strings). */
static char *dup_bytes(struct sl_dns_state *s, const uint8_t *p, size_t n)
{
    const uint8_t *z = memchr(p, 0, n);
    if (z) {
        n = (size_t)(z - p);
        s->ctr.nul_cut++;
    }
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, p, n);
        r[n] = 0;
    }
    return r;
}

/* ---- the cursor: Zeek's ExtractShort/ExtractLong/ExtractStream ---- */

struct cur {
    const uint8_t *p;
    int len; /* bytes left in the message after p */
};

static unsigned get16(struct cur *c)
{
    if (c->len < 2)
        return 0;
    unsigned v = (unsigned)c->p[0] << 8 | c->p[1];
    c->p += 2;
    c->len -= 2;
    return v;
}

static uint32_t get32(struct cur *c)
{
    if (c->len < 4)
        return 0;
    uint32_t v =
        (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    c->len -= 4;
    return v;
}

/* Skips up to l bytes (never past the message); returns how many. */
static int skip(struct cur *c, int l)
{
    if (l < 0)
        l = 0;
    if (l > c->len)
        l = c->len;
    c->p += l;
    c->len -= l;
    return l;
}

/* Zeek's rdlength skips (`data += rdlength; len -= rdlength`): rdlength was
 * checked against len when the RR was read, but a parser may have moved the
 * cursor since, so clamp. */
static void skip_rd(struct cur *c, int rdlength)
{
    skip(c, rdlength);
}

/* ---- one message ---- */

struct msg {
    struct sl_dns_state *s;
    const uint8_t *start;
    uint16_t id;
    unsigned opcode, rcode;
    bool QR, AA, TC, RD, RA;
    unsigned Z;
    unsigned qdcount, ancount, nscount, arcount;
    /* current RR */
    const char *aname; /* answer owner name (lower-cased) */
    unsigned atype;
    uint32_t ttl;
};

static uint8_t *extract_name(struct msg *m, struct cur *c, uint8_t *name, int name_len,
                             bool downcase, int depth);

/* Zeek's ExtractLabel: appends one label (with a '.') or follows a pointer;
 * false ends the name. */
static bool extract_label(struct msg *m, struct cur *c, uint8_t **name, int *name_len, int depth)
{
    if (c->len <= 0)
        return false;
    const uint8_t *orig_data = c->p;
    int label_len = c->p[0];
    c->p++;
    c->len--;
    if (c->len <= 0)
        return false;
    if (label_len == 0)
        return false;

    if ((label_len & 0xc0) == 0xc0) {
        unsigned offset = (unsigned)(label_len & 0x3f) << 8 | c->p[0];
        c->p++;
        c->len--;
        if (offset >= (unsigned)(orig_data - m->start)) {
            weird(m->s, "DNS_label_forward_compress_offset", NULL);
            return false;
        }
        struct cur rc = {m->start + offset, (int)(orig_data - (m->start + offset))};
        uint8_t *end = extract_name(m, &rc, *name, *name_len, true, depth + 1);
        *name_len -= (int)(end - *name);
        *name = end;
        return false;
    }

    if (label_len > c->len) {
        weird(m->s, "DNS_label_len_gt_pkt", NULL);
        c->p += c->len;
        c->len = 0;
        return false;
    }
    if (label_len > 63 && m->s->conn.resp_p != NETBIOS_PORT) {
        weird(m->s, "DNS_label_too_long", NULL);
        return false;
    }
    if (label_len >= *name_len) {
        weird(m->s, "DNS_label_len_gt_name_len", NULL);
        return false;
    }
    memcpy(*name, c->p, (size_t)label_len);
    (*name)[label_len] = '.';
    *name += label_len + 1;
    *name_len -= label_len + 1;
    c->p += label_len;
    c->len -= label_len;
    return true;
}

/* Zeek's ExtractName: returns the end of the name written at `name`. */
static uint8_t *extract_name(struct msg *m, struct cur *c, uint8_t *name, int name_len,
                             bool downcase, int depth)
{
    if (depth > MAX_COMPRESS_DEPTH) {
        weird(m->s, "DNS_max_compression_chain_depth_exceeded", NULL);
        return name;
    }
    uint8_t *name_start = name;
    while (extract_label(m, c, &name, &name_len, depth))
        ;
    long n = name - name_start;
    if (n >= 255)
        weird(m->s, "DNS_NAME_too_long", NULL);
    if (n >= 2 && name[-1] == '.') {
        --name;
        name[0] = 0;
    }
    if (downcase)
        for (uint8_t *p = name_start; p < name; ++p)
            *p = (uint8_t)tolower(*p);
    return name;
}

/* A name as a new C string (NULL on ENOMEM). */
static char *name_str(struct msg *m, struct cur *c, bool downcase)
{
    uint8_t buf[NAME_BUF];
    uint8_t *end = extract_name(m, c, buf, NAME_BUF - 1, downcase, 0);
    return dup_bytes(m->s, buf, (size_t)(end - buf));
}

/* extract_char_string(): NULL when rdlen is used up or the string overruns. */
static bool char_string(struct msg *m, struct cur *c, int *rdlen, const uint8_t **str, int *slen)
{
    if (*rdlen <= 0 || c->len <= 0)
        return false;
    int n = c->p[0];
    (*rdlen)--;
    c->len--;
    c->p++;
    if (n > *rdlen) {
        weird(m->s, "DNS_TXT_char_str_past_rdlen", NULL);
        return false;
    }
    *str = c->p;
    *slen = skip(c, n);
    *rdlen -= n;
    return true;
}

/* ---- main.zeek's side: sessions, do_reply, dns_end ---- */

static struct info *new_session(struct sl_dns_state *s, uint16_t id)
{
    struct info *i = calloc(1, sizeof(*i));
    if (!i)
        return NULL;
    i->refs = 1;
    i->ts = s->now;
    memcpy(i->orig_h, s->conn.orig_h, 16);
    memcpy(i->resp_h, s->conn.resp_h, 16);
    i->orig_p = s->conn.orig_p;
    i->resp_p = s->conn.resp_p;
    i->trans_id = id;
    return i;
}

static void emit(struct sl_dns_state *s, const struct info *i)
{
    char ts[32], op[8], rp[8], oh[48], rh[48], tid[8], rtt[32], qc[8], qt[8], rc[8];
    char qcn[24], qtn[24], rcn[24], z[4];
    struct sl_log_val v[SL_DNS_N_FIELDS];
    char(*ttl)[24] = NULL;
    const char **items = NULL;

    memset(v, 0, sizeof(v));
    if (i->n_ans) {
        ttl = malloc(i->n_ans * sizeof(*ttl));
        items = malloc(i->n_ans * 2 * sizeof(*items));
        if (!ttl || !items)
            goto out;
    }
    s->ctr.records++;
    if (!s->cb.record)
        goto out;

#define SET(f, str) (v[f].present = true, v[f].s = (str))
    SET(SL_DNS_TS, sl_log_fmt_time(i->ts, ts, sizeof(ts)));
    SET(SL_DNS_UID, s->conn.uid);
    fmt_addr(i->orig_h, oh, sizeof(oh));
    fmt_addr(i->resp_h, rh, sizeof(rh));
    snprintf(op, sizeof(op), "%u", i->orig_p);
    snprintf(rp, sizeof(rp), "%u", i->resp_p);
    SET(SL_DNS_ORIG_H, oh);
    SET(SL_DNS_ORIG_P, op);
    SET(SL_DNS_RESP_H, rh);
    SET(SL_DNS_RESP_P, rp);
    SET(SL_DNS_PROTO, s->tcp ? "tcp" : "udp");
    snprintf(tid, sizeof(tid), "%u", i->trans_id);
    SET(SL_DNS_TRANS_ID, tid);
    if (i->has_rtt)
        SET(SL_DNS_RTT, sl_log_fmt_time(i->rtt, rtt, sizeof(rtt)));
    if (i->has_query)
        SET(SL_DNS_QUERY, i->query);
    if (i->has_qclass) {
        snprintf(qc, sizeof(qc), "%u", i->qclass);
        SET(SL_DNS_QCLASS, qc);
        SET(SL_DNS_QCLASS_NAME, sl_dns_qclass_name(i->qclass, qcn, sizeof(qcn)));
    }
    if (i->has_qtype) {
        snprintf(qt, sizeof(qt), "%u", i->qtype);
        SET(SL_DNS_QTYPE, qt);
        SET(SL_DNS_QTYPE_NAME,
            i->nbstat ? "NBSTAT" : sl_dns_qtype_name(i->qtype, qtn, sizeof(qtn)));
    }
    if (i->has_rcode) {
        snprintf(rc, sizeof(rc), "%u", i->rcode);
        SET(SL_DNS_RCODE, rc);
        SET(SL_DNS_RCODE_NAME, sl_dns_rcode_name(i->rcode, rcn, sizeof(rcn)));
    }
    SET(SL_DNS_AA, i->AA ? "T" : "F");
    SET(SL_DNS_TC, i->TC ? "T" : "F");
    SET(SL_DNS_RD, i->RD ? "T" : "F");
    SET(SL_DNS_RA, i->RA ? "T" : "F");
    snprintf(z, sizeof(z), "%u", i->Z);
    SET(SL_DNS_Z, z);
    if (i->n_ans) {
        for (uint32_t k = 0; k < i->n_ans; k++) {
            items[k] = i->answers[k];
            items[i->n_ans + k] = sl_log_fmt_time((double)i->ttls[k], ttl[k], sizeof(ttl[k]));
        }
        v[SL_DNS_ANSWERS] = (struct sl_log_val){true, NULL, items, i->n_ans};
        v[SL_DNS_TTLS] = (struct sl_log_val){true, NULL, items + i->n_ans, i->n_ans};
    }
    SET(SL_DNS_REJECTED, i->rejected ? "T" : "F");
#undef SET
    s->cb.record(s->cb.ctx, v);
out:
    free(ttl);
    free(items);
}

static void set_cur(struct sl_dns_state *s, struct info *i)
{
    struct info *old = s->cur;
    s->cur = info_ref(i);
    info_unref(s, old);
}

static void log_fifo(struct sl_dns_state *s, struct fifo *f)
{
    for (uint32_t k = 0; k < f->n; k++)
        emit(s, f->v[(f->head + k) % f->cap]);
}

static void log_table(struct sl_dns_state *s, struct ptable *t)
{
    for (uint32_t k = 0; k < t->n; k++)
        log_fifo(s, &t->e[k]);
    while (t->n)
        pt_delete(s, t, &t->e[t->n - 1]);
}

/* main.zeek's enqueue_new_msg(). */
static void enqueue(struct sl_dns_state *s, struct ptable *t, uint16_t id, struct info *i)
{
    struct fifo *f = pt_find(t, id);
    if (!f) {
        if (t->n > MAX_PENDING_IDS)
            log_table(s, t);
        if (t->n == t->cap) {
            uint32_t cap = t->cap ? t->cap * 2 : 4;
            struct fifo *e = realloc(t->e, cap * sizeof(*e));
            if (!e)
                return;
            t->e = e;
            t->cap = cap;
        }
        f = &t->e[t->n++];
        memset(f, 0, sizeof(*f));
        f->id = id;
    } else if (f->n > MAX_PENDING_MSGS) {
        log_fifo(s, f);
        for (uint32_t k = 0; k < f->n; k++)
            info_unref(s, f->v[(f->head + k) % f->cap]);
        f->n = 0;
        f->head = 0;
    }
    fifo_put(f, i);
}

/* main.zeek's pop_msg(): the head of id's queue, the entry dropped when empty.
 * The returned reference belongs to the caller. */
static struct info *pop(struct sl_dns_state *s, struct ptable *t, struct fifo *f)
{
    struct info *i = f->v[f->head];
    f->head = (f->head + 1) % f->cap;
    f->n--;
    if (f->n == 0) {
        f->n = 0;
        free(f->v);
        f->v = NULL;
        uint32_t idx = (uint32_t)(f - t->e);
        memmove(&t->e[idx], &t->e[idx + 1], (t->n - idx - 1) * sizeof(*f));
        t->n--;
    }
    (void)s;
    return i;
}

/* main.zeek's set_session hook (Zeek 8.0: no multicast special case). */
static void set_session(struct sl_dns_state *s, struct msg *m, bool is_query)
{
    struct info *i = NULL;
    struct fifo *f;

    if (is_query) {
        if ((f = pt_find(&s->pr, m->id)) != NULL) {
            i = pop(s, &s->pr, f);
        } else {
            i = new_session(s, m->id);
            if (!i)
                return;
            if (!s->pending_query)
                s->pending_query = info_ref(i);
            else
                enqueue(s, &s->pq, m->id, i);
        }
    } else if (s->pending_query && s->pending_query->trans_id == m->id) {
        i = s->pending_query;
        s->pending_query = NULL;
        if ((f = pt_find(&s->pq, m->id)) != NULL)
            s->pending_query = pop(s, &s->pq, f);
        else if (s->pq.n)
            s->pending_query = pop(s, &s->pq, &s->pq.e[0]);
    } else if ((f = pt_find(&s->pq, m->id)) != NULL) {
        i = pop(s, &s->pq, f);
    } else {
        i = new_session(s, m->id);
        if (!i)
            return;
        enqueue(s, &s->pr, m->id, i);
    }
    set_cur(s, i);
    info_unref(s, i);

    if (!is_query) {
        s->cur->has_rcode = true;
        s->cur->rcode = (uint16_t)m->rcode;
        if (m->rcode != 0 && m->qdcount == 0)
            s->cur->rejected = true;
    }
}

/* The DNS::do_reply hook, for an answer-section RR whose event has a
 * handler; reply == "" adds no answer. */
static void do_reply(struct msg *m, const char *reply)
{
    struct sl_dns_state *s = m->s;
    struct info *i = s->cur;
    if (m->opcode != 0 || !m->QR || !i)
        return;
    if (!i->has_query) {
        i->query = strdup(m->aname ? m->aname : "");
        i->has_query = i->query != NULL;
    }
    i->AA = m->AA;
    i->RA = m->RA;
    if (!i->has_rtt) {
        i->rtt = s->now - i->ts;
        i->has_rtt = i->rtt != 0.0;
    }
    if (!reply || !*reply)
        return;
    size_t l = strlen(reply) + 1;
    if (s->ans_bytes + l > STATE_ANSWER_BYTES) {
        s->ctr.ans_drop++;
        return;
    }
    if (i->n_ans == i->cap_ans) {
        uint32_t cap = i->cap_ans ? i->cap_ans * 2 : 4;
        char **a = realloc(i->answers, cap * sizeof(*a));
        if (!a)
            return;
        i->answers = a;
        uint32_t *t = realloc(i->ttls, cap * sizeof(*t));
        if (!t)
            return;
        i->ttls = t;
        i->cap_ans = cap;
    }
    char *d = strdup(reply);
    if (!d)
        return;
    s->ans_bytes += l;
    i->answers[i->n_ans] = d;
    i->ttls[i->n_ans++] = m->ttl;
}

/* dns_end at priorities 5 and -5. */
static void end_message(struct msg *m)
{
    struct sl_dns_state *s = m->s;
    if (!s->cur)
        return;
    if (m->QR)
        s->cur->saw_reply = true;
    else
        s->cur->saw_query = true;
    if (s->cur->saw_reply && s->cur->saw_query) {
        emit(s, s->cur);
        set_cur(s, NULL);
    }
}

/* ---- questions ---- */

/* decode_netbios_name() of a 32-byte encoded name; false when not one. */
static bool netbios_decode(const char *q, char *out)
{
    if (strlen(q) != 32)
        return false;
    unsigned char buf[16];
    int length = 0;
    for (int i = 0; i < 16; i++) {
        int c0 = toupper((unsigned char)q[2 * i]), c1 = toupper((unsigned char)q[2 * i + 1]);
        if (c0 < 'A' || c0 > 'P' || c1 < 'A' || c1 > 'P')
            return false;
        buf[i] = (unsigned char)(((c0 - 'A') << 4) + (c1 - 'A'));
        if (isalnum(buf[i]) || ispunct(buf[i]) || buf[i] == ' ' || buf[i] < 3)
            ++length;
        else
            break;
    }
    if (length == 16)
        length = 15;
    while (length > 0 && (buf[length - 1] == ' ' || buf[length - 1] == 0))
        --length;
    if (length == 0)
        return false;
    memcpy(out, buf, (size_t)length);
    out[length] = 0;
    return true;
}

static void dns_request(struct msg *m, const char *qname, unsigned qtype, unsigned qclass)
{
    struct sl_dns_state *s = m->s;
    struct info *i = s->cur;
    if (m->opcode != 0 || !i)
        return;
    i->RD = m->RD;
    i->TC = m->TC;
    i->has_qclass = i->has_qtype = true;
    i->qclass = (uint16_t)qclass;
    i->qtype = (uint16_t)qtype;
    i->nbstat = false;
    i->Z = (uint8_t)m->Z;
    char dec[17];
    const char *q = qname;
    if (!s->tcp && s->conn.resp_p == NETBIOS_PORT) {
        /* decode_netbios_name() cuts at a NUL like we already did */
        if (netbios_decode(qname, dec))
            q = dec;
        i->nbstat = qtype == T_SRV;
    }
    char *d = strdup(q);
    if (!d)
        return;
    free(i->query);
    i->query = d;
    i->has_query = true;
}

static bool parse_question(struct msg *m, struct cur *c)
{
    uint8_t name[NAME_BUF];
    uint8_t *end = extract_name(m, c, name, NAME_BUF - 1, false, 0);

    if (c->len < 4) {
        weird(m->s, "DNS_truncated_quest_too_short", NULL);
        return false;
    }
    for (uint8_t *p = name; p < end; p++)
        *p = (uint8_t)tolower(*p);
    unsigned qtype = get16(c);
    unsigned qclass = get16(c);

    if (!m->QR) {
        char *q = dup_bytes(m->s, name, (size_t)(end - name));
        if (q)
            dns_request(m, q, qtype, qclass);
        free(q);
    } else if (m->ancount == 0 && m->nscount == 0 && m->arcount == 0) {
        /* dns_rejected: no opcode check in main.zeek */
        if (m->s->cur)
            m->s->cur->rejected = true;
    }
    return true;
}

/* ---- resource records ---- */

static void dnssec_algo_weird(struct msg *m, const char *what, unsigned algo)
{
    char name[64];
    const char *kind;
    switch (algo) {
    case 1:
        kind = "NotRecommended";
        break;
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 10:
    case 12:
    case 13:
    case 14:
    case 15:
    case 16:
        return;
    case 252:
        kind = "Indirect";
        break;
    case 253:
        kind = "PrivateDNS";
        break;
    case 254:
        kind = "PrivateOID";
        break;
    default:
        kind = "unknown";
        break;
    }
    snprintf(name, sizeof(name), "DNSSEC_%s_%s_ZoneSignAlgo", what, kind);
    weird(m->s, name, "%u", algo);
}

static bool rr_a(struct msg *m, struct cur *c, int rdlength)
{
    if (rdlength != 4) {
        weird(m->s, "DNS_RR_bad_length", NULL);
        return false;
    }
    uint32_t a = get32(c);
    char buf[16];
    snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    do_reply(m, buf);
    return true;
}

/* AAAA and A6: Zeek reads four words whatever rdlength says. */
static bool rr_aaaa(struct msg *m, struct cur *c)
{
    uint8_t a[16];
    for (int k = 0; k < 4; k++) {
        uint32_t w = get32(c);
        a[4 * k] = (uint8_t)(w >> 24);
        a[4 * k + 1] = (uint8_t)(w >> 16);
        a[4 * k + 2] = (uint8_t)(w >> 8);
        a[4 * k + 3] = (uint8_t)w;
    }
    char buf[48];
    fmt_addr(a, buf, sizeof(buf));
    do_reply(m, buf);
    return true;
}

static void check_rdlength(struct msg *m, const struct cur *c, const uint8_t *start, int rdlength)
{
    if (c->p - start != rdlength)
        weird(m->s, "DNS_RR_length_mismatch", NULL);
}

static bool rr_name(struct msg *m, struct cur *c, int rdlength)
{
    const uint8_t *start = c->p;
    char *n = name_str(m, c, true);
    check_rdlength(m, c, start, rdlength);
    if (n)
        do_reply(m, n);
    free(n);
    return true;
}

static bool rr_soa(struct msg *m, struct cur *c, int rdlength)
{
    const uint8_t *start = c->p;
    char *mname = name_str(m, c, true);
    char *rname = name_str(m, c, true);
    free(rname);
    if (c->len < 20) {
        free(mname);
        return false;
    }
    skip(c, 20);
    check_rdlength(m, c, start, rdlength);
    if (mname)
        do_reply(m, mname);
    free(mname);
    return true;
}

static bool rr_mx(struct msg *m, struct cur *c, int rdlength)
{
    const uint8_t *start = c->p;
    (void)get16(c);
    char *n = name_str(m, c, true);
    check_rdlength(m, c, start, rdlength);
    if (n)
        do_reply(m, n);
    free(n);
    return true;
}

static bool rr_srv(struct msg *m, struct cur *c, int rdlength)
{
    if (m->s->conn.resp_p == NETBIOS_PORT)
        return true; /* NBSTAT: Zeek neither parses nor skips it */
    const uint8_t *start = c->p;
    (void)get16(c);
    (void)get16(c);
    (void)get16(c);
    char *n = name_str(m, c, true);
    check_rdlength(m, c, start, rdlength);
    if (n)
        do_reply(m, n);
    free(n);
    return true;
}

/* A growing text buffer for TXT/SPF/NAPTR answers. */
struct tbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void tb_add(struct tbuf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void tb_addstr(struct msg *m, struct tbuf *b, const uint8_t *s, int n)
{
    const uint8_t *z = memchr(s, 0, (size_t)n);
    if (z) {
        n = (int)(z - s);
        m->s->ctr.nul_cut++;
    }
    tb_add(b, s, (size_t)n);
}

static bool rr_txt(struct msg *m, struct cur *c, int rdlength, const char *tag)
{
    struct tbuf b = {0};
    const uint8_t *str;
    int slen, k = 0;
    char hd[24];
    while (char_string(m, c, &rdlength, &str, &slen)) {
        int n = snprintf(hd, sizeof(hd), "%s%s %d ", k++ ? " " : "", tag, slen);
        tb_add(&b, hd, (size_t)n);
        tb_addstr(m, &b, str, slen);
    }
    if (!b.oom)
        do_reply(m, b.p ? b.p : "");
    free(b.p);
    return rdlength == 0;
}

static bool rr_naptr(struct msg *m, struct cur *c, int rdlength)
{
    unsigned order = get16(c);
    unsigned pref = get16(c);
    rdlength -= 4;
    if (c->len <= 0 || rdlength <= 0) {
        violation(m->s, "DNS_NAPTR_too_short");
        return false;
    }
    const uint8_t *fl = NULL, *sv = NULL, *re = NULL;
    int fll = 0, svl = 0, rel = 0;
    bool okf = char_string(m, c, &rdlength, &fl, &fll);
    bool oks = char_string(m, c, &rdlength, &sv, &svl);
    bool okr = char_string(m, c, &rdlength, &re, &rel);
    uint8_t rep[NAME_BUF];
    uint8_t *rep_end = extract_name(m, c, rep, NAME_BUF - 1, false, 0);
    if (!okf || !oks || !okr) {
        violation(m->s, "DNS_NAPTR_RR_too_short");
        return false;
    }
    struct tbuf b = {0};
    char hd[32];
    int n = snprintf(hd, sizeof(hd), "NAPTR %u %u ", order, pref);
    tb_add(&b, hd, (size_t)n);
    tb_addstr(m, &b, fl, fll);
    tb_add(&b, " ", 1);
    tb_addstr(m, &b, sv, svl);
    tb_add(&b, " ", 1);
    size_t tmp_start = b.len;
    if (rel > 0)
        tb_addstr(m, &b, re, rel);
    if (rep_end > rep) {
        if (b.len > tmp_start)
            tb_add(&b, " ", 1);
        tb_addstr(m, &b, rep, (int)(rep_end - rep));
    }
    if (!b.oom)
        do_reply(m, b.p);
    free(b.p);
    return true;
}

/* ParseRR_EDNS: Zeek walks options over the rest of the message. */
static bool rr_edns(struct msg *m, struct cur *c)
{
    while (c->len >= 4) {
        unsigned code = get16(c);
        int olen = (int)get16(c);
        if (olen > c->len)
            break;
        if (code == 8 && olen <= 4) {
            weird(m->s, "EDNS_ECS_invalid_option_len", NULL);
        } else if (code == 8) {
            unsigned family = (unsigned)c->p[0] << 8 | c->p[1];
            unsigned src_pfx = c->p[2];
            int alen = olen - 4;
            if (family == 1 && src_pfx > 32)
                weird(m->s, "EDNS_ECS_invalid_addr_v4_prefix", "%u bits", src_pfx);
            else if (family == 1 && (int)src_pfx > alen * 8)
                weird(m->s, "EDNS_ECS_invalid_addr_v4", "need %u bits, have %d bits", src_pfx,
                      alen * 8);
            else if (family == 2 && src_pfx > 128)
                weird(m->s, "EDNS_ECS_invalid_addr_v6_prefix", "%u bits", src_pfx);
            else if (family == 2 && (int)src_pfx > alen * 8)
                weird(m->s, "EDNS_ECS_invalid_addr_v6", "need %u bits, have %d bits", src_pfx,
                      alen * 8);
        } else if (code == 11 && (olen == 0 || olen == 2) && !m->s->tcp) {
            weird(m->s, "EDNS_TCP_Keepalive_In_UDP", NULL);
        }
        skip(c, olen); /* every branch of Zeek's switch consumes the option */
    }
    if (c->len > 0) {
        weird(m->s, "EDNS_truncated_option", NULL);
        return false;
    }
    return true;
}

/* ParseRR_TSIG: parsed (no handler in the base scripts), rdlength unused. */
static bool rr_tsig(struct msg *m, struct cur *c)
{
    char *alg = name_str(m, c, true);
    free(alg);
    (void)get32(c);
    (void)get16(c);
    (void)get16(c);
    skip(c, (int)get16(c)); /* request MAC */
    (void)get16(c);
    (void)get16(c);
    skip(c, (int)get16(c)); /* other data */
    return true;
}

static bool rr_rrsig(struct msg *m, struct cur *c, int rdlength)
{
    if (c->len < 18)
        return false;
    unsigned covered = get16(c);
    unsigned algo = get16(c) >> 8;
    (void)get32(c);
    (void)get32(c);
    (void)get32(c);
    (void)get16(c);
    const uint8_t *start = c->p;
    char *signer = name_str(m, c, true);
    skip(c, rdlength - ((int)(c->p - start) + 18));
    dnssec_algo_weird(m, "RRSIG", algo);
    if (signer) {
        char buf[NAME_BUF + 32];
        snprintf(buf, sizeof(buf), "RRSIG %u %s", covered, *signer ? signer : "<Root>");
        do_reply(m, buf);
    }
    free(signer);
    return true;
}

static bool rr_dnskey(struct msg *m, struct cur *c, int rdlength)
{
    if (c->len < 4)
        return false;
    unsigned dflags = get16(c);
    unsigned pa = get16(c);
    unsigned proto = pa >> 8, algo = pa & 0xff;
    skip(c, rdlength - 4);
    if ((dflags & 0xfe7e) != 0)
        weird(m->s, "DNSSEC_DNSKEY_Invalid_Flag", "%u", dflags);
    if ((dflags & 0x0181) == 0x0181)
        weird(m->s, "DNSSEC_DNSKEY_Revoked_KSK", "%u", dflags);
    if (proto != 3)
        weird(m->s, "DNSSEC_DNSKEY_Invalid_Protocol", "%u", proto);
    dnssec_algo_weird(m, "DNSKEY", algo);
    char buf[32];
    snprintf(buf, sizeof(buf), "DNSKEY %u", algo);
    do_reply(m, buf);
    return true;
}

static void type_bitmaps(struct msg *m, struct cur *c, int tb_len, const char *weird_name)
{
    while (tb_len > 0 && c->len > 0) {
        unsigned v = get16(c);
        unsigned win = v >> 8, bmlen = v & 0xff;
        if (bmlen == 0) {
            weird(m->s, weird_name, "%u", win);
            break;
        }
        skip(c, (int)bmlen);
        tb_len -= 2 + (int)bmlen;
    }
}

static bool rr_nsec(struct msg *m, struct cur *c, int rdlength)
{
    const uint8_t *start = c->p;
    char *next = name_str(m, c, true);
    type_bitmaps(m, c, rdlength - (int)(c->p - start), "DNSSEC_NSEC_bitmapLen0");
    if (next) {
        struct tbuf b = {0};
        tb_add(&b, "NSEC ", 5);
        tb_add(&b, m->aname, strlen(m->aname));
        tb_add(&b, " ", 1);
        tb_add(&b, next, strlen(next));
        if (!b.oom)
            do_reply(m, b.p);
        free(b.p);
    }
    free(next);
    return true;
}

static bool rr_nsec3(struct msg *m, struct cur *c, int rdlength)
{
    if (c->len < 6)
        return false;
    const uint8_t *start = c->p;
    (void)get16(c);
    (void)get16(c);
    for (int k = 0; k < 2; k++) { /* salt, then hash: length byte + bytes */
        int l = 0;
        if (c->len > 0) {
            l = c->p[0];
            c->p++;
            c->len--;
        }
        skip(c, l);
    }
    type_bitmaps(m, c, rdlength - (int)(c->p - start), "DNSSEC_NSEC3_bitmapLen0");
    do_reply(m, "NSEC3");
    return true;
}

static bool rr_nsec3param(struct msg *m, struct cur *c)
{
    if (c->len < 5)
        return false;
    (void)get16(c);
    (void)get16(c);
    int l = 0;
    if (c->len > 0) {
        l = c->p[0];
        c->p++;
        c->len--;
    }
    skip(c, l);
    do_reply(m, "NSEC3PARAM");
    return true;
}

static bool rr_ds(struct msg *m, struct cur *c, int rdlength)
{
    if (c->len < 4)
        return false;
    (void)get16(c);
    unsigned ad = get16(c);
    unsigned algo = ad >> 8, dtype = ad & 0xff;
    skip(c, rdlength - 4);
    if (dtype == 0)
        weird(m->s, "DNSSEC_DS_ReservedDigestType", "%u", dtype);
    else if (dtype > 4)
        weird(m->s, "DNSSEC_DS_unknown_DigestType", "%u", dtype);
    char buf[32];
    snprintf(buf, sizeof(buf), "DS %u %u", algo, dtype);
    do_reply(m, buf);
    return true;
}

static bool rr_binds(struct msg *m, struct cur *c, int rdlength)
{
    if (c->len < 5)
        return false;
    (void)get32(c);
    int n = skip(c, rdlength - 4);
    if (n > 1)
        weird(m->s, "DNS_BINDS_complete_flag_length", "%d", n);
    do_reply(m, "BIND9 signing signal");
    return true;
}

static bool rr_sshfp(struct msg *m, struct cur *c, int rdlength)
{
    if (c->len < 2)
        return false;
    (void)get16(c);
    const uint8_t *fp = c->p;
    int n = skip(c, rdlength - 2);
    char *buf = malloc(8 + 2 * (size_t)n + 1);
    if (!buf)
        return true;
    int o = snprintf(buf, 8, "SSHFP: ");
    for (int k = 0; k < n; k++)
        o += snprintf(buf + o, 3, "%02x", fp[k]);
    do_reply(m, buf);
    free(buf);
    return true;
}

static bool rr_loc(struct msg *m, struct cur *c)
{
    if (c->len < 15)
        return false;
    unsigned vs = get16(c), hv = get16(c);
    (void)get32(c);
    (void)get32(c);
    (void)get32(c);
    if ((vs >> 8) != 0)
        weird(m->s, "DNS_LOC_version_unrecognized", "%u", vs >> 8);
    char buf[48];
    snprintf(buf, sizeof(buf), "LOC:  %u %u %u", vs & 0xff, hv >> 8, hv & 0xff);
    do_reply(m, buf);
    return true;
}

static bool rr_svcb(struct msg *m, struct cur *c, int rdlength)
{
    const uint8_t *start = c->p;
    if (c->len < 3) {
        weird(m->s, "DNS_SVBC_wrong_length", NULL);
        return false;
    }
    (void)get16(c);
    uint8_t name[NAME_BUF];
    (void)extract_name(m, c, name, NAME_BUF - 1, false, 0);
    long parsed = c->p - start;
    if (parsed < rdlength)
        skip(c, rdlength - (int)parsed);
    return true; /* no dns_SVCB/dns_HTTPS handler in the base scripts */
}

static bool parse_rdata(struct msg *m, struct cur *c, int rdlength)
{
    switch (m->atype) {
    case T_A:
        return rr_a(m, c, rdlength);
    case T_A6:
    case T_AAAA:
        return rr_aaaa(m, c);
    case T_NS:
    case T_CNAME:
    case T_PTR:
        return rr_name(m, c, rdlength);
    case T_SOA:
        return rr_soa(m, c, rdlength);
    case T_WKS:
        /* the dns_WKS_reply handler exists: Zeek raises it, adds no
         * answer, and does not consume the rdata */
        do_reply(m, "");
        return true;
    case T_HINFO: /* no handler in the base scripts: skipped */
    case T_CAA:
    case T_TKEY:
    case T_NBS:
        skip_rd(c, rdlength);
        return true;
    case T_MX:
        return rr_mx(m, c, rdlength);
    case T_TXT:
        return rr_txt(m, c, rdlength, "TXT");
    case T_SPF:
        return rr_txt(m, c, rdlength, "SPF");
    case T_SRV:
        return rr_srv(m, c, rdlength);
    case T_NAPTR:
        return rr_naptr(m, c, rdlength);
    case T_EDNS:
        return rr_edns(m, c);
    case T_TSIG:
        return rr_tsig(m, c);
    case T_RRSIG:
        return rr_rrsig(m, c, rdlength);
    case T_DNSKEY:
        return rr_dnskey(m, c, rdlength);
    case T_NSEC:
        return rr_nsec(m, c, rdlength);
    case T_NSEC3:
        return rr_nsec3(m, c, rdlength);
    case T_NSEC3PARAM:
        return rr_nsec3param(m, c);
    case T_DS:
        return rr_ds(m, c, rdlength);
    case T_BINDS:
        return rr_binds(m, c, rdlength);
    case T_SSHFP:
        return rr_sshfp(m, c, rdlength);
    case T_LOC:
        return rr_loc(m, c);
    case T_SVCB:
    case T_HTTPS:
        return rr_svcb(m, c, rdlength);
    default: {
        char buf[32];
        snprintf(buf, sizeof(buf), "<unknown type=%u>", m->atype);
        do_reply(m, buf);
        weird(m->s, "DNS_RR_unknown_type", "%u", m->atype);
        skip_rd(c, rdlength);
        return true;
    }
    }
}

static bool parse_answer(struct msg *m, struct cur *c)
{
    uint8_t name[NAME_BUF];
    uint8_t *end = extract_name(m, c, name, NAME_BUF - 1, true, 0);
    if (c->len < 4) {
        weird(m->s, "DNS_truncated_ans_too_short", NULL);
        return false;
    }
    char *aname = dup_bytes(m->s, name, (size_t)(end - name));
    if (!aname)
        return false;
    m->aname = aname;
    m->atype = get16(c);
    (void)get16(c); /* class */
    m->ttl = get32(c);
    int rdlength = (int)get16(c);
    bool ok;
    if (rdlength > c->len) {
        weird(m->s, "DNS_truncated_RR_rdlength_lt_len", NULL);
        ok = false;
    } else if (rdlength == 0 && c->len > 0) {
        weird(m->s, "DNS_zero_rdlength", NULL);
        ok = false;
    } else {
        ok = parse_rdata(m, c, rdlength);
    }
    m->aname = NULL;
    free(aname);
    return ok;
}

/* DNS_Interpreter::ParseMessage. is_query: 1 orig, 0 resp, 2 unknown. */
static void parse_message(struct sl_dns_state *s, const uint8_t *data, int len, int is_query)
{
    if (len < HDR_LEN) {
        weird(s, "DNS_truncated_len_lt_hdr_len", NULL);
        return;
    }
    struct msg m = {.s = s, .start = data};
    unsigned flags = (unsigned)data[2] << 8 | data[3];
    m.opcode = (flags & 0x7800) >> 11;
    if (m.opcode != 0 && !s->is_netbios) {
        weird(s, "DNS_unknown_opcode", "%u", m.opcode);
        if (s->cb.history)
            s->cb.history(s->cb.ctx, 'X');
        return;
    }
    s->ctr.msgs++;
    m.id = (uint16_t)((unsigned)data[0] << 8 | data[1]);
    m.QR = flags & 0x8000;
    m.AA = flags & 0x0400;
    m.TC = flags & 0x0200;
    m.RD = flags & 0x0100;
    m.RA = flags & 0x0080;
    m.Z = (flags & 0x0070) >> 4;
    m.rcode = flags & 0x000f;
    m.qdcount = (unsigned)data[4] << 8 | data[5];
    m.ancount = (unsigned)data[6] << 8 | data[7];
    m.nscount = (unsigned)data[8] << 8 | data[9];
    m.arcount = (unsigned)data[10] << 8 | data[11];

    if (s->first_message && m.QR && is_query == 1 && !is_multicast(s->conn.resp_h)) {
        sl_dns_flip(s);
        if (s->cb.flip)
            s->cb.flip(s->cb.ctx, s->now);
    }
    s->first_message = false;

    if (m.opcode == 0)
        set_session(s, &m, !m.QR);

    if (m.qdcount > MAX_QUERIES) {
        violation(s, "DNS_Conn_count_too_large");
        weird(s, "DNS_Conn_count_too_large", NULL);
        end_message(&m);
        return;
    }

    struct cur c = {data + HDR_LEN, len - HDR_LEN};
    unsigned n = m.qdcount;
    while (n > 0 && parse_question(&m, &c))
        --n;
    if (n) {
        end_message(&m);
        return;
    }
    n = m.ancount;
    while (n > 0 && parse_answer(&m, &c))
        --n;
    if (n) {
        end_message(&m);
        return;
    }
    if (!s->confirmed) {
        s->confirmed = true;
        if (s->cb.confirm)
            s->cb.confirm(s->cb.ctx, s->now);
    }
    /* authority and additional: skipped (dns_skip_all_auth/addl) */
    end_message(&m);
}

void sl_dns_flip(struct sl_dns_state *s)
{
    if (!s)
        return;
    uint8_t h[16];
    memcpy(h, s->conn.orig_h, 16);
    memcpy(s->conn.orig_h, s->conn.resp_h, 16);
    memcpy(s->conn.resp_h, h, 16);
    uint16_t p = s->conn.orig_p;
    s->conn.orig_p = s->conn.resp_p;
    s->conn.resp_p = p;
    struct tcpbuf *t = s->side[0];
    s->side[0] = s->side[1];
    s->side[1] = t;
    s->side[0]->orig = false;
    s->side[1]->orig = true;
}

/* ---- TCP framing: Contents_DNS ---- */

static void tcp_chunk(struct sl_dns_state *s, struct tcpbuf *t, const uint8_t **data, size_t *len)
{
    if (t->state == LEN_HI) {
        t->msg_size = (int)(**data) << 8;
        t->state = LEN_LO;
        ++*data;
        --*len;
        if (*len == 0)
            return;
    }
    if (t->state == LEN_LO) {
        t->msg_size += **data;
        t->state = MSG_BUF;
        t->buf_n = 0;
        if (t->buf_len < t->msg_size) {
            uint8_t *b = realloc(t->buf, (size_t)t->msg_size);
            if (!b) {
                t->msg_size = 0; /* out of memory: the message is lost */
            } else {
                t->buf = b;
                t->buf_len = t->msg_size;
            }
        }
        ++*data;
        --*len;
        if (*len == 0)
            return;
    }
    size_t n = (size_t)(t->msg_size - t->buf_n);
    if (t->buf_n > t->msg_size)
        n = 0;
    if (n > *len)
        n = *len;
    if (n)
        memcpy(t->buf + t->buf_n, *data, n);
    t->buf_n += (int)n;
    *data += n;
    *len -= n;
    if (t->buf_n < t->msg_size)
        return;
    parse_message(s, t->buf, t->msg_size, t->orig ? 1 : 0);
    t->buf_n = 0;
    t->state = LEN_HI;
}

/* ---- API ---- */

struct sl_dns_state *sl_dns_new(const struct sl_dns_conn *conn, const struct sl_dns_cbs *cbs)
{
    if (!conn || (conn->proto != 6 && conn->proto != 17)) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_dns_state *s = calloc(1, sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->conn = *conn;
    s->conn.uid[sizeof(s->conn.uid) - 1] = 0;
    if (cbs)
        s->cb = *cbs;
    s->tcp = conn->proto == 6;
    s->is_netbios = conn->orig_p == NETBIOS_PORT || conn->resp_p == NETBIOS_PORT;
    s->first_message = true;
    s->tb[0].orig = false;
    s->tb[1].orig = true;
    s->side[0] = &s->tb[0];
    s->side[1] = &s->tb[1];
    return s;
}

int sl_dns_deliver(struct sl_dns_state *s, bool is_orig, double ts, const uint8_t *data, size_t len)
{
    if (!s || (!data && len))
        return -EINVAL;
    if (s->disabled || s->ended)
        return 0;
    s->now = ts;
    s->bytes += len;
    if (!s->tcp) {
        if (len > 0xffff)
            len = 0xffff; /* a UDP payload cannot be larger */
        parse_message(s, data, (int)len, is_orig ? 1 : 0);
    } else {
        /* the side object, not the flag, carries the stream across a flip */
        struct tcpbuf *t = s->side[is_orig ? 1 : 0];
        while (len > 0)
            tcp_chunk(s, t, &data, &len);
    }
    if (s->disable_pending) {
        s->disabled = true;
        if (s->cb.failed)
            s->cb.failed(s->cb.ctx, ts, s->fail_reason);
    }
    return 0;
}

void sl_dns_tcp_closed(struct sl_dns_state *s, double ts)
{
    if (!s || !s->tcp || s->disabled || s->ended)
        return;
    s->now = ts;
    /* Zeek flushes the contents analyzer built for the originator first,
     * whatever a flip did to the roles since. */
    for (int k = 1; k >= 0; k--) {
        struct tcpbuf *t = &s->tb[k];
        /* Contents_DNS::Flush: parses what is buffered, keeps buf_n */
        if (t->buf_n > 0) {
            parse_message(s, t->buf, t->buf_n, 2);
            t->msg_size = 0;
        }
    }
    if (s->disable_pending && !s->disabled) {
        s->disabled = true;
        if (s->cb.failed)
            s->cb.failed(s->cb.ctx, ts, s->fail_reason);
    }
}

void sl_dns_conn_end(struct sl_dns_state *s, double ts)
{
    if (!s || s->ended)
        return;
    s->now = ts;
    s->ended = true;
    if (s->pending_query) {
        emit(s, s->pending_query);
        info_unref(s, s->pending_query);
        s->pending_query = NULL;
    }
    log_table(s, &s->pq);
    log_table(s, &s->pr);
}

bool sl_dns_disabled(const struct sl_dns_state *s)
{
    return s && s->disabled;
}

const struct sl_dns_counters *sl_dns_counters(const struct sl_dns_state *s)
{
    return &s->ctr;
}

void sl_dns_free(struct sl_dns_state *s)
{
    if (!s)
        return;
    set_cur(s, NULL);
    info_unref(s, s->pending_query);
    while (s->pq.n)
        pt_delete(s, &s->pq, &s->pq.e[s->pq.n - 1]);
    while (s->pr.n)
        pt_delete(s, &s->pr, &s->pr.e[s->pr.n - 1]);
    free(s->pq.e);
    free(s->pr.e);
    free(s->tb[0].buf);
    free(s->tb[1].buf);
    free(s);
}
