/* Application payloads: HTTP/1.1 messages with real headers and bodies,
 * bulk downloads, DNS over TCP (length-prefixed). Each message is a pure
 * function of (flow seed, exchange, direction), so any byte range of it can
 * be produced again (segments, retransmissions) without storing it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "synth_dns.h"
#include "synth_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct http_spec {
    const char *method, *path, *ctype, *status;
    uint64_t body;
    int code;
    int binary;
};

static const char *const agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15",
    "curl/7.88.1",
    "Debian APT-HTTP/1.3 (2.6.1)",
};
static const char *const servers[] = {"nginx/1.22.1", "Apache/2.4.57 (Debian)", "cloudflare",
                                      "Microsoft-IIS/10.0", "envoy"};

static void http_spec(const struct sl_syn_flow *f, unsigned exch, struct http_spec *s)
{
    struct sl_syn_rng r;
    sl_syn_rng_seed(&r, f->seed * 31 + exch);
    static const char *const paths[] = {"/",
                                        "/index.html",
                                        "/api/v1/items",
                                        "/static/app.js",
                                        "/css/site.css",
                                        "/img/logo.png",
                                        "/login",
                                        "/search"};
    static const char *const ctypes[] = {"text/html; charset=utf-8",
                                         "text/html; charset=utf-8",
                                         "application/json",
                                         "application/javascript",
                                         "text/css",
                                         "image/png",
                                         "text/html; charset=utf-8",
                                         "application/json"};
    unsigned k = (unsigned)sl_syn_rng_below(&r, N(paths));
    memset(s, 0, sizeof(*s));
    s->method = sl_syn_rng_chance(&r, 120) ? "POST" : "GET";
    s->path = paths[k];
    s->ctype = ctypes[k];
    s->binary = k == 5;
    static const unsigned code_w[5] = {86, 5, 4, 4, 1};
    static const int codes[5] = {200, 301, 304, 404, 500};
    static const char *const status[5] = {"OK", "Moved Permanently", "Not Modified", "Not Found",
                                          "Internal Server Error"};
    unsigned c = sl_syn_rng_pick(&r, code_w, 5);
    s->code = codes[c];
    s->status = status[c];
    if (f->app == APP_BULK) {
        s->method = "GET";
        s->path = "/pub/images/debian-12.4.0-amd64-DVD-1.iso";
        s->ctype = "application/octet-stream";
        s->binary = 1;
        s->code = 200;
        s->status = "OK";
        s->body = f->u.tcp.bulk;
        return;
    }
    if (s->code == 304)
        s->body = 0;
    else if (s->code != 200)
        s->body = sl_syn_rng_range(&r, 150, 600);
    else if (sl_syn_rng_chance(&r, 700)) /* API replies, icons, redirects' targets */
        s->body = sl_syn_rng_logu(&r, 100, 8000);
    else if (sl_syn_rng_chance(&r, 930))
        s->body = sl_syn_rng_logu(&r, 8000, 60000);
    else
        s->body = sl_syn_rng_logu(&r, 60000, 1000000);
}

static uint64_t req_body_len(const struct sl_syn_flow *f, unsigned exch, const struct http_spec *s)
{
    if (strcmp(s->method, "POST"))
        return 0;
    return 20 + sl_syn_mix64(f->seed + exch) % 3000;
}

/* Writes the header of message (dir, exch) into buf; returns its length and
 * the body length in *body. */
static size_t http_head(const struct sl_syn_flow *f, int dir, unsigned exch, char *buf, size_t cap,
                        uint64_t *body)
{
    struct http_spec s;
    char host[96];
    http_spec(f, exch, &s);
    sl_syn_dns_hostname(sl_syn_mix64(f->seed ^ 0x4057), host, sizeof(host));
    int last = exch + 1 >= f->u.tcp.n_exch;
    const char *conn = last && f->u.tcp.close == CLOSE_FIN_S ? "close" : "keep-alive";
    int n;
    if (dir == 0) {
        *body = req_body_len(f, exch, &s);
        n = snprintf(buf, cap,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
                     "Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.5\r\n"
                     "Connection: %s\r\n",
                     s.method, s.path, host, agents[f->seed % N(agents)], conn);
        if (*body && n > 0 && (size_t)n < cap)
            n += snprintf(buf + n, cap - (size_t)n,
                          "Content-Type: application/x-www-form-urlencoded\r\n"
                          "Content-Length: %llu\r\n",
                          (unsigned long long)*body);
    } else {
        static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        time_t t = (time_t)(f->t0 / 1000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        *body = s.body;
        n = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\nDate: %s, %02d %s %d %02d:%02d:%02d GMT\r\nServer: %s\r\n"
                     "Content-Length: %llu\r\nConnection: %s\r\n",
                     s.code, s.status, days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     servers[(f->seed >> 8) % N(servers)], (unsigned long long)*body, conn);
        if (n > 0 && (size_t)n < cap && s.body)
            n += snprintf(buf + n, cap - (size_t)n, "Content-Type: %s\r\n", s.ctype);
        if (n > 0 && (size_t)n < cap && s.code == 301)
            n += snprintf(buf + n, cap - (size_t)n, "Location: https://%s%s\r\n", host, s.path);
    }
    if (n > 0 && (size_t)n + 2 < cap)
        n += snprintf(buf + n, cap - (size_t)n, "\r\n");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static const char lorem[] =
    "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>\n";
static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Welcome</title>"
    "</head>\n<body>\n";
static const char html_tail[] = "</body></html>\n";

/* Body bytes [off, off + n) of a body of `len` bytes. Text bodies are an
 * HTML skeleton around repeated paragraphs; binary ones a magic number and
 * pseudo-random bytes. */
static void body_fill(uint64_t seed, int binary, uint64_t len, uint64_t off, uint8_t *dst,
                      uint32_t n)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t hl = sizeof(html_head) - 1, tl = sizeof(html_tail) - 1, ll = sizeof(lorem) - 1;
    int skeleton = len >= hl + tl + 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t p = off + i;
        if (binary) {
            if (p < 8) {
                dst[i] = png[p];
                continue;
            }
            uint64_t v = sl_syn_mix64(seed + p / 8);
            uint32_t k = (uint32_t)(p % 8);
            for (; i < n && k < 8; i++, k++)
                dst[i] = (uint8_t)(v >> (8 * k));
            i--;
        } else if (skeleton && p < hl) {
            dst[i] = (uint8_t)html_head[p];
        } else if (skeleton && p >= len - tl) {
            dst[i] = (uint8_t)html_tail[p - (len - tl)];
        } else {
            dst[i] = (uint8_t)lorem[(p + seed) % ll];
        }
    }
}

/* A DNS message over TCP: two length bytes, then the message. */
static size_t dns_tcp_msg(const struct sl_syn_flow *f, int dir, unsigned exch, uint8_t *buf,
                          size_t cap)
{
    struct sl_syn_dns_q q;
    sl_syn_dns_pick(&q, f->seed + exch, 1);
    size_t n =
        dir ? sl_syn_dns_response(&q, buf + 2, cap - 2) : sl_syn_dns_query(&q, buf + 2, cap - 2);
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    return n + 2;
}

uint64_t sl_syn_app_len(struct sl_syn_flow *f, int dir, unsigned exch)
{
    char head[1024];
    uint8_t msg[8192];
    uint64_t body = 0;
    switch (f->app) {
    case APP_HTTP:
    case APP_BULK:
        f->app_hlen = (uint32_t)http_head(f, dir, exch, head, sizeof(head), &body);
        return f->app_hlen + body;
    case APP_DNS:
        return dns_tcp_msg(f, dir, exch, msg, sizeof(msg));
    default:
        return 0;
    }
}

void sl_syn_app_fill(struct sl_syn_flow *f, int dir, unsigned exch, uint64_t off, uint8_t *dst,
                     uint32_t n)
{
    char head[1024];
    uint8_t msg[8192];
    uint64_t body = 0;
    if (f->app == APP_DNS) {
        size_t l = dns_tcp_msg(f, dir, exch, msg, sizeof(msg));
        for (uint32_t i = 0; i < n; i++)
            dst[i] = off + i < l ? msg[off + i] : 0;
        return;
    }
    if (f->app != APP_HTTP && f->app != APP_BULK) {
        memset(dst, 0, n);
        return;
    }
    /* The header is rendered only for segments that carry part of it. */
    uint32_t hl = f->app_hlen;
    if (off < hl) {
        hl = (uint32_t)http_head(f, dir, exch, head, sizeof(head), &body);
        uint32_t k = (uint32_t)(hl - off < n ? hl - off : n);
        memcpy(dst, head + off, k);
        dst += k, off += k, n -= k;
    }
    if (!n)
        return;
    struct http_spec s;
    http_spec(f, exch, &s);
    uint64_t blen = dir ? s.body : req_body_len(f, exch, &s);
    int binary = dir ? s.binary : 0;
    if (!dir) { /* a form body */
        for (uint32_t i = 0; i < n; i++)
            dst[i] = (uint8_t)("q=synthetic+traffic&lang=en&page=1&"[(off - hl + i) % 35]);
        return;
    }
    body_fill(f->seed, binary, blen, off - hl, dst, n);
}
