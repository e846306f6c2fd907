/* libFuzzer target for topology files: sl_ini_parse, then sl_topo_parse on
 * the same text (the in-memory twins of sl_ini_load / sl_topo_load).
 *
 * Every INI entry is read back and looked up again; every node of an
 * accepted topology is read, found by name, counted by type, and its
 * endpoints rendered, checking the rules sl_topo.h promises (unique names
 * that are valid wire names, listening nodes with a port, workers with a
 * unicast MAC). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_ini.h"
#include "sl_topo.h"
#include "sl_wire.h"

static void touch_ini(const struct sl_ini *ini)
{
    uint64_t h = strlen(ini->path);

    for (unsigned i = 0; i < ini->n_sec; i++) {
        const struct sl_ini_sec *s = &ini->sec[i];
        CHECK(sl_ini_section(ini, s->name) == s);
        h = mix(h, strlen(s->name) ^ s->line);
        for (unsigned k = 0; k < s->n_kv; k++) {
            const struct sl_ini_kv *kv = &s->kv[k];
            CHECK(kv->line >= s->line);
            CHECK(sl_ini_find(s, kv->key) == kv);
            CHECK(sl_ini_get(s, kv->key) == kv->val);
            h = mix(h, strlen(kv->key) ^ strlen(kv->val) << 16);
        }
    }
    sink = mix(sink, h);
}

static void touch_topo(const struct sl_topo *t)
{
    uint64_t h = strlen(t->file) ^ t->base_port ^ t->live;
    unsigned total = 0;
    char ep[128];

    CHECK(t->n_nodes <= SL_TOPO_MAX_NODES);
    CHECK(sl_topo_count(t, SL_TOPO_MANAGER) == 1);
    for (int ty = SL_TOPO_LOGGER; ty < SL_TOPO_TYPE_MAX; ty++) {
        unsigned n = sl_topo_count(t, (enum sl_topo_type)ty);
        CHECK(sl_topo_nth(t, (enum sl_topo_type)ty, n) == NULL);
        for (unsigned k = 0; k < n; k++)
            CHECK(sl_topo_nth(t, (enum sl_topo_type)ty, k)->type == (enum sl_topo_type)ty);
        h = mix(h, strlen(sl_topo_type_name((enum sl_topo_type)ty)));
        total += n;
    }
    CHECK(total == t->n_nodes);
    for (unsigned i = 0; i < t->n_nodes; i++) {
        const struct sl_topo_node *n = &t->nodes[i];
        CHECK(memchr(n->name, 0, sizeof(n->name)) && sl_wire_name_ok(n->name));
        CHECK(sl_topo_find(t, n->name) == n);
        CHECK(memchr(n->section, 0, sizeof(n->section)));
        CHECK(memchr(n->host, 0, sizeof(n->host)));
        CHECK(memchr(n->address, 0, sizeof(n->address)));
        CHECK(memchr(n->iface, 0, sizeof(n->iface)));
        h = mix(h, n->line ^ (uint64_t)n->cpu << 16 ^ (uint64_t)n->port << 32);
        int rc = sl_topo_endpoint(n, 0, ep, sizeof(ep));
        if (n->type == SL_TOPO_WORKER) {
            CHECK(!(n->mac[0] & 1));
            CHECK(n->proxy < 0 || t->nodes[n->proxy].type == SL_TOPO_PROXY);
            for (int b = 0; b < 6; b++)
                h = mix(h, n->mac[b]);
        } else {
            CHECK(rc == 0 && n->port > 0);
            CHECK(sl_topo_bind_endpoint(n, 0, ep, sizeof(ep)) == 0);
            h = mix(h, strlen(ep));
        }
    }
    if (t->frontend.present)
        h = mix(h, strlen(t->frontend.hash) ^ strlen(t->frontend.output) ^ t->frontend.line);
    if (t->lab.present)
        h = mix(h, strlen(t->lab.name) ^ t->lab.line);
    sink = mix(sink, h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];

    struct sl_ini *ini = sl_ini_parse((const char *)data, size, "fuzz.ini", err, sizeof(err));
    if (ini)
        touch_ini(ini);
    else
        sink = mix(sink, strlen(err));
    sl_ini_free(ini);

    struct sl_topo *t = sl_topo_parse((const char *)data, size, "fuzz.ini", err, sizeof(err));
    if (t)
        touch_topo(t);
    else
        sink = mix(sink, strlen(err));
    sl_topo_free(t);
    return 0;
}
