/* sl_net: the set of local networks (Zeek's Site::local_nets).
 *
 * Addresses are 16 bytes, IPv4 as IPv4-mapped IPv6 (the sl_pkt form); an
 * IPv4 prefix a.b.c.d/n is kept as ::ffff:a.b.c.d/(96+n), as Zeek keeps
 * subnets, so an IPv4 address never matches an IPv6-only prefix.
 *
 * By default the set holds Zeek's Site::private_address_space (RFC 1918,
 * CGNAT, loopback, link-local, documentation, benchmarking, ULA, their 6to4
 * forms, ...), because Site::private_address_space_is_local is T. A
 * networks file in zeekctl's networks.cfg format adds to it: one prefix per
 * line ("10.1.0.0/16  office", "2001:db8::/32", "[2001:db8::]/32"), an
 * optional description after whitespace, '#' comments, blank lines.
 */
#ifndef SL_NET_H
#define SL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_net;

/* An empty set, or Zeek's private address space when private_is_local.
 * Returns NULL with errno set. */
struct sl_net *sl_net_new(bool private_is_local);

/* Adds one prefix in text form (see above). Returns 0, -EINVAL for text
 * that is not a prefix, -ENOMEM. */
int sl_net_add(struct sl_net *n, const char *cidr);

/* Adds every prefix of a networks file. On a bad line returns -EINVAL and
 * writes "FILE:LINE: reason" into err; -errno when the file cannot be read. */
int sl_net_load(struct sl_net *n, const char *path, char *err, size_t errlen);

/* True when addr lies in one of the prefixes. */
bool sl_net_contains(const struct sl_net *n, const uint8_t addr[16]);

/* Number of prefixes (Zeek sets local_orig/local_resp only when > 0). */
size_t sl_net_count(const struct sl_net *n);

void sl_net_free(struct sl_net *n);

#endif
