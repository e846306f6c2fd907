/* sl_ana: per-packet analysis. See sl_ana.h.
 *
 * The walk over a decoded frame mirrors Zeek's packet analysis chain: each
 * IP layer gets the IP analyzer's checks (header checksum, TSO zero length,
 * fragments), then either a tunnel (the outer UDP connection is analysed
 * first, as Zeek's UDP analyzer forwards to the tunnel analyzer only after
 * the datagram passed) or the transport of the innermost layer.
 */
#include "sl_ana.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAG_TIMEOUT             300.0       /* frag_timeout */
#define FRAG_MAX                 8192        /* reassemblies in progress (oldest dropped beyond) */
#define FRAG_MEM_MAX             (64u << 20) /* fragment bytes held at most */
#define FRAG_MAX_BLOCKS          512
#define FRAG_HDR_MAX             512
#define FRAG_BUCKETS             4096
#define MIN_ACCEPTABLE_FRAG_SIZE 64
#define MAX_ACCEPTABLE_FRAG_SIZE 64000
#define TUN_SLOTS                4096    /* IP tunnel uid cache (direct mapped) */
#define TUN_TIMEOUT              86400.0 /* Tunnel::ip_tunnel_timeout */
#define WSET_BUCKETS             16384
#define WSET_MAX                 200000
#define WEIRD_IGNORE_EXPIRE      600.0   /* weird_ignore &create_expire=10min */
#define WEIRD_DID_LOG_EXPIRE     86400.0 /* did_log / did_notice &create_expire=1day */
#define MAX_PLUGINS              SL_CONN_MOD_SLOTS

/* ---- weird framework state ---- */

enum wact {
    WA_LOG = 0,
    WA_IGNORE,
    WA_LOG_ONCE,
    WA_LOG_PER_CONN,
    WA_LOG_PER_ORIG,
    WA_NOTICE,
    WA_NOTICE_ONCE,
    WA_NOTICE_PER_CONN,
    WA_NOTICE_PER_ORIG,
};

struct wentry {
    struct wentry *next;
    double created;
    uint64_t hash;
    char key[];
};

struct wset {
    struct wentry *b[WSET_BUCKETS];
    size_t n;
    double expire;
};

/* ---- fragments ---- */

struct fblk {
    uint32_t seq, upper;
    uint8_t *data;
};

struct frag {
    uint8_t key[36]; /* src, dst, id */
    uint64_t hash;
    struct frag *hnext;
    struct frag *prev, *next; /* creation order */
    double created;
    uint8_t version;
    uint8_t next_proto;
    uint16_t hdr_len;
    uint16_t nh_off; /* IPv6: offset in hdr of the next-header byte naming the fragment header */
    uint32_t frag_size;
    uint8_t hdr[FRAG_HDR_MAX];
    struct fblk *b;
    uint32_t n, cap;
};

struct tun {
    uint8_t key[32];
    double last;
    bool used;
    char uid[SL_UID_LEN];
};

struct sl_ana {
    struct sl_ana_cfg cfg;
    struct sl_ana_output out;
    struct sl_uid_gen uid;
    struct sl_conn_tab *tab;
    struct sl_ana_plugin plug[MAX_PLUGINS];
    int nplug;
    struct sl_ana_stats st;
    struct wset w_ignore, w_did_log, w_did_notice;
    struct frag *fb[FRAG_BUCKETS];
    struct frag *fhead, *ftail;
    size_t nfrag;
    size_t frag_bytes; /* fragment data held, bounded by FRAG_MEM_MAX */
    struct tun tun[TUN_SLOTS];
    bool processed;   /* the current frame reached a connection */
    bool weird_taken; /* the decoder's weird was raised on a connection */
};

static const struct sl_log_field weird_fields[] = {
    {"ts", SL_LT_TIME},        {"uid", SL_LT_STRING},     {"id.orig_h", SL_LT_ADDR},
    {"id.orig_p", SL_LT_PORT}, {"id.resp_h", SL_LT_ADDR}, {"id.resp_p", SL_LT_PORT},
    {"name", SL_LT_STRING},    {"addl", SL_LT_STRING},    {"notice", SL_LT_BOOL},
    {"peer", SL_LT_STRING},    {"source", SL_LT_STRING},
};
const struct sl_log_schema sl_weird_schema = {"weird", 11, weird_fields};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static inline uint16_t be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

/* Ones-complement sum of big-endian 16-bit words (an odd last byte padded
 * with zero), to be folded later; the value returned is congruent to the plain
 * word sum modulo 0xffff and zero only when that is, which is all the fold
 * sees. The bytes are added as native (little-endian) 64-bit words into a
 * 128-bit total: modulo 0xffff a 64-bit word equals the sum of its 16-bit
 * words, and a byte-swapped word equals 256 times the word, so the native
 * sum, folded, byte-swaps back to the big-endian one. */
static uint32_t csum_add(uint32_t sum, const uint8_t *b, size_t n)
{
    unsigned __int128 a0 = 0, a1 = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, b + i, sizeof(w));
        a0 += w[0];
        a1 += w[1];
        a0 += w[2];
        a1 += w[3];
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        a0 += w;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, b + i, n - i);
        a1 += w;
    }
    /* 2^64 = 1 modulo 0xffff: fold the carries back in, then to 16 bits. */
    unsigned __int128 a = a0 + a1;
    uint64_t hi = (uint64_t)(a >> 64), lo = (uint64_t)a;
    uint64_t acc = (lo & 0xffffffffu) + (lo >> 32) + (hi & 0xffffffffu) + (hi >> 32);
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    uint32_t r = (uint32_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    r = ((r << 8) | (r >> 8)) & 0xffff;
#endif
    return sum + r;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Transport checksum with the IP pseudo-header; true when it verifies. */
static bool l4_csum_ok(const struct sl_pkt_ip *ip, uint8_t proto, const uint8_t *l4, uint32_t len)
{
    uint32_t sum = 0;
    uint8_t ph[8];
    if (ip->version == 4) {
        sum = csum_add(sum, ip->src + 12, 4);
        sum = csum_add(sum, ip->dst + 12, 4);
        ph[0] = 0;
        ph[1] = proto;
        ph[2] = (uint8_t)(len >> 8);
        ph[3] = (uint8_t)len;
        sum = csum_add(sum, ph, 4);
    } else {
        sum = csum_add(sum, ip->src, 16);
        sum = csum_add(sum, ip->dst, 16);
        ph[0] = (uint8_t)(len >> 24);
        ph[1] = (uint8_t)(len >> 16);
        ph[2] = (uint8_t)(len >> 8);
        ph[3] = (uint8_t)len;
        ph[4] = ph[5] = ph[6] = 0;
        ph[7] = proto;
        sum = csum_add(sum, ph, 8);
    }
    sum = csum_add(sum, l4, len);
    return csum_fold(sum) == 0xffff;
}

/* ------------------------------------------------------------------ */
/* Weird framework (base/frameworks/notice/weird.zeek)                */

static const struct {
    const char *name;
    uint8_t act;
} weird_actions[] = {
    {"unsolicited_SYN_response", WA_IGNORE},
    {"bad_ICMP_checksum", WA_LOG_PER_ORIG},
    {"bad_RPC", WA_LOG_PER_ORIG},
    {"bad_TCP_checksum", WA_LOG_PER_ORIG},
    {"bad_UDP_checksum", WA_LOG_PER_ORIG},
    {"connection_originator_SYN_ack", WA_LOG_PER_ORIG},
    {"DNS_label_forward_compress_offset", WA_LOG_PER_ORIG},
    {"DNS_label_len_gt_name_len", WA_LOG_PER_ORIG},
    {"DNS_label_len_gt_pkt", WA_LOG_PER_ORIG},
    {"DNS_label_too_long", WA_LOG_PER_ORIG},
    {"excess_RPC", WA_LOG_PER_ORIG},
    {"FIN_after_reset", WA_IGNORE},
    {"FIN_storm", WA_NOTICE_PER_ORIG},
    {"FTP_max_command_length_exceeded", WA_LOG_PER_CONN},
    {"FTP_too_many_pending_commands", WA_LOG_PER_CONN},
    {"FTP_user_too_long", WA_LOG_PER_CONN},
    {"FTP_reply_msg_too_long", WA_LOG_PER_CONN},
    {"FTP_arg_too_long", WA_LOG_PER_CONN},
    {"FTP_password_too_long", WA_LOG_PER_CONN},
    {"originator_RPC_reply", WA_LOG_PER_ORIG},
    {"partial_RPC", WA_LOG_PER_ORIG},
    {"responder_RPC_call", WA_LOG_PER_ORIG},
    {"simultaneous_open", WA_LOG_PER_CONN},
    {"smtp_mail_transaction_invalid", WA_LOG_PER_CONN},
    {"smtp_excessive_invalid_mail_transactions", WA_LOG_PER_CONN},
    {"spontaneous_FIN", WA_IGNORE},
    {"spontaneous_RST", WA_IGNORE},
    {"smb_tree_connect_andx_response_without_tree", WA_LOG_PER_CONN},
    {"successful_RPC_reply_to_invalid_request", WA_NOTICE_PER_ORIG},
    {"SYN_after_partial", WA_NOTICE_PER_ORIG},
    {"SYN_with_data", WA_LOG_PER_ORIG},
    {"UDP_datagram_length_mismatch", WA_LOG_PER_ORIG},
    {"excessively_small_fragment", WA_LOG_PER_ORIG},
    {"fragment_inconsistency", WA_LOG_PER_ORIG},
    {"fragment_overlap", WA_LOG_PER_ORIG},
    {"fragment_size_inconsistency", WA_LOG_PER_ORIG},
    {"bad_IP_checksum", WA_LOG_PER_ORIG},
    {"SSH_max_packet_length_exceeded", WA_LOG_PER_ORIG},
    {"SSH_max_string_length_exceeded", WA_LOG_PER_ORIG},
};

static const char *const weird_do_not_ignore_repeats[] = {"bad_IP_checksum", "bad_TCP_checksum",
                                                          "bad_UDP_checksum", "bad_ICMP_checksum"};

static enum wact weird_action(const char *name)
{
    for (size_t i = 0; i < sizeof(weird_actions) / sizeof(weird_actions[0]); i++)
        if (strcmp(weird_actions[i].name, name) == 0)
            return (enum wact)weird_actions[i].act;
    return WA_LOG;
}

static void wset_clear(struct wset *s)
{
    for (size_t i = 0; i < WSET_BUCKETS; i++) {
        struct wentry *e = s->b[i];
        while (e) {
            struct wentry *n = e->next;
            free(e);
            e = n;
        }
        s->b[i] = NULL;
    }
    s->n = 0;
}

/* Membership of name+ident, honouring &create_expire. */
static bool wset_has(struct wset *s, const char *key, double now)
{
    uint64_t h = hash_bytes(key, strlen(key));
    struct wentry **pp = &s->b[h % WSET_BUCKETS];
    while (*pp) {
        struct wentry *e = *pp;
        if (e->created + s->expire <= now) {
            *pp = e->next;
            free(e);
            s->n--;
            continue;
        }
        if (e->hash == h && strcmp(e->key, key) == 0)
            return true;
        pp = &e->next;
    }
    return false;
}

static void wset_add(struct wset *s, const char *key, double now)
{
    if (s->n >= WSET_MAX)
        wset_clear(s); /* bounded memory: forget, at worst log a repeat */
    size_t n = strlen(key);
    struct wentry *e = malloc(sizeof(*e) + n + 1);
    if (!e)
        return;
    e->created = now;
    e->hash = hash_bytes(key, n);
    memcpy(e->key, key, n + 1);
    e->next = s->b[e->hash % WSET_BUCKETS];
    s->b[e->hash % WSET_BUCKETS] = e;
    s->n++;
}

static void weird_key(char *buf, size_t n, const char *name, const char *ident)
{
    snprintf(buf, n, "%s\x1f%s", name, ident);
}

/* Weird::weird(): actions, de-duplication, then the record. */
static void weird_raise(struct sl_ana *a, const struct sl_conn *c, const uint8_t *src,
                        const uint8_t *dst, const char *name, const char *addl, const char *source)
{
    double now = sl_conn_now(a->tab);
    enum wact act = weird_action(name);
    char ident[160], key[256], o[48], r[48];

    if (act == WA_IGNORE)
        return;
    ident[0] = '\0';
    if (c)
        snprintf(ident, sizeof(ident), "%s:%u > %s:%u", sl_pkt_addr_str(c->orig_h, o, sizeof(o)),
                 c->orig_p, sl_pkt_addr_str(c->resp_h, r, sizeof(r)), c->resp_p);
    else if (src)
        snprintf(ident, sizeof(ident), "%s -> %s", sl_pkt_addr_str(src, o, sizeof(o)),
                 sl_pkt_addr_str(dst, r, sizeof(r)));
    weird_key(key, sizeof(key), name, ident);
    if (wset_has(&a->w_ignore, key, now))
        return;

    bool notice = act == WA_NOTICE || act == WA_NOTICE_ONCE || act == WA_NOTICE_PER_CONN ||
                  act == WA_NOTICE_PER_ORIG;
    if (act != WA_LOG && act != WA_NOTICE) {
        const char *nid = ident;
        char origbuf[48];
        const uint8_t *orig = c ? c->orig_h : src;
        if ((act == WA_LOG_PER_ORIG || act == WA_NOTICE_PER_ORIG) && orig)
            nid = sl_pkt_addr_str(orig, origbuf, sizeof(origbuf));
        else if (act == WA_LOG_ONCE || act == WA_NOTICE_ONCE)
            nid = "";
        char k2[256];
        weird_key(k2, sizeof(k2), name, nid);
        struct wset *s = notice ? &a->w_did_notice : &a->w_did_log;
        if (wset_has(s, k2, now))
            return;
        wset_add(s, k2, now);
    }

    bool repeat_ok = false;
    for (size_t i = 0; i < sizeof(weird_do_not_ignore_repeats) / sizeof(char *); i++)
        if (strcmp(weird_do_not_ignore_repeats[i], name) == 0)
            repeat_ok = true;
    if (!repeat_ok)
        wset_add(&a->w_ignore, key, now);

    struct sl_ana_weird w = {.ts = now,
                             .c = c,
                             .src = src,
                             .dst = dst,
                             .name = name,
                             .addl = addl ? addl : "",
                             .source = source ? source : "",
                             .notice = notice};
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].weird)
            a->plug[i].weird(a->plug[i].ctx, a, &w);

    struct sl_log_val v[11];
    char ts[32];
    memset(v, 0, sizeof(v));
    v[0] = (struct sl_log_val){true, sl_log_fmt_time(now, ts, sizeof(ts)), NULL, 0};
    if (c) {
        v[1] = (struct sl_log_val){true, c->uid, NULL, 0};
        snprintf(ident, sizeof(ident), "%u", c->orig_p);
        snprintf(key, sizeof(key), "%u", c->resp_p);
        v[2] = (struct sl_log_val){true, sl_pkt_addr_str(c->orig_h, o, sizeof(o)), NULL, 0};
        v[3] = (struct sl_log_val){true, ident, NULL, 0};
        v[4] = (struct sl_log_val){true, sl_pkt_addr_str(c->resp_h, r, sizeof(r)), NULL, 0};
        v[5] = (struct sl_log_val){true, key, NULL, 0};
    } else if (src) {
        v[2] = (struct sl_log_val){true, sl_pkt_addr_str(src, o, sizeof(o)), NULL, 0};
        v[3] = (struct sl_log_val){true, "0", NULL, 0};
        v[4] = (struct sl_log_val){true, sl_pkt_addr_str(dst, r, sizeof(r)), NULL, 0};
        v[5] = (struct sl_log_val){true, "0", NULL, 0};
    }
    v[6] = (struct sl_log_val){true, name, NULL, 0};
    if (addl && *addl)
        v[7] = (struct sl_log_val){true, addl, NULL, 0};
    v[8] = (struct sl_log_val){true, notice ? "T" : "F", NULL, 0};
    v[9] = (struct sl_log_val){true, a->cfg.peer ? a->cfg.peer : "zeek", NULL, 0};
    if (source && *source)
        v[10] = (struct sl_log_val){true, source, NULL, 0};
    a->st.weirds++;
    sl_ana_write(a, &sl_weird_schema, v);
}

/* A packet-level weird (Zeek's session_mgr->Weird(name, pkt)): "_in_tunnel"
 * inside an encapsulation; a flow weird when the IP header is known. */
static void packet_weird(struct sl_ana *a, const struct sl_pkt_ip *ip, int depth, const char *name,
                         const char *addl, const char *source)
{
    char nm[96];
    if (depth > 0) {
        snprintf(nm, sizeof(nm), "%s_in_tunnel", name);
        name = nm;
    }
    weird_raise(a, NULL, ip ? ip->src : NULL, ip ? ip->dst : NULL, name, addl, source);
}

/* The analyzer a decoder weird comes from (Zeek's `source` column). */
static const char *weird_source(const char *name)
{
    static const struct {
        const char *pfx, *src;
    } map[] = {
        {"truncated_ethernet", "ETHERNET"},
        {"undefined_ether", "ETHERNET"},
        {"truncated_VLAN", "VLAN"},
        {"undefined_vlan", "VLAN"},
        {"truncated_link_header", "MPLS"},
        {"truncated_pppoe", "PPPOE"},
        {"pppoe_", "PPPOE"},
        {"truncated_vntag", "VNTAG"},
        {"truncated_snap", "SNAP"},
        {"truncated_llc", "LLC"},
        {"null_analyzer", "NULL"},
        {"truncated_Linux_SLL", "LINUXSLL"},
        {"truncated_radiotap", "IEEE802_11_RADIO"},
        {"truncated_802_11", "IEEE802_11"},
        {"truncated_ppp_serial", "PPPSERIAL"},
        {"truncated_ppp", "PPP"},
        {"bad_TCP", "TCP"},
        {"UDP_", "UDP"},
        {"truncated_GRE", "GRE"},
        {"unknown_gre", "GRE"},
        {"egre_", "GRE"},
        {"gre_", "GRE"},
        {"unknown_gre_flags", "GRE"},
        {"non_ip_packet_in_encap", "GRE"},
        {"truncated_VXLAN", "VXLAN"},
        {"vxlan_", "VXLAN"},
        {"truncated_Geneve", "GENEVE"},
        {"geneve_", "GENEVE"},
        {"truncated_GTPv1", "GTPV1"},
        {"gtpv1_", "GTPV1"},
        {"truncated_Teredo", "TEREDO"},
        {"truncated_IPv6_in_Teredo", "TEREDO"},
        {"Teredo_", "TEREDO"},
        {"truncated_AYIYA", "AYIYA"},
        {"ayiya_", "AYIYA"},
        {"exceeded_tunnel_max_depth", "IPTUNNEL"},
        {"invalid_inner_IP_version", "IPTUNNEL"},
        {"truncated_inner_IP", "IPTUNNEL"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strncmp(name, map[i].pfx, strlen(map[i].pfx)) == 0)
            return map[i].src;
    return "IP";
}

/* Decoder weirds about an IP header itself (no IP header to name yet). */
static bool is_ip_header_weird(const char *name)
{
    static const char *const v[] = {
        "truncated_IP",
        "unknown_ip_version",
        "truncated_IP_len",
        "truncated_inner_IP",
        "invalid_IP_header_size",
        "IPv4_min_header_size",
        "exceeded_tunnel_max_depth",
        "invalid_inner_IP_version",
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (strcmp(v[i], name) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Outputs and plugins                                                 */

int sl_ana_write(struct sl_ana *a, const struct sl_log_schema *schema,
                 const struct sl_log_val *vals)
{
    if (!a->out.write)
        return 0;
    int rc = a->out.write(a->out.ctx, schema, vals);
    if (rc < 0)
        a->st.write_errors++;
    return rc;
}

/* Ports Zeek's default scripts register application analyzers on, for the
 * two whose presence shows in conn.log: DNS over UDP (a 10 s session timer,
 * dns_session_timeout) and NTP (flips a connection whose originator speaks
 * as the server). */
#define ANA_NTP             0x1
#define ANA_NTP_FLIPPED     0x2
#define ANA_HTTP_PORT       0x4  /* HTTP analyzer attached by port: confirmed by a request */
#define ANA_HTTP_ORIG       0x8  /* first originator bytes seen */
#define ANA_HTTP_REQ        0x10 /* ... and they were an HTTP request line */
#define ANA_HTTP_RESP       0x20 /* first responder bytes seen */
#define ANA_HTTP_DONE       0x40
#define ANA_HTTP_RESP_OK    0x80 /* ... and they began "HTTP/<digit>" */
#define DNS_SESSION_TIMEOUT 10.0

/* HTTP ports of base/protocols/http/main.zeek. */
static bool http_port(uint16_t p)
{
    return p == 80 || p == 81 || p == 631 || p == 1080 || p == 3128 || p == 8000 || p == 8080 ||
           p == 8888;
}

/* HTTP detection runs as two small incremental matchers over the first
 * bytes of each direction (no buffering: a request line may arrive a byte
 * at a time). Their state lives in ana_bits above the flags:
 *   bits 8-10  request matcher state, 11-15 method length or version index
 *   bits 16-18 reply matcher index into "HTTP/<digit>" */
enum { RQ_LWS, RQ_METHOD, RQ_SP1, RQ_URI, RQ_SP2, RQ_VER, RQ_OK, RQ_FAIL };

static unsigned get_bits(uint32_t b, int at, int n)
{
    return (b >> at) & ((1u << n) - 1);
}

static uint32_t set_bits(uint32_t b, int at, int n, unsigned v)
{
    uint32_t m = ((1u << n) - 1) << at;
    return (b & ~m) | ((v << at) & m);
}

/* "METHOD SP URI SP HTTP/<digit>" after optional whitespace, as the
 * dpd_http_client signature and HTTP_Analyzer's request line want it. */
static unsigned http_req_step(unsigned st, unsigned *k, uint8_t ch)
{
    static const char ver[] = "HTTP/";
    bool ws = ch == ' ' || ch == '\t';
    bool eol = ch == '\r' || ch == '\n';
    bool up = ch >= 'A' && ch <= 'Z';
    switch (st) {
    case RQ_LWS:
        if (ws || eol)
            return RQ_LWS;
        *k = 1;
        return up ? RQ_METHOD : RQ_FAIL;
    case RQ_METHOD:
        if (up)
            return ++*k > 20 ? RQ_FAIL : RQ_METHOD;
        return ch == ' ' ? RQ_SP1 : RQ_FAIL;
    case RQ_SP1:
        return ch == ' ' ? RQ_SP1 : eol ? RQ_FAIL : RQ_URI;
    case RQ_URI:
        return ch == ' ' ? RQ_SP2 : eol ? RQ_FAIL : RQ_URI;
    case RQ_SP2:
        if (ch == ' ')
            return RQ_SP2;
        *k = 1;
        return ch == 'H' ? RQ_VER : RQ_FAIL;
    case RQ_VER:
        if (*k < 5)
            return ch == (uint8_t)ver[(*k)++] ? RQ_VER : RQ_FAIL;
        return ch >= '0' && ch <= '9' ? RQ_OK : RQ_FAIL;
    default:
        return st;
    }
}

/* Service "http" from the protocol: a port-attached HTTP analyzer confirms
 * on the first request line; elsewhere dynamic protocol detection needs the
 * client's request and a reply starting "HTTP/<digit>". */
static void http_detect(struct sl_conn *c, bool is_orig, const uint8_t *d, uint32_t n)
{
    uint32_t b = c->ana_bits;
    if ((b & ANA_HTTP_DONE) || sl_conn_tcp_is_partial(c))
        return;
    if (is_orig && !(b & ANA_HTTP_ORIG)) {
        unsigned st = get_bits(b, 8, 3), k = get_bits(b, 11, 5);
        for (uint32_t i = 0; i < n && st != RQ_OK && st != RQ_FAIL; i++)
            st = http_req_step(st, &k, d[i]);
        b = set_bits(set_bits(b, 8, 3, st), 11, 5, k);
        if (st == RQ_OK)
            b |= ANA_HTTP_ORIG | ANA_HTTP_REQ;
        else if (st == RQ_FAIL)
            b |= ANA_HTTP_ORIG | ((b & ANA_HTTP_PORT) ? 0 : ANA_HTTP_DONE);
    } else if (!is_orig && !(b & ANA_HTTP_RESP)) {
        static const char ver[] = "HTTP/";
        unsigned k = get_bits(b, 16, 3);
        bool bad = false;
        for (uint32_t i = 0; i < n && k < 6 && !bad; i++, k++)
            bad = k < 5 ? d[i] != (uint8_t)ver[k] : !(d[i] >= '0' && d[i] <= '9');
        b = set_bits(b, 16, 3, k);
        if (bad)
            b |= ANA_HTTP_RESP | ((b & ANA_HTTP_PORT) ? 0 : ANA_HTTP_DONE);
        else if (k == 6)
            b |= ANA_HTTP_RESP | ANA_HTTP_RESP_OK;
    }
    if ((b & ANA_HTTP_REQ) && !(b & ANA_HTTP_DONE) &&
        ((b & ANA_HTTP_PORT) || (b & ANA_HTTP_RESP_OK))) {
        sl_conn_add_service(c, "http");
        b |= ANA_HTTP_DONE;
    }
    c->ana_bits = b;
}

static bool dns_udp_port(uint16_t p)
{
    return p == 53 || p == 137 || p == 5353 || p == 5355;
}

static void on_conn_new(void *ctx, struct sl_conn *c)
{
    struct sl_ana *a = ctx;
    if (c->trans == SL_TRANS_UDP) {
        if (dns_udp_port(c->resp_p))
            sl_conn_set_analyzer_expire(a->tab, c, DNS_SESSION_TIMEOUT);
        if (c->resp_p == 123)
            c->ana_bits |= ANA_NTP;
    } else if (c->trans == SL_TRANS_TCP) {
        c->want |= SL_CONN_WANT_STREAM;
        if (http_port(c->resp_p))
            c->ana_bits |= ANA_HTTP_PORT;
    }
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].conn_new)
            a->plug[i].conn_new(a->plug[i].ctx, a, c);
}

static void on_established(void *ctx, struct sl_conn *c)
{
    struct sl_ana *a = ctx;
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].conn_established)
            a->plug[i].conn_established(a->plug[i].ctx, a, c);
}

static void on_flipped(void *ctx, struct sl_conn *c)
{
    struct sl_ana *a = ctx;
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].conn_flipped)
            a->plug[i].conn_flipped(a->plug[i].ctx, a, c);
}

static void on_removed(void *ctx, struct sl_conn *c, enum sl_conn_why why)
{
    struct sl_ana *a = ctx;
    struct sl_conn_rec rec;
    (void)why;
    sl_conn_record(c, a->cfg.local, &rec);
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].conn_removed)
            a->plug[i].conn_removed(a->plug[i].ctx, a, c, &rec);
    a->st.conn_records++;
    sl_ana_write(a, &sl_conn_schema, rec.v);
    free(c->ana_state);
    c->ana_state = NULL;
}

static void on_weird(void *ctx, struct sl_conn *c, const char *name, const char *addl,
                     const char *source)
{
    weird_raise(ctx, c, NULL, NULL, name, addl, source);
}

static void on_tcp_data(void *ctx, struct sl_conn *c, bool is_orig, const uint8_t *d, uint32_t n)
{
    struct sl_ana *a = ctx;
    http_detect(c, is_orig, d, n);
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].tcp_data)
            a->plug[i].tcp_data(a->plug[i].ctx, a, c, is_orig, d, n);
}

static void on_conn_event(void *ctx, struct sl_conn *c, enum sl_conn_event ev)
{
    struct sl_ana *a = ctx;
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].conn_event)
            a->plug[i].conn_event(a->plug[i].ctx, a, c, ev);
}

static void on_tcp_closed(void *ctx, struct sl_conn *c, bool is_orig)
{
    struct sl_ana *a = ctx;
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].tcp_closed)
            a->plug[i].tcp_closed(a->plug[i].ctx, a, c, is_orig);
}

/* ------------------------------------------------------------------ */
/* Transport                                                           */

/* NTP analyzer (ntp-analyzer.pac): a SERVER-mode message from the
 * originator or a CLIENT-mode one from the responder flips the roles, once.
 * Only a message that parses counts: 48 bytes for modes 1-5, a control
 * (6) or private (7) header otherwise. */
static void ntp_packet(struct sl_ana *a, struct sl_conn *c, bool is_orig, const uint8_t *d,
                       uint32_t n)
{
    if (!(c->ana_bits & ANA_NTP) || (c->ana_bits & ANA_NTP_FLIPPED) || n < 1)
        return;
    unsigned mode = d[0] & 7;
    uint32_t need = mode >= 1 && mode <= 5 ? 48 : mode == 6 ? 12 : mode == 7 ? 8 : UINT32_MAX;
    if (n < need)
        return;
    if ((mode == 4 && is_orig) || (mode == 3 && !is_orig)) {
        sl_conn_flip(a->tab, c);
        c->ana_bits |= ANA_NTP_FLIPPED;
    }
}

/* Zeek's ICMP{4,6}_counterpart: the reply type of a request (and back);
 * other messages are one-way and use the code as their "port". */
static int icmp_counterpart(bool v6, int type, int code, bool *one_way)
{
    *one_way = false;
    if (!v6) {
        switch (type) {
        case 8:
            return 0;
        case 0:
            return 8;
        case 13:
            return 14;
        case 14:
            return 13;
        case 15:
            return 16;
        case 16:
            return 15;
        case 10:
            return 9;
        case 9:
            return 10;
        case 17:
            return 18;
        case 18:
            return 17;
        default:
            break;
        }
    } else {
        switch (type) {
        case 128:
            return 129;
        case 129:
            return 128;
        case 133:
            return 134;
        case 134:
            return 133;
        case 135:
            return 136;
        case 136:
            return 135;
        case 130:
            return 131;
        case 131:
            return 130;
        case 139:
            return 140;
        case 140:
            return 139;
        case 144:
            return 145;
        case 145:
            return 144;
        default:
            break;
        }
    }
    *one_way = true;
    return code;
}

/* What one IP layer offers its transport: Zeek's PayloadLen (claimed) and
 * the captured bytes after the IP header. */
struct l4view {
    const uint8_t *l4;
    uint32_t len;       /* IP payload length the header claims */
    uint32_t remaining; /* IP payload bytes captured */
    uint32_t ip_len;    /* IP TotalLen() */
    bool tot_zero;      /* IPv4 total length field 0 (TSO) */
};

static void l4_view(const struct sl_pkt *p, const struct sl_pkt_ip *ip, struct l4view *v)
{
    const uint8_t *h = p->data + ip->off;
    uint32_t tot;
    if (ip->version == 4) {
        tot = be16(h + 2);
        v->tot_zero = tot == 0;
    } else {
        tot = 40u + be16(h + 4);
        v->tot_zero = false;
    }
    v->ip_len = tot;
    v->l4 = p->data + ip->off + ip->hdr_len;
    v->len = tot > ip->hdr_len ? tot - ip->hdr_len : 0;
    v->remaining = ip->cap_len > ip->hdr_len ? ip->cap_len - ip->hdr_len : 0;
    if (v->tot_zero || v->len == 0)
        v->len = v->remaining;
}

static void set_id(struct sl_conn_id *id, const struct sl_pkt_ip *ip, uint16_t sp, uint16_t dp,
                   uint8_t trans)
{
    memcpy(id->src, ip->src, 16);
    memcpy(id->dst, ip->dst, 16);
    id->sport = sp;
    id->dport = dp;
    id->ip_proto = ip->proto;
    id->trans = trans;
    id->one_way = false;
}

static void do_tcp(struct sl_ana *a, const struct sl_pkt *p, const struct sl_pkt_ip *ip,
                   const struct sl_conn_encap *enc)
{
    struct l4view v;
    l4_view(p, ip, &v);
    uint32_t doff = (uint32_t)(ip->payload_off - ip->l4_off);
    struct sl_conn_tcp s = {
        .seq = ip->seq,
        .ack = ip->ack,
        .win = ip->win,
        .flags = ip->tcp_flags,
        .len = v.len >= doff ? v.len - doff : 0,
        .caplen = v.remaining >= doff ? v.remaining - doff : 0,
        .data = p->data + ip->payload_off,
        .opt = p->data + ip->l4_off + 20,
        .opt_len = doff - 20,
    };
    struct sl_conn_id id;
    bool is_orig;
    set_id(&id, ip, ip->sport, ip->dport, SL_TRANS_TCP);
    struct sl_conn *c = sl_conn_get(a->tab, &id, &s, enc, &is_orig);
    if (!c)
        return;
    a->processed = true;
    if (!a->cfg.ignore_checksums && v.remaining >= v.len &&
        !l4_csum_ok(ip, 6, p->data + ip->l4_off, v.len)) {
        sl_conn_tcp_bad_checksum(a->tab, c, is_orig);
        return;
    }
    sl_conn_tcp_packet(a->tab, c, is_orig, &s, v.ip_len);
}

/* Returns the connection when the datagram may go on into a tunnel. */
static struct sl_conn *do_udp(struct sl_ana *a, const struct sl_pkt *p, const struct sl_pkt_ip *ip,
                              const struct sl_conn_encap *enc, bool full)
{
    struct l4view v;
    l4_view(p, ip, &v);
    struct sl_conn_id id;
    bool is_orig;
    set_id(&id, ip, ip->sport, ip->dport, SL_TRANS_UDP);
    struct sl_conn *c = sl_conn_get(a->tab, &id, NULL, enc, &is_orig);
    if (!c)
        return NULL;
    a->processed = true;

    const uint8_t *u = p->data + ip->l4_off;
    uint16_t chksum = be16(u + 6);
    bool validate = !a->cfg.ignore_checksums && v.remaining >= v.len && full;
    /* VXLAN (I flag set, room for VXLAN + Ethernet) with a zero checksum is
     * not validated; Tunnel::validate_vxlan_checksums checks the rest. */
    if (validate && v.len > 8 + 8 + 14 && (u[8] & 0x08) == 0x08 && ip->dport == 4789 && chksum == 0)
        validate = false;
    if (validate) {
        bool bad = ip->version == 4 ? (chksum && !l4_csum_ok(ip, 17, u, v.len))
                                    : !l4_csum_ok(ip, 17, u, v.len);
        if (bad) {
            sl_conn_udp_bad_checksum(a->tab, c, is_orig);
            return NULL;
        }
    }
    uint32_t ulen = ip->l4_claimed;
    if (ulen != v.len) {
        char addl[48];
        snprintf(addl, sizeof(addl), "%u != %u", ulen, v.len);
        weird_raise(a, c, NULL, NULL, "UDP_datagram_length_mismatch", addl, "UDP");
    }
    sl_conn_udp_packet(a->tab, c, is_orig, ulen);
    /* The session analyzers in Zeek's order: port analyzers, then ConnSize
     * (told the direction as it was before any flip they made). */
    uint32_t plen = ip->payload_len;
    const uint8_t *pl = p->data + ip->payload_off;
    ntp_packet(a, c, is_orig, pl, plen);
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].udp_payload)
            a->plug[i].udp_payload(a->plug[i].ctx, a, c, is_orig, pl, plen);
    sl_conn_count(a->tab, c, is_orig, v.ip_len);
    return c;
}

static void do_icmp(struct sl_ana *a, const struct sl_pkt *p, const struct sl_pkt_ip *ip,
                    const struct sl_conn_encap *enc)
{
    struct l4view v;
    l4_view(p, ip, &v);
    bool v6 = ip->proto == 58;
    struct sl_conn_id id;
    bool is_orig, one_way;
    int cp = icmp_counterpart(v6, ip->icmp_type, ip->icmp_code, &one_way);
    set_id(&id, ip, ip->icmp_type, (uint16_t)cp, SL_TRANS_ICMP);
    id.one_way = one_way;
    struct sl_conn *c = sl_conn_get(a->tab, &id, NULL, enc, &is_orig);
    if (!c)
        return;
    a->processed = true;
    const uint8_t *m = p->data + ip->l4_off;
    if (!a->cfg.ignore_checksums && v.remaining >= v.len) {
        bool ok;
        if (v6) {
            ok = l4_csum_ok(ip, 58, m, v.len);
        } else {
            ok = csum_fold(csum_add(0, m, v.len)) == 0xffff;
        }
        if (!ok) {
            weird_raise(a, c, NULL, NULL, "bad_ICMP_checksum", NULL, "ICMP");
            return;
        }
    }
    sl_conn_icmp_packet(a->tab, c, is_orig, (int32_t)v.len, v.remaining >= v.len, v.ip_len);
}

static void do_other(struct sl_ana *a, const struct sl_pkt *p, const struct sl_pkt_ip *ip,
                     const struct sl_conn_encap *enc)
{
    struct l4view v;
    l4_view(p, ip, &v);
    struct sl_conn_id id;
    bool is_orig;
    set_id(&id, ip, 0, 0, SL_TRANS_UNKNOWN);
    struct sl_conn *c = sl_conn_get(a->tab, &id, NULL, enc, &is_orig);
    if (!c)
        return;
    a->processed = true;
    sl_conn_other_packet(a->tab, c, is_orig, v.ip_len);
}

/* The innermost layer's transport. */
/* A TCP header Zeek keys a connection on but then rejects (data offset
 * below 5, or options past the segment): the connection exists, the packet
 * is not analysed and the weird is the connection's. */
static void tcp_bad_header(struct sl_ana *a, const struct sl_pkt *p, const struct sl_pkt_ip *ip,
                           const struct sl_conn_encap *enc)
{
    struct l4view v;
    l4_view(p, ip, &v);
    if (!p->weird || ip != &p->ip[p->n_ip - 1] || v.remaining < 20 || v.len < 20)
        return;
    if (strcmp(p->weird, "bad_TCP_header_len") != 0 && strcmp(p->weird, "truncated_header") != 0)
        return;
    const uint8_t *t = v.l4;
    struct sl_conn_tcp s = {.seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | t[6] << 8 | t[7],
                            .flags = t[13]};
    struct sl_conn_id id;
    bool is_orig;
    set_id(&id, ip, be16(t), be16(t + 2), SL_TRANS_TCP);
    struct sl_conn *c = sl_conn_get(a->tab, &id, &s, enc, &is_orig);
    if (!c)
        return;
    a->processed = true;
    a->weird_taken = true;
    weird_raise(a, c, NULL, NULL, p->weird, NULL, "TCP");
}

static void transport(struct sl_ana *a, const struct sl_pkt *p, const struct sl_pkt_ip *ip,
                      const struct sl_conn_encap *enc, bool full)
{
    bool l4 = ip->flags & SL_IPF_L4;
    switch (ip->proto) {
    case 6:
        if (l4)
            do_tcp(a, p, ip, enc);
        else if (p->stop == SL_STOP_WEIRD)
            tcp_bad_header(a, p, ip, enc);
        break;
    case 17:
        if (l4)
            do_udp(a, p, ip, enc, full);
        break;
    case 1:
    case 58:
        if (l4)
            do_icmp(a, p, ip, enc);
        break;
    case 4:
    case 41:
    case 47:  /* tunnels the decoder could not enter: reported by it */
    case 50:  /* ESP: Zeek records no connection */
    case 59:  /* no next header */
    case 135: /* mobility header */
        break;
    default:
        do_other(a, p, ip, enc);
        break;
    }
}

/* ------------------------------------------------------------------ */
/* IP tunnels (IP-in-IP, GRE): one uid per address pair                */

static const char *ip_tunnel_uid(struct sl_ana *a, const struct sl_pkt_ip *ip)
{
    uint8_t key[32];
    bool lt = memcmp(ip->src, ip->dst, 16) < 0;
    memcpy(key, lt ? ip->src : ip->dst, 16);
    memcpy(key + 16, lt ? ip->dst : ip->src, 16);
    struct tun *t = &a->tun[hash_bytes(key, 32) % TUN_SLOTS];
    double now = sl_conn_now(a->tab);
    if (!t->used || memcmp(t->key, key, 32) != 0 || now - t->last >= TUN_TIMEOUT) {
        memcpy(t->key, key, 32);
        t->used = true;
        sl_uid_make(&a->uid, 'C', t->uid, sizeof(t->uid));
    }
    t->last = now;
    return t->uid;
}

/* ------------------------------------------------------------------ */
/* Fragments (src/Frag.cc)                                             */

static void frag_free(struct sl_ana *a, struct frag *f)
{
    struct frag **pp = &a->fb[f->hash % FRAG_BUCKETS];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    if (f->prev)
        f->prev->next = f->next;
    else
        a->fhead = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        a->ftail = f->prev;
    for (uint32_t i = 0; i < f->n; i++) {
        a->frag_bytes -= f->b[i].upper - f->b[i].seq;
        free(f->b[i].data);
    }
    free(f->b);
    free(f);
    a->nfrag--;
}

static void frag_expire(struct sl_ana *a, double now)
{
    while (a->fhead && a->fhead->created + FRAG_TIMEOUT <= now)
        frag_free(a, a->fhead);
}

/* Offset of the IPv6 fragment header in the chain, 0 when none. */
static uint32_t v6_frag_off(const uint8_t *h, uint32_t hdr_len)
{
    uint32_t off = 40;
    uint8_t nh = h[6];
    while (nh != 44) {
        if (nh != 0 && nh != 43 && nh != 60 && nh != 51)
            return 0;
        if (off + 2 > hdr_len)
            return 0;
        uint32_t xl = nh == 51 ? 8 + 4u * h[off + 1] : 8 + 8u * h[off + 1];
        nh = h[off];
        off += xl;
    }
    return off + 8 <= hdr_len ? off : 0;
}

/* The fragment's unfragmentable header, as Zeek keeps it: IPv4 header, or
 * the IPv6 header chain up to the fragment header with the preceding
 * next-header byte pointed at what follows the fragment header. */
static bool frag_header(struct frag *f, const struct sl_pkt *p, const struct sl_pkt_ip *ip)
{
    const uint8_t *h = p->data + ip->off;
    f->version = ip->version;
    f->next_proto = ip->proto;
    if (ip->version == 4) {
        if (ip->hdr_len > FRAG_HDR_MAX)
            return false;
        memcpy(f->hdr, h, ip->hdr_len);
        f->hdr_len = ip->hdr_len;
        return true;
    }
    uint32_t off = 40, nh_off = 6;
    uint8_t nh = h[6];
    while (nh != 44) {
        if (nh != 0 && nh != 43 && nh != 60 && nh != 51)
            return false;
        if (off + 2 > ip->hdr_len)
            return false;
        uint32_t xl = nh == 51 ? 8 + 4u * h[off + 1] : 8 + 8u * h[off + 1];
        nh_off = off;
        nh = h[off];
        off += xl;
    }
    if (off > FRAG_HDR_MAX || off + 8 > (uint32_t)ip->cap_len)
        return false;
    memcpy(f->hdr, h, off);
    f->hdr_len = (uint16_t)off;
    f->nh_off = (uint16_t)nh_off;
    f->hdr[nh_off] = h[off]; /* the fragment header's next header */
    return true;
}

/* Reassembler::NewBlock for fragments: keeps what no block holds yet,
 * reports overlaps as Zeek's FragReassembler::Overlap does. */
static void frag_insert(struct sl_ana *a, struct frag *f, const struct sl_pkt_ip *ip, uint32_t seq,
                        uint32_t upper, const uint8_t *data)
{
    uint32_t i = 0;
    while (i < f->n && f->b[i].upper <= seq)
        i++;
    while (seq < upper) {
        if (i < f->n && f->b[i].seq <= seq) {
            /* Overlap with block i. */
            uint32_t ov_end = f->b[i].upper < upper ? f->b[i].upper : upper;
            const uint8_t *old = f->b[i].data + (seq - f->b[i].seq);
            weird_raise(a, NULL, ip->src, ip->dst,
                        memcmp(old, data, ov_end - seq) ? "fragment_inconsistency"
                                                        : "fragment_overlap",
                        NULL, NULL);
            data += ov_end - seq;
            seq = ov_end;
            i++;
            continue;
        }
        uint32_t end = upper;
        if (i < f->n && f->b[i].seq < end)
            end = f->b[i].seq;
        if (f->n == f->cap) {
            uint32_t cap = f->cap ? f->cap * 2 : 4;
            if (cap > FRAG_MAX_BLOCKS)
                return;
            struct fblk *nb = realloc(f->b, cap * sizeof(*nb));
            if (!nb)
                return;
            f->b = nb;
            f->cap = cap;
        }
        uint8_t *d = malloc(end - seq);
        if (!d)
            return;
        memcpy(d, data, end - seq);
        a->frag_bytes += end - seq;
        memmove(&f->b[i + 1], &f->b[i], (f->n - i) * sizeof(*f->b));
        f->b[i] = (struct fblk){seq, end, d};
        f->n++;
        i++;
        data += end - seq;
        seq = end;
    }
}

/* FragReassembler::BlockInserted: the datagram when complete, else NULL. */
static uint8_t *frag_complete(struct sl_ana *a, struct frag *f, const struct sl_pkt_ip *ip,
                              uint32_t *out_len)
{
    if (!f->n || f->b[0].seq > 0 || !f->frag_size)
        return NULL;
    uint32_t k = 0;
    while (k + 1 < f->n && f->b[k].upper == f->b[k + 1].seq)
        k++;
    uint32_t last_upper = f->b[f->n - 1].upper;
    if (k + 1 < f->n) {
        if (f->b[k].upper >= f->frag_size) {
            weird_raise(a, NULL, ip->src, ip->dst, "fragment_size_inconsistency", NULL, NULL);
            f->frag_size = f->b[k].upper;
        } else {
            return NULL;
        }
    } else if (last_upper > f->frag_size) {
        weird_raise(a, NULL, ip->src, ip->dst, "fragment_size_inconsistency", NULL, NULL);
        f->frag_size = last_upper;
    } else if (last_upper < f->frag_size) {
        return NULL;
    }
    uint32_t n = f->hdr_len + f->frag_size;
    if (n > 65535)
        return NULL;
    uint8_t *pkt = calloc(1, n);
    if (!pkt)
        return NULL;
    memcpy(pkt, f->hdr, f->hdr_len);
    for (uint32_t i = 0; i < f->n; i++) {
        if (i && f->b[i - 1].upper < f->b[i].seq)
            break;
        uint32_t up = f->b[i].upper < f->frag_size ? f->b[i].upper : f->frag_size;
        if (up > f->b[i].seq)
            memcpy(pkt + f->hdr_len + f->b[i].seq, f->b[i].data, up - f->b[i].seq);
    }
    if (f->version == 4) {
        pkt[2] = (uint8_t)(n >> 8);
        pkt[3] = (uint8_t)n;
        pkt[6] &= 0x40; /* keep DF, clear MF and the offset: it is whole now */
        pkt[7] = 0;
        pkt[10] = pkt[11] = 0;
        uint16_t ck = (uint16_t)~csum_fold(csum_add(0, pkt, f->hdr_len));
        pkt[10] = (uint8_t)(ck >> 8);
        pkt[11] = (uint8_t)ck;
    } else {
        uint32_t plen = n - 40;
        pkt[4] = (uint8_t)(plen >> 8);
        pkt[5] = (uint8_t)plen;
    }
    *out_len = n;
    return pkt;
}

static void walk(struct sl_ana *a, const struct sl_pkt *p, int first, struct sl_conn_encap *enc,
                 bool full);

/* One fragment of layer `i`. Processes the datagram once it is whole. */
static void fragment(struct sl_ana *a, const struct sl_pkt *p, int i, struct sl_conn_encap *enc)
{
    const struct sl_pkt_ip *ip = &p->ip[i];
    const uint8_t *h = p->data + ip->off;
    a->st.fragments++;

    uint32_t total = ip->version == 4 ? be16(h + 2) : 40u + be16(h + 4);
    if (ip->flags & SL_IPF_TRUNC) {
        packet_weird(a, ip, enc->depth, "incompletely_captured_fragment", NULL, "IP");
        if (ip->frag_off != 0)
            return;
        /* A first fragment cut by the capture goes on as it is. */
        walk(a, p, -(i + 1), enc, false);
        return;
    }

    uint8_t key[36];
    memcpy(key, ip->src, 16);
    memcpy(key + 16, ip->dst, 16);
    memcpy(key + 32, &ip->frag_id, 4);
    uint64_t hsh = hash_bytes(key, 36);
    struct frag *f = a->fb[hsh % FRAG_BUCKETS];
    while (f && (f->hash != hsh || memcmp(f->key, key, 36) != 0))
        f = f->hnext;

    bool mf;
    uint32_t hdr_len = ip->hdr_len; /* where the fragmentable part starts */
    if (ip->version == 4) {
        mf = h[6] & 0x20;
    } else {
        uint32_t fo = v6_frag_off(h, ip->hdr_len);
        if (!fo)
            return;
        mf = h[fo + 3] & 1;
        hdr_len = fo + 8;
    }

    if (!f) {
        if (a->nfrag >= FRAG_MAX)
            frag_free(a, a->fhead);
        f = calloc(1, sizeof(*f));
        if (!f)
            return;
        memcpy(f->key, key, 36);
        f->hash = hsh;
        f->created = sl_conn_now(a->tab);
        if (!frag_header(f, p, ip)) {
            free(f);
            return;
        }
        f->hnext = a->fb[hsh % FRAG_BUCKETS];
        a->fb[hsh % FRAG_BUCKETS] = f;
        f->prev = a->ftail;
        if (a->ftail)
            a->ftail->next = f;
        else
            a->fhead = f;
        a->ftail = f;
        a->nfrag++;
    } else if (ip->proto != f->next_proto && ip->frag_off == 0) {
        weird_raise(a, NULL, ip->src, ip->dst, "fragment_protocol_inconsistency", NULL, NULL);
    }
    if (ip->version == 4 && (h[6] & 0x40))
        weird_raise(a, NULL, ip->src, ip->dst, "fragment_with_DF", NULL, NULL);
    if (total < hdr_len) {
        weird_raise(a, NULL, ip->src, ip->dst, "fragment_protocol_inconsistency", NULL, NULL);
        return;
    }
    uint32_t upper = ip->frag_off + total - hdr_len;
    if (ip->frag_off == 0)
        f->next_proto = ip->proto;
    if (!mf) {
        if (f->frag_size == 0) {
            f->frag_size = upper;
        } else if (upper != f->frag_size) {
            weird_raise(a, NULL, ip->src, ip->dst, "fragment_size_inconsistency", NULL, NULL);
            if (upper > f->frag_size)
                f->frag_size = upper;
        }
    } else if (total < MIN_ACCEPTABLE_FRAG_SIZE) {
        weird_raise(a, NULL, ip->src, ip->dst, "excessively_small_fragment", NULL, NULL);
    }
    if (upper > MAX_ACCEPTABLE_FRAG_SIZE)
        weird_raise(a, NULL, ip->src, ip->dst, "excessively_large_fragment", NULL, NULL);
    if (f->frag_size && upper > f->frag_size) {
        weird_raise(a, NULL, ip->src, ip->dst, "fragment_size_inconsistency", NULL, NULL);
        f->frag_size = upper;
    }
    frag_insert(a, f, ip, ip->frag_off, upper, h + hdr_len);
    /* Bounded memory: the oldest unfinished datagrams go first. */
    while (a->frag_bytes > FRAG_MEM_MAX && a->fhead && a->fhead != f)
        frag_free(a, a->fhead);

    uint32_t n = 0;
    uint8_t *dgram = frag_complete(a, f, ip, &n);
    if (!dgram)
        return;
    frag_free(a, f);
    a->st.reassembled++;

    struct sl_pkt q;
    sl_pkt_decode(&q, dgram, n, SL_DLT_RAW);
    if (q.n_ip > 0) {
        walk(a, &q, 0, enc, true);
    } else if (q.weird) {
        packet_weird(a, NULL, enc->depth, q.weird, NULL, weird_source(q.weird));
    }
    free(dgram);
}

/* ------------------------------------------------------------------ */
/* The walk                                                            */

static bool push_encap(struct sl_conn_encap *enc, uint8_t type, const char *uid)
{
    if (enc->depth >= SL_PKT_MAX_IP)
        return false;
    enc->e[enc->depth].type = type;
    snprintf(enc->e[enc->depth].uid, SL_UID_LEN, "%s", uid);
    enc->depth++;
    return true;
}

/* Walks p's IP layers from `first`. A negative `first` -(i+1) resumes at
 * layer i skipping its fragment handling (a cut first fragment). */
static void walk(struct sl_ana *a, const struct sl_pkt *p, int first, struct sl_conn_encap *enc,
                 bool full)
{
    bool skip_frag = first < 0;
    int i0 = skip_frag ? -first - 1 : first;

    for (int i = i0; i < p->n_ip; i++) {
        const struct sl_pkt_ip *ip = &p->ip[i];
        const uint8_t *h = p->data + ip->off;
        bool resumed = skip_frag && i == i0;

        if (!resumed) {
            if (ip->version == 4 && !a->cfg.ignore_checksums &&
                csum_fold(csum_add(0, h, ip->hdr_len)) != 0xffff) {
                packet_weird(a, ip, enc->depth, "bad_IP_checksum", NULL, "IP");
                return;
            }
            if (ip->version == 4 && be16(h + 2) == 0) {
                packet_weird(a, NULL, enc->depth, "ip_hdr_len_zero", NULL, "IP");
                if (!a->cfg.ignore_checksums)
                    return;
            }
            if (ip->flags & SL_IPF_FRAG) {
                fragment(a, p, i, enc);
                return;
            }
        }
        if (i == p->n_ip - 1) {
            transport(a, p, ip, enc, full);
            return;
        }
        /* Layer i carries layer i+1. */
        const struct sl_pkt_ip *in = &p->ip[i + 1];
        if (ip->proto == 17 && (ip->flags & SL_IPF_L4)) {
            struct sl_conn *oc = do_udp(a, p, ip, enc, full);
            if (!oc)
                return;
            if (p->note && strcmp(p->note, "Teredo_bubble_with_payload") == 0 &&
                in->encap == SL_ENCAP_TEREDO)
                weird_raise(a, oc, NULL, NULL, p->note, NULL, "TEREDO");
            if (!push_encap(enc, in->encap, oc->uid))
                return;
        } else {
            if (!push_encap(enc, in->encap, ip_tunnel_uid(a, ip)))
                return;
        }
    }
}

/* The decoder's own weird, once the packet went as far as it could. */
static void decoder_weirds(struct sl_ana *a, const struct sl_pkt *p)
{
    if (p->note && strcmp(p->note, "UDP_datagram_length_mismatch") != 0 &&
        strcmp(p->note, "Teredo_bubble_with_payload") != 0 &&
        strcmp(p->note, "ip_hdr_len_zero") != 0 &&
        strcmp(p->note, "incompletely_captured_fragment") != 0) {
        const struct sl_pkt_ip *ip = p->n_ip ? &p->ip[p->n_ip - 1] : NULL;
        packet_weird(a, ip, p->n_ip > 1 ? p->n_ip - 1 : 0, p->note, NULL, weird_source(p->note));
    }
    if (p->stop != SL_STOP_WEIRD || !p->weird || a->weird_taken)
        return;
    int depth;
    const struct sl_pkt_ip *ip;
    if (is_ip_header_weird(p->weird)) {
        ip = NULL;
        depth = p->n_ip;
    } else {
        ip = p->n_ip ? &p->ip[p->n_ip - 1] : NULL;
        depth = p->n_ip > 0 ? p->n_ip - 1 : 0;
    }
    packet_weird(a, ip, depth, p->weird, NULL, weird_source(p->weird));
}

void sl_ana_packet(struct sl_ana *a, double ts, const uint8_t *frame, uint32_t caplen,
                   uint32_t wirelen, int dlt)
{
    struct sl_pkt p;
    a->st.packets++;
    a->st.bytes += caplen;
    sl_conn_advance(a->tab, ts);
    double now = sl_conn_now(a->tab);
    frag_expire(a, now);
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].tick)
            a->plug[i].tick(a->plug[i].ctx, a, now);

    sl_pkt_decode_wire(&p, frame, caplen, wirelen, dlt);
    a->processed = false;
    a->weird_taken = false;
    if (p.n_ip == 0) {
        a->st.non_ip++;
    } else {
        struct sl_conn_encap enc = {0};
        bool full = wirelen == 0 || wirelen <= caplen;
        walk(a, &p, 0, &enc, full);
    }
    decoder_weirds(a, &p);
    if (!a->processed)
        a->st.dropped++;
}

void sl_ana_finish(struct sl_ana *a)
{
    sl_conn_finish(a->tab);
    double now = sl_conn_now(a->tab);
    for (int i = 0; i < a->nplug; i++)
        if (a->plug[i].finish)
            a->plug[i].finish(a->plug[i].ctx, a, now);
}

/* ------------------------------------------------------------------ */
/* Construction and accessors                                          */

struct sl_ana *sl_ana_new(const struct sl_ana_cfg *cfg, const struct sl_ana_output *out)
{
    struct sl_ana *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    if (cfg)
        a->cfg = *cfg;
    if (out)
        a->out = *out;
    if (a->cfg.seeded) {
        sl_uid_init(&a->uid, a->cfg.seed, a->cfg.uid_salt);
    } else {
        int rc = sl_uid_init_random(&a->uid);
        if (rc < 0) {
            free(a);
            errno = -rc;
            return NULL;
        }
    }
    a->w_ignore.expire = WEIRD_IGNORE_EXPIRE;
    a->w_did_log.expire = WEIRD_DID_LOG_EXPIRE;
    a->w_did_notice.expire = WEIRD_DID_LOG_EXPIRE;

    struct sl_conn_cfg cc = {.max_conns = a->cfg.max_conns, .uid = &a->uid};
    struct sl_conn_ops ops = {
        .ctx = a,
        .conn_new = on_conn_new,
        .established = on_established,
        .flipped = on_flipped,
        .removed = on_removed,
        .weird = on_weird,
        .tcp_data = on_tcp_data,
        .tcp_closed = on_tcp_closed,
        .event = on_conn_event,
    };
    a->tab = sl_conn_tab_new(&cc, &ops);
    if (!a->tab) {
        free(a);
        errno = ENOMEM;
        return NULL;
    }
    return a;
}

void sl_ana_free(struct sl_ana *a)
{
    if (!a)
        return;
    sl_conn_tab_free(a->tab);
    while (a->fhead)
        frag_free(a, a->fhead);
    wset_clear(&a->w_ignore);
    wset_clear(&a->w_did_log);
    wset_clear(&a->w_did_notice);
    free(a);
}

int sl_ana_add_plugin(struct sl_ana *a, const struct sl_ana_plugin *p)
{
    if (a->nplug >= MAX_PLUGINS)
        return -ENOSPC;
    a->plug[a->nplug] = *p;
    return a->nplug++;
}

double sl_ana_now(const struct sl_ana *a)
{
    return sl_conn_now(a->tab);
}

void sl_ana_conn_weird(struct sl_ana *a, struct sl_conn *c, const char *name, const char *addl,
                       const char *source)
{
    weird_raise(a, c, NULL, NULL, name, addl, source);
}

struct sl_conn_tab *sl_ana_conns(struct sl_ana *a)
{
    return a->tab;
}

const struct sl_net *sl_ana_local(const struct sl_ana *a)
{
    return a->cfg.local;
}

const char *sl_ana_peer(const struct sl_ana *a)
{
    return a->cfg.peer ? a->cfg.peer : "zeek";
}

void sl_ana_get_stats(const struct sl_ana *a, struct sl_ana_stats *st)
{
    *st = a->st;
    sl_conn_get_stats(a->tab, &st->conns);
}
