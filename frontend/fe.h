/* fe: the running frontend's shared state, as main.c builds it and every
 * module reads it.
 *
 * Data flow for one frame:
 *   input (a port's RX queue, polled by exactly one forwarding lcore)
 *     -> decode (sl_pkt) -> balancer decision (sl_lb over this lcore's copy
 *        of the rendezvous table) -> dst MAC := the worker's
 *     -> egress link of that worker (switch.c: an output port, the one
 *        direct port, or the worker's own pcap with --write-pcaps)
 *     -> shaper (shaper.c, only when the link has a rate) -> TX / pcap write
 *
 * Threads: forwarding lcores write only their own struct fe_lcore and its
 * counters; the main lcore (stats, control socket) and DPDK's telemetry
 * thread read those counters with relaxed atomic loads. Liveness changes go
 * through workers.c, which the lcores pick up once per burst. Egress links
 * shared by several lcores (one TX queue, one shaper, one pcap file) take a
 * spinlock per link.
 */
#ifndef FE_H
#define FE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_spinlock.h>

#include "args.h"
#include "sl_ktx.h"
#include "sl_lb.h"
#include "sl_pkt.h"
#include "sl_rdv.h"

#define FE_MAX_LCORES 128
#define FE_MAX_INPUTS 64 /* RX queues over all input ports */
#define FE_MAX_EGRESS FE_MAX_WORKERS
#define FE_MAX_WEIRDS 32 /* distinct weird names counted per input and lcore */
#define FE_MAX_BURST  256
#define FE_HLL_BITS   10 /* 1024 registers: ~3% error on a worker's flow count */
_Static_assert(FE_HLL_BITS < 16, "fe_lcore.hll_at_min counts registers in 16 bits");
#define FE_SCRATCH 65536

/* Relaxed single-writer counters: the owner adds, other threads read. */
#define FE_ADD(x, v) __atomic_store_n(&(x), (x) + (v), __ATOMIC_RELAXED)
#define FE_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Per-frame metadata kept in an mbuf dynamic field from RX to the sink. */
struct fe_meta {
    uint64_t ts_ns;    /* the frame's time: pcap timestamp, or arrival (wall clock) */
    uint32_t wire_len; /* original length on the wire (pcap `len`), >= pkt_len */
    uint16_t input;    /* index into fe_app.inputs */
    uint16_t pad_;
};
extern int fe_meta_off;
static inline struct fe_meta *fe_meta(struct rte_mbuf *m)
{
    return RTE_MBUF_DYNFIELD(m, fe_meta_off, struct fe_meta *);
}

/* Ethernet L1 bytes of a frame as a link carries it: frame + 4 FCS (pcaps
 * have none), padded to 64, + 8 preamble + 12 inter-frame gap. */
static inline uint32_t fe_l1_bytes(uint32_t wire_len)
{
    uint32_t f = wire_len + 4;
    return (f < 64 ? 64 : f) + 20;
}

/* Drop reasons. in = out + sum(drops) once the run has drained. */
enum fe_drop {
    FE_DROP_NO_WORKER = 0, /* no live worker */
    FE_DROP_SHAPER,        /* egress link over its rate, queue full */
    FE_DROP_TX_FULL,       /* the output port did not take the frame */
    /* Only before TX to a kernel port (net_af_packet, net_tap), which would
     * lose these frames without a count (sl_ktx.h): */
    FE_DROP_RUNT,      /* shorter than an Ethernet header */
    FE_DROP_VLAN_RUNT, /* a VLAN tag cut short: the far end frees it before any capture */
    FE_DROP_OVERSIZE,  /* longer than the link's MTU (+ header) or its ring slot */
    FE_DROP_SNAPPED,   /* captured shorter than on the wire (pcap caplen < len) */
    FE_DROP_MAX
};
const char *fe_drop_name(enum fe_drop d);

struct fe_pcapr;
struct fe_pcapw;
struct fe_shaper;
struct fe_ctl;

/* One RX queue of an input port. */
struct fe_input {
    uint16_t port, queue;
    unsigned lcore; /* index into fe_app.fwd */
    char name[RTE_ETH_NAME_MAX_LEN];
    struct fe_pcapr *pcapr; /* follows the rx_pcap file net_pcap reads, or NULL */
    bool infinite;          /* net_pcap infinite_rx: never ends */
};

/* An egress link: an output port, or (--write-pcaps) a worker's pcap. */
struct fe_egress {
    int port;                 /* output port id, -1 with --write-pcaps */
    int worker;               /* --write-pcaps: worker index */
    uint64_t rate_bps;        /* 0: unshaped */
    struct fe_shaper *shaper; /* NULL when unshaped */
    uint16_t n_txq;
    bool txq_shared; /* fewer TX queues than forwarding lcores */
    /* A kernel port (ports.c): frames it would lose uncounted are dropped
     * and counted before TX (sl_ktx.h). */
    bool kernel;
    struct sl_ktx_link ktx;
    uint32_t ktx_fast_max;
    int only_worker; /* the one worker behind this link, or -1 (several, none) */
    rte_spinlock_t txq_lock[FE_MAX_LCORES];
};

struct fe_in_stats {
    uint64_t pkts, bytes;
    uint64_t non_ip, weird, frag, frag_first, frag_hit, frag_held, frag_released, frag_orphan,
        icmp_steered;
    uint64_t lost; /* records of the input pcap that net_pcap never delivered */
    struct {
        const char *name; /* a static string from sl_pkt */
        uint64_t n;
    } weirds[FE_MAX_WEIRDS];
    uint64_t weird_other; /* more distinct names than slots */
};

struct fe_w_stats {
    uint64_t pkts, bytes;
    uint64_t dropped; /* of pkts: frames its link did not send (kernel checks, tx_full) */
};

struct fe_e_stats {
    uint64_t pkts, bytes, tx_drops, shaper_drops, shaper_drop_bytes;
    uint64_t refused;      /* kernel port: frames dropped by the sl_ktx checks */
    uint64_t unattributed; /* dropped frames with no worker MAC on a shared link */
    uint64_t queued;       /* in snapshots only: the link's shaper queue then */
};

/* Everything one forwarding lcore counts; only it writes. */
struct fe_lcore_stats {
    uint64_t drops[FE_DROP_MAX];
    uint64_t held; /* fragments held by sl_lb now */
    uint64_t bursts, idle_polls;
    struct sl_lb_stats lb; /* copied from this lcore's sl_lb every few bursts */
    struct fe_in_stats in[FE_MAX_INPUTS];
    struct fe_w_stats w[FE_MAX_WORKERS];
    struct fe_e_stats e[FE_MAX_EGRESS];
} __rte_cache_aligned;

struct fe_txbuf {
    uint16_t n;
    bool dirty;     /* listed in fe_lcore.dirty */
    uint64_t bytes; /* of m[0..n) */
    struct rte_mbuf *m[FE_MAX_BURST];
};

struct fe_app;

struct fe_rxq {
    unsigned input; /* index into fe_app.inputs */
    bool done;
    uint64_t last_rx_tsc;
};

/* Where a worker's frames go, per lcore: its MAC, its egress link and that
 * link's TX buffer here, side by side (one line for four workers). */
struct fe_route {
    struct fe_txbuf *b;
    uint8_t mac[6];
    uint16_t e;
};

struct fe_lcore {
    struct fe_app *app;
    struct fe_route *route; /* [n_workers] */
    unsigned burst;         /* conf->burst */
    unsigned idx;           /* among forwarding lcores */
    unsigned lcore_id;      /* EAL lcore id */
    unsigned n_rxq;
    struct fe_rxq rxq[FE_MAX_INPUTS];
    struct sl_lb *lb;
    struct sl_rdv rdv; /* this lcore's copy of the liveness table */
    uint64_t rdv_gen;
    struct sl_rdv_table *rdv_table; /* and of its every-bucket picks */
    struct sl_pkt pkt;
    bool inner;                 /* the hash mode takes the innermost IP layer */
    enum sl_hash_mode hash;     /* conf->hash, one load closer */
    bool count_flows;           /* conf->count_flows, likewise */
    bool meta_always;           /* every frame needs its fe_meta (fwd.c) */
    uint64_t now_ns;            /* the latest frame time seen */
    uint16_t txq[FE_MAX_PORTS]; /* TX queue used on each port */
    unsigned n_dirty;
    uint16_t dirty[FE_MAX_EGRESS];
    struct fe_txbuf *txb; /* [n_egress] */
    uint8_t *hll;         /* [n_workers << FE_HLL_BITS], see fe_hll_reg */
    /* Per worker: the smallest of its registers here, and how many hold
     * it. A rank no higher changes nothing, so most frames skip the
     * register (once a worker has seen a few thousand flows, ~90%). */
    uint8_t hll_min[FE_MAX_WORKERS];
    uint16_t hll_at_min[FE_MAX_WORKERS];
    /* The least hll_min (UINT8_MAX without flow counting): a frame whose
     * rank is no higher is skipped before its worker is known. */
    uint8_t hll_floor;
    uint8_t *scratch; /* FE_SCRATCH bytes: linearized multi-segment frames */
    struct fe_lcore_stats *st;
    /* Snapshots on request: a reader bumps snap_req; between two loop
     * iterations, when every frame the lcore took in is accounted for (sent,
     * dropped, held or queued), the lcore copies st into snap and sets
     * snap_done = snap_req. One load per iteration on the hot path. */
    uint64_t snap_req, snap_done;
    struct fe_lcore_stats *snap;
    volatile int finished;
};

struct fe_app {
    struct fe_conf *conf;

    /* workers (workers.c) */
    unsigned n_workers;
    uint8_t mac[FE_MAX_WORKERS][6];
    int worker_egress[FE_MAX_WORKERS];
    struct sl_rdv rdv_master;              /* under rdv_lock */
    struct sl_rdv_table *rdv_table_master; /* built from rdv_master, under rdv_lock */
    struct sl_rdv_table *rdv_table_next;   /* the next one, built outside the lock */
    size_t rdv_table_size;
    pthread_mutex_t rdv_change_lock; /* one liveness change at a time */
    rte_spinlock_t rdv_lock;
    uint64_t rdv_gen; /* bumped (release) after each change */

    /* ports (ports.c) */
    unsigned n_ports; /* ports EAL has */
    unsigned n_in, n_out;
    uint16_t in_ports[FE_MAX_PORTS], out_ports[FE_MAX_PORTS];
    uint16_t port_nrxq[FE_MAX_PORTS], port_ntxq[FE_MAX_PORTS];
    bool port_used[FE_MAX_PORTS], port_started[FE_MAX_PORTS];
    unsigned n_inputs;
    struct fe_input inputs[FE_MAX_INPUTS];
    struct rte_mempool *pool;
    bool pcap_time;   /* inputs carry pcap timestamps (offline replay) */
    bool out_nano;    /* --write-pcaps in nanosecond precision */
    unsigned snaplen; /* for --write-pcaps headers */
    uint64_t t0_ns;   /* earliest first timestamp over pcap inputs (pacing origin) */

    /* egress (switch.c, shaper.c, pcapw.c) */
    unsigned n_egress;
    struct fe_egress *egress; /* [n_egress] */
    struct fe_pcapw *pcapw;

    /* lcores (fwd.c) */
    unsigned n_fwd;
    struct fe_lcore *fwd[FE_MAX_LCORES];

    /* clocks: wall time of a TSC value = wall0_ns + (tsc - tsc0) / tsc_per_ns */
    uint64_t tsc_hz;
    double tsc_per_ns;
    uint64_t tsc0, wall0_ns;
    uint64_t start_tsc; /* when forwarding started (pacing origin in wall time) */

    rte_spinlock_t stats_lock; /* one snapshot reader at a time (main, telemetry) */
    /* net_af_packet inputs: their interface index (0: not one), found at
     * start; and the kernel's RX ring drops summed so far (stats.c). */
    unsigned in_ifindex[FE_MAX_PORTS];
    uint64_t in_sock_missed[FE_MAX_PORTS];
    volatile int stop;
    volatile int started; /* --wait-start: set by the control socket's `start` */
    int exit_code;
    struct fe_ctl *ctl;
};

/* Register idx of worker w's HyperLogLog flow counter in an lcore's hll[]. */
static inline size_t fe_hll_reg(unsigned w, unsigned idx)
{
    return ((size_t)w << FE_HLL_BITS) + idx;
}

static inline uint64_t fe_tsc_to_ns(const struct fe_app *app, uint64_t tsc)
{
    return app->wall0_ns + (uint64_t)((double)(tsc - app->tsc0) / app->tsc_per_ns);
}

#endif
