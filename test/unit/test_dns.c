/* Unit tests for sl_dns. Messages are built by hand; the expected dns.log
 * lines come from Zeek's own baselines (core.tunnels.gre*, checked into
 * ../shared/zeek-conformance) or are derived by hand from main.zeek and
 * DNS.cc, never from this code's output. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_dns.h"

/* ---- message builder ---- */

struct mb {
    uint8_t b[8192];
    size_t n;
};

static void u8(struct mb *m, unsigned v)
{
    ck_assert_uint_lt(m->n, sizeof(m->b));
    m->b[m->n++] = (uint8_t)v;
}

static void u16(struct mb *m, unsigned v)
{
    u8(m, v >> 8);
    u8(m, v & 0xff);
}

static void u32(struct mb *m, uint32_t v)
{
    u16(m, v >> 16);
    u16(m, v & 0xffff);
}

static void raw(struct mb *m, const void *p, size_t n)
{
    ck_assert_uint_le(m->n + n, sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* "www.example.com" as labels; "" is the root. No terminator when
 * `end` is false (a pointer follows). */
static void labels(struct mb *m, const char *name, bool end)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        u8(m, (unsigned)l);
        raw(m, name, l);
        name += l;
        if (*name == '.')
            name++;
    }
    if (end)
        u8(m, 0);
}

static void ptr(struct mb *m, unsigned off)
{
    u16(m, 0xc000 | off);
}

#define QR 0x8000
#define AA 0x0400
#define TC 0x0200
#define RD 0x0100
#define RA 0x0080

static void hdr(struct mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                unsigned ar)
{
    m->n = 0;
    u16(m, id);
    u16(m, flags);
    u16(m, qd);
    u16(m, an);
    u16(m, ns);
    u16(m, ar);
}

static void question(struct mb *m, const char *name, unsigned qtype, unsigned qclass)
{
    labels(m, name, true);
    u16(m, qtype);
    u16(m, qclass);
}

/* RR header with owner = pointer to the question name (offset 12). */
static void rr_hdr(struct mb *m, unsigned type, uint32_t ttl, unsigned rdlen)
{
    ptr(m, 12);
    u16(m, type);
    u16(m, 1);
    u32(m, ttl);
    u16(m, rdlen);
}

/* ---- recorder ---- */

#define MAXREC 256

struct rec {
    char line[MAXREC][2048];
    char vals[MAXREC][SL_DNS_N_FIELDS][600];
    bool present[MAXREC][SL_DNS_N_FIELDS];
    int n;
    char weird[MAXREC][96];
    int nw;
    int confirms, fails, flips;
    char hist[8];
};

static void on_record(void *ctx, const struct sl_log_val *v)
{
    struct rec *r = ctx;
    ck_assert_int_lt(r->n, MAXREC);
    int l = sl_log_format_line(&sl_dns_schema, SL_LOG_TSV, v, r->line[r->n], 2048);
    ck_assert_int_ge(l, 0);
    for (int i = 0; i < SL_DNS_N_FIELDS; i++) {
        r->present[r->n][i] = v[i].present;
        if (v[i].present && v[i].s)
            snprintf(r->vals[r->n][i], 600, "%s", v[i].s);
    }
    r->n++;
}

static void on_weird(void *ctx, double ts, const char *name, const char *addl)
{
    struct rec *r = ctx;
    (void)ts;
    if (r->nw < MAXREC)
        snprintf(r->weird[r->nw++], 96, "%s%s%s", name, addl ? ":" : "", addl ? addl : "");
}

static void on_confirm(void *ctx, double ts)
{
    (void)ts;
    ((struct rec *)ctx)->confirms++;
}

static void on_failed(void *ctx, double ts, const char *reason)
{
    (void)ts;
    (void)reason;
    ((struct rec *)ctx)->fails++;
}

static void on_flip(void *ctx, double ts)
{
    (void)ts;
    ((struct rec *)ctx)->flips++;
}

static void on_hist(void *ctx, char c)
{
    struct rec *r = ctx;
    size_t l = strlen(r->hist);
    if (l + 1 < sizeof(r->hist))
        r->hist[l] = c;
}

static bool has_weird(const struct rec *r, const char *w)
{
    for (int i = 0; i < r->nw; i++)
        if (strcmp(r->weird[i], w) == 0)
            return true;
    return false;
}

static void v4(uint8_t a[16], unsigned x0, unsigned x1, unsigned x2, unsigned x3)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = (uint8_t)x0;
    a[13] = (uint8_t)x1;
    a[14] = (uint8_t)x2;
    a[15] = (uint8_t)x3;
}

static struct sl_dns_state *mk(struct rec *r, uint8_t proto, uint16_t orig_p, uint16_t resp_p)
{
    struct sl_dns_conn c = {.orig_p = orig_p, .resp_p = resp_p, .proto = proto};
    v4(c.orig_h, 172, 17, 0, 2);
    v4(c.resp_h, 1, 1, 1, 1);
    snprintf(c.uid, sizeof(c.uid), "CUID1");
    struct sl_dns_cbs cb = {r, on_record, on_weird, on_confirm, on_failed, on_flip, on_hist};
    memset(r, 0, sizeof(*r));
    struct sl_dns_state *s = sl_dns_new(&c, &cb);
    ck_assert_ptr_nonnull(s);
    return s;
}

static struct sl_dns_state *mk_udp(struct rec *r)
{
    return mk(r, 17, 51714, 53);
}

static void send(struct sl_dns_state *s, bool orig, double ts, const struct mb *m)
{
    ck_assert_int_eq(sl_dns_deliver(s, orig, ts, m->b, m->n), 0);
}

/* field f of record i, "-" when unset; containers via the TSV line. */
static const char *fld(struct rec *r, int i, int f)
{
    static char buf[2048];
    if (!r->present[i][f])
        return "-";
    if (f != SL_DNS_ANSWERS && f != SL_DNS_TTLS)
        return r->vals[i][f];
    /* split the TSV line */
    const char *p = r->line[i];
    for (int k = 0; k < f; k++)
        p = strchr(p, '\t') + 1;
    const char *e = strchr(p, '\t');
    snprintf(buf, sizeof(buf), "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    return buf;
}

/* ---- Zeek baselines ---- */

/* core.tunnels.gre-over-udp: A query answered with two A records (TTL 52),
 * then an AAAA query answered NOERROR without answers. */
START_TEST(baseline_gre_over_udp)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;

    hdr(&m, 63844, RD, 1, 0, 0, 0);
    question(&m, "zeek.org", 1, 1);
    send(s, true, 1000.0, &m);
    hdr(&m, 63844, QR | RD | RA, 1, 2, 0, 0);
    question(&m, "zeek.org", 1, 1);
    rr_hdr(&m, 1, 52, 4);
    u32(&m, 0xc0004e96); /* 192.0.78.150 */
    rr_hdr(&m, 1, 52, 4);
    u32(&m, 0xc0004ed4); /* 192.0.78.212 */
    send(s, false, 1000.054238, &m);

    hdr(&m, 12391, RD, 1, 0, 0, 0);
    question(&m, "zeek.org", 28, 1);
    send(s, true, 1001.0, &m);
    hdr(&m, 12391, QR | RD | RA, 1, 0, 1, 0);
    question(&m, "zeek.org", 28, 1);
    send(s, false, 1001.03, &m);
    sl_dns_conn_end(s, 1100.0);

    ck_assert_int_eq(r.n, 2);
    ck_assert_str_eq(r.line[0], "1000.000000\tCUID1\t172.17.0.2\t51714\t1.1.1.1\t53\tudp\t63844\t"
                                "0.054238\tzeek.org\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\t"
                                "T\t0\t192.0.78.150,192.0.78.212\t52.000000,52.000000\tF");
    ck_assert_str_eq(r.line[1], "1001.000000\tCUID1\t172.17.0.2\t51714\t1.1.1.1\t53\tudp\t12391\t"
                                "-\tzeek.org\t1\tC_INTERNET\t28\tAAAA\t0\tNOERROR\tF\tF\tT\tF\t"
                                "0\t-\t-\tF");
    ck_assert_int_eq(r.nw, 0);
    ck_assert_int_eq(r.confirms, 1);
    sl_dns_free(s);
}
END_TEST

/* core.tunnels.gre-pptp: NXDOMAIN with an authority record, no answer. */
START_TEST(baseline_gre_pptp)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;
    const char *q = "xqt-detect-mode2-97712e88-167a-45b9-93ee-913140e76678";

    hdr(&m, 42540, RD, 1, 0, 0, 0);
    question(&m, q, 28, 1);
    send(s, true, 5.0, &m);
    hdr(&m, 42540, QR | RD | RA | 3, 1, 0, 1, 0);
    question(&m, q, 28, 1);
    ptr(&m, 12);
    u16(&m, 6);
    u16(&m, 1);
    u32(&m, 60);
    u16(&m, 2);
    u16(&m, 0); /* not parsed: authority is skipped */
    send(s, false, 5.02, &m);

    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(r.line[0], "5.000000\tCUID1\t172.17.0.2\t51714\t1.1.1.1\t53\tudp\t42540\t-\t"
                                "xqt-detect-mode2-97712e88-167a-45b9-93ee-913140e76678\t1\t"
                                "C_INTERNET\t28\tAAAA\t3\tNXDOMAIN\tF\tF\tT\tF\t0\t-\t-\tF");
    sl_dns_free(s);
}
END_TEST

/* core.tunnels.gre: two ANY queries with one id, never answered: both are
 * logged at connection end with rcode unset. */
START_TEST(baseline_gre_unanswered)
{
    static struct rec r;
    struct sl_dns_state *s = mk(&r, 17, 37675, 53);
    struct mb m;

    hdr(&m, 48554, RD, 1, 0, 0, 0);
    question(&m, "www.gleeble.org", 255, 1);
    send(s, true, 7.0, &m);
    send(s, true, 8.0, &m);
    ck_assert_int_eq(r.n, 0);
    sl_dns_conn_end(s, 60.0);
    ck_assert_int_eq(r.n, 2);
    for (int i = 0; i < 2; i++)
        ck_assert_str_eq(strchr(r.line[i], '\t'),
                         "\tCUID1\t172.17.0.2\t37675\t1.1.1.1\t53\tudp\t48554\t-\twww.gleeble.org\t"
                         "1\tC_INTERNET\t255\t*\t-\t-\tF\tF\tT\tF\t0\t-\t-\tF");
    ck_assert_str_eq(r.vals[0][SL_DNS_TS], "7.000000");
    ck_assert_str_eq(r.vals[1][SL_DNS_TS], "8.000000");
    /* later calls do nothing */
    sl_dns_conn_end(s, 61.0);
    ck_assert_int_eq(r.n, 2);
    sl_dns_free(s);
}
END_TEST

/* ---- each RR type ---- */

/* Sends a query for `name` type qt, then a reply with one answer built by
 * `rd` (rdata bytes), returns the answers/TTLs of the single record. */
static void one_rr(struct rec *r, unsigned type, const uint8_t *rdata, size_t rdlen,
                   int rdlen_field)
{
    struct sl_dns_state *s = mk_udp(r);
    struct mb m;
    hdr(&m, 1, RD, 1, 0, 0, 0);
    question(&m, "Example.COM", type, 1);
    send(s, true, 1.0, &m);
    hdr(&m, 1, QR | RD | RA | AA, 1, 1, 0, 0);
    question(&m, "example.com", type, 1);
    rr_hdr(&m, type, 300, rdlen_field >= 0 ? (unsigned)rdlen_field : (unsigned)rdlen);
    raw(&m, rdata, rdlen);
    send(s, false, 1.5, &m);
    sl_dns_conn_end(s, 2.0);
    sl_dns_free(s);
}

static void check_one(unsigned type, const uint8_t *rd, size_t n, const char *want)
{
    static struct rec r;
    one_rr(&r, type, rd, n, -1);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS), want);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_TTLS), strcmp(want, "-") ? "300.000000" : "-");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "example.com");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RTT), "0.500000");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_AA), "T");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RA), "T");
}

START_TEST(rr_types)
{
    struct mb d;

    d.n = 0;
    u32(&d, 0x0a000001);
    check_one(1, d.b, d.n, "10.0.0.1");

    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    check_one(28, v6, 16, "2001:db8::1");
    /* IPv4-mapped: Zeek's IPAddr shows it as IPv4 */
    uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
    check_one(28, mapped, 16, "1.2.3.4");
    check_one(38, v6, 16, "2001:db8::1"); /* A6 */

    d.n = 0;
    labels(&d, "Alias.Example.net", true);
    check_one(5, d.b, d.n, "alias.example.net");  /* CNAME, lower-cased */
    check_one(12, d.b, d.n, "alias.example.net"); /* PTR */
    check_one(2, d.b, d.n, "alias.example.net");  /* NS */

    d.n = 0;
    u16(&d, 10);
    labels(&d, "mx1.example.com", true);
    check_one(15, d.b, d.n, "mx1.example.com");

    d.n = 0;
    labels(&d, "ns1.example.com", true);
    labels(&d, "hostmaster.example.com", true);
    for (int i = 0; i < 5; i++)
        u32(&d, 100 + (unsigned)i);
    check_one(6, d.b, d.n, "ns1.example.com"); /* SOA: mname */

    d.n = 0;
    u16(&d, 1);
    u16(&d, 2);
    u16(&d, 5060);
    labels(&d, "sip.example.com", true);
    check_one(33, d.b, d.n, "sip.example.com"); /* SRV: target */

    d.n = 0;
    u8(&d, 5);
    raw(&d, "hello", 5);
    u8(&d, 7);
    raw(&d, "a,b c\\d", 7);
    /* TXT: each string "TXT <len> <text>", joined by a space; the writer
     * escapes the comma and the backslash inside the vector */
    check_one(16, d.b, d.n, "TXT 5 hello TXT 7 a\\x2cb c\\\\d");
    d.n = 0;
    u8(&d, 11);
    raw(&d, "v=spf1 -all", 11);
    check_one(99, d.b, d.n, "SPF 11 v=spf1 -all");

    d.n = 0;
    u16(&d, 100);
    u16(&d, 10);
    u8(&d, 1);
    raw(&d, "U", 1);
    u8(&d, 7);
    raw(&d, "E2U+sip", 7);
    u8(&d, 0);
    labels(&d, "", true);
    check_one(35, d.b, d.n, "NAPTR 100 10 U E2U+sip ");

    d.n = 0;
    u16(&d, 1);      /* type covered */
    u16(&d, 0x0802); /* algorithm 8, labels 2 */
    u32(&d, 300);
    u32(&d, 2000000000);
    u32(&d, 1000000000);
    u16(&d, 12345);
    labels(&d, "", true); /* root signer */
    raw(&d, "SIGSIGSIG", 9);
    check_one(46, d.b, d.n, "RRSIG 1 <Root>");

    d.n = 0;
    u16(&d, 0x0101); /* zone key + SEP */
    u16(&d, 0x030d); /* protocol 3, algorithm 13 */
    raw(&d, "KEYBYTES", 8);
    check_one(48, d.b, d.n, "DNSKEY 13");

    d.n = 0;
    labels(&d, "next.example.com", true);
    u16(&d, 0x0001);
    u8(&d, 0x40);
    check_one(47, d.b, d.n, "NSEC example.com next.example.com");

    d.n = 0;
    u16(&d, 0x0100);
    u16(&d, 10);
    u8(&d, 2);
    raw(&d, "ab", 2);
    u8(&d, 3);
    raw(&d, "xyz", 3);
    u16(&d, 0x0001);
    u8(&d, 0x40);
    check_one(50, d.b, d.n, "NSEC3");

    d.n = 0;
    u16(&d, 0x0100);
    u16(&d, 10);
    u8(&d, 0);
    check_one(51, d.b, d.n, "NSEC3PARAM");

    d.n = 0;
    u16(&d, 4242);
    u16(&d, 0x0802);
    raw(&d, "digestdigestdigestdigest", 24);
    check_one(43, d.b, d.n, "DS 8 2");

    d.n = 0;
    u16(&d, 0x0102);
    raw(&d, "\x01\xab\xff", 3);
    check_one(44, d.b, d.n, "SSHFP: 01abff");

    d.n = 0;
    u16(&d, 0x0012); /* version 0, size 0x12 */
    u16(&d, 0x1613);
    u32(&d, 1);
    u32(&d, 2);
    u32(&d, 3);
    check_one(29, d.b, d.n, "LOC:  18 22 19");

    d.n = 0;
    u32(&d, 0x08123400);
    u8(&d, 1);
    check_one(65534, d.b, d.n, "BIND9 signing signal");

    d.n = 0;
    raw(&d, "opaque", 6);
    check_one(99 + 1000, d.b, d.n, "<unknown type=1099>");

    /* HINFO has no handler in the base scripts: nothing logged from it */
    d.n = 0;
    u8(&d, 3);
    raw(&d, "cpu", 3);
    u8(&d, 2);
    raw(&d, "os", 2);
    static struct rec r;
    one_rr(&r, 13, d.b, d.n, -1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS), "-");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RTT), "-");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RA), "F");
}
END_TEST

START_TEST(rr_unknown_weird_and_wks)
{
    static struct rec r;
    uint8_t d[4] = {1, 2, 3, 4};
    one_rr(&r, 1099, d, 4, -1);
    ck_assert(has_weird(&r, "DNS_RR_unknown_type:1099"));

    /* WKS: the handler sets rtt/AA/RA but adds no answer */
    one_rr(&r, 11, d, 4, -1);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS), "-");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RTT), "0.500000");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RA), "T");
}
END_TEST

START_TEST(rr_length_weirds)
{
    static struct rec r;
    struct mb d;

    /* A with rdlength 5: bad length, parsing stops */
    uint8_t a5[5] = {1, 2, 3, 4, 5};
    one_rr(&r, 1, a5, 5, -1);
    ck_assert(has_weird(&r, "DNS_RR_bad_length"));
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS), "-");

    /* CNAME whose rdlength is longer than the name */
    d.n = 0;
    labels(&d, "a.b", true);
    u8(&d, 0);
    one_rr(&r, 5, d.b, d.n, -1);
    ck_assert(has_weird(&r, "DNS_RR_length_mismatch"));
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS), "a.b");

    /* rdlength past the end of the message */
    d.n = 0;
    u32(&d, 0x01020304);
    one_rr(&r, 1, d.b, d.n, 40);
    ck_assert(has_weird(&r, "DNS_truncated_RR_rdlength_lt_len"));

    /* rdlength zero with more data following */
    one_rr(&r, 1, d.b, d.n, 0);
    ck_assert(has_weird(&r, "DNS_zero_rdlength"));

    /* TXT string longer than the rdata */
    d.n = 0;
    u8(&d, 9);
    raw(&d, "abc", 3);
    one_rr(&r, 16, d.b, d.n, -1);
    ck_assert(has_weird(&r, "DNS_TXT_char_str_past_rdlen"));
}
END_TEST

/* ---- names and compression ---- */

START_TEST(compression_chain_and_escaping)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;

    hdr(&m, 9, QR | RA, 1, 2, 0, 0);
    question(&m, "example.com", 5, 1); /* name at 12; "com" label at 20 */
    /* answer 1: CNAME owner=ptr(12), rdata "w\x01w" + ptr to "com" (offset 20) */
    rr_hdr(&m, 5, 60, 6);
    u8(&m, 3);
    raw(&m, "W\x01w", 3);
    ptr(&m, 20);
    /* answer 2: CNAME to a pointer to the rdata of answer 1 (offset 41),
     * i.e. a chain of two pointers */
    size_t a1_rdata = 12 + 13 + 4 + 2 + 2 + 2 + 4 + 2; /* hdr+q, then RR header */
    ck_assert_uint_eq(a1_rdata, 41);
    rr_hdr(&m, 5, 60, 4);
    u8(&m, 1);
    raw(&m, "x", 1);
    ptr(&m, 41);
    send(s, false, 3.0, &m);
    sl_dns_conn_end(s, 4.0);

    ck_assert_int_eq(r.n, 1);
    /* the non-printable byte reaches the writer raw and is escaped there */
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS), "w\\x01w.com,x.w\\x01w.com");
    ck_assert_int_eq(r.nw, 0);
    sl_dns_free(s);
}
END_TEST

START_TEST(compression_forward_and_self)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;

    /* question name is a pointer to itself (offset 12) */
    hdr(&m, 1, 0, 1, 0, 0, 0);
    ptr(&m, 12);
    u16(&m, 1);
    u16(&m, 1);
    send(s, true, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_label_forward_compress_offset"));
    sl_dns_conn_end(s, 2.0);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "");
    sl_dns_free(s);

    /* two names pointing at each other: the first one is a forward pointer */
    s = mk_udp(&r);
    hdr(&m, 1, QR, 1, 1, 0, 0);
    labels(&m, "a", false);
    ptr(&m, 26); /* offset 14; points past itself */
    u16(&m, 1);
    u16(&m, 1);
    ck_assert_uint_eq(m.n, 20);
    u16(&m, 0); /* pad to 22 */
    u16(&m, 0);
    u16(&m, 0); /* 26 */
    ptr(&m, 14);
    send(s, false, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_label_forward_compress_offset"));
    sl_dns_free(s);
}
END_TEST

START_TEST(compression_depth_limit)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;

    /* 23 questions, each name a pointer to the previous question's name:
     * the last one is 22 pointers deep, over the limit of 20 */
    hdr(&m, 1, 0, 23, 0, 0, 0);
    unsigned prev = 12;
    question(&m, "a", 1, 1);
    for (int i = 1; i < 23; i++) {
        unsigned here = (unsigned)m.n;
        ptr(&m, prev);
        u16(&m, 1);
        u16(&m, 1);
        prev = here;
    }
    send(s, true, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_max_compression_chain_depth_exceeded"));
    sl_dns_conn_end(s, 2.0);
    ck_assert_int_eq(r.n, 1);
    /* the 21st question still resolves: 20 pointers deep is allowed */
    ck_assert_int_eq(r.nw, 2); /* questions 22 and 23 */
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "");
    sl_dns_free(s);
}
END_TEST

START_TEST(label_weirds)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;
    char big[70];
    memset(big, 'a', sizeof(big));

    hdr(&m, 1, 0, 1, 0, 0, 0);
    u8(&m, 64);
    raw(&m, big, 64);
    u8(&m, 0);
    u16(&m, 1);
    u16(&m, 1);
    send(s, true, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_label_too_long"));
    sl_dns_free(s);

    /* label length running past the packet */
    s = mk_udp(&r);
    hdr(&m, 1, 0, 1, 0, 0, 0);
    u8(&m, 40);
    raw(&m, "short", 5);
    send(s, true, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_label_len_gt_pkt"));
    ck_assert(has_weird(&r, "DNS_truncated_quest_too_short"));
    sl_dns_free(s);

    /* a name longer than 255 bytes */
    s = mk_udp(&r);
    hdr(&m, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 5; i++) {
        u8(&m, 60);
        raw(&m, big, 60);
    }
    u8(&m, 0);
    u16(&m, 1);
    u16(&m, 1);
    send(s, true, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_NAME_too_long"));
    sl_dns_free(s);

    /* a name over the 512-byte buffer (labels of 63 via pointers are not
     * needed: nine 60-byte labels) */
    s = mk_udp(&r);
    hdr(&m, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 9; i++) {
        u8(&m, 60);
        raw(&m, big, 60);
    }
    u8(&m, 0);
    u16(&m, 1);
    u16(&m, 1);
    send(s, true, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_label_len_gt_name_len"));
    sl_dns_free(s);
}
END_TEST

/* Every strict prefix of a reply: never a crash, always a weird, always
 * exactly one record (the pair, or the lone query at connection end). */
START_TEST(truncation_every_byte)
{
    struct mb q, m;
    hdr(&q, 77, RD, 1, 0, 0, 0);
    question(&q, "www.example.org", 255, 1);

    hdr(&m, 77, QR | RD | RA, 1, 6, 0, 0); /* A AAAA CNAME TXT MX A */
    question(&m, "www.example.org", 255, 1);
    rr_hdr(&m, 1, 10, 4);
    u32(&m, 0x01020304);
    rr_hdr(&m, 28, 10, 16);
    for (int i = 0; i < 4; i++)
        u32(&m, 0x20010db8u + (unsigned)i);
    rr_hdr(&m, 5, 10, 6);
    u8(&m, 3);
    raw(&m, "foo", 3);
    ptr(&m, 12);
    rr_hdr(&m, 16, 10, 6);
    u8(&m, 5);
    raw(&m, "hello", 5);
    rr_hdr(&m, 15, 10, 4);
    u16(&m, 5);
    ptr(&m, 16);
    /* an A last: a cut inside the last RR header still leaves a weird
     * (an RRSIG there would not: Zeek returns silently when it is short) */
    rr_hdr(&m, 1, 10, 4);
    u32(&m, 0x05060708);

    for (size_t cut = 0; cut <= m.n; cut++) {
        struct rec r;
        struct sl_dns_state *s = mk_udp(&r);
        send(s, true, 1.0, &q);
        /* a heap copy of exactly `cut` bytes, so ASan sees any overread */
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, m.b, cut);
        ck_assert_int_eq(sl_dns_deliver(s, false, 2.0, p, cut), 0);
        free(p);
        sl_dns_conn_end(s, 3.0);
        ck_assert_int_eq(r.n, 1);
        if (cut < m.n)
            ck_assert_msg(r.nw > 0, "no weird for a %zu-byte prefix", cut);
        else
            ck_assert_int_eq(r.nw, 0);
        if (cut == m.n)
            ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS),
                             "1.2.3.4,2001:db8:2001:db9:2001:dba:2001:dbb,foo.www.example.org,"
                             "TXT 5 hello,example.org,5.6.7.8");
        sl_dns_free(s);
    }
}
END_TEST

/* ---- TCP ---- */

static void tcp_frame(struct mb *out, const struct mb *msg)
{
    u16(out, (unsigned)msg->n);
    raw(out, msg->b, msg->n);
}

START_TEST(tcp_split_everywhere)
{
    struct mb q1, q2, r1, stream_o, stream_r;
    hdr(&q1, 5, RD, 1, 0, 0, 0);
    question(&q1, "a.example", 1, 1);
    hdr(&q2, 6, RD, 1, 0, 0, 0);
    question(&q2, "b.example", 1, 1);
    hdr(&r1, 5, QR | RD | RA, 1, 1, 0, 0);
    question(&r1, "a.example", 1, 1);
    rr_hdr(&r1, 1, 5, 4);
    u32(&r1, 0x0a0a0a0a);
    stream_o.n = stream_r.n = 0;
    tcp_frame(&stream_o, &q1);
    tcp_frame(&stream_o, &q2);
    tcp_frame(&stream_r, &r1);

    for (size_t cut = 0; cut <= stream_o.n; cut++) {
        struct rec r;
        struct sl_dns_state *s = mk(&r, 6, 40000, 53);
        sl_dns_deliver(s, true, 1.0, stream_o.b, cut);
        sl_dns_deliver(s, true, 1.0, stream_o.b + cut, stream_o.n - cut);
        /* the reply one byte at a time */
        for (size_t i = 0; i < stream_r.n; i++)
            sl_dns_deliver(s, false, 2.0, stream_r.b + i, 1);
        sl_dns_conn_end(s, 3.0);
        ck_assert_int_eq(r.n, 2);
        ck_assert_int_eq(r.nw, 0);
        ck_assert_str_eq(fld(&r, 0, SL_DNS_PROTO), "tcp");
        ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "a.example");
        ck_assert_str_eq(fld(&r, 0, SL_DNS_ANSWERS), "10.10.10.10");
        ck_assert_str_eq(fld(&r, 0, SL_DNS_RTT), "1.000000");
        ck_assert_str_eq(fld(&r, 1, SL_DNS_QUERY), "b.example");
        ck_assert_str_eq(fld(&r, 1, SL_DNS_RCODE), "-");
        sl_dns_free(s);
    }
}
END_TEST

START_TEST(tcp_partial_flush_on_close)
{
    static struct rec r;
    struct sl_dns_state *s = mk(&r, 6, 40000, 53);
    struct mb q, st;
    hdr(&q, 5, RD, 1, 0, 0, 0);
    question(&q, "a.example", 1, 1);
    st.n = 0;
    u16(&st, (unsigned)q.n + 10); /* announces 10 more bytes than follow */
    raw(&st, q.b, q.n);
    sl_dns_deliver(s, true, 1.0, st.b, st.n);
    ck_assert_int_eq(r.n, 0);
    /* Zeek parses the partial buffer at close: a full query is in it */
    sl_dns_tcp_closed(s, 2.0);
    ck_assert_int_eq(r.nw, 0);
    sl_dns_conn_end(s, 3.0);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "a.example");
    sl_dns_free(s);
}
END_TEST

/* ---- pairing and state ---- */

START_TEST(reply_first_and_unmatched)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb q, a;
    hdr(&q, 3, RD, 1, 0, 0, 0);
    question(&q, "x.org", 1, 1);
    hdr(&a, 3, QR | RA, 1, 1, 0, 0);
    question(&a, "x.org", 1, 1);
    rr_hdr(&a, 1, 9, 4);
    u32(&a, 0x7f000001);

    /* the responder's reply first, then the query: one record, ts of the
     * reply, rtt unset (0 s is deleted by main.zeek) */
    send(s, false, 1.0, &a);
    ck_assert_int_eq(r.n, 0);
    send(s, true, 1.2, &q);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_TS), "1.000000");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RTT), "-");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "x.org");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QTYPE_NAME), "A");
    ck_assert_int_eq(r.flips, 0);

    /* a reply nobody asked for: logged at the end, query from the answer */
    hdr(&a, 4, QR | RA, 0, 1, 0, 0);
    rr_hdr(&a, 1, 9, 4); /* owner pointer to offset 12 = this RR's own... */
    a.n = 12;
    labels(&a, "y.org", true);
    u16(&a, 1);
    u16(&a, 1);
    u32(&a, 9);
    u16(&a, 4);
    u32(&a, 0x7f000002);
    send(s, false, 2.0, &a);
    sl_dns_conn_end(s, 3.0);
    ck_assert_int_eq(r.n, 2);
    ck_assert_str_eq(fld(&r, 1, SL_DNS_QUERY), "y.org");
    ck_assert_str_eq(fld(&r, 1, SL_DNS_QTYPE), "-");
    ck_assert_str_eq(fld(&r, 1, SL_DNS_ANSWERS), "127.0.0.2");
    ck_assert_str_eq(fld(&r, 1, SL_DNS_RTT), "-");
    sl_dns_free(s);
}
END_TEST

START_TEST(pending_queue_order)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;
    /* three queries: ids 1, 2, 1 */
    const unsigned ids[3] = {1, 2, 1};
    const char *names[3] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        hdr(&m, ids[i], 0, 1, 0, 0, 0);
        question(&m, names[i], 1, 1);
        send(s, true, 1.0 + i, &m);
    }
    /* replies: 2, 1, 1 -> pair with two, one, three */
    const unsigned rids[3] = {2, 1, 1};
    for (int i = 0; i < 3; i++) {
        hdr(&m, rids[i], QR, 0, 0, 0, 0);
        send(s, false, 10.0 + i, &m);
    }
    ck_assert_int_eq(r.n, 3);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "two");
    ck_assert_str_eq(fld(&r, 1, SL_DNS_QUERY), "one");
    ck_assert_str_eq(fld(&r, 2, SL_DNS_QUERY), "three");
    sl_dns_conn_end(s, 20.0);
    ck_assert_int_eq(r.n, 3);
    sl_dns_free(s);
}
END_TEST

START_TEST(pending_caps)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;
    /* 1 fast-path query + 51 queued with one id: the 52nd queued one
     * finds the queue over max_pending_msgs and logs the 51 first */
    for (int i = 0; i < 53; i++) {
        hdr(&m, 7, 0, 1, 0, 0, 0);
        question(&m, "q", 1, 1);
        send(s, true, 1.0 + i, &m);
    }
    ck_assert_int_eq(r.n, 51);
    sl_dns_conn_end(s, 100.0);
    ck_assert_int_eq(r.n, 53);
    sl_dns_free(s);

    /* 1 + 51 distinct ids fill the table; the next new id flushes it */
    s = mk_udp(&r);
    for (int i = 0; i < 53; i++) {
        hdr(&m, 100 + (unsigned)i, 0, 1, 0, 0, 0);
        question(&m, "q", 1, 1);
        send(s, true, 1.0 + i, &m);
    }
    ck_assert_int_eq(r.n, 51);
    sl_dns_conn_end(s, 100.0);
    ck_assert_int_eq(r.n, 53);
    sl_dns_free(s);
}
END_TEST

START_TEST(flip_on_first_reply)
{
    static struct rec r;
    struct sl_dns_state *s = mk(&r, 17, 53, 40001);
    struct mb a, q;
    hdr(&a, 3, QR, 1, 0, 0, 0);
    question(&a, "x.org", 1, 1);
    /* from the "originator" (really the server): Zeek flips the roles */
    send(s, true, 1.0, &a);
    ck_assert_int_eq(r.flips, 1);
    hdr(&q, 3, 0, 1, 0, 0, 0);
    question(&q, "x.org", 1, 1);
    send(s, true, 1.5, &q); /* from the client, now the originator */
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ORIG_H), "1.1.1.1");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_ORIG_P), "40001");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RESP_H), "172.17.0.2");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RESP_P), "53");
    ck_assert_int_eq(r.flips, 1);
    sl_dns_free(s);
}
END_TEST

START_TEST(opcode_rejected_violation)
{
    static struct rec r;
    struct sl_dns_state *s = mk_udp(&r);
    struct mb m;

    hdr(&m, 1, 2u << 11, 1, 0, 0, 0); /* opcode 2 (status) */
    question(&m, "x", 1, 1);
    send(s, true, 1.0, &m);
    send(s, true, 1.0, &m);
    ck_assert(has_weird(&r, "DNS_unknown_opcode:2"));
    /* one letter per message; the caller's CheckHistory keeps the first */
    ck_assert_str_eq(r.hist, "XX");

    /* REFUSED without any RR: rejected */
    hdr(&m, 2, 0, 1, 0, 0, 0);
    question(&m, "x", 1, 1);
    send(s, true, 2.0, &m);
    hdr(&m, 2, QR | 5, 1, 0, 0, 0);
    question(&m, "x", 1, 1);
    send(s, false, 2.1, &m);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_REJECTED), "T");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_RCODE_NAME), "REFUSED");
    ck_assert_int_eq(r.confirms, 1);

    /* more than 25 questions: violation, the analyzer is disabled */
    hdr(&m, 3, 0, 26, 0, 0, 0);
    send(s, true, 3.0, &m);
    ck_assert(has_weird(&r, "DNS_Conn_count_too_large"));
    ck_assert_int_eq(r.fails, 1);
    ck_assert(sl_dns_disabled(s));
    int nw = r.nw;
    send(s, true, 4.0, &m);
    ck_assert_int_eq(r.nw, nw);
    sl_dns_free(s);
}
END_TEST

START_TEST(netbios_name)
{
    static struct rec r;
    struct sl_dns_state *s = mk(&r, 17, 137, 137);
    struct mb m;
    /* "WORKGROUP" padded with spaces, suffix 0x00 */
    char enc[33];
    const char *plain = "WORKGROUP      ";
    for (int i = 0; i < 15; i++) {
        enc[2 * i] = (char)('A' + ((unsigned char)plain[i] >> 4));
        enc[2 * i + 1] = (char)('A' + (plain[i] & 0xf));
    }
    enc[30] = 'A';
    enc[31] = 'A';
    enc[32] = 0;
    hdr(&m, 0x8001, 0, 1, 0, 0, 0);
    question(&m, enc, 33, 1);
    send(s, true, 1.0, &m);
    sl_dns_conn_end(s, 2.0);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QUERY), "WORKGROUP");
    ck_assert_str_eq(fld(&r, 0, SL_DNS_QTYPE_NAME), "NBSTAT");
    sl_dns_free(s);
}
END_TEST

/* Mutated messages (fixed seed) over UDP and TCP: the parser must stay
 * inside its buffers (run under ASan) and keep its record accounting. */
START_TEST(mutations)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    struct mb base;
    hdr(&base, 1, QR | RA, 2, 3, 0, 0);
    question(&base, "www.example.org", 1, 1);
    question(&base, "mail.example.org", 15, 1);
    rr_hdr(&base, 5, 1, 6);
    u8(&base, 3);
    raw(&base, "foo", 3);
    ptr(&base, 16);
    rr_hdr(&base, 16, 1, 4);
    u8(&base, 3);
    raw(&base, "txt", 3);
    rr_hdr(&base, 46, 1, 22);
    for (int i = 0; i < 22; i++)
        u8(&base, (unsigned)i);
    for (int iter = 0; iter < 4000; iter++) {
        static struct rec r;
        struct sl_dns_state *s = mk(&r, iter & 1 ? 6 : 17, 1234, 53);
        uint8_t *p = malloc(base.n);
        memcpy(p, base.b, base.n);
        size_t n = base.n;
        for (int k = 0; k < 1 + iter % 6; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p[x % n] = (uint8_t)(x >> 32);
        }
        n = 1 + (x >> 40) % n;
        if (iter & 1) {
            uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
            sl_dns_deliver(s, iter & 2, 1.0, len, 2);
        }
        sl_dns_deliver(s, iter & 2, 1.0, p, n);
        sl_dns_tcp_closed(s, 2.0);
        sl_dns_conn_end(s, 3.0);
        ck_assert_int_eq((int)sl_dns_counters(s)->records, r.n);
        free(p);
        sl_dns_free(s);
    }
}
END_TEST

START_TEST(names_and_args)
{
    char b[24];
    ck_assert_str_eq(sl_dns_qtype_name(255, b, sizeof(b)), "*");
    ck_assert_str_eq(sl_dns_qtype_name(54, b, sizeof(b)), "query-54");
    ck_assert_str_eq(sl_dns_qclass_name(7, b, sizeof(b)), "qclass-7");
    ck_assert_str_eq(sl_dns_rcode_name(3842, b, sizeof(b)), "BADSIG");
    ck_assert_str_eq(sl_dns_rcode_name(99, b, sizeof(b)), "rcode-99");
    ck_assert(sl_dns_port(17, 5353));
    ck_assert(!sl_dns_port(6, 5353));
    struct sl_dns_conn c = {.proto = 1};
    errno = 0;
    ck_assert_ptr_null(sl_dns_new(&c, NULL));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(sl_dns_deliver(NULL, true, 0, NULL, 0), -EINVAL);
    ck_assert_int_eq(sl_dns_schema.n_fields, 24);
    ck_assert_str_eq(sl_dns_schema.fields[SL_DNS_TTLS].name, "TTLs");
    sl_dns_free(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dns");
    TCase *t = tcase_create("dns");
    tcase_add_test(t, baseline_gre_over_udp);
    tcase_add_test(t, baseline_gre_pptp);
    tcase_add_test(t, baseline_gre_unanswered);
    tcase_add_test(t, rr_types);
    tcase_add_test(t, rr_unknown_weird_and_wks);
    tcase_add_test(t, rr_length_weirds);
    tcase_add_test(t, compression_chain_and_escaping);
    tcase_add_test(t, compression_forward_and_self);
    tcase_add_test(t, compression_depth_limit);
    tcase_add_test(t, label_weirds);
    tcase_add_test(t, truncation_every_byte);
    tcase_add_test(t, tcp_split_everywhere);
    tcase_add_test(t, tcp_partial_flush_on_close);
    tcase_add_test(t, reply_first_and_unmatched);
    tcase_add_test(t, pending_queue_order);
    tcase_add_test(t, pending_caps);
    tcase_add_test(t, flip_on_first_reply);
    tcase_add_test(t, opcode_rejected_violation);
    tcase_add_test(t, netbios_name);
    tcase_add_test(t, mutations);
    tcase_add_test(t, names_and_args);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
