/* lab_topo: topology file reader and checker. See lab_topo.h. */
#include "lab_topo.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sl_flow.h"

#include "sl_ini.h"
#include "sl_topo.h"

#define MAX_KEYS 64

/* A section of the sl_ini document, with which keys were consumed (the
 * rest are unknown keys). */
struct ini_kv {
    const char *key, *val;
    int line;
    bool used;
};

struct ini_sec {
    const char *name;
    int line;
    struct ini_kv kv[MAX_KEYS];
    unsigned n;
};

/* Mistakes are kept and printed sorted by line, so the list reads like the file. */
struct mistake {
    int line, seq;
    char *msg;
};

struct reader {
    const char *file;
    FILE *err;
    int errors;
    struct ini_sec *sec;
    unsigned n_sec;
    struct mistake *m;
    unsigned n_m, cap_m;
};

static void __attribute__((format(printf, 3, 4)))
bad(struct reader *r, int line, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    r->errors++;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (r->n_m == r->cap_m) {
        unsigned cap = r->cap_m ? 2 * r->cap_m : 16;
        struct mistake *v = realloc(r->m, cap * sizeof(*v));
        if (!v) {
            fprintf(r->err, "%s:%d: %s\n", r->file, line, msg); /* at least say it */
            free(msg);
            return;
        }
        r->m = v;
        r->cap_m = cap;
    }
    r->m[r->n_m] = (struct mistake){line, (int)r->n_m, msg};
    r->n_m++;
}

static int mistake_cmp(const void *a, const void *b)
{
    const struct mistake *x = a, *y = b;
    return x->line != y->line ? (x->line > y->line) - (x->line < y->line) : x->seq - y->seq;
}

static void flush_mistakes(struct reader *r)
{
    if (r->n_m)
        qsort(r->m, r->n_m, sizeof(*r->m), mistake_cmp);
    for (unsigned i = 0; i < r->n_m; i++) {
        fprintf(r->err, "%s:%d: %s\n", r->file, r->m[i].line, r->m[i].msg);
        free(r->m[i].msg);
    }
    free(r->m);
    r->m = NULL;
    r->n_m = r->cap_m = 0;
}

static const char *const type_names[LAB_NODE_TYPE_MAX] = {"logger", "manager", "proxy", "worker",
                                                          "frontend"};

const char *lab_node_type_name(enum lab_node_type t)
{
    return t < LAB_NODE_TYPE_MAX ? type_names[t] : "?";
}

/* Names of nodes, hosts, labs: what can become part of a namespace or file name. */
static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || !isalnum((unsigned char)s[0]))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

/* Wraps the parsed document; node section names are checked here. */
static int read_ini(struct reader *r, const struct sl_ini *ini)
{
    r->sec = calloc(ini->n_sec ? ini->n_sec : 1, sizeof(*r->sec));
    if (!r->sec)
        return -ENOMEM;
    for (unsigned i = 0; i < ini->n_sec; i++) {
        const struct sl_ini_sec *is = &ini->sec[i];
        struct ini_sec *s = &r->sec[r->n_sec++];
        s->name = is->name;
        s->line = (int)is->line;
        if (!name_ok(is->name, LAB_TOPO_NAME))
            bad(r, s->line, "section name '%s': use letters, digits, '-' and '_' (at most %d)",
                is->name, LAB_TOPO_NAME - 1);
        else if (strcmp(is->name, LAB_TOPO_LIVENESS) == 0)
            bad(r, s->line,
                "section name '%s' is the lab's own (the process that follows worker "
                "liveness after 'sluicectl start'); name the node otherwise",
                is->name);
        for (unsigned k = 0; k < is->n_kv; k++) {
            if (s->n == MAX_KEYS) {
                bad(r, (int)is->kv[k].line, "[%s]: more than %d keys", s->name, MAX_KEYS);
                break;
            }
            s->kv[s->n].key = is->kv[k].key;
            s->kv[s->n].val = is->kv[k].val;
            s->kv[s->n].line = (int)is->kv[k].line;
            s->n++;
        }
    }
    return 0;
}

static struct ini_kv *get(struct ini_sec *s, const char *key)
{
    for (unsigned k = 0; k < s->n; k++) {
        if (strcmp(s->kv[k].key, key) == 0) {
            s->kv[k].used = true;
            return &s->kv[k];
        }
    }
    return NULL;
}

static void unknown_keys(struct reader *r, struct ini_sec *s, const char *what)
{
    for (unsigned k = 0; k < s->n; k++)
        if (!s->kv[k].used)
            bad(r, s->kv[k].line, "[%s]: unknown key '%s' for %s", s->name, s->kv[k].key, what);
}

const char *lab_rate_str(uint64_t bps, char *buf, size_t len)
{
    static const struct {
        uint64_t div;
        const char *suf;
    } u[] = {{1000000000000ULL, "T"}, {1000000000ULL, "G"}, {1000000ULL, "M"}, {1000ULL, "K"}};
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        if (bps >= u[i].div) {
            if (bps % u[i].div == 0)
                snprintf(buf, len, "%" PRIu64 "%s", bps / u[i].div, u[i].suf);
            else
                snprintf(buf, len, "%g%s", (double)bps / (double)u[i].div, u[i].suf);
            return buf;
        }
    }
    snprintf(buf, len, "%" PRIu64, bps);
    return buf;
}

const char *lab_mac_str(const uint8_t m[6], char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
}

/* Splits a comma/space separated list in place. Returns the count. */
static unsigned split_list(char *s, char **out, unsigned max)
{
    unsigned n = 0;
    for (char *tok = strtok(s, ", \t"); tok; tok = strtok(NULL, ", \t")) {
        if (n == max)
            return max + 1;
        out[n++] = tok;
    }
    return n;
}

static int host_index(const struct lab_topo *t, const char *h)
{
    for (unsigned i = 0; i < t->n_hosts; i++)
        if (strcmp(t->hosts[i], h) == 0)
            return (int)i;
    return -1;
}

static bool cpu_list_ok(const char *s)
{
    /* "0-3", "1,3,5", "0-1,4" */
    if (!*s)
        return false;
    for (const char *p = s; *p;) {
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p == '-') {
            p++;
            if (!isdigit((unsigned char)*p))
                return false;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (*p == ',')
            p++;
        else if (*p)
            return false;
    }
    return true;
}

static void parse_lab(struct reader *r, struct lab_topo *t, struct ini_sec *s)
{
    struct ini_kv *kv;
    if ((kv = get(s, "name")) && !name_ok(kv->val, 24))
        bad(r, kv->line, "[lab] name '%s': letters, digits, '-', '_', at most 23", kv->val);
    else if (kv)
        snprintf(t->name, sizeof(t->name), "%s", kv->val);
    if ((kv = get(s, "mode"))) {
        if (strcmp(kv->val, "offline") == 0)
            t->mode = LAB_MODE_OFFLINE;
        else if (strcmp(kv->val, "live") == 0)
            t->mode = LAB_MODE_LIVE;
        else
            bad(r, kv->line, "[lab] mode '%s': offline or live", kv->val);
    }
    if ((kv = get(s, "mgmt_net"))) {
        unsigned a, b, c, d, p;
        char tail;
        if (sscanf(kv->val, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &p, &tail) != 5 || a > 255 ||
            b > 255 || c > 255 || d > 255 || p > 30 || p < 15) {
            bad(r, kv->line, "[lab] mgmt_net '%s': an IPv4 CIDR between /15 and /30", kv->val);
        } else {
            uint32_t net = a << 24 | b << 16 | c << 8 | d;
            uint32_t mask = ~0u << (32 - p);
            /* The lab's addresses stay in the benchmarking range (RFC 2544). */
            if ((net & 0xfffe0000u) != 0xc6120000u)
                bad(r, kv->line, "[lab] mgmt_net '%s' is outside 198.18.0.0/15", kv->val);
            else if (net & ~mask)
                bad(r, kv->line, "[lab] mgmt_net '%s' has host bits set", kv->val);
            t->mgmt_net = net;
            t->mgmt_prefix = p;
        }
    }
    if ((kv = get(s, "base_port"))) {
        char *end;
        long v = strtol(kv->val, &end, 10);
        if (*end || v < 1024 || v > 65000)
            bad(r, kv->line, "[lab] base_port '%s': 1024..65000", kv->val);
        else
            t->base_port = (unsigned)v;
    }
    if ((kv = get(s, "hosts"))) {
        char *list[LAB_TOPO_MAX_HOSTS + 1];
        char *copy = strdup(kv->val);
        unsigned n = split_list(copy, list, LAB_TOPO_MAX_HOSTS);
        if (n > LAB_TOPO_MAX_HOSTS)
            bad(r, kv->line, "[lab] hosts: more than %d", LAB_TOPO_MAX_HOSTS);
        for (unsigned i = 0; i < n && i < LAB_TOPO_MAX_HOSTS; i++) {
            if (!name_ok(list[i], 16))
                bad(r, kv->line, "[lab] host '%s': letters, digits, '-', '_', at most 15", list[i]);
            else if (host_index(t, list[i]) >= 0)
                bad(r, kv->line, "[lab] host '%s' listed twice", list[i]);
            else
                snprintf(t->hosts[t->n_hosts++], LAB_TOPO_NAME, "%s", list[i]);
        }
        free(copy);
        if (n == 0)
            bad(r, kv->line, "[lab] hosts is empty");
    } else {
        bad(r, s->line, "[lab] needs 'hosts' (the machines of the lab)");
    }
    for (unsigned h = 0; h < t->n_hosts; h++)
        t->host_mgmt[h] = true;
    if ((kv = get(s, "mgmt_hosts"))) {
        char *list[LAB_TOPO_MAX_HOSTS + 1];
        char *copy = strdup(kv->val);
        unsigned n = split_list(copy, list, LAB_TOPO_MAX_HOSTS);
        for (unsigned h = 0; h < t->n_hosts; h++)
            t->host_mgmt[h] = false;
        for (unsigned i = 0; i < n && i < LAB_TOPO_MAX_HOSTS; i++) {
            int h = host_index(t, list[i]);
            if (h < 0)
                bad(r, kv->line, "[lab] mgmt_hosts: unknown host '%s'", list[i]);
            else
                t->host_mgmt[h] = true;
        }
        free(copy);
    }
    unknown_keys(r, s, "[lab] (name, mode, hosts, mgmt_net, mgmt_hosts, base_port)");
}

static int node_host(struct reader *r, struct lab_topo *t, struct ini_sec *s, char *out)
{
    struct ini_kv *kv = get(s, "host");
    if (!kv) {
        bad(r, s->line, "[%s]: no 'host'", s->name);
        return -1;
    }
    int h = host_index(t, kv->val);
    if (h < 0)
        bad(r, kv->line, "[%s]: unknown host '%s' (not in [lab] hosts)", s->name, kv->val);
    snprintf(out, LAB_TOPO_NAME, "%s", kv->val);
    return h;
}

static void parse_frontend(struct reader *r, struct lab_topo *t, struct ini_sec *s)
{
    struct ini_kv *kv;
    t->fe.line = s->line;
    get(s, "type");
    t->fe.host_idx = node_host(r, t, s, t->fe.host);
    if ((kv = get(s, "lcores"))) {
        if (!cpu_list_ok(kv->val))
            bad(r, kv->line, "[frontend] lcores '%s': a CPU list such as 0-3 or 0,2", kv->val);
        snprintf(t->fe.lcores, sizeof(t->fe.lcores), "%s", kv->val);
    }
    if ((kv = get(s, "hash"))) {
        enum sl_hash_mode m;
        if (sl_hash_mode_parse(kv->val, &m) < 0)
            bad(r, kv->line,
                "[frontend] hash '%s': sym5, sym3, sym2, inner-sym5, inner-sym3, inner-sym2 "
                "or toeplitz",
                kv->val);
        snprintf(t->fe.hash, sizeof(t->fe.hash), "%s", kv->val);
    }
    if ((kv = get(s, "output"))) {
        if (strcmp(kv->val, "switch") == 0)
            t->fe.output = LAB_OUT_SWITCH;
        else if (strcmp(kv->val, "direct") == 0)
            t->fe.output = LAB_OUT_DIRECT;
        else
            bad(r, kv->line, "[frontend] output '%s': switch or direct", kv->val);
    }
    if ((kv = get(s, "switch"))) {
        if (strcmp(kv->val, "frontend") == 0)
            t->fe.sw = LAB_SW_FRONTEND;
        else if (strcmp(kv->val, "bridge") == 0)
            t->fe.sw = LAB_SW_BRIDGE;
        else
            bad(r, kv->line, "[frontend] switch '%s': frontend or bridge", kv->val);
        if (t->fe.output == LAB_OUT_DIRECT && t->fe.sw == LAB_SW_BRIDGE)
            bad(r, kv->line, "[frontend] switch = bridge needs output = switch");
    }
    if ((kv = get(s, "link_rate")) && sl_topo_rate_parse(kv->val, &t->fe.link_rate) < 0)
        bad(r, kv->line, "[frontend] bad link_rate '%s' (e.g. 1G, 250M, 10G)", kv->val);
    if ((kv = get(s, "queue_bytes"))) {
        char *end;
        long v = strtol(kv->val, &end, 10);
        if (*end || v < 2048 || v > (1L << 30))
            bad(r, kv->line, "[frontend] queue_bytes '%s': 2048..2^30", kv->val);
        snprintf(t->fe.queue_bytes, sizeof(t->fe.queue_bytes), "%s", kv->val);
    }
    static const char *const by_ctl[] = {"workers",        "in_ports", "out_ports", "pace",
                                         "stats_interval", "mode",     "interface", "pin_cpus"};
    for (size_t i = 0; i < sizeof(by_ctl) / sizeof(by_ctl[0]); i++)
        if ((kv = get(s, by_ctl[i])))
            bad(r, kv->line,
                "[frontend] '%s' is set by sluicectl in a lab (see --speed, --workers, lcores)",
                by_ctl[i]);
    unknown_keys(r, s,
                 "the frontend (type, host, lcores, hash, output, switch, link_rate, queue_bytes)");
}

static struct lab_node *new_node(struct reader *r, struct lab_topo *t, struct ini_sec *s)
{
    if (t->n_nodes == LAB_TOPO_MAX_NODES) {
        bad(r, s->line, "more than %d nodes", LAB_TOPO_MAX_NODES);
        return NULL;
    }
    struct lab_node *n = &t->nodes[t->n_nodes++];
    memset(n, 0, sizeof(*n));
    n->line = s->line;
    n->proxy = -1;
    n->nic = -1;
    return n;
}

static bool iface_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= LAB_TOPO_IFNAME || strcmp(s, "lo") == 0 || strcmp(s, "mgmt0") == 0 ||
        strcmp(s, "br0") == 0)
        return false;
    /* fp<k>, sp<k>, up<k>, m<k> are the lab's own link names */
    if (strcmp(s, "in0") == 0 || strcmp(s, "tap0") == 0)
        return false;
    static const char *const own[] = {"fp", "sp", "up", "m"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        size_t pre = strlen(own[i]);
        if (strncmp(s, own[i], pre) == 0 && n > pre && strspn(s + pre, "0123456789") == n - pre)
            return false;
    }
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

/* The k-th CPU (0-based) of a list such as "0-3,6", or -1 past its end. */
static int nth_cpu(const char *list, unsigned k)
{
    const char *p = list;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        for (long c = a; c <= b; c++)
            if (k-- == 0)
                return (int)c;
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p)
            break;
    }
    return -1;
}

/* A worker section: expands lb_procs into workers with their NICs and MACs. */
static void parse_worker(struct reader *r, struct lab_topo *t, struct ini_sec *s, int host,
                         const char *hostname, const char *pin)
{
    struct ini_kv *kv, *kv_if = get(s, "interface"), *kv_lbif = get(s, "lb_interfaces");
    struct ini_kv *kv_mac = get(s, "mac"), *kv_rate = get(s, "link_rate");
    struct ini_kv *kv_proxy = get(s, "proxy");
    unsigned procs = 1;
    if ((kv = get(s, "lb_procs"))) {
        char *end;
        long v = strtol(kv->val, &end, 10);
        if (*end || v < 1 || v > 64)
            bad(r, kv->line, "[%s]: lb_procs '%s': 1..64", s->name, kv->val);
        else
            procs = (unsigned)v;
    }
    if ((kv = get(s, "lb_method")) && strcmp(kv->val, "interfaces") != 0 &&
        strcmp(kv->val, "custom") != 0)
        bad(r, kv->line, "[%s]: lb_method '%s': the lab knows 'interfaces' and 'custom'", s->name,
            kv->val);
    else if (kv && strcmp(kv->val, "interfaces") == 0 && !kv_lbif)
        bad(r, kv->line, "[%s]: lb_method = interfaces needs lb_interfaces", s->name);
    if ((kv = get(s, "port")))
        bad(r, kv->line, "[%s]: 'port': the lab maps a worker to the frontend port of its NIC",
            s->name);
    if ((kv = get(s, "address")))
        bad(r, kv->line, "[%s]: 'address': a worker listens on nothing", s->name);
    struct ini_kv *kv_weight = get(s, "weight");
    double weight = 1.0;
    if (kv_weight && sl_topo_weight_parse(kv_weight->val, &weight) < 0)
        bad(r, kv_weight->line, "[%s]: weight '%s': a number > 0, at most 1e6", s->name,
            kv_weight->val);

    char *ifs[66] = {0};
    char *if_copy = NULL;
    unsigned n_if = 0;
    if (kv_lbif) {
        if_copy = strdup(kv_lbif->val);
        n_if = if_copy ? split_list(if_copy, ifs, 64) : 0;
        if (n_if != procs)
            bad(r, kv_lbif->line, "[%s]: lb_interfaces names %u NICs for lb_procs = %u", s->name,
                n_if, procs);
        if (kv_if)
            bad(r, kv_if->line, "[%s]: give interface or lb_interfaces, not both", s->name);
    } else if (kv_if) {
        if_copy = strdup(kv_if->val);
        ifs[0] = if_copy;
        n_if = if_copy ? 1 : 0;
    } else {
        bad(r, s->line, "[%s]: no 'interface' (the NIC the worker sniffs)", s->name);
    }
    if (n_if > 64)
        n_if = 64;
    for (unsigned i = 0; i < n_if; i++)
        if (!iface_ok(ifs[i]))
            bad(r, kv_lbif ? kv_lbif->line : kv_if->line,
                "[%s]: interface '%s': 1..15 of letters, digits, '-', '_', '.'; not lo, mgmt0, "
                "br0, in0, tap0 or the lab's own fp<k>/sp<k>/up<k>/m<k>",
                s->name, ifs[i]);
    uint64_t rate = t->fe.link_rate;
    if (kv_rate && sl_topo_rate_parse(kv_rate->val, &rate) < 0)
        bad(r, kv_rate->line, "[%s]: bad link_rate '%s' (e.g. 1G, 250M, 10G)", s->name,
            kv_rate->val);
    uint8_t base[6] = {0};
    unsigned first = lab_topo_n_workers(t) + 1;
    if (kv_mac && sl_topo_mac_parse(kv_mac->val, base) < 0)
        bad(r, kv_mac->line,
            "[%s]: bad MAC '%s' (one MAC aa:bb:cc:dd:ee:ff; lb_procs workers "
            "get consecutive ones)",
            s->name, kv_mac->val);
    else if (kv_mac && (base[0] & 1))
        bad(r, kv_mac->line, "[%s]: MAC %s is multicast: a worker needs a unicast MAC", s->name,
            kv_mac->val);

    for (unsigned p = 0; p < procs; p++) {
        struct lab_node *n = new_node(r, t, s);
        if (!n)
            break;
        n->type = LAB_NODE_WORKER;
        n->host_idx = host;
        snprintf(n->host, sizeof(n->host), "%s", hostname);
        if (pin && procs > 1) {
            /* zeekctl's rule: the i-th of lb_procs workers gets the i-th CPU */
            int cpu = nth_cpu(pin, p);
            if (p == 0 && nth_cpu(pin, procs - 1) < 0)
                bad(r, s->line, "[%s]: pin_cpus '%s' lists fewer CPUs than lb_procs = %u", s->name,
                    pin, procs);
            if (cpu >= 0)
                snprintf(n->pin_cpus, sizeof(n->pin_cpus), "%d", cpu);
        } else {
            snprintf(n->pin_cpus, sizeof(n->pin_cpus), "%s", pin ? pin : "");
        }
        if (procs == 1)
            snprintf(n->name, sizeof(n->name), "%s", s->name);
        else if (snprintf(n->name, sizeof(n->name), "%s-%u", s->name, p + 1) >=
                 (int)sizeof(n->name))
            bad(r, s->line, "[%s]: name too long for lb_procs", s->name);
        if (n_if)
            snprintf(n->iface, sizeof(n->iface), "%s", ifs[n_if == 1 ? 0 : p % n_if]);
        n->link_rate = rate;
        n->weight = weight;
        if (kv_mac)
            sl_topo_mac_nth(base, p, n->mac);
        else
            sl_topo_default_mac(first + p, n->mac);
        if (kv_proxy)
            n->proxy = -2 - (int)(kv_proxy - s->kv); /* resolved once all nodes are known */
    }
    free(if_copy);
}

static void parse_node(struct reader *r, struct lab_topo *t, struct ini_sec *s)
{
    struct ini_kv *kv = get(s, "type");
    if (!kv) {
        bad(r, s->line, "[%s]: no 'type' (logger, manager, proxy or worker)", s->name);
        return;
    }
    int type = -1;
    for (int i = 0; i < LAB_NODE_FRONTEND; i++)
        if (strcmp(kv->val, type_names[i]) == 0)
            type = i;
    if (strcmp(kv->val, "frontend") == 0) {
        bad(r, kv->line, "[%s]: the frontend's section is [frontend]", s->name);
        return;
    }
    if (type < 0) {
        bad(r, kv->line, "[%s]: unknown type '%s' (logger, manager, proxy, worker)", s->name,
            kv->val);
        return;
    }
    char hostname[LAB_TOPO_NAME] = "";
    int host = node_host(r, t, s, hostname);
    const char *pin = NULL;
    if ((kv = get(s, "pin_cpus"))) {
        if (!cpu_list_ok(kv->val))
            bad(r, kv->line, "[%s]: pin_cpus '%s': a CPU list such as 2 or 2,3", s->name, kv->val);
        pin = kv->val;
    }
    if (type == LAB_NODE_WORKER) {
        parse_worker(r, t, s, host, hostname, pin);
        unknown_keys(r, s,
                     "a worker (type, host, interface, mac, lb_procs, lb_method, "
                     "lb_interfaces, link_rate, proxy, weight, pin_cpus)");
        return;
    }
    struct lab_node *n = new_node(r, t, s);
    if (!n)
        return;
    if ((kv = get(s, "address"))) {
        unsigned a, b, c, d;
        char tail;
        if (sscanf(kv->val, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
            c > 255 || d > 255)
            bad(r, kv->line, "[%s]: address '%s': an IPv4 address", s->name, kv->val);
        snprintf(n->address, sizeof(n->address), "%s", kv->val);
    }
    if ((kv = get(s, "port"))) {
        char *end;
        long v = strtol(kv->val, &end, 10);
        if (*end || v < 1024 || v > 65533)
            bad(r, kv->line, "[%s]: port '%s': 1024..65533", s->name, kv->val);
        else
            n->port = (unsigned)v;
    }
    n->type = (enum lab_node_type)type;
    n->host_idx = host;
    snprintf(n->host, sizeof(n->host), "%s", hostname);
    snprintf(n->name, sizeof(n->name), "%s", s->name);
    snprintf(n->pin_cpus, sizeof(n->pin_cpus), "%s", pin ? pin : "");
    unknown_keys(r, s, lab_node_type_name(n->type));
}

unsigned lab_topo_n_workers(const struct lab_topo *t)
{
    unsigned k = 0;
    for (unsigned i = 0; i < t->n_nodes; i++)
        k += t->nodes[i].type == LAB_NODE_WORKER;
    return k;
}

int lab_topo_worker(const struct lab_topo *t, unsigned k)
{
    for (unsigned i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].type == LAB_NODE_WORKER && k-- == 0)
            return (int)i;
    return -1;
}

static bool reaches(const struct lab_topo *t, const struct lab_node *a, const struct lab_node *b)
{
    if (a->host_idx < 0 || b->host_idx < 0 || a->host_idx == b->host_idx)
        return true; /* same host: loopback (unknown hosts are reported already) */
    return t->host_mgmt[a->host_idx] && t->host_mgmt[b->host_idx];
}

/* Cross-node checks: names, MACs, NICs, proxies, reachability, output mode. */
static void check_nodes(struct reader *r, struct lab_topo *t, struct ini_sec *secs[])
{
    unsigned n_by_type[LAB_NODE_TYPE_MAX] = {0};
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct lab_node *a = &t->nodes[i];
        n_by_type[a->type]++;
        for (unsigned j = 0; j < i; j++) {
            struct lab_node *b = &t->nodes[j];
            char m[18];
            if (strcmp(a->name, b->name) == 0)
                bad(r, a->line, "node name '%s' used twice (also line %d)", a->name, b->line);
            if (a->type == LAB_NODE_WORKER && b->type == LAB_NODE_WORKER &&
                memcmp(a->mac, b->mac, 6) == 0)
                bad(r, a->line, "%s: MAC %s is also %s's (line %d)", a->name,
                    lab_mac_str(a->mac, m, sizeof(m)), b->name, b->line);
        }
    }
    if (n_by_type[LAB_NODE_MANAGER] != 1)
        bad(r, r->n_sec ? r->sec[0].line : 1, "a cluster needs exactly one manager (found %u)",
            n_by_type[LAB_NODE_MANAGER]);
    if (!n_by_type[LAB_NODE_WORKER])
        bad(r, r->n_sec ? r->sec[0].line : 1, "no worker");

    /* A named proxy must exist and be reachable; a worker without one is
     * shared out by the cluster (sl_ring) among all proxies, and any of them
     * may become its proxy when another dies: it must reach them all. */
    int proxies[LAB_TOPO_MAX_NODES];
    unsigned n_prox = 0;
    for (unsigned i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].type == LAB_NODE_PROXY)
            proxies[n_prox++] = (int)i;
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct lab_node *w = &t->nodes[i];
        if (w->type != LAB_NODE_WORKER)
            continue;
        if (w->proxy <= -2) {
            struct ini_sec *s = secs[i];
            struct ini_kv *kv = &s->kv[-2 - w->proxy];
            w->proxy = -1;
            for (unsigned p = 0; p < n_prox; p++)
                if (strcmp(t->nodes[proxies[p]].name, kv->val) == 0)
                    w->proxy = proxies[p];
            if (w->proxy < 0) {
                bad(r, kv->line, "%s: proxy '%s' is not a proxy of this topology", w->name,
                    kv->val);
                continue;
            }
        }
        if (!n_prox) {
            bad(r, w->line, "%s: no proxy to reach (the topology has none)", w->name);
            continue;
        }
        for (unsigned k = 0; k < n_prox; k++) {
            const struct lab_node *p = &t->nodes[proxies[k]];
            if ((w->proxy < 0 || w->proxy == proxies[k]) && !reaches(t, w, p))
                bad(r, w->line,
                    "%s on host %s cannot reach proxy %s on host %s (no management network "
                    "between them)",
                    w->name, w->host, p->name, p->host);
        }
    }
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct lab_node *a = &t->nodes[i];
        for (unsigned j = 0; j < t->n_nodes; j++) {
            struct lab_node *b = &t->nodes[j];
            bool needs = (b->type == LAB_NODE_MANAGER && a->type != LAB_NODE_MANAGER) ||
                         (b->type == LAB_NODE_LOGGER && a->type != LAB_NODE_LOGGER);
            if (needs && !reaches(t, a, b))
                bad(r, a->line, "%s on host %s cannot reach %s %s on host %s", a->name, a->host,
                    lab_node_type_name(b->type), b->name, b->host);
        }
    }
}

/* Worker NICs: one per (host, interface); their rate and MAC. */
static void build_nics(struct reader *r, struct lab_topo *t)
{
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct lab_node *w = &t->nodes[i];
        if (w->type != LAB_NODE_WORKER || !w->iface[0])
            continue;
        unsigned k;
        for (k = 0; k < t->n_nics; k++)
            if (t->nics[k].host_idx == w->host_idx && strcmp(t->nics[k].iface, w->iface) == 0)
                break;
        struct lab_nic *nic = &t->nics[k];
        if (k == t->n_nics) {
            t->n_nics++;
            memset(nic, 0, sizeof(*nic));
            nic->host_idx = w->host_idx;
            memcpy(nic->iface, w->iface, sizeof(nic->iface));
            nic->link_rate = w->link_rate;
            memcpy(nic->mac, w->mac, 6);
        } else if (nic->link_rate != w->link_rate) {
            char a[24], b[24];
            bad(r, w->line, "%s: link_rate %s differs from %s on the same NIC %s", w->name,
                lab_rate_str(w->link_rate, a, sizeof(a)),
                lab_rate_str(nic->link_rate, b, sizeof(b)), w->iface);
        }
        nic->n_workers++;
        w->nic = (int)k;
    }
    if (t->fe.output == LAB_OUT_DIRECT && t->n_nics > 1)
        bad(r, t->fe.line,
            "output = direct sends every frame out one port, but the workers use %u NICs "
            "(put them on one host and interface, or use output = switch)",
            t->n_nics);
}

static void set_defaults(struct lab_topo *t, const char *path)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->file, sizeof(t->file), "%s", path);
    /* lab name defaults to the file's base name */
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strcspn(b, ".");
    if (n >= 24)
        n = 23;
    snprintf(t->name, sizeof(t->name), "%.*s", (int)n, b);
    t->mgmt_net = 0xc6120000u; /* 198.18.0.0/15 */
    t->mgmt_prefix = 15;
    t->base_port = 27760; /* zeekctl's ZeekPort */
    t->fe.host_idx = -1;
    snprintf(t->fe.hash, sizeof(t->fe.hash), "sym5");
}

int lab_topo_load(const char *path, struct lab_topo *t, FILE *err)
{
    char msg[512];
    struct reader *r = calloc(1, sizeof(*r));
    struct ini_sec **node_sec = calloc(LAB_TOPO_MAX_NODES, sizeof(*node_sec));
    struct sl_ini *ini = NULL;
    int errors = -ENOMEM;
    set_defaults(t, path);
    if (!r || !node_sec)
        goto out;
    r->file = path;
    r->err = err;
    /* A syntax error stops sl_ini: that one line is all we can say. */
    if (!(ini = sl_ini_load(path, msg, sizeof(msg)))) {
        int e = errno;
        fprintf(err, "%s\n", msg);
        errors = e == ENOENT || e == EACCES || e == EISDIR ? -e : 1;
        goto out;
    }
    if ((errors = read_ini(r, ini)) < 0)
        goto out;
    struct ini_sec *lab = NULL, *fe = NULL;
    for (unsigned i = 0; i < r->n_sec; i++) {
        if (strcmp(r->sec[i].name, "lab") == 0)
            lab = &r->sec[i];
        else if (strcmp(r->sec[i].name, "frontend") == 0)
            fe = &r->sec[i];
    }
    if (lab)
        parse_lab(r, t, lab);
    else
        bad(r, 1, "no [lab] section (name, mode, hosts, mgmt_net)");
    if (fe)
        parse_frontend(r, t, fe);
    else
        bad(r, 1, "no [frontend] section (host, hash, output, link_rate)");
    for (unsigned i = 0; i < r->n_sec; i++) {
        struct ini_sec *s = &r->sec[i];
        if (s == lab || s == fe)
            continue;
        unsigned before = t->n_nodes;
        parse_node(r, t, s);
        for (unsigned k = before; k < t->n_nodes; k++)
            node_sec[k] = s;
    }
    check_nodes(r, t, node_sec);
    build_nics(r, t);
    errors = r->errors;
out:
    if (r) {
        flush_mistakes(r);
        free(r->sec);
    }
    free(r);
    free(node_sec);
    sl_ini_free(ini);
    return errors;
}

void lab_topo_host_addr(const struct lab_topo *t, int host_idx, char *buf, size_t len)
{
    uint32_t a = t->mgmt_net + 1u + (uint32_t)host_idx;
    snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

void lab_topo_ns_name(const struct lab_topo *t, int host_idx, char *buf, size_t len)
{
    snprintf(buf, len, "sl-%s-%s", t->name, host_idx >= 0 ? t->hosts[host_idx] : "?");
}

void lab_topo_mgmt_ns(const struct lab_topo *t, char *buf, size_t len)
{
    snprintf(buf, len, "sl-%s.mgmt", t->name);
}

void lab_topo_switch_ns(const struct lab_topo *t, char *buf, size_t len)
{
    snprintf(buf, len, "sl-%s.sw", t->name);
}
