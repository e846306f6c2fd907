/* sl_net: see sl_net.h. */
#include "sl_net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pfx {
    uint8_t a[16];
    uint8_t len; /* 0..128 over the 16-byte form */
};

struct sl_net {
    struct pfx *p;
    size_t n, cap;
};

/* Site::private_address_space of Zeek 8 (scripts/base/utils/site.zeek). */
static const char *const private_space[] = {
    "0.0.0.0/8",
    "2002::/24",
    "10.0.0.0/8",
    "2002:a00::/24",
    "100.64.0.0/10",
    "2002:6440::/26",
    "127.0.0.0/8",
    "2002:7f00::/24",
    "169.254.0.0/16",
    "2002:a9fe::/32",
    "172.16.0.0/12",
    "2002:ac10::/28",
    "192.0.0.0/24",
    "2002:c000::/40",
    "192.0.2.0/24",
    "2002:c000:200::/40",
    "192.168.0.0/16",
    "2002:c0a8::/32",
    "198.18.0.0/15",
    "2002:c612::/31",
    "198.51.100.0/24",
    "2002:c633:6400::/40",
    "203.0.113.0/24",
    "2002:cb00:7100::/40",
    "224.0.0.0/24",
    "2002:e000::/40",
    "239.0.0.0/8",
    "2002:ef00::/24",
    "240.0.0.0/4",
    "2002:f000::/20",
    "255.255.255.255/32",
    "2002:ffff:ffff::/48",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
};

static void mask(uint8_t a[16], unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = len > i * 8 ? len - i * 8 : 0;
        if (bits >= 8)
            continue;
        a[i] &= (uint8_t)(0xff00u >> bits);
    }
}

static int parse(const char *text, struct pfx *out)
{
    char buf[80];
    size_t n = strlen(text);
    char *slash, *end;
    long len = -1;

    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, text, n + 1);
    slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        errno = 0;
        len = strtol(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end || len < 0)
            return -EINVAL;
    }
    char *addr = buf;
    size_t al = strlen(addr);
    if (al >= 2 && addr[0] == '[' && addr[al - 1] == ']') {
        addr[al - 1] = '\0';
        addr++;
    }
    memset(out, 0, sizeof(*out));
    struct in_addr v4;
    if (inet_pton(AF_INET, addr, &v4) == 1) {
        if (len > 32)
            return -EINVAL;
        out->a[10] = out->a[11] = 0xff;
        memcpy(out->a + 12, &v4, 4);
        out->len = (uint8_t)(96 + (len < 0 ? 32 : len));
    } else if (inet_pton(AF_INET6, addr, out->a) == 1) {
        if (len > 128)
            return -EINVAL;
        out->len = (uint8_t)(len < 0 ? 128 : len);
    } else {
        return -EINVAL;
    }
    mask(out->a, out->len);
    return 0;
}

struct sl_net *sl_net_new(bool private_is_local)
{
    struct sl_net *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    if (private_is_local) {
        for (size_t i = 0; i < sizeof(private_space) / sizeof(private_space[0]); i++) {
            int rc = sl_net_add(n, private_space[i]);
            if (rc < 0) {
                sl_net_free(n);
                errno = -rc;
                return NULL;
            }
        }
    }
    return n;
}

int sl_net_add(struct sl_net *n, const char *cidr)
{
    struct pfx p;
    int rc = parse(cidr, &p);
    if (rc < 0)
        return rc;
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 64;
        struct pfx *np = realloc(n->p, cap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        n->p = np;
        n->cap = cap;
    }
    n->p[n->n++] = p;
    return 0;
}

int sl_net_load(struct sl_net *n, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[512];
    unsigned lineno = 0;
    int rc = 0;

    if (!f) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = line;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            continue;
        char *e = s;
        while (*e && !isspace((unsigned char)*e))
            e++;
        *e = '\0';
        rc = sl_net_add(n, s);
        if (rc < 0) {
            snprintf(err, errlen, "%s:%u: not a network prefix: '%s'", path, lineno, s);
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = -EIO;
        snprintf(err, errlen, "%s: read error", path);
    }
    fclose(f);
    return rc;
}

bool sl_net_contains(const struct sl_net *n, const uint8_t addr[16])
{
    for (size_t i = 0; i < n->n; i++) {
        const struct pfx *p = &n->p[i];
        unsigned full = p->len / 8, rem = p->len % 8;
        if (memcmp(addr, p->a, full) != 0)
            continue;
        if (rem && ((addr[full] ^ p->a[full]) & (uint8_t)(0xff00u >> rem)))
            continue;
        return true;
    }
    return false;
}

size_t sl_net_count(const struct sl_net *n)
{
    return n ? n->n : 0;
}

void sl_net_free(struct sl_net *n)
{
    if (!n)
        return;
    free(n->p);
    free(n);
}
