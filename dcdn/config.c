#include "dcdn/config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/http.h"
#include "common/httpd.h"

#define MIB (1024LL * 1024LL)

const struct conf_item dcdn_conf_table[] = {
	CONF_LISTEN(struct dcdn_conf, listen),
	CONF_STR("upstream", struct dcdn_conf, upstream, NULL, CONF_REQUIRED,
		 "base URL of the origin or uCDN: http://HOST:PORT[/PREFIX] or https://..."),
	CONF_STR("upstream_ca", struct dcdn_conf, upstream_ca, NULL, 0,
		 "PEM CA file to verify an https upstream (default: system store)"),
	CONF_STR("upstream_host", struct dcdn_conf, upstream_host, NULL, 0,
		 "Host header sent upstream (default: the upstream URL's host)"),
	CONF_INT("upstream_connect_timeout_ms", struct dcdn_conf, upstream_connect_timeout_ms, 1,
		 600000, 2000, "deadline to connect upstream (ms)"),
	CONF_INT("upstream_timeout_ms", struct dcdn_conf, upstream_timeout_ms, 1, 3600000, 10000,
		 "deadline for a whole upstream fetch (ms)"),
	CONF_INT("upstream_concurrency", struct dcdn_conf, upstream_concurrency, 1, 4096, 64,
		 "upstream fetches at once (more wait in a queue)"),
	CONF_INT("cache_size", struct dcdn_conf, cache_size, 16384, 1LL << 40, 64 * MIB,
		 "bytes of memory for cached objects, bookkeeping included"),
	CONF_INT("max_object_size", struct dcdn_conf, max_object_size, 0, 1LL << 40, 0,
		 "bigger responses are streamed through, not stored; 0: cache_size/8"),
	CONF_INT("default_ttl", struct dcdn_conf, default_ttl, 0, 315360000, 0,
		 "seconds to keep a 200 that states no freshness; 0: do not store those"),
	CONF_INT("threads", struct dcdn_conf, threads, 0, 256, 2,
		 "event-loop threads per listener; 0: a thread per connection"),
	CONF_INT("connection_limit", struct dcdn_conf, connection_limit, 0, 1000000, 0,
		 "client connections at once per listener; 0: libmicrohttpd's default"),
	CONF_INT("timeout", struct dcdn_conf, timeout, 1, 3600, 30,
		 "seconds a client connection may stay idle"),
	CONF_STR("access_log", struct dcdn_conf, access_log, "-", 0,
		 "access log file (one JSON object per request); \"-\": stdout; \"off\": none"),
	CONF_OBJ("uri_signing", struct dcdn_conf, uri_signing, dcdn_usign_table, 0,
		 "RFC 9246 URI signing (MI.UriSigning): verify, strip from the cache key, renew; "
		 "on when keys is set"),
	CONF_OBJ("onward", struct dcdn_conf, onward, dcdn_onward_table, 0,
		 "delegating onwards: redirect some requests to the next dCDN's edge, re-signing "
		 "their tokens (RFC 9246 §4); on when onward.to is set"),
	CONF_BOOL("cors", struct dcdn_conf, cors, false,
		  "CORS headers on every answer and OPTIONS preflight answers (browser players)"),
	CONF_STR("cors_origin", struct dcdn_conf, cors_origin, "*", 0,
		 "Access-Control-Allow-Origin of CORS answers"),
	CONF_OBJ("keyless", struct dcdn_conf, keyless, kledge_conf_table, 0,
		 "keyless TLS: tls listeners with a cert and no key present keyless.certs (by SNI) "
		 "and sign through keyless.key_server"),
	CONF_STR("ticket_key", struct dcdn_conf, ticket_key, NULL, 0,
		 "TLS session ticket key file (64 random bytes, the same on every edge of the "
		 "dCDN; replace + SIGHUP rotates); none: no tickets"),
	CONF_OBJ("rri", struct dcdn_conf, rri, dcdn_ri_table, 0,
		 "RFC 7975 redirection interface and RFC 8008 capabilities (docs/redirection-"
		 "interface.md); on when rri.listen is set"),
	CONF_END
};

static int check_url(const char *u, char *err, size_t errlen)
{
	size_t skip = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;

	if (!skip)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "upstream: '%s' must start with http:// or https://", u);
	if (!u[skip] || u[skip] == '/' || u[skip] == ':')
		return cdni_fail(err, errlen, CDNI_ECONFIG, "upstream: '%s' names no host", u);
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#')
			return cdni_fail(err, errlen, CDNI_ECONFIG, "upstream: '%s' may not hold spaces, controls, "
				    "a query or a fragment", u);
	return 0;
}

static int check_file(const char *path, const char *key, char *err, size_t errlen)
{
	if (path && access(path, R_OK) != 0)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "%s: cannot read '%s'", key, path);
	return 0;
}

static int check_listeners(const struct dcdn_conf *c, char *err, size_t errlen)
{
	const struct listen_conf *lcs = c->listen.v;
	char path[64];

	if (c->listen.n == 0)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "listen: at least one listener is needed");
	for (size_t i = 0; i < c->listen.n; i++) {
		snprintf(path, sizeof path, "listen[%zu]", i);
		if (listen_conf_check_ext(&lcs[i], path, kledge_enabled(&c->keyless), err, errlen))
			return CDNI_ECONFIG;
		snprintf(path, sizeof path, "listen[%zu].cert", i);
		if (check_file(lcs[i].cert, path, err, errlen))
			return CDNI_ECONFIG;
		snprintf(path, sizeof path, "listen[%zu].key", i);
		if (check_file(lcs[i].key, path, err, errlen))
			return CDNI_ECONFIG;
	}
	return 0;
}

/* Load the URI signing keys once, so that -n reports what start would. */
static int check_usign(const struct dcdn_conf *c, char *err, size_t errlen)
{
	struct usign *u = NULL;
	struct onward *o = NULL;
	int rc = usign_new(&c->uri_signing, &u, err, errlen);

	usign_free(u);
	if (rc == 0)
		rc = onward_new(&c->onward, &o, err, errlen);
	onward_free(o);
	return rc;
}

int dcdn_conf_check(const struct dcdn_conf *c, char *err, size_t errlen)
{
	if (check_listeners(c, err, errlen) || check_url(c->upstream, err, errlen) ||
	    check_file(c->upstream_ca, "upstream_ca", err, errlen))
		return CDNI_ECONFIG;
	if (c->upstream_host && (!*c->upstream_host || strpbrk(c->upstream_host, " \t/") ||
				 !http_header_value_safe(c->upstream_host)))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "upstream_host: '%s' is not a host name", c->upstream_host);
	if (!*c->cors_origin || !http_header_value_safe(c->cors_origin))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "cors_origin: must be a header value (\"*\" or an origin)");
	if (c->max_object_size > c->cache_size)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "max_object_size: %lld is more than cache_size (%lld)",
			    c->max_object_size, c->cache_size);
	if (dcdn_ri_conf_check(&c->rri, err, errlen) ||
	    kledge_conf_check(&c->keyless, "keyless", err, errlen))
		return CDNI_ECONFIG;
	for (size_t i = 0; i < c->keyless.certs.n; i++)
		if (check_file(c->keyless.certs.v[i], "keyless.certs", err, errlen))
			return CDNI_ECONFIG;
	if (check_file(c->ticket_key, "ticket_key", err, errlen))
		return CDNI_ECONFIG;
	return check_usign(c, err, errlen);
}

static int finish_load(struct dcdn_conf *c, const char *name, char *err, size_t errlen)
{
	char inner[512];

	if (dcdn_conf_check(c, inner, sizeof inner)) {
		snprintf(err, errlen, "%s: %s", name, inner);
		dcdn_conf_free(c);
		return CDNI_ECONFIG;
	}
	return 0;
}

int dcdn_conf_load(const char *file, struct dcdn_conf *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (conf_load_file(dcdn_conf_table, c, file, err, errlen))
		return CDNI_ECONFIG;
	return finish_load(c, file, err, errlen);
}

int dcdn_conf_load_string(const char *text, const char *name, struct dcdn_conf *c, char *err,
			  size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (conf_load_string(dcdn_conf_table, c, text, name, err, errlen))
		return CDNI_ECONFIG;
	return finish_load(c, name, err, errlen);
}

void dcdn_conf_free(struct dcdn_conf *c)
{
	conf_free(dcdn_conf_table, c);
}

size_t dcdn_conf_max_object(const struct dcdn_conf *c)
{
	return (size_t)(c->max_object_size ? c->max_object_size : c->cache_size / 8);
}
