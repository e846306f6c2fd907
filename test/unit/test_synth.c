/* The synthesizer: the packet builder (lengths, next-protocol fields,
 * checksums, fragmentation, truncation, deliberate errors) checked against
 * independently computed values, the generator's determinism and packet
 * count, and every profile decoded by core/'s decoder: the malformed profile
 * yields many distinct weirds, the others none (mix: only its few
 * deliberately malformed packets). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_pkt.h"
#include "synth.h"
#include "synth_build.h"

/* RFC 1071 sum written out again here, so the builder's own is not its
 * own judge. */
static uint16_t ref_sum(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i < n; i++)
        acc += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Checksum of an L4 segment over the IPv4 pseudo-header: 0xffff when right. */
static uint16_t l4_sum_v4(const uint8_t *ip, const uint8_t *l4, size_t len, uint8_t proto)
{
    uint8_t ph[12];
    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = proto;
    ph[10] = (uint8_t)(len >> 8);
    ph[11] = (uint8_t)len;
    return ref_sum(l4, len, ref_sum(ph, 12, 0));
}

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1}, mac_b[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip_a[4] = {192, 168, 0, 1}, ip_b[4] = {192, 168, 0, 199};

START_TEST(ipv4_header_known_checksum)
{
    /* The classic worked example: 4500 0073 0000 4000 4011 b861 c0a8 0001
     * c0a8 00c7 (a 115-byte UDP datagram). */
    static struct sl_sb b;
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    struct sl_sb_ipv4 ip = {.src = ip_a, .dst = ip_b, .ttl = 64, .df = 1};
    int i = sl_sb_ipv4(&b, &ip);
    sl_sb_udp(&b, 1234, 53);
    ck_assert_ptr_nonnull(sl_sb_put(&b, 87));
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    const uint8_t *h = b.buf + b.layer[i].off;
    static const uint8_t want[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                     0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    ck_assert_mem_eq(h, want, 20);
    ck_assert_uint_eq(rd16(b.buf + 12), 0x0800);
}
END_TEST

START_TEST(tcp_udp_icmp_checksums_and_lengths)
{
    static struct sl_sb b;
    /* TCP with options and payload */
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    struct sl_sb_ipv4 ip = {.src = ip_a, .dst = ip_b, .ttl = 64};
    int i = sl_sb_ipv4(&b, &ip);
    struct sl_sb_tcp t = {.sport = 40000,
                          .dport = 80,
                          .seq = 1,
                          .flags = 0x02,
                          .win = 64240,
                          .mss = 1460,
                          .sack_ok = 1,
                          .ws_opt = 8,
                          .ts_val = 77};
    int l = sl_sb_tcp(&b, &t);
    memcpy(sl_sb_put(&b, 5), "hello", 5);
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    const uint8_t *h = b.buf + b.layer[i].off, *th = b.buf + b.layer[l].off;
    size_t seglen = b.len - b.layer[l].off;
    ck_assert_uint_eq(h[9], 6);
    ck_assert_uint_eq(rd16(h + 2), b.len - 14);
    ck_assert_uint_eq(ref_sum(h, 20, 0), 0xffff);
    ck_assert_uint_eq(th[12] >> 4, (20 + 4 + 4 + 12 + 4) / 4);
    ck_assert_uint_eq(l4_sum_v4(h, th, seglen, 6), 0xffff);

    /* UDP: length, checksum; a checksum that folds to 0 is sent as 0xffff */
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    i = sl_sb_ipv4(&b, &ip);
    l = sl_sb_udp(&b, 5000, 6000);
    memcpy(sl_sb_put(&b, 3), "abc", 3);
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    h = b.buf + b.layer[i].off;
    ck_assert_uint_eq(h[9], 17);
    ck_assert_uint_eq(rd16(b.buf + b.layer[l].off + 4), 11);
    ck_assert_uint_ne(rd16(b.buf + b.layer[l].off + 6), 0);
    ck_assert_uint_eq(l4_sum_v4(h, b.buf + b.layer[l].off, 11, 17), 0xffff);

    /* ICMP echo: no pseudo-header */
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    i = sl_sb_ipv4(&b, &ip);
    l = sl_sb_icmp(&b, 8, 0, 0x12340001);
    sl_sb_put(&b, 56);
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    ck_assert_uint_eq(b.buf[b.layer[i].off + 9], 1);
    ck_assert_uint_eq(ref_sum(b.buf + b.layer[l].off, 64, 0), 0xffff);
}
END_TEST

START_TEST(ipv6_udp_and_icmp6_pseudo_header)
{
    static struct sl_sb b;
    uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
            d6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    struct sl_sb_ipv6 ip = {.src = s6, .dst = d6, .hlim = 64};
    int i = sl_sb_ipv6(&b, &ip);
    sl_sb_ip6_ext(&b, 60, 0); /* destination options */
    int l = sl_sb_icmp6(&b, 128, 0, 0x00010001);
    sl_sb_put(&b, 32);
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    const uint8_t *h = b.buf + b.layer[i].off;
    ck_assert_uint_eq(rd16(b.buf + 12), 0x86dd);
    ck_assert_uint_eq(h[6], 60);
    ck_assert_uint_eq(b.buf[b.layer[i + 1].off], 58);
    ck_assert_uint_eq(rd16(h + 4), 8 + 8 + 32);
    uint8_t ph[40] = {0};
    memcpy(ph, h + 8, 32);
    ph[35] = 40;
    ph[39] = 58;
    ck_assert_uint_eq(ref_sum(b.buf + b.layer[l].off, 40, ref_sum(ph, 40, 0)), 0xffff);
}
END_TEST

START_TEST(encapsulations_fill_next_protocols)
{
    static struct sl_sb b;
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    sl_sb_vlan(&b, 0x88a8, 100, 0, 0);
    sl_sb_vlan(&b, 0x8100, 200, 3, 0);
    sl_sb_mpls(&b, 1000, 0, 64);
    sl_sb_mpls(&b, 2000, 0, 64);
    struct sl_sb_ipv4 ip = {.src = ip_a, .dst = ip_b, .ttl = 64};
    sl_sb_ipv4(&b, &ip);
    int u = sl_sb_udp(&b, 50000, 4789);
    sl_sb_vxlan(&b, 4242);
    sl_sb_eth(&b, mac_a, mac_b, 0);
    sl_sb_ipv4(&b, &ip);
    sl_sb_gre(&b, 0, 1, 7);
    sl_sb_eth(&b, mac_a, mac_b, 0);
    sl_sb_pppoe(&b, 0x99, 0);
    sl_sb_ipv4(&b, &ip);
    sl_sb_udp(&b, 2152, 2152);
    int g = sl_sb_gtpu(&b, 0xabcdef01);
    sl_sb_ipv4(&b, &ip);
    sl_sb_put(&b, 10);
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    ck_assert_uint_eq(rd16(b.buf + 12), 0x88a8); /* outer TPID */
    ck_assert_uint_eq(rd16(b.buf + 14) & 0xfff, 100);
    ck_assert_uint_eq(rd16(b.buf + 16), 0x8100); /* inner TPID */
    ck_assert_uint_eq(rd16(b.buf + 18) >> 13, 3);
    ck_assert_uint_eq(rd16(b.buf + 20), 0x8847); /* MPLS */
    ck_assert_uint_eq(b.buf[24] & 1, 0);         /* not bottom */
    ck_assert_uint_eq(b.buf[28] & 1, 1);         /* bottom of stack */
    ck_assert_uint_eq(rd16(b.buf + b.layer[u].off + 4), b.len - b.layer[u].off);
    ck_assert_uint_eq(b.buf[b.layer[u].off + 8], 0x08); /* VXLAN I flag */
    ck_assert_uint_eq(rd16(b.buf + b.layer[g].off + 2), b.len - b.layer[g].off - 8);
    for (unsigned i = 0; i < b.n_layers; i++) {
        const uint8_t *h = b.buf + b.layer[i].off;
        if (b.layer[i].kind == SL_SB_GRE)
            ck_assert_uint_eq(rd16(h + 2), 0x6558);
        if (b.layer[i].kind == SL_SB_PPPOE) {
            ck_assert_uint_eq(rd16(h + 4), b.len - b.layer[i].off - 6);
            ck_assert_uint_eq(rd16(h + 6), 0x0021);
        }
        if (b.layer[i].kind == SL_SB_IPV4)
            ck_assert_uint_eq(ref_sum(h, 20, 0), 0xffff);
    }
}
END_TEST

START_TEST(deliberate_errors_and_overflow)
{
    static struct sl_sb b;
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    struct sl_sb_ipv4 ip = {.src = ip_a, .dst = ip_b, .ttl = 64};
    int i = sl_sb_ipv4(&b, &ip);
    int u = sl_sb_udp(&b, 1, 2);
    sl_sb_put(&b, 20);
    sl_sb_set_flags(&b, i, SL_SB_F_BADSUM | SL_SB_F_KEEPLEN);
    sl_sb_set_flags(&b, u, SL_SB_F_BADSUM);
    uint8_t *h = sl_sb_hdr(&b, i);
    h[2] = 0x05, h[3] = 0xdc; /* claims 1500 bytes */
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    ck_assert_uint_eq(rd16(h + 2), 1500);
    ck_assert_uint_ne(ref_sum(h, 20, 0), 0xffff);
    ck_assert_uint_ne(l4_sum_v4(h, b.buf + b.layer[u].off, 28, 17), 0xffff);

    /* a cut inside the UDP header: the IP layer around it is re-fixed */
    sl_sb_reset(&b);
    sl_sb_eth(&b, mac_b, mac_a, 0);
    i = sl_sb_ipv4(&b, &ip);
    u = sl_sb_udp(&b, 1, 2);
    sl_sb_put(&b, 20);
    ck_assert_int_eq(sl_sb_finish(&b), 0);
    ck_assert_int_eq(sl_sb_truncate(&b, 14 + 20 + 5), 0);
    ck_assert_uint_eq(b.len, 39);
    ck_assert_uint_eq(rd16(b.buf + 14 + 2), 25);
    ck_assert_uint_eq(ref_sum(b.buf + 14, 20, 0), 0xffff);
    ck_assert_uint_eq(rd16(b.buf + 34 + 4), 28); /* the UDP header keeps its claim */

    /* too much: -ENOSPC, sticky */
    sl_sb_reset(&b);
    ck_assert_ptr_null(sl_sb_put(&b, SL_SB_MAX + 1));
    ck_assert_int_eq(sl_sb_eth(&b, mac_b, mac_a, 0), -ENOSPC);
    ck_assert_int_eq(sl_sb_finish(&b), -ENOSPC);
}
END_TEST

/* Fragments of one datagram put back together give the datagram. */
static void check_fragments(int v6)
{
    static struct sl_sb whole, piece;
    uint8_t s6[16] = {0x20, 0x01, [15] = 1}, d6[16] = {0x20, 0x01, [15] = 2};
    sl_sb_reset(&whole);
    sl_sb_eth(&whole, mac_b, mac_a, 0);
    int i;
    if (v6) {
        struct sl_sb_ipv6 ip = {.src = s6, .dst = d6, .hlim = 64};
        i = sl_sb_ipv6(&whole, &ip);
    } else {
        struct sl_sb_ipv4 ip = {.src = ip_a, .dst = ip_b, .ttl = 64, .id = 0x4242};
        i = sl_sb_ipv4(&whole, &ip);
    }
    sl_sb_udp(&whole, 7, 9);
    uint8_t *p = sl_sb_put(&whole, 4000);
    for (int k = 0; k < 4000; k++)
        p[k] = (uint8_t)(k * 7);
    ck_assert_int_eq(sl_sb_finish(&whole), 0);
    size_t hl = v6 ? 40 : 20, data_at = 14 + hl, total = whole.len - data_at;
    uint8_t got[4100] = {0};
    size_t covered = 0;
    int n = sl_sb_fragment(&whole, (unsigned)i, 1480, 99, 0x1234, &piece);
    ck_assert_int_eq(n, 3);
    for (int k = 0; k < n; k++) {
        ck_assert_int_eq(sl_sb_fragment(&whole, (unsigned)i, 1480, (unsigned)k, 0x1234, &piece), n);
        const uint8_t *h = piece.buf + 14;
        size_t off, len;
        int more;
        if (v6) {
            ck_assert_uint_eq(h[6], 44);
            const uint8_t *fh = h + 40;
            ck_assert_uint_eq(fh[0], 17);
            off = rd16(fh + 2) & 0xfff8;
            more = fh[3] & 1;
            ck_assert_uint_eq(rd16(fh + 4) << 16 | rd16(fh + 6), 0x1234);
            len = rd16(h + 4) - 8u;
            ck_assert_uint_eq(piece.len, 14 + 48 + len);
            memcpy(got + off, h + 48, len);
        } else {
            ck_assert_uint_eq(rd16(h + 4), 0x4242);
            ck_assert_uint_eq(ref_sum(h, 20, 0), 0xffff);
            off = (rd16(h + 6) & 0x1fff) * 8u;
            more = (rd16(h + 6) & 0x2000) != 0;
            len = rd16(h + 2) - 20u;
            ck_assert_uint_eq(piece.len, 14 + 20 + len);
            memcpy(got + off, h + 20, len);
        }
        ck_assert_int_eq(more, k + 1 < n);
        ck_assert_uint_eq(off, (size_t)k * 1480);
        covered += len;
    }
    ck_assert_uint_eq(covered, total);
    ck_assert_mem_eq(got, whole.buf + data_at, total);
}

START_TEST(fragments_reassemble)
{
    check_fragments(0);
    check_fragments(1);
}
END_TEST

static struct sl_syn *gen(const char *profile, uint64_t seed, uint64_t packets)
{
    struct sl_syn_opts o = {.profile = profile,
                            .seed = seed,
                            .packets = packets,
                            .hosts = SL_SYN_DEF_HOSTS,
                            .duration_us = SL_SYN_DEF_DURATION,
                            .start_us = SL_SYN_DEF_START};
    struct sl_syn *s = sl_syn_new(&o);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(generator_is_deterministic_and_exact)
{
    struct sl_syn *a = gen("mix", 11, 5000), *b = gen("mix", 11, 5000), *c = gen("mix", 12, 5000);
    struct sl_syn_pkt pa, pb, pc;
    uint64_t n = 0, last = 0, diff = 0;
    while (sl_syn_next(a, &pa) == 0) {
        ck_assert_int_eq(sl_syn_next(b, &pb), 0);
        ck_assert_int_eq(sl_syn_next(c, &pc), 0);
        ck_assert_uint_eq(pa.ts_us, pb.ts_us);
        ck_assert_uint_eq(pa.caplen, pb.caplen);
        ck_assert_uint_eq(pa.len, pb.len);
        ck_assert_mem_eq(pa.data, pb.data, pa.caplen);
        ck_assert_uint_ge(pa.ts_us, last);
        ck_assert_uint_ge(pa.len, pa.caplen);
        diff += pa.caplen != pc.caplen || memcmp(pa.data, pc.data, pa.caplen);
        last = pa.ts_us;
        n++;
    }
    ck_assert_uint_eq(n, 5000);
    ck_assert_int_eq(sl_syn_next(a, &pa), -ENOENT);
    ck_assert_int_eq(sl_syn_next(b, &pb), 0 - ENOENT);
    ck_assert_uint_gt(diff, 4000); /* another seed: other traffic */
    struct sl_syn_stats st;
    sl_syn_get_stats(a, &st);
    ck_assert_uint_le(st.active_max, SL_SYN_MAX_ACTIVE);
    sl_syn_free(a);
    sl_syn_free(b);
    sl_syn_free(c);

    struct sl_syn_opts bad = {.profile = "nope", .packets = 1, .hosts = 1, .duration_us = 1};
    errno = 0;
    ck_assert_ptr_null(sl_syn_new(&bad));
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

struct decoded {
    uint64_t packets, weird, frag, vlan, mpls, pppoe, tunneled;
    uint64_t encap[SL_ENCAP_MAX];
    const char *names[64];
    unsigned n_names;
};

static void decode_profile(const char *profile, uint64_t packets, struct decoded *d)
{
    struct sl_syn *s = gen(profile, 3, packets);
    struct sl_syn_pkt p;
    static struct sl_pkt k;
    memset(d, 0, sizeof(*d));
    while (sl_syn_next(s, &p) == 0) {
        sl_pkt_decode(&k, p.data, p.caplen, SL_DLT_EN10MB);
        d->packets++;
        d->vlan += k.n_vlan > 0;
        d->mpls += k.n_mpls > 0;
        d->pppoe += k.pppoe;
        for (unsigned i = 0; i < k.n_ip; i++) {
            d->frag += (k.ip[i].flags & SL_IPF_FRAG) != 0;
            if (k.ip[i].encap < SL_ENCAP_MAX)
                d->encap[k.ip[i].encap]++;
        }
        d->tunneled += k.n_ip > 1;
        if (k.stop == SL_STOP_WEIRD && k.weird) {
            d->weird++;
            unsigned j = 0;
            while (j < d->n_names && strcmp(d->names[j], k.weird))
                j++;
            if (j == d->n_names && j < 64)
                d->names[d->n_names++] = k.weird;
        }
    }
    sl_syn_free(s);
}

START_TEST(clean_profiles_decode_without_weirds)
{
    static const char *const clean[] = {"web",     "dns",  "scan",      "fragments",
                                        "tunnels", "vlan", "elephants", "synflood"};
    struct decoded d;
    for (unsigned i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        decode_profile(clean[i], 4000, &d);
        ck_assert_uint_eq(d.packets, 4000);
        ck_assert_msg(d.weird == 0, "%s: %llu weirds, first %s", clean[i],
                      (unsigned long long)d.weird, d.n_names ? d.names[0] : "-");
        if (!strcmp(clean[i], "tunnels")) {
            ck_assert_uint_gt(d.tunneled, 3000);
            ck_assert_uint_gt(d.encap[SL_ENCAP_GRE], 0);
            ck_assert_uint_gt(d.encap[SL_ENCAP_VXLAN], 0);
            ck_assert_uint_gt(d.encap[SL_ENCAP_GENEVE], 0);
            ck_assert_uint_gt(d.encap[SL_ENCAP_GTPU], 0);
            ck_assert_uint_gt(d.encap[SL_ENCAP_IPIP], 0);
        }
        if (!strcmp(clean[i], "vlan"))
            ck_assert(d.vlan > 0 && d.mpls > 0 && d.pppoe > 0);
        if (!strcmp(clean[i], "fragments"))
            ck_assert_uint_gt(d.frag, 500);
    }
    /* mix holds a few malformed packets on purpose (< 3%) */
    decode_profile("mix", 4000, &d);
    ck_assert_uint_gt(d.weird, 0);
    ck_assert_uint_lt(d.weird, 120);
}
END_TEST

START_TEST(malformed_profile_yields_many_weirds)
{
    struct decoded d;
    decode_profile("malformed", 4000, &d);
    /* Bad checksums, unknown ethertypes and protocols, lengths a decoder
     * notes but decodes past are not weirds that stop decoding; the rest
     * (over half the cases) are. */
    ck_assert_uint_gt(d.weird, d.packets / 3);
    ck_assert_msg(d.n_names >= 10, "only %u distinct weirds", d.n_names);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("synth");
    TCase *b = tcase_create("builder");
    tcase_add_test(b, ipv4_header_known_checksum);
    tcase_add_test(b, tcp_udp_icmp_checksums_and_lengths);
    tcase_add_test(b, ipv6_udp_and_icmp6_pseudo_header);
    tcase_add_test(b, encapsulations_fill_next_protocols);
    tcase_add_test(b, deliberate_errors_and_overflow);
    tcase_add_test(b, fragments_reassemble);
    suite_add_tcase(s, b);
    TCase *g = tcase_create("generator");
    tcase_add_test(g, generator_is_deterministic_and_exact);
    tcase_add_test(g, clean_profiles_decode_without_weirds);
    tcase_add_test(g, malformed_profile_yields_many_weirds);
    suite_add_tcase(s, g);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
