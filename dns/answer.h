/* cdni-dns — the answer engine: query bytes in, response bytes out
 * (socket-free). EDNS0 (payload size, DO), truncation, NXDOMAIN/NODATA with
 * the SOA and NSEC/NSEC3 proofs, REFUSED outside the zones served, FORMERR
 * for malformed queries, CNAME redirection by policy signed online with the
 * zone's ZSK (signatures cached per worker by (name, target) until they near
 * expiry), ECS echoed with its scope, AXFR for allowed clients over TCP. */
#ifndef CDNI_DNS_ANSWER_H
#define CDNI_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "dns/db.h"
#include "dns/ri.h"

struct dns_centry {
	uint8_t *wire;     /* CNAME record then its RRSIGs, owner-less */
	uint32_t rrlen, len;
	uint16_t nsig;
	time_t valid_until;
};

/* A redirection-interface answer rendered and signed for one name. */
struct dns_rientry {
	char *text;        /* the answer ("A 30 192.0.2.1"); NULL: free slot */
	size_t name;       /* policy name index */
	uint16_t nrr;
	struct dns_centry e;
};

#define DNS_RI_SLOTS 256

/* A worker's cache of online signatures; tied to one db generation. */
struct dns_cache {
	uint64_t gen;
	struct dns_centry *e; /* names x dCDNs */
	size_t n;
	struct dns_rientry ri[DNS_RI_SLOTS]; /* by hash of (name, answer) */
	uint64_t signs;       /* signatures made (for logs and tests) */
	struct dns_ri *asker; /* the redirection interface, or NULL (never asked) */
};

void dns_cache_free(struct dns_cache *c);

struct dns_client {
	int family;       /* 4 or 6 */
	uint8_t addr[16];
	bool tcp;
	/* A query back from waiting for a dCDN's redirection interface: */
	const struct dns_ri_waiter *given; /* its outcome (text NULL: failed) */
	uint64_t excluded;                 /* dCDNs that failed it so far (bits) */
};

/* What happened, for the access log. */
struct dns_info {
	int rcode;          /* -1: dropped */
	uint16_t qtype;
	char qname[256];
	const char *target; /* policy CNAME target, or NULL */
	bool truncated;
	bool axfr;
	int ecs_scope;      /* -1: no ECS */
	char ri_note[200];  /* what the redirection interface gave, or "" */
	struct dns_ri_ask wait; /* DNS_WAIT: what to ask */
	uint64_t excluded;  /* DNS_WAIT: dCDNs already failed (for the waiter) */
};

enum { DNS_RESPOND = 0, DNS_DROP = 1, DNS_AXFR = 2, DNS_WAIT = 3 };

/* Answer msg. Returns DNS_RESPOND with *outlen bytes in out (cap is the
 * buffer; UDP answers are truncated to the client's EDNS size, TCP ones to
 * 65535), DNS_DROP, DNS_AXFR (TCP only: call dns_axfr), or DNS_WAIT: the
 * answer needs a dCDN's redirection interface (info->wait says what to
 * ask); answer again with cl->given set once it has answered. */
int dns_answer(const struct db *db, struct dns_cache *cache, uint32_t rnd, time_t now,
	       const uint8_t *msg, size_t len, const struct dns_client *cl, uint8_t *out,
	       size_t cap, size_t *outlen, struct dns_info *info);

/* The zone transfer for the AXFR query msg, as TCP-framed messages
 * appended to out. Refused (one REFUSED message) unless the client is
 * allowed by the zone's allow_axfr. */
int dns_axfr(const struct db *db, const uint8_t *msg, size_t len, const struct dns_client *cl,
	     struct buf *out, struct dns_info *info);

#endif
