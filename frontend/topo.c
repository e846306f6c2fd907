/* topo: see topo.h. */
#include "topo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_ini.h"
#include "sl_topo.h"

/* [frontend] keys that belong to the lab (sluicectl) and mean nothing here. */
static const char *const lab_keys[] = {"type",     "host", "interface", "lcores",
                                       "pin_cpus", "mode", "switch",    NULL};

static bool is_lab_key(const char *k)
{
    for (int i = 0; lab_keys[i]; i++)
        if (strcmp(lab_keys[i], k) == 0)
            return true;
    return false;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int apply_frontend(struct fe_conf *c, const struct sl_ini *ini, const struct sl_ini_sec *s,
                          char *err, size_t errlen)
{
    for (unsigned i = 0; i < s->n_kv; i++) {
        const struct sl_ini_kv *kv = &s->kv[i];
        char where[512];
        snprintf(where, sizeof(where), "%s:%u", ini->path, kv->line);
        int rc = fe_args_set_key(c, kv->key, kv->val, where, err, errlen);
        if (rc == -ENOENT) {
            if (!is_lab_key(kv->key))
                fprintf(stderr, "frontend-dpdk: warning: %s: unknown key '%s' in [%s] ignored\n",
                        where, kv->key, s->name);
            continue;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
    char *end;
    if (v == NULL || *v < '0' || *v > '9')
        return -EINVAL;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || *end || x > max)
        return -EINVAL;
    *out = x;
    return 0;
}

/* Adds the worker(s) of one `type = worker` section. */
static int add_worker(struct fe_conf *c, const struct sl_ini *ini, const struct sl_ini_sec *s,
                      char *err, size_t errlen)
{
    unsigned long procs = 1, port = 0;
    double weight = 1.0;
    uint64_t rate = 0;
    uint8_t mac[6];
    const struct sl_ini_kv *kv;
    int has_mac = 0, has_port = 0;

    if ((kv = sl_ini_find(s, "lb_procs")) != NULL &&
        (parse_uint(kv->val, FE_MAX_WORKERS, &procs) < 0 || procs == 0))
        return fail(err, errlen, "%s:%u: bad lb_procs '%s'", ini->path, kv->line, kv->val);
    if ((kv = sl_ini_find(s, "mac")) != NULL) {
        if (sl_topo_mac_parse(kv->val, mac) < 0)
            return fail(err, errlen, "%s:%u: bad mac '%s'", ini->path, kv->line, kv->val);
        has_mac = 1;
    }
    if ((kv = sl_ini_find(s, "port")) != NULL) {
        if (parse_uint(kv->val, FE_MAX_PORTS - 1, &port) < 0)
            return fail(err, errlen, "%s:%u: bad port '%s' (0..%d)", ini->path, kv->line, kv->val,
                        FE_MAX_PORTS - 1);
        has_port = 1;
    }
    if ((kv = sl_ini_find(s, "weight")) != NULL && sl_topo_weight_parse(kv->val, &weight) < 0)
        return fail(err, errlen, "%s:%u: bad weight '%s' (a number > 0, at most 1e6)", ini->path,
                    kv->line, kv->val);
    if ((kv = sl_ini_find(s, "link_rate")) != NULL && sl_topo_rate_parse(kv->val, &rate) < 0)
        return fail(err, errlen, "%s:%u: bad link_rate '%s' (e.g. 1G, 250M, 10G)", ini->path,
                    kv->line, kv->val);
    for (unsigned long p = 0; p < procs; p++) {
        unsigned i = c->n_macs;
        if (i >= FE_MAX_WORKERS)
            return fail(err, errlen, "%s:%u: more than %d workers", ini->path, s->line,
                        FE_MAX_WORKERS);
        if (has_mac)
            sl_topo_mac_nth(mac, (unsigned)p, c->mac[i]);
        else
            sl_topo_default_mac(i + 1, c->mac[i]);
        c->worker_port[i] = has_port ? (int)port : -1;
        c->weight[i] = weight;
        c->worker_rate[i] = rate;
        c->n_macs++;
    }
    return 0;
}

int fe_topo_apply(struct fe_conf *c, const char *path, char *err, size_t errlen)
{
    struct sl_ini *ini = sl_ini_load(path, err, errlen);
    int rc = 0;
    if (ini == NULL)
        return -EINVAL;
    const struct sl_ini_sec *fe = sl_ini_section(ini, "frontend");
    if (fe != NULL && (rc = apply_frontend(c, ini, fe, err, errlen)) < 0)
        goto out;
    c->n_macs = 0;
    for (unsigned i = 0; i < ini->n_sec; i++) {
        const char *type = sl_ini_get(&ini->sec[i], "type");
        if (type == NULL || strcmp(type, "worker") != 0)
            continue;
        if ((rc = add_worker(c, ini, &ini->sec[i], err, errlen)) < 0)
            goto out;
    }
out:
    sl_ini_free(ini);
    return rc;
}
