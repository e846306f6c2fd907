/* Unit tests for sl_known. Rules from Zeek 8.0's known-hosts.zeek and
 * known-services.zeek; record lines from Zeek's baselines
 * core.tunnels.teredo-known-services and
 * scripts.policy.protocols.conn.known-services-multi. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_known.h"
#include "sl_rdv.h"

static void v4(uint8_t a[16], unsigned x0, unsigned x1, unsigned x2, unsigned x3)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = (uint8_t)x0;
    a[13] = (uint8_t)x1;
    a[14] = (uint8_t)x2;
    a[15] = (uint8_t)x3;
}

/* 192.168/16 is local */
static bool is_local(void *ctx, const uint8_t a[16])
{
    (void)ctx;
    return a[10] == 0xff && a[12] == 192 && a[13] == 168;
}

/* A worker wired to an authority (standalone): logged lines collected. */
struct node {
    struct sl_known *k;
    struct sl_known_auth *auth;
    char lines[256][256];
    int n;
};

static void log_host(void *ctx, const struct sl_known_host *h)
{
    struct node *nd = ctx;
    if (!sl_known_auth_host(nd->auth, h))
        return;
    struct sl_log_val v[SL_KH_N_FIELDS];
    struct sl_known_recbuf b;
    sl_known_host_record(h, v, &b);
    ck_assert_int_lt(nd->n, 256);
    sl_log_format_line(&sl_known_hosts_schema, SL_LOG_TSV, v, nd->lines[nd->n++], 256);
}

static void log_service(void *ctx, const struct sl_known_service *s)
{
    struct node *nd = ctx;
    struct sl_known_service out;
    if (!sl_known_auth_service(nd->auth, s, &out))
        return;
    struct sl_log_val v[SL_KS_N_FIELDS];
    struct sl_known_recbuf b;
    sl_known_service_record(&out, v, &b);
    ck_assert_int_lt(nd->n, 256);
    sl_log_format_line(&sl_known_services_schema, SL_LOG_TSV, v, nd->lines[nd->n++], 256);
}

static void node_init(struct node *nd, struct sl_known_auth *auth)
{
    memset(nd, 0, sizeof(*nd));
    struct sl_known_cfg cfg;
    sl_known_cfg_default(&cfg);
    cfg.ctx = nd;
    cfg.is_local = is_local;
    cfg.host_found = log_host;
    cfg.service_found = log_service;
    nd->k = sl_known_new(&cfg);
    ck_assert_ptr_nonnull(nd->k);
    nd->auth = auth;
}

START_TEST(hosts_rules)
{
    struct sl_known_auth *auth = sl_known_auth_new(86400.0, 0);
    struct node nd;
    node_init(&nd, auth);
    uint8_t l1[16], l2[16], r1[16];
    v4(l1, 192, 168, 1, 10);
    v4(l2, 192, 168, 1, 20);
    v4(r1, 8, 8, 8, 8);
    enum { E = SL_KNOWN_TCP_ESTABLISHED, S = SL_KNOWN_TCP_SYN_SENT };

    /* handshake not complete: nothing */
    sl_known_established(nd.k, 1.0, l1, r1, S, E);
    ck_assert_int_eq(nd.n, 0);
    /* local orig, remote resp: only the local one */
    sl_known_established(nd.k, 2.0, l1, r1, E, E);
    ck_assert_int_eq(nd.n, 1);
    ck_assert_str_eq(nd.lines[0], "2.000000\t192.168.1.10");
    /* both local: the new one only */
    sl_known_established(nd.k, 3.0, l2, l1, E, E);
    ck_assert_int_eq(nd.n, 2);
    ck_assert_str_eq(nd.lines[1], "3.000000\t192.168.1.20");
    ck_assert_uint_eq(sl_known_counters(nd.k)->hosts_found, 2);
    /* a day later (create_expire) it is new again */
    sl_known_established(nd.k, 86401.9, l1, r1, E, E);
    ck_assert_int_eq(nd.n, 2);
    sl_known_established(nd.k, 86402.0, l1, r1, E, E);
    ck_assert_int_eq(nd.n, 3);
    sl_known_free(nd.k);
    sl_known_auth_free(auth);
}
END_TEST

static struct sl_known_conn conn(const uint8_t resp[16], uint16_t port, uint8_t proto, int state,
                                 const char *const *svc, unsigned n)
{
    struct sl_known_conn c = {.resp_p = port,
                              .proto = proto,
                              .resp_state = state,
                              .history = "ShADadFf",
                              .resp_size = 100,
                              .services = svc,
                              .n_services = n};
    memcpy(c.resp_h, resp, 16);
    return c;
}

START_TEST(services_rules)
{
    struct sl_known_auth *auth = sl_known_auth_new(86400.0, 0);
    struct node nd;
    node_init(&nd, auth);
    uint8_t srv[16], ext[16];
    v4(srv, 192, 168, 2, 230);
    v4(ext, 8, 8, 4, 4);
    const char *ssh[] = {"SSH"}, *ssl_ssh[] = {"SSL", "SSH"}, *dns[] = {"DNS"},
               *ftpd[] = {"ftp-data"}, *neg[] = {"-HTTP", "SSL"};
    bool done = false;

    struct sl_known_conn c = conn(srv, 443, 6, SL_KNOWN_TCP_ESTABLISHED, ssh, 1);
    sl_known_confirmed(nd.k, 10.0, &c, &done);
    ck_assert(done);
    c = conn(srv, 443, 6, SL_KNOWN_TCP_ESTABLISHED, ssl_ssh, 2);
    done = false;
    sl_known_confirmed(nd.k, 11.0, &c, &done);
    /* known-services-multi: one row per new name */
    ck_assert_int_eq(nd.n, 2);
    ck_assert_str_eq(nd.lines[0], "10.000000\t192.168.2.230\t443\ttcp\tSSH");
    ck_assert_str_eq(nd.lines[1], "11.000000\t192.168.2.230\t443\ttcp\tSSL");
    /* removal after done: nothing more */
    sl_known_removed(nd.k, 12.0, &c, &done);
    ck_assert_int_eq(nd.n, 2);

    /* not local responder */
    c = conn(ext, 53, 17, SL_KNOWN_UDP_ACTIVE, dns, 1);
    done = false;
    sl_known_removed(nd.k, 13.0, &c, &done);
    ck_assert(!done);
    /* DNS without an answer from the server */
    c = conn(srv, 53, 17, SL_KNOWN_UDP_ACTIVE, dns, 1);
    c.resp_size = 0;
    sl_known_removed(nd.k, 14.0, &c, &done);
    ck_assert(!done);
    /* UDP server silent */
    c = conn(srv, 53, 17, SL_KNOWN_UDP_INACTIVE, dns, 1);
    sl_known_removed(nd.k, 15.0, &c, &done);
    ck_assert(!done);
    /* ftp-data alone */
    c = conn(srv, 20, 6, SL_KNOWN_TCP_CLOSED, ftpd, 1);
    sl_known_removed(nd.k, 16.0, &c, &done);
    ck_assert(!done);
    /* ICMP never */
    c = conn(srv, 0, 1, 1, NULL, 0);
    sl_known_removed(nd.k, 16.5, &c, &done);
    ck_assert(!done);
    /* TCP: a SYN-ACK in history is enough */
    c = conn(srv, 8080, 6, SL_KNOWN_TCP_RESET, neg, 2);
    c.history = "ShR";
    sl_known_removed(nd.k, 17.0, &c, &done);
    ck_assert(done);
    ck_assert_int_eq(nd.n, 3);
    ck_assert_str_eq(nd.lines[2], "17.000000\t192.168.2.230\t8080\ttcp\tSSL"); /* "-HTTP" dropped */
    /* UDP DNS answered: teredo-known-services */
    c = conn(srv, 53, 17, SL_KNOWN_UDP_ACTIVE, dns, 1);
    done = false;
    sl_known_removed(nd.k, 18.0, &c, &done);
    ck_assert_int_eq(nd.n, 4);
    ck_assert_str_eq(nd.lines[3], "18.000000\t192.168.2.230\t53\tudp\tDNS");
    /* TCP not established, no 'h': nothing */
    c = conn(srv, 9999, 6, SL_KNOWN_TCP_SYN_ACK_SENT, ssh, 1);
    c.history = "S";
    done = false;
    sl_known_removed(nd.k, 19.0, &c, &done);
    ck_assert(!done);
    ck_assert_int_eq(nd.n, 4);
    sl_known_free(nd.k);
    sl_known_auth_free(auth);
}
END_TEST

START_TEST(no_service_deferred)
{
    struct sl_known_auth *auth = sl_known_auth_new(86400.0, 0);
    struct node nd;
    node_init(&nd, auth);
    uint8_t srv[16];
    v4(srv, 192, 168, 2, 16);
    bool done = false;
    struct sl_known_conn c = conn(srv, 1576, 6, SL_KNOWN_TCP_CLOSED, NULL, 0);
    sl_known_removed(nd.k, 100.0, &c, &done);
    ck_assert(done);
    ck_assert_int_eq(nd.n, 0);
    sl_known_advance(nd.k, 399.9);
    ck_assert_int_eq(nd.n, 0);
    sl_known_advance(nd.k, 400.0);
    ck_assert_int_eq(nd.n, 1);
    /* teredo-known-services: an empty service set */
    ck_assert_str_eq(nd.lines[0], "100.000000\t192.168.2.16\t1576\ttcp\t(empty)");
    /* the end of input commits what is still waiting */
    c = conn(srv, 1577, 6, SL_KNOWN_TCP_CLOSED, NULL, 0);
    done = false;
    sl_known_removed(nd.k, 500.0, &c, &done);
    sl_known_flush(nd.k);
    ck_assert_int_eq(nd.n, 2);
    ck_assert_str_eq(nd.lines[1], "500.000000\t192.168.2.16\t1577\ttcp\t(empty)");
    sl_known_free(nd.k);
    sl_known_auth_free(auth);
}
END_TEST

/* Several workers see the same host and service at the same instant; each
 * sends to the owner proxy chosen by rendezvous over the live proxies: one
 * log line each. Then a proxy dies. */
struct proxy_net {
    struct sl_rdv rdv;
    struct sl_known_auth *auth[3]; /* one authoritative set per proxy */
    int logged_hosts, logged_services;
    int sent_to[3];
};

static void route_host(void *ctx, const struct sl_known_host *h)
{
    struct proxy_net *pn = ctx;
    int p = sl_rdv_pick(&pn->rdv, sl_known_host_hash(h->host));
    ck_assert_int_ge(p, 0);
    pn->sent_to[p]++;
    if (sl_known_auth_host(pn->auth[p], h))
        pn->logged_hosts++;
}

static void route_service(void *ctx, const struct sl_known_service *s)
{
    struct proxy_net *pn = ctx;
    int p = sl_rdv_pick(&pn->rdv, sl_known_service_hash(s->host, s->port, s->proto));
    struct sl_known_service out;
    if (sl_known_auth_service(pn->auth[p], s, &out))
        pn->logged_services++;
}

START_TEST(cluster_once)
{
    struct proxy_net pn;
    memset(&pn, 0, sizeof(pn));
    ck_assert_int_eq(sl_rdv_init(&pn.rdv, 3), 0);
    for (int i = 0; i < 3; i++)
        pn.auth[i] = sl_known_auth_new(86400.0, 0);
    struct sl_known *w[4];
    struct sl_known_cfg cfg;
    sl_known_cfg_default(&cfg);
    cfg.ctx = &pn;
    cfg.is_local = is_local;
    cfg.host_found = route_host;
    cfg.service_found = route_service;
    for (int i = 0; i < 4; i++)
        w[i] = sl_known_new(&cfg);

    uint8_t h[16], r[16];
    v4(r, 1, 1, 1, 1);
    const char *http[] = {"HTTP"};
    for (unsigned host = 1; host <= 50; host++) {
        v4(h, 192, 168, 7, host);
        struct sl_known_conn c = conn(h, 80, 6, SL_KNOWN_TCP_ESTABLISHED, http, 1);
        for (int i = 0; i < 4; i++) {
            bool done = false;
            sl_known_established(w[i], 5.0, h, r, SL_KNOWN_TCP_ESTABLISHED,
                                 SL_KNOWN_TCP_ESTABLISHED);
            sl_known_confirmed(w[i], 5.0, &c, &done);
        }
    }
    ck_assert_int_eq(pn.logged_hosts, 50);
    ck_assert_int_eq(pn.logged_services, 50);
    /* all three proxies own some of the 50 hosts */
    for (int p = 0; p < 3; p++)
        ck_assert_int_gt(pn.sent_to[p], 0);

    /* proxy 1 dies. With the ring, every proxy holds every decided item;
     * model that by giving proxy 0 and 2 what proxy 1 decided. */
    for (unsigned host = 1; host <= 50; host++) {
        v4(h, 192, 168, 7, host);
        struct sl_known_host kh = {5.0, {0}};
        memcpy(kh.host, h, 16);
        for (int p = 0; p < 3; p++)
            (void)sl_known_auth_host(pn.auth[p], &kh);
    }
    sl_rdv_set_live(&pn.rdv, 1, false);
    for (int i = 0; i < 4; i++)
        sl_known_clear_cache(w[i]);
    for (unsigned host = 1; host <= 50; host++) {
        v4(h, 192, 168, 7, host);
        for (int i = 0; i < 4; i++)
            sl_known_established(w[i], 6.0, h, r, SL_KNOWN_TCP_ESTABLISHED,
                                 SL_KNOWN_TCP_ESTABLISHED);
    }
    ck_assert_int_eq(pn.logged_hosts, 50); /* nothing logged twice */
    /* ownership is a pure function of the key and the live set */
    ck_assert_uint_eq(sl_known_host_hash(h), sl_known_host_hash(h));
    ck_assert_uint_ne(sl_known_service_hash(h, 80, 6), sl_known_service_hash(h, 80, 17));
    for (int i = 0; i < 4; i++)
        sl_known_free(w[i]);
    for (int i = 0; i < 3; i++)
        sl_known_auth_free(pn.auth[i]);
}
END_TEST

START_TEST(auth_insert_and_learn)
{
    struct sl_known_auth *a = sl_known_auth_new(100.0, 0);
    struct sl_known_key k;
    memset(&k, 0, sizeof(k));
    k.kind = SL_KNOWN_K_SVC;
    v4(k.addr, 192, 168, 0, 1);
    k.port = 80;
    k.proto = 6;
    snprintf(k.svc, sizeof(k.svc), "HTTP");
    ck_assert_int_eq(sl_known_auth_insert(a, &k, 1.0), 1);
    ck_assert_int_eq(sl_known_auth_insert(a, &k, 2.0), 0);
    /* a name added later lives as long as its row (created at 1.0) */
    snprintf(k.svc, sizeof(k.svc), "SSL");
    ck_assert_int_eq(sl_known_auth_insert(a, &k, 50.0), 1);
    ck_assert(sl_known_auth_contains(a, &k, 100.9));
    ck_assert(!sl_known_auth_contains(a, &k, 101.0));
    ck_assert_int_eq(sl_known_auth_insert(a, &k, 101.0), 1);
    k.kind = 9;
    ck_assert_int_eq(sl_known_auth_insert(a, &k, 1.0), -EINVAL);
    sl_known_auth_free(a);

    /* a worker told about an item does not report it */
    struct node nd;
    struct sl_known_auth *auth = sl_known_auth_new(86400.0, 0);
    node_init(&nd, auth);
    struct sl_known_host kh = {1.0, {0}};
    v4(kh.host, 192, 168, 9, 9);
    sl_known_learn_host(nd.k, &kh);
    uint8_t r[16];
    v4(r, 9, 9, 9, 9);
    sl_known_established(nd.k, 2.0, kh.host, r, SL_KNOWN_TCP_ESTABLISHED, SL_KNOWN_TCP_ESTABLISHED);
    ck_assert_uint_eq(sl_known_counters(nd.k)->hosts_found, 0);
    struct sl_known_service ks;
    memset(&ks, 0, sizeof(ks));
    memcpy(ks.host, kh.host, 16);
    ks.port = 22;
    ks.proto = 6;
    ks.n_svc = 1;
    snprintf(ks.svc[0], sizeof(ks.svc[0]), "SSH");
    sl_known_learn_service(nd.k, &ks);
    const char *ssh[] = {"SSH"};
    struct sl_known_conn c = conn(kh.host, 22, 6, SL_KNOWN_TCP_ESTABLISHED, ssh, 1);
    bool done = false;
    sl_known_confirmed(nd.k, 3.0, &c, &done);
    ck_assert(done);
    ck_assert_uint_eq(sl_known_counters(nd.k)->services_found, 0);
    sl_known_free(nd.k);
    sl_known_auth_free(auth);
}
END_TEST

START_TEST(bounded_sets)
{
    struct sl_known_auth *auth = sl_known_auth_new(86400.0, 0);
    struct node nd;
    memset(&nd, 0, sizeof(nd));
    struct sl_known_cfg cfg;
    sl_known_cfg_default(&cfg);
    cfg.ctx = &nd;
    cfg.is_local = is_local;
    cfg.host_found = log_host;
    cfg.max_items = 10;
    nd.k = sl_known_new(&cfg);
    nd.auth = auth;
    uint8_t h[16], r[16];
    v4(r, 9, 9, 9, 9);
    for (unsigned i = 0; i < 200; i++) {
        v4(h, 192, 168, i / 250, i % 250);
        sl_known_established(nd.k, 1.0 + i, h, r, SL_KNOWN_TCP_ESTABLISHED,
                             SL_KNOWN_TCP_ESTABLISHED);
    }
    ck_assert_uint_eq(sl_known_counters(nd.k)->evicted, 190);
    ck_assert_int_eq(nd.n, 200); /* the authority still decides each once */
    ck_assert_uint_eq(sl_known_auth_size(auth), 200);
    sl_known_free(nd.k);
    sl_known_auth_free(auth);

    struct sl_known_auth *small = sl_known_auth_new(86400.0, 5);
    for (unsigned i = 0; i < 8; i++) {
        struct sl_known_host kh = {1.0, {0}};
        v4(kh.host, 10, 0, 0, i);
        ck_assert(sl_known_auth_host(small, &kh));
    }
    ck_assert_uint_eq(sl_known_auth_size(small), 5);
    ck_assert_uint_eq(sl_known_auth_evicted(small), 3);
    sl_known_auth_free(small);
    errno = 0;
    ck_assert_ptr_null(sl_known_auth_new(0, 0));
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("known");
    TCase *t = tcase_create("known");
    tcase_add_test(t, hosts_rules);
    tcase_add_test(t, services_rules);
    tcase_add_test(t, no_service_deferred);
    tcase_add_test(t, cluster_once);
    tcase_add_test(t, auth_insert_and_learn);
    tcase_add_test(t, bounded_sets);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
