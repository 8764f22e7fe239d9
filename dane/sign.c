/* cdni — DNSSEC signing with ldns: whole zones (NSEC or NSEC3 with 0
 * iterations and no salt, RFC 9276) and single RRsets (online signing). */
#include "dane/dane.h"

#include <stdio.h>

#include "common/err.h"

static void keys_validity(struct dane_keys *k, uint32_t inception, uint32_t expiration)
{
	for (size_t i = 0; i < ldns_key_list_key_count(k->all); i++) {
		ldns_key *key = ldns_key_list_key(k->all, i);
		ldns_key_set_inception(key, inception);
		ldns_key_set_expiration(key, expiration);
		ldns_key_set_use(key, true);
	}
}

static int add_dnskeys(ldns_dnssec_zone *zone, struct dane_keys *k, uint32_t ttl,
		       ldns_rr_list *made)
{
	for (size_t i = 0; i < ldns_key_list_key_count(k->all); i++) {
		ldns_rr *rr = ldns_key2rr(ldns_key_list_key(k->all, i));
		if (!rr)
			return CDNI_ENOMEM;
		ldns_rr_set_ttl(rr, ttl);
		if (!ldns_rr_list_push_rr(made, rr)) {
			ldns_rr_free(rr);
			return CDNI_ENOMEM;
		}
		if (ldns_dnssec_zone_add_rr(zone, rr) != LDNS_STATUS_OK)
			return CDNI_EINVAL;
	}
	return 0;
}

int dane_zone_sign(ldns_dnssec_zone *zone, struct dane_keys *k, enum dane_denial denial,
		   uint32_t ttl, uint32_t inception, uint32_t expiration, ldns_rr_list *made,
		   char *err, size_t errlen)
{
	ldns_status st;
	int rc;

	keys_validity(k, inception, expiration);
	rc = add_dnskeys(zone, k, ttl, made);
	if (rc) {
		snprintf(err, errlen, "cannot add the DNSKEYs: %s", cdni_strerror(rc));
		return rc;
	}
	if (denial == DANE_DENIAL_NSEC3)
		st = ldns_dnssec_zone_sign_nsec3_flg(zone, made, k->all,
						     ldns_dnssec_default_replace_signatures, NULL,
						     LDNS_SHA1, 0, 0, 0, NULL, 0);
	else
		st = ldns_dnssec_zone_sign_flg(zone, made, k->all,
					       ldns_dnssec_default_replace_signatures, NULL, 0);
	keys_validity(k, inception, expiration); /* ldns turns use off while it filters */
	if (st != LDNS_STATUS_OK) {
		snprintf(err, errlen, "signing failed: %s", ldns_get_errorstr_by_id(st));
		return CDNI_ETLS;
	}
	return 0;
}

static ldns_rdf *time_rdf(uint32_t t)
{
	return ldns_native2rdf_int32(LDNS_RDF_TYPE_TIME, t);
}

/* The RRSIG over a canonical, sorted copy of rrset (RFC 4034 §3.1.8.1). */
static ldns_rr *sign_one(ldns_rr_list *canon, ldns_key *key, uint32_t inception, uint32_t expiration)
{
	ldns_rr *sig = ldns_create_empty_rrsig(canon, key);
	ldns_buffer *buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	ldns_rdf *b64 = NULL;

	if (!sig || !buf)
		goto fail;
	ldns_rr_rrsig_set_inception(sig, time_rdf(inception));
	ldns_rr_rrsig_set_expiration(sig, time_rdf(expiration));
	if (ldns_rrsig2buffer_wire(buf, sig) != LDNS_STATUS_OK ||
	    ldns_rr_list2buffer_wire(buf, canon) != LDNS_STATUS_OK)
		goto fail;
	b64 = ldns_sign_public_buffer(buf, key);
	if (!b64)
		goto fail;
	ldns_rr_rrsig_set_sig(sig, b64);
	ldns_buffer_free(buf);
	return sig;
fail:
	ldns_buffer_free(buf);
	ldns_rr_free(sig);
	return NULL;
}

int dane_rrset_sign(const ldns_rr_list *rrset, const struct dane_keys *k, uint32_t inception,
		    uint32_t expiration, ldns_rr_list **sigs)
{
	ldns_rr_list *canon = NULL, *out = NULL;
	ldns_rr *sig = NULL;
	int rc = CDNI_ENOMEM;

	if (!k->zsk || ldns_rr_list_rr_count(rrset) == 0)
		return CDNI_EINVAL;
	canon = ldns_rr_list_clone(rrset);
	out = ldns_rr_list_new();
	if (!canon || !out)
		goto done;
	for (size_t i = 0; i < ldns_rr_list_rr_count(canon); i++) {
		ldns_rr_set_ttl(ldns_rr_list_rr(canon, i), ldns_rr_ttl(ldns_rr_list_rr(rrset, 0)));
		ldns_rr2canonical(ldns_rr_list_rr(canon, i));
	}
	ldns_rr_list_sort(canon);
	sig = sign_one(canon, k->zsk, inception, expiration);
	rc = sig && ldns_rr_list_push_rr(out, sig) ? 0 : CDNI_ETLS;
	if (rc == 0) {
		*sigs = out;
		out = NULL;
	} else {
		ldns_rr_free(sig);
	}
done:
	ldns_rr_list_deep_free(canon);
	ldns_rr_list_deep_free(out);
	return rc;
}
