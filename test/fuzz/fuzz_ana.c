/* libFuzzer target for a worker's whole analysis: sl_ana (checksums,
 * fragment reassembly, tunnels, weirds) driving sl_conn (TCP state,
 * history, conn_state, timeouts) with every policy module of
 * sl_ana_mods attached (DNS, known hosts/services, scan, notices, stats),
 * as sluice-node standalone runs them.
 *
 * Input: one flags byte, then frames. Flags: low 4 bits pick the link type
 * from fuzz_dlts[]; bit 4 ignore checksums (zeek -C); bit 5 wire lengths
 * unknown; bit 6 a flow-table limit of 4 connections (evictions); bit 7
 * private address space is not local. The frames, with their time steps,
 * as fuzz_runs.h has them (fuzz_seed --ana writes runs of pcap frames).
 *
 * Every record is read field by field and formatted as TSV and as JSON; a
 * conn.log record's state, protocol, uid and duration are ones Zeek can
 * write. At the end of a run the analyzer's counters must agree with what
 * came out: packets with the frames given, conn.log and weird.log records
 * with the records written, and no connection left after sl_ana_finish.
 * The input is analysed twice, and the two runs must write the same
 * records byte for byte (the testbed's determinism). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_dlts.h"
#include "fuzz_runs.h"
#include "sl_ana.h"
#include "sl_ana_mods.h"
#include "sl_net.h"

#define MAX_FIELDS 64

struct seen {
    uint64_t records, conn, weird;
    uint64_t digest; /* of every record as TSV, in order (stats.log's mem left out) */
};

static bool is_container(enum sl_log_type t)
{
    return t >= SL_LT_SET_STRING && t < SL_LT_MAX;
}

/* Field `name` of a record of schema, NULL when unset or absent. */
static const char *field(const struct sl_log_schema *schema, const struct sl_log_val *vals,
                         const char *name)
{
    for (unsigned i = 0; i < schema->n_fields; i++)
        if (strcmp(schema->fields[i].name, name) == 0)
            return vals[i].present ? vals[i].s : NULL;
    return NULL;
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

/* What Zeek's conn.log allows in the fields every record has. */
static void check_conn(const struct sl_log_schema *schema, const struct sl_log_val *vals)
{
    static const char *const states[] = {"S0",   "S1",     "SF",    "REJ", "S2",  "S3",  "RSTO",
                                         "RSTR", "RSTOS0", "RSTRH", "SH",  "SHR", "OTH", NULL};
    static const char *const protos[] = {"tcp", "udp", "icmp", "unknown_transport", NULL};
    const char *st = field(schema, vals, "conn_state"), *proto = field(schema, vals, "proto");
    const char *uid = field(schema, vals, "uid"), *dur = field(schema, vals, "duration");
    CHECK(st != NULL && one_of(st, states));
    CHECK(proto != NULL && one_of(proto, protos));
    CHECK(uid != NULL && uid[0] == 'C' && strlen(uid) > 1);
    CHECK(field(schema, vals, "id.orig_h") != NULL && field(schema, vals, "id.resp_h") != NULL);
    CHECK(dur == NULL || dur[0] != '-');
}

static int on_write(void *ctx, const struct sl_log_schema *schema, const struct sl_log_val *vals)
{
    static char line[1 << 16];
    struct seen *s = ctx;
    uint64_t h = 0;

    CHECK(schema != NULL && schema->path != NULL && vals != NULL);
    CHECK(schema->n_fields > 0 && schema->n_fields <= MAX_FIELDS);
    for (unsigned i = 0; i < schema->n_fields; i++) {
        const struct sl_log_val *v = &vals[i];
        CHECK(schema->fields[i].type < SL_LT_MAX);
        if (!v->present)
            continue;
        if (is_container(schema->fields[i].type)) {
            CHECK(v->n_items == 0 || v->items != NULL);
            for (uint32_t k = 0; k < v->n_items; k++) {
                CHECK(v->items[k] != NULL);
                h = mix(h, strlen(v->items[k]));
            }
        } else {
            CHECK(v->s != NULL);
            h = mix(h, strlen(v->s));
        }
    }
    CHECK(sl_log_format_line(schema, SL_LOG_JSON, vals, line, sizeof(line)) >= 0);
    /* the process's memory, the one value a second run may see otherwise */
    struct sl_log_val same[MAX_FIELDS];
    memcpy(same, vals, schema->n_fields * sizeof(*vals));
    for (unsigned i = 0; i < schema->n_fields; i++)
        if (strcmp(schema->path, "stats") == 0 && strcmp(schema->fields[i].name, "mem") == 0)
            same[i].present = false;
    int n = sl_log_format_line(schema, SL_LOG_TSV, same, line, sizeof(line));
    CHECK(n >= 0);
    for (int i = 0; i < n; i++)
        s->digest = mix(s->digest, (uint8_t)line[i]);
    s->digest = mix(s->digest, '\n');
    s->records++;
    if (strcmp(schema->path, "conn") == 0) {
        check_conn(schema, vals);
        s->conn++;
    } else if (strcmp(schema->path, "weird") == 0)
        s->weird++;
    sink = mix(sink, h);
    return 0;
}

/* One analysis of the whole input, as a fresh standalone run. */
static void analyse(const uint8_t *data, size_t size, struct seen *seen, struct sl_ana_stats *st)
{
    const uint8_t flags = data[0];
    const int dlt = fuzz_dlts[flags & 15];
    struct sl_net *net = sl_net_new(!(flags & 128));
    CHECK(net != NULL);
    CHECK(sl_net_add(net, "198.51.100.0/24") == 0);
    struct sl_ana_cfg cfg = {
        .ignore_checksums = (flags & 16) != 0,
        .max_conns = (flags & 64) ? 4 : 0,
        .local = net,
        .seeded = true,
        .seed = 1,
    };
    struct sl_ana_output out = {.ctx = seen, .write = on_write};
    struct sl_ana *a = sl_ana_new(&cfg, &out);
    CHECK(a != NULL);
    void *mods = NULL;
    CHECK(sl_ana_mods_attach(a, &mods) == 0);

    const uint8_t *p = data + 1, *end = data + size, *frame;
    uint64_t now_ns = 0;
    uint32_t len;
    uint64_t frames = 0;
    while (fuzz_next_frame(&p, end, &now_ns, &frame, &len)) {
        sl_ana_packet(a, 1.6e9 + (double)now_ns / 1e9, frame, len, (flags & 32) ? 0 : len, dlt);
        frames++;
    }
    sl_ana_finish(a);

    sl_ana_get_stats(a, st);
    CHECK(st->packets == frames);
    CHECK(st->conn_records == seen->conn);
    CHECK(st->weirds == seen->weird);
    CHECK(st->write_errors == 0);
    CHECK(st->conns.active == 0);
    CHECK(st->non_ip <= st->dropped && st->dropped <= st->packets); /* non-IP is not analysed */
    sl_ana_mods_detach(mods);
    sl_ana_free(a);
    sl_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Twice: the same input and seed give the same records (determinism) */
    struct seen one = {0}, two = {0};
    struct sl_ana_stats st1, st2;
    analyse(data, size, &one, &st1);
    analyse(data, size, &two, &st2);
    CHECK(one.records == two.records && one.digest == two.digest);
    CHECK(st1.dropped == st2.dropped && st1.reassembled == st2.reassembled &&
          st1.conns.total == st2.conns.total && st1.conns.evicted == st2.conns.evicted);
    return 0;
}
