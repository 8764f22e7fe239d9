/* cdni-dns — building a db from the config: the policy, the TLSA records
 * (draft §4.1: the CSP's own certificate and each delegated dCDN's), keys,
 * signing, DS output, compiling. */
#include "dns/db.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "dns/zone.h"

#define MAX_PORTS 16

static int rules_add(struct dnspol *p, size_t idx, const struct dns_redirect_conf *r, char *err,
		     size_t errlen)
{
	const struct dns_rule_conf *rules = r->rules.v;
	int rc = 0;

	for (size_t i = 0; i < r->rules.n && rc == 0; i++) {
		const struct dns_choice_conf *ch = rules[i].dcdns.v;
		size_t n = rules[i].dcdns.n;
		const char **names = calloc(n ? n : 1, sizeof *names);
		unsigned *w = calloc(n ? n : 1, sizeof *w);
		char msg[256] = "";
		if (!names || !w)
			rc = CDNI_ENOMEM;
		for (size_t j = 0; rc == 0 && j < n; j++) {
			names[j] = ch[j].dcdn;
			w[j] = (unsigned)ch[j].weight;
		}
		if (rc == 0)
			rc = dnspol_add_rule(p, idx, (const char *const *)rules[i].subnets.v,
					     rules[i].subnets.n, names, w, n, msg, sizeof msg);
		if (rc && msg[0])
			snprintf(err, errlen, "rules[%zu]: %s", i, msg);
		free(names);
		free(w);
	}
	return rc;
}

static int policy_build(const struct dns_conf *c, struct dnspol **out, char *err, size_t errlen)
{
	const struct dns_dcdn_conf *d = c->dcdns.v;
	const struct dns_redirect_conf *r = c->redirects.v;
	struct dnspol *p = dnspol_new();
	char msg[300] = "";
	int rc = p ? 0 : CDNI_ENOMEM;

	for (size_t i = 0; rc == 0 && i < c->dcdns.n; i++) {
		if ((rc = dnspol_add_dcdn(p, d[i].name, d[i].target, d[i].down, msg, sizeof msg)) != 0)
			snprintf(err, errlen, "dcdns[%zu]: %s", i, msg);
		else
			p->dcdns[i].ask = d[i].rri.url != NULL;
	}
	for (size_t i = 0; rc == 0 && i < c->redirects.n; i++) {
		size_t idx;
		rc = dnspol_add_name(p, r[i].name, (uint32_t)r[i].ttl, &idx, msg, sizeof msg);
		if (rc == 0)
			rc = rules_add(p, idx, &r[i], msg, sizeof msg);
		if (rc)
			snprintf(err, errlen, "redirects[%zu]: %s", i, msg[0] ? msg : cdni_strerror(rc));
	}
	if (rc) {
		dnspol_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* ---- TLSA ----------------------------------------------------------------- */

static int tlsa_push(ldns_rr_list *l, const struct dns_tlsa_conf *t, const char *name, int port,
		     uint32_t ttl, char *err, size_t errlen)
{
	ldns_rr *rr = NULL;
	int rc = dane_tlsa_rr(t->cert, (int)t->usage, (int)t->selector, (int)t->mtype, name, port,
			      ttl, &rr, err, errlen);

	if (rc)
		return rc;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_compare(ldns_rr_list_rr(l, i), rr) == 0) {
			ldns_rr_free(rr); /* the same record twice (a CA shared by two dCDNs) */
			return 0;
		}
	if (!ldns_rr_list_push_rr(l, rr)) {
		ldns_rr_free(rr);
		return CDNI_ENOMEM;
	}
	return 0;
}

static bool uses_dcdn(const struct dns_redirect_conf *r, const char *dcdn)
{
	const struct dns_rule_conf *rules = r->rules.v;

	for (size_t i = 0; i < r->rules.n; i++)
		for (size_t j = 0; j < rules[i].dcdns.n; j++)
			if (strcmp(((const struct dns_choice_conf *)rules[i].dcdns.v)[j].dcdn, dcdn) == 0)
				return true;
	return false;
}

/* The TLSA RRset of one redirect at one port: the CSP's records, then
 * those of every dCDN its rules delegate to. */
static int tlsa_redirect(const struct dns_conf *c, const struct dns_redirect_conf *r, int port,
			 ldns_rr_list *l, char *err, size_t errlen)
{
	const struct dns_tlsa_conf *own = r->tlsa.v;
	const struct dns_dcdn_conf *d = c->dcdns.v;
	uint32_t ttl = (uint32_t)r->tlsa_ttl;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->tlsa.n; i++)
		rc = tlsa_push(l, &own[i], r->name, port, ttl, err, errlen);
	for (size_t i = 0; rc == 0 && i < c->dcdns.n; i++) {
		if (!uses_dcdn(r, d[i].name))
			continue;
		for (size_t j = 0; rc == 0 && j < d[i].tlsa.n; j++)
			rc = tlsa_push(l, &((const struct dns_tlsa_conf *)d[i].tlsa.v)[j], r->name, port,
				       ttl, err, errlen);
	}
	return rc;
}

static int tlsa_for_zone(const struct dns_conf *c, const struct db_zone *z, ldns_rr_list **out,
			 size_t *count, char *err, size_t errlen)
{
	const struct dns_redirect_conf *r = c->redirects.v;
	ldns_rr_list *l = ldns_rr_list_new();
	int ports[MAX_PORTS], rc = l ? 0 : CDNI_ENOMEM;

	for (size_t i = 0; rc == 0 && i < c->redirects.n; i++) {
		uint8_t wire[DNS_NAME_MAX];
		size_t len, np;
		if (dnspol_name_to_wire(r[i].name, wire, &len) ||
		    !dns_name_under(wire, len, z->apex, z->apexlen))
			continue;
		np = dns_redirect_ports(&r[i], ports, MAX_PORTS);
		for (size_t k = 0; rc == 0 && k < np; k++)
			rc = tlsa_redirect(c, &r[i], ports[k], l, err, errlen);
	}
	if (rc) {
		ldns_rr_list_deep_free(l);
		return rc;
	}
	*count = ldns_rr_list_rr_count(l);
	*out = l;
	return 0;
}

/* ---- one zone ----------------------------------------------------------------- */

static int ds_output(const struct dns_zone_conf *zc, struct db_zone *z, bool check, char *err,
		     size_t errlen)
{
	char *ds = dane_keys_ds_text(&z->keys, (uint32_t)zc->dnskey_ttl);
	FILE *f;
	int ok;

	if (!ds)
		return CDNI_ENOMEM;
	ds[strcspn(ds, "\n")] = '\0';
	log_info(z->name, "DS for the parent: %s", ds);
	if (!zc->ds_file || check) {
		free(ds);
		return 0;
	}
	f = fopen(zc->ds_file, "w");
	ok = f && fprintf(f, "%s\n", ds) > 0;
	ok = (f && fclose(f) == 0) && ok;
	free(ds);
	if (!ok) {
		snprintf(err, errlen, "ds_file %s: %s", zc->ds_file, strerror(errno));
		return CDNI_EIO;
	}
	return 0;
}

static int zone_setup(const struct dns_zone_conf *zc, struct db_zone *z, char *err, size_t errlen)
{
	z->name = strdup(zc->name);
	if (!z->name)
		return CDNI_ENOMEM;
	if (dnspol_name_to_wire(zc->name, z->apex, &z->apexlen)) {
		snprintf(err, errlen, "zone %s: bad name", zc->name);
		return CDNI_EINVAL;
	}
	z->naxfr = zc->allow_axfr.n;
	z->axfr = calloc(z->naxfr ? z->naxfr : 1, sizeof *z->axfr);
	if (!z->axfr)
		return CDNI_ENOMEM;
	for (size_t i = 0; i < z->naxfr; i++)
		dnspol_prefix_parse(zc->allow_axfr.v[i], &z->axfr[i]); /* checked with the config */
	z->validity = (uint32_t)zc->validity;
	z->inception_offset = (uint32_t)zc->inception_offset;
	z->refresh = (uint32_t)zc->refresh;
	return 0;
}

static int zone_keys(const struct dns_zone_conf *zc, struct db_zone *z, bool check, char *err,
		     size_t errlen)
{
	int alg = dane_alg_parse(zc->algorithm);
	int rc;

	if (alg < 0) {
		snprintf(err, errlen, "zone %s: unknown algorithm %s", zc->name, zc->algorithm);
		return CDNI_ECONFIG;
	}
	rc = dane_keys_load_or_make(zc->name, check ? NULL : zc->key_dir, alg, &z->keys, err, errlen);
	if (rc == 0)
		z->online = true;
	return rc;
}

static void zone_log(const struct dns_zone_conf *zc, const struct db_zone *z, size_t ntlsa,
		     const struct zone_src *zs)
{
	static const char *const den[] = { "unsigned", "NSEC", "NSEC3" };

	log_info(z->name, "%zu names (%zu records), %s%s, %zu TLSA records added%s", z->nnodes,
		 ldns_rr_list_rr_count(zs->flat), zc->sign ? "signed with " : "", den[z->denial],
		 ntlsa, zs->dropped ? " (old DNSSEC records dropped before signing)" : "");
}

static int zone_build(const struct dns_conf *c, const struct dns_zone_conf *zc, time_t now,
		      bool check, struct db_zone *z, char *err, size_t errlen)
{
	struct zone_src zs;
	ldns_rr_list *tlsa = NULL;
	size_t ntlsa = 0;
	int rc;

	memset(&zs, 0, sizeof zs);
	rc = zone_setup(zc, z, err, errlen);
	if (rc == 0)
		rc = tlsa_for_zone(c, z, &tlsa, &ntlsa, err, errlen);
	if (rc == 0 && zc->sign)
		rc = zone_keys(zc, z, check, err, errlen);
	if (rc == 0)
		rc = zone_read(zc, tlsa, &zs, err, errlen);
	else
		ldns_rr_list_deep_free(tlsa);
	if (rc == 0)
		rc = zone_finish(zc, &zs, &z->keys, (uint32_t)(now - zc->inception_offset),
				 (uint32_t)(now + zc->validity), err, errlen);
	if (rc == 0)
		rc = db_zone_compile(z, zs.flat, err, errlen);
	if (rc == 0)
		zone_log(zc, z, ntlsa, &zs);
	if (rc == 0 && zc->sign)
		rc = ds_output(zc, z, check, err, errlen);
	zone_src_free(&zs);
	return rc;
}

/* ---- the db ------------------------------------------------------------------------ */

static int policy_names_served(const struct db *db, char *err, size_t errlen)
{
	for (size_t i = 0; i < db->pol->nnames; i++) {
		const struct dnspol_name *n = &db->pol->names[i];
		if (!db_zone_find(db, n->wire, n->wirelen)) {
			snprintf(err, errlen, "redirects: %s is in no zone served here", n->name);
			return CDNI_ECONFIG;
		}
	}
	return 0;
}

int db_build(const struct dns_conf *c, uint64_t generation, bool check, struct db **out,
		char *err, size_t errlen)
{
	const struct dns_zone_conf *zc = c->zones.v;
	struct db *db = calloc(1, sizeof *db);
	time_t now = time(NULL);
	int rc = CDNI_ENOMEM;

	err[0] = '\0';
	if (!db || !(db->zones = calloc(c->zones.n, sizeof *db->zones)))
		goto fail;
	db->generation = generation;
	db->built = now;
	db->udp_payload = (uint32_t)c->udp_payload;
	db->minimal_any = c->minimal_any;
	rc = policy_build(c, &db->pol, err, errlen);
	for (size_t i = 0; rc == 0 && i < c->zones.n; i++, db->nzones++) {
		rc = zone_build(c, &zc[i], now, check, &db->zones[i], err, errlen);
		if (rc == 0 && zc[i].sign) {
			time_t at = now + zc[i].validity - zc[i].refresh;
			if (!db->resign_at || at < db->resign_at)
				db->resign_at = at;
		}
	}
	if (rc == 0)
		rc = policy_names_served(db, err, errlen);
	if (rc)
		goto fail;
	malloc_trim(0); /* give back what ldns used while signing */
	*out = db;
	return 0;
fail:
	if (rc == CDNI_ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	db_free(db);
	return rc;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->nzones; i++)
		db_zone_clear(&db->zones[i]);
	free(db->zones);
	dnspol_free(db->pol);
	free(db);
}
