/* sl_pkt: frame decoder. See sl_pkt.h for the contract.
 *
 * The walk is a small state machine (link -> Ethernet -> ethertype chain ->
 * IP -> transport/tunnel -> IP or Ethernet again ...) over a cursor that
 * never moves past `end`. Each IP layer narrows the cursor to the bytes its
 * header claims, so Ethernet padding and trailing junk are never taken for
 * payload, and each tunnel decodes inside its outer packet's bounds.
 *
 * Two bounds are tracked: `end`, the bytes captured for the current layer,
 * and `wend`, the bytes the enclosing headers claim. A header that needs more
 * than `end` but not more than `wend` was cut by the capture (snaplen); one
 * that claims more than `wend` is inconsistent. The outermost `wend` is the
 * wire length when the caller knows it, else unbounded.
 *
 * Weird names. Zeek's name where Zeek has one (src/packet_analysis/protocol/
 * and src/IP.cc, zeek 8.0); names marked (own) are ours, for conditions Zeek
 * reports as an analyzer violation or not at all, spelt in Zeek's style.
 *
 *   link layers
 *     truncated_ethernet_frame        Ethernet header, or 802.3 LLC bytes, cut
 *     truncated_link_header_cfp       Cisco FabricPath header cut
 *     undefined_ether_type            ethertype 1501..1535
 *     truncated_VLAN_header           802.1Q/802.1ad/QinQ tag cut
 *     undefined_vlan_protocol         ethertype 1501..1535 after a tag
 *     truncated_link_header           MPLS label stack cut
 *     truncated_pppoe_header          PPPoE session header cut
 *     pppoe_extra_data_after_payload  (note) PPPoE length < bytes present
 *     pppoe_truncated_payload         (note) PPPoE length > bytes present
 *     truncated_vntag_header          VN-tag cut
 *     truncated_snap_llc_header       802.2 LLC before SNAP cut
 *     truncated_snap_header           SNAP header cut
 *     truncated_llc_header            802.2 LLC header cut
 *     null_analyzer_failed            DLT_NULL/LOOP family word cut
 *     truncated_Linux_SLL_header      Linux cooked header cut
 *     truncated_radiotap_header       radiotap header cut
 *     truncated_802_11_header         802.11 MAC header cut
 *     truncated_802_11_amsdu_header   A-MSDU subframe header cut
 *     truncated_802_11_amsdu_packet   A-MSDU subframe longer than the frame
 *     truncated_802_11_llc_header     LLC/SNAP after 802.11 cut
 *     truncated_ppp_header            DLT_PPP protocol field cut
 *     truncated_ppp_serial_header     DLT_PPP_SERIAL header cut
 *     unknown_link_type               (own) a DLT the decoder does not take
 *   IP
 *     truncated_IP                    fewer than 20 (v4) / 40 (v6) bytes
 *     unknown_ip_version              version nibble not 4 or 6
 *     ip_hdr_len_zero                 (note) IPv4 total length 0 (TSO); the
 *                                     captured bytes are used instead, as
 *                                     Zeek does with -C
 *     truncated_IP_len                total length > bytes on the wire
 *     truncated_inner_IP              inner IP claims more than its tunnel
 *     invalid_IP_header_size          header (options / IPv6 extension
 *                                     headers) longer than the total length
 *     internally_truncated_header     header cut by the capture (IP options,
 *                                     IPv6 extension headers, transport)
 *     IPv4_min_header_size            IHL < 5
 *     incompletely_captured_fragment  (note) fragment cut by the capture
 *     ipv6_no_next                    next header 59 outside Teredo
 *     exceeded_tunnel_max_depth       more than SL_PKT_MAX_IP IP layers
 *     invalid_inner_IP_version        PPTP inner packet not the IP version
 *                                     its PPP protocol number announces
 *   transport
 *     truncated_header                IP payload shorter than the transport
 *                                     header, or TCP options past it
 *     bad_TCP_header_len              TCP data offset < 5
 *     UDP_datagram_length_mismatch    (note) UDP length != IP payload length
 *   tunnels
 *     truncated_GRE, unknown_gre_version, egre_protocol_type, gre_routing,
 *     unknown_gre_flags
 *     non_ip_packet_in_encap          PPTP payload that is not IP (LCP, ...),
 *                                     GTP G-PDU that is not IP
 *     truncated_VXLAN (own), vxlan_empty_packet
 *     truncated_Geneve (own), geneve_invalid_version, geneve_empty_packet
 *     truncated_GTPv1 (own), gtpv1_empty_packet (own)
 *     truncated_Teredo, truncated_Teredo_origin_indication,
 *     truncated_Teredo_authentication, truncated_IPv6_in_Teredo,
 *     Teredo_bubble_with_payload (note)
 *     truncated_AYIYA (own), ayiya_empty_packet
 *
 * A UDP tunnel is recognised by port (either end), and Teredo also by shape
 * on any port, as Zeek's dynamic protocol detection finds relayed Teredo. A
 * payload that does not fit the tunnel's shape even by its claimed length
 * (VXLAN without the I flag, GTP that is not GTPv1-U, Teredo whose IPv6
 * length does not add up, ...) is plain UDP, the way Zeek gives up on it with
 * an analyzer violation.
 *
 * Plain Ethernet(/802.1Q)/IPv4/TCP|UDP takes a straight-line fast path
 * (fast_eth_ip4) with the same output as the walk; tests and the fuzzer
 * compare the two.
 */
#include "sl_pkt.h"
#include "sl_flow.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#define NO_WEND   UINT32_MAX
#define MAX_FRAME 65535u /* offsets are 16 bits */

enum { ST_DONE, ST_ETH, ST_ETYPE, ST_IP, ST_80211 };

struct dec {
    struct sl_pkt *p;
    const uint8_t *d;
    uint32_t off;  /* cursor */
    uint32_t end;  /* captured bytes usable by the current layer */
    uint32_t wend; /* bytes the enclosing headers claim, NO_WEND when unknown */
    uint32_t tid;  /* tunnel id for the next IP layer */
    uint16_t etype;
    uint8_t encap; /* enum sl_encap of the next IP layer */
    uint8_t inner; /* past a tunnel: the outer L2 fields of p stay as they are */
};

static inline uint16_t be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static inline uint32_t avail(const struct dec *c)
{
    return c->end - c->off;
}

/* Bytes the enclosing headers claim from the cursor on. */
static inline uint32_t claimed(const struct dec *c)
{
    return c->wend == NO_WEND ? NO_WEND : c->wend - c->off;
}

/* OVS-style data_try_pull(): the next n bytes, or NULL (cursor unmoved) when
 * fewer are left. */
static inline const uint8_t *pull(struct dec *c, uint32_t n)
{
    if (c->end - c->off < n)
        return NULL;
    const uint8_t *r = c->d + c->off;
    c->off += n;
    return r;
}

static inline const uint8_t *peek(const struct dec *c, uint32_t n)
{
    return c->end - c->off < n ? NULL : c->d + c->off;
}

static int halt(struct dec *c, const char *weird)
{
    c->p->stop = SL_STOP_WEIRD;
    c->p->weird = weird;
    return ST_DONE;
}

static int finish(struct dec *c, enum sl_pkt_stop s)
{
    c->p->stop = (uint8_t)s;
    return ST_DONE;
}

static void note(struct dec *c, const char *weird)
{
    if (!c->p->note)
        c->p->note = weird;
}

/* A tunnel header of n bytes at the cursor: present (1), cut by the capture
 * (weird, -1), or not there even by the claimed length, i.e. not this tunnel
 * (0). */
static int tunnel_hdr(struct dec *c, uint32_t n, const char *weird)
{
    if (avail(c) >= n)
        return 1;
    if (claimed(c) < n)
        return 0;
    halt(c, weird);
    return -1;
}

/* Enters a tunnel whose payload starts at the cursor. */
static void enter_tunnel(struct dec *c, enum sl_encap e, uint32_t tid)
{
    c->encap = (uint8_t)e;
    c->tid = tid;
    c->inner = 1;
}

/* ---- L2 ---------------------------------------------------------------- */

/* 802.3 length field `len` at the cursor: LLC, maybe SNAP carrying an
 * ethertype. */
static int dec_8023(struct dec *c, uint32_t len, const char *trunc)
{
    if (avail(c) < 2)
        return halt(c, trunc);
    c->end = c->off + min_u32(avail(c), len);
    const uint8_t *l = c->d + c->off;
    if (l[0] != 0xaa || l[1] != 0xaa) {
        if (avail(c) < 3)
            return halt(c, "truncated_llc_header");
        return finish(c, SL_STOP_NON_IP); /* STP, NetBIOS, IPX, ... */
    }
    if (avail(c) < 3)
        return halt(c, "truncated_snap_llc_header");
    uint32_t llc = (l[2] & 3) == 3 ? 3 : 4;
    if (avail(c) < llc + 5)
        return halt(c, "truncated_snap_header");
    const uint8_t *s = l + llc;
    c->off += llc + 5;
    if (s[0] | s[1] | s[2]) /* only OUI 0 carries an ethertype */
        return finish(c, SL_STOP_NON_IP);
    c->etype = be16(s + 3);
    if (c->etype < 1536)
        return finish(c, SL_STOP_NON_IP);
    return ST_ETYPE;
}

static int dec_eth(struct dec *c)
{
    uint32_t start = c->off;
    const uint8_t *h = pull(c, 14);
    if (!h)
        return halt(c, "truncated_ethernet_frame");
    uint16_t et = be16(h + 12);
    if (et == 0x8903) {
        /* Cisco FabricPath: a 16-byte outer header, then the classic frame. */
        if (c->end - start < 16 + 14)
            return halt(c, "truncated_link_header_cfp");
        start += 16;
        c->off = start;
        h = pull(c, 14);
        et = be16(h + 12);
    }
    if (!c->inner) {
        c->p->eth_off = (uint16_t)start;
        c->p->has_mac = 1;
        c->p->ethertype = et;
    }
    if (et >= 1536) {
        c->etype = et;
        return ST_ETYPE;
    }
    if (et <= 1500)
        return dec_8023(c, et, "truncated_ethernet_frame");
    return halt(c, "undefined_ether_type");
}

static int dec_mpls(struct dec *c)
{
    for (;;) {
        const uint8_t *l = pull(c, 4);
        if (!l)
            return halt(c, "truncated_link_header");
        if (!c->inner && c->p->n_mpls < UINT8_MAX)
            c->p->n_mpls++;
        if (l[2] & 1)
            break;
    }
    /* RFC 3032 does not say what follows the stack: guess IP by its version
     * nibble, as Zeek does; anything else is reported by the IP layer. */
    return ST_IP;
}

/* PPP protocol number to the next state. */
static int ppp_next(struct dec *c, uint16_t proto)
{
    switch (proto) {
    case 0x0021:
    case 0x0057:
        return ST_IP;
    case 0x0281:
    case 0x0283:
        c->etype = 0x8847;
        return ST_ETYPE;
    default:
        return finish(c, SL_STOP_NON_IP);
    }
}

static int dec_pppoe(struct dec *c)
{
    const uint8_t *h = pull(c, 8);
    if (!h)
        return halt(c, "truncated_pppoe_header");
    uint32_t plen = be16(h + 4);
    uint32_t present = avail(c) + 2; /* PPPoE length counts the PPP protocol */
    if (plen < present)
        note(c, "pppoe_extra_data_after_payload");
    else if (plen > present)
        note(c, "pppoe_truncated_payload");
    uint32_t body = plen >= 2 ? plen - 2 : 0;
    c->end = c->off + min_u32(avail(c), body);
    if (!c->inner)
        c->p->pppoe = 1;
    return ppp_next(c, be16(h + 6));
}

static int dec_etype(struct dec *c)
{
    for (;;) {
        uint16_t et = c->etype;
        if (!c->inner)
            c->p->ethertype = et;
        switch (et) {
        case 0x0800:
        case 0x86dd:
            return ST_IP;
        case 0x8100:
        case 0x88a8:
        case 0x9100:
        case 0x9200:
        case 0x9300: {
            const uint8_t *t = pull(c, 4);
            if (!t)
                return halt(c, "truncated_VLAN_header");
            if (!c->inner) {
                struct sl_pkt *p = c->p;
                if (p->n_vlan < SL_PKT_MAX_VLAN)
                    p->vlan[p->n_vlan] = be16(t) & 0x0fff;
                if (p->n_vlan < UINT8_MAX)
                    p->n_vlan++;
            }
            uint16_t next = be16(t + 2);
            if (next <= 1500)
                return dec_8023(c, next, "truncated_VLAN_header");
            if (next < 1536)
                return halt(c, "undefined_vlan_protocol");
            c->etype = next;
            continue;
        }
        case 0x8847:
        case 0x8848:
            return dec_mpls(c);
        case 0x8864:
            return dec_pppoe(c);
        case 0x8926: {
            const uint8_t *t = pull(c, 6);
            if (!t)
                return halt(c, "truncated_vntag_header");
            if (!c->inner)
                c->p->vntag = 1;
            c->etype = be16(t + 4);
            if (c->etype < 1536)
                return finish(c, SL_STOP_NON_IP);
            continue;
        }
        default:
            return finish(c, SL_STOP_NON_IP);
        }
    }
}

static int dec_80211(struct dec *c)
{
    const uint8_t *h = peek(c, 24);
    if (!h)
        return halt(c, "truncated_802_11_header");
    uint8_t fc = h[0], fl = h[1];
    /* Management and control frames, data subtypes without data (null
     * function), and protected (encrypted) frames carry nothing to decode. */
    if (((fc >> 2) & 3) != 2 || (fc & 0x40) || (fl & 0x40))
        return finish(c, SL_STOP_NON_IP);
    uint32_t hl = 24;
    if ((fl & 3) == 3)
        hl += 6;
    bool amsdu = false;
    if (fc & 0x80) { /* QoS data */
        if (avail(c) < hl + 2)
            return halt(c, "truncated_802_11_header");
        amsdu = (h[hl] & 0x80) != 0;
        hl += 2;
        if (fl & 0x80) /* +HTC */
            hl += 4;
    }
    if (!pull(c, hl))
        return halt(c, "truncated_802_11_header");
    if (amsdu) {
        /* Only the first subframe: one flow per frame is what a balancer
         * can use. */
        const uint8_t *s = pull(c, 14);
        if (!s)
            return halt(c, "truncated_802_11_amsdu_header");
        uint32_t slen = be16(s + 12);
        if (slen > avail(c))
            return halt(c, "truncated_802_11_amsdu_packet");
        c->end = c->off + slen;
    }
    const uint8_t *l = pull(c, 8);
    if (!l)
        return halt(c, "truncated_802_11_llc_header");
    if (l[0] != 0xaa || l[1] != 0xaa || l[2] != 0x03)
        return finish(c, SL_STOP_NON_IP);
    c->etype = be16(l + 6);
    return ST_ETYPE;
}

/* ---- transport --------------------------------------------------------- */

/* Zeek's IPBasedAnalyzer::CheckHeaderTrunc(): the IP payload claims fewer
 * bytes than the header needs (truncated_header), or the capture holds fewer
 * (internally_truncated_header). `claim` 0 means the IP length was unusable. */
static bool l4_short(struct dec *c, uint32_t need, uint32_t claim, uint32_t have)
{
    if (claim && claim < need) {
        halt(c, "truncated_header");
        return true;
    }
    if (have < need) {
        halt(c, "internally_truncated_header");
        return true;
    }
    return false;
}

static bool icmp_is_error(uint8_t version_proto, uint8_t type)
{
    if (version_proto == 1)
        return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    return type >= 1 && type <= 4; /* ICMPv6 errors */
}

/* The flow of the packet an ICMP error quotes (`q`, `n` bytes present). */
static void icmp_quote(struct sl_pkt_ip *ip, const uint8_t *q, uint32_t n)
{
    struct sl_pkt_quoted *o = &ip->quoted;
    uint32_t l4;
    uint8_t proto;
    bool later_frag;

    if (n < 20)
        return;
    if ((q[0] >> 4) == 4) {
        l4 = (q[0] & 15) * 4u;
        if (l4 < 20 || l4 > n)
            return;
        proto = q[9];
        later_frag = (be16(q + 6) & 0x1fff) != 0;
        o->version = 4;
        sl_pkt_addr_from_v4(o->src, q + 12);
        sl_pkt_addr_from_v4(o->dst, q + 16);
    } else if ((q[0] >> 4) == 6 && n >= 40) {
        l4 = 40;
        proto = q[6];
        later_frag = false;
        /* Extension headers inside the quote, as far as it goes. */
        while (l4 + 8 <= n && !later_frag) {
            const uint8_t *x = q + l4;
            if (proto == 0 || proto == 43 || proto == 60)
                l4 += 8 + 8u * x[1];
            else if (proto == 51)
                l4 += 8 + 4u * x[1];
            else if (proto == 44) {
                later_frag = (be16(x + 2) & 0xfff8) != 0;
                l4 += 8;
            } else
                break;
            proto = x[0];
        }
        o->version = 6;
        memcpy(o->src, q + 8, 16);
        memcpy(o->dst, q + 24, 16);
    } else {
        return;
    }
    o->proto = proto;
    o->sport = o->dport = 0;
    if (!later_frag && l4 <= n) {
        const uint8_t *t = q + l4;
        if ((proto == 6 || proto == 17 || proto == 132) && n - l4 >= 4) {
            o->sport = be16(t);
            o->dport = be16(t + 2);
        } else if ((proto == 1 || proto == 58) && n - l4 >= 2) {
            o->sport = t[0];
            o->dport = t[1];
        }
    }
    ip->flags |= SL_IPF_ICMP_ERR;
}

static int dec_gre(struct dec *c)
{
    const uint8_t *g = peek(c, 4);
    if (!g)
        return halt(c, "truncated_GRE");
    uint16_t fv = be16(g), pt = be16(g + 2);
    unsigned ver = fv & 7;
    if (ver > 1)
        return halt(c, "unknown_gre_version");
    if (ver == 1 && pt != 0x880b)
        return halt(c, "egre_protocol_type");
    if (fv & 0x4000)
        return halt(c, "gre_routing");
    if (fv & 0x0078)
        return halt(c, "unknown_gre_flags");
    uint32_t koff = (fv & 0x8000) ? 8 : 4;
    uint32_t hl =
        koff + ((fv & 0x2000) ? 4 : 0) + ((fv & 0x1000) ? 4 : 0) + ((fv & 0x0080) ? 4 : 0);
    if (!pull(c, hl))
        return halt(c, "truncated_GRE");
    uint32_t key = (fv & 0x2000) ? be32(g + koff) : 0;

    if (ver == 1) {
        /* PPTP: the key holds payload length and call id; payload is PPP.
         * An acknowledgement-only packet has none. */
        if (claimed(c) == 0 || (avail(c) == 0 && !(fv & 0x1000)))
            return finish(c, SL_STOP_L4);
        const uint8_t *pp = peek(c, 1);
        if (pp && pp[0] == 0xff) { /* HDLC address and control: ff 03 */
            if (!pull(c, 2))
                return halt(c, "truncated_GRE");
            pp = peek(c, 1);
        }
        if (!pp)
            return halt(c, "truncated_GRE");
        uint16_t proto;
        if (pp[0] & 1) { /* protocol field compression */
            proto = pp[0];
            c->off += 1;
        } else {
            if (!(pp = pull(c, 2)))
                return halt(c, "truncated_GRE");
            proto = be16(pp);
        }
        if (proto != 0x0021 && proto != 0x0057)
            return halt(c, "non_ip_packet_in_encap");
        const uint8_t *ih = peek(c, 1);
        if (ih && (ih[0] >> 4) != (proto == 0x0021 ? 4 : 6))
            return halt(c, "invalid_inner_IP_version");
        enter_tunnel(c, SL_ENCAP_GRE, key & 0xffff);
        return ST_IP;
    }

    switch (pt) {
    case 0x6558:
        enter_tunnel(c, SL_ENCAP_GRE, key);
        return avail(c) < 14 ? halt(c, "truncated_GRE") : ST_ETH;
    case 0x88be: {
        uint32_t sid = 0;
        if (fv & 0x1000) { /* ERSPAN type II: 8-byte header; type I has none */
            const uint8_t *e = pull(c, 8);
            if (!e)
                return halt(c, "truncated_GRE");
            sid = be16(e + 2) & 0x03ff;
        }
        enter_tunnel(c, SL_ENCAP_ERSPAN, sid);
        return avail(c) < 14 ? halt(c, "truncated_GRE") : ST_ETH;
    }
    case 0x22eb: { /* ERSPAN type III: 12 bytes, + 8 with the platform sub-header (O bit) */
        const uint8_t *e = pull(c, 12);
        if (!e)
            return halt(c, "truncated_GRE");
        if ((e[11] & 1) && !pull(c, 8))
            return halt(c, "truncated_GRE");
        enter_tunnel(c, SL_ENCAP_ERSPAN, be16(e + 2) & 0x03ff);
        return avail(c) < 14 ? halt(c, "truncated_GRE") : ST_ETH;
    }
    default:
        /* IPv4, IPv6, MPLS, ... : the payload type is an ethertype. */
        enter_tunnel(c, SL_ENCAP_GRE, key);
        c->etype = pt;
        return ST_ETYPE;
    }
}

static int dec_vxlan(struct dec *c)
{
    int r = tunnel_hdr(c, 8, "truncated_VXLAN");
    if (r <= 0)
        return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
    const uint8_t *v = c->d + c->off;
    if (!(v[0] & 0x08)) /* I flag: not VXLAN */
        return finish(c, SL_STOP_L4);
    c->off += 8;
    if (claimed(c) == 0 || (avail(c) == 0 && c->wend == NO_WEND))
        return halt(c, "vxlan_empty_packet");
    enter_tunnel(c, SL_ENCAP_VXLAN, be32(v + 4) >> 8);
    return ST_ETH;
}

static int dec_geneve(struct dec *c)
{
    int r = tunnel_hdr(c, 8, "truncated_Geneve");
    if (r <= 0)
        return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
    const uint8_t *g = c->d + c->off;
    if (g[0] >> 6)
        return halt(c, "geneve_invalid_version");
    uint32_t hl = 8 + (g[0] & 0x3f) * 4u;
    r = tunnel_hdr(c, hl, "truncated_Geneve");
    if (r <= 0)
        return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
    c->off += hl;
    if (claimed(c) == 0 || (avail(c) == 0 && c->wend == NO_WEND))
        return halt(c, "geneve_empty_packet");
    enter_tunnel(c, SL_ENCAP_GENEVE, be32(g + 4) >> 8);
    uint16_t pt = be16(g + 2);
    if (pt == 0x6558)
        return ST_ETH;
    c->etype = pt;
    return ST_ETYPE;
}

static int dec_gtpu(struct dec *c)
{
    int r = tunnel_hdr(c, 8, "truncated_GTPv1");
    if (r <= 0)
        return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
    const uint8_t *g = c->d + c->off;
    /* Version 1 with PT set; GTP' and GTPv2 are control traffic. */
    if ((g[0] >> 5) != 1 || !(g[0] & 0x10))
        return finish(c, SL_STOP_L4);
    uint32_t hl = (g[0] & 7) ? 12 : 8;
    if ((r = tunnel_hdr(c, hl, "truncated_GTPv1")) <= 0)
        return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
    if (g[0] & 4) {
        uint8_t next = g[11];
        while (next) {
            if ((r = tunnel_hdr(c, hl + 1, "truncated_GTPv1")) <= 0)
                return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
            uint32_t el = g[hl] * 4u;
            if (el == 0) /* would never end; binpac rejects it too */
                return finish(c, SL_STOP_L4);
            if ((r = tunnel_hdr(c, hl + el, "truncated_GTPv1")) <= 0)
                return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
            next = g[hl + el - 1];
            hl += el;
        }
    }
    if (g[1] != 0xff) /* only G-PDU carries user packets */
        return finish(c, SL_STOP_L4);
    c->off += hl;
    if (claimed(c) == 0 || (avail(c) == 0 && c->wend == NO_WEND))
        return halt(c, "gtpv1_empty_packet");
    const uint8_t *ih = peek(c, 1);
    if (ih && (ih[0] >> 4) != 4 && (ih[0] >> 4) != 6)
        return halt(c, "non_ip_packet_in_encap");
    enter_tunnel(c, SL_ENCAP_GTPU, be32(g + 4));
    return ST_IP;
}

/* A Teredo problem: a weird, or when only sniffing, plain UDP. */
static int twarn(struct dec *c, bool sniff, const char *weird)
{
    return sniff ? finish(c, SL_STOP_L4) : halt(c, weird);
}

/* Teredo on its port, or (`sniff`) on any UDP port the way Zeek's dynamic
 * protocol detection finds it: then nothing is reported, a payload that is
 * not clearly Teredo is just UDP, and a bare IPv6 packet must have a Teredo
 * (2001:0::/32) address. */
static int dec_teredo(struct dec *c, bool frag, bool sniff)
{
    uint32_t pos = c->off;
    bool origin = false, auth = false;
    const uint8_t *d = c->d;

    for (;;) {
        uint32_t have = c->end - pos;
        uint32_t claim = c->wend == NO_WEND ? NO_WEND : c->wend - pos;
        if (have < 2)
            return claim < 2 ? finish(c, SL_STOP_L4) : twarn(c, sniff, "truncated_Teredo");
        uint16_t tag = be16(d + pos);
        if (tag == 1 && !auth && !origin) {
            if (have < 4)
                return twarn(c, sniff, "truncated_Teredo_authentication");
            uint32_t al = 13u + d[pos + 2] + d[pos + 3];
            if (have < al)
                return claim < al ? finish(c, SL_STOP_L4)
                                  : twarn(c, sniff, "truncated_Teredo_authentication");
            pos += al;
            auth = true;
        } else if (tag == 0 && !origin) {
            if (have < 8)
                return claim < 8 ? finish(c, SL_STOP_L4)
                                 : twarn(c, sniff, "truncated_Teredo_origin_indication");
            pos += 8;
            origin = true;
        } else if ((d[pos] >> 4) == 6) {
            if (claim < 40)
                return finish(c, SL_STOP_L4);
            if (have < 40)
                return twarn(c, sniff, "truncated_IPv6_in_Teredo");
            uint32_t ilen = 40u + be16(d + pos + 4);
            /* The inner IPv6 packet must fill the datagram exactly (Zeek's
             * ParsePacket check); a bubble may carry trailing bytes. */
            if (sniff && !origin && !auth && be32(d + pos + 8) != 0x20010000 &&
                be32(d + pos + 24) != 0x20010000)
                return finish(c, SL_STOP_L4);
            if (!frag && claim != NO_WEND && ilen != claim) {
                if (d[pos + 6] == 59 && ilen == 40 && claim > 40)
                    note(c, "Teredo_bubble_with_payload");
                else
                    return finish(c, SL_STOP_L4);
            }
            c->off = pos;
            enter_tunnel(c, SL_ENCAP_TEREDO, 0);
            return ST_IP;
        } else {
            return finish(c, SL_STOP_L4);
        }
    }
}

static int dec_ayiya(struct dec *c)
{
    int r = tunnel_hdr(c, 8, "truncated_AYIYA");
    if (r <= 0)
        return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
    const uint8_t *a = c->d + c->off;
    uint32_t hl = 8 + (1u << (a[0] >> 4)) + (a[1] >> 4) * 4u;
    if ((r = tunnel_hdr(c, hl, "truncated_AYIYA")) <= 0)
        return r < 0 ? ST_DONE : finish(c, SL_STOP_L4);
    /* Only "forward" (opcode 1) carries a packet, of protocol 4 or 41. */
    if ((a[2] & 0x0f) != 1 || (a[3] != 4 && a[3] != 41))
        return finish(c, SL_STOP_L4);
    c->off += hl;
    if (claimed(c) == 0 || (avail(c) == 0 && c->wend == NO_WEND))
        return halt(c, "ayiya_empty_packet");
    enter_tunnel(c, SL_ENCAP_AYIYA, 0);
    return ST_IP;
}

enum udp_tun { UT_NONE, UT_VXLAN, UT_GENEVE, UT_GTPU, UT_TEREDO, UT_AYIYA, UT_GRE };

static inline enum udp_tun udp_tunnel_port(uint16_t port)
{
    switch (port) {
    case 4789:
        return UT_VXLAN;
    case 6081:
        return UT_GENEVE;
    case 2152:
        return UT_GTPU;
    case 3544:
        return UT_TEREDO;
    case 5072:
        return UT_AYIYA;
    case 4754:
        return UT_GRE;
    default:
        return UT_NONE;
    }
}

static int dec_udp(struct dec *c, struct sl_pkt_ip *ip, uint32_t claim, uint32_t have)
{
    if (l4_short(c, 8, claim, have))
        return ST_DONE;
    const uint8_t *u = c->d + c->off;
    uint32_t ulen = be16(u + 4);
    bool frag = ip->flags & SL_IPF_FRAG;
    if (claim && ulen != claim && !frag)
        note(c, "UDP_datagram_length_mismatch");
    ip->sport = be16(u);
    ip->dport = be16(u + 2);
    ip->l4_claimed = (uint16_t)ulen;
    ip->payload_off = (uint16_t)(c->off + 8);
    /* As Zeek: the payload is what the IP length says, whatever the UDP
     * length (which l4_claimed keeps for byte counts). */
    ip->payload_len = (uint16_t)(have - 8);
    ip->flags |= SL_IPF_L4;

    enum udp_tun t = udp_tunnel_port(ip->dport);
    if (t == UT_NONE)
        t = udp_tunnel_port(ip->sport);
    if (t == UT_NONE) {
        /* Teredo also runs between clients and relays on any port. */
        const uint8_t *b = u + 8;
        if (have >= 48 && ((b[0] >> 4) == 6 || (b[0] == 0 && b[1] <= 1))) {
            c->off += 8;
            return dec_teredo(c, frag, true);
        }
        return finish(c, SL_STOP_L4);
    }
    c->off += 8;
    if (frag) /* a first fragment: the rest of the tunnelled packet is elsewhere */
        c->wend = NO_WEND;
    switch (t) {
    case UT_VXLAN:
        return dec_vxlan(c);
    case UT_GENEVE:
        return dec_geneve(c);
    case UT_GTPU:
        return dec_gtpu(c);
    case UT_TEREDO:
        return dec_teredo(c, frag, false);
    case UT_AYIYA:
        return dec_ayiya(c);
    default:
        return dec_gre(c);
    }
}

static int dec_tcp(struct dec *c, struct sl_pkt_ip *ip, uint32_t claim, uint32_t have)
{
    if (l4_short(c, 20, claim, have))
        return ST_DONE;
    const uint8_t *t = c->d + c->off;
    uint32_t doff = (t[12] >> 4) * 4u;
    ip->sport = be16(t);
    ip->dport = be16(t + 2);
    ip->flags |= SL_IPF_PORTS;
    if (doff < 20)
        return halt(c, "bad_TCP_header_len");
    if ((claim && doff > claim) || doff > have)
        return halt(c, "truncated_header");
    ip->seq = be32(t + 4);
    ip->ack = be32(t + 8);
    ip->tcp_flags = t[13];
    ip->win = be16(t + 14);
    ip->l4_claimed = (uint16_t)(claim ? claim : have);
    ip->payload_off = (uint16_t)(c->off + doff);
    ip->payload_len = (uint16_t)(have - doff);
    ip->flags = (uint8_t)((ip->flags & ~SL_IPF_PORTS) | SL_IPF_L4); /* PORTS: only without L4 */
    return finish(c, SL_STOP_L4);
}

static int dec_icmp(struct dec *c, struct sl_pkt_ip *ip, uint32_t claim, uint32_t have)
{
    if (l4_short(c, 8, claim, have))
        return ST_DONE;
    const uint8_t *t = c->d + c->off;
    ip->icmp_type = t[0];
    ip->icmp_code = t[1];
    ip->sport = t[0];
    ip->dport = t[1];
    ip->l4_claimed = (uint16_t)(claim ? claim : have);
    ip->payload_off = (uint16_t)(c->off + 8);
    ip->payload_len = (uint16_t)(have - 8);
    ip->flags |= SL_IPF_L4;
    if (icmp_is_error(ip->proto, t[0]))
        icmp_quote(ip, t + 8, have - 8);
    return finish(c, SL_STOP_L4);
}

static int dec_sctp(struct dec *c, struct sl_pkt_ip *ip, uint32_t claim, uint32_t have)
{
    if (l4_short(c, 12, claim, have))
        return ST_DONE;
    const uint8_t *t = c->d + c->off;
    ip->sport = be16(t);
    ip->dport = be16(t + 2);
    ip->l4_claimed = (uint16_t)(claim ? claim : have);
    ip->payload_off = (uint16_t)(c->off + 12);
    ip->payload_len = (uint16_t)(have - 12);
    ip->flags |= SL_IPF_L4;
    return finish(c, SL_STOP_L4);
}

/* The IP payload at the cursor, of protocol ip->proto. */
static int dec_l4(struct dec *c, struct sl_pkt_ip *ip, uint32_t claim)
{
    uint32_t have = avail(c);
    ip->l4_off = (uint16_t)c->off;
    ip->l4_len = (uint16_t)have;
    switch (ip->proto) {
    case 6:
        return dec_tcp(c, ip, claim, have);
    case 17:
        return dec_udp(c, ip, claim, have);
    case 1:
    case 58:
        return dec_icmp(c, ip, claim, have);
    case 132:
        return dec_sctp(c, ip, claim, have);
    case 47:
        return dec_gre(c);
    case 4:
    case 41:
        if (ip->flags & SL_IPF_FRAG)
            c->wend = NO_WEND;
        enter_tunnel(c, SL_ENCAP_IPIP, 0);
        return ST_IP;
    case 50: /* ESP: the rest is encrypted */
        return finish(c, SL_STOP_L4);
    case 59:
        if (ip->encap == SL_ENCAP_TEREDO) /* a Teredo bubble */
            return finish(c, SL_STOP_L4);
        return halt(c, "ipv6_no_next");
    default:
        return finish(c, SL_STOP_UNKNOWN_PROTO);
    }
}

/* ---- IP ---------------------------------------------------------------- */

/* Checks the total length `tot` of the IP packet at `start` against what the
 * enclosing headers claim and sets the cursor bounds to it. */
static bool ip_bounds(struct dec *c, struct sl_pkt_ip *ip, uint32_t start, uint32_t tot)
{
    if (c->wend != NO_WEND && tot > c->wend - start) {
        halt(c, c->p->n_ip ? "truncated_inner_IP" : "truncated_IP_len");
        return false;
    }
    uint32_t cap = min_u32(tot, c->end - start);
    if (cap < tot)
        ip->flags |= SL_IPF_TRUNC;
    ip->tot_len = (uint16_t)min_u32(tot, 0xffff);
    ip->cap_len = (uint16_t)cap;
    c->end = start + cap;
    c->wend = start + tot;
    return true;
}

static struct sl_pkt_ip *ip_new(struct dec *c, uint32_t start)
{
    struct sl_pkt_ip *ip = &c->p->ip[c->p->n_ip];
    /* Field by field: a memset of this size compiles to `rep stos`, which
     * alone costs more than the rest of an Ethernet/IPv4/TCP decode.
     * Addresses, version and ttl are always written by the caller. */
    ip->proto = 0;
    ip->flags = 0;
    ip->tos = 0;
    ip->hdr_len = 0;
    ip->tot_len = 0;
    ip->cap_len = 0;
    ip->frag_off = 0;
    ip->frag_id = 0;
    ip->l4_off = 0;
    ip->l4_len = 0;
    ip->sport = 0;
    ip->dport = 0;
    ip->payload_off = 0;
    ip->payload_len = 0;
    ip->seq = 0;
    ip->ack = 0;
    ip->win = 0;
    ip->tcp_flags = 0;
    ip->icmp_type = 0;
    ip->icmp_code = 0;
    ip->pad_[0] = 0;
    ip->l4_claimed = 0;
    ip->encap = c->encap;
    ip->tunnel_id = c->tid;
    ip->off = (uint16_t)start;
    return ip;
}

static int dec_ip4(struct dec *c, const uint8_t *h, uint32_t start, uint32_t cap)
{
    struct sl_pkt_ip *ip = ip_new(c, start);
    uint32_t hl = (h[0] & 15) * 4u;
    uint32_t tot = be16(h + 2);
    if (tot == 0) {
        /* TCP segmentation offload zeroes the length. */
        note(c, "ip_hdr_len_zero");
        tot = min_u32(cap, 0xffff);
    }
    if (!ip_bounds(c, ip, start, tot))
        return ST_DONE;
    if (hl > tot)
        return halt(c, "invalid_IP_header_size");
    if (hl > cap)
        return halt(c, "internally_truncated_header");
    if (hl < 20)
        return halt(c, "IPv4_min_header_size");

    ip->version = 4;
    ip->tos = h[1];
    ip->ttl = h[8];
    ip->proto = h[9];
    ip->hdr_len = (uint16_t)hl;
    ip->frag_id = be16(h + 4);
    sl_pkt_addr_from_v4(ip->src, h + 12);
    sl_pkt_addr_from_v4(ip->dst, h + 16);
    if (hl > 20)
        ip->flags |= SL_IPF_OPTIONS;
    c->p->n_ip++;
    c->off = start + hl;

    uint16_t fo = be16(h + 6);
    if (fo & 0x3fff) {
        ip->frag_off = (uint16_t)((fo & 0x1fff) * 8u);
        ip->flags |= SL_IPF_FRAG;
        if (ip->flags & SL_IPF_TRUNC)
            note(c, "incompletely_captured_fragment");
        if (ip->frag_off)
            return finish(c, SL_STOP_FRAGMENT);
        ip->flags |= SL_IPF_FIRST_FRAG;
    }
    if (ip->proto == 51) { /* AH: skip it, as for IPv6 */
        const uint8_t *x = peek(c, 2);
        uint32_t xl = x ? 8 + 4u * x[1] : 8;
        if (hl + xl > tot)
            return halt(c, "invalid_IP_header_size");
        if (!pull(c, xl))
            return halt(c, "internally_truncated_header");
        ip->proto = x[0];
        hl += xl;
        ip->hdr_len = (uint16_t)hl;
        ip->flags |= SL_IPF_OPTIONS;
    }
    return dec_l4(c, ip, tot - hl);
}

static int dec_ip6(struct dec *c, const uint8_t *h, uint32_t start, uint32_t cap)
{
    if (cap < 40)
        return halt(c, "truncated_IP");
    struct sl_pkt_ip *ip = ip_new(c, start);
    uint32_t plen = be16(h + 4);
    uint32_t tot = 40 + plen;
    uint8_t nh = h[6];
    if (plen == 0 && nh != 59)
        tot = cap; /* jumbogram or offload: take what was captured, as Zeek does */
    if (!ip_bounds(c, ip, start, tot))
        return ST_DONE;

    ip->version = 6;
    ip->tos = (uint8_t)(be16(h) >> 4);
    ip->ttl = h[7];
    memcpy(ip->src, h + 8, 16);
    memcpy(ip->dst, h + 24, 16);

    uint32_t hl = 40;
    bool later_frag = false;
    for (;;) {
        uint32_t xl;
        const uint8_t *x = c->d + start + hl;
        if (sl_pkt_ip6_ext(nh)) {
            if (hl + 2 > tot)
                return halt(c, "invalid_IP_header_size");
            if (hl + 2 > c->end - start)
                return halt(c, "internally_truncated_header");
            xl = nh == 44 ? 8 : nh == 51 ? 8 + 4u * x[1] : 8 + 8u * x[1];
            if (hl + xl > tot)
                return halt(c, "invalid_IP_header_size");
            if (hl + xl > c->end - start)
                return halt(c, "internally_truncated_header");
        } else {
            break;
        }
        if (nh == 44) {
            uint16_t fo = be16(x + 2);
            ip->frag_id = be32(x + 4);
            if (fo & 0xfff9) { /* an atomic fragment (offset 0, no M) is whole */
                ip->flags |= SL_IPF_FRAG;
                ip->frag_off = fo & 0xfff8;
                later_frag = ip->frag_off != 0;
            }
        }
        ip->flags |= SL_IPF_OPTIONS;
        nh = x[0];
        hl += xl;
        if (later_frag)
            break;
    }
    ip->proto = nh;
    ip->hdr_len = (uint16_t)hl;
    c->p->n_ip++;
    c->off = start + hl;
    if (ip->flags & SL_IPF_FRAG) {
        if (ip->flags & SL_IPF_TRUNC)
            note(c, "incompletely_captured_fragment");
        if (later_frag)
            return finish(c, SL_STOP_FRAGMENT);
        ip->flags |= SL_IPF_FIRST_FRAG;
    }
    return dec_l4(c, ip, plen ? tot - hl : 0);
}

static int dec_ip(struct dec *c)
{
    if (c->p->n_ip == SL_PKT_MAX_IP)
        return halt(c, "exceeded_tunnel_max_depth");
    uint32_t start = c->off;
    uint32_t cap = c->end - start;
    if (cap < 20)
        return halt(c, "truncated_IP");
    const uint8_t *h = c->d + start;
    switch (h[0] >> 4) {
    case 4:
        return dec_ip4(c, h, start, cap);
    case 6:
        return dec_ip6(c, h, start, cap);
    default:
        return halt(c, "unknown_ip_version");
    }
}

/* ---- link layer -------------------------------------------------------- */

static int af_next(struct dec *c, uint32_t af)
{
    /* AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 by BSD flavour
     * (and 10 on Linux). */
    if (af == 2 || af == 24 || af == 28 || af == 30 || af == 10)
        return ST_IP;
    return finish(c, SL_STOP_NON_IP);
}

static int dec_link(struct dec *c, int dlt)
{
    const uint8_t *h;
    switch (dlt) {
    case SL_DLT_EN10MB:
        return ST_ETH;
    case SL_DLT_RAW:
    case SL_DLT_RAW_BSD12:
    case SL_DLT_RAW_BSD14:
    case SL_DLT_IPV4:
    case SL_DLT_IPV6:
        return ST_IP;
    case SL_DLT_NULL:
        if (!(h = pull(c, 4)))
            return halt(c, "null_analyzer_failed");
        /* Host order of the capturing machine: the family is small, so a
         * big-endian writer leaves the first two bytes zero. */
        return af_next(c, (h[0] | h[1]) ? le32(h) : be32(h));
    case SL_DLT_LOOP:
        if (!(h = pull(c, 4)))
            return halt(c, "null_analyzer_failed");
        return af_next(c, be32(h));
    case SL_DLT_LINUX_SLL:
        if (!(h = pull(c, 16)))
            return halt(c, "truncated_Linux_SLL_header");
        c->etype = be16(h + 14);
        c->p->ethertype = c->etype;
        if (c->etype < 1536) /* ARPHRD-specific pseudo protocols */
            return finish(c, SL_STOP_NON_IP);
        return ST_ETYPE;
    case SL_DLT_IEEE802_11_RADIO: {
        if (!(h = peek(c, 4)))
            return halt(c, "truncated_radiotap_header");
        uint32_t rl = (uint32_t)h[3] << 8 | h[2];
        if (rl < 4 || !pull(c, rl))
            return halt(c, "truncated_radiotap_header");
        return ST_80211;
    }
    case SL_DLT_IEEE802_11:
        return ST_80211;
    case SL_DLT_PPP:
        if ((h = peek(c, 2)) && h[0] == 0xff && h[1] == 0x03)
            c->off += 2;
        if (!(h = pull(c, 2)))
            return halt(c, "truncated_ppp_header");
        return ppp_next(c, be16(h));
    case SL_DLT_PPP_SERIAL:
        if (!(h = pull(c, 4)))
            return halt(c, "truncated_ppp_serial_header");
        if (h[0] == 0x0f || h[0] == 0x8f) { /* Cisco HDLC: an ethertype */
            c->etype = be16(h + 2);
            return ST_ETYPE;
        }
        return ppp_next(c, be16(h + 2));
    default:
        return halt(c, "unknown_link_type");
    }
}

/* The common case, straight-line: Ethernet II (maybe one 802.1Q tag), IPv4
 * without options, not a fragment, TCP, or UDP that is no tunnel, headers
 * complete. Anything else (or any doubt) fails the test and takes the
 * general walk, which gives the same answer; test_pkt checks that both agree
 * on every test frame. fast_v4_test is the test alone, shared by the decoder
 * and by sl_pkt_fast_v4, so both take exactly the same frames. */
struct fast_v4 {
    uint32_t l3, tot, cap, l4h;
};

static inline bool fast_v4_test(const uint8_t *d, uint32_t end, uint32_t wend, struct fast_v4 *f)
{
    uint32_t l3 = 14;
    if (end < 14 + 20 + 20)
        return false;
    uint16_t et = be16(d + 12);
    if (et == 0x8100) {
        if (end < 18 + 20 + 20)
            return false;
        et = be16(d + 16);
        l3 = 18;
    }
    if (et != 0x0800)
        return false;
    const uint8_t *h = d + l3;
    uint32_t tot = be16(h + 2);
    if (h[0] != 0x45 || (be16(h + 6) & 0x3fff) || tot < 20 + 8 || l3 + tot > wend)
        return false;
    uint32_t cap = min_u32(tot, end - l3);
    const uint8_t *t = h + 20;
    uint32_t claim = tot - 20, have = cap - 20, l4h;
    if (h[9] == 6) {
        l4h = (t[12] >> 4) * 4u;
        if (l4h < 20 || l4h > claim || l4h > have)
            return false;
    } else if (h[9] == 17) {
        if (be16(t + 4) != claim || udp_tunnel_port(be16(t)) != UT_NONE ||
            udp_tunnel_port(be16(t + 2)) != UT_NONE)
            return false;
        if (have >= 48 && ((t[8] >> 4) == 6 || (t[8] == 0 && t[9] <= 1)))
            return false; /* might be Teredo */
        l4h = 8;
    } else {
        return false;
    }
    f->l3 = l3;
    f->tot = tot;
    f->cap = cap;
    f->l4h = l4h;
    return true;
}

static bool fast_eth_ip4(struct sl_pkt *p, const uint8_t *d, uint32_t end, uint32_t wend)
{
    struct fast_v4 f;
    if (!fast_v4_test(d, end, wend, &f))
        return false;
    const uint32_t l3 = f.l3, tot = f.tot, cap = f.cap, l4h = f.l4h;
    const uint8_t *h = d + l3, *t = h + 20;
    uint32_t claim = tot - 20, have = cap - 20;
    uint8_t proto = h[9];
    struct sl_pkt_ip *ip = &p->ip[0];

    if (proto == 6) {
        ip->seq = be32(t + 4);
        ip->ack = be32(t + 8);
        ip->tcp_flags = t[13];
        ip->win = be16(t + 14);
        ip->l4_claimed = (uint16_t)claim;
    } else {
        ip->seq = 0;
        ip->ack = 0;
        ip->tcp_flags = 0;
        ip->win = 0;
        ip->l4_claimed = (uint16_t)be16(t + 4);
    }

    if (l3 == 18) {
        p->n_vlan = 1;
        p->vlan[0] = be16(d + 14) & 0x0fff;
    }
    p->has_mac = 1;
    p->ethertype = 0x0800;
    p->n_ip = 1;
    sl_pkt_addr_from_v4(ip->src, h + 12);
    sl_pkt_addr_from_v4(ip->dst, h + 16);
    ip->version = 4;
    ip->proto = proto;
    ip->ttl = h[8];
    ip->flags = (uint8_t)(SL_IPF_L4 | (cap < tot ? SL_IPF_TRUNC : 0));
    ip->encap = SL_ENCAP_NONE;
    ip->tos = h[1];
    ip->off = (uint16_t)l3;
    ip->hdr_len = 20;
    ip->tot_len = (uint16_t)tot;
    ip->cap_len = (uint16_t)cap;
    ip->frag_off = 0;
    ip->frag_id = be16(h + 4);
    ip->tunnel_id = 0;
    ip->l4_off = (uint16_t)(l3 + 20);
    ip->l4_len = (uint16_t)have;
    ip->sport = be16(t);
    ip->dport = be16(t + 2);
    ip->payload_off = (uint16_t)(l3 + 20 + l4h);
    ip->payload_len = (uint16_t)(have - l4h);
    ip->icmp_type = 0;
    ip->icmp_code = 0;
    ip->pad_[0] = 0;
    return true;
}

bool sl_pkt_fast_v4(const uint8_t *data, uint32_t len, struct sl_pkt_v4 *v)
{
    struct fast_v4 f;
    if (data == NULL || !fast_v4_test(data, min_u32(len, MAX_FRAME), NO_WEND, &f))
        return false;
    const uint8_t *h = data + f.l3;
    memcpy(v->src, h + 12, 4);
    memcpy(v->dst, h + 16, 4);
    v->sport = be16(h + 20);
    v->dport = be16(h + 22);
    v->proto = h[9];
    return true;
}

/* sl_pkt_fast_flow's L4 step: TCP, UDP that is no tunnel, or an ICMP or
 * ICMPv6 message that is no error (the rules of dec_tcp, dec_udp and
 * dec_icmp, with nothing to report). t: the transport header, claim: bytes
 * the IP header gives it, have: bytes captured of those. */
static inline __attribute__((always_inline)) bool
fast_l4(const uint8_t *t, uint8_t proto, uint32_t claim, uint32_t have, struct sl_pkt_tuple *k)
{
    if (proto == 6) {
        if (claim < 20 || have < 20)
            return false;
        uint32_t doff = (t[12] >> 4) * 4u;
        if (doff < 20 || doff > claim || doff > have)
            return false;
    } else if (proto == 17) {
        if (claim < 8 || have < 8 || be16(t + 4) != claim || udp_tunnel_port(be16(t)) != UT_NONE ||
            udp_tunnel_port(be16(t + 2)) != UT_NONE)
            return false;
        if (have >= 48 && ((t[8] >> 4) == 6 || (t[8] == 0 && t[9] <= 1)))
            return false; /* might be Teredo */
    } else if (proto == 1 || proto == 58) {
        /* an error quotes a flow, and goes where that flow goes (sl_lb) */
        if (claim < 8 || have < 8 || icmp_is_error(proto, t[0]))
            return false;
        k->sport = t[0]; /* type and code, as dec_icmp sets them */
        k->dport = t[1];
        k->proto = proto;
        return true;
    } else {
        return false;
    }
    k->sport = be16(t);
    k->dport = be16(t + 2);
    k->proto = proto;
    return true;
}

/* An IP layer as sl_pkt_fast_flow takes it: its payload at d[l4..end),
 * claimed up to wend. */
struct fast_ipl {
    uint32_t l4, end, wend;
    uint8_t proto;
};

/* dec_ip4 / dec_ip6 with nothing to report, for a packet at d[l3..end)
 * inside an enclosing one that claims up to wend (NO_WEND: none). Points
 * k's addresses into the header; sets version and proto (ports 0). */
static inline __attribute__((always_inline)) bool fast_ip(const uint8_t *d, uint32_t l3,
                                                          uint32_t end, uint32_t wend,
                                                          struct sl_pkt_tuple *k,
                                                          struct fast_ipl *o)
{
    const uint8_t *h = d + l3;
    uint32_t room = end - l3, tot, hl;
    if (room < 20)
        return false;
    if (h[0] == 0x45) {
        tot = be16(h + 2);
        if ((be16(h + 6) & 0x3fff) || tot < 20 + 8)
            return false;
        hl = 20;
        k->src = h + 12;
        k->dst = h + 16;
        k->version = 4;
        k->proto = h[9];
    } else if ((h[0] >> 4) == 6) {
        if (room < 40)
            return false;
        uint32_t plen = be16(h + 4);
        if (plen == 0) /* a jumbogram or offload: decoded on what was captured */
            return false;
        tot = 40 + plen;
        hl = 40;
        k->src = h + 8;
        k->dst = h + 24;
        k->version = 6;
        k->proto = h[6]; /* an extension header is no TCP or UDP: declined later */
    } else {
        return false;
    }
    if (wend != NO_WEND && tot > wend - l3) /* truncated_inner_IP */
        return false;
    k->sport = k->dport = 0;
    o->l4 = l3 + hl;
    o->end = l3 + min_u32(tot, room);
    o->wend = l3 + tot;
    o->proto = k->proto;
    return true;
}

/* An IP packet carrying TCP or UDP that is no tunnel. */
static inline __attribute__((always_inline)) bool
fast_leaf(const uint8_t *d, uint32_t l3, uint32_t end, uint32_t wend, struct sl_pkt_tuple *k)
{
    struct fast_ipl o;
    return fast_ip(d, l3, end, wend, k, &o) &&
           fast_l4(d + o.l4, o.proto, o.wend - o.l4, o.end - o.l4, k);
}

static inline bool fast_ip_etype(uint16_t et)
{
    return et == 0x0800 || et == 0x86dd;
}

/* The IP protocols fast_tunnel looks into: IP in IP (4, 41), GRE, UDP. */
static inline bool fast_tunnel_proto(uint8_t proto)
{
    return proto == 4 || proto == 41 || proto == 47 || proto == 17;
}

/* Where the packet inside the tunnel of outer layer o starts (dec_gre,
 * dec_vxlan, dec_geneve, dec_gtpu; IP in IP directly), for the common forms
 * only: GRE version 0 carrying IPv4/IPv6 or Ethernet/IPv4|IPv6 (TEB), VXLAN
 * carrying Ethernet/IPv4|IPv6, GENEVE carrying either, GTP-U G-PDUs without
 * extension headers. 0: not one of those. For the UDP ones sets the outer
 * ports in k, as dec_udp does. */
static inline uint32_t fast_tunnel(const uint8_t *d, const struct fast_ipl *o,
                                   struct sl_pkt_tuple *k)
{
    const uint8_t *t = d + o->l4;
    uint32_t have = o->end - o->l4, claim = o->wend - o->l4;
    if (o->proto == 4 || o->proto == 41)
        return o->l4;
    if (o->proto == 47) {
        if (have < 4)
            return 0;
        uint16_t fv = be16(t), pt = be16(t + 2);
        if ((fv & 7) != 0 || (fv & 0x4078))
            return 0;
        uint32_t hl = ((fv & 0x8000) ? 8 : 4) + ((fv & 0x2000) ? 4 : 0) + ((fv & 0x1000) ? 4 : 0) +
                      ((fv & 0x0080) ? 4 : 0);
        if (pt == 0x6558) { /* transparent Ethernet bridging: IP in the inner frame */
            if (have < hl + 14 || !fast_ip_etype(be16(t + hl + 12)))
                return 0;
            hl += 14;
        } else if (!fast_ip_etype(pt)) {
            return 0;
        }
        return have >= hl ? o->l4 + hl : 0;
    }
    if (o->proto != 17 || claim < 8 + 8 || have < 8 + 8 || be16(t + 4) != claim)
        return 0;
    enum udp_tun ut = udp_tunnel_port(be16(t + 2));
    if (ut == UT_NONE)
        ut = udp_tunnel_port(be16(t));
    const uint8_t *g = t + 8;
    uint32_t in; /* the inner packet's offset from t */
    bool eth;    /* it starts with an Ethernet header */
    switch (ut) {
    case UT_VXLAN: /* dec_vxlan: the I flag, then Ethernet */
        if (!(g[0] & 0x08))
            return 0;
        in = 16;
        eth = true;
        break;
    case UT_GENEVE: /* dec_geneve: version 0, options, then Ethernet or an ethertype */
        if (g[0] >> 6)
            return 0;
        in = 8 + 8 + (g[0] & 0x3f) * 4u;
        eth = be16(g + 2) == 0x6558;
        if (!eth && !fast_ip_etype(be16(g + 2)))
            return 0;
        break;
    case UT_GTPU: /* dec_gtpu: a version 1 G-PDU without extension headers */
        if ((g[0] >> 5) != 1 || !(g[0] & 0x10) || (g[0] & 0x04) || g[1] != 0xff)
            return 0;
        in = 8 + ((g[0] & 7) ? 12 : 8);
        eth = false;
        break;
    default:
        return 0;
    }
    if (eth) {
        if (have < in + 14 || !fast_ip_etype(be16(t + in + 12)))
            return 0;
        in += 14;
    }
    if (have < in)
        return 0;
    k->sport = be16(t);
    k->dport = be16(t + 2);
    return o->l4 + in;
}

/* The IP packet at d[l3..end) and, through one tunnel, the one inside it. */
static inline __attribute__((always_inline)) bool
fast_layers(const uint8_t *d, uint32_t l3, uint32_t end, bool inner, struct sl_pkt_tuple *k)
{
    struct sl_pkt_tuple scratch, *outer = inner ? &scratch : k;
    struct fast_ipl o;
    if (!fast_ip(d, l3, end, NO_WEND, outer, &o))
        return false;
    if (fast_l4(d + o.l4, o.proto, o.wend - o.l4, o.end - o.l4, outer)) {
        if (inner)
            *k = scratch;
        return true;
    }
    uint32_t in = fast_tunnel(d, &o, outer);
    return in != 0 && fast_leaf(d, in, o.end, o.wend, inner ? k : &scratch);
}

/* Past VLAN tags and MPLS labels in front of IP (ethertype et at 12): the
 * IP header's offset, 0 when the frame is none of those. */
static uint32_t fast_l2(const uint8_t *data, uint32_t end, uint16_t et)
{
    uint32_t off = 14;
    for (int tags = 0; et != 0x0800 && et != 0x86dd; tags++) {
        if (et == 0x8847 || et == 0x8848) {
            /* MPLS: the IP version nibble says what follows the stack */
            for (int labels = 0;; labels++) {
                if (labels == 4 || end - off < 4)
                    return 0;
                off += 4;
                if (data[off - 2] & 1)
                    return off;
            }
        }
        if (tags == 4 || end - off < 4 ||
            !(et == 0x8100 || et == 0x88a8 || et == 0x9100 || et == 0x9200 || et == 0x9300))
            return 0;
        et = be16(data + off + 2);
        off += 4;
    }
    return off;
}

/* sl_pkt_fast_tuple past its commonest case; end: bytes to look at. */
static __attribute__((noinline)) bool fast_tuple_any(const uint8_t *data, uint32_t end, bool inner,
                                                     struct sl_pkt_tuple *k)
{
    uint32_t off = 14;
    if (end < 14)
        return false;
    uint16_t et = be16(data + 12);
    if (et != 0x0800 && et != 0x86dd && (off = fast_l2(data, end, et)) == 0)
        return false;
    /* dec_ip reads the version nibble: IPv6 under 0x0800 is still IPv6.
     * One copy of the walk per layer choice, each without the other's moves. */
    if (inner)
        return fast_layers(data, off, end, true, k);
    return fast_layers(data, off, end, false, k);
}

bool sl_pkt_fast_tuple(const uint8_t *data, uint32_t len, bool inner, struct sl_pkt_tuple *k)
{
    if (data == NULL || k == NULL)
        return false;
    uint32_t end = min_u32(len, MAX_FRAME);
    /* IPv4 straight after the Ethernet header, most of any traffic, first,
     * in a leaf that needs no saved registers. fast_layers would begin with
     * these same two steps; it is left only what may be a tunnel. */
    if (end >= 14 + 20 && be16(data + 12) == 0x0800 && data[14] == 0x45) {
        struct fast_ipl o;
        if (!fast_ip(data, 14, end, NO_WEND, k, &o))
            return false;
        if (fast_l4(data + o.l4, o.proto, o.wend - o.l4, o.end - o.l4, k))
            return true;
        if (!fast_tunnel_proto(o.proto))
            return false;
    }
    return fast_tuple_any(data, end, inner, k);
}

bool sl_pkt_fast_flow(const uint8_t *data, uint32_t len, bool inner, struct sl_flow_key *k)
{
    struct sl_pkt_tuple t;
    if (k == NULL || !sl_pkt_fast_tuple(data, len, inner, &t))
        return false;
    memset(k, 0, sizeof(*k));
    if (t.version == 4) {
        sl_pkt_addr_from_v4(k->src, t.src);
        sl_pkt_addr_from_v4(k->dst, t.dst);
    } else {
        memcpy(k->src, t.src, 16);
        memcpy(k->dst, t.dst, 16);
    }
    k->sport = t.sport;
    k->dport = t.dport;
    k->proto = t.proto;
    k->version = t.version;
    return true;
}

static int decode(struct sl_pkt *p, const uint8_t *data, uint32_t caplen, uint32_t wirelen, int dlt,
                  bool fast)
{
    /* Clear the summary only; IP layers are written as they are met. */
    memset(&p->eth_off, 0, offsetof(struct sl_pkt, ip) - offsetof(struct sl_pkt, eth_off));
    p->data = data;
    p->len = caplen;

    uint32_t end = data ? min_u32(caplen, MAX_FRAME) : 0;
    uint32_t wend = wirelen ? (wirelen > end ? wirelen : end) : NO_WEND;
    if (fast && dlt == SL_DLT_EN10MB && fast_eth_ip4(p, data, end, wend))
        return SL_STOP_L4;

    struct dec c = {.p = p, .d = data, .off = 0, .end = end, .wend = wend};
    int st = dec_link(&c, dlt);
    while (st != ST_DONE) {
        switch (st) {
        case ST_ETH:
            st = dec_eth(&c);
            break;
        case ST_ETYPE:
            st = dec_etype(&c);
            break;
        case ST_IP:
            st = dec_ip(&c);
            break;
        default:
            st = dec_80211(&c);
            break;
        }
    }
    return p->stop;
}

int sl_pkt_decode_wire(struct sl_pkt *p, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                       int dlt)
{
    return decode(p, data, caplen, wirelen, dlt, true);
}

int sl_pkt_decode_general(struct sl_pkt *p, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                          int dlt)
{
    return decode(p, data, caplen, wirelen, dlt, false);
}

int sl_pkt_decode(struct sl_pkt *p, const uint8_t *data, uint32_t len, int dlt)
{
    return sl_pkt_decode_wire(p, data, len, 0, dlt);
}

const char *sl_pkt_encap_name(enum sl_encap e)
{
    static const char *const names[SL_ENCAP_MAX] = {
        [SL_ENCAP_NONE] = "none",     [SL_ENCAP_IPIP] = "ipip",     [SL_ENCAP_GRE] = "gre",
        [SL_ENCAP_ERSPAN] = "erspan", [SL_ENCAP_VXLAN] = "vxlan",   [SL_ENCAP_GENEVE] = "geneve",
        [SL_ENCAP_GTPU] = "gtpu",     [SL_ENCAP_TEREDO] = "teredo", [SL_ENCAP_AYIYA] = "ayiya",
    };
    if ((unsigned)e >= SL_ENCAP_MAX)
        return "unknown";
    return names[e];
}

char *sl_pkt_addr_str(const uint8_t addr[16], char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return buf;
    const char *r;
    if (sl_pkt_addr_is_v4(addr))
        r = inet_ntop(AF_INET, addr + 12, buf, (socklen_t)buflen);
    else
        r = inet_ntop(AF_INET6, addr, buf, (socklen_t)buflen);
    if (!r)
        buf[0] = '\0';
    return buf;
}
