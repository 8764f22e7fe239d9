/* cdni-dns — asking dCDNs where to send a client: the RFC 7975 redirection
 * interface in its DNS form, from the uCDN's authoritative server.
 *
 * When the policy sends an A or AAAA query to a dCDN that has an "rri" URL,
 * the answer engine looks for that dCDN's answer in a cache (per name, type
 * and dCDN; good for the clients of the answer's scope, or for the one
 * client asked for, until its Cache-Control lifetime ends). On a miss the
 * query waits: the server parks it here, a pool of threads POSTs a DNS
 * redirection request (resolver-ip, qname, qtype, qclass, c-subnet from
 * EDNS Client Subnet, cdn-path starting with our Provider ID, max-hops) with
 * a deadline, and hands the query back to its worker with the answer, which
 * then answers it (CNAME, or A/AAAA records, signed online). Queries for the
 * same client and name share one call. The epoll workers never block on a
 * dCDN.
 *
 * A dCDN that cannot be reached (or answers garbage) is skipped by every
 * query for hold_failed_s; one that declines (an RI error, no records) is
 * skipped for that client for as long. Skipping means the policy draws again
 * without it: the next dCDN, or the name served from the zone.
 *
 *   struct dns_ri *r;
 *   dns_ri_new(conf, db->generation, deliver, server, &r, err, sizeof err);
 *   ... the answer engine: dns_ri_get(r, &ask, now, &text, &bits) ...
 *   ... on DNS_WAIT: dns_ri_wait(r, &info.wait, waiter) ...
 *   dns_ri_reconf(r, newconf, newdb->generation);   // on reload
 *   dns_ri_free(r); */
#ifndef CDNI_DNS_RI_H
#define CDNI_DNS_RI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "common/buf.h"
#include "dns/conf.h"

/* What is asked, filled by the answer engine. */
struct dns_ri_ask {
	uint64_t gen;        /* the db generation the dCDN index belongs to */
	size_t dcdn;         /* index in the policy's dCDNs */
	uint16_t qtype;      /* 1 (A) or 28 (AAAA) */
	char qname[256];     /* text, no trailing dot */
	char client[64];     /* whom the answer is for: the ECS prefix, else the resolver */
	char resolver[48];   /* the querying resolver's address (resolver-ip) */
	char subnet[64];     /* the EDNS Client Subnet prefix (c-subnet), "" when none */
};

/* A parked query. The server fills everything up to msg; the asking thread
 * sets text/bits (answered) before handing it back. */
struct dns_ri_waiter {
	struct dns_ri_waiter *next;
	size_t worker;       /* whose socket answers it */
	uint64_t conn;       /* TCP connection id; 0: UDP */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	long long t0;        /* arrival (us), for the access log */
	uint32_t rnd;        /* the policy's draw, kept so the same dCDN is chosen again */
	size_t dcdn;         /* the dCDN asked */
	uint64_t gen;        /* in the db generation the index belongs to */
	uint64_t excluded;   /* dCDNs that failed this query before (bits) */
	char *text;          /* its answer ("A 30 192.0.2.1"), NULL: it failed */
	int bits;            /* the answer's scope prefix length */
	size_t len;
	uint8_t msg[];       /* the query */
};

enum { DNS_RI_MISS = 0, DNS_RI_HIT = 1, DNS_RI_FAILED = 2 };

typedef void (*dns_ri_deliver_fn)(void *cls, struct dns_ri_waiter *w);

struct dns_ri;

/* Start the asking threads with conf's dCDNs (generation gen); deliver is
 * called from those threads with each waiter once its call is over. */
int dns_ri_new(const struct dns_conf *conf, uint64_t gen, dns_ri_deliver_fn deliver, void *cls,
	       struct dns_ri **out, char *err, size_t errlen);
/* Use conf's dCDNs from now on (a reload); calls under way finish with
 * the old ones. conf need not outlive this call. */
int dns_ri_reconf(struct dns_ri *r, const struct dns_conf *conf, uint64_t gen);
/* Stop the threads; waiters not delivered are freed. */
void dns_ri_free(struct dns_ri *r);

/* The cached answer for k: DNS_RI_HIT with its text (reset first) and scope
 * length, DNS_RI_FAILED when the dCDN is to be skipped, DNS_RI_MISS. */
int dns_ri_get(struct dns_ri *r, const struct dns_ri_ask *k, time_t now, struct buf *text,
	       int *bits);
/* Park w (taken over) until k is answered. CDNI_EOVERFLOW (max_waiting) or
 * CDNI_ENOMEM: not parked, w still the caller's. */
int dns_ri_wait(struct dns_ri *r, const struct dns_ri_ask *k, struct dns_ri_waiter *w);
void dns_ri_waiter_free(struct dns_ri_waiter *w);

/* Calls made (for logs and tests). */
uint64_t dns_ri_calls(const struct dns_ri *r);

#endif
