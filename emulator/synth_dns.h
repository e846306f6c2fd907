/* DNS wire format for the synthesizer: queries and their answers (A, AAAA,
 * PTR, MX, TXT, NXDOMAIN with an SOA), with name compression in answers as
 * real servers write it: pointers to the question and into earlier RDATA.
 * Everything is a pure function of a 64-bit seed, so a message can be
 * rebuilt identically whenever a segment of it is emitted again. */
#ifndef SL_SYN_DNS_H
#define SL_SYN_DNS_H

#include <stddef.h>
#include <stdint.h>

struct sl_syn_dns_q {
    uint64_t seed; /* record contents */
    uint16_t id;
    uint16_t qtype; /* 1 A, 28 AAAA, 12 PTR, 15 MX, 16 TXT */
    uint8_t rcode;  /* 0 NOERROR, 3 NXDOMAIN */
    uint8_t n_ans;
    uint8_t cname; /* the answer starts with a CNAME (A/AAAA) */
    uint8_t edns;  /* an OPT record in the additional section */
    char qname[128];
};

/* Chooses a query from the seed; `many` asks for a long answer (DNS over
 * TCP: tens of records). */
void sl_syn_dns_pick(struct sl_syn_dns_q *q, uint64_t seed, int many);

/* Writes the query / the response into buf; returns the length, or 0 when
 * cap is too small. */
size_t sl_syn_dns_query(const struct sl_syn_dns_q *q, uint8_t *buf, size_t cap);
size_t sl_syn_dns_response(const struct sl_syn_dns_q *q, uint8_t *buf, size_t cap);

/* A plausible host name ("www.globex-cdn.net") from a hash. */
void sl_syn_dns_hostname(uint64_t h, char *buf, size_t cap);

#endif
