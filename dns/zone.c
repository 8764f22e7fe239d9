/* cdni-dns — zone files in, a flat signed RR list out. */
#include "dns/zone.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

static bool dnssec_type(ldns_rr_type t)
{
	return t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3 ||
	       t == LDNS_RR_TYPE_NSEC3PARAM || t == LDNS_RR_TYPE_DNSKEY;
}

/* What the answer engine cannot serve is refused at load, with the name. */
static int rr_check(const ldns_rr *rr, const ldns_rdf *apex, char *err, size_t errlen)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	ldns_rr_type t = ldns_rr_get_type(rr);
	char *s = NULL, *ts = NULL;
	const char *why = NULL;

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		why = "class is not IN";
	else if (ldns_dname_compare(owner, apex) != 0 && !ldns_dname_is_subdomain(owner, apex))
		why = "outside the zone";
	else if (ldns_dname_is_wildcard(owner))
		why = "wildcards are not supported";
	else if (t == LDNS_RR_TYPE_NS && ldns_dname_compare(owner, apex) != 0)
		why = "delegations are not supported";
	else if (t == LDNS_RR_TYPE_DNAME)
		why = "DNAME is not supported";
	else if (t == LDNS_RR_TYPE_SOA && ldns_dname_compare(owner, apex) != 0)
		why = "SOA below the apex";
	if (!why)
		return 0;
	s = ldns_rdf2str(owner);
	ts = ldns_rr_type2str(t);
	snprintf(err, errlen, "%s %s: %s", s ? s : "?", ts ? ts : "?", why);
	free(s);
	free(ts);
	return CDNI_EINVAL;
}

static int read_file(const struct dns_zone_conf *zc, ldns_rdf *apex, ldns_zone **out, char *err,
		     size_t errlen)
{
	FILE *f = fopen(zc->file, "r");
	ldns_status st;
	int line = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", zc->file, strerror(errno));
		return CDNI_EIO;
	}
	st = ldns_zone_new_frm_fp_l(out, f, apex, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	if (st != LDNS_STATUS_OK) {
		snprintf(err, errlen, "%s:%d: %s", zc->file, line, ldns_get_errorstr_by_id(st));
		return CDNI_EPARSE;
	}
	if (!ldns_zone_soa(*out) || ldns_dname_compare(ldns_rr_owner(ldns_zone_soa(*out)), apex) != 0) {
		snprintf(err, errlen, "%s: no SOA at the apex %s", zc->file, zc->name);
		ldns_zone_deep_free(*out);
		*out = NULL;
		return CDNI_EINVAL;
	}
	return 0;
}

int zone_read(const struct dns_zone_conf *zc, ldns_rr_list *extra, struct zone_src *zs, char *err,
	      size_t errlen)
{
	ldns_rdf *apex = ldns_dname_new_frm_str(zc->name);
	const ldns_rr_list *rrs;
	char msg[400];
	int rc;

	memset(zs, 0, sizeof *zs);
	zs->extra = extra;
	if (!apex)
		return CDNI_EINVAL;
	ldns_dname2canonical(apex);
	rc = read_file(zc, apex, &zs->file, err, errlen);
	rrs = rc == 0 ? ldns_zone_rrs(zs->file) : NULL;
	for (size_t i = 0; rrs && rc == 0 && i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		ldns_dname2canonical(ldns_rr_owner(rr));
		rc = rr_check(rr, apex, msg, sizeof msg);
		if (rc)
			snprintf(err, errlen, "%s: %s", zc->file, msg);
	}
	for (size_t i = 0; extra && rc == 0 && i < ldns_rr_list_rr_count(extra); i++)
		rc = rr_check(ldns_rr_list_rr(extra, i), apex, err, errlen);
	ldns_rdf_deep_free(apex);
	return rc;
}

static int flat_push(ldns_rr_list *flat, ldns_rr *rr)
{
	return ldns_rr_list_push_rr(flat, rr) ? 0 : CDNI_ENOMEM;
}

static int flat_rrs(ldns_rr_list *flat, const ldns_dnssec_rrs *r)
{
	for (; r; r = r->next)
		if (flat_push(flat, r->rr))
			return CDNI_ENOMEM;
	return 0;
}

/* Every RR of a signed ldns_dnssec_zone, NSEC3 records (under their
 * hashed owners) included. */
static int flatten(ldns_dnssec_zone *dz, ldns_rr_list *flat)
{
	for (ldns_rbnode_t *n = ldns_rbtree_first(dz->names); n != LDNS_RBTREE_NULL;
	     n = ldns_rbtree_next(n)) {
		const ldns_dnssec_name *name = n->data;
		for (const ldns_dnssec_rrsets *s = name->rrsets; s; s = s->next)
			if (flat_rrs(flat, s->rrs) || flat_rrs(flat, s->signatures))
				return CDNI_ENOMEM;
		if (name->nsec && (flat_push(flat, name->nsec) || flat_rrs(flat, name->nsec_signatures)))
			return CDNI_ENOMEM;
	}
	return 0;
}

static int dz_add(ldns_dnssec_zone *dz, ldns_rr *rr, char *err, size_t errlen)
{
	ldns_status st = ldns_dnssec_zone_add_rr(dz, rr);
	char *s;

	if (st == LDNS_STATUS_OK)
		return 0;
	s = ldns_rr2str(rr);
	snprintf(err, errlen, "cannot add %s: %s", s ? s : "?", ldns_get_errorstr_by_id(st));
	free(s);
	return CDNI_EINVAL;
}

static int sign_zone(const struct dns_zone_conf *zc, struct zone_src *zs, struct dane_keys *keys,
		     uint32_t inception, uint32_t expiration, char *err, size_t errlen)
{
	const ldns_rr_list *rrs = ldns_zone_rrs(zs->file);
	int rc;

	zs->dz = ldns_dnssec_zone_new();
	zs->made = ldns_rr_list_new();
	if (!zs->dz || !zs->made)
		return CDNI_ENOMEM;
	rc = dz_add(zs->dz, ldns_zone_soa(zs->file), err, errlen);
	for (size_t i = 0; rc == 0 && i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (dnssec_type(ldns_rr_get_type(rr)))
			zs->dropped++;
		else
			rc = dz_add(zs->dz, rr, err, errlen);
	}
	for (size_t i = 0; zs->extra && rc == 0 && i < ldns_rr_list_rr_count(zs->extra); i++)
		rc = dz_add(zs->dz, ldns_rr_list_rr(zs->extra, i), err, errlen);
	if (rc == 0)
		rc = dane_zone_sign(zs->dz, keys, zc->denial ? DANE_DENIAL_NSEC3 : DANE_DENIAL_NSEC,
				    (uint32_t)zc->dnskey_ttl, inception, expiration, zs->made, err,
				    errlen);
	if (rc == 0)
		rc = flatten(zs->dz, zs->flat);
	return rc;
}

int zone_finish(const struct dns_zone_conf *zc, struct zone_src *zs, struct dane_keys *keys,
		uint32_t inception, uint32_t expiration, char *err, size_t errlen)
{
	const ldns_rr_list *rrs = ldns_zone_rrs(zs->file);
	int rc = 0;

	zs->flat = ldns_rr_list_new();
	if (!zs->flat)
		return CDNI_ENOMEM;
	if (zc->sign)
		return sign_zone(zc, zs, keys, inception, expiration, err, errlen);
	rc = flat_push(zs->flat, ldns_zone_soa(zs->file));
	for (size_t i = 0; rc == 0 && i < ldns_rr_list_rr_count(rrs); i++)
		rc = flat_push(zs->flat, ldns_rr_list_rr(rrs, i));
	for (size_t i = 0; zs->extra && rc == 0 && i < ldns_rr_list_rr_count(zs->extra); i++)
		rc = flat_push(zs->flat, ldns_rr_list_rr(zs->extra, i));
	return rc;
}

void zone_src_free(struct zone_src *zs)
{
	if (zs->flat)
		ldns_rr_list_free(zs->flat);
	if (zs->dz)
		ldns_dnssec_zone_free(zs->dz);
	ldns_rr_list_deep_free(zs->made);
	ldns_rr_list_deep_free(zs->extra);
	if (zs->file)
		ldns_zone_deep_free(zs->file);
	memset(zs, 0, sizeof *zs);
}
