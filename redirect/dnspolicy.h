/* cdni — DNS redirection policy (draft §4): which dCDN name a CSP name
 * answers with, as a CNAME, for one client. Socket-free; cdni-dns calls it
 * for every query at a policy name.
 *
 * A policy name has rules tried in order; a rule matches a client by subnet
 * (the source address, or the EDNS Client Subnet of RFC 7871) and lists
 * dCDNs with weights. A rule without subnets is the default and matches
 * everyone. Among the dCDNs of the first matching rule that are available
 * (not marked down in the config, not failing their health check), one is
 * drawn by weight; when none is, the next matching rule is tried. When no
 * rule gives a dCDN the name is served directly from the zone (A/AAAA).
 *
 *   struct dnspol *p = dnspol_new();
 *   dnspol_add_dcdn(p, "dcdn", "edge.dcdn.test", false);
 *   size_t n; dnspol_add_name(p, "www.csp.test", 30, &n);
 *   const char *d[] = { "dcdn" }; unsigned w[] = { 1 };
 *   dnspol_add_rule(p, n, NULL, 0, d, w, 1, err, sizeof err);
 *   dnspol_choose(p, &p->names[n], &client, random, &res);  */
#ifndef CDNI_REDIRECT_DNSPOLICY_H
#define CDNI_REDIRECT_DNSPOLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSPOL_NAME_MAX 255 /* wire length of a domain name */

struct dnspol_dcdn {
	char *name;                      /* the config's name for it */
	char *target;                    /* "edge.dcdn.test" */
	uint8_t wire[DNSPOL_NAME_MAX];   /* target, wire form, lowercase */
	size_t wirelen;
	bool down;                       /* marked down in the config */
	bool ask;                        /* answers come from its redirection interface
					    (RFC 7975) for A and AAAA queries */
	atomic_int healthy;              /* health check verdict: 1 up (start), 0 down */
};

struct dnspol_prefix {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	int len;    /* bits */
};

struct dnspol_choice {
	size_t dcdn; /* index in dcdns */
	unsigned weight;
};

struct dnspol_rule {
	struct dnspol_prefix *pfx; /* none: matches every client */
	size_t npfx;
	struct dnspol_choice *c;
	size_t nc;
};

struct dnspol_name {
	char *name;
	uint8_t wire[DNSPOL_NAME_MAX];
	size_t wirelen;
	uint32_t ttl;
	struct dnspol_rule *rules;
	size_t nrules;
};

struct dnspol {
	struct dnspol_dcdn *dcdns;
	size_t ndcdns;
	struct dnspol_name *names;
	size_t nnames;
};

/* The client as the policy sees it: an address and how many of its leading
 * bits are known (32/128 for a source address, the ECS source prefix length
 * otherwise). family 0: unknown (only default rules match). */
struct dnspol_client {
	int family;
	uint8_t addr[16];
	int bits;
};

struct dnspol_result {
	const struct dnspol_dcdn *dcdn; /* NULL: serve directly */
	size_t dcdn_index;
	int scope; /* ECS scope prefix length the answer holds for (RFC 7871 §7.2.1) */
	int rule;  /* index of the rule used, -1 for none */
};

struct dnspol *dnspol_new(void);
void dnspol_free(struct dnspol *p);

/* Text to wire (lowercase, absolute); CDNI_EINVAL for a bad name. */
int dnspol_name_to_wire(const char *name, uint8_t *wire, size_t *len);
/* "10.0.0.0/8", "2001:db8::/32", or a bare address (full length). Host
 * bits beyond the length must be zero. */
int dnspol_prefix_parse(const char *s, struct dnspol_prefix *p);
bool dnspol_prefix_match(const struct dnspol_prefix *p, const struct dnspol_client *c);

int dnspol_add_dcdn(struct dnspol *p, const char *name, const char *target, bool down,
		    char *err, size_t errlen);
int dnspol_add_name(struct dnspol *p, const char *name, uint32_t ttl, size_t *index, char *err,
		    size_t errlen);
/* A rule for name `index`: subnets (none: default rule), dCDN names and
 * weights (1..1000). Errors name the subnet or dCDN. */
int dnspol_add_rule(struct dnspol *p, size_t index, const char *const *subnets, size_t nsubnets,
		    const char *const *dcdns, const unsigned *weights, size_t n, char *err,
		    size_t errlen);

/* Index of a dCDN by its config name, or -1. */
long dnspol_dcdn_find(const struct dnspol *p, const char *name);
/* The policy name with this wire name (lowercase), or NULL. */
const struct dnspol_name *dnspol_lookup(const struct dnspol *p, const uint8_t *wire, size_t len);

bool dnspol_dcdn_available(const struct dnspol_dcdn *d);

/* Choose for client c; rnd draws among weights (any 32-bit value). Returns
 * 0 with r filled (r->dcdn NULL: serve directly). */
int dnspol_choose(const struct dnspol *p, const struct dnspol_name *n,
		  const struct dnspol_client *c, uint32_t rnd, struct dnspol_result *r);
/* The same with the dCDNs whose bit (1 << index, the first 64) is set in
 * excluded treated as unavailable: the next choice after a dCDN failed. */
int dnspol_choose_excluding(const struct dnspol *p, const struct dnspol_name *n,
			    const struct dnspol_client *c, uint32_t rnd, uint64_t excluded,
			    struct dnspol_result *r);

#endif
