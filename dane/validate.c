/* cdni — a validating stub resolver on ldns: it asks one resolver (or an
 * authoritative server) with DO and CD set, and validates what comes back
 * itself, from trust anchors down: DNSKEY sets that match an anchor (or a
 * DS validated in the parent), then RRSIGs over the answer, then NSEC/NSEC3
 * denial. With trust_ad it believes the resolver's AD bit instead.
 *
 * Names under no anchor are insecure; under an anchor, anything that does not
 * validate is bogus (this validator does not look for insecure delegations
 * inside a signed zone: cdni's zones have none). */
#include "dane/dane.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define ZK_CACHE 16
#define KEY_DEPTH 8

struct zone_keys {
	ldns_rdf *zone;
	ldns_rr_list *keys; /* validated DNSKEYs; NULL when bogus */
	char *why;
};

struct dane_vr {
	ldns_resolver *res;
	ldns_rr_list *anchors;
	bool trust_ad;
	char server[96];
	struct zone_keys zk[ZK_CACHE];
	size_t nzk;
};

const char *dane_sec_name(enum dane_sec s)
{
	switch (s) {
	case DANE_SECURE: return "secure";
	case DANE_INSECURE: return "insecure";
	default: return "bogus";
	}
}

/* ---- set-up ---------------------------------------------------------------- */

static int parse_server(const char *s, char *ip, size_t iplen, uint16_t *port)
{
	const char *at = strchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);
	char *end;
	long p = 53;

	if (n == 0 || n >= iplen)
		return CDNI_EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (at) {
		p = strtol(at + 1, &end, 10);
		if (*end || end == at + 1 || p < 1 || p > 65535)
			return CDNI_EINVAL;
	}
	*port = (uint16_t)p;
	return 0;
}

static int resolver_make(const struct dane_vr_opts *o, struct dane_vr *vr, char *err, size_t errlen)
{
	char ip[64];
	uint16_t port = 53;
	ldns_rdf *addr;

	if (!o->server) {
		if (ldns_resolver_new_frm_file(&vr->res, NULL) != LDNS_STATUS_OK) {
			snprintf(err, errlen, "cannot read /etc/resolv.conf");
			return CDNI_EIO;
		}
		snprintf(vr->server, sizeof vr->server, "resolv.conf");
		return 0;
	}
	if (parse_server(o->server, ip, sizeof ip, &port) ||
	    !(addr = ldns_rdf_new_frm_str(strchr(ip, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, ip))) {
		snprintf(err, errlen, "resolver %s: want IP or IP@PORT", o->server);
		return CDNI_EINVAL;
	}
	vr->res = ldns_resolver_new();
	if (!vr->res || ldns_resolver_push_nameserver(vr->res, addr) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(addr);
		return CDNI_ENOMEM;
	}
	ldns_rdf_deep_free(addr);
	ldns_resolver_set_port(vr->res, port);
	snprintf(vr->server, sizeof vr->server, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
	return 0;
}

int dane_vr_new(const struct dane_vr_opts *o, struct dane_vr **out, char *err, size_t errlen)
{
	struct dane_vr *vr = calloc(1, sizeof *vr);
	long ms = o->timeout_ms > 0 ? o->timeout_ms : 3000;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int rc = CDNI_ENOMEM;

	if (!vr)
		return rc;
	vr->trust_ad = o->trust_ad;
	rc = resolver_make(o, vr, err, errlen);
	if (rc == 0 && o->anchors)
		rc = dane_anchors_load(o->anchors, &vr->anchors, err, errlen);
	if (rc) {
		dane_vr_free(vr);
		return rc;
	}
	ldns_resolver_set_dnssec(vr->res, true);
	ldns_resolver_set_dnssec_cd(vr->res, !o->trust_ad);
	ldns_resolver_set_edns_udp_size(vr->res, 1232);
	ldns_resolver_set_timeout(vr->res, tv);
	ldns_resolver_set_retry(vr->res, 1);
	ldns_resolver_set_fallback(vr->res, true);
	ldns_resolver_set_random(vr->res, false);
	*out = vr;
	return 0;
}

void dane_vr_free(struct dane_vr *vr)
{
	if (!vr)
		return;
	for (size_t i = 0; i < vr->nzk; i++) {
		ldns_rdf_deep_free(vr->zk[i].zone);
		ldns_rr_list_deep_free(vr->zk[i].keys);
		free(vr->zk[i].why);
	}
	if (vr->res)
		ldns_resolver_deep_free(vr->res);
	ldns_rr_list_deep_free(vr->anchors);
	free(vr);
}

const char *dane_vr_server(const struct dane_vr *vr)
{
	return vr->server;
}

/* ---- packets ------------------------------------------------------------------ */

static ldns_pkt *ask(struct dane_vr *vr, const ldns_rdf *name, ldns_rr_type t)
{
	ldns_pkt *p = NULL;

	if (ldns_resolver_send(&p, vr->res, name, t, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK) {
		ldns_pkt_free(p);
		return NULL;
	}
	return p;
}

/* Clones of the RRs of a section with this owner and type (RRSIGs: covering
 * type). Never NULL unless out of memory. */
static ldns_rr_list *pick(const ldns_rr_list *sec, const ldns_rdf *owner, ldns_rr_type t, bool sigs)
{
	ldns_rr_list *l = ldns_rr_list_new();

	for (size_t i = 0; l && i < ldns_rr_list_rr_count(sec); i++) {
		ldns_rr *rr = ldns_rr_list_rr(sec, i);
		ldns_rr_type rt = ldns_rr_get_type(rr);
		if (owner && ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		if (sigs ? rt != LDNS_RR_TYPE_RRSIG || !ldns_rr_rrsig_typecovered(rr) ||
				   ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) != t
			 : rt != t)
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		if (!c || !ldns_rr_list_push_rr(l, c)) {
			ldns_rr_free(c);
			ldns_rr_list_deep_free(l);
			return NULL;
		}
	}
	return l;
}

static void set_why(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(char **why, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (*why)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	*why = strdup(buf);
}

static char *rdf_str(const ldns_rdf *r, char *buf, size_t len)
{
	char *s = ldns_rdf2str(r);

	snprintf(buf, len, "%s", s ? s : "?");
	free(s);
	return buf;
}

/* ---- validation -------------------------------------------------------------- */

static bool covered(const struct dane_vr *vr, const ldns_rdf *name)
{
	for (size_t i = 0; vr->anchors && i < ldns_rr_list_rr_count(vr->anchors); i++) {
		const ldns_rdf *a = ldns_rr_owner(ldns_rr_list_rr(vr->anchors, i));
		if (ldns_dname_compare(name, a) == 0 || ldns_dname_is_subdomain(name, a))
			return true;
	}
	return false;
}

static enum dane_sec rrset_check(struct dane_vr *vr, ldns_rr_list *rrset, ldns_rr_list *sigs,
				 int depth, char **why);

static bool is_anchor(const struct dane_vr *vr, const ldns_rdf *zone)
{
	for (size_t i = 0; vr->anchors && i < ldns_rr_list_rr_count(vr->anchors); i++)
		if (ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(vr->anchors, i)), zone) == 0)
			return true;
	return false;
}

/* DNSKEYs of zone that match a DS or DNSKEY in `from` (anchors or a DS set). */
static ldns_rr_list *matching_keys(const ldns_rr_list *dnskeys, const ldns_rr_list *from,
				   const ldns_rdf *zone)
{
	ldns_rr_list *l = ldns_rr_list_new();

	for (size_t i = 0; l && i < ldns_rr_list_rr_count(dnskeys); i++) {
		ldns_rr *k = ldns_rr_list_rr(dnskeys, i);
		for (size_t j = 0; j < ldns_rr_list_rr_count(from); j++) {
			ldns_rr *a = ldns_rr_list_rr(from, j);
			if (ldns_dname_compare(ldns_rr_owner(a), zone) != 0)
				continue;
			if (ldns_rr_get_type(a) == LDNS_RR_TYPE_DS ? ldns_rr_compare_ds(a, k)
								   : ldns_rr_compare(a, k) == 0) {
				ldns_rr_list_push_rr(l, k); /* borrowed */
				break;
			}
		}
	}
	return l;
}

/* The DS set of zone, validated in its parent; NULL with *why on failure. */
static ldns_rr_list *parent_ds(struct dane_vr *vr, const ldns_rdf *zone, int depth, char **why)
{
	ldns_pkt *p = ask(vr, zone, LDNS_RR_TYPE_DS);
	ldns_rr_list *ds = NULL, *sigs = NULL;
	char z[256];

	if (!p) {
		set_why(why, "no answer for DS %s%s", rdf_str(zone, z, sizeof z), "");
		return NULL;
	}
	ds = pick(ldns_pkt_answer(p), zone, LDNS_RR_TYPE_DS, false);
	sigs = pick(ldns_pkt_answer(p), zone, LDNS_RR_TYPE_DS, true);
	ldns_pkt_free(p);
	if (!ds || !sigs || ldns_rr_list_rr_count(ds) == 0 ||
	    rrset_check(vr, ds, sigs, depth + 1, why) != DANE_SECURE) {
		set_why(why, "no validated DS for %s%s", rdf_str(zone, z, sizeof z), "");
		ldns_rr_list_deep_free(ds);
		ds = NULL;
	}
	ldns_rr_list_deep_free(sigs);
	return ds;
}

/* Validate zone's DNSKEY set from an anchor or the parent's DS. */
static ldns_rr_list *zone_keys_fetch(struct dane_vr *vr, const ldns_rdf *zone, int depth, char **why)
{
	ldns_rr_list *keys = NULL, *sigs = NULL, *from = NULL, *trusted = NULL, *owned_ds = NULL;
	ldns_pkt *p = ask(vr, zone, LDNS_RR_TYPE_DNSKEY);
	ldns_status st = LDNS_STATUS_OK;
	char z[256];

	if (!p) {
		set_why(why, "no answer for DNSKEY %s%s", rdf_str(zone, z, sizeof z), "");
		return NULL;
	}
	keys = pick(ldns_pkt_answer(p), zone, LDNS_RR_TYPE_DNSKEY, false);
	sigs = pick(ldns_pkt_answer(p), zone, LDNS_RR_TYPE_DNSKEY, true);
	ldns_pkt_free(p);
	from = vr->anchors;
	trusted = keys && from ? matching_keys(keys, from, zone) : NULL;
	if (trusted && ldns_rr_list_rr_count(trusted) == 0 && !is_anchor(vr, zone)) {
		ldns_rr_list_free(trusted);
		trusted = NULL;
		owned_ds = parent_ds(vr, zone, depth, why);
		trusted = owned_ds && keys ? matching_keys(keys, owned_ds, zone) : NULL;
	}
	if (!trusted || ldns_rr_list_rr_count(trusted) == 0)
		set_why(why, "no DNSKEY of %s matches a trust anchor or DS%s", rdf_str(zone, z, sizeof z), "");
	else if (!sigs || (st = ldns_verify(keys, sigs, trusted, NULL)) != LDNS_STATUS_OK)
		set_why(why, "the DNSKEY set of %s does not verify: %s", rdf_str(zone, z, sizeof z),
			sigs ? ldns_get_errorstr_by_id(st) : "no RRSIG");
	else {
		ldns_rr_list_free(trusted);
		ldns_rr_list_deep_free(sigs);
		ldns_rr_list_deep_free(owned_ds);
		return keys;
	}
	ldns_rr_list_free(trusted);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(owned_ds);
	ldns_rr_list_deep_free(keys);
	return NULL;
}

static const ldns_rr_list *zone_keys(struct dane_vr *vr, const ldns_rdf *zone, int depth, char **why)
{
	struct zone_keys *z;

	for (size_t i = 0; i < vr->nzk; i++)
		if (ldns_dname_compare(vr->zk[i].zone, zone) == 0) {
			if (!vr->zk[i].keys && vr->zk[i].why)
				set_why(why, "%s%s", vr->zk[i].why, "");
			return vr->zk[i].keys;
		}
	if (depth > KEY_DEPTH) {
		set_why(why, "chain of trust longer than %s%s", "8 zones", "");
		return NULL;
	}
	if (vr->nzk == ZK_CACHE) { /* full: forget the oldest */
		ldns_rdf_deep_free(vr->zk[0].zone);
		ldns_rr_list_deep_free(vr->zk[0].keys);
		free(vr->zk[0].why);
		memmove(vr->zk, vr->zk + 1, (ZK_CACHE - 1) * sizeof vr->zk[0]);
		vr->nzk--;
	}
	z = &vr->zk[vr->nzk];
	memset(z, 0, sizeof *z);
	z->zone = ldns_rdf_clone(zone);
	if (!z->zone)
		return NULL;
	vr->nzk++;
	z->keys = zone_keys_fetch(vr, zone, depth, &z->why);
	if (!z->keys)
		set_why(why, "%s%s", z->why ? z->why : "no keys", "");
	return z->keys;
}

/* One RRset with its signatures. */
static enum dane_sec rrset_check(struct dane_vr *vr, ldns_rr_list *rrset, ldns_rr_list *sigs,
				 int depth, char **why)
{
	const ldns_rdf *owner = ldns_rr_owner(ldns_rr_list_rr(rrset, 0)), *signer;
	const ldns_rr_list *keys;
	ldns_status st;
	char o[256];

	if (!covered(vr, owner))
		return DANE_INSECURE;
	if (ldns_rr_list_rr_count(sigs) == 0) {
		set_why(why, "%s: no RRSIG%s", rdf_str(owner, o, sizeof o), "");
		return DANE_BOGUS;
	}
	signer = ldns_rr_rrsig_signame(ldns_rr_list_rr(sigs, 0));
	if (!signer || !covered(vr, signer) ||
	    (ldns_dname_compare(owner, signer) != 0 && !ldns_dname_is_subdomain(owner, signer))) {
		set_why(why, "%s: signer outside the trust anchors%s", rdf_str(owner, o, sizeof o), "");
		return DANE_BOGUS;
	}
	keys = zone_keys(vr, signer, depth, why);
	if (!keys)
		return DANE_BOGUS;
	st = ldns_verify(rrset, sigs, keys, NULL);
	if (st != LDNS_STATUS_OK) {
		set_why(why, "%s: %s", rdf_str(owner, o, sizeof o), ldns_get_errorstr_by_id(st));
		return DANE_BOGUS;
	}
	return DANE_SECURE;
}

static enum dane_sec worst(enum dane_sec a, enum dane_sec b)
{
	return a > b ? a : b;
}

/* NODATA by NSEC3 (RFC 5155 §8.5): an NSEC3 matching the hash of the name
 * without the type or CNAME in its bitmap. Done here because ldns 1.8.3's
 * ldns_dnssec_verify_denial_nsec3 leaks on this path. */
static ldns_status nsec3_nodata(const ldns_rr *q, const ldns_rr_list *nsecs)
{
	ldns_rr *first = ldns_rr_list_rr(nsecs, 0);
	ldns_rdf *zone = ldns_dname_left_chop(ldns_rr_owner(first));
	ldns_rdf *h = ldns_nsec3_hash_name_frm_nsec3(first, ldns_rr_owner(q));
	ldns_status st = LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;

	if (h && zone && ldns_dname_cat(h, zone) == LDNS_STATUS_OK) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
			ldns_rr *n = ldns_rr_list_rr(nsecs, i);
			if (ldns_dname_compare(h, ldns_rr_owner(n)) == 0 &&
			    !ldns_nsec_bitmap_covers_type(ldns_nsec3_bitmap(n), ldns_rr_get_type(q)) &&
			    !ldns_nsec_bitmap_covers_type(ldns_nsec3_bitmap(n), LDNS_RR_TYPE_CNAME)) {
				st = LDNS_STATUS_OK;
				break;
			}
		}
	}
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(zone);
	return st;
}

/* Every NSEC/NSEC3 set of the authority section verifies, and they deny q. */
static enum dane_sec denial_check(struct dane_vr *vr, ldns_pkt *p, ldns_rr *q, char **why)
{
	const ldns_rr_list *auth = ldns_pkt_authority(p);
	ldns_rr_type dt = LDNS_RR_TYPE_NSEC;
	ldns_rr_list *all = pick(auth, NULL, LDNS_RR_TYPE_NSEC, false), *allsigs = NULL;
	enum dane_sec sec = DANE_SECURE;
	ldns_status st;
	char o[256];

	if (all && ldns_rr_list_rr_count(all) == 0) {
		ldns_rr_list_deep_free(all);
		dt = LDNS_RR_TYPE_NSEC3;
		all = pick(auth, NULL, dt, false);
	}
	allsigs = pick(auth, NULL, dt, true);
	if (!all || !allsigs || ldns_rr_list_rr_count(all) == 0) {
		set_why(why, "%s: no NSEC or NSEC3 to deny it%s", rdf_str(ldns_rr_owner(q), o, sizeof o), "");
		sec = DANE_BOGUS;
		goto done;
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(all) && sec == DANE_SECURE; i++) {
		ldns_rdf *owner = ldns_rr_owner(ldns_rr_list_rr(all, i));
		ldns_rr_list *set = pick(all, owner, dt, false), *sigs = pick(allsigs, owner, dt, true);
		sec = set && sigs ? rrset_check(vr, set, sigs, 0, why) : DANE_BOGUS;
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
	}
	if (sec != DANE_SECURE)
		goto done;
	if (dt == LDNS_RR_TYPE_NSEC)
		st = ldns_dnssec_verify_denial(q, all, allsigs);
	else if (ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR)
		st = nsec3_nodata(q, all);
	else
		st = ldns_dnssec_verify_denial_nsec3(q, all, allsigs, ldns_pkt_get_rcode(p),
						     ldns_rr_get_type(q), true);
	if (st != LDNS_STATUS_OK) {
		set_why(why, "%s: denial does not prove it: %s", rdf_str(ldns_rr_owner(q), o, sizeof o),
			ldns_get_errorstr_by_id(st));
		sec = DANE_BOGUS;
	}
done:
	ldns_rr_list_deep_free(all);
	ldns_rr_list_deep_free(allsigs);
	return sec;
}

/* ---- following a name ---------------------------------------------------------- */

struct follow {
	ldns_rdf *chain[DANE_CHAIN_MAX + 1];
	size_t nchain;
	ldns_rr_list *rrs; /* the records of the asked type at the end, or NULL */
	enum dane_sec sec, chain_sec;
	char *why;
	char *error; /* no usable answer: timeout, SERVFAIL, NXDOMAIN, loop */
};

static void follow_clear(struct follow *f)
{
	for (size_t i = 0; i < f->nchain; i++)
		ldns_rdf_deep_free(f->chain[i]);
	ldns_rr_list_deep_free(f->rrs);
	free(f->why);
	free(f->error);
	memset(f, 0, sizeof *f);
}

static enum dane_sec ad_sec(const struct dane_vr *vr, const ldns_pkt *p)
{
	return vr->trust_ad && ldns_pkt_ad(p) ? DANE_SECURE : DANE_INSECURE;
}

/* One step: the answer at cur. Returns 1 to go on at the CNAME target, 0
 * when done (rrs set or denial), or an error (f->error set). */
static int follow_step(struct dane_vr *vr, struct follow *f, ldns_pkt *p, ldns_rr_type t)
{
	ldns_rdf *cur = f->chain[f->nchain - 1];
	ldns_rr_list *set = pick(ldns_pkt_answer(p), cur, t, false);
	ldns_rr_list *sigs = pick(ldns_pkt_answer(p), cur, t, true);
	enum dane_sec s;
	char n[256];
	int rc = 0;

	if (!set || !sigs) {
		rc = CDNI_ENOMEM;
	} else if (ldns_rr_list_rr_count(set) > 0) {
		s = vr->trust_ad ? ad_sec(vr, p) : rrset_check(vr, set, sigs, 0, &f->why);
		f->sec = worst(f->sec, s);
		f->rrs = set;
		set = NULL;
	} else if (t != LDNS_RR_TYPE_CNAME) {
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
		set = pick(ldns_pkt_answer(p), cur, LDNS_RR_TYPE_CNAME, false);
		sigs = pick(ldns_pkt_answer(p), cur, LDNS_RR_TYPE_CNAME, true);
		if (set && sigs && ldns_rr_list_rr_count(set) == 1) {
			s = vr->trust_ad ? ad_sec(vr, p) : rrset_check(vr, set, sigs, 0, &f->why);
			f->sec = worst(f->sec, s);
			f->chain_sec = worst(f->chain_sec, s);
			if (f->nchain > DANE_CHAIN_MAX) {
				set_why(&f->error, "CNAME chain longer than %s at %s", "8", rdf_str(cur, n, sizeof n));
				rc = CDNI_EOVERFLOW;
			} else {
				f->chain[f->nchain] = ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(set, 0), 0));
				rc = f->chain[f->nchain] ? 1 : CDNI_ENOMEM;
				if (rc == 1) {
					ldns_dname2canonical(f->chain[f->nchain]);
					f->nchain++;
				}
			}
		}
	}
	if (rc == 0 && !f->rrs) { /* NODATA or NXDOMAIN: the denial must validate */
		ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
		if (vr->trust_ad)
			f->sec = worst(f->sec, ad_sec(vr, p));
		else if (!covered(vr, cur))
			f->sec = worst(f->sec, DANE_INSECURE);
		else if (!q)
			f->sec = DANE_BOGUS;
		else
			f->sec = worst(f->sec, denial_check(vr, p, q, &f->why));
	}
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
	return rc;
}

static int follow_name(struct dane_vr *vr, const char *name, ldns_rr_type t, struct follow *f)
{
	ldns_pkt *p;
	char n[256];
	int rc;

	memset(f, 0, sizeof *f);
	f->chain[0] = ldns_dname_new_frm_str(name);
	if (!f->chain[0])
		return CDNI_EINVAL;
	ldns_dname2canonical(f->chain[0]);
	f->nchain = 1;
	f->sec = f->chain_sec = DANE_SECURE;
	for (;;) {
		ldns_rdf *cur = f->chain[f->nchain - 1];
		for (size_t i = 0; i + 1 < f->nchain; i++)
			if (ldns_dname_compare(f->chain[i], cur) == 0) {
				set_why(&f->error, "CNAME loop at %s%s", rdf_str(cur, n, sizeof n), "");
				return 0;
			}
		p = ask(vr, cur, t);
		if (!p) {
			set_why(&f->error, "no answer from the resolver for %s%s", rdf_str(cur, n, sizeof n), "");
			return 0;
		}
		if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR &&
		    ldns_pkt_get_rcode(p) != LDNS_RCODE_NXDOMAIN) {
			char *rc_s = ldns_pkt_rcode2str(ldns_pkt_get_rcode(p));
			set_why(&f->error, "%s answered for %s", rc_s ? rc_s : "error", rdf_str(cur, n, sizeof n));
			free(rc_s);
			if (ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL && vr->trust_ad)
				f->sec = DANE_BOGUS;
			ldns_pkt_free(p);
			return 0;
		}
		rc = follow_step(vr, f, p, t);
		ldns_pkt_free(p);
		if (rc != 1)
			return rc < 0 && rc != CDNI_EOVERFLOW ? rc : 0;
	}
}

/* ---- A/AAAA ---------------------------------------------------------------------- */

static int addrs_push(struct dane_addrs *a, const ldns_rr_list *rrs)
{
	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs); i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0));
		char **v = s ? realloc(a->addrs, (a->naddrs + 1) * sizeof *v) : NULL;
		if (!v) {
			free(s);
			return CDNI_ENOMEM;
		}
		a->addrs = v;
		a->addrs[a->naddrs++] = s;
	}
	return 0;
}

static int addrs_from(struct dane_addrs *a, struct follow *f4, struct follow *f6)
{
	for (size_t i = 0; i < f4->nchain; i++) {
		char *s = ldns_rdf2str(f4->chain[i]);
		size_t n = s ? strlen(s) : 0;
		if (!s)
			return CDNI_ENOMEM;
		if (n > 1 && s[n - 1] == '.')
			s[n - 1] = '\0';
		a->chain[a->nchain++] = s;
	}
	if (addrs_push(a, f4->rrs) || addrs_push(a, f6->rrs))
		return CDNI_ENOMEM;
	a->sec = worst(f4->sec, f6->sec);
	a->chain_sec = f4->chain_sec;
	if (f4->error || (f6->error && !f4->rrs))
		a->why = strdup(f4->error ? f4->error : f6->error);
	else if (f4->why || f6->why)
		a->why = strdup(f4->why ? f4->why : f6->why);
	else if (a->naddrs == 0)
		a->why = strdup("no address records");
	return 0;
}

int dane_vr_addrs(struct dane_vr *vr, const char *name, struct dane_addrs **out)
{
	struct dane_addrs *a = calloc(1, sizeof *a);
	struct follow f4, f6;
	int rc;

	if (!a)
		return CDNI_ENOMEM;
	memset(&f6, 0, sizeof f6);
	rc = follow_name(vr, name, LDNS_RR_TYPE_A, &f4);
	if (rc == 0)
		rc = follow_name(vr, name, LDNS_RR_TYPE_AAAA, &f6);
	if (rc == 0 && !(a->query = strdup(name)))
		rc = CDNI_ENOMEM;
	if (rc == 0)
		rc = addrs_from(a, &f4, &f6);
	follow_clear(&f4);
	follow_clear(&f6);
	if (rc) {
		dane_addrs_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void dane_addrs_free(struct dane_addrs *a)
{
	if (!a)
		return;
	free(a->query);
	for (size_t i = 0; i < a->nchain; i++)
		free(a->chain[i]);
	for (size_t i = 0; i < a->naddrs; i++)
		free(a->addrs[i]);
	free(a->addrs);
	free(a->why);
	free(a);
}

/* ---- TLSA ---------------------------------------------------------------------------- */

static int tlsa_take(struct dane_tlsa_set *t, const ldns_rr_list *rrs)
{
	size_t n = ldns_rr_list_rr_count(rrs);

	t->r = calloc(n ? n : 1, sizeof *t->r);
	if (!t->r)
		return CDNI_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		const ldns_rdf *d = ldns_rr_rd_count(rr) == 4 ? ldns_rr_rdf(rr, 3) : NULL;
		struct dane_tlsa_rec *r = &t->r[t->n];
		if (!d)
			continue;
		r->usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
		r->selector = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
		r->mtype = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
		r->len = ldns_rdf_size(d);
		r->data = malloc(r->len ? r->len : 1);
		if (!r->data)
			return CDNI_ENOMEM;
		memcpy(r->data, ldns_rdf_data(d), r->len);
		t->n++;
	}
	return 0;
}

static int tried_push(struct dane_tlsa_set *t, const char *owner)
{
	char **v = realloc(t->tried, (t->ntried + 1) * sizeof *v);

	if (!v)
		return CDNI_ENOMEM;
	t->tried = v;
	if (!(t->tried[t->ntried] = strdup(owner)))
		return CDNI_ENOMEM;
	t->ntried++;
	return 0;
}

/* TLSA at _port._tcp.base: 1 when usable records were taken, 0 when none,
 * or a negative code. A bogus answer sets t->sec. */
static int tlsa_at(struct dane_vr *vr, const char *base, int port, struct dane_tlsa_set *t)
{
	char owner[300];
	struct follow f;
	int rc;

	if (dane_tlsa_owner(base, port, owner, sizeof owner))
		return CDNI_EINVAL;
	if ((rc = tried_push(t, owner)) != 0)
		return rc;
	rc = follow_name(vr, owner, LDNS_RR_TYPE_TLSA, &f);
	if (rc == 0 && f.sec == DANE_BOGUS) {
		t->sec = DANE_BOGUS;
		t->why = strdup(f.why ? f.why : f.error ? f.error : "bogus TLSA");
	} else if (rc == 0 && f.sec == DANE_SECURE && f.rrs && ldns_rr_list_rr_count(f.rrs)) {
		t->sec = DANE_SECURE;
		free(t->why);
		t->why = NULL;
		owner[strlen(owner) - 1] = '\0';
		rc = tlsa_take(t, f.rrs);
		if (rc == 0)
			rc = (t->owner = strdup(owner)) ? 1 : CDNI_ENOMEM;
	} else if (rc == 0 && !t->why && f.sec == DANE_INSECURE && f.rrs) {
		t->why = strdup("TLSA records are insecure");
	}
	follow_clear(&f);
	return rc;
}

int dane_vr_tlsa(struct dane_vr *vr, const struct dane_addrs *a, int port,
		 struct dane_tlsa_set **out)
{
	struct dane_tlsa_set *t = calloc(1, sizeof *t);
	int rc = 0;

	if (!t)
		return CDNI_ENOMEM;
	t->sec = DANE_INSECURE;
	if (a->sec == DANE_BOGUS || a->naddrs == 0) {
		t->sec = a->sec;
		t->why = strdup("the name did not resolve securely: DANE does not apply");
		goto done;
	}
	if (a->nchain > 1 && a->chain_sec == DANE_SECURE && a->sec == DANE_SECURE) {
		rc = tlsa_at(vr, a->chain[a->nchain - 1], port, t);
		t->expanded = rc == 1;
	}
	if (rc == 0 && t->sec != DANE_BOGUS)
		rc = tlsa_at(vr, a->chain[0], port, t);
	if (rc == 1)
		rc = 0;
	if (rc == 0 && t->sec != DANE_BOGUS && t->n == 0 && !t->why)
		t->why = strdup("no secure TLSA records");
done:
	if (rc < 0) {
		dane_tlsa_set_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void dane_tlsa_set_free(struct dane_tlsa_set *t)
{
	if (!t)
		return;
	free(t->owner);
	for (size_t i = 0; i < t->n; i++)
		free(t->r[i].data);
	free(t->r);
	free(t->why);
	for (size_t i = 0; i < t->ntried; i++)
		free(t->tried[i]);
	free(t->tried);
	free(t);
}
