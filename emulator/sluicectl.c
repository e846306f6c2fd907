/* sluicectl: the lab's control tool, in the manner of zeekctl.
 *
 *   sluicectl check TOPOLOGY            validate, print the plan; nothing started
 *   sluicectl up TOPOLOGY               build the live lab (root)
 *   sluicectl down TOPOLOGY|--run-dir D remove everything the lab made
 *   sluicectl replay TOPOLOGY PCAP ...  replay a pcap through frontend + cluster, report
 *
 * See --help. Exit status: 0 ok, 1 failure (e.g. equivalence failed), 2 usage
 * or a bad topology, 77 when live mode is impossible here (not root / no
 * network namespaces).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab_ctl.h"
#include "lab_equiv.h"
#include "lab_live.h"
#include "lab_plan.h"
#include "lab_replay.h"
#include "lab_split.h"
#include "lab_state.h"
#include "lab_topo.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluicectl COMMAND [options]\n"
            "\n"
            "  check TOPOLOGY       validate TOPOLOGY and print what the lab would build;\n"
            "                       every mistake is one line FILE:LINE: message\n"
            "  up TOPOLOGY          build the live lab: a network namespace per host, veth\n"
            "                       worker NICs with their MACs, the management network\n"
            "                       (198.18.0.0/15, inside the lab only), a kernel switch with\n"
            "                       static FDB entries where asked, tbf link rates (root)\n"
            "  down [TOPOLOGY]      remove everything the lab made (also after a crash or a\n"
            "                       kill -9 of sluicectl); never touches anything else\n"
            "  start TOPOLOGY       start the cluster in the live lab (loggers, manager,\n"
            "                       proxies, workers, each waiting for the one before), then\n"
            "                       the frontend reading the tap (tap0 in the frontend host),\n"
            "                       then 'follow' (below), all left running\n"
            "  follow TOPOLOGY      tell the frontend 'down K' / 'up K' as worker K leaves and\n"
            "                       rejoins the manager's view (start runs it beside the lab;\n"
            "                       its log: RUN/logs/liveness.log)\n"
            "  stop TOPOLOGY        stop them in reverse order, each draining first\n"
            "  status TOPOLOGY      node, type, host, pid, state, packets, drops\n"
            "  netstats TOPOLOGY    per worker: recvd, dropped, link (as zeekctl)\n"
            "  replay TOPOLOGY PCAP replay PCAP through the frontend and the cluster, compare\n"
            "                       with a standalone run, write the report\n"
            "  split PCAP DIR       cut PCAP into DIR/worker-<k>.pcap as a plain balancer would\n"
            "                       (--workers N, --hash MODE); --hash asym cuts it wrong on\n"
            "                       purpose (directions apart), to check the checker with\n"
            "                       replay --split-input\n"
            "  logdiff DIR_A DIR_B  compare two Zeek log directories as the replay does (rows\n"
            "                       without uid, tunnel_parents by 5-tuple, any order); exit\n"
            "                       0 when equivalent, 1 when not; --no-time leaves out time\n"
            "                       and interval columns (a live capture's clock)\n"
            "\n"
            "options:\n"
            "  --run-dir DIR        the lab's run directory (default /run/sluice/<lab> for\n"
            "                       root, else $XDG_RUNTIME_DIR/sluice/<lab>)\n"
            "  --bin-dir DIR        where frontend-dpdk and sluice-node are (default: the\n"
            "                       build tree this sluicectl is in, then $PATH)\n"
            "start and follow options:\n"
            "  --restart            start a crashed worker again once the manager has dropped\n"
            "                       it from its view (its flows have moved), as zeekctl cron\n"
            "                       does; when it heartbeats again its flows come back; and\n"
            "                       a crashed logger (the senders re-send what it lost)\n"
            "replay options:\n"
            "  --mode offline|live  offline (default): per-worker pcaps, no root; live: the\n"
            "                       namespaces of 'up' (root)\n"
            "  --speed 1x|<N>x|topspeed  pacing of the replay (default topspeed)\n"
            "  --hash MODE          override [frontend] hash\n"
            "  --workers N          use the first N workers of the topology\n"
            "  --out DIR            where logs and the report go (default ./sluice-out)\n"
            "  --kill-worker NAME@SECONDS  kill -9 that worker that long into the replay\n"
            "  --split-input DIR    take the per-worker pcaps from DIR (worker-<k>.pcap)\n"
            "                       instead of the frontend: to check the checker\n"
            "  --quiet              no progress line\n");
}

enum {
    OPT_RUN_DIR = 256,
    OPT_BIN_DIR,
    OPT_MODE,
    OPT_SPEED,
    OPT_HASH,
    OPT_WORKERS,
    OPT_OUT,
    OPT_KILL,
    OPT_SPLIT,
    OPT_QUIET,
    OPT_HELP,
    OPT_NO_TIME,
    OPT_RESTART
};

static const struct option long_opts[] = {
    {"run-dir", required_argument, NULL, OPT_RUN_DIR},
    {"bin-dir", required_argument, NULL, OPT_BIN_DIR},
    {"mode", required_argument, NULL, OPT_MODE},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"hash", required_argument, NULL, OPT_HASH},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"out", required_argument, NULL, OPT_OUT},
    {"kill-worker", required_argument, NULL, OPT_KILL},
    {"split-input", required_argument, NULL, OPT_SPLIT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"no-time", no_argument, NULL, OPT_NO_TIME},
    {"restart", no_argument, NULL, OPT_RESTART},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int load_topo(const char *path, struct lab_topo *t)
{
    int errs = lab_topo_load(path, t, stderr);
    if (errs > 0)
        fprintf(stderr, "%s: %d mistake%s\n", path, errs, errs == 1 ? "" : "s");
    return errs;
}

static int cmd_check(const char *path)
{
    struct lab_topo *t = calloc(1, sizeof(*t));
    struct lab_plan p;
    if (!t)
        return 1;
    int errs = load_topo(path, t);
    if (errs) {
        free(t);
        return 2;
    }
    if (lab_plan_live(t, &p) < 0) {
        free(t);
        return 1;
    }
    lab_plan_print(t, &p, stdout);
    lab_plan_free(&p);
    free(t);
    return 0;
}

static int cmd_split(const char *pcap, const char *dir, const struct lab_replay_opts *o)
{
    bool asym = o->hash && strcmp(o->hash, "asym") == 0;
    int rc = lab_mkdir_p(dir, 0755);
    if (rc < 0) {
        fprintf(stderr, "sluicectl: %s: %s\n", dir, strerror(-rc));
        return 1;
    }
    rc = lab_split_write(pcap, dir, o->workers ? o->workers : 4,
                         asym ? LAB_SPLIT_ASYM : LAB_SPLIT_HASH, asym ? NULL : o->hash, stderr);
    return rc < 0 ? (rc == -EINVAL ? 2 : 1) : 0;
}

static int cmd_logdiff(const char *a, const char *b, bool no_time)
{
    struct lab_equiv e;
    if (lab_equiv_compare(a, b, no_time ? LAB_EQUIV_NO_TIME : 0, &e, stderr) < 0)
        return 2;
    lab_equiv_print(&e, a, b, stdout);
    int ret = e.equivalent ? 0 : 1;
    lab_equiv_free(&e);
    return ret;
}

static int open_run(const char *run_dir, const char *lab, bool create, struct lab_run *run)
{
    char dir[PATH_MAX];
    int rc;
    if (run_dir)
        snprintf(dir, sizeof(dir), "%s", run_dir);
    else if ((rc = lab_run_default_dir(lab, dir, sizeof(dir))) < 0)
        return rc;
    rc = lab_run_open(run, dir, lab, create);
    if (rc == -EBUSY)
        fprintf(stderr, "sluicectl: %s is in use by another sluicectl\n", dir);
    else if (rc == -ENOENT)
        fprintf(stderr, "sluicectl: no run directory %s: nothing to do\n", dir);
    else if (rc < 0)
        fprintf(stderr, "sluicectl: %s: %s\n", dir, strerror(-rc));
    return rc;
}

static bool live_possible(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "sluicectl: live mode needs root (network namespaces, links)\n");
        return false;
    }
    return true;
}

static int cmd_up(const char *path, const char *run_dir)
{
    struct lab_topo *t = calloc(1, sizeof(*t));
    struct lab_plan p = {0};
    struct lab_run run;
    int ret = 1;
    if (!t)
        return 1;
    if (load_topo(path, t)) {
        ret = 2;
        goto out;
    }
    if (!live_possible()) {
        ret = 77;
        goto out;
    }
    if (lab_plan_live(t, &p) < 0 || open_run(run_dir, t->name, true, &run) < 0)
        goto out;
    int rc = lab_live_up(&p, &run, stderr);
    if (rc == 0) {
        printf("lab %s is up: %zu steps (run directory %s, tag %s)\n", t->name, p.n, run.dir,
               run.tag);
        ret = 0;
    } else if (rc == -EPERM || rc == -EACCES) {
        ret = 77;
    }
    lab_run_close(&run);
out:
    lab_plan_free(&p);
    free(t);
    return ret;
}

static int cmd_down(const char *path, const char *run_dir)
{
    struct lab_run run;
    char lab[LAB_TOPO_NAME] = "";
    if (path) {
        struct lab_topo *t = calloc(1, sizeof(*t));
        if (!t)
            return 1;
        /* down must work even when the file has become invalid: only the
         * lab name is needed, and it is known even with mistakes. */
        lab_topo_load(path, t, fopen("/dev/null", "w") ?: stderr);
        snprintf(lab, sizeof(lab), "%s", t->name);
        free(t);
    } else if (!run_dir) {
        fprintf(stderr, "sluicectl: down needs TOPOLOGY or --run-dir\n");
        return 2;
    }
    int rc = open_run(run_dir, lab, false, &run);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return 1;
    int left = lab_live_down(&run, stdout);
    if (left < 0)
        fprintf(stderr, "sluicectl: down: %s\n", strerror(-left));
    else if (left)
        fprintf(stderr,
                "sluicectl: down: %d thing%s could not be removed (see above); run down "
                "again\n",
                left, left == 1 ? "" : "s");
    else
        printf("lab %s is down\n", lab[0] ? lab : run.dir);
    lab_run_close(&run);
    return left == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct lab_replay_opts ro;
    const char *run_dir = NULL;
    lab_replay_opts_init(&ro, argv[0]);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_RUN_DIR:
            run_dir = optarg;
            break;
        case OPT_NO_TIME:
            ro.no_time = true;
            break;
        case OPT_RESTART:
            ro.restart = true;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            return 0;
        default:
            if (c >= OPT_BIN_DIR && c <= OPT_QUIET &&
                lab_replay_opt(&ro, c - OPT_BIN_DIR, optarg) == 0)
                break;
            if (c >= OPT_BIN_DIR && c <= OPT_QUIET)
                fprintf(stderr, "sluicectl: bad value '%s' for --%s\n", optarg ? optarg : "",
                        long_opts[c - OPT_RUN_DIR].name);
            usage(stderr);
            return 2;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    ro.run_dir = run_dir;
    if (strcmp(cmd, "check") == 0 && nargs == 1)
        return cmd_check(args[0]);
    if (strcmp(cmd, "up") == 0 && nargs == 1)
        return cmd_up(args[0], run_dir);
    if (strcmp(cmd, "down") == 0 && nargs <= 1)
        return cmd_down(nargs ? args[0] : NULL, run_dir);
    if (strcmp(cmd, "split") == 0 && nargs == 2)
        return cmd_split(args[0], args[1], &ro);
    if (strcmp(cmd, "logdiff") == 0 && nargs == 2)
        return cmd_logdiff(args[0], args[1], ro.no_time);
    if (strcmp(cmd, "start") == 0 && nargs == 1)
        return lab_ctl_start(args[0], &ro);
    if (strcmp(cmd, "follow") == 0 && nargs == 1)
        return lab_ctl_follow(args[0], &ro);
    if (strcmp(cmd, "stop") == 0 && nargs == 1)
        return lab_ctl_stop(args[0], &ro);
    if (strcmp(cmd, "status") == 0 && nargs == 1)
        return lab_ctl_status(args[0], &ro, false);
    if (strcmp(cmd, "netstats") == 0 && nargs == 1)
        return lab_ctl_status(args[0], &ro, true);
    if (strcmp(cmd, "replay") == 0 && nargs == 2)
        return lab_replay_main(args[0], args[1], &ro);
    fprintf(stderr, "sluicectl: bad command line for '%s'\n", cmd);
    usage(stderr);
    return 2;
}
