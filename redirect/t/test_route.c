/* route.h: policy loading and validation, and the decision for requests:
 * rule order, Host matching, status selection, Location building and escaping,
 * bypass attempts (encoded prefixes, dot segments, doubled slashes), limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/err.h"
#include "common/tap.h"
#include "redirect/route.h"

struct tconf {
	struct route_conf route;
};

static const struct conf_item table[] = {
	ROUTE_CONF_ITEMS(struct tconf, route),
	CONF_END
};

/* Load JSON text into a policy; on failure err holds the message. */
static struct route_policy *load(const char *json, char *err, size_t errlen)
{
	struct tconf tc;
	struct route_policy *p = NULL;

	memset(&tc, 0, sizeof tc);
	err[0] = '\0';
	if (conf_load_string(table, &tc, json, "t.json", err, errlen))
		return NULL;
	if (route_policy_new(&p, &tc.route, err, errlen))
		p = NULL;
	conf_free(table, &tc);
	return p;
}

static struct buf out;
static struct route_decision d;

/* Decide for method + Host + raw target; returns the Location (or origin
 * target) or "" when there is none. */
static const char *decide(const struct route_policy *p, const char *method, const char *host,
			  const char *target)
{
	struct route_request rq = { .method = method, .scheme = "http", .host = host,
				    .host_len = host ? strlen(host) : 0, .client = "127.0.0.1:1" };
	int rc;

	route_request_target(&rq, target, strlen(target));
	memset(&d, 0, sizeof d);
	rc = route_decide(p, &rq, &out, &d);
	if (rc)
		return "(error)";
	return d.location ? d.location : "";
}

static const char *get(const struct route_policy *p, const char *target)
{
	return decide(p, "GET", "www.csp.test", target);
}

static void test_config_errors(void)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\"}]}",
		  "rules[0].target: is required with action redirect" },
		{ "{\"rules\":[{\"prefix\":\"/\",\"action\":\"proxy\"},"
		  "{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test\",\"status\":200}]}",
		  "rules[1].status: must be 301, 302, 307 or 308 for a redirect" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"refuse\",\"status\":302}]}",
		  "rules[0].status: must be a 4xx code" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"proxy\",\"status\":302}]}",
		  "rules[0].status: is not used with action proxy" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"refuse\",\"target\":\"https://e.test\"}]}",
		  "rules[0].target: is only used with action redirect" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"proxy\",\"target_cert\":\"c.pem\"}]}",
		  "rules[0].target_cert: is only used with action redirect" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"refuse\",\"sign\":false}]}",
		  "rules[0].sign: is only used with action redirect" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"ftp://e.test\"}]}",
		  "rules[0].target: must be an absolute http:// or https:// URL" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://\"}]}",
		  "rules[0].target: must be an absolute" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test/a?b\"}]}",
		  "rules[0].target: must be an absolute" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test:99999\"}]}",
		  "rules[0].target: must be an absolute" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://u@e.test\"}]}",
		  "rules[0].target: must be an absolute" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test/a b\"}]}",
		  "rules[0].target: must be an absolute" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"/relative\"}]}",
		  "rules[0].target: must be an absolute" },
		{ "{\"rules\":[{\"prefix\":\"v/\",\"action\":\"proxy\"}]}",
		  "rules[0].prefix: must start with /" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"proxy\",\"host\":\"a.test:80\"}]}",
		  "rules[0].host: must be a DNS name" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"proxy\",\"colour\":1}]}",
		  "rules[0].colour: unknown key" },
		{ "{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"bounce\"}]}",
		  "rules[0].action: must be one of" },
		{ "{\"rules\":[{\"action\":\"proxy\"}]}", "rules[0].prefix: is required" },
		{ "{\"default_action\":\"redirect\"}", "default_action: must be one of" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct route_policy *p = load(cases[i].json, err, sizeof err);
		ok(!p && strstr(err, cases[i].want) != NULL, "config refused: %s", cases[i].want);
		if (p || !strstr(err, cases[i].want))
			diag("got '%s'", err);
		route_policy_free(p);
	}
}

static void test_order_and_status(void)
{
	char err[512];
	struct route_policy *p = load(
		"{\"rules\":["
		"{\"prefix\":\"/v/live/\",\"action\":\"refuse\"},"
		"{\"prefix\":\"/v/old/\",\"action\":\"redirect\",\"status\":301,\"target\":\"https://old.dcdn.test\"},"
		"{\"prefix\":\"/v/t/\",\"action\":\"redirect\",\"status\":307,\"target\":\"https://edge.dcdn.test\"},"
		"{\"prefix\":\"/v/p/\",\"action\":\"redirect\",\"status\":308,\"target\":\"https://edge.dcdn.test\"},"
		"{\"prefix\":\"/v/gone\",\"action\":\"refuse\",\"status\":451},"
		"{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://edge.dcdn.test:8443\"},"
		"{\"prefix\":\"/o/\",\"action\":\"proxy\"}"
		"],\"default_action\":\"refuse\"}", err, sizeof err);

	if (!ok(p != NULL, "policy with seven rules loads"))
		diag("%s", err);
	if (!p)
		return;
	is_str(get(p, "/v/a.ts"), "https://edge.dcdn.test:8443/v/a.ts", "redirect Location keeps the path");
	is_int(d.kind, ROUTE_REDIRECT, "kind redirect");
	is_int(d.status, 302, "default redirect status 302");
	is_int(d.rule, 5, "rule index reported");
	is_str(d.cache_control, "no-store", "default Cache-Control no-store");
	get(p, "/v/live/x");
	is_int(d.kind, ROUTE_REFUSE, "earlier refuse rule wins over later /v/ redirect");
	is_int(d.status, 403, "default refuse status 403");
	is_str(d.reason, "refused by policy", "refuse reason");
	is_str(get(p, "/v/old/x"), "https://old.dcdn.test/v/old/x", "301 rule target");
	is_int(d.status, 301, "status 301");
	get(p, "/v/t/x");
	is_int(d.status, 307, "status 307");
	get(p, "/v/p/x");
	is_int(d.status, 308, "status 308");
	get(p, "/v/gone/x");
	is_int(d.status, 451, "refuse with a configured 451");
	is_str(get(p, "/o/f.txt?x=1"), "/o/f.txt?x=1", "proxy rule: origin target with query");
	is_int(d.kind, ROUTE_ORIGIN, "kind origin");
	get(p, "/other");
	is_int(d.kind, ROUTE_REFUSE, "unmatched path refused by default_action refuse");
	is_int(d.rule, -1, "no rule index for the default");
	get(p, "/v");
	is_int(d.kind, ROUTE_REFUSE, "prefix /v/ does not match /v");
	ok(route_policy_uses_origin(p), "a proxy rule means the origin is used");
	route_policy_free(p);
}

static void test_location(void)
{
	char err[512];
	struct route_policy *p = load(
		"{\"rules\":["
		"{\"prefix\":\"/pre/\",\"action\":\"redirect\",\"target\":\"HTTPS://Edge.DCDN.test:9/cdn/x//\"},"
		"{\"prefix\":\"/v6/\",\"action\":\"redirect\",\"target\":\"http://[::1]:8080\"},"
		"{\"prefix\":\"/\",\"action\":\"redirect\",\"target\":\"https://edge.dcdn.test\"}"
		"],\"redirect_cache_control\":\"max-age=60\"}", err, sizeof err);

	if (!ok(p != NULL, "policy with target path prefixes loads"))
		diag("%s", err);
	if (!p)
		return;
	is_str(get(p, "/pre/a.m3u8?tok=1&b=%2F"), "https://edge.dcdn.test:9/cdn/x/pre/a.m3u8?tok=1&b=%2F",
	       "target path prefix prepended, scheme and host lower-cased, query kept");
	is_str(get(p, "/v6/a"), "http://[::1]:8080/v6/a", "IPv6 literal target");
	is_str(get(p, "/a?"), "https://edge.dcdn.test/a?", "empty query kept");
	is_str(get(p, "/a"), "https://edge.dcdn.test/a", "no query, no '?'");
	is_str(d.cache_control, "max-age=60", "configured Cache-Control");
	is_str(get(p, "/v/a%0D%0ASet-Cookie:x=1"), "https://edge.dcdn.test/v/a%0D%0ASet-Cookie:x=1",
	       "%%0D%%0A stays escaped");
	is_str(get(p, "/v/a\r\nSet-Cookie:x=1"), "https://edge.dcdn.test/v/a%0D%0ASet-Cookie:x=1",
	       "raw CR LF escaped");
	is_str(get(p, "/v/a b\"c<d>e\\f`g"), "https://edge.dcdn.test/v/a%20b%22c%3Cd%3Ee%5Cf%60g",
	       "space, quote, <, >, backslash, backquote escaped");
	is_str(get(p, "/v/caf\xc3\xa9?q=\xff"), "https://edge.dcdn.test/v/caf%C3%A9?q=%FF",
	       "non-ASCII escaped in path and query");
	is_str(get(p, "/v/a%20b%2fc?x=%41"), "https://edge.dcdn.test/v/a%20b%2fc?x=%41",
	       "existing %%XX kept as sent");
	is_str(get(p, "/v/a#frag?q=1#2"), "https://edge.dcdn.test/v/a%23frag?q=1%232", "'#' escaped");
	is_str(get(p, "/v/x?a=%zz&b= c"), "https://edge.dcdn.test/v/x?a=%25zz&b=%20c",
	       "malformed %% and space in the query escaped");
	ok(strpbrk(get(p, "/v/\x01\x7f\t"), "\x01\x7f\t") == NULL, "controls never pass through");
	is_str(get(p, "http://www.csp.test/abs?q"), "https://edge.dcdn.test/abs?q",
	       "absolute-form request target");
	route_policy_free(p);
}

static void test_hosts(void)
{
	char err[512];
	struct route_policy *p = load(
		"{\"rules\":["
		"{\"prefix\":\"/\",\"action\":\"redirect\",\"host\":\"video.csp.test\",\"target\":\"https://a.dcdn.test\"},"
		"{\"prefix\":\"/\",\"action\":\"redirect\",\"host\":\"*.img.csp.test\",\"target\":\"https://b.dcdn.test\"},"
		"{\"prefix\":\"/\",\"action\":\"redirect\",\"host\":\"[::1]\",\"target\":\"https://c.dcdn.test\"}"
		"],\"default_action\":\"proxy\"}", err, sizeof err);

	if (!ok(p == NULL && strstr(err, "rules[2].host"), "bracketed host refused"))
		diag("%s", err);
	route_policy_free(p);
	p = load("{\"rules\":["
		 "{\"prefix\":\"/\",\"action\":\"redirect\",\"host\":\"video.csp.test\",\"target\":\"https://a.dcdn.test\"},"
		 "{\"prefix\":\"/\",\"action\":\"redirect\",\"host\":\"*.img.csp.test\",\"target\":\"https://b.dcdn.test\"}"
		 "],\"default_action\":\"proxy\"}", err, sizeof err);
	if (!ok(p != NULL, "host rules load"))
		diag("%s", err);
	if (!p)
		return;
	is_str(decide(p, "GET", "video.csp.test", "/x"), "https://a.dcdn.test/x", "exact host");
	is_str(decide(p, "GET", "VIDEO.csp.TEST:8443", "/x"), "https://a.dcdn.test/x",
	       "host case-insensitive, port ignored");
	is_str(decide(p, "GET", "video.csp.test.", "/x"), "https://a.dcdn.test/x", "trailing dot ignored");
	is_str(decide(p, "GET", "a.img.csp.test", "/x"), "https://b.dcdn.test/x", "wildcard host");
	is_str(decide(p, "GET", "a.b.img.csp.test:80", "/x"), "https://b.dcdn.test/x", "wildcard, deeper");
	is_str(decide(p, "GET", "img.csp.test", "/x"), "/x", "wildcard does not match the bare name");
	is_int(d.kind, ROUTE_ORIGIN, "other hosts go to the default (proxy)");
	is_str(decide(p, "GET", "xvideo.csp.test", "/x"), "/x", "no suffix match for an exact host");
	is_str(decide(p, "GET", NULL, "/x"), "/x", "no Host: host rules do not match");
	ok(route_policy_uses_origin(p), "default proxy uses the origin");
	route_policy_free(p);
}

static void test_bypass_and_limits(void)
{
	char err[512];
	char *big;
	struct route_policy *p = load(
		"{\"rules\":["
		"{\"prefix\":\"/private/\",\"action\":\"refuse\"},"
		"{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://edge.dcdn.test\"}"
		"]}", err, sizeof err);

	if (!ok(p != NULL, "policy loads"))
		diag("%s", err);
	if (!p)
		return;
	get(p, "/%70rivate/x");
	is_int(d.status, 403, "encoded letter in prefix still matches the refuse rule");
	get(p, "//private//x");
	is_int(d.status, 403, "doubled slashes merged before matching");
	get(p, "/private%2Fx");
	is_int(d.status, 403, "%%2F counts as a slash for matching");
	is_str(get(p, "/%76/a"), "https://edge.dcdn.test/%76/a", "encoded /v/ redirected, bytes kept");
	get(p, "/v/../private/x");
	is_int(d.status, 400, "dot-dot segment refused");
	ok(d.kind == ROUTE_REFUSE && strstr(d.reason, "dot segment"), "reason names dot segment");
	get(p, "/v/%2e%2E/private/x");
	is_int(d.status, 400, "encoded dot-dot refused");
	get(p, "/v/./a");
	is_int(d.status, 400, "dot segment refused");
	get(p, "/v/..");
	is_int(d.status, 400, "trailing dot-dot refused");
	is_str(get(p, "/v/...x/a..b/.hidden"), "https://edge.dcdn.test/v/...x/a..b/.hidden",
	       "dots inside names are fine");
	get(p, "/v/a%zz");
	is_int(d.status, 400, "malformed %%XX refused");
	get(p, "/v/a%4");
	is_int(d.status, 400, "truncated %%X refused");
	get(p, "/v/a%00b");
	is_int(d.status, 400, "%%00 refused");
	get(p, "v/a");
	is_int(d.status, 400, "target without leading / refused");
	get(p, "");
	is_int(d.status, 400, "empty target refused");

	big = malloc(ROUTE_MAX_TARGET + 2);
	big[0] = '/';
	memset(big + 1, 'a', ROUTE_MAX_TARGET);
	big[ROUTE_MAX_TARGET + 1] = '\0';
	get(p, big);
	is_int(d.status, 414, "target one byte over the limit: 414");
	big[ROUTE_MAX_TARGET] = '\0';
	memcpy(big, "/v/", 3);
	get(p, big);
	is_int(d.status, 302, "target at the limit: redirected");
	is_int((long long)d.location_len, (long long)(strlen("https://edge.dcdn.test") + ROUTE_MAX_TARGET),
	       "long Location complete");
	memset(big + 3, '"', ROUTE_MAX_TARGET - 3);
	get(p, big);
	is_int((long long)d.location_len,
	       (long long)(strlen("https://edge.dcdn.test/v/") + 3 * (ROUTE_MAX_TARGET - 3)),
	       "fully escaped long Location complete");
	free(big);
	route_policy_free(p);
}

static void test_methods(void)
{
	char err[512];
	struct route_policy *p = load("{\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\","
				      "\"target\":\"https://edge.dcdn.test\"}]}", err, sizeof err);

	if (!p)
		return;
	decide(p, "POST", "h", "/v/a");
	is_int(d.status, 405, "POST refused with 405");
	is_str(d.allow, ROUTE_ALLOW, "405 carries Allow");
	decide(p, "get", "h", "/v/a");
	is_int(d.status, 405, "methods are case-sensitive");
	decide(p, "HEAD", "h", "/v/a");
	is_int(d.status, 302, "HEAD redirected");
	decide(p, "OPTIONS", "h", "/v/a");
	ok(d.kind == ROUTE_OPTIONS && d.status == 204 && d.allow, "OPTIONS: 204 with Allow");
	decide(p, "OPTIONS", "h", "*");
	ok(d.kind == ROUTE_OPTIONS, "OPTIONS *");
	decide(p, "GET", "h", "*");
	is_int(d.status, 400, "GET * refused");
	decide(p, "GET", "h", "/elsewhere");
	is_int(d.kind, ROUTE_ORIGIN, "default_action defaults to proxy");
	{
		struct route_request rq = { .method = "GET", .version = "HTTP/1.1" };
		route_request_target(&rq, "/v/a", 4);
		route_decide(p, &rq, &out, &d);
		ok(d.status == 400 && strstr(d.reason, "Host"), "HTTP/1.1 without Host: 400");
		rq.version = "HTTP/1.0";
		route_decide(p, &rq, &out, &d);
		is_int(d.status, 302, "HTTP/1.0 without Host: redirected");
		route_request_target(&rq, "http://www.csp.test/v/a", 23);
		rq.version = "HTTP/1.1";
		route_decide(p, &rq, &out, &d);
		is_int(d.status, 302, "HTTP/1.1 absolute-form without Host: redirected");
	}
	route_policy_free(p);
}

static void test_escape_target(void)
{
	struct buf b;

	buf_init(&b, 0);
	route_escape_target(&b, "/a b", 4, NULL, 0);
	is_str(b.data, "/a%20b", "route_escape_target without query");
	buf_reset(&b);
	route_escape_target(&b, "/a", 2, "", 0);
	is_str(b.data, "/a?", "route_escape_target with empty query");
	buf_free(&b);
	is_str(route_action_name(ROUTE_ACT_PROXY), "proxy", "action names");
}

int main(void)
{
	buf_init(&out, 0);
	test_config_errors();
	test_order_and_status();
	test_location();
	test_hosts();
	test_bypass_and_limits();
	test_methods();
	test_escape_target();
	buf_free(&out);
	return done_testing();
}
