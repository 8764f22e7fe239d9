/* cdni-dns — the answer database: every zone compiled from ldns into
 * wire-ready RRsets (owner names apart, so an answer is mostly memcpy),
 * hash-indexed names, canonical NSEC order and sorted NSEC3 hashes for
 * denial, the ZSK for online signing, and the redirection policy.
 *
 * A db is built whole from the config (zone files read, TLSA records added,
 * zones signed) and never changed afterwards: a reload builds a new one and
 * the server swaps it in. Socket-free. */
#ifndef CDNI_DNS_DB_H
#define CDNI_DNS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dane/dane.h"
#include "dns/conf.h"
#include "dns/query.h"
#include "redirect/dnspolicy.h"

struct db_rrset {
	uint16_t type;
	uint16_t nrr, nsig;
	uint32_t rrlen, siglen; /* bytes of the records, then of the RRSIGs */
	uint8_t *wire; /* each record: TYPE CLASS TTL RDLEN RDATA (no owner) */
};

enum { NODE_DATA = 1, NODE_ENT = 2, NODE_NSEC3 = 4 };

struct db_node {
	struct db_node *next; /* hash chain */
	uint32_t hash;
	uint8_t flags;
	uint8_t namelen;
	uint16_t nrrsets;
	struct db_rrset *rrsets;
	uint8_t name[]; /* wire, lowercase */
};

enum db_denial { DENIAL_NONE = 0, DENIAL_NSEC = 1, DENIAL_NSEC3 = 2 };

struct db_nsec3 {
	uint8_t hash[20];
	const struct db_node *node;
};

struct db_zone {
	char *name;
	uint8_t apex[DNS_NAME_MAX];
	size_t apexlen;
	struct db_node **tab;
	size_t tabmask;
	size_t nnodes;
	const struct db_node *apex_node;
	const struct db_rrset *soa;
	enum db_denial denial;
	const struct db_node **nsec; /* NSEC owners, canonical order */
	size_t nnsec;
	struct db_nsec3 *nsec3;      /* sorted by hash */
	size_t nnsec3;
	uint16_t n3_iter;
	uint8_t n3_saltlen, n3_salt[255];
	bool online;                 /* keys held: policy answers are signed */
	struct dane_keys keys;
	uint32_t validity, refresh, inception_offset; /* online signatures */
	uint32_t sig_expire_min;     /* earliest RRSIG expiration in the zone (0: none) */
	struct dnspol_prefix *axfr;  /* clients allowed to transfer */
	size_t naxfr;
};

struct db {
	struct db_zone *zones;
	size_t nzones;
	struct dnspol *pol;
	uint64_t generation;
	time_t built;
	time_t resign_at; /* rebuild (re-sign) at this time; 0: never */
	uint32_t udp_payload;
	bool minimal_any;
};

/* Build from a loaded config: read, sign and compile every zone, make the
 * TLSA records and the policy. Logs each zone (names, signatures, DS).
 * check: for -n, nothing is written (keys are fresh, no DS file). */
int db_build(const struct dns_conf *c, uint64_t generation, bool check, struct db **out,
	     char *err, size_t errlen);
void db_free(struct db *db);

/* The zone holding name (longest match), or NULL. */
const struct db_zone *db_zone_find(const struct db *db, const uint8_t *name, size_t len);
const struct db_node *db_node_find(const struct db_zone *z, const uint8_t *name, size_t len);
const struct db_rrset *db_rrset_find(const struct db_node *n, uint16_t type);
/* NSEC owner covering or matching name (canonical predecessor, wrapping). */
const struct db_node *db_nsec_cover(const struct db_zone *z, const uint8_t *name);
/* NSEC3 whose hash matches (exact) or covers the hash of name. */
const struct db_node *db_nsec3_find(const struct db_zone *z, const uint8_t *name, size_t len,
				    bool *exact);
uint32_t db_name_hash(const uint8_t *name, size_t len);

/* Internal to the build: compile a flat list of final RRs into z (whose
 * name, apex and apexlen are set); free what a zone holds. */
int db_zone_compile(struct db_zone *z, const ldns_rr_list *rrs, char *err, size_t errlen);
void db_zone_clear(struct db_zone *z);
/* Append one record without owner (TYPE CLASS TTL RDLEN RDATA) to *dst. */
int db_render_rr(const ldns_rr *rr, uint8_t **dst, uint32_t *len, uint32_t *cap);

#endif
