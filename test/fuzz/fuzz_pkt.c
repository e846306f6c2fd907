/* libFuzzer target for sl_pkt_decode.
 *
 * Input: one selector byte, then the frame. The selector's low 4 bits pick
 * the link type from fuzz_dlts[] (test/fuzz/fuzz_seed.c writes seeds with the
 * same table); bit 4 says whether the wire length is given (as the frame's
 * length) or unknown. Every output field is read and the decoder's
 * invariants are checked, so a wrong offset traps rather than passing
 * silently. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_dlts.h"
#include "sl_flow.h"
#include "sl_pkt.h"

static uint64_t touch_layer(const struct sl_pkt_ip *ip, uint32_t len, int idx)
{
    uint64_t h = 0;
    char buf[64];

    CHECK(ip->version == 4 || ip->version == 6);
    CHECK(ip->encap < SL_ENCAP_MAX);
    CHECK((idx == 0) == (ip->encap == SL_ENCAP_NONE));
    CHECK((uint32_t)ip->off + ip->cap_len <= len);
    CHECK(ip->hdr_len <= ip->cap_len);
    CHECK(ip->cap_len <= ip->tot_len);
    for (int i = 0; i < 16; i++)
        h = mix(h, (uint64_t)ip->src[i] << 8 | ip->dst[i]);
    h = mix(h, strlen(sl_pkt_addr_str(ip->src, buf, sizeof(buf))));
    h = mix(h, strlen(sl_pkt_addr_str(ip->dst, buf, sizeof(buf))));
    h = mix(h, strlen(sl_pkt_encap_name((enum sl_encap)ip->encap)));
    h = mix(h, ip->proto | (uint64_t)ip->ttl << 8 | (uint64_t)ip->flags << 16 |
                   (uint64_t)ip->tos << 24);
    h = mix(h, ip->tot_len | (uint64_t)ip->frag_off << 16 | (uint64_t)ip->frag_id << 32);
    h = mix(h, ip->tunnel_id);
    h = mix(h, ip->sport | (uint64_t)ip->dport << 16);
    if (ip->flags & SL_IPF_L4) {
        CHECK(ip->l4_off == ip->off + ip->hdr_len);
        CHECK((uint32_t)ip->l4_off + ip->l4_len <= len);
        CHECK(ip->payload_off >= ip->l4_off);
        CHECK((uint32_t)ip->payload_off + ip->payload_len <= len);
        h = mix(h, ip->seq ^ (uint64_t)ip->ack << 32);
        h = mix(h, ip->win | (uint64_t)ip->tcp_flags << 16 | (uint64_t)ip->icmp_type << 24 |
                       (uint64_t)ip->icmp_code << 32 | (uint64_t)ip->l4_claimed << 40);
    } else if (!(ip->flags & SL_IPF_PORTS)) {
        /* SL_IPF_PORTS: a broken TCP header still names its ports */
        CHECK(ip->sport == 0 && ip->dport == 0);
    }
    if (ip->flags & SL_IPF_ICMP_ERR) {
        const struct sl_pkt_quoted *q = &ip->quoted;
        CHECK(q->version == 4 || q->version == 6);
        for (int i = 0; i < 16; i++)
            h = mix(h, (uint64_t)q->src[i] << 8 | q->dst[i]);
        h = mix(h, q->sport | (uint64_t)q->dport << 16 | (uint64_t)q->proto << 32);
        h = mix(h, strlen(sl_pkt_addr_str(q->src, buf, sizeof(buf))));
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int dlt = fuzz_dlts[data[0] & 15];
    uint32_t len = (uint32_t)(size - 1);
    uint32_t wire = (data[0] & 16) ? len : 0;
    struct sl_pkt p;

    int r = sl_pkt_decode_wire(&p, data + 1, len, wire, dlt);
    CHECK(r == p.stop);
    CHECK(p.stop <= SL_STOP_FRAGMENT);
    CHECK((p.stop == SL_STOP_WEIRD) == (p.weird != NULL));
    CHECK(p.n_ip <= SL_PKT_MAX_IP);
    CHECK(p.data == data + 1 && p.len == len);

    uint64_t h = mix(0, p.eth_off | (uint64_t)p.ethertype << 16 | (uint64_t)p.n_vlan << 32);
    h = mix(h, p.n_mpls | (uint64_t)p.pppoe << 8 | (uint64_t)p.vntag << 16 |
                   (uint64_t)p.has_mac << 24);
    for (int i = 0; i < p.n_vlan && i < SL_PKT_MAX_VLAN; i++)
        h = mix(h, p.vlan[i]);
    if (p.has_mac) {
        CHECK((uint32_t)p.eth_off + 12 <= len);
        h = mix(h, data[1 + p.eth_off] ^ data[1 + p.eth_off + 11]);
    }
    if (p.weird)
        h = mix(h, strlen(p.weird));
    if (p.note)
        h = mix(h, strlen(p.note));
    for (int i = 0; i < p.n_ip; i++) {
        h = mix(h, touch_layer(&p.ip[i], len, i));
        if (p.ip[i].flags & SL_IPF_L4 && p.ip[i].payload_len)
            h = mix(h, data[1 + p.ip[i].payload_off + p.ip[i].payload_len - 1]);
    }
    if (p.stop == SL_STOP_FRAGMENT)
        CHECK(p.n_ip > 0 && sl_pkt_inner(&p)->frag_off > 0);

    /* The fast path and the general walk must agree. */
    struct sl_pkt g;
    CHECK(sl_pkt_decode_general(&g, data + 1, len, wire, dlt) == r);
    CHECK(g.n_ip == p.n_ip && g.weird == p.weird && g.note == p.note);
    size_t from = offsetof(struct sl_pkt, eth_off), to = offsetof(struct sl_pkt, weird);
    CHECK(!memcmp((char *)&p + from, (char *)&g + from, to - from));
    for (int i = 0; i < p.n_ip; i++)
        CHECK(!memcmp(&p.ip[i], &g.ip[i], offsetof(struct sl_pkt_ip, quoted)));

    /* sl_pkt_fast_flow (frontend-dpdk's short path, which has no wire
     * length) takes only frames that decode cleanly, and reads their flow. */
    struct sl_flow_key k;
    if (dlt == SL_DLT_EN10MB && wire == 0)
        for (int inner = 0; inner < 2; inner++) {
            if (!sl_pkt_fast_flow(data + 1, len, inner, &k))
                continue;
            CHECK(r == SL_STOP_L4 && !p.weird && !p.note && (p.n_ip == 1 || p.n_ip == 2));
            for (int i = 0; i < p.n_ip; i++)
                CHECK(!(p.ip[i].flags & (SL_IPF_FRAG | SL_IPF_ICMP_ERR)));
            const struct sl_pkt_ip *ip = &p.ip[inner ? p.n_ip - 1 : 0];
            CHECK((p.ip[p.n_ip - 1].flags & SL_IPF_L4) && !memcmp(k.src, ip->src, 16) &&
                  !memcmp(k.dst, ip->dst, 16) && k.proto == ip->proto && k.version == ip->version);
            bool ports = ip->flags & (SL_IPF_L4 | SL_IPF_PORTS);
            CHECK(k.sport == (ports ? ip->sport : 0) && k.dport == (ports ? ip->dport : 0));
            h = mix(h, k.sport);
        }
    sink = h;
    return 0;
}
