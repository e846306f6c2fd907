/* lab_plan: topology -> ordered kernel objects. See lab_plan.h. */
#include "lab_plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static struct lab_act *push(struct lab_plan *p, enum lab_act_kind kind, const char *ns,
                            const char *name)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        struct lab_act *v = realloc(p->act, cap * sizeof(*v));
        if (!v)
            return NULL;
        p->act = v;
        p->cap = cap;
    }
    struct lab_act *a = &p->act[p->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    snprintf(a->ns, sizeof(a->ns), "%s", ns);
    snprintf(a->name, sizeof(a->name), "%s", name ? name : "");
    return a;
}

void lab_plan_free(struct lab_plan *p)
{
    free(p->act);
    memset(p, 0, sizeof(*p));
}

unsigned lab_plan_fe_ports(const struct lab_topo *t)
{
    if (t->fe.output == LAB_OUT_DIRECT || t->fe.sw == LAB_SW_BRIDGE)
        return 1;
    return t->n_nics;
}

unsigned lab_plan_fe_port(const struct lab_topo *t, int nic)
{
    return lab_plan_fe_ports(t) == 1 ? 0 : (unsigned)nic;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if (!(x))                                                                                  \
            return -ENOMEM;                                                                        \
    } while (0)

static int veth(struct lab_plan *p, const char *ns, const char *name, const char *mac,
                const char *peer_ns, const char *peer, const char *peer_mac)
{
    struct lab_act *a = push(p, LAB_ACT_VETH, ns, name);
    TRY(a);
    snprintf(a->peer_ns, sizeof(a->peer_ns), "%s", peer_ns);
    snprintf(a->peer, sizeof(a->peer), "%s", peer);
    snprintf(a->mac, sizeof(a->mac), "%s", mac ? mac : "");
    snprintf(a->peer_mac, sizeof(a->peer_mac), "%s", peer_mac ? peer_mac : "");
    TRY(push(p, LAB_ACT_UP, ns, name));
    TRY(push(p, LAB_ACT_UP, peer_ns, peer));
    return 0;
}

static int port(struct lab_plan *p, const char *ns, const char *bridge, const char *name,
                bool learning)
{
    struct lab_act *a = push(p, LAB_ACT_PORT, ns, name);
    TRY(a);
    snprintf(a->arg, sizeof(a->arg), "%s", bridge);
    snprintf(a->arg2, sizeof(a->arg2), "%s", learning ? "learning" : "static");
    return 0;
}

static int tbf(struct lab_plan *p, const char *ns, const char *name, uint64_t rate)
{
    if (!rate)
        return 0;
    struct lab_act *a = push(p, LAB_ACT_TBF, ns, name);
    TRY(a);
    a->rate = rate;
    return 0;
}

static int plan_mgmt(const struct lab_topo *t, struct lab_plan *p)
{
    char mns[LAB_NS_NAME_MAX], hns[LAB_NS_NAME_MAX], name[LAB_TOPO_IFNAME];
    lab_topo_mgmt_ns(t, mns, sizeof(mns));
    TRY(push(p, LAB_ACT_NS, mns, NULL));
    TRY(push(p, LAB_ACT_BRIDGE, mns, "mgmt0"));
    TRY(push(p, LAB_ACT_UP, mns, "mgmt0"));
    for (unsigned h = 0; h < t->n_hosts; h++) {
        if (!t->host_mgmt[h])
            continue;
        lab_topo_ns_name(t, (int)h, hns, sizeof(hns));
        snprintf(name, sizeof(name), "m%u", h);
        if (veth(p, mns, name, NULL, hns, "mgmt0", NULL) < 0 ||
            port(p, mns, "mgmt0", name, true) < 0)
            return -ENOMEM;
        struct lab_act *a = push(p, LAB_ACT_ADDR, hns, "mgmt0");
        TRY(a);
        char ip[20];
        lab_topo_host_addr(t, (int)h, ip, sizeof(ip));
        snprintf(a->arg, sizeof(a->arg), "%s/%u", ip, t->mgmt_prefix);
    }
    return 0;
}

/* The NIC's MAC: its worker's when it has one worker, else the kernel's. */
static const char *nic_mac(const struct lab_nic *nic, char *buf, size_t len)
{
    return nic->n_workers == 1 ? lab_mac_str(nic->mac, buf, len) : NULL;
}

static int plan_data(const struct lab_topo *t, struct lab_plan *p)
{
    char fns[LAB_NS_NAME_MAX], hns[LAB_NS_NAME_MAX], mac[18], name[LAB_TOPO_IFNAME];
    lab_topo_ns_name(t, t->fe.host_idx, fns, sizeof(fns));
    /* The tap: what is sent into tap0 reaches the frontend's input in0
     * (sluicectl start; a replay reads its pcap directly). */
    if (veth(p, fns, "in0", NULL, fns, "tap0", NULL) < 0)
        return -ENOMEM;
    if (t->fe.output == LAB_OUT_SWITCH && t->fe.sw == LAB_SW_BRIDGE) {
        char sns[LAB_NS_NAME_MAX];
        lab_topo_switch_ns(t, sns, sizeof(sns));
        TRY(push(p, LAB_ACT_NS, sns, NULL));
        TRY(push(p, LAB_ACT_BRIDGE, sns, "br0"));
        TRY(push(p, LAB_ACT_UP, sns, "br0"));
        if (veth(p, fns, "fp0", NULL, sns, "up0", NULL) < 0 || port(p, sns, "br0", "up0", false))
            return -ENOMEM;
        for (unsigned k = 0; k < t->n_nics; k++) {
            const struct lab_nic *nic = &t->nics[k];
            lab_topo_ns_name(t, nic->host_idx, hns, sizeof(hns));
            snprintf(name, sizeof(name), "sp%u", k);
            if (veth(p, sns, name, NULL, hns, nic->iface, nic_mac(nic, mac, sizeof(mac))) < 0 ||
                port(p, sns, "br0", name, false) < 0 || tbf(p, sns, name, nic->link_rate) < 0)
                return -ENOMEM;
            for (unsigned i = 0; i < t->n_nodes; i++) {
                if (t->nodes[i].type != LAB_NODE_WORKER || t->nodes[i].nic != (int)k)
                    continue;
                struct lab_act *a = push(p, LAB_ACT_FDB, sns, name);
                TRY(a);
                lab_mac_str(t->nodes[i].mac, a->mac, sizeof(a->mac));
            }
        }
        return 0;
    }
    for (unsigned k = 0; k < t->n_nics; k++) {
        const struct lab_nic *nic = &t->nics[k];
        lab_topo_ns_name(t, nic->host_idx, hns, sizeof(hns));
        snprintf(name, sizeof(name), "fp%u", k);
        if (veth(p, fns, name, NULL, hns, nic->iface, nic_mac(nic, mac, sizeof(mac))) < 0 ||
            tbf(p, fns, name, nic->link_rate) < 0)
            return -ENOMEM;
    }
    return 0;
}

int lab_plan_live(const struct lab_topo *t, struct lab_plan *p)
{
    char ns[LAB_NS_NAME_MAX];
    memset(p, 0, sizeof(*p));
    for (unsigned h = 0; h < t->n_hosts; h++) {
        lab_topo_ns_name(t, (int)h, ns, sizeof(ns));
        if (!push(p, LAB_ACT_NS, ns, NULL))
            goto nomem;
    }
    if (plan_mgmt(t, p) < 0 || plan_data(t, p) < 0)
        goto nomem;
    return 0;
nomem:
    lab_plan_free(p);
    return -ENOMEM;
}

void lab_act_describe(const struct lab_act *a, char *buf, size_t len)
{
    char rate[24];
    switch (a->kind) {
    case LAB_ACT_NS:
        snprintf(buf, len, "netns  %s", a->ns);
        break;
    case LAB_ACT_VETH:
        snprintf(buf, len, "veth   %s@%s%s%s <-> %s@%s%s%s", a->name, a->ns, *a->mac ? " " : "",
                 a->mac, a->peer, a->peer_ns, *a->peer_mac ? " " : "", a->peer_mac);
        break;
    case LAB_ACT_BRIDGE:
        snprintf(buf, len, "bridge %s@%s", a->name, a->ns);
        break;
    case LAB_ACT_PORT:
        snprintf(buf, len, "port   %s@%s in %s (%s)", a->name, a->ns, a->arg, a->arg2);
        break;
    case LAB_ACT_FDB:
        snprintf(buf, len, "fdb    %s -> %s@%s (static)", a->mac, a->name, a->ns);
        break;
    case LAB_ACT_TBF:
        snprintf(buf, len, "tbf    %s@%s rate %s", a->name, a->ns,
                 lab_rate_str(a->rate, rate, sizeof(rate)));
        break;
    case LAB_ACT_ADDR:
        snprintf(buf, len, "addr   %s@%s %s", a->name, a->ns, a->arg);
        break;
    case LAB_ACT_UP:
        snprintf(buf, len, "up     %s@%s", a->name, a->ns);
        break;
    default:
        snprintf(buf, len, "?");
    }
}

unsigned lab_plan_start_order(const struct lab_topo *t, int *order)
{
    unsigned n = 0;
    for (int type = LAB_NODE_LOGGER; type <= LAB_NODE_WORKER; type++)
        for (unsigned i = 0; i < t->n_nodes; i++)
            if ((int)t->nodes[i].type == type)
                order[n++] = (int)i;
    return n;
}

unsigned lab_plan_node_port(const struct lab_topo *t, int node)
{
    /* sl_topo's rule: `port`, else base_port + 3k for the k-th listening
     * node (logger, manager, proxy) in file order. */
    unsigned k = 0;
    for (unsigned i = 0; i < t->n_nodes; i++) {
        if (t->nodes[i].type == LAB_NODE_WORKER)
            continue;
        if ((int)i == node)
            return t->nodes[i].port ? t->nodes[i].port : t->base_port + 3 * k;
        k++;
    }
    return 0;
}

void lab_plan_node_addr(const struct lab_topo *t, int node, bool live, char *buf, size_t len)
{
    const struct lab_node *n = &t->nodes[node];
    if (n->address[0])
        snprintf(buf, len, "%s", n->address);
    else if (live)
        lab_topo_host_addr(t, n->host_idx, buf, len);
    else
        snprintf(buf, len, "127.0.0.1");
}

static void print_nodes(const struct lab_topo *t, FILE *out)
{
    int order[LAB_TOPO_MAX_NODES];
    unsigned n = lab_plan_start_order(t, order);
    char addr[20], mac[18], rate[24];
    fprintf(out, "start order (each waits for the one before to be ready):\n");
    for (unsigned k = 0; k < n; k++) {
        const struct lab_node *nd = &t->nodes[order[k]];
        lab_plan_node_addr(t, order[k], t->mode == LAB_MODE_LIVE, addr, sizeof(addr));
        fprintf(out, "  %2u. %-9s %-16s host %-10s %s", k + 1, lab_node_type_name(nd->type),
                nd->name, nd->host, addr);
        if (nd->type != LAB_NODE_WORKER)
            fprintf(out, ":%u", lab_plan_node_port(t, order[k]));
        if (nd->type == LAB_NODE_WORKER) {
            fprintf(out, "  nic %s mac %s", nd->iface, lab_mac_str(nd->mac, mac, sizeof(mac)));
            if (nd->link_rate)
                fprintf(out, " %s", lab_rate_str(nd->link_rate, rate, sizeof(rate)));
            fprintf(out, " proxy %s", nd->proxy >= 0 ? t->nodes[nd->proxy].name : "(shared)");
        }
        if (nd->pin_cpus[0])
            fprintf(out, " cpus %s", nd->pin_cpus);
        fputc('\n', out);
    }
    fprintf(out, "  %2u. frontend  %-16s host %-10s hash %s, output %s%s", n + 1, "frontend",
            t->fe.host, t->fe.hash, t->fe.output == LAB_OUT_DIRECT ? "direct" : "switch",
            t->fe.output == LAB_OUT_SWITCH
                ? (t->fe.sw == LAB_SW_BRIDGE ? " (kernel bridge)" : " (its own stage)")
                : "");
    if (t->fe.lcores[0])
        fprintf(out, ", lcores %s", t->fe.lcores);
    fputc('\n', out);
}

void lab_plan_print(const struct lab_topo *t, const struct lab_plan *p, FILE *out)
{
    char buf[256];
    unsigned n_workers = lab_topo_n_workers(t);
    fprintf(out, "lab %s (%s): %u hosts, %u nodes, %u workers on %u NICs\n", t->name,
            t->mode == LAB_MODE_LIVE ? "live" : "offline", t->n_hosts, t->n_nodes + 1, n_workers,
            t->n_nics);
    print_nodes(t, out);
    fprintf(out, "offline replay: the frontend writes one pcap per worker; the cluster talks "
                 "over 127.0.0.1\n");
    fprintf(out, "live mode (sluicectl up, root) builds %zu steps:\n", p->n);
    for (size_t i = 0; i < p->n; i++) {
        if (p->act[i].kind == LAB_ACT_UP)
            continue; /* every link is set up; listing it adds nothing */
        lab_act_describe(&p->act[i], buf, sizeof(buf));
        fprintf(out, "  %s\n", buf);
    }
}
