/* cdni-dns — one zone from its file to a flat list of final RRs: read
 * (ldns), checked (names inside the apex; no wildcards, delegations or
 * DNAME: the answer engine does not implement them), extra records added
 * (TLSA), and signed with ldns when the config says so. Internal. */
#ifndef CDNI_DNS_ZONE_H
#define CDNI_DNS_ZONE_H

#include <ldns/ldns.h>

#include "dane/dane.h"
#include "dns/conf.h"

struct zone_src {
	ldns_zone *file;         /* as read; owns its RRs */
	ldns_rr_list *extra;     /* added records (TLSA); owned */
	ldns_rr_list *made;      /* records signing made; owned */
	ldns_dnssec_zone *dz;    /* shallow: points at the RRs above */
	ldns_rr_list *flat;      /* every final RR (borrowed pointers) */
	size_t dropped;          /* DNSSEC records dropped before signing */
};

/* Read zc->file. extra (may be NULL) is taken over. */
int zone_read(const struct dns_zone_conf *zc, ldns_rr_list *extra, struct zone_src *zs, char *err,
	      size_t errlen);
/* Sign (keys, [inception, expiration]) or not (zc->sign false), and fill
 * zs->flat. */
int zone_finish(const struct dns_zone_conf *zc, struct zone_src *zs, struct dane_keys *keys,
		uint32_t inception, uint32_t expiration, char *err, size_t errlen);
void zone_src_free(struct zone_src *zs);

#endif
