/* sl_sb: a packet builder for synthesized traffic and tests.
 *
 * Headers are appended outermost first into one fixed buffer; each append
 * records a layer. sl_sb_finish() then walks the layers innermost first and
 * fixes what depends on what follows: next-protocol fields left 0 ("auto"),
 * length fields (IPv4 total length, IPv6 payload length, UDP length, GTP-U
 * length, PPPoE length, TCP data offset), the MPLS bottom-of-stack bit, and
 * every checksum (IPv4 header, TCP, UDP, ICMP, ICMPv6; TCP/UDP/ICMPv6 over
 * the pseudo-header of the nearest enclosing IP layer). Inner layers are
 * fixed first because an outer UDP checksum covers them.
 *
 * Every layer extends to the end of the buffer (no trailers), so lengths are
 * "from this header to the end". Deliberately broken packets are made with
 * per-layer flags: SL_SB_F_BADSUM writes a checksum that is certainly wrong,
 * SL_SB_F_KEEPLEN / SL_SB_F_KEEPSUM leave a length / checksum the caller
 * wrote through sl_sb_hdr(). Truncations are made by cutting the finished
 * buffer (the caller decides the captured length).
 *
 * Append functions return the new layer's index (>= 0) or -ENOSPC; an error
 * is sticky and sl_sb_finish() returns it, so a caller may chain appends and
 * check once. Nothing allocates.
 */
#ifndef SL_SB_H
#define SL_SB_H

#include <stddef.h>
#include <stdint.h>

#define SL_SB_MAX        16384 /* bytes: jumbo frames plus tunnel headers */
#define SL_SB_MAX_LAYERS 24

enum sl_sb_kind {
    SL_SB_ETH = 1, /* Ethernet II */
    SL_SB_VLAN,    /* 802.1Q / 802.1ad tag: TCI + next ethertype */
    SL_SB_MPLS,    /* one MPLS label stack entry */
    SL_SB_PPPOE,   /* PPPoE session header + PPP protocol */
    SL_SB_IPV4,
    SL_SB_IPV6,
    SL_SB_IP6_EXT,  /* hop-by-hop / routing / destination options */
    SL_SB_IP6_FRAG, /* IPv6 fragment extension header */
    SL_SB_TCP,
    SL_SB_UDP,
    SL_SB_ICMP,
    SL_SB_ICMP6,
    SL_SB_GRE,
    SL_SB_VXLAN,
    SL_SB_GENEVE,
    SL_SB_GTPU,
};

/* struct sl_sb_layer.flags */
#define SL_SB_F_BADSUM  0x01 /* write a wrong checksum (IPv4, TCP, UDP, ICMP, ICMPv6) */
#define SL_SB_F_KEEPLEN 0x02 /* leave the length field / TCP data offset as written */
#define SL_SB_F_KEEPSUM 0x04 /* leave the checksum as written (e.g. UDP checksum 0) */

struct sl_sb_layer {
    uint8_t kind;  /* enum sl_sb_kind */
    uint8_t flags; /* SL_SB_F_* */
    uint16_t off;  /* where the header starts in buf */
    uint16_t hlen; /* header bytes appended by the layer */
    uint16_t next; /* next-protocol value given by the caller, 0 = auto */
    uint16_t aux;  /* VLAN: TPID; IP6_EXT: its protocol number */
};

struct sl_sb {
    size_t len; /* bytes in buf */
    int err;    /* sticky: first error met, 0 if none */
    unsigned n_layers;
    struct sl_sb_layer layer[SL_SB_MAX_LAYERS];
    uint8_t buf[SL_SB_MAX];
};

/* Empties b (keeps nothing from the previous packet). */
void sl_sb_reset(struct sl_sb *b);

/* Ethernet II. `type` 0 = derived from the next layer. */
int sl_sb_eth(struct sl_sb *b, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/* A VLAN tag. The TPID (0x8100 for 802.1Q, 0x88a8 for an 802.1ad service tag)
 * is written into the previous layer's type field; `type` is the tag's own
 * next ethertype, 0 = auto. */
int sl_sb_vlan(struct sl_sb *b, uint16_t tpid, uint16_t vid, uint8_t pcp, uint16_t type);

/* One MPLS label stack entry; the S bit is set on the last consecutive one. */
int sl_sb_mpls(struct sl_sb *b, uint32_t label, uint8_t tc, uint8_t ttl);

/* PPPoE session stage header (ver 1, type 1, code 0) and the PPP protocol
 * field; `ppp_proto` 0 = auto (0x0021 IPv4, 0x0057 IPv6). */
int sl_sb_pppoe(struct sl_sb *b, uint16_t session, uint16_t ppp_proto);

struct sl_sb_ipv4 {
    const uint8_t *src, *dst; /* 4 bytes each */
    uint8_t proto;            /* 0 = auto */
    uint8_t ttl;
    uint8_t tos;
    uint8_t df; /* set Don't Fragment */
    uint16_t id;
    uint16_t frag_off;  /* fragment offset in bytes (multiple of 8) */
    uint8_t mf;         /* More Fragments */
    uint8_t opt_len;    /* bytes of options (multiple of 4, <= 40) */
    const uint8_t *opt; /* NULL = NOPs ending with EOL */
};
int sl_sb_ipv4(struct sl_sb *b, const struct sl_sb_ipv4 *ip);

struct sl_sb_ipv6 {
    const uint8_t *src, *dst; /* 16 bytes each */
    uint8_t next;             /* 0 = auto (0 as hop-by-hop is set via an IP6_EXT layer) */
    uint8_t hlim;
    uint8_t tclass;
    uint32_t flow_label;
};
int sl_sb_ipv6(struct sl_sb *b, const struct sl_sb_ipv6 *ip);

/* An extension header of 8 * (1 + len8) bytes filled with PadN; `type` is
 * its own protocol number (0 hop-by-hop, 43 routing, 60 destination options),
 * written into the previous header's next-header field. */
int sl_sb_ip6_ext(struct sl_sb *b, uint8_t type, uint8_t len8);

/* IPv6 fragment header: offset in bytes (multiple of 8). */
int sl_sb_ip6_frag(struct sl_sb *b, uint16_t offset, int more, uint32_t ident);

struct sl_sb_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags; /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 */
    uint16_t win;
    uint16_t urg;
    /* Options (SYN segments): each written when non-zero. */
    uint16_t mss;
    uint8_t ws_opt; /* 1 + window scale shift; 0 = no window scale option */
    uint8_t sack_ok;
    uint32_t ts_val, ts_ecr; /* timestamps option when ts_val != 0 */
};
int sl_sb_tcp(struct sl_sb *b, const struct sl_sb_tcp *t);

int sl_sb_udp(struct sl_sb *b, uint16_t sport, uint16_t dport);

/* ICMP / ICMPv6 header: type, code and the 4 "rest of header" bytes (echo:
 * id << 16 | seq). */
int sl_sb_icmp(struct sl_sb *b, uint8_t type, uint8_t code, uint32_t rest);
int sl_sb_icmp6(struct sl_sb *b, uint8_t type, uint8_t code, uint32_t rest);

/* GRE (RFC 2784/2890): `proto` 0 = auto (0x0800, 0x86dd, 0x6558 for
 * Ethernet, 0x8847 MPLS); key written when has_key. */
int sl_sb_gre(struct sl_sb *b, uint16_t proto, int has_key, uint32_t key);

/* VXLAN (RFC 7348), I flag set; an Ethernet layer follows. */
int sl_sb_vxlan(struct sl_sb *b, uint32_t vni);

/* GENEVE (RFC 8926) with `opt_len` bytes (multiple of 4) of one opaque
 * option; `proto` 0 = auto (0x6558 Ethernet, 0x0800, 0x86dd). */
int sl_sb_geneve(struct sl_sb *b, uint32_t vni, uint16_t proto, uint8_t opt_len);

/* GTP-U v1 G-PDU (message type 255) with the given TEID; length auto. */
int sl_sb_gtpu(struct sl_sb *b, uint32_t teid);

/* Appends n payload bytes and returns where to write them, or NULL (sticky
 * -ENOSPC) when they do not fit. The bytes are zeroed. */
uint8_t *sl_sb_put(struct sl_sb *b, size_t n);

/* Appends a copy of n bytes. Returns 0 or -ENOSPC. */
int sl_sb_bytes(struct sl_sb *b, const void *p, size_t n);

/* The header bytes of layer i, for callers that want to poke a field
 * (together with SL_SB_F_KEEPLEN / KEEPSUM), or NULL. */
uint8_t *sl_sb_hdr(struct sl_sb *b, int i);

/* Adds flags to layer i (ignored when i is not a layer). */
void sl_sb_set_flags(struct sl_sb *b, int i, uint8_t flags);

/* Fixes next-protocol fields, lengths and checksums. Returns 0 or the first
 * error met while building (-ENOSPC, -EINVAL). */
int sl_sb_finish(struct sl_sb *b);

/* Cuts a finished frame to new_len bytes the way a sender's bug or a
 * middlebox would: the header the cut falls in (and everything inside it)
 * keeps the fields it had, while the layers around it are re-fixed to the
 * shorter frame (lengths, checksums), so the first inconsistency a decoder
 * meets is the truncated header itself. Returns 0 or -EINVAL. */
int sl_sb_truncate(struct sl_sb *b, size_t new_len);

/* Pads a finished frame with zeros up to min_len (60: the Ethernet minimum
 * without FCS, as a tap on the wire sees it). Lengths are not changed: the
 * padding is outside every layer, as on a real wire. */
void sl_sb_pad(struct sl_sb *b, size_t min_len);

/* Fragments the finished packet `whole` at its IP layer `ip_layer` (IPv4:
 * offset/MF in the header; IPv6: a fragment header is inserted after the
 * fixed header) into pieces of at most `chunk` bytes of IP payload (rounded
 * down to a multiple of 8), writes piece `idx` into *out (finished: outer
 * layers' lengths and checksums fixed) and returns the number of pieces, or
 * -EINVAL. `ident` is the IPv6 identification (IPv4 keeps its header id).
 * Layers after ip_layer become opaque payload. */
int sl_sb_fragment(const struct sl_sb *whole, unsigned ip_layer, size_t chunk, unsigned idx,
                   uint32_t ident, struct sl_sb *out);

/* Internet checksum (RFC 1071) of n bytes, folded, not complemented, added
 * to `sum`. Exposed for tests that check the builder independently. */
uint32_t sl_sb_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t sl_sb_csum_fold(uint32_t sum);

#endif
