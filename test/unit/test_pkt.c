/* Unit tests for sl_pkt, the frame decoder.
 *
 * Frames are built by hand, byte by byte, from the protocol specifications
 * (RFC 791/8200/793/768/792/4443, 2784/2637 GRE and PPTP, 7348 VXLAN, 8926
 * GENEVE, 3GPP TS 29.281 GTP-U, 4380 Teredo, the AYIYA draft, the ERSPAN
 * draft, ...). Each frame is decoded whole, with its fields checked, and then
 * cut at every length from 0 to full, each cut copied into a buffer of
 * exactly that size so that ASan catches any read past it. Key cut points
 * check the Zeek weird name expected there.
 *
 * When ../shared/zeek-conformance/traces exists (relative to the source root,
 * or SL_SHARED_DIR), every packet of those real traces is decoded too. */
#include <check.h>
#include <stddef.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sl_pkt.h"

/* ---- frame builder ------------------------------------------------------ */

enum { K_IP4, K_IP6, K_UDP, K_PPPOE, K_GTP };

struct fb {
    uint8_t b[2048];
    size_t n;
    size_t open_at[16];
    int open_kind[16];
    int nopen;
};

static void put(struct fb *f, const void *p, size_t n)
{
    ck_assert_uint_le(f->n + n, sizeof(f->b));
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void p8(struct fb *f, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(f, &b, 1);
}

static void p16(struct fb *f, unsigned v)
{
    p8(f, v >> 8);
    p8(f, v);
}

static void p32(struct fb *f, uint32_t v)
{
    p16(f, v >> 16);
    p16(f, v & 0xffff);
}

static void zeros(struct fb *f, size_t n)
{
    while (n--)
        p8(f, 0);
}

static void fill(struct fb *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p8(f, 'a' + i % 26);
}

static void open_len(struct fb *f, int kind)
{
    ck_assert_int_lt(f->nopen, 16);
    f->open_at[f->nopen] = f->n;
    f->open_kind[f->nopen++] = kind;
}

static void set16(struct fb *f, size_t at, size_t v)
{
    f->b[at] = (uint8_t)(v >> 8);
    f->b[at + 1] = (uint8_t)v;
}

/* Closes every open length field, innermost first. */
static size_t done(struct fb *f)
{
    while (f->nopen) {
        size_t at = f->open_at[--f->nopen], len = f->n - at;
        switch (f->open_kind[f->nopen]) {
        case K_IP4:
            set16(f, at + 2, len);
            break;
        case K_IP6:
            set16(f, at + 4, len - 40);
            break;
        case K_UDP:
            set16(f, at + 4, len);
            break;
        case K_PPPOE:
            set16(f, at + 4, len - 6);
            break;
        case K_GTP:
            set16(f, at + 2, len - 8);
            break;
        }
    }
    return f->n;
}

#define MAC_DST 0x00, 0x11, 0x22, 0x33, 0x44, 0x55
#define MAC_SRC 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb

static void eth(struct fb *f, unsigned et)
{
    static const uint8_t macs[12] = {MAC_DST, MAC_SRC};
    put(f, macs, 12);
    p16(f, et);
}

static void vlan(struct fb *f, unsigned tpid_after, unsigned vid)
{
    p16(f, vid);
    p16(f, tpid_after);
}

#define A4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* IPv4 header, total length filled in by done(). */
static void ip4x(struct fb *f, unsigned proto, uint32_t src, uint32_t dst, unsigned id,
                 unsigned frag_word)
{
    open_len(f, K_IP4);
    p8(f, 0x45);
    p8(f, 0x10);
    p16(f, 0);
    p16(f, id);
    p16(f, frag_word);
    p8(f, 64);
    p8(f, proto);
    p16(f, 0);
    p32(f, src);
    p32(f, dst);
}

static void ip4(struct fb *f, unsigned proto, uint32_t src, uint32_t dst)
{
    ip4x(f, proto, src, dst, 0x1234, 0x4000);
}

/* IPv6 2001:db8::<s> -> 2001:db8::<d>, or a full prefix for Teredo. */
static void ip6p(struct fb *f, unsigned nh, uint32_t pfx, unsigned s, unsigned d)
{
    open_len(f, K_IP6);
    p32(f, 0x60000000);
    p16(f, 0);
    p8(f, nh);
    p8(f, 255);
    p32(f, pfx);
    zeros(f, 11);
    p8(f, s);
    p32(f, pfx);
    zeros(f, 11);
    p8(f, d);
}

static void ip6(struct fb *f, unsigned nh, unsigned s, unsigned d)
{
    ip6p(f, nh, 0x20010db8, s, d);
}

static void tcp(struct fb *f, unsigned sp, unsigned dp)
{
    p16(f, sp);
    p16(f, dp);
    p32(f, 1000);
    p32(f, 2000);
    p8(f, 5 << 4);
    p8(f, 0x12);
    p16(f, 512);
    p32(f, 0);
}

static void udp(struct fb *f, unsigned sp, unsigned dp)
{
    open_len(f, K_UDP);
    p16(f, sp);
    p16(f, dp);
    p16(f, 0);
    p16(f, 0);
}

/* ---- frames ------------------------------------------------------------- */

#define H1 A4(10, 0, 0, 1)
#define H2 A4(10, 0, 0, 2)
#define R1 A4(192, 0, 2, 1)
#define R2 A4(192, 0, 2, 2)

static size_t f_eth_ip4_tcp(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 6, A4(141, 142, 228, 5), A4(192, 150, 187, 43));
    tcp(f, 59856, 80);
    fill(f, 10);
    return done(f);
}

static size_t f_eth_ip6_udp(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 17, 1, 2);
    udp(f, 5353, 53);
    fill(f, 12);
    return done(f);
}

static size_t f_vlan(struct fb *f)
{
    eth(f, 0x8100);
    vlan(f, 0x0800, 100);
    ip4(f, 17, H1, H2);
    udp(f, 1000, 2000);
    fill(f, 4);
    return done(f);
}

static size_t f_qinq(struct fb *f)
{
    eth(f, 0x88a8);
    vlan(f, 0x8100, 10);
    vlan(f, 0x86dd, 20);
    ip6(f, 6, 1, 2);
    tcp(f, 1, 2);
    return done(f);
}

/* Ten tags: more than SL_PKT_MAX_VLAN, mixing 0x9100 and 0x8100. */
static size_t f_vlan_deep(struct fb *f)
{
    eth(f, 0x9100);
    for (unsigned i = 1; i <= 10; i++)
        vlan(f, i == 10 ? 0x0800 : (i % 2 ? 0x8100 : 0x9100), i);
    ip4(f, 6, H1, H2);
    tcp(f, 3, 4);
    return done(f);
}

static size_t f_mpls_ip4(struct fb *f)
{
    eth(f, 0x8847);
    p32(f, 16 << 12 | 0 << 8 | 64); /* label 16 */
    p32(f, 17 << 12 | 1 << 8 | 64); /* label 17, bottom of stack */
    ip4(f, 17, H1, H2);
    udp(f, 7, 8);
    return done(f);
}

static size_t f_vlan_mpls_ip6(struct fb *f)
{
    eth(f, 0x8100);
    vlan(f, 0x8848, 5);
    p32(f, 99 << 12 | 1 << 8 | 1);
    ip6(f, 6, 3, 4);
    tcp(f, 5, 6);
    return done(f);
}

static size_t f_mpls_nonip(struct fb *f)
{
    eth(f, 0x8847);
    p32(f, 16 << 12 | 1 << 8 | 64);
    p32(f, 0); /* a pseudowire control word, then Ethernet */
    eth(f, 0x0800);
    fill(f, 20);
    return done(f);
}

static size_t f_pppoe_ip4(struct fb *f)
{
    eth(f, 0x8864);
    open_len(f, K_PPPOE);
    p8(f, 0x11);
    p8(f, 0);
    p16(f, 0x1234);
    p16(f, 0);
    p16(f, 0x0021);
    ip4(f, 6, H1, H2);
    tcp(f, 1024, 80);
    return done(f);
}

static size_t f_qinq_pppoe_ip6(struct fb *f)
{
    eth(f, 0x88a8);
    vlan(f, 0x8100, 300);
    vlan(f, 0x8864, 301);
    open_len(f, K_PPPOE);
    p8(f, 0x11);
    p8(f, 0);
    p16(f, 1);
    p16(f, 0);
    p16(f, 0x0057);
    ip6(f, 17, 9, 10);
    udp(f, 1, 2);
    return done(f);
}

static size_t f_pppoe_lcp(struct fb *f)
{
    eth(f, 0x8864);
    open_len(f, K_PPPOE);
    p8(f, 0x11);
    p8(f, 0);
    p16(f, 1);
    p16(f, 0);
    p16(f, 0xc021);
    fill(f, 10);
    return done(f);
}

static size_t f_vntag(struct fb *f)
{
    eth(f, 0x8926);
    p32(f, 0x80010002);
    p16(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 11, 12);
    return done(f);
}

static size_t f_snap(struct fb *f)
{
    size_t at;
    eth(f, 0);
    at = f->n - 2;
    p8(f, 0xaa);
    p8(f, 0xaa);
    p8(f, 0x03);
    zeros(f, 3);
    p16(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 1, 2);
    done(f);
    set16(f, at, f->n - 14);
    return f->n;
}

static size_t f_fabricpath(struct fb *f)
{
    static const uint8_t fp[16] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x89, 0x03, 0, 1};
    put(f, fp, 16);
    eth(f, 0x0800);
    ip4(f, 6, H1, H2);
    tcp(f, 1, 2);
    return done(f);
}

static size_t f_arp(struct fb *f)
{
    eth(f, 0x0806);
    p16(f, 1);
    p16(f, 0x0800);
    p8(f, 6);
    p8(f, 4);
    p16(f, 1);
    zeros(f, 20);
    return done(f);
}

static size_t f_stp(struct fb *f)
{
    eth(f, 38);
    p8(f, 0x42);
    p8(f, 0x42);
    p8(f, 0x03);
    zeros(f, 35);
    return done(f);
}

static size_t f_ip4_opts(struct fb *f)
{
    eth(f, 0x0800);
    open_len(f, K_IP4);
    p8(f, 0x47); /* IHL 7: 8 bytes of options */
    p8(f, 0);
    p16(f, 0);
    p16(f, 1);
    p16(f, 0);
    p8(f, 1);
    p8(f, 6);
    p16(f, 0);
    p32(f, H1);
    p32(f, H2);
    p8(f, 0x94); /* router alert */
    p8(f, 4);
    p16(f, 0);
    p8(f, 1); /* NOP x3, EOL */
    p8(f, 1);
    p8(f, 1);
    p8(f, 0);
    tcp(f, 22, 40000);
    fill(f, 3);
    return done(f);
}

static size_t f_ip6_ext(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 0, 1, 2);
    p8(f, 43); /* hop-by-hop, 8 bytes */
    p8(f, 0);
    p8(f, 1); /* PadN */
    p8(f, 4);
    zeros(f, 4);
    p8(f, 60); /* routing, 24 bytes (type 2, one address) */
    p8(f, 2);
    p8(f, 2);
    p8(f, 1);
    zeros(f, 4);
    zeros(f, 16);
    p8(f, 6); /* destination options, 16 bytes */
    p8(f, 1);
    p8(f, 1);
    p8(f, 12);
    zeros(f, 12);
    tcp(f, 443, 50000);
    fill(f, 5);
    return done(f);
}

static size_t f_ip6_ah(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 51, 1, 2);
    p8(f, 17); /* AH: next, payload len 4 -> (4+2)*4 = 24 bytes */
    p8(f, 4);
    p16(f, 0);
    p32(f, 0x100);
    p32(f, 1);
    zeros(f, 12);
    udp(f, 500, 4500);
    return done(f);
}

static size_t f_ip6_esp(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 50, 1, 2);
    p32(f, 0x100);
    p32(f, 1);
    fill(f, 24);
    return done(f);
}

static size_t f_ip4_esp(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 50, H1, H2);
    p32(f, 0x100);
    p32(f, 1);
    fill(f, 24);
    return done(f);
}

static size_t f_ip4_frag_first(struct fb *f)
{
    eth(f, 0x0800);
    ip4x(f, 17, H1, H2, 0xbeef, 0x2000);
    udp(f, 4444, 53);
    fill(f, 16);
    return done(f);
}

static size_t f_ip4_frag_mid(struct fb *f)
{
    eth(f, 0x0800);
    ip4x(f, 17, H1, H2, 0xbeef, 0x2000 | 3);
    fill(f, 24);
    return done(f);
}

static size_t f_ip4_frag_last(struct fb *f)
{
    eth(f, 0x0800);
    ip4x(f, 17, H1, H2, 0xbeef, 6);
    fill(f, 8);
    return done(f);
}

static void frag6(struct fb *f, unsigned nh, unsigned off, int m)
{
    p8(f, nh);
    p8(f, 0);
    p16(f, off | (m ? 1 : 0));
    p32(f, 0xcafef00d);
}

static size_t f_ip6_frag_first(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 44, 1, 2);
    frag6(f, 6, 0, 1);
    tcp(f, 1111, 2222);
    fill(f, 4);
    return done(f);
}

static size_t f_ip6_frag_mid(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 44, 1, 2);
    frag6(f, 6, 24, 1);
    fill(f, 24);
    return done(f);
}

static size_t f_ip6_frag_last(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 44, 1, 2);
    frag6(f, 6, 48, 0);
    fill(f, 8);
    return done(f);
}

static size_t f_icmp_echo(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 1, H1, H2);
    p8(f, 8);
    p8(f, 0);
    p16(f, 0);
    p16(f, 77);
    p16(f, 1);
    fill(f, 8);
    return done(f);
}

/* Port unreachable from router R1 quoting H1:5353 -> H2:53/udp. */
static size_t f_icmp_unreach(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 1, R1, H1);
    p8(f, 3);
    p8(f, 3);
    p16(f, 0);
    p32(f, 0);
    /* the quoted header, as sent: 100 bytes claimed, 28 quoted */
    p8(f, 0x45);
    p8(f, 0);
    p16(f, 100);
    p16(f, 9);
    p16(f, 0);
    p8(f, 1);
    p8(f, 17);
    p16(f, 0);
    p32(f, H1);
    p32(f, H2);
    p16(f, 5353);
    p16(f, 53);
    p16(f, 80);
    p16(f, 0);
    return done(f);
}

/* ICMP time exceeded quoting a TCP segment, inside 802.1Q. */
static size_t f_icmp_ttl_tcp(struct fb *f)
{
    eth(f, 0x8100);
    vlan(f, 0x0800, 7);
    ip4(f, 1, R2, H2);
    p8(f, 11);
    p8(f, 0);
    p16(f, 0);
    p32(f, 0);
    p8(f, 0x45);
    p8(f, 0);
    p16(f, 60);
    p16(f, 9);
    p16(f, 0);
    p8(f, 1);
    p8(f, 6);
    p16(f, 0);
    p32(f, H2);
    p32(f, A4(198, 51, 100, 7));
    p16(f, 33000);
    p16(f, 443);
    p32(f, 5);
    return done(f);
}

/* ICMPv6 packet too big quoting 2001:db8::5:4000 -> 2001:db8::6:443/tcp
 * behind a destination-options header. */
static size_t f_icmp6_ptb(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 58, 9, 5);
    p8(f, 2);
    p8(f, 0);
    p16(f, 0);
    p32(f, 1280);
    p32(f, 0x60000000);
    p16(f, 1400);
    p8(f, 60);
    p8(f, 64);
    p32(f, 0x20010db8);
    zeros(f, 11);
    p8(f, 5);
    p32(f, 0x20010db8);
    zeros(f, 11);
    p8(f, 6);
    p8(f, 6);
    p8(f, 0);
    zeros(f, 6);
    p16(f, 4000);
    p16(f, 443);
    p32(f, 1);
    return done(f);
}

static size_t f_icmp6_echo(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 58, 1, 2);
    p8(f, 128);
    p8(f, 0);
    p16(f, 0);
    p32(f, 0x00010001);
    fill(f, 8);
    return done(f);
}

static size_t f_sctp(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 132, H1, H2);
    p16(f, 2905);
    p16(f, 2906);
    p32(f, 0x01020304);
    p32(f, 0);
    fill(f, 16);
    return done(f);
}

static size_t f_igmp(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 2, H1, A4(224, 0, 0, 1));
    p32(f, 0x11640000);
    p32(f, 0);
    return done(f);
}

static size_t f_gre_ip4(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0xb000); /* C, K, S */
    p16(f, 0x0800);
    p32(f, 0);
    p32(f, 0x00c0ffee);
    p32(f, 42);
    ip4(f, 6, H1, H2);
    tcp(f, 30000, 22);
    fill(f, 7);
    return done(f);
}

static size_t f_gre_teb(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0x2000);
    p16(f, 0x6558);
    p32(f, 7);
    eth(f, 0x8100);
    vlan(f, 0x0800, 99);
    ip4(f, 17, H1, H2);
    udp(f, 68, 67);
    return done(f);
}

static size_t f_erspan1(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0);
    p16(f, 0x88be);
    eth(f, 0x0800);
    ip4(f, 6, H1, H2);
    tcp(f, 1, 2);
    return done(f);
}

static size_t f_erspan2(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0x1000);
    p16(f, 0x88be);
    p32(f, 5);
    p16(f, 0x1000 | 12); /* version 1, vlan 12 */
    p16(f, 0x0123);      /* session 0x123 */
    p32(f, 0);
    eth(f, 0x86dd);
    ip6(f, 17, 1, 2);
    udp(f, 3, 4);
    return done(f);
}

static void erspan3_hdr(struct fb *f, int platform)
{
    p16(f, 0x2000 | 1);
    p16(f, 0x0042);
    p32(f, 0x11223344);
    p16(f, 0);
    p16(f, platform ? 1 : 0);
    if (platform)
        p32(f, 0x0c000000), p32(f, 0);
}

static size_t f_erspan3(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0x1000);
    p16(f, 0x22eb);
    p32(f, 1);
    erspan3_hdr(f, 0);
    eth(f, 0x0800);
    ip4(f, 6, H1, H2);
    tcp(f, 5, 6);
    return done(f);
}

static size_t f_erspan3_plat(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0x1000);
    p16(f, 0x22eb);
    p32(f, 1);
    erspan3_hdr(f, 1);
    eth(f, 0x0800);
    ip4(f, 6, H1, H2);
    tcp(f, 7, 8);
    return done(f);
}

static size_t f_pptp(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0x3001); /* K, S, version 1 */
    p16(f, 0x880b);
    p16(f, 0);      /* payload length (unchecked) */
    p16(f, 0x4321); /* call id */
    p32(f, 1);
    p32(f, 0xff030021);
    ip4(f, 17, H1, H2);
    udp(f, 137, 137);
    return done(f);
}

static size_t f_pptp_nohdlc(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0x3001);
    p16(f, 0x880b);
    p16(f, 0);
    p16(f, 9);
    p32(f, 2);
    p8(f, 0x57); /* compressed protocol field: IPv6 */
    ip6(f, 6, 1, 2);
    tcp(f, 9, 10);
    return done(f);
}

static size_t f_pptp_ack(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 47, R1, R2);
    p16(f, 0x2081); /* K, A, version 1 */
    p16(f, 0x880b);
    p16(f, 0);
    p16(f, 9);
    p32(f, 77);
    return done(f);
}

static size_t f_gre_udp(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 50000, 4754);
    p16(f, 0);
    p16(f, 0x86dd);
    ip6(f, 17, 1, 2);
    udp(f, 123, 123);
    return done(f);
}

static size_t f_vxlan(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 61000, 4789);
    p32(f, 0x08000000);
    p32(f, 0x12345600);
    eth(f, 0x0800);
    ip4(f, 6, H1, H2);
    tcp(f, 40000, 80);
    fill(f, 6);
    return done(f);
}

static size_t f_geneve(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 17, 100, 101);
    udp(f, 6081, 6081);
    p8(f, 2); /* version 0, 8 bytes of options */
    p8(f, 0);
    p16(f, 0x6558);
    p32(f, 0x00abcd00);
    p32(f, 0x01020304);
    p32(f, 0);
    eth(f, 0x86dd);
    ip6(f, 17, 1, 2);
    udp(f, 5000, 5001);
    return done(f);
}

static size_t f_geneve_ip(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 1234, 6081);
    p8(f, 0);
    p8(f, 0);
    p16(f, 0x0800);
    p32(f, 0x00000500);
    ip4(f, 17, H1, H2);
    udp(f, 53, 53);
    return done(f);
}

static size_t f_gtpu(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 2152, 2152);
    open_len(f, K_GTP);
    p8(f, 0x36); /* version 1, PT, E, S */
    p8(f, 0xff);
    p16(f, 0);
    p32(f, 0xdeadbeef);
    p16(f, 2);
    p8(f, 0);
    p8(f, 0x85); /* PDU session container follows */
    p8(f, 1);
    p8(f, 0x10);
    p8(f, 9);
    p8(f, 0); /* no more extension headers */
    ip4(f, 6, H1, H2);
    tcp(f, 1234, 443);
    return done(f);
}

static size_t f_gtp_echo(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 2152, 2152);
    open_len(f, K_GTP);
    p8(f, 0x32);
    p8(f, 1);
    p16(f, 0);
    p32(f, 0);
    p16(f, 7);
    p16(f, 0);
    return done(f);
}

static size_t f_4in4(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 4, R1, R2);
    ip4(f, 17, H1, H2);
    udp(f, 9, 9);
    return done(f);
}

static size_t f_6in4(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 41, R1, R2);
    ip6(f, 6, 1, 2);
    tcp(f, 9, 10);
    return done(f);
}

static size_t f_4in6(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 4, 7, 8);
    ip4(f, 6, H1, H2);
    tcp(f, 11, 12);
    return done(f);
}

static size_t f_6in6(struct fb *f)
{
    eth(f, 0x86dd);
    ip6(f, 41, 7, 8);
    ip6(f, 17, 1, 2);
    udp(f, 13, 14);
    return done(f);
}

static size_t f_teredo_bubble(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, H1, R1);
    udp(f, 3797, 3544);
    ip6p(f, 59, 0x20010000, 1, 2);
    return done(f);
}

static size_t f_teredo_origin(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, H1);
    udp(f, 3544, 3797);
    p16(f, 0);
    p16(f, 0x1234 ^ 0xffff);
    p32(f, R2 ^ 0xffffffff);
    ip6p(f, 6, 0x20010000, 3, 4);
    tcp(f, 80, 1286);
    return done(f);
}

static size_t f_teredo_auth(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, H1);
    udp(f, 3544, 3797);
    p16(f, 1);
    p8(f, 2); /* client id length */
    p8(f, 3); /* auth value length */
    fill(f, 5);
    zeros(f, 8); /* nonce */
    p8(f, 0);    /* confirmation */
    p16(f, 0);   /* origin indication */
    p16(f, 0);
    p32(f, 0);
    ip6p(f, 17, 0x20010000, 5, 6);
    udp(f, 1, 2);
    return done(f);
}

/* Teredo between a client and a relay on ordinary ports (found by shape). */
static size_t f_teredo_sniffed(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, H1, R2);
    udp(f, 3797, 32900);
    ip6p(f, 58, 0x20010000, 1, 2);
    p8(f, 128);
    p8(f, 0);
    p16(f, 0);
    p32(f, 0x00010001);
    return done(f);
}

static size_t f_ayiya(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, H1, R1);
    udp(f, 5072, 5072);
    p8(f, 0x41); /* identity 2^4 = 16 bytes, type 1 */
    p8(f, 0x52); /* signature 5*4 = 20 bytes, SHA1 */
    p8(f, 0x11); /* auth 1, opcode 1 (forward) */
    p8(f, 41);
    p32(f, 0x5f5e1000);
    fill(f, 16);
    fill(f, 20);
    ip6(f, 17, 1, 2);
    udp(f, 53, 53);
    return done(f);
}

/* IP-in-IP five deep: one more IP layer than SL_PKT_MAX_IP. */
static size_t f_too_deep(struct fb *f)
{
    eth(f, 0x0800);
    for (int i = 0; i < 4; i++)
        ip4(f, 4, R1 + i, R2 + i);
    ip4(f, 6, H1, H2);
    tcp(f, 1, 2);
    return done(f);
}

/* Two tunnels: VXLAN carrying GRE carrying IPv6. */
static size_t f_vxlan_gre(struct fb *f)
{
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 1, 4789);
    p32(f, 0x08000000);
    p32(f, 0x00000100);
    eth(f, 0x8100);
    vlan(f, 0x0800, 44);
    ip4(f, 47, A4(172, 16, 0, 1), A4(172, 16, 0, 2));
    p16(f, 0x2000);
    p16(f, 0x86dd);
    p32(f, 0x99);
    ip6(f, 6, 1, 2);
    tcp(f, 2000, 3000);
    return done(f);
}

/* Link types other than Ethernet. */
static size_t f_raw4(struct fb *f)
{
    ip4(f, 6, H1, H2);
    tcp(f, 1, 2);
    return done(f);
}

static size_t f_raw6(struct fb *f)
{
    ip6(f, 17, 1, 2);
    udp(f, 3, 4);
    return done(f);
}

static size_t f_null_le(struct fb *f)
{
    p32(f, 0x02000000);
    ip4(f, 6, H1, H2);
    tcp(f, 1, 2);
    return done(f);
}

static size_t f_null_be6(struct fb *f)
{
    p32(f, 30);
    ip6(f, 6, 1, 2);
    tcp(f, 1, 2);
    return done(f);
}

static size_t f_null_other(struct fb *f)
{
    p32(f, 0x07000000);
    fill(f, 30);
    return done(f);
}

static size_t f_sll(struct fb *f)
{
    p16(f, 0);
    p16(f, 1);
    p16(f, 6);
    p32(f, 0x00112233);
    p32(f, 0x44550000);
    p16(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 5, 6);
    return done(f);
}

static void wifi_data(struct fb *f, unsigned fc0, unsigned fc1)
{
    p8(f, fc0);
    p8(f, fc1);
    p16(f, 0);
    p32(f, 0x00112233);
    p16(f, 0x4455);
    p32(f, 0x66778899);
    p16(f, 0xaabb);
    p32(f, 0x01020304);
    p16(f, 0x0506);
    p16(f, 0x0010);
}

static size_t f_radiotap(struct fb *f)
{
    p8(f, 0);
    p8(f, 0);
    p8(f, 8);
    p8(f, 0);
    p32(f, 0);
    wifi_data(f, 0x08, 0x01);
    p32(f, 0xaaaa0300);
    p32(f, 0x00000800);
    ip4(f, 17, H1, H2);
    udp(f, 67, 68);
    return done(f);
}

static size_t f_wifi_qos(struct fb *f)
{
    wifi_data(f, 0x88, 0x02);
    p16(f, 0);
    p32(f, 0xaaaa0300);
    p32(f, 0x000086dd);
    ip6(f, 6, 1, 2);
    tcp(f, 1, 2);
    return done(f);
}

static size_t f_wifi_beacon(struct fb *f)
{
    wifi_data(f, 0x80, 0x00);
    fill(f, 30);
    return done(f);
}

static size_t f_ppp(struct fb *f)
{
    p32(f, 0xff030021);
    ip4(f, 6, H1, H2);
    tcp(f, 1, 2);
    return done(f);
}

static size_t f_ppp_serial6(struct fb *f)
{
    p32(f, 0xff030057);
    ip6(f, 17, 1, 2);
    udp(f, 1, 2);
    return done(f);
}

static size_t f_chdlc(struct fb *f)
{
    p32(f, 0x0f000800);
    ip4(f, 17, H1, H2);
    udp(f, 1, 2);
    return done(f);
}

/* ---- table of frames ------------------------------------------------------ */

struct frame {
    const char *name;
    size_t (*build)(struct fb *);
    int dlt;
    int stop;  /* expected stop of the whole frame */
    int n_ip;  /* expected IP layers */
    int proto; /* innermost protocol, -1 when n_ip == 0 */
    int encap; /* innermost encap */
    const char *weird;
};

#define E SL_DLT_EN10MB
static const struct frame frames[] = {
    {"eth_ip4_tcp", f_eth_ip4_tcp, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"eth_ip6_udp", f_eth_ip6_udp, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"vlan", f_vlan, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"qinq", f_qinq, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"vlan_deep", f_vlan_deep, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"mpls_ip4", f_mpls_ip4, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"vlan_mpls_ip6", f_vlan_mpls_ip6, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"mpls_nonip", f_mpls_nonip, E, SL_STOP_WEIRD, 0, -1, 0, "unknown_ip_version"},
    {"pppoe_ip4", f_pppoe_ip4, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"qinq_pppoe_ip6", f_qinq_pppoe_ip6, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"pppoe_lcp", f_pppoe_lcp, E, SL_STOP_NON_IP, 0, -1, 0, NULL},
    {"vntag", f_vntag, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"snap", f_snap, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"fabricpath", f_fabricpath, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"arp", f_arp, E, SL_STOP_NON_IP, 0, -1, 0, NULL},
    {"stp", f_stp, E, SL_STOP_NON_IP, 0, -1, 0, NULL},
    {"ip4_opts", f_ip4_opts, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"ip6_ext", f_ip6_ext, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"ip6_ah", f_ip6_ah, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"ip6_esp", f_ip6_esp, E, SL_STOP_L4, 1, 50, SL_ENCAP_NONE, NULL},
    {"ip4_esp", f_ip4_esp, E, SL_STOP_L4, 1, 50, SL_ENCAP_NONE, NULL},
    {"ip4_frag_first", f_ip4_frag_first, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"ip4_frag_mid", f_ip4_frag_mid, E, SL_STOP_FRAGMENT, 1, 17, SL_ENCAP_NONE, NULL},
    {"ip4_frag_last", f_ip4_frag_last, E, SL_STOP_FRAGMENT, 1, 17, SL_ENCAP_NONE, NULL},
    {"ip6_frag_first", f_ip6_frag_first, E, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"ip6_frag_mid", f_ip6_frag_mid, E, SL_STOP_FRAGMENT, 1, 6, SL_ENCAP_NONE, NULL},
    {"ip6_frag_last", f_ip6_frag_last, E, SL_STOP_FRAGMENT, 1, 6, SL_ENCAP_NONE, NULL},
    {"icmp_echo", f_icmp_echo, E, SL_STOP_L4, 1, 1, SL_ENCAP_NONE, NULL},
    {"icmp_unreach", f_icmp_unreach, E, SL_STOP_L4, 1, 1, SL_ENCAP_NONE, NULL},
    {"icmp_ttl_tcp", f_icmp_ttl_tcp, E, SL_STOP_L4, 1, 1, SL_ENCAP_NONE, NULL},
    {"icmp6_ptb", f_icmp6_ptb, E, SL_STOP_L4, 1, 58, SL_ENCAP_NONE, NULL},
    {"icmp6_echo", f_icmp6_echo, E, SL_STOP_L4, 1, 58, SL_ENCAP_NONE, NULL},
    {"sctp", f_sctp, E, SL_STOP_L4, 1, 132, SL_ENCAP_NONE, NULL},
    {"igmp", f_igmp, E, SL_STOP_UNKNOWN_PROTO, 1, 2, SL_ENCAP_NONE, NULL},
    {"gre_ip4", f_gre_ip4, E, SL_STOP_L4, 2, 6, SL_ENCAP_GRE, NULL},
    {"gre_teb", f_gre_teb, E, SL_STOP_L4, 2, 17, SL_ENCAP_GRE, NULL},
    {"erspan1", f_erspan1, E, SL_STOP_L4, 2, 6, SL_ENCAP_ERSPAN, NULL},
    {"erspan2", f_erspan2, E, SL_STOP_L4, 2, 17, SL_ENCAP_ERSPAN, NULL},
    {"erspan3", f_erspan3, E, SL_STOP_L4, 2, 6, SL_ENCAP_ERSPAN, NULL},
    {"erspan3_plat", f_erspan3_plat, E, SL_STOP_L4, 2, 6, SL_ENCAP_ERSPAN, NULL},
    {"pptp", f_pptp, E, SL_STOP_L4, 2, 17, SL_ENCAP_GRE, NULL},
    {"pptp_nohdlc", f_pptp_nohdlc, E, SL_STOP_L4, 2, 6, SL_ENCAP_GRE, NULL},
    {"pptp_ack", f_pptp_ack, E, SL_STOP_L4, 1, 47, SL_ENCAP_NONE, NULL},
    {"gre_udp", f_gre_udp, E, SL_STOP_L4, 2, 17, SL_ENCAP_GRE, NULL},
    {"vxlan", f_vxlan, E, SL_STOP_L4, 2, 6, SL_ENCAP_VXLAN, NULL},
    {"geneve", f_geneve, E, SL_STOP_L4, 2, 17, SL_ENCAP_GENEVE, NULL},
    {"geneve_ip", f_geneve_ip, E, SL_STOP_L4, 2, 17, SL_ENCAP_GENEVE, NULL},
    {"gtpu", f_gtpu, E, SL_STOP_L4, 2, 6, SL_ENCAP_GTPU, NULL},
    {"gtp_echo", f_gtp_echo, E, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"4in4", f_4in4, E, SL_STOP_L4, 2, 17, SL_ENCAP_IPIP, NULL},
    {"6in4", f_6in4, E, SL_STOP_L4, 2, 6, SL_ENCAP_IPIP, NULL},
    {"4in6", f_4in6, E, SL_STOP_L4, 2, 6, SL_ENCAP_IPIP, NULL},
    {"6in6", f_6in6, E, SL_STOP_L4, 2, 17, SL_ENCAP_IPIP, NULL},
    {"teredo_bubble", f_teredo_bubble, E, SL_STOP_L4, 2, 59, SL_ENCAP_TEREDO, NULL},
    {"teredo_origin", f_teredo_origin, E, SL_STOP_L4, 2, 6, SL_ENCAP_TEREDO, NULL},
    {"teredo_auth", f_teredo_auth, E, SL_STOP_L4, 2, 17, SL_ENCAP_TEREDO, NULL},
    {"teredo_sniffed", f_teredo_sniffed, E, SL_STOP_L4, 2, 58, SL_ENCAP_TEREDO, NULL},
    {"ayiya", f_ayiya, E, SL_STOP_L4, 2, 17, SL_ENCAP_AYIYA, NULL},
    {"too_deep", f_too_deep, E, SL_STOP_WEIRD, 4, 4, SL_ENCAP_IPIP, "exceeded_tunnel_max_depth"},
    {"vxlan_gre", f_vxlan_gre, E, SL_STOP_L4, 3, 6, SL_ENCAP_GRE, NULL},
    {"raw4", f_raw4, SL_DLT_RAW, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"raw6_229", f_raw6, SL_DLT_IPV6, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"raw4_228", f_raw4, SL_DLT_IPV4, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"raw6_14", f_raw6, SL_DLT_RAW_BSD14, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"raw4_12", f_raw4, SL_DLT_RAW_BSD12, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"null_le", f_null_le, SL_DLT_NULL, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"null_be6", f_null_be6, SL_DLT_NULL, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"loop6", f_null_be6, SL_DLT_LOOP, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"null_other", f_null_other, SL_DLT_NULL, SL_STOP_NON_IP, 0, -1, 0, NULL},
    {"sll", f_sll, SL_DLT_LINUX_SLL, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"radiotap", f_radiotap, SL_DLT_IEEE802_11_RADIO, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"wifi_qos", f_wifi_qos, SL_DLT_IEEE802_11, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"wifi_beacon", f_wifi_beacon, SL_DLT_IEEE802_11, SL_STOP_NON_IP, 0, -1, 0, NULL},
    {"ppp", f_ppp, SL_DLT_PPP, SL_STOP_L4, 1, 6, SL_ENCAP_NONE, NULL},
    {"ppp_serial6", f_ppp_serial6, SL_DLT_PPP_SERIAL, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
    {"chdlc", f_chdlc, SL_DLT_PPP_SERIAL, SL_STOP_L4, 1, 17, SL_ENCAP_NONE, NULL},
};
#define N_FRAMES (sizeof(frames) / sizeof(frames[0]))

/* ---- helpers ------------------------------------------------------------- */

static struct fb g_fb;

static const uint8_t *build(size_t (*fn)(struct fb *), size_t *len)
{
    memset(&g_fb, 0, sizeof(g_fb));
    *len = fn(&g_fb);
    return g_fb.b;
}

/* Decodes a copy of the first `cut` bytes in a buffer of exactly that size. */
static int decode_cut(struct sl_pkt *p, const uint8_t *b, size_t cut, uint32_t wire, int dlt)
{
    uint8_t *copy = malloc(cut ? cut : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, b, cut);
    int r = sl_pkt_decode_wire(p, copy, (uint32_t)cut, wire, dlt);
    /* The decoder keeps pointers into the frame only in p->data. */
    p->data = NULL;
    free(copy);
    return r;
}

static uint32_t v4(const uint8_t a[16])
{
    ck_assert(sl_pkt_addr_is_v4(a));
    return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

static const char *astr(const uint8_t a[16])
{
    static char buf[4][64];
    static int i;
    i = (i + 1) % 4;
    return sl_pkt_addr_str(a, buf[i], sizeof(buf[i]));
}

static const struct sl_pkt_ip *decode_frame(struct sl_pkt *p, const char *name)
{
    for (size_t i = 0; i < N_FRAMES; i++) {
        if (strcmp(frames[i].name, name))
            continue;
        size_t n;
        const uint8_t *b = build(frames[i].build, &n);
        sl_pkt_decode(p, b, (uint32_t)n, frames[i].dlt);
        return sl_pkt_inner(p);
    }
    ck_abort_msg("no frame %s", name);
    return NULL;
}

/* Invariants every decode must hold, whatever the input. */
static void check_sane(const struct sl_pkt *p, int r, size_t len, const char *what)
{
    ck_assert_msg(r == p->stop, "%s: return %d != stop %d", what, r, p->stop);
    ck_assert_msg(p->stop <= SL_STOP_FRAGMENT, "%s: stop %d", what, p->stop);
    ck_assert_msg((p->stop == SL_STOP_WEIRD) == (p->weird != NULL), "%s: stop %d weird %s", what,
                  p->stop, p->weird ? p->weird : "-");
    ck_assert_msg(p->n_ip <= SL_PKT_MAX_IP, "%s", what);
    for (int i = 0; i < p->n_ip; i++) {
        const struct sl_pkt_ip *ip = &p->ip[i];
        ck_assert_msg(ip->version == 4 || ip->version == 6, "%s", what);
        ck_assert_msg(ip->off + ip->cap_len <= len, "%s: layer %d past the end", what, i);
        ck_assert_msg(ip->hdr_len <= ip->cap_len, "%s: layer %d header past capture", what, i);
        ck_assert_msg(ip->encap < SL_ENCAP_MAX, "%s", what);
        ck_assert_msg((i == 0) == (ip->encap == SL_ENCAP_NONE), "%s: layer %d encap %d", what, i,
                      ip->encap);
        if (i > 0)
            ck_assert_msg(ip->off >= p->ip[i - 1].off + p->ip[i - 1].hdr_len, "%s", what);
        if (ip->flags & SL_IPF_L4) {
            ck_assert_msg(ip->l4_off == ip->off + ip->hdr_len, "%s", what);
            ck_assert_msg(ip->payload_off + ip->payload_len <= len, "%s", what);
            ck_assert_msg(ip->payload_off >= ip->l4_off, "%s", what);
        } else if (ip->flags & SL_IPF_PORTS) {
            /* a TCP header too broken to use still names its ports */
            ck_assert_msg(ip->proto == 6 && p->stop == SL_STOP_WEIRD, "%s: ports flag", what);
        } else {
            ck_assert_msg(ip->sport == 0 && ip->dport == 0, "%s: ports without L4", what);
        }
        if (!(ip->flags & SL_IPF_FRAG))
            ck_assert_msg(!(ip->flags & SL_IPF_FIRST_FRAG), "%s", what);
    }
    if (p->stop == SL_STOP_FRAGMENT) {
        ck_assert_msg(p->n_ip > 0, "%s", what);
        const struct sl_pkt_ip *ip = sl_pkt_inner(p);
        ck_assert_msg((ip->flags & SL_IPF_FRAG) && ip->frag_off > 0, "%s", what);
    }
}

/* ---- tests: whole frames -------------------------------------------------- */

START_TEST(all_frames_decode_as_expected)
{
    for (size_t i = 0; i < N_FRAMES; i++) {
        const struct frame *fr = &frames[i];
        size_t n;
        const uint8_t *b = build(fr->build, &n);
        struct sl_pkt p;
        int r = decode_cut(&p, b, n, (uint32_t)n, fr->dlt);
        check_sane(&p, r, n, fr->name);
        ck_assert_msg(p.stop == fr->stop, "%s: stop %d, want %d (weird %s)", fr->name, p.stop,
                      fr->stop, p.weird ? p.weird : "-");
        ck_assert_msg(p.n_ip == fr->n_ip, "%s: n_ip %d, want %d", fr->name, p.n_ip, fr->n_ip);
        if (fr->weird)
            ck_assert_str_eq(p.weird, fr->weird);
        if (fr->n_ip) {
            const struct sl_pkt_ip *ip = sl_pkt_inner(&p);
            ck_assert_msg(ip->proto == fr->proto, "%s: proto %d", fr->name, ip->proto);
            ck_assert_msg(ip->encap == fr->encap, "%s: encap %s", fr->name,
                          sl_pkt_encap_name(ip->encap));
            for (int k = 0; k < p.n_ip; k++)
                ck_assert_msg(!(p.ip[k].flags & SL_IPF_TRUNC), "%s: layer %d truncated", fr->name,
                              k);
        }
        /* The same without a wire length gives the same answer. */
        struct sl_pkt q;
        decode_cut(&q, b, n, 0, fr->dlt);
        ck_assert_int_eq(q.stop, p.stop);
        ck_assert_int_eq(q.n_ip, p.n_ip);
    }
}
END_TEST

START_TEST(eth_ip4_tcp_fields)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "eth_ip4_tcp");
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert_ptr_null(p.weird);
    ck_assert_ptr_null(p.note);
    ck_assert_int_eq(p.has_mac, 1);
    ck_assert_int_eq(p.eth_off, 0);
    ck_assert_int_eq(p.ethertype, 0x0800);
    ck_assert_int_eq(p.n_vlan, 0);
    ck_assert_int_eq(p.len, 14 + 20 + 20 + 10);
    ck_assert_ptr_eq(ip, sl_pkt_outer(&p));
    ck_assert_uint_eq(v4(ip->src), A4(141, 142, 228, 5));
    ck_assert_uint_eq(v4(ip->dst), A4(192, 150, 187, 43));
    ck_assert_str_eq(astr(ip->src), "141.142.228.5");
    ck_assert_int_eq(ip->version, 4);
    ck_assert_int_eq(ip->tos, 0x10);
    ck_assert_int_eq(ip->ttl, 64);
    ck_assert_int_eq(ip->off, 14);
    ck_assert_int_eq(ip->hdr_len, 20);
    ck_assert_int_eq(ip->tot_len, 50);
    ck_assert_int_eq(ip->cap_len, 50);
    ck_assert_int_eq(ip->flags, SL_IPF_L4); /* DF alone is no fragment */
    ck_assert_int_eq(ip->frag_id, 0x1234);
    ck_assert_int_eq(ip->l4_off, 34);
    ck_assert_int_eq(ip->l4_len, 30);
    ck_assert_int_eq(ip->sport, 59856);
    ck_assert_int_eq(ip->dport, 80);
    ck_assert_uint_eq(ip->seq, 1000);
    ck_assert_uint_eq(ip->ack, 2000);
    ck_assert_int_eq(ip->tcp_flags, SL_TCP_SYN | SL_TCP_ACK);
    ck_assert_int_eq(ip->win, 512);
    ck_assert_int_eq(ip->payload_off, 54);
    ck_assert_int_eq(ip->payload_len, 10);
    ck_assert_int_eq(ip->l4_claimed, 30);
}
END_TEST

START_TEST(ethernet_padding_is_not_payload)
{
    struct fb *f = &g_fb;
    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 1, 2);
    p8(f, 0x55);
    size_t n = done(f);
    zeros(f, 60 - n); /* minimum frame padding */
    struct sl_pkt p;
    ck_assert_int_eq(sl_pkt_decode(&p, f->b, (uint32_t)f->n, SL_DLT_EN10MB), SL_STOP_L4);
    ck_assert_int_eq(p.ip[0].cap_len, 29);
    ck_assert_int_eq(p.ip[0].payload_len, 1);
    ck_assert_ptr_null(p.note);
}
END_TEST

START_TEST(ip6_udp_fields)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "eth_ip6_udp");
    ck_assert_int_eq(ip->version, 6);
    ck_assert_str_eq(astr(ip->src), "2001:db8::1");
    ck_assert_str_eq(astr(ip->dst), "2001:db8::2");
    ck_assert_int_eq(ip->ttl, 255);
    ck_assert_int_eq(ip->hdr_len, 40);
    ck_assert_int_eq(ip->tot_len, 40 + 8 + 12);
    ck_assert_int_eq(ip->sport, 5353);
    ck_assert_int_eq(ip->dport, 53);
    ck_assert_int_eq(ip->l4_claimed, 20);
    ck_assert_int_eq(ip->payload_len, 12);
    ck_assert_int_eq(p.ethertype, 0x86dd);
}
END_TEST

START_TEST(vlan_tags)
{
    struct sl_pkt p;
    decode_frame(&p, "vlan");
    ck_assert_int_eq(p.n_vlan, 1);
    ck_assert_int_eq(p.vlan[0], 100);
    ck_assert_int_eq(p.ethertype, 0x0800);

    decode_frame(&p, "qinq");
    ck_assert_int_eq(p.n_vlan, 2);
    ck_assert_int_eq(p.vlan[0], 10);
    ck_assert_int_eq(p.vlan[1], 20);
    ck_assert_int_eq(p.ethertype, 0x86dd);

    const struct sl_pkt_ip *ip = decode_frame(&p, "vlan_deep");
    ck_assert_int_eq(p.n_vlan, 10);
    for (int i = 0; i < SL_PKT_MAX_VLAN; i++)
        ck_assert_int_eq(p.vlan[i], i + 1);
    ck_assert_int_eq(ip->sport, 3);
    ck_assert_int_eq(ip->off, 14 + 40);
}
END_TEST

START_TEST(mpls_pppoe_vntag)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "mpls_ip4");
    ck_assert_int_eq(p.n_mpls, 2);
    ck_assert_int_eq(ip->off, 22);
    ck_assert_int_eq(ip->dport, 8);

    ip = decode_frame(&p, "vlan_mpls_ip6");
    ck_assert_int_eq(p.n_mpls, 1);
    ck_assert_int_eq(p.n_vlan, 1);
    ck_assert_int_eq(ip->version, 6);

    ip = decode_frame(&p, "pppoe_ip4");
    ck_assert_int_eq(p.pppoe, 1);
    ck_assert_int_eq(p.ethertype, 0x8864);
    ck_assert_int_eq(ip->off, 22);
    ck_assert_int_eq(ip->dport, 80);
    ck_assert_ptr_null(p.note);

    ip = decode_frame(&p, "qinq_pppoe_ip6");
    ck_assert_int_eq(p.pppoe, 1);
    ck_assert_int_eq(p.n_vlan, 2);
    ck_assert_int_eq(p.vlan[1], 301);
    ck_assert_int_eq(ip->version, 6);

    ip = decode_frame(&p, "vntag");
    ck_assert_int_eq(p.vntag, 1);
    ck_assert_int_eq(ip->off, 20);

    ip = decode_frame(&p, "fabricpath");
    ck_assert_int_eq(p.eth_off, 16);
    ck_assert_int_eq(ip->off, 30);

    ip = decode_frame(&p, "snap");
    ck_assert_int_eq(ip->off, 22);
    ck_assert_int_eq(p.ethertype, 0x0800);
}
END_TEST

START_TEST(non_ip_and_unknown_proto)
{
    struct sl_pkt p;
    decode_frame(&p, "arp");
    ck_assert_int_eq(p.stop, SL_STOP_NON_IP);
    ck_assert_int_eq(p.ethertype, 0x0806);
    ck_assert_int_eq(p.n_ip, 0);
    ck_assert_ptr_null(p.weird);
    ck_assert_int_eq(p.has_mac, 1);

    const struct sl_pkt_ip *ip = decode_frame(&p, "igmp");
    ck_assert_int_eq(p.stop, SL_STOP_UNKNOWN_PROTO);
    ck_assert_int_eq(p.n_ip, 1);
    ck_assert_int_eq(ip->proto, 2);
    ck_assert_uint_eq(v4(ip->dst), A4(224, 0, 0, 1));
    ck_assert_int_eq(ip->l4_off, 34);
    ck_assert(!(ip->flags & SL_IPF_L4));

    /* An unknown protocol inside a tunnel keeps both layers. */
    struct fb *f = &g_fb;
    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 1, 4789);
    p32(f, 0x08000000);
    p32(f, 0x00000700);
    eth(f, 0x0800);
    ip4(f, 2, H1, H2);
    p32(f, 0x16000000);
    size_t n = done(f);
    ck_assert_int_eq(sl_pkt_decode(&p, f->b, (uint32_t)n, SL_DLT_EN10MB), SL_STOP_UNKNOWN_PROTO);
    ck_assert_int_eq(p.n_ip, 2);
    ck_assert_int_eq(p.ip[1].encap, SL_ENCAP_VXLAN);
    ck_assert_int_eq(p.ip[1].tunnel_id, 7);
    ck_assert(p.ip[0].flags & SL_IPF_L4);
}
END_TEST

START_TEST(ip_options_and_extension_headers)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "ip4_opts");
    ck_assert_int_eq(ip->hdr_len, 28);
    ck_assert(ip->flags & SL_IPF_OPTIONS);
    ck_assert_int_eq(ip->l4_off, 42);
    ck_assert_int_eq(ip->sport, 22);
    ck_assert_int_eq(ip->payload_len, 3);

    ip = decode_frame(&p, "ip6_ext");
    ck_assert_int_eq(ip->hdr_len, 40 + 8 + 24 + 16);
    ck_assert_int_eq(ip->proto, 6);
    ck_assert(ip->flags & SL_IPF_OPTIONS);
    ck_assert_int_eq(ip->sport, 443);
    ck_assert_int_eq(ip->payload_len, 5);

    ip = decode_frame(&p, "ip6_ah");
    ck_assert_int_eq(ip->hdr_len, 40 + 24);
    ck_assert_int_eq(ip->proto, 17);
    ck_assert_int_eq(ip->dport, 4500);

    ip = decode_frame(&p, "ip6_esp");
    ck_assert_int_eq(ip->proto, 50);
    ck_assert(!(ip->flags & SL_IPF_L4));
    ck_assert_int_eq(ip->sport, 0);
}
END_TEST

START_TEST(fragments_v4)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "ip4_frag_first");
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert_int_eq(ip->flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG | SL_IPF_L4),
                     SL_IPF_FRAG | SL_IPF_FIRST_FRAG | SL_IPF_L4);
    ck_assert_int_eq(ip->frag_id, 0xbeef);
    ck_assert_int_eq(ip->frag_off, 0);
    ck_assert_int_eq(ip->sport, 4444);
    ck_assert_int_eq(ip->dport, 53);
    /* The UDP length covers the whole datagram, not this fragment: no note. */
    ck_assert_ptr_null(p.note);

    ip = decode_frame(&p, "ip4_frag_mid");
    ck_assert_int_eq(p.stop, SL_STOP_FRAGMENT);
    ck_assert_int_eq(ip->flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG | SL_IPF_L4), SL_IPF_FRAG);
    ck_assert_int_eq(ip->frag_off, 24);
    ck_assert_int_eq(ip->frag_id, 0xbeef);
    ck_assert_int_eq(ip->proto, 17);
    ck_assert_int_eq(ip->sport, 0);
    ck_assert_uint_eq(v4(ip->src), H1);

    ip = decode_frame(&p, "ip4_frag_last");
    ck_assert_int_eq(p.stop, SL_STOP_FRAGMENT);
    ck_assert_int_eq(ip->frag_off, 48);
    ck_assert_int_eq(ip->flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG), SL_IPF_FRAG);
}
END_TEST

START_TEST(fragments_v6)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "ip6_frag_first");
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert_int_eq(ip->flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG | SL_IPF_L4),
                     SL_IPF_FRAG | SL_IPF_FIRST_FRAG | SL_IPF_L4);
    ck_assert_uint_eq(ip->frag_id, 0xcafef00d);
    ck_assert_int_eq(ip->proto, 6);
    ck_assert_int_eq(ip->hdr_len, 48);
    ck_assert_int_eq(ip->sport, 1111);

    ip = decode_frame(&p, "ip6_frag_mid");
    ck_assert_int_eq(p.stop, SL_STOP_FRAGMENT);
    ck_assert_int_eq(ip->frag_off, 24);
    ck_assert_uint_eq(ip->frag_id, 0xcafef00d);
    ck_assert_int_eq(ip->proto, 6);
    ck_assert_int_eq(ip->flags & (SL_IPF_FIRST_FRAG | SL_IPF_L4), 0);

    ip = decode_frame(&p, "ip6_frag_last");
    ck_assert_int_eq(p.stop, SL_STOP_FRAGMENT);
    ck_assert_int_eq(ip->frag_off, 48);

    /* An atomic fragment (offset 0, no M) is a whole packet. */
    struct fb *f = &g_fb;
    memset(f, 0, sizeof(*f));
    eth(f, 0x86dd);
    ip6(f, 44, 1, 2);
    frag6(f, 17, 0, 0);
    udp(f, 1, 2);
    size_t n = done(f);
    sl_pkt_decode(&p, f->b, (uint32_t)n, SL_DLT_EN10MB);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert(!(p.ip[0].flags & SL_IPF_FRAG));
    ck_assert_int_eq(p.ip[0].dport, 2);
}
END_TEST

START_TEST(icmp_errors_quote_the_flow)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "icmp_echo");
    ck_assert_int_eq(ip->icmp_type, 8);
    ck_assert_int_eq(ip->sport, 8);
    ck_assert_int_eq(ip->dport, 0);
    ck_assert(!(ip->flags & SL_IPF_ICMP_ERR));

    ip = decode_frame(&p, "icmp_unreach");
    ck_assert_int_eq(ip->icmp_type, 3);
    ck_assert_int_eq(ip->icmp_code, 3);
    ck_assert(ip->flags & SL_IPF_ICMP_ERR);
    ck_assert_uint_eq(v4(ip->src), R1);
    ck_assert_int_eq(ip->quoted.version, 4);
    ck_assert_int_eq(ip->quoted.proto, 17);
    ck_assert_uint_eq(v4(ip->quoted.src), H1);
    ck_assert_uint_eq(v4(ip->quoted.dst), H2);
    ck_assert_int_eq(ip->quoted.sport, 5353);
    ck_assert_int_eq(ip->quoted.dport, 53);

    ip = decode_frame(&p, "icmp_ttl_tcp");
    ck_assert(ip->flags & SL_IPF_ICMP_ERR);
    ck_assert_int_eq(ip->quoted.proto, 6);
    ck_assert_uint_eq(v4(ip->quoted.dst), A4(198, 51, 100, 7));
    ck_assert_int_eq(ip->quoted.sport, 33000);
    ck_assert_int_eq(ip->quoted.dport, 443);

    ip = decode_frame(&p, "icmp6_ptb");
    ck_assert_int_eq(ip->icmp_type, 2);
    ck_assert(ip->flags & SL_IPF_ICMP_ERR);
    ck_assert_int_eq(ip->quoted.version, 6);
    ck_assert_int_eq(ip->quoted.proto, 6);
    ck_assert_str_eq(astr(ip->quoted.src), "2001:db8::5");
    ck_assert_str_eq(astr(ip->quoted.dst), "2001:db8::6");
    ck_assert_int_eq(ip->quoted.sport, 4000);
    ck_assert_int_eq(ip->quoted.dport, 443);

    ip = decode_frame(&p, "icmp6_echo");
    ck_assert_int_eq(ip->icmp_type, 128);
    ck_assert(!(ip->flags & SL_IPF_ICMP_ERR));

    /* A quote too short for ports still gives the addresses. */
    size_t n;
    const uint8_t *b = build(f_icmp_unreach, &n);
    decode_cut(&p, b, n - 4, 0, SL_DLT_EN10MB);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert(p.ip[0].flags & SL_IPF_ICMP_ERR);
    ck_assert(p.ip[0].flags & SL_IPF_TRUNC);
    ck_assert_uint_eq(v4(p.ip[0].quoted.dst), H2);
    ck_assert_int_eq(p.ip[0].quoted.sport, 5353);
    decode_cut(&p, b, n - 8, 0, SL_DLT_EN10MB);
    ck_assert(p.ip[0].flags & SL_IPF_ICMP_ERR);
    ck_assert_int_eq(p.ip[0].quoted.sport, 0);
    ck_assert_int_eq(p.ip[0].quoted.dport, 0);
    /* Shorter than an IP header: no quoted flow. */
    decode_cut(&p, b, n - 9, 0, SL_DLT_EN10MB);
    ck_assert(!(p.ip[0].flags & SL_IPF_ICMP_ERR));
}
END_TEST

START_TEST(sctp_ports)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "sctp");
    ck_assert_int_eq(ip->sport, 2905);
    ck_assert_int_eq(ip->dport, 2906);
    ck_assert_int_eq(ip->payload_off, 34 + 12);
}
END_TEST

START_TEST(gre_tunnels)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "gre_ip4");
    ck_assert_int_eq(p.ip[0].proto, 47);
    ck_assert_uint_eq(v4(p.ip[0].src), R1);
    ck_assert_uint_eq(ip->tunnel_id, 0xc0ffee);
    ck_assert_int_eq(ip->off, 14 + 20 + 16);
    ck_assert_uint_eq(v4(ip->src), H1);
    ck_assert_int_eq(ip->dport, 22);
    ck_assert_int_eq(ip->payload_len, 7);

    ip = decode_frame(&p, "gre_teb");
    ck_assert_int_eq(ip->encap, SL_ENCAP_GRE);
    ck_assert_uint_eq(ip->tunnel_id, 7);
    ck_assert_int_eq(ip->dport, 67);
    /* The inner frame's tag belongs to the inner frame, not the outer path. */
    ck_assert_int_eq(p.n_vlan, 0);
    ck_assert_int_eq(p.ethertype, 0x0800);
    ck_assert_int_eq(p.eth_off, 0);

    ip = decode_frame(&p, "erspan1");
    ck_assert_int_eq(ip->tunnel_id, 0);
    ck_assert_int_eq(ip->off, 14 + 20 + 4 + 14);

    ip = decode_frame(&p, "erspan2");
    ck_assert_uint_eq(ip->tunnel_id, 0x123);
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 8 + 14);
    ck_assert_int_eq(ip->version, 6);

    ip = decode_frame(&p, "erspan3");
    ck_assert_uint_eq(ip->tunnel_id, 0x42);
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 12 + 14);
    ip = decode_frame(&p, "erspan3_plat");
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 20 + 14);
    ck_assert_int_eq(ip->dport, 8);

    ip = decode_frame(&p, "pptp");
    ck_assert_uint_eq(ip->tunnel_id, 0x4321);
    ck_assert_int_eq(ip->off, 14 + 20 + 12 + 4);
    ck_assert_int_eq(ip->sport, 137);
    ip = decode_frame(&p, "pptp_nohdlc");
    ck_assert_int_eq(ip->version, 6);
    ck_assert_int_eq(ip->off, 14 + 20 + 12 + 1);

    decode_frame(&p, "pptp_ack");
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert_ptr_null(p.weird);

    ip = decode_frame(&p, "gre_udp");
    ck_assert_int_eq(p.ip[0].dport, 4754);
    ck_assert_int_eq(ip->version, 6);
    ck_assert_int_eq(ip->sport, 123);
}
END_TEST

START_TEST(udp_tunnels)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "vxlan");
    ck_assert_uint_eq(ip->tunnel_id, 0x123456);
    ck_assert_uint_eq(v4(p.ip[0].src), R1);
    ck_assert_int_eq(p.ip[0].dport, 4789);
    ck_assert(p.ip[0].flags & SL_IPF_L4);
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 8 + 14);
    ck_assert_int_eq(ip->dport, 80);
    ck_assert_int_eq(ip->payload_len, 6);

    ip = decode_frame(&p, "geneve");
    ck_assert_uint_eq(ip->tunnel_id, 0xabcd);
    ck_assert_int_eq(ip->off, 14 + 40 + 8 + 16 + 14);
    ck_assert_str_eq(astr(ip->src), "2001:db8::1");
    ip = decode_frame(&p, "geneve_ip");
    ck_assert_uint_eq(ip->tunnel_id, 5);
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 8);

    ip = decode_frame(&p, "gtpu");
    ck_assert_uint_eq(ip->tunnel_id, 0xdeadbeef);
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 16);
    ck_assert_int_eq(ip->dport, 443);

    ip = decode_frame(&p, "gtp_echo");
    ck_assert_int_eq(p.n_ip, 1);
    ck_assert_int_eq(ip->dport, 2152);

    ip = decode_frame(&p, "teredo_bubble");
    ck_assert_int_eq(ip->proto, 59);
    ck_assert_ptr_null(p.weird);
    ck_assert_str_eq(astr(ip->src), "2001::1");
    ip = decode_frame(&p, "teredo_origin");
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 8);
    ck_assert_int_eq(ip->dport, 1286);
    ip = decode_frame(&p, "teredo_auth");
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 4 + 5 + 9 + 8);
    ip = decode_frame(&p, "teredo_sniffed");
    ck_assert_int_eq(ip->icmp_type, 128);

    ip = decode_frame(&p, "ayiya");
    ck_assert_int_eq(ip->off, 14 + 20 + 8 + 8 + 16 + 20);
    ck_assert_int_eq(ip->sport, 53);

    ip = decode_frame(&p, "vxlan_gre");
    ck_assert_int_eq(p.ip[1].encap, SL_ENCAP_VXLAN);
    ck_assert_int_eq(p.ip[1].proto, 47);
    ck_assert_uint_eq(p.ip[2].tunnel_id, 0x99);
    ck_assert_int_eq(ip->dport, 3000);
    ck_assert_int_eq(p.n_vlan, 0);
}
END_TEST

START_TEST(udp_on_tunnel_ports_that_is_not_a_tunnel)
{
    struct fb *f = &g_fb;
    struct sl_pkt p;
    size_t n;

    /* VXLAN port without the I flag. */
    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 4789, 999);
    fill(f, 30);
    n = done(f);
    ck_assert_int_eq(sl_pkt_decode(&p, f->b, (uint32_t)n, SL_DLT_EN10MB), SL_STOP_L4);
    ck_assert_int_eq(p.n_ip, 1);

    /* Short datagrams on tunnel ports are plain UDP. */
    static const unsigned ports[] = {4789, 6081, 2152, 3544, 5072};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        memset(f, 0, sizeof(*f));
        eth(f, 0x0800);
        ip4(f, 17, H1, H2);
        udp(f, 1, ports[i]);
        p16(f, 0x4000);
        n = done(f);
        ck_assert_int_eq(sl_pkt_decode(&p, f->b, (uint32_t)n, SL_DLT_EN10MB), SL_STOP_L4);
        ck_assert_int_eq(p.n_ip, 1);
        ck_assert_ptr_null(p.weird);
    }

    /* Teredo whose IPv6 length disagrees with the datagram. */
    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 3544, 3544);
    ip6p(f, 17, 0x20010000, 1, 2);
    udp(f, 1, 2);
    n = done(f);
    set16(f, 14 + 28 + 4, 100);
    ck_assert_int_eq(sl_pkt_decode(&p, f->b, (uint32_t)n, SL_DLT_EN10MB), SL_STOP_L4);
    ck_assert_int_eq(p.n_ip, 1);

    /* IPv6-looking UDP payload off-port without Teredo addresses. */
    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 40000, 40001);
    ip6(f, 17, 1, 2);
    udp(f, 1, 2);
    n = done(f);
    ck_assert_int_eq(sl_pkt_decode(&p, f->b, (uint32_t)n, SL_DLT_EN10MB), SL_STOP_L4);
    ck_assert_int_eq(p.n_ip, 1);

    /* A bubble with trailing bytes is Teredo, noted. */
    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, H1, H2);
    udp(f, 3544, 1000);
    ip6p(f, 59, 0x20010000, 1, 2);
    n = done(f);
    fill(f, 4);
    set16(f, 14 + 2, 20 + 8 + 44);
    set16(f, 14 + 20 + 4, 8 + 44);
    ck_assert_int_eq(sl_pkt_decode(&p, f->b, (uint32_t)f->n, SL_DLT_EN10MB), SL_STOP_L4);
    ck_assert_int_eq(p.n_ip, 2);
    ck_assert_str_eq(p.note, "Teredo_bubble_with_payload");
}
END_TEST

START_TEST(ip_in_ip)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "6in4");
    ck_assert_int_eq(p.ip[0].proto, 41);
    ck_assert_int_eq(p.ip[0].version, 4);
    ck_assert_int_eq(ip->version, 6);
    ck_assert_int_eq(ip->off, 34);
    ip = decode_frame(&p, "4in6");
    ck_assert_int_eq(p.ip[0].version, 6);
    ck_assert_int_eq(ip->version, 4);
    ck_assert_int_eq(ip->dport, 12);

    ip = decode_frame(&p, "too_deep");
    ck_assert_int_eq(p.n_ip, SL_PKT_MAX_IP);
    ck_assert_str_eq(p.weird, "exceeded_tunnel_max_depth");
    ck_assert_uint_eq(v4(ip->src), R1 + 3);
}
END_TEST

START_TEST(link_types)
{
    struct sl_pkt p;
    const struct sl_pkt_ip *ip = decode_frame(&p, "raw4");
    ck_assert_int_eq(ip->off, 0);
    ck_assert_int_eq(p.has_mac, 0);
    ip = decode_frame(&p, "null_le");
    ck_assert_int_eq(ip->off, 4);
    ip = decode_frame(&p, "sll");
    ck_assert_int_eq(ip->off, 16);
    ck_assert_int_eq(p.ethertype, 0x0800);
    ck_assert_int_eq(p.has_mac, 0);
    ip = decode_frame(&p, "radiotap");
    ck_assert_int_eq(ip->off, 8 + 24 + 8);
    ck_assert_int_eq(ip->dport, 68);
    ip = decode_frame(&p, "wifi_qos");
    ck_assert_int_eq(ip->off, 26 + 8);
    ip = decode_frame(&p, "ppp");
    ck_assert_int_eq(ip->off, 4);
    ip = decode_frame(&p, "chdlc");
    ck_assert_int_eq(ip->off, 4);

    uint8_t junk[64] = {0x45};
    ck_assert_int_eq(sl_pkt_decode(&p, junk, sizeof(junk), 12345), SL_STOP_WEIRD);
    ck_assert_str_eq(p.weird, "unknown_link_type");
    ck_assert_int_eq(sl_pkt_decode(&p, NULL, 0, SL_DLT_EN10MB), SL_STOP_WEIRD);
    ck_assert_str_eq(p.weird, "truncated_ethernet_frame");
}
END_TEST

/* ---- tests: inconsistencies -------------------------------------------- */

static struct sl_pkt *decode_fb(struct sl_pkt *p, struct fb *f)
{
    sl_pkt_decode(p, f->b, (uint32_t)f->n, SL_DLT_EN10MB);
    return p;
}

START_TEST(ip_inconsistencies)
{
    struct fb *f = &g_fb;
    struct sl_pkt p;

    build(f_eth_ip4_tcp, &f->n);
    f->b[14] = 0x55;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "unknown_ip_version");
    ck_assert_int_eq(p.n_ip, 0);

    build(f_eth_ip4_tcp, &f->n);
    f->b[14] = 0x44;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "IPv4_min_header_size");

    build(f_eth_ip4_tcp, &f->n);
    f->b[14] = 0x4f; /* 60-byte header in a 50-byte packet */
    ck_assert_str_eq(decode_fb(&p, f)->weird, "invalid_IP_header_size");

    build(f_eth_ip4_tcp, &f->n);
    set16(f, 16, 0); /* TSO: total length 0, decode what was captured */
    decode_fb(&p, f);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert_str_eq(p.note, "ip_hdr_len_zero");
    ck_assert_int_eq(p.ip[0].dport, 80);
    ck_assert_int_eq(p.ip[0].payload_len, 10);

    /* The header claims more than the wire had: truncated_IP_len; more than
     * was captured of a longer wire frame: a snaplen cut, no weird. */
    build(f_eth_ip4_tcp, &f->n);
    set16(f, 16, 100);
    sl_pkt_decode_wire(&p, f->b, (uint32_t)f->n, (uint32_t)f->n, SL_DLT_EN10MB);
    ck_assert_str_eq(p.weird, "truncated_IP_len");
    ck_assert_int_eq(p.n_ip, 0);
    sl_pkt_decode_wire(&p, f->b, (uint32_t)f->n, 200, SL_DLT_EN10MB);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert(p.ip[0].flags & SL_IPF_TRUNC);
    ck_assert_int_eq(p.ip[0].tot_len, 100);
    ck_assert_int_eq(p.ip[0].cap_len, 50);
    ck_assert_int_eq(p.ip[0].l4_claimed, 80);
    sl_pkt_decode(&p, f->b, (uint32_t)f->n, SL_DLT_EN10MB);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert(p.ip[0].flags & SL_IPF_TRUNC);

    /* IPv6 extension header longer than the payload length. */
    build(f_ip6_ext, &f->n);
    set16(f, 18, 30);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "invalid_IP_header_size");

    build(f_eth_ip6_udp, &f->n);
    f->b[14 + 6] = 59;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "ipv6_no_next");
    ck_assert_int_eq(p.n_ip, 1);

    /* An inner packet claiming more than its tunnel carries. */
    build(f_6in4, &f->n);
    set16(f, 34 + 4, 200);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "truncated_inner_IP");
    ck_assert_int_eq(p.n_ip, 1);
}
END_TEST

START_TEST(transport_inconsistencies)
{
    struct fb *f = &g_fb;
    struct sl_pkt p;

    build(f_eth_ip4_tcp, &f->n);
    f->b[34 + 12] = 4 << 4;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "bad_TCP_header_len");
    ck_assert_int_eq(p.n_ip, 1);
    /* the ports still stand, without L4, so a balancer keeps the packet with
     * the connection the analyzer files it under */
    ck_assert(p.ip[0].flags & SL_IPF_PORTS);
    ck_assert(!(p.ip[0].flags & SL_IPF_L4));
    ck_assert_int_eq(p.ip[0].sport, (f->b[34] << 8) | f->b[35]);
    ck_assert_int_eq(p.ip[0].dport, (f->b[36] << 8) | f->b[37]);

    build(f_eth_ip4_tcp, &f->n);
    f->b[34 + 12] = 15 << 4; /* 60 bytes of TCP header, 30 present */
    ck_assert_str_eq(decode_fb(&p, f)->weird, "truncated_header");

    build(f_eth_ip4_tcp, &f->n);
    set16(f, 16, 20 + 12); /* IP payload too short for a TCP header */
    ck_assert_str_eq(decode_fb(&p, f)->weird, "truncated_header");

    build(f_eth_ip6_udp, &f->n);
    set16(f, 14 + 40 + 4, 9);
    decode_fb(&p, f);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert_str_eq(p.note, "UDP_datagram_length_mismatch");
    ck_assert_int_eq(p.ip[0].payload_len, 12);
    ck_assert_int_eq(p.ip[0].l4_claimed, 9);

    build(f_icmp_echo, &f->n);
    set16(f, 16, 20 + 4);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "truncated_header");
}
END_TEST

START_TEST(tunnel_inconsistencies)
{
    struct fb *f = &g_fb;
    struct sl_pkt p;

    build(f_gre_ip4, &f->n);
    f->b[34 + 1] = 2;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "unknown_gre_version");
    ck_assert_int_eq(p.n_ip, 1);

    build(f_gre_ip4, &f->n);
    f->b[34] |= 0x40;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "gre_routing");

    build(f_gre_ip4, &f->n);
    f->b[34 + 1] = 0x08;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "unknown_gre_flags");

    build(f_pptp, &f->n);
    set16(f, 34 + 2, 0x0800);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "egre_protocol_type");

    build(f_pptp, &f->n);
    set16(f, 34 + 12 + 2, 0xc021); /* LCP */
    ck_assert_str_eq(decode_fb(&p, f)->weird, "non_ip_packet_in_encap");

    build(f_pptp, &f->n);
    set16(f, 34 + 12 + 2, 0x0057); /* says IPv6, carries IPv4 */
    ck_assert_str_eq(decode_fb(&p, f)->weird, "invalid_inner_IP_version");

    build(f_geneve, &f->n);
    f->b[14 + 40 + 8] |= 0x40;
    ck_assert_str_eq(decode_fb(&p, f)->weird, "geneve_invalid_version");

    /* Empty tunnels. */
    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 1, 4789);
    p32(f, 0x08000000);
    p32(f, 0);
    done(f);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "vxlan_empty_packet");

    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 1, 6081);
    p32(f, 0x00006558);
    p32(f, 0);
    done(f);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "geneve_empty_packet");

    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 1, 5072);
    p32(f, 0x00001129);
    p32(f, 0);
    p8(f, 0);
    done(f);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "ayiya_empty_packet");

    memset(f, 0, sizeof(*f));
    eth(f, 0x0800);
    ip4(f, 17, R1, R2);
    udp(f, 1, 2152);
    p32(f, 0x30ff0000);
    p32(f, 1);
    done(f);
    ck_assert_str_eq(decode_fb(&p, f)->weird, "gtpv1_empty_packet");

    build(f_gtpu, &f->n);
    f->b[14 + 20 + 8 + 16] = 0x15; /* G-PDU that is not IP */
    ck_assert_str_eq(decode_fb(&p, f)->weird, "non_ip_packet_in_encap");
}
END_TEST

/* ---- tests: every truncation point ------------------------------------- */

/* Decoding every prefix of every frame: no read past the cut (ASan), sane
 * output, and a prefix either reports a weird or marks an IP layer
 * truncated: a cut never passes silently. Layers found in a prefix are the
 * full frame's layers. */
START_TEST(every_cut_of_every_frame)
{
    for (size_t i = 0; i < N_FRAMES; i++) {
        const struct frame *fr = &frames[i];
        size_t n;
        build(fr->build, &n);
        uint8_t full[2048];
        memcpy(full, g_fb.b, n);
        struct sl_pkt whole;
        sl_pkt_decode(&whole, full, (uint32_t)n, fr->dlt);
        bool l3 = whole.n_ip > 0 && whole.stop != SL_STOP_WEIRD;

        for (size_t cut = 0; cut < n; cut++) {
            char what[96];
            snprintf(what, sizeof(what), "%s cut at %zu of %zu", fr->name, cut, n);
            struct sl_pkt p;
            for (int w = 0; w < 3; w++) {
                /* wire length unknown, the full frame (snaplen cut), or the
                 * cut itself (a frame that really was that short) */
                uint32_t wire = w == 0 ? 0 : w == 1 ? (uint32_t)n : (uint32_t)cut;
                int r = decode_cut(&p, full, cut, wire, fr->dlt);
                check_sane(&p, r, cut, what);
                ck_assert_msg(p.n_ip <= whole.n_ip, "%s: more layers than whole", what);
                for (int k = 0; k < p.n_ip; k++) {
                    ck_assert_msg(!memcmp(p.ip[k].src, whole.ip[k].src, 16), "%s", what);
                    ck_assert_msg(p.ip[k].off == whole.ip[k].off, "%s", what);
                }
                if (!l3 || w == 2)
                    continue;
                bool trunc = false;
                for (int k = 0; k < p.n_ip; k++)
                    trunc |= (p.ip[k].flags & SL_IPF_TRUNC) != 0;
                ck_assert_msg(p.stop == SL_STOP_WEIRD || trunc, "%s: silent (stop %d)", what,
                              p.stop);
            }
        }
    }
}
END_TEST

/* The straight-line fast path and the general walk give the same output. */
static void check_agree(const uint8_t *b, size_t len, uint32_t wire, int dlt, const char *what)
{
    struct sl_pkt a, g;
    memset(&a, 0xa5, sizeof(a));
    memset(&g, 0x5a, sizeof(g));
    int ra = sl_pkt_decode_wire(&a, b, (uint32_t)len, wire, dlt);
    int rg = sl_pkt_decode_general(&g, b, (uint32_t)len, wire, dlt);
    ck_assert_msg(ra == rg, "%s: %d vs %d", what, ra, rg);
    size_t from = offsetof(struct sl_pkt, eth_off), to = offsetof(struct sl_pkt, weird);
    ck_assert_msg(!memcmp((char *)&a + from, (char *)&g + from, to - from), "%s: summary", what);
    ck_assert_msg(a.weird == g.weird && a.note == g.note, "%s: weird/note", what);
    for (int k = 0; k < a.n_ip; k++) {
        ck_assert_msg(!memcmp(&a.ip[k], &g.ip[k], offsetof(struct sl_pkt_ip, quoted)),
                      "%s: layer %d differs", what, k);
        if (a.ip[k].flags & SL_IPF_ICMP_ERR)
            ck_assert_msg(!memcmp(&a.ip[k].quoted, &g.ip[k].quoted, sizeof(a.ip[k].quoted)),
                          "%s: quote %d differs", what, k);
    }
}

START_TEST(fast_path_agrees_with_general)
{
    for (size_t i = 0; i < N_FRAMES; i++) {
        size_t n;
        build(frames[i].build, &n);
        for (size_t cut = 0; cut <= n; cut++) {
            check_agree(g_fb.b, cut, 0, frames[i].dlt, frames[i].name);
            check_agree(g_fb.b, cut, (uint32_t)n, frames[i].dlt, frames[i].name);
            check_agree(g_fb.b, cut, (uint32_t)cut, frames[i].dlt, frames[i].name);
        }
    }
    /* Variations the fast path must hand over: padding, options, fragments,
     * TCP options, UDP length mismatch, tunnel ports, TSO length 0. */
    static const struct {
        size_t at;
        uint8_t v;
    } pokes[] = {{14, 0x46}, {20, 0x20}, {21, 0x01}, {46, 0x60}, {46, 0x40}, {16, 0},
                 {17, 0x20}, {23, 17},   {23, 1},    {36, 0x12}, {37, 0xb5}, {22, 0}};
    for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
        size_t n;
        build(f_eth_ip4_tcp, &n);
        g_fb.b[pokes[i].at] = pokes[i].v;
        for (size_t pad = 0; pad < 8; pad++)
            check_agree(g_fb.b, n + pad, 0, SL_DLT_EN10MB, "poked");
    }
}
END_TEST

struct cut_weird {
    const char *frame;
    size_t cut;
    const char *weird;
};

/* The weird expected where a cut falls inside each header. Offsets count
 * from the start of the frame. */
static const struct cut_weird cut_weirds[] = {
    {"eth_ip4_tcp", 0, "truncated_ethernet_frame"},
    {"eth_ip4_tcp", 13, "truncated_ethernet_frame"},
    {"eth_ip4_tcp", 14, "truncated_IP"},
    {"eth_ip4_tcp", 33, "truncated_IP"},
    {"eth_ip4_tcp", 34, "internally_truncated_header"},
    {"eth_ip4_tcp", 53, "internally_truncated_header"},
    {"eth_ip6_udp", 53, "truncated_IP"},
    {"eth_ip6_udp", 61, "internally_truncated_header"},
    {"vlan", 17, "truncated_VLAN_header"},
    {"qinq", 21, "truncated_VLAN_header"},
    {"mpls_ip4", 17, "truncated_link_header"},
    {"mpls_ip4", 21, "truncated_link_header"},
    {"mpls_ip4", 22, "truncated_IP"},
    {"pppoe_ip4", 21, "truncated_pppoe_header"},
    {"vntag", 19, "truncated_vntag_header"},
    {"snap", 16, "truncated_snap_llc_header"},
    {"snap", 21, "truncated_snap_header"},
    {"stp", 15, "truncated_ethernet_frame"},
    {"fabricpath", 20, "truncated_link_header_cfp"},
    {"ip4_opts", 40, "internally_truncated_header"},
    {"ip6_ext", 60, "internally_truncated_header"},
    {"ip6_ext", 90, "internally_truncated_header"},
    {"ip6_frag_first", 60, "internally_truncated_header"},
    {"icmp_echo", 40, "internally_truncated_header"},
    {"sctp", 45, "internally_truncated_header"},
    {"gre_ip4", 37, "truncated_GRE"},
    {"gre_ip4", 49, "truncated_GRE"},
    {"gre_ip4", 50, "truncated_IP"},
    {"gre_teb", 45, "truncated_GRE"},
    {"erspan2", 50, "truncated_GRE"},
    {"erspan3", 50, "truncated_GRE"},
    {"erspan3_plat", 70, "truncated_GRE"},
    {"pptp", 47, "truncated_GRE"},
    {"pptp", 49, "truncated_GRE"},
    {"vxlan", 45, "truncated_VXLAN"},
    {"vxlan", 55, "truncated_ethernet_frame"},
    {"vxlan", 70, "truncated_IP"},
    {"geneve", 65, "truncated_Geneve"},
    {"geneve", 75, "truncated_Geneve"},
    {"gtpu", 45, "truncated_GTPv1"},
    {"gtpu", 52, "truncated_GTPv1"},
    {"gtpu", 57, "truncated_GTPv1"},
    {"gtp_echo", 45, "truncated_GTPv1"},
    {"teredo_origin", 43, "truncated_Teredo"},
    {"teredo_origin", 46, "truncated_Teredo_origin_indication"},
    {"teredo_origin", 60, "truncated_IPv6_in_Teredo"},
    {"teredo_auth", 44, "truncated_Teredo_authentication"},
    {"teredo_auth", 50, "truncated_Teredo_authentication"},
    {"teredo_bubble", 60, "truncated_IPv6_in_Teredo"},
    {"ayiya", 45, "truncated_AYIYA"},
    {"ayiya", 70, "truncated_AYIYA"},
    {"4in4", 40, "truncated_IP"},
    {"too_deep", 80, "truncated_IP"},
    {"null_le", 3, "null_analyzer_failed"},
    {"loop6", 2, "null_analyzer_failed"},
    {"sll", 15, "truncated_Linux_SLL_header"},
    {"radiotap", 3, "truncated_radiotap_header"},
    {"radiotap", 7, "truncated_radiotap_header"},
    {"radiotap", 20, "truncated_802_11_header"},
    {"radiotap", 35, "truncated_802_11_llc_header"},
    {"wifi_qos", 25, "truncated_802_11_header"},
    {"ppp", 3, "truncated_ppp_header"},
    {"ppp_serial6", 3, "truncated_ppp_serial_header"},
};

START_TEST(weird_at_each_header_cut)
{
    for (size_t i = 0; i < sizeof(cut_weirds) / sizeof(cut_weirds[0]); i++) {
        const struct cut_weird *cw = &cut_weirds[i];
        const struct frame *fr = NULL;
        for (size_t k = 0; k < N_FRAMES; k++)
            if (!strcmp(frames[k].name, cw->frame))
                fr = &frames[k];
        ck_assert_ptr_nonnull(fr);
        size_t n;
        const uint8_t *b = build(fr->build, &n);
        ck_assert_uint_lt(cw->cut, n);
        struct sl_pkt p;
        /* As a snaplen cut of the full frame. */
        decode_cut(&p, b, cw->cut, (uint32_t)n, fr->dlt);
        ck_assert_msg(p.weird && !strcmp(p.weird, cw->weird), "%s cut at %zu: weird %s, want %s",
                      cw->frame, cw->cut, p.weird ? p.weird : "(none)", cw->weird);
    }
}
END_TEST

/* A frame that really was short (wire length = cut) with a complete IP
 * header is truncated_IP_len; the same cut by snaplen is not a weird. */
START_TEST(wire_length_tells_short_frames_from_snaplen)
{
    size_t n;
    const uint8_t *b = build(f_eth_ip4_tcp, &n);
    struct sl_pkt p;
    decode_cut(&p, b, 40, 40, SL_DLT_EN10MB);
    ck_assert_str_eq(p.weird, "truncated_IP_len");
    decode_cut(&p, b, 54, (uint32_t)n, SL_DLT_EN10MB);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert(p.ip[0].flags & SL_IPF_TRUNC);
    ck_assert_int_eq(p.ip[0].payload_len, 0);
    ck_assert_int_eq(p.ip[0].dport, 80);

    /* A cut inside a VXLAN inner packet: the inner layer is truncated too. */
    b = build(f_vxlan, &n);
    decode_cut(&p, b, n - 3, (uint32_t)n, SL_DLT_EN10MB);
    ck_assert_int_eq(p.stop, SL_STOP_L4);
    ck_assert_int_eq(p.n_ip, 2);
    ck_assert(p.ip[0].flags & SL_IPF_TRUNC);
    ck_assert(p.ip[1].flags & SL_IPF_TRUNC);
    ck_assert_int_eq(p.ip[1].payload_len, 3);
}
END_TEST

/* Random bytes under every link type: the decoder must stay in bounds. */
START_TEST(random_frames_stay_in_bounds)
{
    static const int dlts[] = {
        SL_DLT_EN10MB,           SL_DLT_RAW, SL_DLT_NULL,      SL_DLT_LINUX_SLL,
        SL_DLT_IEEE802_11_RADIO, SL_DLT_PPP, SL_DLT_PPP_SERIAL};
    uint32_t seed = 12345;
    for (int it = 0; it < 20000; it++) {
        size_t n;
        const struct frame *fr = &frames[it % N_FRAMES];
        const uint8_t *b = build(fr->build, &n);
        uint8_t buf[2048];
        memcpy(buf, b, n);
        /* Flip a few bytes of a valid frame so the walk goes deep. */
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245 + 12345;
            buf[(seed >> 8) % n] = (uint8_t)(seed >> 16);
        }
        seed = seed * 1103515245 + 12345;
        size_t cut = (seed >> 8) % (n + 1);
        int dlt = (it % 7 == 0) ? dlts[(seed >> 4) % 7] : fr->dlt;
        struct sl_pkt p;
        int r = decode_cut(&p, buf, cut, 0, dlt);
        check_sane(&p, r, cut, fr->name);
        check_agree(buf, cut, (uint32_t)n, dlt, fr->name);
    }
}
END_TEST

START_TEST(names_and_addresses)
{
    ck_assert_str_eq(sl_pkt_encap_name(SL_ENCAP_NONE), "none");
    ck_assert_str_eq(sl_pkt_encap_name(SL_ENCAP_GRE), "gre");
    ck_assert_str_eq(sl_pkt_encap_name(SL_ENCAP_VXLAN), "vxlan");
    ck_assert_str_eq(sl_pkt_encap_name(SL_ENCAP_GTPU), "gtpu");
    ck_assert_str_eq(sl_pkt_encap_name(SL_ENCAP_AYIYA), "ayiya");
    ck_assert_str_eq(sl_pkt_encap_name((enum sl_encap)99), "unknown");

    uint8_t a[16] = {0};
    char buf[64];
    ck_assert_str_eq(sl_pkt_addr_str(a, buf, sizeof(buf)), "::");
    a[15] = 1;
    ck_assert_str_eq(sl_pkt_addr_str(a, buf, sizeof(buf)), "::1");
    uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
    ck_assert(sl_pkt_addr_is_v4(m));
    ck_assert_str_eq(sl_pkt_addr_str(m, buf, sizeof(buf)), "10.1.2.3");
    /* RFC 5952: longest zero run compressed, lower case, no leading zeros. */
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    ck_assert(!sl_pkt_addr_is_v4(v6));
    ck_assert_str_eq(sl_pkt_addr_str(v6, buf, sizeof(buf)), "2001:db8::1:0:0:1");
    uint8_t v6b[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 0, 0, 0, 0x0e, 0xf0};
    ck_assert_str_eq(sl_pkt_addr_str(v6b, buf, sizeof(buf)), "fe80::abcd:0:0:ef0");
    /* Too small a buffer gives an empty string, never an overflow. */
    char tiny[4];
    ck_assert_str_eq(sl_pkt_addr_str(v6, tiny, sizeof(tiny)), "");
}
END_TEST

/* ---- real traces ---------------------------------------------------------- */

static bool shared_traces_dir(char *out, size_t outlen)
{
    const char *env = getenv("SL_SHARED_DIR");
    char root[1024];
    if (env && *env) {
        snprintf(out, outlen, "%s/zeek-conformance/traces", env);
    } else {
        /* The source root, from this file's path as the compiler saw it
         * (relative to the build directory meson runs tests in). */
        snprintf(root, sizeof(root), "%s", __FILE__);
        char *s = strstr(root, "test/unit/test_pkt.c");
        if (!s)
            return false;
        *s = '\0';
        snprintf(out, outlen, "%s%s../shared/zeek-conformance/traces", root, *root ? "" : "./");
    }
    struct stat st;
    return stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Each trace of Zeek's suite named after a tunnel or L2 feature must show
 * that feature somewhere; every packet must decode sanely. */
START_TEST(zeek_traces)
{
    char dir[1200];
    if (!shared_traces_dir(dir, sizeof(dir))) {
        printf("zeek_traces: SKIP: no ../shared/zeek-conformance/traces (set SL_SHARED_DIR)\n");
        return;
    }
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    long files = 0, pkts = 0, weirds = 0, by_stop[5] = {0};
    static const struct {
        const char *key;
        int encap;
    } want[] = {{"erspan", SL_ENCAP_ERSPAN}, {"geneve", SL_ENCAP_GENEVE},
                {"vxlan", SL_ENCAP_VXLAN},   {"gre", SL_ENCAP_GRE},
                {"gtp", SL_ENCAP_GTPU},      {"teredo", SL_ENCAP_TEREDO},
                {"ayiya", SL_ENCAP_AYIYA}};
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1600], err[PCAP_ERRBUF_SIZE];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        pcap_t *pc = pcap_open_offline(path, err);
        ck_assert_msg(pc != NULL, "%s: %s", path, err);
        int dlt = pcap_datalink(pc);
        struct pcap_pkthdr *h;
        const u_char *data;
        long n = 0, encaps[SL_ENCAP_MAX] = {0}, vlan2 = 0, mpls = 0, pppoe = 0, vntag = 0;
        while (pcap_next_ex(pc, &h, &data) == 1) {
            struct sl_pkt p;
            int r = decode_cut(&p, data, h->caplen, h->len, dlt);
            check_sane(&p, r, h->caplen, e->d_name);
            n++;
            by_stop[p.stop]++;
            weirds += p.weird != NULL;
            for (int k = 0; k < p.n_ip; k++)
                encaps[p.ip[k].encap]++;
            vlan2 += p.n_vlan >= 2;
            mpls += p.n_mpls > 0;
            pppoe += p.pppoe;
            vntag += p.vntag;
        }
        pcap_close(pc);
        ck_assert_msg(n > 0, "%s: no packets", e->d_name);
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
            if (strstr(e->d_name, want[k].key))
                ck_assert_msg(encaps[want[k].encap] > 0, "%s: no %s layer", e->d_name,
                              sl_pkt_encap_name(want[k].encap));
        if (strstr(e->d_name, "q-in-q"))
            ck_assert_msg(vlan2 > 0, "%s: no QinQ", e->d_name);
        if (strstr(e->d_name, "mpls"))
            ck_assert_msg(mpls > 0, "%s: no MPLS", e->d_name);
        if (strstr(e->d_name, "pppoe"))
            ck_assert_msg(pppoe > 0, "%s: no PPPoE", e->d_name);
        if (strstr(e->d_name, "vntag"))
            ck_assert_msg(vntag > 0, "%s: no VN-tag", e->d_name);
        files++;
        pkts += n;
    }
    closedir(d);
    printf("zeek_traces: %ld files, %ld packets: %ld L4, %ld weird, %ld non-IP, %ld unknown "
           "proto, %ld fragments\n",
           files, pkts, by_stop[SL_STOP_L4], weirds, by_stop[SL_STOP_NON_IP],
           by_stop[SL_STOP_UNKNOWN_PROTO], by_stop[SL_STOP_FRAGMENT]);
    ck_assert_int_gt(files, 0);
}
END_TEST

static Suite *pkt_suite(void)
{
    Suite *s = suite_create("pkt");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, all_frames_decode_as_expected);
    tcase_add_test(tc, eth_ip4_tcp_fields);
    tcase_add_test(tc, ethernet_padding_is_not_payload);
    tcase_add_test(tc, ip6_udp_fields);
    tcase_add_test(tc, vlan_tags);
    tcase_add_test(tc, mpls_pppoe_vntag);
    tcase_add_test(tc, non_ip_and_unknown_proto);
    tcase_add_test(tc, ip_options_and_extension_headers);
    tcase_add_test(tc, fragments_v4);
    tcase_add_test(tc, fragments_v6);
    tcase_add_test(tc, icmp_errors_quote_the_flow);
    tcase_add_test(tc, sctp_ports);
    tcase_add_test(tc, gre_tunnels);
    tcase_add_test(tc, udp_tunnels);
    tcase_add_test(tc, udp_on_tunnel_ports_that_is_not_a_tunnel);
    tcase_add_test(tc, ip_in_ip);
    tcase_add_test(tc, link_types);
    tcase_add_test(tc, ip_inconsistencies);
    tcase_add_test(tc, transport_inconsistencies);
    tcase_add_test(tc, tunnel_inconsistencies);
    tcase_add_test(tc, names_and_addresses);
    suite_add_tcase(s, tc);

    TCase *tt = tcase_create("truncation");
    tcase_add_test(tt, every_cut_of_every_frame);
    tcase_add_test(tt, weird_at_each_header_cut);
    tcase_add_test(tt, wire_length_tells_short_frames_from_snaplen);
    tcase_add_test(tt, random_frames_stay_in_bounds);
    tcase_add_test(tt, fast_path_agrees_with_general);
    suite_add_tcase(s, tt);

    TCase *tr = tcase_create("traces");
    tcase_add_test(tr, zeek_traces);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pkt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
