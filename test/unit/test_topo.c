/* sl_topo: topology files as the cluster reads them; every mistake is one
 * line naming file:line. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_topo.h"

static struct sl_topo *parse(const char *text, char *err, size_t n)
{
    err[0] = 0;
    return sl_topo_parse(text, strlen(text), "t.ini", err, n);
}

static const char *good = "# a cluster\n"
                          "[lab]\n"
                          "name = demo\n"
                          "mode = offline\n"
                          "hosts = mon1, mon2\n"
                          "base_port = 30000\n"
                          "\n"
                          "[frontend]\n"
                          "host = mon1\n"
                          "hash = sym5\n"
                          "output = switch\n"
                          "lcores = 0-1\n"
                          "\n"
                          "[logger-1]\n"
                          "type = logger\n"
                          "host = mon1\n"
                          "[manager]\n"
                          "type = manager\n"
                          "host = mon1\n"
                          "[proxy-1]\n"
                          "type = proxy\n"
                          "host = mon1\n"
                          "[proxy-2]\n"
                          "type = proxy\n"
                          "host = 10.1.2.3\n"
                          "port = 31000\n"
                          "[worker-1]\n"
                          "type = worker\n"
                          "host = mon2\n"
                          "interface = eth1\n"
                          "lb_procs = 3\n"
                          "mac = 02:00:00:00:01:fe\n"
                          "pin_cpus = 4, 5,6\n"
                          "[worker-2]\n"
                          "type = worker\n"
                          "host = mon2\n"
                          "proxy = proxy-2\n";

START_TEST(parses_a_cluster)
{
    char err[256];
    struct sl_topo *t = parse(good, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_uint_eq(t->n_nodes, 8);
    ck_assert_uint_eq(sl_topo_count(t, SL_TOPO_WORKER), 4);
    ck_assert_uint_eq(sl_topo_count(t, SL_TOPO_PROXY), 2);
    ck_assert_uint_eq(sl_topo_count(t, SL_TOPO_LOGGER), 1);
    ck_assert(t->frontend.present);
    ck_assert_str_eq(t->frontend.hash, "sym5");
    ck_assert(t->lab.present);
    ck_assert(!t->live);

    const struct sl_topo_node *w = sl_topo_find(t, "worker-1-2");
    ck_assert_ptr_nonnull(w);
    ck_assert_str_eq(w->section, "worker-1");
    ck_assert_str_eq(w->iface, "eth1");
    ck_assert_int_eq(w->cpu, 5);
    ck_assert_uint_eq(w->mac[4], 0x01);
    ck_assert_uint_eq(w->mac[5], 0xff);
    w = sl_topo_find(t, "worker-1-3");
    ck_assert_uint_eq(w->mac[4], 0x02); /* carry into the next byte */
    ck_assert_uint_eq(w->mac[5], 0x00);
    ck_assert_int_eq(w->cpu, 6);
    ck_assert_int_eq(w->proxy, -1);
    w = sl_topo_find(t, "worker-2");
    ck_assert_uint_eq(w->mac[5], 4); /* default: 02:00:00:00:00:<worker number> */
    ck_assert_int_eq(w->proxy, (int)(sl_topo_find(t, "proxy-2") - t->nodes));
    ck_assert_ptr_null(sl_topo_find(t, "worker-1"));

    char ep[64];
    const struct sl_topo_node *m = sl_topo_find(t, "manager");
    ck_assert_int_eq(sl_topo_endpoint(m, 1, ep, sizeof(ep)), 0);
    ck_assert_str_eq(ep, "tcp://127.0.0.1:30004"); /* second listener: base + 3 */
    ck_assert_int_eq(sl_topo_endpoint(sl_topo_find(t, "logger-1"), 0, ep, sizeof(ep)), 0);
    ck_assert_str_eq(ep, "tcp://127.0.0.1:30000");
    const struct sl_topo_node *p2 = sl_topo_find(t, "proxy-2");
    ck_assert_str_eq(p2->address, "10.1.2.3");
    ck_assert_int_eq(sl_topo_endpoint(p2, 0, ep, sizeof(ep)), 0);
    ck_assert_str_eq(ep, "tcp://10.1.2.3:31000");
    ck_assert_int_eq(sl_topo_endpoint(sl_topo_find(t, "worker-2"), 0, ep, sizeof(ep)), -EINVAL);
    ck_assert_ptr_eq(sl_topo_nth(t, SL_TOPO_PROXY, 1), p2);
    ck_assert_ptr_null(sl_topo_nth(t, SL_TOPO_PROXY, 2));
    sl_topo_free(t);
}
END_TEST

START_TEST(live_lab_addresses)
{
    char err[256];
    const char *txt = "[lab]\nmode = live\nhosts = a, b\nmgmt_net = 198.18.5.0/24\n"
                      "[manager]\ntype = manager\nhost = b\n"
                      "[proxy-1]\ntype = proxy\nhost = a\n"
                      "[w]\ntype = worker\nhost = a\n";
    struct sl_topo *t = parse(txt, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert(t->live);
    ck_assert_str_eq(sl_topo_find(t, "manager")->address, "198.18.5.2");
    ck_assert_str_eq(sl_topo_find(t, "proxy-1")->address, "198.18.5.1");
    char ep[64];
    ck_assert_int_eq(sl_topo_bind_endpoint(sl_topo_find(t, "manager"), 2, ep, sizeof(ep)), 0);
    ck_assert_str_eq(ep, "tcp://198.18.5.2:27762");
    sl_topo_free(t);
}
END_TEST

/* Each bad file fails with exactly this message. */
static void expect(const char *text, const char *msg)
{
    char err[256];
    struct sl_topo *t = parse(text, err, sizeof(err));
    ck_assert_msg(t == NULL, "accepted; expected %s", msg);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(err, msg);
}

#define MP "[manager]\ntype = manager\n[proxy]\ntype = proxy\n" /* lines 1-4 */

START_TEST(mistakes_name_file_and_line)
{
    expect(MP "[w]\ntype = worker\ncolour = blue\n",
           "t.ini:7: [w]: unknown key 'colour' for worker");
    expect(MP "[l]\ntype = logger\nmac = 02:00:00:00:00:01\n",
           "t.ini:7: [l]: unknown key 'mac' for logger");
    expect(MP "[w]\ntype = workr\n",
           "t.ini:6: [w]: unknown type 'workr' (logger, manager, proxy, worker)");
    expect(MP "[w]\nhost = x\n", "t.ini:5: [w]: no 'type' (logger, manager, proxy or worker)");
    expect(MP "[w]\ntype = worker\nmac = 02:00:00:00:00\n",
           "t.ini:7: [w]: bad MAC '02:00:00:00:00' (aa:bb:cc:dd:ee:ff)");
    expect(MP "[w]\ntype = worker\nmac = 03:00:00:00:00:01\n",
           "t.ini:7: [w]: MAC 03:00:00:00:00:01 is multicast: a worker needs a unicast MAC");
    expect(MP "[w]\ntype = worker\nmac = 02:00:00:00:00:02\n[v]\ntype = worker\n",
           "t.ini:8: v: MAC 02:00:00:00:00:02 is also w's (line 5)");
    expect(MP "[w]\ntype = worker\nlb_procs = 2\n[w-2]\ntype = worker\n",
           "t.ini:8: node name 'w-2' used twice (also line 5)");
    expect(MP "[w]\ntype = worker\nlb_procs = 0\n", "t.ini:7: [w]: lb_procs '0': 1..256");
    expect(MP "[w]\ntype = worker\nlb_procs = 3\npin_cpus = 1,2\n",
           "t.ini:8: [w]: pin_cpus lists 2 CPUs for 3 processes");
    expect(MP "[w]\ntype = worker\npin_cpus = 1,,2\n",
           "t.ini:7: [w]: pin_cpus '1,,2': a list of CPU numbers such as 2,3");
    expect(MP "[w]\ntype = worker\nproxy = manager\n",
           "t.ini:7: [w]: proxy 'manager' is not a proxy of this topology");
    expect(MP "[m2]\ntype = manager\n", "t.ini:5: more than one manager");
    expect("[proxy]\ntype = proxy\n", "t.ini:1: no manager (a section with type = manager)");
    expect("[manager]\ntype = manager\n[w]\ntype = worker\n",
           "t.ini:3: w: no proxy to attach to (add a section with type = proxy)");
    expect(MP "[l]\ntype = logger\nport = 70000\n", "t.ini:7: [l]: port '70000': 1..65533");
    expect("[manager]\ntype = manager\nport = 27761\n[proxy]\ntype = proxy\n",
           "t.ini:4: [proxy]: ports 27763..27765 overlap manager's 27761..27763");
    expect(MP "[lab]\nmode = online\n", "t.ini:6: [lab] mode 'online': offline or live");
    expect(MP "[lab]\nbase_port = 80\n", "t.ini:6: [lab] base_port '80': 1024..65000");
    expect(MP "[lab]\nwhatever = 1\n", "t.ini:6: [lab]: unknown key 'whatever' for [lab]");
    expect(MP "[frontend]\nhash = md5\n",
           "t.ini:6: [frontend] hash 'md5': sym5, sym3, sym2, inner-sym5, inner-sym3, "
           "inner-sym2 or toeplitz");
    expect(MP "[frontend]\noutput = both\n", "t.ini:6: [frontend] output 'both': switch or direct");
    expect(MP "[frontend]\ntype = worker\n",
           "t.ini:6: [frontend]: type 'worker': the [frontend] section is type frontend");
    expect(MP "[f]\ntype = frontend\n", "t.ini:6: [f]: the frontend's section is [frontend]");
    expect("[lab]\nmode = live\nhosts = a\n" MP "[w]\ntype = worker\nhost = b\n",
           "t.ini:8: [w]: host 'b' is not in [lab] hosts");
    expect("", "t.ini:1: no nodes");
    /* syntax errors come from sl_ini with the same form */
    char err[256];
    ck_assert_ptr_null(parse(MP "[w]\ntype = worker\ntype = proxy\n", err, sizeof(err)));
    ck_assert_msg(strncmp(err, "t.ini:7: ", 9) == 0, "%s", err);
    ck_assert_ptr_null(parse(MP "junk\n", err, sizeof(err)));
    ck_assert_msg(strncmp(err, "t.ini:5: ", 9) == 0, "%s", err);
}
END_TEST

START_TEST(loads_files)
{
    char err[256];
    ck_assert_ptr_null(sl_topo_load("/nonexistent/x.ini", err, sizeof(err)));
    ck_assert_msg(strstr(err, "/nonexistent/x.ini: ") == err, "%s", err);
    char path[] = "/tmp/sl-topo-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(good, f);
    fclose(f);
    struct sl_topo *t = sl_topo_load(path, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_str_eq(t->file, path);
    sl_topo_free(t);
    remove(path);
    uint8_t mac[6];
    ck_assert_int_eq(sl_topo_mac_parse("AA-bb-CC-dd-EE-ff", mac), 0);
    ck_assert_uint_eq(mac[0], 0xaa);
    ck_assert_int_eq(sl_topo_mac_parse("aa:bb-cc:dd:ee:ff", mac), -EINVAL);
    ck_assert_int_eq(sl_topo_mac_parse("aa:bb:cc:dd:ee:fg", mac), -EINVAL);
    ck_assert_int_eq(sl_topo_mac_parse("aa:bb:cc:dd:ee:ff:00", mac), -EINVAL);
}
END_TEST

/* Default and lb_procs MACs: the rule every reader applies (the cluster's
 * reader used to carry into the OUI where the lab and frontend-dpdk wrap). */
START_TEST(worker_macs)
{
    uint8_t m[6];
    sl_topo_default_mac(1, m);
    ck_assert_mem_eq(m, ((uint8_t[6]){0x02, 0, 0, 0, 0, 1}), 6);
    sl_topo_default_mac(258, m);
    ck_assert_mem_eq(m, ((uint8_t[6]){0x02, 0, 0, 0, 1, 2}), 6);
    const uint8_t a[6] = {0x02, 0, 0, 0, 0x01, 0xfe};
    sl_topo_mac_nth(a, 0, m);
    ck_assert_mem_eq(m, a, 6);
    sl_topo_mac_nth(a, 2, m);
    ck_assert_mem_eq(m, ((uint8_t[6]){0x02, 0, 0, 0, 0x02, 0x00}), 6);
    const uint8_t top[6] = {0x0a, 0x0b, 0x0c, 0xff, 0xff, 0xfe};
    sl_topo_mac_nth(top, 3, m);
    ck_assert_mem_eq(m, ((uint8_t[6]){0x0a, 0x0b, 0x0c, 0x00, 0x00, 0x01}), 6);
    memcpy(m, top, 6);
    sl_topo_mac_nth(m, 1, m); /* in place */
    ck_assert_mem_eq(m, ((uint8_t[6]){0x0a, 0x0b, 0x0c, 0xff, 0xff, 0xff}), 6);

    char err[256];
    const char *wrap = "[manager]\ntype = manager\n[proxy-1]\ntype = proxy\n"
                       "[w]\ntype = worker\nmac = 02:00:00:ff:ff:ff\nlb_procs = 2\n";
    struct sl_topo *t = parse(wrap, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_mem_eq(sl_topo_find(t, "w-2")->mac, ((uint8_t[6]){0x02, 0, 0, 0, 0, 0}), 6);
    sl_topo_free(t);
}
END_TEST

/* The one rate syntax of topology files and --link-rate. */
START_TEST(rates)
{
    static const struct {
        const char *s;
        int rc;
        uint64_t bps;
    } cases[] = {
        {"10G", 0, 10000000000ull},
        {"250M", 0, 250000000ull},
        {"1.5g", 0, 1500000000ull},
        {"100k", 0, 100000ull},
        {"64000", 0, 64000ull},
        {"10Gbps", 0, 10000000000ull},
        {"1GBIT", 0, 1000000000ull},
        {"2Tb", 0, 2000000000000ull},
        {".5M", 0, 500000ull},
        {"1e9", 0, 1000000000ull},
        {"10T", 0, 10000000000000ull},
        {"999", -ERANGE, 0},
        {"11T", -ERANGE, 0},
        {"0", -ERANGE, 0},
        {"", -EINVAL, 0},
        {"G", -EINVAL, 0},
        {"-1G", -EINVAL, 0},
        {"+1G", -EINVAL, 0},
        {" 1G", -EINVAL, 0},
        {"1G ", -EINVAL, 0},
        {"10Q", -EINVAL, 0},
        {"1Gb/s", -EINVAL, 0},
        {"1GG", -EINVAL, 0},
        {"0x10M", -EINVAL, 0},
        {"inf", -EINVAL, 0},
        {"nanG", -EINVAL, 0},
        {".G", -EINVAL, 0},
        {"1e400", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t bps = 7;
        int rc = sl_topo_rate_parse(cases[i].s, &bps);
        ck_assert_msg(rc == cases[i].rc, "'%s': %d, want %d", cases[i].s, rc, cases[i].rc);
        ck_assert_msg(bps == (rc == 0 ? cases[i].bps : 7), "'%s': %llu", cases[i].s,
                      (unsigned long long)bps);
    }
    ck_assert_int_eq(sl_topo_rate_parse(NULL, &(uint64_t){0}), -EINVAL);
}
END_TEST

/* The one weight syntax of every reader: a plain positive number up to 1e6. */
START_TEST(weights)
{
    static const struct {
        const char *s;
        int rc;
        double w;
    } cases[] = {
        {"1", 0, 1.0},       {"2.5", 0, 2.5},         {".5", 0, 0.5},         {"1e3", 0, 1000.0},
        {"1000000", 0, 1e6}, {"0.001", 0, 0.001},     {"", -EINVAL, 0},       {"0", -EINVAL, 0},
        {"0.0", -EINVAL, 0}, {"-1", -EINVAL, 0},      {"+1", -EINVAL, 0},     {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},  {"0x10", -EINVAL, 0},    {"inf", -EINVAL, 0},    {"nan", -EINVAL, 0},
        {"1e7", -EINVAL, 0}, {"1000001", -EINVAL, 0}, {"1e400", -EINVAL, 0},  {"1.5.2", -EINVAL, 0},
        {"2x", -EINVAL, 0},  {".", -EINVAL, 0},       {"1e-400", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double w = 7;
        int rc = sl_topo_weight_parse(cases[i].s, &w);
        ck_assert_msg(rc == cases[i].rc, "'%s': %d, want %d", cases[i].s, rc, cases[i].rc);
        ck_assert_msg(w == (rc == 0 ? cases[i].w : 7), "'%s': %g", cases[i].s, w);
    }
    ck_assert_int_eq(sl_topo_weight_parse(NULL, &(double){0}), -EINVAL);

    /* The cluster's reader checks the worker keys it does not use itself. */
    char err[256];
    const char *base = "[manager]\ntype = manager\n[proxy-1]\ntype = proxy\n"
                       "[w]\ntype = worker\n";
    static const char *const bad[] = {"weight = 0\n", "weight = -2\n", "link_rate = 10 G\n",
                                      "link_rate = 20T\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "%s%s", base, bad[i]);
        struct sl_topo *t = parse(text, err, sizeof(err));
        ck_assert_msg(t == NULL, "accepted %s", bad[i]);
        ck_assert_msg(strstr(err, "t.ini:7: [w]: ") == err, "%s", err);
    }
}
END_TEST

static Suite *topo_suite(void)
{
    Suite *s = suite_create("topo");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parses_a_cluster);
    tcase_add_test(tc, live_lab_addresses);
    tcase_add_test(tc, mistakes_name_file_and_line);
    tcase_add_test(tc, loads_files);
    tcase_add_test(tc, rates);
    tcase_add_test(tc, weights);
    tcase_add_test(tc, worker_macs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(topo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
