/* ports: see ports.h. */
#include "ports.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>

#include "pcapr.h"
#include "sl_flow.h"
#include "switch.h"

#define NB_RXD    1024
#define NB_TXD    1024
#define MAX_FILES 16 /* net_pcap's RTE_PMD_PCAP_MAX_QUEUES */

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Checks the rx_pcap= files of one --vdev string. */
static int precheck_vdev(const char *s, char *err, size_t errlen)
{
    char *dup = strdup(s), *save = NULL;
    int rc = 0;
    if (dup == NULL)
        return fail(err, errlen, "out of memory");
    for (char *t = strtok_r(dup, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
        if (strncmp(t, "rx_pcap=", 8) != 0)
            continue;
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        pcap_t *p = pcap_open_offline(t + 8, ebuf);
        if (p == NULL)
            rc = fail(err, errlen, "cannot read pcap %s: %s", t + 8, ebuf);
        else
            pcap_close(p);
    }
    free(dup);
    return rc;
}

int fe_ports_precheck(int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--vdev") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--vdev=", 7) == 0)
            v = argv[i] + 7;
        if (v != NULL && precheck_vdev(v, err, errlen) < 0)
            return -EINVAL;
    }
    return 0;
}

struct pcap_args {
    unsigned n;
    char files[MAX_FILES][1024];
    bool infinite;
};

static int kv_rx_pcap(const char *key, const char *value, void *opaque)
{
    struct pcap_args *a = opaque;
    (void)key;
    if (a->n < MAX_FILES)
        snprintf(a->files[a->n++], sizeof(a->files[0]), "%s", value);
    return 0;
}

static int kv_infinite(const char *key, const char *value, void *opaque)
{
    struct pcap_args *a = opaque;
    (void)key;
    a->infinite = atoi(value) > 0;
    return 0;
}

/* The rx_pcap files and infinite_rx flag of a net_pcap port, from its devargs. */
static void pcap_devargs(const struct rte_eth_dev_info *di, struct pcap_args *a)
{
    memset(a, 0, sizeof(*a));
    const struct rte_devargs *da = di->device ? rte_dev_devargs(di->device) : NULL;
    if (da == NULL || da->args == NULL)
        return;
    struct rte_kvargs *kv = rte_kvargs_parse(da->args, NULL);
    if (kv == NULL)
        return;
    rte_kvargs_process(kv, "rx_pcap", kv_rx_pcap, a);
    rte_kvargs_process(kv, "infinite_rx", kv_infinite, a);
    rte_kvargs_free(kv);
}

static int check_port(struct fe_app *app, unsigned p, char *err, size_t errlen)
{
    if (p >= FE_MAX_PORTS || !rte_eth_dev_is_valid_port((uint16_t)p))
        return fail(err, errlen, "unknown port %u (EAL has %u port%s: 0..%u)", p, app->n_ports,
                    app->n_ports == 1 ? "" : "s", app->n_ports - 1);
    return 0;
}

static int roles(struct fe_app *app, char *err, size_t errlen)
{
    const struct fe_conf *c = app->conf;
    if (c->n_in < 0) {
        app->n_in = 1;
        app->in_ports[0] = 0;
    } else {
        app->n_in = (unsigned)c->n_in;
        memcpy(app->in_ports, c->in_ports, sizeof(app->in_ports));
    }
    if (c->n_out >= 0) {
        app->n_out = (unsigned)c->n_out;
        memcpy(app->out_ports, c->out_ports, sizeof(app->out_ports));
    } else if (c->write_pcaps == NULL) {
        app->n_out = 0;
        for (unsigned p = 0; p < app->n_ports && p < FE_MAX_PORTS; p++) {
            bool in = false;
            for (unsigned i = 0; i < app->n_in; i++)
                in |= app->in_ports[i] == p;
            if (!in)
                app->out_ports[app->n_out++] = (uint16_t)p;
        }
    }
    for (unsigned i = 0; i < app->n_in; i++)
        if (check_port(app, app->in_ports[i], err, errlen) < 0)
            return -EINVAL;
    for (unsigned i = 0; i < app->n_out; i++)
        if (check_port(app, app->out_ports[i], err, errlen) < 0)
            return -EINVAL;
    return 0;
}

static int add_input(struct fe_app *app, uint16_t port, uint16_t q, const struct pcap_args *pa,
                     bool is_pcap, char *err, size_t errlen)
{
    if (app->n_inputs >= FE_MAX_INPUTS)
        return fail(err, errlen, "more than %d input queues", FE_MAX_INPUTS);
    struct fe_input *in = &app->inputs[app->n_inputs];
    memset(in, 0, sizeof(*in));
    in->port = port;
    in->queue = q;
    in->lcore = app->n_inputs % app->n_fwd;
    in->infinite = is_pcap && pa->infinite;
    rte_eth_dev_get_name_by_port(port, in->name);
    app->n_inputs++;
    if (!is_pcap || pa->infinite || q >= pa->n)
        return 0;
    in->pcapr = fe_pcapr_open(pa->files[q], err, errlen);
    if (in->pcapr == NULL)
        return -EINVAL;
    int dlt = fe_pcapr_linktype(in->pcapr);
    if (dlt != DLT_EN10MB) {
        const char *name = pcap_datalink_val_to_name(dlt);
        return fail(err, errlen,
                    "pcap %s has link type %s (%d); frontend-dpdk forwards Ethernet "
                    "(EN10MB) frames only",
                    pa->files[q], name ? name : "?", dlt);
    }
    return 0;
}

/* Frames an infinite_rx queue keeps in mbufs for good (the whole file). */
static unsigned infinite_frames(const struct pcap_args *pa)
{
    unsigned n = 0;
    char err[256];
    for (unsigned q = 0; q < pa->n; q++) {
        struct fe_pcapr *r = fe_pcapr_open(pa->files[q], err, sizeof(err));
        if (r != NULL)
            n += (unsigned)fe_pcapr_total(r);
        fe_pcapr_close(r);
    }
    return n;
}

static unsigned infinite_total;

static int plan_inputs(struct fe_app *app, char *err, size_t errlen)
{
    for (unsigned i = 0; i < app->n_in; i++) {
        uint16_t p = app->in_ports[i];
        struct rte_eth_dev_info di;
        struct pcap_args pa;
        if (rte_eth_dev_info_get(p, &di) != 0)
            return fail(err, errlen, "port %u: no device info", p);
        bool is_pcap = strcmp(di.driver_name, "net_pcap") == 0;
        if (is_pcap)
            pcap_devargs(&di, &pa);
        else
            memset(&pa, 0, sizeof(pa));
        unsigned nq = di.max_rx_queues;
        if (!is_pcap && nq > app->n_fwd)
            nq = app->n_fwd;
        if (nq == 0)
            return fail(err, errlen, "port %u (%s) cannot receive", p, di.driver_name);
        app->port_nrxq[p] = (uint16_t)nq;
        app->port_used[p] = true;
        if (pa.infinite)
            infinite_total += infinite_frames(&pa);
        for (unsigned q = 0; q < nq; q++)
            if (add_input(app, p, (uint16_t)q, &pa, is_pcap, err, errlen) < 0)
                return -EINVAL;
    }
    return 0;
}

static int plan_outputs(struct fe_app *app, char *err, size_t errlen)
{
    for (unsigned i = 0; i < app->n_out; i++) {
        uint16_t p = app->out_ports[i];
        struct rte_eth_dev_info di;
        if (rte_eth_dev_info_get(p, &di) != 0)
            return fail(err, errlen, "port %u: no device info", p);
        unsigned nq = di.max_tx_queues < app->n_fwd ? di.max_tx_queues : app->n_fwd;
        if (nq == 0)
            return fail(err, errlen, "port %u (%s) cannot transmit", p, di.driver_name);
        app->port_ntxq[p] = (uint16_t)nq;
        app->port_used[p] = true;
    }
    return 0;
}

int fe_ports_plan(struct fe_app *app, char *err, size_t errlen)
{
    app->n_ports = rte_eth_dev_count_avail();
    if (app->n_ports == 0)
        return fail(err, errlen,
                    "no ports: give EAL a device, e.g. --vdev "
                    "net_pcap0,rx_pcap=FILE or -a PCI_ADDRESS");
    if (roles(app, err, errlen) < 0 || plan_inputs(app, err, errlen) < 0 ||
        plan_outputs(app, err, errlen) < 0)
        return -EINVAL;

    app->snaplen = 65535;
    app->t0_ns = UINT64_MAX;
    for (unsigned i = 0; i < app->n_inputs; i++) {
        const struct fe_pcapr *r = app->inputs[i].pcapr;
        if (r == NULL)
            continue;
        app->pcap_time = true;
        app->out_nano |= fe_pcapr_nano(r);
        if (fe_pcapr_snaplen(r) > app->snaplen)
            app->snaplen = fe_pcapr_snaplen(r);
        if (fe_pcapr_total(r) > 0 && fe_pcapr_first_ns(r) < app->t0_ns)
            app->t0_ns = fe_pcapr_first_ns(r);
    }
    if (app->t0_ns == UINT64_MAX)
        app->t0_ns = 0;
    if (app->n_inputs < app->n_fwd)
        fprintf(stderr,
                "frontend-dpdk: note: %u input queue%s for %u forwarding lcores; %u lcore%s "
                "idle\n",
                app->n_inputs, app->n_inputs == 1 ? "" : "s", app->n_fwd,
                app->n_fwd - app->n_inputs, app->n_fwd - app->n_inputs == 1 ? " stays" : "s stay");
    return 0;
}

int fe_ports_pool(struct fe_app *app, char *err, size_t errlen)
{
    const struct fe_conf *c = app->conf;
    uint64_t n = c->n_mbufs;
    if (n == 0) {
        n = 2048 + infinite_total;
        n += (uint64_t)app->n_inputs * (NB_RXD + c->burst);
        n += (uint64_t)app->n_fwd * (c->max_held ? c->max_held : 4096);
        n += fe_switch_queued_max(app);
        n += (uint64_t)app->n_fwd * (app->n_egress + 1) * c->burst;
        for (unsigned i = 0; i < app->n_out; i++)
            n += (uint64_t)app->port_ntxq[app->out_ports[i]] * NB_TXD;
    }
    if (n > (1u << 26))
        return fail(err, errlen, "would need %llu mbufs; that is too many", (unsigned long long)n);
    app->pool = rte_pktmbuf_pool_create("fe_pool", (unsigned)n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                        (int)rte_socket_id());
    if (app->pool == NULL)
        return fail(err, errlen,
                    "cannot allocate %llu mbufs (%llu MiB): give EAL more memory (-m MB) or "
                    "set --mbufs",
                    (unsigned long long)n,
                    (unsigned long long)(n * (RTE_MBUF_DEFAULT_BUF_SIZE + 256) >> 20) + 1);
    return 0;
}

/* RSS with the symmetric key, sized to the device's key length. */
static void rss_conf(const struct rte_eth_dev_info *di, struct rte_eth_conf *pc, uint8_t *key)
{
    unsigned klen = di->hash_key_size ? di->hash_key_size : 40;
    if (klen > 52)
        klen = 52;
    for (unsigned i = 0; i < klen; i++)
        key[i] = (i & 1) ? 0x5a : 0x6d;
    pc->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    pc->rx_adv_conf.rss_conf.rss_key = key;
    pc->rx_adv_conf.rss_conf.rss_key_len = (uint8_t)klen;
    pc->rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & di->flow_type_rss_offloads;
}

static int start_port(struct fe_app *app, uint16_t p, char *err, size_t errlen)
{
    struct rte_eth_dev_info di;
    struct rte_eth_conf pc;
    uint8_t key[52];
    uint16_t nrx = app->port_nrxq[p], ntx = app->port_ntxq[p];
    uint16_t nrxd = NB_RXD, ntxd = NB_TXD;
    int rc;
    memset(&pc, 0, sizeof(pc));
    if (rte_eth_dev_info_get(p, &di) != 0)
        return fail(err, errlen, "port %u: no device info", p);
    if (nrx > 1 && strcmp(di.driver_name, "net_pcap") != 0 && di.flow_type_rss_offloads)
        rss_conf(&di, &pc, key);
    if ((rc = rte_eth_dev_configure(p, nrx, ntx, &pc)) < 0)
        return fail(err, errlen, "port %u: configure (%u rx, %u tx queues): %s", p, nrx, ntx,
                    rte_strerror(-rc));
    rte_eth_dev_adjust_nb_rx_tx_desc(p, &nrxd, &ntxd);
    for (uint16_t q = 0; q < nrx; q++)
        if ((rc = rte_eth_rx_queue_setup(p, q, nrxd, rte_eth_dev_socket_id(p), NULL, app->pool)) <
            0)
            return fail(err, errlen, "port %u: rx queue %u: %s", p, q, rte_strerror(-rc));
    for (uint16_t q = 0; q < ntx; q++)
        if ((rc = rte_eth_tx_queue_setup(p, q, ntxd, rte_eth_dev_socket_id(p), NULL)) < 0)
            return fail(err, errlen, "port %u: tx queue %u: %s", p, q, rte_strerror(-rc));
    if ((rc = rte_eth_dev_start(p)) < 0)
        return fail(err, errlen, "port %u: start: %s", p, rte_strerror(-rc));
    app->port_started[p] = true;
    if (nrx > 0)
        rte_eth_promiscuous_enable(p); /* a tap sees other hosts' frames */
    return 0;
}

static int kv_u32(const char *key, const char *value, void *opaque)
{
    (void)key;
    *(uint32_t *)opaque = (uint32_t)strtoul(value, NULL, 0);
    return 0;
}

/* net_af_packet's framesz= (its default: 2048). */
static uint32_t af_packet_framesz(const struct rte_eth_dev_info *di)
{
    uint32_t framesz = 2048;
    const struct rte_devargs *da = di->device ? rte_dev_devargs(di->device) : NULL;
    struct rte_kvargs *kv = da && da->args ? rte_kvargs_parse(da->args, NULL) : NULL;
    if (kv != NULL) {
        rte_kvargs_process(kv, "framesz", kv_u32, &framesz);
        rte_kvargs_free(kv);
    }
    return framesz;
}

/* The MTU of the kernel interface with this index (in our namespace); 0 when
 * unknown. */
static uint32_t kernel_mtu(unsigned if_index)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (if_index == 0 || if_indextoname(if_index, ifr.ifr_name) == NULL)
        return 0;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    int rc = ioctl(s, SIOCGIFMTU, &ifr);
    close(s);
    return rc == 0 && ifr.ifr_mtu > 0 ? (uint32_t)ifr.ifr_mtu : 0;
}

/* Inputs whose ring drops only the kernel counts (stats.c reads them). */
static void packet_inputs(struct fe_app *app)
{
    for (unsigned p = 0; p < app->n_in; p++) {
        struct rte_eth_dev_info di;
        uint16_t port = app->in_ports[p];
        if (rte_eth_dev_info_get(port, &di) == 0 && strcmp(di.driver_name, "net_af_packet") == 0)
            app->in_ifindex[port] = di.if_index;
    }
}

/* Links out of kernel ports check each frame before TX (sl_ktx.h, fwd.c):
 * net_af_packet sends through the interface (its MTU, and DPDK's ring slot:
 * framesz less the tpacket2 header), net_tap writes to the kernel (DPDK's
 * own limit: its MTU + 22). Every other driver keeps every frame. */
static void kernel_links(struct fe_app *app)
{
    for (unsigned e = 0; e < app->n_egress; e++) {
        struct fe_egress *eg = &app->egress[e];
        struct rte_eth_dev_info di;
        unsigned nw = 0;
        eg->only_worker = -1;
        for (unsigned w = 0; w < app->n_workers; w++)
            if (app->worker_egress[w] == (int)e && nw++ == 0)
                eg->only_worker = (int)w;
        if (nw != 1)
            eg->only_worker = -1;
        if (eg->port < 0 || rte_eth_dev_info_get((uint16_t)eg->port, &di) != 0)
            continue;
        memset(&eg->ktx, 0, sizeof(eg->ktx));
        if (strcmp(di.driver_name, "net_af_packet") == 0) {
            eg->kernel = true;
            eg->ktx.mtu = kernel_mtu(di.if_index);
            eg->ktx.room = af_packet_framesz(&di) - (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll));
        } else if (strcmp(di.driver_name, "net_tap") == 0) {
            uint16_t mtu = RTE_ETHER_MTU;
            rte_eth_dev_get_mtu((uint16_t)eg->port, &mtu);
            eg->kernel = true;
            eg->ktx.room = (uint32_t)mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + RTE_VLAN_HLEN;
        }
        eg->ktx_fast_max = sl_ktx_fast_max(&eg->ktx);
    }
}

int fe_ports_start(struct fe_app *app, char *err, size_t errlen)
{
    for (uint16_t p = 0; p < FE_MAX_PORTS; p++)
        if (app->port_used[p] && start_port(app, p, err, errlen) < 0)
            return -EINVAL;
    kernel_links(app);
    packet_inputs(app);
    return 0;
}

void fe_ports_close(struct fe_app *app)
{
    for (uint16_t p = 0; p < FE_MAX_PORTS; p++) {
        if (!app->port_used[p])
            continue;
        if (app->port_started[p])
            rte_eth_dev_stop(p);
        rte_eth_dev_close(p);
        app->port_used[p] = app->port_started[p] = false;
    }
    for (unsigned i = 0; i < app->n_inputs; i++) {
        fe_pcapr_close(app->inputs[i].pcapr);
        app->inputs[i].pcapr = NULL;
    }
}
