/* Flow keys, symmetric hashes, Toeplitz against DPDK's rte_softrss(),
 * community ID against Zeek's and the spec's published values, SHA-1
 * against FIPS 180 vectors. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "sl_flow.h"
#include "sl_pkt.h"
#include "sl_sha1.h"

#ifdef SL_HAVE_DPDK
#include <rte_ip.h>
#include <rte_thash.h>
#endif

/* Check records every passing ck_assert (a write per call); the loops over
 * thousands of random inputs check with this, which calls Check on failure. */
#define QUICK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
    /* xorshift64*: the tests only need varied, reproducible inputs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---- SHA-1 -------------------------------------------------------------- */

START_TEST(sha1_fips_vectors)
{
    /* FIPS 180 / NIST example messages and digests. */
    static const struct {
        const char *msg;
        const char *digest;
    } v[] = {
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t d[SL_SHA1_LEN];
        char h[41];
        sl_sha1(v[i].msg, strlen(v[i].msg), d);
        hex(d, sizeof(d), h);
        ck_assert_str_eq(h, v[i].digest);
    }

    /* One million 'a', fed in uneven pieces to exercise the block buffer. */
    static char chunk[1000];
    memset(chunk, 'a', sizeof(chunk));
    struct sl_sha1 c;
    sl_sha1_init(&c);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t n = step < left ? step : left;
        n = n < sizeof(chunk) ? n : sizeof(chunk);
        sl_sha1_update(&c, chunk, n);
        left -= n;
        step = step * 3 % 997 + 1;
    }
    uint8_t d[SL_SHA1_LEN];
    char h[41];
    sl_sha1_final(&c, d);
    hex(d, sizeof(d), h);
    ck_assert_str_eq(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}
END_TEST

/* ---- community ID ------------------------------------------------------- */

static void ip_layer(struct sl_pkt_ip *ip, const char *s, const char *d, uint8_t proto, int sp,
                     int dp)
{
    memset(ip, 0, sizeof(*ip));
    if (strchr(s, ':')) {
        ip->version = 6;
        ck_assert_int_eq(inet_pton(AF_INET6, s, ip->src), 1);
        ck_assert_int_eq(inet_pton(AF_INET6, d, ip->dst), 1);
    } else {
        ip->version = 4;
        ip->src[10] = ip->src[11] = ip->dst[10] = ip->dst[11] = 0xff;
        ck_assert_int_eq(inet_pton(AF_INET, s, ip->src + 12), 1);
        ck_assert_int_eq(inet_pton(AF_INET, d, ip->dst + 12), 1);
    }
    ip->proto = proto;
    if (sp >= 0) {
        ip->flags |= SL_IPF_L4;
        ip->sport = (uint16_t)sp;
        ip->dport = (uint16_t)dp;
        if (proto == 1 || proto == 58) {
            ip->icmp_type = (uint8_t)sp;
            ip->icmp_code = (uint8_t)dp;
        }
    }
}

static void check_cid(const char *s, const char *d, uint8_t proto, int sp, int dp, const char *want)
{
    struct sl_pkt_ip ip;
    char buf[SL_FLOW_CID_LEN];
    ip_layer(&ip, s, d, proto, sp, dp);
    ck_assert_int_eq(sl_flow_community_id(&ip, 0, buf, sizeof(buf)), 0);
    ck_assert_msg(strcmp(buf, want) == 0, "%s -> %s proto %u %d/%d: got %s want %s", s, d, proto,
                  sp, dp, buf, want);
}

START_TEST(community_id_zeek_baseline)
{
    /* Zeek's testing baseline for CommunityID (seed 0). */
    check_cid("141.142.228.5", "192.150.187.43", 6, 59856, 80, "1:yvyB8h+3dnggTZW0UEITWCst97w=");
    check_cid("192.150.187.43", "141.142.228.5", 6, 80, 59856, "1:yvyB8h+3dnggTZW0UEITWCst97w=");
}
END_TEST

START_TEST(community_id_spec_baseline)
{
    /* corelight/community-id-spec baseline/baseline_deflt.json. ICMP rows
     * give (type, code); the two-way types there all have code 0. */
    check_cid("192.168.1.52", "8.8.8.8", 17, 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    check_cid("8.8.8.8", "192.168.1.52", 17, 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    check_cid("128.232.110.120", "66.35.250.204", 6, 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    check_cid("66.35.250.204", "128.232.110.120", 6, 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    check_cid("2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 6, 63943, 25,
              "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
    check_cid("2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 6, 25, 63943,
              "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
    check_cid("192.168.170.8", "192.168.170.56", 132, 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=");
    check_cid("192.168.170.56", "192.168.170.8", 132, 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=");
    /* RSVP: no ports in the hash. */
    check_cid("10.1.12.1", "10.1.12.2", 46, -1, -1, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=");
    check_cid("10.1.12.2", "10.1.12.1", 46, -1, -1, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=");
    /* ICMP echo request / reply: one flow via the counterpart type. */
    check_cid("192.168.0.89", "192.168.0.1", 1, 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    check_cid("192.168.0.1", "192.168.0.89", 1, 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    /* ICMP time exceeded: one-way, code as second port. */
    check_cid("10.0.0.1", "10.0.0.2", 1, 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=");
    /* ICMPv6 neighbor solicitation / advertisement, both ways round. */
    check_cid("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 58, 135, 0,
              "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    check_cid("fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 58, 136, 0,
              "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    check_cid("fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 58, 135, 0,
              "1:zavyT/cezQr1fmImYCwYnMXbgck=");
    check_cid("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 58, 136, 0,
              "1:zavyT/cezQr1fmImYCwYnMXbgck=");
    /* ICMPv6 one-way errors: time exceeded 3/0, unreachable 1/4. */
    check_cid("3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 58, 3, 0,
              "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=");
    check_cid("3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 58, 1, 4,
              "1:hLZd0XGWojozrvxqE0dWB1iM6R0=");
    /* ICMPv6 echo, router solicitation / advertisement. */
    check_cid("3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 58, 128, 0,
              "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
    check_cid("3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 58, 129, 0,
              "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
    check_cid("fe80::200:86ff:fe05:80da", "ff02::2", 58, 133, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=");
    check_cid("fe80::260:97ff:fe07:69ea", "ff02::1", 58, 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00=");
}
END_TEST

static void cid_of(const char *s, const char *d, uint8_t proto, int sp, int dp, char *buf)
{
    struct sl_pkt_ip ip;
    ip_layer(&ip, s, d, proto, sp, dp);
    ck_assert_int_eq(sl_flow_community_id(&ip, 0, buf, SL_FLOW_CID_LEN), 0);
}

START_TEST(community_id_icmp_direction)
{
    /* Spec rule, checked as a property: one-way ICMP keeps the packet's
     * direction (from the larger address too), request/reply types do not. */
    char a[SL_FLOW_CID_LEN], b[SL_FLOW_CID_LEN];
    cid_of("10.0.0.9", "10.0.0.2", 1, 3, 1, a);
    cid_of("10.0.0.2", "10.0.0.9", 1, 3, 1, b);
    ck_assert_str_ne(a, b);
    cid_of("10.0.0.9", "10.0.0.2", 1, 13, 0, a); /* timestamp / reply */
    cid_of("10.0.0.2", "10.0.0.9", 1, 14, 0, b);
    ck_assert_str_eq(a, b);
    cid_of("10.0.0.9", "10.0.0.2", 1, 9, 0, a); /* router advert / solicit */
    cid_of("10.0.0.2", "10.0.0.9", 1, 10, 0, b);
    ck_assert_str_eq(a, b);
    cid_of("2001:db8::9", "2001:db8::2", 58, 130, 0, a); /* MLD query / report */
    cid_of("2001:db8::2", "2001:db8::9", 58, 131, 0, b);
    ck_assert_str_eq(a, b);
    cid_of("2001:db8::9", "2001:db8::2", 58, 2, 0, a); /* packet too big */
    cid_of("2001:db8::2", "2001:db8::9", 58, 2, 0, b);
    ck_assert_str_ne(a, b);
    /* The seed changes the ID. */
    struct sl_pkt_ip ip;
    ip_layer(&ip, "10.0.0.9", "10.0.0.2", 6, 1, 2);
    sl_flow_community_id(&ip, 0, a, sizeof(a));
    sl_flow_community_id(&ip, 1, b, sizeof(b));
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(community_id_from_decoded_frame)
{
    /* The Zeek example again, through the decoder this time. */
    uint8_t f[256];
    struct taddr s = tv4(141, 142, 228, 5), d = tv4(192, 150, 187, 43);
    size_t n = build_simple(f, &s, &d, 6, 59856, 80, 0);
    struct sl_pkt p;
    ck_assert_int_eq(sl_pkt_decode(&p, f, (uint32_t)n, SL_DLT_EN10MB), 0);
    ck_assert_int_eq(p.n_ip, 1);
    char buf[SL_FLOW_CID_LEN];
    ck_assert_int_eq(sl_flow_community_id(&p.ip[0], 0, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "1:yvyB8h+3dnggTZW0UEITWCst97w=");
    ck_assert_int_eq(sl_flow_community_id(&p.ip[0], 0, buf, SL_FLOW_CID_LEN - 1), -ENOSPC);
}
END_TEST

/* ---- Toeplitz ----------------------------------------------------------- */

static void rnd_bytes(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
}

/* Random key for proto 6/17 (or another proto when `proto` is given). */
static void rnd_key(struct sl_flow_key *k, int v, uint8_t proto)
{
    memset(k, 0, sizeof(*k));
    k->version = (uint8_t)v;
    if (v == 4) {
        k->src[10] = k->src[11] = k->dst[10] = k->dst[11] = 0xff;
        rnd_bytes(k->src + 12, 4);
        rnd_bytes(k->dst + 12, 4);
    } else {
        rnd_bytes(k->src, 16);
        rnd_bytes(k->dst, 16);
        k->src[0] = k->dst[0] = 0x20; /* not IPv4-mapped */
    }
    k->proto = proto;
    k->sport = (uint16_t)rnd();
    k->dport = (uint16_t)rnd();
}

/* The wire-order RSS input of a key: addresses, sport, dport. */
static size_t rss_tuple(const struct sl_flow_key *k, uint8_t *t, bool ports)
{
    size_t a = k->version == 4 ? 4 : 16, off = k->version == 4 ? 12 : 0;
    memcpy(t, k->src + off, a);
    memcpy(t + a, k->dst + off, a);
    if (!ports)
        return 2 * a;
    put16(t + 2 * a, k->sport);
    put16(t + 2 * a + 2, k->dport);
    return 2 * a + 4;
}

#ifdef SL_HAVE_DPDK
static uint32_t dpdk_rss(const struct sl_flow_key *k, const uint8_t *key, bool ports)
{
    union rte_thash_tuple t;
    memset(&t, 0, sizeof(t));
    if (k->version == 4) {
        uint32_t s, d;
        memcpy(&s, k->src + 12, 4);
        memcpy(&d, k->dst + 12, 4);
        t.v4.src_addr = rte_be_to_cpu_32(s);
        t.v4.dst_addr = rte_be_to_cpu_32(d);
        t.v4.sport = k->sport;
        t.v4.dport = k->dport;
        return rte_softrss((uint32_t *)&t, ports ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN, key);
    }
    struct rte_ipv6_hdr h;
    memset(&h, 0, sizeof(h));
    memcpy(h.src_addr, k->src, 16);
    memcpy(h.dst_addr, k->dst, 16);
    rte_thash_load_v6_addrs(&h, &t);
    t.v6.sport = k->sport;
    t.v6.dport = k->dport;
    return rte_softrss((uint32_t *)&t, ports ? RTE_THASH_V6_L4_LEN : RTE_THASH_V6_L3_LEN, key);
}
#endif

START_TEST(toeplitz_matches_rte_softrss)
{
#ifndef SL_HAVE_DPDK
    printf("toeplitz_matches_rte_softrss: skipped, built without libdpdk (rte_thash.h)\n");
#else
    for (int i = 0; i < 20000; i++) {
        int v = (i & 1) ? 6 : 4;
        struct sl_flow_key k, r;
        rnd_key(&k, v, (i & 2) ? 6 : 17);
        uint8_t t[40];
        size_t n = rss_tuple(&k, t, true);

        /* The generic function with the symmetric key and a random key. */
        uint32_t want = dpdk_rss(&k, sl_hash_rss_sym_key, true);
        QUICK(sl_hash_toeplitz(t, n, sl_hash_rss_sym_key) == want, "v%d #%d generic", v, i);
        uint8_t key[40];
        rnd_bytes(key, sizeof(key));
        QUICK(sl_hash_toeplitz(t, n, key) == dpdk_rss(&k, key, true), "v%d #%d random key", v, i);

        /* The hash mode: same value, both directions. */
        QUICK(sl_hash_key(&k, SL_HASH_TOEPLITZ) == want, "v%d #%d mode", v, i);
        r = k;
        memcpy(r.src, k.dst, 16);
        memcpy(r.dst, k.src, 16);
        r.sport = k.dport;
        r.dport = k.sport;
        QUICK(dpdk_rss(&r, sl_hash_rss_sym_key, true) == want, "rte_softrss not symmetric");
        QUICK(sl_hash_key(&r, SL_HASH_TOEPLITZ) == want, "v%d #%d reverse", v, i);

        /* No ports (GRE here): the L3-only tuple, as a NIC hashes it. */
        k.proto = 47;
        QUICK(sl_hash_key(&k, SL_HASH_TOEPLITZ) == dpdk_rss(&k, sl_hash_rss_sym_key, false),
              "v%d #%d L3 only", v, i);
    }
#endif
}
END_TEST

START_TEST(toeplitz_mode_equals_generic)
{
    /* Needs no DPDK: the fast symmetric path against the bit-by-bit one. */
    for (int i = 0; i < 5000; i++) {
        struct sl_flow_key k;
        rnd_key(&k, (i & 1) ? 6 : 4, 6);
        uint8_t t[40];
        size_t n = rss_tuple(&k, t, true);
        QUICK(sl_hash_key(&k, SL_HASH_TOEPLITZ) == sl_hash_toeplitz(t, n, sl_hash_rss_sym_key),
              "#%d", i);
    }
}
END_TEST

/* ---- keys, modes -------------------------------------------------------- */

START_TEST(mode_names_round_trip)
{
    for (int m = 0; m < SL_HASH_MAX; m++) {
        enum sl_hash_mode out = SL_HASH_MAX;
        ck_assert_int_eq(sl_hash_mode_parse(sl_hash_mode_name((enum sl_hash_mode)m), &out), 0);
        ck_assert_int_eq(out, m);
    }
    enum sl_hash_mode out;
    ck_assert_int_eq(sl_hash_mode_parse("inner-sym5", &out), 0);
    ck_assert_int_eq(out, SL_HASH_INNER_SYM5);
    ck_assert_int_eq(sl_hash_mode_parse("toeplitz", &out), 0);
    ck_assert_int_eq(out, SL_HASH_TOEPLITZ);
    ck_assert_int_eq(sl_hash_mode_parse("sym4", &out), -EINVAL);
    ck_assert_int_eq(sl_hash_mode_parse("", &out), -EINVAL);
    ck_assert_int_eq(sl_hash_mode_parse(NULL, &out), -EINVAL);
}
END_TEST

START_TEST(key_canon_orders_endpoints)
{
    struct sl_flow_key a, b;
    rnd_key(&a, 4, 6);
    a.src[15] = 9;
    a.dst[15] = 9;
    a.src[12] = 10;
    a.dst[12] = 192; /* src < dst */
    b = a;
    memcpy(b.src, a.dst, 16);
    memcpy(b.dst, a.src, 16);
    b.sport = a.dport;
    b.dport = a.sport;
    sl_flow_key_canon(&a);
    sl_flow_key_canon(&b);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_int_eq(a.src[12], 10);

    /* Equal addresses: the smaller port goes first. */
    memcpy(a.dst, a.src, 16);
    a.sport = 80;
    a.dport = 1024;
    b = a;
    b.sport = 1024;
    b.dport = 80;
    sl_flow_key_canon(&a);
    sl_flow_key_canon(&b);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_uint_eq(a.sport, 80);
    for (int i = 0; i < 2; i++)
        ck_assert_uint_eq(a.pad[i], 0);
}
END_TEST

START_TEST(key_hash_symmetric_random)
{
    for (int i = 0; i < 20000; i++) {
        struct sl_flow_key k, r;
        static const uint8_t protos[] = {6, 17, 132, 1, 58, 47};
        rnd_key(&k, (i & 1) ? 6 : 4, protos[i % 6]);
        if (i % 7 == 0)
            memcpy(k.dst, k.src, 16); /* same host both ends */
        r = k;
        memcpy(r.src, k.dst, 16);
        memcpy(r.dst, k.src, 16);
        r.sport = k.dport;
        r.dport = k.sport;
        for (int m = 0; m < SL_HASH_MAX; m++)
            QUICK(sl_hash_key(&k, (enum sl_hash_mode)m) == sl_hash_key(&r, (enum sl_hash_mode)m),
                  "#%d mode %d not symmetric", i, m);
        struct sl_flow_key c = k;
        sl_flow_key_canon(&c);
        for (int m = 0; m < SL_HASH_MAX; m++)
            QUICK(sl_hash_key(&k, (enum sl_hash_mode)m) == sl_hash_key(&c, (enum sl_hash_mode)m),
                  "#%d mode %d changed by canon", i, m);
    }
}
END_TEST

START_TEST(key_hash_fields_per_mode)
{
    struct sl_flow_key a, b;
    rnd_key(&a, 4, 6);
    b = a;
    b.sport ^= 1;
    /* Ports count in sym5 only. */
    ck_assert_uint_ne(sl_hash_key(&a, SL_HASH_SYM5), sl_hash_key(&b, SL_HASH_SYM5));
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_SYM3), sl_hash_key(&b, SL_HASH_SYM3));
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_SYM2), sl_hash_key(&b, SL_HASH_SYM2));
    /* The protocol counts in sym3, not sym2. */
    b = a;
    b.proto = 17;
    ck_assert_uint_ne(sl_hash_key(&a, SL_HASH_SYM3), sl_hash_key(&b, SL_HASH_SYM3));
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_SYM2), sl_hash_key(&b, SL_HASH_SYM2));
    /* Addresses count everywhere. */
    b = a;
    b.dst[15] ^= 1;
    for (int m = 0; m < SL_HASH_MAX; m++)
        ck_assert_uint_ne(sl_hash_key(&a, (enum sl_hash_mode)m),
                          sl_hash_key(&b, (enum sl_hash_mode)m));
    /* ICMP type/code do not: request and reply, error and flow, stay together. */
    a.proto = 1;
    b = a;
    b.sport = 0;
    b.dport = 8;
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_SYM5), sl_hash_key(&b, SL_HASH_SYM5));
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_SYM5), sl_hash_key(&a, SL_HASH_SYM3));
    /* Inner modes over one key equal their outer counterparts. */
    rnd_key(&a, 6, 17);
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_INNER_SYM5), sl_hash_key(&a, SL_HASH_SYM5));
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_INNER_SYM3), sl_hash_key(&a, SL_HASH_SYM3));
    ck_assert_uint_eq(sl_hash_key(&a, SL_HASH_INNER_SYM2), sl_hash_key(&a, SL_HASH_SYM2));
}
END_TEST

/* ---- decoded packets ---------------------------------------------------- */

static struct taddr rnd_addr(int v)
{
    struct taddr t = {.v = v};
    rnd_bytes(t.b, v == 4 ? 4 : 16);
    if (v == 6)
        t.b[0] = 0x20;
    else
        t.b[0] = (uint8_t)(1 + t.b[0] % 223); /* a unicast first octet */
    return t;
}

static void decode(struct sl_pkt *p, const uint8_t *f, size_t n)
{
    int rc = sl_pkt_decode(p, f, (uint32_t)n, SL_DLT_EN10MB);
    QUICK(rc == 0, "decode rc %d weird %s", rc, p->weird ? p->weird : "-");
}

START_TEST(packet_hash_symmetric_random)
{
    static uint8_t fa[2048], fb[2048], l4[1600], inner[1600], up[1600];
    for (int i = 0; i < 4000; i++) {
        int v = (i & 1) ? 6 : 4;
        struct taddr a = rnd_addr(v), b = rnd_addr(v);
        uint16_t pa = (uint16_t)rnd(), pb = (uint16_t)rnd();
        uint8_t proto = (i & 2) ? 6 : 17;
        size_t plen = rnd() % 64, na, nb;
        if (i % 4 < 2) {
            na = build_simple(fa, &a, &b, proto, pa, pb, plen);
            nb = build_simple(fb, &b, &a, proto, pb, pa, plen);
        } else {
            /* GTP-U between two tunnel endpoints carrying a v4 flow, with
             * the return traffic in the reverse tunnel direction. */
            struct taddr ia = rnd_addr(4), ib = rnd_addr(4);
            uint32_t teid = (uint32_t)rnd();
            size_t n4 = build_l4(l4, &ia, &ib, proto, pa, pb, plen);
            size_t ni = build_ip(inner, &ia, &ib, proto, l4, 0, n4, false, 7);
            size_t nu = build_gtpu(up, &a, &b, teid, inner, ni);
            na = build_frame(fa, &a, &b, 17, up, 0, nu, false, 9);
            n4 = build_l4(l4, &ib, &ia, proto, pb, pa, plen);
            ni = build_ip(inner, &ib, &ia, proto, l4, 0, n4, false, 7);
            nu = build_gtpu(up, &b, &a, teid + 1, inner, ni);
            nb = build_frame(fb, &b, &a, 17, up, 0, nu, false, 9);
        }
        struct sl_pkt p, q;
        decode(&p, fa, na);
        decode(&q, fb, nb);
        for (int m = 0; m < SL_HASH_MAX; m++)
            QUICK(sl_hash_pkt(&p, (enum sl_hash_mode)m) == sl_hash_pkt(&q, (enum sl_hash_mode)m),
                  "#%d mode %s not symmetric", i, sl_hash_mode_name((enum sl_hash_mode)m));
    }
}
END_TEST

START_TEST(packet_hash_layers)
{
    static uint8_t f[2048], g[2048], l4[1600], inner[1600], up[1600];
    struct taddr a = tv4(10, 0, 0, 1), b = tv4(10, 0, 0, 2);
    struct taddr ia = tv6(0x2001, 0xdb8, 0, 1), ib = tv6(0x2001, 0xdb8, 0, 2);
    size_t n4 = build_l4(l4, &ia, &ib, 6, 40000, 443, 10);
    size_t ni = build_ip(inner, &ia, &ib, 6, l4, 0, n4, false, 0);
    size_t nu = build_gtpu(up, &a, &b, 42, inner, ni);
    size_t nf = build_frame(f, &a, &b, 17, up, 0, nu, false, 1);
    size_t ng = build_frame(g, &ia, &ib, 6, l4, 0, n4, false, 0);
    struct sl_pkt p, q;
    decode(&p, f, nf);
    decode(&q, g, ng);
    ck_assert_int_eq(p.n_ip, 2);
    /* inner modes hash the tunnelled flow as if it were bare; outer modes
     * hash the tunnel. */
    ck_assert_uint_eq(sl_hash_pkt(&p, SL_HASH_INNER_SYM5), sl_hash_pkt(&q, SL_HASH_SYM5));
    ck_assert_uint_eq(sl_hash_pkt(&p, SL_HASH_INNER_SYM3), sl_hash_pkt(&q, SL_HASH_SYM3));
    ck_assert_uint_eq(sl_hash_pkt(&p, SL_HASH_INNER_SYM2), sl_hash_pkt(&q, SL_HASH_SYM2));
    ck_assert_uint_ne(sl_hash_pkt(&p, SL_HASH_SYM5), sl_hash_pkt(&q, SL_HASH_SYM5));
    struct sl_flow_key k;
    sl_flow_key_from_ip(&k, &p.ip[0]);
    ck_assert_uint_eq(k.sport, 2152);
    ck_assert_uint_eq(k.dport, 2152);
    ck_assert_uint_eq(k.version, 4);
    for (int m = 0; m < SL_HASH_MAX; m++) {
        if (m >= SL_HASH_INNER_SYM5 && m <= SL_HASH_INNER_SYM2)
            continue;
        ck_assert_uint_eq(sl_hash_pkt(&p, (enum sl_hash_mode)m),
                          sl_hash_key(&k, (enum sl_hash_mode)m));
    }

    /* A non-first fragment hashes without ports: sym5 falls back to sym3. */
    struct taddr c = tv4(172, 16, 0, 1), d = tv4(172, 16, 0, 2);
    n4 = build_l4(l4, &c, &d, 17, 5000, 53, 100);
    nf = build_frame(f, &c, &d, 17, l4, 64, n4 - 64, false, 77);
    int rc = sl_pkt_decode(&p, f, (uint32_t)nf, SL_DLT_EN10MB);
    ck_assert_int_eq(rc, SL_STOP_FRAGMENT);
    ng = build_simple(g, &c, &d, 17, 5000, 53, 100);
    decode(&q, g, ng);
    ck_assert_uint_eq(sl_hash_pkt(&p, SL_HASH_SYM5), sl_hash_pkt(&q, SL_HASH_SYM3));
    ck_assert_uint_ne(sl_hash_pkt(&p, SL_HASH_SYM5), sl_hash_pkt(&q, SL_HASH_SYM5));
}
END_TEST

START_TEST(non_ip_hashes_mac_pair)
{
    uint8_t f[64], g[64];
    memset(f, 0, sizeof(f));
    memset(g, 0, sizeof(g));
    build_eth(f, 0x11, 0x22, 0x0806); /* ARP */
    build_eth(g, 0x22, 0x11, 0x0806);
    struct sl_pkt p, q;
    sl_pkt_decode(&p, f, sizeof(f), SL_DLT_EN10MB);
    sl_pkt_decode(&q, g, sizeof(g), SL_DLT_EN10MB);
    ck_assert_int_eq(p.n_ip, 0);
    for (int m = 0; m < SL_HASH_MAX; m++)
        ck_assert_uint_eq(sl_hash_pkt(&p, (enum sl_hash_mode)m),
                          sl_hash_pkt(&q, (enum sl_hash_mode)m));
    g[5] = 0x33;
    sl_pkt_decode(&q, g, sizeof(g), SL_DLT_EN10MB);
    ck_assert_uint_ne(sl_hash_pkt(&p, SL_HASH_SYM5), sl_hash_pkt(&q, SL_HASH_SYM5));
}
END_TEST

static Suite *flow_suite(void)
{
    Suite *s = suite_create("flow");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sha1_fips_vectors);
    tcase_add_test(tc, community_id_zeek_baseline);
    tcase_add_test(tc, community_id_spec_baseline);
    tcase_add_test(tc, community_id_icmp_direction);
    tcase_add_test(tc, community_id_from_decoded_frame);
    tcase_add_test(tc, toeplitz_matches_rte_softrss);
    tcase_add_test(tc, toeplitz_mode_equals_generic);
    tcase_add_test(tc, mode_names_round_trip);
    tcase_add_test(tc, key_canon_orders_endpoints);
    tcase_add_test(tc, key_hash_symmetric_random);
    tcase_add_test(tc, key_hash_fields_per_mode);
    tcase_add_test(tc, packet_hash_symmetric_random);
    tcase_add_test(tc, packet_hash_layers);
    tcase_add_test(tc, non_ip_hashes_mac_pair);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(flow_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
