/* fuzz_mkseed wire|dns OUTDIR: writes small valid inputs for fuzz_wire (one
 * message of every type, made with sl_wire's encoders) or fuzz_dns (query
 * and reply pairs over UDP, TCP and NetBIOS, in fuzz_dns.c's chunk format).
 * Topology seeds need no generator: run.sh copies the files in topologies/. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sl_wire.h"

struct bytes {
    uint8_t d[2048];
    size_t n;
};

static void put(struct bytes *b, const void *p, size_t n)
{
    if (b->n + n <= sizeof(b->d)) {
        memcpy(b->d + b->n, p, n);
        b->n += n;
    }
}

static void put8(struct bytes *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void put16(struct bytes *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v);
}

static void put32(struct bytes *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

static int write_file(const char *dir, const char *name, const void *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "fuzz_mkseed: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int bad = fwrite(d, 1, n, f) != n;
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "fuzz_mkseed: %s: write failed\n", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ wire */

static const struct sl_log_field conn_fields[] = {
    {"ts", SL_LT_TIME},
    {"uid", SL_LT_STRING},
    {"id.orig_h", SL_LT_ADDR},
    {"id.orig_p", SL_LT_PORT},
    {"tunnel_parents", SL_LT_SET_STRING},
};
static const struct sl_log_schema conn_schema = {"conn", 5, conn_fields};
static const char *const parents[] = {"CabcDEF1", "CxyzUVW2"};
static const struct sl_log_val conn_rec[] = {
    {true, "1.000000", NULL, 0}, {true, "CfuzzUid", NULL, 0}, {true, "10.0.0.1", NULL, 0},
    {false, NULL, NULL, 0},      {true, NULL, parents, 2},
};
static const struct sl_log_val conn_rec2[] = {
    {true, "2.500000", NULL, 0}, {true, "Cother", NULL, 0}, {true, "::1", NULL, 0},
    {true, "53", NULL, 0},       {true, NULL, NULL, 0},
};

static int wire_seeds(const char *dir)
{
    struct sl_log_val two[10];
    memcpy(two, conn_rec, sizeof(conn_rec));
    memcpy(two + 5, conn_rec2, sizeof(conn_rec2));
    const struct sl_wire_section sec2 = {conn_schema, 2, two};
    const struct sl_wire_section sec1 = {conn_schema, 1, conn_rec};
    const struct sl_wire_counter ctrs[] = {{"pkts", 12345}, {"drops", 0}};
    const char *const names[] = {"manager", "proxy-1", "worker-1"};
    const struct sl_wire_log lg = {"worker-1", 7, 1, &sec2};
    const struct sl_wire_known kn = {"hosts", "10.0.0.1", "worker-1", 3, "proxy-1",
                                     2,       1,          12.5,       0, sec1};
    const struct sl_wire_scan sc = {"worker-1", 4, 3.25, 1, "10.0.0.9", "10.0.0.1", 22, 6};
    const struct sl_wire_notice nt = {"worker-2", 5,      4.0, "Scan::Port_Scan",
                                      "10.0.0.9", 3600.0, sec1};
    const struct sl_wire_notice nt2 = {"worker-2", 6, 4.0, "Weird::Activity", NULL, 0.0, sec1};
    const struct sl_wire_heartbeat hb = {"worker-1", SL_ROLE_WORKER, 9, 1700000000.5, 2, ctrs};
    const struct sl_wire_control ct = {SL_CTL_VIEW, "manager", 2, 3, names};
    const struct sl_wire_ack ak = {"logger-1", SL_WIRE_LOG, "worker-1", 7};
    const struct sl_wire_clock ck = {"worker-1", 2, 99.75};
    const struct sl_wire_clock ck2 = {"worker-1", 2, INFINITY};
    struct sl_wire_buf b = {0};
    int rc = 0;

#define SEED(name, call)                                                                           \
    do {                                                                                           \
        sl_wire_buf_reset(&b);                                                                     \
        if (rc == 0 && (rc = (call)) < 0)                                                          \
            fprintf(stderr, "fuzz_mkseed: encoding %s: %s\n", name, strerror(-rc));                \
        if (rc == 0)                                                                               \
            rc = write_file(dir, name, b.data, b.len);                                             \
    } while (0)
    SEED("log", sl_wire_enc_log(&b, &lg));
    SEED("known", sl_wire_enc_known(&b, &kn));
    SEED("scan", sl_wire_enc_scan(&b, &sc));
    SEED("notice", sl_wire_enc_notice(&b, &nt));
    SEED("notice-noid", sl_wire_enc_notice(&b, &nt2));
    SEED("heartbeat", sl_wire_enc_heartbeat(&b, &hb));
    SEED("control", sl_wire_enc_control(&b, &ct));
    SEED("ack", sl_wire_enc_ack(&b, &ak));
    SEED("clock", sl_wire_enc_clock(&b, &ck));
    SEED("clock-inf", sl_wire_enc_clock(&b, &ck2));
#undef SEED
    sl_wire_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------- dns */

static void name(struct bytes *b, const char *dotted)
{
    while (*dotted) {
        size_t l = strcspn(dotted, ".");
        put8(b, (unsigned)l);
        put(b, dotted, l);
        dotted += l + (dotted[l] == '.');
    }
    put8(b, 0);
}

static void header(struct bytes *b, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
    put16(b, id);
    put16(b, flags);
    put16(b, qd);
    put16(b, an);
    put32(b, 0); /* no authority, no additional */
}

/* An RR whose owner is a pointer to the question name (offset 12). */
static void rr(struct bytes *b, unsigned type, uint32_t ttl, const void *rdata, size_t n)
{
    put16(b, 0xc00c);
    put16(b, type);
    put16(b, 1);
    put32(b, ttl);
    put16(b, (unsigned)n);
    put(b, rdata, n);
}

static void chunk(struct bytes *out, bool is_orig, const struct bytes *m, size_t off, size_t n)
{
    put16(out, (is_orig ? 0x8000u : 0) | (unsigned)n);
    put(out, m->d + off, n);
}

static int dns_seeds(const char *dir)
{
    struct bytes q = {0}, r = {0}, s = {0}, rd = {0};
    static const uint8_t a[4] = {93, 184, 216, 34};
    static const uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    int rc = 0;

    /* A over UDP, compressed answer */
    header(&q, 0x1234, 0x0100, 1, 0);
    name(&q, "Example.COM");
    put16(&q, 1), put16(&q, 1);
    header(&r, 0x1234, 0x8180, 1, 1);
    name(&r, "example.com");
    put16(&r, 1), put16(&r, 1);
    rr(&r, 1, 300, a, 4);
    put8(&s, 0);
    chunk(&s, true, &q, 0, q.n);
    chunk(&s, false, &r, 0, r.n);
    rc = rc ? rc : write_file(dir, "udp-a", s.d, s.n);

    /* the same over TCP: length-framed, the reply split in the middle */
    struct bytes tq = {0}, tr = {0};
    put16(&tq, (unsigned)q.n), put(&tq, q.d, q.n);
    put16(&tr, (unsigned)r.n), put(&tr, r.d, r.n);
    s.n = 0;
    put8(&s, 1 | 8);
    chunk(&s, true, &tq, 0, tq.n);
    chunk(&s, false, &tr, 0, 9);
    chunk(&s, false, &tr, 9, tr.n - 9);
    rc = rc ? rc : write_file(dir, "tcp-a", s.d, s.n);

    /* MX query; reply with CNAME, MX, TXT and AAAA answers */
    q.n = r.n = 0;
    header(&q, 0xbeef, 0x0100, 1, 0);
    name(&q, "mail.example.org");
    put16(&q, 15), put16(&q, 1);
    header(&r, 0xbeef, 0x8580, 1, 4);
    name(&r, "mail.example.org");
    put16(&r, 15), put16(&r, 1);
    rd.n = 0;
    put8(&rd, 2), put(&rd, "mx", 2), put16(&rd, 0xc00c + 5); /* "mx.example.org" */
    rr(&r, 5, 60, rd.d, rd.n);
    rd.n = 0;
    put16(&rd, 10), put8(&rd, 3), put(&rd, "smt", 3), put16(&rd, 0xc00c);
    rr(&r, 15, 3600, rd.d, rd.n);
    rd.n = 0;
    put8(&rd, 11), put(&rd, "v=spf1 -all", 11), put8(&rd, 3), put(&rd, "abc", 3);
    rr(&r, 16, 120, rd.d, rd.n);
    rr(&r, 28, 30, aaaa, 16);
    s.n = 0;
    put8(&s, 0);
    chunk(&s, true, &q, 0, q.n);
    chunk(&s, false, &r, 0, r.n);
    rc = rc ? rc : write_file(dir, "udp-mx", s.d, s.n);

    /* NetBIOS name query on 137/udp ("FUZZ" encoded), left unanswered */
    q.n = 0;
    header(&q, 0x0042, 0x0110, 1, 0);
    char nb[33];
    const char *plain = "FUZZ            ";
    for (int i = 0; i < 16; i++) {
        nb[2 * i] = (char)('A' + ((uint8_t)plain[i] >> 4));
        nb[2 * i + 1] = (char)('A' + (plain[i] & 15));
    }
    nb[32] = 0;
    name(&q, nb);
    put16(&q, 32), put16(&q, 1);
    s.n = 0;
    put8(&s, 2);
    chunk(&s, true, &q, 0, q.n);
    rc = rc ? rc : write_file(dir, "udp-netbios", s.d, s.n);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "wire") != 0 && strcmp(argv[1], "dns") != 0)) {
        fprintf(stderr, "usage: fuzz_mkseed wire|dns OUTDIR\n");
        return 2;
    }
    int rc = strcmp(argv[1], "wire") == 0 ? wire_seeds(argv[2]) : dns_seeds(argv[2]);
    return rc == 0 ? 0 : 1;
}
