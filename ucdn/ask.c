/* cdni-ucdn — asking dCDNs over the RFC 7975 redirection interface
 * (ucdn/ask.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/upstream.h"
#include "redirect/fci.h"
#include "redirect/rri.h"
#include "redirect/rri_cache.h"
#include "redirect/rri_client.h"
#include "ucdn/ask.h"

#define D struct ask_dcdn_conf
static const struct conf_item dcdn_table[] = {
	CONF_STR("name", D, name, NULL, CONF_REQUIRED, "label in logs"),
	CONF_STR("url", D, url, NULL, CONF_REQUIRED, "the dCDN's redirection interface URI"),
	CONF_STR("fci", D, fci, NULL, 0,
		 "its RFC 8008 capabilities document: a JSON file, or the dCDN's http(s) URL of it "
		 "(cdni-dcdn's rri.fci_path), fetched at start; none: it serves everyone"),
	CONF_STR("ca", D, ca, NULL, 0, "CA for an https interface URI"),
	CONF_STR("cert", D, cert, NULL, 0, "client certificate chain (mutual TLS)"),
	CONF_STR("key", D, key, NULL, 0, "its key"),
	CONF_STR("resolve", D, resolve, NULL, 0, "\"host:port:address\" for the interface URI"),
	CONF_INT("timeout_ms", D, timeout_ms, 1, 60000, 500, "deadline of one ask"),
	CONF_INT("connect_timeout_ms", D, connect_timeout_ms, 1, 60000, 300, "connect deadline"),
	CONF_END
};
#undef D

static const char *const fallback_names[] = { "rule", "origin", NULL };

#define A struct ask_conf
const struct conf_item ask_conf_table[] = {
	CONF_STR("cdn_id", A, cdn_id, NULL, 0,
		 "our CDN Provider ID (\"AS64500:ucdn\"), first in cdn-path; on when set"),
	CONF_INT("max_hops", A, max_hops, -1, 1000, -1, "max-hops sent (-1: none)"),
	CONF_LIST("dcdns", A, dcdns, dcdn_table, struct ask_dcdn_conf, 0,
		  "dCDNs to ask, in preference order: [{name, url, fci, ca, cert, key, resolve, "
		  "timeout_ms, connect_timeout_ms}]"),
	CONF_ENUM("fallback", A, fallback, fallback_names, ASK_FALLBACK_RULE,
		  "when no dCDN answers: the rule's own target (rule) or the origin (origin)"),
	CONF_INT("cache_entries", A, cache_entries, 0, 1 << 24, 4096,
		 "answers cached (for their Cache-Control lifetime and scope); 0: none"),
	CONF_END
};
#undef A

struct ask {
	const struct ask_conf *c;
	struct fci_adv **adv; /* per dCDN; NULL: serves everyone */
	struct rri_cache *cache;
};

struct fetched {
	int status;
	struct buf body;
};

static int on_fci_headers(void *cls, int status, const struct upstream_header *h, size_t n)
{
	(void)h;
	(void)n;
	((struct fetched *)cls)->status = status;
	return 0;
}

static int on_fci_data(void *cls, const void *data, size_t len)
{
	struct fetched *f = cls;

	if (f->body.len + len > FCI_MAX_BODY)
		return CDNI_EOVERFLOW;
	buf_append(&f->body, data, len);
	return f->body.err;
}

/* GET the dCDN's capabilities document (2 s deadline, the dCDN's TLS
 * settings); its body into *text. */
static int fetch_fci(const struct ask_dcdn_conf *d, char **text, size_t *len, char *why,
		     size_t whylen)
{
	struct fetched f = { 0 };
	struct upstream_request rq = { .url = d->fci, .ca_file = d->ca, .resolve = d->resolve,
				       .cert_file = d->cert, .key_file = d->key,
				       .connect_timeout_ms = (long)d->connect_timeout_ms,
				       .timeout_ms = 2000 };
	struct upstream_callbacks cb = { on_fci_headers, on_fci_data, &f };
	int rc;

	buf_init(&f.body, 0);
	rc = upstream_fetch(&rq, &cb, why, whylen);
	if (rc == 0 && f.status != 200)
		snprintf(why, whylen, "answered %d", f.status);
	else if (rc == CDNI_EOVERFLOW)
		snprintf(why, whylen, "more than %d bytes", FCI_MAX_BODY);
	if (rc || f.status != 200) {
		buf_free(&f.body);
		return rc ? rc : CDNI_EUPSTREAM;
	}
	*text = buf_steal(&f.body, len);
	return *text ? 0 : CDNI_ENOMEM;
}

static bool is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* A dCDN's capabilities: from its file (an error stops the start), or from
 * its URL (fetch) when fetch is set: a dCDN that does not answer is logged
 * and taken to serve everyone, its interface deciding per request. */
static int load_fci(const struct ask_dcdn_conf *d, bool fetch, struct fci_adv **out,
		    const char *path, char *err, size_t errlen)
{
	char *text = NULL, why[256] = "";
	size_t len = 0;
	int rc;

	if (is_url(d->fci) && !fetch)
		return 0;
	if (is_url(d->fci) && fetch_fci(d, &text, &len, why, sizeof why) != 0) {
		log_warn("rri", "%s: cannot fetch '%s': %s; dCDN %s is asked about every client",
			 path, d->fci, why, d->name);
		return 0;
	}
	if (!is_url(d->fci) && file_read_all(d->fci, FCI_MAX_BODY, &text, &len) != 0) {
		snprintf(err, errlen, "%s: cannot read '%s'", path, d->fci);
		return CDNI_ECONFIG;
	}
	rc = fci_adv_decode(text, len, out, why, sizeof why);
	free(text);
	if (rc)
		snprintf(err, errlen, "%s: %s: %s", path, d->fci, why);
	return rc ? CDNI_ECONFIG : 0;
}

static int check(const struct ask_conf *c, char *err, size_t errlen)
{
	const struct ask_dcdn_conf *d = c->dcdns.v;

	if (!rri_provider_id_valid(c->cdn_id)) {
		snprintf(err, errlen, "rri.cdn_id: '%s' is not a CDN Provider ID (AS<n>:<name>)",
			 c->cdn_id);
		return CDNI_ECONFIG;
	}
	if (!c->dcdns.n) {
		snprintf(err, errlen, "rri.dcdns: at least one dCDN to ask is needed");
		return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < c->dcdns.n; i++)
		if (strncmp(d[i].url, "http://", 7) && strncmp(d[i].url, "https://", 8)) {
			snprintf(err, errlen, "rri.dcdns[%zu].url: '%s' must be http:// or https://",
				 i, d[i].url);
			return CDNI_ECONFIG;
		}
	return 0;
}

static int ask_make(const struct ask_conf *c, bool fetch, struct ask **out, char *err,
		    size_t errlen)
{
	struct ask *a = calloc(1, sizeof *a);
	const struct ask_dcdn_conf *d = c->dcdns.v;
	char path[64];

	if (!a || !(a->adv = calloc(c->dcdns.n + 1, sizeof *a->adv)) ||
	    rri_cache_new((size_t)c->cache_entries, &a->cache)) {
		ask_free(a);
		snprintf(err, errlen, "out of memory");
		return CDNI_ENOMEM;
	}
	a->c = c;
	if (check(c, err, errlen)) {
		ask_free(a);
		return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < c->dcdns.n; i++) {
		snprintf(path, sizeof path, "rri.dcdns[%zu].fci", i);
		if (d[i].fci && load_fci(&d[i], fetch, &a->adv[i], path, err, errlen)) {
			ask_free(a);
			return CDNI_ECONFIG;
		}
	}
	*out = a;
	return 0;
}

int ask_new(const struct ask_conf *c, struct ask **out, char *err, size_t errlen)
{
	return ask_make(c, true, out, err, errlen);
}

int ask_check(const struct ask_conf *c, char *err, size_t errlen)
{
	struct ask *a = NULL;
	int rc = ask_make(c, false, &a, err, errlen);

	ask_free(a);
	return rc;
}

void ask_free(struct ask *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->adv && i < a->c->dcdns.n; i++)
		fci_adv_free(a->adv[i]);
	free(a->adv);
	rri_cache_free(a->cache);
	free(a);
}

int ask_fallback(const struct ask *a)
{
	return a->c->fallback;
}

/* The redirection request for rq, cdn-path [our id]. */
static int build(const struct ask *a, const struct ask_req *rq, const char *uri,
		 struct rri_request *r)
{
	memset(r, 0, sizeof *r);
	r->kind = RRI_HTTP;
	r->max_hops = a->c->max_hops;
	if (!(r->http.c_ip = strdup(rq->client_ip)) || !(r->http.cs_uri = strdup(uri)) ||
	    !(r->http.cs_method = strdup(rq->method)) ||
	    !(r->http.cs_version = strdup(rq->version ? rq->version : "HTTP/1.1")) ||
	    rri_strs_push(&r->cdn_path, a->c->cdn_id) ||
	    (rq->host && rri_headers_set(&r->http.headers, "host", rq->host))) {
		rri_request_clear(r);
		return CDNI_ENOMEM;
	}
	return 0;
}

/* Whether dCDN i serves this client by its advertised capabilities. */
static bool serves(const struct ask *a, size_t i, const char *ip)
{
	struct fci_client cl;
	struct fci_need need = { .protocol = FCI_P_HTTPS11, .mode = FCI_M_HTTP_I };

	if (!a->adv[i])
		return true;
	return fci_client_make(&cl, ip, NULL) == 0 && fci_check(a->adv[i], &cl, &need) == 0;
}

/* Ask dCDN i; 0 with the Location when it gave one. */
static int ask_one(struct ask *a, size_t i, const struct ask_req *rq, const char *uri,
		   struct buf *loc, struct ask_answer *ans)
{
	const struct ask_dcdn_conf *d = &((const struct ask_dcdn_conf *)a->c->dcdns.v)[i];
	struct rri_client cl = { .url = d->url, .ca_file = d->ca, .cert_file = d->cert,
				 .key_file = d->key, .resolve = d->resolve,
				 .timeout_ms = (long)d->timeout_ms,
				 .connect_timeout_ms = (long)d->connect_timeout_ms };
	struct rri_request r;
	struct rri_reply rep;
	char err[256];
	int rc;

	if (build(a, rq, uri, &r))
		return CDNI_ENOMEM;
	rc = rri_client_ask(&cl, &r, &rep, err, sizeof err);
	rri_request_clear(&r);
	if (rc) {
		log_warn("rri", "dCDN %s: %s", d->name, err);
		return rc;
	}
	if (rep.rs.kind != RRI_HTTP || rep.rs.error.code >= 400 || rep.rs.http.sc_status < 300 ||
	    rep.rs.http.sc_status > 399) {
		log_info("rri", "dCDN %s declined %s: %d %s", d->name, uri, rep.rs.error.code,
			 rep.rs.error.reason ? rep.rs.error.reason : rri_error_reason(rep.rs.error.code));
		rri_reply_clear(&rep);
		return CDNI_EUPSTREAM;
	}
	buf_reset(loc);
	buf_puts(loc, rep.rs.http.location);
	ans->status = (int)rep.rs.http.sc_status;
	rri_cache_put(a->cache, uri, rq->client_ip, rep.rs.scope.v, rep.rs.scope.n, rq->now,
		      rep.max_age, rep.rs.http.location, ans->status, (int)i);
	rri_reply_clear(&rep);
	return loc->err;
}

int ask_location(struct ask *a, const struct ask_req *rq, struct buf *loc,
		 struct ask_answer *ans)
{
	const struct ask_dcdn_conf *d = a->c->dcdns.v;
	struct buf uri;
	long long t0 = now_us();
	struct rri_cache_val hit;
	int rc = CDNI_EUPSTREAM;

	memset(ans, 0, sizeof *ans);
	buf_init(&uri, 0);
	buf_printf(&uri, "%s://%s%.*s", rq->scheme, rq->host ? rq->host : "localhost",
		   (int)rq->target_len, rq->target);
	if (uri.err) {
		buf_free(&uri);
		return CDNI_ENOMEM;
	}
	if (rri_cache_get(a->cache, uri.data, rq->client_ip, rq->now, &hit, loc)) {
		ans->cached = true;
		ans->status = hit.status;
		ans->dcdn = d[hit.tag].name;
		buf_free(&uri);
		return 0;
	}
	for (size_t i = 0; i < a->c->dcdns.n && rc; i++)
		if (serves(a, i, rq->client_ip) && (rc = ask_one(a, i, rq, uri.data, loc, ans)) == 0)
			ans->dcdn = d[i].name;
	ans->us = now_us() - t0;
	buf_free(&uri);
	return rc ? CDNI_EUPSTREAM : 0;
}
