/* Unit tests for the socket-free parts of cdni-ua: the redirect rules,
 * Location resolution and validation, argument checks, the trace model and
 * the exact shape of its JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/err.h"
#include "common/tap.h"
#include "ua/ua.h"

#define BASE "https://www.csp.test:8443/v/a/b.bin?q=1"

static void test_redirect_rules(void)
{
	static const long follow[] = { 301, 302, 303, 307, 308 };
	static const long stay[] = { 200, 204, 206, 300, 304, 305, 306, 309, 399, 404, 0 };

	for (size_t i = 0; i < sizeof follow / sizeof follow[0]; i++)
		ok(ua_is_redirect(follow[i]), "%ld is followed", follow[i]);
	for (size_t i = 0; i < sizeof stay / sizeof stay[0]; i++)
		ok(!ua_is_redirect(stay[i]), "%ld is not followed", stay[i]);

	is_int(ua_redirect_allowed(0, 10), 0, "first redirect allowed under the default limit");
	is_int(ua_redirect_allowed(9, 10), 0, "tenth redirect allowed with --max-redirs 10");
	is_int(ua_redirect_allowed(10, 10), CDNI_EOVERFLOW, "eleventh redirect exceeds 10");
	is_int(ua_redirect_allowed(0, 0), CDNI_EOVERFLOW, "--max-redirs 0 follows none");
	is_int(ua_redirect_allowed(2, 3), 0, "third redirect allowed with limit 3");
	is_int(ua_redirect_allowed(3, 3), CDNI_EOVERFLOW, "fourth refused with limit 3");
}

static void resolves(const char *loc, const char *want, const char *what)
{
	char why[256] = "", *out = NULL;
	int rc = ua_location_resolve(BASE, loc, &out, why, sizeof why);

	if (!is_int(rc, 0, "resolves: %s", what))
		diag("why: %s", why);
	is_str(out, want, "  -> %s", want);
	free(out);
}

static void refused(const char *loc, const char *why_part, const char *what)
{
	static char untouched[] = "untouched";
	char why[256] = "", *out = untouched;
	int rc = ua_location_resolve(BASE, loc, &out, why, sizeof why);

	is_int(rc, CDNI_EINVAL, "refused: %s", what);
	ok(strstr(why, why_part) != NULL, "  reason names '%s' (%s)", why_part, why);
	is_str(out, "untouched", "  output not set on failure");
}

static void test_location(void)
{
	char big[UA_URL_MAX + 10];

	resolves("https://edge.dcdn.test:9443/v/a.bin", "https://edge.dcdn.test:9443/v/a.bin",
		 "absolute, cross-host");
	resolves("http://edge.dcdn.test/x", "http://edge.dcdn.test/x", "https to http (allowed here)");
	resolves("/x/y.bin", "https://www.csp.test:8443/x/y.bin", "absolute path");
	resolves("c.bin", "https://www.csp.test:8443/v/a/c.bin", "relative path");
	resolves("../c.bin", "https://www.csp.test:8443/v/c.bin", "dot-dot");
	resolves("../../../../c", "https://www.csp.test:8443/c", "dot-dot above the root");
	resolves("./d/./e/../f", "https://www.csp.test:8443/v/a/d/f", "dot segments removed");
	resolves("?r=2", "https://www.csp.test:8443/v/a/b.bin?r=2", "query only");
	resolves("//edge.dcdn.test/z", "https://edge.dcdn.test/z", "scheme-relative");
	resolves("/x%0D%0AX-Injected:%20yes", "https://www.csp.test:8443/x%0D%0AX-Injected:%20yes",
		 "%0D%0A stays escaped");
	resolves("/a b", "https://www.csp.test:8443/a%20b", "space is encoded");
	resolves("/caf\xc3\xa9", "https://www.csp.test:8443/caf%C3%A9", "UTF-8 is encoded");
	resolves("/q\"<>\\", "https://www.csp.test:8443/q%22%3C%3E%5C", "quotes, angles, backslash");
	resolves("/100%", "https://www.csp.test:8443/100%25", "lone percent encoded");

	refused("", "empty", "empty Location");
	refused("/a\r\nSet-Cookie: x=1", "control byte 0x0D", "CR LF");
	refused("/a\nb", "control byte 0x0A", "bare LF");
	refused("/a\rb", "control byte 0x0D", "bare CR");
	refused("/a\x01", "control byte 0x01", "SOH");
	refused("/a\tb", "control byte 0x09", "TAB inside");
	refused("/a\x7f", "control byte 0x7F", "DEL");
	refused("javascript:alert(1)", "not http or https", "javascript: scheme");
	refused("ftp://x.test/f", "not http or https", "ftp scheme");
	refused("file:///etc/passwd", "not http or https", "file scheme");
	refused("data:text/html,x", "not http or https", "data scheme");
	refused("http://", "resolve", "no host");
	memset(big, 'a', sizeof big - 1);
	big[0] = '/';
	big[sizeof big - 1] = '\0';
	refused(big, "longer than", "longer than UA_URL_MAX");
}

static void test_origin(void)
{
	ok(ua_is_downgrade("https://a.test/x", "http://b.test/y"), "https -> http is a downgrade");
	ok(ua_is_downgrade("HTTPS://a.test/x", "HTTP://a.test/y"), "  in any case");
	ok(!ua_is_downgrade("http://a.test/x", "https://a.test/y"), "http -> https is not");
	ok(!ua_is_downgrade("https://a.test/x", "https://b.test/y"), "https -> https is not");
	ok(!ua_is_downgrade("http://a.test/x", "http://b.test/y"), "http -> http is not");

	ok(ua_same_origin("https://a.test/x", "https://a.test:443/y?z"), "default port is the same origin");
	ok(ua_same_origin("https://a.test/x", "https://A.TEST/"), "host compares without case");
	ok(!ua_same_origin("https://a.test/x", "http://a.test/x"), "scheme differs");
	ok(!ua_same_origin("https://a.test/x", "https://a.test:8443/x"), "port differs");
	ok(!ua_same_origin("https://a.test/x", "https://b.a.test/x"), "host differs");
	ok(!ua_same_origin("https://a.test/x", "not a url"), "unparsable is not the same");
}

static void test_args(void)
{
	char why[200];

	is_int(ua_method_check("GET", why, sizeof why), 0, "GET");
	is_int(ua_method_check("HEAD", why, sizeof why), 0, "HEAD");
	is_int(ua_method_check("POST", why, sizeof why), CDNI_EINVAL, "POST refused");
	is_int(ua_method_check("get", why, sizeof why), CDNI_EINVAL, "methods are case-sensitive");

	is_int(ua_header_check("X-Test: a b", why, sizeof why), 0, "header");
	is_int(ua_header_check("X-Empty:", why, sizeof why), 0, "header with empty value");
	is_int(ua_header_check(": v", why, sizeof why), CDNI_EINVAL, "empty name refused");
	is_int(ua_header_check("X A: v", why, sizeof why), CDNI_EINVAL, "space in name refused");
	is_int(ua_header_check("NoColon", why, sizeof why), CDNI_EINVAL, "no colon refused");
	is_int(ua_header_check("X-A: b\r\nX-Injected: c", why, sizeof why), CDNI_EINVAL,
	       "CR LF in value refused");
	is_int(ua_header_check("X-A: b\nc", why, sizeof why), CDNI_EINVAL, "LF in value refused");

	is_int(ua_range_check("0-99", why, sizeof why), 0, "range a-b");
	is_int(ua_range_check("100-", why, sizeof why), 0, "range a-");
	is_int(ua_range_check("-5", why, sizeof why), 0, "range -b");
	is_int(ua_range_check("7-7", why, sizeof why), 0, "range of one byte");
	is_int(ua_range_check("5-1", why, sizeof why), CDNI_EINVAL, "end before start refused");
	is_int(ua_range_check("-0", why, sizeof why), CDNI_EINVAL, "empty suffix refused");
	is_int(ua_range_check("", why, sizeof why), CDNI_EINVAL, "empty range refused");
	is_int(ua_range_check("-", why, sizeof why), CDNI_EINVAL, "lone dash refused");
	is_int(ua_range_check("a-b", why, sizeof why), CDNI_EINVAL, "letters refused");
	is_int(ua_range_check("0-1,5-9", why, sizeof why), CDNI_EINVAL, "several ranges refused");
	is_int(ua_range_check("1-2-3", why, sizeof why), CDNI_EINVAL, "trailing junk refused");
	is_int(ua_range_check("1234567890123456789-", why, sizeof why), CDNI_EINVAL,
	       "19 digits refused");

}

static void test_args_net(void)
{
	char why[200];
	long ms = 0;
	int n = -1;

	is_int(ua_resolve_check("www.csp.test:443:127.0.0.1", why, sizeof why), 0, "resolve v4");
	is_int(ua_resolve_check("www.csp.test:8443:[::1]", why, sizeof why), 0, "resolve v6");
	is_int(ua_resolve_check("a.test:80:127.0.0.1,127.0.0.2", why, sizeof why), 0, "two addresses");
	is_int(ua_resolve_check("a.test:0:127.0.0.1", why, sizeof why), CDNI_EINVAL, "port 0");
	is_int(ua_resolve_check("a.test:65536:127.0.0.1", why, sizeof why), CDNI_EINVAL, "port too big");
	is_int(ua_resolve_check("a.test:x:127.0.0.1", why, sizeof why), CDNI_EINVAL, "port not a number");
	is_int(ua_resolve_check("a.test:443", why, sizeof why), CDNI_EINVAL, "no address");
	is_int(ua_resolve_check("a.test:443:", why, sizeof why), CDNI_EINVAL, "empty address");
	is_int(ua_resolve_check("a.test:443:edge.test", why, sizeof why), CDNI_EINVAL, "name as address");
	is_int(ua_resolve_check(":443:127.0.0.1", why, sizeof why), CDNI_EINVAL, "no host");
	is_int(ua_resolve_check("a/b:443:127.0.0.1", why, sizeof why), CDNI_EINVAL, "slash in host");

	ok(ua_timeout_parse("10", &ms) == 0 && ms == 10000, "timeout 10 s");
	ok(ua_timeout_parse("0.5", &ms) == 0 && ms == 500, "timeout 0.5 s");
	ok(ua_timeout_parse("0.0001", &ms) == 0 && ms == 1, "tiny timeout is at least 1 ms");
	is_int(ua_timeout_parse("0", &ms), CDNI_EINVAL, "timeout 0 refused");
	is_int(ua_timeout_parse("-1", &ms), CDNI_EINVAL, "negative timeout refused");
	is_int(ua_timeout_parse("ten", &ms), CDNI_EINVAL, "words refused");
	is_int(ua_timeout_parse("nan", &ms), CDNI_EINVAL, "nan refused");
	is_int(ua_timeout_parse("1e9", &ms), CDNI_EINVAL, "more than a day refused");
	is_int(ua_timeout_parse("5s", &ms), CDNI_EINVAL, "units refused");

	ok(ua_max_redirs_parse("0", &n) == 0 && n == 0, "max-redirs 0");
	ok(ua_max_redirs_parse("10", &n) == 0 && n == 10, "max-redirs 10");
	is_int(ua_max_redirs_parse("-1", &n), CDNI_EINVAL, "negative refused");
	is_int(ua_max_redirs_parse("+3", &n), CDNI_EINVAL, "sign refused");
	is_int(ua_max_redirs_parse("1001", &n), CDNI_EINVAL, "above 1000 refused");
	is_int(ua_max_redirs_parse("", &n), CDNI_EINVAL, "empty refused");

	is_int(ua_url_check("https://www.csp.test:8443/v/a.bin", why, sizeof why), 0, "https URL");
	is_int(ua_url_check("http://127.0.0.1:80/", why, sizeof why), 0, "http URL");
	is_int(ua_url_check("ftp://x.test/", why, sizeof why), CDNI_EINVAL, "ftp URL refused");
	is_int(ua_url_check("www.csp.test/v", why, sizeof why), CDNI_EINVAL, "no scheme refused");
	is_int(ua_url_check("https://", why, sizeof why), CDNI_EINVAL, "no host refused");
	is_int(ua_url_check("https://a.test/a b", why, sizeof why), CDNI_EINVAL, "space refused");
	is_int(ua_url_check("https://a.test/\r\n", why, sizeof why), CDNI_EINVAL, "CR LF refused");
}

/* ---- the trace -------------------------------------------------------- */

/* The object's keys, in order, joined by commas. */
static const char *keys_of(const json_t *o, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)(uintptr_t)o, k, v) {
		(void)v;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", k);
		if (used >= len)
			break;
	}
	return buf;
}

static void set_header(struct ua_hop *h, const char *name, const char *value)
{
	ua_hop_set_header(h, name, strlen(name), value, strlen(value));
}

static struct ua_trace *synthetic(void)
{
	struct ua_trace *t = ua_trace_new("http://www.csp.test:8080/v/a.bin");
	struct ua_hop *h1 = ua_trace_add_hop(t, "GET", "http://www.csp.test:8080/v/a.bin");
	struct ua_hop *h2 = ua_trace_add_hop(t, "GET", "https://edge.dcdn.test:9443/v/a.bin");

	h1->address = strdup("127.0.0.1:8080");
	h1->status = 302;
	h1->http_version = strdup("1.1");
	h1->location = strdup("https://edge.dcdn.test:9443/v/a.bin");
	set_header(h1, "Location", " https://edge.dcdn.test:9443/v/a.bin\t");
	set_header(h1, "X-Cache", "HIT");
	set_header(h1, "x-cache", " MISS ");
	set_header(h1, "X-Bin", "\xff\xfe");
	h1->timing = (struct ua_timing){ 0.1, 0.2, 0, 0.5, 1.25 };
	h1->has_body = true;
	h1->body_size = 0;
	strcpy(h1->body_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	h2->address = strdup("127.0.0.1:9443");
	h2->status = 200;
	h2->http_version = strdup("1.1");
	h2->tls = ua_tls_new();
	h2->tls->version = strdup("TLSv1.3");
	h2->tls->cipher = strdup("TLS_AES_128_GCM_SHA256");
	h2->tls->subject = strdup("CN=dcdn.test,O=cdni test");
	h2->tls->issuer = strdup("CN=cdni test root,O=cdni test");
	h2->tls->sans = calloc(1, sizeof(char *));
	h2->tls->sans[0] = strdup("DNS:*.dcdn.test");
	h2->tls->nsans = 1;
	h2->tls->verified = true;
	h2->timing = (struct ua_timing){ 0, 0.1, 1.5, 2.0, 4.125 };
	h2->has_body = true;
	h2->body_size = 1024;
	memset(h2->body_sha256, 'a', 64);
	ua_trace_check(t, "tls-verified hop 2", true, "%s", "CN=dcdn.test");
	return t;
}

static void test_trace_shape(void)
{
	struct ua_trace *t = synthetic();
	json_t *j, *hop, *tls, *hdrs;
	char keys[512];

	ua_trace_finish(t);
	ok(t->ok, "2xx at the end, no error, checks pass: ok");
	is_int(t->final_status, 200, "final_status is the last hop's");
	is_int(ua_trace_exit(t), 0, "exit 0");
	j = ua_trace_json(t);
	ok(j != NULL, "trace to JSON");
	is_str(keys_of(j, keys, sizeof keys), "url,ok,final_status,error,hops,checks", "top-level keys");
	ok(json_is_null(json_object_get(j, "error")), "error is null");
	is_int(json_integer_value(json_object_get(j, "final_status")), 200, "final_status 200");
	is_int((long long)json_array_size(json_object_get(j, "hops")), 2, "two hops");

	hop = json_array_get(json_object_get(j, "hops"), 0);
	is_str(keys_of(hop, keys, sizeof keys),
	       "n,method,url,host,address,status,location,http_version,tls,timing_ms,headers,body",
	       "hop keys");
	is_int(json_integer_value(json_object_get(hop, "n")), 1, "hop n is 1-based");
	is_str(json_string_value(json_object_get(hop, "host")), "www.csp.test", "host from the URL");
	is_int(json_integer_value(json_object_get(hop, "status")), 302, "status");
	is_str(json_string_value(json_object_get(hop, "location")), "https://edge.dcdn.test:9443/v/a.bin",
	       "location");
	ok(json_is_null(json_object_get(hop, "tls")), "tls null for http");
	is_str(keys_of(json_object_get(hop, "timing_ms"), keys, sizeof keys),
	       "dns,connect,tls,first_byte,total", "timing keys");
	ok(json_is_real(json_object_get(json_object_get(hop, "timing_ms"), "total")) &&
		   json_real_value(json_object_get(json_object_get(hop, "timing_ms"), "total")) == 1.25,
	   "timings are numbers (ms)");
	hdrs = json_object_get(hop, "headers");
	is_str(json_string_value(json_object_get(hdrs, "x-cache")), "MISS", "last value wins, trimmed");
	is_str(json_string_value(json_object_get(hdrs, "location")), "https://edge.dcdn.test:9443/v/a.bin",
	       "header names lowercase, values trimmed");
	is_str(json_string_value(json_object_get(hdrs, "x-bin")), "%FF%FE", "non-UTF-8 bytes shown as %%XX");
	is_int((long long)json_object_size(hdrs), 3, "one entry per name");
	is_str(keys_of(json_object_get(hop, "body"), keys, sizeof keys), "size,sha256", "body keys");

	hop = json_array_get(json_object_get(j, "hops"), 1);
	tls = json_object_get(hop, "tls");
	is_str(keys_of(tls, keys, sizeof keys), "version,cipher,subject,issuer,sans,verified,verify_error",
	       "tls keys");
	ok(json_is_true(json_object_get(tls, "verified")), "verified true");
	ok(json_is_null(json_object_get(tls, "verify_error")), "verify_error null");
	is_str(json_string_value(json_array_get(json_object_get(tls, "sans"), 0)), "DNS:*.dcdn.test", "sans");
	is_int(json_integer_value(json_object_get(json_object_get(hop, "body"), "size")), 1024, "body size");

	is_str(keys_of(json_array_get(json_object_get(j, "checks"), 0), keys, sizeof keys),
	       "name,ok,detail", "check keys");
	json_decref(j);
	ua_trace_free(t);
}

static void test_trace_verdicts(void)
{
	struct ua_trace *t = synthetic();

	ua_trace_check(t, "no-downgrade hop 3", false, "hop %d redirects from https to %s", 2, "http://x/");
	ua_trace_finish(t);
	ok(!t->ok, "a failed check makes the run fail");
	is_int(ua_trace_exit(t), 1, "  exit 1");
	ua_trace_free(t);

	t = synthetic();
	ua_trace_fail(t, "hop %d: %s", 2, "first");
	ua_trace_fail(t, "second");
	ua_trace_finish(t);
	ok(!t->ok, "an error makes the run fail");
	is_str(t->error, "hop 2: first", "the first error wins");
	ua_trace_free(t);

	t = synthetic();
	t->hops[1]->status = 404;
	ua_trace_finish(t);
	ok(!t->ok && t->final_status == 404, "a final 404 fails");
	ua_trace_free(t);

	t = synthetic();
	t->hops[1]->status = 206;
	ua_trace_finish(t);
	ok(t->ok, "a final 206 passes");
	ua_trace_free(t);
}

static void test_header_cap(void)
{
	struct ua_trace *t = ua_trace_new("http://a.test/");
	struct ua_hop *h = ua_trace_add_hop(t, "GET", "http://a.test/");
	char name[32];
	int rc = 0;

	for (int i = 0; i < UA_MAX_HEADERS && rc == 0; i++) {
		snprintf(name, sizeof name, "x-h%d", i);
		rc = ua_hop_set_header(h, name, strlen(name), "v", 1);
	}
	is_int(rc, 0, "%d distinct header names kept", UA_MAX_HEADERS);
	is_int(ua_hop_set_header(h, "x-more", 6, "v", 1), CDNI_EOVERFLOW, "one more name refused");
	is_int(ua_hop_set_header(h, "X-H7", 4, "w", 1), 0, "an existing name may still change");
	is_str(ua_hop_header(h, "x-h7"), "w", "  to the last value");
	is_int((long long)h->nheaders, UA_MAX_HEADERS, "  without adding a name");
	ua_hop_clear_headers(h);
	is_int((long long)h->nheaders, 0, "headers cleared (an interim 1xx)");
	ok(ua_hop_header(h, "x-h7") == NULL, "  and gone");
	ua_trace_free(t);
}

static void test_trace_no_response(void)
{
	struct ua_trace *t = ua_trace_new("https://www.csp.test/x");
	json_t *j, *hop;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ok(ua_trace_add_hop(t, "HEAD", "https://www.csp.test/x") != NULL, "hop added");
	ua_trace_fail(t, "hop 1: Operation timed out");
	ua_trace_check(t, "tls-verified hop 1", false, "no TLS session: %s", "timed out");
	ua_trace_finish(t);
	ok(!t->ok && t->final_status == 0, "no response: not ok, no final status");
	j = ua_trace_json(t);
	hop = json_array_get(json_object_get(j, "hops"), 0);
	ok(json_is_null(json_object_get(j, "final_status")), "final_status null");
	is_str(json_string_value(json_object_get(j, "error")), "hop 1: Operation timed out", "error text");
	ok(json_is_null(json_object_get(hop, "status")), "status null");
	ok(json_is_null(json_object_get(hop, "address")), "address null");
	ok(json_is_null(json_object_get(hop, "location")), "location null");
	ok(json_is_null(json_object_get(hop, "http_version")), "http_version null");
	ok(json_is_null(json_object_get(hop, "tls")), "tls null");
	ok(json_is_null(json_object_get(hop, "body")), "body null");
	ok(json_is_object(json_object_get(hop, "headers")) &&
		   json_object_size(json_object_get(hop, "headers")) == 0, "headers {}");
	is_str(json_string_value(json_object_get(hop, "method")), "HEAD", "method recorded");
	json_decref(j);

	ok(f && ua_trace_write(t, f) == 0, "trace written");
	fclose(f);
	j = json_loads(text, 0, NULL);
	ok(j && json_is_false(json_object_get(j, "ok")), "written trace parses back");
	ok(len > 0 && text[len - 1] == '\n', "ends with a newline");
	json_decref(j);
	free(text);
	ua_trace_free(t);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_redirect_rules();
	test_location();
	test_origin();
	test_args();
	test_args_net();
	test_trace_shape();
	test_trace_verdicts();
	test_trace_no_response();
	test_header_cap();
	curl_global_cleanup();
	return done_testing();
}
