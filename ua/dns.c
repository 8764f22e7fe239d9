/* cdni-ua — the DNS path: each hop's host resolved through a validating
 * resolver (libcdni_dane: own validation from trust anchors, or the
 * resolver's AD bit), the CNAME chain and the verdict recorded in the hop,
 * the addresses handed to libcurl, and TLSA records found per RFC 7671 §7
 * for a DANE check in the TLS handshake (fetch.c). */
#include "ua/fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/log.h"

bool ua_dns_enabled(const struct ua_opts *o)
{
	return o->resolver || o->anchor || o->trust_ad || o->dane;
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *tlsa_records(const struct dane_tlsa_set *t)
{
	json_t *a = json_array();
	char buf[2 * DANE_TLSA_MAX + 32];

	for (size_t i = 0; a && t && i < t->n; i++) {
		const struct dane_tlsa_rec *r = &t->r[i];
		size_t w = (size_t)snprintf(buf, sizeof buf, "%u %u %u ", r->usage, r->selector, r->mtype);
		for (size_t k = 0; k < r->len && w + 3 < sizeof buf; k++, w += 2)
			snprintf(buf + w, sizeof buf - w, "%02x", r->data[k]);
		if (json_array_append_new(a, json_string(buf))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *tlsa_json(const struct dane_tlsa_set *t)
{
	if (!t)
		return json_null();
	return json_pack("{s:o, s:s, s:o, s:o, s:o}", "asked", str_array(t->tried, t->ntried),
			 "validated", dane_sec_name(t->sec),
			 "owner", t->owner ? json_string(t->owner) : json_null(),
			 "records", tlsa_records(t),
			 "why", t->why ? json_string(t->why) : json_null());
}

static json_t *dns_json(const struct ua_session *s, const struct dane_addrs *a,
			const struct dane_tlsa_set *t)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:o}", "query", a->query, "resolver",
			 dane_vr_server(s->vr), "chain", str_array(a->chain, a->nchain), "addresses",
			 str_array(a->addrs, a->naddrs), "validated", dane_sec_name(a->sec), "why",
			 a->why ? json_string(a->why) : json_null(), "tlsa", tlsa_json(t));
}

/* Port of an http(s) URL. */
static long url_port(const char *url)
{
	CURLU *u = curl_url();
	char *p = NULL;
	long port = 0;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK)
		port = strtol(p, NULL, 10);
	curl_free(p);
	curl_url_cleanup(u);
	return port;
}

static bool pinned(const struct ua_opts *o, const char *host, long port)
{
	char prefix[300];
	int n = snprintf(prefix, sizeof prefix, "%s:%ld:", host, port);

	for (size_t i = 0; i < o->nresolve; i++)
		if (strncasecmp(o->resolve[i], prefix, (size_t)n) == 0)
			return true;
	return false;
}

/* --resolve entries, then host:port:addrs from DNS (unless --resolve pins it). */
static int pin_addresses(struct ua_session *s, const char *host, long port, const struct dane_addrs *a)
{
	char entry[1024];
	size_t w;
	struct curl_slist *l = NULL, *n;

	for (size_t i = 0; i < s->o->nresolve; i++) {
		if (!(n = curl_slist_append(l, s->o->resolve[i])))
			goto fail;
		l = n;
	}
	if (!pinned(s->o, host, port) && a->naddrs) {
		w = (size_t)snprintf(entry, sizeof entry, "%s:%ld:", host, port);
		for (size_t i = 0; i < a->naddrs && w < sizeof entry; i++)
			w += (size_t)snprintf(entry + w, sizeof entry - w, strchr(a->addrs[i], ':') ? "%s[%s]" : "%s%s",
					      i ? "," : "", a->addrs[i]);
		if (!(n = curl_slist_append(l, entry)))
			goto fail;
		l = n;
	}
	curl_slist_free_all(s->hop_resolve);
	s->hop_resolve = l;
	return curl_easy_setopt(s->curl, CURLOPT_RESOLVE, l) == CURLE_OK ? 0 : CDNI_ENOMEM;
fail:
	curl_slist_free_all(l);
	return CDNI_ENOMEM;
}

static void dane_reset(struct ua_session *s)
{
	dane_tlsa_set_free(s->dane);
	s->dane = NULL;
	free(s->dane_base);
	free(s->dane_alt);
	s->dane_base = s->dane_alt = NULL;
	s->dane_matched[0] = s->dane_err[0] = '\0';
}

static int vr_ready(struct ua_session *s, char *err, size_t errlen)
{
	struct dane_vr_opts vo = { .server = s->o->resolver, .anchors = s->o->anchor,
				   .trust_ad = s->o->trust_ad, .timeout_ms = s->o->timeout_ms };

	if (s->vr)
		return 0;
	return dane_vr_new(&vo, &s->vr, err, errlen) == 0 ? 0 : 1;
}

static int dnssec_check(struct ua_trace *t, const struct ua_hop *h, const struct dane_addrs *a)
{
	char name[64];
	const char *last = a->chain[a->nchain ? a->nchain - 1 : 0];

	snprintf(name, sizeof name, "dnssec hop %d", h->n);
	return ua_trace_check(t, name, a->sec != DANE_BOGUS, "%s: %s%s%s%s%s%s", dane_sec_name(a->sec),
			      a->query, a->nchain > 1 ? " -> " : "", a->nchain > 1 ? last : "",
			      a->why ? " (" : "", a->why ? a->why : "", a->why ? ")" : "");
}

/* TLSA for an https hop (--dane); 1 when the hop must not be fetched. */
static int find_tlsa(struct ua_session *s, struct ua_trace *t, struct ua_hop *h,
		     const struct dane_addrs *a, long port, struct dane_tlsa_set **out, char *err,
		     size_t errlen)
{
	char name[64];

	if (dane_vr_tlsa(s->vr, a, (int)port, out))
		return CDNI_ENOMEM;
	if ((*out)->sec != DANE_BOGUS)
		return 0;
	snprintf(name, sizeof name, "dane hop %d", h->n);
	snprintf(err, errlen, "TLSA records are bogus: %s", (*out)->why ? (*out)->why : "?");
	return ua_trace_check(t, name, false, "%s", err) ? CDNI_ENOMEM : 1;
}

static int dane_arm(struct ua_session *s, struct dane_tlsa_set *tl, const struct dane_addrs *a)
{
	s->dane = tl;
	s->dane_base = strdup(a->chain[0]);
	s->dane_alt = strdup(a->chain[a->nchain - 1]);
	return s->dane_base && s->dane_alt ? 0 : CDNI_ENOMEM;
}

int ua_dns_prepare(struct ua_session *s, struct ua_trace *t, struct ua_hop *h, char *err,
		   size_t errlen)
{
	struct dane_addrs *a = NULL;
	struct dane_tlsa_set *tl = NULL;
	bool https = strncasecmp(h->url, "https:", 6) == 0;
	long port = url_port(h->url);
	int rc;

	dane_reset(s);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (!ua_dns_enabled(s->o) || !h->host || h->host[0] == '[' || strspn(h->host, "0123456789.") == strlen(h->host))
		return 0; /* an address literal needs no DNS */
	if (vr_ready(s, err, errlen))
		return 1;
	if (dane_vr_addrs(s->vr, h->host, &a))
		return CDNI_ENOMEM;
	rc = dnssec_check(t, h, a) ? CDNI_ENOMEM : 0;
	if (rc == 0 && a->sec == DANE_BOGUS) {
		snprintf(err, errlen, "DNS answer for %s is bogus: %s", h->host, a->why ? a->why : "?");
		rc = 1;
	} else if (rc == 0 && a->naddrs == 0 && !pinned(s->o, h->host, port)) {
		snprintf(err, errlen, "DNS: no address for %s: %s", h->host, a->why ? a->why : "?");
		rc = 1;
	}
	if (rc == 0 && s->o->dane && https)
		rc = find_tlsa(s, t, h, a, port, &tl, err, errlen);
	h->dns = dns_json(s, a, tl);
	if (!h->dns && rc == 0)
		rc = CDNI_ENOMEM;
	if (rc == 0)
		rc = pin_addresses(s, h->host, port, a);
	if (rc == 0 && tl && tl->sec == DANE_SECURE && tl->n > 0) {
		rc = dane_arm(s, tl, a);
		tl = NULL;
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L); /* names are checked by DANE */
	}
	dane_tlsa_set_free(tl);
	dane_addrs_free(a);
	return rc;
}

int ua_dns_conclude(struct ua_session *s, struct ua_trace *t, struct ua_hop *h)
{
	char name[64];
	const struct ua_tls *tls = h->tls;
	bool ok;

	if (!s->dane)
		return 0;
	snprintf(name, sizeof name, "dane hop %d", h->n);
	ok = tls && tls->verified && s->dane_matched[0];
	if (h->dns && s->dane_matched[0])
		json_object_set_new(json_object_get(h->dns, "tlsa"), "matched", json_string(s->dane_matched));
	if (ok)
		return ua_trace_check(t, name, true, "TLSA %s at %s", s->dane_matched, s->dane->owner);
	return ua_trace_check(t, name, false, "%s", s->dane_err[0] ? s->dane_err
					     : tls && tls->verify_error ? tls->verify_error
					     : "no TLSA record matched the server's certificate");
}

void ua_dns_cleanup(struct ua_session *s)
{
	dane_reset(s);
	curl_slist_free_all(s->hop_resolve);
	s->hop_resolve = NULL;
	dane_vr_free(s->vr);
	s->vr = NULL;
}
