/* lab_view (emulator/): the lab's subscription to the manager's view, fed
 * by a PUB socket standing in for the manager -- views applied by epoch,
 * stale and repeated ones, garbage of every kind counted, a publisher that
 * dies and comes back, a peer that is not ZeroMQ at all. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lab_view.h"
#include "sl_wire.h"

struct pub {
    void *ctx, *sock;
    char ep[128];
};

static void pub_open(struct pub *p, const char *ep)
{
    int linger = 0;
    p->ctx = zmq_ctx_new();
    p->sock = zmq_socket(p->ctx, ZMQ_PUB);
    ck_assert_ptr_nonnull(p->sock);
    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof(linger));
    ck_assert_int_eq(zmq_bind(p->sock, ep ? ep : "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof(p->ep);
    ck_assert_int_eq(zmq_getsockopt(p->sock, ZMQ_LAST_ENDPOINT, p->ep, &len), 0);
}

static void pub_close(struct pub *p)
{
    zmq_close(p->sock);
    zmq_ctx_term(p->ctx);
}

static void send_frame(struct pub *p, const void *data, size_t len, int flags)
{
    ck_assert_int_eq(zmq_send(p->sock, data, len, flags), (int)len);
}

static void send_view(struct pub *p, const char *manager, uint64_t epoch, const char *const *names,
                      uint32_t n)
{
    struct sl_wire_buf b = {0};
    struct sl_wire_control c = {
        .kind = SL_CTL_VIEW, .node = manager, .epoch = epoch, .n_names = n, .names = names};
    ck_assert_int_eq(sl_wire_enc_control(&b, &c), 0);
    send_frame(p, b.data, b.len, 0);
    sl_wire_buf_free(&b);
}

static const char *const abc[] = {"a", "b", "c"};
static const char *const ac[] = {"a", "c"};

/* Publishes view `epoch` until the subscriber applied it (a subscription
 * takes a moment to reach the publisher). */
static void converge(struct pub *p, struct lab_view *v, uint64_t epoch)
{
    for (int i = 0; i < 100; i++) {
        send_view(p, "mgr", epoch, abc, 3);
        lab_view_poll(v, 50);
        if (lab_view_have(v) && lab_view_epoch(v) == epoch)
            return;
    }
    ck_abort_msg("view %llu never arrived", (unsigned long long)epoch);
}

START_TEST(views_by_epoch)
{
    struct pub p;
    char err[256];
    pub_open(&p, NULL);
    struct lab_view *v = lab_view_open(p.ep, "mgr", NULL, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    ck_assert(!lab_view_have(v));
    ck_assert_int_eq(lab_view_live(v, "a"), -ENOENT);
    ck_assert(isinf(lab_view_age(v)));
    converge(&p, v, 0); /* the manager starts at epoch 0, everyone live */
    ck_assert_int_eq(lab_view_live(v, "b"), 1);
    ck_assert_int_eq(lab_view_live(v, "z"), 0);

    const struct lab_view_stats *s = lab_view_stats(v);
    send_view(&p, "mgr", 2, ac, 2); /* b went down */
    uint64_t views = s->views;
    for (int i = 0; i < 40 && s->views == views; i++)
        ck_assert_int_ge(lab_view_poll(v, 50), 0);
    ck_assert_uint_eq(lab_view_epoch(v), 2);
    ck_assert_int_eq(lab_view_live(v, "b"), 0);
    ck_assert_int_eq(lab_view_live(v, "c"), 1);

    uint64_t stale = s->stale, rep = s->repeats;
    send_view(&p, "mgr", 1, abc, 3); /* older: ignored */
    send_view(&p, "mgr", 2, ac, 2);  /* the periodic resend */
    for (int i = 0; i < 40 && s->repeats == rep; i++)
        lab_view_poll(v, 50);
    ck_assert_uint_eq(s->stale, stale + 1);
    ck_assert_uint_eq(s->repeats, rep + 1);
    ck_assert_int_eq(lab_view_live(v, "b"), 0);
    ck_assert(lab_view_age(v) < 5);

    send_view(&p, "mgr", 3, abc, 3); /* b is back */
    views = s->views;
    for (int i = 0; i < 40 && s->views == views; i++)
        lab_view_poll(v, 50);
    ck_assert_int_eq(lab_view_live(v, "b"), 1);
    ck_assert_uint_eq(s->garbage, 0);
    lab_view_close(v);
    pub_close(&p);
}
END_TEST

START_TEST(garbage_counted)
{
    struct pub p;
    char err[256];
    pub_open(&p, NULL);
    struct lab_view *v = lab_view_open(p.ep, "mgr", NULL, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    converge(&p, v, 0);
    const struct lab_view_stats *s = lab_view_stats(v);
    uint64_t g0 = s->garbage, o0 = s->other;

    unsigned char junk[64];
    srand(7);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)rand();
    send_frame(&p, junk, sizeof(junk), 0); /* random bytes */
    send_frame(&p, "\x01\x06", 2, 0);      /* header, no body */
    send_frame(&p, "", 0, 0);              /* empty */
    send_view(&p, "evil", 9, ac, 2);       /* another manager */
    send_frame(&p, "x", 1, ZMQ_SNDMORE);   /* three frames */
    send_frame(&p, "y", 1, ZMQ_SNDMORE);
    send_frame(&p, "z", 1, 0);
    /* a VIEW whose name sl_wire refuses, encoded by hand: [kind, node, epoch, [name]] */
    static const char bad_name[] = "\x01\x06\x94\x01\xa3mgr\x09\x91\xa3"
                                   "a b";
    send_frame(&p, bad_name, sizeof(bad_name) - 1, 0);
    struct sl_wire_buf b = {0};
    struct sl_wire_counter cnt = {"packets", 1};
    struct sl_wire_heartbeat hb = {.node = "w1",
                                   .role = SL_ROLE_WORKER,
                                   .seq = 1,
                                   .wall = 1.0,
                                   .n_counters = 1,
                                   .counters = &cnt};
    ck_assert_int_eq(sl_wire_enc_heartbeat(&b, &hb), 0);
    send_frame(&p, b.data, b.len, 0); /* well-formed, not a view */
    sl_wire_buf_reset(&b);
    struct sl_wire_control sd = {.kind = SL_CTL_SHUTDOWN, .node = "mgr"};
    ck_assert_int_eq(sl_wire_enc_control(&b, &sd), 0);
    send_frame(&p, b.data, b.len, 0);
    sl_wire_buf_free(&b);
    send_view(&p, "mgr", 4, ac, 2); /* and a good one after all that */

    uint64_t views = s->views;
    for (int i = 0; i < 40 && s->views == views; i++)
        ck_assert_int_ge(lab_view_poll(v, 50), 0);
    ck_assert_uint_eq(lab_view_epoch(v), 4);
    ck_assert_int_eq(lab_view_live(v, "b"), 0);
    ck_assert_uint_eq(s->other - o0, 2);
    ck_assert_uint_eq(s->garbage - g0, 6);
    ck_assert_int_eq(lab_view_live(v, "evil"), 0);
    lab_view_close(v);
    pub_close(&p);
}
END_TEST

START_TEST(publisher_dies_and_returns)
{
    struct pub p;
    char err[256], ep[128];
    pub_open(&p, NULL);
    snprintf(ep, sizeof(ep), "%s", p.ep);
    struct lab_view *v = lab_view_open(ep, "mgr", NULL, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    converge(&p, v, 0);
    pub_close(&p); /* the manager dies */
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(lab_view_poll(v, 50), 0);
    ck_assert(lab_view_age(v) >= 0.25);
    ck_assert_int_eq(lab_view_live(v, "a"), 1); /* the last word stands */
    ck_assert_uint_ge(lab_view_stats(v)->disconnects, 1);
    pub_open(&p, ep); /* ... and comes back on the same port */
    converge(&p, v, 7);
    ck_assert_uint_ge(lab_view_stats(v)->connects, 2);
    lab_view_close(v);
    pub_close(&p);
}
END_TEST

/* A frame over the size limit makes ZeroMQ drop the connection for good;
 * lab_view dials again and hears the next view. */
START_TEST(oversized_frame)
{
    struct pub p;
    char err[256];
    pub_open(&p, NULL);
    struct lab_view *v = lab_view_open(p.ep, "mgr", NULL, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    converge(&p, v, 1);
    size_t big = SL_WIRE_MAX_MSG + 8192;
    char *buf = calloc(1, big);
    ck_assert_ptr_nonnull(buf);
    send_frame(&p, buf, big, 0);
    free(buf);
    converge(&p, v, 2);
    const struct lab_view_stats *s = lab_view_stats(v);
    ck_assert_uint_ge(s->disconnects, 1);
    ck_assert_uint_ge(s->redials, 1);
    ck_assert_uint_ge(s->connects, 2);
    lab_view_close(v);
    pub_close(&p);
}
END_TEST

/* A plain TCP server on the port: it answers the greeting with garbage. */
START_TEST(not_zeromq_peer)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(ls, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 4), 0);
    socklen_t al = sizeof(a);
    getsockname(ls, (struct sockaddr *)&a, &al);
    char ep[64], err[256];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", ntohs(a.sin_port));
    struct lab_view *v = lab_view_open(ep, "mgr", NULL, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    const struct lab_view_stats *s = lab_view_stats(v);
    /* ZeroMQ gives up a peer that failed its handshake; lab_view dials again */
    for (int round = 0; round < 3; round++) {
        struct pollfd pf = {.fd = ls, .events = POLLIN};
        int ready = 0;
        for (int i = 0; i < 150 && ready <= 0; i++) {
            ck_assert_int_ge(lab_view_poll(v, 10), 0);
            ready = poll(&pf, 1, 10);
        }
        ck_assert_msg(ready > 0, "round %d: lab_view did not dial again", round);
        int c = accept(ls, NULL, NULL);
        ck_assert_int_ge(c, 0);
        /* a ZMTP 3 greeting naming a mechanism nobody speaks, then noise */
        static const char g[64] = "\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00"
                                  "BOGUS";
        ck_assert_int_eq(write(c, g, sizeof(g)), (int)sizeof(g));
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(lab_view_poll(v, 20), 0);
        close(c);
    }
    for (int i = 0; i < 10; i++)
        lab_view_poll(v, 20);
    ck_assert(!lab_view_have(v));
    ck_assert_uint_ge(s->bad_handshakes, 3);
    ck_assert_uint_eq(s->views, 0);
    lab_view_close(v);
    close(ls);
}
END_TEST

START_TEST(open_errors)
{
    char err[256] = "", before[64] = "", after[64] = "";
    ck_assert_ptr_null(lab_view_open("tcp://127.0.0.1:1", "bad name", NULL, err, sizeof(err)));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert(strstr(err, "not a node name"));
    ck_assert_ptr_null(lab_view_open("nonsense", "mgr", NULL, err, sizeof(err)));
    ck_assert(strstr(err, "nonsense"));
    /* a namespace that is not there: error, and the thread stays home */
    ck_assert_int_gt(readlink("/proc/thread-self/ns/net", before, sizeof(before) - 1), 0);
    ck_assert_ptr_null(
        lab_view_open("tcp://127.0.0.1:1", "mgr", "/nonexistent/netns/x", err, sizeof(err)));
    ck_assert(strstr(err, "/nonexistent/netns/x"));
    ck_assert_int_gt(readlink("/proc/thread-self/ns/net", after, sizeof(after) - 1), 0);
    ck_assert_str_eq(before, after);
    /* a file that is not a namespace */
    ck_assert_ptr_null(
        lab_view_open("tcp://127.0.0.1:1", "mgr", "/proc/self/stat", err, sizeof(err)));
    ck_assert_int_gt(readlink("/proc/thread-self/ns/net", after, sizeof(after) - 1), 0);
    ck_assert_str_eq(before, after);
    /* the caller's own namespace, named by path, works */
    struct lab_view *v =
        lab_view_open("tcp://127.0.0.1:1", "mgr", "/proc/self/ns/net", err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    lab_view_close(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lab_view");
    TCase *tc = tcase_create("view");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, views_by_epoch);
    tcase_add_test(tc, garbage_counted);
    tcase_add_test(tc, publisher_dies_and_returns);
    tcase_add_test(tc, oversized_frame);
    tcase_add_test(tc, not_zeromq_peer);
    tcase_add_test(tc, open_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
