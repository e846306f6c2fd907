/* Unit tests for connection tracking (sl_conn through sl_ana) on hand-built
 * packet sequences. Expected conn_state/history/bytes follow Zeek's rules
 * (TCPSessionAdapter.cc, TCP_Endpoint.cc, conn/main.zeek), worked out by
 * hand for each sequence in the comments. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_ana.h"
#include "sl_conn.h"
#include "sl_net.h"
#include "sl_pkt.h"

/* ---- frame builder ---- */

#define F_FIN SL_TCP_FIN
#define F_SYN SL_TCP_SYN
#define F_RST SL_TCP_RST
#define F_PSH SL_TCP_PSH
#define F_ACK SL_TCP_ACK

static uint32_t sum16(uint32_t s, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        s += (uint32_t)(b[n - 1] << 8);
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

struct ep {
    const char *ip;
    uint16_t port;
};

/* Ethernet + IPv4 + L4 (proto 6/17/1), `plen` payload bytes of 'x'. */
static size_t build(uint8_t *f, struct ep s, struct ep d, uint8_t proto, uint8_t flags,
                    uint32_t seq, uint32_t ack, uint16_t win, size_t plen, bool bad_sum)
{
    memset(f, 0, 1600);
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    uint8_t *ip = f + 14;
    size_t l4len = (proto == 6 ? 20 : 8) + plen;
    size_t tot = 20 + l4len;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8);
    ip[3] = (uint8_t)tot;
    ip[8] = 64;
    ip[9] = proto;
    inet_pton(AF_INET, s.ip, ip + 12);
    inet_pton(AF_INET, d.ip, ip + 16);
    uint16_t ck = fold(sum16(0, ip, 20));
    ip[10] = (uint8_t)(ck >> 8);
    ip[11] = (uint8_t)ck;

    uint8_t *l4 = ip + 20;
    size_t hl = proto == 6 ? 20 : 8;
    memset(l4 + hl, 'x', plen);
    if (proto == 1) {
        l4[0] = (uint8_t)(s.port); /* type */
        l4[1] = (uint8_t)(d.port); /* code */
        l4[4] = 0x12;
        l4[6] = (uint8_t)(seq >> 8);
        l4[7] = (uint8_t)seq;
        ck = fold(sum16(0, l4, l4len));
        l4[2] = (uint8_t)(ck >> 8);
        l4[3] = (uint8_t)ck;
        return 14 + tot;
    }
    l4[0] = (uint8_t)(s.port >> 8);
    l4[1] = (uint8_t)s.port;
    l4[2] = (uint8_t)(d.port >> 8);
    l4[3] = (uint8_t)d.port;
    int ckoff;
    if (proto == 6) {
        l4[4] = (uint8_t)(seq >> 24);
        l4[5] = (uint8_t)(seq >> 16);
        l4[6] = (uint8_t)(seq >> 8);
        l4[7] = (uint8_t)seq;
        l4[8] = (uint8_t)(ack >> 24);
        l4[9] = (uint8_t)(ack >> 16);
        l4[10] = (uint8_t)(ack >> 8);
        l4[11] = (uint8_t)ack;
        l4[12] = 5 << 4;
        l4[13] = flags;
        l4[14] = (uint8_t)(win >> 8);
        l4[15] = (uint8_t)win;
        ckoff = 16;
    } else {
        l4[4] = (uint8_t)(l4len >> 8);
        l4[5] = (uint8_t)l4len;
        ckoff = 6;
    }
    uint8_t ph[4] = {0, proto, (uint8_t)(l4len >> 8), (uint8_t)l4len};
    uint32_t sm = sum16(0, ip + 12, 8);
    sm = sum16(sm, ph, 4);
    ck = fold(sum16(sm, l4, l4len));
    if (bad_sum)
        ck ^= 0x5555;
    l4[ckoff] = (uint8_t)(ck >> 8);
    l4[ckoff + 1] = (uint8_t)ck;
    return 14 + tot;
}

/* ---- capture of the analyzer's records ---- */

struct crow {
    char service[32];
    char orig_h[48], state[8], history[64], orig_bytes[24], resp_bytes[24], missed[24],
        orig_pkts[24], resp_pkts[24], proto[24], orig_p[8], resp_p[8], duration[32], parents[64];
};

static struct crow rows[64];
static int nrows;
static char weirds[64][64];
static int nweirds;

static void cp(char *dst, size_t n, const struct sl_log_val *v)
{
    snprintf(dst, n, "%s", v->present ? (v->s ? v->s : "(set)") : "-");
}

static int capture(void *ctx, const struct sl_log_schema *schema, const struct sl_log_val *v)
{
    (void)ctx;
    if (strcmp(schema->path, "conn") == 0 && nrows < 64) {
        struct crow *r = &rows[nrows++];
        cp(r->orig_h, sizeof(r->orig_h), &v[2]);
        cp(r->orig_p, sizeof(r->orig_p), &v[3]);
        cp(r->resp_p, sizeof(r->resp_p), &v[5]);
        cp(r->proto, sizeof(r->proto), &v[6]);
        cp(r->service, sizeof(r->service), &v[7]);
        cp(r->duration, sizeof(r->duration), &v[8]);
        cp(r->orig_bytes, sizeof(r->orig_bytes), &v[9]);
        cp(r->resp_bytes, sizeof(r->resp_bytes), &v[10]);
        cp(r->state, sizeof(r->state), &v[11]);
        cp(r->missed, sizeof(r->missed), &v[14]);
        cp(r->history, sizeof(r->history), &v[15]);
        cp(r->orig_pkts, sizeof(r->orig_pkts), &v[16]);
        cp(r->resp_pkts, sizeof(r->resp_pkts), &v[18]);
        snprintf(r->parents, sizeof(r->parents), "%u", v[20].present ? v[20].n_items : 0);
    } else if (strcmp(schema->path, "weird") == 0 && nweirds < 64) {
        snprintf(weirds[nweirds++], 64, "%s", v[6].s);
    }
    return 0;
}

static int events[16];

static void on_event(void *ctx, struct sl_ana *a, struct sl_conn *c, enum sl_conn_event ev)
{
    (void)ctx;
    (void)a;
    (void)c;
    events[ev]++;
}

static char stream[256];
static size_t stream_len;

static void on_conn_new_want(void *ctx, struct sl_ana *a, struct sl_conn *c)
{
    (void)ctx;
    (void)a;
    c->want |= SL_CONN_WANT_STREAM;
}

static void on_data(void *ctx, struct sl_ana *a, struct sl_conn *c, bool is_orig, const uint8_t *d,
                    uint32_t n)
{
    (void)ctx;
    (void)a;
    (void)c;
    if (is_orig && stream_len + n < sizeof(stream)) {
        memcpy(stream + stream_len, d, n);
        stream_len += n;
    }
}

static struct sl_ana *ana;
static struct sl_net *net;
static double now;
static uint8_t fb[1600];

static void setup_max(uint64_t max_conns)
{
    nrows = nweirds = 0;
    now = 1000.0;
    net = sl_net_new(true);
    struct sl_ana_cfg cfg = {.local = net, .seeded = true, .seed = 1, .max_conns = max_conns};
    struct sl_ana_output out = {.write = capture};
    ana = sl_ana_new(&cfg, &out);
    ck_assert_ptr_nonnull(ana);
    memset(events, 0, sizeof(events));
    stream_len = 0;
    struct sl_ana_plugin pl = {.name = "events",
                               .conn_event = on_event,
                               .conn_new = on_conn_new_want,
                               .tcp_data = on_data};
    ck_assert_int_eq(sl_ana_add_plugin(ana, &pl), 0);
}

static void setup(void)
{
    setup_max(0);
}

static void teardown(void)
{
    sl_ana_free(ana);
    sl_net_free(net);
}

static void finish(void)
{
    sl_ana_finish(ana);
}

static const struct ep C = {"10.0.0.1", 40000}, S = {"10.0.0.2", 80};

/* Client -> server (dir 0) or server -> client (dir 1) TCP segment, 0.1 s apart. */
static void tcp(int dir, uint8_t flags, uint32_t seq, uint32_t ack, size_t plen)
{
    size_t n = dir == 0 ? build(fb, C, S, 6, flags, seq, ack, 1000, plen, false)
                        : build(fb, S, C, 6, flags, seq, ack, 1000, plen, false);
    now += 0.1;
    sl_ana_packet(ana, now, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
}

static void tcp_w(int dir, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win)
{
    size_t n = dir == 0 ? build(fb, C, S, 6, flags, seq, ack, win, 0, false)
                        : build(fb, S, C, 6, flags, seq, ack, win, 0, false);
    now += 0.1;
    sl_ana_packet(ana, now, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
}

/* A segment carrying `text` between two given endpoints. */
static void tcp_text(struct ep s, struct ep d, uint8_t flags, uint32_t seq, uint32_t ack,
                     const char *text)
{
    size_t len = strlen(text);
    size_t n = build(fb, s, d, 6, flags, seq, ack, 1000, len, false);
    memcpy(fb + 14 + 20 + 20, text, len);
    /* Redo the TCP checksum over the real payload. */
    uint8_t *ip = fb + 14, *l4 = ip + 20;
    l4[16] = l4[17] = 0;
    size_t l4len = 20 + len;
    uint8_t ph[4] = {0, 6, (uint8_t)(l4len >> 8), (uint8_t)l4len};
    uint16_t ck = fold(sum16(sum16(sum16(0, ip + 12, 8), ph, 4), l4, l4len));
    l4[16] = (uint8_t)(ck >> 8);
    l4[17] = (uint8_t)ck;
    now += 0.1;
    sl_ana_packet(ana, now, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
}

/* Client ISN 1000, server ISN 5000. */
static void handshake(void)
{
    tcp(0, F_SYN, 1000, 0, 0);
    tcp(1, F_SYN | F_ACK, 5000, 1001, 0);
    tcp(0, F_ACK, 1001, 5001, 0);
}

static const struct crow *only_row(void)
{
    ck_assert_int_eq(nrows, 1);
    return &rows[0];
}

static bool saw_weird(const char *name)
{
    for (int i = 0; i < nweirds; i++)
        if (strcmp(weirds[i], name) == 0)
            return true;
    return false;
}

/* ---- TCP ---- */

START_TEST(handshake_data_fin)
{
    /* S h A, client data (D), server data (d), FINs both ways: SF. */
    handshake();
    tcp(0, F_ACK | F_PSH, 1001, 5001, 10);
    tcp(1, F_ACK | F_PSH, 5001, 1011, 20);
    tcp(0, F_ACK, 1011, 5021, 0);
    tcp(0, F_FIN | F_ACK, 1011, 5021, 0);
    tcp(1, F_FIN | F_ACK, 5021, 1012, 0);
    tcp(0, F_ACK, 1012, 5022, 0);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->state, "SF");
    ck_assert_str_eq(r->history, "ShADdFf");
    ck_assert_int_eq(events[SL_CONN_EV_FINISHED], 1);
    ck_assert_int_eq(events[SL_CONN_EV_PENDING], 0);
    ck_assert_str_eq(r->orig_bytes, "10");
    ck_assert_str_eq(r->resp_bytes, "20");
    ck_assert_str_eq(r->orig_pkts, "6");
    ck_assert_str_eq(r->resp_pkts, "3");
    ck_assert_str_eq(r->missed, "0");
    /* Once both sides closed, later packets no longer extend the
     * connection: the last ACK (at +0.9 s) is not part of the duration. */
    ck_assert_str_eq(r->duration, "0.700000");
    ck_assert_str_eq(r->proto, "tcp");
}
END_TEST

START_TEST(simultaneous_open)
{
    /* Both send a bare SYN. Zeek's IsReuse() takes a SYN whose sequence
     * number differs from the originator's ISN as a new connection
     * (weird SYN_seq_jump), whichever side sends it: the first attempt is
     * logged at once, the server's SYN opens a connection of its own. */
    tcp(0, F_SYN, 1000, 0, 0);
    tcp(1, F_SYN, 5000, 0, 0);
    ck_assert_int_eq(nrows, 1);
    ck_assert_str_eq(rows[0].state, "S0");
    ck_assert_str_eq(rows[0].history, "S");
    ck_assert(saw_weird("SYN_seq_jump"));
    tcp(0, F_ACK, 1001, 5001, 0);
    tcp(1, F_ACK, 5001, 1001, 0);
    finish();
    ck_assert_int_eq(nrows, 2);
    const struct crow *r = &rows[1];
    ck_assert_str_eq(r->orig_h, "10.0.0.2");
    /* The client's bare ACK of the SYN does not make it partial (Zeek's
     * "eccentric TCP" rule), so the attempt stays S0. */
    ck_assert_str_eq(r->history, "SaA");
    ck_assert_str_eq(r->state, "S0");
}
END_TEST

START_TEST(attempt_s0)
{
    tcp(0, F_SYN, 1000, 0, 0);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->state, "S0");
    ck_assert_str_eq(r->history, "S");
    ck_assert_str_eq(r->duration, "-"); /* one packet: no duration, no bytes */
    ck_assert_str_eq(r->orig_bytes, "-");
    /* The attempt timer fires at the end of input (Zeek's timer Expire). */
    ck_assert_int_eq(events[SL_CONN_EV_ATTEMPT], 1);
}
END_TEST

START_TEST(half_open_syn_ack)
{
    /* SYN answered by a SYN-ACK, never acknowledged: S1 "Sh". */
    tcp(0, F_SYN, 1000, 0, 0);
    tcp(1, F_SYN | F_ACK, 5000, 1001, 0);
    finish();
    ck_assert_str_eq(only_row()->state, "S1");
    ck_assert_str_eq(only_row()->history, "Sh");
}
END_TEST

START_TEST(midstream_oth)
{
    /* No SYN seen: partial on both sides, OTH; bytes from sequence numbers. */
    tcp(0, F_ACK | F_PSH, 7000, 9000, 100);
    tcp(1, F_ACK, 9000, 7100, 0);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->state, "OTH");
    ck_assert_str_eq(r->history, "Da");
    ck_assert_str_eq(r->orig_bytes, "100");
    ck_assert_str_eq(r->resp_bytes, "0");
}
END_TEST

START_TEST(rej)
{
    tcp(0, F_SYN, 1000, 0, 0);
    tcp(1, F_RST | F_ACK, 0, 1001, 0);
    finish();
    ck_assert_str_eq(only_row()->state, "REJ");
    ck_assert_str_eq(only_row()->history, "Sr");
    ck_assert_int_eq(events[SL_CONN_EV_REJECTED], 1);
}
END_TEST

START_TEST(rsto)
{
    handshake();
    tcp(0, F_ACK | F_PSH, 1001, 5001, 10);
    tcp(0, F_RST | F_ACK, 1011, 5001, 0);
    finish();
    ck_assert_str_eq(only_row()->state, "RSTO");
    ck_assert_str_eq(only_row()->history, "ShADR");
    ck_assert_str_eq(only_row()->orig_bytes, "10");
}
END_TEST

START_TEST(rstr)
{
    handshake();
    tcp(1, F_RST | F_ACK, 5001, 1001, 0);
    finish();
    ck_assert_str_eq(only_row()->state, "RSTR");
    ck_assert_str_eq(only_row()->history, "ShAr");
}
END_TEST

START_TEST(rstos0)
{
    tcp(0, F_SYN, 1000, 0, 0);
    tcp(0, F_RST, 1001, 0, 0);
    finish();
    ck_assert_str_eq(only_row()->state, "RSTOS0");
    ck_assert_str_eq(only_row()->history, "SR");
}
END_TEST

START_TEST(rstrh_flipped)
{
    /* First packet a SYN-ACK from port 80: the connection is flipped at
     * creation (a likely server port), then the server resets. */
    tcp(1, F_SYN | F_ACK, 5000, 1001, 0);
    tcp(1, F_RST, 5001, 0, 0);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->state, "RSTRH");
    ck_assert_str_eq(r->history, "^hr");
    ck_assert_str_eq(r->orig_h, "10.0.0.1"); /* the client is the originator */
    ck_assert_str_eq(r->resp_p, "80");
}
END_TEST

START_TEST(sh_and_shr)
{
    /* SYN then FIN with no answer: SH. */
    tcp(0, F_SYN, 1000, 0, 0);
    tcp(0, F_FIN, 1001, 0, 0);
    finish();
    ck_assert_str_eq(only_row()->state, "SH");
    ck_assert_str_eq(only_row()->history, "SF");
    ck_assert(saw_weird("inappropriate_FIN"));
}
END_TEST

START_TEST(shr)
{
    tcp(1, F_SYN | F_ACK, 5000, 1001, 0);
    tcp(1, F_FIN | F_ACK, 5001, 1001, 0);
    finish();
    ck_assert_str_eq(only_row()->state, "SHR");
    ck_assert_str_eq(only_row()->history, "^hf");
}
END_TEST

START_TEST(retransmission)
{
    handshake();
    tcp(0, F_ACK | F_PSH, 1001, 5001, 10);
    tcp(0, F_ACK | F_PSH, 1001, 5001, 10); /* same bytes again */
    finish();
    ck_assert_str_eq(only_row()->history, "ShADT");
    ck_assert_str_eq(only_row()->orig_bytes, "10");
}
END_TEST

START_TEST(retransmission_log_scale)
{
    /* The letter repeats at 1, 10, 100 occurrences. */
    handshake();
    tcp(0, F_ACK | F_PSH, 1001, 5001, 10);
    for (int i = 0; i < 10; i++)
        tcp(0, F_ACK | F_PSH, 1001, 5001, 10);
    finish();
    ck_assert_str_eq(only_row()->history, "ShADTT");
}
END_TEST

START_TEST(content_gap)
{
    /* Client sends bytes 1-10, then 21-30 (10 missing); the server acks
     * 31: the reassembler reports a 10-byte gap. */
    handshake();
    tcp(0, F_ACK | F_PSH, 1001, 5001, 10);
    tcp(0, F_ACK | F_PSH, 1021, 5001, 10);
    tcp(1, F_ACK, 5001, 1031, 0);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->history, "ShADaG");
    ck_assert_str_eq(r->missed, "10");
    struct sl_ana_stats st;
    sl_ana_get_stats(ana, &st);
    ck_assert_uint_eq(st.conns.gap_events, 1);
    ck_assert_uint_eq(st.conns.gap_bytes, 10);
    ck_assert_uint_ge(st.conns.ack_events, 1);
    ck_assert_int_eq(events[SL_CONN_EV_PENDING], 1); /* open at the end */
    ck_assert_str_eq(r->orig_bytes, "30");           /* from sequence numbers */
}
END_TEST

START_TEST(flip_on_ack_after_syn_ack)
{
    /* SYN-ACK first between two unremarkable ports: no flip at creation;
     * the next ACK from the other side flips the roles ("^hA"). */
    struct ep a = {"10.0.0.1", 5000}, b = {"10.0.0.2", 6000};
    size_t n = build(fb, b, a, 6, F_SYN | F_ACK, 5000, 1001, 1000, 0, false);
    sl_ana_packet(ana, 1.0, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
    n = build(fb, a, b, 6, F_ACK, 1001, 5001, 1000, 0, false);
    sl_ana_packet(ana, 1.1, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->history, "^hA");
    ck_assert_str_eq(r->orig_h, "10.0.0.1");
    ck_assert_str_eq(r->orig_p, "5000");
    ck_assert_str_eq(r->orig_pkts, "1");
    ck_assert_str_eq(r->resp_pkts, "1");
}
END_TEST

START_TEST(fin_rst)
{
    handshake();
    tcp(0, F_FIN | F_RST | F_ACK, 1001, 5001, 0);
    finish();
    ck_assert_str_eq(only_row()->history, "ShAI");
    ck_assert_str_eq(only_row()->state, "RSTO");
}
END_TEST

START_TEST(zero_window)
{
    handshake();
    tcp_w(1, F_ACK, 5001, 1001, 0);
    finish();
    ck_assert_str_eq(only_row()->history, "ShAaw");
}
END_TEST

START_TEST(bad_checksum)
{
    tcp(0, F_SYN, 1000, 0, 0);
    size_t n = build(fb, S, C, 6, F_SYN | F_ACK, 5000, 1001, 1000, 0, true);
    sl_ana_packet(ana, now + 0.1, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->history, "Sc");
    ck_assert_str_eq(r->resp_pkts, "0"); /* not analysed, not counted */
    ck_assert_str_eq(r->state, "S0");
    ck_assert(saw_weird("bad_TCP_checksum"));
}
END_TEST

START_TEST(seq_wraparound)
{
    /* Client ISN just below 2^32: 100 bytes cross the wrap. */
    uint32_t isn = 0xffffffc0u;
    tcp(0, F_SYN, isn, 0, 0);
    tcp(1, F_SYN | F_ACK, 5000, isn + 1, 0);
    tcp(0, F_ACK, isn + 1, 5001, 0);
    tcp(0, F_ACK | F_PSH, isn + 1, 5001, 50);
    tcp(0, F_ACK | F_PSH, isn + 51, 5001, 50);
    tcp(1, F_ACK, 5001, isn + 101, 0);
    finish();
    ck_assert_str_eq(only_row()->orig_bytes, "100");
    ck_assert_str_eq(only_row()->history, "ShADa");
}
END_TEST

START_TEST(connection_reuse)
{
    /* A fresh SYN with another ISN after a full close starts a second
     * connection; the first is logged at once. */
    handshake();
    tcp(0, F_FIN | F_ACK, 1001, 5001, 0);
    tcp(1, F_FIN | F_ACK, 5001, 1002, 0);
    tcp(0, F_ACK, 1002, 5002, 0);
    tcp(0, F_SYN, 9000, 0, 0);
    ck_assert_int_eq(nrows, 1);
    ck_assert_str_eq(rows[0].state, "SF");
    finish();
    ck_assert_int_eq(nrows, 2);
    ck_assert_str_eq(rows[1].state, "S0");
}
END_TEST

START_TEST(http_service)
{
    /* Port 80: the request line confirms HTTP, even a byte at a time. */
    handshake();
    tcp_text(C, S, F_ACK | F_PSH, 1001, 5001, "G");
    tcp_text(C, S, F_ACK | F_PSH, 1002, 5001, "ET / HTTP/1.1\r\nHost: x\r\n\r\n");
    /* Another port: a request answered by "HTTP/1.1" (dynamic detection). */
    struct ep c2 = {"10.0.0.5", 41000}, s2 = {"10.0.0.6", 27272};
    tcp_text(c2, s2, F_SYN, 99, 0, "");
    tcp_text(s2, c2, F_SYN | F_ACK, 199, 100, "");
    tcp_text(c2, s2, F_ACK, 100, 200, "");
    tcp_text(c2, s2, F_ACK | F_PSH, 100, 200, "POST /x HTTP/1.0\r\n\r\n");
    tcp_text(s2, c2, F_ACK | F_PSH, 200, 121, "HTTP/1.0 200 OK\r\n\r\n");
    /* Not HTTP on port 80; and HTTP in a connection seen midstream, whose
     * stream Zeek's HTTP analyzer ignores (a partial connection). */
    struct ep c3 = {"10.0.0.7", 42000}, c4 = {"10.0.0.8", 43000};
    tcp_text(c3, S, F_SYN, 99, 0, "");
    tcp_text(S, c3, F_SYN | F_ACK, 199, 100, "");
    tcp_text(c3, S, F_ACK | F_PSH, 100, 200, "SSH-2.0-OpenSSH\r\n");
    tcp_text(c4, S, F_ACK | F_PSH, 100, 200, "GET / HTTP/1.1\r\n\r\n");
    finish();
    ck_assert_int_eq(nrows, 4);
    for (int i = 0; i < nrows; i++) {
        if (strcmp(rows[i].orig_h, "10.0.0.7") == 0 || strcmp(rows[i].orig_h, "10.0.0.8") == 0)
            ck_assert_str_eq(rows[i].service, "-");
        else
            ck_assert_str_eq(rows[i].service, "http");
    }
}
END_TEST

START_TEST(stream_in_order)
{
    /* Segments out of order and retransmitted: modules get the stream once,
     * in order. */
    handshake();
    tcp_text(C, S, F_ACK | F_PSH, 1006, 5001, "world");
    tcp_text(C, S, F_ACK | F_PSH, 1001, 5001, "hello");
    tcp_text(C, S, F_ACK | F_PSH, 1001, 5001, "hello");
    tcp_text(C, S, F_ACK | F_PSH, 1011, 5001, "!");
    finish();
    ck_assert_uint_eq(stream_len, 11);
    ck_assert_int_eq(memcmp(stream, "helloworld!", 11), 0);
    ck_assert_str_eq(only_row()->orig_bytes, "11");
}
END_TEST

/* ---- UDP, ICMP, timeouts, limits ---- */

static void udp(struct ep s, struct ep d, size_t plen, double t)
{
    size_t n = build(fb, s, d, 17, 0, 0, 0, 0, plen, false);
    sl_ana_packet(ana, t, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
}

START_TEST(udp_states)
{
    struct ep a = {"10.0.0.1", 5555}, dns = {"10.0.0.2", 53}, b = {"10.0.0.3", 7777};
    struct ep c2 = {"10.0.0.4", 6666};
    udp(a, dns, 30, 1.0); /* request and reply: SF "Dd" */
    udp(dns, a, 70, 1.1);
    udp(a, b, 10, 1.2);    /* one side: S0 */
    udp(dns, c2, 40, 1.3); /* from a likely server port first: flipped, SHR "^d" */
    finish();
    ck_assert_int_eq(nrows, 3);
    int seen = 0;
    for (int i = 0; i < nrows; i++) {
        const struct crow *r = &rows[i];
        if (strcmp(r->orig_p, "5555") == 0 && strcmp(r->resp_p, "53") == 0) {
            ck_assert_str_eq(r->state, "SF");
            ck_assert_str_eq(r->history, "Dd");
            ck_assert_str_eq(r->orig_bytes, "30");
            ck_assert_str_eq(r->resp_bytes, "70");
            seen |= 1;
        } else if (strcmp(r->resp_p, "7777") == 0) {
            ck_assert_str_eq(r->state, "S0");
            ck_assert_str_eq(r->history, "D");
            seen |= 2;
        } else if (strcmp(r->orig_p, "6666") == 0) {
            ck_assert_str_eq(r->state, "SHR");
            ck_assert_str_eq(r->history, "^d");
            ck_assert_str_eq(r->orig_h, "10.0.0.4");
            seen |= 4;
        }
    }
    ck_assert_int_eq(seen, 7);
}
END_TEST

START_TEST(udp_inactivity_timeout)
{
    /* 1 min of silence ends a UDP connection: the next datagram opens a
     * new one. Time is packet time. */
    struct ep a = {"10.0.0.1", 5555}, b = {"10.0.0.3", 7777};
    udp(a, b, 10, 100.0);
    udp(a, b, 10, 130.0);
    udp(a, b, 10, 200.0); /* 70 s later */
    ck_assert_int_eq(nrows, 1);
    ck_assert_str_eq(rows[0].orig_pkts, "2");
    ck_assert_str_eq(rows[0].duration, "30.000000");
    finish();
    ck_assert_int_eq(nrows, 2);
}
END_TEST

START_TEST(icmp_echo)
{
    struct ep a = {"10.0.0.1", 8}, b = {"10.0.0.2", 0};   /* echo request type 8 */
    struct ep a2 = {"10.0.0.2", 0}, b2 = {"10.0.0.1", 0}; /* echo reply type 0 */
    size_t n = build(fb, a, b, 1, 0, 1, 0, 0, 56, false);
    sl_ana_packet(ana, 1.0, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
    n = build(fb, a2, b2, 1, 0, 1, 0, 0, 56, false);
    sl_ana_packet(ana, 1.5, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->proto, "icmp");
    ck_assert_str_eq(r->orig_p, "8");
    ck_assert_str_eq(r->resp_p, "0");
    ck_assert_str_eq(r->state, "OTH");
    ck_assert_str_eq(r->history, "-");
    ck_assert_str_eq(r->orig_bytes, "56");
    ck_assert_str_eq(r->resp_bytes, "56");
    ck_assert_str_eq(r->orig_pkts, "1");
    ck_assert_str_eq(r->resp_pkts, "1");
}
END_TEST

START_TEST(ip_fragments)
{
    /* A 3008-byte UDP datagram in three fragments, sent out of order: one
     * packet of the reassembled size, once the last piece is in. */
    static uint8_t whole[1600 * 3];
    struct ep a = {"10.0.0.1", 5000}, b = {"10.0.0.2", 7000};
    size_t plen = 3000;
    uint8_t *ip0;
    /* Build the unfragmented packet in a big buffer with the same builder
     * layout: Ethernet(14) + IP(20) + UDP(8) + payload. */
    memset(whole, 0, sizeof(whole));
    memcpy(whole, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    ip0 = whole + 14;
    uint8_t *u = ip0 + 20;
    size_t ulen = 8 + plen;
    u[0] = 0x13;
    u[1] = 0x88; /* 5000 */
    u[2] = 0x1b;
    u[3] = 0x58; /* 7000 */
    u[4] = (uint8_t)(ulen >> 8);
    u[5] = (uint8_t)ulen;
    memset(u + 8, 'y', plen);
    inet_pton(AF_INET, a.ip, ip0 + 12);
    inet_pton(AF_INET, b.ip, ip0 + 16);
    uint8_t ph[4] = {0, 17, (uint8_t)(ulen >> 8), (uint8_t)ulen};
    uint16_t ck = fold(sum16(sum16(sum16(0, ip0 + 12, 8), ph, 4), u, ulen));
    u[6] = (uint8_t)(ck >> 8);
    u[7] = (uint8_t)ck;

    /* Fragments of 1480 data bytes: offsets 0, 1480, 2960. */
    size_t offs[3] = {0, 1480, 2960};
    int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        size_t off = offs[order[k]];
        size_t len = ulen - off < 1480 ? ulen - off : 1480;
        uint8_t f[1600];
        memcpy(f, whole, 14);
        uint8_t *ip = f + 14;
        memset(ip, 0, 20);
        ip[0] = 0x45;
        ip[2] = (uint8_t)((20 + len) >> 8);
        ip[3] = (uint8_t)(20 + len);
        ip[4] = 0x12;
        ip[5] = 0x34;
        uint16_t fo = (uint16_t)(off / 8) | (off + len < ulen ? 0x2000 : 0);
        ip[6] = (uint8_t)(fo >> 8);
        ip[7] = (uint8_t)fo;
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, ip0 + 12, 8);
        uint16_t hc = fold(sum16(0, ip, 20));
        ip[10] = (uint8_t)(hc >> 8);
        ip[11] = (uint8_t)hc;
        memcpy(ip + 20, u + off, len);
        sl_ana_packet(ana, 2.0 + k * 0.01, f, (uint32_t)(34 + len), (uint32_t)(34 + len),
                      SL_DLT_EN10MB);
        if (k < 2)
            ck_assert_int_eq(nweirds, 0);
    }
    finish();
    const struct crow *r = only_row();
    ck_assert_str_eq(r->proto, "udp");
    ck_assert_str_eq(r->orig_pkts, "1");
    ck_assert_str_eq(r->history, "D");
    struct sl_ana_stats st;
    sl_ana_get_stats(ana, &st);
    ck_assert_uint_eq(st.fragments, 3);
    ck_assert_uint_eq(st.reassembled, 1);
}
END_TEST

START_TEST(eviction_bounds_table)
{
    /* A table of 2: the third flow evicts the least recently active one,
     * which is logged and counted. */
    teardown();
    setup_max(2);
    struct ep a = {"10.0.0.1", 1000}, b = {"10.0.0.1", 1001}, c = {"10.0.0.1", 1002};
    struct ep d = {"10.0.0.9", 9999};
    udp(a, d, 1, 1.0);
    udp(b, d, 1, 1.1);
    udp(a, d, 1, 1.2); /* a is now the most recent */
    udp(c, d, 1, 1.3); /* evicts b */
    ck_assert_int_eq(nrows, 1);
    ck_assert_str_eq(rows[0].orig_p, "1001");
    struct sl_ana_stats st;
    sl_ana_get_stats(ana, &st);
    ck_assert_uint_eq(st.conns.evicted, 1);
    ck_assert_uint_le(st.conns.max_active, 2);
    finish();
    ck_assert_int_eq(nrows, 3);
}
END_TEST

START_TEST(syn_flood_memory_flat)
{
    /* 20000 SYNs from distinct sources with a 1000-entry table: active
     * connections never exceed the limit. */
    teardown();
    setup_max(1000);
    char src[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(src, sizeof(src), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        struct ep s = {src, (uint16_t)(1024 + i % 60000)};
        size_t n = build(fb, s, S, 6, F_SYN, (uint32_t)i, 0, 1000, 0, false);
        sl_ana_packet(ana, 1.0 + i * 1e-5, fb, (uint32_t)n, (uint32_t)n, SL_DLT_EN10MB);
    }
    struct sl_ana_stats st;
    sl_ana_get_stats(ana, &st);
    ck_assert_uint_le(st.conns.max_active, 1000);
    ck_assert_uint_eq(st.conns.total, 20000);
    ck_assert_uint_eq(st.conns.evicted, 19000);
    finish();
}
END_TEST

/* ---- local networks and uids ---- */

static bool local(const struct sl_net *n, const char *a)
{
    uint8_t b[16];
    if (strchr(a, ':')) {
        inet_pton(AF_INET6, a, b);
    } else {
        memset(b, 0, 10);
        b[10] = b[11] = 0xff;
        inet_pton(AF_INET, a, b + 12);
    }
    return sl_net_contains(n, b);
}

START_TEST(networks)
{
    struct sl_net *n = sl_net_new(true);
    ck_assert(local(n, "10.1.2.3"));
    ck_assert(local(n, "192.168.255.1"));
    ck_assert(local(n, "172.31.0.1"));
    ck_assert(!local(n, "172.32.0.1"));
    ck_assert(local(n, "224.0.0.251"));
    ck_assert(!local(n, "224.0.1.1"));
    ck_assert(local(n, "fe80::1"));
    ck_assert(local(n, "fd00::1"));
    ck_assert(!local(n, "8.8.8.8"));
    ck_assert(!local(n, "2001:4860::1"));
    ck_assert(local(n, "0.0.0.1")); /* 0.0.0.0/8, "this network" */
    ck_assert(!local(n, "::2"));    /* ::/128 and ::1/128 are exact */

    char path[] = "/tmp/test_conn_netsXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "# site\n8.8.8.0/24   resolvers\n\n[2001:4860::]/32\n";
    ck_assert_int_eq((int)write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    char err[256];
    ck_assert_int_eq(sl_net_load(n, path, err, sizeof(err)), 0);
    ck_assert(local(n, "8.8.8.8"));
    ck_assert(!local(n, "8.8.9.8"));
    ck_assert(local(n, "2001:4860::1"));

    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq((int)write(fd, "10.0.0.0/40\n", 12), 12);
    close(fd);
    ck_assert_int_eq(sl_net_load(n, path, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ":1:"));
    unlink(path);
    sl_net_free(n);

    /* Without private space the set is empty: local_* stay unset. */
    n = sl_net_new(false);
    ck_assert_uint_eq(sl_net_count(n), 0);
    sl_net_free(n);
}
END_TEST

START_TEST(uids)
{
    struct sl_uid_gen g1, g2;
    char a[SL_UID_LEN], b[SL_UID_LEN];
    sl_uid_init(&g1, 42, 0);
    sl_uid_init(&g2, 42, 0);
    for (int i = 0; i < 100; i++) {
        sl_uid_make(&g1, 'C', a, sizeof(a));
        sl_uid_make(&g2, 'C', b, sizeof(b));
        ck_assert_str_eq(a, b);
        ck_assert_int_eq(a[0], 'C');
        ck_assert_int_ge((int)strlen(a), 3);
        ck_assert_int_le((int)strlen(a), 18);
        for (const char *p = a + 1; *p; p++)
            ck_assert(strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", *p));
    }
    /* Base62 least significant digit first, as Zeek's uitoa_n. */
    ck_assert_str_eq(sl_uid_format('C', 0, 0, a, sizeof(a)), "C00");
    ck_assert_str_eq(sl_uid_format('C', 61, 62, a, sizeof(a)), "CZ01");
    sl_uid_init(&g2, 42, 1); /* another salt, another sequence */
    sl_uid_make(&g2, 'C', b, sizeof(b));
    sl_uid_init(&g1, 42, 0);
    sl_uid_make(&g1, 'C', a, sizeof(a));
    ck_assert_str_ne(a, b);
}
END_TEST

static Suite *conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("tcp");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, handshake_data_fin);
    tcase_add_test(tc, simultaneous_open);
    tcase_add_test(tc, attempt_s0);
    tcase_add_test(tc, half_open_syn_ack);
    tcase_add_test(tc, midstream_oth);
    tcase_add_test(tc, rej);
    tcase_add_test(tc, rsto);
    tcase_add_test(tc, rstr);
    tcase_add_test(tc, rstos0);
    tcase_add_test(tc, rstrh_flipped);
    tcase_add_test(tc, sh_and_shr);
    tcase_add_test(tc, shr);
    tcase_add_test(tc, retransmission);
    tcase_add_test(tc, retransmission_log_scale);
    tcase_add_test(tc, content_gap);
    tcase_add_test(tc, flip_on_ack_after_syn_ack);
    tcase_add_test(tc, fin_rst);
    tcase_add_test(tc, zero_window);
    tcase_add_test(tc, bad_checksum);
    tcase_add_test(tc, seq_wraparound);
    tcase_add_test(tc, connection_reuse);
    tcase_add_test(tc, http_service);
    tcase_add_test(tc, stream_in_order);
    suite_add_tcase(s, tc);

    TCase *tu = tcase_create("udp_icmp_limits");
    tcase_add_checked_fixture(tu, setup, teardown);
    tcase_add_test(tu, udp_states);
    tcase_add_test(tu, udp_inactivity_timeout);
    tcase_add_test(tu, icmp_echo);
    tcase_add_test(tu, ip_fragments);
    tcase_add_test(tu, eviction_bounds_table);
    tcase_add_test(tu, syn_flood_memory_flat);
    suite_add_tcase(s, tu);

    TCase *ts = tcase_create("support");
    tcase_add_test(ts, networks);
    tcase_add_test(ts, uids);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
