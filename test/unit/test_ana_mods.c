/* Integration tests for sl_ana_mods: real traces through sl_ana with the
 * DNS, known, scan, notice and stats modules attached.
 *  - dns.log against Zeek 8.0.10's own baselines for the traces that have
 *    one (../shared/zeek-conformance; skipped with a message when absent);
 *  - the project's pcaps/: every one runs clean (ASan build), scan.pcap
 *    yields its address scan once, notices are never repeated within the
 *    suppression hour, known hosts/services are logged once each, stats.log
 *    starts with the first packet. */
#include <check.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_ana.h"
#include "sl_ana_mods.h"
#include "sl_dns.h"
#include "sl_known.h"
#include "sl_notice.h"
#include "sl_stats.h"
#include "srcdir.h"

#define MAXL 20000

struct out {
    char *line[MAXL];
    const char *path[MAXL];
    int n;
};

static int wr(void *ctx, const struct sl_log_schema *s, const struct sl_log_val *v)
{
    struct out *o = ctx;
    char buf[16384];
    ck_assert_int_ge(sl_log_format_line(s, SL_LOG_TSV, v, buf, sizeof(buf)), 0);
    if (o->n < MAXL) {
        o->line[o->n] = strdup(buf);
        o->path[o->n++] = s->path;
    }
    return 0;
}

static void out_free(struct out *o)
{
    for (int i = 0; i < o->n; i++)
        free(o->line[i]);
    o->n = 0;
}

/* The source tree (it holds core/sl_ana_mods.h). */
static bool source_root(char *buf, size_t n)
{
    return test_src_path("core/sl_ana_mods.h", "", buf, n);
}

static bool run(const char *pcap, bool ignore_checksums, struct out *o)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(pcap, err);
    if (!p)
        return false;
    struct sl_net *net = sl_net_new(true);
    struct sl_ana_cfg cfg = {
        .ignore_checksums = ignore_checksums, .local = net, .seeded = true, .seed = 7};
    struct sl_ana_output out = {o, wr};
    struct sl_ana *a = sl_ana_new(&cfg, &out);
    ck_assert_ptr_nonnull(a);
    void *st = NULL;
    ck_assert_int_eq(sl_ana_mods_attach(a, &st), 0);
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pcap_next_ex(p, &h, &d) == 1)
        sl_ana_packet(a, (double)h->ts.tv_sec + h->ts.tv_usec / 1e6, d, h->caplen, h->len,
                      pcap_datalink(p));
    sl_ana_finish(a);
    sl_ana_mods_detach(st);
    sl_ana_free(a);
    sl_net_free(net);
    pcap_close(p);
    return true;
}

/* The columns after ts and uid. */
static const char *tail2(const char *l)
{
    const char *t = strchr(l, '\t');
    t = t ? strchr(t + 1, '\t') : NULL;
    return t ? t + 1 : "";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(dns_baselines)
{
    char root[PATH_MAX];
    ck_assert(source_root(root, sizeof(root)));
    static const char *const tests[][2] = {
        {"core.tunnels.gre-over-udp", "tunnels__gre-over-udp-4754.pcap"},
        {"core.tunnels.gre-pptp", "tunnels__gre-pptp.pcap"},
        {"core.tunnels.gre", "tunnels__gre-sample.pcap"},
    };
    char path[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/../shared/zeek-conformance", root);
    if (access(path, R_OK) != 0) {
        printf("dns_baselines: skipped, %s is absent\n", path);
        return;
    }
    for (size_t t = 0; t < sizeof(tests) / sizeof(tests[0]); t++) {
        static struct out o;
        snprintf(path, sizeof(path), "%s/../shared/zeek-conformance/traces/%s", root, tests[t][1]);
        ck_assert_msg(run(path, false, &o), "cannot read %s", path);
        char *got[64], *want[64];
        int ng = 0, nw = 0;
        for (int i = 0; i < o.n && ng < 64; i++)
            if (strcmp(o.path[i], "dns") == 0)
                got[ng++] = strdup(tail2(o.line[i]));
        snprintf(path, sizeof(path), "%s/../shared/zeek-conformance/baseline/%s/dns.log", root,
                 tests[t][0]);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        char line[4096];
        while (fgets(line, sizeof(line), f) && nw < 64) {
            if (line[0] == '#')
                continue;
            line[strcspn(line, "\n")] = 0;
            want[nw++] = strdup(tail2(line));
        }
        fclose(f);
        ck_assert_int_eq(ng, nw);
        qsort(got, (size_t)ng, sizeof(*got), cmp_str);
        qsort(want, (size_t)nw, sizeof(*want), cmp_str);
        for (int i = 0; i < ng; i++) {
            ck_assert_str_eq(got[i], want[i]);
            free(got[i]);
            free(want[i]);
        }
        out_free(&o);
    }
}
END_TEST

/* Field k (0-based) of a TSV line into buf. */
static const char *field(const char *l, int k, char *buf, size_t n)
{
    for (int i = 0; i < k && l; i++) {
        l = strchr(l, '\t');
        if (l)
            l++;
    }
    if (!l)
        return "";
    size_t len = strcspn(l, "\t");
    snprintf(buf, n, "%.*s", (int)(len < n ? len : n - 1), l);
    return buf;
}

static void check_project_pcap(const char *root, const char *name, struct out *o)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/pcaps/%s", root, name);
    if (access(path, R_OK) != 0) {
        printf("%s: skipped, absent\n", path);
        return;
    }
    ck_assert(run(path, false, o));
    char a[256], b[256], c[256], d[256];
    int stats = 0;
    static int idx[MAXL];
    int m = 0;
    for (int i = 0; i < o->n; i++) {
        if (strcmp(o->path[i], "stats") == 0 && stats++ == 0)
            /* the first record is at the first packet and counts it */
            ck_assert_str_eq(field(o->line[i], SL_ST_PKTS_PROC, a, sizeof(a)), "1");
        if (strncmp(o->path[i], "known", 5) == 0 || strcmp(o->path[i], "notice") == 0)
            idx[m++] = i;
    }
    /* every known host/service once; notices not repeated in the hour */
    for (int x = 0; x < m; x++) {
        int i = idx[x];
        for (int y = x + 1; y < m; y++) {
            int j = idx[y];
            if (o->path[j] != o->path[i])
                continue;
            if (strcmp(o->path[i], "known_hosts") == 0)
                ck_assert_str_ne(field(o->line[i], 1, a, sizeof(a)),
                                 field(o->line[j], 1, b, sizeof(b)));
            if (strcmp(o->path[i], "known_services") == 0)
                ck_assert_msg(strcmp(strchr(o->line[i], '\t'), strchr(o->line[j], '\t')) != 0,
                              "%s twice", o->line[i]);
            /* (notices with an identifier: the scan ones here) */
            if (strcmp(o->path[i], "notice") == 0 &&
                strncmp(field(o->line[i], SL_NOTICE_NOTE, a, sizeof(a)), "Scan::", 6) == 0 &&
                strcmp(field(o->line[i], SL_NOTICE_NOTE, a, sizeof(a)),
                       field(o->line[j], SL_NOTICE_NOTE, b, sizeof(b))) == 0 &&
                strcmp(field(o->line[i], SL_NOTICE_SRC, c, sizeof(c)),
                       field(o->line[j], SL_NOTICE_SRC, d, sizeof(d))) == 0)
                ck_assert_double_ge(atof(o->line[j]) - atof(o->line[i]), 3600.0);
        }
    }
    ck_assert_int_ge(stats, 1);
}

START_TEST(project_pcaps)
{
    char root[PATH_MAX];
    ck_assert(source_root(root, sizeof(root)));
    static const char *const names[] = {
        "dns.pcap",  "elephants.pcap", "fragments.pcap", "malformed.pcap", "mix.pcap",
        "scan.pcap", "synflood.pcap",  "tunnels.pcap",   "vlan.pcap",      "web.pcap"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        static struct out o;
        check_project_pcap(root, names[i], &o);
        if (strcmp(names[i], "scan.pcap") == 0 && o.n) {
            /* the synthesizer's first scanner sweeps 10.1.0.0/24 on 1433 */
            int found = 0;
            char a[512];
            for (int k = 0; k < o.n; k++)
                if (strcmp(o.path[k], "notice") == 0 &&
                    strncmp(field(o.line[k], SL_NOTICE_MSG, a, sizeof(a)),
                            "198.18.109.129 scanned at least 25 unique hosts on port 1433/tcp in ",
                            68) == 0)
                    found++;
            ck_assert_int_eq(found, 1);
        }
        if (strcmp(names[i], "dns.pcap") == 0 && o.n) {
            int dns = 0, ks = 0;
            for (int k = 0; k < o.n; k++) {
                dns += strcmp(o.path[k], "dns") == 0;
                ks += strcmp(o.path[k], "known_services") == 0;
            }
            ck_assert_int_gt(dns, 100);
            ck_assert_int_gt(ks, 0);
        }
        out_free(&o);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ana_mods");
    TCase *t = tcase_create("ana_mods");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, dns_baselines);
    tcase_add_test(t, project_pcaps);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
