/* One topology file, three readers: the cluster's (core/sl_topo), the lab's
 * (emulator/lab_topo) and frontend-dpdk's (frontend/topo, through its
 * --topology option). Where all three accept a file they must name the same
 * workers in the same order with the same MACs, and the lab and the
 * frontend the same link rates and weights: a worker whose MAC the frontend
 * rewrites to and the cluster believes in must be one and the same. Where
 * the shared rules are broken (syntax of a MAC or a rate, a duplicate MAC),
 * all three refuse. Runs over every bundled topology (topologies/NAME.ini)
 * and over files made here for the corners: lb_procs, MACs that wrap,
 * default MACs after explicit ones, rate spellings. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "lab_topo.h"
#include "sl_topo.h"
#include "srcdir.h"
#include "topo_views.h"

/* What the three readers made of one file. */
struct views {
    struct sl_topo *cl;   /* NULL: refused */
    struct lab_topo *lab; /* always allocated; lab_ok says if accepted */
    bool lab_ok;
    struct fe_conf fe;
    bool fe_ok;
    char err[512];
};

static void load_all(const char *path, struct views *v)
{
    memset(v, 0, sizeof(*v));
    v->cl = sl_topo_load(path, v->err, sizeof(v->err));
    v->lab = calloc(1, sizeof(*v->lab));
    ck_assert_ptr_nonnull(v->lab);
    FILE *devnull = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(devnull);
    v->lab_ok = lab_topo_load(path, v->lab, devnull) == 0;
    fclose(devnull);
    char *argv[] = {"frontend-dpdk", "--topology", (char *)path, NULL};
    char ferr[512];
    v->fe_ok = fe_args_parse(&v->fe, 3, argv, ferr, sizeof(ferr)) == 0;
}

static void free_all(struct views *v)
{
    sl_topo_free(v->cl);
    free(v->lab);
    fe_conf_free(&v->fe);
}

/* All three accept path, and agree worker by worker. Returns the count. */
static unsigned check_agree(const char *path)
{
    struct views v;
    load_all(path, &v);
    ck_assert_msg(v.cl != NULL, "%s: the cluster refuses it: %s", path, v.err);
    ck_assert_msg(v.lab_ok, "%s: the lab refuses it", path);
    ck_assert_msg(v.fe_ok, "%s: frontend-dpdk refuses it", path);
    unsigned n = sl_topo_count(v.cl, SL_TOPO_WORKER);
    ck_assert_msg(lab_topo_n_workers(v.lab) == n && v.fe.n_macs == n,
                  "%s: workers: cluster %u, lab %u, frontend %u", path, n,
                  lab_topo_n_workers(v.lab), v.fe.n_macs);
    for (unsigned k = 0; k < n; k++) {
        const struct sl_topo_node *c = sl_topo_nth(v.cl, SL_TOPO_WORKER, k);
        int li = lab_topo_worker(v.lab, k);
        ck_assert_int_ge(li, 0);
        const struct lab_node *l = &v.lab->nodes[li];
        ck_assert_msg(strcmp(c->name, l->name) == 0, "%s: worker %u: cluster '%s', lab '%s'", path,
                      k, c->name, l->name);
        ck_assert_msg(memcmp(c->mac, l->mac, 6) == 0 && memcmp(c->mac, v.fe.mac[k], 6) == 0,
                      "%s: worker %u (%s): the MACs differ", path, k, c->name);
        ck_assert_msg(l->link_rate == fe_topo_rate(&v.fe, k),
                      "%s: worker %u (%s): link rate lab %llu, frontend %llu", path, k, c->name,
                      (unsigned long long)l->link_rate, (unsigned long long)fe_topo_rate(&v.fe, k));
        ck_assert_msg(l->weight == v.fe.weight[k], "%s: worker %u (%s): weight lab %g, frontend %g",
                      path, k, c->name, l->weight, v.fe.weight[k]);
    }
    free_all(&v);
    return n;
}

/* All three refuse path. */
static void check_refused(const char *path, const char *why)
{
    struct views v;
    load_all(path, &v);
    ck_assert_msg(v.cl == NULL, "%s (%s): the cluster accepts it", path, why);
    ck_assert_msg(!v.lab_ok, "%s (%s): the lab accepts it", path, why);
    ck_assert_msg(!v.fe_ok, "%s (%s): frontend-dpdk accepts it", path, why);
    free_all(&v);
}

START_TEST(bundled_topologies)
{
    char dir[PATH_MAX];
    ck_assert_msg(test_src_path("topologies/default.ini", "/topologies", dir, sizeof(dir)),
                  "topologies/ not found above the test binary");
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    unsigned files = 0, workers = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0)
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        workers += check_agree(path);
        files++;
    }
    closedir(d);
    printf("bundled_topologies: %u files, %u workers, the three readers agree\n", files, workers);
    ck_assert_uint_ge(files, 4);
    ck_assert_uint_ge(workers, files);
}
END_TEST

/* A lab file: [lab], a frontend, a logger, the manager, one proxy, then
 * `workers` (sections of type worker, without the type line). */
static void write_lab(const char *path, const char *workers)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "[lab]\nname = agree\nmode = offline\nhosts = box\nmgmt_net = 198.18.0.0/15\n"
            "[frontend]\nhost = box\nlcores = 0-1\noutput = switch\n"
            "[logger-1]\ntype = logger\nhost = box\n[manager]\ntype = manager\nhost = box\n"
            "[proxy-1]\ntype = proxy\nhost = box\n%s",
            workers);
    fclose(f);
}

START_TEST(corners)
{
    static const char *const good[] = {
        /* defaults: 02:00:00:00:00:<k> by worker number */
        "[w1]\ntype = worker\nhost = box\ninterface = eth1\n"
        "[w2]\ntype = worker\nhost = box\ninterface = eth2\n",
        /* lb_procs with a MAC that wraps in the low three bytes */
        "[w]\ntype = worker\nhost = box\ninterface = eth1\nlb_procs = 3\n"
        "mac = 0a:0b:0c:ff:ff:fe\n",
        /* lb_procs without a MAC, after an explicit one */
        "[a]\ntype = worker\nhost = box\ninterface = eth1\nmac = 02:00:00:00:00:09\n"
        "[b]\ntype = worker\nhost = box\ninterface = eth2\nlb_procs = 2\n",
        /* every rate spelling, weights, dashes in a MAC */
        "[a]\ntype = worker\nhost = box\ninterface = eth1\nlink_rate = 1.5Gbps\nweight = 2\n"
        "mac = 02-00-00-00-01-01\n"
        "[b]\ntype = worker\nhost = box\ninterface = eth2\nlink_rate = 250m\nweight = 0.5\n"
        "[c]\ntype = worker\nhost = box\ninterface = eth3\nlink_rate = 10GBIT\n",
    };
    static const struct {
        const char *workers, *why;
    } bad[] = {
        {"[a]\ntype = worker\nhost = box\ninterface = eth1\nmac = 02:00:00:00:00:0g\n", "bad MAC"},
        {"[a]\ntype = worker\nhost = box\ninterface = eth1\nlink_rate = 10 G\n", "bad rate"},
        {"[a]\ntype = worker\nhost = box\ninterface = eth1\nlink_rate = 20T\n", "rate too high"},
        {"[a]\ntype = worker\nhost = box\ninterface = eth1\nlb_procs = 0\n", "lb_procs 0"},
        {"[a]\ntype = worker\nhost = box\ninterface = eth1\nweight = -1\n", "negative weight"},
        {"[a]\ntype = worker\nhost = box\ninterface = eth1\nmac = 02:00:00:00:00:02\n"
         "[b]\ntype = worker\nhost = box\ninterface = eth2\n",
         "duplicate MAC (b's default is a's)"},
    };
    char path[] = "/tmp/sl-topo-agree-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        write_lab(path, good[i]);
        ck_assert_uint_ge(check_agree(path), 2);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_lab(path, bad[i].workers);
        check_refused(path, bad[i].why);
    }
    remove(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("topo_agree");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bundled_topologies);
    tcase_add_test(tc, corners);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
