/* sluice-node logger: takes log batches from every node on a ROUTER socket,
 * writes one file per stream (Zeek TSV or JSON), acknowledges each batch
 * once it is out of the process, rotates by interval and on SIGHUP, and on
 * SIGTERM writes what already arrived, closes every file and exits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_common.h"
#include "sl_node.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-node logger --topology FILE --node NAME [options]\n"
            "  --log-dir DIR        where the logs go (default .)\n"
            "  --log-format F       tsv (default) or json\n"
            "  --rotate S           rotate every S seconds (default 3600, Zeek's; 0: never)\n"
            "%s",
            nc_opts_help);
}

struct logger_args {
    struct nc_opts o;
    const char *dir;
    enum sl_log_format fmt;
    double rotate;
};

static int parse(int argc, char **argv, struct logger_args *a)
{
    nc_opts_default(&a->o);
    a->dir = ".";
    a->fmt = SL_LOG_TSV;
    a->rotate = 3600;
    for (int i = 1; i < argc; i++) {
        int r = nc_opts_parse(&a->o, argc, argv, &i);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(argv[i], "--log-dir") == 0 && v) {
            a->dir = v;
            i++;
        } else if (strcmp(argv[i], "--log-format") == 0 && v) {
            if (strcmp(v, "json") == 0)
                a->fmt = SL_LOG_JSON;
            else if (strcmp(v, "tsv") != 0)
                return fprintf(stderr, "sluice-node logger: --log-format tsv|json\n"), -1;
            i++;
        } else if (strcmp(argv[i], "--rotate") == 0 && v) {
            char *end;
            a->rotate = strtod(v, &end);
            if (*end || a->rotate < 0)
                return fprintf(stderr, "sluice-node logger: --rotate wants seconds\n"), -1;
            i++;
        } else {
            fprintf(stderr, "sluice-node logger: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static void serve_ready(struct nc_logger *lg, void *router, const char *name, uint64_t *garbage)
{
    for (;;) {
        struct sl_wire_msg m;
        char from[128];
        int rc = nc_recv(router, true, &m, from, sizeof(from), "the log port", garbage);
        if (rc == 0)
            return;
        if (rc < 0)
            continue;
        nc_logger_serve(lg, router, name, from, &m, garbage);
        sl_wire_msg_clear(&m);
    }
}

int sl_node_logger(int argc, char **argv)
{
    struct logger_args a;
    int pr = parse(argc, argv, &a);
    if (pr)
        return pr > 0 ? 0 : 2;
    const struct sl_topo_node *self;
    struct sl_topo *t = nc_load_topology(&a.o, SL_TOPO_LOGGER, &self);
    if (!t)
        return 1;
    int status = 1;
    uint64_t garbage = 0;
    void *zctx = zmq_ctx_new();
    void *router = NULL, *mon = NULL;
    struct nc_hb *hb = NULL;
    struct nc_logger *lg = NULL;
    char ep[128];

    nc_signals_install();
    router = nc_socket(zctx, ZMQ_ROUTER, self->name);
    if (!router || sl_topo_bind_endpoint(self, 0, ep, sizeof(ep)) < 0 || nc_bind(router, ep) < 0)
        goto out;
    mon = nc_monitor(zctx, router, "the log port");
    hb = nc_hb_new(zctx, t, self, &a.o);
    lg = nc_logger_new(a.dir, a.fmt, a.rotate);
    if (!mon || !hb || !lg)
        goto out;
    nc_info("logger up on %s, writing %s logs to %s", ep, a.fmt == SL_LOG_JSON ? "JSON" : "TSV",
            a.dir);
    struct nc_counters c = {0};
    while (!nc_stop) {
        zmq_pollitem_t items[2] = {{.socket = router, .events = ZMQ_POLLIN},
                                   {.socket = mon, .events = ZMQ_POLLIN}};
        if (zmq_poll(items, 2, 100) < 0 && zmq_errno() != EINTR) {
            nc_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
            goto out;
        }
        if (items[1].revents & ZMQ_POLLIN)
            nc_monitor_read(mon, "the log port");
        if (items[0].revents & ZMQ_POLLIN)
            serve_ready(lg, router, self->name, &garbage);
        if (nc_hup) {
            nc_hup = 0;
            nc_info("SIGHUP: rotating");
            nc_logger_rotate(lg);
        }
        nc_logger_tick(lg);
        nc_logger_count(lg, &c);
        nc_count_set(&c, "garbage", garbage);
        nc_hb_tick(hb, &c, false);
    }
    /* what already arrived is written before closing */
    serve_ready(lg, router, self->name, &garbage);
    nc_logger_count(lg, &c);
    nc_count_set(&c, "garbage", garbage);
    nc_hb_tick(hb, &c, true);
    struct nc_logger_stats st;
    nc_logger_stats(lg, &st);
    nc_info("logger done: %llu records in %llu batches written, %llu repeated batches dropped, "
            "%llu garbage messages",
            (unsigned long long)st.records, (unsigned long long)st.batches,
            (unsigned long long)st.dup_batches, (unsigned long long)garbage);
    status = st.errors ? 1 : 0;
out:
    nc_logger_free(lg);
    nc_hb_free(hb, false);
    if (mon)
        zmq_close(mon);
    if (router)
        zmq_close(router);
    zmq_ctx_term(zctx);
    sl_topo_free(t);
    return status;
}
