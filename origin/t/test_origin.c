/* origin.h: config checks, routing (methods, traversal), opening under the
 * root (symlinks, directories, index), and the decision (ranges, validators,
 * conditional requests, types, Cache-Control rules, CORS). No sockets. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/tap.h"
#include "origin/origin.h"

static char dir[64], root[96];

static void put(const char *rel, const char *data)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(data, f);
		fclose(f);
	}
}

static void mk(const char *rel)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	mkdir(p, 0755);
}

static void lnk(const char *target, const char *rel)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	if (symlink(target, p) != 0)
		diag("symlink %s: failed", p);
}

/* A tree: dir/outside.txt, and under dir/root the content. */
static void make_tree(void)
{
	char p[256];

	snprintf(dir, sizeof dir, "%s/origin-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(root, sizeof root, "%s/root", dir);
	mk("root");
	put("outside.txt", "secret\n");
	put("root/a.ts", "0123456789");
	put("root/empty.mp4", "");
	mk("root/sub");
	put("root/sub/index.html", "<p>hi</p>\n");
	mk("root/noindex");
	mk("root/d2");
	mk("root/d2/index.html");
	lnk("a.ts", "root/in.ts");
	lnk("sub", "root/insub");
	lnk("/etc/passwd", "root/abs");
	lnk("../outside.txt", "root/rel");
	lnk("..", "root/up");
	snprintf(p, sizeof p, "%s/root/fifo", dir);
	mkfifo(p, 0644);
}

static void remove_tree(void)
{
	char cmd[160];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
}

static int load(struct origin_conf *c, const char *extra)
{
	char text[2048], err[512];
	int rc;

	snprintf(text, sizeof text, "{\"listen\":[{\"port\":0}],\"root\":\"%s\"%s%s}", root,
		 extra[0] ? "," : "", extra);
	memset(c, 0, sizeof *c);
	rc = conf_load_string(origin_conf_table, c, text, "t.json", err, sizeof err);
	if (rc)
		diag("%s", err);
	return rc;
}

/* Load then check; returns the check's message (or "" when both pass). */
static const char *check_msg(const char *json)
{
	static char err[512];
	struct origin_conf c = { 0 };

	err[0] = '\0';
	if (conf_load_string(origin_conf_table, &c, json, "t.json", err, sizeof err))
		return err;
	origin_conf_check(&c, err, sizeof err);
	origin_conf_free(&c);
	return err;
}

static void test_conf(void)
{
	struct origin_conf c;
	char json[1024];

	ok(load(&c, "") == 0, "minimal config loads");
	is_int(c.threads, 4, "threads default 4 (epoll pool)");
	is_int(c.timeout, 30, "timeout default 30");
	is_str(c.cache_control, "public, max-age=60", "cache_control default");
	is_str(c.cors_origin, "*", "cors_origin default *");
	is_str(c.index, "index.html", "index default");
	is_str(c.access_log, "-", "access_log default stdout");
	ok(!c.cors, "cors off by default");
	is_int(origin_conf_check(&c, json, sizeof json), 0, "minimal config checks");
	origin_conf_free(&c);

	ok(strstr(check_msg("{\"listen\":[{\"port\":0}],\"root\":\"/nonexistent/x\"}"), "root: '/nonexistent/x'") != NULL,
	   "missing root named");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s/a.ts\"}", root);
	ok(strstr(check_msg(json), "root:") && strstr(check_msg(json), "not a directory"),
	   "root that is a file refused");
	snprintf(json, sizeof json, "{\"listen\":[],\"root\":\"%s\"}", root);
	ok(strstr(check_msg(json), "listen:") != NULL, "no listener refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0},{\"port\":0,\"tls\":true}],\"root\":\"%s\"}", root);
	ok(strstr(check_msg(json), "listen[1]: tls needs both cert and key") != NULL,
	   "tls without cert named listen[1]");
	snprintf(json, sizeof json,
		 "{\"listen\":[{\"port\":0,\"tls\":true,\"cert\":\"/nonexistent.pem\",\"key\":\"/nonexistent.key\"}],\"root\":\"%s\"}",
		 root);
	ok(strstr(check_msg(json), "listen[0].cert: '/nonexistent.pem'") != NULL,
	   "unreadable cert named listen[0].cert");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0,\"address\":\"localhost\"}],\"root\":\"%s\"}", root);
	ok(strstr(check_msg(json), "listen[0].address") != NULL, "non-numeric address refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"rules\":[{\"cache_control\":\"x\"}]}", root);
	ok(strstr(check_msg(json), "rules[0]: needs a prefix") != NULL, "rule without prefix/ext refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"rules\":[{\"ext\":\"ts\",\"cache_control\":\"x\"},{\"prefix\":\"live\",\"cache_control\":\"x\"}]}", root);
	ok(strstr(check_msg(json), "rules[1].prefix: must start with '/'") != NULL,
	   "relative prefix refused, named rules[1].prefix");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"rules\":[{\"ext\":\"ts\"}]}", root);
	ok(strstr(check_msg(json), "rules[0].cache_control: is required") != NULL,
	   "rule without cache_control refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"cache_control\":\"max-age=1\\r\\nX-Evil: 1\"}", root);
	ok(strstr(check_msg(json), "cache_control: control characters") != NULL,
	   "CR LF in cache_control refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"cors_origin\":\"a\\nb\"}", root);
	ok(strstr(check_msg(json), "cors_origin:") != NULL, "LF in cors_origin refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"index\":\"../x\"}", root);
	ok(strstr(check_msg(json), "index: must be a file name") != NULL, "index with a slash refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"threads\":-1}", root);
	ok(strstr(check_msg(json), "threads: must be an integer in 0..1024") != NULL, "negative threads refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"symlinks\":\"always\"}", root);
	ok(strstr(check_msg(json), "symlinks: must be one of") != NULL, "unknown symlinks mode refused");
	snprintf(json, sizeof json, "{\"listen\":[{\"port\":0}],\"root\":\"%s\",\"cros\":true}", root);
	ok(strstr(check_msg(json), "cros: unknown key") != NULL, "misspelt key refused");
}

static void test_conf_file(void)
{
	struct origin_conf c;
	char path[160], err[512];

	snprintf(path, sizeof path, "%s/bad.json", dir);
	put("bad.json", "{\"listen\":[{\"port\":70000}],\"root\":\"/\"}");
	is_int(origin_conf_load(path, &c, err, sizeof err), CDNI_ECONFIG, "bad port: load fails");
	ok(strstr(err, "bad.json: listen[0].port: must be an integer in 0..65535, got 70000") != NULL,
	   "message names the file and the key path");
	put("bad.json", "{\"listen\":[{\"port\":0}],\"root\":\"/nonexistent\"}");
	is_int(origin_conf_load(path, &c, err, sizeof err), CDNI_ECONFIG, "bad root: load fails");
	ok(strstr(err, "bad.json: root: '/nonexistent'") != NULL, "check message has the file name too");
}

static void req(struct origin_req *rq, const char *method, const char *target)
{
	memset(rq, 0, sizeof *rq);
	rq->method = method;
	rq->target = target;
	rq->version = "HTTP/1.1";
	rq->host = "origin.csp.test";
}

static int route(const struct origin_conf *c, const char *method, const char *target,
		 char *path, struct origin_resp *rs)
{
	struct origin_req rq;

	req(&rq, method, target);
	return origin_route(c, &rq, path, ORIGIN_PATH_MAX, rs);
}

static void test_route(void)
{
	static const char *const refused[] = {
		"/../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/etc/passwd", "/a/.%2e/b",
		"/a%2fb", "/a%2F..%2Fb", "/a%00", "/a.ts%00.html", "/a%5cb", "/..%5c..%5cetc/passwd",
		"/a\\b", "/a/./b", "/a/..", "/a%0d%0aX: y", "/a%", "/a%g1", "", "*", "a.ts",
	};
	static const char *const methods[] = { "POST", "PUT", "DELETE", "PATCH", "TRACE",
					       "CONNECT", "get", "BREW" };
	struct origin_conf c;
	struct origin_resp rs;
	struct origin_req rq;
	char path[ORIGIN_PATH_MAX], *longp;

	load(&c, "");
	is_int(route(&c, "GET", "/a.ts", path, &rs), 0, "GET /a.ts goes on to the file");
	is_str(path, "/a.ts", "decoded path");
	is_int(route(&c, "HEAD", "/v/a%20b.ts?token=x%2fy", path, &rs), 0, "HEAD with a query");
	is_str(path, "/v/a b.ts", "query stripped, %%20 decoded");
	is_int(route(&c, "GET", "http://origin.csp.test/v/a.ts?x", path, &rs), 0, "absolute-form target");
	is_str(path, "/v/a.ts", "absolute-form: the path");
	is_int(route(&c, "GET", "http://origin.csp.test", path, &rs), 0, "absolute-form without path");
	is_str(path, "/", "absolute-form without path is /");
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		int r = route(&c, "GET", refused[i], path, &rs);
		ok(r == 1 && rs.status == 400 && !rs.file, "'%s' refused with 400", refused[i]);
	}
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		int r = route(&c, methods[i], "/a.ts", path, &rs);
		ok(r == 1 && rs.status == 405, "%s -> 405", methods[i]);
	}
	is_str(origin_resp_header(&rs, "Allow"), "GET, HEAD, OPTIONS", "405 carries Allow");
	longp = malloc(ORIGIN_PATH_MAX + 100);
	memset(longp, 'a', ORIGIN_PATH_MAX + 99);
	longp[0] = '/';
	longp[ORIGIN_PATH_MAX + 99] = '\0';
	route(&c, "GET", longp, path, &rs);
	is_int(rs.status, 414, "a path longer than PATH_MAX -> 414");
	free(longp);

	req(&rq, "GET", "/a.ts");
	rq.host = NULL;
	ok(origin_route(&c, &rq, path, sizeof path, &rs) == 1 && rs.status == 400,
	   "HTTP/1.1 without Host -> 400");
	rq.version = "HTTP/1.0";
	is_int(origin_route(&c, &rq, path, sizeof path, &rs), 0, "HTTP/1.0 without Host is fine");

	ok(route(&c, "OPTIONS", "*", path, &rs) == 1 && rs.status == 204, "OPTIONS * -> 204");
	ok(route(&c, "OPTIONS", "/a.ts", path, &rs) == 1 && rs.status == 204, "OPTIONS -> 204");
	is_str(origin_resp_header(&rs, "Allow"), "GET, HEAD, OPTIONS", "OPTIONS carries Allow");
	is_str(origin_resp_header(&rs, "Access-Control-Allow-Origin"), NULL, "no CORS when off");
	ok(route(&c, "OPTIONS", "/../x", path, &rs) == 1 && rs.status == 400,
	   "OPTIONS with a traversal -> 400");
	origin_conf_free(&c);
}

static void test_cors(void)
{
	struct origin_conf c;
	struct origin_resp rs;
	char path[ORIGIN_PATH_MAX];
	const char *v;

	load(&c, "\"cors\":true");
	route(&c, "OPTIONS", "/v/a.m4s", path, &rs);
	is_int(rs.status, 204, "preflight -> 204");
	is_str(origin_resp_header(&rs, "Access-Control-Allow-Origin"), "*", "preflight ACAO *");
	v = origin_resp_header(&rs, "Access-Control-Allow-Methods");
	ok(v && strstr(v, "GET") && strstr(v, "HEAD"), "preflight Allow-Methods GET, HEAD");
	v = origin_resp_header(&rs, "Access-Control-Allow-Headers");
	ok(v && strstr(v, "Range"), "preflight Allow-Headers has Range");
	v = origin_resp_header(&rs, "Access-Control-Expose-Headers");
	ok(v && strstr(v, "Content-Length") && strstr(v, "Content-Range") && strstr(v, "ETag"),
	   "preflight Expose-Headers: Content-Length, Content-Range, ETag");
	is_str(origin_resp_header(&rs, "Access-Control-Max-Age"), "86400", "preflight Max-Age");
	route(&c, "DELETE", "/v/a.m4s", path, &rs);
	is_str(origin_resp_header(&rs, "Access-Control-Allow-Origin"), "*", "CORS on a 405 too");
	origin_conf_free(&c);

	load(&c, "\"cors\":true,\"cors_origin\":\"https://player.example\"");
	route(&c, "OPTIONS", "/x", path, &rs);
	is_str(origin_resp_header(&rs, "Access-Control-Allow-Origin"), "https://player.example",
	       "configured origin");
	origin_conf_free(&c);
}

static struct stat fake_stat(long long size)
{
	struct stat st;

	memset(&st, 0, sizeof st);
	st.st_mode = S_IFREG | 0644;
	st.st_ino = 0x1234;
	st.st_size = size;
	st.st_mtim.tv_sec = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
	st.st_mtim.tv_nsec = 5;
	return st;
}

#define ETAG "\"1234-3e8-17979cfe362a0005\""
#define LASTMOD "Tue, 14 Nov 2023 22:13:20 GMT"

static void decide(const struct origin_conf *c, struct origin_resp *rs, const char *method,
		   const char *path, const char *range, const char *inm, const char *ims,
		   const char *ir)
{
	struct origin_req rq;
	struct stat st = fake_stat(1000);

	req(&rq, method, path);
	rq.range = range;
	rq.if_none_match = inm;
	rq.if_modified_since = ims;
	rq.if_range = ir;
	origin_decide(c, &rq, path, &st, rs);
}

static void test_decide_200(void)
{
	struct origin_conf c;
	struct origin_resp rs;

	load(&c, "");
	decide(&c, &rs, "GET", "/v/a.ts", NULL, NULL, NULL, NULL);
	is_int(rs.status, 200, "plain GET -> 200");
	ok(rs.file && rs.offset == 0 && rs.length == 1000, "whole file as the body");
	is_str(origin_resp_header(&rs, "ETag"), ETAG, "strong ETag from inode, size, mtime");
	is_str(origin_resp_header(&rs, "Last-Modified"), LASTMOD, "Last-Modified");
	is_str(origin_resp_header(&rs, "Accept-Ranges"), "bytes", "Accept-Ranges: bytes");
	is_str(origin_resp_header(&rs, "Cache-Control"), "public, max-age=60", "default Cache-Control");
	is_str(origin_resp_header(&rs, "Content-Range"), NULL, "no Content-Range on a 200");
	is_str(origin_resp_header(&rs, "Access-Control-Allow-Origin"), NULL, "no CORS when off");
	decide(&c, &rs, "HEAD", "/v/a.ts", NULL, NULL, NULL, NULL);
	ok(rs.status == 200 && rs.length == 1000, "HEAD: 200 with the length of a GET");
	origin_conf_free(&c);
}

static void test_types(void)
{
	static const struct { const char *path, *type; } t[] = {
		{ "/v/master.m3u8", "application/vnd.apple.mpegurl" },
		{ "/v/manifest.mpd", "application/dash+xml" },
		{ "/v/seg1.ts", "video/mp2t" },
		{ "/v/seg1.m4s", "video/iso.segment" },
		{ "/v/init.mp4", "video/mp4" },
		{ "/index.html", "text/html; charset=utf-8" },
		{ "/api/x.json", "application/json" },
		{ "/v.d/noext", "application/octet-stream" },
		{ "/UPPER.M3U8", "application/vnd.apple.mpegurl" },
	};
	struct origin_conf c;
	struct origin_resp rs;

	load(&c, "");
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		decide(&c, &rs, "GET", t[i].path, NULL, NULL, NULL, NULL);
		is_str(origin_resp_header(&rs, "Content-Type"), t[i].type, "type of %s", t[i].path);
	}
	origin_conf_free(&c);
}

static void range_case(const struct origin_conf *c, const char *range, int status, uint64_t off,
		       uint64_t len, const char *crange)
{
	struct origin_resp rs;

	decide(c, &rs, "GET", "/a.ts", range, NULL, NULL, NULL);
	ok(rs.status == status && (status != 206 || (rs.offset == off && rs.length == len)),
	   "Range '%s' -> %d %llu+%llu", range, status, (unsigned long long)off,
	   (unsigned long long)len);
	is_str(origin_resp_header(&rs, "Content-Range"), crange, "Range '%s': Content-Range", range);
}

static void test_ranges(void)
{
	struct origin_conf c;
	struct origin_resp rs;
	struct origin_req rq;
	struct stat st = fake_stat(0);

	load(&c, "");
	range_case(&c, "bytes=0-99", 206, 0, 100, "bytes 0-99/1000");
	range_case(&c, "bytes=900-", 206, 900, 100, "bytes 900-999/1000");
	range_case(&c, "bytes=-100", 206, 900, 100, "bytes 900-999/1000");
	range_case(&c, "bytes=-5000", 206, 0, 1000, "bytes 0-999/1000");
	range_case(&c, "bytes=10-99999", 206, 10, 990, "bytes 10-999/1000");
	range_case(&c, "bytes=999-999", 206, 999, 1, "bytes 999-999/1000");
	range_case(&c, "bytes=1000-", 416, 0, 0, "bytes */1000");
	range_case(&c, "bytes=-0", 416, 0, 0, "bytes */1000");
	range_case(&c, "bytes=0-1,5-6", 200, 0, 1000, NULL);
	range_case(&c, "bytes=5-1", 200, 0, 1000, NULL);
	range_case(&c, "bytes=abc", 200, 0, 1000, NULL);
	range_case(&c, "lines=0-1", 200, 0, 1000, NULL);
	decide(&c, &rs, "GET", "/a.ts", "bytes=1000-", NULL, NULL, NULL);
	ok(!rs.file && rs.text, "416 has a short text body, not the file");
	is_str(origin_resp_header(&rs, "Content-Type"), NULL, "416: no file Content-Type");

	req(&rq, "GET", "/empty.mp4");
	origin_decide(&c, &rq, "/empty.mp4", &st, &rs);
	ok(rs.status == 200 && !rs.file && rs.length == 0, "empty file -> 200, empty body");
	rq.range = "bytes=0-";
	origin_decide(&c, &rq, "/empty.mp4", &st, &rs);
	is_int(rs.status, 416, "empty file with a Range -> 416");
	is_str(origin_resp_header(&rs, "Content-Range"), "bytes */0", "Content-Range bytes */0");
	origin_conf_free(&c);
}

static void test_conditional(void)
{
	struct origin_conf c;
	struct origin_resp rs;

	load(&c, "\"cors\":true");
	decide(&c, &rs, "GET", "/a.ts", NULL, ETAG, NULL, NULL);
	ok(rs.status == 304 && !rs.file, "If-None-Match equal -> 304, no body");
	is_int((long long)rs.length, 1000, "304 keeps the 200's length for Content-Length");
	is_str(origin_resp_header(&rs, "ETag"), ETAG, "304 carries ETag");
	is_str(origin_resp_header(&rs, "Cache-Control"), "public, max-age=60", "304 carries Cache-Control");
	is_str(origin_resp_header(&rs, "Access-Control-Allow-Origin"), "*", "304 carries CORS");
	is_str(origin_resp_header(&rs, "Content-Type"), NULL, "304 has no Content-Type");
	decide(&c, &rs, "GET", "/a.ts", NULL, "\"other\", " ETAG, NULL, NULL);
	is_int(rs.status, 304, "If-None-Match list with the ETag -> 304");
	decide(&c, &rs, "GET", "/a.ts", NULL, "W/" ETAG, NULL, NULL);
	is_int(rs.status, 304, "weak If-None-Match matches (weak comparison)");
	decide(&c, &rs, "HEAD", "/a.ts", NULL, "*", NULL, NULL);
	is_int(rs.status, 304, "If-None-Match: * -> 304");
	decide(&c, &rs, "GET", "/a.ts", NULL, "\"other\"", NULL, NULL);
	is_int(rs.status, 200, "If-None-Match other -> 200");
	decide(&c, &rs, "GET", "/a.ts", NULL, "\"other\"", "Fri, 01 Jan 2100 00:00:00 GMT", NULL);
	is_int(rs.status, 200, "If-None-Match wins over a matching If-Modified-Since");
	decide(&c, &rs, "GET", "/a.ts", NULL, ETAG, "Thu, 01 Jan 1970 00:00:00 GMT", NULL);
	is_int(rs.status, 304, "If-None-Match match wins over an old If-Modified-Since");
	decide(&c, &rs, "GET", "/a.ts", NULL, NULL, LASTMOD, NULL);
	is_int(rs.status, 304, "If-Modified-Since equal to Last-Modified -> 304");
	decide(&c, &rs, "GET", "/a.ts", NULL, NULL, "Fri, 01 Jan 2100 00:00:00 GMT", NULL);
	is_int(rs.status, 304, "If-Modified-Since later -> 304");
	decide(&c, &rs, "GET", "/a.ts", NULL, NULL, "Tue, 14 Nov 2023 22:13:19 GMT", NULL);
	is_int(rs.status, 200, "If-Modified-Since a second earlier -> 200");
	decide(&c, &rs, "GET", "/a.ts", NULL, NULL, "yesterday", NULL);
	is_int(rs.status, 200, "malformed If-Modified-Since ignored");
	decide(&c, &rs, "GET", "/a.ts", "bytes=0-9", ETAG, NULL, NULL);
	is_int(rs.status, 304, "304 before Range");
	decide(&c, &rs, "GET", "/a.ts", "bytes=0-9", NULL, NULL, ETAG);
	is_int(rs.status, 206, "If-Range with the ETag -> 206");
	decide(&c, &rs, "GET", "/a.ts", "bytes=0-9", NULL, NULL, "\"old\"");
	ok(rs.status == 200 && rs.length == 1000, "If-Range with another ETag -> whole 200");
	decide(&c, &rs, "GET", "/a.ts", "bytes=0-9", NULL, NULL, "W/" ETAG);
	is_int(rs.status, 200, "If-Range with a weak ETag never matches (strong comparison)");
	decide(&c, &rs, "GET", "/a.ts", "bytes=0-9", NULL, NULL, LASTMOD);
	is_int(rs.status, 206, "If-Range with Last-Modified -> 206");
	decide(&c, &rs, "GET", "/a.ts", "bytes=0-9", NULL, NULL, "Tue, 14 Nov 2023 22:13:21 GMT");
	is_int(rs.status, 200, "If-Range with another date -> 200");
	decide(&c, &rs, "GET", "/a.ts", "bytes=5000-", NULL, NULL, "\"old\"");
	is_int(rs.status, 200, "failed If-Range turns even an unsatisfiable Range into 200");
	origin_conf_free(&c);
}

static void test_cache_rules(void)
{
	static const struct { const char *path, *cc; } t[] = {
		{ "/live/index.m3u8", "max-age=2" },
		{ "/vod/x.M3U8", "max-age=2" },
		{ "/vod/seg1.ts", "public, max-age=86400, immutable" },
		{ "/live/seg1.m4s", "max-age=600" },
		{ "/live/seg1.ts", "max-age=30" },
		{ "/api/state.json", NULL },
		{ "/vodka.ts", "max-age=30" },
	};
	struct origin_conf c;
	struct origin_resp rs;

	load(&c, "\"cache_control\":\"max-age=30\",\"rules\":["
		 "{\"ext\":\"m3u8\",\"cache_control\":\"max-age=2\"},"
		 "{\"prefix\":\"/vod/\",\"cache_control\":\"public, max-age=86400, immutable\"},"
		 "{\"prefix\":\"/live/\",\"ext\":\".m4s\",\"cache_control\":\"max-age=600\"},"
		 "{\"ext\":\"json\",\"cache_control\":\"\"}]");
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		decide(&c, &rs, "GET", t[i].path, NULL, NULL, NULL, NULL);
		is_str(origin_resp_header(&rs, "Cache-Control"), t[i].cc, "Cache-Control of %s",
		       t[i].path);
	}
	origin_conf_free(&c);
}

static int open_rc(int rootfd, const char *path, int mode, const char *index, char *served)
{
	struct stat st;
	int fd = -1, rc;

	rc = origin_open(rootfd, path, mode, index, &fd, &st, served, ORIGIN_PATH_MAX);
	if (rc == 0) {
		if (!S_ISREG(st.st_mode))
			rc = 999;
		close(fd);
	}
	return rc;
}

static void test_open(int rootfd)
{
	char served[ORIGIN_PATH_MAX];
	const int B = ORIGIN_SYMLINKS_BENEATH, R = ORIGIN_SYMLINKS_REFUSE;
	bool beneath = origin_beneath_available();
	char longname[400];

	if (!beneath)
		diag("openat2() is not available: symlinks mode beneath falls back to refuse");
	is_int(open_rc(rootfd, "/a.ts", B, "index.html", served), 0, "regular file opens");
	is_str(served, "/a.ts", "served path");
	is_int(open_rc(rootfd, "//a.ts", B, "index.html", served), 0, "double slash is harmless");
	is_int(open_rc(rootfd, "/missing", B, "index.html", served), CDNI_ENOTFOUND, "missing -> not found");
	is_int(open_rc(rootfd, "/sub", B, "index.html", served), CDNI_ENOTFOUND,
	       "directory without a trailing slash -> not found");
	is_int(open_rc(rootfd, "/sub/", B, "index.html", served), 0, "directory/ serves its index");
	is_str(served, "/sub/index.html", "served path is the index");
	is_int(open_rc(rootfd, "/sub/", B, "", served), CDNI_ENOTFOUND, "no index configured -> not found");
	is_int(open_rc(rootfd, "/noindex/", B, "index.html", served), CDNI_ENOTFOUND,
	       "directory without index -> not found");
	is_int(open_rc(rootfd, "/", B, "index.html", served), CDNI_ENOTFOUND, "/ without index -> not found");
	is_int(open_rc(rootfd, "/d2/", B, "index.html", served), CDNI_ENOTFOUND,
	       "an index that is a directory -> not found");
	is_int(open_rc(rootfd, "/a.ts/", B, "index.html", served), CDNI_ENOTFOUND,
	       "file with a trailing slash -> not found");
	is_int(open_rc(rootfd, "/fifo", B, "index.html", served), CDNI_ENOTFOUND,
	       "a FIFO -> not found (and the open does not block)");
	is_int(open_rc(rootfd, "/in.ts", B, "index.html", served), beneath ? 0 : CDNI_EDENIED,
	       "beneath: a symlink inside root is followed");
	is_int(open_rc(rootfd, "/insub/index.html", B, "index.html", served), beneath ? 0 : CDNI_EDENIED,
	       "beneath: a directory symlink inside root is followed");
	is_int(open_rc(rootfd, "/in.ts", R, "index.html", served), CDNI_EDENIED,
	       "refuse: a symlink inside root is refused");
	is_int(open_rc(rootfd, "/insub/index.html", R, "index.html", served), CDNI_EDENIED,
	       "refuse: a directory symlink is refused");
	for (int m = B; m <= R; m++) {
		const char *mode = m == B ? "beneath" : "refuse";
		is_int(open_rc(rootfd, "/abs", m, "index.html", served), CDNI_EDENIED,
		       "%s: absolute symlink to /etc/passwd refused", mode);
		is_int(open_rc(rootfd, "/rel", m, "index.html", served), CDNI_EDENIED,
		       "%s: ../outside.txt symlink refused", mode);
		is_int(open_rc(rootfd, "/up/outside.txt", m, "index.html", served), CDNI_EDENIED,
		       "%s: symlink to .. refused", mode);
		is_int(open_rc(rootfd, "/../outside.txt", m, "index.html", served), CDNI_EDENIED,
		       "%s: .. refused even if the decoder let it through", mode);
	}
	memset(longname, 'x', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	is_int(open_rc(rootfd, longname, B, "index.html", served), CDNI_EOVERFLOW, "name too long");
}

static int nofollow_rc(int rootfd, const char *rel)
{
	int fd = -1, rc = origin_open_nofollow(rootfd, rel, &fd);

	if (rc == 0)
		close(fd);
	return rc;
}

static void test_nofollow(int rootfd)
{
	is_int(nofollow_rc(rootfd, "a.ts"), 0, "fallback: regular file");
	is_int(nofollow_rc(rootfd, "sub/index.html"), 0, "fallback: file in a directory");
	is_int(nofollow_rc(rootfd, "sub/"), 0, "fallback: directory with a trailing slash");
	is_int(nofollow_rc(rootfd, ""), 0, "fallback: the root itself");
	is_int(nofollow_rc(rootfd, "a.ts/"), CDNI_ENOTFOUND, "fallback: file with a trailing slash");
	is_int(nofollow_rc(rootfd, "missing"), CDNI_ENOTFOUND, "fallback: missing");
	is_int(nofollow_rc(rootfd, "in.ts"), CDNI_EDENIED, "fallback: symlink refused");
	is_int(nofollow_rc(rootfd, "insub/index.html"), CDNI_EDENIED, "fallback: directory symlink refused");
	is_int(nofollow_rc(rootfd, "up/outside.txt"), CDNI_EDENIED, "fallback: symlink to .. refused");
	is_int(nofollow_rc(rootfd, "../outside.txt"), CDNI_EDENIED, "fallback: .. refused");
	is_int(nofollow_rc(rootfd, "sub/../../outside.txt"), CDNI_EDENIED, "fallback: inner .. refused");
	is_int(nofollow_rc(rootfd, "fifo"), 0, "fallback: a FIFO opens without blocking");
}

static void handle(const struct origin_conf *c, int rootfd, const char *method,
		   const char *target, struct origin_resp *rs, int *fd)
{
	struct origin_req rq;

	req(&rq, method, target);
	origin_handle(c, rootfd, &rq, rs, fd);
}

static void test_handle(int rootfd)
{
	struct origin_conf c;
	struct origin_resp rs;
	char buf[16];
	int fd;

	load(&c, "\"cors\":true");
	handle(&c, rootfd, "GET", "/a.ts", &rs, &fd);
	ok(rs.status == 200 && rs.file && fd >= 0 && rs.length == 10, "GET /a.ts: 200 with an fd");
	ok(fd >= 0 && pread(fd, buf, 10, 0) == 10 && memcmp(buf, "0123456789", 10) == 0,
	   "the fd reads the file");
	if (fd >= 0)
		close(fd);
	handle(&c, rootfd, "GET", "/sub/", &rs, &fd);
	is_str(origin_resp_header(&rs, "Content-Type"), "text/html; charset=utf-8",
	       "index served as html");
	if (fd >= 0)
		close(fd);
	handle(&c, rootfd, "GET", "/missing.ts", &rs, &fd);
	ok(rs.status == 404 && fd < 0 && rs.text, "missing -> 404 with a reason, no fd");
	is_str(origin_resp_header(&rs, "Access-Control-Allow-Origin"), "*", "CORS on a 404");
	handle(&c, rootfd, "GET", "/abs", &rs, &fd);
	ok(rs.status == 403 && fd < 0, "escaping symlink -> 403");
	handle(&c, rootfd, "GET", "/%2e%2e/outside.txt", &rs, &fd);
	ok(rs.status == 400 && fd < 0, "encoded traversal -> 400");
	handle(&c, rootfd, "POST", "/a.ts", &rs, &fd);
	ok(rs.status == 405 && fd < 0, "POST -> 405");
	handle(&c, rootfd, "GET", "/empty.mp4", &rs, &fd);
	ok(rs.status == 200 && !rs.file && fd < 0, "empty file: 200, no fd kept");
	handle(&c, rootfd, "GET", "/fifo", &rs, &fd);
	ok(rs.status == 404 && fd < 0, "FIFO -> 404");
	origin_conf_free(&c);
}

int main(void)
{
	int rootfd;

	make_tree();
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	test_conf();
	test_conf_file();
	test_route();
	test_cors();
	test_decide_200();
	test_types();
	test_ranges();
	test_conditional();
	test_cache_rules();
	test_open(rootfd);
	test_nofollow(rootfd);
	test_handle(rootfd);
	close(rootfd);
	remove_tree();
	return done_testing();
}
