/* cdni-dcdn — the RFC 7975 redirection interface, socket-free core (ri.h). */
#include "dcdn/ri.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/err.h"
#include "common/http.h"
#include "common/httpd.h"
#include "redirect/fci.h"
#include "redirect/rri.h"

static const char *const delegate_names[] = { "never", "outside", "always", NULL };

static const struct conf_item geo_table[] = {
	CONF_STR("prefix", struct dcdn_ri_geo_conf, prefix, NULL, CONF_REQUIRED,
		 "IPv4 or IPv6 prefix, \"192.0.2.0/24\""),
	CONF_STR("country", struct dcdn_ri_geo_conf, country, NULL, CONF_REQUIRED,
		 "ISO 3166-1 alpha-2 code, lowercase, \"nl\""),
	CONF_END
};


const struct conf_item dcdn_ri_table[] = {
	CONF_LIST("listen", struct dcdn_ri_conf, listen, listen_conf_table, struct listen_conf, 0,
		  "listeners of the interface [{address, port, tls, cert, key, name}]; none: off"),
	CONF_STR("path", struct dcdn_ri_conf, path, "/cdni/rri", 0,
		 "path of the interface (POST)"),
	CONF_STR("fci_path", struct dcdn_ri_conf, fci_path, "/cdni/fci", 0,
		 "path of the capabilities document (GET)"),
	CONF_STR("cdn_id", struct dcdn_ri_conf, cdn_id, NULL, 0,
		 "this CDN's Provider ID, AS<number>:<qualifier> (needed with listen)"),
	CONF_STR("edge_base", struct dcdn_ri_conf, edge_base, NULL, 0,
		 "base URL of this dCDN's edge for HTTP answers, https://HOST[:PORT][/PREFIX]"),
	CONF_INT("sc_status", struct dcdn_ri_conf, sc_status, 301, 308, 302,
		 "redirect status HTTP answers tell the uCDN to send (301, 302, 303, 307, 308)"),
	CONF_STRS("dns_cname", struct dcdn_ri_conf, dns_cname, 0,
		  "DNS answers: CNAME targets (excludes dns_a/dns_aaaa)"),
	CONF_STRS("dns_a", struct dcdn_ri_conf, dns_a, 0, "DNS answers: IPv4 addresses of the edge"),
	CONF_STRS("dns_aaaa", struct dcdn_ri_conf, dns_aaaa, 0,
		  "DNS answers: IPv6 addresses of the edge"),
	CONF_INT("dns_ttl", struct dcdn_ri_conf, dns_ttl, 0, 86400, 30, "TTL of DNS answers (s)"),
	CONF_INT("max_age", struct dcdn_ri_conf, max_age, 0, 86400, 30,
		 "Cache-Control max-age of successful answers (s); 0: no-store"),
	CONF_INT("scope_v4", struct dcdn_ri_conf, scope_v4, 0, 32, 0,
		 "answers hold for the client's IPv4 /N (scope.iprange); 0: no scope"),
	CONF_INT("scope_v6", struct dcdn_ri_conf, scope_v6, 0, 128, 0,
		 "answers hold for the client's IPv6 /N; 0: no scope"),
	CONF_JSONV("capabilities", struct dcdn_ri_conf, capabilities, 0,
		   "RFC 8008 {\"capabilities\":[...]} (footprints); default: http/1.1 and "
		   "https/1.1, DNS-R and HTTP-R, everywhere"),
	CONF_LIST("geo", struct dcdn_ri_conf, geo, geo_table, struct dcdn_ri_geo_conf, 0,
		  "CIDR -> country table for countrycode footprints [{prefix, country}]"),
	CONF_BOOL("available", struct dcdn_ri_conf, available, true,
		  "false: answer every request 504 (out of capacity)"),
	CONF_BOOL("reflect_cdn_path", struct dcdn_ri_conf, reflect_cdn_path, true,
		  "answers carry cdn-path with this CDN's ID appended"),
	CONF_ENUM("delegate", struct dcdn_ri_conf, delegate, delegate_names, RI_DELEGATE_OUTSIDE,
		  "when to ask the downstream dCDN: never, outside (clients this CDN does not "
		  "serve), always"),
	CONF_OBJ("downstream", struct dcdn_ri_conf, downstream, rri_client_conf_table, 0,
		 "the downstream dCDN asked over the same interface {url, ca, cert, key, "
		 "resolve, connect_timeout_ms, timeout_ms}"),
	CONF_INT("threads", struct dcdn_ri_conf, threads, 0, 256, 0,
		 "event-loop threads; 0: a thread per connection"),
	CONF_STR("client_ca", struct dcdn_ri_conf, client_ca, NULL, 0,
		 "PEM CA file: mutual TLS, every request needs a client certificate it verifies "
		 "(tls listeners only)"),
	CONF_END
};

static const char default_caps[] =
	"{\"capabilities\":[{\"capability-type\":\"FCI.DeliveryProtocol\",\"capability-value\":"
	"{\"delivery-protocols\":[\"http/1.1\",\"https/1.1\"]}},{\"capability-type\":"
	"\"FCI.RedirectionMode\",\"capability-value\":{\"redirection-modes\":[\"DNS-R\","
	"\"HTTP-R\"]}}]}";

struct dcdn_ri {
	const struct dcdn_ri_conf *c;
	struct fci_adv *adv;
	struct fci_geo geo;
	struct buf fci;
	atomic_int available;
	dcdn_ri_ask_fn ask;
	void *ask_cls;
	struct rri_client client;
};

bool dcdn_ri_enabled(const struct dcdn_ri_conf *c)
{
	return c->listen.n > 0;
}

static bool http_url(const char *u)
{
	size_t skip = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;

	if (!skip || !u[skip] || u[skip] == '/')
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#' || *p == '"')
			return false;
	return true;
}

static int check_strs(const struct conf_strlist *l, const char *key, int fam, char *err,
		      size_t errlen)
{
	for (size_t i = 0; i < l->n; i++) {
		if (fam && rri_ip_parse(l->v[i], NULL) != fam)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.%s[%zu]: '%s' is not an IPv%d address", key, i,
				     l->v[i], fam);
		if (!fam && !rri_domain_valid(l->v[i]))
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.%s[%zu]: '%s' is not a domain name", key, i,
				     l->v[i]);
	}
	return 0;
}

static int check_geo(const struct dcdn_ri_conf *c, char *err, size_t errlen)
{
	const struct dcdn_ri_geo_conf *g = c->geo.v;
	struct fci_geo tmp = { 0 };
	int rc = 0;

	for (size_t i = 0; i < c->geo.n && !rc; i++)
		if (fci_geo_add(&tmp, g[i].prefix, g[i].country))
			rc = cdni_fail(err, errlen, CDNI_ECONFIG, "rri.geo[%zu]: '%s' -> '%s': needs a prefix (host "
				   "bits zero) and a lowercase two-letter country", i, g[i].prefix,
				   g[i].country);
	fci_geo_clear(&tmp);
	return rc;
}

static int check_caps(const struct dcdn_ri_conf *c, char *err, size_t errlen)
{
	struct fci_adv *a = NULL;
	char inner[256];
	int rc = 0;

	if (c->capabilities && fci_adv_from_json(c->capabilities, "rri.capabilities", &a, inner,
						 sizeof inner))
		rc = cdni_fail(err, errlen, CDNI_ECONFIG, "%s", inner);
	fci_adv_free(a);
	return rc;
}

static int check_listeners(const struct dcdn_ri_conf *c, char *err, size_t errlen)
{
	const struct listen_conf *lcs = c->listen.v;
	char path[64];

	for (size_t i = 0; i < c->listen.n; i++) {
		snprintf(path, sizeof path, "rri.listen[%zu]", i);
		if (listen_conf_check(&lcs[i], path, err, errlen))
			return CDNI_ECONFIG;
		if (c->client_ca && !lcs[i].tls)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "%s: client_ca (mutual TLS) needs tls listeners",
				     path);
		if ((lcs[i].cert && access(lcs[i].cert, R_OK)) || (lcs[i].key && access(lcs[i].key, R_OK)))
			return cdni_fail(err, errlen, CDNI_ECONFIG, "%s: cannot read cert or key", path);
	}
	if (c->client_ca && access(c->client_ca, R_OK))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.client_ca: cannot read '%s'", c->client_ca);
	return 0;
}

static int check_targets(const struct dcdn_ri_conf *c, char *err, size_t errlen)
{
	if (!c->edge_base && !c->dns_cname.n && !c->dns_a.n && !c->dns_aaaa.n &&
	    !c->downstream.url)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri: needs edge_base, dns_cname, dns_a/dns_aaaa or "
			     "downstream.url (something to answer with)");
	if (c->dns_cname.n && (c->dns_a.n || c->dns_aaaa.n))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.dns_cname: may not come with dns_a or dns_aaaa");
	if (c->edge_base && !http_url(c->edge_base))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.edge_base: '%s' is not an http(s) base URL "
			     "(no query or fragment)", c->edge_base);
	if (c->downstream.url && !http_url(c->downstream.url))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.downstream.url: '%s' is not an http(s) URL",
			     c->downstream.url);
	if (c->delegate == RI_DELEGATE_ALWAYS && !c->downstream.url)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.delegate: always needs downstream.url");
	return 0;
}

int dcdn_ri_conf_check(const struct dcdn_ri_conf *c, char *err, size_t errlen)
{
	if (!dcdn_ri_enabled(c))
		return 0;
	if (!c->cdn_id || !rri_provider_id_valid(c->cdn_id))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.cdn_id: needs a Provider ID AS<number>:<qualifier>");
	if (c->path[0] != '/' || c->fci_path[0] != '/' || !strcmp(c->path, c->fci_path))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.path, rri.fci_path: two different paths from \"/\"");
	if (c->sc_status != 301 && c->sc_status != 302 && c->sc_status != 303 &&
	    c->sc_status != 307 && c->sc_status != 308)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rri.sc_status: %lld is not a redirect status",
			     c->sc_status);
	if (check_listeners(c, err, errlen) || check_targets(c, err, errlen) ||
	    check_strs(&c->dns_cname, "dns_cname", 0, err, errlen) ||
	    check_strs(&c->dns_a, "dns_a", 4, err, errlen) ||
	    check_strs(&c->dns_aaaa, "dns_aaaa", 6, err, errlen) || check_geo(c, err, errlen))
		return CDNI_ECONFIG;
	return check_caps(c, err, errlen);
}

/* ---- life ---- */

static int ask_client(void *cls, const struct rri_request *rq, struct rri_reply *out, char *err,
		      size_t errlen)
{
	const struct dcdn_ri *r = cls;

	return rri_client_ask(&r->client, rq, out, err, errlen);
}

static int load_adv(struct dcdn_ri *r, char *err, size_t errlen)
{
	if (r->c->capabilities)
		return fci_adv_from_json(r->c->capabilities, "rri.capabilities", &r->adv, err,
					 errlen);
	return fci_adv_decode(default_caps, sizeof default_caps - 1, &r->adv, err, errlen);
}

int dcdn_ri_new(const struct dcdn_ri_conf *c, struct dcdn_ri **out, char *err, size_t errlen)
{
	const struct dcdn_ri_geo_conf *g = c->geo.v;
	struct dcdn_ri *r = calloc(1, sizeof *r);

	if (!r)
		return CDNI_ENOMEM;
	r->c = c;
	buf_init(&r->fci, 0);
	atomic_init(&r->available, c->available);
	if (load_adv(r, err, errlen))
		goto fail;
	for (size_t i = 0; i < c->geo.n; i++)
		if (fci_geo_add(&r->geo, g[i].prefix, g[i].country))
			goto fail;
	if (fci_adv_encode(r->adv, &r->fci))
		goto fail;
	r->client = rri_client_from_conf(&c->downstream);
	r->ask = ask_client;
	r->ask_cls = r;
	*out = r;
	return 0;
fail:
	if (!*err)
		snprintf(err, errlen, "rri: cannot load (out of memory or bad geo)");
	dcdn_ri_free(r);
	return CDNI_ECONFIG;
}

void dcdn_ri_free(struct dcdn_ri *r)
{
	if (!r)
		return;
	fci_adv_free(r->adv);
	fci_geo_clear(&r->geo);
	buf_free(&r->fci);
	free(r);
}

void dcdn_ri_set_ask(struct dcdn_ri *r, dcdn_ri_ask_fn fn, void *cls)
{
	r->ask = fn;
	r->ask_cls = cls;
}

void dcdn_ri_set_available(struct dcdn_ri *r, bool up)
{
	atomic_store(&r->available, up);
}

const char *dcdn_ri_fci(const struct dcdn_ri *r, size_t *len)
{
	*len = r->fci.len;
	return r->fci.data;
}

void dcdn_ri_answer_clear(struct dcdn_ri_answer *a)
{
	buf_free(&a->body);
	memset(a, 0, sizeof *a);
}

/* ---- answers ---- */

static void answer_init(struct dcdn_ri_answer *a)
{
	memset(a, 0, sizeof *a);
	buf_init(&a->body, 0);
}

/* An error answer: code, reason, HTTP status by the code (or status when
 * not 0), cdn our ID. */
static int answer_error(struct dcdn_ri *r, struct dcdn_ri_answer *a, int status, int code,
			const char *reason)
{
	struct rri_response rs = { 0 };
	int rc;

	buf_reset(&a->body);
	a->code = code;
	a->status = status ? status : rri_error_http_status(code);
	snprintf(a->cache_control, sizeof a->cache_control, "private, no-cache");
	snprintf(a->note, sizeof a->note, "%d %s", code, reason ? reason : rri_error_reason(code));
	rc = rri_response_set_error(&rs, code, reason, r->c->cdn_id);
	if (!rc)
		rc = rri_response_encode_trusted(&rs, &a->body);
	rri_response_clear(&rs);
	return rc;
}

/* "scheme://authority" removed: the path and query of cs-uri (fragment
 * dropped), "/" when empty. */
static void target_of(const char *uri, const char **p, size_t *len)
{
	const char *s = strstr(uri, "://");
	const char *t = s ? s + 3 + strcspn(s + 3, "/?#") : uri;

	*p = t;
	*len = strcspn(t, "#");
}

static int self_http(struct dcdn_ri *r, const struct rri_request *rq, struct rri_response *rs)
{
	struct buf loc;
	const char *t;
	size_t tlen;
	int rc;

	if (!r->c->edge_base)
		return RRI_E_REDIRECTION;
	buf_init(&loc, RRI_MAX_STR);
	target_of(rq->http.cs_uri, &t, &tlen);
	buf_puts(&loc, r->c->edge_base);
	if (tlen == 0 || t[0] != '/')
		buf_putc(&loc, '/');
	buf_append(&loc, t, tlen);
	rc = loc.err;
	rs->kind = RRI_HTTP;
	rs->http.sc_status = r->c->sc_status;
	rs->http.location = loc.err ? NULL : buf_steal(&loc, NULL);
	rs->http.sc_version = strdup("HTTP/1.1");
	rs->http.sc_reason = strdup(http_reason((int)r->c->sc_status));
	rs->http.cs_uri = strdup(rq->http.cs_uri);
	buf_free(&loc);
	if (rc || !rs->http.location || !rs->http.sc_version || !rs->http.sc_reason ||
	    !rs->http.cs_uri)
		return rc == CDNI_EOVERFLOW ? RRI_E_BAD_REQUEST : CDNI_ENOMEM;
	return 0;
}

static int self_dns(struct dcdn_ri *r, const struct rri_request *rq, struct rri_response *rs)
{
	const struct dcdn_ri_conf *c = r->c;
	struct rri_strs cn = { c->dns_cname.v, c->dns_cname.n }, a = { c->dns_a.v, c->dns_a.n },
			aaaa = { c->dns_aaaa.v, c->dns_aaaa.n };

	if (!cn.n && !a.n && !aaaa.n)
		return RRI_E_REDIRECTION;
	rs->kind = RRI_DNS;
	rs->dns.ttl = c->dns_ttl;
	if (!(rs->dns.name = strdup(rq->dns.qname)) || rri_strs_append(&rs->dns.cname, &cn) ||
	    rri_strs_append(&rs->dns.a, &a) || rri_strs_append(&rs->dns.aaaa, &aaaa))
		return CDNI_ENOMEM;
	return 0;
}

/* scope.iprange: the client's /N when configured. */
static int add_scope(struct dcdn_ri *r, const struct fci_client *cl, struct rri_response *rs)
{
	int bits = (int)(cl->family == 4 ? r->c->scope_v4 : r->c->scope_v6);
	struct fci_prefix p = { .family = cl->family, .bits = bits };
	char a[64], s[80];

	if (!bits || !cl->family)
		return 0;
	for (int i = 0; i < 16; i++) {
		int keep = bits - 8 * i;
		p.addr[i] = keep >= 8 ? cl->addr[i] : keep <= 0 ? 0
			  : (uint8_t)(cl->addr[i] & (0xff00 >> keep));
	}
	inet_ntop(cl->family == 4 ? AF_INET : AF_INET6, p.addr, a, sizeof a);
	snprintf(s, sizeof s, "%s/%d", a, bits);
	rs->has_scope = true;
	return rri_strs_push(&rs->scope, s);
}

static int answer_ok(struct dcdn_ri *r, struct dcdn_ri_answer *a, struct rri_response *rs,
		     long long max_age)
{
	int rc = rri_response_encode_trusted(rs, &a->body);

	if (rc)
		return answer_error(r, a, 0, RRI_E_DCDN, "cannot encode the answer");
	a->status = 200;
	if (max_age > 0)
		snprintf(a->cache_control, sizeof a->cache_control, "public, max-age=%lld", max_age);
	else
		snprintf(a->cache_control, sizeof a->cache_control, "no-store");
	return 0;
}

/* Answer with this CDN's own surrogate. */
static int serve_self(struct dcdn_ri *r, const struct rri_request *rq, const struct fci_client *cl,
		      struct dcdn_ri_answer *a)
{
	struct rri_response rs = { 0 };
	int rc = rq->kind == RRI_HTTP ? self_http(r, rq, &rs) : self_dns(r, rq, &rs);

	if (!rc && r->c->reflect_cdn_path) {
		rs.has_cdn_path = true;
		if (rri_strs_append(&rs.cdn_path, &rq->cdn_path) ||
		    rri_strs_push(&rs.cdn_path, r->c->cdn_id))
			rc = CDNI_ENOMEM;
	}
	if (!rc)
		rc = add_scope(r, cl, &rs);
	if (rc > 0)
		rc = answer_error(r, a, 0, rc, rc == RRI_E_REDIRECTION
				  ? "no redirection target configured for this form" : NULL);
	else if (rc == 0)
		rc = answer_ok(r, a, &rs, r->c->max_age);
	if (rc == 0 && !a->code)
		snprintf(a->note, sizeof a->note, "%s self", rq->kind == RRI_HTTP ? "http" : "dns");
	rri_response_clear(&rs);
	return rc < 0 ? rc : 0;
}

/* Pass the downstream's answer on: a success as it is (cdn-path untouched,
 * §4.2), a refusal with its error dictionary and HTTP status 500. */
static int relay(struct dcdn_ri *r, struct rri_reply *rep, struct dcdn_ri_answer *a)
{
	long long age = rep->max_age;

	if (rep->rs.kind == RRI_NONE || rep->status != 200) {
		if (rri_response_encode_trusted(&rep->rs, &a->body))
			return answer_error(r, a, 0, RRI_E_DCDN, "downstream answer not re-encodable");
		a->code = rep->rs.error.code;
		/* the downstream's refusal is this dCDN's failure to serve: a 5xx
		 * status, the error dictionary as the downstream wrote it */
		a->status = 500;
		snprintf(a->cache_control, sizeof a->cache_control, "private, no-cache");
		snprintf(a->note, sizeof a->note, "%d from downstream %s", a->code,
			 rep->rs.error.cdn ? rep->rs.error.cdn : "?");
		return 0;
	}
	if (age < 0 || age > r->c->max_age)
		age = age < 0 ? 0 : r->c->max_age;
	return answer_ok(r, a, &rep->rs, age);
}

static int delegate(struct dcdn_ri *r, const struct rri_request *rq, struct dcdn_ri_answer *a)
{
	struct rri_request down = *rq;
	struct rri_reply rep = { 0 };
	struct rri_strs path = { 0 };
	char err[256], reason[320];
	int rc;

	if (rq->max_hops >= 0 && (long long)rq->cdn_path.n >= rq->max_hops)
		return answer_error(r, a, 0, RRI_E_MAX_HOPS, NULL);
	if (rri_strs_append(&path, &rq->cdn_path) || rri_strs_push(&path, r->c->cdn_id)) {
		rri_strs_clear(&path);
		return answer_error(r, a, 0, RRI_E_DCDN, "out of memory");
	}
	down.cdn_path = path;
	down.dns.dns_only = true; /* §4.4.1: set on every cascaded request */
	rc = r->ask(r->ask_cls, &down, &rep, err, sizeof err);
	rri_strs_clear(&path);
	if (rc) {
		snprintf(reason, sizeof reason, "downstream: %s", err);
		return answer_error(r, a, 0, RRI_E_DCDN, reason);
	}
	rc = relay(r, &rep, a);
	if (!rc && !a->code)
		snprintf(a->note, sizeof a->note, "%s via downstream",
			 rq->kind == RRI_HTTP ? "http" : "dns");
	rri_reply_clear(&rep);
	return rc;
}

/* The client the decision is about, and what it needs. */
static int client_of(struct dcdn_ri *r, const struct rri_request *rq, struct fci_client *cl,
		     struct fci_need *n)
{
	char ip[64];
	const char *s = rq->kind == RRI_HTTP ? rq->http.c_ip : rq->dns.c_subnet;

	if (rq->kind == RRI_DNS && !s)
		s = rq->dns.resolver_ip;
	snprintf(ip, sizeof ip, "%.*s", (int)strcspn(s, "/"), s);
	n->mode = rq->kind == RRI_HTTP ? FCI_M_HTTP_R : FCI_M_DNS_R;
	n->protocol = rq->kind == RRI_DNS ? 0
		    : strncasecmp(rq->http.cs_uri, "https:", 6) == 0 ? FCI_P_HTTPS11 : FCI_P_HTTP11;
	n->urisign = false;
	return fci_client_make(cl, ip, &r->geo);
}

static int decide(struct dcdn_ri *r, const struct rri_request *rq, struct dcdn_ri_answer *a)
{
	struct fci_client cl;
	struct fci_need need;
	int code;

	if (rri_strs_has(&rq->cdn_path, r->c->cdn_id) || rri_path_has_duplicate(&rq->cdn_path))
		return answer_error(r, a, 0, RRI_E_LOOP, NULL);
	if (rq->max_hops >= 0 && (long long)rq->cdn_path.n > rq->max_hops)
		return answer_error(r, a, 0, RRI_E_MAX_HOPS, NULL);
	if (client_of(r, rq, &cl, &need))
		return answer_error(r, a, 0, RRI_E_BAD_REQUEST, "client address unusable");
	code = fci_check(r->adv, &cl, &need);
	if (!code && !atomic_load(&r->available))
		code = RRI_E_CAPACITY;
	if (r->c->downstream.url && (r->c->delegate == RI_DELEGATE_ALWAYS ||
				     (code && r->c->delegate == RI_DELEGATE_OUTSIDE)))
		return delegate(r, rq, a);
	if (code)
		return answer_error(r, a, 0, code, fci_check_reason(code));
	return serve_self(r, rq, &cl, a);
}

int dcdn_ri_handle(struct dcdn_ri *r, const char *content_type, const char *body, size_t len,
		   struct dcdn_ri_answer *a)
{
	struct rri_request rq;
	char err[256];
	int rc;

	answer_init(a);
	if (!rri_media_type_is(content_type, RRI_PTYPE_REQUEST))
		return answer_error(r, a, 415, RRI_E_BAD_REQUEST,
				    "Content-Type must be " RRI_MEDIA_REQUEST);
	rc = rri_request_decode(body ? body : "", len, &rq, err, sizeof err);
	if (rc)
		return answer_error(r, a, rc == CDNI_EOVERFLOW && len > RRI_MAX_BODY ? 413 : 0,
				    RRI_E_BAD_REQUEST, err);
	rc = decide(r, &rq, a);
	rri_request_clear(&rq);
	return rc;
}

void dcdn_ri_too_large(struct dcdn_ri *r, struct dcdn_ri_answer *a)
{
	char reason[64];

	answer_init(a);
	snprintf(reason, sizeof reason, "body: more than %d bytes", RRI_MAX_BODY);
	answer_error(r, a, 413, RRI_E_BAD_REQUEST, reason);
}

void dcdn_ri_refuse(struct dcdn_ri *r, struct dcdn_ri_answer *a, int status, const char *reason)
{
	answer_init(a);
	answer_error(r, a, status, RRI_E_BAD_REQUEST, reason);
}
