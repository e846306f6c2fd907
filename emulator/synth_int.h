/* Internals shared by the synthesizer's modules (not an API for others).
 *
 * A flow is a conversation between a client (direction 0 sends c -> s) and
 * a server, over a path (L2 tags, tunnel, inner IP version), driven by a
 * machine (TCP, UDP, ICMP echo, scan, SYN flood, malformed). Each call to a
 * machine's step emits exactly one packet, stamped f->ts, and moves f->ts to
 * the time of the flow's next packet, never backwards; a flow therefore
 * stays time-ordered, and the scheduler's heap interleaves flows.
 *
 * The capture point is a tap next to the clients: what the client sends is
 * seen at once, what the server sends in reply is seen one RTT later.
 */
#ifndef SL_SYN_INT_H
#define SL_SYN_INT_H

#include <stdint.h>

#include "synth.h"
#include "synth_build.h"
#include "synth_rng.h"

enum sl_syn_mach { M_TCP = 1, M_UDP, M_ICMP, M_SCAN, M_FLOOD, M_BAD };

enum sl_syn_app {
    APP_NONE = 0,
    APP_HTTP,    /* TCP: HTTP/1.1 requests and responses */
    APP_BULK,    /* TCP: one GET of a large binary object */
    APP_DNS,     /* UDP or TCP (length-prefixed) DNS */
    APP_NTP,     /* UDP 123 */
    APP_GENERIC, /* UDP request/response of opaque bytes */
    APP_UNREACH, /* UDP to a closed port, answered by ICMP port unreachable */
};

/* How a TCP conversation ends (struct sl_syn_tcp.close). */
enum { CLOSE_FIN_C, CLOSE_FIN_S, CLOSE_RST_C, CLOSE_RST_S };

enum sl_syn_l2 { L2_PLAIN = 0, L2_DOT1Q, L2_QINQ, L2_MPLS, L2_PPPOE, L2_MAX };

enum sl_syn_tun {
    TUN_NONE = 0,
    TUN_GRE,
    TUN_GRE_TEB,
    TUN_VXLAN,
    TUN_GENEVE,
    TUN_GTPU,
    TUN_IPIP,
    TUN_6IN4,
    TUN_MAX
};

struct sl_syn_ep {
    uint8_t ip[16]; /* IPv4 in the first 4 bytes */
    uint8_t mac[6];
};

struct sl_syn_path {
    uint8_t v6;    /* inner IP is IPv6 */
    uint8_t l2;    /* enum sl_syn_l2 */
    uint8_t tun;   /* enum sl_syn_tun */
    uint8_t n_tag; /* VLAN tags or MPLS labels */
    uint16_t vid[2];
    uint16_t pppoe_sid;
    uint32_t label[2][3]; /* MPLS labels per direction (LSPs are one-way) */
    uint8_t tun_ip[2][4]; /* outer endpoints: [0] on the client side */
    uint8_t tun_mac[2][6];
    uint32_t tun_id[2]; /* VNI / GRE key / TEID per direction */
    uint16_t tun_sport; /* outer UDP source port (entropy from the inner flow) */
    uint16_t tun_ipid[2];
    uint8_t gre_key;
    uint8_t geneve_opt;
};

/* Pending IP fragmentation of the datagram a machine is emitting. */
struct sl_syn_frag {
    uint8_t want; /* the flow fragments datagrams larger than `mtu` */
    uint8_t busy; /* a datagram's pieces are being emitted */
    uint8_t k, n; /* next piece (in emission order), pieces */
    uint8_t order;
    uint16_t mtu;
    uint32_t ident;
};

struct sl_syn_tcp {
    uint32_t isn[2], nxt[2]; /* initial and next sequence numbers per direction */
    uint64_t msg_len, msg_off;
    uint64_t bulk; /* APP_BULK: bytes of the object */
    uint32_t seg_seq, seg_len;
    uint64_t seg_off;
    uint32_t gap; /* fixed pacing between data segments (elephants), 0 = bursty */
    uint32_t ts0; /* TCP timestamp clock origin, 0 = no timestamps */
    uint16_t exch, n_exch;
    uint16_t seg_count, retx_seg;
    uint16_t cwnd, burst_left;
    uint16_t mss;
    uint8_t phase, dir, unacked, open, close, tries;
    uint8_t big_segs; /* segments larger than the MTU (to be fragmented) */
};

struct sl_syn_udp {
    uint16_t exch, n_exch;
    uint8_t phase, tries;
    uint8_t big;   /* APP_GENERIC: large (fragmented) responses */
    uint16_t dlen; /* payload of the datagram being emitted */
};

struct sl_syn_icmp {
    uint16_t id, seq, n;
    uint16_t size; /* echo payload bytes */
    uint8_t phase;
};

struct sl_syn_scan {
    uint32_t base; /* first target (address scan) */
    uint16_t i, n; /* probe index, probes */
    uint16_t port; /* the port (address scan) */
    uint16_t port0;
    uint32_t gap;
    uint8_t mode; /* 0 address scan, 1 port scan */
    uint8_t phase, outcome;
};

struct sl_syn_flood {
    uint64_t left; /* SYNs to go; UINT64_MAX = until the capture ends */
    uint32_t gap;
    uint8_t phase;
    uint32_t seq;
};

struct sl_syn_bad {
    uint16_t left;
    uint16_t ipid;
};

struct sl_syn_flow {
    uint64_t ts; /* time of the next packet */
    uint64_t t0; /* start time */
    uint64_t id; /* creation order: breaks timestamp ties in the heap */
    uint64_t seed;
    struct sl_syn_rng rng;
    uint8_t mach, app, kind;
    uint8_t ttl[2];
    uint16_t ipid[2];
    uint16_t cport, sport;
    uint32_t rtt;      /* round-trip time, microseconds */
    uint32_t app_hlen; /* header bytes of the current application message */
    uint32_t flabel;
    struct sl_syn_ep c, s;
    struct sl_syn_path path;
    struct sl_syn_frag frag;
    union {
        struct sl_syn_tcp tcp;
        struct sl_syn_udp udp;
        struct sl_syn_icmp icmp;
        struct sl_syn_scan scan;
        struct sl_syn_flood flood;
        struct sl_syn_bad bad;
    } u;
};

/* Generator-wide state the machines read. */
struct sl_syn_ctx {
    struct sl_syn_rng rng; /* flow creation only: a flow has its own stream */
    uint64_t seed;
    uint32_t hosts, servers;
    int sizes;
    uint64_t packets, duration_us, start_us;
    uint32_t kind_seen[32]; /* flows started per kind: the first ones cycle sub-types */
    uint32_t bad_seen;      /* malformed packets so far: the first ones cycle the cases */
    /* What the step produced besides the bytes in the builder. */
    uint32_t wire_len;  /* 0 = b->len */
    uint32_t cap_len;   /* 0 = b->len */
    struct sl_sb whole; /* scratch: a datagram about to be fragmented */
};

/* Step results. */
#define SL_SYN_MORE 1 /* the flow has more packets (f->ts moved) */
#define SL_SYN_DONE 0 /* that was the flow's last packet */

int sl_syn_tcp_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b);
int sl_syn_udp_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b);
int sl_syn_icmp_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b);
int sl_syn_scan_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b);
int sl_syn_flood_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b);
int sl_syn_bad_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b);

/* synth_path.c: hosts, addresses, encapsulation. */
extern const uint8_t sl_syn_router_mac[6];
void sl_syn_ep_internal(uint32_t i, int v6, struct sl_syn_ep *e);
void sl_syn_ep_external(uint32_t j, int v6, struct sl_syn_ep *e);
void sl_syn_ep_client(struct sl_syn_ctx *x, struct sl_syn_rng *r, int v6, struct sl_syn_ep *e);
void sl_syn_ep_server(struct sl_syn_ctx *x, struct sl_syn_rng *r, int v6, struct sl_syn_ep *e);
void sl_syn_mac_of(const uint8_t ip4[4], uint8_t mac[6]);
uint16_t sl_syn_ephemeral_port(struct sl_syn_rng *r);
/* Sets up a tunnel / L2 encapsulation on f->path from a tunnel or trunk
 * index (several flows share one). */
void sl_syn_path_tunnel(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_tun t,
                        uint32_t idx);
void sl_syn_path_l2(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_l2 l2, uint32_t idx);
/* Bytes the path adds between the Ethernet header and the inner IP header
 * that eat into a 1500-byte MTU (tunnels, PPPoE). */
unsigned sl_syn_path_overhead(const struct sl_syn_path *p);
/* Appends everything up to and including the inner IP header for direction
 * dir. Returns the inner IP layer's index, or -errno. */
int sl_syn_path_push(struct sl_syn_flow *f, struct sl_sb *b, int dir);
/* Appends just the inner IP header (for ICMP errors quoting a packet). */
int sl_syn_path_ip(struct sl_syn_flow *f, struct sl_sb *b, int dir);

/* The emit helper: finishes b (built by sl_syn_path_push + L4), fragments it
 * when the flow asks and the datagram exceeds the MTU, pads short frames.
 * Returns 1 when the datagram is complete (its last piece is in b), 0 when
 * more pieces follow (rebuild the same datagram next step), -errno on error. */
int sl_syn_emit(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int dir,
                int ip_layer);

/* Time between back-to-back packets of `bytes` at ~1 Gbit/s, plus jitter. */
uint32_t sl_syn_ser_gap(struct sl_syn_rng *r, uint32_t bytes);

/* Payload bytes of the next data-carrying packet per --sizes, given the
 * headers it carries and the most the flow may send (MSS, data left). */
uint32_t sl_syn_payload_size(struct sl_syn_ctx *x, struct sl_syn_rng *r, uint32_t hdrs,
                             uint32_t max);

/* synth_app.c: application payloads (pure functions of the flow's seed). */
uint64_t sl_syn_app_len(struct sl_syn_flow *f, int dir, unsigned exch);
void sl_syn_app_fill(struct sl_syn_flow *f, int dir, unsigned exch, uint64_t off, uint8_t *dst,
                     uint32_t n);

/* synth_profiles.c: flow creation. */
struct sl_syn_profile;
const struct sl_syn_profile *sl_syn_profile_find(const char *name);
uint32_t sl_syn_profile_avg_pkts(const struct sl_syn_ctx *x, const struct sl_syn_profile *p);
void sl_syn_flow_init(struct sl_syn_ctx *x, const struct sl_syn_profile *p, struct sl_syn_flow *f);

/* Machine set-up helpers used by the profiles. */
void sl_syn_tcp_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_app app);
void sl_syn_udp_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_app app);
void sl_syn_icmp_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint16_t size, uint16_t count);
void sl_syn_scan_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, int port_scan, uint16_t probes);
void sl_syn_flood_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint64_t syns);
void sl_syn_bad_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint16_t packets);

static inline void sl_syn_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void sl_syn_put32(uint8_t *p, uint32_t v)
{
    sl_syn_put16(p, (uint16_t)(v >> 16));
    sl_syn_put16(p + 2, (uint16_t)v);
}

#endif
