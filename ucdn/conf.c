/* cdni-ucdn configuration: the table and the checks beyond types. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/err.h"
#include "common/http.h"
#include "common/httpd.h"
#include "ucdn/rewrite.h"
#include "ucdn/ucdn.h"

const struct conf_item ucdn_conf_table[] = {
	CONF_LISTEN(struct ucdn_conf, listen),
	CONF_STR("origin", struct ucdn_conf, origin, NULL, 0,
		 "origin base URL http(s)://host[:port][/prefix]; needed when any path is proxied"),
	CONF_STR("origin_ca", struct ucdn_conf, origin_ca, NULL, 0,
		 "PEM CA file to verify an https origin (default: system store)"),
	CONF_INT("origin_timeout_ms", struct ucdn_conf, origin_timeout_ms, 1, 3600000, 10000,
		 "deadline for a whole origin fetch; past it the client gets 504"),
	CONF_INT("origin_connect_timeout_ms", struct ucdn_conf, origin_connect_timeout_ms, 1,
		 600000, 2000, "deadline to connect to the origin"),
	CONF_INT("origin_max_body", struct ucdn_conf, origin_max_body, 1, 1LL << 30, 16LL << 20,
		 "largest origin body buffered for a client (bytes); larger gives 502"),
	ROUTE_CONF_ITEMS(struct ucdn_conf, route),
	CONF_INT("threads", struct ucdn_conf, threads, 0, 1024, 4,
		 "0: a thread per connection; N: a pool of N epoll threads per listener"),
	CONF_INT("origin_workers", struct ucdn_conf, origin_workers, 1, 1024, 8,
		 "with threads > 0: threads that fetch from the origin (connections wait suspended)"),
	CONF_STR("access_log", struct ucdn_conf, access_log, "-", 0,
		 "access log file (JSON lines), \"-\" for stdout, \"off\" for none"),
	CONF_OBJ("uri_signing", struct ucdn_conf, uri_signing, ucdn_sign_table, 0,
		 "RFC 9246: sign every redirect's Location (key set), verify incoming tokens "
		 "(verify.keys set)"),
	CONF_OBJ("rewrite", struct ucdn_conf, rewrite, rw_conf_table, 0,
		 "manifest and page rewriting (docs/rewriting.md): which paths, the per-URI policy"),
	CONF_OBJ("rri", struct ucdn_conf, rri, ask_conf_table, 0,
		 "RFC 7975 redirection interface: rules with \"ask\": true ask these dCDNs "
		 "where to send each client"),
	CONF_STR("api_path", struct ucdn_conf, api_path, NULL, 0,
		 "API mode: GET PATH?url=URL answers the delegated URL as JSON (absent: no API)"),
	CONF_BOOL("cors", struct ucdn_conf, cors, false,
		  "CORS headers on every answer (redirects included) and preflight answers"),
	CONF_STR("cors_origin", struct ucdn_conf, cors_origin, "*", 0,
		 "Access-Control-Allow-Origin of CORS answers (the API's too)"),
	CONF_END
};

/* An origin base URL: http or https, a host, no query or fragment. */
static int check_origin(const char *url)
{
	size_t skip;

	if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else
		return CDNI_EINVAL;
	if (url[skip] == '\0' || url[skip] == '/' || strpbrk(url, "?# \t\"<>\\@") ||
	    !http_header_value_safe(url))
		return CDNI_EINVAL;
	return 0;
}

static int check_listeners(const struct ucdn_conf *cf, char *err, size_t errlen)
{
	const struct listen_conf *lc = cf->listen.v;
	char path[32];

	if (cf->listen.n == 0) {
		snprintf(err, errlen, "listen: needs at least one listener");
		return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < cf->listen.n; i++) {
		snprintf(path, sizeof path, "listen[%zu]", i);
		if (listen_conf_check(&lc[i], path, err, errlen))
			return CDNI_ECONFIG;
	}
	return 0;
}

static int check_origin_keys(const struct ucdn_conf *cf, const struct route_policy *p,
			     char *err, size_t errlen)
{
	if (!cf->origin && route_policy_uses_origin(p)) {
		snprintf(err, errlen, "origin: is required when some path is proxied "
				      "(default_action \"proxy\" or a \"proxy\" rule)");
		return CDNI_ECONFIG;
	}
	if (cf->origin && check_origin(cf->origin)) {
		snprintf(err, errlen, "origin: must be an http:// or https:// base URL "
				      "(host[:port][/prefix], no query), got %s", cf->origin);
		return CDNI_ECONFIG;
	}
	if (cf->origin_ca && access(cf->origin_ca, R_OK) != 0) {
		snprintf(err, errlen, "origin_ca: cannot read %s", cf->origin_ca);
		return CDNI_ECONFIG;
	}
	if (strcmp(cf->access_log, "") == 0) {
		snprintf(err, errlen, "access_log: must be a path, \"-\" or \"off\"");
		return CDNI_ECONFIG;
	}
	return 0;
}

/* The rri object (its fci files loaded once), and rules that ask need it. */
static int check_ask(const struct ucdn_conf *cf, char *err, size_t errlen)
{
	const struct route_rule_conf *r = cf->route.rules.v;
	int rc = 0;

	for (size_t i = 0; i < cf->route.rules.n; i++)
		if (r[i].ask && (r[i].action != ROUTE_ACT_REDIRECT || !ask_enabled(&cf->rri))) {
			snprintf(err, errlen, "rules[%zu].ask: needs a redirect rule and rri.cdn_id", i);
			return CDNI_ECONFIG;
		}
	if (ask_enabled(&cf->rri) && cf->rri.fallback == ASK_FALLBACK_ORIGIN && !cf->origin) {
		snprintf(err, errlen, "rri.fallback: \"origin\" needs origin");
		return CDNI_ECONFIG;
	}
	if (ask_enabled(&cf->rri))
		rc = ask_check(&cf->rri, err, errlen);
	return rc;
}

/* Load the signing key, the verifier's keys and the rules' certificates
 * once, so that -n reports what start would. */
static int check_signing(const struct ucdn_conf *cf, char *err, size_t errlen)
{
	struct ucdn_sign *s = NULL;
	int rc = ucdn_sign_new(&cf->uri_signing, &cf->route, &s, err, errlen);

	ucdn_sign_free(s);
	return rc;
}

int ucdn_conf_check(const struct ucdn_conf *cf, struct route_policy **policy, char *err,
		    size_t errlen)
{
	struct route_policy *p = NULL;
	int rc;

	if ((rc = check_listeners(cf, err, errlen)))
		return rc;
	if ((rc = route_policy_new(&p, &cf->route, err, errlen)))
		return rc;
	if ((rc = check_origin_keys(cf, p, err, errlen)) || (rc = check_signing(cf, err, errlen)) ||
	    (rc = ucdn_rewrite_check(cf, err, errlen)) || (rc = check_ask(cf, err, errlen))) {
		route_policy_free(p);
		return rc;
	}
	*policy = p;
	return 0;
}

int ucdn_conf_load(struct ucdn_conf *cf, const char *file, struct route_policy **policy,
		   char *err, size_t errlen)
{
	char inner[512];

	if (conf_load_file(ucdn_conf_table, cf, file, err, errlen))
		return CDNI_ECONFIG;
	if (ucdn_conf_check(cf, policy, inner, sizeof inner)) {
		snprintf(err, errlen, "%s: %s", file, inner);
		ucdn_conf_free(cf);
		return CDNI_ECONFIG;
	}
	return 0;
}

void ucdn_conf_free(struct ucdn_conf *cf)
{
	conf_free(ucdn_conf_table, cf);
}
