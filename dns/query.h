/* cdni-dns — a DNS query off the wire, bounds-checked (common/wire.h):
 * header, one question, the answer and authority sections skipped, the
 * additional section searched for one OPT (EDNS0, RFC 6891) and its
 * Client Subnet option (RFC 7871). Socket-free; unit-tested with truncated
 * headers, bad label lengths, compression loops and oversize input. */
#ifndef CDNI_DNS_QUERY_H
#define CDNI_DNS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR 12
#define DNS_NAME_MAX 255
#define DNS_MSG_MAX 65535

/* RR types and classes used here */
enum {
	T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_AAAA = 28, T_DS = 43, T_OPT = 41,
	T_RRSIG = 46, T_NSEC = 47, T_DNSKEY = 48, T_NSEC3 = 50, T_NSEC3PARAM = 51, T_TLSA = 52,
	T_IXFR = 251, T_AXFR = 252, T_ANY = 255, C_IN = 1,
};

/* RCODEs */
enum { RC_NOERROR = 0, RC_FORMERR = 1, RC_SERVFAIL = 2, RC_NXDOMAIN = 3, RC_NOTIMP = 4,
       RC_REFUSED = 5, RC_BADVERS = 16 };

/* What to do with a message: parse results. */
enum dnsq_verdict {
	DNSQ_OK = 0,      /* a query to answer */
	DNSQ_DROP = 1,    /* not worth an answer: shorter than a header, or a response */
	DNSQ_FORMERR = 2, /* malformed: answer FORMERR */
	DNSQ_NOTIMP = 3,  /* an opcode other than QUERY */
	DNSQ_BADVERS = 4, /* EDNS version above 0 */
};

struct dnsq_ecs {
	uint16_t family; /* 1 IPv4, 2 IPv6 */
	uint8_t source, scope;
	uint8_t addr[16];
};

struct dnsq {
	uint16_t id;
	uint16_t flags;      /* the header's second 16 bits as received */
	uint8_t qname[DNS_NAME_MAX]; /* lowercase wire form */
	size_t qname_len;
	int qlabels;         /* labels in qname, root excluded */
	size_t qend;         /* offset just after the question */
	uint16_t qtype, qclass;
	bool edns;
	uint16_t payload;    /* EDNS UDP payload size (at least 512) */
	bool do_bit;
	uint8_t edns_version;
	bool has_ecs;
	struct dnsq_ecs ecs;
};

/* Parse a message of len bytes. q is filled as far as parsing got: id and
 * flags whenever the header was there, the question when it parsed. */
enum dnsq_verdict dnsq_parse(const uint8_t *msg, size_t len, struct dnsq *q);

/* Helpers on wire names (uncompressed, lowercase). */
int dns_name_labels(const uint8_t *name);
/* Canonical order (RFC 4034 §6.1): <0, 0, >0. */
int dns_name_cmp(const uint8_t *a, const uint8_t *b);
/* Is name equal to or below zone? */
bool dns_name_under(const uint8_t *name, size_t len, const uint8_t *zone, size_t zlen);
/* Text form ("www.csp.test.") into buf. */
void dns_name_text(const uint8_t *name, char *buf, size_t len);

#endif
