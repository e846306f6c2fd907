/* sl_ktx: which frames a Linux kernel port (an AF_PACKET socket on a veth,
 * a tap) cannot carry to a capture at the far end.
 *
 * A replayed pcap holds frames no link carries. Sent into a kernel port,
 * they vanish without a count anywhere the sender sees, so the frontend
 * checks each frame before TX to such a port and counts the ones that would
 * vanish (frontend/fwd.c), and the lab, to say which analysis rows those
 * drops explain, removes the same frames from the pcap for its reference
 * run (emulator/lab_deliver.c). One rule for both, here. Reasons, checked
 * in this order:
 *
 *   SL_KTX_RUNT       shorter than an Ethernet header (14 bytes): the
 *                     kernel's dev_validate_header refuses it at send (with
 *                     PACKET_LOSS, which DPDK's af_packet sets, silently;
 *                     the PMD still counts it sent). A tap's write refuses it
 *                     too.
 *   SL_KTX_VLAN_RUNT  EtherType 802.1Q (0x8100) or 802.1ad (0x88a8) but
 *                     fewer than 20 bytes: the receiving kernel untags VLAN
 *                     frames before any packet socket sees them
 *                     (skb_vlan_untag wants the 4-byte tag and the next
 *                     EtherType) and frees a frame too short for that. It is
 *                     sent and counted in the far end's rx_packets, but no
 *                     capture sees it.
 *   SL_KTX_OVERSIZE   longer than the link carries: more than MTU + 14 bytes
 *                     (MTU + 18 for an 802.1Q frame; AF_PACKET's tpacket_snd
 *                     rule), or more than the sender's ring slot holds
 *                     (DPDK's af_packet frees such a frame and counts it
 *                     sent).
 *   SL_KTX_SNAPPED    captured shorter than it was on the wire (pcap caplen
 *                     < len): the bytes past the snap length were never
 *                     captured, so the link would carry a different, shorter
 *                     frame and the far end would analyse that instead.
 *
 * The check is a few compares on the common path (a whole frame of 20 bytes
 * up to the limit); the EtherType is read only for short or long frames.
 */
#ifndef SL_KTX_H
#define SL_KTX_H

#include <stdint.h>

enum sl_ktx_verdict {
    SL_KTX_OK = 0,
    SL_KTX_RUNT,
    SL_KTX_VLAN_RUNT,
    SL_KTX_OVERSIZE,
    SL_KTX_SNAPPED,
    SL_KTX_MAX
};

#define SL_KTX_ETH_HLEN  14u
#define SL_KTX_VLAN_MIN  20u /* Ethernet header + 802.1Q tag + next EtherType */
#define SL_KTX_VLAN_HLEN 4u

/* What one kernel link takes. A zero field is no limit. */
struct sl_ktx_link {
    uint32_t mtu;  /* the interface's MTU (L3 bytes) */
    uint32_t room; /* the largest frame the sender's ring slot holds */
};

/* Largest frame (no 802.1Q tag) that needs no closer look; UINT32_MAX when
 * the link has no limit. */
static inline uint32_t sl_ktx_fast_max(const struct sl_ktx_link *l)
{
    uint32_t max = l->mtu ? l->mtu + SL_KTX_ETH_HLEN : UINT32_MAX;
    return l->room && l->room < max ? l->room : max;
}

/* The careful check. hdr: the frame's first min(len, 14) bytes (at least),
 * len: its captured length, wire_len: its length on the wire (>= len). */
static inline enum sl_ktx_verdict sl_ktx_classify(const struct sl_ktx_link *l, const uint8_t *hdr,
                                                  uint32_t len, uint32_t wire_len)
{
    if (len < SL_KTX_ETH_HLEN)
        return SL_KTX_RUNT;
    uint16_t et = (uint16_t)(hdr[12] << 8 | hdr[13]);
    if (len < SL_KTX_VLAN_MIN && (et == 0x8100 || et == 0x88a8))
        return SL_KTX_VLAN_RUNT;
    if (l->room && len > l->room)
        return SL_KTX_OVERSIZE;
    if (l->mtu && len > l->mtu + SL_KTX_ETH_HLEN + (et == 0x8100 ? SL_KTX_VLAN_HLEN : 0))
        return SL_KTX_OVERSIZE;
    if (wire_len > len)
        return SL_KTX_SNAPPED;
    return SL_KTX_OK;
}

/* The check as the hot path calls it: fast_max from sl_ktx_fast_max. */
static inline enum sl_ktx_verdict sl_ktx_check(const struct sl_ktx_link *l, uint32_t fast_max,
                                               const uint8_t *hdr, uint32_t len, uint32_t wire_len)
{
    if (__builtin_expect(len >= SL_KTX_VLAN_MIN && len <= fast_max && wire_len <= len, 1))
        return SL_KTX_OK;
    return sl_ktx_classify(l, hdr, len, wire_len);
}

/* "runt", "vlan_runt", "oversize", "snapped" ("ok" for SL_KTX_OK). */
static inline const char *sl_ktx_name(enum sl_ktx_verdict v)
{
    static const char *const names[SL_KTX_MAX] = {"ok", "runt", "vlan_runt", "oversize", "snapped"};
    return (unsigned)v < SL_KTX_MAX ? names[v] : "?";
}

#endif
