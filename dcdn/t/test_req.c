/* dcdn/req and dcdn/config: request checks and cache keys, policy hooks,
 * response plans (HEAD, ranges, validators), error statuses, config checks
 * that name the key path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "dcdn/config.h"
#include "dcdn/req.h"

static struct req_info ri;

static int parse_v(const char *method, const char *version, const char *target, const char *host,
		   unsigned hosts)
{
	struct req_in in = { method, version, target, host, hosts };
	const char *reason = NULL;

	memset(&ri, 0, sizeof ri);
	return req_parse(&ri, &in, &reason);
}

static int parse(const char *method, const char *target, const char *host)
{
	return parse_v(method, "HTTP/1.1", target, host, host ? 1 : 0);
}

static void parsing(void)
{
	char *longt = malloc(REQ_TARGET_MAX + 10);

	is_int(parse("GET", "/a/b.ts?x=1&y=2", "Edge.DCDN.test:8443"), 0, "GET accepted");
	is_str(ri.key, "edge.dcdn.test/a/b.ts?x=1&y=2", "key: lowercased host without port + target");
	is_str(ri.fetch_target, "/a/b.ts?x=1&y=2", "fetched as received");
	ok(!ri.head, "GET is not HEAD");
	is_int(parse("HEAD", "/a/b.ts?x=1&y=2", "edge.dcdn.test"), 0, "HEAD accepted");
	ok(ri.head && strcmp(ri.key, "edge.dcdn.test/a/b.ts?x=1&y=2") == 0,
	   "HEAD shares GET's key, port or not");
	is_int(parse("GET", "/x", "[::1]:8080"), 0, "IPv6 Host");
	is_str(ri.key, "[::1]/x", "IPv6 Host without port in the key");
	is_int(parse("GET", "/x", "[::1]"), 0, "IPv6 Host without port");
	is_str(ri.key, "[::1]/x", "brackets kept");
	is_int(parse("GET", "http://Origin.example:81/p?q", "ignored.example"), 0, "absolute-form");
	ok(strcmp(ri.key, "origin.example/p?q") == 0 && strcmp(ri.fetch_target, "/p?q") == 0,
	   "absolute-form: authority for Host, origin-form target (%s)", ri.key);
	is_int(parse("GET", "https://h.example?q=1", "h"), 0, "absolute-form without a path");
	is_str(ri.fetch_target, "/?q=1", "empty path becomes /");
	is_int(parse("POST", "/x", "h"), 405, "POST: 405");
	is_int(parse("DELETE", "/x", "h"), 405, "DELETE: 405");
	is_int(parse("GET", "x", "h"), 400, "target without a slash: 400");
	is_int(parse("GET", "*", "h"), 400, "asterisk-form: 400");
	is_int(parse("GET", "/a b", "h"), 400, "space: 400");
	is_int(parse("GET", "/a\x01", "h"), 400, "control byte: 400");
	is_int(parse("GET", "/a\xc3\xa9", "h"), 400, "raw non-ASCII: 400");
	is_int(parse("GET", "/a#frag", "h"), 400, "fragment: 400");
	is_int(parse("GET", "http:///x", "h"), 400, "absolute-form without authority: 400");
	is_int(parse("GET", "/x", "a/b"), 400, "Host with a slash: 400");
	is_int(parse("GET", "/x", "a b"), 400, "Host with a space: 400");
	is_int(parse("GET", "/x", "a\r\nX: y"), 400, "Host with CRLF: 400");
	is_int(parse("GET", "/x", NULL), 400, "HTTP/1.1 without Host: 400");
	is_int(parse_v("GET", "HTTP/1.1", "/x", "a", 2), 400, "two Host headers: 400");
	is_int(parse_v("GET", "HTTP/1.0", "/x", NULL, 0), 0, "no Host (HTTP/1.0) accepted");
	is_str(ri.key, "/x", "key without a host");
	memset(longt, 'a', REQ_TARGET_MAX + 9);
	longt[0] = '/';
	longt[REQ_TARGET_MAX + 9] = '\0';
	is_int(parse("GET", longt, "h"), 414, "target too long: 414");
	free(longt);
}

static int deny_secret(void *cls, struct req_info *r, struct req_verdict *v)
{
	(void)cls;
	if (strstr(r->target, "secret")) {
		v->status = 403;
		v->reason = "forbidden";
		return 1;
	}
	return 0;
}

static int strip_token(void *cls, struct req_info *r, struct req_verdict *v)
{
	char *q = strstr(r->key, "?tok=");

	(void)cls; (void)v;
	if (q)
		*q = '\0';
	return 0;
}

static void policy(void)
{
	struct req_hook hooks[] = { { "deny", deny_secret, NULL }, { "strip", strip_token, NULL } };
	struct req_verdict v;

	parse("GET", "/a.ts?tok=abc", "h");
	is_int(req_policy(hooks, 2, &ri, &v), 0, "hooks let a request through");
	is_str(ri.key, "h/a.ts", "a hook rewrote the cache key");
	is_str(ri.fetch_target, "/a.ts?tok=abc", "the upstream target is kept");
	parse("GET", "/secret.ts", "h");
	ok(req_policy(hooks, 2, &ri, &v) == 1 && v.status == 403, "a hook refuses with its status");
	is_int(req_policy(NULL, 0, &ri, &v), 0, "no hooks: through");
}

static struct cache_meta meta(int status, uint64_t len)
{
	struct cache_meta m = { .status = status, .etag = "\"v1\"",
				.last_modified = "Tue, 14 Nov 2023 22:13:20 GMT", .length = len };
	return m;
}

static void plans(void)
{
	struct cache_meta m = meta(200, 1000);
	struct req_cond rc = { 0 };
	struct req_plan p;

	req_plan(&m, &rc, false, &p);
	ok(p.status == 200 && p.body && p.first == 0 && p.len == 1000, "plain GET: 200 whole");
	req_plan(&m, &rc, true, &p);
	ok(p.status == 200 && !p.body && p.len == 1000, "HEAD: 200, length, no body");
	rc.range = "bytes=10-19";
	req_plan(&m, &rc, false, &p);
	ok(p.status == 206 && p.first == 10 && p.len == 10, "range: 206 10..19");
	is_str(p.content_range, "bytes 10-19/1000", "Content-Range");
	req_plan(&m, &rc, true, &p);
	is_int(p.status, 200, "HEAD ignores Range");
	rc.range = "bytes=-100";
	req_plan(&m, &rc, false, &p);
	ok(p.status == 206 && p.first == 900 && p.len == 100, "suffix range");
	rc.range = "bytes=1000-";
	req_plan(&m, &rc, false, &p);
	ok(p.status == 416 && !p.body, "range past the end: 416");
	is_str(p.content_range, "bytes */1000", "416 Content-Range");
	rc.range = "bytes=0-1,5-6";
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 200, "several ranges: ignored, 200");
	rc.range = "bytes=0-9";
	rc.if_range = "\"v1\"";
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 206, "If-Range with our strong ETag: range");
	rc.if_range = "\"v0\"";
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 200, "If-Range with another ETag: whole");
	rc.if_range = "Tue, 14 Nov 2023 22:13:20 GMT";
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 206, "If-Range with our Last-Modified: range");
	memset(&rc, 0, sizeof rc);
	rc.if_none_match = "\"v0\", W/\"v1\"";
	req_plan(&m, &rc, false, &p);
	ok(p.status == 304 && !p.body, "If-None-Match matching (weakly): 304");
	rc.if_none_match = "\"v0\"";
	rc.if_modified_since = "Tue, 14 Nov 2023 22:13:20 GMT";
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 200, "If-None-Match not matching wins over If-Modified-Since");
	rc.if_none_match = NULL;
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 304, "If-Modified-Since not older than Last-Modified: 304");
	rc.if_modified_since = "Tue, 14 Nov 2023 22:13:19 GMT";
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 200, "If-Modified-Since older: 200");
	rc.if_modified_since = "yesterday";
	req_plan(&m, &rc, false, &p);
	is_int(p.status, 200, "bad If-Modified-Since ignored");
	m = meta(200, CACHE_SIZE_UNKNOWN);
	memset(&rc, 0, sizeof rc);
	rc.range = "bytes=0-9";
	req_plan(&m, &rc, false, &p);
	ok(p.status == 200 && p.len == CACHE_SIZE_UNKNOWN, "length unknown: Range ignored");
	m = meta(404, 10);
	rc.if_none_match = "\"v1\"";
	req_plan(&m, &rc, false, &p);
	ok(p.status == 404 && p.body, "a 404 passes as it is, validators and ranges ignored");
	is_int(req_error_status(CDNI_ETIMEDOUT), 504, "deadline: 504");
	is_int(req_error_status(CDNI_EUPSTREAM), 502, "upstream failure: 502");
	is_int(req_error_status(CDNI_ECLOSED), 503, "shutting down: 503");
}

static int load(const char *text, char *err, size_t errlen)
{
	struct dcdn_conf c;
	int rc = dcdn_conf_load_string(text, "t.json", &c, err, errlen);

	if (rc == 0)
		dcdn_conf_free(&c);
	return rc;
}

#define L "\"listen\":[{\"port\":0}]"

static void config(void)
{
	struct dcdn_conf c;
	char err[512];

	ok(dcdn_conf_load_string("{" L ",\"upstream\":\"http://127.0.0.1:1\"}", "t.json", &c, err,
				 sizeof err) == 0, "minimal config loads");
	ok(c.cache_size == 64 << 20 && c.upstream_timeout_ms == 10000 &&
	   c.upstream_connect_timeout_ms == 2000 && c.default_ttl == 0 && c.threads == 2,
	   "defaults");
	is_int((long long)dcdn_conf_max_object(&c), 8 << 20, "max_object_size defaults to cache_size/8");
	dcdn_conf_free(&c);
	ok(load("{" L ",\"upstream\":\"ftp://x\"}", err, sizeof err) && strstr(err, "t.json: upstream:"),
	   "ftp upstream refused: %s", err);
	ok(load("{" L ",\"upstream\":\"http://\"}", err, sizeof err) && strstr(err, "upstream:"),
	   "upstream without host refused: %s", err);
	ok(load("{" L ",\"upstream\":\"http://h/a?b\"}", err, sizeof err) && strstr(err, "upstream:"),
	   "upstream with a query refused");
	ok(load("{" L "}", err, sizeof err) && strstr(err, "upstream"), "upstream required: %s", err);
	ok(load("{\"listen\":[{\"port\":70000}],\"upstream\":\"http://h\"}", err, sizeof err) &&
	   strstr(err, "listen[0].port"), "bad port names listen[0].port: %s", err);
	ok(load("{\"listen\":[{\"port\":0,\"tls\":true}],\"upstream\":\"http://h\"}", err, sizeof err) &&
	   strstr(err, "listen[0]"), "tls without cert/key: %s", err);
	ok(load("{\"listen\":[{\"port\":0,\"tls\":true,\"cert\":\"/nonexistent.pem\",\"key\":\"/x\"}],"
		"\"upstream\":\"http://h\"}", err, sizeof err) && strstr(err, "listen[0].cert: cannot read"),
	   "unreadable cert named: %s", err);
	ok(load("{" L ",\"upstream\":\"https://h\",\"upstream_ca\":\"/nonexistent\"}", err, sizeof err) &&
	   strstr(err, "upstream_ca: cannot read"), "unreadable upstream_ca: %s", err);
	ok(load("{" L ",\"upstream\":\"http://h\",\"cache_size\":100000,\"max_object_size\":200000}",
		err, sizeof err) && strstr(err, "max_object_size:"), "max_object_size > cache_size: %s", err);
	ok(load("{" L ",\"upstream\":\"http://h\",\"cache_sise\":1}", err, sizeof err) &&
	   strstr(err, "cache_sise"), "misspelt key: %s", err);
	ok(load("{" L ",\"upstream\":\"http://h\",\"upstream_host\":\"a b\"}", err, sizeof err) &&
	   strstr(err, "upstream_host:"), "bad upstream_host: %s", err);
	ok(load("{" L ",\"upstream\":\"http://h\",\"threads\":-1}", err, sizeof err) &&
	   strstr(err, "threads"), "negative threads: %s", err);
	ok(load("{\"listen\":[],\"upstream\":\"http://h\"}", err, sizeof err) && strstr(err, "listen"),
	   "no listener: %s", err);
}

int main(void)
{
	parsing();
	policy();
	plans();
	config();
	return done_testing();
}
