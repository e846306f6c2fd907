/* sl_topo: topology files for the cluster nodes. See sl_topo.h. */
#include "sl_topo.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sl_flow.h"
#include "sl_ini.h"
#include "sl_wire.h"

struct rd {
    struct sl_topo *t;
    const struct sl_ini *ini;
    char *err;
    size_t errlen;
    bool failed;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool
bad(struct rd *r, unsigned line, const char *fmt, ...)
{
    if (r->failed)
        return false;
    r->failed = true;
    if (r->err && r->errlen) {
        int n = snprintf(r->err, r->errlen, "%s:%u: ", r->t->file, line);
        if (n >= 0 && (size_t)n < r->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return false;
}

static const char *const type_names[SL_TOPO_TYPE_MAX] = {
    [SL_TOPO_LOGGER] = "logger",
    [SL_TOPO_MANAGER] = "manager",
    [SL_TOPO_PROXY] = "proxy",
    [SL_TOPO_WORKER] = "worker",
};

const char *sl_topo_type_name(enum sl_topo_type t)
{
    return t > 0 && t < SL_TOPO_TYPE_MAX ? type_names[t] : "?";
}

int sl_topo_mac_parse(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char sep[5], tail;
    if (!s ||
        sscanf(s, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &v[0], &sep[0], &v[1], &sep[1], &v[2], &sep[2],
               &v[3], &sep[3], &v[4], &sep[4], &v[5], &tail) != 11 ||
        strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 5; i++)
        if (sep[i] != sep[0] || (sep[i] != ':' && sep[i] != '-'))
            return -EINVAL;
    for (int i = 0; i < 17; i++)
        if (i % 3 != 2 && !strchr("0123456789abcdefABCDEF", s[i]))
            return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

void sl_topo_default_mac(unsigned k, uint8_t mac[6])
{
    const uint8_t m[6] = {0x02, 0, 0, 0, (uint8_t)(k >> 8), (uint8_t)k};
    memcpy(mac, m, 6);
}

void sl_topo_mac_nth(const uint8_t base[6], unsigned p, uint8_t out[6])
{
    uint32_t low = ((uint32_t)base[3] << 16 | (uint32_t)base[4] << 8 | base[5]) + p;
    memmove(out, base, 3);
    out[3] = (uint8_t)(low >> 16);
    out[4] = (uint8_t)(low >> 8);
    out[5] = (uint8_t)low;
}

int sl_topo_rate_parse(const char *s, uint64_t *bps)
{
    static const struct {
        char c;
        double mul;
    } units[] = {{'k', 1e3}, {'m', 1e6}, {'g', 1e9}, {'t', 1e12}};
    /* strtod alone would take a sign, spaces, "inf" and hex */
    if (!s || !bps ||
        !(isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) ||
        (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !isfinite(v))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (tolower((unsigned char)*end) == units[i].c) {
            v *= units[i].mul;
            end++;
            break;
        }
    }
    if (*end && strcasecmp(end, "bit") != 0 && strcasecmp(end, "bps") != 0 &&
        strcasecmp(end, "b") != 0)
        return -EINVAL;
    if (v < 1e3 || v > 1e13)
        return -ERANGE;
    *bps = (uint64_t)llround(v);
    return 0;
}

int sl_topo_weight_parse(const char *s, double *w)
{
    if (!s || !w || !(isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) ||
        (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v > 0 && v <= SL_TOPO_MAX_WEIGHT))
        return -EINVAL;
    *w = v;
    return 0;
}

static bool in_list(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(key, *list) == 0)
            return true;
    return false;
}

static const char *const node_keys[] = {"type", "host", "pin_cpus", "address", "port", NULL};
static const char *const worker_keys[] = {"interface", "mac",           "lb_procs",
                                          "lb_method", "lb_interfaces", "link_rate",
                                          "proxy",     "weight",        NULL};
static const char *const frontend_keys[] = {
    "type",     "host",      "interface", "lcores",         "pin_cpus",    "mode",
    "hash",     "output",    "switch",    "link_rate",      "queue_bytes", "workers",
    "in_ports", "out_ports", "pace",      "stats_interval", NULL};
static const char *const lab_keys[] = {"name",       "mode",      "hosts", "mgmt_net",
                                       "mgmt_hosts", "base_port", NULL};

static bool check_keys(struct rd *r, const struct sl_ini_sec *s, const char *const *a,
                       const char *const *b, const char *what)
{
    for (unsigned i = 0; i < s->n_kv; i++) {
        const char *k = s->kv[i].key;
        if (!in_list(k, a) && !(b && in_list(k, b)))
            return bad(r, s->kv[i].line, "[%s]: unknown key '%s' for %s", s->name, k, what);
    }
    return true;
}

/* Unsigned decimal in [lo, hi]. */
static bool num(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Comma-separated CPU numbers; the k-th in *cpu (-1 past the end). */
static bool cpu_list(const char *s, unsigned k, int *cpu, unsigned *count)
{
    unsigned n = 0;
    *cpu = -1;
    while (*s) {
        char *end;
        if (*s < '0' || *s > '9')
            return false;
        unsigned long v = strtoul(s, &end, 10);
        if (v > 4095)
            return false;
        if (n == k)
            *cpu = (int)v;
        n++;
        s = end;
        while (*s == ' ')
            s++;
        if (*s == ',') {
            s++;
            while (*s == ' ')
                s++;
            if (!*s)
                return false;
        } else if (*s) {
            return false;
        }
    }
    *count = n;
    return n > 0;
}

static bool parse_lab(struct rd *r, const struct sl_ini_sec *s)
{
    const struct sl_ini_kv *kv;
    struct sl_topo *t = r->t;
    if (!check_keys(r, s, lab_keys, NULL, "[lab]"))
        return false;
    t->lab.present = true;
    t->lab.line = s->line;
    if ((kv = sl_ini_find(s, "name")))
        snprintf(t->lab.name, sizeof(t->lab.name), "%s", kv->val);
    if ((kv = sl_ini_find(s, "mode"))) {
        if (strcmp(kv->val, "live") == 0)
            t->live = true;
        else if (strcmp(kv->val, "offline") != 0)
            return bad(r, kv->line, "[lab] mode '%s': offline or live", kv->val);
    }
    if ((kv = sl_ini_find(s, "base_port"))) {
        unsigned long v;
        if (!num(kv->val, 1024, 65000, &v))
            return bad(r, kv->line, "[lab] base_port '%s': 1024..65000", kv->val);
        t->base_port = (unsigned)v;
    }
    if ((kv = sl_ini_find(s, "mgmt_net"))) {
        char a[32];
        unsigned long pfx;
        const char *slash = strchr(kv->val, '/');
        struct in_addr ia;
        if (!slash || (size_t)(slash - kv->val) >= sizeof(a) || !num(slash + 1, 8, 30, &pfx))
            return bad(r, kv->line, "[lab] mgmt_net '%s': an IPv4 network such as 198.18.0.0/24",
                       kv->val);
        memcpy(a, kv->val, (size_t)(slash - kv->val));
        a[slash - kv->val] = 0;
        if (inet_pton(AF_INET, a, &ia) != 1)
            return bad(r, kv->line, "[lab] mgmt_net '%s': an IPv4 network such as 198.18.0.0/24",
                       kv->val);
    }
    return true;
}

static bool parse_frontend(struct rd *r, const struct sl_ini_sec *s)
{
    const struct sl_ini_kv *kv;
    struct sl_topo *t = r->t;
    if (!check_keys(r, s, frontend_keys, NULL, "the frontend"))
        return false;
    t->frontend.present = true;
    t->frontend.line = s->line;
    if ((kv = sl_ini_find(s, "type")) && strcmp(kv->val, "frontend") != 0)
        return bad(r, kv->line, "[frontend]: type '%s': the [frontend] section is type frontend",
                   kv->val);
    if ((kv = sl_ini_find(s, "hash"))) {
        enum sl_hash_mode m;
        if (sl_hash_mode_parse(kv->val, &m) < 0)
            return bad(r, kv->line,
                       "[frontend] hash '%s': sym5, sym3, sym2, inner-sym5, inner-sym3, "
                       "inner-sym2 or toeplitz",
                       kv->val);
        snprintf(t->frontend.hash, sizeof(t->frontend.hash), "%s", kv->val);
    }
    if ((kv = sl_ini_find(s, "output"))) {
        if (strcmp(kv->val, "switch") != 0 && strcmp(kv->val, "direct") != 0)
            return bad(r, kv->line, "[frontend] output '%s': switch or direct", kv->val);
        snprintf(t->frontend.output, sizeof(t->frontend.output), "%s", kv->val);
    }
    if ((kv = sl_ini_find(s, "switch")) && strcmp(kv->val, "frontend") != 0 &&
        strcmp(kv->val, "bridge") != 0)
        return bad(r, kv->line, "[frontend] switch '%s': frontend or bridge", kv->val);
    return true;
}

static struct sl_topo_node *new_node(struct rd *r, const struct sl_ini_sec *s)
{
    struct sl_topo *t = r->t;
    if (t->n_nodes == SL_TOPO_MAX_NODES) {
        bad(r, s->line, "more than %d nodes", SL_TOPO_MAX_NODES);
        return NULL;
    }
    struct sl_topo_node *n = &t->nodes[t->n_nodes++];
    memset(n, 0, sizeof(*n));
    snprintf(n->section, sizeof(n->section), "%s", s->name);
    n->line = s->line;
    n->cpu = -1;
    n->proxy = -1;
    return n;
}

static bool node_name_ok(const char *s)
{
    return strlen(s) < SL_TOPO_NAME && sl_wire_name_ok(s);
}

static bool parse_node(struct rd *r, const struct sl_ini_sec *s, unsigned *n_workers)
{
    const struct sl_ini_kv *kv = sl_ini_find(s, "type"), *kvh, *kva, *kvp, *kvc;
    int type = 0;
    if (!kv)
        return bad(r, s->line, "[%s]: no 'type' (logger, manager, proxy or worker)", s->name);
    for (int i = 1; i < SL_TOPO_TYPE_MAX; i++)
        if (strcmp(kv->val, type_names[i]) == 0)
            type = i;
    if (strcmp(kv->val, "frontend") == 0)
        return bad(r, kv->line, "[%s]: the frontend's section is [frontend]", s->name);
    if (!type)
        return bad(r, kv->line, "[%s]: unknown type '%s' (logger, manager, proxy, worker)", s->name,
                   kv->val);
    if (!check_keys(r, s, node_keys, type == SL_TOPO_WORKER ? worker_keys : NULL, type_names[type]))
        return false;

    kvh = sl_ini_find(s, "host");
    kva = sl_ini_find(s, "address");
    kvp = sl_ini_find(s, "port");
    kvc = sl_ini_find(s, "pin_cpus");
    if (kvh && (strlen(kvh->val) >= SL_TOPO_NAME || !sl_wire_name_ok(kvh->val)))
        return bad(r, kvh->line, "[%s]: bad host '%s'", s->name, kvh->val);
    if (kva && (strlen(kva->val) >= SL_TOPO_NAME || !sl_wire_name_ok(kva->val)))
        return bad(r, kva->line, "[%s]: bad address '%s'", s->name, kva->val);
    unsigned long port = 0, procs = 1;
    if (kvp && type != SL_TOPO_WORKER && !num(kvp->val, 1, 65533, &port))
        return bad(r, kvp->line, "[%s]: port '%s': 1..65533", s->name, kvp->val);
    if ((kv = sl_ini_find(s, "lb_procs")) && !num(kv->val, 1, 256, &procs))
        return bad(r, kv->line, "[%s]: lb_procs '%s': 1..256", s->name, kv->val);
    unsigned n_cpus = 0;
    int cpu;
    if (kvc && !cpu_list(kvc->val, 0, &cpu, &n_cpus))
        return bad(r, kvc->line, "[%s]: pin_cpus '%s': a list of CPU numbers such as 2,3", s->name,
                   kvc->val);
    if (kvc && n_cpus < procs && n_cpus != 1)
        return bad(r, kvc->line, "[%s]: pin_cpus lists %u CPUs for %lu processes", s->name, n_cpus,
                   procs);
    uint8_t mac[6];
    const struct sl_ini_kv *kvm = sl_ini_find(s, "mac");
    if (kvm && sl_topo_mac_parse(kvm->val, mac) < 0)
        return bad(r, kvm->line, "[%s]: bad MAC '%s' (aa:bb:cc:dd:ee:ff)", s->name, kvm->val);
    if (kvm && (mac[0] & 1))
        return bad(r, kvm->line, "[%s]: MAC %s is multicast: a worker needs a unicast MAC", s->name,
                   kvm->val);
    /* The cluster uses neither, but a file it runs with must mean the same
     * to the frontend and the lab, which do. */
    uint64_t bps;
    double weight;
    if ((kv = sl_ini_find(s, "link_rate")) && sl_topo_rate_parse(kv->val, &bps) < 0)
        return bad(r, kv->line, "[%s]: bad link_rate '%s' (e.g. 1G, 250M, 10G)", s->name, kv->val);
    if ((kv = sl_ini_find(s, "weight")) && sl_topo_weight_parse(kv->val, &weight) < 0)
        return bad(r, kv->line, "[%s]: weight '%s': a number > 0, at most 1e6", s->name, kv->val);
    const struct sl_ini_kv *kvi = sl_ini_find(s, "interface");
    if (kvi && (strlen(kvi->val) >= SL_TOPO_NAME || !sl_wire_name_ok(kvi->val)))
        return bad(r, kvi->line, "[%s]: bad interface '%s'", s->name, kvi->val);

    for (unsigned p = 0; p < procs; p++) {
        struct sl_topo_node *n = new_node(r, s);
        if (!n)
            return false;
        n->type = (enum sl_topo_type)type;
        int w;
        if (procs == 1)
            w = snprintf(n->name, sizeof(n->name), "%s", s->name);
        else
            w = snprintf(n->name, sizeof(n->name), "%s-%u", s->name, p + 1);
        if (w < 0 || w >= SL_TOPO_NAME || !node_name_ok(n->name))
            return bad(r, s->line, "[%s]: node name too long or not printable", s->name);
        if (kvh)
            snprintf(n->host, sizeof(n->host), "%s", kvh->val);
        if (kva)
            snprintf(n->address, sizeof(n->address), "%s", kva->val);
        n->port = (unsigned)port;
        if (kvc)
            cpu_list(kvc->val, n_cpus == 1 ? 0 : p, &n->cpu, &n_cpus);
        if (type != SL_TOPO_WORKER)
            continue;
        unsigned k = ++*n_workers;
        if (kvm)
            sl_topo_mac_nth(mac, p, n->mac);
        else
            sl_topo_default_mac(k, n->mac);
        if (kvi)
            snprintf(n->iface, sizeof(n->iface), "%s", kvi->val);
    }
    return true;
}

/* Index of host h in [lab] hosts (comma/blank separated), -1 if absent. */
static int lab_host_index(const struct sl_ini_sec *lab, const char *h)
{
    const char *list = sl_ini_get(lab, "hosts");
    int i = 0;
    size_t hl = strlen(h);
    while (list && *list) {
        while (*list == ',' || *list == ' ')
            list++;
        size_t n = strcspn(list, ", ");
        if (n == 0)
            break;
        if (n == hl && strncmp(list, h, n) == 0)
            return i;
        i++;
        list += n;
    }
    return -1;
}

static bool resolve_addresses(struct rd *r)
{
    struct sl_topo *t = r->t;
    const struct sl_ini_sec *lab = sl_ini_section(r->ini, "lab");
    const char *net = lab ? sl_ini_get(lab, "mgmt_net") : NULL;
    uint32_t base = ntohl(inet_addr("198.18.0.0"));
    if (net) {
        char a[32];
        snprintf(a, sizeof(a), "%.*s", (int)strcspn(net, "/"), net);
        base = ntohl(inet_addr(a));
    }
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct sl_topo_node *n = &t->nodes[i];
        struct in_addr ia;
        if (n->address[0])
            continue;
        int h = t->live && lab && n->host[0] ? lab_host_index(lab, n->host) : -1;
        if (t->live && n->host[0] && h < 0)
            return bad(r, n->line, "[%s]: host '%s' is not in [lab] hosts", n->section, n->host);
        if (h >= 0) {
            ia.s_addr = htonl(base + 1 + (uint32_t)h);
            inet_ntop(AF_INET, &ia, n->address, sizeof(n->address));
        } else if (n->host[0] && inet_pton(AF_INET, n->host, &ia) == 1) {
            snprintf(n->address, sizeof(n->address), "%s", n->host);
        } else {
            snprintf(n->address, sizeof(n->address), "127.0.0.1");
        }
    }
    return true;
}

static bool assign_ports(struct rd *r)
{
    struct sl_topo *t = r->t;
    unsigned k = 0;
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct sl_topo_node *n = &t->nodes[i];
        if (n->type == SL_TOPO_WORKER)
            continue;
        if (!n->port)
            n->port = t->base_port + 3 * k;
        k++;
        if (n->port > 65533)
            return bad(r, n->line, "[%s]: port %u + 2 is past 65535", n->section, n->port);
    }
    /* listening ranges [port, port + 2] must not overlap on one address */
    for (unsigned i = 0; i < t->n_nodes; i++) {
        const struct sl_topo_node *a = &t->nodes[i];
        for (unsigned j = 0; j < i && a->type != SL_TOPO_WORKER; j++) {
            const struct sl_topo_node *b = &t->nodes[j];
            if (b->type == SL_TOPO_WORKER || strcmp(a->address, b->address) != 0)
                continue;
            if (a->port + 2 >= b->port && b->port + 2 >= a->port)
                return bad(r, a->line, "[%s]: ports %u..%u overlap %s's %u..%u", a->section,
                           a->port, a->port + 2, b->name, b->port, b->port + 2);
        }
    }
    return true;
}

static bool check_nodes(struct rd *r)
{
    struct sl_topo *t = r->t;
    unsigned count[SL_TOPO_TYPE_MAX] = {0};
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct sl_topo_node *a = &t->nodes[i];
        count[a->type]++;
        for (unsigned j = 0; j < i; j++) {
            const struct sl_topo_node *b = &t->nodes[j];
            if (strcmp(a->name, b->name) == 0)
                return bad(r, a->line, "node name '%s' used twice (also line %u)", a->name,
                           b->line);
            if (a->type == SL_TOPO_WORKER && b->type == SL_TOPO_WORKER &&
                memcmp(a->mac, b->mac, 6) == 0)
                return bad(r, a->line,
                           "%s: MAC %02x:%02x:%02x:%02x:%02x:%02x is also %s's (line %u)", a->name,
                           a->mac[0], a->mac[1], a->mac[2], a->mac[3], a->mac[4], a->mac[5],
                           b->name, b->line);
        }
    }
    if (count[SL_TOPO_MANAGER] != 1) {
        unsigned line = 1;
        for (unsigned i = 0; i < t->n_nodes; i++)
            if (t->nodes[i].type == SL_TOPO_MANAGER && count[SL_TOPO_MANAGER] > 1)
                line = t->nodes[i].line;
        return bad(r, line,
                   count[SL_TOPO_MANAGER] ? "more than one manager"
                                          : "no manager (a section with type = manager)");
    }
    if (count[SL_TOPO_WORKER] > 256 || count[SL_TOPO_PROXY] > 256)
        return bad(r, t->nodes[t->n_nodes - 1].line, "more than 256 workers or proxies");
    for (unsigned i = 0; i < t->n_nodes; i++) {
        struct sl_topo_node *n = &t->nodes[i];
        if (n->type != SL_TOPO_WORKER)
            continue;
        if (!count[SL_TOPO_PROXY])
            return bad(r, n->line, "%s: no proxy to attach to (add a section with type = proxy)",
                       n->name);
        const struct sl_ini_sec *s = sl_ini_section(r->ini, n->section);
        const struct sl_ini_kv *kv = sl_ini_find(s, "proxy");
        if (!kv)
            continue;
        const struct sl_topo_node *p = sl_topo_find(t, kv->val);
        if (!p || p->type != SL_TOPO_PROXY)
            return bad(r, kv->line, "[%s]: proxy '%s' is not a proxy of this topology", n->section,
                       kv->val);
        n->proxy = (int)(p - t->nodes);
    }
    return true;
}

static struct sl_topo *from_ini(const struct sl_ini *ini, const char *name, char *err,
                                size_t errlen)
{
    struct sl_topo *t = calloc(1, sizeof(*t));
    if (!t || !(t->nodes = calloc(SL_TOPO_MAX_NODES, sizeof(*t->nodes)))) {
        free(t);
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", name);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(t->file, sizeof(t->file), "%s", name);
    t->base_port = SL_TOPO_BASE_PORT;
    struct rd r = {.t = t, .ini = ini, .err = err, .errlen = errlen};
    unsigned n_workers = 0;
    const struct sl_ini_sec *lab = sl_ini_section(ini, "lab");
    if (lab)
        parse_lab(&r, lab);
    for (unsigned i = 0; i < ini->n_sec && !r.failed; i++) {
        const struct sl_ini_sec *s = &ini->sec[i];
        if (strcmp(s->name, "lab") == 0)
            continue;
        if (strcmp(s->name, "frontend") == 0)
            parse_frontend(&r, s);
        else
            parse_node(&r, s, &n_workers);
    }
    if (!r.failed && t->n_nodes == 0)
        bad(&r, 1, "no nodes");
    if (!r.failed)
        check_nodes(&r);
    if (!r.failed)
        resolve_addresses(&r);
    if (!r.failed)
        assign_ports(&r);
    if (r.failed) {
        sl_topo_free(t);
        errno = EINVAL;
        return NULL;
    }
    return t;
}

struct sl_topo *sl_topo_parse(const char *text, size_t len, const char *name, char *err,
                              size_t errlen)
{
    struct sl_ini *ini = sl_ini_parse(text, len, name, err, errlen);
    if (!ini)
        return NULL;
    struct sl_topo *t = from_ini(ini, name, err, errlen);
    int e = errno;
    sl_ini_free(ini);
    errno = e;
    return t;
}

struct sl_topo *sl_topo_load(const char *path, char *err, size_t errlen)
{
    struct sl_ini *ini = sl_ini_load(path, err, errlen);
    if (!ini)
        return NULL;
    struct sl_topo *t = from_ini(ini, path, err, errlen);
    int e = errno;
    sl_ini_free(ini);
    errno = e;
    return t;
}

void sl_topo_free(struct sl_topo *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t);
}

const struct sl_topo_node *sl_topo_find(const struct sl_topo *t, const char *name)
{
    for (unsigned i = 0; name && i < t->n_nodes; i++)
        if (strcmp(t->nodes[i].name, name) == 0)
            return &t->nodes[i];
    return NULL;
}

unsigned sl_topo_count(const struct sl_topo *t, enum sl_topo_type type)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->n_nodes; i++)
        n += t->nodes[i].type == type;
    return n;
}

const struct sl_topo_node *sl_topo_nth(const struct sl_topo *t, enum sl_topo_type type, unsigned k)
{
    for (unsigned i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].type == type && k-- == 0)
            return &t->nodes[i];
    return NULL;
}

int sl_topo_endpoint(const struct sl_topo_node *n, unsigned offset, char *buf, size_t len)
{
    if (n->type == SL_TOPO_WORKER || !n->port || offset > 2)
        return -EINVAL;
    int w = snprintf(buf, len, "tcp://%s:%u", n->address, n->port + offset);
    return w < 0 || (size_t)w >= len ? -ENOSPC : 0;
}

int sl_topo_bind_endpoint(const struct sl_topo_node *n, unsigned offset, char *buf, size_t len)
{
    struct in_addr ia;
    if (n->type == SL_TOPO_WORKER || !n->port || offset > 2)
        return -EINVAL;
    const char *a = inet_pton(AF_INET, n->address, &ia) == 1 ? n->address : "*";
    int w = snprintf(buf, len, "tcp://%s:%u", a, n->port + offset);
    return w < 0 || (size_t)w >= len ? -ENOSPC : 0;
}
