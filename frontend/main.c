/* frontend-dpdk: a cPacket-style L2 flow balancer on DPDK 22.11.
 *
 * main() goes the way DPDK's l2fwd/l3fwd samples do: own arguments (checked
 * before EAL so a mistake is one line), EAL init, ports and mbuf pool,
 * egress links, forwarding lcores launched, the main lcore doing stats and
 * control until the input ends or a signal comes, then drain, summary,
 * cleanup. See fe.h for the data flow and the module list.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf_dyn.h>

#include "args.h"
#include "ctl.h"
#include "fe.h"
#include "fwd.h"
#include "pcapw.h"
#include "ports.h"
#include "stats.h"
#include "switch.h"
#include "telemetry.h"
#include "workers.h"

#define PROG "frontend-dpdk"

int fe_meta_off = -1;

static struct fe_app *sig_app;

static void on_signal(int sig)
{
    (void)sig;
    if (sig_app != NULL)
        __atomic_store_n(&sig_app->stop, 1, __ATOMIC_RELAXED);
}

static void install_signals(struct fe_app *app)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sig_app = app;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int register_meta(char *err, size_t errlen)
{
    static const struct rte_mbuf_dynfield desc = {
        .name = "sluice_fe_meta",
        .size = sizeof(struct fe_meta),
        .align = __alignof__(struct fe_meta),
    };
    fe_meta_off = rte_mbuf_dynfield_register(&desc);
    if (fe_meta_off < 0) {
        snprintf(err, errlen, "cannot register the mbuf metadata field: %s",
                 rte_strerror(rte_errno));
        return -ENOSPC;
    }
    return 0;
}

static void init_clocks(struct fe_app *app)
{
    struct timespec ts;
    app->tsc_hz = rte_get_tsc_hz();
    app->tsc_per_ns = (double)app->tsc_hz / 1e9;
    clock_gettime(CLOCK_REALTIME, &ts);
    app->tsc0 = rte_rdtsc();
    app->wall0_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Everything between EAL init and launch; errors leave a line in err. */
static int setup(struct fe_app *app, char *err, size_t errlen)
{
    int rc;
    if ((rc = register_meta(err, errlen)) < 0)
        return rc;
    app->n_fwd = rte_lcore_count() - 1;
    if (app->n_fwd == 0) {
        snprintf(err, errlen,
                 "need at least 2 lcores (e.g. -l 0-1): the main lcore does stats "
                 "and control, the others forward");
        return -EINVAL;
    }
    if (app->n_fwd > FE_MAX_LCORES) {
        snprintf(err, errlen, "at most %d forwarding lcores", FE_MAX_LCORES);
        return -EINVAL;
    }
    if ((rc = fe_workers_init(app, err, errlen)) < 0 ||
        (rc = fe_ports_plan(app, err, errlen)) < 0 ||
        (rc = fe_switch_build(app, err, errlen)) < 0 || (rc = fe_ports_pool(app, err, errlen)) < 0)
        return rc;
    if (app->conf->write_pcaps != NULL) {
        app->pcapw = fe_pcapw_open(app->conf->write_pcaps, app->n_workers, app->out_nano,
                                   app->snaplen, app->n_fwd > 1, err, errlen);
        if (app->pcapw == NULL)
            return -EINVAL;
    }
    if ((rc = fe_fwd_setup(app, err, errlen)) < 0 || (rc = fe_ports_start(app, err, errlen)) < 0)
        return rc;
    /* telemetry first: once the control socket exists, everything answers */
    if (fe_telemetry_register(app) < 0)
        fprintf(stderr, PROG ": warning: telemetry commands not registered\n");
    if (app->conf->ctl_path != NULL) {
        app->ctl = fe_ctl_open(app->conf->ctl_path, err, errlen);
        if (app->ctl == NULL)
            return -EINVAL;
    }
    return 0;
}

static bool all_finished(const struct fe_app *app)
{
    for (unsigned i = 0; i < app->n_fwd; i++)
        if (!__atomic_load_n(&app->fwd[i]->finished, __ATOMIC_ACQUIRE))
            return false;
    return true;
}

static void print_interval(struct fe_app *app, uint64_t *last_pkts, uint64_t *last_tsc)
{
    struct fe_snap s;
    if (fe_stats_collect(app, &s) < 0)
        return;
    uint64_t now = rte_rdtsc();
    double dt = (double)(now - *last_tsc) / app->tsc_hz;
    s.interval_pps = dt > 0 ? (double)(s.in_pkts - *last_pkts) / dt : 0;
    *last_pkts = s.in_pkts;
    *last_tsc = now;
    fe_stats_json(app, &s, "interval", stdout);
    fe_stats_release(&s);
}

/* The main lcore: control socket, stats lines, --time, until the forwarding
 * lcores are done. */
static void main_loop(struct fe_app *app)
{
    const struct fe_conf *c = app->conf;
    uint64_t next_stats = 0, last_pkts = 0, last_tsc = app->start_tsc;
    uint64_t interval = (uint64_t)(c->stats_interval * app->tsc_hz);
    uint64_t deadline =
        c->run_time > 0 ? app->start_tsc + (uint64_t)(c->run_time * app->tsc_hz) : 0;
    if (interval)
        next_stats = app->start_tsc + interval;
    while (!all_finished(app)) {
        uint64_t now = rte_rdtsc();
        if (deadline && now >= deadline)
            __atomic_store_n(&app->stop, 1, __ATOMIC_RELAXED);
        if (interval && now >= next_stats) {
            print_interval(app, &last_pkts, &last_tsc);
            next_stats += interval;
            if (next_stats < now)
                next_stats = now + interval;
        }
        fe_ctl_poll(app->ctl, app, 20);
    }
}

static void wait_for_start(struct fe_app *app)
{
    fprintf(stderr, PROG ": waiting for 'start' on %s\n", app->conf->ctl_path);
    while (!__atomic_load_n(&app->started, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&app->stop, __ATOMIC_RELAXED))
        fe_ctl_poll(app->ctl, app, 50);
}

static int run(struct fe_app *app)
{
    char err[512];
    int rc = 0;
    install_signals(app);
    if (app->conf->wait_start)
        wait_for_start(app);
    init_clocks(app);
    app->start_tsc = rte_rdtsc();
    for (unsigned i = 0; i < app->n_fwd; i++)
        rte_eal_remote_launch(fe_fwd_main, app->fwd[i], app->fwd[i]->lcore_id);
    main_loop(app);
    rte_eal_mp_wait_lcore();
    fe_telemetry_detach();
    if (app->pcapw != NULL && fe_pcapw_close(app->pcapw, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": error: %s\n", err);
        rc = 1;
    }
    app->pcapw = NULL;
    struct fe_snap s;
    if (fe_stats_collect(app, &s) == 0) {
        fe_stats_json(app, &s, "summary", stdout);
        if (s.in_pkts != s.out_pkts + s.drops_total + s.in_flight) {
            fprintf(stderr, PROG ": error: accounting: in %llu != out %llu + drops %llu\n",
                    (unsigned long long)s.in_pkts, (unsigned long long)s.out_pkts,
                    (unsigned long long)s.drops_total);
            rc = 1;
        }
        fe_stats_release(&s);
    }
    return rc;
}

static void teardown(struct fe_app *app)
{
    fe_telemetry_detach();
    fe_ctl_close(app->ctl);
    app->ctl = NULL;
    if (app->pcapw != NULL)
        fe_pcapw_close(app->pcapw, NULL, 0);
    fe_ports_close(app);
    fe_fwd_free(app);
    fe_workers_free(app);
    fe_switch_free(app);
    if (app->pool != NULL)
        rte_mempool_free(app->pool);
}

/* Splits argv at the first "--": EAL's part and ours (with the program name). */
static int split_args(int argc, char **argv, int *eal_argc, int *app_argc, char ***app_argv)
{
    int dd = argc;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dd = i;
            break;
        }
    *eal_argc = dd;
    *app_argc = dd < argc ? argc - dd : 1;
    *app_argv = calloc((size_t)*app_argc + 1, sizeof(char *));
    if (*app_argv == NULL)
        return -ENOMEM;
    (*app_argv)[0] = argv[0];
    for (int i = 1; i < *app_argc; i++)
        (*app_argv)[i] = argv[dd + i];
    return 0;
}

int main(int argc, char **argv)
{
    static struct fe_conf conf;
    static struct fe_app app;
    char err[1024] = "";
    char **app_argv = NULL;
    int eal_argc, app_argc, rc;

    if (split_args(argc, argv, &eal_argc, &app_argc, &app_argv) < 0) {
        fprintf(stderr, PROG ": error: out of memory\n");
        return 2;
    }
    /* `frontend-dpdk --help` without `--`: ours, not only EAL's */
    for (int i = 1; i < eal_argc; i++)
        if (eal_argc == argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
            fe_args_usage(stdout, PROG);
            printf("\nEAL options: run '%s --help --' for DPDK's list.\n", PROG);
            free(app_argv);
            return 0;
        }
    rc = fe_args_parse(&conf, app_argc, app_argv, err, sizeof(err));
    free(app_argv);
    if (rc == 1)
        return 0;
    if (rc < 0 || fe_ports_precheck(eal_argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": error: %s\n", err);
        fe_conf_free(&conf);
        return 2;
    }
    /* EAL logs to stdout by default; stdout is for our JSON */
    rte_openlog_stream(stderr);
    if (rte_eal_init(eal_argc, argv) < 0) {
        fprintf(stderr, PROG ": error: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
        fe_conf_free(&conf);
        return 2;
    }
    app.conf = &conf;
    rte_spinlock_init(&app.stats_lock);
    if (setup(&app, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": error: %s\n", err);
        rc = 2;
    } else {
        rc = run(&app);
    }
    teardown(&app);
    rte_eal_cleanup();
    fe_conf_free(&conf);
    return rc;
}
