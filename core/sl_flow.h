/* sl_flow: flow keys, symmetric balancing hashes, Zeek community ID.
 *
 * A flow key is the fixed-layout 5-tuple of one IP layer of a decoded packet
 * (struct sl_pkt_ip). Every balancing hash here is symmetric: the key of
 * A->B and of B->A hash alike, so both directions of a connection reach one
 * worker. Hash modes:
 *   sym5        addresses, protocol, ports of the outermost IP layer
 *   sym3        addresses, protocol
 *   sym2        addresses
 *   inner-sym5/3/2  the same over the innermost IP layer (through tunnels)
 *   toeplitz    symmetric Toeplitz over (addresses, ports) with the 0x6d5a
 *               repeated 40-byte key: bit-identical to DPDK's rte_softrss(),
 *               i.e. what a NIC with symmetric RSS computes.
 * Non-IP frames hash on the (sorted) MAC pair in every mode.
 *
 * Ports count only for TCP, UDP and SCTP. Everything else (ICMP included:
 * its type/code differ between request and reply) hashes on addresses and
 * protocol, so one hash covers a host pair's ICMP and an ICMP error can be
 * re-hashed on the flow it quotes (sl_hash_quoted). toeplitz likewise uses
 * the L3-only tuple for other protocols, as NICs do; non-first fragments hash
 * with ports zero, which for Toeplitz equals the L3-only tuple.
 *
 * The sym* hashes are not cryptographic: three 64x64->128 multiply-folds
 * over the canonically ordered words (~2 ns), stable across runs and hosts.
 */
#ifndef SL_FLOW_H
#define SL_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sl_pkt.h"

struct sl_flow_key {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    uint8_t proto;
    uint8_t version;
    uint8_t pad[2]; /* always zero, so keys compare and hash as bytes */
};
_Static_assert(sizeof(struct sl_flow_key) == 40, "sl_flow_key must stay 40 bytes");

enum sl_hash_mode {
    SL_HASH_SYM5 = 0,
    SL_HASH_SYM3,
    SL_HASH_SYM2,
    SL_HASH_INNER_SYM5,
    SL_HASH_INNER_SYM3,
    SL_HASH_INNER_SYM2,
    SL_HASH_TOEPLITZ,
    SL_HASH_MAX
};

/* Fills *k from one IP layer (ports zero when the layer has no L4). */
void sl_flow_key_from_ip(struct sl_flow_key *k, const struct sl_pkt_ip *ip);

/* Orders the two endpoints so that A->B and B->A give the same key. */
void sl_flow_key_canon(struct sl_flow_key *k);

/* Parses "sym5", "inner-sym3", "toeplitz", ... Returns 0 or -EINVAL. */
int sl_hash_mode_parse(const char *s, enum sl_hash_mode *out);
const char *sl_hash_mode_name(enum sl_hash_mode m);

/* Symmetric 64-bit balancing hash of a decoded packet in mode m. Non-IP
 * frames hash the MAC pair. Non-first fragments hash with ports zero: the
 * balancer keeps them with their flow through its fragment table (sl_lb). */
uint64_t sl_hash_pkt(const struct sl_pkt *p, enum sl_hash_mode m);

/* Symmetric hash of a flow key with the fields of mode m (sym5/3/2 rules). */
uint64_t sl_hash_key(const struct sl_flow_key *k, enum sl_hash_mode m);

/* Symmetric hash of one IP layer in mode m (the layer is not chosen here:
 * inner and outer modes of the same width hash a given layer alike). */
uint64_t sl_hash_layer(const struct sl_pkt_ip *ip, enum sl_hash_mode m);

/* sl_hash_tuple for any tuple and mode (the inline one below calls it for
 * IPv6 and toeplitz). */
uint64_t sl_hash_tuple_any(const struct sl_pkt_tuple *t, enum sl_hash_mode m);

/* ---- inline: what a balancer computes for every frame ---------------------
 * The sym* hash of an IPv4 tuple, inline so that a burst loop pays no call
 * for it; sl_flow.c builds on the same functions, so both give one result. */

/* Odd 64-bit constants (digits of pi); any fixed random values do. */
#define SL_HASH_K0 0x243f6a8885a308d3ULL
#define SL_HASH_K1 0x13198a2e03707345ULL
#define SL_HASH_K4 0x452821e638d01377ULL
#define SL_HASH_K5 0xbe5466cf34e90c6dULL

/* 64x64->128 multiply folded: one of the cheapest strong mixers. */
static inline uint64_t sl_hash_mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* IPv4 endpoints as loaded from the header (s, d: the address bytes in
 * memory order), ordered without a branch, then two multiply-folds. */
static inline uint64_t sl_hash_v4(uint32_t s, uint32_t d, uint32_t sp, uint32_t dp, uint32_t proto)
{
    uint64_t a = (uint64_t)s << 16 | sp, b = (uint64_t)d << 16 | dp;
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t x = sl_hash_mum(lo ^ SL_HASH_K0, hi ^ ((uint64_t)proto << 48) ^ SL_HASH_K1);
    return sl_hash_mum(x ^ SL_HASH_K4, SL_HASH_K5);
}

/* Only these protocols have ports that identify a connection: TCP, UDP,
 * SCTP. ICMP's type/code would split echo request from reply (and an error
 * from its flow), so ICMP hashes on addresses and protocol. */
static inline bool sl_hash_proto_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

/* The fields a sym* mode hashes: ports in the 5-tuple modes only, and only
 * for protocols with ports; the protocol in all but the 2-tuple modes.
 * Zeroes the rest. */
static inline void sl_hash_mode_fields(enum sl_hash_mode m, uint16_t *sp, uint16_t *dp,
                                       uint8_t *proto)
{
    if (m == SL_HASH_SYM2 || m == SL_HASH_INNER_SYM2)
        *proto = 0;
    if ((m != SL_HASH_SYM5 && m != SL_HASH_INNER_SYM5) || !sl_hash_proto_has_ports(*proto))
        *sp = *dp = 0;
}

/* sl_hash_key of the key a tuple from sl_pkt_fast_tuple names. */
static inline uint64_t sl_hash_tuple(const struct sl_pkt_tuple *t, enum sl_hash_mode m)
{
    if (t->version != 4 || m == SL_HASH_TOEPLITZ)
        return sl_hash_tuple_any(t, m);
    uint32_t s, d;
    uint16_t sp = t->sport, dp = t->dport;
    uint8_t proto = t->proto;
    memcpy(&s, t->src, 4);
    memcpy(&d, t->dst, 4);
    sl_hash_mode_fields(m, &sp, &dp, &proto);
    return sl_hash_v4(s, d, sp, dp, proto);
}

/* Symmetric hash of the flow an ICMP error quotes, in mode m: equal to the
 * hash of that flow's own packets (either direction). */
uint64_t sl_hash_quoted(const struct sl_pkt_quoted *q, enum sl_hash_mode m);

/* Symmetric hash of the MAC pair at the start of an Ethernet header (len
 * bytes available; missing bytes count as zero). */
uint64_t sl_hash_mac_pair(const uint8_t *eth, size_t len);

/* The hash every mode uses for a frame without an IP layer: the MAC pair
 * when the frame has one (p->has_mac). */
uint64_t sl_hash_pkt_l2(const struct sl_pkt *p);

/* The IP layer mode m hashes: innermost for inner-*, else outermost; NULL
 * for non-IP. */
const struct sl_pkt_ip *sl_hash_pick_layer(const struct sl_pkt *p, enum sl_hash_mode m);

/* Whether mode m hashes the innermost IP layer (inner-*). */
static inline bool sl_hash_mode_inner(enum sl_hash_mode m)
{
    return m == SL_HASH_INNER_SYM5 || m == SL_HASH_INNER_SYM3 || m == SL_HASH_INNER_SYM2;
}

/* Toeplitz over `len` bytes of `tuple` (network byte order, as on the wire)
 * with a `key` of at least len+4 bytes; same result as rte_softrss() on the
 * equivalent host-order 32-bit words (len a multiple of 4 there). */
uint32_t sl_hash_toeplitz(const uint8_t *tuple, size_t len, const uint8_t *key);

/* The 40-byte 0x6d5a-repeated symmetric RSS key. */
extern const uint8_t sl_hash_rss_sym_key[40];

/* Zeek community ID v1 of one IP layer: "1:" + base64(sha1(...)), with
 * Zeek's endpoint ordering and ICMP/ICMPv6 type counterparts. `seed` as
 * CommunityID::seed (Zeek default 0). buf needs SL_FLOW_CID_LEN bytes.
 * Returns 0, or -ENOSPC when buf is too small. */
#define SL_FLOW_CID_LEN 31
int sl_flow_community_id(const struct sl_pkt_ip *ip, uint16_t seed, char *buf, size_t buflen);

#endif
