/* sl_pkt: frame decoder, from Ethernet down through tunnels to L4.
 *
 * Input is a raw frame (pointer, length); no DPDK or libpcap types. The
 * decoder walks the frame with a bounds-checked cursor and fills a
 * struct sl_pkt: the L2 summary, then one struct sl_pkt_ip per IP layer it
 * met (outermost first, innermost last; a tunnel adds a layer), each with its
 * transport header when present. It never reads past `len`.
 *
 * Anything it cannot take apart is reported, not dropped: an unknown
 * ethertype or IP protocol ends decoding with `stop` saying where, and every
 * truncation or inconsistency sets `weird` to a Zeek weird name
 * (truncated_IP, truncated_header, ...). Decoding stops at the first weird;
 * the layers decoded before it stay valid. A few inconsistencies Zeek reports
 * without giving up on the packet (UDP_datagram_length_mismatch,
 * ip_hdr_len_zero from TSO captures, ...) go to `note` instead and decoding
 * goes on.
 *
 * Only ip[0 .. n_ip-1] are written; entries past n_ip hold stale data from an
 * earlier frame (the decoder does not clear what nobody may read). Inside a
 * layer, the transport fields are meaningful only with SL_IPF_L4 and `quoted`
 * only with SL_IPF_ICMP_ERR, though sport/dport are always written (0 when
 * there is no transport header).
 *
 * Addresses are kept as 16 bytes: IPv6 as is, IPv4 as an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d), the form Zeek's IPAddr uses. `version` says which.
 */
#ifndef SL_PKT_H
#define SL_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SL_PKT_MAX_IP   4 /* IP layers kept: outer + up to three nested tunnels */
#define SL_PKT_MAX_VLAN 8 /* 802.1Q/802.1ad tags recorded (deeper ones still decoded) */

/* How an IP layer was reached. */
enum sl_encap {
    SL_ENCAP_NONE = 0, /* the outermost IP layer */
    SL_ENCAP_IPIP,     /* IPv4/IPv6 directly in IPv4/IPv6 (4in4, 6in4, 4in6, 6in6) */
    SL_ENCAP_GRE,      /* GRE carrying IP, or Ethernet (transparent bridging 0x6558) */
    SL_ENCAP_ERSPAN,   /* GRE ERSPAN type I, II or III */
    SL_ENCAP_VXLAN,    /* UDP 4789 */
    SL_ENCAP_GENEVE,   /* UDP 6081 */
    SL_ENCAP_GTPU,     /* UDP 2152 */
    SL_ENCAP_TEREDO,   /* UDP 3544, IPv6 in UDP/IPv4 */
    SL_ENCAP_AYIYA,    /* UDP 5072 */
    SL_ENCAP_MAX
};

/* Where decoding ended. */
enum sl_pkt_stop {
    SL_STOP_L4 = 0,        /* reached the innermost transport header (or IP payload) */
    SL_STOP_WEIRD,         /* a truncation/inconsistency; see `weird` */
    SL_STOP_NON_IP,        /* an L2 ethertype that is not IP (ARP, LLDP, unknown, ...) */
    SL_STOP_UNKNOWN_PROTO, /* IP payload of a protocol the decoder does not parse */
    SL_STOP_FRAGMENT,      /* a non-first IP fragment: no transport header here */
};

/* struct sl_pkt_ip.flags */
#define SL_IPF_FRAG       0x01 /* this packet is a fragment (MF set or offset > 0) */
#define SL_IPF_FIRST_FRAG 0x02 /* ... and it is the first one (offset 0) */
#define SL_IPF_OPTIONS    0x04 /* IPv4 options or IPv6 extension headers present */
#define SL_IPF_L4         0x08 /* transport fields below are valid */
#define SL_IPF_ICMP_ERR   0x10 /* ICMP/ICMPv6 error quoting a packet: see `quoted` */
#define SL_IPF_TRUNC      0x20 /* IP packet longer than the bytes captured (caplen < len) */
/* sport/dport are valid although the transport header is not (a TCP header
 * with a bad data offset): Zeek still keys a connection on those ports, so a
 * balancer must hash them too or it splits the packet from its connection. */
#define SL_IPF_PORTS 0x40

/* TCP flag bits as on the wire. */
#define SL_TCP_FIN 0x01
#define SL_TCP_SYN 0x02
#define SL_TCP_RST 0x04
#define SL_TCP_PSH 0x08
#define SL_TCP_ACK 0x10
#define SL_TCP_URG 0x20

/* The flow an ICMP error quotes: the offending packet's header as it was sent
 * (so src is the local end of the quoted flow, dst the remote). */
struct sl_pkt_quoted {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport; /* 0 when the quote is too short for ports or the proto has none */
    uint16_t dport;
    uint8_t proto;
    uint8_t version;
};

struct sl_pkt_ip {
    uint8_t src[16];
    uint8_t dst[16];
    uint8_t version; /* 4 or 6 */
    uint8_t proto;   /* upper-layer protocol (after IPv6 extension headers) */
    uint8_t ttl;     /* TTL / hop limit */
    uint8_t flags;   /* SL_IPF_* */
    uint8_t encap;   /* enum sl_encap: how this layer was reached */
    uint8_t tos;
    uint16_t off;       /* offset of the IP header in the frame */
    uint16_t hdr_len;   /* IP header incl. IPv4 options / IPv6 extension headers */
    uint16_t tot_len;   /* total length the header claims (IPv6: 40 + payload length) */
    uint16_t cap_len;   /* bytes of this IP packet present in the frame */
    uint16_t frag_off;  /* fragment offset in bytes */
    uint32_t frag_id;   /* IPv4 id, or IPv6 fragment header identification */
    uint32_t tunnel_id; /* VNI / GRE key / GTP TEID / ERSPAN session of `encap`, else 0 */

    /* Transport, valid when flags & SL_IPF_L4. l4_off/l4_len are also set when
     * the IP payload is an unknown protocol or a tunnel: they locate it. */
    uint16_t l4_off; /* offset of the transport header in the frame */
    uint16_t l4_len; /* transport header + payload bytes present */
    uint16_t sport;  /* TCP/UDP/SCTP ports; ICMP: type (sport) and code (dport) */
    uint16_t dport;
    uint16_t payload_off; /* offset of the transport payload in the frame */
    uint16_t payload_len; /* payload bytes present, within the IP length (< claimed when cut) */
    uint32_t seq, ack;    /* TCP */
    uint16_t win;         /* TCP */
    uint8_t tcp_flags;    /* TCP, SL_TCP_* */
    uint8_t icmp_type;    /* ICMP / ICMPv6 */
    uint8_t icmp_code;
    uint8_t pad_[1];
    uint16_t l4_claimed;         /* UDP: its length field; else the IP payload length */
    struct sl_pkt_quoted quoted; /* valid when flags & SL_IPF_ICMP_ERR */
};

struct sl_pkt {
    const uint8_t *data; /* the frame, as given */
    uint32_t len;        /* captured bytes */

    /* L2 */
    uint16_t eth_off;   /* offset of the outer Ethernet header (0 unless prefixed) */
    uint16_t ethertype; /* the last ethertype met on the outer L2 path */
    uint8_t n_vlan;     /* 802.1Q/802.1ad tags on the outer path (all, even past MAX) */
    uint8_t n_mpls;     /* MPLS labels on the outer path */
    uint8_t pppoe;      /* 1 when a PPPoE session header was crossed */
    uint8_t vntag;      /* 1 when a VN-tag was crossed */
    uint8_t has_mac;    /* 1 when data[eth_off..eth_off+11] is the outer dst, src MAC pair */
    uint16_t vlan[SL_PKT_MAX_VLAN]; /* VLAN ids, outer first; min(n_vlan, MAX) of them */

    /* L3 / tunnels */
    uint8_t n_ip; /* IP layers decoded, 0 for non-IP */
    uint8_t stop; /* enum sl_pkt_stop */
    uint16_t pad_;
    const char *weird; /* Zeek weird name when stop == SL_STOP_WEIRD, else NULL */
    const char *note;  /* first non-fatal weird met (decoding went on), else NULL */
    struct sl_pkt_ip ip[SL_PKT_MAX_IP];
};

/* Link types the decoder accepts (libpcap DLT/LINKTYPE numbers). Any other
 * value stops at once with weird "unknown_link_type". */
#define SL_DLT_EN10MB           1   /* Ethernet */
#define SL_DLT_RAW              101 /* raw IP (v4 or v6 by version nibble) */
#define SL_DLT_NULL             0   /* BSD loopback: 4-byte host-order family */
#define SL_DLT_LINUX_SLL        113 /* Linux cooked capture */
#define SL_DLT_IEEE802_11_RADIO 127 /* radiotap + 802.11 (wlanmon traces) */
#define SL_DLT_PPP_SERIAL       50
#define SL_DLT_PPP              9   /* PPP: optional ff 03, then the PPP protocol */
#define SL_DLT_RAW_BSD12        12  /* raw IP as some BSDs number it */
#define SL_DLT_RAW_BSD14        14  /* raw IP (OpenBSD) */
#define SL_DLT_LOOP             108 /* OpenBSD loopback: 4-byte network-order family */
#define SL_DLT_IEEE802_11       105 /* 802.11 without radiotap */
#define SL_DLT_IPV4             228 /* raw IPv4 */
#define SL_DLT_IPV6             229 /* raw IPv6 */

/* Decodes one frame of link type `dlt` into *p. Always fills p (a frame that
 * is not fully understood is still described as far as it goes). Returns 0
 * when decoding reached L4 / an IP payload, or the stop reason as a positive
 * enum sl_pkt_stop value otherwise. Never reads beyond data[len - 1]; a
 * frame longer than 65535 bytes is decoded over its first 65535. */
int sl_pkt_decode(struct sl_pkt *p, const uint8_t *data, uint32_t len, int dlt);

/* As sl_pkt_decode, also given the frame's length on the wire (the pcap
 * header's `len`; 0 when unknown). With it the decoder can tell a snaplen cut
 * (SL_IPF_TRUNC, no weird) from an IP header claiming more bytes than the
 * frame ever had (weird truncated_IP_len), as Zeek does. */
int sl_pkt_decode_wire(struct sl_pkt *p, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                       int dlt);

/* sl_pkt_decode_wire without its straight-line fast path for plain
 * Ethernet/IPv4/TCP|UDP: the same output, more slowly. For tests that check
 * the two agree. */
int sl_pkt_decode_general(struct sl_pkt *p, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                          int dlt);

/* The flow of the commonest frame, read straight from its bytes. */
struct sl_pkt_v4 {
    uint8_t src[4], dst[4]; /* as on the wire */
    uint16_t sport, dport;  /* host order */
    uint8_t proto;          /* 6 (TCP) or 17 (UDP) */
};

/* For an Ethernet frame (at most one 802.1Q tag) carrying IPv4 without
 * options, no fragment, and TCP, or UDP that is no tunnel, with complete
 * headers: fills *v and returns true. These are exactly the frames that
 * sl_pkt_decode(.., SL_DLT_EN10MB) takes its own fast path for, decoding
 * them to one IP layer with its L4 header and nothing to report (no weird,
 * no fragment, no ICMP error); a balancer can then skip the full decode.
 * Anything else: false, and *v is untouched. */
bool sl_pkt_fast_v4(const uint8_t *data, uint32_t len, struct sl_pkt_v4 *v);

struct sl_flow_key; /* sl_flow.h */

/* The same promise for a wider set of Ethernet frames: up to four VLAN tags
 * (802.1Q, 802.1ad, 0x9100-0x9300) and then up to four MPLS labels, or
 * either alone, before IPv4 without options and not a fragment, or IPv6
 * without extension headers, carrying TCP, UDP that is no tunnel, or an
 * ICMP/ICMPv6 message that is no error, headers complete and lengths
 * consistent; or carrying, in GRE (version 0, IP or
 * Ethernet/IP payload), IP in IP, VXLAN (Ethernet/IP), GENEVE (IP or
 * Ethernet/IP) or GTP-U (a G-PDU without extension headers), one such
 * packet. For these
 * sl_pkt_decode(.., SL_DLT_EN10MB) finds one or two IP layers, L4 on the
 * last, nothing to report (no weird, no note) and nothing a balancer
 * treats apart (no fragment, no ICMP error), and *k is
 * sl_flow_key_from_ip() of the outermost layer, or with `inner` of the
 * innermost. Anything else: false, *k unspecified. */
bool sl_pkt_fast_flow(const uint8_t *data, uint32_t len, bool inner, struct sl_flow_key *k);

/* The same flow read in place, for a hash that needs no copy of it:
 * addresses point into data, 4 bytes (IPv4) or 16 (IPv6) by version; ports
 * are 0 where the key's are. sl_hash_tuple() hashes it. */
struct sl_pkt_tuple {
    const uint8_t *src, *dst;
    uint16_t sport, dport;
    uint8_t proto, version;
};
bool sl_pkt_fast_tuple(const uint8_t *data, uint32_t len, bool inner, struct sl_pkt_tuple *t);

/* Innermost / outermost IP layer, NULL for non-IP. */
static inline const struct sl_pkt_ip *sl_pkt_inner(const struct sl_pkt *p)
{
    return p->n_ip ? &p->ip[p->n_ip - 1] : NULL;
}
static inline const struct sl_pkt_ip *sl_pkt_outer(const struct sl_pkt *p)
{
    return p->n_ip ? &p->ip[0] : NULL;
}

/* Printable name of an encapsulation ("gre", "vxlan", ...). */
const char *sl_pkt_encap_name(enum sl_encap e);

/* Formats a 16-byte address (IPv4-mapped shown as dotted quad) into buf
 * (at least 46 bytes). Returns buf. */
char *sl_pkt_addr_str(const uint8_t addr[16], char *buf, size_t buflen);

/* True when a 16-byte address is IPv4-mapped. */
static inline bool sl_pkt_addr_is_v4(const uint8_t a[16])
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    for (int i = 0; i < 12; i++)
        if (a[i] != pfx[i])
            return false;
    return true;
}

/* Writes IPv4 address v4 (network order) as the decoder keeps it: mapped
 * into ::ffff:0:0/96. */
static inline void sl_pkt_addr_from_v4(uint8_t out[16], const uint8_t v4[4])
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(out, pfx, 12);
    memcpy(out + 12, v4, 4);
}

/* True for the IPv6 extension headers the decoder steps over (hop-by-hop,
 * routing, destination options, authentication, fragment). */
static inline bool sl_pkt_ip6_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44;
}

#endif
